//! Batch normalisation in training mode (`BatchNorm2d` with batch statistics) as two fused
//! Flex ops with a hand-written backward.
//!
//! ```text
//! stats     μ_c = mean_{b,h,w} x[b,c,h,w],  σ²_c = mean (x − μ_c)²  (biased)     [B, C, H, W] → [2, C]
//! forward   y = (x − μ_c) · γ_c / √(σ²_c + ε) + β_c                                → [B, C, H, W]
//! backward  x̂ = (x − μ_c)/√(σ²_c + ε),  N = B·H·W
//!           ∂β_c = Σ g,   ∂γ_c = Σ g·x̂,   ∂x = γ_c/√(σ²_c + ε) · (g − ∂β_c/N − x̂ · ∂γ_c/N)
//! ```
//! The backward is the full batch-norm gradient: μ and σ² are functions of x (they are passed
//! to the forward op as constants, computed from the same x by [`BatchNormOps::bn_stats`]).
//! Burn's generic `batch_norm_train` composes ~8 tensor ops forward and ~15 backward (with
//! transposes to put the channel first); these make two passes each way.
//!
//! The running statistics are updated as `torch.nn.BatchNorm2d` does (momentum 0.1): the mean,
//! and the *unbiased* variance σ²·N/(N−1) (Burn's `BatchNorm` uses the biased one). They only
//! matter in inference mode.
//!
//! The reference twin is Burn's `batch_norm_train` op ([`batch_norm_train_reference`]).

use burn::backend::{Backend, tensor::FloatTensor};
#[cfg(feature = "flex")]
use burn::backend::{Dispatch, backend_extension};
use burn::nn::BatchNorm;
use burn::tensor::{DType, Tensor};

#[cfg(feature = "flex")]
mod flex;
#[cfg(test)]
mod tests;

/// The backend extension (Flex; other devices use [`batch_norm_train_reference`]).
#[cfg_attr(feature = "flex", backend_extension(Flex, Autodiff))]
pub trait BatchNormOps: Backend {
    /// `x [B, C, H, W]` → `[2, C]`: per-channel mean and biased variance; not differentiable.
    fn bn_stats(x: FloatTensor<Self>) -> FloatTensor<Self>;
    /// `y [B, C, H, W]` from `x`, `stats [2, C]` (= `bn_stats(x)`), `gamma [C]`, `beta [C]`;
    /// differentiable in x (through the statistics too), γ and β.
    fn bn_normalize(
        x: FloatTensor<Self>,
        stats: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        epsilon: f64,
    ) -> FloatTensor<Self>;
}

/// Whether [`batch_norm`] on `x` runs the fused ops: a Flex device, f32 or f64.
pub fn uses_fused_batch_norm(x: &Tensor<4>) -> bool {
    matches!(x.dtype(), DType::F32 | DType::F64) && sw_loss::kernel_support::is_flex(&x.device())
}

/// `bn.forward(x)` for `x [B, C, H, W]`. In training mode (an autodiff device and the layer's
/// training flag on): batch statistics, by the fused ops on Flex and Burn's `batch_norm_train`
/// elsewhere, and the running statistics updated as PyTorch does (see the module
/// documentation). In inference mode: Burn's `BatchNorm::forward` (running statistics).
pub fn batch_norm(bn: &BatchNorm, x: Tensor<4>) -> Tensor<4> {
    if !(x.device().is_autodiff() && bn.training.is_enabled()) {
        return bn.forward(x);
    }
    let [b, _, h, w] = x.dims();
    let (y, mean, var) = batch_norm_train(x, bn.gamma.val(), bn.beta.val(), bn.epsilon);
    let n = (b * h * w) as f64;
    let unbiased = if n > 1.0 {
        var.mul_scalar(n / (n - 1.0))
    } else {
        var
    };
    let device = mean.device();
    let update = |old: Tensor<1>, new: Tensor<1>| {
        old.to_device(&device)
            .mul_scalar(1.0 - bn.momentum)
            .add(new.detach().mul_scalar(bn.momentum))
            .detach()
    };
    bn.running_mean
        .update(update(bn.running_mean.value_sync(), mean));
    bn.running_var
        .update(update(bn.running_var.value_sync(), unbiased));
    y
}

/// `(y, μ, σ²)` with batch statistics (σ² biased): the fused ops where
/// [`uses_fused_batch_norm`], else [`batch_norm_train_reference`].
///
/// # Shapes
/// `x [B, C, H, W]`, `gamma [C]`, `beta [C]` → `([B, C, H, W], [C], [C])`.
pub fn batch_norm_train(
    x: Tensor<4>,
    gamma: Tensor<1>,
    beta: Tensor<1>,
    epsilon: f64,
) -> (Tensor<4>, Tensor<1>, Tensor<1>) {
    #[cfg(feature = "flex")]
    if uses_fused_batch_norm(&x) {
        let stats: Tensor<2> = Tensor::from_dispatch(<Dispatch as BatchNormOps>::bn_stats(
            x.clone().detach().into_dispatch(),
        ));
        let y = Tensor::from_dispatch(<Dispatch as BatchNormOps>::bn_normalize(
            x.into_dispatch(),
            stats.clone().into_dispatch(),
            gamma.into_dispatch(),
            beta.into_dispatch(),
            epsilon,
        ));
        // Burn's `slice` takes one range per sliced axis: rows 0 and 1 of [2, C].
        #[allow(clippy::single_range_in_vec_init)]
        let (mean, var) = (
            stats.clone().slice([0..1]).flatten::<1>(0, 1),
            stats.slice([1..2]).flatten::<1>(0, 1),
        );
        return (y, mean, var);
    }
    batch_norm_train_reference(x, gamma, beta, epsilon)
}

/// The reference twin of [`batch_norm_train`]: Burn's `batch_norm_train` op.
pub fn batch_norm_train_reference(
    x: Tensor<4>,
    gamma: Tensor<1>,
    beta: Tensor<1>,
    epsilon: f64,
) -> (Tensor<4>, Tensor<1>, Tensor<1>) {
    let r = burn::tensor::module::batch_norm_train(x, gamma, beta, epsilon);
    (r.output, r.mean, r.variance)
}
