//! What the stages after parsing need of a source's text, taken while the text is live.
//!
//! The merge, the clock and the duplicate checks compare texts across sources; the signal
//! scan and the unexplained-error pick read every message. A [`Digest`] holds what those
//! stages need, computed on the worker that parsed the source, right after parsing: a hash
//! of every message, a key of the first line of the events the clock and the kernel
//! duplicate check compare, the CI job ids, and (when the whole analysis runs) the signal
//! hits and the unexplained picks. With those taken, [`crate::analyze`] keeps the text of
//! only the events the report quotes (see `docs/design.md`, "What a source keeps").

use crate::event::{Atoms, ClockMethod, Event, FieldStore, Fields, Text};

/// A source's digest (see the module documentation).
#[derive(Clone, Debug, Default)]
pub struct Digest {
    /// Per event, [`hash`] of its message (the same-instant duplicate check).
    pub msg: Vec<u64>,
    /// (event index, [`line_key`] of its message) in index order, for the events the clock
    /// and the kernel duplicate check compare: kernel lines, and every event with a
    /// monotonic stamp in a source that has events with only that clock.
    pub keys: Vec<(u32, u64)>,
    /// CI job ids (the `job` field) by runs of events: (first event index, index into
    /// `job_ids`, or [`NO_JOB`]), in index order.
    pub job_runs: Vec<(u32, u32)>,
    /// The distinct job ids of the source.
    pub job_ids: Vec<Box<[u8]>>,
    /// Per event, its monotonic stamp ([`Event::mono_us`], `i64::MIN` for none); empty when
    /// no event of the source has one. Kept here rather than in every
    /// [`crate::event::Slim`]: most sources (job traces, syslog text, atticd) have none.
    pub mono: Vec<i64>,
    /// The signal hits of every event, when the scan ran while the text was live.
    pub hits: Option<Vec<crate::signals::Hit>>,
    /// The unexplained-error picks (event indices, ascending), when made while the text
    /// was live.
    pub picked: Option<Vec<u32>>,
}

/// The `job_runs` entry of events without a job id.
pub const NO_JOB: u32 = u32::MAX;

/// A [`Digest`] taken event by event, so that a caller can do its own work on each event
/// in the same pass, while the event and its text are in cache ([`crate::analyze`] scans
/// for signals and drops the text of the events it will not quote). Events must be pushed
/// in index order, each one before its text changes.
#[derive(Debug)]
pub struct Builder {
    d: Digest,
    kernel: Option<crate::event::Atom>,
    job: Option<crate::event::Atom>,
    /// Events with only a monotonic clock are aligned by matching every stamped line
    /// against the kernel lines of other sources, whatever their unit.
    mono_only: bool,
    /// Job id -> its slot; consecutive events mostly share one, which is checked first.
    slots: std::collections::HashMap<Box<[u8]>, u32>,
}

impl Builder {
    /// A builder for `events` (read here for what needs every event: the monotonic stamps
    /// and whether any event has only that clock).
    pub fn new(events: &[Event], atoms: &Atoms) -> Builder {
        let mut d = Digest {
            msg: Vec::with_capacity(events.len()),
            ..Digest::default()
        };
        // One pass over the events for both (they share a cache line of each event).
        let mut mono_only = false;
        if let Some(first) = events.iter().position(|e| {
            mono_only |= e.clock == ClockMethod::Monotonic;
            e.mono_us.is_some()
        }) {
            // A stamp is a non-negative count of microseconds; none is ever `i64::MIN`.
            d.mono = Vec::with_capacity(events.len());
            d.mono.resize(first, i64::MIN);
            for e in &events[first..] {
                mono_only |= e.clock == ClockMethod::Monotonic;
                d.mono.push(e.mono_us.unwrap_or(i64::MIN));
            }
        }
        Builder {
            d,
            kernel: atoms.find("kernel"),
            job: atoms.find("job"),
            mono_only,
            slots: std::collections::HashMap::new(),
        }
    }

