//! Wasserstein distances on the circle S¹ = [0, 1[ between two weighted samples, row by row
//! (POT 0.9.7 `ot.wasserstein_circle`, ot/lp/solver_circle.py line 537; Delon, Salomon &
//! Sobolevski, 2010).
//!
//! ```text
//! W_p^p(μ, ν) = inf_θ ∫₀¹ |F⁻¹(t) − G̃⁻¹(t + θ)|^p dt,     G̃⁻¹(s) = G⁻¹(s − ⌊s⌋) + ⌊s⌋
//! ```
//! with F⁻¹, G⁻¹ the quantile functions of μ, ν on [0, 1[ (values taken modulo 1). The cost is
//! convex in θ and its minimiser lies in [−1, 1]. POT finds θ by a binary search on the
//! one-sided derivatives, stopping when the bracket is below 1e-6 (`binary_search_circle`,
//! line 243; the closed form of `wasserstein1_circle` for p = 1); ours is a golden-section
//! search on the exact cost to a bracket of 5e-15 (70 steps), so POT's values are
//! reproduced to its own tolerance, ~1e-7 here.
//!
//! The search, and the merge of the two step functions at the optimal θ, run on the host in
//! f64 (they are combinatorics: sorts, searches, comparisons); the cost itself is then the
//! differentiable sum Σ_k δ_k |u_{i_k} − v_{j_k} − k_k|^p of gathered values on the device
//! (δ_k the lengths of the merged intervals, k_k the integer turns of the shifted quantile), so
//! gradients reach the values (the envelope theorem: θ* is a constant at the optimum). The
//! weights enter δ as constants: no gradient to the weights. Host cost: one read of the values,
//! O(R·100·(n + m)·log(n + m)), rows in parallel.
//!
//! # Shapes
//! values `[R, n]`, `[R, m]`, weights of the same shapes (rows summing to 1) or uniform →
//! `[R]`.

use burn::tensor::{Int, Tensor, TensorData};
use rayon::prelude::*;

use crate::error::{Result, SwError};
use crate::host::host;

/// One row of the merged coupling at the optimal shift: indices into the (unsorted) rows of u
/// and v, the integer turn k added to v, the interval length δ.
#[derive(Debug, Clone, Default)]
struct Coupling {
    u: Vec<i64>,
    v: Vec<i64>,
    turn: Vec<f64>,
    delta: Vec<f64>,
}

/// A sorted, weighted sample on [0, 1[: values ascending, cumulative weights (last = 1),
/// and each sorted entry's index in the input row.
struct Sorted {
    values: Vec<f64>,
    cdf: Vec<f64>,
    index: Vec<usize>,
}

impl Sorted {
    fn new(values: &[f64], weights: Option<&[f64]>) -> Self {
        let n = values.len();
        let wrapped: Vec<f64> = values.iter().map(|v| v - v.floor()).collect();
        let mut index: Vec<usize> = (0..n).collect();
        index.sort_by(|&a, &b| wrapped[a].total_cmp(&wrapped[b]));
        let total: f64 = weights.map_or(n as f64, |w| w.iter().sum());
        let mut acc = 0.0;
        let cdf = index
            .iter()
            .map(|&i| {
                acc += weights.map_or(1.0, |w| w[i]) / total;
                acc
            })
            .collect();
        Self {
            values: index.iter().map(|&i| wrapped[i]).collect(),
            cdf,
            index,
        }
    }

    /// The sorted position of the quantile at level q ∈ (0, 1): the first cdf ≥ q.
    #[cfg(test)]
    fn at(&self, q: f64) -> usize {
        self.cdf
            .partition_point(|&c| c < q)
            .min(self.values.len() - 1)
    }
}

