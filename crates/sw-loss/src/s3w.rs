//! Stereographic spherical sliced Wasserstein, S3W and its rotation-invariant RI-S3W (Tran, Bai,
//! Kothapalli, Shahbazi, Liu, Diaz Martin & Kolouri, ICML 2024; official code mint-vu/s3wd @
//! 0250a5d, cited by file and line below).
//!
//! ```text
//! x ∈ S^d ⊂ R^{d+1}, pole = the last coordinate
//! cap        x_{d+1} ← min(x_{d+1}, c),  x_{1:d} ← x_{1:d} · √((1 − x_{d+1}²)/‖x_{1:d}‖²)
//!            (c = f32(1 − 1e-6); gradient straight through: the identity)    src/utils/s3w.py:96-104
//! stereo     s(x) = 2 x_{1:d} / (1 − x_{d+1}) ∈ R^d                        src/utils/s3w.py:87-94
//! h₁         q = max(‖s‖², 1e-8),  c' = clip((1 − q)/(1 + q), −1 + 1e-6, 1 − 1e-6),
//!            h₁(s) = arccos(c')/π · s/√q  (= (2/π) arctan‖s‖ · s/‖s‖: R^d → unit ball)
//!                                                                          src/utils/s3w.py:106-117
//! S3W_p^p(μ, ν)    = SW_p^p((h₁∘s)♯μ, (h₁∘s)♯ν)        directions in R^d  src/methods/s3wd.py:139-160
//! RI-S3W_p^p(μ, ν) = (1/R) Σ_k S3W_p^p((R_k)♯μ, (R_k)♯ν),  R_k Haar on SO(d+1), the same
//!                    directions for every rotation                        src/methods/s3wd.py:11-40
//! ```
//! Units: ours is the mean form, SW_p^p of the weighted 1-D measures (any sizes, weights); the
//! official code sums over sorted pairs (n = m only, uniform), which is n × ours. The checked
//! loss returns the p-th root unless `power` (the official code returns the power).
//!
//! Labelled difference: a point exactly at the pole (x_{d+1} = 1) gets U(−5e-7, 5e-7) noise on
//! every coordinate in the official code (s3w.py:97-99); ours moves it to the cap along e₁,
//! (√(1 − c²), 0, …, 0, c) — deterministic, and like every capped point it lands on the rim of
//! the ball where the direction does not matter to within 1e-6.
//!
//! # Shapes
//! points `[B, n, d + 1]` (unit rows) → features `[B, n, d]`; rotations `[R, d + 1, d + 1]`.

use burn::tensor::{Device, Tensor, TensorData};
use rand::{Rng, SeedableRng, rngs::StdRng};
use rand_distr::{Distribution as _, StandardNormal};

use crate::error::{Result, SwError};
use crate::measure::Measure;

/// The cap of the last coordinate: `torch.tensor(1. − 1e-6)` is float32 under torch's default
/// dtype, f32(1 − 1e-6) = 0.9999989867210388 (src/utils/s3w.py:100, `epsilon=1e-6` from
/// `s3wd(..., eps=1e-6)`, src/methods/s3wd.py:139).
pub const CAP_LAST: f64 = 0.999_999_f64 as f32 as f64;

/// h₁'s floor on ‖s‖² (src/utils/s3w.py:111, `clamp(min=1e-8)`).
pub const H_SQ_MIN: f64 = 1e-8;

/// h₁'s clip of the arccos argument away from ±1 (src/utils/s3w.py:113, `1 - 1e-6`).
pub const H_ARC_EPS: f64 = 1e-6;

/// RI-S3W's default number of rotations (src/methods/s3wd.py:11, `n_rotations=1`; the paper's
/// gradient flows use 1, 5 and 10).
pub const DEFAULT_ROTATIONS: usize = 1;

/// The official cap of each point (module doc), straight-through: the value of the capped
/// point, the gradient of the identity. `[B, n, d + 1]` → same.
pub fn cap(points: &Tensor<3>) -> Tensor<3> {
    let [b, n, e] = points.dims();
    let d = e - 1;
    let x = points.clone().detach();
    let head = x.clone().slice([0..b, 0..n, 0..d]);
    let last = x.slice([0..b, 0..n, d..e]).clamp_max(CAP_LAST);
    let head_sq = head.clone().square().sum_dim(2);
    let target = last.clone().square().neg().add_scalar(1.0).clamp_min(0.0);
    // A point with ‖x_{1:d}‖ = 0 at the north pole goes to the cap along e₁; at the south pole
    // (last = −1) it stays (target = 0).
    let empty = head_sq.clone().lower_equal_elem(0.0);
    let scale = (target.clone() / head_sq.clamp_min(1e-300)).sqrt();
    let scaled = head * scale.clone().mask_fill(empty.clone(), 1.0);
    let first = Tensor::<3>::zeros([1, 1, d], (&points.device(), points.dtype())).slice_assign(
        [0..1, 0..1, 0..1],
        Tensor::ones([1, 1, 1], (&points.device(), points.dtype())),
    );
    let fill = first * target.sqrt();
    let head = scaled.mask_where(empty.repeat_dim(2, d), fill);
    let capped = Tensor::cat(vec![head, last], 2);
    points.clone() + (capped - points.clone().detach())
}

/// The stereographic projection from the north pole e_{d+1}: s = 2 x_{1:d}/(1 − x_{d+1}),
/// `[B, n, d + 1]` → `[B, n, d]` (apply [`cap`] first: the pole itself maps to infinity).
pub fn stereographic(points: &Tensor<3>) -> Tensor<3> {
    let [b, n, e] = points.dims();
    let d = e - 1;
    let head = points.clone().slice([0..b, 0..n, 0..d]);
    let last = points.clone().slice([0..b, 0..n, d..e]);
    head.mul_scalar(2.0) / last.neg().add_scalar(1.0)
}

