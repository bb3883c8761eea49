//! Sliced Wasserstein on the sphere against the uniform measure (spherical SW, SSW; Bonet,
//! Berg, Courty, Septier, Drumetz & Pham, ICLR 2023), as POT 0.9.7 computes it
//! (`ot.sliced_wasserstein_sphere_unif`, ot/sliced/_spherical_sliced.py line 123;
//! `ot.semidiscrete_wasserstein2_unif_circle`, ot/lp/solver_circle.py line 637).
//!
//! ```text
//! x ∈ S^{d−1},  U ∈ V_{d,2} (U ᵀU = I₂):   P^U(x) = Uᵀx / ‖Uᵀx‖ ∈ S¹
//! circle coordinate   t = (π + atan2(−z₂, −z₁)) / (2π) ∈ [0, 1[     (ot.utils.get_coordinate_circle)
//! W₂²(Σ_i α_i δ_{t_i}, Unif(S¹)) = Σ α_i t_i² − (Σ α_i t_i)² + Σ α_i t_i (1 − α_i − 2 Σ_{k<i} α_k) + 1/12
//!                                   (t sorted ascending, α carried with its t)
//! SSW₂²(μ, Unif) ≈ (1/L) Σ_l W₂²(P^{U_l}♯μ, Unif(S¹)),   SSW₂ = (SSW₂²)^{1/2}
//! ```
//! Every step is a differentiable Burn op (matmul, atan2, sort with its permutation, cumsum),
//! so the value has gradients in the points and the weights.
//!
//! Labelled difference: POT sorts the coordinates but keeps the weights in their input order
//! (solver_circle.py lines 700–704), which pairs each sorted coordinate with another point's
//! weight — exact for uniform weights only. Ours carries each weight with its point; the
//! tests check uniform inputs against POT and weighted ones by the identity "weight 2/n on a
//! point = that point twice".
//!
//! Between two samples, SSW_p^p(μ, ν) ≈ (1/L) Σ_l W_p^p(P^{U_l}♯μ, P^{U_l}♯ν) with the circle
//! W_p of [`crate::circle`] (POT's `sliced_wasserstein_sphere`, _spherical_sliced.py line 20).
//!
//! Linear SSW (LSSOT; Liu, Bai, Martín, Shi, Shahbazi, Landman, Chang & Kolouri, ICLR 2025),
//! POT's `linear_sliced_wasserstein_sphere` (_spherical_sliced.py line 197):
//! LSSOT₂²(μ, ν) ≈ (1/L) Σ_l LCOT₂²(P^{U_l}♯μ, P^{U_l}♯ν) with [`crate::lcot`] (its labelled
//! difference from POT's quantile lookup applies), and against the uniform measure with
//! `y = None` (POT 0.9.7 documents `X_t = None` but reads `X_t.shape` first and fails).
//!
//! # Shapes
//! points `[B, n, d]` (unit rows), frames `[L, d, 2]` (orthonormal columns), circle
//! coordinates `[B, L, n]`, results `[B]`.

use burn::tensor::{Distribution, Tensor};

use crate::directions::Directions;
use crate::error::{Result, SwError};
use crate::measure::{Measure, all_finite};

/// POT's tolerance on ‖x‖² − 1 (`sliced_wasserstein_sphere_unif`).
pub const SPHERE_TOLERANCE: f64 = 1e-4;

/// L frames uniform on the Stiefel manifold V_{d,2}: `[L, d, 2]`, the Gram–Schmidt
/// orthonormalisation of two Gaussian columns (the Q of POT's QR up to the signs of its
/// columns, which leave the distribution and every projected distance unchanged), from the
/// device RNG.
///
/// # Errors
/// [`SwError::NoProjections`] for L = 0; [`SwError::Shape`] for d < 2.
pub fn stiefel_frames(l: usize, d: usize, device: &burn::tensor::Device) -> Result<Tensor<3>> {
    if l == 0 {
        return Err(SwError::NoProjections);
    }
    if d < 2 {
        return Err(SwError::Shape {
            what: "sphere dimension",
            expected: "d >= 2".into(),
            got: vec![d],
        });
    }
    let z = Tensor::<3>::random([l, d, 2], Distribution::Normal(0.0, 1.0), device);
    let a = z.clone().slice([0..l, 0..d, 0..1]);
    let b = z.slice([0..l, 0..d, 1..2]);
    let unit = |t: Tensor<3>| t.clone() / t.square().sum_dim(1).sqrt().clamp_min(1e-30);
    let q1 = unit(a);
    let q2 = unit(b.clone() - q1.clone() * (q1.clone() * b).sum_dim(1));
    Ok(Tensor::cat(vec![q1, q2], 2))
}

