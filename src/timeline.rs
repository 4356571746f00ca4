//! Stage 4, timeline: merges the events of all sources into one time order, removes
//! duplicates that two sources carry, and builds the polars `DataFrame` used for
//! aggregation (events per minute) and export (Parquet, CSV, NDJSON).
//!
//! Order: by time, then source id, then line (stable and deterministic whatever the number
//! of threads). Events without a usable clock sort after all timed events, in source order.
//! Duplicates: a kernel line with the same host, monotonic stamp and text in two sources (dmesg
//! and the journal), or any event with the same host, instant and text in two sources;
//! the copy kept is the one with the exact clock, else the one from the earlier source.

use crate::event::{Atom, Atoms, ClockMethod, Event, FieldStore, Slim, SourceId, Text};
use crate::formats::Parsed;
use crate::ingest::Source;
use polars::prelude::*;
use rayon::prelude::*;
use std::borrow::Cow;
use std::collections::HashMap;

/// One input with its parse result and clock description.
#[derive(Debug)]
pub struct SourceData {
    /// The input (after loading, only the text its kept events reference).
    pub src: Source,
    /// Parsing's results: format, atoms, line accounting, unparsed examples, issues. Its
    /// `events` were moved into [`SourceData::events`] and [`SourceData::texts`] when the
    /// source was loaded, and are empty.
    pub parsed: Parsed,
    /// The events, in source order, in 48 bytes each ([`Slim`]).
    pub events: Vec<Slim>,
    /// The text the events kept (see [`crate::Keep`]).
    pub texts: Texts,
    /// How its clock was obtained.
    pub clock_note: String,
    /// What the later stages need of its text (see [`crate::digest`]).
    pub digest: crate::digest::Digest,
}

impl SourceData {
    /// A parsed source, with its digest taken; every event keeps its text.
    pub fn new(src: Source, parsed: Parsed) -> SourceData {
        let digest = crate::digest::Digest::compute(
            &parsed.events,
            &parsed.fields,
            &parsed.atoms,
            &src.bytes,
        );
        SourceData::split(src, parsed, digest, &Which::All)
    }

    /// Moves the parsed events into [`Slim`]s and [`Texts`], keeping the text of the events
    /// `which` says.
    pub fn split(
        src: Source,
        parsed: Parsed,
        digest: crate::digest::Digest,
        which: &Which,
    ) -> SourceData {
        SourceData::split_keeping(src, parsed, digest, which).0
    }

    /// [`SourceData::split`], returning the parsed events' vector and field store, emptied,
    /// for reuse (see [`crate::formats::recycle_events`] and
    /// [`crate::formats::recycle_fields`]).
    pub fn split_keeping(
        src: Source,
        parsed: Parsed,
        digest: crate::digest::Digest,
        which: &Which,
    ) -> (SourceData, Vec<Event>, FieldStore) {
        SourceData::split_slim(src, parsed, digest, which, None)
    }

    /// [`SourceData::split_keeping`] with the [`Slim`]s of the events already made (by the
    /// pass that took the digest, see [`crate::analyze`]), when `slim` is given.
    pub fn split_slim(
        src: Source,
        mut parsed: Parsed,
        digest: crate::digest::Digest,
        which: &Which,
        slim: Option<Vec<Slim>>,
    ) -> (SourceData, Vec<Event>, FieldStore) {
        let mut evs = std::mem::take(&mut parsed.events);
        let mut store = std::mem::take(&mut parsed.fields);
        let mut take = |e: &mut Event| Kept {
            end_line: e.end_line,
            message: std::mem::take(&mut e.message),
            fields: store
                .get_mut(std::mem::take(&mut e.fields))
                .iter_mut()
                .map(|(a, v)| (*a, std::mem::take(v)))
                .collect(),
        };
        let texts = match which {
            Which::All => Texts {
                index: None,
                items: evs.iter_mut().map(&mut take).collect(),
            },
            Which::Some(wanted) => {
                // The index is rebuilt from what was taken: an entry past the last event (or
                // out of order) is skipped, never looked up.
                let mut index = Vec::with_capacity(wanted.len());
                let mut items = Vec::with_capacity(wanted.len());
                let mut last = None;
                for &k in wanted {
                    if last.is_some_and(|l| k <= l) {
                        continue;
                    }
                    let Some(e) = evs.get_mut(k as usize) else {
                        break;
                    };
                    last = Some(k);
                    index.push(k);
                    items.push(take(e));
                }
                Texts {
                    index: Some(index),
                    items,
                }
            }
        };
        let events: Vec<Slim> = match slim {
            Some(v) if v.len() == evs.len() => v,
            _ => evs.iter().map(Slim::from).collect(),
        };
        evs.clear();
        store.clear();
        let data = SourceData {
            src,
            parsed,
            events,
            texts,
            clock_note: String::new(),
            digest,
        };
        (data, evs, store)
    }

    /// The events with their texts (empty for an event that kept none), as the signal scan
    /// and the unexplained-error pick read them.
    pub fn views(&self) -> impl Iterator<Item = View<'_>> + '_ {
        let bytes: &[u8] = &self.src.bytes;
        self.events.iter().enumerate().map(move |(i, e)| {
            let k = self.texts.get(i);
            View {
                unit: e.unit,
                format: e.format(),
                inner: e.inner(),
                severity: e.severity,
                message: k.map_or(&b""[..], |k| k.message.bytes(bytes)),
                fields: k.map_or(&[][..], |k| &k.fields[..]),
            }
        })
    }
}

/// Which events keep their text when a source is split ([`SourceData::split`]).
#[derive(Clone, Debug)]
pub enum Which {
    /// Every event.
    All,
    /// The events at these indices (ascending); none when empty.
    Some(Vec<u32>),
}

/// What an event kept of its text: its message, fields and last physical line.
#[derive(Clone, Debug, Default)]
pub struct Kept {
    /// As [`Event::end_line`].
    pub end_line: u32,
    /// As [`Event::message`].
    pub message: Text,
    /// As [`Event::fields`].
    pub fields: Vec<(Atom, Text)>,
}

/// The texts a source's events kept, by event index.
#[derive(Clone, Debug, Default)]
pub struct Texts {
    /// Event indices of `items`, ascending; `None` when every event has one.
    index: Option<Vec<u32>>,
    items: Vec<Kept>,
}

