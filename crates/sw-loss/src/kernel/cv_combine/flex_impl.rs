//! The fused Flex kernels of [`super::ControlVariateOps`]: the control variate's projected
//! moments, the combine, and their hand-written backward (the plain-Burn twins are
//! [`super::cv_combine_reference`], [`super::projected_cv_reference`] and
//! [`super::cv_expectation_reference`]).

use std::sync::Arc;

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::backend::ops::FloatTensorOps;
use burn::backend::{Autodiff, Flex, Shape, TensorMetadata, tensor::FloatTensor};
use burn::tensor::{DType, TensorData};
use rayon::prelude::*;

use super::ControlVariateOps;
use crate::kernel_support::{Real, contiguous};

/// Columns per parallel task of the moment sums.
const COLUMNS: usize = 1024;

/// The ε of the reference's `Var̂(C) + 1e-24`.
const EPS: f64 = 1e-24;

/// The values of a contiguous f32/f64 tensor, widened to f64 (small tensors only).
fn host_f64(t: &FlexTensor, len: usize, what: &str) -> Vec<f64> {
    match t.dtype() {
        DType::F32 => t.storage::<f32>()[..len]
            .iter()
            .map(|v| *v as f64)
            .collect(),
        DType::F64 => t.storage::<f64>()[..len].to_vec(),
        other => panic!("{what}: unsupported dtype {other:?} (f32 and f64 are supported)"),
    }
}

/// A tensor of `dtype` from f64 values.
fn tensor_from_f64(v: Vec<f64>, shape: Vec<usize>, dtype: DType) -> FlexTensor {
    let data = match dtype {
        DType::F32 => TensorData::new(v.into_iter().map(|x| x as f32).collect::<Vec<_>>(), shape),
        DType::F64 => TensorData::new(v, shape),
        other => panic!("control variates: unsupported dtype {other:?}"),
    };
    FlexTensor::from_data(data)
}

// ---------------------------------------------------------------------------------------
// cv_combine

/// The per-row statistics of the combination.
struct RowStats {
    w_mean: f64,
    m: f64,
    denom: f64,
    gamma: f64,
    raw: f64,
}

fn row_stats(w: &[f64], c: &[f64], e: f64) -> RowStats {
    let l = w.len() as f64;
    let w_mean = w.iter().sum::<f64>() / l;
    let (mut sum_cc, mut sum_cc2, mut cov) = (0.0, 0.0, 0.0);
    for (wl, cl) in w.iter().zip(c) {
        let cc = cl - e;
        sum_cc += cc;
        sum_cc2 += cc * cc;
        cov += (wl - w_mean) * cc;
    }
    let m = sum_cc / l;
    let denom = sum_cc2 / l + EPS;
    let gamma = (cov / l) / denom;
    RowStats {
        w_mean,
        m,
        denom,
        gamma,
        raw: w_mean - gamma * m,
    }
}

fn combine_dims(w: &FlexTensor, c: &FlexTensor, e: &FlexTensor) -> (usize, usize) {
    let (ws, cs, es) = (w.shape(), c.shape(), e.shape());
    assert!(
        ws.num_dims() == 2
            && cs.num_dims() == 2
            && es.num_dims() == 2
            && ws[0] == cs[0]
            && ws[1] == cs[1]
            && es[0] == ws[0]
            && es[1] == 1,
        "cv_combine: shapes {ws:?}, {cs:?}, {es:?} (want [B, L], [B, L], [B, 1])"
    );
    assert!(
        w.dtype() == c.dtype() && w.dtype() == e.dtype(),
        "cv_combine: mixed dtypes"
    );
    (ws[0], ws[1])
}

fn combine_forward(w: &FlexTensor, c: &FlexTensor, e: &FlexTensor) -> FlexTensor {
    let (b, l) = combine_dims(w, c, e);
    let (wv, cv, ev) = (
        host_f64(w, b * l, "cv_combine"),
        host_f64(c, b * l, "cv_combine"),
        host_f64(e, b, "cv_combine"),
    );
    let out: Vec<f64> = (0..b)
        .map(|r| {
            let s = row_stats(&wv[r * l..(r + 1) * l], &cv[r * l..(r + 1) * l], ev[r]);
            // max(raw, 0) as Burn's clamp_min: NaN stays NaN.
            if s.raw < 0.0 { 0.0 } else { s.raw }
        })
        .collect();
    tensor_from_f64(out, vec![b], w.dtype())
}

