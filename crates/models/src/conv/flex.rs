//! The GEMM convolution on Flex and its hand-written backward (see the module documentation
//! of [`super`] for the math and shapes).
//!
//! Layout: everything NCHW, contiguous. Per image, `cols [C·k·k, Oh·Ow]` is built row by row
//! with contiguous copies (a row is one (c, u, v) tap over all output pixels; for stride 1 each
//! output row is one `copy_from_slice` of the input row, zero-filled at the borders), so the
//! GEMM's right-hand side is row-major and the result lands directly in `y[n]` — no layout
//! change before or after. Images are split over rayon's threads; each `gemm` call runs on
//! one thread (`Parallelism::None`) unless there are fewer images than threads.

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::backend::{Autodiff, Flex, TensorMetadata, tensor::FloatTensor};
use burn::tensor::TensorData;
use gemm::Parallelism;
use rayon::prelude::*;

use super::GemmConvOps;
use sw_loss::by_float_dtype;
use sw_loss::kernel_support::{Real, contiguous};

/// The sizes of one convolution.
#[derive(Debug, Clone, Copy)]
struct Geometry {
    b: usize,
    c: usize,
    h: usize,
    w: usize,
    o: usize,
    k: usize,
    s: usize,
    p: usize,
    oh: usize,
    ow: usize,
}

impl Geometry {
    fn new(x: &FlexTensor, weight: &FlexTensor, stride: usize, padding: usize) -> Self {
        let (xs, ws) = (x.shape(), weight.shape());
        assert!(
            xs.num_dims() == 4 && ws.num_dims() == 4 && xs[1] == ws[1] && ws[2] == ws[3],
            "gemm_conv2d: input {xs:?} and kernel {ws:?} (want [B, C, H, W] and [O, C, k, k])"
        );
        assert!(stride >= 1, "gemm_conv2d: stride 0");
        let (h, w, k) = (xs[2], xs[3], ws[2]);
        assert!(
            h + 2 * padding >= k && w + 2 * padding >= k,
            "gemm_conv2d: kernel {k} larger than the padded input {h}×{w} (+2·{padding})"
        );
        Self {
            b: xs[0],
            c: xs[1],
            h,
            w,
            o: ws[0],
            k,
            s: stride,
            p: padding,
            oh: (h + 2 * padding - k) / stride + 1,
            ow: (w + 2 * padding - k) / stride + 1,
        }
    }

    /// Rows of `cols` (the GEMM depth): C·k·k.
    fn ckk(&self) -> usize {
        self.c * self.k * self.k
    }

    /// Output pixels per channel.
    fn ohw(&self) -> usize {
        self.oh * self.ow
    }

    /// Elements of one input image.
    fn image(&self) -> usize {
        self.c * self.h * self.w
    }

    /// A 1×1 kernel, stride 1, no padding: `cols` is the image itself.
    fn pointwise(&self) -> bool {
        self.k == 1 && self.s == 1 && self.p == 0
    }

    /// For tap column offset `v`: the output columns `[lo, hi)` that read inside the image.
    fn valid_cols(&self, v: usize) -> (usize, usize) {
        // input column s·j + v − p ∈ [0, W)
        let lo = self.p.saturating_sub(v).div_ceil(self.s);
        let hi = if self.w + self.p > v {
            ((self.w + self.p - v - 1) / self.s + 1).min(self.ow)
        } else {
            0
        };
        (lo.min(hi), hi)
    }
}

/// `cols [C·k·k, Oh·Ow]` of one image `x [C, H, W]`.
fn im2col<E: Real>(x: &[E], g: &Geometry, cols: &mut [E]) {
    let (hw, ohw) = (g.h * g.w, g.ohw());
    for c in 0..g.c {
        let plane = &x[c * hw..(c + 1) * hw];
        for u in 0..g.k {
            for v in 0..g.k {
                let row = (c * g.k + u) * g.k + v;
                let dst = &mut cols[row * ohw..(row + 1) * ohw];
                let (lo, hi) = g.valid_cols(v);
                for i in 0..g.oh {
                    let seg = &mut dst[i * g.ow..(i + 1) * g.ow];
                    let ih = (g.s * i + u) as isize - g.p as isize;
                    if ih < 0 || ih >= g.h as isize {
                        seg.fill(E::default());
                        continue;
                    }
                    let src = &plane[ih as usize * g.w..(ih as usize + 1) * g.w];
                    seg[..lo].fill(E::default());
                    seg[hi..].fill(E::default());
                    if g.s == 1 {
                        let start = lo + v - g.p;
                        seg[lo..hi].copy_from_slice(&src[start..start + (hi - lo)]);
                    } else {
                        for (j, out) in seg[lo..hi].iter_mut().enumerate() {
                            *out = src[g.s * (lo + j) + v - g.p];
                        }
                    }
                }
            }
        }
    }
}

