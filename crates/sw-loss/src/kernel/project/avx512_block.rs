//! The two block loops for AVX-512F, register-blocked on directions as well as points.
//!
//! Forward: a pair of points and a group of up to [`GROUP`](avx512_block::GROUP) directions
//! keep `2·K` accumulators in registers, so each 16-float load of θ feeds two FMAs and each load
//! of x feeds K (0.6 loads per FMA against 1.1 for the 8-point AVX2 block). Backward: a pair of
//! output rows keeps its `2·K` coefficients broadcast in registers while θ streams past (K
//! loads and 2 stores per 2·K FMAs); [`combine_into`](avx512_block::combine_into) writes a
//! fresh gradient without zeroing it first. d is cut into tiles of
//! [`TILE`](avx512_block::TILE) floats so a group's tile of θ stays in L1 while the block's
//! four pairs pass over it; the last chunk of a row is a masked load/store, so there is no
//! scalar tail.
//! (What was tried and dropped, and the measured FMA rate: BENCHMARKS.md, "sw-loss: SW
//! estimators vs their PyTorch twins".)

use super::BLOCK;
use std::arch::x86_64::*;

/// Directions per register group: 2·GROUP accumulators + 2 points + 1 θ ≤ 32 registers.
pub(super) const GROUP: usize = 12;
/// Floats of d per tile (a multiple of 16).
pub(super) const TILE: usize = 512;

pub(super) fn available() -> bool {
    std::arch::is_x86_feature_detected!("avx512f")
}

/// The 16-lane mask of a chunk with `rest` floats left (all lanes when rest ≥ 16).
#[inline(always)]
fn lanes(rest: usize) -> __mmask16 {
    if rest >= 16 {
        0xFFFF
    } else {
        ((1u32 << rest) - 1) as __mmask16
    }
}

/// Calls `$f::<K>($args)` with K the const of `$k` (1 ..= GROUP).
macro_rules! by_group {
    ($k:expr, $f:ident, $($arg:expr),*) => {
        match $k {
            1 => $f::<1>($($arg),*), 2 => $f::<2>($($arg),*), 3 => $f::<3>($($arg),*),
            4 => $f::<4>($($arg),*), 5 => $f::<5>($($arg),*), 6 => $f::<6>($($arg),*),
            7 => $f::<7>($($arg),*), 8 => $f::<8>($($arg),*), 9 => $f::<9>($($arg),*),
            10 => $f::<10>($($arg),*), 11 => $f::<11>($($arg),*), 12 => $f::<12>($($arg),*),
            k => unreachable!("direction group of {k}"),
        }
    };
}

/// out[p·L + k] = ⟨θ_k, x_p⟩, p < 8. `thetas: [L, d]`, `points: [8, d]`, `out: [8, L]`.
///
/// # Safety
/// The CPU must support AVX-512F ([`available`]).
#[target_feature(enable = "avx512f")]
pub(super) unsafe fn dots(thetas: &[f32], points: &[f32], d: usize, out: &mut [f32]) {
    let l = thetas.len() / d;
    assert!(points.len() >= BLOCK * d && out.len() >= BLOCK * l && thetas.len() == l * d);
    let mut k0 = 0;
    while k0 < l {
        let k = GROUP.min(l - k0);
        // SAFETY: AVX-512F as the caller's; the sizes were checked above.
        unsafe { by_group!(k, dots_group, thetas, l, k0, points, d, out) };
        k0 += k;
    }
}

/// Directions k0..k0+K for the 8 points: out[p·l + k0 + k].
#[target_feature(enable = "avx512f")]
unsafe fn dots_group<const K: usize>(
    thetas: &[f32],
    l: usize,
    k0: usize,
    points: &[f32],
    d: usize,
    out: &mut [f32],
) {
    let (t, x) = (thetas.as_ptr(), points.as_ptr());
    let mut acc = [[_mm512_setzero_ps(); K]; BLOCK];
    let mut start = 0;
    while start < d {
        let end = (start + TILE).min(d);
        for p in (0..BLOCK).step_by(2) {
            let (mut a0, mut a1) = (acc[p], acc[p + 1]);
            let mut c = start;
            while c < end {
                let m = lanes(end - c);
                // SAFETY: the mask keeps every lane below `end` ≤ d, inside rows p and p + 1
                // of `points` and row k0 + k < l of `thetas`.
                unsafe {
                    let x0 = _mm512_maskz_loadu_ps(m, x.add(p * d + c));
                    let x1 = _mm512_maskz_loadu_ps(m, x.add((p + 1) * d + c));
                    for k in 0..K {
                        let tk = _mm512_maskz_loadu_ps(m, t.add((k0 + k) * d + c));
                        a0[k] = _mm512_fmadd_ps(tk, x0, a0[k]);
                        a1[k] = _mm512_fmadd_ps(tk, x1, a1[k]);
                    }
                }
                c += 16;
            }
            acc[p] = a0;
            acc[p + 1] = a1;
        }
        start = end;
    }
    for (p, row) in acc.iter().enumerate() {
        for (k, a) in row.iter().enumerate() {
            out[p * l + k0 + k] = _mm512_reduce_add_ps(*a);
        }
    }
}

