//! The journal's JSON outputs: `journalctl -o json` (one object per line), `json-pretty`
//! (multi-line objects), `json-seq` (RS 0x1E before each object) and `json-sse` (`data: `
//! prefix, blank line after). See systemd's `docs/JOURNAL_EXPORT_FORMATS.md`, "Journal JSON
//! Format", and `update_json_data()` in `src/shared/logs-show.c`.
//!
//! Every value is a string (numbers too), `null` (a field of 4096 bytes or more without
//! `--all`), an array of byte values (non-printable data: every ANSI-coloured message), or
//! an array of those for a repeated field (its first usable value is taken). Only the
//! fields the event needs are decoded, by a hand-written single pass over the object
//! (`decode_fast`; the other values are checked and skipped); strings without escapes
//! stay spans of the source. What that pass is not sure of goes to serde_json, which
//! decides (and names the error) exactly as before. The field mapping is the export's
//! ([`super::journal_common`]). An object's first line is parsed, its other lines (and the
//! blank lines of json-sse) are continuation; a line that does not hold a whole object is
//! unparsed, with an issue naming the JSON error.

use super::journal_common::{AtomCache, Embedded, Entry, Key, Value, entry_event};
use super::{Format, Sink, line_start_where};
use crate::ingest::Source;
use crate::lines::{Lines, Terminator};
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use std::borrow::Cow;
use std::fmt;

/// `journalctl -o json|json-pretty|json-seq|json-sse`.
pub struct JournalJson;

/// Strips the framing of one line: RS (json-seq) or `data: ` (json-sse). Returns the
/// offset of the object's `{` in the line, if the line starts one.
fn object_start(line: &[u8]) -> Option<usize> {
    let mut i = 0;
    if line.first() == Some(&0x1e) {
        i = 1;
    } else if line.starts_with(b"data: ") {
        i = 6;
    } else if line.starts_with(b"data:") {
        i = 5;
    }
    while matches!(line.get(i), Some(b' ' | b'\t')) {
        i += 1;
    }
    (line.get(i) == Some(&b'{')).then_some(i)
}

/// Key of the once-per-source issue about a `null` MESSAGE.
const NULL_MESSAGE: &str = "MESSAGE=null";

/// The kept fields of an object, in order (the serde_json fallback's result).
type Fields<'a> = Vec<(Key, Value<'a>)>;

/// What one vectorised pass over an object's first line found: facts that let the
/// decoder skip per-string checks.
#[derive(Clone, Copy, Debug)]
struct Clean {
    /// No byte below 0x20: no string can hold a control character (which JSON forbids).
    no_ctrl: bool,
    /// Only ASCII: every string is valid UTF-8.
    ascii: bool,
    /// No backslash: no string has an escape.
    no_escape: bool,
}

impl Clean {
    /// Nothing known: every check is made.
    const NONE: Clean = Clean {
        no_ctrl: false,
        ascii: false,
        no_escape: false,
    };

    /// Scans `b` once: the byte minimum, the OR of all bytes and whether one is a
    /// backslash, in 32-byte lanes the compiler vectorises.
    fn of(b: &[u8]) -> Clean {
        let mut min = [0xffu8; 32];
        let mut or = [0u8; 32];
        let mut bs = [0u8; 32];
        let mut chunks = b.chunks_exact(32);
        for c in &mut chunks {
            for k in 0..32 {
                min[k] = min[k].min(c[k]);
                or[k] |= c[k];
                bs[k] |= u8::from(c[k] == b'\\');
            }
        }
        let mut mn = min.iter().fold(0xff, |a, &x| a.min(x));
        let mut o = or.iter().fold(0, |a, &x| a | x);
        let mut s = bs.iter().fold(0, |a, &x| a | x);
        for &c in chunks.remainder() {
            mn = mn.min(c);
            o |= c;
            s |= u8::from(c == b'\\');
        }
        Clean {
            no_ctrl: mn >= 0x20,
            ascii: o < 0x80,
            no_escape: s == 0,
        }
    }
}

/// JSON whitespace from `i`.
#[inline]
fn ws(b: &[u8], mut i: usize) -> usize {
    while matches!(b.get(i), Some(b' ' | b'\t' | b'\n' | b'\r')) {
        i += 1;
    }
    i
}

/// True when `s` holds a byte below 0x20 (vectorised: no early exit).
fn has_ctrl(s: &[u8]) -> bool {
    s.iter().fold(0xff, |a: u8, &c| a.min(c)) < 0x20
}

/// Eight copies of byte `c`.
const fn splat(c: u8) -> u64 {
    0x0101_0101_0101_0101 * c as u64
}

/// Bit 7 of each byte of `w` that is zero: the lowest set bit is exact (a borrow only
/// reaches bytes above a zero byte), which is all a search needs.
#[inline]
fn zero_bytes(w: u64) -> u64 {
    w.wrapping_sub(splat(1)) & !w & splat(0x80)
}

