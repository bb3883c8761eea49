//! SW and CV-SW evaluated over the directions in chunks, so that forward + backward hold
//! O(B·(n + m)·chunk) extra memory instead of O(B·(n + m)·L), on every backend and with the
//! fused kernels.
//!
//! ```text
//! SW_p^p(b)  = (1/L) Σ_l W_{b,l},          W_{b,l} = W_p^p(θ_l♯μ_b, θ_l♯ν_b)
//! ∂SW_p^p(b)/∂x_b = (1/L) Σ_l ∂W_{b,l}/∂x_b             (likewise y, the weights, θ)
//! ```
//! Autodiff would keep every chunk's projections and sort state alive until the backward. Here
//! each chunk runs on fresh leaves of its own small graph: its values are kept (`[B, chunk]`)
//! and its vector–Jacobian product is taken at once and added into gradient fields of the
//! inputs' shapes (`[B, n, d]`, `[B, m, d]`, `[B, n]`, `[B, L, d]`); the chunk's graph is
//! then dropped. The result joins the caller's graph through zero-valued terms
//!
//! ```text
//! out_b = value_b + Σ_{i,k} (x − detach(x))_{b,i,k} G^x_{b,i,k} + …   (each term is exactly 0)
//! ```
//! whose gradient is G. The upstream gradient of `out_b` is a scalar per pair, so the
//! gradient fields computed in the forward are exact (first order; a second backward through
//! the loss is not supported in chunked mode).
//!
//! CV-SW (`crate::control_variates`) is not linear in W, but its derivatives
//! `a_l = ∂est/∂W_l` and `c_l = ∂est/∂C_l` only need the `[B, L]` values of W and C: a first
//! pass without a graph gives W and C, the fused combine gives the estimate and (a, c, ∂est/∂E),
//! and a second pass takes the vector–Jacobian product Σ_l a_l ∂W_l + c_l ∂C_l chunk by
//! chunk. C comes from the chunk's projected rows (θᵀm and θᵀΣθ are the row mean and
//! variance), E[C] from the moments, in the caller's graph.
//!
//! Chunk sizes come from [`crate::memory::plan`]; with one chunk of L the evaluators in
//! [`crate::sliced`] and [`crate::control_variates`] run unchanged.

use std::ops::Range;

use burn::tensor::Tensor;

use crate::control_variates::{
    ControlVariate, Gamma, control_variate_expectation, control_variate_from_projections,
};
use crate::directions::Directions;
use crate::error::Result;
use crate::kernel;
use crate::measure::Measure;
use crate::sliced::{Slicing, ensure_finite, slice, wpp_from_projections};

/// Which inputs carry a gradient back to the caller.
#[derive(Clone, Copy)]
struct Tracked {
    x: bool,
    wx: bool,
    y: bool,
    wy: bool,
    dirs: bool,
}

impl Tracked {
    fn of(x: &Measure, y: &Measure, dirs: &Directions) -> Self {
        let tracked = |w: Option<&Tensor<2>>| w.is_some_and(|w| w.is_tracked());
        Self {
            x: x.points().is_tracked(),
            wx: tracked(x.weights()),
            y: y.points().is_tracked(),
            wy: tracked(y.weights()),
            dirs: match dirs {
                Directions::Shared(t) => t.is_tracked(),
                Directions::PerPair(t) => t.is_tracked(),
            },
        }
    }

    fn any(&self) -> bool {
        self.x || self.wx || self.y || self.wy || self.dirs
    }
}

/// Gradient fields accumulated over the chunks (inner tensors, no graph).
#[derive(Default)]
struct Fields {
    x: Option<Tensor<3>>,
    wx: Option<Tensor<2>>,
    y: Option<Tensor<3>>,
    wy: Option<Tensor<2>>,
    /// `[B, chunk, d]` per chunk, concatenated at the end.
    dirs: Vec<Tensor<3>>,
}

impl Fields {
    /// Every field times `factor` (forward ops on inner tensors: exact in f64).
    fn scaled(self, factor: f64) -> Self {
        Self {
            x: self.x.map(|g| g.mul_scalar(factor)),
            wx: self.wx.map(|g| g.mul_scalar(factor)),
            y: self.y.map(|g| g.mul_scalar(factor)),
            wy: self.wy.map(|g| g.mul_scalar(factor)),
            dirs: self
                .dirs
                .into_iter()
                .map(|g| g.mul_scalar(factor))
                .collect(),
        }
    }
}

