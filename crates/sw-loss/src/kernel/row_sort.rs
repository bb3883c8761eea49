//! Row sort with indices on the device, and its backward.
//!
//! ```text
//! sort_rows    x [R, n] → (s [R, n], σ [R, n])   s_{r,k} = x_{r,σ_r(k)},  s_r ascending,
//!                                                ties kept in index order (stable)
//! unsort_rows  g [R, n], σ [R, n] → h [R, n]     h_{r,σ_r(k)} = g_{r,k}   (the backward)
//! ```
//! Burn's `sort`/`sort_with_indices` on the CubeCL backends (wgpu, cuda) reads the tensor to
//! the host, sorts there and writes it back: a device sync and two transfers per call. On a
//! CubeCL device [`sort_rows`] runs the bitonic kernels of `cube_sort` instead and never
//! leaves the device; on every other device it is Burn's `sort_with_indices`, which is also
//! the reference twin the kernels are tested against (`tests/device_sort.rs`).
//!
//! Autodiff: the sorted values are differentiable in `x`; their backward is [`RowSortOps::unsort_rows`]
//! of the incoming gradient (a scatter through σ, no collisions since σ is a permutation).

use std::fmt::Debug;
use std::sync::atomic::{AtomicBool, Ordering};

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::{
    Autodiff, Backend,
    tensor::{FloatTensor, IntTensor},
};
#[cfg(feature = "cube")]
use burn::backend::{Dispatch, backend_extension};
use burn::tensor::{Device, Int, IntDType, Tensor};

/// The backend extension: a row sort with indices and the scatter that undoes it.
#[cfg_attr(feature = "cube", backend_extension(Cube, Autodiff))]
pub trait RowSortOps: Backend {
    /// `[R, n] → ([R, n], [R, n])`: ascending rows and the source index of each entry; equal
    /// values keep their index order. Indices have dtype `indices_dtype`.
    fn sort_rows(
        x: FloatTensor<Self>,
        indices_dtype: IntDType,
    ) -> (FloatTensor<Self>, IntTensor<Self>);

    /// `[R, n] × [R, n] → [R, n]`: `h[r, σ[r, k]] = g[r, k]` for a row-wise permutation σ
    /// (as [`sort_rows`] returns). If σ is not a permutation, entries it misses are unspecified;
    /// out-of-range indices write nothing.
    fn unsort_rows(grad: FloatTensor<Self>, indices: IntTensor<Self>) -> FloatTensor<Self>;
}

static DEVICE_SORT: AtomicBool = AtomicBool::new(true);

/// Switches the device sort on or off for the whole process (on by default). Off, CubeCL
/// devices use Burn's sort (host round-trip) — for comparisons and as an escape hatch.
pub fn set_device_sort(enabled: bool) {
    DEVICE_SORT.store(enabled, Ordering::Relaxed);
}

/// Whether `device` is a CubeCL device (wgpu, cuda, …) served by the device sort (and the
/// sort is switched on, see [`set_device_sort`]).
pub fn has_device_sort(device: &Device) -> bool {
    #[cfg(feature = "cube")]
    {
        if !DEVICE_SORT.load(Ordering::Relaxed) {
            return false;
        }
        matches!(
            device.clone().inner().as_dispatch(),
            burn::backend::DispatchDevice::Cube(_)
        )
    }
    #[cfg(not(feature = "cube"))]
    {
        let _ = device;
        false
    }
}

/// The name a CubeCL device gives itself (`NVIDIA H200`, `llvmpipe (LLVM 15.0.6, 256 bits)`);
/// `None` on other devices. For logs and benchmark tables.
pub fn cube_device_name(device: &Device) -> Option<String> {
    #[cfg(feature = "cube")]
    if let burn::backend::DispatchDevice::Cube(d) = device.clone().inner().as_dispatch() {
        return Some(d.client().properties().identity.name.clone());
    }
    let _ = device;
    None
}

