//! Linear circular optimal transport (LCOT; Martin, Medri, Bai, Liu, Yan, Rohde & Kolouri,
//! ICLR 2024) with the uniform reference η = Unif(S¹), as POT 0.9.7 computes it
//! (`ot.lp.linear_circular_ot`, ot/lp/solver_circle.py line 766; the embedding
//! `linear_circular_embedding`, line 708).
//!
//! ```text
//! μ on S¹ = [0, 1[ (values taken modulo 1), F_μ its cdf, F_μ⁻¹(q) = min{x : F_μ(x) ≥ q}
//! embedding   μ̂(s) = (F_μ⁻¹((s − ∫z dμ(z) + ½) mod 1) − s) mod 1                 ∈ [0, 1[
//! distance    d_{S¹}(a, b) = min(|a − b|, 1 − |a − b|)
//! LCOT₂²(μ, ν) = ∫₀¹ d_{S¹}(μ̂(s), ν̂(s))² ds  ≈  (1/K) Σ_{k<K} d_{S¹}(μ̂(k/K), ν̂(k/K))²
//! LCOT₂²(μ, Unif) = ∫₀¹ d_{S¹}(μ̂(s), 0)² ds       (the uniform measure embeds to 0)
//! ```
//! The integral is taken on POT's grid s_k = k/K with K = [`POT_GRID`] = 100
//! (`nx.linspace(0, 1, 101)[:-1]`, solver_circle.py line 824); a larger `grid` converges to the
//! integral.
//!
//! Labelled difference: POT looks the quantile up in the cdf *padded with a leading 0*
//! (solver_circle.py line 755) with `searchsorted`, which returns the atom after the right one
//! for every level q > 0 (the first of u = [0.2, 0.5, 0.8] is reached only at q = 0, so
//! `F⁻¹(0.01)` comes out 0.5). Ours is the definition above (the smallest atom whose cdf
//! reaches q); the fixture generator `scripts/fixtures/sliced_plans_pot.py` computes POT's
//! function with the lookup fixed, and the tests check both the fixed values and the closed
//! forms of a one-atom measure.
//!
//! A level q that equals a cdf step up to rounding (|q − F(x_i)| ≤ 1000 ε of the dtype) picks
//! x_i, as it does in exact arithmetic; POT's pick there depends on the last bits of its sums.
//!
//! The atoms are picked on the host (one read of the values: a sort per row, K quantile
//! lookups) and gathered on the device, so the device holds `[R, K]`, not the sorted `[R, n]`.
//!
//! Gradients: the atom picked at each level is piecewise constant in the data, so gradients
//! flow through the picked values (and the modulo's identity derivative) into the points; the
//! weights enter as constants (the cdf only chooses atoms).
//!
//! # Shapes
//! values `[R, n]` (and `[R, m]`), weights of the same shapes (rows summing to 1) or uniform,
//! embeddings `[R, K]`, results `[R]`.

use burn::tensor::{Int, Tensor};

use crate::error::{Result, SwError};
use crate::host::host;

/// POT's number of grid points for the integral over the reference circle (ot/lp/
/// solver_circle.py line 824: `nx.linspace(0, 1, 101)[:-1]`).
pub const POT_GRID: usize = 100;

/// A quantile level within this many ε of the dtype from a cdf step counts as on the step.
const TIE_ULPS: f64 = 1e3;

/// x − ⌊x⌋, with the identity's derivative.
fn wrap<const D: usize>(t: Tensor<D>) -> Tensor<D> {
    t.clone() - t.floor()
}

/// The LCOT embedding μ̂(k/K) of each row: `[R, n]` values (modulo 1), optional weights
/// `[R, n]` (rows summing to 1) → `[R, K]` in [0, 1[.
///
/// # Errors
/// [`SwError::Shape`] for an empty row, weights of another shape, or `grid` = 0;
/// [`SwError::NonFinite`] for NaN/inf values.
pub fn embedding(t: Tensor<2>, weights: Option<Tensor<2>>, grid: usize) -> Result<Tensor<2>> {
    let [r, n] = t.dims();
    if n == 0 || grid == 0 {
        return Err(SwError::Shape {
            what: "LCOT values and grid",
            expected: "at least one value per row and grid >= 1".into(),
            got: vec![r, n, grid],
        });
    }
    if let Some(w) = &weights
        && w.dims() != [r, n]
    {
        return Err(SwError::Shape {
            what: "LCOT weights",
            expected: format!("[{r}, {n}]"),
            got: w.dims().to_vec(),
        });
    }
    let device = t.device();
    let dtype = t.dtype();
    let wrapped = wrap(t);
    // A level within `tie` of a cdf step is that step (the lower atom), as in exact
    // arithmetic: the mean and the cdf are sums whose last bits depend on the order.
    let tie = TIE_ULPS
        * if dtype == burn::tensor::DType::F64 {
            f64::EPSILON
        } else {
            f32::EPSILON as f64
        };
    let values = host(&wrapped);
    if values.iter().any(|v| !v.is_finite()) {
        return Err(SwError::NonFinite {
            what: "LCOT values",
        });
    }
    let alphas = weights.map(|w| host(&w));
    let index = atoms_at_levels(&values, alphas.as_deref(), [r, n], grid, tie, dtype);
    let index =
        Tensor::<2, Int>::from_data(burn::tensor::TensorData::new(index, [r, grid]), &device);
    let s = Tensor::<1, Int>::arange(0..grid as i64, &device)
        .float()
        .cast(dtype)
        .mul_scalar(1.0 / grid as f64)
        .reshape([1, grid]);
    Ok(wrap(wrapped.gather(1, index) - s))
}

