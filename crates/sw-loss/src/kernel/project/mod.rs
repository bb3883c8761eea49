//! The fused projection `P[b, l, i] = ⟨θ_{b,l}, x_{b,i}⟩` on Flex, with its backward.
//!
//! ```text
//! forward   P = Θ Xᵀ                     [B, L, d] × [B, n, d] → [B, L, n]
//! backward  ∂/∂X = Gᵀ Θ   (grad_x[b,i,:] = Σ_l G[b,l,i] θ_{b,l})       [B, n, d]
//!           ∂/∂Θ = G X    (grad_θ[b,l,:] = Σ_i G[b,l,i] x_{b,i})       [B, L, d]
//! ```
//! Flex's general matmul is slow for the shapes of sliced Wasserstein (an inner dimension of
//! 3, or an output of n × d with an inner dimension of L = 10); these loops are laid out for
//! them: for small d, one output row per direction; for large d, all L dot products of one
//! point while it sits in cache. The reference twin is `Tensor::matmul`
//! ([`crate::sliced::project_reference`]).

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::backend::{Autodiff, Flex, TensorMetadata, tensor::FloatTensor};
use burn::tensor::TensorData;
use rayon::prelude::*;

use super::ProjectOps;
use crate::kernel_support::{Real, contiguous};

/// Above this dimension the forward iterates over points instead of directions.
const LARGE_D: usize = 64;

/// `a·b + c`, as one FMA instruction when the caller was compiled with FMA.
#[inline(always)]
fn madd<E: Real, const FMA: bool>(a: E, b: E, c: E) -> E {
    if FMA {
        a.fused_mul_add(b, c)
    } else {
        a * b + c
    }
}

/// ⟨a, b⟩ with 32 independent partial sums, so the loop vectorises and pipelines.
#[inline(always)]
fn dot<E: Real, const FMA: bool>(a: &[E], b: &[E]) -> E {
    const W: usize = 32;
    let mut acc = [E::default(); W];
    let (ca, cb) = (a.chunks_exact(W), b.chunks_exact(W));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for k in 0..W {
            acc[k] = madd::<E, FMA>(x[k], y[k], acc[k]);
        }
    }
    let mut tail = E::default();
    for (x, y) in ra.iter().zip(rb) {
        tail = madd::<E, FMA>(*x, *y, tail);
    }
    let mut width = W;
    while width > 1 {
        width /= 2;
        for k in 0..width {
            acc[k] += acc[k + width];
        }
    }
    acc[0] + tail
}

/// y += α x.
#[inline(always)]
fn axpy<E: Real, const FMA: bool>(alpha: E, x: &[E], y: &mut [E]) {
    for (yi, xi) in y.iter_mut().zip(x) {
        *yi = madd::<E, FMA>(alpha, *xi, *yi);
    }
}

/// The four inner loops, each a plain version and an AVX2+FMA one chosen at run time
/// (Burn builds for baseline x86-64; these loops are where SW's time goes).
macro_rules! simd_dispatch {
    ($(#[doc = $doc:expr] fn $name:ident<E>($($arg:ident : $ty:ty),*) $body:block)*) => {$(
        #[doc = $doc]
        #[inline(always)]
        fn $name<E: Real, const FMA: bool>($($arg: $ty),*) $body
        paste_dispatch!($name, ($($arg: $ty),*), ($($arg),*));
    )*};
}

macro_rules! paste_dispatch {
    ($name:ident, ($($arg:ident : $ty:ty),*), ($($call:ident),*)) => {
        #[allow(non_snake_case)]
        mod $name {
            use super::*;
            #[cfg(target_arch = "x86_64")]
            #[target_feature(enable = "avx2,fma")]
            unsafe fn avx2<E: Real>($($arg: $ty),*) {
                super::$name::<E, true>($($call),*)
            }
            pub(super) fn run<E: Real>($($arg: $ty),*) {
                #[cfg(target_arch = "x86_64")]
                if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
                    // SAFETY: the CPU supports the features the function was compiled for.
                    return unsafe { avx2::<E>($($call),*) };
                }
                super::$name::<E, false>($($call),*)
            }
        }
    };
}

