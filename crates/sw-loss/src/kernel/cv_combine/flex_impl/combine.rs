//! The combine of the control variate: per row the fitted γ̂ and W − γ̂(C − E[C]), its backward.

#[allow(unused_imports)]
use super::*;

/// The per-row statistics of the combination.
pub(super) struct RowStats {
    pub(super) w_mean: f64,
    pub(super) m: f64,
    pub(super) denom: f64,
    pub(super) gamma: f64,
    pub(super) raw: f64,
}

pub(super) fn row_stats(w: &[f64], c: &[f64], e: f64) -> RowStats {
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

pub(super) fn combine_dims(w: &FlexTensor, c: &FlexTensor, e: &FlexTensor) -> (usize, usize) {
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

pub(super) fn combine_forward(w: &FlexTensor, c: &FlexTensor, e: &FlexTensor) -> FlexTensor {
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
pub(super) fn combine_backward(
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
pub(super) struct CombineBackward;

#[derive(Debug)]
pub(super) struct CombineState {
    pub(super) w: FlexTensor,
    pub(super) c: FlexTensor,
    pub(super) e: FlexTensor,
    pub(super) detach_gamma: bool,
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
