//! The fused weighted 1-D W_p^p on the Flex CPU backend (any sizes, any weights), with its
//! hand-written backward for `Autodiff<Flex>`. The reference twin is
//! [`super::weighted_wpp_reference`].
//!
//! ```text
//! row r: values x [n], y [m]; weights a [n], b [m] (each summing to 1), shared by the L rows
//!        of one group (the directions of one pair): weights are [G, n], [G, m], R = G·L
//! σ, τ        sorting permutations of x and y;  c^x_i = Σ_{t≤i} a_σ(t),  c^y_j likewise
//! merge       the n + m levels q_1 ≤ … ≤ q_{n+m} of c^x ∪ c^y (x first on ties), q_0 = 0;
//!             i_k, j_k = x- and y-levels merged before level k (clipped to n−1, m−1)
//! forward     W = Σ_k (q_k − q_{k−1}) f(d_k),  f(d) = |d|^p,  d_k = x_σ(i_k) − y_τ(j_k)
//! backward    ∂W/∂x_σ(i) =  Σ_{k: i_k = i} (q_k − q_{k−1}) f'(d_k),   ∂W/∂y_τ(j) = −(same over j_k = j)
//!             ∂W/∂q_k = f(d_k) − f(d_{k+1})  (f(d_{n+m+1}) = 0), so for the x-level i at
//!             merged position k, ∂W/∂c^x_i = f(d_k) − f(d_{k+1}) and
//!             ∂W/∂a_σ(t) = Σ_{i ≥ t} ∂W/∂c^x_i   (cumsum's adjoint), summed over the
//!             group's rows; y alike.
//! ```
//! One pass per row (two argsorts — radix for f32 — and a two-pointer merge), rows in parallel
//! on rayon, read in their own type and computed in f64. The gradients are those of the composition of Burn ops in the reference
//! (the merge order is piecewise constant in the inputs). The two last levels are both 1 up to
//! rounding, so which merges last (and the raw ∂W/∂a, ∂W/∂b, by a constant per row) can differ
//! from the reference in f32; normalising the weights, as `sliced` does, removes that constant.

use std::sync::Arc;

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::backend::{Autodiff, Flex, TensorMetadata, tensor::FloatTensor};
use burn::tensor::{DType, TensorData};
use rayon::prelude::*;

use super::WeightedWppOps;
use super::flex::term;
use super::radix::{argsort_f32, argsort_f64};
use crate::kernel_support::{Real, contiguous};

/// Element types the kernel reads (f64 arithmetic inside).
trait Elem: Real {
    /// Stable argsort of `v` into `perm`; `sorted` receives the sorted values as f64.
    fn argsort(v: &[Self], sorted: &mut Vec<f64>, perm: &mut Vec<u32>, s: &mut SortScratch);
}

/// Buffers of the f32 radix argsort.
#[derive(Default)]
struct SortScratch {
    s32: Vec<f32>,
    packed: Vec<u64>,
    tmp: Vec<u64>,
}

impl Elem for f32 {
    fn argsort(v: &[f32], sorted: &mut Vec<f64>, perm: &mut Vec<u32>, s: &mut SortScratch) {
        s.s32.resize(v.len(), 0.0);
        perm.resize(v.len(), 0);
        argsort_f32(v, &mut s.s32, perm, &mut s.packed, &mut s.tmp);
        sorted.clear();
        sorted.extend(s.s32.iter().map(|&x| x as f64));
    }
}

impl Elem for f64 {
    fn argsort(v: &[f64], sorted: &mut Vec<f64>, perm: &mut Vec<u32>, _: &mut SortScratch) {
        sorted.resize(v.len(), 0.0);
        perm.resize(v.len(), 0);
        argsort_f64(v, sorted, perm);
    }
}

/// One row's inputs in their own element type.
struct RowIn<'a, E> {
    x: &'a [E],
    y: &'a [E],
    a: &'a [E],
    b: &'a [E],
}

/// Per-row gradients (for a unit upstream gradient), in the inputs' original order.
struct RowGrads<'a> {
    x: &'a mut [f64],
    y: &'a mut [f64],
    a: &'a mut [f64],
    b: &'a mut [f64],
}