/// The adjoint of [`im2col`]: `dx [C, H, W] += col2im(dcols)` (dx zeroed by the caller).
fn col2im<E: Real>(dcols: &[E], g: &Geometry, dx: &mut [E]) {
    let (hw, ohw) = (g.h * g.w, g.ohw());
    for c in 0..g.c {
        let plane = &mut dx[c * hw..(c + 1) * hw];
        for u in 0..g.k {
            for v in 0..g.k {
                let row = (c * g.k + u) * g.k + v;
                let src = &dcols[row * ohw..(row + 1) * ohw];
                let (lo, hi) = g.valid_cols(v);
                for i in 0..g.oh {
                    let ih = (g.s * i + u) as isize - g.p as isize;
                    if ih < 0 || ih >= g.h as isize {
                        continue;
                    }
                    let seg = &src[i * g.ow..(i + 1) * g.ow];
                    let dst = &mut plane[ih as usize * g.w..(ih as usize + 1) * g.w];
                    if g.s == 1 {
                        // contiguous on both sides: a vectorised add
                        let start = lo + v - g.p;
                        for (d, x) in dst[start..start + (hi - lo)].iter_mut().zip(&seg[lo..hi]) {
                            *d += *x;
                        }
                    } else {
                        for j in lo..hi {
                            dst[g.s * j + v - g.p] += seg[j];
                        }
                    }
                }
            }
        }
    }
}

/// `dst (m×n) = [dst +] lhs · rhs` with `gemm`'s strides: each operand is `(slice, row stride,
/// column stride)`; `accumulate` reads `dst`. gemm works column-major inside (it transposes a
/// row-major `dst`), packs its left operand into panels of 64 rows unless it is short and
/// unit-stride along the rows, and reads a right operand with unit row stride in place: pick the
/// layout of `dst` so that the operand that would need a strided gather is the small one.
#[allow(clippy::too_many_arguments)]
fn matmul<E: Real>(
    m: usize,
    n: usize,
    depth: usize,
    dst: (&mut [E], usize, usize),
    accumulate: bool,
    lhs: (&[E], usize, usize),
    rhs: (&[E], usize, usize),
    par: Parallelism,
) {
    let ((d, d_rs, d_cs), (a, a_rs, a_cs), (b, b_rs, b_cs)) = (dst, lhs, rhs);
    assert!(m == 0 || n == 0 || d.len() > (m - 1) * d_rs + (n - 1) * d_cs);
    assert!(m == 0 || depth == 0 || a.len() > (m - 1) * a_rs + (depth - 1) * a_cs);
    assert!(n == 0 || depth == 0 || b.len() > (depth - 1) * b_rs + (n - 1) * b_cs);
    // SAFETY: the asserts above keep every index gemm reads or writes inside the slices;
    // `E` is f32 or f64, which gemm supports.
    unsafe {
        gemm::gemm(
            m,
            n,
            depth,
            d.as_mut_ptr(),
            d_cs as isize,
            d_rs as isize,
            accumulate,
            a.as_ptr(),
            a_cs as isize,
            a_rs as isize,
            b.as_ptr(),
            b_cs as isize,
            b_rs as isize,
            E::ONE,
            E::ONE,
            false,
            false,
            false,
            par,
        );
    }
}

/// Parallelism inside one GEMM: only when there are fewer images than threads.
fn inner_parallelism(images: usize) -> Parallelism {
    if images >= rayon::current_num_threads() {
        Parallelism::None
    } else {
        Parallelism::Rayon(0)
    }
}

/// `y [B, O, Oh, Ow]`.
fn forward<E: Real>(x: &[E], weight: &[E], bias: &[E], g: Geometry) -> Vec<E> {
    let (ckk, ohw) = (g.ckk(), g.ohw());
    let mut y = vec![E::default(); g.b * g.o * ohw];
    if y.is_empty() {
        return y;
    }
    let par = inner_parallelism(g.b);
    let cols_len = if g.pointwise() { 0 } else { ckk * ohw };
    y.par_chunks_mut(g.o * ohw).enumerate().for_each_init(
        || vec![E::default(); cols_len],
        |cols, (n, yn)| {
            for (o, row) in yn.chunks_mut(ohw).enumerate() {
                row.fill(bias[o]);
            }
            let xn = &x[n * g.image()..(n + 1) * g.image()];
            let rhs = if g.pointwise() {
                xn
            } else {
                im2col(xn, &g, cols);
                &cols[..]
            };
            matmul(
                g.o,
                ohw,
                ckk,
                (yn, ohw, 1),
                true,
                (weight, ckk, 1),
                (rhs, ohw, 1),
                par,
            );
        },
    );
    y
}

