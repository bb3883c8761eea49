//! Register-blocked f32 loops for large d: each 8-float chunk of θ is loaded once and used for
//! `BLOCK` points, so θ is read n/8 times instead of n times. Explicit AVX2+FMA intrinsics,
//! because the autovectoriser did not keep the 8 accumulators in registers.

use super::BLOCK;
use std::arch::x86_64::*;

pub(super) fn available() -> bool {
    std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
}

#[inline(always)]
unsafe fn hsum(v: __m256) -> f32 {
    // SAFETY: register-only AVX intrinsics; the caller runs with AVX2 (its contract).
    unsafe {
        let lo = _mm256_castps256_ps128(v);
        let hi = _mm256_extractf128_ps(v, 1);
        let s = _mm_add_ps(lo, hi);
        let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
        let s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
        _mm_cvtss_f32(s)
    }
}

/// out[p·L + k] = ⟨θ_k, x_p⟩, p < 8. `thetas: [L, d]`, `points: [8, d]`, `out: [8, L]`.
///
/// # Safety
/// The CPU must support AVX2 and FMA ([`available`]).
#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn dots(thetas: &[f32], points: &[f32], d: usize, out: &mut [f32]) {
    let l = thetas.len() / d;
    // d is cut into tiles of TILE floats so the block's tile of x stays in L1 while all
    // L directions pass over it.
    const TILE: usize = 512;
    let full = d / 8 * 8;
    assert!(points.len() >= BLOCK * d && out.len() >= BLOCK * l);
    out[..BLOCK * l].iter_mut().for_each(|o| *o = 0.0);
    let mut start = 0;
    while start < full {
        let end = (start + TILE).min(full);
        for k in 0..l {
            let th = thetas[k * d..(k + 1) * d].as_ptr();
            // SAFETY: AVX2 and FMA are this function's contract; every load reads 8 floats
            // at c + 8 ≤ full ≤ d of row k of θ and of the BLOCK point rows (length checked
            // by the assert above).
            unsafe {
                let mut acc = [_mm256_setzero_ps(); BLOCK];
                let mut c = start;
                while c < end {
                    let t = _mm256_loadu_ps(th.add(c));
                    for (p, a) in acc.iter_mut().enumerate() {
                        *a =
                            _mm256_fmadd_ps(t, _mm256_loadu_ps(points.as_ptr().add(p * d + c)), *a);
                    }
                    c += 8;
                }
                for (p, a) in acc.iter().enumerate() {
                    out[p * l + k] += hsum(*a);
                }
            }
        }
        start = end;
    }
    for k in 0..l {
        for p in 0..BLOCK {
            for j in full..d {
                out[p * l + k] = thetas[k * d + j].mul_add(points[p * d + j], out[p * l + k]);
            }
        }
    }
}

/// out_p += Σ_k coef[k·stride + p] θ_k, p < 8. `thetas: [L, d]`, `out: [8, d]`.
///
/// # Safety
/// The CPU must support AVX2 and FMA ([`available`]).
#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn combine(
    coef: &[f32],
    stride: usize,
    thetas: &[f32],
    d: usize,
    out: &mut [f32],
) {
    let l = thetas.len() / d;
    let full = d / 8 * 8;
    assert!(out.len() >= BLOCK * d && coef.len() >= (l - 1) * stride + BLOCK);
    let mut c = 0;
    while c < full {
        // SAFETY: AVX2 and FMA are this function's contract; loads read 8 floats at
        // c + 8 ≤ full ≤ d of row k of θ and coefficients below the length the assert
        // checks; stores write 8 floats of the BLOCK output rows (length checked).
        unsafe {
            let mut acc = [_mm256_setzero_ps(); BLOCK];
            for k in 0..l {
                let t = _mm256_loadu_ps(thetas.as_ptr().add(k * d + c));
                for p in 0..BLOCK {
                    acc[p] = _mm256_fmadd_ps(_mm256_set1_ps(coef[k * stride + p]), t, acc[p]);
                }
            }
            for p in 0..BLOCK {
                let o = out.as_mut_ptr().add(p * d + c);
                _mm256_storeu_ps(o, _mm256_add_ps(_mm256_loadu_ps(o), acc[p]));
            }
        }
        c += 8;
    }
    for j in full..d {
        for k in 0..l {
            for p in 0..BLOCK {
                out[p * d + j] = coef[k * stride + p].mul_add(thetas[k * d + j], out[p * d + j]);
            }
        }
    }
}
