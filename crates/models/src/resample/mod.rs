//! 2× nearest up-sampling and 2×2 mean pooling (SNGAN's generator and discriminator blocks) as
//! fused Flex ops, each the other's adjoint.
//!
//! ```text
//! up2(x, s)    [B, C, H, W]   → [B, C, 2H, 2W]   out[i, j] = s · x[⌊i/2⌋, ⌊j/2⌋]
//! pool2(x, s)  [B, C, 2H, 2W] → [B, C, H, W]     out[i, j] = s · Σ_{a,b∈{0,1}} x[2i+a, 2j+b]
//! backward     ∂up2(·, s) = pool2(g, s),  ∂pool2(·, s) = up2(g, s)   (⟨up2(x,s), y⟩ = ⟨x, pool2(y,s)⟩)
//! ```
//! [`upsample2`] is `up2(x, 1)`, [`downsample2`] is `pool2(x, 1/4)` (odd sizes: the last row and
//! column are dropped, as `avg_pool2d` with kernel 2 does). Burn-flex runs `avg_pool2d` through
//! its generic 3-d pooling and the up-sampling through `expand` and a strided copy; these are
//! one pass over the output each. The reference twins are [`upsample2_reference`] (reshape and
//! expand) and [`downsample2_reference`] (Burn's `avg_pool2d`).

use burn::backend::{Backend, tensor::FloatTensor};
#[cfg(feature = "flex")]
use burn::backend::{Dispatch, backend_extension};
use burn::tensor::module::avg_pool2d;
use burn::tensor::ops::AvgPoolOptions;
use burn::tensor::{DType, Tensor};

#[cfg(feature = "flex")]
mod flex;
#[cfg(test)]
mod tests;

/// The backend extension (Flex; other devices use the reference twins).
#[cfg_attr(feature = "flex", backend_extension(Flex, Autodiff))]
pub trait ResampleOps: Backend {
    /// `up2(x, scale)`: `[B, C, H, W]` → `[B, C, 2H, 2W]`.
    fn up2(x: FloatTensor<Self>, scale: f64) -> FloatTensor<Self>;
    /// `pool2(x, scale)`: `[B, C, H, W]` → `[B, C, ⌊H/2⌋, ⌊W/2⌋]`.
    fn pool2(x: FloatTensor<Self>, scale: f64) -> FloatTensor<Self>;
}

fn fused(x: &Tensor<4>) -> bool {
    matches!(x.dtype(), DType::F32 | DType::F64) && sw_loss::kernel_support::is_flex(&x.device())
}

/// Nearest-neighbour ×2 up-sampling: `[B, C, H, W] → [B, C, 2H, 2W]`, out[i, j] = in[i/2, j/2].
pub fn upsample2(x: Tensor<4>) -> Tensor<4> {
    #[cfg(feature = "flex")]
    if fused(&x) {
        return Tensor::from_dispatch(<Dispatch as ResampleOps>::up2(x.into_dispatch(), 1.0));
    }
    upsample2_reference(x)
}

/// 2×2 mean pooling: `[B, C, H, W] → [B, C, H/2, W/2]`.
pub fn downsample2(x: Tensor<4>) -> Tensor<4> {
    #[cfg(feature = "flex")]
    if fused(&x) {
        return Tensor::from_dispatch(<Dispatch as ResampleOps>::pool2(x.into_dispatch(), 0.25));
    }
    downsample2_reference(x)
}

/// The reference twin of [`upsample2`]: reshape, expand, reshape.
pub fn upsample2_reference(x: Tensor<4>) -> Tensor<4> {
    let [b, c, h, w] = x.dims();
    x.reshape([b, c, h, 1, w, 1])
        .expand([b, c, h, 2, w, 2])
        .reshape([b, c, 2 * h, 2 * w])
}

/// The reference twin of [`downsample2`]: Burn's `avg_pool2d` with a 2×2 kernel.
pub fn downsample2_reference(x: Tensor<4>) -> Tensor<4> {
    avg_pool2d(x, AvgPoolOptions::new([2, 2]))
}