/// Whether the device kernels take this element type (f32, f64) and index type (i32, i64, u32).
#[cfg(feature = "cube")]
fn kernel_dtypes(x: &Tensor<2>) -> Option<IntDType> {
    use burn::tensor::DType;
    let int = x.device().settings().int_dtype;
    let float_ok = matches!(x.dtype(), DType::F32 | DType::F64);
    let int_ok = matches!(int, IntDType::I32 | IntDType::I64 | IntDType::U32);
    (float_ok && int_ok).then_some(int)
}

/// Sorts each row of `x: [R, n]` ascending and returns the sorted rows and the source
/// indices: the device kernel on CubeCL devices (stable), Burn's `sort_with_indices`
/// elsewhere. Differentiable in `x`.
pub fn sort_rows(x: Tensor<2>) -> (Tensor<2>, Tensor<2, Int>) {
    match device_sort(x) {
        Ok(sorted) => sorted,
        Err(x) => x.sort_with_indices(1),
    }
}

/// Sorted rows only; see [`sort_rows`].
pub fn sort_rows_values(x: Tensor<2>) -> Tensor<2> {
    match device_sort(x) {
        Ok((values, _)) => values,
        Err(x) => x.sort(1),
    }
}

/// The device kernel where it serves `x`; `x` back otherwise.
#[allow(clippy::result_large_err)]
fn device_sort(x: Tensor<2>) -> Result<(Tensor<2>, Tensor<2, Int>), Tensor<2>> {
    #[cfg(feature = "cube")]
    if has_device_sort(&x.device())
        && let Some(int_dtype) = kernel_dtypes(&x)
    {
        let (values, indices) = <Dispatch as RowSortOps>::sort_rows(x.into_dispatch(), int_dtype);
        return Ok((
            Tensor::from_dispatch(values),
            Tensor::from_dispatch(indices),
        ));
    }
    Err(x)
}

/// Backward of a row permutation σ kept as the state: after `sort_rows` (values gathered
/// through σ) the gradient is scattered back through σ; after `unsort_rows` (scattered through
/// σ) it is gathered through σ.
#[derive(Debug)]
enum PermutationBackward {
    Sort,
    Unsort,
}

impl<B: RowSortOps> Backward<B, 1> for PermutationBackward
where
    IntTensor<B>: Clone + Send + Debug + 'static,
{
    type State = IntTensor<B>;

    fn backward(
        self,
        ops: Ops<Self::State, 1>,
        grads: &mut Gradients,
        _checkpointer: &mut Checkpointer,
    ) {
        let [node] = ops.parents;
        let grad = grads.consume::<B>(&ops.node);
        if let Some(node) = node {
            let back = match self {
                Self::Sort => B::unsort_rows(grad, ops.state),
                Self::Unsort => B::float_gather(1, grad, ops.state),
            };
            grads.register::<B>(node.id, back);
        }
    }
}

impl<B: RowSortOps, C: CheckpointStrategy> RowSortOps for Autodiff<B, C>
where
    IntTensor<B>: Clone + Send + Debug + 'static,
{
    fn sort_rows(
        x: FloatTensor<Self>,
        indices_dtype: IntDType,
    ) -> (FloatTensor<Self>, IntTensor<Self>) {
        let (x, node) = x.into_parts();
        let (values, indices) = B::sort_rows(x, indices_dtype);
        let values = match PermutationBackward::Sort
            .prepare::<C>([node])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => prep.finish(indices.clone(), values),
            OpsKind::UnTracked(prep) => prep.finish(values),
        };
        (values, indices)
    }

    fn unsort_rows(grad: FloatTensor<Self>, indices: IntTensor<Self>) -> FloatTensor<Self> {
        let (grad, node) = grad.into_parts();
        let out = B::unsort_rows(grad, indices.clone());
        match PermutationBackward::Unsort
            .prepare::<C>([node])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => prep.finish(indices, out),
            OpsKind::UnTracked(prep) => prep.finish(out),
        }
    }
}