/// Offset of the first `"` (or, with `bs`, `\\`) in `b` from `s`. The strings of journal
/// JSON are short: eight bytes at a time beat the set-up of a memchr call; memchr takes
/// over for long ones.
#[inline]
fn find_quote(b: &[u8], s: usize, bs: bool) -> Option<usize> {
    let mut i = s;
    for _ in 0..6 {
        let Some(w) = b.get(i..i + 8) else { break };
        let w = u64::from_le_bytes(w.try_into().expect("eight bytes"));
        let mut m = zero_bytes(w ^ splat(b'"'));
        if bs {
            m |= zero_bytes(w ^ splat(b'\\'));
        }
        if m != 0 {
            return Some(i + (m.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    let rest = b.get(i..)?;
    let p = if bs {
        memchr::memchr2(b'"', b'\\', rest)
    } else {
        memchr::memchr(b'"', rest)
    };
    p.map(|p| i + p)
}

/// The end of the string whose contents start at `s`: the offset of its closing quote
/// and whether it has escapes. `None` where serde_json would fail: a control character,
/// an unknown escape, a `\u` without four hex digits, no closing quote before the end.
#[inline]
fn str_end(b: &[u8], s: usize, clean: Clean) -> Option<(usize, bool)> {
    if clean.no_escape {
        let e = find_quote(b, s, false)?;
        if !clean.no_ctrl && has_ctrl(&b[s..e]) {
            return None;
        }
        return Some((e, false));
    }
    let mut j = s;
    let mut esc = false;
    loop {
        let e = find_quote(b, j, true)?;
        if b[e] == b'"' {
            if !clean.no_ctrl && has_ctrl(&b[s..e]) {
                return None;
            }
            return Some((e, esc));
        }
        esc = true;
        j = match *b.get(e + 1)? {
            b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => e + 2,
            b'u' if hex4(b.get(e + 2..e + 6)?).is_some() => e + 6,
            _ => return None,
        };
    }
}

/// Four hex digits.
fn hex4(h: &[u8]) -> Option<u32> {
    if h.len() != 4 {
        return None;
    }
    h.iter()
        .try_fold(0u32, |n, &c| Some(n << 4 | (c as char).to_digit(16)?))
}

/// Decodes the escapes of a string's raw contents (already checked by [`str_end`]) into
/// `out`. `None` for a lone surrogate (serde_json's business: the caller falls back).
fn unescape(raw: &[u8], out: &mut Vec<u8>) -> Option<()> {
    let mut i = 0;
    while let Some(p) = memchr::memchr(b'\\', &raw[i..]) {
        let e = i + p;
        out.extend_from_slice(&raw[i..e]);
        let c = match *raw.get(e + 1)? {
            b'"' => b'"',
            b'\\' => b'\\',
            b'/' => b'/',
            b'b' => 0x08,
            b'f' => 0x0c,
            b'n' => b'\n',
            b'r' => b'\r',
            b't' => b'\t',
            b'u' => {
                let hi = hex4(raw.get(e + 2..e + 6)?)?;
                i = e + 6;
                let cp = match hi {
                    0xd800..=0xdbff => {
                        if raw.get(i..i + 2) != Some(b"\\u") {
                            return None;
                        }
                        let lo = hex4(raw.get(i + 2..i + 6)?)?;
                        if !(0xdc00..=0xdfff).contains(&lo) {
                            return None;
                        }
                        i += 6;
                        0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00)
                    }
                    0xdc00..=0xdfff => return None,
                    _ => hi,
                };
                let mut buf = [0u8; 4];
                out.extend_from_slice(char::from_u32(cp)?.encode_utf8(&mut buf).as_bytes());
                continue;
            }
            _ => return None,
        };
        out.push(c);
        i = e + 2;
    }
    out.extend_from_slice(&raw[i..]);
    Some(())
}

/// A kept string whose contents start at `s`: a span of the source when it has no
/// escapes, else decoded. Returns the value and the offset after the closing quote.
#[inline]
fn kept_string(b: &[u8], s: usize, clean: Clean) -> Option<(Value<'_>, usize)> {
    let (e, esc) = str_end(b, s, clean)?;
    let raw = &b[s..e];
    if !esc {
        // serde_json hands a kept string over as `str`: it must be UTF-8.
        if !clean.ascii {
            std::str::from_utf8(raw).ok()?;
        }
        return Some((
            Value {
                bytes: Cow::Borrowed(raw),
                at: Some(s),
            },
            e + 1,
        ));
    }
    let mut out = Vec::with_capacity(raw.len());
    unescape(raw, &mut out)?;
    std::str::from_utf8(&out).ok()?;
    Some((Value::owned(out), e + 1))
}

/// A byte of a byte array at `i` (`0`..`255` written as serde_json reads an integer;
/// the caller saw a digit at `i`).
#[inline(always)]
fn byte_number(b: &[u8], i: usize) -> Option<(u8, usize)> {
    let digit = |j: usize| b.get(j).map(|c| c.wrapping_sub(b'0')).filter(|&d| d < 10);
    let mut n = u32::from(digit(i)?);
    let mut j = i + 1;
    if let Some(d) = digit(j) {
        // no leading zero
        if n == 0 {
            return None;
        }
        n = n * 10 + u32::from(d);
        j += 1;
        if let Some(d) = digit(j) {
            n = n * 10 + u32::from(d);
            j += 1;
        }
    }
    // At most 255, no fourth digit, no fraction nor exponent: anything else is rare
    // enough to leave to serde_json.
    if n > 255 || matches!(b.get(j), Some(b'0'..=b'9' | b'.' | b'e' | b'E')) {
        return None;
    }
    Some((n as u8, j))
}

/// The value of a kept field at `i`, as the serde visitors below decode it: a string, a
/// `null` (`None`), a byte array (owned bytes), or an array of those (its first value;
/// `depth` 1 inside it). Returns the value and the offset after it.
fn kept_value(b: &[u8], i: usize, clean: Clean, depth: u8) -> Option<(Option<Value<'_>>, usize)> {
    match *b.get(i)? {
        b'"' => {
            let (v, e) = kept_string(b, i + 1, clean)?;
            Some((Some(v), e))
        }
        b'n' if b.get(i..i + 4) == Some(b"null") => Some((None, i + 4)),
        b'[' if depth < 2 => {
            // A byte array needs at least two characters a byte: one allocation.
            let cap = if b.get(i + 1).is_some_and(u8::is_ascii_digit) {
                memchr::memchr(b']', &b[i..]).unwrap_or(0) / 2
            } else {
                0
            };
            let mut bytes = Vec::with_capacity(cap);
            let mut first: Option<Value<'_>> = None;
            let mut all_bytes = true;
            let mut j = ws(b, i + 1);
            if b.get(j) == Some(&b']') {
                return Some((Some(Value::owned(bytes)), j + 1));
            }
            loop {
                if b.get(j)?.is_ascii_digit() {
                    // The bytes of a byte array, as journalctl writes them (`27,91,48`):
                    // a tight loop; anything else goes the general way.
                    let (n, mut e) = byte_number(b, j)?;
                    bytes.push(n);
                    while b.get(e) == Some(&b',') && b.get(e + 1).is_some_and(u8::is_ascii_digit) {
                        let (n, next) = byte_number(b, e + 1)?;
                        bytes.push(n);
                        e = next;
                    }
                    j = e;
                } else {
                    let (v, e) = kept_value(b, j, clean, depth + 1)?;
                    all_bytes = false;
                    if first.is_none() {
                        first = v;
                    }
                    j = e;
                }
                j = ws(b, j);
                match *b.get(j)? {
                    b',' => j = ws(b, j + 1),
                    b']' => break,
                    _ => return None,
                }
            }
            let v = if all_bytes {
                Some(Value::owned(bytes))
            } else {
                first
            };
            Some((v, j + 1))
        }
        _ => None,
    }
}

/// Skips a JSON number at `i` (syntax only, as serde_json ignores one).
fn skip_number(b: &[u8], i: usize) -> Option<usize> {
    let digits = |mut j: usize| {
        let s = j;
        while b.get(j).is_some_and(u8::is_ascii_digit) {
            j += 1;
        }
        (j > s).then_some(j)
    };
    let mut j = i + usize::from(b.get(i) == Some(&b'-'));
    j = match *b.get(j)? {
        b'0' => j + 1,
        b'1'..=b'9' => digits(j)?,
        _ => return None,
    };
    if b.get(j) == Some(&b'.') {
        j = digits(j + 1)?;
    }
    if matches!(b.get(j), Some(b'e' | b'E')) {
        j += 1;
        if matches!(b.get(j), Some(b'+' | b'-')) {
            j += 1;
        }
        j = digits(j)?;
    }
    Some(j)
}

/// Skips the value of a field the event does not use, checking it as serde_json's
/// `IgnoredAny` does (strings: no control character, valid escapes; UTF-8 is not checked).
/// Objects and deep nesting are left to serde_json.
fn skip_value(b: &[u8], i: usize, clean: Clean, depth: u8) -> Option<usize> {
    match *b.get(i)? {
        b'"' => Some(str_end(b, i + 1, clean)?.0 + 1),
        b'n' if b.get(i..i + 4) == Some(b"null") => Some(i + 4),
        b't' if b.get(i..i + 4) == Some(b"true") => Some(i + 4),
        b'f' if b.get(i..i + 5) == Some(b"false") => Some(i + 5),
        b'-' | b'0'..=b'9' => skip_number(b, i),
        b'[' if depth < 4 => {
            let mut j = ws(b, i + 1);
            if b.get(j) == Some(&b']') {
                return Some(j + 1);
            }
            loop {
                j = ws(b, skip_value(b, j, clean, depth + 1)?);
                match *b.get(j)? {
                    b',' => j = ws(b, j + 1),
                    b']' => return Some(j + 1),
                    _ => return None,
                }
            }
        }
        _ => None,
    }
}

/// Decodes the value of kept field `k` at `i` into `entry` (the general path: escapes,
/// null, arrays); returns the offset after it.
#[inline(never)]
fn kept<'a>(b: &'a [u8], i: usize, clean: Clean, k: Key, entry: &mut Entry<'a>) -> Option<usize> {
    let (v, e) = kept_value(b, i, clean, 0)?;
    match v {
        Some(v) => entry.add(k, v),
        // journalctl writes null for a field of 4096 bytes or more (no --all)
        None if k == Key::Message => entry.add(Key::NullMessage, Value::owned(Vec::new())),
        None => {}
    }
    Some(e)
}

/// The hand-written decoder: one pass over the object at `at`, reading no further than
/// `limit`, the values of the fields the event uses into `entry` (see [`Key`]), every
/// other value checked and skipped without decoding. Returns the offset after the object,
/// or `None` where serde_json could decide otherwise (malformed JSON, an escaped key, a
/// lone surrogate, a nested object, a number where a string is expected, the object not
/// ending before `limit`): the caller then asks serde_json, so both give the same.
fn decode_fast<'a>(
    source: &'a [u8],
    at: usize,
    limit: usize,
    clean: Clean,
    entry: &mut Entry<'a>,
) -> Option<usize> {
    let b = &source[..limit];
    let mut i = ws(b, at);
    if b.get(i) != Some(&b'{') {
        return None;
    }
    i = ws(b, i + 1);
    if b.get(i) == Some(&b'}') {
        return Some(i + 1);
    }
    loop {
        if b.get(i) != Some(&b'"') {
            return None;
        }
        let (ke, esc) = str_end(b, i + 1, clean)?;
        let key = &b[i + 1..ke];
        // serde_json decodes an escaped key; keys must be UTF-8.
        if esc || (!clean.ascii && std::str::from_utf8(key).is_err()) {
            return None;
        }
        i = ws(b, ke + 1);
        if b.get(i) != Some(&b':') {
            return None;
        }
        i = ws(b, i + 1);
        i = match Key::of(key) {
            // A string without escapes (nearly every kept value): a span, written straight
            // into the entry (a value returned through the general path is copied twice).
            Some(k) if b.get(i) == Some(&b'"') => {
                let (e, esc) = str_end(b, i + 1, clean)?;
                if esc {
                    kept(b, i, clean, k, entry)?
                } else {
                    let raw = &b[i + 1..e];
                    // serde_json hands a kept string over as `str`: it must be UTF-8.
                    if !clean.ascii && std::str::from_utf8(raw).is_err() {
                        return None;
                    }
                    if !entry.has(k) {
                        entry.add(
                            k,
                            Value {
                                bytes: Cow::Borrowed(raw),
                                at: Some(i + 1),
                            },
                        );
                    }
                    e + 1
                }
            }
            Some(k) => kept(b, i, clean, k, entry)?,
            None => skip_value(b, i, clean, 0)?,
        };
        i = ws(b, i);
        match b.get(i) {
            Some(b',') => i = ws(b, i + 1),
            Some(b'}') => return Some(i + 1),
            _ => return None,
        }
    }
}

/// Decodes the object at `at` (its first line ending at `line_end`) into `entry` (cleared
/// first); returns the offset just past the object. The hand-written decoder takes what
/// journalctl writes; serde_json decodes the rest and names the error of broken JSON.
fn decode<'a>(
    source: &'a [u8],
    at: usize,
    line_end: usize,
    entry: &mut Entry<'a>,
) -> Result<usize, serde_json::Error> {
    entry.clear();
    // One object per line (`-o json`, json-seq, json-sse): the line's facts hold for
    // every string of the object.
    let clean = Clean::of(&source[at..line_end]);
    if let Some(end) = decode_fast(source, at, line_end, clean, entry) {
        return Ok(end);
    }
    entry.clear();
    if line_end < source.len() {
        // An object over several lines (json-pretty), or one the line scan misjudged.
        if let Some(end) = decode_fast(source, at, source.len(), Clean::NONE, entry) {
            return Ok(end);
        }
        entry.clear();
    }
    let (fields, end) = decode_serde(source, at)?;
    for (k, v) in fields {
        entry.add(k, v);
    }
    Ok(end)
}