simd_dispatch! {
    /// out[i] = ⟨θ, x_i⟩ for the n points of one batch element (small d).
    fn dots_per_direction<E>(theta: &[E], points: &[E], d: usize, out: &mut [E]) {
        for (i, o) in out.iter_mut().enumerate() {
            *o = dot::<E, FMA>(theta, &points[i * d..(i + 1) * d]);
        }
    }
    /// out[k] = ⟨θ_k, x⟩ for the L directions of one batch element (large d).
    fn dots_per_point<E>(thetas: &[E], point: &[E], d: usize, out: &mut [E]) {
        for (k, o) in out.iter_mut().enumerate() {
            *o = dot::<E, FMA>(&thetas[k * d..(k + 1) * d], point);
        }
    }
    /// out += Σ_k coef[k·stride] θ_k.
    fn combine<E>(coef: &[E], stride: usize, rows: &[E], d: usize, out: &mut [E]) {
        for (k, row) in rows.chunks_exact(d).enumerate() {
            axpy::<E, FMA>(coef[k * stride], row, out);
        }
    }
}

/// Points per register block in the large-d loops.
const BLOCK: usize = 8;

#[cfg(target_arch = "x86_64")]
mod avx2_block;

#[cfg(target_arch = "x86_64")]
mod avx512_block;

/// Block of `BLOCK` points, forward: the AVX-512 or AVX2 kernel for f32 where available, else one
/// point at a time.
fn dots_block<E: Real>(thetas: &[E], points: &[E], d: usize, out: &mut [E]) {
    let l = thetas.len() / d;
    #[cfg(target_arch = "x86_64")]
    if let (Some(t), Some(x), true) = (as_f32(thetas), as_f32(points), avx512_block::available()) {
        let o = as_f32_mut(out).expect("same element type");
        // SAFETY: AVX-512F was detected.
        return unsafe { avx512_block::dots(t, x, d, o) };
    }
    #[cfg(target_arch = "x86_64")]
    if let (Some(t), Some(x), true) = (as_f32(thetas), as_f32(points), avx2_block::available()) {
        let o = as_f32_mut(out).expect("same element type");
        // SAFETY: AVX2 and FMA were detected.
        return unsafe { avx2_block::dots(t, x, d, o) };
    }
    for (p, op) in out.chunks_mut(l).enumerate() {
        dots_per_point::run(thetas, &points[p * d..(p + 1) * d], d, op);
    }
}

/// Block of `BLOCK` output rows, backward: the AVX-512 or AVX2 kernel for f32 where available.
fn combine_block<E: Real>(coef: &[E], stride: usize, thetas: &[E], d: usize, out: &mut [E]) {
    #[cfg(target_arch = "x86_64")]
    if let (Some(c), Some(t), true) = (as_f32(coef), as_f32(thetas), avx512_block::available()) {
        let o = as_f32_mut(out).expect("same element type");
        // SAFETY: AVX-512F was detected.
        return unsafe { avx512_block::combine(c, stride, t, d, o) };
    }
    #[cfg(target_arch = "x86_64")]
    if let (Some(c), Some(t), true) = (as_f32(coef), as_f32(thetas), avx2_block::available()) {
        let o = as_f32_mut(out).expect("same element type");
        // SAFETY: AVX2 and FMA were detected.
        return unsafe { avx2_block::combine(c, stride, t, d, o) };
    }
    for (p, op) in out.chunks_mut(d).enumerate() {
        combine::run(&coef[p..], stride, thetas, d, op);
    }
}

fn as_f32<E: 'static>(s: &[E]) -> Option<&[f32]> {
    (std::any::TypeId::of::<E>() == std::any::TypeId::of::<f32>())
        // SAFETY: E is f32.
        .then(|| unsafe { std::slice::from_raw_parts(s.as_ptr() as *const f32, s.len()) })
}

fn as_f32_mut<E: 'static>(s: &mut [E]) -> Option<&mut [f32]> {
    (std::any::TypeId::of::<E>() == std::any::TypeId::of::<f32>())
        // SAFETY: E is f32.
        .then(|| unsafe { std::slice::from_raw_parts_mut(s.as_mut_ptr() as *mut f32, s.len()) })
}

