#![cfg_attr(feature = "tch", allow(deprecated))] // burn-tch (our LibTorch route) is marked deprecated in Burn 0.22
//! 2-D convolution for SNGAN's shapes: an NCHW-native GEMM kernel on Flex (with its two
//! backward passes written out), LibTorch's convolution and backward on LibTorch (`torch.rs`,
//! feature `tch`), Burn's `conv2d` elsewhere — the reference twin of both.
//!
//! ```text
//! x [B, C, H, W], W [O, C, k, k], b [O], stride s, zero padding p
//! y[n, o, i, j] = b[o] + Σ_{c, u, v} W[o, c, u, v] · x[n, c, s·i + u − p, s·j + v − p]
//!   Oh = (H + 2p − k)/s + 1,  Ow = (W + 2p − k)/s + 1
//! as GEMMs per image n (cols = im2col(x[n]) [C·k·k, Oh·Ow], rows ordered (c, u, v) like W):
//!   forward        y[n]    = W_[O, Ckk] · cols               (+ b on every row)
//!   weight grad    ∂W      = Σ_n G[n]_[O, OhOw] · cols[n]ᵀ     ∂b[o] = Σ_{n,i,j} G[n, o, i, j]
//!   input grad     ∂x[n]   = col2im(Wᵀ · G[n])               (the scatter-add of im2col)
//! ```
//! A 1×1 kernel with stride 1 and no padding skips im2col (`cols = x[n]`). Images run in
//! parallel on rayon, one single-threaded `gemm` call each (`flex.rs`).
//!
//! Why not Burn-flex's `conv2d`: it converts the whole input to NHWC on one thread, builds
//! im2col tiles of 512 pixels, and writes each GEMM result back with a strided scatter; its
//! backward goes through `conv_transpose2d` and a weight-gradient convolution. On SNGAN's shapes
//! that layout work was a fifth of a training step (BENCHMARKS.md, "Where the time goes").
//!
//! The switch [`set_gemm_conv`] (on by default) chooses this kernel on Flex for f32/f64;
//! off, [`conv2d`] is Burn's `conv2d` there. On LibTorch the forward is the same either way and
//! only the backward differs: Burn's generic one (a transposed convolution and a weight-gradient
//! convolution) or LibTorch's (`torch.rs`, with the same switch).

use std::sync::atomic::{AtomicBool, Ordering};

use burn::backend::{Backend, tensor::FloatTensor};
#[cfg(feature = "flex")]
use burn::backend::{Dispatch, backend_extension};
use burn::tensor::ops::ConvOptions;
use burn::tensor::{DType, Tensor};

#[cfg(feature = "flex")]
mod flex;
#[cfg(all(feature = "flex", feature = "tch"))]
mod torch;

static GEMM_CONV: AtomicBool = AtomicBool::new(true);

/// Chooses the GEMM convolution on Flex and LibTorch's backward on LibTorch (`true`, the
/// default) or Burn's `conv2d` with Burn's generic backward (`false`) for every later
/// [`conv2d`] call in this process (SNGAN's `SnConv2d`: generator and discriminator).
pub fn set_gemm_conv(enabled: bool) {
    GEMM_CONV.store(enabled, Ordering::Relaxed);
}

/// Whether [`conv2d`] on `x` runs the GEMM kernel: switched on, a Flex device (plain or
/// autodiff), f32 or f64.
pub fn uses_gemm_conv(x: &Tensor<4>) -> bool {
    GEMM_CONV.load(Ordering::Relaxed)
        && matches!(x.dtype(), DType::F32 | DType::F64)
        && sw_loss::kernel_support::is_flex(&x.device())
}

/// Whether [`conv2d`] on `x` runs LibTorch's convolution with LibTorch's backward (`torch.rs`):
/// switched on ([`set_gemm_conv`]), a LibTorch device (plain or autodiff) in a build with `tch`,
/// f32 or f64.
pub fn uses_torch_conv(x: &Tensor<4>) -> bool {
    #[cfg(all(feature = "flex", feature = "tch"))]
    {
        GEMM_CONV.load(Ordering::Relaxed)
            && matches!(x.dtype(), DType::F32 | DType::F64)
            && matches!(
                x.device().inner().as_dispatch(),
                burn::backend::DispatchDevice::LibTorch(_)
            )
    }
    #[cfg(not(all(feature = "flex", feature = "tch")))]
    {
        let _ = x;
        false
    }
}

/// The backend extension: the convolution above with a bias, square kernel. On LibTorch
/// (feature `tch`) the forward and backward are LibTorch's own (`torch.rs`).
#[cfg_attr(
    feature = "flex",
    backend_extension(Flex, LibTorch: cfg(feature = "tch"), Autodiff)
)]
pub trait GemmConvOps: Backend {
    /// `x [B, C, H, W]`, `weight [O, C, k, k]`, `bias [O]` → `[B, O, Oh, Ow]` with stride
    /// `stride` and zero padding `padding` on every side.
    fn gemm_conv2d(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        stride: usize,
        padding: usize,
    ) -> FloatTensor<Self>;
}

/// `y = conv(x, W) + b` (see the module documentation), differentiable in all three; square
/// kernel `[O, C, k, k]`, the same stride and padding on both axes.
///
/// # Shapes
/// `x [B, C, H, W]`, `weight [O, C, k, k]`, `bias [O]` → `[B, O, Oh, Ow]`.
pub fn conv2d(
    x: Tensor<4>,
    weight: Tensor<4>,
    bias: Option<Tensor<1>>,
    stride: usize,
    padding: usize,
) -> Tensor<4> {
    #[cfg(feature = "flex")]
    if uses_gemm_conv(&x) || uses_torch_conv(&x) {
        let bias = bias.unwrap_or_else(|| {
            Tensor::zeros([weight.dims()[0]], (&weight.device(), weight.dtype()))
        });
        return Tensor::from_dispatch(<Dispatch as GemmConvOps>::gemm_conv2d(
            x.into_dispatch(),
            weight.into_dispatch(),
            bias.into_dispatch(),
            stride,
            padding,
        ));
    }
    conv2d_reference(x, weight, bias, stride, padding)
}

/// The reference twin of [`conv2d`]: Burn's `conv2d` (dilation 1, one group).
pub fn conv2d_reference(
    x: Tensor<4>,
    weight: Tensor<4>,
    bias: Option<Tensor<1>>,
    stride: usize,
    padding: usize,
) -> Tensor<4> {
    burn::tensor::module::conv2d(
        x,
        weight,
        bias,
        ConvOptions::new([stride, stride], [padding, padding], [1, 1], 1),
    )
}

#[cfg(all(test, feature = "flex"))]
mod tests;
