//! Von Mises–Fisher directions and the v-DSW estimator.
//!
//! vMF(μ, κ) on S^{d−1} has density ∝ exp(κ μᵀθ). Sampling (Wood, "Simulation of the von
//! Mises Fisher distribution", 1994; Ulrich 1984):
//! ```text
//! w = μᵀθ:  d = 3  w = 1 + log(u + (1 − u) e^{−2κ}) / κ,  u ~ U(0, 1)      (exact inverse CDF)
//!           d ≠ 3  rejection: b = (d−1) / (2κ + √(4κ² + (d−1)²)), x₀ = (1−b)/(1+b),
//!                  c = κx₀ + (d−1) log(1 − x₀²); z ~ Beta((d−1)/2, (d−1)/2),
//!                  w = (1 − (1+b)z) / (1 − (1−b)z), accept if κw + (d−1) log(1 − x₀w) − c ≥ log u
//! θ' = (w, √(1−w²) v),  v ~ Unif(S^{d−2})                   a sample around e₁
//! θ  = H θ',  H = I − 2 uuᵀ/‖u‖²,  u = e₁ − μ                Householder: H e₁ = μ
//! ```
//! The reflection is a tensor op, so samples are differentiable in μ (reparameterisation);
//! w and v do not depend on μ. The mean resultant length is E\[μᵀθ\] = A_d(κ) = I_{d/2}(κ) /
//! I_{d/2−1}(κ).
//!
//! v-DSW (Nguyen et al., "Distributional Sliced-Wasserstein and Applications to Generative
//! Modeling", ICLR 2021; the vMF variant of Nguyen & Ho, NeurIPS 2022 "Amortized Projection
//! Optimization for Sliced Wasserstein Generative Models"):
//! ```text
//! v-DSW_p(μ, ν) = max_{ϑ ∈ S^{d−1}} ( E_{θ~vMF(ϑ, κ)} W_p^p(θ♯μ, θ♯ν) )^{1/p}
//! ```
//! estimated by T steps of projected gradient ascent on ϑ with L samples per step (the
//! official `VSW` of hsgser/Self-Amortized-DSW `loss/sw_variants.py`: Adam η = 1e-4, 50
//! iterations, the vMF mean renormalised after each step; see [`crate::max_sliced`]). v-DSW
//! samples with [`Householder::Official`], so the ascent differentiates the raw mean as the
//! official `locs` is differentiated; [`sample`] keeps the exact reflection.

use burn::tensor::{Distribution, Tensor, TensorData};
use rand::{Rng, SeedableRng, rngs::StdRng};
use rand_distr::{Beta, Distribution as _};

use crate::directions::{Directions, normalize_rows, uniform_batched};
use crate::error::{Result, SwError};
use crate::max_sliced::{AscentOptions, ascent};
use crate::measure::{Measure, check_pair};
use crate::sliced::{BatchReduction, check_all, root};

/// Checks κ ≥ 0 and finite.
pub(crate) fn check_kappa(kappa: f64) -> Result<()> {
    if kappa.is_finite() && kappa >= 0.0 {
        Ok(())
    } else {
        Err(SwError::InvalidParameter {
            name: "kappa",
            message: format!("must be a finite real >= 0, got {kappa}"),
        })
    }
}

/// `count` draws of w = μᵀθ for vMF(·, κ) on S^{d−1}, on the host.
pub fn sample_w(d: usize, kappa: f64, count: usize, rng: &mut impl Rng) -> Vec<f64> {
    let dm1 = (d - 1) as f64;
    if d == 3 && kappa > 0.0 {
        let e = (-2.0 * kappa).exp();
        return (0..count)
            .map(|_| {
                let u: f64 = rng.random();
                (1.0 + (u + (1.0 - u) * e).ln() / kappa).clamp(-1.0, 1.0)
            })
            .collect();
    }
    let b = dm1 / (2.0 * kappa + (4.0 * kappa * kappa + dm1 * dm1).sqrt());
    let x0 = (1.0 - b) / (1.0 + b);
    let c = kappa * x0 + dm1 * (1.0 - x0 * x0).ln();
    let beta = Beta::new(dm1 / 2.0, dm1 / 2.0).expect("valid beta parameters");
    (0..count)
        .map(|_| {
            loop {
                let z: f64 = beta.sample(rng);
                let w = (1.0 - (1.0 + b) * z) / (1.0 - (1.0 - b) * z);
                let u: f64 = rng.random();
                if kappa * w + dm1 * (1.0 - x0 * w).ln() - c >= u.ln() {
                    break w.clamp(-1.0, 1.0);
                }
            }
        })
        .collect()
}

