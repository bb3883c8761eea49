//! E[C] under θ ~ Unif(S^{d−1}) from the column moments of the points, forward and backward.

#[allow(unused_imports)]
use super::*;

/// Column means `[B, d]` and mean squared norms `[B]` of `[B, n, d]` (f64 sums), the
/// columns cut into parallel tasks as in `moments.rs`.
pub(super) fn column_moments<E: Real>(
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
pub(super) struct ExpectationState {
    pub(super) x: FlexTensor,
    pub(super) y: FlexTensor,
    pub(super) m1: Vec<f64>,
    pub(super) m2: Vec<f64>,
    pub(super) upper: bool,
}

pub(super) fn points_dims(x: &FlexTensor, y: &FlexTensor) -> (usize, usize, usize, usize) {
    let (xs, ys) = (x.shape(), y.shape());
    assert!(
        xs.num_dims() == 3 && ys.num_dims() == 3 && xs[0] == ys[0] && xs[2] == ys[2],
        "cv_expectation: shapes {xs:?} and {ys:?} (want [B, n, d], [B, m, d])"
    );
    assert_eq!(x.dtype(), y.dtype(), "cv_expectation: mixed dtypes");
    (xs[0], xs[1], ys[1], xs[2])
}

/// E\[C\] `[B, 1]` and the means it used.
pub(super) fn expectation_forward(
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
pub(super) fn expectation_grad_rows<E: Real>(
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
pub(super) fn expectation_grad_full<
    E: Real + std::ops::Sub<Output = E> + std::ops::Mul<Output = E>,
>(
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
pub(super) const REUSE_MAX: usize = 1 << 24;

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
pub(super) fn expectation_grad_tensor(
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
pub(super) struct ExpectationBackward;

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
