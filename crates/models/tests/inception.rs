//! The FID Inception-v3 against pytorch-fid (torchvision's inception_v3 with pytorch-fid's
//! FIDInceptionA/C/E_1/E_2 blocks), and FID / IS against pytorch-fid / numpy. The fixture is
//! written by `scripts/make_inception_fixture.py`; the network's weights are not stored in it:
//! both sides fill every tensor with the same formula of its PyTorch name and index.

use std::collections::HashMap;

use burn::tensor::{Device, Tensor, TensorData};
use models::inception::metrics::StatsAccumulator;
use models::inception::{FeatureStats, FidInception, frechet_distance, inception_score};
use nalgebra::{DMatrix, DVector};
use serde_json::Value;

fn fixture() -> Value {
    // The manifest dir at run time: a test binary built from another checkout of the same
    // sources keeps its compile-time path.
    let dir =
        std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").into());
    let path = format!("{dir}/tests/data/inception_fixture.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

fn fnv1a(name: &str) -> u64 {
    let mut h: u64 = 0xCBF2_9CE4_8422_2325;
    for b in name.bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x100_0000_01B3);
    }
    h
}

/// The same formula as `formula` in scripts/make_inception_fixture.py.
fn formula(name: &str, shape: &[usize]) -> Vec<f32> {
    let n: usize = shape.iter().product();
    let phase = (fnv1a(name) % 1000) as f64 / 1000.0 * 2.0 * std::f64::consts::PI;
    (0..n)
        .map(|i| {
            let s = (0.37 * i as f64 + phase).sin();
            let v = if name.ends_with("running_var") {
                1.0 + 0.25 * (s + 1.0)
            } else if name.ends_with("running_mean") || name.ends_with("bn.bias") {
                0.05 * s
            } else if name.ends_with("bn.weight") {
                1.0 + 0.1 * s
            } else if name == "fc.bias" {
                0.01 * s
            } else {
                let fan_in: usize = shape[1..].iter().product();
                (4.0 / fan_in as f64).sqrt() * s
            };
            v as f32
        })
        .collect()
}

/// A `.safetensors` file with PyTorch's keys and layouts (fc.weight is [1008, 2048]).
fn formula_safetensors(params: &[Value]) -> Vec<u8> {
    let tensors: Vec<(String, Vec<usize>, Vec<u8>)> = params
        .iter()
        .map(|p| {
            let name = p[0].as_str().unwrap().to_string();
            let shape: Vec<usize> = p[1]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| d.as_u64().unwrap() as usize)
                .collect();
            let bytes = formula(&name, &shape)
                .iter()
                .flat_map(|v| v.to_le_bytes())
                .collect();
            (name, shape, bytes)
        })
        .collect();
    let views: Vec<(String, safetensors::tensor::TensorView)> = tensors
        .iter()
        .map(|(name, shape, bytes)| {
            (
                name.clone(),
                safetensors::tensor::TensorView::new(safetensors::Dtype::F32, shape.clone(), bytes)
                    .unwrap(),
            )
        })
        .collect();
    safetensors::tensor::serialize(views, None::<HashMap<String, String>>).unwrap()
}

#[test]
fn fid_inception_matches_pytorch_fid_on_formula_weights() {
    let fx = fixture();
    let device = Device::flex();
    let params = fx["params"].as_array().unwrap();
    assert_eq!(
        params.len(),
        472,
        "every conv + batch-norm tensor and the fc layer"
    );
    let net = FidInception::load_safetensors_bytes(&device, formula_safetensors(params)).unwrap();
    let input: Vec<f32> = floats(&fx["input"]).iter().map(|&v| v as f32).collect();
    let x = Tensor::<4>::from_data(TensorData::new(input, [2, 3, 32, 32]), &device);
    let out = net.forward(x);
    assert_eq!(out.pool3.dims(), [2, 2048]);
    assert_eq!(out.logits.dims(), [2, 1008]);
    for (ours, key) in [(out.pool3, "pool3"), (out.logits, "logits")] {
        let ours: Vec<f32> = ours.into_data().try_to_vec::<f32>().unwrap();
        let want = floats(&fx[key]);
        let scale = want.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        let worst = ours
            .iter()
            .zip(&want)
            .map(|(a, b)| (*a as f64 - b).abs())
            .fold(0.0, f64::max);
        assert!(
            worst < 1e-4 * scale,
            "{key}: worst |Δ| {worst:e}, scale {scale:e}"
        );
    }
}