/// The object at `at` decoded by serde_json: every JSON the journal can write.
fn decode_serde(source: &[u8], at: usize) -> Result<(Fields<'_>, usize), serde_json::Error> {
    let mut stream = serde_json::Deserializer::from_slice(&source[at..]).into_iter::<Kept<'_>>();
    let Kept(mut fields) = match stream.next() {
        Some(r) => r?,
        None => return Err(de::Error::custom("no object")),
    };
    let end = at + stream.byte_offset();
    // Borrowed strings are bytes of the source: turn them into spans.
    let base = source.as_ptr() as usize;
    for (_, v) in &mut fields {
        if let Cow::Borrowed(b) = v.bytes {
            let p = b.as_ptr() as usize;
            if p >= base && p + b.len() <= base + source.len() {
                v.at = Some(p - base);
            }
        }
    }
    Ok((fields, end))
}

/// The kept fields of one object.
struct Kept<'a>(Fields<'a>);

impl<'de> de::Deserialize<'de> for Kept<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(EntryVisitor).map(Kept)
    }
}

struct EntryVisitor;

impl<'de> Visitor<'de> for EntryVisitor {
    type Value = Fields<'de>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a journal entry object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::with_capacity(16);
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            match Key::of(key.as_bytes()) {
                Some(k) => match map.next_value_seed(ValueSeed { depth: 0 })? {
                    Item::Val(Some(v)) => out.push((k, v)),
                    // journalctl writes null for a field of 4096 bytes or more (no --all)
                    Item::Val(None) if k == Key::Message => {
                        out.push((Key::NullMessage, Value::owned(Vec::new())))
                    }
                    _ => {}
                },
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(out)
    }
}