fn add<const D: usize>(acc: &mut Option<Tensor<D>>, g: Option<Tensor<D>>) {
    if let Some(g) = g {
        *acc = Some(match acc.take() {
            Some(a) => a + g,
            None => g,
        });
    }
}

/// The measure without autodiff (values only).
fn inner_measure(m: &Measure) -> Measure {
    m.map(|t| t.inner(), |w| w.inner())
}

/// A fresh leaf of a chunk's graph: autodiff on (every input of the chunk's ops carries it, as
/// the fused kernels expect), gradient kept when `track`.
fn leaf<const D: usize>(t: &Tensor<D>, track: bool) -> Tensor<D> {
    let t = t.clone().autodiff();
    if track { t.require_grad() } else { t }
}

fn leaf_measure(m: &Measure, points: bool, weights: bool) -> Measure {
    m.map(|t| leaf(&t, points), |w| leaf(&w, weights))
}

/// The chunk `range` of the (inner) directions.
fn chunk_of(dirs: &Directions, range: Range<usize>) -> Directions {
    match dirs {
        Directions::Shared(t) => {
            let d = t.dims()[1];
            Directions::Shared(t.clone().slice([range, 0..d]))
        }
        Directions::PerPair(t) => {
            let [b, _, d] = t.dims();
            Directions::PerPair(t.clone().slice([0..b, range, 0..d]))
        }
    }
}

/// Per direction of one chunk: W `[B, c]` and, for CV, C `[B, c]`.
fn chunk_terms(
    x: &Measure,
    y: &Measure,
    dirs: &Directions,
    p: f64,
    cv: Option<ControlVariate>,
    slicing: Slicing,
) -> (Tensor<2>, Option<Tensor<2>>) {
    let px = slice(x.points(), dirs, slicing);
    let py = slice(y.points(), dirs, slicing);
    let c = cv.map(|kind| control_variate_from_projections(x, y, &px, &py, kind));
    (wpp_from_projections(x, y, px, py, p), c)
}

/// Runs the chunks. With `weights = Some((a, c))` (`[B, L]` each) it takes the
/// vector–Jacobian product Σ_l a_l ∂W_l + c_l ∂C_l into `fields`; with `None` and `fields`
/// given, that of Σ_l W_l (the caller scales by 1/L: Burn 0.22.1's backward of `div_scalar`
/// rounds the scalar to f32, 5e-8 off in f64); without `fields`, values only. Returns W and C
/// `[B, L]`.
#[allow(clippy::too_many_arguments)]
fn run_chunks(
    x: &Measure,
    y: &Measure,
    dirs: &Directions,
    p: f64,
    cv: Option<ControlVariate>,
    slicing: Slicing,
    chunk: usize,
    tracked: Tracked,
    mut fields: Option<&mut Fields>,
    weights: Option<(&Tensor<2>, &Tensor<2>)>,
) -> (Tensor<2>, Option<Tensor<2>>) {
    let l = dirs.count();
    let b = x.dims()[0];
    let mut w_parts = Vec::new();
    let mut c_parts = Vec::new();
    let mut start = 0;
    while start < l {
        let range = start..(start + chunk).min(l);
        start = range.end;
        let dirs_chunk = chunk_of(dirs, range.clone());
        let Some(fields) = fields.as_deref_mut() else {
            let (w, c) = chunk_terms(x, y, &dirs_chunk, p, cv, slicing);
            w_parts.push(w);
            c_parts.extend(c);
            continue;
        };
        let xl = leaf_measure(x, tracked.x, tracked.wx);
        let yl = leaf_measure(y, tracked.y, tracked.wy);
        let theta = tracked.dirs.then(|| leaf(&dirs_chunk.per_pair(b), true));
        let dl = match &theta {
            Some(t) => Directions::PerPair(t.clone()),
            None => dirs_chunk.map(|t| t.autodiff()),
        };
        let (w, c) = chunk_terms(&xl, &yl, &dl, p, cv, slicing);
        let objective = match weights {
            None => w.clone().sum(),
            Some((a, cw)) => {
                let a = a.clone().slice([0..b, range.clone()]).autodiff();
                let mut s = (w.clone() * a).sum();
                if let Some(cc) = &c {
                    let cw = cw.clone().slice([0..b, range.clone()]).autodiff();
                    s = s + (cc.clone() * cw).sum();
                }
                s
            }
        };
        let grads = objective.backward();
        add(
            &mut fields.x,
            tracked.x.then(|| xl.points().grad(&grads)).flatten(),
        );
        add(
            &mut fields.y,
            tracked.y.then(|| yl.points().grad(&grads)).flatten(),
        );
        add(
            &mut fields.wx,
            xl.weights()
                .filter(|_| tracked.wx)
                .and_then(|w| w.grad(&grads)),
        );
        add(
            &mut fields.wy,
            yl.weights()
                .filter(|_| tracked.wy)
                .and_then(|w| w.grad(&grads)),
        );
        if let Some(t) = &theta {
            fields.dirs.push(
                t.grad(&grads)
                    .unwrap_or_else(|| t.clone().inner().zeros_like()),
            );
        }
        w_parts.push(w.inner());
        c_parts.extend(c.map(|c| c.inner()));
    }
    let c = (!c_parts.is_empty()).then(|| Tensor::cat(c_parts, 1));
    (Tensor::cat(w_parts, 1), c)
}

