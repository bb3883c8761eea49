//! The fused sort–difference–power kernel on the Flex CPU backend, with its hand-written
//! backward for `Autodiff<Flex>`.
//!
//! ```text
//! forward   w_r = (1/n) Σ_k |x_(r,k) − y_(r,k)|^p            rows r of [R, n] × [R, n] → [R]
//! backward  ∂w_r/∂x_{r,σ_r(k)} =  p |δ_rk|^{p−1} sign(δ_rk) / n,   δ_rk = x_(r,k) − y_(r,k)
//!           ∂w_r/∂y_{r,τ_r(k)} = −p |δ_rk|^{p−1} sign(δ_rk) / n
//! ```
//! σ_r, τ_r are the sorting permutations of row r. The forward keeps them and the
//! coefficients, so the backward is one scatter per row; rows run in parallel on rayon.
//! The reference twin is [`super::sorted_wpp_reference`].

use std::sync::Arc;

use crate::kernel_support::{Real, contiguous};

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::backend::{Autodiff, Flex, TensorMetadata, tensor::FloatTensor};
use burn::tensor::{DType, TensorData};
use rayon::prelude::*;

use super::SortedWppOps;
use super::radix::{argsort_f32, argsort_f64};

/// What the backward pass needs: both permutations and the per-element coefficients.
struct SortState {
    n: usize,
    out_shape: Vec<usize>,
    perm_x: Vec<u32>,
    perm_y: Vec<u32>,
    coef: Coefficients,
}

enum Coefficients {
    F32(Vec<f32>),
    F64(Vec<f64>),
}

impl std::fmt::Debug for SortState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SortState")
            .field("rows", &(self.perm_x.len() / self.n.max(1)))
            .field("n", &self.n)
            .finish()
    }
}

/// `p |δ|^{p−1} sign(δ)` and `|δ|^p` for one difference, with exact forms for p = 1, 2.
#[inline(always)]
pub(super) fn term(d: f64, p: f64) -> (f64, f64) {
    if p == 2.0 {
        (d * d, 2.0 * d)
    } else if p == 1.0 {
        (
            d.abs(),
            if d > 0.0 {
                1.0
            } else if d < 0.0 {
                -1.0
            } else {
                0.0
            },
        )
    } else {
        let a = d.abs();
        let g = if a == 0.0 {
            0.0
        } else {
            p * a.powf(p - 1.0) * d.signum()
        };
        (a.powf(p), g)
    }
}

struct Scratch<E> {
    sx: Vec<E>,
    sy: Vec<E>,
    perm_x: Vec<u32>,
    perm_y: Vec<u32>,
    packed: Vec<u64>,
    tmp: Vec<u64>,
}

impl<E: Copy + Default> Scratch<E> {
    fn new(n: usize) -> Self {
        Self {
            sx: vec![E::default(); n],
            sy: vec![E::default(); n],
            perm_x: vec![0; n],
            perm_y: vec![0; n],
            packed: Vec::with_capacity(n),
            tmp: Vec::with_capacity(n),
        }
    }
}

/// Element types the kernel runs on.
trait KernelFloat: Real {
    fn argsort(vals: &[Self], s: &mut Scratch<Self>, into_x: bool, perm: Option<&mut [u32]>);
}

impl KernelFloat for f32 {
    fn argsort(vals: &[f32], s: &mut Scratch<f32>, into_x: bool, perm: Option<&mut [u32]>) {
        let (sorted, own) = if into_x {
            (&mut s.sx, &mut s.perm_x)
        } else {
            (&mut s.sy, &mut s.perm_y)
        };
        let perm = perm.unwrap_or(own);
        argsort_f32(vals, sorted, perm, &mut s.packed, &mut s.tmp);
    }
}

impl KernelFloat for f64 {
    fn argsort(vals: &[f64], s: &mut Scratch<f64>, into_x: bool, perm: Option<&mut [u32]>) {
        let (sorted, own) = if into_x {
            (&mut s.sx, &mut s.perm_x)
        } else {
            (&mut s.sy, &mut s.perm_y)
        };
        let perm = perm.unwrap_or(own);
        argsort_f64(vals, sorted, perm);
    }
}

/// Runs all rows; with `keep`, also returns (perm_x, perm_y, coefficients).
#[allow(clippy::type_complexity)]
fn rows<E: KernelFloat>(
    x: &[E],
    y: &[E],
    n: usize,
    p: f64,
    keep: bool,
) -> (Vec<E>, Option<(Vec<u32>, Vec<u32>, Vec<E>)>) {
    let r = x.len() / n;
    let inv_n = 1.0 / n as f64;
    let mut out = vec![E::default(); r];
    let row = |s: &mut Scratch<E>,
               i: usize,
               o: &mut E,
               kept: Option<(&mut [u32], &mut [u32], &mut [E])>| {
        let (xr, yr) = (&x[i * n..(i + 1) * n], &y[i * n..(i + 1) * n]);
        let mut acc = 0f64;
        match kept {
            Some((px, py, c)) => {
                E::argsort(xr, s, true, Some(px));
                E::argsort(yr, s, false, Some(py));
                for k in 0..n {
                    let (v, g) = term(s.sx[k].to_f64() - s.sy[k].to_f64(), p);
                    acc += v;
                    c[k] = E::from_f64(g * inv_n);
                }
            }
            None => {
                E::argsort(xr, s, true, None);
                E::argsort(yr, s, false, None);
                for k in 0..n {
                    acc += term(s.sx[k].to_f64() - s.sy[k].to_f64(), p).0;
                }
            }
        }
        *o = E::from_f64(acc * inv_n);
    };
    if keep {
        let mut perm_x = vec![0u32; r * n];
        let mut perm_y = vec![0u32; r * n];
        let mut coef = vec![E::default(); r * n];
        out.par_iter_mut()
            .zip(perm_x.par_chunks_mut(n))
            .zip(perm_y.par_chunks_mut(n))
            .zip(coef.par_chunks_mut(n))
            .enumerate()
            .for_each_init(
                || Scratch::new(n),
                |s, (i, (((o, px), py), c))| row(s, i, o, Some((px, py, c))),
            );
        (out, Some((perm_x, perm_y, coef)))
    } else {
        out.par_iter_mut()
            .enumerate()
            .for_each_init(|| Scratch::new(n), |s, (i, o)| row(s, i, o, None));
        (out, None)
    }
}

