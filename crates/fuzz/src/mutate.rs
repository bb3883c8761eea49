//! Deterministic input mutation: input `i` of a target is one of its seed files changed by a
//! few stacked mutations, all drawn from [`SplitMix64::for_input`]`(target, i)` — so a finding
//! is reproduced from the target name and the index alone, on any machine.
//!
//! The strategies are those of AFL's deterministic and havoc stages, cut down to what breaks
//! file readers: bit flips, byte sets, truncation, insertion and deletion of byte runs,
//! "interesting" integers written over a 1/2/4/8-byte window in either byte order (counts,
//! sizes and offsets are where readers trust their input), duplicated chunks and chunks spliced
//! from another seed; for text formats also numeric tokens replaced by NaN, infinities,
//! negative numbers and values past the integer types' ranges.

use crate::rng::SplitMix64;

/// One mutation strategy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mutation {
    /// Flip one bit.
    BitFlip,
    /// Set one byte to a random value.
    SetByte,
    /// Cut the input at a random length.
    Truncate,
    /// Insert a run of random bytes, or of one repeated byte.
    InsertRun,
    /// Delete a run of bytes.
    DeleteRun,
    /// Write an interesting integer over a 1, 2, 4 or 8-byte window, little- or big-endian.
    Interesting,
    /// Copy a chunk of the input to another place (overwriting or inserting).
    DuplicateChunk,
    /// Insert or overwrite with a chunk of another seed file.
    Splice,
    /// Replace a numeric text token with one of [`NUMERIC_TOKENS`] (weighted up for text).
    NumericToken,
}

/// Strategies for binary formats.
const BINARY: &[Mutation] = &[
    Mutation::BitFlip,
    Mutation::BitFlip,
    Mutation::SetByte,
    Mutation::Truncate,
    Mutation::InsertRun,
    Mutation::DeleteRun,
    Mutation::Interesting,
    Mutation::Interesting,
    Mutation::Interesting,
    Mutation::DuplicateChunk,
    Mutation::Splice,
    // Binary formats often carry text (PLY and MATLAB headers, npy's dict): their numbers too.
    Mutation::NumericToken,
];

/// Strategies for text formats: numeric tokens weigh most, since counts and indices are text.
const TEXT: &[Mutation] = &[
    Mutation::BitFlip,
    Mutation::SetByte,
    Mutation::Truncate,
    Mutation::InsertRun,
    Mutation::DeleteRun,
    Mutation::Interesting,
    Mutation::DuplicateChunk,
    Mutation::Splice,
    Mutation::NumericToken,
    Mutation::NumericToken,
    Mutation::NumericToken,
    Mutation::NumericToken,
];

/// Integers that break size and offset arithmetic: 0, 1, −1 (all ones), the signed extremes of
/// each width, 2³¹, 2³², 2⁶⁴ − 1, small counts and counts too large for any file.
pub const INTERESTING: &[u64] = &[
    0,
    1,
    2,
    3,
    4,
    7,
    8,
    16,
    100,
    255,
    256,
    1000,
    4096,
    0x7f,
    0x80,
    0xff,
    0x7fff,
    0x8000,
    0xffff,
    0x1_0000,
    0x7fff_ffff,
    0x8000_0000,
    0xffff_ffff,
    0x1_0000_0000,
    0x7fff_ffff_ffff_ffff,
    0x8000_0000_0000_0000,
    u64::MAX,
    u64::MAX - 1,
    1_000_000_000,
    0x0000_0010_0000_0000,
];

/// Replacements for numeric text tokens: non-finite values, signs, integer-type limits and
/// their successors, and magnitudes past f32 and f64.
pub const NUMERIC_TOKENS: &[&str] = &[
    "NaN",
    "nan",
    "inf",
    "-inf",
    "Infinity",
    "-1",
    "0",
    "1",
    "2",
    "-0",
    "1e308",
    "-1e308",
    "1e309",
    "3.5e38",
    "1e-320",
    "255",
    "256",
    "65536",
    "2147483647",
    "2147483648",
    "-2147483649",
    "4294967295",
    "4294967296",
    "9223372036854775808",
    "18446744073709551615",
    "18446744073709551616",
    "99999999999",
    "1.5",
    "0x10",
    "",
];

/// The most an input grows past its seed, so that mutations stay cheap to run.
const MAX_GROWTH: usize = 4096;

/// Derives inputs from a seed corpus.
#[derive(Debug, Clone)]
pub struct Mutator<'a> {
    corpus: &'a [Vec<u8>],
    text: bool,
}

