//! One-call functions shaped as POT's `ot.sliced` (POT 0.9.7), for users coming from POT.

use burn::tensor::Tensor;

use crate::config::EstimatorKind;
use crate::error::Result;
use crate::loss::{SlicedWassersteinConfig, SwValue};
use crate::measure::Measure;

/// SW_p between two weighted point clouds, as POT's
/// `ot.sliced_wasserstein_distance(X_s, X_t, a, b, n_projections, p, seed=seed)`:
///
/// ```text
/// SW_p = ( (1/L) Σ_l W_p^p(θ_l♯μ, θ_l♯ν) )^{1/p},  θ_l ~ Unif(S^{d−1})
/// ```
/// Returns SW_p (not its p-th power), `[1]`, differentiable in the points and weights. POT's
/// defaults are `n_projections = 50`, `p = 2`; `a`/`b` = None means uniform weights; `seed`
/// draws the directions from a host RNG (None: the device RNG). POT draws its directions from
/// NumPy's generator, so equal seeds give other directions there: compare values with
/// [`crate::sliced::projected_wpp`] on given directions for exact agreement.
///
/// # Shapes
/// x_s `[n, d]`, x_t `[m, d]`, a `[n]`, b `[m]`.
///
/// # Errors
/// [`crate::SwError`] for bad shapes, weights, p < 1, `n_projections` = 0, NaN/inf.
///
/// ```
/// use burn::tensor::{Device, Distribution, Tensor};
/// use sw_loss::sliced_wasserstein_distance;
/// let device = Device::default();
/// let xs = Tensor::<2>::random([100, 2], Distribution::Normal(0.0, 1.0), &device);
/// let xt = xs.clone().add_scalar(0.0);
/// let d = sliced_wasserstein_distance(xs, xt, None, None, 50, 2.0, Some(0)).unwrap();
/// assert!(d.into_scalar::<f32>() < 1e-3); // SW_2(μ, μ) = 0
/// ```
pub fn sliced_wasserstein_distance(
    x_s: Tensor<2>,
    x_t: Tensor<2>,
    a: Option<Tensor<1>>,
    b: Option<Tensor<1>>,
    n_projections: usize,
    p: f64,
    seed: Option<u64>,
) -> Result<Tensor<1>> {
    let loss = SlicedWassersteinConfig::new(SwValue::Distance)
        .with_estimator(EstimatorKind::Sw)
        .with_projections(n_projections)
        .with_p(p)
        .with_seed(seed)
        .init()?;
    let mut x = Measure::single(x_s);
    let mut y = Measure::single(x_t);
    if let Some(a) = a {
        x = x.with_weights_1d(a);
    }
    if let Some(b) = b {
        y = y.with_weights_1d(b);
    }
    loss.forward_measures(&x, &y)
}
