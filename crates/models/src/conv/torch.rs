//! [`GemmConvOps`] on LibTorch (`--device tch`, `tch-cuda:N`): the forward is LibTorch's
//! `conv2d`; the backward is LibTorch's own (its `convolution_backward`, reached through its
//! autograd), not Burn's generic one.
//!
//! Why: burn-tch implements `conv2d` but not `conv2d_x_backward` / `conv2d_weight_backward`, so
//! Burn's autodiff falls back to its generic formulas: a `conv_transpose2d` for ∂x and, for ∂W,
//! a convolution of the batch-transposed input with the batch-transposed upstream gradient as
//! its kernel (an H × W kernel). On SNGAN's shapes that pair is slower than LibTorch's fused
//! backward (BENCHMARKS.md, "SNGAN steps": LibTorch conv backward).
//!
//! ```text
//! forward   y = conv2d(x, W) + b                  x [B, C, H, W], W [O, C, k, k], b [O] → [B, O, Oh, Ow]
//! backward  (∂x, ∂W, ∂b) = ∇_(x, W, b) ⟨y, G⟩        G [B, O, Oh, Ow], Burn's upstream gradient
//! ```
//! How: when the op is tracked, the forward runs on detached leaves of x, W and b that require
//! grad in LibTorch, so LibTorch records its one convolution node; the output goes to Burn
//! detached. The backward asks LibTorch's autograd for ∂⟨y, G⟩/∂(x, W, b) with G Burn's upstream
//! gradient (a constant): LibTorch's vector–Jacobian product, for only the inputs Burn tracks.
//! Nothing else in the graph is LibTorch's. The leaves keep a share of Burn's storage, so Burn
//! does not write into x or W in place while LibTorch holds them.

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::libtorch::TchTensor;
use burn::backend::{Autodiff, LibTorch, tensor::FloatTensor};

use super::GemmConvOps;

fn conv(
    x: &tch::Tensor,
    w: &tch::Tensor,
    b: &tch::Tensor,
    stride: usize,
    padding: usize,
) -> tch::Tensor {
    let (s, p) = (stride as i64, padding as i64);
    x.conv2d(w, Some(b), [s, s], [p, p], [1, 1], 1)
}

impl GemmConvOps for LibTorch {
    fn gemm_conv2d(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        stride: usize,
        padding: usize,
    ) -> FloatTensor<Self> {
        TchTensor::new(conv(
            &x.tensor,
            &weight.tensor,
            &bias.tensor,
            stride,
            padding,
        ))
    }
}

/// A detached alias of `t` that requires grad in LibTorch, sharing Burn's storage count.
fn leaf(t: &TchTensor) -> TchTensor {
    TchTensor::from_existing(t.tensor.detach().set_requires_grad(true), t.storage.clone())
}

#[derive(Debug)]
struct TorchConvBackward;

impl Backward<LibTorch, 3> for TorchConvBackward {
    /// The output with LibTorch's convolution node, and the leaves x, W, b it was computed from.
    type State = (TchTensor, [TchTensor; 3]);

    fn backward(
        self,
        ops: Ops<Self::State, 3>,
        grads: &mut Gradients,
        _checkpointer: &mut Checkpointer,
    ) {
        let grad = grads.consume::<LibTorch>(&ops.node);
        let (y, leaves) = ops.state;
        let wanted: Vec<_> = ops
            .parents
            .into_iter()
            .zip(leaves)
            .filter_map(|(node, leaf)| node.map(|node| (node, leaf)))
            .collect();
        if wanted.is_empty() {
            return;
        }
        // ∂⟨y, G⟩/∂input = Jᵀ G: LibTorch's backward of its convolution node. A dot product of
        // the flattened tensors (one op, no temporary of y's size; its backward is G·1).
        let inner = y.tensor.reshape([-1]).dot(&grad.tensor.reshape([-1]));
        let inputs: Vec<&tch::Tensor> = wanted.iter().map(|(_, leaf)| &leaf.tensor).collect();
        let values = tch::Tensor::run_backward(&[inner], &inputs, false, false);
        for ((node, _), value) in wanted.into_iter().zip(values) {
            grads.register::<LibTorch>(node.id, TchTensor::new(value));
        }
    }
}

impl<C: CheckpointStrategy> GemmConvOps for Autodiff<LibTorch, C> {
    fn gemm_conv2d(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        stride: usize,
        padding: usize,
    ) -> FloatTensor<Self> {
        let (x, node_x) = x.into_parts();
        let (weight, node_w) = weight.into_parts();
        let (bias, node_b) = bias.into_parts();
        match TorchConvBackward
            .prepare::<C>([node_x, node_w, node_b])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let leaves = [leaf(&x), leaf(&weight), leaf(&bias)];
                let y = conv(
                    &leaves[0].tensor,
                    &leaves[1].tensor,
                    &leaves[2].tensor,
                    stride,
                    padding,
                );
                let out = TchTensor::new(y.detach());
                prep.finish((TchTensor::new(y), leaves), out)
            }
            OpsKind::UnTracked(prep) => prep.finish(<LibTorch as GemmConvOps>::gemm_conv2d(
                x, weight, bias, stride, padding,
            )),
        }
    }
}