impl Texts {
    /// The text event `i` kept, if any.
    pub fn get(&self, i: usize) -> Option<&Kept> {
        match &self.index {
            None => self.items.get(i),
            Some(index) => index
                .binary_search(&(i as u32))
                .ok()
                .map(|k| &self.items[k]),
        }
    }
    /// The text event `i` kept, to change it.
    pub fn get_mut(&mut self, i: usize) -> Option<&mut Kept> {
        match &self.index {
            None => self.items.get_mut(i),
            Some(index) => index
                .binary_search(&(i as u32))
                .ok()
                .map(|k| &mut self.items[k]),
        }
    }
    /// How many events kept text.
    pub fn len(&self) -> usize {
        self.items.len()
    }
    /// True when no event kept text.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}

/// An event as the per-source text passes read it (the signal scan, the unexplained-error
/// pick), whether it comes from a parser's [`Event`] or a loaded source's [`Slim`] and
/// [`Kept`] text.
#[derive(Clone, Copy, Debug)]
pub struct View<'a> {
    /// Unit / identifier.
    pub unit: Atom,
    /// Format index.
    pub format: u16,
    /// Inner format index.
    pub inner: Option<u16>,
    /// Severity.
    pub severity: crate::event::Severity,
    /// The message.
    pub message: &'a [u8],
    /// The fields, whose texts resolve in the source's bytes.
    pub fields: &'a [(Atom, Text)],
}

impl<'a> View<'a> {
    /// A parser's event, whose fields are in `fields` and texts resolve in `bytes`.
    pub fn of(e: &'a Event, fields: &'a FieldStore, bytes: &'a [u8]) -> View<'a> {
        View {
            unit: e.unit,
            format: e.format,
            inner: e.inner,
            severity: e.severity,
            message: e.message.bytes(bytes),
            fields: fields.get(e.fields),
        }
    }
}

/// A reference to an event: (source id, index in that source's events). Aligned like an
/// [`OrderKey`] so that the merge turns its sorted keys into the order in place.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(C, align(8))]
pub struct EvRef {
    /// Source id.
    pub source: SourceId,
    /// Index into the source's events.
    pub index: u32,
}

/// All events in time order.
#[derive(Debug)]
pub struct Timeline {
    /// Sources by id.
    pub sources: Vec<SourceData>,
    /// Kept events in time order.
    pub order: Vec<EvRef>,
    /// Number of duplicates removed.
    pub duplicates: u64,
}

/// The key of the timeline's order: (time, source << 32 | index). Untimed events have
/// time `i64::MAX` and so come after every timed one, in source order. Within a source,
/// index order is line order (a parser hands its records to the sink as it meets them, and
/// chunks are concatenated in order; a test checks it on every fixture and sample), so equal
/// times keep their file order, then go by source id.
pub type OrderKey = (i64, u64);

fn order_key(e: &Slim, source: SourceId, index: u32) -> OrderKey {
    (sort_time(e), u64::from(source) << 32 | u64::from(index))
}

fn ev_ref(k: &OrderKey) -> EvRef {
    EvRef {
        source: (k.1 >> 32) as SourceId,
        index: k.1 as u32,
    }
}

impl Timeline {
    /// Merges and deduplicates.
    pub fn build(sources: Vec<SourceData>) -> Timeline {
        Timeline::build_sliced(sources, SLICE_EVENTS)
    }

    /// [`Timeline::build`], merging in slices of about `slice_events` events.
    fn build_sliced(sources: Vec<SourceData>, slice_events: usize) -> Timeline {
        // Drop flags per source and event index: both duplicate passes read them in the
        // order they touch events, and the final filter needs no second copy of the order.
        let mut drop = Dropped::new(&sources);
        let mut tl = Timeline {
            sources,
            order: Vec::new(),
            duplicates: 0,
        };
        // The hash of every atom's text, per source: both passes compare hosts by it.
        let atom_hash: Vec<Vec<u64>> = tl
            .sources
            .par_iter()
            .map(|s| {
                let a = &s.parsed.atoms;
                (0..a.len())
                    .map(|i| crate::digest::hash(a.get(Atom(i as u32)).as_bytes()))
                    .collect()
            })
            .collect();
        // The kernel pass first: it has its own candidates, which are gone before the sort
        // keys of every event exist (the two at once were the run's peak of memory). A copy
        // one pass drops, the other skips; both keep the exact-clocked copy, so for a
        // journal beside the dmesg of its boot (what both passes are for) the order does not
        // change what stays. The golden reports and the 1 GB bench corpus give the same
        // result either way.
        tl.dedupe_kernel(&atom_hash, &mut drop);
        // The clock ran before, the kernel pass just now: what only they read goes before
        // the order exists.
        for s in &mut tl.sources {
            s.digest.drop_clock_inputs();
        }
        tl.order = tl.merge(&atom_hash, &mut drop, slice_events);
        tl.duplicates = drop.count();
        tl
    }

    /// The order of every event not in `drop`, built slice of time by slice of time so
    /// that the sort keys (16 bytes an event) of only one slice exist beside it; runs the
    /// same-instant duplicate check on each slice. A slice holds about `slice_events` events
    /// (at most [`MAX_SLICES`] slices); all events of one instant fall in one slice, so the
    /// result does not depend on the slicing.
    fn merge(&self, atom_hash: &[Vec<u64>], drop: &mut Dropped, slice_events: usize) -> Vec<EvRef> {
        let total: usize = self.sources.iter().map(|s| s.events.len()).sum();
        let bounds = slice_bounds(&self.sources, total, slice_events);
        let slices = bounds.len() + 1;
        // Each event's slice (a byte per event), and how many events of each source fall in
        // each slice: a slice's keys are written in place, source by source, in parallel.
        // With them, per source and slice, the range of indices its events lie in: a
        // source's lines are mostly in time order, so a slice's events are found without
        // reading every event's byte again for every slice.
        #[allow(clippy::type_complexity)]
        let (ids, (counts, ranges)): (
            Vec<Vec<u8>>,
            (Vec<Vec<usize>>, Vec<Vec<(usize, usize)>>),
        ) = self
            .sources
            .par_iter()
            .map(|s| {
                let mut counts = vec![0; slices];
                let mut ranges = vec![(usize::MAX, 0); slices];
                // A source's events mostly keep to the slice of the one before: that slice
                // is checked first, the bounds searched only when the event left it.
                let mut last = 0;
                let ids = s
                    .events
                    .iter()
                    .enumerate()
                    .map(|(j, e)| {
                        let t = sort_time(e);
                        let k = if (last == 0 || bounds[last - 1] <= t)
                            && bounds.get(last).is_none_or(|&b| t < b)
                        {
                            last
                        } else {
                            bounds.partition_point(|&b| b <= t)
                        };
                        last = k;
                        counts[k] += 1;
                        let r = &mut ranges[k];
                        r.0 = r.0.min(j);
                        r.1 = j + 1;
                        k as u8
                    })
                    .collect();
                (ids, (counts, ranges))
            })
            .unzip();
        let mut order: Vec<EvRef> = Vec::with_capacity(total);
        // One slice's keys and the sort's second buffer, reused from slice to slice: a new
        // vector per slice was 8 MiB of fresh pages to fault in and zero each time.
        let mut keyed: Vec<OrderKey> = Vec::new();
        let mut scratch: Vec<OrderKey> = Vec::new();
        for k in 0..slices {
            let n: usize = counts.iter().map(|c| c[k]).sum();
            if n == 0 {
                continue;
            }
            // Every key is written below (each source fills exactly its count).
            resize_for_overwrite(&mut keyed, n);
            let mut parts: Vec<(usize, &mut [OrderKey])> = Vec::with_capacity(self.sources.len());
            let mut rest = &mut keyed[..];
            for (i, c) in counts.iter().enumerate() {
                let (part, tail) = rest.split_at_mut(c[k]);
                parts.push((i, part));
                rest = tail;
            }
            parts.into_par_iter().for_each(|(i, part)| {
                if part.is_empty() {
                    return;
                }
                let s = &self.sources[i];
                let (from, to) = ranges[i][k];
                let mine = ids[i][from..to]
                    .iter()
                    .enumerate()
                    .filter(|&(_, &id)| usize::from(id) == k);
                for (slot, (j, _)) in part.iter_mut().zip(mine) {
                    let j = from + j;
                    *slot = order_key(&s.events[j], s.src.id, j as u32);
                }
            });
            // The keys lie source by source, each source's in index order: in order of
            // their second half, so a stable sort by time alone gives the full order.
            sort_slice(&mut keyed, &mut scratch);
            self.dedupe_instants(&keyed, atom_hash, drop);
            order.extend(keyed.iter().map(ev_ref).filter(|r| !drop.get(*r)));
        }
        order.shrink_to_fit();
        order
    }

