//! The sliced-Wasserstein loss as a Burn module: config → [`init`](SlicedWassersteinConfig::init)
//! (checks the config once) → [`SlicedWasserstein::forward`] on plain tensors.
//!
//! ```text
//! SW_p^p(μ, ν) = E_{θ~Unif(S^{d−1})} W_p^p(θ♯μ, θ♯ν) ≈ (1/L) Σ_l W_p^p(θ_l♯μ, θ_l♯ν)
//! SwValue::Distance → SW_p = (SW_p^p)^{1/p}          SwValue::Power → SW_p^p
//! ```
//! The estimator (`EstimatorKind`: Monte Carlo, lower/upper control variates, Max-SW, v-DSW),
//! the direction sampler, the batch reduction and the memory budget are fields of the config,
//! each with its default in its doc. Points are `[n, d]` (one measure) or `[B, n, d]` (B pairs);
//! weights `[n]` or `[B, n]`.

use burn::config::Config;
use burn::module::Module;
use burn::tensor::Tensor;
use serde::{Deserialize, Serialize};

use crate::config::{EstimatorKind, LossConfig};
use crate::control_variates::Gamma;
use crate::directions::{DirectionKind, DirectionSets, Directions};
use crate::error::SwError;

/// The crate's `Result` (Burn's `Config` derive needs the plain name free).
type SwResult<T> = crate::error::Result<T>;
use crate::max_sliced::AscentOptimizer;
use crate::measure::{Measure, check_pair};
use crate::memory::MemoryPlan;
use crate::sliced::BatchReduction;

/// What a [`SlicedWasserstein`] loss returns. A required field of its config: there is no
/// silent default between the distance and its p-th power.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SwValue {
    /// SW_p, the distance (POT's `sliced_wasserstein_distance`).
    Distance,
    /// SW_p^p, its p-th power (for p = 2 the usual "SW²" training loss; unbiased under MC).
    Power,
}

/// Configuration of a [`SlicedWasserstein`] loss (Burn's `Config`: `new(value)` then `with_*`).
///
/// ```
/// use sw_loss::{EstimatorKind, SlicedWassersteinConfig, SwValue};
/// let loss = SlicedWassersteinConfig::new(SwValue::Power)
///     .with_estimator(EstimatorKind::UcvSw)
///     .with_projections(50)
///     .init()
///     .unwrap();
/// # let _ = loss;
/// ```
#[derive(Config, Debug)]
pub struct SlicedWassersteinConfig {
    /// SW_p ([`SwValue::Distance`]) or SW_p^p ([`SwValue::Power`]). Required.
    pub value: SwValue,
    /// The estimator. Default [`EstimatorKind::Sw`] (Monte Carlo).
    #[config(default = "EstimatorKind::Sw")]
    pub estimator: EstimatorKind,
    /// Directions L per call (Max-SW: unused, it finds one). Default 100.
    #[config(default = 100)]
    pub projections: usize,
    /// The exponent p ≥ 1. Default 2.
    #[config(default = 2.0)]
    pub p: f64,
    /// How the L directions are drawn (sw, lcv-sw, ucv-sw). Default [`DirectionKind::Uniform`];
    /// [`DirectionKind::Rqmc`] has a far smaller spread in d = 2, 3 (crate README).
    #[config(default = "DirectionKind::Uniform")]
    pub directions: DirectionKind,
    /// sw, lcv-sw, ucv-sw: one set of L directions for the whole batch, or an independent set
    /// per pair (`[B, L, d]`, as hsgser/Self-Amortized-DSW draws them). Default
    /// [`DirectionSets::Shared`].
    #[config(default = "DirectionSets::Shared")]
    pub direction_sets: DirectionSets,
    /// How the per-pair values combine. Default [`BatchReduction::Mean`].
    #[config(default = "BatchReduction::Mean")]
    pub reduction: BatchReduction,
    /// Control variates: differentiate through γ̂ or hold it. Default [`Gamma::Fitted`].
    #[config(default = "Gamma::Fitted")]
    pub gamma: Gamma,
    /// Max-SW / v-DSW: the ascent's optimiser. Default [`AscentOptimizer::Adam`] (official).
    #[config(default = "AscentOptimizer::Adam")]
    pub ascent_optimizer: AscentOptimizer,
    /// Max-SW / v-DSW: ascent steps T. Default 50 (hsgser/Self-Amortized-DSW config.json).
    #[config(default = 50)]
    pub ascent_steps: usize,
    /// Max-SW / v-DSW: ascent step size η. Default 1e-4 (hsgser/Self-Amortized-DSW).
    #[config(default = 1e-4)]
    pub ascent_lr: f64,
    /// v-DSW: the vMF concentration κ ≥ 0. Default 1.
    #[config(default = 1.0)]
    pub kappa: f64,
    /// gsw-circular: the radius r of the centres rθ, > 0. Default 2.0 (kimiandj/gsw
    /// code/gsw/gsw.py line 9).
    #[config(default = 2.0)]
    pub gsw_radius: f64,
    /// rpsw: the power-spherical concentration κ ≥ 0. Default 100
    /// ([`crate::rpsw::DEFAULT_KAPPA`]).
    #[config(default = 100.0)]
    pub rpsw_kappa: f64,
    /// ri-s3w: the number R ≥ 1 of Haar rotations per call. Default 1
    /// ([`crate::s3w::DEFAULT_ROTATIONS`], the official `n_rotations=1`).
    #[config(default = 1)]
    pub s3w_rotations: usize,
    /// Read the `[B, L]` values back once per call to report NaN/inf as an error (one
    /// device sync per call on a GPU). Default `true`.
    #[config(default = true)]
    pub check_finite: bool,
    /// Bytes one evaluation (forward + backward) may hold beyond its inputs; above it the
    /// directions are evaluated in chunks ([`crate::memory`]). Default 1 GiB (1 073 741 824).
    #[config(default = 1073741824)]
    pub memory_budget: u64,
    /// Draw the directions of every call from this seed (a host RNG; same directions each
    /// call, the device RNG untouched). Default `None`: the device RNG (`device.seed(..)`).
    pub seed: Option<u64>,
}