/// How a sample around e₁ is carried to the mean μ (the Householder reflection H e₁ = μ).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Householder {
    /// μ normalised first, then the exact reflection `H = I − 2uuᵀ/‖u‖²`, `u = e₁ − μ`, and
    /// `√max(1 − w², 0)`: unit samples for any μ ≠ 0; the gradient in μ is tangent to the
    /// sphere (the radial part is zero). Default.
    #[default]
    Unit,
    /// As hsgser/Self-Amortized-DSW loss/von_mises_fisher.py (commit 4d7db40): μ as given
    /// (the ascent keeps it unit: sw_variants.py line 322 renormalises after each step),
    /// `û = u / (‖u‖ + 1e-5)` (line 148), `H = I − 2ûûᵀ`, and `√clamp(1 − w², 1e-10)` (line
    /// 60). The gradient flows through the raw μ, radial part included, so an Adam ascent on
    /// μ sees what the official `locs` sees (line 319). Samples have norm 1 − O(1e-5).
    Official,
}

/// L samples from vMF(μ_b, κ) for each of B mean directions: `μ [B, d] → [B, L, d]`, with
/// the exact reflection ([`Householder::Unit`]: μ normalised first).
///
/// Differentiable in μ. The host part (w) is seeded from the device RNG, so
/// `device.seed(..)` makes the whole draw reproducible.
///
/// # Errors
/// [`SwError::InvalidParameter`] for κ < 0 or not finite; [`SwError::Shape`] for d < 2;
/// [`SwError::NoProjections`] for L = 0.
pub fn sample(mu: Tensor<2>, kappa: f64, l: usize) -> Result<Tensor<3>> {
    sample_with(mu, kappa, l, Householder::Unit)
}

/// [`sample`] with the reflection chosen ([`Householder`]): `μ [B, d] → [B, L, d]`.
///
/// # Errors
/// As [`sample`].
pub fn sample_with(mu: Tensor<2>, kappa: f64, l: usize, form: Householder) -> Result<Tensor<3>> {
    check_kappa(kappa)?;
    let [b, d] = mu.dims();
    if d < 2 {
        return Err(SwError::Shape {
            what: "vMF mean",
            expected: "[B, d] with d >= 2".into(),
            got: vec![b, d],
        });
    }
    if l == 0 {
        return Err(SwError::NoProjections);
    }
    let mut rng = host_rng(&mu.device());
    let w_host = sample_w(d, kappa, b * l, &mut rng);
    Ok(around_mean(mu, w_host, l, form))
}

/// A host RNG seeded from the device RNG (two uniform draws), so `device.seed(..)` makes
/// every host-side draw of the crate reproducible.
pub(crate) fn host_rng(device: &burn::tensor::Device) -> StdRng {
    let inner = device.clone().inner();
    let seed_bits: Vec<f64> =
        Tensor::<1>::random([2], Distribution::Uniform(0.0, 16_777_216.0), &inner)
            .into_data()
            .convert::<f64>()
            .try_to_vec::<f64>()
            .expect("f64");
    StdRng::seed_from_u64(((seed_bits[0] as u64) << 24) ^ seed_bits[1] as u64)
}