    /// Same host, same instant, same text, different sources. `keyed` is the sorted list of
    /// [`OrderKey`]s; untimed events (time `i64::MAX`) come last.
    /// `atom_hash` holds the hash of every atom's text, per source.
    fn dedupe_instants(&self, keyed: &[OrderKey], atom_hash: &[Vec<u64>], drop: &mut Dropped) {
        let r_of = |k: usize| ev_ref(&keyed[k]);
        // (host hash, source, position in `keyed`) of the current run.
        let mut by_host: Vec<(u64, SourceId, usize)> = Vec::new();
        let mut i = 0;
        while i < keyed.len() {
            let t = keyed[i].0;
            if t == i64::MAX {
                break;
            }
            let mut j = i + 1;
            while j < keyed.len() && keyed[j].0 == t {
                j += 1;
            }
            // Only runs that mix sources can hold a duplicate across sources; the run is
            // read from the sorted keys, events are touched only for such runs.
            let first_source = ev_ref(&keyed[i]).source;
            if keyed[i + 1..j]
                .iter()
                .any(|k| ev_ref(k).source != first_source)
            {
                // Only events whose host appears in two sources of the run can be copies:
                // hosts first (a hash per atom, computed once), messages hashed only for
                // those. Six hosts' logs with second stamps share nearly every second, and
                // hashing all their messages was most of the merge.
                by_host.clear();
                by_host.extend((i..j).map(|k| {
                    let r = r_of(k);
                    (self.host_hash(atom_hash, r), r.source, k)
                }));
                by_host.sort_unstable();
                // Group the candidates by (host, message hash) so that a run of thousands
                // of lines with one timestamp (a trace's interpolated lines) stays
                // O(n log n).
                let mut hashed: Vec<(u64, usize)> = Vec::new();
                let mut g = 0;
                while g < by_host.len() {
                    let mut h = g + 1;
                    while h < by_host.len() && by_host[h].0 == by_host[g].0 {
                        h += 1;
                    }
                    if by_host[h - 1].1 != by_host[g].1 {
                        hashed.extend(
                            by_host[g..h]
                                .iter()
                                .map(|&(hh, _, k)| (hh ^ self.msg_hash(r_of(k)).rotate_left(1), k)),
                        );
                    }
                    g = h;
                }
                hashed.sort_unstable();
                let mut g = 0;
                while g < hashed.len() {
                    let mut h = g + 1;
                    while h < hashed.len() && hashed[h].0 == hashed[g].0 {
                        h += 1;
                    }
                    for x in g..h {
                        let ra = r_of(hashed[x].1);
                        if drop.get(ra) {
                            continue;
                        }
                        for &(_, b) in &hashed[x + 1..h] {
                            let rb = r_of(b);
                            if !drop.get(rb) && ra.source != rb.source && self.same(ra, rb) {
                                // Keep the exact-clocked copy (a journal's, which also carries
                                // the monotonic stamp), else the earlier one (ra before rb).
                                let loser = if self.event(rb).clock == ClockMethod::Exact
                                    && self.event(ra).clock != ClockMethod::Exact
                                {
                                    ra
                                } else {
                                    rb
                                };
                                drop.set(loser);
                                if loser == ra {
                                    break;
                                }
                            }
                        }
                    }
                    g = h;
                }
            }
            i = j;
        }
    }

    /// Kernel lines with the same host, monotonic stamp and text in two sources (dmesg and
    /// the journal). Candidates are gathered source by source (sequential reads), kept only
    /// when two sources carry their (host, stamp), then decided in timeline order so that the copy kept is the one the order would meet first, unless a later
    /// copy has the exact clock.
    fn dedupe_kernel(&self, atom_hash: &[Vec<u64>], drop: &mut Dropped) {
        // (hash of host name and monotonic stamp, event), 16 bytes per kernel line: a dmesg
        // and the journal of its boot carry millions, of which few share a stamp.
        let mut stamps: Vec<(u64, EvRef)> = Vec::new();
        for s in &self.sources {
            let Some(kernel) = s.parsed.atoms.find("kernel") else {
                continue;
            };
            for (i, e) in s.events.iter().enumerate() {
                // Without a host (an unaligned dmesg) two machines' identical boot lines
                // would look like one.
                let Some(m) = s
                    .digest
                    .mono(i)
                    .filter(|_| e.unit == kernel && !e.host.is_none())
                else {
                    continue;
                };
                let hh = atom_hash[s.src.id as usize][e.host.0 as usize];
                let r = EvRef {
                    source: s.src.id,
                    index: i as u32,
                };
                stamps.push((stamp_key(hh, m), r));
            }
        }
        // Only a (host, stamp) that two sources carry can be a duplicate: sorting the
        // stamps finds those without hashing every kernel line's text (a dmesg and the
        // journal of its boot share most of theirs; other lines are never compared). Two
        // (host, stamp) pairs that share a key only add candidates, checked exactly below.
        sort_unstable(&mut stamps);
        let mut kept = 0;
        let mut g = 0;
        while g < stamps.len() {
            let mut h = g + 1;
            while h < stamps.len() && stamps[h].0 == stamps[g].0 {
                h += 1;
            }
            if stamps[g..h]
                .iter()
                .any(|x| x.1.source != stamps[g].1.source)
            {
                stamps.copy_within(g..h, kept);
                kept += h - g;
            }
            g = h;
        }
        stamps.truncate(kept);
        // Candidates by their timeline rank.
        let mut cands: Vec<OrderKey> = stamps.iter().map(|&(_, r)| self.order_key(r)).collect();
        // Freed before the candidates' map grows (`drop` names the flags here).
        std::mem::drop(stamps);
        sort_unstable(&mut cands);
        // Keyed by (host hash, monotonic stamp, first-line key of the digest), no allocation
        // per event; a hit is confirmed by comparing the host names.
        let mut seen: crate::digest::FastMap<(u64, i64, u64), EvRef> = Default::default();
        for r in cands.iter().map(ev_ref) {
            if drop.get(r) {
                continue;
            }
            let (Some(m), Some(text)) = (
                self.sources[r.source as usize]
                    .digest
                    .mono(r.index as usize),
                self.sources[r.source as usize].digest.key(r.index as usize),
            ) else {
                continue;
            };
            let key = (self.host_hash(atom_hash, r), m, text);
            match seen.get(&key) {
                None => {
                    seen.insert(key, r);
                }
                Some(&p) => {
                    if p.source == r.source || self.host(p) != self.host(r) {
                        continue;
                    }
                    // Keep the exact-clocked copy (the journal's), else the earlier source.
                    let keep_new = self.event(r).clock == ClockMethod::Exact
                        && self.event(p).clock != ClockMethod::Exact;
                    if keep_new {
                        drop.set(p);
                        seen.insert(key, r);
                    } else {
                        drop.set(r);
                    }
                }
            }
        }
    }