/// The gradients `(∂x, ∂W, ∂b)` for an upstream `grad [B, O, Oh, Ow]`; each only when asked.
#[allow(clippy::type_complexity)]
fn backward<E: Real>(
    x: &[E],
    weight: &[E],
    grad: &[E],
    g: Geometry,
    want: [bool; 3],
) -> (Option<Vec<E>>, Option<Vec<E>>, Option<Vec<E>>) {
    let (ckk, ohw) = (g.ckk(), g.ohw());
    let [want_x, want_w, want_b] = want;
    let db = want_b.then(|| {
        let mut db = vec![E::default(); g.o];
        for gn in grad.chunks(g.o * ohw) {
            for (o, row) in gn.chunks(ohw).enumerate() {
                let mut s = E::default();
                for &v in row {
                    s += v;
                }
                db[o] += s;
            }
        }
        db
    });
    if !want_x && !want_w {
        return (None, None, db);
    }
    // Contiguous chunks of images, one per thread: each accumulates its own ∂W.
    let threads = rayon::current_num_threads().max(1);
    let per = g.b.div_ceil(threads).max(1);
    let mut dx = if want_x {
        vec![E::default(); g.b * g.image()]
    } else {
        Vec::new()
    };
    let par = inner_parallelism(g.b);
    let image = g.image();
    let dx_chunks: Vec<Option<&mut [E]>> = if want_x {
        dx.chunks_mut(per * image).map(Some).collect()
    } else {
        (0..g.b.div_ceil(per)).map(|_| None).collect()
    };
    let partial_dw: Vec<Vec<E>> = dx_chunks
        .into_par_iter()
        .enumerate()
        .map(|(chunk, mut dx_chunk)| {
            let first = chunk * per;
            let last = (first + per).min(g.b);
            let mut dw = if want_w {
                vec![E::default(); g.o * ckk]
            } else {
                Vec::new()
            };
            let pointwise = g.pointwise();
            let mut cols = vec![E::default(); if pointwise { 0 } else { ckk * ohw }];
            for n in first..last {
                let xn = &x[n * image..(n + 1) * image];
                let gn = &grad[n * g.o * ohw..(n + 1) * g.o * ohw];
                if want_w {
                    // ∂W += G[n] · cols[n]ᵀ : [O, OhOw] × [OhOw, Ckk], written column-major
                    // (`dw` holds ∂Wᵀ [Ckk, O]): gemm then gathers the small G[n] into its
                    // panels and reads cols[n]ᵀ in place, instead of gathering all of cols[n].
                    let cols_n: &[E] = if pointwise {
                        xn
                    } else {
                        im2col(xn, &g, &mut cols);
                        &cols
                    };
                    matmul(
                        g.o,
                        ckk,
                        ohw,
                        (&mut dw, 1, g.o),
                        true,
                        (gn, ohw, 1),
                        (cols_n, 1, ohw),
                        par,
                    );
                }
                if let Some(dxc) = dx_chunk.as_deref_mut() {
                    let dxn = &mut dxc[(n - first) * image..(n - first + 1) * image];
                    if pointwise {
                        // ∂x[n] = Wᵀ · G[n] : [C, O] × [O, HW]
                        matmul(
                            g.c,
                            ohw,
                            g.o,
                            (dxn, ohw, 1),
                            false,
                            (weight, 1, ckk),
                            (gn, ohw, 1),
                            par,
                        );
                    } else {
                        // dcols = Wᵀ · G[n] : [Ckk, O] × [O, OhOw], then the scatter-add
                        matmul(
                            ckk,
                            ohw,
                            g.o,
                            (&mut cols, ohw, 1),
                            false,
                            (weight, 1, ckk),
                            (gn, ohw, 1),
                            par,
                        );
                        col2im(&cols, &g, dxn);
                    }
                }
            }
            dw
        })
        .collect();
    // Σ over the threads' ∂Wᵀ [Ckk, O], transposed to ∂W [O, Ckk].
    let dw = want_w.then(|| {
        let mut total = vec![E::default(); g.o * ckk];
        for part in &partial_dw {
            for (kk, row) in part.chunks(g.o).enumerate() {
                for (o, v) in row.iter().enumerate() {
                    total[o * ckk + kk] += *v;
                }
            }
        }
        total
    });
    (want_x.then_some(dx), dw, db)
}

