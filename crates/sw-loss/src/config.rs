//! One serde config for every estimator, as experiments read it from TOML:
//!
//! ```toml
//! [loss]
//! kind = "ucv-sw"        # "sw" | "lcv-sw" | "ucv-sw" | "max-sw" | "v-dsw" | "ebsw" | "rpsw"
//!                        # | "gsw-poly3" | "gsw-circular" | "max-gsw" | "ssw" | "s3w" | "ri-s3w"
//! projections = 10       # L
//! p = 2
//! directions = "uniform" # "uniform" | "orthogonal" | "rqmc" | "halton" (crate::directions)
//! direction_sets = "shared" # "shared" | "per-pair": one set for the batch or one per pair
//! reduction = "mean"     # "mean" | "sum" | "none"
//! power = false          # true: return SW_p^p instead of SW_p
//! ascent_optimizer = "adam" # max-sw / v-dsw: "adam" (official) | "plain"
//! ascent_steps = 50      # max-sw / v-dsw: T
//! ascent_lr = 1e-4       # max-sw / v-dsw: η
//! gsw_radius = 2.0       # gsw-circular, max-gsw: r
//! rpsw_kappa = 100.0     # rpsw: power-spherical κ
//! s3w_rotations = 5      # ri-s3w: rotations R
//! memory_budget = 1073741824  # bytes for one evaluation (crate::memory)
//! ```
//! The values above are an example, not the defaults: every field has a default (listed on
//! [`LossConfig`]'s fields and in [`LossConfig::default`]); unknown fields are rejected.
//! [`LossConfig::validate`] names the offending field in its error.
//!
//! This is the serde form the experiments read from TOML. In code, prefer
//! [`crate::SlicedWassersteinConfig`] (Burn's `Config` with `with_*` builders), whose
//! [`init`](crate::SlicedWassersteinConfig::init) checks once and gives a loss module.

use burn::tensor::Tensor;
use serde::{Deserialize, Serialize};