/// `value + Σ (t − detach t) · G` per pair: the value, with gradient G to each tracked input.
fn attach(value: Tensor<1>, x: &Measure, y: &Measure, dirs: &Directions, f: Fields) -> Tensor<1> {
    let b = value.dims()[0];
    let zero3 = |t: &Tensor<3>, g: Tensor<3>| {
        ((t.clone() - t.clone().detach()) * g.autodiff())
            .sum_dim(2)
            .sum_dim(1)
            .reshape([b])
    };
    let zero2 = |t: &Tensor<2>, g: Tensor<2>| {
        ((t.clone() - t.clone().detach()) * g.autodiff())
            .sum_dim(1)
            .reshape([b])
    };
    let mut out = value;
    if let Some(g) = f.x {
        out = zero3(x.points(), g) + out;
    }
    if let Some(g) = f.y {
        out = zero3(y.points(), g) + out;
    }
    if let (Some(g), Some(w)) = (f.wx, x.weights()) {
        out = zero2(w, g) + out;
    }
    if let (Some(g), Some(w)) = (f.wy, y.weights()) {
        out = zero2(w, g) + out;
    }
    if !f.dirs.is_empty() {
        let g = Tensor::cat(f.dirs, 1); // [B, L, d]
        out = zero3(&dirs.per_pair(b), g) + out;
    }
    out
}

/// Back on x's device kind: autodiff when x is (as a constant), else unchanged.
fn like_input(t: Tensor<1>, x: &Measure) -> Tensor<1> {
    if x.points().is_autodiff() {
        t.autodiff()
    } else {
        t
    }
}

/// SW_p^p per pair `[B]` with the given directions, `chunk` directions at a time.
pub(crate) fn sw_pp_per_pair(
    x: &Measure,
    y: &Measure,
    dirs: &Directions,
    p: f64,
    slicing: Slicing,
    chunk: usize,
    check_finite: bool,
) -> Result<Tensor<1>> {
    let tracked = Tracked::of(x, y, dirs);
    let (xi, yi, di) = (inner_measure(x), inner_measure(y), dirs.map(|t| t.inner()));
    let mut fields = Fields::default();
    let (w, _) = run_chunks(
        &xi,
        &yi,
        &di,
        p,
        None,
        slicing,
        chunk,
        tracked,
        tracked.any().then_some(&mut fields),
        None,
    );
    if check_finite {
        ensure_finite(&w, x, y, dirs)?;
    }
    let l = w.dims()[1] as f64;
    let fields = fields.scaled(1.0 / l);
    let value = like_input(w.mean_dim(1).squeeze_dim(1), x);
    Ok(attach(value, x, y, dirs, fields))
}

