//! The estimators as free functions, for calls without a config: each is a thin wrapper over
//! [`LossConfig`] (the same evaluation, checks and memory budget — the default 1 GiB — as
//! [`crate::SlicedWasserstein`]). The names say what they return: `sw*` SW_p, `sw_pp*` SW_p^p;
//! `lcv_*` / `ucv_*` the lower / upper control variate; `*_with_directions` on caller-given
//! directions (`[L, d]` shared or `[B, L, d]` per pair), the others on L random directions
//! drawn per [`SlicedOptions`] (defaults: L = 100, p = 2, uniform, mean over the batch).
//!
//! # Shapes
//! x `[B, n, d]`, y `[B, m, d]` as [`Measure`]s (weights `[B, n]`, `[B, m]` optional); results
//! `[1]` (mean, sum) or `[B]` ([`BatchReduction::PerPair`]).
//!
//! # Errors
//! [`SwError::InvalidP`] for p < 1, [`SwError::NoProjections`] for L = 0, and the input errors
//! of [`LossConfig::forward`] (shapes, weights, NaN/inf naming the point, dtype, device, memory
//! budget).
//!
//! [`SwError::InvalidP`]: crate::SwError::InvalidP
//! [`SwError::NoProjections`]: crate::SwError::NoProjections

use burn::tensor::Tensor;

use crate::config::{EstimatorKind, LossConfig};
use crate::control_variates::{ControlVariate, Gamma};
use crate::directions::Directions;
use crate::error::Result;
use crate::measure::{Measure, check_p};
use crate::sliced::{BatchReduction, SlicedOptions};

/// The config of one call: `kind` with the options' L, p, sampler, reduction and NaN check.
fn config(kind: EstimatorKind, options: &SlicedOptions, power: bool, gamma: Gamma) -> LossConfig {
    LossConfig {
        kind,
        projections: options.projections,
        p: options.p,
        directions: options.directions,
        reduction: options.reduction,
        power,
        detach_gamma: gamma == Gamma::Detached,
        check_finite: options.check_finite,
        ..LossConfig::default()
    }
}

fn random(
    kind: EstimatorKind,
    x: &Measure,
    y: &Measure,
    o: &SlicedOptions,
    power: bool,
    gamma: Gamma,
) -> Result<Tensor<1>> {
    o.check()?;
    config(kind, o, power, gamma).forward(x, y)
}

#[allow(clippy::too_many_arguments)] // the inputs of the math, each named in the doc
fn given(
    kind: EstimatorKind,
    x: &Measure,
    y: &Measure,
    directions: &Directions,
    p: f64,
    reduction: BatchReduction,
    power: bool,
    gamma: Gamma,
) -> Result<Tensor<1>> {
    check_p(p)?;
    let options = SlicedOptions::new(directions.count().max(1), p).with_reduction(reduction);
    config(kind, &options, power, gamma).forward_with_directions(x, y, directions)
}

fn estimator(cv: ControlVariate) -> EstimatorKind {
    match cv {
        ControlVariate::Lower => EstimatorKind::LcvSw,
        ControlVariate::Upper => EstimatorKind::UcvSw,
    }
}

/// Monte Carlo SW_p with L random directions shared by the batch.
///
/// ```
/// use burn::tensor::{Device, Tensor, Distribution};
/// use sw_loss::{DirectionKind, Measure, SlicedOptions, sw};
/// let device = Device::default();
/// let x = Tensor::<2>::random([64, 3], Distribution::Normal(0.0, 1.0), &device);
/// let y = x.clone().add_scalar(1.0); // y = x + t, t = (1, 1, 1)
/// // Along θ, W₂² = (θᵀt)²; an orthonormal block of 3 directions sums it to ‖t‖² = 3, so
/// // 48 orthogonal directions give SW₂ = √(‖t‖²/d) = 1 exactly (uniform ones: ≈ 1).
/// let opts = SlicedOptions::new(48, 2.0).with_directions(DirectionKind::Orthogonal);
/// let d = sw(&x.into(), &y.into(), &opts).unwrap();
/// assert!((d.into_scalar::<f32>() - 1.0).abs() < 1e-4);
/// ```
pub fn sw(x: &Measure, y: &Measure, options: &SlicedOptions) -> Result<Tensor<1>> {
    random(EstimatorKind::Sw, x, y, options, false, Gamma::Fitted)
}

/// Monte Carlo SW_p^p with L random directions shared by the batch.
pub fn sw_pp(x: &Measure, y: &Measure, options: &SlicedOptions) -> Result<Tensor<1>> {
    random(EstimatorKind::Sw, x, y, options, true, Gamma::Fitted)
}

/// LCV-SW_p (lower control variate) with L random directions.
pub fn lcv_sw(
    x: &Measure,
    y: &Measure,
    options: &SlicedOptions,
    gamma: Gamma,
) -> Result<Tensor<1>> {
    random(EstimatorKind::LcvSw, x, y, options, false, gamma)
}

/// LCV-SW_p^p with L random directions.
pub fn lcv_sw_pp(
    x: &Measure,
    y: &Measure,
    options: &SlicedOptions,
    gamma: Gamma,
) -> Result<Tensor<1>> {
    random(EstimatorKind::LcvSw, x, y, options, true, gamma)
}

/// UCV-SW_p (upper control variate) with L random directions.
pub fn ucv_sw(
    x: &Measure,
    y: &Measure,
    options: &SlicedOptions,
    gamma: Gamma,
) -> Result<Tensor<1>> {
    random(EstimatorKind::UcvSw, x, y, options, false, gamma)
}

/// UCV-SW_p^p with L random directions.
pub fn ucv_sw_pp(
    x: &Measure,
    y: &Measure,
    options: &SlicedOptions,
    gamma: Gamma,
) -> Result<Tensor<1>> {
    random(EstimatorKind::UcvSw, x, y, options, true, gamma)
}

/// SW_p with caller-given directions (e.g. from an amortized network; gradients reach them),
/// reduced over B (the root is taken per pair).
pub fn sw_with_directions(
    x: &Measure,
    y: &Measure,
    directions: &Directions,
    p: f64,
    reduction: BatchReduction,
) -> Result<Tensor<1>> {
    given(
        EstimatorKind::Sw,
        x,
        y,
        directions,
        p,
        reduction,
        false,
        Gamma::Fitted,
    )
}

/// SW_p^p with caller-given directions, reduced over B.
pub fn sw_pp_with_directions(
    x: &Measure,
    y: &Measure,
    directions: &Directions,
    p: f64,
    reduction: BatchReduction,
) -> Result<Tensor<1>> {
    given(
        EstimatorKind::Sw,
        x,
        y,
        directions,
        p,
        reduction,
        true,
        Gamma::Fitted,
    )
}

/// CV-SW_p with caller-given directions, reduced over B (root per pair).
pub fn cv_sw_with_directions(
    x: &Measure,
    y: &Measure,
    directions: &Directions,
    p: f64,
    kind: ControlVariate,
    gamma: Gamma,
    reduction: BatchReduction,
) -> Result<Tensor<1>> {
    given(
        estimator(kind),
        x,
        y,
        directions,
        p,
        reduction,
        false,
        gamma,
    )
}

/// CV-SW_p^p with caller-given directions, reduced over B.
pub fn cv_sw_pp_with_directions(
    x: &Measure,
    y: &Measure,
    directions: &Directions,
    p: f64,
    kind: ControlVariate,
    gamma: Gamma,
    reduction: BatchReduction,
) -> Result<Tensor<1>> {
    given(estimator(kind), x, y, directions, p, reduction, true, gamma)
}