/// Gradients with respect to W `[B, L]`, C `[B, L]` and E `[B, 1]`.
fn combine_backward(
    g: &FlexTensor,
    w: &FlexTensor,
    c: &FlexTensor,
    e: &FlexTensor,
    detach_gamma: bool,
) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let (b, l) = combine_dims(w, c, e);
    let gv = host_f64(g, b, "cv_combine");
    let (wv, cv, ev) = (
        host_f64(w, b * l, "cv_combine"),
        host_f64(c, b * l, "cv_combine"),
        host_f64(e, b, "cv_combine"),
    );
    let (mut gw, mut gc, mut ge) = (vec![0.0; b * l], vec![0.0; b * l], vec![0.0; b]);
    let lf = l as f64;
    for r in 0..b {
        let (wr, cr) = (&wv[r * l..(r + 1) * l], &cv[r * l..(r + 1) * l]);
        let s = row_stats(wr, cr, ev[r]);
        // The clamp's mask: Burn's clamp_min passes the gradient unless raw < min.
        if s.raw < 0.0 {
            continue;
        }
        let k = gv[r] / lf;
        let mut sum_gcc = 0.0;
        for j in 0..l {
            let cc = cr[j] - ev[r];
            let (dw, dcc) = if detach_gamma {
                (k, -k * s.gamma)
            } else {
                (
                    k * (1.0 - s.m * (cc - s.m) / s.denom),
                    k * (-s.gamma - s.m * ((wr[j] - s.w_mean) - 2.0 * s.gamma * cc) / s.denom),
                )
            };
            gw[r * l + j] = dw;
            gc[r * l + j] = dcc;
            sum_gcc += dcc;
        }
        ge[r] = -sum_gcc;
    }
    (gw, gc, ge)
}

#[derive(Debug)]
struct CombineBackward;

#[derive(Debug)]
struct CombineState {
    w: FlexTensor,
    c: FlexTensor,
    e: FlexTensor,
    detach_gamma: bool,
}

impl Backward<Flex, 3> for CombineBackward {
    type State = Arc<CombineState>;

    fn backward(
        self,
        ops: Ops<Self::State, 3>,
        grads: &mut Gradients,
        _checkpointer: &mut Checkpointer,
    ) {
        let [node_w, node_c, node_e] = ops.parents;
        let g = contiguous(grads.consume::<Flex>(&ops.node));
        let s = ops.state;
        let (b, l) = (s.w.shape()[0], s.w.shape()[1]);
        let (gw, gc, ge) = combine_backward(&g, &s.w, &s.c, &s.e, s.detach_gamma);
        let dtype = s.w.dtype();
        if let Some(node) = node_w {
            grads.register::<Flex>(node.id, tensor_from_f64(gw, vec![b, l], dtype));
        }
        if let Some(node) = node_c {
            grads.register::<Flex>(node.id, tensor_from_f64(gc, vec![b, l], dtype));
        }
        if let Some(node) = node_e {
            grads.register::<Flex>(node.id, tensor_from_f64(ge, vec![b, 1], dtype));
        }
    }
}

// ---------------------------------------------------------------------------------------
// projected_cv

fn rows_dims(px: &FlexTensor, py: &FlexTensor) -> (usize, usize, usize, usize) {
    let (xs, ys) = (px.shape(), py.shape());
    assert!(
        xs.num_dims() == 3 && ys.num_dims() == 3 && xs[0] == ys[0] && xs[1] == ys[1],
        "projected_cv: shapes {xs:?} and {ys:?} (want [B, L, n], [B, L, m])"
    );
    assert_eq!(px.dtype(), py.dtype(), "projected_cv: mixed dtypes");
    (xs[0], xs[1], xs[2], ys[2])
}

/// Mean and mean squared deviation of a row (two passes, f64).
#[inline]
fn mean_var<E: Real>(row: &[E]) -> (f64, f64) {
    let n = row.len() as f64;
    let mean = row.iter().map(|v| v.to_f64()).sum::<f64>() / n;
    let var = row
        .iter()
        .map(|v| {
            let t = v.to_f64() - mean;
            t * t
        })
        .sum::<f64>()
        / n;
    (mean, var)
}

/// Rows per parallel task (rows are short: n values).
fn rows_per_task(len: usize) -> usize {
    (16_384 / len.max(1)).max(1)
}

