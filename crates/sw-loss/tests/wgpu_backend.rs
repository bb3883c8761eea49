//! The wgpu backend (Vulkan; Debian's lavapipe in CI) against flex on the same host-made inputs:
//! sorting rows of many lengths and contents, SW values and gradients on the equal-size fast
//! path, the unequal/weighted quantile path, and the control-variate estimators. Agreement to
//! 1e-4 relative (f32 on both; the backends' RNGs differ, so nothing here draws on a device).
#![cfg(feature = "wgpu")]

use burn::tensor::{Device, DeviceKind, Tensor, TensorData};
use sw_loss::{
    Directions, EstimatorKind, LossConfig, Measure, Reduction, projected_wpp, sw_pp_with_directions,
};

/// Deterministic pseudo-random values in [−1, 1) (no RNG shared between backends needed).
fn values(n: usize, seed: u64) -> Vec<f32> {
    let mut s = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        })
        .collect()
}

fn devices() -> [Device; 2] {
    [Device::flex(), Device::wgpu(DeviceKind::DefaultDevice)]
}

fn host(t: Tensor<2>) -> Vec<f32> {
    t.into_data().convert::<f32>().try_to_vec::<f32>().unwrap()
}

fn close(a: &[f32], b: &[f32], what: &str) {
    assert_eq!(a.len(), b.len(), "{what}: lengths");
    let scale = a.iter().fold(1e-6f32, |m, v| m.max(v.abs()));
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert!(
            (x - y).abs() <= 1e-4 * scale,
            "{what}[{i}]: flex {x} vs wgpu {y}"
        );
    }
}

#[test]
fn rows_sort_like_the_cpu_for_every_length_and_content() {
    for &n in &[1usize, 2, 3, 7, 64, 100, 255, 1000, 2048, 4097] {
        let rows = 3;
        let random = values(rows * n, n as u64);
        let sorted: Vec<f32> = (0..rows * n).map(|i| (i % n) as f32).collect();
        let reversed: Vec<f32> = (0..rows * n).map(|i| (n - i % n) as f32).collect();
        let constant = vec![0.5f32; rows * n];
        let duplicates: Vec<f32> = random.iter().map(|v| (v * 3.0).round()).collect();
        for (name, data) in [
            ("random", random),
            ("sorted", sorted),
            ("reversed", reversed),
            ("constant", constant),
            ("duplicates", duplicates),
        ] {
            let out: Vec<Vec<f32>> = devices()
                .iter()
                .map(|d| {
                    host(
                        Tensor::<2>::from_data(TensorData::new(data.clone(), [rows, n]), d).sort(1),
                    )
                })
                .collect();
            assert_eq!(out[0], out[1], "{name}, n = {n}");
        }
    }
}

/// Value and input gradient of `f` on both backends.
fn both(
    x: &[f32],
    sx: [usize; 3],
    y: &[f32],
    sy: [usize; 3],
    f: impl Fn(Tensor<3>, Tensor<3>, &Device) -> Tensor<1>,
) -> [(Vec<f32>, Vec<f32>); 2] {
    devices().map(|d| {
        let d = d.autodiff();
        let xt = Tensor::<3>::from_data(TensorData::new(x.to_vec(), sx), &d).require_grad();
        let yt = Tensor::<3>::from_data(TensorData::new(y.to_vec(), sy), &d);
        let v = f(xt.clone(), yt, &d);
        let value: Vec<f32> = v
            .clone()
            .into_data()
            .convert::<f32>()
            .try_to_vec::<f32>()
            .unwrap();
        let grads = v.sum().backward();
        let g = xt.grad(&grads).unwrap();
        let g: Vec<f32> = g.into_data().convert::<f32>().try_to_vec::<f32>().unwrap();
        (value, g)
    })
}

fn directions(l: usize, dim: usize, d: &Device) -> Directions {
    let mut v = values(l * dim, 99 + dim as u64);
    for row in v.chunks_mut(dim) {
        let n = row.iter().map(|x| x * x).sum::<f32>().sqrt();
        row.iter_mut().for_each(|x| *x /= n);
    }
    Directions::Shared(Tensor::from_data(TensorData::new(v, [l, dim]), d))
}

#[test]
fn sw_values_and_gradients_agree_with_flex() {
    // Equal sizes (fused path on flex, Burn sort on wgpu) for p = 1, 2, 3.
    let (b, n, dim) = (2, 500, 3);
    let x = values(b * n * dim, 1);
    let y: Vec<f32> = values(b * n * dim, 2)
        .iter()
        .map(|v| v * 0.7 + 0.3)
        .collect();
    for p in [1.0, 2.0, 3.0] {
        let [f, w] = both(&x, [b, n, dim], &y, [b, n, dim], |xt, yt, d| {
            sw_pp_with_directions(
                &Measure::new(xt),
                &Measure::new(yt),
                &directions(50, dim, d),
                p,
                Reduction::None,
            )
            .unwrap()
        });
        close(&f.0, &w.0, &format!("SW_p^p, p = {p}"));
        close(&f.1, &w.1, &format!("∇x SW_p^p, p = {p}"));
    }
    // Unequal sizes and weights: the quantile path.
    let (n2, m2) = (300, 170);
    let x2 = values(n2 * dim, 3);
    let y2 = values(m2 * dim, 4);
    let wy: Vec<f32> = values(m2, 5).iter().map(|v| v.abs() + 0.1).collect();
    let [f, w] = both(&x2, [1, n2, dim], &y2, [1, m2, dim], |xt, yt, d| {
        let wy = Tensor::<1>::from_data(TensorData::new(wy.clone(), [m2]), d);
        let dirs = directions(40, dim, d);
        projected_wpp(
            &Measure::new(xt),
            &Measure::new(yt).with_weights_1d(wy),
            &dirs,
            2.0,
        )
        .unwrap()
        .reshape([40])
    });
    close(&f.0, &w.0, "weighted W₂² per direction");
    close(&f.1, &w.1, "∇x weighted W₂²");
}

#[test]
fn control_variate_estimators_agree_with_flex() {
    let (n, dim) = (256, 16);
    let x = values(n * dim, 7);
    let y: Vec<f32> = values(n * dim, 8).iter().map(|v| 1.5 * v + 0.2).collect();
    for kind in [
        EstimatorKind::Sw,
        EstimatorKind::LcvSw,
        EstimatorKind::UcvSw,
    ] {
        let [f, w] = both(&x, [1, n, dim], &y, [1, n, dim], |xt, yt, d| {
            LossConfig {
                kind,
                projections: 20,
                ..LossConfig::default()
            }
            .forward_with_directions(
                &Measure::new(xt),
                &Measure::new(yt),
                &directions(20, dim, d),
            )
            .unwrap()
        });
        close(&f.0, &w.0, &format!("{kind}"));
        close(&f.1, &w.1, &format!("∇x {kind}"));
    }
}