    /// Takes event `i` (the next in order), whose fields are in `fields` and texts resolve
    /// in `bytes`; returns the [`hash`] of its message.
    pub fn push(&mut self, i: usize, e: &Event, fields: &FieldStore, bytes: &[u8]) -> u64 {
        let d = &mut self.d;
        let m = e.message.bytes(bytes);
        let h = hash(m);
        d.msg.push(h);
        if self.kernel.is_some_and(|k| k == e.unit) || (self.mono_only && e.mono_us.is_some()) {
            d.keys.push((i as u32, line_key(m)));
        }
        let id = self
            .job
            .and_then(|j| fields.find(e.fields, j))
            .map(|v| v.bytes(bytes));
        let last = d.job_runs.last().map_or(NO_JOB, |r| r.1);
        let slot = match id {
            None => NO_JOB,
            Some(id) if d.job_ids.get(last as usize).is_some_and(|x| **x == *id) => last,
            Some(id) => match self.slots.get(id) {
                Some(&s) => s,
                None => {
                    d.job_ids.push(id.into());
                    let s = (d.job_ids.len() - 1) as u32;
                    self.slots.insert(id.into(), s);
                    s
                }
            },
        };
        if d.job_runs.last().is_none_or(|r| r.1 != slot) {
            d.job_runs.push((i as u32, slot));
        }
        h
    }

    /// The digest of the events pushed.
    pub fn finish(self) -> Digest {
        self.d
    }
}

impl Digest {
    /// Hashes, keys and job ids of `events`, whose fields are in `fields` and texts resolve
    /// in `bytes`.
    pub fn compute(events: &[Event], fields: &FieldStore, atoms: &Atoms, bytes: &[u8]) -> Digest {
        let mut b = Builder::new(events, atoms);
        for (i, e) in events.iter().enumerate() {
            b.push(i, e, fields, bytes);
        }
        b.finish()
    }

    /// The [`line_key`] of event `index`, if it is one of those keyed.
    pub fn key(&self, index: usize) -> Option<u64> {
        let i = index as u32;
        self.keys
            .binary_search_by_key(&i, |k| k.0)
            .ok()
            .map(|k| self.keys[k].1)
    }

    /// The monotonic stamp of event `index`, if it has one.
    pub fn mono(&self, index: usize) -> Option<i64> {
        self.mono.get(index).copied().filter(|&m| m != i64::MIN)
    }

    /// Forgets what only the clock and the kernel duplicate check read (the first-line keys
    /// and the monotonic stamps), once both have run.
    pub fn drop_clock_inputs(&mut self) {
        self.keys = Vec::new();
        self.mono = Vec::new();
    }

    /// The job id of event `index`.
    pub fn job(&self, index: usize) -> Option<&[u8]> {
        let i = index as u32;
        let run = self.job_runs.partition_point(|r| r.0 <= i).checked_sub(1)?;
        let slot = self.job_runs[run].1;
        self.job_ids.get(slot as usize).map(|b| &**b)
    }
}

/// Keeps the message and fields of the events `keep` selects; the others lose theirs (the
/// digest holds what the later stages need of them). Returns how many events kept text.
pub fn strip_unquoted(events: &mut [Event], keep: impl Fn(usize) -> bool) -> usize {
    let mut kept = 0;
    for (i, e) in events.iter_mut().enumerate() {
        if keep(i) {
            kept += 1;
        } else {
            strip(e);
        }
    }
    kept
}

/// Drops the message and fields of `e` (the digest holds what the later stages need; the
/// fields' entries stay in the source's store, unused, until it goes).
pub fn strip(e: &mut Event) {
    e.message = Text::default();
    e.fields = Fields::default();
}

/// The 128-bit product's halves xor-ed: every input bit reaches every output bit. The step
/// of [`hash`], [`FoldHasher`] and the template miner's token hash.
#[inline]
pub fn fold(a: u64, b: u64) -> u64 {
    let p = u128::from(a) * u128::from(b);
    (p as u64) ^ ((p >> 64) as u64)
}