    /// The hash of `r`'s host name, from the per-source atom hashes.
    fn host_hash(&self, atom_hash: &[Vec<u64>], r: EvRef) -> u64 {
        atom_hash[r.source as usize][self.event(r).host.0 as usize]
    }

    /// Same host and same text (by the digest's 64-bit message hashes: the texts may be
    /// gone, see [`crate::digest`]).
    fn same(&self, a: EvRef, b: EvRef) -> bool {
        self.host(a) == self.host(b) && self.msg_hash(a) == self.msg_hash(b)
    }

    /// The digest's hash of an event's message.
    pub fn msg_hash(&self, r: EvRef) -> u64 {
        self.sources[r.source as usize].digest.msg[r.index as usize]
    }

    /// The key the order is sorted by (see [`OrderKey`]).
    pub fn order_key(&self, r: EvRef) -> OrderKey {
        order_key(self.event(r), r.source, r.index)
    }

    /// The event behind a reference.
    pub fn event(&self, r: EvRef) -> &Slim {
        &self.sources[r.source as usize].events[r.index as usize]
    }
    /// The atoms of a source.
    pub fn atoms(&self, source: SourceId) -> &Atoms {
        &self.sources[source as usize].parsed.atoms
    }
    /// The bytes of a source.
    pub fn bytes(&self, source: SourceId) -> &[u8] {
        &self.sources[source as usize].src.bytes
    }
    /// The message bytes of an event.
    /// The message bytes of an event (empty when it kept no text, see [`crate::Keep`]).
    pub fn message_bytes(&self, r: EvRef) -> &[u8] {
        self.kept(r)
            .map_or(&b""[..], |k| k.message.bytes(self.bytes(r.source)))
    }
    /// The text an event kept, if any.
    pub fn kept(&self, r: EvRef) -> Option<&Kept> {
        self.sources[r.source as usize].texts.get(r.index as usize)
    }
    /// The last physical line of an event's record (its first when it kept no text).
    pub fn end_line(&self, r: EvRef) -> u32 {
        self.kept(r).map_or(self.event(r).line, |k| k.end_line)
    }
    /// The message as text (lossy).
    pub fn message(&self, r: EvRef) -> Cow<'_, str> {
        String::from_utf8_lossy(self.message_bytes(r))
    }
    /// The first line of the message.
    pub fn first_line(&self, r: EvRef) -> &[u8] {
        let m = self.message_bytes(r);
        memchr::memchr(b'\n', m).map_or(m, |i| &m[..i])
    }
    /// Host name ("" when unknown).
    pub fn host(&self, r: EvRef) -> &str {
        self.atoms(r.source).get(self.event(r).host)
    }
    /// Unit / identifier.
    pub fn unit(&self, r: EvRef) -> &str {
        self.atoms(r.source).get(self.event(r).unit)
    }
    /// Boot id.
    pub fn boot(&self, r: EvRef) -> &str {
        self.atoms(r.source).get(self.event(r).boot)
    }
    /// Source path.
    pub fn path(&self, r: EvRef) -> &str {
        &self.sources[r.source as usize].src.path
    }
    /// A field's value.
    pub fn field(&self, r: EvRef, name: &str) -> Option<&[u8]> {
        let a = self.atoms(r.source).find(name)?;
        self.kept(r)?
            .fields
            .iter()
            .find(|(k, _)| *k == a)
            .map(|(_, v)| v.bytes(self.bytes(r.source)))
    }
    /// True when the event has a usable time.
    pub fn has_time(&self, r: EvRef) -> bool {
        !matches!(
            self.event(r).clock,
            ClockMethod::Missing | ClockMethod::Monotonic
        )
    }

    /// The timeline as a DataFrame, one row per kept event, with the columns documented in
    /// ARCHITECTURE.md: time (Datetime ns UTC, null when unknown), clock, host, boot_id,
    /// source, line, format, unit, pid, severity, message.
    pub fn dataframe(&self) -> PolarsResult<DataFrame> {
        self.dataframe_scrubbed(&|_| None)
    }

    /// [`Timeline::dataframe`] with each message passed through `scrub` (which returns the
    /// rewritten text, or `None` to keep it): the CLI's redaction of secrets.
    pub fn dataframe_scrubbed(&self, scrub: &Scrub) -> PolarsResult<DataFrame> {
        self.frame(&self.order, scrub)
    }