/// `[B, n, d] × [B, L, d] → [B, L, n]`.
fn forward<E: Real>(x: &[E], theta: &[E], b: usize, n: usize, l: usize, d: usize) -> Vec<E> {
    let mut out = vec![E::default(); b * l * n];
    if d <= LARGE_D {
        out.par_chunks_mut(n).enumerate().for_each(|(row, o)| {
            let bi = row / l;
            dots_per_direction::run(
                &theta[row * d..(row + 1) * d],
                &x[bi * n * d..(bi + 1) * n * d],
                d,
                o,
            );
        });
    } else {
        // [B, n, L] first (blocks of points share each load of θ), then transpose.
        let mut by_point = vec![E::default(); b * n * l];
        for (bi, batch) in by_point.chunks_mut(n * l).enumerate() {
            let thetas = &theta[bi * l * d..(bi + 1) * l * d];
            let xb = &x[bi * n * d..(bi + 1) * n * d];
            batch
                .par_chunks_mut(BLOCK * l)
                .enumerate()
                .for_each(|(blk, o)| {
                    let first = blk * BLOCK;
                    if o.len() == BLOCK * l {
                        dots_block(thetas, &xb[first * d..(first + BLOCK) * d], d, o);
                    } else {
                        for (p, op) in o.chunks_mut(l).enumerate() {
                            dots_per_point::run(
                                thetas,
                                &xb[(first + p) * d..(first + p + 1) * d],
                                d,
                                op,
                            );
                        }
                    }
                });
        }
        out.par_chunks_mut(n).enumerate().for_each(|(row, o)| {
            let (bi, k) = (row / l, row % l);
            for (i, oi) in o.iter_mut().enumerate() {
                *oi = by_point[(bi * n + i) * l + k];
            }
        });
    }
    out
}

/// A vector of `len` elements cut into chunks of `chunk`, filled in parallel on the rayon
/// pool: `fill(index, chunk)` either writes every element of the chunk and returns true, or
/// returns false, and the chunk is then zeroed and handed to `add(index, chunk)`.
///
/// `vec![0; len]` zeroes the whole buffer on the calling thread before any work starts; for
/// the 4 MB gradient of `gen_feat` that single-threaded memset took about as long as the
/// kernel. Here a chunk is zeroed, if at all, by its own task just before use.
fn par_chunks_filled<E: Real>(
    len: usize,
    chunk: usize,
    fill: impl Fn(usize, &mut [std::mem::MaybeUninit<E>]) -> bool + Sync,
    add: impl Fn(usize, &mut [E]) + Sync,
) -> Vec<E> {
    let mut out: Vec<E> = Vec::with_capacity(len);
    out.spare_capacity_mut()[..len]
        .par_chunks_mut(chunk.max(1))
        .enumerate()
        .for_each(|(i, c)| {
            if fill(i, c) {
                return;
            }
            for e in c.iter_mut() {
                e.write(E::default());
            }
            // SAFETY: every element of `c` was just initialised.
            let c = unsafe { &mut *(c as *mut [std::mem::MaybeUninit<E>] as *mut [E]) };
            add(i, c);
        });
    // SAFETY: the chunks cover 0..len and each was written by `fill` or zeroed above.
    unsafe { out.set_len(len) };
    out
}

/// grad_x[b,i,:] = Σ_l G[b,l,i] θ_{b,l}: `[B, n, d]`.
fn grad_points<E: Real>(g: &[E], theta: &[E], b: usize, n: usize, l: usize, d: usize) -> Vec<E> {
    if d <= LARGE_D {
        return par_chunks_filled(
            b * n * d,
            d,
            |_, _| false,
            |pt, o| {
                let (bi, i) = (pt / n, pt % n);
                combine::run(
                    &g[bi * l * n + i..],
                    n,
                    &theta[bi * l * d..(bi + 1) * l * d],
                    d,
                    o,
                );
            },
        );
    }
    // Blocks of BLOCK consecutive points of the flattened [B·n] axis; a block that crosses a
    // batch element or is short goes point by point.
    let full_block = |blk: usize, len: usize| {
        let (first, i) = (blk * BLOCK, blk * BLOCK % n);
        (len == BLOCK * d && i + BLOCK <= n).then_some((first / n, i))
    };
    let fill = |blk: usize, o: &mut [std::mem::MaybeUninit<E>]| {
        #[cfg(target_arch = "x86_64")]
        if let Some((bi, i)) = full_block(blk, o.len()) {
            let (gb, tb) = (&g[bi * l * n + i..], &theta[bi * l * d..(bi + 1) * l * d]);
            if let (Some(c), Some(t), true) = (as_f32(gb), as_f32(tb), avx512_block::available()) {
                // SAFETY: E is f32 (as_f32 succeeded), so the cast keeps the layout; AVX-512F
                // was detected; `o` holds BLOCK·d elements (full_block), all written.
                unsafe {
                    let o = &mut *(o as *mut [std::mem::MaybeUninit<E>]
                        as *mut [std::mem::MaybeUninit<f32>]);
                    avx512_block::combine_into(c, n, t, d, o);
                }
                return true;
            }
        }
        let _ = (blk, o);
        false
    };
    par_chunks_filled(b * n * d, BLOCK * d, fill, |blk, o: &mut [E]| {
        let first = blk * BLOCK;
        if let Some((bi, i)) = full_block(blk, o.len()) {
            combine_block(
                &g[bi * l * n + i..],
                n,
                &theta[bi * l * d..(bi + 1) * l * d],
                d,
                o,
            );
        } else {
            for (p, op) in o.chunks_mut(d).enumerate() {
                let (bp, ip) = ((first + p) / n, (first + p) % n);
                let thetas = &theta[bp * l * d..(bp + 1) * l * d];
                combine::run(&g[bp * l * n + ip..], n, thetas, d, op);
            }
        }
    })
}

