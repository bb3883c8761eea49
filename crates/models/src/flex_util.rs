//! Pieces shared by the Flex kernels of this crate (`conv`, `norm`, `resample`).

use std::ops::{Add, AddAssign, Mul, Sub};

use burn::backend::flex::FlexTensor;
use burn::tensor::Element;

/// The floats the kernels run on: f32 and f64 (what `gemm` supports among Burn's float dtypes).
pub(crate) trait Real:
    Copy
    + Default
    + Send
    + Sync
    + Element
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + AddAssign
    + 'static
{
    const ONE: Self;
    fn to_f64(self) -> f64;
    fn from_f64(v: f64) -> Self;
}

impl Real for f32 {
    const ONE: Self = 1.0;
    fn to_f64(self) -> f64 {
        self as f64
    }
    fn from_f64(v: f64) -> Self {
        v as f32
    }
}

impl Real for f64 {
    const ONE: Self = 1.0;
    fn to_f64(self) -> f64 {
        self
    }
    fn from_f64(v: f64) -> Self {
        v
    }
}

/// `t` itself when it is contiguous from offset 0, else a contiguous copy: the kernels index
/// the storage directly.
pub(crate) fn contiguous(t: FlexTensor) -> FlexTensor {
    if t.is_contiguous() && t.layout().start_offset() == 0 {
        t
    } else {
        t.to_contiguous()
    }
}

/// Runs `$body` with the type alias `$e` = `f32` or `f64` after `$dtype`; any other dtype is a
/// panic naming the kernel `$what` (the public wrappers only route f32 and f64 here).
macro_rules! by_float_dtype {
    ($what:expr, $dtype:expr, |$e:ident| $body:expr) => {
        match $dtype {
            burn::tensor::DType::F32 => {
                type $e = f32;
                $body
            }
            burn::tensor::DType::F64 => {
                type $e = f64;
                $body
            }
            other => panic!(
                "{}: unsupported dtype {other:?} (f32 and f64 are supported)",
                $what
            ),
        }
    };
}
pub(crate) use by_float_dtype;
