//! Fused kernels behind the 1-D Wasserstein step, selected at run time by device.
//!
//! [`sorted_wpp`] computes, row by row, `w_r = (1/n) Σ_k |x_(r,k) − y_(r,k)|^p` for
//! `[R, n] × [R, n] → [R]` (equal sizes, uniform weights). On Flex (and `Autodiff<Flex>`) it
//! runs one fused pass per row — radix argsort of both rows, the difference, the power and
//! the mean — with a hand-written backward that scatters through the sorting permutations.
//! On every other backend it is the composition of Burn ops in
//! [`crate::one_d::wpp_sorted`], which is also the reference the kernel is tested against.

use burn::backend::{Backend, tensor::FloatTensor};
#[cfg(feature = "flex")]
use burn::backend::{Dispatch, backend_extension};
use burn::tensor::{Device, Tensor};

#[cfg(feature = "flex")]
mod flex;
pub(crate) mod radix;

/// The backend extension: a fused sorted-difference W_p^p over rows.
#[cfg_attr(feature = "flex", backend_extension(Flex, Autodiff))]
pub trait SortedWppOps: Backend {
    /// `[R, n] × [R, n] → [R]`, see the module documentation.
    fn sorted_wpp(px: FloatTensor<Self>, py: FloatTensor<Self>, p: f64) -> FloatTensor<Self>;
}

/// Whether the fused CPU kernel serves tensors on `device`.
pub fn has_fused_kernel(device: &Device) -> bool {
    #[cfg(feature = "flex")]
    {
        matches!(
            device.clone().inner().as_dispatch(),
            burn::backend::DispatchDevice::Flex(_)
        )
    }
    #[cfg(not(feature = "flex"))]
    {
        let _ = device;
        false
    }
}

/// W_p^p per row for equal-size uniform rows: `[R, n] × [R, n] → [R]`, differentiable in
/// both inputs. Uses the fused kernel where the device has one, the composition otherwise.
pub fn sorted_wpp(px: Tensor<2>, py: Tensor<2>, p: f64) -> Tensor<1> {
    #[cfg(feature = "flex")]
    if has_fused_kernel(&px.device()) {
        let out = <Dispatch as SortedWppOps>::sorted_wpp(px.into_dispatch(), py.into_dispatch(), p);
        return Tensor::from_dispatch(out);
    }
    crate::one_d::wpp_sorted(px, py, p)
}
