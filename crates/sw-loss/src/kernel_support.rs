//! What every hand-written Flex kernel of the workspace shares (sw-loss's `kernel/`, and
//! `models`' `conv/`, `norm/` and `resample/`), in one place:
//!
//! * [`Real`]: the float element types the loops run on, f32 and f64 (the sums and the
//!   powers run in f64 through [`Real::to_f64`] / [`Real::from_f64`]);
//! * [`contiguous`]: a Flex tensor whose storage the loops may index directly;
//! * [`by_float_dtype!`](crate::by_float_dtype): one dispatch from a runtime `DType` to the
//!   generic loop;
//! * [`is_flex`]: whether a device's tensors are Flex tensors (so a fused kernel serves them).
//!
//! A kernel imports these; nothing here knows the math a kernel serves.

use std::ops::{Add, AddAssign, Mul, Sub};

use burn::tensor::{Device, Element};

/// The floats the kernels run on: f32 and f64.
pub trait Real:
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
    /// 1.
    const ONE: Self;
    /// The value as f64 (exact).
    fn to_f64(self) -> f64;
    /// `v` rounded to `Self`.
    fn from_f64(v: f64) -> Self;
    /// `self·b + c` with one rounding (the FMA instruction where the caller was compiled
    /// with FMA).
    fn fused_mul_add(self, b: Self, c: Self) -> Self;
}

impl Real for f32 {
    const ONE: Self = 1.0;
    #[inline(always)]
    fn to_f64(self) -> f64 {
        self as f64
    }
    #[inline(always)]
    fn from_f64(v: f64) -> Self {
        v as f32
    }
    #[inline(always)]
    fn fused_mul_add(self, b: Self, c: Self) -> Self {
        self.mul_add(b, c)
    }
}

impl Real for f64 {
    const ONE: Self = 1.0;
    #[inline(always)]
    fn to_f64(self) -> f64 {
        self
    }
    #[inline(always)]
    fn from_f64(v: f64) -> Self {
        v
    }
    #[inline(always)]
    fn fused_mul_add(self, b: Self, c: Self) -> Self {
        self.mul_add(b, c)
    }
}

/// `t` itself when it is contiguous from offset 0, else a contiguous copy: the kernels index
/// the storage directly.
#[cfg(feature = "flex")]
pub fn contiguous(t: burn::backend::flex::FlexTensor) -> burn::backend::flex::FlexTensor {
    if t.is_contiguous() && t.layout().start_offset() == 0 {
        t
    } else {
        t.to_contiguous()
    }
}

/// Whether tensors on `device` (or on its autodiff inner device) are Flex tensors, which the
/// fused CPU kernels serve. Always false in a build without the `flex` feature.
pub fn is_flex(device: &Device) -> bool {
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

/// Runs `$body` with the type alias `$e` = `f32` or `f64` after the runtime `$dtype`; any other
/// dtype is a panic naming the kernel `$what` (the public wrappers route only f32 and f64
/// here).
///
/// ```
/// use burn::tensor::DType;
/// use sw_loss::kernel_support::Real;
/// let bytes = sw_loss::by_float_dtype!("example", DType::F64, |E| {
///     std::mem::size_of::<E>() + E::ONE.to_f64() as usize
/// });
/// assert_eq!(bytes, 9);
/// ```
#[macro_export]
macro_rules! by_float_dtype {
    ($what:expr, $dtype:expr, |$e:ident| $body:expr) => {
        match $dtype {
            ::burn::tensor::DType::F32 => {
                type $e = f32;
                $body
            }
            ::burn::tensor::DType::F64 => {
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