/// The circle coordinates of the points projected on each frame's great circle:
/// `[B, n, d] × [L, d, 2] → [B, L, n]`, t = (π + atan2(−z₂, −z₁))/(2π) with z = Uᵀx (the
/// normalisation of z does not change its angle).
pub fn circle_coordinates(points: &Tensor<3>, frames: &Tensor<3>) -> Tensor<3> {
    let [b, n, d] = points.dims();
    let l = frames.dims()[0];
    // [L, d, 2] → [d, 2L]: column 2l + j is frame l's column j.
    let flat = frames.clone().swap_dims(0, 1).reshape([d, 2 * l]);
    let z = points.clone().reshape([b * n, d]).matmul(flat); // [B·n, 2L]
    let z = z.reshape([b, n, l, 2]).swap_dims(1, 2); // [B, L, n, 2]
    let z1 = z.clone().slice([0..b, 0..l, 0..n, 0..1]).reshape([b, l, n]);
    let z2 = z.slice([0..b, 0..l, 0..n, 1..2]).reshape([b, l, n]);
    z2.neg()
        .atan2(z1.neg())
        .add_scalar(std::f64::consts::PI)
        // mul by 1/(2π), not div: Burn 0.22.1's backward of `div_scalar` rounds the scalar
        // to f32 (5e-8 off in f64 gradients).
        .mul_scalar(1.0 / (2.0 * std::f64::consts::PI))
}

/// W₂² between weighted samples on S¹ = [0, 1[ and the uniform measure, row by row (the closed
/// form in the module doc; values taken modulo 1): `[R, n]` (weights `[R, n]` summing to 1,
/// or uniform when `None`) → `[R]`.
pub fn semidiscrete_w2sq_unif_circle(t: Tensor<2>, weights: Option<Tensor<2>>) -> Tensor<1> {
    let [r, n] = t.dims();
    let t = t.clone() - t.floor(); // modulo 1
    let (sorted, order) = t.sort_with_indices(1);
    let alpha = match weights {
        Some(w) => w.gather(1, order),
        None => sorted.ones_like().mul_scalar(1.0 / n as f64),
    };
    let before = alpha.clone().cumsum(1) - alpha.clone(); // Σ_{k<i} α_k
    let first = (alpha.clone() * sorted.clone().square()).sum_dim(1);
    let mean = (alpha.clone() * sorted.clone()).sum_dim(1);
    let ns = alpha.clone().neg().add_scalar(1.0) - before.mul_scalar(2.0);
    let cross = (sorted * alpha * ns).sum_dim(1);
    (first - mean.square() + cross)
        .add_scalar(1.0 / 12.0)
        .reshape([r])
}

/// Checks that every point is on the sphere (one host read on failure only).
pub fn check_on_sphere(what: &'static str, points: &Tensor<3>) -> Result<()> {
    let norm_sq = points.clone().square().sum_dim(2); // [B, n, 1]
    let off = norm_sq
        .clone()
        .sub_scalar(1.0)
        .abs()
        .greater_elem(SPHERE_TOLERANCE)
        .any()
        .into_scalar::<bool>();
    if !off && all_finite(points) {
        return Ok(());
    }
    let [_, n, _] = points.dims();
    let host: Vec<f64> = norm_sq
        .into_data()
        .convert::<f64>()
        .try_to_vec::<f64>()
        .unwrap_or_default();
    let first = host
        .iter()
        .position(|v| !((v - 1.0).abs() <= SPHERE_TOLERANCE))
        .unwrap_or(0);
    Err(SwError::OffSphere {
        what,
        batch: first / n.max(1),
        point: first % n.max(1),
        norm_sq: host.get(first).copied().unwrap_or(f64::NAN),
    })
}

