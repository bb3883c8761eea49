//! One serde config for every estimator, as experiments read it from TOML:
//!
//! ```toml
//! [loss]
//! kind = "ucv-sw"        # "sw" | "lcv-sw" | "ucv-sw" | "max-sw" | "v-dsw"
//! projections = 10       # L
//! p = 2
//! directions = "uniform" # "uniform" | "orthogonal" | "rqmc" | "halton" (crate::directions)
//! reduction = "mean"     # "mean" | "sum" | "none"
//! power = false          # true: return SW_p^p instead of SW_p
//! ascent_optimizer = "adam" # max-sw / v-dsw: "adam" (official) | "plain"
//! ascent_steps = 50      # max-sw / v-dsw: T
//! ascent_lr = 1e-4       # max-sw / v-dsw: η
//! ```
//! Every field has a default; unknown fields are rejected. [`LossConfig::validate`] names the
//! offending field in its error.

use burn::tensor::Tensor;
use serde::{Deserialize, Serialize};

use crate::control_variates::ControlVariate;
use crate::directions::{DirectionKind, Directions};
use crate::error::{Result, SwError};
use crate::max_sliced::{AscentOptimizer, AscentOptions, MaxSwOptions, max_sw_direction};
use crate::measure::{Measure, check_pair};
use crate::sliced::{Reduction, SlicedOptions};
use crate::vmf::{self, VdswOptions};

/// The estimator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum EstimatorKind {
    /// Monte Carlo SW.
    #[default]
    #[serde(rename = "sw")]
    Sw,
    /// SW with the lower control variate.
    #[serde(rename = "lcv-sw")]
    LcvSw,
    /// SW with the upper control variate.
    #[serde(rename = "ucv-sw")]
    UcvSw,
    /// Max-sliced Wasserstein.
    #[serde(rename = "max-sw")]
    MaxSw,
    /// Distributional SW with von Mises–Fisher directions.
    #[serde(rename = "v-dsw")]
    VDsw,
}

impl EstimatorKind {
    /// The name used in configs and outputs.
    pub fn name(self) -> &'static str {
        match self {
            EstimatorKind::Sw => "sw",
            EstimatorKind::LcvSw => "lcv-sw",
            EstimatorKind::UcvSw => "ucv-sw",
            EstimatorKind::MaxSw => "max-sw",
            EstimatorKind::VDsw => "v-dsw",
        }
    }
}

impl std::fmt::Display for EstimatorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Configuration of a sliced-Wasserstein loss.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LossConfig {
    /// Which estimator.
    pub kind: EstimatorKind,
    /// Number of projections L (for max-sw: ignored).
    pub projections: usize,
    /// Exponent p ≥ 1.
    pub p: f64,
    /// Sampler of random directions (sw, lcv-sw, ucv-sw).
    pub directions: DirectionKind,
    /// Reduction over the batch.
    pub reduction: Reduction,
    /// Return SW_p^p instead of SW_p.
    pub power: bool,
    /// Control variates: use γ̂ as a constant in the backward pass.
    pub detach_gamma: bool,
    /// Max-SW / v-DSW: the ascent's optimiser (Adam with its state, or plain steps).
    pub ascent_optimizer: AscentOptimizer,
    /// Max-SW / v-DSW: ascent steps T (hsgser/Self-Amortized-DSW config.json:
    /// `max_sw_num_iters` 50).
    pub ascent_steps: usize,
    /// Max-SW / v-DSW: ascent step size η (hsgser/Self-Amortized-DSW config.json:
    /// `max_sw_lr` 1e-4).
    pub ascent_lr: f64,
    /// v-DSW: vMF concentration κ.
    pub kappa: f64,
    /// Check inputs for NaN/inf on every call (reads the `[B, L]` values back: one device
    /// sync per call on a GPU).
    pub check_finite: bool,
}

impl Default for LossConfig {
    fn default() -> Self {
        Self {
            kind: EstimatorKind::Sw,
            projections: 100,
            p: 2.0,
            directions: DirectionKind::Uniform,
            reduction: Reduction::Mean,
            power: false,
            detach_gamma: false,
            ascent_optimizer: AscentOptimizer::Adam,
            ascent_steps: 50,
            ascent_lr: 1e-4,
            kappa: 1.0,
            check_finite: true,
        }
    }
}