fn projected_forward<E: Real>(
    px: &[E],
    py: &[E],
    rows: usize,
    n: usize,
    m: usize,
    upper: bool,
) -> Vec<E> {
    let mut out = vec![E::default(); rows];
    let chunk = rows_per_task(n + m);
    out.par_chunks_mut(chunk).enumerate().for_each(|(t, o)| {
        for (k, ok) in o.iter_mut().enumerate() {
            let r = t * chunk + k;
            let (mx, vx) = mean_var(&px[r * n..(r + 1) * n]);
            let (my, vy) = mean_var(&py[r * m..(r + 1) * m]);
            let delta = mx - my;
            *ok = E::from_f64(if upper {
                delta * delta + vx + vy
            } else {
                delta * delta
            });
        }
    });
    out
}

/// ∂C/∂P of one side, `[rows, n]`: `2 g_r ((μ_own − μ_other) + upper · (P_i − μ_own)) / n`
/// (for x, μ_own − μ_other = δ; for y it is −δ, the sign of ∂C/∂P_y).
fn projected_backward<E: Real>(
    g: &[E],
    own: &[E],
    other: &[E],
    n: usize,
    m: usize,
    upper: bool,
) -> Vec<E> {
    let rows = g.len();
    let mut out = vec![E::default(); rows * n];
    let chunk = rows_per_task(n + m);
    out.par_chunks_mut(chunk * n)
        .enumerate()
        .for_each(|(t, o)| {
            for (k, orow) in o.chunks_mut(n).enumerate() {
                let r = t * chunk + k;
                let row = &own[r * n..(r + 1) * n];
                let mean = row.iter().map(|v| v.to_f64()).sum::<f64>() / n as f64;
                let mean_other = other[r * m..(r + 1) * m]
                    .iter()
                    .map(|v| v.to_f64())
                    .sum::<f64>()
                    / m as f64;
                let scale = 2.0 * g[r].to_f64() / n as f64;
                let base = scale * (mean - mean_other);
                if upper {
                    for (oi, v) in orow.iter_mut().zip(row) {
                        *oi = E::from_f64(base + scale * (v.to_f64() - mean));
                    }
                } else {
                    let v = E::from_f64(base);
                    orow.iter_mut().for_each(|oi| *oi = v);
                }
            }
        });
    out
}

fn projected_flex(px: FlexTensor, py: FlexTensor, upper: bool) -> FlexTensor {
    let (b, l, n, m) = rows_dims(&px, &py);
    let (px, py) = (contiguous(px), contiguous(py));
    let rows = b * l;
    by_dtype!("control variates", px.dtype(), [b, l], |E| {
        projected_forward::<E>(
            &px.storage::<E>()[..rows * n],
            &py.storage::<E>()[..rows * m],
            rows,
            n,
            m,
            upper,
        )
    })
}

#[derive(Debug)]
struct ProjectedCvBackward;

impl Backward<Flex, 2> for ProjectedCvBackward {
    /// Contiguous projections of x and y, and `upper`.
    type State = (FlexTensor, FlexTensor, bool);

    fn backward(
        self,
        ops: Ops<Self::State, 2>,
        grads: &mut Gradients,
        _checkpointer: &mut Checkpointer,
    ) {
        let [node_x, node_y] = ops.parents;
        let g = contiguous(grads.consume::<Flex>(&ops.node));
        let (px, py, upper) = ops.state;
        let (b, l, n, m) = rows_dims(&px, &py);
        let rows = b * l;
        if let Some(node) = node_x {
            let grad = by_dtype!("control variates", px.dtype(), [b, l, n], |E| {
                projected_backward::<E>(
                    &g.storage::<E>()[..rows],
                    &px.storage::<E>()[..rows * n],
                    &py.storage::<E>()[..rows * m],
                    n,
                    m,
                    upper,
                )
            });
            grads.register::<Flex>(node.id, grad);
        }
        if let Some(node) = node_y {
            let grad = by_dtype!("control variates", py.dtype(), [b, l, m], |E| {
                projected_backward::<E>(
                    &g.storage::<E>()[..rows],
                    &py.storage::<E>()[..rows * m],
                    &px.storage::<E>()[..rows * n],
                    m,
                    n,
                    upper,
                )
            });
            grads.register::<Flex>(node.id, grad);
        }
    }
}

// ---------------------------------------------------------------------------------------
// cv_expectation