impl<'a> Mutator<'a> {
    /// A mutator over a non-empty corpus; `text` weights [`Mutation::NumericToken`] up.
    pub fn new(corpus: &'a [Vec<u8>], text: bool) -> Self {
        assert!(!corpus.is_empty(), "a fuzz target needs at least one seed");
        Self { corpus, text }
    }

    /// Input `index` of `target`: a seed with 1 to 8 stacked mutations (mostly 1 to 3).
    pub fn input(&self, target: &str, index: u64) -> Vec<u8> {
        let mut rng = SplitMix64::for_input(target, index);
        let seed = rng.pick(self.corpus);
        let limit = seed.len() * 2 + MAX_GROWTH;
        let mut data = seed.clone();
        let count = if rng.one_in(8) {
            4 + rng.below(5)
        } else {
            1 + rng.below(3)
        };
        let strategies = if self.text { TEXT } else { BINARY };
        for _ in 0..count {
            let m = *rng.pick(strategies);
            self.apply(m, &mut data, &mut rng);
            data.truncate(limit);
        }
        data
    }

    /// Applies one mutation to `data`.
    pub fn apply(&self, mutation: Mutation, data: &mut Vec<u8>, rng: &mut SplitMix64) {
        match mutation {
            Mutation::BitFlip => {
                if !data.is_empty() {
                    let at = position(rng, data.len());
                    data[at] ^= 1 << rng.below(8);
                }
            }
            Mutation::SetByte => {
                if !data.is_empty() {
                    let at = position(rng, data.len());
                    data[at] = rng.next_u64() as u8;
                }
            }
            Mutation::Truncate => {
                let len = rng.below(data.len() + 1);
                data.truncate(len);
            }
            Mutation::InsertRun => {
                let at = position(rng, data.len() + 1);
                let len = run_length(rng);
                let run: Vec<u8> = if rng.one_in(2) {
                    vec![rng.next_u64() as u8; len]
                } else {
                    (0..len).map(|_| rng.next_u64() as u8).collect()
                };
                data.splice(at..at, run);
            }
            Mutation::DeleteRun => {
                if !data.is_empty() {
                    let at = position(rng, data.len());
                    let end = (at + run_length(rng)).min(data.len());
                    data.drain(at..end);
                }
            }
            Mutation::Interesting => {
                let width = *rng.pick(&[1usize, 2, 4, 8]);
                if data.len() >= width {
                    let at = position(rng, data.len() - width + 1);
                    let value = *rng.pick(INTERESTING);
                    let bytes = if rng.one_in(2) {
                        value.to_le_bytes()[..width].to_vec()
                    } else {
                        value.to_be_bytes()[8 - width..].to_vec()
                    };
                    data[at..at + width].copy_from_slice(&bytes);
                }
            }
            Mutation::DuplicateChunk => {
                if !data.is_empty() {
                    let from = position(rng, data.len());
                    let end = (from + run_length(rng)).min(data.len());
                    let chunk = data[from..end].to_vec();
                    place(data, chunk, rng);
                }
            }
            Mutation::Splice => {
                let other = rng.pick(self.corpus);
                if !other.is_empty() {
                    let from = rng.below(other.len());
                    let end = (from + run_length(rng)).min(other.len());
                    place(data, other[from..end].to_vec(), rng);
                }
            }
            Mutation::NumericToken => {
                let tokens = numeric_tokens(data);
                if tokens.is_empty() {
                    return;
                }
                let (start, end) = *rng.pick(&tokens);
                let replacement = rng.pick(NUMERIC_TOKENS).as_bytes().to_vec();
                data.splice(start..end, replacement);
            }
        }
    }
}

/// A position in `0..len`, half the time within the first 512 bytes, where headers hold the
/// counts and sizes readers trust.
fn position(rng: &mut SplitMix64, len: usize) -> usize {
    if rng.one_in(2) {
        rng.below(len.min(512))
    } else {
        rng.below(len)
    }
}

/// A run length, mostly short, sometimes up to 1 KiB.
fn run_length(rng: &mut SplitMix64) -> usize {
    if rng.one_in(4) {
        1 + rng.below(1024)
    } else {
        1 + rng.below(16)
    }
}

/// Inserts `chunk` at, or writes it over, a random position of `data`.
fn place(data: &mut Vec<u8>, chunk: Vec<u8>, rng: &mut SplitMix64) {
    let at = rng.below(data.len() + 1);
    if rng.one_in(2) {
        data.splice(at..at, chunk);
    } else {
        let end = (at + chunk.len()).min(data.len());
        data.splice(at..end, chunk);
    }
}