/// CV-SW_p^p per pair `[B]` with the given directions, `chunk` directions at a time.
#[allow(clippy::too_many_arguments)]
pub(crate) fn cv_per_pair(
    x: &Measure,
    y: &Measure,
    dirs: &Directions,
    p: f64,
    kind: ControlVariate,
    gamma: Gamma,
    chunk: usize,
    check_finite: bool,
) -> Result<Tensor<1>> {
    let tracked = Tracked::of(x, y, dirs);
    let (xi, yi, di) = (inner_measure(x), inner_measure(y), dirs.map(|t| t.inner()));
    let linear = Slicing::Linear;
    let (w, c) = run_chunks(
        &xi,
        &yi,
        &di,
        p,
        Some(kind),
        linear,
        chunk,
        tracked,
        None,
        None,
    );
    let c = c.expect("control variate values");
    if check_finite {
        ensure_finite(&w, x, y, dirs)?;
    }
    let detach = gamma.is_detached();
    // E[C] in the caller's graph (its inputs are the points and weights: O(B·n·d)).
    let expectation = control_variate_expectation(x, y, kind); // [B, 1]
    if !tracked.any() {
        let e = expectation.inner();
        return Ok(like_input(kernel::cv_combine(w, c, e, detach), x));
    }
    // est and its derivatives in W, C, E from a small graph on the [B, L] values.
    let (wl, cl, el) = (
        leaf(&w, true),
        leaf(&c, true),
        leaf(&expectation.clone().inner(), true),
    );
    let est = kernel::cv_combine(wl.clone(), cl.clone(), el.clone(), detach);
    let grads = est.clone().sum().backward();
    let zeros = |t: &Tensor<2>| t.clone().inner().zeros_like();
    let a = wl.grad(&grads).unwrap_or_else(|| zeros(&wl));
    let cw = cl.grad(&grads).unwrap_or_else(|| zeros(&cl));
    let ew = el.grad(&grads).unwrap_or_else(|| zeros(&el)); // [B, 1]
    let mut fields = Fields::default();
    run_chunks(
        &xi,
        &yi,
        &di,
        p,
        Some(kind),
        linear,
        chunk,
        tracked,
        Some(&mut fields),
        Some((&a, &cw)),
    );
    let b = w.dims()[0];
    let value = like_input(est.inner(), x);
    let through_e = ((expectation.clone() - expectation.detach()) * ew.autodiff()).reshape([b]);
    Ok(attach(value, x, y, dirs, fields) + through_e)
}

/// A nonlinear combination `est = combine(W)` of the per-direction values `W [B, L] → [B]`
/// (EBSW's energy weighting), `chunk` directions at a time: a first pass without a graph
/// gives W, a small graph on W gives `a = ∂est/∂W`, a second pass takes the
/// vector–Jacobian product Σ_l a_l ∂W_l chunk by chunk. `combine` must accept autodiff
/// tensors.
#[allow(clippy::too_many_arguments)]
pub(crate) fn combined_per_pair(
    x: &Measure,
    y: &Measure,
    dirs: &Directions,
    p: f64,
    slicing: Slicing,
    chunk: usize,
    check_finite: bool,
    combine: impl Fn(Tensor<2>) -> Tensor<1>,
) -> Result<Tensor<1>> {
    let tracked = Tracked::of(x, y, dirs);
    let (xi, yi, di) = (inner_measure(x), inner_measure(y), dirs.map(|t| t.inner()));
    let (w, _) = run_chunks(&xi, &yi, &di, p, None, slicing, chunk, tracked, None, None);
    if check_finite {
        ensure_finite(&w, x, y, dirs)?;
    }
    if !tracked.any() {
        return Ok(like_input(combine(w), x));
    }
    let wl = leaf(&w, true);
    let est = combine(wl.clone());
    let grads = est.clone().sum().backward();
    let a = wl.grad(&grads).unwrap_or_else(|| w.zeros_like());
    let mut fields = Fields::default();
    run_chunks(
        &xi,
        &yi,
        &di,
        p,
        None,
        slicing,
        chunk,
        tracked,
        Some(&mut fields),
        Some((&a, &a)),
    );
    Ok(attach(like_input(est.inner(), x), x, y, dirs, fields))
}