    /// The DataFrame of the events `rows` (a slice of the order).
    fn frame(&self, rows: &[EvRef], scrub: &Scrub) -> PolarsResult<DataFrame> {
        let n = rows.len();
        let mut time: Vec<Option<i64>> = Vec::with_capacity(n);
        let mut clock: Vec<&str> = Vec::with_capacity(n);
        let mut host: Vec<&str> = Vec::with_capacity(n);
        let mut boot: Vec<&str> = Vec::with_capacity(n);
        let mut source: Vec<&str> = Vec::with_capacity(n);
        let mut line: Vec<u32> = Vec::with_capacity(n);
        let mut format: Vec<&str> = Vec::with_capacity(n);
        let mut unit: Vec<&str> = Vec::with_capacity(n);
        let mut pid: Vec<Option<u32>> = Vec::with_capacity(n);
        let mut severity: Vec<&str> = Vec::with_capacity(n);
        let mut message: Vec<Cow<'_, str>> = Vec::with_capacity(n);
        for &r in rows {
            let e = self.event(r);
            time.push(self.has_time(r).then_some(e.time));
            clock.push(e.clock.as_str());
            host.push(self.host(r));
            boot.push(self.boot(r));
            source.push(self.path(r));
            line.push(e.line);
            format.push(crate::formats::name_of(e.inner().unwrap_or(e.format())));
            unit.push(self.unit(r));
            pid.push(e.pid());
            severity.push(e.severity.as_str());
            let m = self.message(r);
            message.push(match scrub(&m) {
                Some(x) => Cow::Owned(x),
                None => m,
            });
        }
        // Built as Datetime directly: a cast from Int64 to Datetime(ns, UTC) drops the zone
        // in polars 0.55, and Parquet readers then see a naive timestamp.
        let time = Int64Chunked::from_iter_options("time".into(), time.into_iter())
            .into_datetime(TimeUnit::Nanoseconds, Some(TimeZone::UTC))
            .into_series();
        let message: Vec<&str> = message.iter().map(|m| m.as_ref()).collect();
        DataFrame::new(
            n,
            vec![
                time.into(),
                Column::new("clock".into(), clock),
                Column::new("host".into(), host),
                Column::new("boot_id".into(), boot),
                Column::new("source".into(), source),
                Column::new("line".into(), line),
                Column::new("format".into(), format),
                Column::new("unit".into(), unit),
                Column::new("pid".into(), pid),
                Column::new("severity".into(), severity),
                Column::new("message".into(), message),
            ],
        )
    }
}

/// The events the duplicate checks dropped: a bit per event, by source.
struct Dropped(Vec<crate::bits::Bits>);

impl Dropped {
    /// None dropped yet.
    fn new(sources: &[SourceData]) -> Dropped {
        Dropped(
            sources
                .iter()
                .map(|s| crate::bits::Bits::new(s.events.len()))
                .collect(),
        )
    }
    /// Whether `r` was dropped.
    fn get(&self, r: EvRef) -> bool {
        self.0
            .get(r.source as usize)
            .is_some_and(|b| b.contains(r.index as usize))
    }
    /// Drops `r`.
    fn set(&mut self, r: EvRef) {
        if let Some(b) = self.0.get_mut(r.source as usize) {
            b.insert(r.index as usize);
        }
    }
    /// How many were dropped.
    fn count(&self) -> u64 {
        self.0.iter().map(crate::bits::Bits::count).sum()
    }
}

/// Sorts `v` on the current rayon pool; on one thread with the standard library's sort,
/// which is faster than rayon's sequential base on the merge's keys (runs of one source's
/// lines, mostly in order): 167 → 129 ms for the 6 M keys of the 1 GB bench corpus.
fn sort_unstable<T: Ord + Send>(v: &mut [T]) {
    if rayon::current_num_threads() > 1 {
        v.par_sort_unstable();
    } else {
        v.sort_unstable();
    }
}

/// Sorts one slice of the merge's keys. Every key is distinct (the event breaks all
/// ties), so any sort gives the same order. On one thread, keys already in order of their
/// second half (the slice's layout) get a stable radix sort by time, with `scratch` as
/// its second buffer: 120 → 68 ms against the standard library's unstable sort for the
/// 6 M keys of the 1 GB bench corpus (16 slices, five passes of 11 bits each). Otherwise
/// (and on more threads) an unstable sort, without a second buffer.
fn sort_slice(keys: &mut Vec<OrderKey>, scratch: &mut Vec<OrderKey>) {
    if rayon::current_num_threads() > 1 || !keys.is_sorted_by_key(|k| k.1) {
        sort_unstable(keys);
        return;
    }
    radix_sort_by_time(keys, scratch);
}

/// Makes `v` `n` long for a caller that writes every element: only elements beyond its
/// current length are zeroed (a buffer reused for a slice no longer than the last one is
/// not written twice).
fn resize_for_overwrite(v: &mut Vec<OrderKey>, n: usize) {
    if v.len() >= n {
        v.truncate(n);
    } else {
        v.resize(n, (0, 0));
    }
}

/// Bits per radix digit: 2,048 counters (16 KiB) per pass.
const RADIX_BITS: u32 = 11;

/// A stable least-significant-digit radix sort of `keys` by their time, `scratch` the
/// second buffer (resized). Times are taken relative to the smallest; the untimed
/// (`i64::MAX`) sort last, as one past the largest timed. Only the digits that differ
/// between keys are sorted by.
fn radix_sort_by_time(keys: &mut Vec<OrderKey>, scratch: &mut Vec<OrderKey>) {
    const DIGITS: usize = 1 << RADIX_BITS;
    let Some(min) = keys.iter().map(|k| k.0).min() else {
        return;
    };
    let max_timed = keys
        .iter()
        .map(|k| k.0)
        .filter(|&t| t != i64::MAX)
        .max()
        .unwrap_or(min);
    // At most `u64::MAX`: the largest timed key is below `i64::MAX`.
    let untimed = max_timed.abs_diff(min) + 1;
    let rel = move |t: i64| {
        if t == i64::MAX {
            untimed
        } else {
            t.abs_diff(min)
        }
    };
    let passes = (u64::BITS - untimed.leading_zeros()).div_ceil(RADIX_BITS) as usize;
    let mut counts = vec![[0usize; DIGITS]; passes];
    for k in keys.iter() {
        let r = rel(k.0);
        for (p, c) in counts.iter_mut().enumerate() {
            c[((r >> (p as u32 * RADIX_BITS)) as usize) & (DIGITS - 1)] += 1;
        }
    }
    // Every key is written by each pass's scatter (the counts sum to the length).
    resize_for_overwrite(scratch, keys.len());
    for (p, c) in counts.iter_mut().enumerate() {
        // A digit all keys share moves nothing.
        if c.contains(&keys.len()) {
            continue;
        }
        let mut at = 0;
        for n in c.iter_mut() {
            let here = *n;
            *n = at;
            at += here;
        }
        let shift = p as u32 * RADIX_BITS;
        for k in keys.iter() {
            let d = ((rel(k.0) >> shift) as usize) & (DIGITS - 1);
            scratch[c[d]] = *k;
            c[d] += 1;
        }
        std::mem::swap(keys, scratch);
    }
}

