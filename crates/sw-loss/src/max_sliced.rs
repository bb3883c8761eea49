//! Max-sliced Wasserstein (Deshpande et al., "Max-Sliced Wasserstein Distance and its Use for
//! GANs", CVPR 2019).
//!
//! ```text
//! Max-SW_p(μ, ν) = max_{θ ∈ S^{d−1}} W_p(θ♯μ, θ♯ν)
//! θ_{t+1} = (θ_t + η ∇_θ W_p^p(θ_t)) / ‖θ_t + η ∇_θ W_p^p(θ_t)‖      t = 0..T−1
//! ```
//! The ascent runs on detached inputs (one direction per pair, `[B, 1, d]`); the distance is
//! then computed with the final direction and is differentiable in the inputs (the envelope
//! theorem: at the maximiser, ∂/∂x of the max equals ∂/∂x at fixed θ).

use burn::tensor::Tensor;

use crate::directions::{Directions, normalize_rows, uniform_batched};
use crate::error::{Result, SwError};
use crate::measure::{Measure, check_p, check_pair};
use crate::sliced::{Reduction, projected_wpp_unchecked, root};

/// Projected gradient ascent on the sphere.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AscentOptions {
    /// Number of ascent steps T.
    pub steps: usize,
    /// Step size η > 0.
    pub lr: f64,
}

impl Default for AscentOptions {
    fn default() -> Self {
        Self { steps: 10, lr: 1.0 }
    }
}

impl AscentOptions {
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

/// Runs T steps of `v ← normalize(v + η ∇_v objective(x, y, v))` on detached copies of the
/// measures (on the autodiff version of their device). `start` and the result are `[B, k]`
/// or any rank with unit rows along the last axis, without autodiff history.
pub(crate) fn ascent<const D: usize>(
    x: &Measure,
    y: &Measure,
    start: Tensor<D>,
    options: &AscentOptions,
    objective: impl Fn(&Measure, &Measure, Tensor<D>) -> Tensor<1>,
) -> Result<Tensor<D>> {
    let to_ad3 = |t: Tensor<3>| t.detach().inner().autodiff();
    let to_ad2 = |t: Tensor<2>| t.detach().inner().autodiff();
    let xa = x.map(to_ad3, to_ad2);
    let ya = y.map(to_ad3, to_ad2);
    let mut v = start.detach().inner();
    for _ in 0..options.steps {
        let leaf = v.clone().autodiff().require_grad();
        let value = objective(&xa, &ya, leaf.clone());
        let grads = value.backward();
        let g = leaf
            .grad(&grads)
            .expect("the objective depends on the direction")
            .inner();
        v = normalize_rows(v + g.mul_scalar(options.lr));
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

/// Max-SW options.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MaxSwOptions {
    /// Exponent p ≥ 1.
    pub p: f64,
    /// The ascent on θ.
    pub ascent: AscentOptions,
    /// Batch reduction.
    pub reduction: Reduction,
}

impl Default for MaxSwOptions {
    fn default() -> Self {
        Self {
            p: 2.0,
            ascent: AscentOptions::default(),
            reduction: Reduction::Mean,
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
        projected_wpp_unchecked(xa, ya, &Directions::PerPair(theta), p).sum()
    })
}

/// Max-SW_p: the distance along the direction found by [`max_sw_direction`], differentiable
/// in the inputs.
pub fn max_sw(x: &Measure, y: &Measure, options: &MaxSwOptions) -> Result<Tensor<1>> {
    let theta = on_device(max_sw_direction(x, y, options)?, &x.device());
    let wpp = projected_wpp_unchecked(x, y, &Directions::PerPair(theta), options.p);
    Ok(options.reduction.apply(root(wpp.squeeze_dim(1), options.p)))
}
