//! The fused Flex kernels of [`super::ControlVariateOps`]: the control variate's projected
//! moments, the combine, and their hand-written backward (the plain-Burn twins are
//! [`super::cv_combine_reference`], [`super::projected_cv_reference`] and
//! [`super::cv_expectation_reference`]).

use std::sync::Arc;

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::backend::ops::FloatTensorOps;
use burn::backend::{Autodiff, Flex, Shape, TensorMetadata, tensor::FloatTensor};
use burn::tensor::{DType, TensorData};
use rayon::prelude::*;

use super::ControlVariateOps;
use crate::kernel_support::{Real, contiguous};

mod combine;
mod expectation;
mod projected;

use combine::*;
use expectation::*;
use projected::*;

/// Columns per parallel task of the moment sums.
const COLUMNS: usize = 1024;

/// The ε of the reference's `Var̂(C) + 1e-24`.
const EPS: f64 = 1e-24;

/// The values of a contiguous f32/f64 tensor, widened to f64 (small tensors only).
fn host_f64(t: &FlexTensor, len: usize, what: &str) -> Vec<f64> {
    match t.dtype() {
        DType::F32 => t.storage::<f32>()[..len]
            .iter()
            .map(|v| *v as f64)
            .collect(),
        DType::F64 => t.storage::<f64>()[..len].to_vec(),
        other => panic!("{what}: unsupported dtype {other:?} (f32 and f64 are supported)"),
    }
}

/// A tensor of `dtype` from f64 values.
fn tensor_from_f64(v: Vec<f64>, shape: Vec<usize>, dtype: DType) -> FlexTensor {
    let data = match dtype {
        DType::F32 => TensorData::new(v.into_iter().map(|x| x as f32).collect::<Vec<_>>(), shape),
        DType::F64 => TensorData::new(v, shape),
        other => panic!("control variates: unsupported dtype {other:?}"),
    };
    FlexTensor::from_data(data)
}

// ---------------------------------------------------------------------------------------
// cv_combine

impl ControlVariateOps for Flex {
    fn cv_combine(
        w: FloatTensor<Self>,
        c: FloatTensor<Self>,
        expectation: FloatTensor<Self>,
        _detach_gamma: bool,
    ) -> FloatTensor<Self> {
        combine_forward(&contiguous(w), &contiguous(c), &contiguous(expectation))
    }

    fn projected_cv(
        px: FloatTensor<Self>,
        py: FloatTensor<Self>,
        upper: bool,
    ) -> FloatTensor<Self> {
        projected_flex(px, py, upper)
    }

    fn cv_expectation(
        x: FloatTensor<Self>,
        y: FloatTensor<Self>,
        upper: bool,
    ) -> FloatTensor<Self> {
        expectation_forward(&contiguous(x), &contiguous(y), upper).0
    }
}

impl<C: CheckpointStrategy> ControlVariateOps for Autodiff<Flex, C> {
    fn cv_combine(
        w: FloatTensor<Self>,
        c: FloatTensor<Self>,
        expectation: FloatTensor<Self>,
        detach_gamma: bool,
    ) -> FloatTensor<Self> {
        let (w, node_w) = w.into_parts();
        let (c, node_c) = c.into_parts();
        let (e, node_e) = expectation.into_parts();
        let (w, c, e) = (contiguous(w), contiguous(c), contiguous(e));
        match CombineBackward
            .prepare::<C>([node_w, node_c, node_e])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let out = combine_forward(&w, &c, &e);
                prep.finish(
                    Arc::new(CombineState {
                        w,
                        c,
                        e,
                        detach_gamma,
                    }),
                    out,
                )
            }
            OpsKind::UnTracked(prep) => prep.finish(combine_forward(&w, &c, &e)),
        }
    }

    fn projected_cv(
        px: FloatTensor<Self>,
        py: FloatTensor<Self>,
        upper: bool,
    ) -> FloatTensor<Self> {
        let (px, node_x) = px.into_parts();
        let (py, node_y) = py.into_parts();
        match ProjectedCvBackward
            .prepare::<C>([node_x, node_y])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let (px, py) = (contiguous(px), contiguous(py));
                let out = projected_flex(px.clone(), py.clone(), upper);
                prep.finish((px, py, upper), out)
            }
            OpsKind::UnTracked(prep) => prep.finish(projected_flex(px, py, upper)),
        }
    }

    fn cv_expectation(
        x: FloatTensor<Self>,
        y: FloatTensor<Self>,
        upper: bool,
    ) -> FloatTensor<Self> {
        let (x, node_x) = x.into_parts();
        let (y, node_y) = y.into_parts();
        let (x, y) = (contiguous(x), contiguous(y));
        match ExpectationBackward
            .prepare::<C>([node_x, node_y])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let (out, m1, m2) = expectation_forward(&x, &y, upper);
                prep.finish(
                    Arc::new(ExpectationState {
                        x,
                        y,
                        m1,
                        m2,
                        upper,
                    }),
                    out,
                )
            }
            OpsKind::UnTracked(prep) => prep.finish(expectation_forward(&x, &y, upper).0),
        }
    }
}
