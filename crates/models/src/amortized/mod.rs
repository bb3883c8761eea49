//! Amortized projection models (Nguyen & Ho, "Self-Attention Amortized Distributional
//! Projection Optimization for Sliced Wasserstein Point-Cloud Reconstruction", ICML 2023):
//! a(X, Y) predicts, for a pair of clouds, the unit direction (or vMF mean) on which their
//! projected distance is large, replacing per-pair gradient ascent.
//!
//! Shapes: `x, y: [B, m, 3]` → `[B, 3]` unit vectors.

mod attention;
mod linear;

pub use attention::{AttentionAmortizer, AttentionKind};
pub use linear::{LinearAmortizer, LinearKind};

use burn::module::Module;
use burn::tensor::{Device, Tensor};
use serde::{Deserialize, Serialize};

/// Which amortized model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AmortizedKind {
    /// Linear(2m → 1) across the point axis of [X; Y].
    Linear,
    /// Pointwise Linear(3,3)–Sigmoid–Linear(3,3), then `linear`.
    Glinear,
    /// `linear`, then Linear(3,3)–Sigmoid–Linear(3,3) on the direction.
    Nonlinear,
    /// Softmax self-attention, mean over points, symmetric in X and Y.
    Attn,
    /// Efficient attention (linear in the number of points).
    EffAttn,
    /// Linformer attention (keys and values projected to k points).
    LinAttn,
}

/// Configuration of an amortized model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AmortizedConfig {
    /// The model.
    pub kind: AmortizedKind,
    /// Points per cloud m (the linear models and Linformer depend on it).
    pub points: usize,
    /// Width of queries and keys (64 in the paper).
    #[serde(default = "default_key_dim")]
    pub key_dim: usize,
    /// Linformer's projected length k (64 in the paper).
    #[serde(default = "default_key_dim")]
    pub linformer_k: usize,
}

fn default_key_dim() -> usize {
    64
}

impl AmortizedConfig {
    /// A config with the paper's widths.
    pub fn new(kind: AmortizedKind, points: usize) -> Self {
        Self {
            kind,
            points,
            key_dim: 64,
            linformer_k: 64,
        }
    }

    /// Builds the model.
    pub fn init(&self, device: &Device) -> Amortizer {
        match self.kind {
            AmortizedKind::Linear => Amortizer::Linear(LinearAmortizer::new(
                LinearKind::Linear,
                self.points,
                device,
            )),
            AmortizedKind::Glinear => Amortizer::Linear(LinearAmortizer::new(
                LinearKind::Glinear,
                self.points,
                device,
            )),
            AmortizedKind::Nonlinear => Amortizer::Linear(LinearAmortizer::new(
                LinearKind::Nonlinear,
                self.points,
                device,
            )),
            AmortizedKind::Attn => Amortizer::Attention(AttentionAmortizer::new(
                AttentionKind::Softmax,
                self.key_dim,
                self.points,
                self.linformer_k,
                device,
            )),
            AmortizedKind::EffAttn => Amortizer::Attention(AttentionAmortizer::new(
                AttentionKind::Efficient,
                self.key_dim,
                self.points,
                self.linformer_k,
                device,
            )),
            AmortizedKind::LinAttn => Amortizer::Attention(AttentionAmortizer::new(
                AttentionKind::Linformer,
                self.key_dim,
                self.points,
                self.linformer_k,
                device,
            )),
        }
    }
}

/// Any amortized model.
#[derive(Module, Debug)]
pub enum Amortizer {
    /// The linear family.
    Linear(LinearAmortizer),
    /// The attention family.
    Attention(AttentionAmortizer),
}