/// SSW₂ between each measure of a batch on S^{d−1} and the uniform measure, on given frames:
/// `[B]`, (mean over frames of the semidiscrete W₂²)^{1/2} — POT's
/// `sliced_wasserstein_sphere_unif` with `projections = frames`.
///
/// ```
/// use burn::tensor::{Device, Tensor};
/// use sw_loss::{Measure, sphere};
/// let device = Device::default();
/// // Three points a third of a turn apart on the frame's great circle: W₂² to the uniform
/// // measure is that of the grid {0, 1/3, 2/3}: 5/27 − 1/9 − 4/27 + 1/12 = 1/108.
/// let a = std::f32::consts::TAU / 3.0;
/// let x = Tensor::<2>::from_floats(
///     [[-1.0, 0.0, 0.0], [-(a.cos()), -(a.sin()), 0.0], [-(2.0 * a).cos(), -(2.0 * a).sin(), 0.0]],
///     &device,
/// );
/// let frames = Tensor::<3>::from_floats([[[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]]], &device);
/// let v = sphere::ssw_unif_with_frames(&Measure::single(x), &frames).unwrap();
/// assert!((v.into_scalar::<f32>() - (1.0f32 / 108.0).sqrt()).abs() < 1e-5);
/// ```
///
/// # Errors
/// [`SwError::OffSphere`] naming the first point off the sphere; [`SwError::Shape`] for
/// frames that are not `[L, d, 2]`; the measure's own errors (empty, weights).
pub fn ssw_unif_with_frames(x: &Measure, frames: &Tensor<3>) -> Result<Tensor<1>> {
    x.check("x", true)?;
    let [b, n, d] = x.dims();
    let l = check_frames(frames, d)?;
    check_on_sphere("x", x.points())?;
    let t = circle_coordinates(x.points(), frames).reshape([b * l, n]);
    let per_frame = semidiscrete_w2sq_unif_circle(t, per_frame_weights(x, l)).reshape([b, l]);
    Ok(per_frame.mean_dim(1).reshape([b]).clamp_min(1e-30).sqrt())
}

/// The number L of frames `[L, d, 2]` (error when the shape is not that).
fn check_frames(frames: &Tensor<3>, d: usize) -> Result<usize> {
    let [l, fd, two] = frames.dims();
    if fd != d || two != 2 || l == 0 {
        return Err(SwError::Shape {
            what: "frames",
            expected: format!("[L, {d}, 2] with L >= 1"),
            got: vec![l, fd, two],
        });
    }
    Ok(l)
}

/// The normalised weights of each measure repeated for each of the L frames, `[B·L, n]`
/// (row b·L + l), or `None` for uniform measures.
fn per_frame_weights(x: &Measure, l: usize) -> Option<Tensor<2>> {
    let [b, n, _] = x.dims();
    (!x.is_uniform()).then(|| {
        x.normalized_weights()
            .reshape([b, 1, n])
            .repeat_dim(1, l)
            .reshape([b * l, n])
    })
}

/// [`ssw_unif_with_frames`] on L frames drawn by [`stiefel_frames`] (device RNG).
///
/// # Errors
/// As [`ssw_unif_with_frames`], and [`SwError::NoProjections`] for L = 0.
pub fn ssw_unif(x: &Measure, l: usize) -> Result<Tensor<1>> {
    let d = x.dims()[2];
    let frames = stiefel_frames(l, d, &x.device())?.cast(x.points().dtype());
    ssw_unif_with_frames(x, &frames)
}

