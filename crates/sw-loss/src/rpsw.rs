//! Random-path sliced Wasserstein (RPSW; Nguyen, Zhang, Le & Ho, ICML 2024; official code
//! khainb/RPSW, commit d8990cf): directions drawn around the normalised differences of a
//! point of μ and a point of ν — the directions of random transport paths — instead of
//! uniformly on the sphere.
//!
//! ```text
//! i ~ μ's weights, j ~ ν's weights (independent),  m_l = (x_i − y_j) / ‖x_i − y_j‖
//! θ_l ~ PS(m_l, κ)          power spherical, density ∝ (1 + m_lᵀθ)^κ on S^{d−1}
//! RPSW_p^p(μ, ν) ≈ (1/L) Σ_l W_p^p(θ_l♯μ, θ_l♯ν)
//! ```
//! As the official `GradientFlow/main.py` lines 64–74 and `train_ddgan.py` lines 213–223: one
//! pair per direction, i and j drawn with replacement (uniformly there: our measures may carry
//! weights, and i, j follow them), from detached points (no gradient through θ), then one
//! power-spherical sample per direction. Power spherical (De Cao & Aziz 2020;
//! nicola-decao/power_spherical `distributions.py` lines 98–106): the cosine t = m_lᵀθ is
//! 2Z − 1 with Z ~ Beta((d−1)/2 + κ, (d−1)/2), the tangent part uniform, carried to m_l by the
//! Householder reflection ([`crate::vmf`]'s, exact: the official adds 1e-7 in two places,
//! leaving samples up to ~3e-4 off unit length at d = 2). `E[m_lᵀθ] = κ/(κ + d − 1)`.
//!
//! Differences from the official code, labelled: a pair with x_i = y_j (no direction; the
//! official code divides by zero) gets a uniform direction; d = 1 has no perturbation (the
//! two directions ±1 give the same W_p). Units: the mean over points (W_p^p), as
//! `train_ddgan.py` line 205; `GradientFlow/main.py` line 61 sums over points (n × ours).
//!
//! # Shapes
//! x `[B, n, d]`, y `[B, m, d]` → directions `[B, L, d]` (per pair).

use burn::tensor::{Bool, Distribution, Int, Tensor, TensorData};
use rand::Rng;
use rand_distr::{Beta, Distribution as _};

use crate::directions::normalize_rows;
use crate::error::{Result, SwError};
use crate::measure::Measure;
use crate::vmf::{Householder, around_mean, check_kappa, host_rng};

/// Default concentration κ: `--kappa 100` (khainb/RPSW `train_ddgan.py` lines 487–488; the
/// gradient flow anneals from κ₁ = 100 to 1, `GradientFlow/main.py` lines 223–232).
pub const DEFAULT_KAPPA: f64 = 100.0;

/// `count` cosines t = μᵀθ of PS(μ, κ) on S^{d−1} (d ≥ 2), on the host: t = 2Z − 1,
/// Z ~ Beta((d−1)/2 + κ, (d−1)/2).
pub fn power_spherical_cosines(d: usize, kappa: f64, count: usize, rng: &mut impl Rng) -> Vec<f64> {
    let half = (d as f64 - 1.0) / 2.0;
    let beta = Beta::new(half + kappa, half).expect("d >= 2 and kappa >= 0");
    (0..count)
        .map(|_| (2.0 * beta.sample(rng) - 1.0).clamp(-1.0, 1.0))
        .collect()
}

/// One sample of PS(μ_r, κ) per row: `μ [N, d] → [N, d]` (μ unit rows, d ≥ 2), seeded from
/// the device RNG.
///
/// # Errors
/// [`SwError::InvalidParameter`] for κ < 0 or not finite; [`SwError::Shape`] for d < 2.
pub fn power_spherical(mu: Tensor<2>, kappa: f64) -> Result<Tensor<2>> {
    check_kappa(kappa)?;
    let [n, d] = mu.dims();
    if d < 2 {
        return Err(SwError::Shape {
            what: "power-spherical mean",
            expected: "[N, d] with d >= 2".into(),
            got: vec![n, d],
        });
    }
    let mut rng = host_rng(&mu.device());
    let t = power_spherical_cosines(d, kappa, n, &mut rng);
    Ok(around_mean(mu, t, 1, Householder::Unit).reshape([n, d]))
}