/// ∫₀¹ |F⁻¹(t) − G̃⁻¹(t + θ)|^p dt, exactly, and (with `coupling`) the merged intervals, in
/// O(n + m): the cuts of v shifted by θ are a rotation of its sorted cdf (one wrap), merged
/// with u's; the quantiles of the increasing interval midpoints are found by pointers (v's
/// restarts once, where t + θ crosses an integer). Same intervals and pairs as
/// [`cost_reference`] (tested).
fn cost(u: &Sorted, v: &Sorted, theta: f64, p: f64, coupling: Option<&mut Coupling>) -> f64 {
    let (n, m) = (u.cdf.len(), v.cdf.len());
    let inside = |t: &f64| *t > 0.0 && *t < 1.0;
    let shifted: Vec<f64> = v
        .cdf
        .iter()
        .map(|c| {
            let t = c - theta;
            t - t.floor()
        })
        .collect();
    let start = (1..m).find(|&j| shifted[j] < shifted[j - 1]).unwrap_or(0);
    let mut vcuts: Vec<f64> = (0..m)
        .map(|k| shifted[(start + k) % m])
        .filter(inside)
        .collect();
    if !vcuts.is_sorted() {
        vcuts.sort_by(f64::total_cmp); // rounding at a wrap: never seen, kept for safety
    }
    let ucuts = u.cdf.iter().copied().filter(inside);
    let mut merged = Vec::with_capacity(n + vcuts.len() + 2);
    merged.push(0.0);
    let mut vi = vcuts.iter().copied().peekable();
    for c in ucuts {
        while let Some(&t) = vi.peek()
            && t < c
        {
            merged.push(t);
            vi.next();
        }
        merged.push(c);
    }
    merged.extend(vi);
    merged.push(1.0);
    let (mut i, mut j) = (0usize, 0usize);
    let mut last_turn = f64::NAN;
    let mut total = 0.0;
    let mut coupling = coupling;
    for w in merged.windows(2) {
        let delta = w[1] - w[0];
        if delta <= 0.0 {
            continue;
        }
        let mid = 0.5 * (w[0] + w[1]);
        while i + 1 < n && u.cdf[i] < mid {
            i += 1;
        }
        let s = mid + theta;
        let turn = s.floor();
        if turn != last_turn {
            j = 0;
            last_turn = turn;
        }
        let level = s - turn;
        while j + 1 < m && v.cdf[j] < level {
            j += 1;
        }
        total += delta * power(u.values[i] - v.values[j] - turn, p);
        if let Some(c) = coupling.as_deref_mut() {
            c.u.push(u.index[i] as i64);
            c.v.push(v.index[j] as i64);
            c.turn.push(turn);
            c.delta.push(delta);
        }
    }
    total
}

/// |x|^p, with the common exponents without `powf`.
#[inline]
fn power(x: f64, p: f64) -> f64 {
    if p == 2.0 {
        x * x
    } else if p == 1.0 {
        x.abs()
    } else {
        x.abs().powf(p)
    }
}

/// The plain twin of [`cost`]: all cuts sorted, each quantile found by binary search.
#[cfg(test)]
fn cost_reference(
    u: &Sorted,
    v: &Sorted,
    theta: f64,
    p: f64,
    coupling: Option<&mut Coupling>,
) -> f64 {
    let mut cuts: Vec<f64> = Vec::with_capacity(u.cdf.len() + v.cdf.len() + 2);
    cuts.push(0.0);
    cuts.push(1.0);
    cuts.extend(u.cdf.iter().copied().filter(|&c| c > 0.0 && c < 1.0));
    for &c in &v.cdf {
        let t = c - theta;
        let t = t - t.floor();
        if t > 0.0 && t < 1.0 {
            cuts.push(t);
        }
    }
    cuts.sort_by(f64::total_cmp);
    let mut total = 0.0;
    let mut coupling = coupling;
    for w in cuts.windows(2) {
        let delta = w[1] - w[0];
        if delta <= 0.0 {
            continue;
        }
        let mid = 0.5 * (w[0] + w[1]);
        let i = u.at(mid);
        let s = mid + theta;
        let turn = s.floor();
        let j = v.at(s - turn);
        total += delta * power(u.values[i] - v.values[j] - turn, p);
        if let Some(c) = coupling.as_deref_mut() {
            c.u.push(u.index[i] as i64);
            c.v.push(v.index[j] as i64);
            c.turn.push(turn);
            c.delta.push(delta);
        }
    }
    total
}