/// out_p += Σ_k coef[k·stride + p] θ_k, p < 8. `thetas: [L, d]`, `out: [8, d]`.
///
/// # Safety
/// The CPU must support AVX-512F ([`available`]).
#[target_feature(enable = "avx512f")]
pub(super) unsafe fn combine(
    coef: &[f32],
    stride: usize,
    thetas: &[f32],
    d: usize,
    out: &mut [f32],
) {
    assert!(out.len() >= BLOCK * d);
    // SAFETY: `out` holds BLOCK·d initialised floats; AVX-512F as the caller's.
    unsafe { combine_raw(coef, stride, thetas, d, out.as_mut_ptr(), true) }
}

/// out_p = Σ_k coef[k·stride + p] θ_k, p < 8, into memory not yet initialised (the first
/// direction group stores without reading, so the buffer needs no zeroing).
///
/// # Safety
/// The CPU must support AVX-512F ([`available`]).
#[target_feature(enable = "avx512f")]
pub(super) unsafe fn combine_into(
    coef: &[f32],
    stride: usize,
    thetas: &[f32],
    d: usize,
    out: &mut [std::mem::MaybeUninit<f32>],
) {
    assert!(out.len() >= BLOCK * d);
    // SAFETY: BLOCK·d writable floats; the first group writes every one before any read.
    unsafe { combine_raw(coef, stride, thetas, d, out.as_mut_ptr().cast(), false) }
}

/// [`combine`] (`accumulate`) or [`combine_into`] on `out: [8, d]` at a raw pointer.
#[target_feature(enable = "avx512f")]
unsafe fn combine_raw(
    coef: &[f32],
    stride: usize,
    thetas: &[f32],
    d: usize,
    out: *mut f32,
    accumulate: bool,
) {
    let l = thetas.len() / d;
    assert!(l > 0 && coef.len() >= (l - 1) * stride + BLOCK);
    assert_eq!(thetas.len(), l * d);
    let mut k0 = 0;
    while k0 < l {
        let k = GROUP.min(l - k0);
        let load = accumulate || k0 > 0;
        // SAFETY: as `dots`; `out` is BLOCK·d floats (the callers' asserts), read only
        // once written when `load` is false for the first group.
        unsafe { by_group!(k, combine_group, coef, stride, thetas, k0, d, out, load) };
        k0 += k;
    }
}

/// Directions k0..k0+K: out_p (+)= Σ_{k<K} coef[(k0 + k)·stride + p] θ_{k0+k}; `load`
/// false starts from zero instead of reading `out`.
#[target_feature(enable = "avx512f")]
#[allow(clippy::too_many_arguments)]
unsafe fn combine_group<const K: usize>(
    coef: &[f32],
    stride: usize,
    thetas: &[f32],
    k0: usize,
    d: usize,
    out: *mut f32,
    load: bool,
) {
    let (t, o) = (thetas.as_ptr(), out);
    let mut start = 0;
    while start < d {
        let end = (start + TILE).min(d);
        for p in (0..BLOCK).step_by(2) {
            let mut c0 = [_mm512_setzero_ps(); K];
            let mut c1 = [_mm512_setzero_ps(); K];
            for k in 0..K {
                c0[k] = _mm512_set1_ps(coef[(k0 + k) * stride + p]);
                c1[k] = _mm512_set1_ps(coef[(k0 + k) * stride + p + 1]);
            }
            let mut c = start;
            while c < end {
                let m = lanes(end - c);
                // SAFETY: the mask keeps every lane below `end` ≤ d, inside rows p and p + 1
                // of `out` and row k0 + k < l of `thetas`.
                unsafe {
                    let (o0, o1) = (o.add(p * d + c), o.add((p + 1) * d + c));
                    let (mut a0, mut a1) = if load {
                        (_mm512_maskz_loadu_ps(m, o0), _mm512_maskz_loadu_ps(m, o1))
                    } else {
                        (_mm512_setzero_ps(), _mm512_setzero_ps())
                    };
                    for k in 0..K {
                        let tk = _mm512_maskz_loadu_ps(m, t.add((k0 + k) * d + c));
                        a0 = _mm512_fmadd_ps(c0[k], tk, a0);
                        a1 = _mm512_fmadd_ps(c1[k], tk, a1);
                    }
                    _mm512_mask_storeu_ps(o0, m, a0);
                    _mm512_mask_storeu_ps(o1, m, a1);
                }
                c += 16;
            }
        }
        start = end;
    }
}
