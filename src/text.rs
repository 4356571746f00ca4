//! Byte-level text helpers for the hot path: ANSI escape stripping, `\r` overwrite
//! resolution, lossy UTF-8 views, simple number parsing. Nothing here allocates unless the
//! input actually needs rewriting (the result is a `Cow`).
//!
//! The ANSI stripper is written by hand rather than taken from `strip-ansi-escapes` because
//! it runs on every line: it returns the input borrowed when there is no ESC byte (one
//! `memchr`), and it must accept the runner's `ESC[0;m` and `ESC[0K`, OSC hyperlinks and
//! stray ESCs in truncated lines without ever failing.

use std::borrow::Cow;

/// Index just past the escape sequence that starts at `b[i]` (an ESC byte): CSI
/// (`ESC [` parameters, final byte), OSC (`ESC ]` … BEL or ST) or a two-byte sequence. A
/// sequence cut by the end of the input ends there.
pub fn escape_end(b: &[u8], i: usize) -> usize {
    let mut i = i + 1;
    match b.get(i) {
        Some(b'[') => {
            // CSI: parameters and intermediates 0x20..=0x3f, final 0x40..=0x7e.
            i += 1;
            while i < b.len() && (0x20..=0x3f).contains(&b[i]) {
                i += 1;
            }
            if i < b.len() && (0x40..=0x7e).contains(&b[i]) {
                i += 1;
            }
        }
        Some(b']') => {
            // OSC: until BEL or ST (ESC \).
            i += 1;
            while i < b.len() {
                if b[i] == 0x07 {
                    return i + 1;
                }
                if b[i] == 0x1b && b.get(i + 1) == Some(&b'\\') {
                    return i + 2;
                }
                i += 1;
            }
        }
        Some(_) => i += 1,
        None => {}
    }
    i.min(b.len())
}

/// Removes ANSI escape sequences (CSI, OSC, two-byte ESC sequences) from `b`.
pub fn strip_ansi(b: &[u8]) -> Cow<'_, [u8]> {
    let Some(first) = memchr::memchr(0x1b, b) else {
        return Cow::Borrowed(b);
    };
    let mut out = Vec::with_capacity(b.len());
    out.extend_from_slice(&b[..first]);
    let mut i = first;
    while i < b.len() {
        match memchr::memchr(0x1b, &b[i..]) {
            Some(0) => i = escape_end(b, i),
            Some(j) => {
                out.extend_from_slice(&b[i..i + j]);
                i += j;
            }
            None => {
                out.extend_from_slice(&b[i..]);
                break;
            }
        }
    }
    Cow::Owned(out)
}

/// A run of bytes kept verbatim by [`strip_ansi_runs`]: `len` bytes at `clean` in the
/// stripped text are the bytes at `raw` in the source.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Run {
    /// Offset in the stripped text.
    pub clean: usize,
    /// Offset in the source.
    pub raw: usize,
    /// Length.
    pub len: usize,
}

/// Strips `b` (which starts at byte `base` of its source) like [`strip_ansi`], into the
/// reused buffer `out`, recording in `runs` where each piece of text between escapes came
/// from: a range of the stripped text that lies in one run is a span of the source. Both
/// buffers are cleared first; nothing is allocated once they have grown to a line's size.
pub fn strip_ansi_runs(b: &[u8], base: usize, out: &mut Vec<u8>, runs: &mut Vec<Run>) {
    out.clear();
    runs.clear();
    let mut i = 0;
    while i < b.len() {
        match memchr::memchr(0x1b, &b[i..]) {
            Some(0) => i = escape_end(b, i),
            Some(j) => {
                runs.push(Run {
                    clean: out.len(),
                    raw: base + i,
                    len: j,
                });
                out.extend_from_slice(&b[i..i + j]);
                i += j;
            }
            None => {
                runs.push(Run {
                    clean: out.len(),
                    raw: base + i,
                    len: b.len() - i,
                });
                out.extend_from_slice(&b[i..]);
                break;
            }
        }
    }
}

/// `b` without ANSI escapes, and for each kept byte its offset in `b` (so that ranges found
/// in the stripped text can be given back as ranges of the raw bytes).
pub fn strip_ansi_mapped(b: &[u8]) -> (Vec<u8>, Vec<usize>) {
    let mut out = Vec::with_capacity(b.len());
    let mut map = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == 0x1b {
            i = escape_end(b, i);
        } else {
            out.push(b[i]);
            map.push(i);
            i += 1;
        }
    }
    (out, map)
}