/// The key of a kernel line's (host, monotonic stamp) in the kernel duplicate check.
fn stamp_key(host_hash: u64, mono: i64) -> u64 {
    host_hash.rotate_left(29) ^ (mono as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

/// About how many events one slice of the merge sorts at once (8 MiB of keys).
const SLICE_EVENTS: usize = 1 << 19;

/// At most this many slices: each reads, in every source, the range of indices its events
/// span.
const MAX_SLICES: usize = 16;

/// The lower bounds of slices 1.. of the merge (ascending sort times, see
/// [`Timeline::merge`]), chosen from a sample of every event's sort time so that slices hold
/// about `slice_events` events each; empty (one slice) for a small input. An event belongs to
/// the slice of the last bound at or below its time, so one instant is never split.
fn slice_bounds(sources: &[SourceData], total: usize, slice_events: usize) -> Vec<i64> {
    let slices = total.div_ceil(slice_events.max(1)).clamp(1, MAX_SLICES);
    if slices == 1 {
        return Vec::new();
    }
    // About 256 samples a slice, taken at a fixed stride through the sources in id order.
    let step = (total / (slices * 256)).max(1);
    let mut sample: Vec<i64> = Vec::with_capacity(total / step + 1);
    let mut seen = 0;
    for s in sources {
        let first = (step - seen % step) % step;
        sample.extend(s.events.iter().skip(first).step_by(step).map(sort_time));
        seen += s.events.len();
    }
    sample.sort_unstable();
    let mut bounds: Vec<i64> = (1..slices)
        .map(|k| sample[k * sample.len() / slices])
        .collect();
    bounds.dedup();
    bounds
}

/// The time an event sorts by: its time, or `i64::MAX` (after every timed event) when it
/// has no usable clock.
fn sort_time(e: &Slim) -> i64 {
    if matches!(e.clock, ClockMethod::Missing | ClockMethod::Monotonic) {
        i64::MAX
    } else {
        e.time
    }
}

/// Export formats of `gaplog timeline --export`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ExportFormat {
    /// Apache Parquet (time as a UTC timestamp type).
    Parquet,
    /// CSV with a header (time as RFC 3339 text).
    Csv,
    /// One JSON object per line (time as RFC 3339 text).
    Ndjson,
    /// One line per event for reading: `TIME HOST UNIT[PID]: MESSAGE  (SOURCE:LINE)`, the
    /// lines of a multi-line record indented below it.
    Text,
}

/// polars' two batched writers (Parquet, CSV) behind one face, so that both exports are
/// written the same way by [`write_batched`].
trait Batches {
    fn write(&mut self, df: &DataFrame) -> PolarsResult<()>;
    fn done(self) -> PolarsResult<()>;
}

impl<W: std::io::Write> Batches for polars::io::parquet::write::BatchedWriter<W> {
    fn write(&mut self, df: &DataFrame) -> PolarsResult<()> {
        self.write_batch(df)
    }
    fn done(self) -> PolarsResult<()> {
        self.finish().map(|_| ())
    }
}

impl<W: std::io::Write> Batches for polars::io::csv::write::BatchedWriter<W> {
    fn write(&mut self, df: &DataFrame) -> PolarsResult<()> {
        self.write_batch(df)
    }
    fn done(mut self) -> PolarsResult<()> {
        self.finish()
    }
}

/// Writes the order in DataFrames of `batch` rows (one Parquet row group each), so that
/// an export holds one batch of rows, not a second copy of every message. The writer is
/// opened with the first batch's schema; an empty timeline writes one empty frame (its
/// schema, a CSV header).
fn write_batched<B: Batches>(
    tl: &Timeline,
    batch: usize,
    scrub: &Scrub,
    open: impl FnOnce(&Schema) -> PolarsResult<B>,
) -> PolarsResult<()> {
    let mut rows = tl.order.chunks(batch);
    let first = tl.frame(rows.next().unwrap_or(&[]), scrub)?;
    let mut w = open(first.schema())?;
    w.write(&first)?;
    drop(first);
    for r in rows {
        w.write(&tl.frame(r, scrub)?)?;
    }
    w.done()
}

/// How the CSV export writes times.
const CSV_TIME: &str = "%Y-%m-%dT%H:%M:%S%.6fZ";

/// Rows per batch of the Parquet and CSV exports: polars' default row group size, so a
/// reader sees the row groups it would have seen from one `finish`.
const EXPORT_BATCH: usize = 512 * 512;

/// A message rewriter for exports (redaction): the new text, or `None` to keep it.
pub type Scrub = dyn Fn(&str) -> Option<String> + Sync;

fn io(e: std::io::Error) -> PolarsError {
    PolarsError::IO {
        error: std::sync::Arc::new(e),
        msg: None,
    }
}

/// Writes the timeline in `format` to `out`, each message passed through `scrub`.
pub fn export(
    tl: &Timeline,
    format: ExportFormat,
    out: &mut dyn std::io::Write,
    scrub: &Scrub,
) -> PolarsResult<()> {
    export_batched(tl, format, out, scrub, EXPORT_BATCH)
}

fn export_batched(
    tl: &Timeline,
    format: ExportFormat,
    out: &mut dyn std::io::Write,
    scrub: &Scrub,
    batch: usize,
) -> PolarsResult<()> {
    let message = |r: EvRef| -> Cow<'_, str> {
        let m = tl.message(r);
        match scrub(&m) {
            Some(x) => Cow::Owned(x),
            None => m,
        }
    };
    match format {
        ExportFormat::Text => {
            for &r in &tl.order {
                let e = tl.event(r);
                let time = if tl.has_time(r) {
                    crate::time::rfc3339(e.time)
                } else {
                    "-".to_string()
                };
                let host = tl.host(r);
                let unit = tl.unit(r);
                let pid = e.pid().map(|p| format!("[{p}]")).unwrap_or_default();
                let msg = message(r);
                let mut lines = msg.lines();
                let first = lines.next().unwrap_or("");
                writeln!(
                    out,
                    "{time} {} {}{pid}: {first}  ({}:{})",
                    if host.is_empty() { "-" } else { host },
                    if unit.is_empty() { "-" } else { unit },
                    tl.path(r),
                    e.line
                )
                .map_err(io)?;
                for l in lines {
                    writeln!(out, "    {l}").map_err(io)?;
                }
            }
        }
        ExportFormat::Parquet => write_batched(tl, batch, scrub, |schema| {
            ParquetWriter::new(out)
                .with_compression(ParquetCompression::Zstd(None))
                .batched(schema)
        })?,
        ExportFormat::Csv => write_batched(tl, batch, scrub, |schema| {
            CsvWriter::new(out)
                .include_header(true)
                .with_datetime_format(Some(CSV_TIME.into()))
                .batched(schema)
        })?,
        ExportFormat::Ndjson => {
            // Written with serde_json: polars' JSON writer lives behind a feature that pulls
            // in more than this needs, and the rows are simple.
            for &r in &tl.order {
                let e = tl.event(r);
                let row = serde_json::json!({
                    "time": tl.has_time(r).then(|| crate::time::rfc3339(e.time)),
                    "clock": e.clock.as_str(),
                    "host": tl.host(r),
                    "boot_id": tl.boot(r),
                    "source": tl.path(r),
                    "line": e.line,
                    "format": crate::formats::name_of(e.inner().unwrap_or(e.format())),
                    "unit": tl.unit(r),
                    "pid": e.pid(),
                    "severity": e.severity.as_str(),
                    "message": message(r),
                });
                serde_json::to_writer(&mut *out, &row).map_err(to_polars)?;
                out.write_all(b"\n").map_err(io)?;
            }
        }
    }
    Ok(())
}

