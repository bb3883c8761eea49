//! Discrete probability measures as tensors: points `[B, n, d]` with optional weights `[B, n]`.

use burn::tensor::{DType, Device, Tensor};

use crate::error::{Result, SwError};

/// A batch of B discrete measures μ_b = Σ_i a_{b,i} δ_{x_{b,i}} on R^d.
///
/// ```text
/// points  : [B, n, d]
/// weights : [B, n]   non-negative, normalised internally to sum to 1 per measure;
///                    None means uniform weights 1/n
/// ```
///
/// A single measure is a batch of one: `Measure::from(points_2d)` turns `[n, d]` into
/// `[1, n, d]`.
#[derive(Debug, Clone)]
pub struct Measure {
    points: Tensor<3>,
    weights: Option<Tensor<2>>,
}

impl Measure {
    /// A batch of uniformly weighted measures, `points: [B, n, d]`.
    pub fn new(points: Tensor<3>) -> Self {
        Self {
            points,
            weights: None,
        }
    }

    /// One uniformly weighted measure, `points: [n, d]`.
    pub fn single(points: Tensor<2>) -> Self {
        let [n, d] = points.dims();
        if n == 0 || d == 0 {
            // Burn's reshape reads a 0 as "keep this axis"; build the empty batch directly.
            return Self::new(Tensor::zeros([1, n, d], (&points.device(), points.dtype())));
        }
        Self::new(points.reshape([1, n, d]))
    }

    /// Attaches weights `[B, n]` (checked when the measure is used).
    pub fn with_weights(mut self, weights: Tensor<2>) -> Self {
        self.weights = Some(weights);
        self
    }

    /// Attaches the weights `[n]` of a single measure.
    pub fn with_weights_1d(self, weights: Tensor<1>) -> Self {
        let [n] = weights.dims();
        self.with_weights(weights.reshape([1, n]))
    }

    /// The support points `[B, n, d]`.
    pub fn points(&self) -> &Tensor<3> {
        &self.points
    }

    /// The raw (unnormalised) weights, if any.
    pub fn weights(&self) -> Option<&Tensor<2>> {
        self.weights.as_ref()
    }

    /// `[B, n, d]`.
    pub fn dims(&self) -> [usize; 3] {
        self.points.dims()
    }

    /// The device of the points.
    pub fn device(&self) -> Device {
        self.points.device()
    }

    /// Whether the weights are absent (uniform measure).
    pub fn is_uniform(&self) -> bool {
        self.weights.is_none()
    }

    /// Normalised weights `[B, n]`: the given ones divided by their sum, or 1/n everywhere.
    pub fn normalized_weights(&self) -> Tensor<2> {
        let [b, n, _] = self.dims();
        match &self.weights {
            Some(w) => w.clone() / w.clone().sum_dim(1),
            None => Tensor::<2>::ones([b, n], (&self.device(), self.points.dtype()))
                .div_scalar(n as f64),
        }
    }

    /// The same measure without autodiff history (points and weights detached).
    pub fn detach(&self) -> Self {
        Self {
            points: self.points.clone().detach(),
            weights: self.weights.clone().map(|w| w.detach()),
        }
    }

    /// Maps the point and weight tensors (e.g. to move them between devices).
    pub fn map(
        &self,
        f: impl Fn(Tensor<3>) -> Tensor<3>,
        g: impl Fn(Tensor<2>) -> Tensor<2>,
    ) -> Self {
        Self {
            points: f(self.points.clone()),
            weights: self.weights.clone().map(g),
        }
    }

    /// Checks one measure on its own: non-empty, weights of shape `[B, n]`, non-negative,
    /// not all zero, and (with `finite`) no NaN/inf anywhere.
    pub(crate) fn check(&self, what: &'static str, finite: bool) -> Result<()> {
        let dims = self.dims();
        if dims.contains(&0) {
            return Err(SwError::Empty {
                what,
                shape: dims.to_vec(),
            });
        }
        check_float_dtype(what, self.points.dtype(), &self.device())?;
        if finite && !all_finite(&self.points) {
            return Err(non_finite_point(what, &self.points));
        }
        if let Some(w) = &self.weights {
            let wd = w.dims();
            let wname = if what == "x" {
                "weights of x"
            } else {
                "weights of y"
            };
            if w.dtype() != self.points.dtype() {
                return Err(dtype_mismatch(wname, w.dtype(), self.points.dtype()));
            }
            if wd != [dims[0], dims[1]] {
                return Err(SwError::Shape {
                    what: wname,
                    expected: format!("[B, n] = [{}, {}]", dims[0], dims[1]),
                    got: wd.to_vec(),
                });
            }
            let host: Vec<f64> = w
                .to_data()
                .convert::<f64>()
                .try_to_vec::<f64>()
                .expect("f64 data");
            if host.iter().any(|v| !v.is_finite()) {
                return Err(SwError::NonFinite { what: wname });
            }
            let min = host.iter().cloned().fold(f64::INFINITY, f64::min);
            if min < 0.0 {
                return Err(SwError::NegativeWeight {
                    what: wname,
                    value: min,
                });
            }
            for (b, row) in host.chunks(dims[1]).enumerate() {
                if row.iter().sum::<f64>() <= 0.0 {
                    return Err(SwError::ZeroWeights {
                        what: wname,
                        batch: b,
                    });
                }
            }
        }
        Ok(())
    }
}