/// Reusable buffers of one worker.
#[derive(Default)]
struct Scratch {
    sx: Vec<f64>,
    sy: Vec<f64>,
    perm_x: Vec<u32>,
    perm_y: Vec<u32>,
    cx: Vec<f64>,
    cy: Vec<f64>,
    gxs: Vec<f64>,
    gys: Vec<f64>,
    gcx: Vec<f64>,
    gcy: Vec<f64>,
    sort: SortScratch,
}

/// Cumulative sorted weights.
fn cumulative<E: Elem>(w: &[E], perm: &[u32], out: &mut Vec<f64>) {
    out.clear();
    let mut acc = 0.0;
    out.extend(perm.iter().map(|&i| {
        acc += w[i as usize].to_f64();
        acc
    }));
}

/// W for one row; with `grads`, also fills them.
fn row<E: Elem>(input: RowIn<E>, p: f64, s: &mut Scratch, grads: Option<RowGrads>) -> f64 {
    let (n, m) = (input.x.len(), input.y.len());
    E::argsort(input.x, &mut s.sx, &mut s.perm_x, &mut s.sort);
    E::argsort(input.y, &mut s.sy, &mut s.perm_y, &mut s.sort);
    cumulative(input.a, &s.perm_x, &mut s.cx);
    cumulative(input.b, &s.perm_y, &mut s.cy);
    let keep = grads.is_some();
    if keep {
        for (v, len) in [
            (&mut s.gxs, n),
            (&mut s.gys, m),
            (&mut s.gcx, n),
            (&mut s.gcy, m),
        ] {
            v.clear();
            v.resize(len, 0.0);
        }
    }
    let (mut i, mut j, mut prev, mut w) = (0usize, 0usize, 0.0f64, 0.0f64);
    // The level merged at the previous step: (is x, index), for ∂W/∂q.
    let mut last: Option<(bool, usize)> = None;
    for _ in 0..n + m {
        let take_x = j >= m || (i < n && s.cx[i] <= s.cy[j]);
        let q = if take_x { s.cx[i] } else { s.cy[j] };
        let (ii, jj) = (i.min(n - 1), j.min(m - 1));
        let (f, df) = term(s.sx[ii] - s.sy[jj], p);
        let dq = q - prev;
        w += dq * f;
        if keep {
            s.gxs[ii] += dq * df;
            s.gys[jj] -= dq * df;
            // ∂W/∂q_k gets +f(d_k); ∂W/∂q_{k−1} gets −f(d_k).
            if let Some((lx, l)) = last {
                if lx { s.gcx[l] -= f } else { s.gcy[l] -= f }
            }
            if take_x { s.gcx[i] += f } else { s.gcy[j] += f }
        }
        last = Some((take_x, if take_x { i } else { j }));
        prev = q;
        if take_x {
            i += 1;
        } else {
            j += 1;
        }
    }
    if let Some(g) = grads {
        // Suffix sums (cumsum's adjoint), then back through the permutations.
        for (gc, perm, gv, gw, gs) in [
            (&mut s.gcx, &s.perm_x, g.x, g.a, &s.gxs),
            (&mut s.gcy, &s.perm_y, g.y, g.b, &s.gys),
        ] {
            let mut acc = 0.0;
            for t in (0..gc.len()).rev() {
                acc += gc[t];
                let at = perm[t] as usize;
                gw[at] = acc;
                gv[at] = gs[t];
            }
        }
    }
    w
}

/// Unit-upstream gradients of every row, in the inputs' layout (the weights' per row, not yet
/// summed over the rows sharing a weight row), kept for the backward.
#[derive(Debug)]
struct State {
    rows: usize,
    groups: usize,
    n: usize,
    m: usize,
    dtype: DType,
    x: Vec<f64>,
    y: Vec<f64>,
    a: Vec<f64>,
    b: Vec<f64>,
}