/// Forward on Flex tensors `[R, n]`; returns `[R]` and, with `keep`, the backward state.
fn forward(px: FlexTensor, py: FlexTensor, p: f64, keep: bool) -> (FlexTensor, Option<SortState>) {
    let shape = px.shape();
    assert_eq!(shape.num_dims(), 2, "sorted_wpp: rows must be [R, n]");
    assert_eq!(
        shape,
        py.shape(),
        "sorted_wpp: x and y rows must have the same shape"
    );
    let (r, n) = (shape[0], shape[1]);
    let (px, py) = (contiguous(px), contiguous(py));
    let len = r * n;
    let dtype = px.dtype();
    let (out, state) = match dtype {
        DType::F32 => {
            let (out, kept) = rows::<f32>(
                &px.storage::<f32>()[..len],
                &py.storage::<f32>()[..len],
                n,
                p,
                keep,
            );
            (
                TensorData::new(out, [r]),
                kept.map(|(a, b, c)| (a, b, Coefficients::F32(c))),
            )
        }
        DType::F64 => {
            let (out, kept) = rows::<f64>(
                &px.storage::<f64>()[..len],
                &py.storage::<f64>()[..len],
                n,
                p,
                keep,
            );
            (
                TensorData::new(out, [r]),
                kept.map(|(a, b, c)| (a, b, Coefficients::F64(c))),
            )
        }
        other => panic!("sorted_wpp: unsupported dtype {other:?} (f32 and f64 are supported)"),
    };
    let state = state.map(|(perm_x, perm_y, coef)| SortState {
        n,
        out_shape: vec![r, n],
        perm_x,
        perm_y,
        coef,
    });
    (FlexTensor::from_data(out), state)
}

fn scatter<E: KernelFloat + std::ops::Neg<Output = E> + std::ops::Mul<Output = E>>(
    g: &[E],
    perm: &[u32],
    coef: &[E],
    n: usize,
    negate: bool,
) -> Vec<E> {
    let mut grad = vec![E::default(); perm.len()];
    grad.par_chunks_mut(n).enumerate().for_each(|(r, row)| {
        let gr = if negate { -g[r] } else { g[r] };
        let (pr, cr) = (&perm[r * n..(r + 1) * n], &coef[r * n..(r + 1) * n]);
        for k in 0..n {
            row[pr[k] as usize] = gr * cr[k];
        }
    });
    grad
}

impl SortState {
    /// Gradient of Σ_r g_r w_r with respect to x (`negate = false`) or y (`negate = true`).
    fn grad(&self, g: &FlexTensor, negate: bool) -> FlexTensor {
        let g = contiguous(g.clone());
        let rows = self.out_shape[0];
        let perm = if negate { &self.perm_y } else { &self.perm_x };
        let data = match &self.coef {
            Coefficients::F32(c) => TensorData::new(
                scatter(&g.storage::<f32>()[..rows], perm, c, self.n, negate),
                self.out_shape.clone(),
            ),
            Coefficients::F64(c) => TensorData::new(
                scatter(&g.storage::<f64>()[..rows], perm, c, self.n, negate),
                self.out_shape.clone(),
            ),
        };
        FlexTensor::from_data(data)
    }
}

impl SortedWppOps for Flex {
    fn sorted_wpp(px: FloatTensor<Self>, py: FloatTensor<Self>, p: f64) -> FloatTensor<Self> {
        forward(px, py, p, false).0
    }
}

#[derive(Debug)]
struct SortedWppBackward;

impl Backward<Flex, 2> for SortedWppBackward {
    type State = Arc<SortState>;

    fn backward(
        self,
        ops: Ops<Self::State, 2>,
        grads: &mut Gradients,
        _checkpointer: &mut Checkpointer,
    ) {
        let [node_x, node_y] = ops.parents;
        let grad = grads.consume::<Flex>(&ops.node);
        if let Some(node) = node_x {
            grads.register::<Flex>(node.id, ops.state.grad(&grad, false));
        }
        if let Some(node) = node_y {
            grads.register::<Flex>(node.id, ops.state.grad(&grad, true));
        }
    }
}

impl<C: CheckpointStrategy> SortedWppOps for Autodiff<Flex, C> {
    fn sorted_wpp(px: FloatTensor<Self>, py: FloatTensor<Self>, p: f64) -> FloatTensor<Self> {
        let (px, node_x) = px.into_parts();
        let (py, node_y) = py.into_parts();
        match SortedWppBackward
            .prepare::<C>([node_x, node_y])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let (out, state) = forward(px, py, p, true);
                prep.finish(Arc::new(state.expect("state kept")), out)
            }
            OpsKind::UnTracked(prep) => prep.finish(forward(px, py, p, false).0),
        }
    }
}
