//! The one error type of `sw-loss`: every message names the offending shapes or values.

use thiserror::Error;

/// Errors raised by the checked (`Result`) API of this crate.
///
/// Anything that can come from a config file, a data file or a caller's tensor is reported
/// here instead of panicking inside a kernel.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum SwError {
    /// A tensor has the wrong rank or shape.
    #[error("{what}: expected shape {expected}, got {got:?}")]
    Shape {
        /// Which argument.
        what: &'static str,
        /// Human description of the expected shape.
        expected: String,
        /// The actual dimensions.
        got: Vec<usize>,
    },
    /// The two measures live in spaces of different dimension.
    #[error("dimension mismatch: x is {x:?} and y is {y:?} (the last axis, d, must agree)")]
    DimMismatch {
        /// Shape of the first point set.
        x: Vec<usize>,
        /// Shape of the second point set.
        y: Vec<usize>,
    },
    /// The two batches hold a different number of pairs.
    #[error("batch mismatch: x has {x} measures and y has {y} (the first axis, B, must agree)")]
    BatchMismatch {
        /// Batch size of x.
        x: usize,
        /// Batch size of y.
        y: usize,
    },
    /// A measure has no points (n = 0) or lives in R^0.
    #[error("{what} is empty: shape {shape:?}")]
    Empty {
        /// Which argument.
        what: &'static str,
        /// Its shape.
        shape: Vec<usize>,
    },
    /// L = 0 projections were asked for.
    #[error("the number of projections L must be at least 1, got 0")]
    NoProjections,
    /// The exponent p is below 1 or not finite.
    #[error("the exponent p must be a finite real >= 1, got {0}")]
    InvalidP(f64),
    /// f64 with this p on a Vulkan (wgpu) device: SPIR-V's GLSL.std.450 defines pow, exp and
    /// log for 16- and 32-bit floats only, and Burn's wgpu backend returns garbage for them in
    /// f64 (seen on lavapipe: `powf_scalar` gives ~1e-315).
    #[error(
        "p = {0} needs pow in f64, which a wgpu (Vulkan) device cannot compute (SPIR-V defines \
         pow/exp/log for 32-bit floats only); use p = 1 or 2, f32 tensors, or a CPU/cuda device"
    )]
    F64PowOnVulkan(f64),
    /// A weight vector has a negative entry.
    #[error("{what} has a negative entry ({value}); weights must be non-negative")]
    NegativeWeight {
        /// Which weight vector.
        what: &'static str,
        /// The most negative value found.
        value: f64,
    },
    /// A weight vector sums to zero.
    #[error("{what} sums to zero in batch element {batch}; at least one weight must be positive")]
    ZeroWeights {
        /// Which weight vector.
        what: &'static str,
        /// Index of the measure in the batch.
        batch: usize,
    },
    /// A tensor contains NaN or ±inf.
    #[error("{what} contains non-finite values (NaN or inf)")]
    NonFinite {
        /// Which argument.
        what: &'static str,
    },
    /// A point set contains NaN or ±inf; the first such entry is named.
    #[error("{what} contains a non-finite value (NaN or inf) at batch {batch}, point {point}")]
    NonFinitePoint {
        /// Which argument ("x" or "y").
        what: &'static str,
        /// Index of the measure in the batch.
        batch: usize,
        /// Index of the point in that measure.
        point: usize,
    },
    /// A point of a measure on the sphere is not of unit norm (|‖x‖² − 1| > 1e-4, POT's
    /// tolerance); the first such point is named.
    #[error(
        "{what} is not on the sphere: batch {batch}, point {point} has squared norm {norm_sq} \
         (normalise the points, x / ‖x‖)"
    )]
    OffSphere {
        /// Which argument.
        what: &'static str,
        /// Index of the measure in the batch.
        batch: usize,
        /// Index of the point in that measure.
        point: usize,
        /// Its squared norm.
        norm_sq: f64,
    },
    /// A parameter is outside its domain (κ < 0, step size ≤ 0, ...).
    #[error("invalid parameter `{name}`: {message}")]
    InvalidParameter {
        /// The parameter name, as in the config.
        name: &'static str,
        /// What is wrong with it.
        message: String,
    },
    /// A tensor has a dtype the estimators cannot use here (f16/bf16 on the CPU kernels, or a
    /// dtype different from x's).
    #[error("{what} has dtype {dtype}: {hint}")]
    DType {
        /// Which argument.
        what: &'static str,
        /// Its dtype, as Burn prints it.
        dtype: String,
        /// What would work instead.
        hint: String,
    },
    /// A tensor is on a different device than the others.
    #[error("{what} is on device {got:?} but x is on {expected:?}")]
    Device {
        /// Which argument.
        what: &'static str,
        /// Device of x.
        expected: String,
        /// Device of the argument.
        got: String,
    },
    /// One evaluation does not fit in the memory budget, not even one direction at a time
    /// (`crate::memory::plan`).
    #[error(
    "the loss needs at least {} for one direction at a time ({detail}), over the memory \
     budget of {} (`memory_budget`): raise the budget, or lower the number of projections, \
     points or batch size",
    human_bytes(*need),
    human_bytes(*budget)
)]
    MemoryBudget {
        /// The budget in bytes.
        budget: u64,
        /// What the smallest plan needs, in bytes.
        need: u64,
        /// The sizes and how the need splits.
        detail: String,
    },
}

/// Shorthand for results of this crate.
pub type Result<T> = core::result::Result<T, SwError>;

/// `1.5 GiB`, `12.0 MiB`, `512 B`.
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = bytes as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit + 1 < UNITS.len() {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}
