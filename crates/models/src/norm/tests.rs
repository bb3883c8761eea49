//! The fused batch norm against its reference twin (Burn's `batch_norm_train`), against
//! central finite differences, and the closed forms of its output and running statistics.

use burn::tensor::{DType, Distribution, Tensor, TensorData};

use super::{batch_norm, batch_norm_train, batch_norm_train_reference, uses_fused_batch_norm};
use crate::test_util::{assert_central_differences, assert_close_scaled, to_vec};

/// Value, statistics and the three gradients equal the twin's, f32 and f64, on SNGAN-like
/// shapes (generator blocks: 4² to 32², up to 64 channels) and an odd one.
#[test]
fn equals_burns_batch_norm_train_and_its_gradients() {
    let device = crate::test_device().autodiff();
    device.seed(21);
    for shape in [[4, 3, 5, 6], [8, 64, 4, 4], [4, 16, 32, 32], [1, 5, 3, 3]] {
        for dtype in [DType::F32, DType::F64] {
            let what = format!("{shape:?} {dtype:?}");
            let x = Tensor::<4>::random(shape, Distribution::Normal(0.5, 2.0), (&device, dtype))
                .require_grad();
            let c = shape[1];
            let gamma = Tensor::<1>::random([c], Distribution::Normal(1.0, 0.3), (&device, dtype))
                .require_grad();
            let beta = Tensor::<1>::random([c], Distribution::Normal(0.0, 0.3), (&device, dtype))
                .require_grad();
            let r = Tensor::<4>::random(shape, Distribution::Normal(0.0, 1.0), (&device, dtype));
            let (y, m, v) = batch_norm_train(x.clone(), gamma.clone(), beta.clone(), 1e-5);
            let (ye, me, ve) =
                batch_norm_train_reference(x.clone(), gamma.clone(), beta.clone(), 1e-5);
            let tol = if dtype == DType::F32 { 2e-5 } else { 1e-11 };
            assert_close_scaled(
                &format!("{what} y"),
                &to_vec(y.clone()),
                &to_vec(ye.clone()),
                tol,
            );
            assert_close_scaled(&format!("{what} μ"), &to_vec(m), &to_vec(me), tol);
            assert_close_scaled(&format!("{what} σ²"), &to_vec(v), &to_vec(ve), tol);
            let g = y.mul(r.clone()).sum().backward();
            let ge = ye.mul(r).sum().backward();
            assert_close_scaled(
                &format!("{what} ∂x"),
                &to_vec(x.grad(&g).unwrap()),
                &to_vec(x.grad(&ge).unwrap()),
                10.0 * tol,
            );
            assert_close_scaled(
                &format!("{what} ∂γ"),
                &to_vec(gamma.grad(&g).unwrap()),
                &to_vec(gamma.grad(&ge).unwrap()),
                10.0 * tol,
            );
            assert_close_scaled(
                &format!("{what} ∂β"),
                &to_vec(beta.grad(&g).unwrap()),
                &to_vec(beta.grad(&ge).unwrap()),
                10.0 * tol,
            );
        }
    }
}

