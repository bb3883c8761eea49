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

/// The devices the value and gradient tests run on: Flex (the fused kernels) and, in a build
/// with `--features tch`, Burn's LibTorch CPU backend (the plain-Burn reference path).
pub fn test_devices() -> Vec<(&'static str, Device)> {
    #[allow(unused_mut)]
    let mut v = vec![("flex", Device::flex())];
    #[cfg(feature = "tch")]
    #[allow(deprecated)]
    v.push(("tch", Device::libtorch()));
    v
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

/// Host f64 references, written independently of the crate: projections by explicit dot
/// products, `sort_by(total_cmp)` for the 1-D transport, loops for the Gaussian fits.
pub mod host {
    /// W_p^p(θ♯μ, θ♯ν) for equal-size uniform clouds `x`, `y` (`[n, d]` row-major).
    pub fn wpp(x: &[f64], y: &[f64], d: usize, theta: &[f64], p: f64) -> f64 {
        let proj = |v: &[f64]| {
            let mut out: Vec<f64> = v
                .chunks_exact(d)
                .map(|pt| pt.iter().zip(theta).map(|(a, b)| a * b).sum())
                .collect();
            out.sort_by(f64::total_cmp);
            out
        };
        let (sx, sy) = (proj(x), proj(y));
        sx.iter()
            .zip(&sy)
            .map(|(a, b)| (a - b).abs().powf(p))
            .sum::<f64>()
            / sx.len() as f64
    }

    /// Per-direction W_p^p for directions `[L, d]`.
    pub fn per_direction(x: &[f64], y: &[f64], d: usize, dirs: &[f64], p: f64) -> Vec<f64> {
        dirs.chunks_exact(d).map(|th| wpp(x, y, d, th, p)).collect()
    }

    /// SW_p^p with the given directions.
    pub fn sw_pp(x: &[f64], y: &[f64], d: usize, dirs: &[f64], p: f64) -> f64 {
        let w = per_direction(x, y, d, dirs, p);
        w.iter().sum::<f64>() / w.len() as f64
    }

    /// Mean `[d]` and covariance `[d, d]` of a uniform cloud.
    pub fn gaussian_fit(x: &[f64], d: usize) -> (Vec<f64>, Vec<f64>) {
        let n = x.len() / d;
        let mut m = vec![0.0; d];
        for pt in x.chunks_exact(d) {
            for k in 0..d {
                m[k] += pt[k] / n as f64;
            }
        }
        let mut s = vec![0.0; d * d];
        for pt in x.chunks_exact(d) {
            for i in 0..d {
                for j in 0..d {
                    s[i * d + j] += (pt[i] - m[i]) * (pt[j] - m[j]) / n as f64;
                }
            }
        }
        (m, s)
    }

    /// The pieces of the CV-SW estimators (Nguyen & Ho 2024, eq. of LCV/UCV): W_l, C_l, E[C].
    pub fn cv_terms(
        x: &[f64],
        y: &[f64],
        d: usize,
        dirs: &[f64],
        p: f64,
        upper: bool,
    ) -> (Vec<f64>, Vec<f64>, f64) {
        let w = per_direction(x, y, d, dirs, p);
        let (m1, s1) = gaussian_fit(x, d);
        let (m2, s2) = gaussian_fit(y, d);
        let dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(u, v)| u * v).sum::<f64>();
        let quad = |s: &[f64], th: &[f64]| -> f64 {
            (0..d)
                .map(|i| (0..d).map(|j| th[i] * s[i * d + j] * th[j]).sum::<f64>())
                .sum()
        };
        let gap: Vec<f64> = m1.iter().zip(&m2).map(|(a, b)| a - b).collect();
        let c: Vec<f64> = dirs
            .chunks_exact(d)
            .map(|th| {
                let lower = dot(th, &gap).powi(2);
                if upper {
                    lower + quad(&s1, th) + quad(&s2, th)
                } else {
                    lower
                }
            })
            .collect();
        let trace = |s: &[f64]| (0..d).map(|i| s[i * d + i]).sum::<f64>();
        let mut e = dot(&gap, &gap);
        if upper {
            e += trace(&s1) + trace(&s2);
        }
        (w, c, e / d as f64)
    }

    /// γ̂ = Cov̂(W, C) / Var̂(C) with the exact E[C] as the centre of C.
    pub fn gamma(w: &[f64], c: &[f64], e: f64) -> f64 {
        let l = w.len() as f64;
        let wbar = w.iter().sum::<f64>() / l;
        let cov = w
            .iter()
            .zip(c)
            .map(|(a, b)| (a - wbar) * (b - e))
            .sum::<f64>()
            / l;
        let var = c.iter().map(|b| (b - e).powi(2)).sum::<f64>() / l;
        cov / var
    }

    /// W̄ − γ (C̄ − E[C]) clamped at 0, with γ given (for the detached-γ gradient) or fitted.
    pub fn cv_estimate(w: &[f64], c: &[f64], e: f64, gamma_fixed: Option<f64>) -> f64 {
        let l = w.len() as f64;
        let g = gamma_fixed.unwrap_or_else(|| gamma(w, c, e));
        let wbar = w.iter().sum::<f64>() / l;
        let cbar = c.iter().sum::<f64>() / l;
        (wbar - g * (cbar - e)).max(0.0)
    }

    /// LCV-SW_p^p (`upper = false`) or UCV-SW_p^p with the given directions.
    pub fn cv_sw_pp(x: &[f64], y: &[f64], d: usize, dirs: &[f64], p: f64, upper: bool) -> f64 {
        let (w, c, e) = cv_terms(x, y, d, dirs, p, upper);
        cv_estimate(&w, &c, e, None)
    }

    /// Mean of f over the Fibonacci lattice of `count` points on S² (an f64 quadrature).
    pub fn fibonacci_mean(count: usize, f: impl Fn(&[f64]) -> f64 + Sync) -> f64 {
        use rayon::prelude::*;
        let golden = std::f64::consts::PI * (3.0 - 5f64.sqrt());
        (0..count)
            .into_par_iter()
            .map(|i| {
                let z = 1.0 - (2.0 * i as f64 + 1.0) / count as f64;
                let r = (1.0 - z * z).max(0.0).sqrt();
                let phi = golden * i as f64;
                f(&[r * phi.cos(), r * phi.sin(), z])
            })
            .sum::<f64>()
            / count as f64
    }
}