/// SSW_p between the measures of two batches on S^{d−1}, on given frames: `[B]`,
/// ((1/L) Σ_l W_p^p on the circle)^{1/p} — POT's `sliced_wasserstein_sphere` with
/// `projections = frames`. Differentiable in the points (not the weights: [`crate::circle`]).
///
/// # Errors
/// As [`ssw_unif_with_frames`] for each of x and y, [`SwError::DimMismatch`] /
/// [`SwError::BatchMismatch`], and [`SwError::InvalidP`].
pub fn ssw_with_frames(x: &Measure, y: &Measure, frames: &Tensor<3>, p: f64) -> Result<Tensor<1>> {
    crate::measure::check_pair(x, y, true, p)?;
    check_frames(frames, x.dims()[2])?;
    let rows = Directions::Shared(frames_as_directions(frames));
    Ok(crate::sliced::root(
        ssw_pp_with_directions(x, y, &rows, p)?,
        p,
    ))
}

/// [`ssw_with_frames`] on L frames drawn by [`stiefel_frames`] (device RNG).
///
/// # Errors
/// As [`ssw_with_frames`], and [`SwError::NoProjections`] for L = 0.
pub fn ssw(x: &Measure, y: &Measure, l: usize, p: f64) -> Result<Tensor<1>> {
    let d = x.dims()[2];
    let frames = stiefel_frames(l, d, &x.device())?.cast(x.points().dtype());
    ssw_with_frames(x, y, &frames, p)
}

/// Linear SSW (LSSOT₂) between the measures of two batches on S^{d−1} (`y = None`: against
/// the uniform measure), on given frames: `[B]`, ((1/L) Σ_l LCOT₂²)^{1/2} with the LCOT
/// integral on `grid` points ([`crate::lcot::POT_GRID`] = 100 as POT) — POT's
/// `linear_sliced_wasserstein_sphere` with `projections = frames` (module doc for the
/// labelled difference). Differentiable in the points (not the weights).
///
/// ```
/// use burn::tensor::{Device, Tensor};
/// use sw_loss::{Measure, lcot::POT_GRID, sphere};
/// let device = Device::default();
/// // One point each on the frame's great circle, a quarter turn apart: LCOT₂² = 0.25².
/// let x = Measure::single(Tensor::<2>::from_floats([[1.0, 0.0, 0.0]], &device));
/// let y = Measure::single(Tensor::<2>::from_floats([[0.0, 1.0, 0.0]], &device));
/// let frames = Tensor::<3>::from_floats([[[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]]], &device);
/// let v = sphere::linear_ssw_with_frames(&x, Some(&y), &frames, POT_GRID).unwrap();
/// assert!((v.into_scalar::<f32>() - 0.25).abs() < 1e-5);
/// ```
///
/// # Errors
/// As [`ssw_with_frames`] (p is 2), and [`SwError::Shape`] for `grid` = 0.
pub fn linear_ssw_with_frames(
    x: &Measure,
    y: Option<&Measure>,
    frames: &Tensor<3>,
    grid: usize,
) -> Result<Tensor<1>> {
    match y {
        Some(y) => crate::measure::check_pair(x, y, true, 2.0)?,
        None => x.check("x", true)?,
    }
    let [b, n, d] = x.dims();
    let l = check_frames(frames, d)?;
    check_on_sphere("x", x.points())?;
    let tx = circle_coordinates(x.points(), frames).reshape([b * l, n]);
    let ty = match y {
        Some(y) => {
            check_on_sphere("y", y.points())?;
            let m = y.dims()[1];
            Some(circle_coordinates(y.points(), frames).reshape([b * l, m]))
        }
        None => None,
    };
    let wy = y.and_then(|y| per_frame_weights(y, l));
    let per_frame =
        crate::lcot::lcot_sq(tx, ty, per_frame_weights(x, l), wy, grid)?.reshape([b, l]);
    Ok(crate::sliced::root(per_frame.mean_dim(1).reshape([b]), 2.0))
}

/// [`linear_ssw_with_frames`] on L frames drawn by [`stiefel_frames`] (device RNG), on POT's
/// grid of 100 points.
///
/// # Errors
/// As [`linear_ssw_with_frames`], and [`SwError::NoProjections`] for L = 0.
pub fn linear_ssw(x: &Measure, y: Option<&Measure>, l: usize) -> Result<Tensor<1>> {
    let d = x.dims()[2];
    let frames = stiefel_frames(l, d, &x.device())?.cast(x.points().dtype());
    linear_ssw_with_frames(x, y, &frames, crate::lcot::POT_GRID)
}