/// A 64-bit hash of `b`, eight bytes per step (a folded multiply per word): fast enough to
/// hash every message of a run, and with 64 bits two different texts of the same host and
/// instant practically never collide.
pub fn hash(b: &[u8]) -> u64 {
    const K0: u64 = 0xa076_1d64_78bd_642f;
    const K1: u64 = 0xe703_7ed1_a0b4_28db;
    let word = |w: &[u8]| {
        let mut a = [0u8; 8];
        a.copy_from_slice(w);
        u64::from_le_bytes(a)
    };
    // Two lanes of eight bytes: the multiplies of one step do not wait for each other.
    let mut h = fold(b.len() as u64 ^ K0, K1);
    let mut g = K1;
    let mut pairs = b.chunks_exact(16);
    for p in &mut pairs {
        h = fold(h ^ word(&p[..8]), K1);
        g = fold(g ^ word(&p[8..]), K0);
    }
    h = fold(h ^ g, K1);
    let mut words = pairs.remainder().chunks_exact(8);
    for w in &mut words {
        h = fold(h ^ word(w), K1);
    }
    // The last one to seven bytes as one word, read without copying them (a copy of a
    // length known only at run time is a call to `memcpy`, once per text): four to seven as
    // two overlapping halves, one to three as the first, middle and last. For a given
    // length (mixed in first) every byte lands in the word, so different tails give
    // different words.
    let rest = words.remainder();
    let n = rest.len();
    if n > 0 {
        let half = |at: usize| {
            let mut a = [0u8; 4];
            a.copy_from_slice(&rest[at..at + 4]);
            u64::from(u32::from_le_bytes(a))
        };
        let w = if n >= 4 {
            half(0) | half(n - 4) << 32
        } else {
            u64::from(rest[0]) | u64::from(rest[n / 2]) << 8 | u64::from(rest[n - 1]) << 16
        };
        h = fold(h ^ w ^ K0, K1);
    }
    fold(h, K0)
}

/// A [`std::hash::Hasher`] made of [`hash`]'s folded multiply, for the maps of the stages
/// that look a key up per event (atoms, the clock's kernel lines, the kernel duplicate
/// check): the standard library's SipHash costs several times more per lookup, and its
/// protection against chosen collisions buys little when the keys are a log's own host
/// names, stamps and text hashes (and the template miner's index, keyed by token ids).
/// Nothing iterates these maps into the output, so the order their hashes give does not
/// reach a report.
#[derive(Clone, Copy, Debug, Default)]
pub struct FoldHasher(u64);

impl FoldHasher {
    fn mix(&mut self, v: u64) {
        self.0 = fold(self.0 ^ v, 0x9e37_79b9_7f4a_7c15);
    }
}

impl std::hash::Hasher for FoldHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, b: &[u8]) {
        self.mix(hash(b));
    }
    fn write_u8(&mut self, v: u8) {
        self.mix(u64::from(v));
    }
    fn write_u32(&mut self, v: u32) {
        self.mix(u64::from(v));
    }
    fn write_u64(&mut self, v: u64) {
        self.mix(v);
    }
    fn write_i64(&mut self, v: i64) {
        self.mix(v as u64);
    }
    fn write_usize(&mut self, v: usize) {
        self.mix(v as u64);
    }
}

/// A hash map keyed with [`FoldHasher`].
pub type FastMap<K, V> = std::collections::HashMap<K, V, std::hash::BuildHasherDefault<FoldHasher>>;

/// A hash set keyed with [`FoldHasher`].
pub type FastSet<K> = std::collections::HashSet<K, std::hash::BuildHasherDefault<FoldHasher>>;

/// A direct-mapped table from texts to a word of answers about them, for work that a
/// repeated text would otherwise redo (the signal scan's literal search and its rules'
/// regexes, the unexplained stage's error words). Logs repeat: in the 1 GB bench corpus 87 % of the messages are
/// exact repeats of an earlier one, and a worker meets most repeats within a few thousand
/// lines. A text is known by its 64-bit [`hash`] alone (which mixes in the length), so a
/// different text is taken for a remembered one with a chance of 2⁻⁶⁴ per lookup, the
/// bound the duplicate checks accept. 65 536 slots of 16 bytes (1 MiB, a core's L2 cache
/// here); a slot keeps the last text put in it.
#[derive(Clone, Debug)]
pub struct TextMemo {
    /// (hash, answers; zero for "nothing known").
    slots: Vec<(u64, u64)>,
}

