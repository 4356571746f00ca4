//! A set of indices below a fixed bound, one bit each. The timeline's duplicate flags and
//! the unexplained stage's picks are asked about every event, where a bit is cheaper than a
//! hash lookup and an eighth of a byte per event.

/// A set of indices below the bound given at creation. Indices past it are never in the
/// set, and inserting one does nothing.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Bits {
    words: Vec<u64>,
    /// The bound.
    len: usize,
}

impl Bits {
    /// The empty set of indices below `n`.
    pub fn new(n: usize) -> Bits {
        Bits {
            words: vec![0; n.div_ceil(64)],
            len: n,
        }
    }

    /// The set of the indices `set` below `n`.
    pub fn of(n: usize, set: impl IntoIterator<Item = usize>) -> Bits {
        let mut b = Bits::new(n);
        for i in set {
            b.insert(i);
        }
        b
    }

    /// Whether `i` is in the set.
    pub fn contains(&self, i: usize) -> bool {
        i < self.len && self.words[i / 64] >> (i % 64) & 1 == 1
    }

    /// Adds `i` (below the bound).
    pub fn insert(&mut self, i: usize) {
        if i < self.len {
            self.words[i / 64] |= 1 << (i % 64);
        }
    }

    /// How many indices the set holds.
    pub fn count(&self) -> u64 {
        self.words.iter().map(|w| u64::from(w.count_ones())).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::Bits;

    #[test]
    fn holds_what_was_inserted_and_nothing_past_its_bound() {
        let mut b = Bits::new(130);
        assert_eq!(b.count(), 0);
        for i in [0, 63, 64, 129] {
            assert!(!b.contains(i));
            b.insert(i);
            assert!(b.contains(i));
        }
        b.insert(64);
        assert_eq!(b.count(), 4);
        assert!(!b.contains(1) && !b.contains(65) && !b.contains(128));
        // Past the bound (in its last word or beyond): ignored and never held.
        b.insert(130);
        b.insert(191);
        b.insert(192);
        assert!(!b.contains(130) && !b.contains(191) && !b.contains(192));
        assert!(!b.contains(usize::MAX));
        assert_eq!(b.count(), 4);
        assert_eq!(Bits::of(130, [129, 0, 64, 63, 130, 192]), b);
        assert_eq!(Bits::new(0).count(), 0);
        assert!(!Bits::default().contains(0));
    }
}
