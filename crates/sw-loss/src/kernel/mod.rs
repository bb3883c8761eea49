//! Fused kernels behind the 1-D Wasserstein step, selected at run time by device.
//!
//! * [`sorted_wpp`]: row by row `w_r = (1/n) Σ_k |x_(r,k) − y_(r,k)|^p`, `[R, n] × [R, n] → [R]`
//!   (equal sizes, uniform weights). On Flex (and `Autodiff<Flex>`) one fused pass per row —
//!   radix argsort of both rows, the difference, the power and the mean — with a hand-written
//!   backward that scatters through the sorting permutations (`flex.rs`). On CubeCL devices
//!   the rows are sorted on the device ([`sort_rows`], `cube_sort.rs`); elsewhere the
//!   composition of Burn ops in [`sorted_wpp_reference`], the reference twin.
//! * [`weighted_wpp`]: any sizes and weights, `[R, n], [R, m]` → `[R]`; fused on Flex
//!   (`flex_weighted.rs`), else [`weighted_wpp_reference`] (the reference twin, whose
//!   sorts run on the device on CubeCL devices).
//! * [`moments`]: the mean and raw second moment of uniformly weighted point sets,
//!   `[B, n, d] → [B, d + 1]`, for the control variates; one pass on Flex (`moments.rs`),
//!   [`moments_reference`] elsewhere.
//! * [`project`]: all projections ⟨θ_{b,l}, x_{b,i}⟩, in loops laid out for SW's shapes on
//!   Flex (`project.rs`), `matmul` elsewhere.

use burn::backend::{Backend, tensor::FloatTensor};
#[cfg(feature = "flex")]
use burn::backend::{Dispatch, backend_extension};
use burn::tensor::Tensor;

/// [`by_float_dtype!`](crate::by_float_dtype) for a body that returns `Vec<E>`, made into a
/// Flex tensor of `$shape`. Shared by `project/` and `cv_combine/` (declared before them).
#[cfg(feature = "flex")]
macro_rules! by_dtype {
    ($what:expr, $dtype:expr, $shape:expr, |$e:ident| $body:expr) => {
        $crate::by_float_dtype!($what, $dtype, |$e| FlexTensor::from_data(TensorData::new(
            $body, $shape
        )))
    };
}

#[cfg(feature = "cube")]
mod cube_sort;
pub mod cv_combine;
#[cfg(feature = "flex")]
mod flex;
#[cfg(feature = "flex")]
mod flex_weighted;
#[cfg(feature = "flex")]
mod moments;
mod one_d_reference;
#[cfg(feature = "flex")]
mod project;
pub(crate) mod radix;
pub mod row_sort;

pub use cv_combine::{
    cv_combine, cv_combine_reference, cv_expectation, cv_expectation_reference, projected_cv,
    projected_cv_reference,
};
pub(crate) use one_d_reference::wpp_of_sorted;
pub use one_d_reference::{quantile_wpp_rows, sorted_wpp_reference, weighted_wpp_reference};
pub use row_sort::{
    cube_device_name, has_device_sort, set_device_sort, sort_rows, sort_rows_values,
};

/// The backend extension: a fused sorted-difference W_p^p over rows.
#[cfg_attr(feature = "flex", backend_extension(Flex, Autodiff))]
pub trait SortedWppOps: Backend {
    /// `[R, n] × [R, n] → [R]`, see the module documentation.
    fn sorted_wpp(px: FloatTensor<Self>, py: FloatTensor<Self>, p: f64) -> FloatTensor<Self>;
}

/// The backend extension: a fused weighted W_p^p over rows of any lengths.
#[cfg_attr(feature = "flex", backend_extension(Flex, Autodiff))]
pub trait WeightedWppOps: Backend {
    /// `[R, n] × [R, m]` values with weights `[G, n]`, `[G, m]` (rows summing to 1; row r
    /// uses weight row r / (R/G)) → `[R]`, see [`quantile_wpp_rows`].
    fn weighted_wpp(
        px: FloatTensor<Self>,
        py: FloatTensor<Self>,
        wx: FloatTensor<Self>,
        wy: FloatTensor<Self>,
        p: f64,
    ) -> FloatTensor<Self>;
}

/// The backend extension: fused projection of point sets on directions.
#[cfg_attr(feature = "flex", backend_extension(Flex, Autodiff))]
pub trait ProjectOps: Backend {
    /// `[B, n, d] × [B, L, d] → [B, L, n]`, `P[b, l, i] = ⟨θ_{b,l}, x_{b,i}⟩`.
    fn project(points: FloatTensor<Self>, theta: FloatTensor<Self>) -> FloatTensor<Self>;
}

