//! A literal gate in front of the signal scan's Aho-Corasick automaton: a cheap test that
//! proves most texts hold none of the catalog's literals, so that the automaton runs only on
//! the few that may.
//!
//! Each literal is represented by one of its 3-byte substrings (a 3-gram), folded with
//! `| 0x20` on every byte, hashed into a table of 2¹⁷ bits (16 KiB, [`Gate`]). A text is
//! read position by position (one 8-byte load gives six positions); when no position's
//! 3-gram has its bit set, no literal can occur and the automaton is skipped. The fold is
//! sound for the automaton's ASCII case-insensitive search: two bytes equal under ASCII case
//! folding are equal under `| 0x20` (an over-approximation: `@` and `` ` `` fold together
//! too, which only lets a text through). So the gate only ever answers "maybe" or "none",
//! and "none" is exact: what the scan finds does not depend on what the gate learned.
//!
//! Which 3-gram stands for a literal decides everything: `ing` or ` up` lets most texts of
//! a log through. The choice is not static (a byte-frequency cost picked such grams, and
//! passed 800 k of the 1.04 M texts of the 1 GB bench corpus), nor taken from one corpus:
//! each worker's gate *learns* from the texts it is shown. For its first texts
//! ([`LEARN_TEXTS`] or [`LEARN_BYTES`]) it counts their folded 3-grams in a small hashed
//! table while the automaton answers exactly; then it gives each literal its 3-gram of
//! lowest count (the first one on a tie) and gates from then on. When over a window of
//! [`WINDOW`] texts it lets through more than four times as many texts as hold a literal
//! (plus [`WINDOW_FLOOR`]), the logs have changed under it (an atticd source first, journals
//! later) and it learns again. A literal shorter than three bytes (a user grammar may have
//! one) cannot be represented: the gate then lets every text through.

use std::sync::atomic::{AtomicU64, Ordering};

/// log2 of the number of bits of the gate's table: 16 KiB, half a first-level data cache.
/// 2¹⁶ to 2¹⁹ bits let through about as many of the texts of the 1 GB bench corpus (the
/// automaton runs 28,300, 24,784, 24,777 and 24,505 times) in the same time, and five
/// paired runs of the 1 GB analysis do not tell 2¹⁷ from 2¹⁸ apart; the smaller table
/// leaves more of the cache to the rest of the pass.
const BITS: u32 = 17;
/// The table's 64-bit words.
const WORDS: usize = 1 << (BITS - 6);
/// log2 of the number of counters the learning uses: a counter is shared by 16 bits of the
/// table (the top bits of the same hash), so its count bounds what any of them would let
/// through.
const COUNT_BITS: u32 = 14;
/// How many texts a gate learns from... (512 to 8,192 choose as well on the texts of the
/// 1 GB bench corpus; learning costs about a nanosecond a byte on top of the automaton.)
pub const LEARN_TEXTS: u32 = 1024;
/// ...or how many bytes, whichever comes first.
pub const LEARN_BYTES: u32 = 128 << 10;
/// The texts over which a gate checks how many it lets through in vain.
pub const WINDOW: u32 = 4096;
/// Texts let through in vain that a window tolerates besides four per text that holds a
/// literal.
pub const WINDOW_FLOOR: u32 = 64;

/// The hash of the 3-gram in the low three bytes of `x` (the fourth is ignored), folded with
/// `| 0x20` on every byte: a multiplicative hash, whose top bits are used.
#[inline(always)]
fn hash(x: u32) -> u32 {
    folded_hash(x | 0x20_2020)
}

/// [`hash`] of a 3-gram already folded. The shift drops the fourth byte: one instruction
/// fewer than a mask, per position of every text (55 against 59 ms on the texts of the
/// 1 GB bench corpus).
#[inline(always)]
fn folded_hash(x: u32) -> u32 {
    (x << 8).wrapping_mul(0x9E37_79B1)
}