/// grad_θ[b,l,:] = Σ_i G[b,l,i] x_{b,i}: `[B, L, d]`.
fn grad_theta<E: Real>(g: &[E], x: &[E], b: usize, n: usize, l: usize, d: usize) -> Vec<E> {
    let mut out = vec![E::default(); b * l * d];
    out.par_chunks_mut(d).enumerate().for_each(|(row, o)| {
        let bi = row / l;
        combine::run(
            &g[row * n..(row + 1) * n],
            1,
            &x[bi * n * d..(bi + 1) * n * d],
            d,
            o,
        );
    });
    out
}

fn dims(points: &FlexTensor, theta: &FlexTensor) -> (usize, usize, usize, usize) {
    let (ps, ts) = (points.shape(), theta.shape());
    assert!(
        ps.num_dims() == 3 && ts.num_dims() == 3 && ps[0] == ts[0] && ps[2] == ts[2],
        "project: shapes {ps:?} and {ts:?}"
    );
    (ps[0], ps[1], ts[1], ps[2])
}

fn project_flex(points: FlexTensor, theta: FlexTensor) -> FlexTensor {
    let (b, n, l, d) = dims(&points, &theta);
    let (points, theta) = (contiguous(points), contiguous(theta));
    by_dtype!("project", points.dtype(), [b, l, n], |E| forward::<E>(
        &points.storage::<E>()[..b * n * d],
        &theta.storage::<E>()[..b * l * d],
        b,
        n,
        l,
        d
    ))
}

impl ProjectOps for Flex {
    fn project(points: FloatTensor<Self>, theta: FloatTensor<Self>) -> FloatTensor<Self> {
        project_flex(points, theta)
    }
}

#[derive(Debug)]
struct ProjectBackward;

impl Backward<Flex, 2> for ProjectBackward {
    /// Contiguous points and directions (Arc-shared buffers, no copy).
    type State = (FlexTensor, FlexTensor);

    fn backward(
        self,
        ops: Ops<Self::State, 2>,
        grads: &mut Gradients,
        _checkpointer: &mut Checkpointer,
    ) {
        let [node_points, node_theta] = ops.parents;
        let g = contiguous(grads.consume::<Flex>(&ops.node));
        let (points, theta) = ops.state;
        let (b, n, l, d) = dims(&points, &theta);
        if let Some(node) = node_points {
            let grad = by_dtype!("project", g.dtype(), [b, n, d], |E| grad_points::<E>(
                &g.storage::<E>()[..b * l * n],
                &theta.storage::<E>()[..b * l * d],
                b,
                n,
                l,
                d
            ));
            grads.register::<Flex>(node.id, grad);
        }
        if let Some(node) = node_theta {
            let grad = by_dtype!("project", g.dtype(), [b, l, d], |E| grad_theta::<E>(
                &g.storage::<E>()[..b * l * n],
                &points.storage::<E>()[..b * n * d],
                b,
                n,
                l,
                d
            ));
            grads.register::<Flex>(node.id, grad);
        }
    }
}