impl Amortizer {
    /// Unit directions `[B, 3]` for the pairs `x, y: [B, m, 3]`.
    pub fn forward(&self, x: Tensor<3>, y: Tensor<3>) -> Tensor<2> {
        match self {
            Amortizer::Linear(m) => m.forward(x, y),
            Amortizer::Attention(m) => m.forward(x, y),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Distribution, Int, TensorData};

    fn clouds(device: &Device, b: usize, m: usize) -> (Tensor<3>, Tensor<3>) {
        (
            Tensor::random([b, m, 3], Distribution::Normal(0.0, 1.0), device),
            Tensor::random([b, m, 3], Distribution::Normal(0.5, 1.5), device),
        )
    }

    fn max_abs_diff(a: Tensor<2>, b: Tensor<2>) -> f32 {
        (a - b).abs().max().into_scalar::<f32>()
    }

    #[test]
    fn every_model_outputs_unit_vectors() {
        let device = Device::default();
        let (x, y) = clouds(&device, 4, 32);
        for kind in [
            AmortizedKind::Linear,
            AmortizedKind::Glinear,
            AmortizedKind::Nonlinear,
            AmortizedKind::Attn,
            AmortizedKind::EffAttn,
            AmortizedKind::LinAttn,
        ] {
            let model = AmortizedConfig {
                linformer_k: 8,
                ..AmortizedConfig::new(kind, 32)
            }
            .init(&device);
            let d = model.forward(x.clone(), y.clone());
            assert_eq!(d.dims(), [4, 3]);
            let norms: Vec<f32> = d
                .square()
                .sum_dim(1)
                .sqrt()
                .into_data()
                .try_to_vec()
                .unwrap();
            assert!(
                norms.iter().all(|n| (n - 1.0).abs() < 1e-5),
                "{kind:?}: {norms:?}"
            );
        }
    }

    #[test]
    fn attention_models_are_permutation_invariant_and_symmetric() {
        let device = Device::default();
        let (x, y) = clouds(&device, 3, 40);
        let perm: Vec<i64> = (0..40).map(|i| (i * 17 + 5) % 40).collect();
        let perm = Tensor::<1, Int>::from_data(TensorData::new(perm, [40]), &device);
        for kind in [AmortizedKind::Attn, AmortizedKind::EffAttn] {
            let model = AmortizedConfig::new(kind, 40).init(&device);
            let base = model.forward(x.clone(), y.clone());
            let px = model.forward(x.clone().select(1, perm.clone()), y.clone());
            let py = model.forward(x.clone(), y.clone().select(1, perm.clone()));
            let swapped = model.forward(y.clone(), x.clone());
            assert!(
                max_abs_diff(base.clone(), px) < 1e-5,
                "{kind:?}: permuting X changes the direction"
            );
            assert!(
                max_abs_diff(base.clone(), py) < 1e-5,
                "{kind:?}: permuting Y changes the direction"
            );
            assert!(
                max_abs_diff(base, swapped) < 1e-5,
                "{kind:?}: a(X, Y) ≠ a(Y, X)"
            );
        }
    }

    #[test]
    fn one_ascent_step_raises_the_projected_distance() {
        use burn::optim::{AdamConfig, GradientsParams};
        use sw_loss::{BatchReduction, Directions, Measure, sw_pp_with_directions};
        let device = Device::default().autodiff();
        device.seed(3);
        let (x, y) = clouds(&device, 8, 64);
        let (x, y) = (x.detach(), y.detach());
        for kind in [AmortizedKind::Linear, AmortizedKind::Attn] {
            let mut model = AmortizedConfig::new(kind, 64).init(&device);
            let mut optim = AdamConfig::new().with_beta_1(0.0).with_beta_2(0.9).init();
            let value = |model: &Amortizer| {
                let theta = model.forward(x.clone(), y.clone()).unsqueeze_dim::<3>(1); // [B, 1, 3]
                sw_pp_with_directions(
                    &Measure::new(x.clone()),
                    &Measure::new(y.clone()),
                    &Directions::PerPair(theta),
                    2.0,
                    BatchReduction::Mean,
                )
                .unwrap()
            };
            let before = value(&model);
            let b: f32 = before.clone().into_scalar();
            let grads = GradientsParams::from_grads(before.neg().backward(), &model);
            model = optim.step(1e-2, model, grads);
            let a: f32 = value(&model).into_scalar();
            assert!(a > b, "{kind:?}: projected distance {b} → {a} did not rise");
        }
    }
}
