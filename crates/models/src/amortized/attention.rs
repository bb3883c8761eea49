//! The self-attention family (ICML 2023): a symmetric, permutation-invariant amortizer
//!
//! ```text
//! θ = normalize( (A(X) + A(Y)) / 2 ),   A(X) = mean_points Attention(Q = X W_q, K = X W_k, V = X W_v)
//! softmax    Attention = softmax(Q Kᵀ / √k) V                         O(m²)
//! efficient  Attention = ρ_q(Q) (ρ_k(K)ᵀ V),  ρ_q softmax over features, ρ_k over points   O(m)
//! linformer  Attention = softmax(Q (E K)ᵀ / √k) (F V),  E, F: [k_p, m] projections   O(m k_p)
//! ```
//! with W_q, W_k: Linear(3, k) and W_v: Linear(3, 3) (PyTorch's default init), and
//! Linformer's E, F: Linear(m, k_p) with bias, Xavier-normal weights and PyTorch's default
//! bias U(±1/√m) (hsgser/Self-Amortized-DSW loss/amortized_functions.py, `get_proj`).

use burn::module::Module;
use burn::nn::{Initializer, Linear, LinearConfig};
use burn::tensor::activation::softmax;
use burn::tensor::{Device, Tensor};
use sw_loss::directions::normalize_rows;

/// Which attention.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttentionKind {
    /// softmax(QKᵀ/√k)V.
    Softmax,
    /// Efficient attention.
    Efficient,
    /// Linformer.
    Linformer,
}

/// Linformer's `get_proj(m, k)`: `nn.Linear(m, k)` with `xavier_normal_` on the weight; the
/// bias keeps torch's default U(±1/√m), which is Burn's default initializer on a bias.
fn point_projection(points: usize, k: usize, device: &Device) -> Linear {
    let weight = LinearConfig::new(points, k)
        .with_initializer(Initializer::XavierNormal { gain: 1.0 })
        .with_bias(false)
        .init(device)
        .weight;
    Linear {
        weight,
        ..LinearConfig::new(points, k).init(device)
    }
}

/// The attention amortizer.
#[derive(Module, Debug)]
pub struct AttentionAmortizer {
    query: Linear,
    key: Linear,
    value: Linear,
    /// Linformer's point-axis projections E (keys) and F (values), `Linear(m → k_p)`.
    project_keys: Option<Linear>,
    project_values: Option<Linear>,
    efficient: bool,
}

impl AttentionAmortizer {
    /// A model with key width `key_dim` (Linformer also needs `points` and `k`).
    pub fn new(
        kind: AttentionKind,
        key_dim: usize,
        points: usize,
        k: usize,
        device: &Device,
    ) -> Self {
        let linformer = kind == AttentionKind::Linformer;
        Self {
            query: LinearConfig::new(3, key_dim).init(device),
            key: LinearConfig::new(3, key_dim).init(device),
            value: LinearConfig::new(3, 3).init(device),
            project_keys: linformer.then(|| point_projection(points, k, device)),
            project_values: linformer.then(|| point_projection(points, k, device)),
            efficient: kind == AttentionKind::Efficient,
        }
    }

    /// A(X): attention over the points of each cloud, then the mean over points, `[B, 3]`.
    fn attend(&self, x: Tensor<3>) -> Tensor<2> {
        let [b, _, _] = x.dims();
        let q = self.query.forward(x.clone()); // [B, m, k]
        let k = self.key.forward(x.clone()); // [B, m, k]
        let v = self.value.forward(x); // [B, m, 3]
        let scale = (q.dims()[2] as f64).sqrt();
        let out = if self.efficient {
            let q = softmax(q, 2);
            let k = softmax(k, 1);
            q.matmul(k.swap_dims(1, 2).matmul(v)) // [B, m, 3]
        } else if let (Some(e), Some(f)) = (&self.project_keys, &self.project_values) {
            let k = e.forward(k.swap_dims(1, 2)).swap_dims(1, 2); // [B, k_p, k]
            let v = f.forward(v.swap_dims(1, 2)).swap_dims(1, 2); // [B, k_p, 3]
            softmax(q.matmul(k.swap_dims(1, 2)).div_scalar(scale), 2).matmul(v) // [B, m, 3]
        } else {
            softmax(q.matmul(k.swap_dims(1, 2)).div_scalar(scale), 2).matmul(v) // [B, m, 3]
        };
        out.mean_dim(1).reshape([b, 3])
    }

    /// `x, y: [B, m, 3]` → `[B, 3]`, symmetric in (x, y).
    pub fn forward(&self, x: Tensor<3>, y: Tensor<3>) -> Tensor<2> {
        normalize_rows((self.attend(x) + self.attend(y)).div_scalar(2.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linformer_projections_have_bias_and_xavier_normal_weights() {
        let device = Device::default();
        device.seed(4);
        let (m, k) = (2048, 64);
        let model = AttentionAmortizer::new(AttentionKind::Linformer, 64, m, k, &device);
        for proj in [&model.project_keys, &model.project_values] {
            let proj = proj.as_ref().expect("Linformer has E and F");
            let w: Vec<f64> = proj
                .weight
                .val()
                .into_data()
                .convert::<f64>()
                .try_to_vec()
                .unwrap();
            let var = w.iter().map(|x| x * x).sum::<f64>() / w.len() as f64;
            let want = 2.0 / (m + k) as f64; // xavier_normal_: std² = 2/(fan_in + fan_out)
            assert!((var - want).abs() < 0.03 * want, "{var} vs {want}");
            // Normal, not uniform: a uniform law of that variance is bounded by √(3·want).
            assert!(w.iter().any(|x| x.abs() > (3.0 * want).sqrt()));
            let b: Vec<f64> = proj
                .bias
                .as_ref()
                .expect("E and F have a bias")
                .val()
                .into_data()
                .convert::<f64>()
                .try_to_vec()
                .unwrap();
            let bound = 1.0 / (m as f64).sqrt();
            assert!(b.iter().all(|x| x.abs() <= bound * (1.0 + 1e-6)));
            assert!(b.iter().any(|x| x.abs() > 0.5 * bound));
        }
    }
}