/// Samples around the means `μ [B, d]` (d ≥ 2) with the given cosines `w = μᵀθ` (host,
/// `B·l` values, pair-major): θ' = (w, √(1 − w²)·v) with v uniform on S^{d−2} (device RNG),
/// carried to μ by the reflection `form` → `[B, l, d]`. Shared by every distribution of the
/// form "cosine law × uniform tangent" (vMF here, power spherical in [`crate::rpsw`]).
pub(crate) fn around_mean(
    mu: Tensor<2>,
    w_host: Vec<f64>,
    l: usize,
    form: Householder,
) -> Tensor<3> {
    let [b, d] = mu.dims();
    let device = mu.device();
    let inner = device.clone().inner();
    let dtype = mu.dtype();
    let w = Tensor::<3>::from_data(TensorData::new(w_host, [b, l, 1]), (&inner, dtype));
    let v = normalize_rows(Tensor::<3>::random(
        [b, l, d - 1],
        Distribution::Normal(0.0, 1.0),
        (&inner, dtype),
    ));
    let floor = match form {
        Householder::Unit => 0.0,
        Householder::Official => 1e-10,
    };
    let radial = (w.clone().square().neg().add_scalar(1.0))
        .clamp_min(floor)
        .sqrt();
    let around_e1 = Tensor::cat(vec![w, v * radial], 2); // [B, L, d]
    // Sampled parts are constants; bring them to μ's (possibly autodiff) device.
    let around_e1 = if device.is_autodiff() {
        around_e1.autodiff()
    } else {
        around_e1
    };
    let mu = match form {
        Householder::Unit => normalize_rows(mu),
        Householder::Official => mu,
    };
    let e1 = Tensor::<2>::zeros([b, d], (&device, dtype)).slice_fill([0..b, 0..1], 1.0);
    let u = (e1 - mu).reshape([b, 1, d]); // [B, 1, d]
    match form {
        // x − 2u(x·u)/‖u‖²
        Householder::Unit => {
            let u_norm_sq = u.clone().square().sum_dim(2).clamp_min(1e-12); // [B, 1, 1]
            let proj = (around_e1.clone() * u.clone()).sum_dim(2); // [B, L, 1]
            around_e1 - u * (proj / u_norm_sq).mul_scalar(2.0)
        }
        // x − 2û(x·û), û = u/(‖u‖ + 1e-5)
        Householder::Official => {
            let norm = u.clone().square().sum_dim(2).sqrt().add_scalar(1e-5); // [B, 1, 1]
            let u_hat = u / norm;
            let proj = (around_e1.clone() * u_hat.clone()).sum_dim(2); // [B, L, 1]
            around_e1 - u_hat * proj.mul_scalar(2.0)
        }
    }
}

/// v-DSW options.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VdswOptions {
    /// Concentration κ ≥ 0 of the vMF.
    pub kappa: f64,
    /// Samples per ascent step and for the final estimate, L.
    pub projections: usize,
    /// Exponent p ≥ 1.
    pub p: f64,
    /// The ascent on the vMF mean.
    pub ascent: AscentOptions,
    /// Batch reduction.
    pub reduction: BatchReduction,
}

impl Default for VdswOptions {
    fn default() -> Self {
        Self {
            kappa: 1.0,
            projections: 10,
            p: 2.0,
            ascent: AscentOptions::default(),
            reduction: BatchReduction::Mean,
        }
    }
}

/// The vMF mean directions found by ascent on detached inputs: `[B, d]` (no gradient).
pub fn dsw_vmf_mean(x: &Measure, y: &Measure, options: &VdswOptions) -> Result<Tensor<2>> {
    check_kappa(options.kappa)?;
    crate::measure::check_p(options.p)?;
    options.ascent.check()?;
    check_pair(x, y, true, options.p)?;
    let [b, _, d] = x.dims();
    let start = uniform_batched(b, 1, d, &x.device().inner())
        .reshape([b, d])
        .cast(x.points().dtype());
    let (kappa, l, p) = (options.kappa, options.projections, options.p);
    if l == 0 {
        return Err(SwError::NoProjections);
    }
    ascent(x, y, start, &options.ascent, |xa, ya, mu| {
        let theta = sample_with(mu, kappa, l, Householder::Official)?;
        let wpp = crate::sliced::projected_wpp_unchecked(xa, ya, &Directions::PerPair(theta), p);
        Ok(wpp.mean_dim(1).squeeze_dim::<1>(1))
    })
}

/// v-DSW_p: ascent on the vMF mean (detached inputs), then SW_p with L fresh vMF samples,
/// differentiable in the inputs.
pub fn dsw_vmf(x: &Measure, y: &Measure, options: &VdswOptions) -> Result<Tensor<1>> {
    let mu = dsw_vmf_mean(x, y, options)?;
    let mu = crate::max_sliced::on_device(mu, &x.device());
    let theta = sample_with(
        mu,
        options.kappa,
        options.projections,
        Householder::Official,
    )?
    .detach();
    let dirs = Directions::PerPair(theta);
    check_all(x, y, &dirs, options.p)?;
    let wpp = crate::sliced::projected_wpp_unchecked(x, y, &dirs, options.p);
    Ok(options
        .reduction
        .apply(root(wpp.mean_dim(1).squeeze_dim(1), options.p)))
}