#[test]
fn a_file_without_the_inception_tensors_is_refused_with_its_name() {
    let device = Device::flex();
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("pt_inception.pth");
    let e = FidInception::load(&device, &missing)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("pt_inception.pth") && e.contains("not found"),
        "{e}"
    );
    let wrong = dir.path().join("other.safetensors");
    let view =
        safetensors::tensor::TensorView::new(safetensors::Dtype::F32, vec![2], &[0u8; 8]).unwrap();
    std::fs::write(
        &wrong,
        safetensors::tensor::serialize(vec![("x", view)], None::<HashMap<String, String>>).unwrap(),
    )
    .unwrap();
    let e = FidInception::load(&device, &wrong).unwrap_err().to_string();
    assert!(e.contains("other.safetensors"), "{e}");
}

#[test]
fn frechet_distance_matches_pytorch_fid() {
    for case in fixture()["frechet"].as_array().unwrap() {
        let d = case["dim"].as_u64().unwrap() as usize;
        let stats = |m: &str, s: &str| FeatureStats {
            mu: DVector::from_vec(floats(&case[m])),
            sigma: DMatrix::from_row_slice(d, d, &floats(&case[s])),
        };
        let (a, b) = (stats("mu1", "sigma1"), stats("mu2", "sigma2"));
        let want = case["fid"].as_f64().unwrap();
        let got = frechet_distance(&a, &b);
        assert!(
            (got - want).abs() < 1e-6 * want.abs().max(1.0),
            "d = {d}: {got} vs {want}"
        );
        // Symmetric, and zero between a distribution and itself.
        assert!((frechet_distance(&b, &a) - got).abs() < 1e-8 * got.abs().max(1.0));
        assert!(frechet_distance(&b, &b).abs() < 1e-8);
    }
}

#[test]
fn inception_score_matches_numpy() {
    let fx = fixture();
    let is = &fx["inception_score"];
    let (mean, std) = inception_score(
        &floats(&is["logits"]),
        is["classes"].as_u64().unwrap() as usize,
        is["splits"].as_u64().unwrap() as usize,
    );
    assert!(
        (mean - is["mean"].as_f64().unwrap()).abs() < 1e-10,
        "{mean}"
    );
    assert!((std - is["std"].as_f64().unwrap()).abs() < 1e-10, "{std}");
}

#[test]
fn accumulated_statistics_equal_numpy_cov_and_round_trip_through_npz() {
    // 7 vectors in R³ in two batches: mean and the unbiased covariance by hand.
    let rows = [
        [1.0f32, 2.0, 0.5],
        [0.0, 1.0, -1.0],
        [2.0, -1.0, 0.0],
        [1.5, 0.5, 2.0],
        [-1.0, 0.0, 1.0],
        [0.5, 3.0, 0.0],
        [1.0, 1.0, 1.0],
    ];
    let mut acc = StatsAccumulator::new(3);
    acc.add(&rows[..3].concat());
    acc.add(&rows[3..].concat());
    let stats = acc.finish().unwrap();
    let n = rows.len() as f64;
    for i in 0..3 {
        let mi = rows.iter().map(|r| r[i] as f64).sum::<f64>() / n;
        assert!((stats.mu[i] - mi).abs() < 1e-12);
        for j in 0..3 {
            let mj = rows.iter().map(|r| r[j] as f64).sum::<f64>() / n;
            let c = rows
                .iter()
                .map(|r| (r[i] as f64 - mi) * (r[j] as f64 - mj))
                .sum::<f64>()
                / (n - 1.0);
            assert!((stats.sigma[(i, j)] - c).abs() < 1e-12);
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("stats.npz");
    stats.to_npz(&path).unwrap();
    let back = FeatureStats::from_npz(&path).unwrap();
    assert_eq!(back.mu, stats.mu);
    assert_eq!(back.sigma, stats.sigma);
}