/// A message with its ANSI escapes removed that can give offsets found in the clean text back
/// as offsets of the raw bytes: embedded-format `refine` hooks find fields in the clean text
/// and must hand the journal parser ranges of the raw message.
///
/// The mapping is kept as the runs of verbatim text between escapes (a handful per message),
/// not as one offset per byte: a coloured gitlab-runner line in a journal is stripped for
/// every entry, and a per-byte map cost eight bytes of allocation per message byte.
pub struct Stripped<'a> {
    /// The text without escapes (borrowed when there was none).
    pub text: Cow<'a, [u8]>,
    /// Where the pieces of `text` are in the raw bytes (empty when nothing was stripped).
    runs: Vec<Run>,
    raw_len: usize,
}

impl<'a> Stripped<'a> {
    /// Strips `raw` (no copy when it has no ESC byte).
    pub fn new(raw: &'a [u8]) -> Self {
        if memchr::memchr(0x1b, raw).is_none() {
            return Stripped {
                text: Cow::Borrowed(raw),
                runs: Vec::new(),
                raw_len: raw.len(),
            };
        }
        let (mut text, mut runs) = (Vec::with_capacity(raw.len()), Vec::new());
        strip_ansi_runs(raw, 0, &mut text, &mut runs);
        Stripped {
            text: Cow::Owned(text),
            runs,
            raw_len: raw.len(),
        }
    }
    /// The raw offset of clean offset `i` (the raw length past the end).
    pub fn raw(&self, i: usize) -> usize {
        if let Cow::Borrowed(_) = self.text {
            return i.min(self.raw_len);
        }
        if i >= self.text.len() {
            return self.raw_len;
        }
        // The last run starting at or before `i` holds it: runs tile the clean text.
        let k = self.runs.partition_point(|r| r.clean <= i);
        match k.checked_sub(1).map(|k| self.runs[k]) {
            Some(r) if i < r.clean + r.len => r.raw + (i - r.clean),
            _ => self.raw_len,
        }
    }
    /// The raw range of a clean range: from its first byte to just past its last.
    pub fn raw_range(&self, r: std::ops::Range<usize>) -> std::ops::Range<usize> {
        if r.is_empty() {
            let s = self.raw(r.start);
            return s..s;
        }
        self.raw(r.start)..self.raw(r.end - 1).saturating_add(1).min(self.raw_len)
    }
}

/// Resolves carriage-return overwrites the way a terminal shows them: the visible text is
/// what follows the last `\r` that has text after it (a trailing `\r` keeps what precedes).
pub fn resolve_cr(b: &[u8]) -> &[u8] {
    let mut end = b.len();
    while end > 0 && b[end - 1] == b'\r' {
        end -= 1;
    }
    let b = &b[..end];
    match memchr::memrchr(b'\r', b) {
        Some(i) => &b[i + 1..],
        None => b,
    }
}

/// A lossy `&str` view (borrowed when valid UTF-8).
pub fn lossy(b: &[u8]) -> Cow<'_, str> {
    String::from_utf8_lossy(b)
}

/// The offset of the first `first` immediately followed by `second` in `b`: memchr for the
/// first byte, then one comparison. Cheaper than a substring searcher built for every line,
/// which is what a hot loop calling `memmem::find` with a two-byte needle does.
#[inline]
pub fn find_pair(b: &[u8], first: u8, second: u8) -> Option<usize> {
    let mut i = 0;
    while let Some(j) = memchr::memchr(first, &b[i..]) {
        let at = i + j;
        if b.get(at + 1) == Some(&second) {
            return Some(at);
        }
        i = at + 1;
    }
    None
}

/// Parses an unsigned decimal integer of the whole slice.
pub fn parse_u64(b: &[u8]) -> Option<u64> {
    if b.is_empty() || b.len() > 19 {
        return None;
    }
    let mut n: u64 = 0;
    for &c in b {
        if !c.is_ascii_digit() {
            return None;
        }
        n = n * 10 + (c - b'0') as u64;
    }
    Some(n)
}

/// Parses exactly `n` ASCII digits at the start of `b`.
pub fn digits(b: &[u8], n: usize) -> Option<u32> {
    if b.len() < n {
        return None;
    }
    let mut v = 0u32;
    for &c in &b[..n] {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v * 10 + (c - b'0') as u32;
    }
    Some(v)
}