/// The catalog's literals as the gate needs them: each literal's 3-grams. Built once per
/// catalog; a [`Gate`] learns which of them to use.
#[derive(Clone, Debug)]
pub struct Grams {
    /// Per literal, its 3-grams in position order (the low three bytes of each word;
    /// [`hash`] folds them).
    grams: Vec<Vec<u32>>,
    /// A literal is shorter than three bytes: the gate lets everything through.
    short: bool,
    /// Tells these grams from other ones: a gate built for other grams learns again.
    id: u64,
}

impl Grams {
    /// The 3-grams of `literals` (any case).
    pub fn new<L: AsRef<[u8]>>(literals: &[L]) -> Grams {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        let mut short = false;
        let grams = literals
            .iter()
            .map(|l| {
                let l = l.as_ref();
                short |= l.len() < 3;
                l.windows(3)
                    .map(|w| u32::from_le_bytes([w[0], w[1], w[2], 0]))
                    .collect()
            })
            .collect();
        Grams {
            grams,
            short,
            id: NEXT.fetch_add(1, Ordering::Relaxed),
        }
    }

    /// Whether a gate over these literals lets every text through (a literal is shorter
    /// than three bytes).
    pub fn is_open(&self) -> bool {
        self.short
    }
}

/// What a gate is doing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// Counting the 3-grams of the texts seen: `texts` texts of `bytes` bytes so far.
    Learn { texts: u32, bytes: u32 },
    /// Gating, for the grams of this id.
    Gate(u64),
}

/// The current window of a gate that gates: of `texts` texts, `passes` were let through,
/// `matches` of which hold a literal.
#[derive(Clone, Copy, Debug, Default)]
struct Window {
    texts: u32,
    passes: u32,
    matches: u32,
}

/// One worker's gate (it lives in the worker's [`super::ScanMemo`]): learns from the texts
/// it is shown, then skips the automaton on the texts that cannot hold a literal. See the
/// module documentation.
#[derive(Clone)]
pub struct Gate {
    phase: Phase,
    window: Window,
    /// Bit `hash >> (32 - BITS)` is set for each literal's chosen 3-gram.
    bits: Box<[u64; WORDS]>,
    /// While learning, how many positions of the texts seen hashed to each counter.
    counts: Box<[u32; 1 << COUNT_BITS]>,
    /// How many times the gate learned.
    learned: u32,
}

impl Default for Gate {
    fn default() -> Self {
        Gate {
            phase: Phase::Learn { texts: 0, bytes: 0 },
            window: Window::default(),
            bits: Box::new([0; WORDS]),
            counts: Box::new([0; 1 << COUNT_BITS]),
            learned: 0,
        }
    }
}

impl std::fmt::Debug for Gate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gate")
            .field("phase", &self.phase)
            .field("window", &self.window)
            .field("learned", &self.learned)
            .finish_non_exhaustive()
    }
}

impl Gate {
    /// Whether `text` holds one of the literals of `grams`, as `exact` (the automaton over
    /// those literals, ASCII case-insensitive) says; `exact` runs only when the gate cannot
    /// rule the text out. The answer is always `exact(text)`'s.
    #[inline]
    pub fn check(&mut self, grams: &Grams, text: &[u8], exact: impl FnOnce(&[u8]) -> bool) -> bool {
        if grams.short {
            return exact(text);
        }
        match self.phase {
            Phase::Gate(id) if id == grams.id => {
                self.window.texts += 1;
                let found = self.may_hold(text) && {
                    let w = &mut self.window;
                    w.passes += 1;
                    let found = exact(text);
                    w.matches += u32::from(found);
                    found
                };
                let w = &mut self.window;
                if w.texts == WINDOW {
                    if w.passes > 4 * w.matches + WINDOW_FLOOR {
                        self.relearn();
                    }
                    self.window = Window::default();
                }
                found
            }
            Phase::Gate(_) => {
                // Built for other literals: what it holds says nothing of these.
                self.relearn();
                self.learn(grams, text);
                exact(text)
            }
            Phase::Learn { .. } => {
                self.learn(grams, text);
                exact(text)
            }
        }
    }