/// L = Σ r ⊙ BN(x; γ, β) with batch statistics: the gradient (through μ and σ² too) against
/// central differences in f64, every entry of x, γ and β.
#[test]
fn gradients_match_central_finite_differences_in_f64() {
    let device = crate::test_device().autodiff();
    let shape = [3, 2, 2, 3];
    let n: usize = shape.iter().product();
    let vals = |n: usize, seed: usize| -> Vec<f64> {
        (0..n)
            .map(|i| (((i * 7919 + seed * 131) % 211) as f64 / 105.5) - 1.0)
            .collect()
    };
    let (xv, gv, bv, rv) = (
        vals(n, 1),
        vals(2, 2).iter().map(|v| v + 1.5).collect::<Vec<_>>(),
        vals(2, 3),
        vals(n, 4),
    );
    let t4 = |v: &[f64]| {
        Tensor::<4>::from_data(TensorData::new(v.to_vec(), shape), (&device, DType::F64))
    };
    let t1 = |v: &[f64]| {
        Tensor::<1>::from_data(
            TensorData::new(v.to_vec(), [v.len()]),
            (&device, DType::F64),
        )
    };
    let loss = |x: Tensor<4>, g: Tensor<1>, b: Tensor<1>| {
        batch_norm_train(x, g, b, 1e-5).0.mul(t4(&rv)).sum()
    };
    let (x, g, b) = (
        t4(&xv).require_grad(),
        t1(&gv).require_grad(),
        t1(&bv).require_grad(),
    );
    let grads = loss(x.clone(), g.clone(), b.clone()).backward();
    let value =
        |xv: &[f64], gv: &[f64], bv: &[f64]| loss(t4(xv), t1(gv), t1(bv)).into_scalar::<f64>();
    let grads = [
        ("∂x", to_vec(x.grad(&grads).unwrap())),
        ("∂γ", to_vec(g.grad(&grads).unwrap())),
        ("∂β", to_vec(b.grad(&grads).unwrap())),
    ];
    assert_central_differences(&[xv, gv, bv], grads, value);
}

/// The layer in training mode: each output channel has mean β_c and variance
/// γ_c²·σ_c²/(σ_c² + ε), and the running statistics move as `torch.nn.BatchNorm2d`'s do —
/// 0.9·old + 0.1·(μ, unbiased σ²·N/(N−1)) — all computed here in f64 from the data.
#[test]
fn layer_output_moments_and_running_statistics_follow_pytorch() {
    let device = crate::test_device().autodiff();
    device.seed(22);
    let (b, c, h, w) = (4, 3, 5, 5);
    let bn = crate::sngan::init::batch_norm(c, &device);
    // f32, as the layer's parameters are; the expected values are computed in f64.
    let x = Tensor::<4>::random([b, c, h, w], Distribution::Normal(2.0, 3.0), &device);
    // On flex this runs the fused ops (the twin elsewhere): the same closed forms hold for both.
    assert_eq!(
        uses_fused_batch_norm(&x),
        sw_loss::kernel_support::is_flex(&device)
    );
    let xs = to_vec(x.clone());
    let (gamma, beta) = (to_vec(bn.gamma.val()), to_vec(bn.beta.val()));
    let y = to_vec(batch_norm(&bn, x));
    let n = (b * h * w) as f64;
    let channel = |v: &[f64], ch: usize| -> Vec<f64> {
        (0..b)
            .flat_map(|bi| v[(bi * c + ch) * h * w..(bi * c + ch + 1) * h * w].to_vec())
            .collect()
    };
    let (run_mean, run_var) = (
        to_vec(bn.running_mean.value_sync()),
        to_vec(bn.running_var.value_sync()),
    );
    for ch in 0..c {
        let xc = channel(&xs, ch);
        let mu = xc.iter().sum::<f64>() / n;
        let var = xc.iter().map(|v| (v - mu).powi(2)).sum::<f64>() / n;
        let yc = channel(&y, ch);
        let ymu = yc.iter().sum::<f64>() / n;
        let yvar = yc.iter().map(|v| (v - ymu).powi(2)).sum::<f64>() / n;
        assert!(
            (ymu - beta[ch]).abs() < 1e-5,
            "channel {ch}: output mean {ymu} vs β {}",
            beta[ch]
        );
        let expect = gamma[ch].powi(2) * var / (var + 1e-5);
        assert!(
            (yvar - expect).abs() < 1e-5 * expect,
            "channel {ch}: output variance {yvar} vs {expect}"
        );
        assert!(
            (run_mean[ch] - 0.1 * mu).abs() < 1e-5,
            "running mean {ch}: {} vs {}",
            run_mean[ch],
            0.1 * mu
        );
        let unbiased = var * n / (n - 1.0);
        assert!(
            (run_var[ch] - (0.9 + 0.1 * unbiased)).abs() < 1e-5,
            "running var {ch}: {} vs {}",
            run_var[ch],
            0.9 + 0.1 * unbiased
        );
    }
}