/// Column means `[B, d]` and mean squared norms `[B]` of `[B, n, d]` (f64 sums), the
/// columns cut into parallel tasks as in `moments.rs`.
fn column_moments<E: Real>(
    x: &[E],
    b: usize,
    n: usize,
    d: usize,
    squares: bool,
) -> (Vec<f64>, Vec<f64>) {
    let mut means = vec![0f64; b * d];
    let mut second = vec![0f64; b];
    let inv_n = 1.0 / n as f64;
    for (bi, (mrow, s)) in means.chunks_mut(d).zip(second.iter_mut()).enumerate() {
        let xb = &x[bi * n * d..(bi + 1) * n * d];
        *s = mrow
            .par_chunks_mut(COLUMNS)
            .enumerate()
            .map(|(c, cols)| {
                let start = c * COLUMNS;
                let width = cols.len();
                let mut sq = vec![0f64; if squares { width } else { 0 }];
                for i in 0..n {
                    let xi = &xb[i * d + start..i * d + start + width];
                    for (s, v) in cols.iter_mut().zip(xi) {
                        *s += v.to_f64();
                    }
                    if squares {
                        for (q, v) in sq.iter_mut().zip(xi) {
                            let v = v.to_f64();
                            *q += v * v;
                        }
                    }
                }
                cols.iter_mut().for_each(|s| *s *= inv_n);
                sq.iter().sum::<f64>()
            })
            .sum::<f64>()
            * inv_n;
    }
    (means, second)
}

/// What the backward of `cv_expectation` needs: both means `[B, d]`.
#[derive(Debug)]
struct ExpectationState {
    x: FlexTensor,
    y: FlexTensor,
    m1: Vec<f64>,
    m2: Vec<f64>,
    upper: bool,
}

fn points_dims(x: &FlexTensor, y: &FlexTensor) -> (usize, usize, usize, usize) {
    let (xs, ys) = (x.shape(), y.shape());
    assert!(
        xs.num_dims() == 3 && ys.num_dims() == 3 && xs[0] == ys[0] && xs[2] == ys[2],
        "cv_expectation: shapes {xs:?} and {ys:?} (want [B, n, d], [B, m, d])"
    );
    assert_eq!(x.dtype(), y.dtype(), "cv_expectation: mixed dtypes");
    (xs[0], xs[1], ys[1], xs[2])
}

/// E\[C\] `[B, 1]` and the means it used.
fn expectation_forward(
    x: &FlexTensor,
    y: &FlexTensor,
    upper: bool,
) -> (FlexTensor, Vec<f64>, Vec<f64>) {
    let (b, n, m, d) = points_dims(x, y);
    let ((m1, s1), (m2, s2)) = match x.dtype() {
        DType::F32 => (
            column_moments(&x.storage::<f32>()[..b * n * d], b, n, d, upper),
            column_moments(&y.storage::<f32>()[..b * m * d], b, m, d, upper),
        ),
        DType::F64 => (
            column_moments(&x.storage::<f64>()[..b * n * d], b, n, d, upper),
            column_moments(&y.storage::<f64>()[..b * m * d], b, m, d, upper),
        ),
        other => {
            panic!("cv_expectation: unsupported dtype {other:?} (f32 and f64 are supported)")
        }
    };
    let out: Vec<f64> = (0..b)
        .map(|bi| {
            let (a, c) = (&m1[bi * d..(bi + 1) * d], &m2[bi * d..(bi + 1) * d]);
            let gap: f64 = a.iter().zip(c).map(|(u, v)| (u - v) * (u - v)).sum();
            let total = if upper {
                let n1: f64 = a.iter().map(|u| u * u).sum();
                let n2: f64 = c.iter().map(|v| v * v).sum();
                gap + (s1[bi] - n1) + (s2[bi] - n2)
            } else {
                gap
            };
            total / d as f64
        })
        .collect();
    (tensor_from_f64(out, vec![b, 1], x.dtype()), m1, m2)
}

/// ∂E/∂(one side) `[B, n, d]`, lower: `2 g_b (mean_own − mean_other) / (n d)`, the same
/// row for every point, returned as `[B, d]` rows (see [`expectation_grad_tensor`]).
fn expectation_grad_rows<E: Real>(
    g: &[E],
    own: &[f64],
    other: &[f64],
    n: usize,
    d: usize,
) -> Vec<E> {
    let scale = 2.0 / (n as f64 * d as f64);
    own.iter()
        .zip(other)
        .enumerate()
        .map(|(j, (a, t))| E::from_f64(scale * g[j / d].to_f64() * (a - t)))
        .collect()
}

