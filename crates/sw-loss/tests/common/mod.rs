//! Helpers shared by the integration tests: the POT fixture, f64 tensors, the ShapeNet sample.
#![allow(dead_code)]

use std::path::PathBuf;

use burn::tensor::{DType, Device, Tensor, TensorData};
use serde_json::Value;

/// This crate's folder (the run-time `CARGO_MANIFEST_DIR`, so a binary built in another
/// checkout reads this checkout's files).
pub fn crate_dir() -> PathBuf {
    PathBuf::from(
        std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").into()),
    )
}

/// The cases of `tests/data/sliced_pot.json` (POT 0.9.7.post1; see tests/data/README.md).
pub fn fixture_cases() -> Vec<Value> {
    let path = crate_dir().join("tests/data/sliced_pot.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    let v: Value = serde_json::from_str(&text).expect("fixture JSON");
    v["cases"].as_array().expect("cases").clone()
}

pub fn matrix(v: &Value) -> (Vec<f64>, usize, usize) {
    let rows = v.as_array().expect("matrix");
    let cols = rows[0].as_array().expect("row").len();
    let data = rows
        .iter()
        .flat_map(|r| r.as_array().unwrap().iter().map(|x| x.as_f64().unwrap()))
        .collect();
    (data, rows.len(), cols)
}

pub fn vector(v: &Value) -> Vec<f64> {
    v.as_array()
        .expect("vector")
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

pub fn t2(data: Vec<f64>, r: usize, c: usize, device: &Device, dtype: DType) -> Tensor<2> {
    Tensor::from_data(TensorData::new(data, [r, c]), (device, dtype))
}

pub fn t1(data: Vec<f64>, device: &Device, dtype: DType) -> Tensor<1> {
    let n = data.len();
    Tensor::from_data(TensorData::new(data, [n]), (device, dtype))
}

pub fn to_vec<const D: usize>(t: Tensor<D>) -> Vec<f64> {
    t.into_data().convert::<f64>().try_to_vec::<f64>().unwrap()
}

pub fn scalar(t: Tensor<1>) -> f64 {
    to_vec(t)[0]
}

pub fn rel_err(a: f64, b: f64) -> f64 {
    (a - b).abs() / b.abs().max(1e-12)
}

/// A deterministic generator for host-side test data (SplitMix64 → uniform / normal).
pub struct HostRng(u64);

impl HostRng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E3779B97F4A7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58476D1CE4E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D049BB133111EB);
        z ^ (z >> 31)
    }
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    pub fn normal(&mut self) -> f64 {
        let (u1, u2) = (self.uniform().max(1e-300), self.uniform());
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    }
    pub fn normals(&mut self, n: usize) -> Vec<f64> {
        (0..n).map(|_| self.normal()).collect()
    }
    /// `n` values uniform in [−1, 1).
    pub fn signed_uniforms(&mut self, n: usize) -> Vec<f64> {
        (0..n).map(|_| 2.0 * self.uniform() - 1.0).collect()
    }
    pub fn unit_rows(&mut self, l: usize, d: usize) -> Vec<f64> {
        let mut v = self.normals(l * d);
        for row in v.chunks_mut(d) {
            let norm = row.iter().map(|x| x * x).sum::<f64>().sqrt();
            row.iter_mut().for_each(|x| *x /= norm);
        }
        v
    }
}

/// ShapeNet clouds 32 and 33 as the CV-SW gradient flow uses them: ×2 − 10 and ×2 + 10,
/// each `[2048, 3]` as f64 host data.
pub fn shapenet_flow_pair() -> (Vec<f64>, Vec<f64>) {
    let path = crate_dir().join("../../datasets/data/shapenetcore55_random50.npy");
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    let npy = npyz::NpyFile::new(&bytes[..]).expect("npy header");
    assert_eq!(npy.shape(), &[50, 2048, 3]);
    let all: Vec<f32> = npy.into_vec().expect("f32 data");
    let cloud = |i: usize, offset: f64| -> Vec<f64> {
        all[i * 2048 * 3..(i + 1) * 2048 * 3]
            .iter()
            .map(|&v| v as f64 * 2.0 + offset)
            .collect()
    };
    (cloud(32, -10.0), cloud(33, 10.0))
}