impl<C: CheckpointStrategy> ProjectOps for Autodiff<Flex, C> {
    fn project(points: FloatTensor<Self>, theta: FloatTensor<Self>) -> FloatTensor<Self> {
        let (points, node_points) = points.into_parts();
        let (theta, node_theta) = theta.into_parts();
        match ProjectBackward
            .prepare::<C>([node_points, node_theta])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let (points, theta) = (contiguous(points), contiguous(theta));
                let out = project_flex(points.clone(), theta.clone());
                prep.finish((points, theta), out)
            }
            OpsKind::UnTracked(prep) => prep.finish(project_flex(points, theta)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(n: usize, seed: u32) -> Vec<f32> {
        (0..n as u32)
            .map(|i| {
                ((i.wrapping_mul(2_654_435_761).wrapping_add(seed * 97) % 2001) as f32 / 1000.0)
                    - 1.0
            })
            .collect()
    }

    /// `combine_into` writes the block without reading it: into memory holding NaN it gives what
    /// `combine` adds to zeros, with more than one direction group (L = 25) too.
    #[test]
    #[cfg(target_arch = "x86_64")]
    fn avx512_combine_into_overwrites() {
        if !avx512_block::available() {
            eprintln!("avx512: not on this CPU, skipped");
            return;
        }
        for (l, d) in [(10, 8193), (25, 40), (1, 17)] {
            let (stride, thetas) = (BLOCK + 1, values(l * d, 5));
            let coef = values(l * stride, 6);
            let mut added = vec![0.0f32; BLOCK * d];
            let mut written = vec![std::mem::MaybeUninit::new(f32::NAN); BLOCK * d];
            // SAFETY: AVX-512F was detected.
            unsafe {
                avx512_block::combine(&coef, stride, &thetas, d, &mut added);
                avx512_block::combine_into(&coef, stride, &thetas, d, &mut written);
            }
            for (j, (a, w)) in added.iter().zip(&written).enumerate() {
                // SAFETY: combine_into wrote every element.
                let w = unsafe { w.assume_init() };
                assert_eq!(a.to_bits(), w.to_bits(), "l {l} d {d} [{j}]: {a} vs {w}");
            }
        }
    }

    /// Each SIMD block kernel this CPU has (AVX2, AVX-512) against the plain loops
    /// (`dots_per_point`, `combine` without FMA) in f64: widths with and without a remainder.
    #[test]
    #[cfg(target_arch = "x86_64")]
    fn simd_block_kernels_equal_the_plain_loops() {
        type Kernels = (
            &'static str,
            bool,
            unsafe fn(&[f32], &[f32], usize, &mut [f32]),
            unsafe fn(&[f32], usize, &[f32], usize, &mut [f32]),
        );
        let kernels: [Kernels; 2] = [
            (
                "avx2",
                avx2_block::available(),
                avx2_block::dots,
                avx2_block::combine,
            ),
            (
                "avx512",
                avx512_block::available(),
                avx512_block::dots,
                avx512_block::combine,
            ),
        ];
        for (name, available, dots, combine) in kernels {
            if !available {
                eprintln!("{name}: not on this CPU, skipped");
                continue;
            }
            for (l, d) in [
                (10, 8193),
                (3, 300),
                (1, 17),
                (7, 1031),
                (10, 64),
                (13, 100),
                (25, 40),
                (12, 15),
            ] {
                let thetas = values(l * d, 1);
                let points = values(BLOCK * d, 2);
                let (t64, x64): (Vec<f64>, Vec<f64>) = (
                    thetas.iter().map(|&v| v as f64).collect(),
                    points.iter().map(|&v| v as f64).collect(),
                );
                let mut fast = vec![f32::NAN; BLOCK * l];
                // SAFETY: the CPU has the kernel's features (checked above).
                unsafe { dots(&thetas, &points, d, &mut fast) };
                let mut plain = vec![0.0f64; BLOCK * l];
                for (p, o) in plain.chunks_mut(l).enumerate() {
                    super::dots_per_point::<f64, false>(&t64, &x64[p * d..(p + 1) * d], d, o);
                }
                for (i, (a, e)) in fast.iter().zip(&plain).enumerate() {
                    assert!(
                        (*a as f64 - e).abs() < 1e-4 * (1.0 + e.abs()),
                        "{name} dots l {l} d {d} [{i}]: {a} vs {e}"
                    );
                }
                // combine adds to what `out` holds; coef rows with a stride wider than BLOCK.
                let stride = BLOCK + 3;
                let coef = values(l * stride, 3);
                let start = values(BLOCK * d, 4);
                let mut fast = start.clone();
                // SAFETY: as above.
                unsafe { combine(&coef, stride, &thetas, d, &mut fast) };
                for p in 0..BLOCK {
                    let mut o: Vec<f64> = start[p * d..(p + 1) * d]
                        .iter()
                        .map(|&v| v as f64)
                        .collect();
                    let c: Vec<f64> = coef[p..].iter().map(|&v| v as f64).collect();
                    super::combine::<f64, false>(&c, stride, &t64, d, &mut o);
                    for (j, (a, e)) in fast[p * d..(p + 1) * d].iter().zip(&o).enumerate() {
                        assert!(
                            (*a as f64 - e).abs() < 1e-4 * (1.0 + e.abs()),
                            "{name} combine l {l} d {d} p {p} [{j}]: {a} vs {e}"
                        );
                    }
                }
            }
        }
    }
}
