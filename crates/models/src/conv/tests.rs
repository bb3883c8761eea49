//! The fast convolution against its reference twin (Burn's `conv2d`, with Burn's generic
//! backward) on every shape SNGAN's generator and discriminator use, and against central finite
//! differences through the autodiff path. On `crate::test_device()`: Flex (the GEMM kernel), or
//! LibTorch with `SWBURN_TEST_DEVICE=tch` (LibTorch's convolution and backward, `torch.rs`;
//! scripts/test_tch.sh).

use burn::tensor::{DType, Device, Distribution, Tensor, TensorData};

use super::{conv2d, conv2d_reference, uses_gemm_conv, uses_torch_conv};

/// The fast path serves `x`: the GEMM kernel on Flex, LibTorch's on LibTorch.
fn fast_path(x: &Tensor<4>) -> bool {
    uses_gemm_conv(x) || uses_torch_conv(x)
}
use crate::test_util::{assert_central_differences, assert_close_scaled, to_vec};

/// (kernel, padding, input side, c_in, c_out) of every convolution in G and D at 32² and 64²
/// (`blocks.rs`: 3×3 pad 1 and 1×1 shortcuts; the generator's last conv to 3 channels; the
/// discriminator's first conv from 3 channels), with 16 channels instead of 64–256.
fn sngan_shapes() -> Vec<(usize, usize, usize, usize, usize)> {
    let ch = 16;
    let mut shapes = Vec::new();
    for side in [8, 16, 32, 64] {
        // Generator blocks after their up-sampling, and their 1×1 shortcut.
        shapes.push((3, 1, side, ch, ch));
        shapes.push((1, 0, side, ch, ch));
    }
    for side in [32, 64] {
        shapes.push((3, 1, side, ch, 3)); // G's output conv
        shapes.push((3, 1, side, 3, ch)); // D's first conv
        shapes.push((1, 0, side / 2, 3, ch)); // D's first shortcut (after pooling)
    }
    for side in [4, 8, 16, 32] {
        shapes.push((1, 0, side, ch, ch)); // D's later shortcuts (before pooling)
    }
    shapes
}

fn random(shape: [usize; 4], device: &Device) -> Tensor<4> {
    Tensor::random(shape, Distribution::Uniform(-1.0, 1.0), device)
}

#[test]
fn equals_burns_conv2d_and_its_gradients_on_every_sngan_shape() {
    let device = crate::test_device().autodiff();
    device.seed(11);
    for (k, p, side, c_in, c_out) in sngan_shapes() {
        let what = format!("k {k} pad {p} side {side} {c_in}→{c_out}");
        let x = random([2, c_in, side, side], &device).require_grad();
        let w = random([c_out, c_in, k, k], &device).require_grad();
        let b =
            Tensor::<1>::random([c_out], Distribution::Uniform(-1.0, 1.0), &device).require_grad();
        assert!(fast_path(&x));
        let side_out = side + 2 * p - k + 1;
        let r = random([2, c_out, side_out, side_out], &device).detach();
        let fast = conv2d(x.clone(), w.clone(), Some(b.clone()), 1, p);
        let slow = conv2d_reference(x.clone(), w.clone(), Some(b.clone()), 1, p);
        assert_eq!(fast.dims(), slow.dims(), "{what}");
        assert_close_scaled(&what, &to_vec(fast.clone()), &to_vec(slow.clone()), 1e-5);
        let gf = fast.mul(r.clone()).sum().backward();
        let gs = slow.mul(r).sum().backward();
        for (name, a, e) in [
            ("∂x", x.grad(&gf).map(to_vec), x.grad(&gs).map(to_vec)),
            ("∂W", w.grad(&gf).map(to_vec), w.grad(&gs).map(to_vec)),
        ] {
            assert_close_scaled(&format!("{what} {name}"), &a.unwrap(), &e.unwrap(), 1e-5);
        }
        assert_close_scaled(
            &format!("{what} ∂b"),
            &to_vec(b.grad(&gf).unwrap()),
            &to_vec(b.grad(&gs).unwrap()),
            1e-5,
        );
    }
}

#[test]
fn strided_and_wide_kernels_equal_burns_conv2d() {
    // The generic paths (4×4 stride 2, 3×3 stride 2, padding wider than the kernel's half).
    let device = crate::test_device();
    device.seed(12);
    for (k, s, p, side) in [(4, 2, 1, 16), (3, 2, 1, 15), (4, 2, 1, 32), (5, 1, 3, 9)] {
        let x = random([3, 4, side, side], &device);
        let w = random([5, 4, k, k], &device);
        let fast = conv2d(x.clone(), w.clone(), None, s, p);
        let slow = conv2d_reference(x, w, None, s, p);
        assert_eq!(fast.dims(), slow.dims());
        assert_close_scaled(
            &format!("k {k} s {s} p {p}"),
            &to_vec(fast),
            &to_vec(slow),
            1e-5,
        );
    }
}