/// h₁: R^d → the open unit ball, s ↦ arccos(clip((1 − q)/(1 + q)))/π · s/√q with
/// q = max(‖s‖², 1e-8) (module doc). `[B, n, d]` → same.
pub fn h1(s: &Tensor<3>) -> Tensor<3> {
    let q = s.clone().square().sum_dim(2).clamp_min(H_SQ_MIN); // [B, n, 1]
    let c = (q.clone().neg().add_scalar(1.0) / q.clone().add_scalar(1.0))
        .clamp(-1.0 + H_ARC_EPS, 1.0 - H_ARC_EPS);
    let radius = c.acos().mul_scalar(1.0 / std::f64::consts::PI);
    s.clone() * (radius / q.sqrt())
}

/// The S3W features of a measure on S^d: h₁(s(cap(x))) in R^d, weights kept.
///
/// # Errors
/// [`SwError::OffSphere`] naming the first point off the sphere; [`SwError::Shape`] for
/// d + 1 < 2.
pub fn features(x: &Measure, what: &'static str) -> Result<Measure> {
    let e = x.dims()[2];
    if e < 2 {
        return Err(SwError::Shape {
            what: "S3W points",
            expected: "[B, n, d + 1] with d + 1 >= 2".into(),
            got: x.dims().to_vec(),
        });
    }
    crate::sphere::check_on_sphere(what, x.points())?;
    Ok(x.map(|p| h1(&stereographic(&cap(&p))), |w| w))
}

/// R rotations Haar-distributed on SO(k), `[R, k, k]`: Gram–Schmidt on the columns of a
/// Gaussian matrix (the Q of a QR with sign(diag R) > 0) and the first column negated when
/// det < 0, as geotorch's `SO.sample('uniform')` (the official RI-S3W's sampler). Drawn on the
/// host from `seed`, or from a host RNG seeded by the device RNG.
///
/// Hand-written: k ≤ a few hundred and O(k³) Gram–Schmidt and LU sign are 40 lines; a linear
/// algebra dependency for them is not worth its build time.
pub fn haar_rotations(
    r: usize,
    k: usize,
    seed: Option<u64>,
    device: &Device,
    dtype: burn::tensor::DType,
) -> Tensor<3> {
    let mut rng = match seed {
        Some(s) => StdRng::seed_from_u64(s),
        None => crate::vmf::host_rng(device),
    };
    let mut data = Vec::with_capacity(r * k * k);
    for _ in 0..r {
        data.extend(haar_so(k, &mut rng));
    }
    Tensor::<3>::from_data(TensorData::new(data, [r, k, k]), (device, dtype))
}

/// One Haar rotation of SO(k), row-major.
fn haar_so(k: usize, rng: &mut impl Rng) -> Vec<f64> {
    // Columns q_j, each of length k.
    let mut cols: Vec<Vec<f64>> = (0..k)
        .map(|_| (0..k).map(|_| StandardNormal.sample(rng)).collect())
        .collect();
    for j in 0..k {
        // Two passes ("twice is enough"): one pass loses orthogonality to ~1e-12 on a nearly
        // singular draw.
        for _ in 0..2 {
            for i in 0..j {
                let dot: f64 = (0..k).map(|t| cols[i][t] * cols[j][t]).sum();
                let (done, rest) = cols.split_at_mut(j);
                for (v, u) in rest[0].iter_mut().zip(&done[i]) {
                    *v -= dot * u;
                }
            }
        }
        let norm = cols[j].iter().map(|v| v * v).sum::<f64>().sqrt();
        cols[j].iter_mut().for_each(|v| *v /= norm);
    }
    let mut m: Vec<f64> = (0..k * k).map(|idx| cols[idx % k][idx / k]).collect();
    if det_sign(&m, k) < 0.0 {
        for row in 0..k {
            m[row * k] = -m[row * k];
        }
    }
    m
}

/// The sign of det(A) by LU with partial pivoting (A row-major k × k, well conditioned here).
fn det_sign(a: &[f64], k: usize) -> f64 {
    let mut a = a.to_vec();
    let mut sign = 1.0;
    for c in 0..k {
        let p = (c..k)
            .max_by(|&i, &j| a[i * k + c].abs().total_cmp(&a[j * k + c].abs()))
            .unwrap_or(c);
        if p != c {
            for t in 0..k {
                a.swap(c * k + t, p * k + t);
            }
            sign = -sign;
        }
        let pivot = a[c * k + c];
        if pivot < 0.0 {
            sign = -sign;
        }
        for i in c + 1..k {
            let f = a[i * k + c] / pivot;
            for t in c..k {
                a[i * k + t] -= f * a[c * k + t];
            }
        }
    }
    sign
}

/// Each measure rotated by each rotation, `[B·R, n, d + 1]` (row b·R + k is R_k x_b), weights
/// repeated: the batch on which RI-S3W averages S3W.
pub fn rotated(x: &Measure, rotations: &Tensor<3>) -> Measure {
    let [b, n, e] = x.dims();
    let r = rotations.dims()[0];
    // x Rᵀ for each rotation: [B, 1, n, e] × [1, R, e, e] → [B, R, n, e].
    let pts = x
        .points()
        .clone()
        .unsqueeze_dim::<4>(1)
        .matmul(rotations.clone().swap_dims(1, 2).unsqueeze_dim::<4>(0))
        .reshape([b * r, n, e]);
    let out = Measure::new(pts);
    match x.weights() {
        Some(w) => out.with_weights(
            w.clone()
                .unsqueeze_dim::<3>(1)
                .repeat_dim(1, r)
                .reshape([b * r, n]),
        ),
        None => out,
    }
}
