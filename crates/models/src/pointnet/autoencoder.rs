//! PointNet autoencoder.
//!
//! ```text
//! encoder  x [B, N, 3] → pointwise Conv1d 3→64→64→64→128→1024 (each BatchNorm + ReLU)
//!          → max over points → Linear 1024→256 → z / ‖z‖          latent [B, 256]
//! decoder  Linear 256→1024 (BN, ReLU) → 1024 (BN, ReLU) → N·3, tanh → [B, N, 3]
//! ```
//! Linear layers Xavier-uniform with biases 0.01, Conv1d layers PyTorch's default init
//! (hsgser/Self-Amortized-DSW models/utils.py `init_weights`; see [`super::encoder`]). The max
//! over points makes the encoder invariant to the order of the points.

use burn::module::Module;
use burn::nn::{BatchNorm, BatchNormConfig, Linear};
use burn::tensor::activation::{relu, tanh};
use burn::tensor::{Device, Tensor};
use serde::{Deserialize, Serialize};

use super::encoder::{PointNetEncoder, linear};

/// Configuration of [`PointNetAutoencoder`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PointNetConfig {
    /// Points per decoded cloud N.
    pub points: usize,
    /// Latent size (256).
    pub latent: usize,
    /// Channels of the pointwise encoder layers.
    pub encoder_channels: Vec<usize>,
    /// Width of the decoder's hidden layers (1024).
    pub decoder_width: usize,
}

impl Default for PointNetConfig {
    fn default() -> Self {
        Self {
            points: 2048,
            latent: 256,
            encoder_channels: vec![64, 64, 64, 128, 1024],
            decoder_width: 1024,
        }
    }
}

impl PointNetConfig {
    /// Builds the autoencoder on `device`.
    pub fn init(&self, device: &Device) -> PointNetAutoencoder {
        let w = self.decoder_width;
        PointNetAutoencoder {
            encoder: PointNetEncoder::new(&self.encoder_channels, self.latent, device),
            dec1: linear(self.latent, w, device),
            dec1_norm: BatchNormConfig::new(w).init(device),
            dec2: linear(w, w, device),
            dec2_norm: BatchNormConfig::new(w).init(device),
            dec3: linear(w, 3 * self.points, device),
        }
    }
}

/// The autoencoder.
#[derive(Module, Debug)]
pub struct PointNetAutoencoder {
    encoder: PointNetEncoder,
    dec1: Linear,
    dec1_norm: BatchNorm,
    dec2: Linear,
    dec2_norm: BatchNorm,
    dec3: Linear,
}

impl PointNetAutoencoder {
    /// Unit latent codes.
    ///
    /// # Shapes
    /// `x: [B, N, 3]` → `[B, latent]`.
    pub fn encode(&self, x: Tensor<3>) -> Tensor<2> {
        self.encoder.forward(x)
    }

    /// Clouds from latent codes.
    ///
    /// # Shapes
    /// `z: [B, latent]` → `[B, N, 3]`.
    pub fn decode(&self, z: Tensor<2>) -> Tensor<3> {
        let b = z.dims()[0];
        let h = relu(self.dec1_norm.forward(self.dec1.forward(z))); // [B, w]
        let h = relu(self.dec2_norm.forward(self.dec2.forward(h))); // [B, w]
        let out = tanh(self.dec3.forward(h)); // [B, 3N]
        let n = out.dims()[1] / 3;
        out.reshape([b, n, 3])
    }

    /// Reconstructions `[B, N, 3]` of `x: [B, N_in, 3]`.
    pub fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        self.decode(self.encode(x))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::optim::{GradientsParams, SgdConfig};
    use burn::tensor::{Distribution, Int, TensorData};
    use sw_loss::{BatchReduction, LossConfig, Measure};

    fn small() -> PointNetConfig {
        PointNetConfig {
            points: 128,
            latent: 32,
            encoder_channels: vec![32, 64, 128],
            decoder_width: 128,
        }
    }

    #[test]
    fn shapes_and_permutation_invariance_of_the_code() {
        let device = Device::default();
        let model = small().init(&device);
        let x = Tensor::<3>::random([4, 100, 3], Distribution::Normal(0.0, 0.5), &device);
        let z = model.encode(x.clone());
        assert_eq!(z.dims(), [4, 32]);
        let norms: Vec<f32> = z
            .clone()
            .square()
            .sum_dim(1)
            .sqrt()
            .into_data()
            .try_to_vec()
            .unwrap();
        assert!(norms.iter().all(|n| (n - 1.0).abs() < 1e-5));
        let perm: Vec<i64> = (0..100).rev().collect();
        let zp = model.encode(x.clone().select(
            1,
            Tensor::<1, Int>::from_data(TensorData::new(perm, [100]), &device),
        ));
        assert!((z - zp).abs().max().into_scalar::<f32>() < 1e-5);
        let y = model.forward(x);
        assert_eq!(y.dims(), [4, 128, 3]);
        assert!(y.abs().max().into_scalar::<f32>() <= 1.0);
    }

    #[test]
    fn sw_training_cuts_the_loss_fivefold_on_synthetic_clouds() {
        let device = Device::default().autodiff();
        device.seed(1);
        let clouds: Vec<f32> = datasets::synthetic::Shape::ALL
            .iter()
            .take(4)
            .flat_map(|s| {
                s.sample(128, 3)
                    .normalized()
                    .points
                    .into_iter()
                    .map(|v| v * 0.8)
            })
            .collect();
        let x = Tensor::<3>::from_data(TensorData::new(clouds, [4, 128, 3]), &device);
        let mut model = small().init(&device);
        let mut optim = SgdConfig::new()
            .with_momentum(Some(burn::optim::momentum::MomentumConfig {
                momentum: 0.9,
                dampening: 0.0,
                nesterov: false,
            }))
            .init();
        let loss_cfg = LossConfig {
            projections: 50,
            power: true,
            reduction: BatchReduction::Mean,
            ..LossConfig::default()
        };
        let mut first = None;
        let mut last = 0.0;
        for _ in 0..300 {
            let loss = loss_cfg
                .forward(
                    &Measure::new(model.forward(x.clone())),
                    &Measure::new(x.clone()),
                )
                .unwrap();
            last = loss.clone().into_scalar::<f32>();
            first.get_or_insert(last);
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            model = optim.step(0.05, model, grads);
        }
        let first = first.unwrap();
        assert!(
            last * 5.0 <= first,
            "SW² {first} → {last}: less than a 5× cut"
        );
    }
}
