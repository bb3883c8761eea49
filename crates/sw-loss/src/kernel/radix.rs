//! Row argsort for the fused kernel: an LSD radix sort of (order-preserving f32 key, index)
//! packed in one u64, and a comparison sort for f64 rows.
//!
//! Written by hand because the kernel needs the permutation *and* the sorted values of
//! thousands of short rows per call with no allocation per row; general-purpose crates
//! (`radsort`, `voracious`) sort keys but do not carry a payload through a packed u64 this
//! way. The plain twin is `slice::sort_unstable_by(total_cmp)`, checked in the tests below.

/// Maps an f32 to a u32 whose unsigned order is the float's total order.
#[inline]
pub(crate) fn f32_to_key(v: f32) -> u32 {
    let b = v.to_bits();
    if b & 0x8000_0000 != 0 {
        !b
    } else {
        b | 0x8000_0000
    }
}

/// Inverse of [`f32_to_key`].
#[inline]
pub(crate) fn key_to_f32(k: u32) -> f32 {
    let b = if k & 0x8000_0000 != 0 {
        k & 0x7fff_ffff
    } else {
        !k
    };
    f32::from_bits(b)
}

/// Rows shorter than this are sorted by comparison (radix histograms would dominate).
const RADIX_MIN_LEN: usize = 192;

/// Sorts `vals` ascending: writes the sorted values to `sorted` and the source index of each
/// to `perm` (stable for equal values). `packed` and `tmp` are scratch of the row's length.
pub(crate) fn argsort_f32(
    vals: &[f32],
    sorted: &mut [f32],
    perm: &mut [u32],
    packed: &mut Vec<u64>,
    tmp: &mut Vec<u64>,
) {
    let n = vals.len();
    packed.clear();
    packed.extend(
        vals.iter()
            .enumerate()
            .map(|(i, &v)| ((f32_to_key(v) as u64) << 32) | i as u64),
    );
    if n < RADIX_MIN_LEN {
        packed.sort_unstable();
    } else {
        tmp.resize(n, 0);
        radix_sort_high32(packed, tmp);
    }
    for (k, &e) in packed.iter().enumerate() {
        sorted[k] = key_to_f32((e >> 32) as u32);
        perm[k] = e as u32;
    }
}

/// Stable LSD radix sort of `a` on bits 32..64, four 8-bit passes (a pass whose digit is the
/// same for every element is skipped).
fn radix_sort_high32(a: &mut Vec<u64>, tmp: &mut Vec<u64>) {
    let n = a.len();
    let mut hist = [[0u32; 256]; 4];
    for &v in a.iter() {
        let k = (v >> 32) as u32;
        hist[0][(k & 0xff) as usize] += 1;
        hist[1][((k >> 8) & 0xff) as usize] += 1;
        hist[2][((k >> 16) & 0xff) as usize] += 1;
        hist[3][(k >> 24) as usize] += 1;
    }
    for (pass, h) in hist.iter().enumerate() {
        if h.iter().any(|&c| c as usize == n) {
            continue;
        }
        let mut offsets = [0u32; 256];
        let mut sum = 0u32;
        for (o, &c) in offsets.iter_mut().zip(h.iter()) {
            *o = sum;
            sum += c;
        }
        let shift = 32 + 8 * pass as u32;
        for &v in a.iter() {
            let digit = ((v >> shift) & 0xff) as usize;
            // SAFETY-free indexing: offsets[digit] < n by construction of the histogram.
            tmp[offsets[digit] as usize] = v;
            offsets[digit] += 1;
        }
        std::mem::swap(a, tmp);
    }
}

/// Sorts an f64 row: sorted values and source indices (stable for equal values).
pub(crate) fn argsort_f64(vals: &[f64], sorted: &mut [f64], perm: &mut [u32]) {
    for (i, p) in perm.iter_mut().enumerate() {
        *p = i as u32;
    }
    perm.sort_by(|&a, &b| vals[a as usize].total_cmp(&vals[b as usize]));
    for (s, &p) in sorted.iter_mut().zip(perm.iter()) {
        *s = vals[p as usize];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(vals: Vec<f32>) {
        let n = vals.len();
        let (mut sorted, mut perm) = (vec![0f32; n], vec![0u32; n]);
        argsort_f32(
            &vals,
            &mut sorted,
            &mut perm,
            &mut Vec::new(),
            &mut Vec::new(),
        );
        let mut reference: Vec<(f32, u32)> = vals
            .iter()
            .enumerate()
            .map(|(i, &v)| (v, i as u32))
            .collect();
        reference.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        for k in 0..n {
            assert_eq!(
                sorted[k].to_bits(),
                reference[k].0.to_bits(),
                "value at {k}, n={n}"
            );
            assert_eq!(perm[k], reference[k].1, "index at {k}, n={n}");
        }
    }

    #[test]
    fn keys_round_trip_and_keep_order() {
        let vals = [-3.5f32, -0.0, 0.0, 1e-30, -1e-30, 7.0, f32::MAX, f32::MIN];
        for &v in &vals {
            assert_eq!(key_to_f32(f32_to_key(v)).to_bits(), v.to_bits());
        }
        for &a in &vals {
            for &b in &vals {
                assert_eq!(a.total_cmp(&b), f32_to_key(a).cmp(&f32_to_key(b)));
            }
        }
    }

    #[test]
    fn radix_matches_comparison_sort() {
        let mut state = 12345u64;
        let mut next = || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((state >> 33) as f32 / (1u64 << 31) as f32 - 0.5) * 200.0
        };
        for &n in &[1usize, 2, 5, 100, 191, 192, 193, 1000, 2048, 5000] {
            check((0..n).map(|_| next()).collect());
            check((0..n).map(|i| i as f32).collect());
            check((0..n).map(|i| -(i as f32)).collect());
            check(vec![3.25; n]);
            check((0..n).map(|i| (i % 7) as f32 - 3.0).collect());
        }
    }
}