/// A decoded JSON item: a byte of a byte array, or a value (`None` for null).
enum Item<'a> {
    Byte(u8),
    Val(Option<Value<'a>>),
}

struct ValueSeed {
    depth: u8,
}

impl<'de> DeserializeSeed<'de> for ValueSeed {
    type Value = Item<'de>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ValueSeed {
    type Value = Item<'de>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string, null, a byte array or an array of these")
    }
    fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<Item<'de>, E> {
        // A string without escapes is borrowed from the input; `decode` makes it a span.
        Ok(Item::Val(Some(Value {
            bytes: std::borrow::Cow::Borrowed(s.as_bytes()),
            at: None,
        })))
    }
    fn visit_str<E: de::Error>(self, s: &str) -> Result<Item<'de>, E> {
        Ok(Item::Val(Some(Value::owned(s.as_bytes().to_vec()))))
    }
    fn visit_u64<E: de::Error>(self, n: u64) -> Result<Item<'de>, E> {
        // Bytes of a byte array; a bare number (not what journalctl writes) as its text.
        if self.depth > 0 && n <= 255 {
            Ok(Item::Byte(n as u8))
        } else {
            Ok(Item::Val(Some(Value::owned(n.to_string().into_bytes()))))
        }
    }
    fn visit_i64<E: de::Error>(self, n: i64) -> Result<Item<'de>, E> {
        Ok(Item::Val(Some(Value::owned(n.to_string().into_bytes()))))
    }
    fn visit_f64<E: de::Error>(self, n: f64) -> Result<Item<'de>, E> {
        Ok(Item::Val(Some(Value::owned(n.to_string().into_bytes()))))
    }
    fn visit_bool<E: de::Error>(self, b: bool) -> Result<Item<'de>, E> {
        Ok(Item::Val(Some(Value::owned(b.to_string().into_bytes()))))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Item<'de>, E> {
        Ok(Item::Val(None))
    }
    fn visit_none<E: de::Error>(self) -> Result<Item<'de>, E> {
        Ok(Item::Val(None))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Item<'de>, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Item::Val(None))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Item<'de>, A::Error> {
        // Either a byte array, or (a repeated field) an array of values: take the first.
        let mut bytes = Vec::new();
        let mut first: Option<Value<'de>> = None;
        let mut all_bytes = true;
        if self.depth >= 2 {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            return Ok(Item::Val(None));
        }
        while let Some(item) = seq.next_element_seed(ValueSeed {
            depth: self.depth + 1,
        })? {
            match item {
                Item::Byte(b) => bytes.push(b),
                Item::Val(v) => {
                    all_bytes = false;
                    if first.is_none() {
                        first = v;
                    }
                }
            }
        }
        if all_bytes {
            Ok(Item::Val(Some(Value::owned(bytes))))
        } else {
            Ok(Item::Val(first))
        }
    }
}

