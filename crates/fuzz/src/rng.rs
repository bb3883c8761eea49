//! The mutator's random numbers: SplitMix64 (Steele, Lea & Flood, "Fast splittable
//! pseudorandom number generators", OOPSLA 2014), seeded from (target name, input index).
//!
//! Hand-rolled rather than taken from `rand`: a finding is reproduced from its target name and
//! input index alone, so the stream must never change with a dependency's version, and ten
//! lines need no dependency at all.

/// A SplitMix64 generator.
#[derive(Debug, Clone)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    /// A generator whose stream depends only on `target` and `index`.
    pub fn for_input(target: &str, index: u64) -> Self {
        // FNV-1a of the name, so targets do not share streams; then mix in the index.
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for b in target.bytes() {
            hash ^= b as u64;
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
        let mut rng = Self {
            state: hash ^ index.wrapping_mul(0x9e37_79b9_7f4a_7c15),
        };
        rng.next_u64();
        rng
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A value in `0..n` (`n > 0`; the modulo bias is irrelevant for mutation choices).
    pub fn below(&mut self, n: usize) -> usize {
        debug_assert!(n > 0);
        (self.next_u64() % n as u64) as usize
    }

    /// True with probability `1 / n`.
    pub fn one_in(&mut self, n: usize) -> bool {
        self.below(n) == 0
    }

    /// An element of a non-empty slice.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_depend_on_target_and_index_only() {
        let a: Vec<u64> = (0..4)
            .map(|_| SplitMix64::for_input("npy", 7).next_u64())
            .collect();
        assert!(a.windows(2).all(|w| w[0] == w[1]));
        let first = |t: &str, i| SplitMix64::for_input(t, i).next_u64();
        assert_ne!(first("npy", 7), first("npy", 8));
        assert_ne!(first("npy", 7), first("npz", 7));
    }

    #[test]
    fn below_stays_in_range() {
        let mut rng = SplitMix64::for_input("range", 0);
        assert!((0..10_000).all(|_| rng.below(3) < 3));
    }
}