impl From<Tensor<2>> for Measure {
    fn from(points: Tensor<2>) -> Self {
        Measure::single(points)
    }
}

impl From<Tensor<3>> for Measure {
    fn from(points: Tensor<3>) -> Self {
        Measure::new(points)
    }
}

/// The error naming the first non-finite entry of points `[B, n, d]` (one host read).
pub(crate) fn non_finite_point(what: &'static str, points: &Tensor<3>) -> SwError {
    let [_, n, d] = points.dims();
    let host: Vec<f64> = points
        .to_data()
        .convert::<f64>()
        .try_to_vec::<f64>()
        .unwrap_or_default();
    let first = host.iter().position(|v| !v.is_finite()).unwrap_or(0);
    let per_measure = (n * d).max(1);
    SwError::NonFinitePoint {
        what,
        batch: first / per_measure,
        point: (first % per_measure) / d.max(1),
    }
}

/// Whether every entry of `t` is finite (one device read).
pub(crate) fn all_finite<const D: usize>(t: &Tensor<D>) -> bool {
    t.clone().is_finite().all().into_scalar::<bool>()
}

/// Checks a pair of measures for use together: each on its own, then same d and same B.
pub(crate) fn check_pair(x: &Measure, y: &Measure, finite: bool, p: f64) -> Result<()> {
    x.check("x", finite)?;
    check_pow_on_device(x, p)?;
    y.check("y", finite)?;
    let (xd, yd) = (x.dims(), y.dims());
    if xd[2] != yd[2] {
        return Err(SwError::DimMismatch {
            x: xd.to_vec(),
            y: yd.to_vec(),
        });
    }
    if xd[0] != yd[0] {
        return Err(SwError::BatchMismatch { x: xd[0], y: yd[0] });
    }
    if y.points().dtype() != x.points().dtype() {
        return Err(dtype_mismatch("y", y.points().dtype(), x.points().dtype()));
    }
    if x.device() != y.device() {
        return Err(SwError::Device {
            what: "y",
            expected: format!("{:?}", x.device()),
            got: format!("{:?}", y.device()),
        });
    }
    Ok(())
}

/// The fused CPU kernels (Flex) run on f32 and f64 only: any other float dtype is refused
/// with an error naming it (instead of a panic inside a kernel).
fn check_float_dtype(what: &'static str, dtype: DType, device: &Device) -> Result<()> {
    if matches!(dtype, DType::F32 | DType::F64) || !crate::kernel_support::is_flex(device) {
        return Ok(());
    }
    Err(SwError::DType {
        what,
        dtype: format!("{dtype:?}"),
        hint: "the CPU (Flex) kernels run on f32 and f64; cast first, e.g. \
               `tensor.cast(DType::F32)`"
            .into(),
    })
}

/// The error for a tensor whose dtype differs from x's.
pub(crate) fn dtype_mismatch(what: &'static str, got: DType, x: DType) -> SwError {
    SwError::DType {
        what,
        dtype: format!("{got:?}"),
        hint: format!("it must match the dtype of x ({x:?})"),
    }
}

/// Checks the exponent p ≥ 1.
/// Refuses f64 with p ∉ {1, 2} on a wgpu (Vulkan) device, where pow in f64 is undefined
/// (p = 1, 2 use |·|, square and sqrt, which Vulkan has in f64).
fn check_pow_on_device(x: &Measure, p: f64) -> Result<()> {
    check_pow_support(&x.device(), x.points().dtype(), p)
}

/// As [`check_pow_on_device`] for a device and dtype.
pub(crate) fn check_pow_support(device: &burn::tensor::Device, dtype: DType, p: f64) -> Result<()> {
    if p == 1.0 || p == 2.0 || dtype != DType::F64 {
        return Ok(());
    }
    #[cfg(feature = "cube")]
    if matches!(
        device.clone().inner().as_dispatch(),
        burn::backend::DispatchDevice::Cube(cubecl::Device::Wgpu(_))
    ) {
        return Err(SwError::F64PowOnVulkan(p));
    }
    #[cfg(not(feature = "cube"))]
    let _ = device;
    Ok(())
}

pub(crate) fn check_p(p: f64) -> Result<()> {
    if p.is_finite() && p >= 1.0 {
        Ok(())
    } else {
        Err(SwError::InvalidP(p))
    }
}
