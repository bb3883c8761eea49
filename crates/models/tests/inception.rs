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
    // pytorch-fid's logits include the fc bias; the Inception Score's (CV-SW
    // utils/inception_score.py: pool3 · W of softmax/logits/MatMul) do not: ours are theirs minus
    // the bias.
    let bias = formula("fc.bias", &[1008]);
    let logits_without_bias: Vec<f64> = floats(&fx["logits"])
        .iter()
        .enumerate()
        .map(|(i, v)| v - bias[i % 1008] as f64)
        .collect();
    for (ours, want) in [
        (out.pool3, floats(&fx["pool3"])),
        (out.logits, logits_without_bias),
    ] {
        let key = if ours.dims()[1] == 2048 {
            "pool3"
        } else {
            "logits"
        };
        let ours: Vec<f32> = ours.into_data().try_to_vec::<f32>().unwrap();
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
    )
    .unwrap();
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

/// splitmix64 of `offset + k` as a uniform number in [0, 1): `uniform` of
/// scripts/fixtures/inception_score_no_bias.py.
fn uniform(offset: u64, n: usize) -> Vec<f64> {
    (0..n as u64)
        .map(|k| {
            let mut z = (k + offset).wrapping_add(0x9E37_79B9_7F4A_7C15);
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^= z >> 31;
            (z >> 11) as f64 / (1u64 << 53) as f64
        })
        .collect()
}

/// The Inception Score of pool3 · W (no bias) with the CV-SW code's split boundaries, against
/// the numpy twin of its `get_inception_score` (scripts/fixtures/inception_score_no_bias.py);
/// the fixture also holds the score with the bias and with numpy.array_split boundaries, which
/// must not match.
#[test]
fn inception_score_without_the_bias_matches_the_cv_sw_numpy_computation() {
    let dir =
        std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").into());
    let fx: Value = serde_json::from_str(
        &std::fs::read_to_string(format!("{dir}/tests/data/inception_score_no_bias.json")).unwrap(),
    )
    .unwrap();
    let (d, c) = (2048, 1008);
    let w: Vec<f64> = uniform(1 << 40, d * c)
        .iter()
        .map(|u| 0.15 * (2.0 * u - 1.0))
        .collect();
    let bias: Vec<f64> = uniform(2 << 40, c).iter().map(|u| 2.0 * u - 1.0).collect();
    for case in fx["cases"].as_array().unwrap() {
        let n = case["n"].as_u64().unwrap() as usize;
        let pool3: Vec<f64> = uniform(0, n * d).iter().map(|u| 2.0 * u).collect();
        // The network's logits: pool3 · W, as `FidInception::forward` computes them.
        let device = Device::flex();
        let p = Tensor::<2>::from_data(
            TensorData::new(pool3, [n, d]),
            (&device, burn::tensor::DType::F64),
        );
        let wt = Tensor::<2>::from_data(
            TensorData::new(w.clone(), [d, c]),
            (&device, burn::tensor::DType::F64),
        );
        let logits: Vec<f64> = p
            .matmul(wt)
            .into_data()
            .convert::<f64>()
            .try_to_vec()
            .unwrap();
        let (mean, std) = inception_score(&logits, c, 10).unwrap();
        let close = |a: f64, key: &str| (a - case[key].as_f64().unwrap()).abs() < 1e-9;
        assert!(
            close(mean, "mean") && close(std, "std"),
            "n = {n}: {mean} ± {std}"
        );
        let with_bias: Vec<f64> = logits
            .iter()
            .enumerate()
            .map(|(i, l)| l + bias[i % c])
            .collect();
        let (mean_b, _) = inception_score(&with_bias, c, 10).unwrap();
        assert!(
            close(mean_b, "mean_with_bias"),
            "n = {n}: with bias {mean_b}"
        );
        assert!(
            (mean - mean_b).abs() > 1e-3,
            "the bias must matter in this fixture"
        );
        if !n.is_multiple_of(10) {
            let a = case["mean_array_split"].as_f64().unwrap();
            assert!(
                (mean - a).abs() > 1e-2,
                "split boundaries must matter: {mean} vs {a}"
            );
        }
    }
    // Fewer images than splits: an error, not NaN.
    assert_eq!(
        inception_score(&vec![0.0; 9 * 4], 4, 10),
        Err(models::inception::ScoreError::TooFewImages {
            images: 9,
            splits: 10
        })
    );
}

/// The CV-SW / TTUR reference statistics format: `np.savez_compressed(mu=float32, sigma=float64)`
/// (utils/cal_fid_stat.py), in a 4-d miniature written by scripts/fixtures/fid_stats_npz.py; the
/// expected values are recomputed here from the same activations.
#[test]
fn reference_statistics_in_the_cv_sw_npz_format_are_read() {
    let dir =
        std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").into());
    let stats = FeatureStats::from_npz(std::path::Path::new(&format!(
        "{dir}/tests/data/fid_stats_format.npz"
    )))
    .unwrap();
    let act: Vec<Vec<f64>> = (0..10)
        .map(|i| {
            (0..4)
                .map(|j| ((i * 4 + j) as f32 * 0.37f32 % 1.3f32) as f64)
                .collect()
        })
        .collect();
    let mu: Vec<f64> = (0..4)
        .map(|j| act.iter().map(|r| r[j]).sum::<f64>() / 10.0)
        .collect();
    for j in 0..4 {
        assert!((stats.mu[j] - mu[j]).abs() < 1e-6, "mu[{j}]");
        for k in 0..4 {
            let cov = act
                .iter()
                .map(|r| (r[j] - mu[j]) * (r[k] - mu[k]))
                .sum::<f64>()
                / 9.0;
            assert!((stats.sigma[(j, k)] - cov).abs() < 1e-9, "sigma[{j}, {k}]");
        }
    }
}