impl SlicedWassersteinConfig {
    /// Checks every field once and returns the loss.
    ///
    /// # Errors
    /// [`SwError::InvalidParameter`] naming the field (`projections` = 0, `p` < 1 or not
    /// finite, `ascent_lr` ≤ 0, `kappa` < 0, `memory_budget` = 0, `seed` with Max-SW / v-DSW).
    pub fn init(&self) -> SwResult<SlicedWasserstein> {
        let inner = self.loss_config();
        inner.validate()?;
        if self.seed.is_some() && self.estimator.directions_from_data() {
            return Err(SwError::InvalidParameter {
                name: "seed",
                message: format!(
                    "seeds the sampled directions; {} finds its directions by an ascent or \
                     from the data, with the device RNG (use device.seed)",
                    self.estimator
                ),
            });
        }
        Ok(SlicedWasserstein {
            inner,
            seed: self.seed,
        })
    }

    /// The same settings as the serde [`LossConfig`] the experiments read.
    pub fn loss_config(&self) -> LossConfig {
        LossConfig {
            kind: self.estimator,
            projections: self.projections,
            p: self.p,
            directions: self.directions,
            direction_sets: self.direction_sets,
            reduction: self.reduction,
            power: self.value == SwValue::Power,
            detach_gamma: self.gamma == Gamma::Detached,
            ascent_optimizer: self.ascent_optimizer,
            ascent_steps: self.ascent_steps,
            ascent_lr: self.ascent_lr,
            kappa: self.kappa,
            gsw_radius: self.gsw_radius,
            rpsw_kappa: self.rpsw_kappa,
            s3w_rotations: self.s3w_rotations,
            check_finite: self.check_finite,
            memory_budget: self.memory_budget,
        }
    }
}

/// A sliced-Wasserstein loss (built by [`SlicedWassersteinConfig::init`]). It is a Burn
/// [`Module`] with no parameters, so it can be a field of a `#[derive(Module)]` model as it is.
///
/// ```
/// use burn::module::Module;
/// use burn::nn::{Linear, LinearConfig};
/// use burn::tensor::{Device, Distribution, Tensor};
/// use sw_loss::{SlicedWasserstein, SlicedWassersteinConfig, SwValue};
///
/// #[derive(Module, Debug)]
/// struct Model {
///     linear: Linear,
///     loss: SlicedWasserstein, // no attribute needed
/// }
///
/// let device = Device::flex().autodiff();
/// let model = Model {
///     linear: LinearConfig::new(3, 3).init(&device),
///     loss: SlicedWassersteinConfig::new(SwValue::Power).init().unwrap(),
/// };
/// let x = Tensor::<2>::random([256, 3], Distribution::Normal(0.0, 1.0), &device);
/// let target = Tensor::<2>::random([256, 3], Distribution::Normal(2.0, 0.5), &device);
/// let loss = model.loss.forward(model.linear.forward(x), target); // SW₂², shape [1]
/// let grads = loss.backward();
/// assert!(model.linear.weight.grad(&grads).is_some());
/// ```
#[derive(Module, Debug)]
pub struct SlicedWasserstein {
    #[module(skip)]
    inner: LossConfig,
    #[module(skip)]
    seed: Option<u64>,
}