/// Frames `[L, d, 2]` as 2L direction rows `[2L, d]`: rows 2l and 2l + 1 are frame l's two
/// columns (the form the checked loss's `ssw` kind takes its frames in).
pub fn frames_as_directions(frames: &Tensor<3>) -> Tensor<2> {
    let [l, d, _] = frames.dims();
    frames.clone().swap_dims(1, 2).reshape([2 * l, d])
}

/// Any 2L directions (2L even) → L orthonormal frames, as 2L rows (rows 2l, 2l + 1):
/// Gram–Schmidt on each consecutive pair. On uniform directions the frames are uniform on V_{d,2} (as
/// [`stiefel_frames`]); on the `orthogonal` sampler's blocks, the pairs inside a block are
/// already orthonormal (L = d/2 planes per block, mutually orthogonal); on RQMC directions the
/// frames inherit their spread.
pub fn pair_frames(directions: &Directions) -> Directions {
    // [S, 2L, d] → [S, L, 2, d]: Gram–Schmidt on the two rows of each frame.
    fn orthonormal(t: Tensor<3>) -> Tensor<3> {
        let [sets, rows, d] = t.dims();
        let l = rows / 2;
        let t = t.reshape([sets, l, 2, d]);
        let a = t.clone().slice([0..sets, 0..l, 0..1, 0..d]);
        let b = t.slice([0..sets, 0..l, 1..2, 0..d]);
        let unit = |v: Tensor<4>| v.clone() / v.square().sum_dim(3).sqrt().clamp_min(1e-30);
        let q1 = unit(a);
        let q2 = unit(b.clone() - q1.clone() * (q1.clone() * b).sum_dim(3));
        Tensor::cat(vec![q1, q2], 2).reshape([sets, rows, d])
    }
    match directions {
        Directions::Shared(t) => {
            let [rows, d] = t.dims();
            Directions::Shared(orthonormal(t.clone().reshape([1, rows, d])).reshape([rows, d]))
        }
        Directions::PerPair(t) => Directions::PerPair(orthonormal(t.clone())),
    }
}

/// SSW_p^p per pair `[B]` on frames given as 2L direction rows (shared `[2L, d]` or one set
/// per pair `[B, 2L, d]`, rows 2l and 2l + 1 orthonormal): (1/L) Σ_l W_p^p on the circle.
///
/// # Errors
/// [`SwError::Shape`] for an odd number of rows; [`SwError::OffSphere`]; the circle's errors.
pub fn ssw_pp_with_directions(
    x: &Measure,
    y: &Measure,
    frames: &Directions,
    p: f64,
) -> Result<Tensor<1>> {
    let rows = frames.count();
    if rows == 0 || rows % 2 == 1 {
        return Err(SwError::Shape {
            what: "frames as directions",
            expected: "2L rows (two orthonormal rows per frame), L >= 1".into(),
            got: vec![rows],
        });
    }
    check_on_sphere("x", x.points())?;
    check_on_sphere("y", y.points())?;
    let l = rows / 2;
    let [b, n, _] = x.dims();
    let m = y.dims()[1];
    let coords = |pts: &Tensor<3>, k: usize| {
        let z = crate::sliced::project(pts, frames).reshape([b, l, 2, k]);
        let z1 = z
            .clone()
            .slice([0..b, 0..l, 0..1, 0..k])
            .reshape([b * l, k]);
        let z2 = z.slice([0..b, 0..l, 1..2, 0..k]).reshape([b * l, k]);
        z2.neg()
            .atan2(z1.neg())
            .add_scalar(std::f64::consts::PI)
            .mul_scalar(1.0 / (2.0 * std::f64::consts::PI))
    };
    let (tx, ty) = (coords(x.points(), n), coords(y.points(), m));
    let (wx, wy) = (per_frame_weights(x, l), per_frame_weights(y, l));
    let per_frame = crate::circle::circle_wpp(tx, ty, wx, wy, p)?.reshape([b, l]);
    Ok(per_frame.mean_dim(1).reshape([b]))
}
