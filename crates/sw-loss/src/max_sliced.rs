//! Max-sliced Wasserstein (Deshpande et al., "Max-Sliced Wasserstein Distance and its Use for
//! GANs", CVPR 2019), with the ascent of the official SA-DSW code (hsgser/Self-Amortized-DSW
//! `loss/sw_variants.py`, class `MaxSW`).
//!
//! ```text
//! Max-SW_p(μ, ν) = max_{θ ∈ S^{d−1}} W_p(θ♯μ, θ♯ν)
//! f(θ)   = objective of the ascent on the pairs b = 1..B (θ_b: [B, 1, d])
//! plain  θ_{t+1} = normalize(θ_t + η ∇f(θ_t)),          f = Σ_b W_p^p(θ_b)
//! adam   g_t = −∇f(θ_t),  m ← β₁m + (1−β₁)g,  v ← β₂v + (1−β₂)g²,
//!        θ_{t+1} = normalize(θ_t − η m̂/(√v̂ + ε)),     f = (1/B) Σ_b n·W_p^p(θ_b)
//!        (m̂ = m/(1−β₁ᵗ), v̂ = v/(1−β₂ᵗ): torch.optim.Adam; f is the official
//!        `-negative_first_moment`: Σ over the n points, mean over the batch)
//! ```
//! The official defaults are Adam, η = 1e-4, 50 iterations, betas (0.9, 0.999), ε = 1e-8
//! (hsgser/Self-Amortized-DSW config.json: `max_sw_optimizer` "adam", `max_sw_lr` 1e-4,
//! `max_sw_num_iters` 50; torch's Adam defaults for betas and ε).
//!
//! Note: projected Adam does not converge to the maximiser in general. When ∇f is parallel
//! to a fixed vector (y = x + t: W₂²(θ) = (θᵀt)², ∇ = 2(θᵀt)t), m̂/√v̂ → sign(t)
//! componentwise and θ → sign(t)/√d, so Max-SW → ‖t‖₁/√d ≤ ‖t‖ (equal when every |tᵢ| is
//! the same). The plain ascent reaches ‖t‖. Both are what the respective official options do.
//!
//! The ascent runs on detached inputs (one direction per pair, `[B, 1, d]`); the distance is
//! then computed with the final direction and is differentiable in the inputs (the envelope
//! theorem: at the maximiser, ∂/∂x of the max equals ∂/∂x at fixed θ).

use burn::tensor::Tensor;
use serde::{Deserialize, Serialize};

use crate::directions::{Directions, normalize_rows, uniform_batched};
use crate::error::{Result, SwError};
use crate::measure::{Measure, check_p, check_pair};
use crate::sliced::{BatchReduction, projected_wpp_unchecked, root};

/// The optimiser of the ascent on the sphere.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum AscentOptimizer {
    /// torch.optim.Adam with betas (0.9, 0.999) and ε = 1e-8, state kept over the T steps,
    /// then a renormalisation after each step (the official `max_sw_optimizer = "adam"`).
    #[default]
    Adam,
    /// Plain projected gradient steps θ ← normalize(θ + η∇f) on f = Σ_b W_p^p (the
    /// official `"sgd"` option up to the scale of f, which η absorbs).
    Plain,
}

/// torch.optim.Adam's default betas and ε (PyTorch docs; Burn's own Adam default ε is 1e-5).
const ADAM_BETAS: (f64, f64) = (0.9, 0.999);
const ADAM_EPSILON: f64 = 1e-8;

/// Projected gradient ascent on the sphere.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AscentOptions {
    /// Number of ascent steps T.
    pub steps: usize,
    /// Step size η > 0.
    pub lr: f64,
    /// Adam (official) or plain steps.
    pub optimizer: AscentOptimizer,
}

impl Default for AscentOptions {
    /// The official ascent: Adam, η = 1e-4, T = 50 (hsgser/Self-Amortized-DSW config.json).
    fn default() -> Self {
        Self {
            steps: 50,
            lr: 1e-4,
            optimizer: AscentOptimizer::Adam,
        }
    }
}

impl AscentOptions {
    /// `steps` plain steps of size `lr`.
    pub fn plain(steps: usize, lr: f64) -> Self {
        Self {
            steps,
            lr,
            optimizer: AscentOptimizer::Plain,
        }
    }

    /// `steps` Adam steps of size `lr`.
    pub fn adam(steps: usize, lr: f64) -> Self {
        Self {
            steps,
            lr,
            optimizer: AscentOptimizer::Adam,
        }
    }

    pub(crate) fn check(&self) -> Result<()> {
        if self.lr.is_finite() && self.lr > 0.0 {
            Ok(())
        } else {
            Err(SwError::InvalidParameter {
                name: "ascent_lr",
                message: format!("must be a finite real > 0, got {}", self.lr),
            })
        }
    }
}