use crate::control_variates::{ControlVariate, Gamma};
use crate::directions::{DirectionKind, DirectionSets, Directions};
use crate::error::{Result, SwError};
use crate::max_sliced::{AscentOptimizer, AscentOptions, MaxSwOptions, max_sw_direction};
use crate::measure::{Measure, check_pair};
use crate::memory::{DEFAULT_MEMORY_BUDGET, MemoryPlan, Sizes, plan};
use crate::sliced::{BatchReduction, Slicing};
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
    /// Energy-based SW: directions weighted by softmax of their own W_p^p ([`crate::ebsw`]).
    #[serde(rename = "ebsw")]
    Ebsw,
    /// Random-path SW: directions around normalised differences x_i − y_j
    /// ([`crate::rpsw`]).
    #[serde(rename = "rpsw")]
    Rpsw,
    /// Generalized SW with the degree-3 polynomial defining function ([`crate::gsw`]).
    #[serde(rename = "gsw-poly3")]
    GswPoly3,
    /// Generalized SW with the circular defining function ‖x − rθ‖ ([`crate::gsw`]).
    #[serde(rename = "gsw-circular")]
    GswCircular,
    /// Max-GSW, circular defining function: one direction per pair found by the ascent
    /// ([`crate::gsw::max_gsw_direction`]).
    #[serde(rename = "max-gsw")]
    MaxGsw,
    /// Spherical SW between measures on S^{d−1}: L frames (2L directions, each consecutive
    /// pair orthonormalised, [`crate::sphere::pair_frames`]) and the circle W_p
    /// ([`crate::sphere`]); every point must be on the sphere.
    #[serde(rename = "ssw")]
    Ssw,
    /// Stereographic spherical SW: SW of h₁(stereographic(x)) in R^{d−1} ([`crate::s3w`]);
    /// every point must be on the sphere.
    #[serde(rename = "s3w")]
    S3w,
    /// Rotation-invariant S3W: S3W averaged over R Haar rotations of both measures
    /// (`s3w_rotations`, [`crate::s3w`]).
    #[serde(rename = "ri-s3w")]
    RiS3w,
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
            EstimatorKind::Ebsw => "ebsw",
            EstimatorKind::Rpsw => "rpsw",
            EstimatorKind::GswPoly3 => "gsw-poly3",
            EstimatorKind::GswCircular => "gsw-circular",
            EstimatorKind::MaxGsw => "max-gsw",
            EstimatorKind::Ssw => "ssw",
            EstimatorKind::S3w => "s3w",
            EstimatorKind::RiS3w => "ri-s3w",
        }
    }

    /// Every kind, in the order of the docs.
    pub const ALL: [EstimatorKind; 13] = [
        EstimatorKind::Sw,
        EstimatorKind::LcvSw,
        EstimatorKind::UcvSw,
        EstimatorKind::MaxSw,
        EstimatorKind::VDsw,
        EstimatorKind::Ebsw,
        EstimatorKind::Rpsw,
        EstimatorKind::GswPoly3,
        EstimatorKind::GswCircular,
        EstimatorKind::MaxGsw,
        EstimatorKind::Ssw,
        EstimatorKind::S3w,
        EstimatorKind::RiS3w,
    ];

    /// Whether the directions come from an ascent or from the data (not from a sampler, so a
    /// host seed cannot draw them): max-sw, v-dsw, rpsw, max-gsw.
    pub fn directions_from_data(self) -> bool {
        matches!(
            self,
            EstimatorKind::MaxSw
                | EstimatorKind::VDsw
                | EstimatorKind::Rpsw
                | EstimatorKind::MaxGsw
        )
    }

    /// Whether one direction per pair is found by an ascent (max-sw, max-gsw): L is unused.
    pub fn is_max(self) -> bool {
        matches!(self, EstimatorKind::MaxSw | EstimatorKind::MaxGsw)
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
    /// sw, lcv-sw, ucv-sw: one set of L directions shared by the B pairs, or an independent
    /// set per pair ([`DirectionSets`]). Default `shared`.
    pub direction_sets: DirectionSets,
    /// BatchReduction over the batch.
    pub reduction: BatchReduction,
    /// Return SW_p^p instead of SW_p.
    pub power: bool,
    /// Control variates: use γ̂ as a constant in the backward pass.
    pub detach_gamma: bool,
    /// Max-SW / v-DSW: the ascent's optimiser (Adam with its state, or plain steps). Default
    /// `adam`.
    pub ascent_optimizer: AscentOptimizer,
    /// Max-SW / v-DSW: ascent steps T (hsgser/Self-Amortized-DSW config.json:
    /// `max_sw_num_iters` 50).
    pub ascent_steps: usize,
    /// Max-SW / v-DSW: ascent step size η (hsgser/Self-Amortized-DSW config.json:
    /// `max_sw_lr` 1e-4).
    pub ascent_lr: f64,
    /// v-DSW: vMF concentration κ. Default 1.
    pub kappa: f64,
    /// gsw-circular: radius r of the centres rθ. Default 2.0 (kimiandj/gsw code/gsw/gsw.py
    /// line 9, `radius=2.0`).
    pub gsw_radius: f64,
    /// rpsw: power-spherical concentration κ. Default 100 ([`crate::rpsw::DEFAULT_KAPPA`]).
    pub rpsw_kappa: f64,
    /// ri-s3w: number R of Haar rotations, drawn afresh on every call. Default 1
    /// ([`crate::s3w::DEFAULT_ROTATIONS`], the official `n_rotations=1`).
    pub s3w_rotations: usize,
    /// Check inputs for NaN/inf on every call (reads the `[B, L]` values back: one device
    /// sync per call on a GPU). Default `true`.
    pub check_finite: bool,
    /// Bytes one evaluation (forward + backward) may hold beyond its inputs; above it the
    /// directions are evaluated in chunks ([`crate::memory`]). Default 1 GiB.
    pub memory_budget: u64,
}

impl Default for LossConfig {
    fn default() -> Self {
        Self {
            kind: EstimatorKind::Sw,
            projections: 100,
            p: 2.0,
            directions: DirectionKind::Uniform,
            direction_sets: DirectionSets::Shared,
            reduction: BatchReduction::Mean,
            power: false,
            detach_gamma: false,
            ascent_optimizer: AscentOptimizer::Adam,
            ascent_steps: 50,
            ascent_lr: 1e-4,
            kappa: 1.0,
            gsw_radius: 2.0,
            rpsw_kappa: crate::rpsw::DEFAULT_KAPPA,
            s3w_rotations: crate::s3w::DEFAULT_ROTATIONS,
            check_finite: true,
            memory_budget: DEFAULT_MEMORY_BUDGET,
        }
    }
}

