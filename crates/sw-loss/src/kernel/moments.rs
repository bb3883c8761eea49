//! The fused first and second moments of uniformly weighted point sets on Flex, with their
//! backward: the Gaussian-fit terms of the control variates in one pass over the points.
//!
//! ```text
//! forward   out[b, k] = (1/n) Σ_i x_{b,i,k}        k < d      (the mean m_b)
//!           out[b, d] = (1/n) Σ_i ‖x_{b,i}‖²                   (the raw second moment s_b)
//!           [B, n, d] → [B, d + 1]
//! backward  ∂/∂x_{b,i,k} = (G[b, k] + 2 G[b, d] x_{b,i,k}) / n               [B, n, d]
//! ```
//! The reference twin is [`super::moments_reference`] (`mean_dim` and `square().sum_dim()`,
//! three passes over the points and three more in the backward, each allocating `[B, n, d]`).

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::backend::{Autodiff, Flex, TensorMetadata, tensor::FloatTensor};
use burn::tensor::{DType, TensorData};
use rayon::prelude::*;

use super::MomentsOps;
use crate::kernel_support::{Real, contiguous};

/// Columns per parallel task of the forward.
const COLUMNS: usize = 1024;

/// `[B, n, d] → [B, d + 1]`, accumulated in f64.
fn forward<E: Real>(x: &[E], b: usize, n: usize, d: usize) -> Vec<E> {
    let mut out = vec![E::default(); b * (d + 1)];
    let inv_n = 1.0 / n as f64;
    for (bi, row) in out.chunks_mut(d + 1).enumerate() {
        let xb = &x[bi * n * d..(bi + 1) * n * d];
        let (means, second) = row.split_at_mut(d);
        let squares: f64 = means
            .par_chunks_mut(COLUMNS)
            .enumerate()
            .map(|(c, cols)| {
                let start = c * COLUMNS;
                // Per-column sums of x and x² (independent lanes, so the loop vectorises).
                let mut sum = vec![0f64; cols.len()];
                let mut sq = vec![0f64; cols.len()];
                for i in 0..n {
                    let xi = &xb[i * d + start..i * d + start + cols.len()];
                    for ((s, q), v) in sum.iter_mut().zip(sq.iter_mut()).zip(xi) {
                        let v = v.to_f64();
                        *s += v;
                        *q += v * v;
                    }
                }
                for (o, s) in cols.iter_mut().zip(&sum) {
                    *o = E::from_f64(s * inv_n);
                }
                sq.iter().sum::<f64>()
            })
            .sum();
        second[0] = E::from_f64(squares * inv_n);
    }
    out
}

/// `∂/∂x = (G_m + 2 G_s x) / n`: `[B, n, d]`.
fn backward<E: Real>(g: &[E], x: &[E], b: usize, n: usize, d: usize) -> Vec<E> {
    let mut out = vec![E::default(); b * n * d];
    let inv_n = 1.0 / n as f64;
    out.par_chunks_mut(d).enumerate().for_each(|(pt, o)| {
        let bi = pt / n;
        let gb = &g[bi * (d + 1)..(bi + 1) * (d + 1)];
        let gs2 = 2.0 * gb[d].to_f64();
        let xi = &x[pt * d..(pt + 1) * d];
        for ((o, gm), v) in o.iter_mut().zip(&gb[..d]).zip(xi) {
            *o = E::from_f64((gm.to_f64() + gs2 * v.to_f64()) * inv_n);
        }
    });
    out
}

fn dims(x: &FlexTensor) -> (usize, usize, usize) {
    let s = x.shape();
    assert_eq!(
        s.num_dims(),
        3,
        "moments: points must be [B, n, d], got {s:?}"
    );
    (s[0], s[1], s[2])
}

fn forward_flex(x: FlexTensor) -> FlexTensor {
    let (b, n, d) = dims(&x);
    let x = contiguous(x);
    let data = match x.dtype() {
        DType::F32 => TensorData::new(
            forward(&x.storage::<f32>()[..b * n * d], b, n, d),
            [b, d + 1],
        ),
        DType::F64 => TensorData::new(
            forward(&x.storage::<f64>()[..b * n * d], b, n, d),
            [b, d + 1],
        ),
        other => panic!("moments: unsupported dtype {other:?} (checked before: f32 and f64 only)"),
    };
    FlexTensor::from_data(data)
}

impl MomentsOps for Flex {
    fn moments(points: FloatTensor<Self>) -> FloatTensor<Self> {
        forward_flex(points)
    }
}

#[derive(Debug)]
struct MomentsBackward;

impl Backward<Flex, 1> for MomentsBackward {
    /// The contiguous points.
    type State = FlexTensor;

    fn backward(
        self,
        ops: Ops<Self::State, 1>,
        grads: &mut Gradients,
        _checkpointer: &mut Checkpointer,
    ) {
        let [node] = ops.parents;
        let g = contiguous(grads.consume::<Flex>(&ops.node));
        let Some(node) = node else { return };
        let x = ops.state;
        let (b, n, d) = dims(&x);
        let data = match x.dtype() {
            DType::F32 => TensorData::new(
                backward(
                    &g.storage::<f32>()[..b * (d + 1)],
                    &x.storage::<f32>()[..b * n * d],
                    b,
                    n,
                    d,
                ),
                [b, n, d],
            ),
            DType::F64 => TensorData::new(
                backward(
                    &g.storage::<f64>()[..b * (d + 1)],
                    &x.storage::<f64>()[..b * n * d],
                    b,
                    n,
                    d,
                ),
                [b, n, d],
            ),
            other => panic!("moments: unsupported dtype {other:?}"),
        };
        grads.register::<Flex>(node.id, FlexTensor::from_data(data));
    }
}

impl<C: CheckpointStrategy> MomentsOps for Autodiff<Flex, C> {
    fn moments(points: FloatTensor<Self>) -> FloatTensor<Self> {
        let (points, node) = points.into_parts();
        match MomentsBackward
            .prepare::<C>([node])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let points = contiguous(points);
                let out = forward_flex(points.clone());
                prep.finish(points, out)
            }
            OpsKind::UnTracked(prep) => prep.finish(forward_flex(points)),
        }
    }
}
