//! The batch-norm ops on Flex (see [`super`] for the math and shapes). NCHW, contiguous; one
//! channel is `B` planes of `H·W` floats. Statistics and the backward's sums run per channel
//! (in parallel over channels, f64 accumulators); the element-wise passes run per plane.

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::backend::{Autodiff, Flex, TensorMetadata, tensor::FloatTensor};
use burn::tensor::TensorData;
use rayon::prelude::*;

use super::BatchNormOps;
use sw_loss::by_float_dtype;
use sw_loss::kernel_support::{Real, contiguous};

/// `[B, C, H·W]` of an NCHW tensor.
fn dims(x: &FlexTensor) -> (usize, usize, usize) {
    let s = x.shape();
    assert!(
        s.num_dims() == 4,
        "batch norm: expected [B, C, H, W], got {s:?}"
    );
    (s[0], s[1], s[2] * s[3])
}

/// `[2, C]`: mean and biased variance of each channel (two passes, the second on a channel
/// that is still in cache).
fn stats<E: Real>(x: &[E], b: usize, c: usize, hw: usize) -> Vec<E> {
    let n = (b * hw) as f64;
    let per_channel: Vec<(f64, f64)> = (0..c)
        .into_par_iter()
        .map(|ch| {
            let planes = || (0..b).map(move |bi| &x[(bi * c + ch) * hw..(bi * c + ch + 1) * hw]);
            let mean = planes().flatten().map(|v| v.to_f64()).sum::<f64>() / n;
            let var = planes()
                .flatten()
                .map(|v| {
                    let d = v.to_f64() - mean;
                    d * d
                })
                .sum::<f64>()
                / n;
            (mean, var)
        })
        .collect();
    let mut out: Vec<E> = per_channel.iter().map(|&(m, _)| E::from_f64(m)).collect();
    out.extend(per_channel.iter().map(|&(_, v)| E::from_f64(v)));
    out
}

/// `1/√(σ²_c + ε)` per channel, in f64.
fn inv_std<E: Real>(stats: &[E], c: usize, epsilon: f64) -> Vec<f64> {
    stats[c..2 * c]
        .iter()
        .map(|v| 1.0 / (v.to_f64() + epsilon).sqrt())
        .collect()
}

/// `y = x·scale_c + shift_c` with `scale = γ/√(σ²+ε)`, `shift = β − μ·scale`.
fn normalize<E: Real>(
    x: &[E],
    stats: &[E],
    gamma: &[E],
    beta: &[E],
    epsilon: f64,
    (b, c, hw): (usize, usize, usize),
) -> Vec<E> {
    let inv = inv_std(stats, c, epsilon);
    let scale: Vec<f64> = (0..c).map(|ch| gamma[ch].to_f64() * inv[ch]).collect();
    let shift: Vec<E> = (0..c)
        .map(|ch| E::from_f64(beta[ch].to_f64() - stats[ch].to_f64() * scale[ch]))
        .collect();
    let scale: Vec<E> = scale.into_iter().map(E::from_f64).collect();
    let mut y = vec![E::default(); b * c * hw];
    y.par_chunks_mut(hw)
        .zip(x.par_chunks(hw))
        .enumerate()
        .for_each(|(plane, (yp, xp))| {
            let ch = plane % c;
            let (s, t) = (scale[ch], shift[ch]);
            for (o, &v) in yp.iter_mut().zip(xp) {
                *o = v * s + t;
            }
        });
    y
}

/// `(∂x, ∂γ, ∂β)` for the upstream `g` (see [`super`]).
#[allow(clippy::type_complexity)]
fn backward<E: Real>(
    x: &[E],
    stats: &[E],
    gamma: &[E],
    g: &[E],
    epsilon: f64,
    (b, c, hw): (usize, usize, usize),
) -> (Vec<E>, Vec<E>, Vec<E>) {
    let inv = inv_std(stats, c, epsilon);
    let n = (b * hw) as f64;
    // Σ g and Σ g·x̂ per channel.
    let sums: Vec<(f64, f64)> = (0..c)
        .into_par_iter()
        .map(|ch| {
            let mean = stats[ch].to_f64();
            let (mut sg, mut sgx) = (0.0f64, 0.0f64);
            for bi in 0..b {
                let r = (bi * c + ch) * hw..(bi * c + ch + 1) * hw;
                for (&gv, &xv) in g[r.clone()].iter().zip(&x[r]) {
                    let gv = gv.to_f64();
                    sg += gv;
                    sgx += gv * (xv.to_f64() - mean);
                }
            }
            (sg, sgx * inv[ch])
        })
        .collect();
    // ∂x = k·(g − a − x̂·q) = k·g − k·q·inv·x + k·(q·inv·μ − a), with a = Σg/N, q = Σgx̂/N.
    let coef: Vec<(E, E, E)> = (0..c)
        .map(|ch| {
            let (sg, sgx) = sums[ch];
            let k = gamma[ch].to_f64() * inv[ch];
            let (a, q) = (sg / n, sgx / n);
            let mean = stats[ch].to_f64();
            (
                E::from_f64(k),
                E::from_f64(-k * q * inv[ch]),
                E::from_f64(k * (q * inv[ch] * mean - a)),
            )
        })
        .collect();
    let mut dx = vec![E::default(); b * c * hw];
    dx.par_chunks_mut(hw)
        .zip(g.par_chunks(hw).zip(x.par_chunks(hw)))
        .enumerate()
        .for_each(|(plane, (dp, (gp, xp)))| {
            let (k, kx, k0) = coef[plane % c];
            for ((o, &gv), &xv) in dp.iter_mut().zip(gp).zip(xp) {
                *o = k * gv + kx * xv + k0;
            }
        });
    let dgamma = sums.iter().map(|&(_, sgx)| E::from_f64(sgx)).collect();
    let dbeta = sums.iter().map(|&(sg, _)| E::from_f64(sg)).collect();
    (dx, dgamma, dbeta)
}