fn invalid(name: &'static str, message: String) -> SwError {
    SwError::InvalidParameter { name, message }
}

impl LossConfig {
    /// A default config of the given kind.
    pub fn new(kind: EstimatorKind) -> Self {
        Self {
            kind,
            ..Self::default()
        }
    }

    /// Checks every field; the error names the field.
    pub fn validate(&self) -> Result<()> {
        if self.projections == 0 && self.kind != EstimatorKind::MaxSw {
            return Err(invalid("projections", "must be at least 1, got 0".into()));
        }
        if !(self.p.is_finite() && self.p >= 1.0) {
            return Err(invalid(
                "p",
                format!("must be a finite real >= 1, got {}", self.p),
            ));
        }
        if matches!(self.kind, EstimatorKind::MaxSw | EstimatorKind::VDsw) {
            if !(self.ascent_lr.is_finite() && self.ascent_lr > 0.0) {
                return Err(invalid(
                    "ascent_lr",
                    format!("must be a finite real > 0, got {}", self.ascent_lr),
                ));
            }
        }
        if self.kind == EstimatorKind::VDsw && !(self.kappa.is_finite() && self.kappa >= 0.0) {
            return Err(invalid(
                "kappa",
                format!("must be a finite real >= 0, got {}", self.kappa),
            ));
        }
        Ok(())
    }

    fn sliced_options(&self) -> SlicedOptions {
        SlicedOptions {
            projections: self.projections,
            p: self.p,
            directions: self.directions,
            reduction: self.reduction,
            check_finite: self.check_finite,
        }
    }

    fn ascent(&self) -> AscentOptions {
        AscentOptions {
            steps: self.ascent_steps,
            lr: self.ascent_lr,
            optimizer: self.ascent_optimizer,
        }
    }

    /// The loss between two (batches of) measures: `[1]` or `[B]` per the reduction.
    pub fn forward(&self, x: &Measure, y: &Measure) -> Result<Tensor<1>> {
        self.validate()?;
        check_pair(x, y, false, self.p)?;
        let dirs = match self.kind {
            EstimatorKind::Sw | EstimatorKind::LcvSw | EstimatorKind::UcvSw => {
                crate::sliced::random_directions(x, &self.sliced_options())
            }
            EstimatorKind::MaxSw => {
                let o = MaxSwOptions {
                    p: self.p,
                    ascent: self.ascent(),
                    reduction: self.reduction,
                };
                Directions::PerPair(crate::max_sliced::on_device(
                    max_sw_direction(x, y, &o)?,
                    &x.device(),
                ))
            }
            EstimatorKind::VDsw => {
                let o = VdswOptions {
                    kappa: self.kappa,
                    projections: self.projections,
                    p: self.p,
                    ascent: self.ascent(),
                    reduction: self.reduction,
                };
                let mu = vmf::dsw_vmf_mean(x, y, &o)?;
                Directions::PerPair(vmf::sample(mu, self.kappa, self.projections)?)
            }
        };
        self.forward_with_directions(x, y, &dirs.detach())
    }

    /// The loss with caller-given directions (amortized models): the estimator's formula on
    /// those directions (Max-SW and v-DSW reduce to SW with them).
    pub fn forward_with_directions(
        &self,
        x: &Measure,
        y: &Measure,
        dirs: &Directions,
    ) -> Result<Tensor<1>> {
        self.validate()?;
        let cv = match self.kind {
            EstimatorKind::LcvSw => Some(ControlVariate::Lower),
            EstimatorKind::UcvSw => Some(ControlVariate::Upper),
            _ => None,
        };
        crate::sliced::check_all(x, y, dirs, self.p)?;
        let per_pair = match cv {
            Some(kind) => crate::control_variates::per_pair(
                x,
                y,
                dirs,
                self.p,
                kind,
                self.detach_gamma,
                self.check_finite,
            )?,
            None => crate::sliced::sw_pp_per_pair(x, y, dirs, self.p, self.check_finite)?,
        };
        let per_pair = if self.power {
            per_pair
        } else {
            crate::sliced::root(per_pair, self.p)
        };
        Ok(self.reduction.apply(per_pair))
    }
}