    /// How many times the gate has learned which 3-grams to use.
    pub fn times_learned(&self) -> u32 {
        self.learned
    }

    /// Whether the gate is learning (the automaton answers every text).
    pub fn is_learning(&self) -> bool {
        matches!(self.phase, Phase::Learn { .. })
    }

    /// Starts learning again, from no counts.
    fn relearn(&mut self) {
        self.counts.fill(0);
        self.phase = Phase::Learn { texts: 0, bytes: 0 };
    }

    /// Counts the 3-grams of `text`; builds the table from the counts when enough texts
    /// were seen.
    fn learn(&mut self, grams: &Grams, text: &[u8]) {
        for w in text.windows(3) {
            let h = hash(u32::from_le_bytes([w[0], w[1], w[2], 0])) >> (32 - COUNT_BITS);
            let c = &mut self.counts[h as usize];
            *c = c.saturating_add(1);
        }
        let Phase::Learn { texts, bytes } = &mut self.phase else {
            return;
        };
        *texts += 1;
        *bytes = bytes.saturating_add(u32::try_from(text.len()).unwrap_or(u32::MAX));
        if *texts >= LEARN_TEXTS || *bytes >= LEARN_BYTES {
            self.build(grams);
        }
    }

    /// The table from the counts: each literal's 3-gram of lowest count (the first on a
    /// tie).
    fn build(&mut self, grams: &Grams) {
        self.bits.fill(0);
        for lit in &grams.grams {
            let best = lit
                .iter()
                .map(|&g| hash(g))
                .min_by_key(|&h| self.counts[(h >> (32 - COUNT_BITS)) as usize]);
            if let Some(h) = best {
                let h = (h >> (32 - BITS)) as usize;
                self.bits[h / 64] |= 1 << (h % 64);
            }
        }
        self.learned += 1;
        self.phase = Phase::Gate(grams.id);
        self.window = Window::default();
    }