fn tensor<E: Real>(values: Vec<E>, shape: Vec<usize>) -> FlexTensor {
    FlexTensor::from_data(TensorData::new(values, shape))
}

fn stats_flex(x: FlexTensor) -> FlexTensor {
    let x = contiguous(x);
    let (b, c, hw) = dims(&x);
    by_float_dtype!("batch norm", x.dtype(), |E| tensor(
        stats::<E>(&x.storage::<E>()[..b * c * hw], b, c, hw),
        vec![2, c]
    ))
}

fn normalize_flex(
    x: FlexTensor,
    stats: FlexTensor,
    gamma: FlexTensor,
    beta: FlexTensor,
    epsilon: f64,
) -> FlexTensor {
    let (x, stats, gamma, beta) = (
        contiguous(x),
        contiguous(stats),
        contiguous(gamma),
        contiguous(beta),
    );
    let (b, c, hw) = dims(&x);
    let shape = x.shape().to_vec();
    by_float_dtype!("batch norm", x.dtype(), |E| tensor(
        normalize::<E>(
            &x.storage::<E>()[..b * c * hw],
            &stats.storage::<E>()[..2 * c],
            &gamma.storage::<E>()[..c],
            &beta.storage::<E>()[..c],
            epsilon,
            (b, c, hw),
        ),
        shape
    ))
}

impl BatchNormOps for Flex {
    fn bn_stats(x: FloatTensor<Self>) -> FloatTensor<Self> {
        stats_flex(x)
    }

    fn bn_normalize(
        x: FloatTensor<Self>,
        stats: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        epsilon: f64,
    ) -> FloatTensor<Self> {
        normalize_flex(x, stats, gamma, beta, epsilon)
    }
}

#[derive(Debug)]
struct NormalizeBackward;

impl Backward<Flex, 4> for NormalizeBackward {
    /// Contiguous input, statistics, γ, ε.
    type State = (FlexTensor, FlexTensor, FlexTensor, f64);

    fn backward(
        self,
        ops: Ops<Self::State, 4>,
        grads: &mut Gradients,
        _checkpointer: &mut Checkpointer,
    ) {
        let [node_x, _node_stats, node_gamma, node_beta] = ops.parents;
        let g = contiguous(grads.consume::<Flex>(&ops.node));
        let (x, stats, gamma, epsilon) = ops.state;
        let (b, c, hw) = dims(&x);
        let shape = x.shape().to_vec();
        let (dx, dgamma, dbeta) = by_float_dtype!("batch norm", x.dtype(), |E| {
            let (dx, dg, db) = backward::<E>(
                &x.storage::<E>()[..b * c * hw],
                &stats.storage::<E>()[..2 * c],
                &gamma.storage::<E>()[..c],
                &g.storage::<E>()[..b * c * hw],
                epsilon,
                (b, c, hw),
            );
            (tensor(dx, shape), tensor(dg, vec![c]), tensor(db, vec![c]))
        });
        for (node, value) in [(node_x, dx), (node_gamma, dgamma), (node_beta, dbeta)] {
            if let Some(node) = node {
                grads.register::<Flex>(node.id, value);
            }
        }
    }
}

impl<C: CheckpointStrategy> BatchNormOps for Autodiff<Flex, C> {
    /// Not differentiable: the caller passes a detached x ([`super::batch_norm_train`]).
    fn bn_stats(x: FloatTensor<Self>) -> FloatTensor<Self> {
        let (x, _node) = x.into_parts();
        <FloatTensor<Self>>::new(stats_flex(x))
    }

    fn bn_normalize(
        x: FloatTensor<Self>,
        stats: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        epsilon: f64,
    ) -> FloatTensor<Self> {
        let (x, node_x) = x.into_parts();
        let (stats, node_stats) = stats.into_parts();
        let (gamma, node_gamma) = gamma.into_parts();
        let (beta, node_beta) = beta.into_parts();
        match NormalizeBackward
            .prepare::<C>([node_x, node_stats, node_gamma, node_beta])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let (x, stats, gamma) = (contiguous(x), contiguous(stats), contiguous(gamma));
                let out = normalize_flex(x.clone(), stats.clone(), gamma.clone(), beta, epsilon);
                prep.finish((x, stats, gamma, epsilon), out)
            }
            OpsKind::UnTracked(prep) => prep.finish(normalize_flex(x, stats, gamma, beta, epsilon)),
        }
    }
}
