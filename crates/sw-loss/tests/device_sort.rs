//! The CubeCL row sort (`sw_loss::kernel::sort_rows` on wgpu; lavapipe in CI) against the CPU:
//! sorted values bit-equal to flex's sort, indices equal to the host's stable argsort, for
//! random, sorted, reversed, constant and duplicate-heavy rows of many lengths (powers of two
//! and not, one tile and many, up to 65 537), f32 and f64, more rows than one grid axis holds;
//! and the backward (scatter through the permutation) exactly.
#![cfg(feature = "wgpu")]

mod common;

use burn::tensor::{DType, Device, DeviceKind, Int, Tensor, TensorData};
use sw_loss::kernel::{has_device_sort, sort_rows, sort_rows_values};

fn wgpu() -> Device {
    Device::wgpu(DeviceKind::DefaultDevice)
}

/// Deterministic values in [−1, 1) (host-made, so both backends see the same input).
fn values(n: usize, seed: u64) -> Vec<f64> {
    common::HostRng::new(seed).signed_uniforms(n)
}

/// The five row contents of the issue, `rows × n` each.
fn contents(rows: usize, n: usize) -> Vec<(&'static str, Vec<f64>)> {
    let random = values(rows * n, n as u64 + 7);
    // `+ 0.0` turns −0.0 into +0.0: the kernel compares −0.0 and +0.0 as equal (IEEE), flex's
    // sort orders them by sign bit, so bit-equality needs one zero.
    let duplicates = random.iter().map(|v| (v * 3.0).round() + 0.0).collect();
    vec![
        ("random", random),
        ("sorted", (0..rows * n).map(|i| (i % n) as f64).collect()),
        (
            "reversed",
            (0..rows * n).map(|i| (n - i % n) as f64).collect(),
        ),
        ("constant", vec![0.5; rows * n]),
        ("duplicates", duplicates),
    ]
}

/// Host stable argsort of each row.
fn stable_argsort(data: &[f64], n: usize) -> Vec<i64> {
    data.chunks(n)
        .flat_map(|row| {
            let mut idx: Vec<usize> = (0..n).collect();
            idx.sort_by(|&a, &b| row[a].partial_cmp(&row[b]).unwrap());
            idx.into_iter().map(|i| i as i64)
        })
        .collect()
}

fn ints(t: Tensor<2, Int>) -> Vec<i64> {
    t.into_data().convert::<i64>().try_to_vec::<i64>().unwrap()
}

fn check(data: &[f64], rows: usize, n: usize, f64_values: bool, what: &str) {
    let (expected_values, device_values, device_indices) = if f64_values {
        let t = |d: &Device| -> Tensor<2> {
            Tensor::from_data(TensorData::new(data.to_vec(), [rows, n]), (d, DType::F64))
        };
        let (cpu, gpu) = (t(&Device::flex()), t(&wgpu()));
        let (v, i) = sort_rows(gpu);
        (
            cpu.sort(1).into_data().try_to_vec::<f64>().unwrap(),
            v.into_data().try_to_vec::<f64>().unwrap(),
            i,
        )
    } else {
        let data32: Vec<f32> = data.iter().map(|&v| v as f32).collect();
        let cpu =
            Tensor::<2>::from_data(TensorData::new(data32.clone(), [rows, n]), &Device::flex());
        let gpu = Tensor::<2>::from_data(TensorData::new(data32, [rows, n]), &wgpu());
        let (v, i) = sort_rows(gpu);
        let widen = |t: Tensor<2>| -> Vec<f64> {
            t.into_data()
                .try_to_vec::<f32>()
                .unwrap()
                .into_iter()
                .map(f64::from)
                .collect()
        };
        (widen(cpu.sort(1)), widen(v), i)
    };
    assert!(
        expected_values
            .iter()
            .zip(&device_values)
            .all(|(a, b)| a.to_bits() == b.to_bits()),
        "{what}: sorted values differ from flex"
    );
    let host_data: Vec<f64> = if f64_values {
        data.to_vec()
    } else {
        data.iter().map(|&v| v as f32 as f64).collect()
    };
    assert_eq!(
        ints(device_indices),
        stable_argsort(&host_data, n),
        "{what}: indices differ from the stable argsort"
    );
}

#[test]
fn wgpu_is_served_by_the_device_sort_and_flex_is_not() {
    assert!(has_device_sort(&wgpu()));
    assert!(has_device_sort(&wgpu().autodiff()));
    assert!(!has_device_sort(&Device::flex()));
}

#[test]
fn rows_sort_like_the_cpu_for_every_length_and_content() {
    for &n in &[
        1usize, 2, 3, 5, 7, 64, 100, 255, 1000, 2048, 4095, 4096, 4097, 5000, 8193,
    ] {
        let rows = 3;
        for (name, data) in contents(rows, n) {
            check(&data, rows, n, false, &format!("f32 {name}, n = {n}"));
        }
    }
}

#[test]
fn long_rows_up_to_65537_sort_like_the_cpu() {
    for &n in &[65_536usize, 65_537] {
        for (name, data) in contents(2, n) {
            check(&data, 2, n, false, &format!("f32 {name}, n = {n}"));
        }
    }
}

#[test]
fn f64_rows_and_more_rows_than_one_grid_axis() {
    for &n in &[3usize, 1000, 4097] {
        for (name, data) in contents(2, n) {
            check(&data, 2, n, true, &format!("f64 {name}, n = {n}"));
        }
    }
    // 70 000 one-tile rows: more cubes than the 65 535 a grid axis takes.
    let rows = 70_000;
    let data = values(rows * 3, 5);
    check(&data, rows, 3, false, "70 000 rows of 3");
}

#[test]
fn values_only_path_and_inf_entries() {
    let data = vec![
        3.0,
        f32::INFINITY,
        -1.0,
        f32::NEG_INFINITY,
        0.0,
        f32::INFINITY,
        2.0,
    ];
    let t = Tensor::<2>::from_data(TensorData::new(data.clone(), [1, 7]), &wgpu());
    let got = sort_rows_values(t).into_data().try_to_vec::<f32>().unwrap();
    let mut want = data;
    want.sort_by(|a, b| a.partial_cmp(b).unwrap());
    assert_eq!(got, want);
}

#[test]
fn backward_scatters_the_gradient_through_the_permutation() {
    for &n in &[7usize, 4097] {
        let rows = 3;
        let data: Vec<f32> = values(rows * n, 11).iter().map(|&v| v as f32).collect();
        let weights: Vec<f32> = values(rows * n, 12).iter().map(|&v| v as f32).collect();
        let d = wgpu().autodiff();
        let x = Tensor::<2>::from_data(TensorData::new(data.clone(), [rows, n]), &d).require_grad();
        let w = Tensor::<2>::from_data(TensorData::new(weights.clone(), [rows, n]), &d);
        let (sorted, indices) = sort_rows(x.clone());
        let grads = (sorted * w).sum().backward();
        let g = x
            .grad(&grads)
            .unwrap()
            .into_data()
            .try_to_vec::<f32>()
            .unwrap();
        let idx = ints(indices);
        let mut want = vec![0f32; rows * n];
        for r in 0..rows {
            for k in 0..n {
                want[r * n + idx[r * n + k] as usize] = weights[r * n + k];
            }
        }
        assert_eq!(g, want, "n = {n}");
        // The scatter is the permutation's inverse: sorting the gradient's positions back.
        let data64: Vec<f64> = data.iter().map(|&v| v as f64).collect();
        assert_eq!(idx, stable_argsort(&data64, n));
    }
}