/// The backend extension: fused moments of uniformly weighted point sets.
#[cfg_attr(feature = "flex", backend_extension(Flex, Autodiff))]
pub trait MomentsOps: Backend {
    /// `[B, n, d] → [B, d + 1]`: the mean `(1/n) Σ_i x_i` and `(1/n) Σ_i ‖x_i‖²`.
    fn moments(points: FloatTensor<Self>) -> FloatTensor<Self>;
}

/// `[B, n, d] → [B, d + 1]`: columns `0..d` the mean `(1/n) Σ_i x_{b,i}`, column `d` the raw
/// second moment `(1/n) Σ_i ‖x_{b,i}‖²`; differentiable. One fused pass on Flex,
/// [`moments_reference`] elsewhere.
pub fn moments(points: Tensor<3>) -> Tensor<2> {
    #[cfg(feature = "flex")]
    if crate::kernel_support::is_flex(&points.device()) {
        return Tensor::from_dispatch(<Dispatch as MomentsOps>::moments(points.into_dispatch()));
    }
    moments_reference(points)
}

/// The reference twin of [`moments`]: `mean_dim` and `square().sum_dim()`.
pub fn moments_reference(points: Tensor<3>) -> Tensor<2> {
    let [b, _, d] = points.dims();
    let mean = points.clone().mean_dim(1).reshape([b, d]);
    let second = points.square().sum_dim(2).mean_dim(1).reshape([b, 1]);
    Tensor::cat(vec![mean, second], 1)
}

/// Projections `[B, n, d] × [B, L, d] → [B, L, n]`, differentiable in both; the fused loops on
/// Flex, `Tensor::matmul` elsewhere.
pub fn project(points: Tensor<3>, theta: Tensor<3>) -> Tensor<3> {
    #[cfg(feature = "flex")]
    if crate::kernel_support::is_flex(&points.device()) {
        let out = <Dispatch as ProjectOps>::project(points.into_dispatch(), theta.into_dispatch());
        return Tensor::from_dispatch(out);
    }
    project_reference(points, theta)
}

/// The plain-matmul twin of [`project`]: `Θ Xᵀ`, `[B, L, d] × [B, d, n] → [B, L, n]`.
///
/// When d exceeds L (feature spaces), it is formed as `(X Θᵀ)ᵀ` so the large input is not
/// transposed.
pub fn project_reference(points: Tensor<3>, theta: Tensor<3>) -> Tensor<3> {
    let [_, _, d] = points.dims();
    if d > theta.dims()[1] {
        points.matmul(theta.swap_dims(1, 2)).swap_dims(1, 2)
    } else {
        theta.matmul(points.swap_dims(1, 2))
    }
}

/// W_p^p per row for equal-size uniform rows: `[R, n] × [R, n] → [R]`, differentiable in
/// both inputs. Uses the fused kernel where the device has one, the composition otherwise.
pub fn sorted_wpp(px: Tensor<2>, py: Tensor<2>, p: f64) -> Tensor<1> {
    #[cfg(feature = "flex")]
    if crate::kernel_support::is_flex(&px.device()) {
        let out = <Dispatch as SortedWppOps>::sorted_wpp(px.into_dispatch(), py.into_dispatch(), p);
        return Tensor::from_dispatch(out);
    }
    // The reference's composition, with the rows sorted on the device where there is one.
    wpp_of_sorted(sort_rows_values(px), sort_rows_values(py), p)
}

/// W_p^p per row for weighted rows of any lengths: values `[R, n]`, `[R, m]` and weights
/// `[G, n]`, `[G, m]` (rows summing to 1), where the R = G·L rows come in G groups of L that
/// share one weight row (the L directions of one pair) → `[R]`, differentiable in all four.
/// The fused kernel on Flex, the quantile composition [`weighted_wpp_reference`] (on
/// weights expanded to every row) elsewhere.
pub fn weighted_wpp(
    px: Tensor<2>,
    py: Tensor<2>,
    wx: Tensor<2>,
    wy: Tensor<2>,
    p: f64,
) -> Tensor<1> {
    #[cfg(feature = "flex")]
    if crate::kernel_support::is_flex(&px.device()) {
        let out = <Dispatch as WeightedWppOps>::weighted_wpp(
            px.into_dispatch(),
            py.into_dispatch(),
            wx.into_dispatch(),
            wy.into_dispatch(),
            p,
        );
        return Tensor::from_dispatch(out);
    }
    weighted_wpp_reference(px, py, wx, wy, p)
}