/// Mixed into a call's host seed for ri-s3w's rotations, so they are not drawn from the same
/// stream as the directions.
const ROTATION_STREAM: u64 = 0x005E_ED0F_0074_7105;

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
        if self.projections == 0 && !self.kind.is_max() {
            return Err(invalid("projections", "must be at least 1, got 0".into()));
        }
        if !(self.p.is_finite() && self.p >= 1.0) {
            return Err(invalid(
                "p",
                format!("must be a finite real >= 1, got {}", self.p),
            ));
        }
        if matches!(
            self.kind,
            EstimatorKind::MaxSw | EstimatorKind::VDsw | EstimatorKind::MaxGsw
        ) && !(self.ascent_lr.is_finite() && self.ascent_lr > 0.0)
        {
            return Err(invalid(
                "ascent_lr",
                format!("must be a finite real > 0, got {}", self.ascent_lr),
            ));
        }
        if self.memory_budget == 0 {
            return Err(invalid(
                "memory_budget",
                "must be at least 1 byte, got 0".into(),
            ));
        }
        if matches!(
            self.kind,
            EstimatorKind::GswCircular | EstimatorKind::MaxGsw
        ) && !(self.gsw_radius.is_finite() && self.gsw_radius > 0.0)
        {
            return Err(invalid(
                "gsw_radius",
                format!("must be a finite real > 0, got {}", self.gsw_radius),
            ));
        }
        if self.kind == EstimatorKind::Rpsw
            && !(self.rpsw_kappa.is_finite() && self.rpsw_kappa >= 0.0)
        {
            return Err(invalid(
                "rpsw_kappa",
                format!("must be a finite real >= 0, got {}", self.rpsw_kappa),
            ));
        }
        if self.kind == EstimatorKind::RiS3w && self.s3w_rotations == 0 {
            return Err(invalid("s3w_rotations", "must be at least 1, got 0".into()));
        }
        if self.kind == EstimatorKind::VDsw && !(self.kappa.is_finite() && self.kappa >= 0.0) {
            return Err(invalid(
                "kappa",
                format!("must be a finite real >= 0, got {}", self.kappa),
            ));
        }
        Ok(())
    }

    fn ascent(&self) -> AscentOptions {
        AscentOptions {
            steps: self.ascent_steps,
            lr: self.ascent_lr,
            optimizer: self.ascent_optimizer,
        }
    }

    /// The memory plan of one evaluation on these sizes ([`crate::memory::plan`]): call it
    /// before a run to refuse a size that cannot fit, with the error naming the budget.
    ///
    /// # Errors
    /// [`SwError::MemoryBudget`] when not even one direction at a time fits.
    pub fn plan_memory(
        &self,
        batch: usize,
        n: usize,
        m: usize,
        d: usize,
        dtype: burn::tensor::DType,
    ) -> Result<MemoryPlan> {
        let per_pair =
            self.kind.directions_from_data() || self.direction_sets == DirectionSets::PerPair;
        let d = self.sliced_dimension(d);
        let projections = if self.kind.is_max() {
            1
        } else {
            self.projections
        };
        let sizes = Sizes {
            batch,
            n,
            m,
            d,
            projections,
            per_pair_directions: per_pair,
            dtype,
        };
        let memory = plan(&sizes, self.memory_budget)?;
        if self.kind == EstimatorKind::VDsw && memory.is_chunked() {
            // The vMF ascent differentiates SW on all L directions of each pair at once.
            let need = crate::memory::unchunked_bytes(&sizes);
            return Err(SwError::MemoryBudget {
                budget: self.memory_budget,
                need,
                detail: format!(
                    "v-dsw's ascent evaluates all L = {} directions of each of the B = {batch} \
                     pairs at once (n = {n}, m = {m}, d = {d}); it is not chunked",
                    self.projections
                ),
            });
        }
        Ok(memory)
    }

    /// The loss between two (batches of) measures: `[1]` or `[B]` per the reduction; SW_p,
    /// or SW_p^p with `power`.
    ///
    /// # Errors
    /// Any [`SwError`] of the config ([`LossConfig::validate`]) or the inputs (shapes, weights,
    /// NaN/inf, dtype, device, memory budget).
    pub fn forward(&self, x: &Measure, y: &Measure) -> Result<Tensor<1>> {
        self.validate()?;
        check_pair(x, y, false, self.p)?;
        if self.kind == EstimatorKind::VDsw {
            let [b, n, d] = x.dims();
            self.plan_memory(b, n, y.dims()[1], d, x.points().dtype())?;
        }
        let dirs = self.draw_directions(x, y, None)?;
        self.evaluate(x, y, &dirs, None)
    }

    /// The directions of one call: sampled (from `seed`'s host RNG when given, else the
    /// device RNG), or found by the Max-SW / v-DSW ascent. Inputs already checked.
    pub(crate) fn draw_directions(
        &self,
        x: &Measure,
        y: &Measure,
        seed: Option<u64>,
    ) -> Result<Directions> {
        let dirs = match self.kind {
            EstimatorKind::Sw
            | EstimatorKind::LcvSw
            | EstimatorKind::UcvSw
            | EstimatorKind::Ebsw
            | EstimatorKind::GswPoly3
            | EstimatorKind::GswCircular
            | EstimatorKind::S3w
            | EstimatorKind::RiS3w => crate::directions::sample_sets(
                self.directions,
                self.direction_sets,
                [
                    x.dims()[0],
                    self.projections,
                    self.sliced_dimension(x.dims()[2]),
                ],
                seed,
                &x.device(),
                x.points().dtype(),
            ),
            EstimatorKind::Ssw => crate::sphere::pair_frames(&crate::directions::sample_sets(
                self.directions,
                self.direction_sets,
                [x.dims()[0], 2 * self.projections, x.dims()[2]],
                seed,
                &x.device(),
                x.points().dtype(),
            )),
            EstimatorKind::MaxGsw => {
                let o = MaxSwOptions {
                    p: self.p,
                    ascent: self.ascent(),
                    reduction: self.reduction,
                };
                Directions::PerPair(crate::max_sliced::on_device(
                    crate::gsw::max_gsw_direction(x, y, self.slicing(), None, &o)?,
                    &x.device(),
                ))
            }
            EstimatorKind::Rpsw => Directions::PerPair(crate::rpsw::directions(
                x,
                y,
                self.projections,
                self.rpsw_kappa,
            )?),
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
                Directions::PerPair(vmf::sample_with(
                    mu,
                    self.kappa,
                    self.projections,
                    vmf::Householder::Official,
                )?)
            }
        };
        Ok(dirs.detach())
    }

    /// The loss with caller-given directions (amortized models): the estimator's formula on
    /// those directions (Max-SW and v-DSW reduce to SW with them). For `ssw` the directions
    /// are L frames as 2L rows, rows 2l and 2l + 1 orthonormal
    /// ([`crate::sphere::frames_as_directions`]).
    ///
    /// # Errors
    /// As [`LossConfig::forward`], and [`SwError::Shape`] for directions that are not `[L, d]`
    /// or `[B, L, d]`.
    pub fn forward_with_directions(
        &self,
        x: &Measure,
        y: &Measure,
        dirs: &Directions,
    ) -> Result<Tensor<1>> {
        self.validate()?;
        check_pair(x, y, false, self.p)?;
        // ri-s3w: the features' shape without drawing rotations (the evaluation draws them).
        let shape_of = LossConfig {
            kind: match self.kind {
                EstimatorKind::RiS3w => EstimatorKind::S3w,
                kind => kind,
            },
            ..self.clone()
        };
        let (xs, ys) = shape_of.lifted(x, y, None)?;
        crate::sliced::check_all(&xs, &ys, dirs, self.p)?;
        self.evaluate(x, y, dirs, None)
    }

    /// The dimension the directions live in: F = C(d + 2, 3) for gsw-poly3 (the lifted
    /// points, [`crate::gsw`]), d − 1 for s3w and ri-s3w (the stereographic plane,
    /// [`crate::s3w`]), d otherwise.
    pub fn sliced_dimension(&self, d: usize) -> usize {
        match self.kind {
            EstimatorKind::GswPoly3 => crate::gsw::poly_feature_count(d, crate::gsw::POLY3_DEGREE),
            EstimatorKind::S3w | EstimatorKind::RiS3w => d.saturating_sub(1),
            _ => d,
        }
    }

    /// The measures the directions slice: lifted by φ₃ for gsw-poly3, the S3W features for
    /// s3w, and for ri-s3w the features of R rotated copies (`[B·R, n, d − 1]`, row b·R + k;
    /// rotations from `seed`'s host RNG when given), as given otherwise.
    fn lifted(&self, x: &Measure, y: &Measure, seed: Option<u64>) -> Result<(Measure, Measure)> {
        Ok(match self.kind {
            EstimatorKind::GswPoly3 => {
                let k = crate::gsw::POLY3_DEGREE;
                (crate::gsw::lift(x, k), crate::gsw::lift(y, k))
            }
            EstimatorKind::S3w => (crate::s3w::features(x, "x")?, crate::s3w::features(y, "y")?),
            EstimatorKind::RiS3w => {
                let e = x.dims()[2];
                let rotations = crate::s3w::haar_rotations(
                    self.s3w_rotations,
                    e,
                    seed.map(|s| s ^ ROTATION_STREAM),
                    &x.device(),
                    x.points().dtype(),
                );
                (
                    crate::s3w::features(&crate::s3w::rotated(x, &rotations), "x")?,
                    crate::s3w::features(&crate::s3w::rotated(y, &rotations), "y")?,
                )
            }
            _ => (x.clone(), y.clone()),
        })
    }

    fn slicing(&self) -> Slicing {
        if matches!(
            self.kind,
            EstimatorKind::GswCircular | EstimatorKind::MaxGsw
        ) {
            Slicing::Circular {
                radius: self.gsw_radius,
            }
        } else {
            Slicing::Linear
        }
    }

    /// The estimate on checked inputs: SW_p^p per pair within the memory budget, the root
    /// unless `power`, the reduction.
    pub(crate) fn evaluate(
        &self,
        x: &Measure,
        y: &Measure,
        dirs: &Directions,
        seed: Option<u64>,
    ) -> Result<Tensor<1>> {
        let per_pair = self.per_pair_power(x, y, dirs, seed)?;
        let per_pair = if self.power {
            per_pair
        } else {
            crate::sliced::root(per_pair, self.p)
        };
        Ok(self.reduction.apply(per_pair))
    }

    /// SW_p^p (or CV-SW_p^p) per pair `[B]` on checked inputs, chunked over the directions
    /// when the whole evaluation would exceed `memory_budget`. `seed`: the host seed of the
    /// call, for ri-s3w's rotations (the device RNG otherwise).
    pub(crate) fn per_pair_power(
        &self,
        x: &Measure,
        y: &Measure,
        dirs: &Directions,
        seed: Option<u64>,
    ) -> Result<Tensor<1>> {
        if self.kind == EstimatorKind::Ssw {
            // Not chunked: the circle search holds [B·L, n + m] on the host either way.
            return crate::sphere::ssw_pp_with_directions(x, y, dirs, self.p);
        }
        if self.kind == EstimatorKind::RiS3w {
            // S3W on the B·R rotated pairs, the same directions for every rotation (official),
            // then the mean over the R rotations of each pair.
            let r = self.s3w_rotations;
            let (lx, ly) = self.lifted(x, y, seed)?;
            let dirs = match dirs {
                Directions::Shared(t) => Directions::Shared(t.clone()),
                Directions::PerPair(t) => {
                    let [b, l, f] = t.dims();
                    Directions::PerPair(t.clone().unsqueeze_dim::<4>(1).repeat_dim(1, r).reshape([
                        b * r,
                        l,
                        f,
                    ]))
                }
            };
            let s3w = LossConfig {
                kind: EstimatorKind::Sw,
                ..self.clone()
            };
            let b = x.dims()[0];
            let per_rotation = s3w.per_pair_power(&lx, &ly, &dirs, None)?;
            return Ok(per_rotation.reshape([b, r]).mean_dim(1).reshape([b]));
        }
        let (lifted_x, lifted_y) = self.lifted(x, y, seed)?;
        let (x, y) = (&lifted_x, &lifted_y);
        let [b, n, d] = x.dims();
        let m = y.dims()[1];
        let sizes = Sizes {
            batch: b,
            n,
            m,
            d,
            projections: dirs.count(),
            per_pair_directions: matches!(dirs, Directions::PerPair(_)),
            dtype: x.points().dtype(),
        };
        let memory = plan(&sizes, self.memory_budget)?;
        let gamma = if self.detach_gamma {
            Gamma::Detached
        } else {
            Gamma::Fitted
        };
        let cv = match self.kind {
            EstimatorKind::LcvSw => Some(ControlVariate::Lower),
            EstimatorKind::UcvSw => Some(ControlVariate::Upper),
            _ => None,
        };
        let (p, check, slicing) = (self.p, self.check_finite, self.slicing());
        let chunk = memory.chunk;
        if self.kind == EstimatorKind::Ebsw {
            let combine = crate::ebsw::energy_weighted;
            return if memory.is_chunked() {
                crate::chunked::combined_per_pair(x, y, dirs, p, slicing, chunk, check, combine)
            } else {
                let w = crate::sliced::projected_wpp_with(x, y, dirs, p, slicing);
                if check {
                    crate::sliced::ensure_finite(&w, x, y, dirs)?;
                }
                Ok(combine(w))
            };
        }
        match (cv, memory.is_chunked()) {
            (Some(kind), false) => {
                crate::control_variates::per_pair(x, y, dirs, p, kind, gamma, check)
            }
            (Some(kind), true) => {
                crate::chunked::cv_per_pair(x, y, dirs, p, kind, gamma, chunk, check)
            }
            (None, false) => crate::sliced::sw_pp_per_pair(x, y, dirs, p, slicing, check),
            (None, true) => crate::chunked::sw_pp_per_pair(x, y, dirs, p, slicing, chunk, check),
        }
    }
}