/// For each row (values in [0, 1[, weights or uniform) and each grid level s_k = k/K, the
/// input index of the atom F⁻¹((s_k − mean + ½) mod 1) (the first in ascending order whose cdf
/// reaches the level, within `tie`): `[R·K]` row-major. Host, f64, rows in parallel; the sort
/// is a radix sort of the f32 keys when the tensor is f32.
fn atoms_at_levels(
    values: &[f64],
    weights: Option<&[f64]>,
    [r, n]: [usize; 2],
    grid: usize,
    tie: f64,
    dtype: burn::tensor::DType,
) -> Vec<i64> {
    use rayon::prelude::*;
    let mut out = vec![0i64; r * grid];
    out.par_chunks_mut(grid).enumerate().for_each_init(
        || {
            (
                vec![0u32; n],
                vec![0f64; n],
                vec![0f32; n],
                Vec::new(),
                Vec::new(),
            )
        },
        |(perm, sorted, keys, packed, tmp), (row, picks)| {
            let v = &values[row * n..(row + 1) * n];
            if dtype == burn::tensor::DType::F64 {
                crate::kernel::radix::argsort_f64(v, sorted, perm);
            } else {
                let v32: Vec<f32> = v.iter().map(|&x| x as f32).collect();
                crate::kernel::radix::argsort_f32(&v32, keys, perm, packed, tmp);
            }
            let w = weights.map(|w| &w[row * n..(row + 1) * n]);
            let mean = match w {
                Some(w) => v.iter().zip(w).map(|(a, b)| a * b).sum::<f64>(),
                None => v.iter().sum::<f64>() / n as f64,
            };
            let cdf: Option<Vec<f64>> = w.map(|w| {
                let mut acc = 0.0;
                perm.iter()
                    .map(|&i| {
                        acc += w[i as usize];
                        acc
                    })
                    .collect()
            });
            for (k, pick) in picks.iter_mut().enumerate() {
                let q = k as f64 / grid as f64 - mean + 0.5;
                let q = q - q.floor() - tie;
                // #{i : cdf_i < q}: ⌈qn⌉ − 1 for cdf_i = (i + 1)/n.
                let count = match &cdf {
                    Some(c) => c.partition_point(|&x| x < q),
                    None => ((q * n as f64).ceil() - 1.0).max(0.0) as usize,
                };
                *pick = perm[count.min(n - 1)] as i64;
            }
        },
    );
    out
}

/// d_{S¹}(a, b)² averaged over the grid: `[R, K]` × `[R, K]` → `[R]`.
fn mean_circle_sq(a: Tensor<2>, b: Option<Tensor<2>>) -> Tensor<1> {
    let r = a.dims()[0];
    let gap = match b {
        Some(b) => (a - b).abs(),
        None => a,
    };
    let dist = gap.clone().min_pair(gap.neg().add_scalar(1.0));
    dist.square().mean_dim(1).reshape([r])
}

/// LCOT₂² between the rows of `u` `[R, n]` and `v` `[R, m]` (values modulo 1; `v = None`:
/// against the uniform measure), with weights or uniform, on a grid of `grid` points
/// ([`POT_GRID`] as POT): `[R]`, differentiable in the values.
///
/// ```
/// use burn::tensor::{Device, Tensor};
/// use sw_loss::lcot::{POT_GRID, lcot_sq};
/// let device = Device::default();
/// // One atom each, at 0.1 and 0.3: both embeddings are constant (0.1 − ½ and 0.3 − ½ mod 1),
/// // so LCOT₂² is the squared arc 0.2² between the atoms.
/// let u = Tensor::<2>::from_floats([[0.1]], &device);
/// let v = Tensor::<2>::from_floats([[0.3]], &device);
/// let w = lcot_sq(u, Some(v), None, None, POT_GRID).unwrap().into_scalar::<f32>();
/// assert!((w - 0.04).abs() < 1e-6);
/// ```
///
/// # Errors
/// [`SwError::Shape`] for rows that disagree or are empty, weights of other shapes, grid = 0;
/// [`SwError::NonFinite`] for NaN/inf values.
pub fn lcot_sq(
    u: Tensor<2>,
    v: Option<Tensor<2>>,
    wu: Option<Tensor<2>>,
    wv: Option<Tensor<2>>,
    grid: usize,
) -> Result<Tensor<1>> {
    let r = u.dims()[0];
    if let Some(v) = &v
        && v.dims()[0] != r
    {
        return Err(SwError::Shape {
            what: "LCOT values",
            expected: format!("[{r}, m] (as many rows as u)"),
            got: v.dims().to_vec(),
        });
    }
    let eu = embedding(u, wu, grid)?;
    let ev = v.map(|v| embedding(v, wv, grid)).transpose()?;
    Ok(mean_circle_sq(eu, ev))
}
