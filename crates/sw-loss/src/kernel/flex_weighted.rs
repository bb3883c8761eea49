//! The fused weighted 1-D W_p^p on the Flex CPU backend (any sizes, any weights), with its
//! hand-written backward for `Autodiff<Flex>`. The reference twin is
//! [`crate::one_d::wpp_quantile`].
//!
//! ```text
//! row r: values x [n], y [m]; weights a [n], b [m] (each summing to 1)
//! σ, τ        sorting permutations of x and y;  c^x_i = Σ_{t≤i} a_σ(t),  c^y_j likewise
//! merge       the n + m levels q_1 ≤ … ≤ q_{n+m} of c^x ∪ c^y (x first on ties), q_0 = 0;
//!             i_k, j_k = x- and y-levels merged before level k (clipped to n−1, m−1)
//! forward     W = Σ_k (q_k − q_{k−1}) f(d_k),  f(d) = |d|^p,  d_k = x_σ(i_k) − y_τ(j_k)
//! backward    ∂W/∂x_σ(i) =  Σ_{k: i_k = i} (q_k − q_{k−1}) f'(d_k),   ∂W/∂y_τ(j) = −(same over j_k = j)
//!             ∂W/∂q_k = f(d_k) − f(d_{k+1})  (f(d_{n+m+1}) = 0), so for the x-level i at
//!             merged position k, ∂W/∂c^x_i = f(d_k) − f(d_{k+1}) and
//!             ∂W/∂a_σ(t) = Σ_{i ≥ t} ∂W/∂c^x_i   (cumsum's adjoint); y alike.
//! ```
//! One pass per row (two argsorts — radix for f32 — and a two-pointer merge), rows in parallel on rayon,
//! in f64 inside. The gradients are those of the composition of Burn ops in the reference
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
use super::flex::{contiguous, term};
use super::radix::{argsort_f32, argsort_f64};

/// One row's inputs, widened to f64; for f32 inputs also the original values, which the
/// radix argsort takes (same permutation, faster).
struct RowIn<'a> {
    x: &'a [f64],
    y: &'a [f64],
    a: &'a [f64],
    b: &'a [f64],
    x32: Option<&'a [f32]>,
    y32: Option<&'a [f32]>,
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
    s32: Vec<f32>,
    packed: Vec<u64>,
    tmp: Vec<u64>,
}

/// Stable argsort of `v` (radix on the f32 original where there is one).
fn argsort(v: &[f64], v32: Option<&[f32]>, s: &mut Scratch, into_x: bool) {
    let (sorted, perm) = if into_x {
        (&mut s.sx, &mut s.perm_x)
    } else {
        (&mut s.sy, &mut s.perm_y)
    };
    sorted.resize(v.len(), 0.0);
    perm.resize(v.len(), 0);
    match v32 {
        Some(v32) => {
            s.s32.resize(v.len(), 0.0);
            argsort_f32(v32, &mut s.s32, perm, &mut s.packed, &mut s.tmp);
            for (o, &p) in sorted.iter_mut().zip(perm.iter()) {
                *o = v[p as usize];
            }
        }
        None => argsort_f64(v, sorted, perm),
    }
}

/// Cumulative sorted weights.
fn cumulative(w: &[f64], perm: &[u32], out: &mut Vec<f64>) {
    out.clear();
    let mut acc = 0.0;
    out.extend(perm.iter().map(|&i| {
        acc += w[i as usize];
        acc
    }));
}

/// W for one row; with `grads`, also fills them.
fn row(input: RowIn, p: f64, s: &mut Scratch, grads: Option<RowGrads>) -> f64 {
    let (n, m) = (input.x.len(), input.y.len());
    argsort(input.x, input.x32, s, true);
    argsort(input.y, input.y32, s, false);
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

/// Unit-upstream gradients of every row, in the inputs' layout, kept for the backward.
#[derive(Debug)]
struct State {
    rows: usize,
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

fn forward(
    px: FlexTensor,
    py: FlexTensor,
    wx: FlexTensor,
    wy: FlexTensor,
    p: f64,
    keep: bool,
) -> (FlexTensor, Option<State>) {
    let (sx, sy) = (px.shape(), py.shape());
    assert!(
        sx.num_dims() == 2 && sy.num_dims() == 2 && sx[0] == sy[0],
        "weighted_wpp: rows must be [R, n] and [R, m]"
    );
    assert!(
        wx.shape() == sx && wy.shape() == sy,
        "weighted_wpp: weights must have the shapes of their values"
    );
    let (rows, n, m) = (sx[0], sx[1], sy[1]);
    let dtype = px.dtype();
    let narrow32 = |t: &FlexTensor| -> Option<Vec<f32>> {
        (t.dtype() == DType::F32).then(|| {
            let t = contiguous(t.clone());
            t.storage::<f32>()[..t.shape().num_elements()].to_vec()
        })
    };
    let (x32, y32) = (narrow32(&px), narrow32(&py));
    let (x, y, a, b) = (widen(px), widen(py), widen(wx), widen(wy));
    let mut out = vec![0f64; rows];
    let input = |r: usize| RowIn {
        x: &x[r * n..(r + 1) * n],
        y: &y[r * m..(r + 1) * m],
        a: &a[r * n..(r + 1) * n],
        b: &b[r * m..(r + 1) * m],
        x32: x32.as_ref().map(|v| &v[r * n..(r + 1) * n]),
        y32: y32.as_ref().map(|v| &v[r * m..(r + 1) * m]),
    };
    let state = if keep {
        let (mut gx, mut gy) = (vec![0f64; rows * n], vec![0f64; rows * m]);
        let (mut ga, mut gb) = (vec![0f64; rows * n], vec![0f64; rows * m]);
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
        Some(State {
            rows,
            n,
            m,
            dtype,
            x: gx,
            y: gy,
            a: ga,
            b: gb,
        })
    } else {
        out.par_iter_mut()
            .enumerate()
            .for_each_init(Scratch::default, |s, (r, o)| *o = row(input(r), p, s, None));
        None
    };
    (narrow(out, vec![rows], dtype), state)
}

impl State {
    /// `g_r · ∂W_r/∂(input)`, for the input whose unit gradients are `unit` with `len` per row.
    fn scaled(&self, g: &FlexTensor, unit: &[f64], len: usize) -> FlexTensor {
        let g = widen(g.clone());
        let mut v = unit.to_vec();
        v.par_chunks_mut(len.max(1))
            .zip(g.par_iter())
            .for_each(|(row, &gr)| row.iter_mut().for_each(|e| *e *= gr));
        narrow(v, vec![self.rows, len], self.dtype)
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
        let g = grads.consume::<Flex>(&ops.node);
        let s = &ops.state;
        let [nx, ny, na, nb] = ops.parents;
        for (node, unit, len) in [
            (nx, &s.x, s.n),
            (ny, &s.y, s.m),
            (na, &s.a, s.n),
            (nb, &s.b, s.m),
        ] {
            if let Some(node) = node {
                grads.register::<Flex>(node.id, s.scaled(&g, unit, len));
            }
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
