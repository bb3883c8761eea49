//! `up2` and `pool2` on Flex (see [`super`]): NCHW, contiguous, one rayon task per output plane.

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::backend::{Autodiff, Flex, TensorMetadata, tensor::FloatTensor};
use burn::tensor::TensorData;
use rayon::prelude::*;

use super::ResampleOps;
use sw_loss::by_float_dtype;
use sw_loss::kernel_support::{Real, contiguous};

/// `(planes, H, W)` of an NCHW tensor.
fn dims(x: &FlexTensor) -> (usize, usize, usize) {
    let s = x.shape();
    assert!(
        s.num_dims() == 4,
        "up2/pool2: expected [B, C, H, W], got {s:?}"
    );
    (s[0] * s[1], s[2], s[3])
}

/// `out [P, 2H, 2W]`, out[i, j] = s·x[i/2, j/2].
fn up2<E: Real>(x: &[E], (p, h, w): (usize, usize, usize), s: E) -> Vec<E> {
    let mut out = vec![E::default(); p * 4 * h * w];
    if out.is_empty() {
        return out;
    }
    out.par_chunks_mut(4 * h * w)
        .zip(x.par_chunks(h * w))
        .for_each(|(op, xp)| {
            for (i, row) in xp.chunks(w).enumerate() {
                let (top, bottom) = op[2 * i * 2 * w..(2 * i + 2) * 2 * w].split_at_mut(2 * w);
                for (pair, &v) in top.chunks_exact_mut(2).zip(row) {
                    let v = v * s;
                    pair[0] = v;
                    pair[1] = v;
                }
                bottom.copy_from_slice(top);
            }
        });
    out
}

/// `out [P, H/2, W/2]`, out[i, j] = s·Σ of the 2×2 block at (2i, 2j).
fn pool2<E: Real>(x: &[E], (p, h, w): (usize, usize, usize), s: E) -> Vec<E> {
    let (oh, ow) = (h / 2, w / 2);
    let mut out = vec![E::default(); p * oh * ow];
    if out.is_empty() {
        return out;
    }
    out.par_chunks_mut(oh * ow)
        .zip(x.par_chunks(h * w))
        .for_each(|(op, xp)| {
            for (i, orow) in op.chunks_mut(ow).enumerate() {
                let (r0, r1) = (
                    &xp[2 * i * w..2 * i * w + w],
                    &xp[(2 * i + 1) * w..(2 * i + 1) * w + w],
                );
                for (j, o) in orow.iter_mut().enumerate() {
                    *o = (r0[2 * j] + r0[2 * j + 1] + r1[2 * j] + r1[2 * j + 1]) * s;
                }
            }
        });
    out
}

/// [`up2`] (`up`) or [`pool2`] of a Flex tensor `[B, C, H, W]`, scaled by `scale`.
fn resample_flex(x: FlexTensor, scale: f64, up: bool) -> FlexTensor {
    let x = contiguous(x);
    let (p, h, w) = dims(&x);
    let s = x.shape();
    let shape = if up {
        vec![s[0], s[1], 2 * h, 2 * w]
    } else {
        vec![s[0], s[1], h / 2, w / 2]
    };
    by_float_dtype!("up2/pool2", x.dtype(), |E| {
        let kernel = if up { up2::<E> } else { pool2::<E> };
        let values = kernel(
            &x.storage::<E>()[..p * h * w],
            (p, h, w),
            E::from_f64(scale),
        );
        FlexTensor::from_data(TensorData::new(values, shape))
    })
}

fn up2_flex(x: FlexTensor, scale: f64) -> FlexTensor {
    resample_flex(x, scale, true)
}

fn pool2_flex(x: FlexTensor, scale: f64) -> FlexTensor {
    resample_flex(x, scale, false)
}

impl ResampleOps for Flex {
    fn up2(x: FloatTensor<Self>, scale: f64) -> FloatTensor<Self> {
        up2_flex(x, scale)
    }
    fn pool2(x: FloatTensor<Self>, scale: f64) -> FloatTensor<Self> {
        pool2_flex(x, scale)
    }
}

/// The backward of `up2(·, s)`: `pool2(g, s)`.
#[derive(Debug)]
struct Up2Backward;

impl Backward<Flex, 1> for Up2Backward {
    type State = f64;

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _c: &mut Checkpointer) {
        let [node] = ops.parents;
        let g = grads.consume::<Flex>(&ops.node);
        if let Some(node) = node {
            grads.register::<Flex>(node.id, pool2_flex(g, ops.state));
        }
    }
}

/// The backward of `pool2(·, s)` on an input `[.., H, W]`: `up2(g, s)`, zero-padded back to an
/// odd H or W.
#[derive(Debug)]
struct Pool2Backward;

impl Backward<Flex, 1> for Pool2Backward {
    /// Scale and the input's shape.
    type State = (f64, Vec<usize>);

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _c: &mut Checkpointer) {
        let [node] = ops.parents;
        let g = grads.consume::<Flex>(&ops.node);
        let (scale, shape) = ops.state;
        if let Some(node) = node {
            let up = up2_flex(g, scale);
            let up = if up.shape().to_vec() == shape {
                up
            } else {
                pad_to(up, &shape)
            };
            grads.register::<Flex>(node.id, up);
        }
    }
}

/// `x [P.., h, w]` zero-padded at the end of the last two axes to `shape`.
fn pad_to(x: FlexTensor, shape: &[usize]) -> FlexTensor {
    let (p, h, w) = dims(&x);
    let (th, tw) = (shape[2], shape[3]);
    by_float_dtype!("up2/pool2", x.dtype(), |E| {
        let src = &x.storage::<E>()[..p * h * w];
        let mut out = vec![E::default(); p * th * tw];
        if h * w == 0 {
            // A 1-pixel side pooled to nothing: its gradient is all zero.
            return FlexTensor::from_data(TensorData::new(out, shape.to_vec()));
        }
        for (op, xp) in out.chunks_mut(th * tw).zip(src.chunks(h * w)) {
            for (orow, xrow) in op.chunks_mut(tw).zip(xp.chunks(w)) {
                orow[..w].copy_from_slice(xrow);
            }
        }
        FlexTensor::from_data(TensorData::new(out, shape.to_vec()))
    })
}

impl<C: CheckpointStrategy> ResampleOps for Autodiff<Flex, C> {
    fn up2(x: FloatTensor<Self>, scale: f64) -> FloatTensor<Self> {
        let (x, node) = x.into_parts();
        match Up2Backward.prepare::<C>([node]).compute_bound().stateful() {
            OpsKind::Tracked(prep) => prep.finish(scale, up2_flex(x, scale)),
            OpsKind::UnTracked(prep) => prep.finish(up2_flex(x, scale)),
        }
    }

    fn pool2(x: FloatTensor<Self>, scale: f64) -> FloatTensor<Self> {
        let (x, node) = x.into_parts();
        match Pool2Backward
            .prepare::<C>([node])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let shape = x.shape().to_vec();
                prep.finish((scale, shape), pool2_flex(x, scale))
            }
            OpsKind::UnTracked(prep) => prep.finish(pool2_flex(x, scale)),
        }
    }
}
