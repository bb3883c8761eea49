//! The fused up-sampling and pooling against their reference twins (value and gradient, odd
//! sizes included), and their adjointness.

use burn::tensor::{DType, Distribution, Tensor, TensorData};

use super::{downsample2, downsample2_reference, fused, upsample2, upsample2_reference};
use crate::test_util::to_vec;

fn assert_close(what: &str, a: &[f64], b: &[f64], tol: f64) {
    assert_eq!(a.len(), b.len(), "{what}: lengths");
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert!(
            (x - y).abs() <= tol * (1.0 + y.abs()),
            "{what}[{i}]: {x} vs {y}"
        );
    }
}

/// Values and input gradients (of Σ r ⊙ out) equal the twins', f32 and f64, even and odd sizes.
#[test]
fn equal_their_reference_twins_in_value_and_gradient() {
    let device = crate::test_device().autodiff();
    device.seed(31);
    let mut shapes = vec![[2, 3, 4, 6], [3, 2, 5, 7], [1, 16, 16, 16], [4, 1, 3, 3]];
    if sw_loss::kernel_support::is_flex(&device) {
        // 1×1 pools to nothing (LibTorch's avg_pool2d rejects that; Flex's gives an empty map).
        shapes.push([4, 1, 1, 1]);
    }
    for shape in shapes {
        for dtype in [DType::F32, DType::F64] {
            let x = Tensor::<4>::random(shape, Distribution::Normal(0.0, 1.0), (&device, dtype))
                .require_grad();
            assert_eq!(fused(&x), sw_loss::kernel_support::is_flex(&device));
            let tol = if dtype == DType::F32 { 1e-6 } else { 1e-14 };
            type Op = fn(Tensor<4>) -> Tensor<4>;
            let pairs: [(&str, Op, Op); 2] = [
                ("up", upsample2, upsample2_reference),
                ("pool", downsample2, downsample2_reference),
            ];
            for (name, fast, slow) in pairs {
                let what = format!("{name} {shape:?} {dtype:?}");
                let (a, e) = (fast(x.clone()), slow(x.clone()));
                assert_eq!(a.dims(), e.dims(), "{what}");
                let r =
                    Tensor::<4>::random(a.dims(), Distribution::Normal(0.0, 1.0), (&device, dtype));
                assert_close(
                    &format!("{what} value"),
                    &to_vec(a.clone()),
                    &to_vec(e.clone()),
                    tol,
                );
                let ga = a.mul(r.clone()).sum().backward();
                let ge = e.mul(r).sum().backward();
                assert_close(
                    &format!("{what} ∂x"),
                    &to_vec(x.grad(&ga).unwrap()),
                    &to_vec(x.grad(&ge).unwrap()),
                    tol,
                );
            }
        }
    }
}

/// ⟨up(x), y⟩ = 4·⟨x, pool(y)⟩ (pool averages, up copies), in f64 on a non-autodiff device.
#[test]
fn upsampling_and_pooling_are_adjoint() {
    let device = crate::test_device();
    let vals = |n: usize, seed: usize| -> Vec<f64> {
        (0..n)
            .map(|i| (((i * 7919 + seed * 131) % 211) as f64 / 105.5) - 1.0)
            .collect()
    };
    let (xs, ys) = ([2, 3, 4, 5], [2, 3, 8, 10]);
    let x = Tensor::<4>::from_data(TensorData::new(vals(120, 1), xs), (&device, DType::F64));
    let y = Tensor::<4>::from_data(TensorData::new(vals(480, 2), ys), (&device, DType::F64));
    let lhs = upsample2(x.clone())
        .mul(y.clone())
        .sum()
        .into_scalar::<f64>();
    let rhs = 4.0 * x.mul(downsample2(y)).sum().into_scalar::<f64>();
    assert!(
        (lhs - rhs).abs() < 1e-12 * (1.0 + lhs.abs()),
        "{lhs} vs {rhs}"
    );
}