/// ∂E/∂(one side) `[B, n, d]`, upper: `2 g_b (p_i − mean_other) / (n d)`, written into
/// `out` (every element).
fn expectation_grad_full<E: Real + std::ops::Sub<Output = E> + std::ops::Mul<Output = E>>(
    g: &[E],
    points: &[E],
    other: &[f64],
    n: usize,
    d: usize,
    out: &mut [std::mem::MaybeUninit<E>],
) {
    let scale = 2.0 / (n as f64 * d as f64);
    let other_e: Vec<E> = other.iter().map(|v| E::from_f64(*v)).collect();
    out.par_chunks_mut(d).enumerate().for_each(|(pt, o)| {
        let bi = pt / n;
        let k = E::from_f64(scale * g[bi].to_f64());
        let xi = &points[pt * d..(pt + 1) * d];
        let mt = &other_e[bi * d..(bi + 1) * d];
        for ((oi, v), t) in o.iter_mut().zip(xi).zip(mt) {
            oi.write(k * (*v - *t));
        }
    });
}

/// Largest gradient (elements) kept for reuse by [`UPPER_GRAD`].
const REUSE_MAX: usize = 1 << 24;

thread_local! {
    /// The last upper-variate gradient buffer of this thread, reused by the next backward
    /// when nothing else holds it any more (it is only ever written while uniquely owned).
    /// The gradient accumulation adds it into the projection's gradient of the same points
    /// and drops its reference, so in a training loop one `[B, n, d]` buffer serves every
    /// step instead of a fresh allocation, whose pages the allocator may return to the
    /// system between steps and fault in again (measured: several ms per step at
    /// n·d = 10⁶ in feature spaces).
    static UPPER_GRAD: std::cell::RefCell<Option<FlexTensor>> =
        const { std::cell::RefCell::new(None) };
}

/// The gradient tensor of one side of `cv_expectation`.
///
/// Lower: `[B, 1, d]` rows expanded (stride 0) to `[B, n, d]`, so no `[B, n, d]` buffer is
/// written and the gradient accumulation adds it in place into the projection's gradient.
/// Upper: a full `[B, n, d]` tensor, written once into the reused buffer of
/// [`UPPER_GRAD`] where it is free, else into fresh uninitialised memory.
#[allow(clippy::too_many_arguments)]
fn expectation_grad_tensor(
    g: &FlexTensor,
    points: &FlexTensor,
    own: &[f64],
    other: &[f64],
    b: usize,
    n: usize,
    d: usize,
    upper: bool,
) -> FlexTensor {
    let dtype = points.dtype();
    if !upper {
        let rows = match dtype {
            DType::F32 => TensorData::new(
                expectation_grad_rows::<f32>(&g.storage::<f32>()[..b], own, other, n, d),
                [b, 1, d],
            ),
            DType::F64 => TensorData::new(
                expectation_grad_rows::<f64>(&g.storage::<f64>()[..b], own, other, n, d),
                [b, 1, d],
            ),
            other => panic!("cv_expectation: unsupported dtype {other:?}"),
        };
        return <Flex as FloatTensorOps<Flex>>::float_expand(
            FlexTensor::from_data(rows),
            Shape::from([b, n, d]),
        );
    }
    let len = b * n * d;
    let reused = UPPER_GRAD.with(|slot| {
        let mut slot = slot.borrow_mut();
        let fits = slot.as_ref().is_some_and(|t| {
            t.dtype() == dtype
                && t.shape().dims::<3>() == [b, n, d]
                && t.is_contiguous()
                && t.layout().start_offset() == 0
                && t.is_unique()
        });
        if fits { slot.take() } else { None }
    });
    macro_rules! fill {
        ($e:ty) => {{
            let (gs, xs) = (&g.storage::<$e>()[..b], &points.storage::<$e>()[..len]);
            match reused {
                Some(mut t) => {
                    let out = t.try_storage_mut::<$e>().expect("uniquely owned");
                    // SAFETY: MaybeUninit<E> has the layout of E; every element is
                    // overwritten.
                    let out = unsafe {
                        std::slice::from_raw_parts_mut(
                            out.as_mut_ptr() as *mut std::mem::MaybeUninit<$e>,
                            len,
                        )
                    };
                    expectation_grad_full::<$e>(gs, xs, other, n, d, out);
                    t
                }
                None => {
                    let mut v: Vec<$e> = Vec::with_capacity(len);
                    expectation_grad_full::<$e>(gs, xs, other, n, d, v.spare_capacity_mut());
                    // SAFETY: all `len` elements were written above.
                    unsafe { v.set_len(len) };
                    FlexTensor::from_data(TensorData::new(v, [b, n, d]))
                }
            }
        }};
    }
    let out = match dtype {
        DType::F32 => fill!(f32),
        DType::F64 => fill!(f64),
        other => panic!("cv_expectation: unsupported dtype {other:?}"),
    };
    if len <= REUSE_MAX {
        UPPER_GRAD.with(|slot| *slot.borrow_mut() = Some(out.clone()));
    }
    out
}