/// Shortens `s` to at most `max` characters, ending with `…` when cut.
pub fn ellipsize(s: &str, max: usize) -> Cow<'_, str> {
    if s.chars().count() <= max {
        return Cow::Borrowed(s);
    }
    let cut: String = s.chars().take(max.saturating_sub(1)).collect();
    Cow::Owned(cut + "…")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn find_pair_finds_the_first_adjacent_pair_only() {
        assert_eq!(find_pair(b"a: b: c", b':', b' '), Some(1));
        assert_eq!(find_pair(b"a:b: c", b':', b' '), Some(3));
        assert_eq!(find_pair(b"a:b:", b':', b' '), None);
        assert_eq!(find_pair(b"one two  three", b' ', b' '), Some(7));
        assert_eq!(find_pair(b"   ", b' ', b' '), Some(0));
        assert_eq!(find_pair(b"", b' ', b' '), None);
    }

    #[test]
    fn strips_runner_and_tracing_colours() {
        assert!(matches!(strip_ansi(b"plain"), Cow::Borrowed(_)));
        assert_eq!(
            &*strip_ansi(b"\x1b[0K\x1b[32;1m$ nix build\x1b[0;m"),
            b"$ nix build"
        );
        assert_eq!(
            &*strip_ansi(b"\x1b[2m2026-03-25T10:00:00.123456Z\x1b[0m \x1b[31mERROR\x1b[0m x"),
            b"2026-03-25T10:00:00.123456Z ERROR x"
        );
        assert_eq!(
            &*strip_ansi(b"a\x1b]8;;http://x\x07link\x1b]8;;\x1b\\b"),
            b"alinkb"
        );
        assert_eq!(&*strip_ansi(b"cut\x1b["), b"cut");
        assert_eq!(&*strip_ansi(b"\x1b"), b"");
    }

    #[test]
    fn mapped_stripping_points_back_into_the_raw_bytes() {
        let raw = b"\x1b[31mERROR\x1b[0m x";
        let (out, map) = strip_ansi_mapped(raw);
        assert_eq!(out, b"ERROR x");
        assert_eq!(map[0], 5);
        assert_eq!(&raw[map[6]..=map[6]], b"x");
        assert_eq!(strip_ansi(raw).as_ref(), out.as_slice());
        let st = Stripped::new(raw);
        assert_eq!(&raw[st.raw_range(0..5)], b"ERROR");
        assert_eq!(st.raw_range(6..6), 15..15);
        // The run mapping answers as the per-byte map does, at every offset.
        for raw in [
            &raw[..],
            b"\x1b[0;33mWARNING: x\x1b[0;m  \x1b[0;33mrunner\x1b[0;m=abc",
            b"\x1b[0K\x1b[36;1mtext\x1b[0;m\x1b[",
            b"a\x1b]8;;http://x\x07link\x1b]8;;\x1b\\b",
        ] {
            let (out, map) = strip_ansi_mapped(raw);
            let st = Stripped::new(raw);
            assert_eq!(st.text.as_ref(), out.as_slice());
            for i in 0..out.len() + 2 {
                assert_eq!(st.raw(i), map.get(i).copied().unwrap_or(raw.len()), "{i}");
            }
        }
        let plain = Stripped::new(b"plain");
        assert!(matches!(plain.text, Cow::Borrowed(_)));
        assert_eq!(plain.raw_range(1..3), 1..3);
    }

    #[test]
    fn run_stripping_records_where_text_came_from() {
        let raw = b"\x1b[2mab\x1b[0m \x1b[31mERR\x1b[0m tail";
        let (mut out, mut runs) = (Vec::new(), Vec::new());
        strip_ansi_runs(raw, 100, &mut out, &mut runs);
        assert_eq!(out, strip_ansi(raw).as_ref());
        assert_eq!(out, b"ab ERR tail");
        for r in &runs {
            assert_eq!(
                &out[r.clean..r.clean + r.len],
                &raw[r.raw - 100..r.raw - 100 + r.len]
            );
        }
        assert_eq!(runs.len(), 4);
        assert_eq!(
            runs[2],
            Run {
                clean: 3,
                raw: 100 + 16,
                len: 3
            }
        );
        strip_ansi_runs(b"plain", 7, &mut out, &mut runs);
        assert_eq!(
            (out.as_slice(), runs.as_slice()),
            (
                &b"plain"[..],
                &[Run {
                    clean: 0,
                    raw: 7,
                    len: 5
                }][..]
            )
        );
        strip_ansi_runs(b"\x1b[0K", 0, &mut out, &mut runs);
        assert!(out.is_empty() && runs.is_empty());
    }

    #[test]
    fn resolves_carriage_returns() {
        assert_eq!(resolve_cr(b"10%\r50%\r100% done"), b"100% done");
        assert_eq!(resolve_cr(b"progress\r"), b"progress");
        assert_eq!(resolve_cr(b"a"), b"a");
    }

    #[test]
    fn numbers_and_ellipsis() {
        assert_eq!(parse_u64(b"0123"), Some(123));
        assert_eq!(parse_u64(b"12a"), None);
        assert_eq!(parse_u64(b""), None);
        assert_eq!(digits(b"2026-", 4), Some(2026));
        assert_eq!(ellipsize("abcdef", 4), "abc…");
        assert_eq!(ellipsize("abc", 4), "abc");
    }
}