/// Runs T ascent steps on detached copies of the measures (on the autodiff version of their
/// device). `objective` returns the per-pair values W_p^p `[B]` (mean over points);
/// the ascent maximises their sum (plain) or n/B times their sum (Adam, the official
/// objective). `start` and the result are `[B, …, k]` with unit rows along the last axis,
/// without autodiff history.
pub(crate) fn ascent<const D: usize>(
    x: &Measure,
    y: &Measure,
    start: Tensor<D>,
    options: &AscentOptions,
    objective: impl Fn(&Measure, &Measure, Tensor<D>) -> Result<Tensor<1>>,
) -> Result<Tensor<D>> {
    let to_ad3 = |t: Tensor<3>| t.detach().inner().autodiff();
    let to_ad2 = |t: Tensor<2>| t.detach().inner().autodiff();
    let xa = x.map(to_ad3, to_ad2);
    let ya = y.map(to_ad3, to_ad2);
    let [b, n, _] = x.dims();
    let scale = match options.optimizer {
        AscentOptimizer::Plain => 1.0,
        AscentOptimizer::Adam => n as f64 / b as f64,
    };
    let mut v = start.detach().inner();
    let mut moments: Option<(Tensor<D>, Tensor<D>)> = None;
    for step in 1..=options.steps {
        let leaf = v.clone().autodiff().require_grad();
        let value = objective(&xa, &ya, leaf.clone())?.sum().mul_scalar(scale);
        let grads = value.backward();
        let g = leaf
            .grad(&grads)
            .expect("the objective depends on the direction")
            .inner();
        let update = match options.optimizer {
            AscentOptimizer::Plain => g.mul_scalar(options.lr),
            AscentOptimizer::Adam => {
                let (b1, b2) = ADAM_BETAS;
                // Adam minimises −f; its update −η m̂/(√v̂+ε) on −f is +η m̂/(√v̂+ε) on f
                // with m built from ∇f (v uses squares, so the sign does not matter).
                let (m, s) = match moments.take() {
                    Some((m, s)) => (
                        m.mul_scalar(b1) + g.clone().mul_scalar(1.0 - b1),
                        s.mul_scalar(b2) + g.square().mul_scalar(1.0 - b2),
                    ),
                    None => (
                        g.clone().mul_scalar(1.0 - b1),
                        g.square().mul_scalar(1.0 - b2),
                    ),
                };
                let m_hat = m.clone().div_scalar(1.0 - b1.powi(step as i32));
                let s_hat = s.clone().div_scalar(1.0 - b2.powi(step as i32));
                moments = Some((m, s));
                (m_hat / s_hat.sqrt().add_scalar(ADAM_EPSILON)).mul_scalar(options.lr)
            }
        };
        v = normalize_rows(v + update);
    }
    Ok(v)
}

/// Moves a constant found by ascent (no autodiff) to `device`, which may be an autodiff one.
pub(crate) fn on_device<const D: usize>(t: Tensor<D>, device: &burn::tensor::Device) -> Tensor<D> {
    if device.is_autodiff() {
        t.autodiff()
    } else {
        t
    }
}

/// Max-SW options (default: p = 2, the official Adam ascent, mean over the batch).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MaxSwOptions {
    /// Exponent p ≥ 1.
    pub p: f64,
    /// The ascent on θ.
    pub ascent: AscentOptions,
    /// Batch reduction.
    pub reduction: BatchReduction,
}

impl Default for MaxSwOptions {
    fn default() -> Self {
        Self {
            p: 2.0,
            ascent: AscentOptions::default(),
            reduction: BatchReduction::Mean,
        }
    }
}

/// The maximising direction of each pair, found by ascent on detached inputs: `[B, 1, d]`.
pub fn max_sw_direction(x: &Measure, y: &Measure, options: &MaxSwOptions) -> Result<Tensor<3>> {
    check_p(options.p)?;
    options.ascent.check()?;
    check_pair(x, y, true, options.p)?;
    let [b, _, d] = x.dims();
    let start = uniform_batched(b, 1, d, &x.device().inner()).cast(x.points().dtype());
    let p = options.p;
    ascent(x, y, start, &options.ascent, |xa, ya, theta| {
        Ok(projected_wpp_unchecked(xa, ya, &Directions::PerPair(theta), p).squeeze_dim(1))
    })
}

/// Max-SW_p: the distance along the direction found by [`max_sw_direction`], differentiable
/// in the inputs.
pub fn max_sw(x: &Measure, y: &Measure, options: &MaxSwOptions) -> Result<Tensor<1>> {
    let theta = on_device(max_sw_direction(x, y, options)?, &x.device());
    let wpp = projected_wpp_unchecked(x, y, &Directions::PerPair(theta), options.p);
    Ok(options.reduction.apply(root(wpp.squeeze_dim(1), options.p)))
}
