//! The projected control-variate terms C per direction from the sorted-free moments of the
//! projections, forward and backward.

#[allow(unused_imports)]
use super::*;

pub(super) fn rows_dims(px: &FlexTensor, py: &FlexTensor) -> (usize, usize, usize, usize) {
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
pub(super) fn mean_var<E: Real>(row: &[E]) -> (f64, f64) {
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
pub(super) fn rows_per_task(len: usize) -> usize {
    (16_384 / len.max(1)).max(1)
}

pub(super) fn projected_forward<E: Real>(
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
pub(super) fn projected_backward<E: Real>(
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

pub(super) fn projected_flex(px: FlexTensor, py: FlexTensor, upper: bool) -> FlexTensor {
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
pub(super) struct ProjectedCvBackward;

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