#[test]
fn gradients_match_central_finite_differences_in_f64() {
    // L = Σ r ⊙ conv(x, W, b); perturb every entry of x, W and b by ±h.
    let inner = crate::test_device();
    let device = inner.clone().autodiff();
    let (b, c, o, side, k, p) = (2, 2, 3, 5, 3, 1);
    let vals = |n: usize, seed: usize| -> Vec<f64> {
        (0..n)
            .map(|i| (((i * 7919 + seed * 131) % 211) as f64 / 105.5) - 1.0)
            .collect()
    };
    let (xv, wv, bv) = (
        vals(b * c * side * side, 1),
        vals(o * c * k * k, 2),
        vals(o, 3),
    );
    let rv = vals(b * o * side * side, 4);
    let t4 = |v: &[f64], s: [usize; 4], d: &Device| {
        Tensor::<4>::from_data(TensorData::new(v.to_vec(), s), (d, DType::F64))
    };
    let t1 = |v: &[f64], d: &Device| {
        Tensor::<1>::from_data(TensorData::new(v.to_vec(), [v.len()]), (d, DType::F64))
    };
    let (xs, ws, rs) = ([b, c, side, side], [o, c, k, k], [b, o, side, side]);
    let x = t4(&xv, xs, &device).require_grad();
    let w = t4(&wv, ws, &device).require_grad();
    let bias = t1(&bv, &device).require_grad();
    assert!(fast_path(&x));
    let grads = conv2d(x.clone(), w.clone(), Some(bias.clone()), 1, p)
        .mul(t4(&rv, rs, &device))
        .sum()
        .backward();
    let loss = |xv: &[f64], wv: &[f64], bv: &[f64]| -> f64 {
        conv2d(
            t4(xv, xs, &inner),
            t4(wv, ws, &inner),
            Some(t1(bv, &inner)),
            1,
            p,
        )
        .mul(t4(&rv, rs, &inner))
        .sum()
        .into_scalar::<f64>()
    };
    let grads = [
        ("∂x", to_vec(x.grad(&grads).unwrap())),
        ("∂W", to_vec(w.grad(&grads).unwrap())),
        ("∂b", to_vec(bias.grad(&grads).unwrap())),
    ];
    assert_central_differences(&[xv, wv, bv], grads, loss);
}

/// Two convolutions in a chain, applied to two batches with the same kernels (as D sees a real
/// and a fake batch), the first kernel computed from its parameter (W/‖W‖, as spectral
/// normalisation divides by σ): the fast path's gradients of every parameter equal the
/// reference's — gradients accumulate over both uses, and flow into a kernel that is not a leaf.
#[test]
fn chained_convolutions_with_shared_computed_kernels_match_the_reference() {
    let device = crate::test_device().autodiff();
    device.seed(13);
    let w0 = random([6, 3, 3, 3], &device).require_grad();
    let w1 = random([5, 6, 3, 3], &device).require_grad();
    let b0 = Tensor::<1>::random([6], Distribution::Uniform(-1.0, 1.0), &device).require_grad();
    let b1 = Tensor::<1>::random([5], Distribution::Uniform(-1.0, 1.0), &device).require_grad();
    let xa = random([2, 3, 8, 8], &device);
    let xb = random([2, 3, 8, 8], &device).require_grad();
    type Conv = fn(Tensor<4>, Tensor<4>, Option<Tensor<1>>, usize, usize) -> Tensor<4>;
    let grads = |conv: Conv| {
        let net = |x: Tensor<4>| {
            let k0 = w0
                .clone()
                .div(w0.clone().powi_scalar(2).sum().sqrt().reshape([1, 1, 1, 1]));
            let h = burn::tensor::activation::relu(conv(x, k0, Some(b0.clone()), 1, 1));
            conv(h, w1.clone(), Some(b1.clone()), 2, 1)
        };
        let loss = net(xa.clone()).powi_scalar(2).mean() + net(xb.clone()).mean();
        let g = loss.backward();
        let grad4 = |t: &Tensor<4>| to_vec(t.grad(&g).unwrap());
        let grad1 = |t: &Tensor<1>| to_vec(t.grad(&g).unwrap());
        [grad4(&w0), grad4(&w1), grad1(&b0), grad1(&b1), grad4(&xb)]
    };
    assert!(fast_path(&xa));
    let (fast, slow) = (grads(conv2d), grads(conv2d_reference));
    for (name, a, e) in ["∂W0", "∂W1", "∂b0", "∂b1", "∂x"]
        .iter()
        .zip(&fast)
        .zip(&slow)
        .map(|((n, a), e)| (n, a, e))
    {
        assert_close_scaled(name, a, e, 1e-5);
    }
}