impl Default for TextMemo {
    fn default() -> Self {
        TextMemo {
            slots: vec![(0, 0); 1 << Self::BITS],
        }
    }
}

impl TextMemo {
    /// log2 of the number of slots.
    const BITS: u32 = 16;

    /// The answers remembered for the text of hash `h`, to read and add to: zero (nothing
    /// known) when the slot held another text, which it then forgets.
    pub fn entry(&mut self, h: u64) -> &mut u64 {
        let slot = &mut self.slots[(h >> (64 - Self::BITS)) as usize];
        if slot.0 != h {
            *slot = (h, 0);
        }
        &mut slot.1
    }

    /// Asks the processor to bring the slot of hash `h` into cache, for an [`entry`] a
    /// little later: the table is larger than the first-level cache, and a pass that looks
    /// up one text per event otherwise waits for each slot in turn.
    ///
    /// [`entry`]: TextMemo::entry
    pub fn prefetch(&self, h: u64) {
        prefetch(&self.slots[(h >> (64 - Self::BITS)) as usize]);
    }
}

/// A hint to load the cache line of `v`; nothing on other processors.
#[inline]
pub fn prefetch<T>(v: &T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch only hints the cache; it reads nothing the program sees and never
    // faults, and `v` is a valid reference besides. `_mm_prefetch` needs SSE, which every
    // x86_64 processor has.
    #[allow(unsafe_code)]
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(
            (v as *const T).cast::<i8>(),
        );
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = v;
}