/// A point tensor of rank 2 (`[n, d]`) or 3 (`[B, n, d]`) as a batch of measures.
fn points<const D: usize>(t: Tensor<D>, what: &'static str) -> SwResult<Tensor<3>> {
    let dims = t.dims();
    match D {
        3 => Ok(t.reshape([dims[0], dims[1], dims[2]])),
        2 if dims[0] > 0 && dims[1] > 0 => Ok(t.reshape([1, dims[0], dims[1]])),
        2 => Ok(Measure::single(t.reshape([dims[0], dims[1]]))
            .points()
            .clone()),
        _ => Err(SwError::Shape {
            what,
            expected: "[n, d] or [B, n, d]".into(),
            got: dims.to_vec(),
        }),
    }
}

/// Weights of rank 1 (`[n]`) or 2 (`[B, n]`) as `[B, n]`.
fn weights<const W: usize>(t: Tensor<W>, what: &'static str) -> SwResult<Tensor<2>> {
    let dims = t.dims();
    match W {
        2 => Ok(t.reshape([dims[0], dims[1]])),
        1 => Ok(t.reshape([1, dims[0]])),
        _ => Err(SwError::Shape {
            what,
            expected: "[n] or [B, n]".into(),
            got: dims.to_vec(),
        }),
    }
}

impl SlicedWasserstein {
    /// The loss between point sets `x` and `y`, uniform weights: SW_p or SW_p^p per the
    /// config's `value`, reduced per its `reduction` (`[1]`, or `[B]` with
    /// [`BatchReduction::PerPair`]).
    ///
    /// # Shapes
    /// x `[n, d]` and y `[m, d]` (one pair), or x `[B, n, d]` and y `[B, m, d]`.
    ///
    /// # Panics
    /// On any error of [`try_forward`](Self::try_forward), with its message (as burn-nn's losses
    /// panic on bad shapes).
    pub fn forward<const D: usize>(&self, x: Tensor<D>, y: Tensor<D>) -> Tensor<1> {
        self.try_forward(x, y)
            .unwrap_or_else(|e| panic!("SlicedWasserstein: {e}"))
    }

    /// [`forward`](Self::forward), returning the error instead of panicking.
    ///
    /// # Errors
    /// [`SwError`]: `Shape` (rank, weights), `DimMismatch`, `BatchMismatch`, `Empty`,
    /// `NonFinite` (naming the batch and point), `DType`, `Device`, `MemoryBudget`.
    pub fn try_forward<const D: usize>(&self, x: Tensor<D>, y: Tensor<D>) -> SwResult<Tensor<1>> {
        let x = Measure::new(points(x, "x")?);
        let y = Measure::new(points(y, "y")?);
        self.forward_measures(&x, &y)
    }

    /// The loss between weighted point sets: `a` weighs the points of `x`, `b` those of `y`
    /// (non-negative, normalised to sum 1 per measure; gradients flow to them).
    ///
    /// # Shapes
    /// x `[n, d]`, a `[n]`, y `[m, d]`, b `[m]`; or x `[B, n, d]`, a `[B, n]`, y `[B, m, d]`,
    /// b `[B, m]`.
    ///
    /// # Errors
    /// As [`try_forward`](Self::try_forward), and `NegativeWeight`, `ZeroWeights`.
    pub fn try_forward_weighted<const D: usize, const W: usize>(
        &self,
        x: Tensor<D>,
        a: Tensor<W>,
        y: Tensor<D>,
        b: Tensor<W>,
    ) -> SwResult<Tensor<1>> {
        let x = Measure::new(points(x, "x")?).with_weights(weights(a, "weights of x")?);
        let y = Measure::new(points(y, "y")?).with_weights(weights(b, "weights of y")?);
        self.forward_measures(&x, &y)
    }

