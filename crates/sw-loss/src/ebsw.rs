//! Energy-based sliced Wasserstein (EBSW; Nguyen & Ho, NeurIPS 2023; official code
//! khainb/EBSW, commit c4fbc4f): the directions are importance-weighted by an energy of their
//! own projected distance, so the slices that separate the measures count more — the same
//! projections and sorts as SW, plus a softmax over L numbers.
//!
//! ```text
//! W_l = W_p^p(θ_l♯μ, θ_l♯ν),  θ_l ~ Unif(S^{d−1}) (or any direction sampler)
//! EBSW_p^p(μ, ν) ≈ Σ_l w_l W_l,   w = softmax(W_1, …, W_L)         (f = exp)
//! EBSW_p = (EBSW_p^p)^{1/p}
//! ```
//! This is IS-EBSW with the exponential energy, "IS-EBSW-e", the variant the official README
//! recommends (README.md lines 56–63) and the gradient-flow experiments run
//! (`GradientFlow/main_point.py` lines 21, 29: `f_type='exp'`, `copy=False`): the weights are
//! **not** detached, so the gradient is Σ_l w_l (1 + W_l − EBSW_p^p) ∂W_l.
//!
//! Units (paper vs code): the paper's energy is f(W_p^p) (mean over points), which we follow;
//! the official `utils.py` lines 24–36 sum over points, D_l = n·W_l, i.e. a softmax at
//! temperature 1/n, and only for n = m. The committed fixture
//! (`scripts/fixtures/sliced_variants.py`) holds both; the tests check ours against the mean
//! form and, through the temperature, against the official sum form.
//!
//! # Shapes
//! W `[B, L]` → `[B]`.

use burn::tensor::Tensor;
use burn::tensor::activation::softmax;

/// Σ_l softmax(W)_l · W_l per pair: `[B, L] → [B]` (EBSW_p^p from the per-direction W_p^p;
/// the official sum form is `energy_weighted(n·W)`, which equals n × its value in W). The loss
/// kind `ebsw` applies it to [`crate::projected_wpp`] (or chunk by chunk) and takes the root.
///
/// # Shapes
/// `[B, L] → [B]`. No errors: any finite W.
///
/// ```
/// use burn::tensor::{Device, Tensor};
/// use sw_loss::{EstimatorKind, SlicedWassersteinConfig, SwValue, ebsw::energy_weighted};
/// let device = Device::default();
/// // Two directions with W = 0 and W = 1: weights e⁰/(1 + e), e/(1 + e).
/// let w = Tensor::<2>::from_floats([[0.0, 1.0]], &device);
/// let e = std::f32::consts::E;
/// let v = energy_weighted(w).into_scalar::<f32>();
/// assert!((v - e / (1.0 + e)).abs() < 1e-6);
/// // As a loss: EBSW_2 on 50 uniform directions.
/// let loss = SlicedWassersteinConfig::new(SwValue::Distance)
///     .with_estimator(EstimatorKind::Ebsw)
///     .with_projections(50)
///     .init()
///     .unwrap();
/// let x = Tensor::<2>::from_floats([[0.0, 0.0], [1.0, 0.0]], &device);
/// let d = loss.forward(x.clone(), x.add_scalar(1.0)).into_scalar::<f32>();
/// assert!(d > 0.0 && d <= 2f32.sqrt() + 1e-5); // ≤ max over θ of |θ·(1, 1)|
/// ```
pub fn energy_weighted(w: Tensor<2>) -> Tensor<1> {
    let [b, _] = w.dims();
    let weights = softmax(w.clone(), 1);
    (weights * w).sum_dim(1).reshape([b])
}

/// The energy weights softmax(W) per pair: `[B, L] → [B, L]`, each row summing to 1.
pub fn energy_weights(w: Tensor<2>) -> Tensor<2> {
    softmax(w, 1)
}