/// The key of a message's first line, trimmed: kernel lines are the same line in a dmesg and
/// a journal when their keys (and monotonic stamps, and hosts) agree.
pub fn line_key(message: &[u8]) -> u64 {
    let first = memchr::memchr(b'\n', message).map_or(message, |i| &message[..i]);
    hash(crate::lines::trim(first))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Atom;

    #[test]
    fn hash_tells_texts_apart_by_every_byte_and_length() {
        let base = b"kernel: Out of memory: Killed process 1234 (atticd)".to_vec();
        let h = hash(&base);
        assert_eq!(h, hash(&base.clone()));
        for i in 0..base.len() {
            let mut v = base.clone();
            v[i] ^= 1;
            assert_ne!(hash(&v), h, "byte {i}");
        }
        // A zero byte at the end is not padding.
        assert_ne!(hash(b"abc"), hash(b"abc\0"));
        assert_ne!(hash(b""), hash(b"\0"));
        assert_ne!(hash(b"12345678"), hash(b"1234567"));
        // Every tail length (the last one to seven bytes are read apart): each byte of
        // texts of 1 to 40 bytes counts.
        for len in 1..=40 {
            let t: Vec<u8> = (0..len).map(|i| b'a' + (i % 26) as u8).collect();
            let h = hash(&t);
            for i in 0..len {
                let mut v = t.clone();
                v[i] ^= 0x20;
                assert_ne!(hash(&v), h, "length {len}, byte {i}");
            }
        }
    }

    #[test]
    fn line_key_reads_the_trimmed_first_line() {
        assert_eq!(
            line_key(b"  EXT4-fs error one \nmore"),
            line_key(b"EXT4-fs error one")
        );
        assert_ne!(
            line_key(b"EXT4-fs error one"),
            line_key(b"EXT4-fs error two")
        );
    }

    fn ev(unit: Atom, clock: ClockMethod, mono: Option<i64>, msg: Text) -> Event {
        Event {
            unit,
            clock,
            mono_us: mono,
            message: msg,
            ..Event::default()
        }
    }

    #[test]
    fn keys_and_jobs_are_taken_for_the_events_that_need_them() {
        let bytes = b"one\ntwo\n4711\n";
        let mut atoms = Atoms::default();
        let kernel = atoms.intern("kernel");
        let app = atoms.intern("app");
        let job = atoms.intern("job");
        let mut store = FieldStore::new();
        let mut a = ev(kernel, ClockMethod::Exact, None, Text::span(0, 3));
        store.push(&mut a.fields, job, Text::span(8, 12));
        let mut b = ev(app, ClockMethod::Exact, Some(5), Text::span(4, 7));
        store.push(&mut b.fields, job, Text::span(8, 12));
        let c = ev(app, ClockMethod::Exact, Some(6), Text::span(4, 7));
        let d = Digest::compute(&[a.clone(), b.clone(), c.clone()], &store, &atoms, bytes);
        // Only the kernel line is keyed: no event of the source has only a monotonic clock.
        assert_eq!(d.keys, vec![(0, line_key(b"one"))]);
        assert_eq!(d.key(0), Some(line_key(b"one")));
        assert_eq!(d.key(1), None);
        assert_eq!(d.msg, vec![hash(b"one"), hash(b"two"), hash(b"two")]);
        assert_eq!(d.job(0), Some(&b"4711"[..]));
        assert_eq!(d.job(1), Some(&b"4711"[..]));
        assert_eq!(d.job(2), None);
        assert_eq!(d.job(9), None);
        assert_eq!(d.job_runs, vec![(0, 0), (2, NO_JOB)]);
        assert_eq!(
            (d.mono(0), d.mono(1), d.mono(2), d.mono(3)),
            (None, Some(5), Some(6), None)
        );
        // A source without stamps keeps no column of them.
        assert!(
            Digest::compute(&[a.clone()], &store, &atoms, bytes)
                .mono
                .is_empty()
        );
        // With a monotonic-only event, every stamped event is keyed.
        let m = ev(app, ClockMethod::Monotonic, Some(7), Text::span(0, 3));
        let d = Digest::compute(&[a, b, c, m], &store, &atoms, bytes);
        assert_eq!(
            d.keys.iter().map(|k| k.0).collect::<Vec<_>>(),
            vec![0, 1, 2, 3]
        );
        let mut d = d;
        d.drop_clock_inputs();
        assert_eq!((d.key(0), d.mono(3)), (None, None));
        assert_eq!(d.msg.len(), 4);
        // A job id met again after another takes its first slot back.
        let mut store = FieldStore::new();
        let mut with_job = |at: usize| {
            let mut e = ev(app, ClockMethod::Exact, None, Text::span(0, 3));
            store.push(&mut e.fields, job, Text::span(at, at + 3));
            e
        };
        let evs = [with_job(0), with_job(4), with_job(0)];
        let d = Digest::compute(&evs, &store, &atoms, bytes);
        assert_eq!(
            d.job_ids,
            vec![b"one".to_vec().into(), b"two".to_vec().into()]
        );
        assert_eq!(d.job_runs, vec![(0, 0), (1, 1), (2, 0)]);
        assert_eq!(d.job(2), Some(&b"one"[..]));
    }

    #[test]
    fn stripping_keeps_only_the_selected_texts() {
        let mut atoms = Atoms::default();
        let job = atoms.intern("job");
        let mut store = FieldStore::new();
        let mut evs: Vec<Event> = (0..3)
            .map(|i| {
                let mut e = ev(Atom(0), ClockMethod::Exact, None, Text::span(i, i + 1));
                store.push(&mut e.fields, job, Text::span(0, 1));
                e
            })
            .collect();
        assert_eq!(strip_unquoted(&mut evs, |i| i == 1), 1);
        assert_eq!(evs[0].message.bytes(b"abc"), b"");
        assert!(evs[0].fields.is_empty());
        assert_eq!(evs[1].message.bytes(b"abc"), b"b");
        assert_eq!(store.get(evs[1].fields), &[(job, Text::span(0, 1))]);
        assert!(evs[2].fields.is_empty());
    }
}