/// `count` indices drawn from the normalised weights of each of the B rows (uniform when
/// `weights` is `None`): `[B, count]`, row-major.
fn draw_indices(
    b: usize,
    n: usize,
    weights: Option<&Tensor<2>>,
    count: usize,
    rng: &mut impl Rng,
) -> Vec<i64> {
    let cumulative: Option<Vec<f64>> = weights.map(|w| {
        let w: Vec<f64> = w
            .clone()
            .into_data()
            .convert::<f64>()
            .try_to_vec::<f64>()
            .expect("f64");
        let mut c = Vec::with_capacity(w.len());
        for row in w.chunks(n) {
            let total: f64 = row.iter().sum();
            let mut acc = 0.0;
            for v in row {
                acc += v / total;
                c.push(acc);
            }
        }
        c
    });
    let mut out = Vec::with_capacity(b * count);
    for row in 0..b {
        for _ in 0..count {
            let i = match &cumulative {
                None => rng.random_range(0..n),
                Some(c) => {
                    let u: f64 = rng.random();
                    let row_c = &c[row * n..(row + 1) * n];
                    row_c.partition_point(|&v| v <= u).min(n - 1)
                }
            };
            out.push(i as i64);
        }
    }
    out
}

/// Rows `index [B, L]` of `points [B, n, d]` → `[B, L, d]`.
fn gather_rows(points: &Tensor<3>, index: Vec<i64>, l: usize) -> Tensor<3> {
    let [b, _, d] = points.dims();
    let device = points.device();
    let index =
        Tensor::<3, Int>::from_data(TensorData::new(index, [b, l, 1]), &device).repeat_dim(2, d);
    points.clone().gather(1, index)
}

/// The unperturbed path directions m_l = (x_i − y_j)/‖x_i − y_j‖ for given pairs
/// (`pairs[b·L + l] = (i, j)`): `[B, L, d]`, detached; a zero difference gets a uniform
/// direction.
pub fn path_directions(x: &Measure, y: &Measure, pairs: &[(usize, usize)]) -> Tensor<3> {
    let [b, _, d] = x.dims();
    let l = pairs.len() / b.max(1);
    let xs = gather_rows(
        &x.points().clone().detach(),
        pairs.iter().map(|p| p.0 as i64).collect(),
        l,
    );
    let ys = gather_rows(
        &y.points().clone().detach(),
        pairs.iter().map(|p| p.1 as i64).collect(),
        l,
    );
    let diff = xs - ys;
    let norm = diff.clone().square().sum_dim(2).sqrt(); // [B, L, 1]
    let empty: Tensor<3, Bool> = norm.clone().lower_equal_elem(0.0).repeat_dim(2, d);
    let device = diff.device();
    let fallback = normalize_rows(Tensor::<3>::random(
        [b, l, d],
        Distribution::Normal(0.0, 1.0),
        (&device, diff.dtype()),
    ));
    (diff / norm.clamp_min(1e-300)).mask_where(empty, fallback)
}

/// L RPSW directions per pair: `[B, L, d]`, detached, seeded from the device RNG (the loss
/// kind `rpsw` draws them with `rpsw_kappa`, default [`DEFAULT_KAPPA`]).
///
/// ```
/// use burn::tensor::{Device, Tensor};
/// use sw_loss::{Measure, rpsw};
/// let device = Device::default();
/// device.seed(1);
/// // One point each: every path is x₀ − y₀ = (0, 2) up to the power-spherical spread.
/// let x = Measure::single(Tensor::<2>::from_floats([[0.0, 1.0]], &device));
/// let y = Measure::single(Tensor::<2>::from_floats([[0.0, -1.0]], &device));
/// let theta: Vec<f32> = rpsw::directions(&x, &y, 4, 1e4).unwrap().into_data().to_vec().unwrap();
/// assert!(theta.chunks(2).all(|t| t[1] > 0.99));
/// ```
///
/// # Errors
/// [`SwError::InvalidParameter`] for κ < 0 or not finite; [`SwError::NoProjections`] for
/// L = 0.
pub fn directions(x: &Measure, y: &Measure, l: usize, kappa: f64) -> Result<Tensor<3>> {
    check_kappa(kappa)?;
    if l == 0 {
        return Err(SwError::NoProjections);
    }
    let [b, n, d] = x.dims();
    let m = y.dims()[1];
    let mut rng = host_rng(&x.device());
    let is = draw_indices(b, n, x.weights(), l, &mut rng);
    let js = draw_indices(b, m, y.weights(), l, &mut rng);
    let pairs: Vec<(usize, usize)> = is
        .into_iter()
        .zip(js)
        .map(|(i, j)| (i as usize, j as usize))
        .collect();
    let means = path_directions(x, y, &pairs);
    if d < 2 {
        return Ok(means);
    }
    let means = means.inner().reshape([b * l, d]);
    let theta = power_spherical(means, kappa)?.reshape([b, l, d]);
    Ok(if x.device().is_autodiff() {
        theta.autodiff()
    } else {
        theta
    })
}
