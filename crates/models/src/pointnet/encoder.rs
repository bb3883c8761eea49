//! PointNet encoder: a permutation-invariant map from a cloud to a unit code.
//!
//! ```text
//! x [B, N, 3] → pointwise Conv1d 3→c₁→…→c_k (each BatchNorm + ReLU) → max over points
//!             → Linear c_k→latent → z / ‖z‖                              [B, latent]
//! ```
//! Initialisation as the official code (hsgser/Self-Amortized-DSW models/utils.py,
//! `init_weights`, applied by train.py): Linear layers Xavier-uniform with bias 0.01; the
//! Conv1d layers are not touched by `init_weights` (it matches Linear and Conv2d only), so
//! they keep PyTorch's default, U(±1/√fan_in) for weight and bias — Burn's default
//! `KaimingUniform { gain: 1/√3 }` is the same law. Shared by the autoencoder and by the
//! conditioned mesh deformer (DDOT's dataset mode).

use burn::module::{Module, Param};
use burn::nn::conv::{Conv1d, Conv1dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, Initializer, Linear, LinearConfig};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor};
use sw_loss::directions::normalize_rows;

pub(crate) const XAVIER: Initializer = Initializer::XavierUniform { gain: 1.0 };

/// A bias of `n` entries equal to 0.01 (Burn's Xavier initializer has no fan-out for a bias).
pub(crate) fn bias_001(n: usize, device: &Device) -> Option<Param<Tensor<1>>> {
    Some(Param::from_tensor(Tensor::full([n], 0.01, device)))
}

/// Xavier-uniform Linear with bias 0.01.
pub(crate) fn linear(i: usize, o: usize, device: &Device) -> Linear {
    Linear {
        bias: bias_001(o, device),
        ..LinearConfig::new(i, o)
            .with_initializer(XAVIER)
            .with_bias(false)
            .init(device)
    }
}

/// The PointNet encoder.
#[derive(Module, Debug)]
pub struct PointNetEncoder {
    convs: Vec<Conv1d>,
    norms: Vec<BatchNorm>,
    to_latent: Linear,
}

impl PointNetEncoder {
    /// Pointwise layers of `channels` widths, then a `latent`-sized unit code.
    pub fn new(channels: &[usize], latent: usize, device: &Device) -> Self {
        let mut convs = Vec::new();
        let mut norms = Vec::new();
        let mut c_in = 3;
        for &c in channels {
            // PyTorch's default Conv1d init (see the module doc).
            convs.push(Conv1dConfig::new(c_in, c, 1).init(device));
            norms.push(BatchNormConfig::new(c).init(device));
            c_in = c;
        }
        Self {
            convs,
            norms,
            to_latent: linear(c_in, latent, device),
        }
    }

    /// Unit codes.
    ///
    /// # Shapes
    /// `x: [B, N, 3]` → `[B, latent]`.
    pub fn forward(&self, x: Tensor<3>) -> Tensor<2> {
        let b = x.dims()[0];
        let mut h = x.swap_dims(1, 2); // [B, 3, N]
        for (conv, norm) in self.convs.iter().zip(&self.norms) {
            h = relu(norm.forward(conv.forward(h))); // [B, C, N]
        }
        let c = h.dims()[1];
        let pooled = h.max_dim(2).reshape([b, c]); // [B, C]
        normalize_rows(self.to_latent.forward(pooled)) // [B, latent]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values<const D: usize>(t: Tensor<D>) -> Vec<f64> {
        t.into_data().convert::<f64>().try_to_vec::<f64>().unwrap()
    }

    fn variance(v: &[f64]) -> f64 {
        let m = v.iter().sum::<f64>() / v.len() as f64;
        v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / v.len() as f64
    }

    #[test]
    fn init_is_the_official_one() {
        let device = Device::default();
        device.seed(3);
        let enc = PointNetEncoder::new(&[64, 128, 1024], 256, &device);
        // Conv1d: torch's default, weight and bias ~ U(±1/√fan_in): variance 1/(3 fan_in).
        for (conv, fan_in) in enc.convs.iter().zip([3usize, 64, 128]) {
            let bound = 1.0 / (fan_in as f64).sqrt();
            let w = values(conv.weight.val());
            assert!(w.iter().all(|x| x.abs() <= bound * (1.0 + 1e-6)));
            if w.len() >= 8000 {
                let want = 1.0 / (3.0 * fan_in as f64);
                assert!((variance(&w) - want).abs() < 0.05 * want, "fan_in {fan_in}");
            }
            let b = values(conv.bias.as_ref().expect("conv bias").val());
            assert!(b.iter().all(|x| x.abs() <= bound * (1.0 + 1e-6)));
            assert!(
                b.iter().any(|x| (x - 0.01).abs() > 1e-3),
                "conv bias is not 0.01"
            );
        }
        // Linear: Xavier-uniform (variance 2/(fan_in + fan_out)), bias 0.01.
        let w = values(enc.to_latent.weight.val());
        let want = 2.0 / (1024.0 + 256.0);
        assert!((variance(&w) - want).abs() < 0.05 * want);
        let b = values(enc.to_latent.bias.as_ref().unwrap().val());
        assert!(b.iter().all(|x| (x - 0.01).abs() < 1e-7));
    }
}