fn widen(t: FlexTensor) -> Vec<f64> {
    let t = contiguous(t);
    let len = t.shape().num_elements();
    match t.dtype() {
        DType::F32 => t.storage::<f32>()[..len]
            .iter()
            .map(|&v| v as f64)
            .collect(),
        DType::F64 => t.storage::<f64>()[..len].to_vec(),
        other => panic!("weighted_wpp: unsupported dtype {other:?} (f32 and f64 are supported)"),
    }
}

fn narrow(v: Vec<f64>, shape: Vec<usize>, dtype: DType) -> FlexTensor {
    let data = match dtype {
        DType::F32 => TensorData::new(v.into_iter().map(|x| x as f32).collect::<Vec<_>>(), shape),
        _ => TensorData::new(v, shape),
    };
    FlexTensor::from_data(data)
}

/// Shapes: values `[R, n]`, `[R, m]`; weights `[G, n]`, `[G, m]` with R = G·L.
struct Dims {
    rows: usize,
    groups: usize,
    n: usize,
    m: usize,
}

/// All rows on slices of one element type; with `keep`, the unit gradients too.
fn rows<E: Elem>(
    (x, y, a, b): (&[E], &[E], &[E], &[E]),
    d: &Dims,
    p: f64,
    keep: bool,
) -> (Vec<f64>, Option<[Vec<f64>; 4]>) {
    let (n, m, per_group) = (d.n, d.m, d.rows / d.groups);
    let input = |r: usize| {
        let g = r / per_group;
        RowIn {
            x: &x[r * n..(r + 1) * n],
            y: &y[r * m..(r + 1) * m],
            a: &a[g * n..(g + 1) * n],
            b: &b[g * m..(g + 1) * m],
        }
    };
    let mut out = vec![0f64; d.rows];
    if !keep {
        out.par_iter_mut()
            .enumerate()
            .for_each_init(Scratch::default, |s, (r, o)| *o = row(input(r), p, s, None));
        return (out, None);
    }
    let (mut gx, mut gy) = (vec![0f64; d.rows * n], vec![0f64; d.rows * m]);
    let (mut ga, mut gb) = (vec![0f64; d.rows * n], vec![0f64; d.rows * m]);
    out.par_iter_mut()
        .zip(gx.par_chunks_mut(n).zip(ga.par_chunks_mut(n)))
        .zip(gy.par_chunks_mut(m).zip(gb.par_chunks_mut(m)))
        .enumerate()
        .for_each_init(Scratch::default, |s, (r, ((o, (gx, ga)), (gy, gb)))| {
            let g = RowGrads {
                x: gx,
                y: gy,
                a: ga,
                b: gb,
            };
            *o = row(input(r), p, s, Some(g));
        });
    (out, Some([gx, gy, ga, gb]))
}

fn forward(
    px: FlexTensor,
    py: FlexTensor,
    wx: FlexTensor,
    wy: FlexTensor,
    p: f64,
    keep: bool,
) -> (FlexTensor, Option<State>) {
    let (sx, sy, sa, sb) = (px.shape(), py.shape(), wx.shape(), wy.shape());
    assert!(
        sx.num_dims() == 2 && sy.num_dims() == 2 && sx[0] == sy[0],
        "weighted_wpp: rows must be [R, n] and [R, m]"
    );
    assert!(
        sa.num_dims() == 2
            && sb.num_dims() == 2
            && sa[0] == sb[0]
            && sa[0] > 0
            && sx[0] % sa[0] == 0
            && sa[1] == sx[1]
            && sb[1] == sy[1],
        "weighted_wpp: weights must be [G, n] and [G, m] with G dividing the rows"
    );
    let d = Dims {
        rows: sx[0],
        groups: sa[0],
        n: sx[1],
        m: sy[1],
    };
    let dtype = px.dtype();
    assert!(
        [py.dtype(), wx.dtype(), wy.dtype()]
            .iter()
            .all(|&t| t == dtype),
        "weighted_wpp: values and weights must share one dtype"
    );
    let (px, py, wx, wy) = (
        contiguous(px),
        contiguous(py),
        contiguous(wx),
        contiguous(wy),
    );
    macro_rules! typed {
        ($e:ty) => {
            rows::<$e>(
                (
                    &px.storage::<$e>()[..d.rows * d.n],
                    &py.storage::<$e>()[..d.rows * d.m],
                    &wx.storage::<$e>()[..d.groups * d.n],
                    &wy.storage::<$e>()[..d.groups * d.m],
                ),
                &d,
                p,
                keep,
            )
        };
    }
    let (out, grads) = match dtype {
        DType::F32 => typed!(f32),
        DType::F64 => typed!(f64),
        other => panic!("weighted_wpp: unsupported dtype {other:?} (f32 and f64 are supported)"),
    };
    let state = grads.map(|[x, y, a, b]| State {
        rows: d.rows,
        groups: d.groups,
        n: d.n,
        m: d.m,
        dtype,
        x,
        y,
        a,
        b,
    });
    (narrow(out, vec![d.rows], dtype), state)
}