impl Format for JournalJson {
    /// No records of this format travel inside a journal entry.
    fn embeds(&self, _ident: &str) -> bool {
        false
    }
    fn name(&self) -> &'static str {
        "journal-json"
    }
    fn description(&self) -> &'static str {
        "systemd journal JSON (journalctl -o json, json-pretty, json-seq, json-sse)"
    }
    fn sniff(&self, sample: &[u8]) -> u8 {
        let mut objects = 0;
        let mut other = 0;
        let mut journal = false;
        for line in Lines::new(sample, Terminator::Lf).take(400) {
            let t = crate::lines::trim(line.text);
            if t.is_empty() {
                continue;
            }
            if object_start(t).is_some() {
                objects += 1;
            } else if t[0].is_ascii_alphabetic() {
                // json-pretty's member, byte and bracket lines start with `"`, a digit or
                // punctuation; prose starts with a letter.
                other += 1;
            }
        }
        for key in [
            &b"\"__CURSOR\""[..],
            b"\"__REALTIME_TIMESTAMP\"",
            b"\"_BOOT_ID\"",
        ] {
            if memchr::memmem::find(sample, key).is_some() {
                journal = true;
            }
        }
        if objects == 0 || other > objects {
            return 0;
        }
        if journal { 95 } else { 0 }
    }
    fn split(&self, bytes: &[u8], near: usize) -> Option<usize> {
        // An object starts on a line whose first byte is `{`, RS or `data:`; member and
        // byte lines of json-pretty are indented, and strings cannot hold a raw newline.
        line_start_where(bytes, near, |t| {
            t.first() == Some(&b'{') || t.first() == Some(&0x1e) || t.starts_with(b"data:")
        })
    }
    fn parse(&self, src: &Source, sink: &mut Sink<'_>) {
        let bytes: &[u8] = &src.bytes;
        let mut emb = Embedded::default();
        let mut cache = AtomCache::default();
        // One entry reused for every object: no allocation per record.
        let mut entry = Entry::default();
        let mut warned_null = false;
        // One object per line: room for every event at once (no copies as the vector grows).
        sink.reserve_events(1);
        let mut lines = sink.lines();
        let end_of_range = sink.range.end;
        while let Some(line) = lines.next() {
            let t = line.text;
            if crate::lines::trim(t).is_empty() || t == b"\x1e" {
                sink.blank(1);
                continue;
            }
            let Some(at) = object_start(t) else {
                sink.unparsed(&line, "not a JSON object");
                continue;
            };
            match decode(bytes, line.start + at, line.end(), &mut entry) {
                Ok(end) => {
                    if end > end_of_range {
                        // An object reaching into the next chunk: that chunk was split
                        // at a line inside it.
                        sink.overran = true;
                    }
                    // Consume the lines the object spans (json-pretty).
                    let mut last = line.no;
                    while lines.position() < end {
                        match lines.next() {
                            Some(l) => last = l.no,
                            None => break,
                        }
                    }
                    entry.line = line.no;
                    entry.end_line = last;
                    entry.offset = line.start;
                    if entry.is_record() {
                        if !warned_null && entry.has(Key::NullMessage) {
                            warned_null = true;
                            sink.issue_once(
                                NULL_MESSAGE,
                                line.no,
                                line.start,
                                "message is null: journalctl drops fields of 4096 bytes or more unless run with --all",
                            );
                        }
                        let (ev, ident) = entry_event(&entry, sink, &mut cache);
                        emb.emit(sink, ev, ident);
                    } else {
                        sink.unparsed_lines(line.no, t, u64::from(last - line.no) + 1);
                    }
                }
                Err(e) => {
                    // serde_json's position is relative to the object; the issue carries
                    // the object's own line and byte offset instead.
                    let e = e.to_string();
                    let what = e.split(" at line ").next().unwrap_or(&e);
                    sink.issue(
                        line.no,
                        line.start,
                        format!("not a journal JSON object: {what}"),
                    );
                    sink.unparsed(&line, "bad JSON");
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{ClockMethod, Severity};
    use crate::formats::parse_source;

    const LINE: &str = r#"{"__CURSOR":"s=1","__REALTIME_TIMESTAMP":"1774346400123456","__MONOTONIC_TIMESTAMP":"5000000","_BOOT_ID":"0123456789abcdef0123456789abcdef","_HOSTNAME":"runner1","PRIORITY":"6","_PID":"900","SYSLOG_IDENTIFIER":"gitlab-runner","_SYSTEMD_UNIT":"gitlab-runner.service","MESSAGE":[27,91,51,49,109,69,27,91,48,109,32,120],"_CMDLINE":"/usr/bin/gitlab-runner run","LARGE":null,"_UDEV_DEVLINK":["/a","/b"]}"#;

    #[test]
    fn one_object_per_line_with_byte_array_message() {
        let src = Source::from_bytes(0, "j", format!("{LINE}\n{LINE}\n").into_bytes());
        let p = parse_source(&src, None);
        assert_eq!(crate::formats::name_of(p.format.unwrap()), "journal-json");
        assert_eq!(p.events.len(), 2);
        let e = &p.events[0];
        assert_eq!(e.message.bytes(&src.bytes), b"E x");
        assert_eq!(e.time, 1_774_346_400_123_456_000);
        assert_eq!(e.clock, ClockMethod::Exact);
        assert_eq!(e.severity, Severity::Info);
        assert_eq!(p.atoms.get(e.unit), "gitlab-runner.service");
        assert_eq!(p.atoms.get(e.host), "runner1");
        // a clean string stays a span
        assert!(matches!(
            p.fields
                .get(e.fields)
                .iter()
                .find(|(k, _)| p.atoms.get(*k) == "identifier")
                .unwrap()
                .1,
            crate::event::Text::Span { .. }
        ));
        assert_eq!(p.counts.total(), 2);
    }

    #[test]
    fn pretty_seq_and_sse_framing_and_repeated_fields() {
        let pretty = "{\n\t\"__REALTIME_TIMESTAMP\" : \"1774346400000000\",\n\t\"MESSAGE\" : [ \"first \\\"q\\\"\", \"second\" ],\n\t\"_PID\" : \"7\"\n}\n";
        let seq = format!("\x1e{LINE}\n");
        let sse = format!("data: {LINE}\n\n");
        let src = Source::from_bytes(0, "j", format!("{pretty}{seq}{sse}").into_bytes());
        let p = parse_source(
            &src,
            Some(crate::formats::by_name("journal-json").unwrap().0),
        );
        assert_eq!(p.events.len(), 3, "{:?}", p.issues);
        assert_eq!(p.events[0].line, 1);
        assert_eq!(p.events[0].end_line, 5);
        assert_eq!(p.events[0].message.bytes(&src.bytes), b"first \"q\"");
        assert_eq!(p.events[1].line, 6);
        assert_eq!(p.events[2].line, 7);
        assert_eq!(p.counts.parsed, 3);
        assert_eq!(p.counts.continuation, 5);
        assert_eq!(p.counts.total(), src.lines);
    }

    #[test]
    fn broken_object_is_unparsed_with_the_json_error() {
        let src = Source::from_bytes(0, "j", b"{\"MESSAGE\":\"a\",\n".to_vec());
        let p = parse_source(
            &src,
            Some(crate::formats::by_name("journal-json").unwrap().0),
        );
        assert_eq!(p.counts.unparsed, 1);
        assert_eq!(
            p.issues[0].message,
            "not a journal JSON object: EOF while parsing a value"
        );
        let src = Source::from_bytes(0, "j", b"{\"a\":1}\nplain text\n".to_vec());
        let p = parse_source(
            &src,
            Some(crate::formats::by_name("journal-json").unwrap().0),
        );
        assert_eq!(p.counts.unparsed, 2);
        assert!(p.events.is_empty());
    }

    #[test]
    fn null_message_is_reported_once() {
        let l = r#"{"__REALTIME_TIMESTAMP":"1774346400000000","_HOSTNAME":"h","MESSAGE":null}"#;
        let src = Source::from_bytes(0, "j", format!("{l}\n{l}\n").into_bytes());
        let p = parse_source(
            &src,
            Some(crate::formats::by_name("journal-json").unwrap().0),
        );
        assert_eq!(p.events.len(), 2);
        assert_eq!(p.events[0].message.bytes(&src.bytes), b"");
        assert_eq!(p.issues.len(), 1);
        assert_eq!(p.issues[0].line, Some(1));
        assert_eq!(
            p.issues[0].message,
            "message is null: journalctl drops fields of 4096 bytes or more unless run with --all"
        );
    }

    const ALL_KEYS: [Key; 19] = [
        Key::Message,
        Key::Cursor,
        Key::Realtime,
        Key::Monotonic,
        Key::SourceRealtime,
        Key::SourceMonotonic,
        Key::Hostname,
        Key::BootId,
        Key::Pid,
        Key::SyslogPid,
        Key::Priority,
        Key::SyslogIdentifier,
        Key::Comm,
        Key::Unit,
        Key::UserUnit,
        Key::SystemdUnit,
        Key::Transport,
        Key::MessageId,
        Key::NullMessage,
    ];

    /// An entry's values (key, bytes, span offset), for comparing decoders.
    fn show(e: &Entry<'_>, end: usize) -> String {
        let vals: Vec<_> = ALL_KEYS
            .iter()
            .filter_map(|&k| {
                e.get(k)
                    .map(|v| (k, String::from_utf8_lossy(&v.bytes), v.at))
            })
            .collect();
        format!("{vals:?} {end}")
    }

    /// The object at `src[at..]` (its line ending at `line_end`) by [`decode`], shown as
    /// [`by_serde`] shows serde_json's result, errors included.
    fn decoded(src: &[u8], at: usize, line_end: usize) -> String {
        let mut e = Entry::default();
        match decode(src, at, line_end, &mut e) {
            Ok(end) => show(&e, end),
            Err(err) => format!("error {err}"),
        }
    }

    fn by_serde(src: &[u8], at: usize) -> String {
        match decode_serde(src, at) {
            Ok((fields, end)) => {
                let mut e = Entry::default();
                for (k, v) in fields {
                    e.add(k, v);
                }
                show(&e, end)
            }
            Err(e) => format!("error {e}"),
        }
    }

    /// The hand-written decoder gives what serde_json gives, or declines; `fast` says
    /// which of the two each case must do.
    #[test]
    fn fast_decoder_decodes_as_serde_or_declines() {
        let cases: &[(&[u8], bool)] = &[
            (LINE.as_bytes(), true),
            (br#"{"MESSAGE":"hello","_PID":"7","X":"y"}"#, true),
            (b"{ \"MESSAGE\" : \"a\" ,\n\t\"_HOSTNAME\":\"h\" }", true),
            (br#"{}"#, true),
            (br#"{"MESSAGE":"dup","MESSAGE":"again"}"#, true),
            (br#"{"MESSAGE":"esc \" q","_PID":"1"}"#, true),
            (br#"{"MESSAGE":null}"#, true),
            (br#"{"MESSAGE":[104,105]}"#, true),
            (br#"{"MESSAGE":"a",}"#, false),
            (br#"{"MESSAGE":"a""#, false),
            (b"{\"MESSAGE\":\"tab\there\"}", false),
            (b"{\"MESSAGE\":\"bad \xff utf8\"}", false),
            (b"{\"OTHER\":\"bad \xff utf8\",\"MESSAGE\":\"x\"}", true),
            (b"{\"K\xff\":\"v\"}", false),
            (br#"{"_PID":7}"#, false),
            // escapes: at the end of the input, an escaped backslash before the quote
            (br#"{"MESSAGE":"ab\"#, false),
            (br#"{"MESSAGE":"ab\u00"#, false),
            (br#"{"MESSAGE":"x\\"}"#, true),
            (br#"{"MESSAGE":"\/ \b\f\n\r\t \u0000 \u001b[0m"}"#, true),
            // `\u` surrogate pairs; lone surrogates are serde_json's to judge
            (br#"{"MESSAGE":"\ud83d\ude00 caf\u00e9"}"#, true),
            ("{\"MESSAGE\":\"raw é and \\u00e9\"}".as_bytes(), true),
            (br#"{"MESSAGE":"\ud83d x"}"#, false),
            (br#"{"MESSAGE":"\ude00"}"#, false),
            (br#"{"MESSAGE":"\ud83d\u0041"}"#, false),
            (br#"{"OTHER":"\ud800","MESSAGE":"m"}"#, true),
            (br#"{"OTHER":"\q"}"#, false),
            (br#"{"OTHER":"\u12g4"}"#, false),
            // field names that share a prefix with kept ones
            (
                br#"{"MESSAGE_ID":"abc","MESSAGES":"no","MESSAG":"no","MESSAGE":"m","_PID_":"9"}"#,
                true,
            ),
            // duplicated keys: the first value counts, null does not
            (
                br#"{"_PID":"1","_PID":"2","_HOSTNAME":null,"_HOSTNAME":"h"}"#,
                true,
            ),
            (br#"{"MESSAGE":null,"MESSAGE":"late"}"#, true),
            (b"{\"MESSAGE\":\"a\",\"MESSAGE\":\"bad \xff\"}", false),
            // repeated fields and byte arrays
            (br#"{"MESSAGE":[null,"second"]}"#, true),
            (br#"{"MESSAGE":[[104,105],"x"]}"#, true),
            (br#"{"MESSAGE":[1,"a"]}"#, true),
            (br#"{"MESSAGE":[ ]}"#, true),
            (br#"{"MESSAGE":[null]}"#, true),
            (br#"{"MESSAGE":[0,255]}"#, true),
            (br#"{"MESSAGE":[256]}"#, false),
            (br#"{"MESSAGE":[-1]}"#, false),
            (br#"{"MESSAGE":[01]}"#, false),
            (br#"{"MESSAGE":[1.0]}"#, false),
            (br#"{"MESSAGE":[[[1]]]}"#, false),
            (br#"{"MESSAGE":[1,]}"#, false),
            (br#"{"MESSAGE":true}"#, false),
            // values of other fields: skipped, checked as serde_json checks them
            (
                br#"{"X":[1,"a",null,true,false,-2.5e3,0,[]],"MESSAGE":"m"}"#,
                true,
            ),
            (br#"{"X":{"a":1},"MESSAGE":"m"}"#, false),
            (br#"{"X":01}"#, false),
            (br#"{"X":1.}"#, false),
            (br#"{"X":nul}"#, false),
            // an escaped key is decoded by serde_json
            (br#"{"MESS\u0041GE":"m"}"#, false),
            (br#"{"MESSAGE":"x"} trailing"#, true),
        ];
        for (c, want_fast) in cases {
            for suffix in [&b"\nnext"[..], b""] {
                let mut src = b"  ".to_vec();
                src.extend_from_slice(c);
                src.extend_from_slice(suffix);
                let line_end = 2 + memchr::memchr(b'\n', &src[2..]).unwrap_or(src.len() - 2);
                let serde = by_serde(&src, 2);
                let what = String::from_utf8_lossy(&src).into_owned();
                let mut took = false;
                for (limit, clean) in [
                    (line_end, Clean::of(&src[2..line_end])),
                    (src.len(), Clean::NONE),
                ] {
                    let mut e = Entry::default();
                    if let Some(end) = decode_fast(&src, 2, limit, clean, &mut e) {
                        took = true;
                        assert_eq!(show(&e, end), serde, "{what}");
                    }
                }
                assert_eq!(took, *want_fast, "{what}: {serde}");
                assert_eq!(decoded(&src, 2, line_end), serde, "{what}");
            }
        }
    }

    proptest::proptest! {
        /// Objects assembled from JSON tokens (valid or not) decode as serde_json decodes
        /// them, errors included.
        #[test]
        fn decode_equals_serde_on_token_soup(tokens in proptest::collection::vec(
            proptest::sample::select(vec![
                "{", "}", "[", "]", ":", ",", " ", "\n", "\t", "null", "true", "1", "255",
                "256", "-1", "01", "1.5e3", "\"MESSAGE\"", "\"_PID\"", "\"MESSAGE_ID\"",
                "\"_HOSTNAME\"", "\"X\"", "\"x\"", "\"7\"", "\"a\\\"b\"", "\"\\\\\"",
                "\"\\u00e9\"", "\"\\ud83d\\ude00\"", "\"\\ud83d\"", "\"\\q\"", "\"a\tb\"",
                "\"\u{e9}\"", "\"\\", "\"", "\\u00", "{\"a\":1}",
            ]),
            0..24,
        ), bad_utf8 in proptest::bool::ANY) {
            let mut src = b"{".to_vec();
            for t in &tokens {
                src.extend_from_slice(t.as_bytes());
            }
            if bad_utf8 {
                src.extend_from_slice(b"\"\xff\"");
            }
            let line_end = memchr::memchr(b'\n', &src).unwrap_or(src.len());
            proptest::prop_assert_eq!(decoded(&src, 0, line_end), by_serde(&src, 0));
        }

        /// Mostly valid objects: key-value pairs of kept and other fields with every kind
        /// of value journalctl (or something else) may write.
        #[test]
        fn decode_equals_serde_on_objects(pairs in proptest::collection::vec((
            proptest::sample::select(vec![
                "MESSAGE", "_PID", "SYSLOG_PID", "MESSAGE_ID", "_HOSTNAME", "__CURSOR",
                "_TRANSPORT", "X", "MESSAGES", "_", "MESS\\u0041GE",
            ]),
            proptest::sample::select(vec![
                "\"plain\"", "\"\"", "null", "[]", "[104,105]", "[0,27,91,109,255]",
                "[\"a\",\"b\"]", "[null,\"b\"]", "[[104],\"b\"]", "[1,\"b\"]", "\"q \\\" q\"",
                "\"\\\\\"", "\"\\u00e9\\u001b[0m\"", "\"\\ud83d\\ude00\"", "\"\\udc00\"",
                "\"\u{e9}t\u{e9}\"", "\"\\t\"", "7", "-7.5", "true", "{\"a\":[1]}",
                "[1,[2,[3]]]", "\"a\tb\"", "[256]", "\"\\x\"",
            ]),
            proptest::sample::select(vec![":", " : ", ":\n\t"]),
        ), 0..10)) {
            let mut src = b"{".to_vec();
            for (i, (k, v, colon)) in pairs.iter().enumerate() {
                if i > 0 {
                    src.push(b',');
                }
                src.extend_from_slice(format!("\"{k}\"{colon}{v}").as_bytes());
            }
            src.extend_from_slice(b"}\n{}");
            let line_end = memchr::memchr(b'\n', &src).unwrap_or(src.len());
            proptest::prop_assert_eq!(decoded(&src, 0, line_end), by_serde(&src, 0));
        }
    }

    #[test]
    fn escapes_surrogates_and_a_string_cut_at_the_end() {
        let text = concat!(
            r#"{"__REALTIME_TIMESTAMP":"1774346400000000","MESSAGE_ID":"fc2e22bc6ee647b6b90729ab34a250b1","MESSAGE":"say \"hi\" \ud83d\ude00 caf\u00e9\\","_PID":"1","_PID":"2"}"#,
            "\n",
            r#"{"__REALTIME_TIMESTAMP":"1774346400000001","MESSAGE":"cut \"#,
        );
        let src = Source::from_bytes(0, "j", text.as_bytes().to_vec());
        let p = parse_source(
            &src,
            Some(crate::formats::by_name("journal-json").unwrap().0),
        );
        assert_eq!(p.events.len(), 1);
        let e = &p.events[0];
        assert_eq!(
            e.message.bytes(&src.bytes),
            "say \"hi\" \u{1f600} café\\".as_bytes()
        );
        assert_eq!(e.pid, Some(1));
        assert_eq!(
            e.field(&p.fields, &p.atoms, "message_id", &src.bytes),
            Some(&b"fc2e22bc6ee647b6b90729ab34a250b1"[..])
        );
        assert_eq!(p.counts.unparsed, 1);
        assert_eq!(p.issues[0].line, Some(2));
        assert_eq!(
            p.issues[0].message,
            "not a journal JSON object: EOF while parsing a string"
        );
    }

    #[test]
    fn sniff_needs_journal_keys() {
        assert_eq!(JournalJson.sniff(LINE.as_bytes()), 95);
        assert_eq!(
            JournalJson.sniff(b"{\"level\":\"info\",\"msg\":\"x\"}\n"),
            0
        );
        assert_eq!(
            JournalJson.sniff(b"__CURSOR=x\n__REALTIME_TIMESTAMP=1\n"),
            0
        );
    }
}