/// Golden-section steps: the bracket [−1, 1] shrinks by 0.618 per step, to 2·0.618⁷⁰ ≈ 5e-15.
const SEARCH_STEPS: usize = 70;

/// The optimal shift θ* ∈ [−1, 1] by golden-section search on the convex cost.
fn optimal_shift(u: &Sorted, v: &Sorted, p: f64) -> f64 {
    let ratio = (5f64.sqrt() - 1.0) / 2.0;
    let (mut a, mut b) = (-1.0f64, 1.0f64);
    let mut c = b - ratio * (b - a);
    let mut d = a + ratio * (b - a);
    let (mut fc, mut fd) = (cost(u, v, c, p, None), cost(u, v, d, p, None));
    for _ in 0..SEARCH_STEPS {
        if fc <= fd {
            b = d;
            d = c;
            fd = fc;
            c = b - ratio * (b - a);
            fc = cost(u, v, c, p, None);
        } else {
            a = c;
            c = d;
            fc = fd;
            d = a + ratio * (b - a);
            fd = cost(u, v, d, p, None);
        }
    }
    0.5 * (a + b)
}

/// W_p^p on the circle between the rows of `u` `[R, n]` and `v` `[R, m]` (values modulo 1),
/// with weights `[R, n]`, `[R, m]` (normalised per row) or uniform: `[R]`, differentiable in
/// the values (module doc).
///
/// ```
/// use burn::tensor::{Device, Tensor};
/// use sw_loss::circle::circle_wpp;
/// let device = Device::default();
/// // One point each, at 0.1 and 0.9: the short way round is 0.2 (not 0.8).
/// let u = Tensor::<2>::from_floats([[0.1]], &device);
/// let v = Tensor::<2>::from_floats([[0.9]], &device);
/// let w = circle_wpp(u, v, None, None, 2.0).unwrap().into_scalar::<f32>();
/// assert!((w - 0.04).abs() < 1e-6);
/// ```
///
/// # Errors
/// [`SwError::InvalidP`] for p < 1; [`SwError::Shape`] for rows that disagree or are empty;
/// [`SwError::NonFinite`] for NaN/inf values.
pub fn circle_wpp(
    u: Tensor<2>,
    v: Tensor<2>,
    wu: Option<Tensor<2>>,
    wv: Option<Tensor<2>>,
    p: f64,
) -> Result<Tensor<1>> {
    crate::measure::check_p(p)?;
    let [r, n] = u.dims();
    let [rv, m] = v.dims();
    if r != rv || n == 0 || m == 0 {
        return Err(SwError::Shape {
            what: "circle values",
            expected: format!("[R, n] and [R, m] with the same R and n, m >= 1 (u is [{r}, {n}])"),
            got: vec![rv, m],
        });
    }
    for (what, w, len) in [("u weights", &wu, n), ("v weights", &wv, m)] {
        if let Some(w) = w
            && w.dims() != [r, len]
        {
            return Err(SwError::Shape {
                what,
                expected: format!("[{r}, {len}]"),
                got: w.dims().to_vec(),
            });
        }
    }
    let (uh, vh) = (host(&u), host(&v));
    if uh.iter().chain(&vh).any(|x| !x.is_finite()) {
        return Err(SwError::NonFinite {
            what: "circle values",
        });
    }
    let (wuh, wvh) = (wu.as_ref().map(host), wv.as_ref().map(host));
    let rows: Vec<Coupling> = (0..r)
        .into_par_iter()
        .map(|row| {
            let su = Sorted::new(
                &uh[row * n..(row + 1) * n],
                wuh.as_ref().map(|w| &w[row * n..(row + 1) * n]),
            );
            let sv = Sorted::new(
                &vh[row * m..(row + 1) * m],
                wvh.as_ref().map(|w| &w[row * m..(row + 1) * m]),
            );
            let theta = optimal_shift(&su, &sv, p);
            let mut c = Coupling::default();
            cost(&su, &sv, theta, p, Some(&mut c));
            c
        })
        .collect();
    // Padded to the longest row with δ = 0.
    let k = rows.iter().map(|c| c.delta.len()).max().unwrap_or(1).max(1);
    let (mut iu, mut iv, mut turn, mut delta) = (
        Vec::with_capacity(r * k),
        Vec::with_capacity(r * k),
        Vec::with_capacity(r * k),
        Vec::with_capacity(r * k),
    );
    for c in &rows {
        let pad = k - c.delta.len();
        iu.extend(c.u.iter().copied().chain(std::iter::repeat_n(0, pad)));
        iv.extend(c.v.iter().copied().chain(std::iter::repeat_n(0, pad)));
        turn.extend(c.turn.iter().copied().chain(std::iter::repeat_n(0.0, pad)));
        delta.extend(c.delta.iter().copied().chain(std::iter::repeat_n(0.0, pad)));
    }
    let device = u.device();
    let dtype = u.dtype();
    let index =
        |data: Vec<i64>| Tensor::<2, Int>::from_data(TensorData::new(data, [r, k]), &device);
    let constant =
        |data: Vec<f64>| Tensor::<2>::from_data(TensorData::new(data, [r, k]), (&device, dtype));
    let wrap = |t: Tensor<2>| t.clone() - t.floor();
    let gu = wrap(u).gather(1, index(iu));
    let gv = wrap(v).gather(1, index(iv));
    let diff = (gu - gv - constant(turn)).abs();
    let powered = if p == 1.0 {
        diff
    } else if p == 2.0 {
        diff.square()
    } else {
        diff.powf_scalar(p)
    };
    Ok((powered * constant(delta)).sum_dim(1).reshape([r]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng, rngs::StdRng};

    /// The O(n + m) cost equals its sorting twin, value and coupling, on random weighted
    /// samples with zero weights, repeated values and every shift.
    #[test]
    fn fast_cost_equals_its_reference() {
        let mut rng = StdRng::seed_from_u64(7);
        for trial in 0..300 {
            let (n, m) = (rng.random_range(1..12), rng.random_range(1..12));
            let mut values = |k: usize| -> Vec<f64> {
                (0..k)
                    .map(|_| {
                        (rng.random_range(0..8) as f64) / 8.0 + rng.random_range(-1.0..1.0) * 0.01
                    })
                    .collect()
            };
            let (uv, vv) = (values(n), values(m));
            let mut weights = |k: usize| -> Vec<f64> {
                (0..k)
                    .map(|_| {
                        if rng.random_bool(0.2) {
                            0.0
                        } else {
                            rng.random_range(0.1..1.0)
                        }
                    })
                    .collect()
            };
            let (mut wu, mut wv) = (weights(n), weights(m));
            wu[0] += 0.5;
            wv[m - 1] += 0.5;
            let (su, sv) = (Sorted::new(&uv, Some(&wu)), Sorted::new(&vv, Some(&wv)));
            for k in 0..=40 {
                let theta = -1.0 + k as f64 / 20.0 + if trial % 2 == 0 { 0.0 } else { 1e-3 };
                for p in [1.0, 1.5, 2.0] {
                    let (mut a, mut b) = (Coupling::default(), Coupling::default());
                    let fast = cost(&su, &sv, theta, p, Some(&mut a));
                    let slow = cost_reference(&su, &sv, theta, p, Some(&mut b));
                    assert!(
                        (fast - slow).abs() <= 1e-14,
                        "trial {trial}, θ {theta}: {fast} vs {slow}"
                    );
                    assert_eq!(
                        (a.u, a.v, a.turn),
                        (b.u, b.v, b.turn),
                        "trial {trial}, θ {theta}"
                    );
                }
            }
        }
    }
}