/// Byte ranges of the numeric tokens of a text: maximal runs of `0-9 + - . e E` holding a
/// digit, not glued to a letter (so `x1` in `property float x1` is left alone).
pub fn numeric_tokens(data: &[u8]) -> Vec<(usize, usize)> {
    let numeric = |b: u8| b.is_ascii_digit() || matches!(b, b'+' | b'-' | b'.' | b'e' | b'E');
    let mut out = Vec::new();
    let mut i = 0;
    while i < data.len() {
        if numeric(data[i]) && (i == 0 || !data[i - 1].is_ascii_alphanumeric()) {
            let start = i;
            while i < data.len() && numeric(data[i]) {
                i += 1;
            }
            let glued = i < data.len() && data[i].is_ascii_alphabetic();
            if !glued && data[start..i].iter().any(u8::is_ascii_digit) {
                out.push((start, i));
            }
        } else {
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn corpus() -> Vec<Vec<u8>> {
        vec![
            (0..200u8).collect(),
            b"OFF\n3 1 0\n0 0 0\n1 0 0\n0 1 0\n3 0 1 2\n".to_vec(),
        ]
    }

    #[test]
    fn inputs_are_deterministic_by_target_and_index() {
        let c = corpus();
        let m = Mutator::new(&c, false);
        for i in 0..50 {
            assert_eq!(m.input("t", i), m.input("t", i));
        }
        let distinct: std::collections::HashSet<Vec<u8>> =
            (0..50).map(|i| m.input("t", i)).collect();
        assert!(distinct.len() > 45, "{} distinct of 50", distinct.len());
        assert_ne!(
            (0..20).map(|i| m.input("t", i)).collect::<Vec<_>>(),
            (0..20).map(|i| m.input("u", i)).collect::<Vec<_>>()
        );
    }

    #[test]
    fn truncation_shortens_to_a_prefix() {
        let c = corpus();
        let m = Mutator::new(&c, false);
        let mut rng = SplitMix64::for_input("truncate", 0);
        let mut lengths = std::collections::HashSet::new();
        for _ in 0..100 {
            let mut data = c[0].clone();
            m.apply(Mutation::Truncate, &mut data, &mut rng);
            assert!(c[0].starts_with(&data));
            lengths.insert(data.len());
        }
        assert!(
            lengths.len() > 30 && lengths.iter().any(|&l| l < 10),
            "{lengths:?}"
        );
    }

    #[test]
    fn interesting_values_appear_in_both_byte_orders() {
        let c = vec![vec![0x55u8; 64]];
        let m = Mutator::new(&c, false);
        let mut rng = SplitMix64::for_input("interesting", 0);
        let (mut le_2_32, mut be_2_32, mut all_ones) = (false, false, false);
        for _ in 0..5000 {
            let mut data = c[0].clone();
            m.apply(Mutation::Interesting, &mut data, &mut rng);
            let has = |pattern: &[u8]| data.windows(pattern.len()).any(|w| w == pattern);
            le_2_32 |= has(&0x1_0000_0000u64.to_le_bytes());
            be_2_32 |= has(&0x1_0000_0000u64.to_be_bytes());
            all_ones |= has(&[0xff; 8]);
        }
        assert!(
            le_2_32 && be_2_32 && all_ones,
            "{le_2_32} {be_2_32} {all_ones}"
        );
    }

    #[test]
    fn numeric_tokens_are_found_and_replaced() {
        let text = b"element vertex 12\nproperty float x1\n-1.5e3 0 7\n";
        let tokens: Vec<&[u8]> = numeric_tokens(text)
            .iter()
            .map(|&(a, b)| &text[a..b])
            .collect();
        assert_eq!(tokens, vec![&b"12"[..], b"-1.5e3", b"0", b"7"]);
        let c = vec![text.to_vec()];
        let m = Mutator::new(&c, true);
        let mut rng = SplitMix64::for_input("tokens", 0);
        let mut seen = std::collections::HashSet::new();
        for _ in 0..2000 {
            let mut data = c[0].clone();
            m.apply(Mutation::NumericToken, &mut data, &mut rng);
            let s = String::from_utf8(data).unwrap();
            for t in ["NaN", "-inf", "18446744073709551615", "4294967296", "1e308"] {
                if s.contains(t) {
                    seen.insert(t);
                }
            }
        }
        assert_eq!(seen.len(), 5, "{seen:?}");
    }

    #[test]
    fn inputs_stay_bounded() {
        let c = corpus();
        let m = Mutator::new(&c, false);
        assert!((0..2000).all(|i| m.input("grow", i).len() <= 200 * 2 + MAX_GROWTH));
    }
}