fn tensor<E: Real>(values: Vec<E>, shape: Vec<usize>) -> FlexTensor {
    FlexTensor::from_data(TensorData::new(values, shape))
}

fn conv_flex(
    x: FlexTensor,
    weight: FlexTensor,
    bias: FlexTensor,
    stride: usize,
    padding: usize,
) -> FlexTensor {
    let g = Geometry::new(&x, &weight, stride, padding);
    assert!(
        bias.shape().num_dims() == 1 && bias.shape()[0] == g.o,
        "gemm_conv2d: bias {:?} for {} output channels",
        bias.shape(),
        g.o
    );
    let (x, weight, bias) = (contiguous(x), contiguous(weight), contiguous(bias));
    let shape = vec![g.b, g.o, g.oh, g.ow];
    by_float_dtype!("gemm_conv2d", x.dtype(), |E| tensor(
        forward::<E>(
            &x.storage::<E>()[..g.b * g.image()],
            &weight.storage::<E>()[..g.o * g.ckk()],
            &bias.storage::<E>()[..g.o],
            g,
        ),
        shape
    ))
}

impl GemmConvOps for Flex {
    fn gemm_conv2d(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        stride: usize,
        padding: usize,
    ) -> FloatTensor<Self> {
        conv_flex(x, weight, bias, stride, padding)
    }
}

#[derive(Debug)]
struct GemmConvBackward;

impl Backward<Flex, 3> for GemmConvBackward {
    /// Contiguous input and kernel (Arc-shared buffers), stride, padding.
    type State = (FlexTensor, FlexTensor, usize, usize);

    fn backward(
        self,
        ops: Ops<Self::State, 3>,
        grads: &mut Gradients,
        _checkpointer: &mut Checkpointer,
    ) {
        let [node_x, node_w, node_b] = ops.parents;
        let grad = contiguous(grads.consume::<Flex>(&ops.node));
        let (x, weight, stride, padding) = ops.state;
        let g = Geometry::new(&x, &weight, stride, padding);
        let want = [node_x.is_some(), node_w.is_some(), node_b.is_some()];
        let (xs, ws) = (vec![g.b, g.c, g.h, g.w], vec![g.o, g.c, g.k, g.k]);
        let (dx, dw, db) = by_float_dtype!("gemm_conv2d", x.dtype(), |E| {
            let (dx, dw, db) = backward::<E>(
                &x.storage::<E>()[..g.b * g.image()],
                &weight.storage::<E>()[..g.o * g.ckk()],
                &grad.storage::<E>()[..g.b * g.o * g.ohw()],
                g,
                want,
            );
            (
                dx.map(|v| tensor(v, xs)),
                dw.map(|v| tensor(v, ws)),
                db.map(|v| tensor(v, vec![g.o])),
            )
        });
        for (node, value) in [(node_x, dx), (node_w, dw), (node_b, db)] {
            if let (Some(node), Some(value)) = (node, value) {
                grads.register::<Flex>(node.id, value);
            }
        }
    }
}