    /// [`try_forward_weighted`](Self::try_forward_weighted), panicking on error.
    ///
    /// # Panics
    /// On any error, with its message.
    pub fn forward_weighted<const D: usize, const W: usize>(
        &self,
        x: Tensor<D>,
        a: Tensor<W>,
        y: Tensor<D>,
        b: Tensor<W>,
    ) -> Tensor<1> {
        self.try_forward_weighted(x, a, y, b)
            .unwrap_or_else(|e| panic!("SlicedWasserstein: {e}"))
    }

    /// One value per pair, `[B]`, whatever the config's reduction.
    ///
    /// # Shapes
    /// x `[B, n, d]`, y `[B, m, d]` → `[B]` (a rank-2 pair gives `[1]`).
    ///
    /// # Errors
    /// As [`try_forward`](Self::try_forward).
    pub fn try_forward_per_pair<const D: usize>(
        &self,
        x: Tensor<D>,
        y: Tensor<D>,
    ) -> SwResult<Tensor<1>> {
        let x = Measure::new(points(x, "x")?);
        let y = Measure::new(points(y, "y")?);
        self.per_pair().forward_measures(&x, &y)
    }

    /// [`try_forward_per_pair`](Self::try_forward_per_pair), panicking on error.
    ///
    /// # Panics
    /// On any error, with its message.
    pub fn forward_per_pair<const D: usize>(&self, x: Tensor<D>, y: Tensor<D>) -> Tensor<1> {
        self.try_forward_per_pair(x, y)
            .unwrap_or_else(|e| panic!("SlicedWasserstein: {e}"))
    }

    /// The loss with the directions of this call drawn from `seed` (a host RNG; the device
    /// RNG is not touched, so other draws do not shift). Same shapes and errors as
    /// [`try_forward`](Self::try_forward); Max-SW / v-DSW give `InvalidParameter`.
    pub fn try_forward_seeded<const D: usize>(
        &self,
        x: Tensor<D>,
        y: Tensor<D>,
        seed: u64,
    ) -> SwResult<Tensor<1>> {
        if self.inner.kind.directions_from_data() {
            return Err(SwError::InvalidParameter {
                name: "seed",
                message: format!("{} draws no sampled directions", self.inner.kind),
            });
        }
        let x = Measure::new(points(x, "x")?);
        let y = Measure::new(points(y, "y")?);
        check_pair(&x, &y, false, self.inner.p)?;
        let dirs = self.inner.draw_directions(&x, &y, Some(seed))?;
        self.inner.evaluate(&x, &y, &dirs, Some(seed))
    }

    /// The loss between [`Measure`]s (points with optional weights), the most general form.
    ///
    /// # Errors
    /// As [`try_forward_weighted`](Self::try_forward_weighted).
    pub fn forward_measures(&self, x: &Measure, y: &Measure) -> SwResult<Tensor<1>> {
        check_pair(x, y, false, self.inner.p)?;
        let dirs = self.inner.draw_directions(x, y, self.seed)?;
        self.inner.evaluate(x, y, &dirs, self.seed)
    }

    /// The loss on caller-given directions (e.g. from an amortized network; gradients flow to
    /// them): the estimator's formula on those directions (Max-SW and v-DSW reduce to SW).
    ///
    /// # Shapes
    /// directions `[L, d]` (shared by the batch) or `[B, L, d]`, unit rows.
    ///
    /// # Errors
    /// As [`forward_measures`](Self::forward_measures), and `Shape` for the directions.
    pub fn forward_with_directions(
        &self,
        x: &Measure,
        y: &Measure,
        directions: &Directions,
    ) -> SwResult<Tensor<1>> {
        crate::sliced::check_all(x, y, directions, self.inner.p)?;
        self.inner.evaluate(x, y, directions, None)
    }

    /// The memory plan of one call on these sizes: check a size before a long run.
    ///
    /// # Errors
    /// [`SwError::MemoryBudget`] when not even one direction at a time fits the budget.
    pub fn plan_memory(
        &self,
        batch: usize,
        n: usize,
        m: usize,
        d: usize,
        dtype: burn::tensor::DType,
    ) -> SwResult<MemoryPlan> {
        self.inner.plan_memory(batch, n, m, d, dtype)
    }

    /// The settings, as the serde [`LossConfig`].
    pub fn config(&self) -> &LossConfig {
        &self.inner
    }

    fn per_pair(&self) -> SlicedWasserstein {
        SlicedWasserstein {
            inner: LossConfig {
                reduction: BatchReduction::PerPair,
                ..self.inner.clone()
            },
            seed: self.seed,
        }
    }
}