impl State {
    /// `g_r · ∂W_r/∂(values)`: `[R, len]`.
    fn values(&self, g: &[f64], unit: &[f64], len: usize) -> FlexTensor {
        let mut v = unit.to_vec();
        v.par_chunks_mut(len.max(1))
            .zip(g.par_iter())
            .for_each(|(row, &gr)| row.iter_mut().for_each(|e| *e *= gr));
        narrow(v, vec![self.rows, len], self.dtype)
    }

    /// `Σ_{r in group} g_r · ∂W_r/∂(weights)`: `[G, len]`.
    fn weights(&self, g: &[f64], unit: &[f64], len: usize) -> FlexTensor {
        let per_group = self.rows / self.groups;
        let mut v = vec![0f64; self.groups * len];
        v.par_chunks_mut(len.max(1))
            .enumerate()
            .for_each(|(grp, out)| {
                for r in grp * per_group..(grp + 1) * per_group {
                    let gr = g[r];
                    for (o, u) in out.iter_mut().zip(&unit[r * len..(r + 1) * len]) {
                        *o += gr * u;
                    }
                }
            });
        narrow(v, vec![self.groups, len], self.dtype)
    }
}

impl WeightedWppOps for Flex {
    fn weighted_wpp(
        px: FloatTensor<Self>,
        py: FloatTensor<Self>,
        wx: FloatTensor<Self>,
        wy: FloatTensor<Self>,
        p: f64,
    ) -> FloatTensor<Self> {
        forward(px, py, wx, wy, p, false).0
    }
}

#[derive(Debug)]
struct WeightedWppBackward;

impl Backward<Flex, 4> for WeightedWppBackward {
    type State = Arc<State>;

    fn backward(
        self,
        ops: Ops<Self::State, 4>,
        grads: &mut Gradients,
        _checkpointer: &mut Checkpointer,
    ) {
        let g = widen(grads.consume::<Flex>(&ops.node));
        let s = &ops.state;
        let [nx, ny, na, nb] = ops.parents;
        if let Some(node) = nx {
            grads.register::<Flex>(node.id, s.values(&g, &s.x, s.n));
        }
        if let Some(node) = ny {
            grads.register::<Flex>(node.id, s.values(&g, &s.y, s.m));
        }
        if let Some(node) = na {
            grads.register::<Flex>(node.id, s.weights(&g, &s.a, s.n));
        }
        if let Some(node) = nb {
            grads.register::<Flex>(node.id, s.weights(&g, &s.b, s.m));
        }
    }
}

impl<C: CheckpointStrategy> WeightedWppOps for Autodiff<Flex, C> {
    fn weighted_wpp(
        px: FloatTensor<Self>,
        py: FloatTensor<Self>,
        wx: FloatTensor<Self>,
        wy: FloatTensor<Self>,
        p: f64,
    ) -> FloatTensor<Self> {
        let (px, nx) = px.into_parts();
        let (py, ny) = py.into_parts();
        let (wx, na) = wx.into_parts();
        let (wy, nb) = wy.into_parts();
        match WeightedWppBackward
            .prepare::<C>([nx, ny, na, nb])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let (out, state) = forward(px, py, wx, wy, p, true);
                prep.finish(Arc::new(state.expect("state kept")), out)
            }
            OpsKind::UnTracked(prep) => prep.finish(forward(px, py, wx, wy, p, false).0),
        }
    }
}