impl<C: CheckpointStrategy> GemmConvOps for Autodiff<Flex, C> {
    fn gemm_conv2d(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        stride: usize,
        padding: usize,
    ) -> FloatTensor<Self> {
        let (x, node_x) = x.into_parts();
        let (weight, node_w) = weight.into_parts();
        let (bias, node_b) = bias.into_parts();
        match GemmConvBackward
            .prepare::<C>([node_x, node_w, node_b])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let (x, weight) = (contiguous(x), contiguous(weight));
                let out = conv_flex(x.clone(), weight.clone(), bias, stride, padding);
                prep.finish((x, weight, stride, padding), out)
            }
            OpsKind::UnTracked(prep) => prep.finish(conv_flex(x, weight, bias, stride, padding)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The direct sum of the module documentation, in f64.
    fn direct(x: &[f64], w: &[f64], b: &[f64], g: &Geometry) -> Vec<f64> {
        let mut y = vec![0.0; g.b * g.o * g.ohw()];
        for n in 0..g.b {
            for o in 0..g.o {
                for i in 0..g.oh {
                    for j in 0..g.ow {
                        let mut s = b[o];
                        for c in 0..g.c {
                            for u in 0..g.k {
                                for v in 0..g.k {
                                    let ih = (g.s * i + u) as isize - g.p as isize;
                                    let iw = (g.s * j + v) as isize - g.p as isize;
                                    if ih >= 0
                                        && iw >= 0
                                        && (ih as usize) < g.h
                                        && (iw as usize) < g.w
                                    {
                                        s += w[((o * g.c + c) * g.k + u) * g.k + v]
                                            * x[((n * g.c + c) * g.h + ih as usize) * g.w
                                                + iw as usize];
                                    }
                                }
                            }
                        }
                        y[((n * g.o + o) * g.oh + i) * g.ow + j] = s;
                    }
                }
            }
        }
        y
    }

    #[allow(clippy::too_many_arguments)] // the inputs of the math, each named in the doc
    fn geometry(
        b: usize,
        c: usize,
        h: usize,
        w: usize,
        o: usize,
        k: usize,
        s: usize,
        p: usize,
    ) -> Geometry {
        Geometry {
            b,
            c,
            h,
            w,
            o,
            k,
            s,
            p,
            oh: (h + 2 * p - k) / s + 1,
            ow: (w + 2 * p - k) / s + 1,
        }
    }

    fn values(n: usize, seed: usize) -> Vec<f64> {
        (0..n)
            .map(|i| (((i * 7919 + seed * 104_729) % 1013) as f64 / 506.5) - 1.0)
            .collect()
    }

    #[test]
    fn forward_equals_the_direct_sum_for_strides_paddings_and_non_square_images() {
        for (k, s, p) in [
            (3, 1, 1),
            (1, 1, 0),
            (4, 2, 1),
            (3, 2, 1),
            (3, 1, 0),
            (1, 2, 0),
            (5, 1, 3),
        ] {
            let g = geometry(3, 2, 7, 6, 4, k, s, p);
            let (x, w, b) = (
                values(g.b * g.image(), 1),
                values(g.o * g.ckk(), 2),
                values(g.o, 3),
            );
            let fast = forward::<f64>(&x, &w, &b, g);
            let slow = direct(&x, &w, &b, &g);
            for (i, (a, e)) in fast.iter().zip(&slow).enumerate() {
                assert!(
                    (a - e).abs() < 1e-12,
                    "k {k} s {s} p {p}, entry {i}: {a} vs {e}"
                );
            }
        }
    }

    #[test]
    fn backward_is_the_adjoint_of_the_forward() {
        // ⟨G, y(x, W, b)⟩ is linear in each argument: its gradient is the adjoint applied to G,
        // checked here against the forward through ⟨G, y(e_i)⟩ for every basis vector e_i.
        for (k, s, p) in [(3, 1, 1), (1, 1, 0), (4, 2, 1), (3, 2, 0)] {
            let g = geometry(2, 2, 5, 6, 3, k, s, p);
            let (x, w) = (values(g.b * g.image(), 4), values(g.o * g.ckk(), 5));
            let gy = values(g.b * g.o * g.ohw(), 6);
            let zero_b = vec![0.0; g.o];
            let (dx, dw, db) = backward::<f64>(&x, &w, &gy, g, [true, true, true]);
            let (dx, dw, db) = (dx.unwrap(), dw.unwrap(), db.unwrap());
            let inner = |y: &[f64]| y.iter().zip(&gy).map(|(a, b)| a * b).sum::<f64>();
            for i in 0..x.len() {
                let mut e = vec![0.0; x.len()];
                e[i] = 1.0;
                let want = inner(&direct(&e, &w, &zero_b, &g));
                assert!((dx[i] - want).abs() < 1e-12, "∂x[{i}] {} vs {want}", dx[i]);
            }
            for i in 0..w.len() {
                let mut e = vec![0.0; w.len()];
                e[i] = 1.0;
                let want = inner(&direct(&x, &e, &zero_b, &g));
                assert!((dw[i] - want).abs() < 1e-12, "∂W[{i}] {} vs {want}", dw[i]);
            }
            for o in 0..g.o {
                let mut e = vec![0.0; g.o];
                e[o] = 1.0;
                let want = inner(&direct(&vec![0.0; x.len()], &vec![0.0; w.len()], &e, &g));
                assert!((db[o] - want).abs() < 1e-12, "∂b[{o}] {} vs {want}", db[o]);
            }
        }
    }
}