    /// False when no 3-gram of `text` has its bit set: no literal occurs in it. Texts
    /// shorter than three bytes hold none (every literal is three bytes or more).
    #[inline]
    fn may_hold(&self, t: &[u8]) -> bool {
        let bits = &*self.bits;
        // Bit 0 of the result is the bit of the 3-gram at byte `k` of `w` (folded).
        let bit = |w: u64, k: u32| {
            let h = (folded_hash((w >> (8 * k)) as u32) >> (32 - BITS)) as usize;
            bits[h / 64] >> (h % 64)
        };
        // The word folded once for its six 3-grams.
        let six = |w: u64| {
            let w = w | 0x2020_2020_2020_2020;
            (0..6).fold(0, |hit, k| hit | bit(w, k))
        };
        let word = |i: usize| {
            let mut b = [0; 8];
            b.copy_from_slice(&t[i..i + 8]);
            u64::from_le_bytes(b)
        };
        let n = t.len();
        if n < 8 {
            // Three to seven bytes: the 3-grams that lie wholly in the text.
            let mut b = [0; 8];
            b[..n].copy_from_slice(t);
            let w = u64::from_le_bytes(b) | 0x2020_2020_2020_2020;
            return (0..n.saturating_sub(2) as u32).fold(0, |hit, k| hit | bit(w, k)) & 1 != 0;
        }
        // Twelve positions per step, from two loads six bytes apart.
        let mut i = 0;
        while i + 14 <= n {
            if (six(word(i)) | six(word(i + 6))) & 1 != 0 {
                return true;
            }
            i += 12;
        }
        // Fewer than 14 bytes are left from `i`: the word at `i` (when eight bytes are
        // left) and the last word cover the positions up to `n - 3`.
        (six(word(i.min(n - 8))) | six(word(n - 8))) & 1 != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aho_corasick::AhoCorasick;
    use proptest::prelude::*;

    /// The automaton as the catalog builds it.
    fn automaton(lits: &[&str]) -> AhoCorasick {
        super::super::literal_automaton(lits).expect("builds")
    }

    /// A catalog's literals, their grams, their automaton and a gate, as a worker has them.
    struct Worker {
        grams: Grams,
        ac: AhoCorasick,
        gate: Gate,
    }

    impl Worker {
        fn new(lits: &[&str]) -> Worker {
            Worker {
                grams: Grams::new(lits),
                ac: automaton(lits),
                gate: Gate::default(),
            }
        }

        /// Asks the gate about each of `texts`, checking its answer against the
        /// automaton's; how many times the gate asked the automaton.
        fn run<T: AsRef<[u8]>>(&mut self, texts: impl IntoIterator<Item = T>) -> usize {
            let mut ran = 0;
            for t in texts {
                let t = t.as_ref();
                let found = self.gate.check(&self.grams, t, |t| {
                    ran += 1;
                    self.ac.is_match(t)
                });
                assert_eq!(
                    found,
                    self.ac.is_match(t),
                    "{:?}",
                    String::from_utf8_lossy(t)
                );
            }
            ran
        }

        /// Shows the gate `texts`, then filler texts until it has learned.
        fn learn<T: AsRef<[u8]>>(&mut self, texts: impl IntoIterator<Item = T>) {
            self.run(texts);
            while self.gate.is_learning() {
                self.run([[b'~'; 200]]);
            }
        }
    }

    const LITS: &[&str] = &[
        "429",
        "killed process",
        "(etcd)",
        "no space left on device",
        "[agenix]",
        "Ünïcode",
    ];

    #[test]
    fn gates_after_learning_and_rejects_texts_without_literals() {
        let mut w = Worker::new(LITS);
        let quiet = "GET /api/v1/cache 200 OK";
        assert!(w.gate.is_learning());
        assert_eq!(
            w.run(vec![quiet; LEARN_TEXTS as usize - 1]),
            LEARN_TEXTS as usize - 1
        );
        assert!(w.gate.is_learning());
        assert_eq!(w.run(["x"]), 1);
        assert!(!w.gate.is_learning());
        assert_eq!(w.gate.times_learned(), 1);
        assert_eq!(
            w.run([quiet, "ok", ""]),
            0,
            "the automaton ran on a text ruled out"
        );
        let loud = [
            "Out of memory: Killed Process 4242 (nix)",
            "HTTP 429",
            "ünïcode ÜNïCODE",
        ];
        assert_eq!(w.run(loud), 3);
    }

    #[test]
    fn learning_picks_the_gram_rare_in_the_logs() {
        // The logs are full of "kil" (and "lle", "led"): the gate must stand for
        // "killed process" by a gram of " process" those logs do not hold...
        let mut w = Worker::new(&["killed process"]);
        let common = |i| format!("worker {i} killed the job and skilled labour");
        w.learn((0..LEARN_TEXTS).map(common));
        // ...so texts holding only the common grams are ruled out without the automaton.
        assert_eq!(
            w.run((0..LEARN_TEXTS).map(common)),
            0,
            "`killed` went to the automaton"
        );
        assert_eq!(w.run(["Killed process 77 (cc1plus)"]), 1);
    }

    #[test]
    fn learns_again_when_the_logs_change() {
        let mut w = Worker::new(&["killed process"]);
        // Learned on logs full of " process" but without "kil": `kil` is chosen...
        w.learn((0..LEARN_TEXTS).map(|i| format!("process {i} started")));
        assert_eq!(w.gate.times_learned(), 1);
        // ...then every text holds "kil" (never "killed process"): they pass in vain
        // until a window sees it and the gate learns again.
        let later = |i| format!("skill {i} level");
        assert_eq!(w.run((0..WINDOW - 1).map(later)), WINDOW as usize - 1);
        assert!(!w.gate.is_learning());
        assert_eq!(w.run([later(0)]), 1);
        assert!(
            w.gate.is_learning(),
            "a window of vain passes did not restart learning"
        );
        w.learn((0..LEARN_TEXTS).map(later));
        assert_eq!(w.gate.times_learned(), 2);
        // Learned on the new logs, which hold neither "lle" nor what follows it.
        assert_eq!(w.run((0..100).map(later)), 0);
        assert_eq!(w.run(["KILLED PROCESS 1"]), 1);
    }

    #[test]
    fn a_window_that_passes_texts_holding_literals_keeps_the_gate() {
        let mut w = Worker::new(&["enospc"]);
        w.learn([""; 0]);
        let n = 3 * WINDOW;
        assert_eq!(
            w.run((0..n).map(|i| format!("write {i}: ENOSPC"))),
            n as usize
        );
        assert_eq!(w.gate.times_learned(), 1);
        assert!(!w.gate.is_learning());
    }

    #[test]
    fn a_literal_shorter_than_three_bytes_opens_the_gate() {
        let mut w = Worker::new(&["oom", "5x"]);
        assert!(w.grams.is_open());
        assert!(!Grams::new(&["oom", "5xx"]).is_open());
        let n = 2 * LEARN_TEXTS as usize;
        assert_eq!(w.run(vec!["all is well"; n]), n);
        assert_eq!(w.run(["a 5X error"]), 1);
        assert_eq!(w.gate.times_learned(), 0);
    }

    #[test]
    fn a_gate_built_for_other_literals_learns_again() {
        let mut w = Worker::new(&["enospc"]);
        w.learn([""; 0]);
        let other = Worker::new(&["killed process"]);
        w.grams = other.grams;
        w.ac = other.ac;
        assert_eq!(w.run(["Killed process 1"]), 1);
        assert!(w.gate.is_learning());
        assert_eq!(w.gate.times_learned(), 1);
    }

    #[test]
    fn every_position_of_every_length_is_read() {
        // One literal, placed at each position of texts of every length around the
        // loads' boundaries (8, 14, 26 bytes), in filler the gate rules out.
        let mut w = Worker::new(&["q#z"]);
        w.learn([""; 0]);
        let gate = w.gate;
        for n in 0..=40 {
            let filler = vec![b'.'; n];
            assert!(!gate.may_hold(&filler), "filler of {n}");
            for at in 0..n.saturating_sub(2) {
                let mut t = filler.clone();
                t[at..at + 3].copy_from_slice(b"Q#Z");
                assert!(gate.may_hold(&t), "`Q#Z` at {at} of {n}");
            }
        }
    }

    /// `l` with the letters whose bit is set in `case` in upper case.
    fn cased(l: &[u8], case: u64) -> Vec<u8> {
        l.iter()
            .enumerate()
            .map(|(k, &c)| {
                if case >> (k % 64) & 1 != 0 {
                    c.to_ascii_uppercase()
                } else {
                    c
                }
            })
            .collect()
    }

    /// A text made of literals and pieces of literals (in any case), random bytes (any
    /// value) and spaces.
    fn text() -> impl Strategy<Value = Vec<u8>> {
        let piece = prop_oneof![
            (0..LITS.len(), 0..24usize, 0..24usize, any::<u64>()).prop_map(|(i, a, len, case)| {
                let l = LITS[i].as_bytes();
                let a = a.min(l.len());
                cased(&l[a..(a + len).min(l.len())], case)
            }),
            (0..LITS.len(), any::<u64>()).prop_map(|(i, case)| cased(LITS[i].as_bytes(), case)),
            prop::collection::vec(any::<u8>(), 0..6),
            Just(b" ".to_vec()),
        ];
        prop::collection::vec(piece, 0..8).prop_map(|p| p.concat())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Whatever the gate learned from, it never rules out a text the automaton
        /// matches, at any length (texts of 0 to 20 bytes test the loads' boundaries).
        #[test]
        fn never_rules_out_a_match(
            learn in prop::collection::vec(text(), 0..64),
            texts in prop::collection::vec(prop_oneof![text(), prop::collection::vec(any::<u8>(), 0..20)], 1..64),
        ) {
            let mut w = Worker::new(LITS);
            w.learn(&learn);
            for t in &texts {
                if w.ac.is_match(t) {
                    prop_assert!(w.gate.may_hold(t), "{:?} ruled out", String::from_utf8_lossy(t));
                }
            }
        }
    }
}