fn to_polars(e: serde_json::Error) -> PolarsError {
    PolarsError::ComputeError(e.to_string().into())
}

/// Events per minute per (host, source), overall and error-or-worse, for the timeline
/// picture.
pub fn activity(tl: &Timeline) -> Vec<crate::analysis::Activity> {
    // One linear pass, no hashing per event: the order is sorted by time, so within one lane
    // (a (source, host) pair) minutes never decrease and a lane's current minute is always
    // its last bucket. (A polars group-by on integer keys cost 0.37 s per GB, the string
    // group-by before it 1.1 s; this pass costs a few ms.)
    let mut lanes: HashMap<(SourceId, Atom), u32> = HashMap::new();
    let mut v: Vec<crate::analysis::Activity> = Vec::new();
    // The last lane of each source: in time order, consecutive events mostly come from
    // different sources, but a source rarely changes host, so this answers without a hash
    // lookup per event.
    let mut last: Vec<Option<(Atom, u32)>> = vec![None; tl.sources.len()];
    for &r in &tl.order {
        if !tl.has_time(r) {
            continue;
        }
        let e = tl.event(r);
        let l = match last[r.source as usize] {
            Some((h, l)) if h == e.host => l,
            _ => {
                let l = *lanes.entry((r.source, e.host)).or_insert_with(|| {
                    v.push(crate::analysis::Activity {
                        host: tl.host(r).to_string(),
                        source: tl.path(r).to_string(),
                        ..Default::default()
                    });
                    (v.len() - 1) as u32
                });
                last[r.source as usize] = Some((e.host, l));
                l
            }
        };
        let m = e.time.div_euclid(60_000_000_000) * 60;
        let a = &mut v[l as usize];
        match a.per_minute.last_mut() {
            Some((lm, c)) if *lm == m => *c += 1,
            _ => a.per_minute.push((m, 1)),
        }
        if e.severity.is_error() {
            match a.errors_per_minute.last_mut() {
                Some((lm, c)) if *lm == m => *c += 1,
                _ => a.errors_per_minute.push((m, 1)),
            }
        }
    }
    v.sort_by(|a, b| (&a.host, &a.source).cmp(&(&b.host, &b.source)));
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::Source;

    fn mixed() -> Timeline {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/mixed");
        crate::load(&[dir], &crate::Options::default()).unwrap().0
    }

    /// A source of four parsed events with messages `m0`..`m3`, the second with a field.
    fn four() -> (Source, Parsed) {
        let bytes = b"m0\nm1\nm2\nm3\n".to_vec();
        let src = Source::from_bytes(0, "four.log", bytes);
        let mut parsed =
            crate::formats::parse_source(&src, crate::formats::by_name("syslog").ok().map(|f| f.0));
        parsed.events = (0..4)
            .map(|i| Event {
                line: i as u32 + 1,
                end_line: i as u32 + 1,
                pid: Some(i as u32),
                message: Text::span(3 * i, 3 * i + 2),
                ..Event::default()
            })
            .collect();
        let job = parsed.atoms.intern("job");
        parsed
            .fields
            .push(&mut parsed.events[1].fields, job, Text::span(0, 2));
        (src, parsed)
    }

    /// Four sources of `n` events each on two hosts, whose times fall on few instants (so
    /// that runs of one instant mix sources and hold copies), with every seventh event
    /// untimed and a few far outliers in time.
    fn crowded(n: usize) -> Vec<SourceData> {
        let words = ["alpha", "beta", "gamma", "delta", "epsilon"];
        (0..4u32)
            .map(|id| {
                let mut bytes = Vec::new();
                let mut events = Vec::new();
                let mut x = u64::from(id) * 7919 + 17;
                for i in 0..n {
                    x = x
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    let word = words[(x >> 33) as usize % words.len()];
                    let start = bytes.len();
                    bytes.extend_from_slice(word.as_bytes());
                    bytes.push(b'\n');
                    let instant = (x >> 40) as i64 % 40;
                    let time = match (x >> 20) % 97 {
                        0 => -1_000_000_000_000,
                        1 => 4_000_000_000_000_000_000,
                        _ => 1_700_000_000_000_000_000 + instant * 1_000_000_000,
                    };
                    events.push(Event {
                        time,
                        line: i as u32 + 1,
                        end_line: i as u32 + 1,
                        clock: if i % 7 == 3 {
                            ClockMethod::Missing
                        } else {
                            ClockMethod::Exact
                        },
                        message: Text::span(start, start + word.len()),
                        ..Event::default()
                    });
                }
                let src = Source::from_bytes(id, format!("s{id}.log"), bytes);
                let mut parsed = crate::formats::parse_source(
                    &src,
                    crate::formats::by_name("syslog").ok().map(|f| f.0),
                );
                let host = parsed.atoms.intern(if id % 2 == 0 { "h1" } else { "h2" });
                for e in &mut events {
                    e.host = host;
                }
                parsed.events = events;
                SourceData::new(src, parsed)
            })
            .collect()
    }

    #[test]
    fn the_merge_gives_one_order_however_it_is_sliced() {
        let whole = Timeline::build_sliced(crowded(500), usize::MAX);
        assert_eq!(whole.order.len() as u64 + whole.duplicates, 2000);
        assert!(whole.duplicates > 100, "{}", whole.duplicates);
        // The order is sorted by its key, and untimed events come last.
        let keys: Vec<OrderKey> = whole.order.iter().map(|&r| whole.order_key(r)).collect();
        assert!(keys.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(keys.last().map(|k| k.0), Some(i64::MAX));
        for slice in [1, 3, 50, 333, 1999] {
            let tl = Timeline::build_sliced(crowded(500), slice);
            assert_eq!(tl.order, whole.order, "slices of {slice}");
            assert_eq!(tl.duplicates, whole.duplicates, "slices of {slice}");
        }
    }

    #[test]
    fn the_radix_sort_orders_as_the_standard_sort() {
        // Keys as a slice lays them out: ascending second halves, times in any order,
        // shared instants, untimed events, negative times, spans of one digit or many.
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let mut scratch = Vec::new();
        for (n, span) in [
            (0, 1),
            (1, 1),
            (2, 1),
            (1000, 1),
            (5000, 2048),
            (5000, 1 << 40),
            (20_000, 7 * 86_400 * 1_000_000_000),
            (3000, u64::MAX / 4),
        ] {
            let base = -(next() as i64 & 0xffff_ffff);
            let mut keys: Vec<OrderKey> = (0..n as u64)
                .map(|i| {
                    let r = next();
                    let t = if r % 17 == 0 {
                        i64::MAX
                    } else {
                        base.wrapping_add(((r >> 8) % span) as i64)
                    };
                    (t, i)
                })
                .collect();
            let mut want = keys.clone();
            want.sort_unstable();
            radix_sort_by_time(&mut keys, &mut scratch);
            assert_eq!(keys, want, "{n} keys over {span}");
        }
        // The widest span of times: six digits.
        let mut keys: Vec<OrderKey> = vec![(i64::MAX - 1, 0), (i64::MIN, 1), (0, 2)];
        radix_sort_by_time(&mut keys, &mut scratch);
        assert_eq!(keys, [(i64::MIN, 1), (0, 2), (i64::MAX - 1, 0)]);
        // Second halves out of order: not the slice layout, sorted in full.
        let mut keys: Vec<OrderKey> = vec![(5, 9), (5, 1), (1, 4)];
        sort_slice(&mut keys, &mut scratch);
        assert_eq!(keys, [(1, 4), (5, 1), (5, 9)]);
    }

    #[test]
    fn slice_bounds_are_ascending_and_capped() {
        let sources = crowded(500);
        let bounds = slice_bounds(&sources, 2000, 100);
        // 20 slices asked, at most 16 made; few distinct instants make fewer still.
        assert!(!bounds.is_empty() && bounds.len() < MAX_SLICES);
        assert!(bounds.windows(2).all(|w| w[0] < w[1]));
        assert!(slice_bounds(&sources, 2000, 4000).is_empty());
        assert!(slice_bounds(&[], 0, 1).is_empty());
    }

    #[test]
    fn a_split_source_keeps_the_texts_it_was_told_to() {
        let (src, parsed) = four();
        let all = SourceData::new(src, parsed);
        assert_eq!(all.events.len(), 4);
        assert_eq!(all.texts.len(), 4);
        assert!(all.parsed.events.is_empty());
        let msgs: Vec<&[u8]> = all.views().map(|v| v.message).collect();
        assert_eq!(msgs, [&b"m0"[..], b"m1", b"m2", b"m3"]);
        assert_eq!(all.views().map(|v| v.fields.len()).sum::<usize>(), 1);
        assert_eq!(all.events[2].pid(), Some(2));

        let (src, parsed) = four();
        let digest = crate::digest::Digest::compute(
            &parsed.events,
            &parsed.fields,
            &parsed.atoms,
            &src.bytes,
        );
        let mut some = SourceData::split(src, parsed, digest, &Which::Some(vec![1, 3]));
        assert_eq!(some.texts.len(), 2);
        assert!(some.texts.get(0).is_none() && some.texts.get(2).is_none());
        assert_eq!(some.texts.get(1).map(|k| k.fields.len()), Some(1));
        let msgs: Vec<&[u8]> = some.views().map(|v| v.message).collect();
        assert_eq!(msgs, [&b""[..], b"m1", b"", b"m3"]);
        some.texts.get_mut(3).unwrap().end_line = 9;
        assert_eq!(some.texts.get(3).map(|k| k.end_line), Some(9));
        // The digest was taken from every event's text, kept or not.
        assert_eq!(some.digest.msg[0], crate::digest::hash(b"m0"));

        let (src, parsed) = four();
        let digest = crate::digest::Digest::default();
        let none = SourceData::split(src, parsed, digest, &Which::Some(Vec::new()));
        assert!(none.texts.is_empty());
        assert_eq!(none.events.len(), 4);

        // Indices past the end or out of order are skipped.
        let (src, parsed) = four();
        let digest = crate::digest::Digest::default();
        let odd = SourceData::split(src, parsed, digest, &Which::Some(vec![2, 0, 2, 9]));
        assert_eq!(odd.texts.len(), 1);
        assert!(odd.texts.get(2).is_some() && odd.texts.get(0).is_none());
    }

    fn exported(tl: &Timeline, format: ExportFormat, batch: usize) -> Vec<u8> {
        let mut out = Vec::new();
        export_batched(tl, format, &mut out, &|_| None, batch).unwrap();
        out
    }

    #[test]
    fn batched_exports_hold_the_same_rows_as_one_frame() {
        let tl = mixed();
        assert!(tl.order.len() > 20);
        let whole = tl.dataframe().unwrap();
        // 7 rows per batch: several batches and a short last one.
        let csv = exported(&tl, ExportFormat::Csv, 7);
        assert_eq!(csv, exported(&tl, ExportFormat::Csv, usize::MAX));
        let mut one = Vec::new();
        CsvWriter::new(&mut one)
            .include_header(true)
            .with_datetime_format(Some(CSV_TIME.into()))
            .finish(&mut whole.clone())
            .unwrap();
        assert_eq!(csv, one);
        let pq = exported(&tl, ExportFormat::Parquet, 7);
        let back = ParquetReader::new(std::io::Cursor::new(pq))
            .finish()
            .unwrap();
        assert!(back.equals_missing(&whole), "{back}\n{whole}");
        let mut meta = ParquetReader::new(std::io::Cursor::new(exported(
            &tl,
            ExportFormat::Parquet,
            7,
        )));
        let groups = meta.get_metadata().unwrap().row_groups.len();
        assert_eq!(groups, tl.order.len().div_ceil(7));
    }

    #[test]
    fn same_instant_copies_go_only_when_host_and_text_match() {
        let line =
            |host: &str, msg: &str| format!("2026-03-25T10:00:00+00:00 {host} app[7]: {msg}\n");
        let files = [
            // a.log and b.log hold the same line of host `alpha`: one copy goes.
            (
                "a.log",
                line("alpha", "disk full") + &line("beta", "disk full"),
            ),
            (
                "b.log",
                line("alpha", "disk full") + &line("alpha", "other text"),
            ),
            // c.log's host `gamma` says the same at the same instant: not a copy.
            ("c.log", line("gamma", "disk full")),
        ];
        let sources = files
            .iter()
            .enumerate()
            .map(|(i, (p, t))| Source::from_bytes(i as u32, *p, t.clone().into_bytes()))
            .collect();
        let tl = crate::load_sources(sources, &crate::Options::default())
            .unwrap()
            .0;
        assert_eq!(tl.duplicates, 1);
        let kept: Vec<String> = tl
            .order
            .iter()
            .map(|&r| format!("{} {} {}", tl.path(r), tl.host(r), tl.message(r)))
            .collect();
        assert_eq!(
            kept,
            [
                "a.log alpha disk full",
                "a.log beta disk full",
                "b.log alpha other text",
                "c.log gamma disk full"
            ]
        );
    }

    #[test]
    fn an_empty_timeline_exports_a_header_and_no_rows() {
        let tl = Timeline::build(Vec::new());
        let csv = String::from_utf8(exported(&tl, ExportFormat::Csv, 7)).unwrap();
        assert_eq!(csv.lines().count(), 1, "{csv}");
        assert!(csv.starts_with("time,clock,host"), "{csv}");
        let pq = exported(&tl, ExportFormat::Parquet, 7);
        let back = ParquetReader::new(std::io::Cursor::new(pq))
            .finish()
            .unwrap();
        assert_eq!(back.height(), 0);
        assert_eq!(back.width(), 11);
    }
}