#[derive(Debug)]
struct ExpectationBackward;

impl Backward<Flex, 2> for ExpectationBackward {
    type State = Arc<ExpectationState>;

    fn backward(
        self,
        ops: Ops<Self::State, 2>,
        grads: &mut Gradients,
        _checkpointer: &mut Checkpointer,
    ) {
        let [node_x, node_y] = ops.parents;
        let g = contiguous(grads.consume::<Flex>(&ops.node));
        let s = ops.state;
        let (b, n, m, d) = points_dims(&s.x, &s.y);
        if let Some(node) = node_x {
            let grad = expectation_grad_tensor(&g, &s.x, &s.m1, &s.m2, b, n, d, s.upper);
            grads.register::<Flex>(node.id, grad);
        }
        if let Some(node) = node_y {
            let grad = expectation_grad_tensor(&g, &s.y, &s.m2, &s.m1, b, m, d, s.upper);
            grads.register::<Flex>(node.id, grad);
        }
    }
}

// ---------------------------------------------------------------------------------------
// The backend implementations.

impl ControlVariateOps for Flex {
    fn cv_combine(
        w: FloatTensor<Self>,
        c: FloatTensor<Self>,
        expectation: FloatTensor<Self>,
        _detach_gamma: bool,
    ) -> FloatTensor<Self> {
        combine_forward(&contiguous(w), &contiguous(c), &contiguous(expectation))
    }

    fn projected_cv(
        px: FloatTensor<Self>,
        py: FloatTensor<Self>,
        upper: bool,
    ) -> FloatTensor<Self> {
        projected_flex(px, py, upper)
    }

    fn cv_expectation(
        x: FloatTensor<Self>,
        y: FloatTensor<Self>,
        upper: bool,
    ) -> FloatTensor<Self> {
        expectation_forward(&contiguous(x), &contiguous(y), upper).0
    }
}

impl<C: CheckpointStrategy> ControlVariateOps for Autodiff<Flex, C> {
    fn cv_combine(
        w: FloatTensor<Self>,
        c: FloatTensor<Self>,
        expectation: FloatTensor<Self>,
        detach_gamma: bool,
    ) -> FloatTensor<Self> {
        let (w, node_w) = w.into_parts();
        let (c, node_c) = c.into_parts();
        let (e, node_e) = expectation.into_parts();
        let (w, c, e) = (contiguous(w), contiguous(c), contiguous(e));
        match CombineBackward
            .prepare::<C>([node_w, node_c, node_e])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let out = combine_forward(&w, &c, &e);
                prep.finish(
                    Arc::new(CombineState {
                        w,
                        c,
                        e,
                        detach_gamma,
                    }),
                    out,
                )
            }
            OpsKind::UnTracked(prep) => prep.finish(combine_forward(&w, &c, &e)),
        }
    }

    fn projected_cv(
        px: FloatTensor<Self>,
        py: FloatTensor<Self>,
        upper: bool,
    ) -> FloatTensor<Self> {
        let (px, node_x) = px.into_parts();
        let (py, node_y) = py.into_parts();
        match ProjectedCvBackward
            .prepare::<C>([node_x, node_y])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let (px, py) = (contiguous(px), contiguous(py));
                let out = projected_flex(px.clone(), py.clone(), upper);
                prep.finish((px, py, upper), out)
            }
            OpsKind::UnTracked(prep) => prep.finish(projected_flex(px, py, upper)),
        }
    }

    fn cv_expectation(
        x: FloatTensor<Self>,
        y: FloatTensor<Self>,
        upper: bool,
    ) -> FloatTensor<Self> {
        let (x, node_x) = x.into_parts();
        let (y, node_y) = y.into_parts();
        let (x, y) = (contiguous(x), contiguous(y));
        match ExpectationBackward
            .prepare::<C>([node_x, node_y])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let (out, m1, m2) = expectation_forward(&x, &y, upper);
                prep.finish(
                    Arc::new(ExpectationState {
                        x,
                        y,
                        m1,
                        m2,
                        upper,
                    }),
                    out,
                )
            }
            OpsKind::UnTracked(prep) => prep.finish(expectation_forward(&x, &y, upper).0),
        }
    }
}
