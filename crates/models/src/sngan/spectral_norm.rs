//! Spectral normalisation (Miyato et al. 2018) as a reusable wrapper for `Linear` and `Conv2d`.
//!
//! ```text
//! W ∈ R^{h×w}  (a conv kernel [out, in, k, k] is viewed as [out, in·k·k]; a Burn Linear
//!               weight [in, out] as its transpose [out, in], like PyTorch's weight)
//! one power-iteration step per training forward, on the detached weight:
//!     v ← normalize(Wᵀ u),   u ← normalize(W v)
//! σ = uᵀ W v,   W_SN = W / σ
//! ```
//!
//! **Backward.** `u` and `v` are constants of the backward pass (detached), and σ = uᵀWv is
//! differentiated through `W`: this is what `torch.nn.utils.spectral_norm` — the wrapper the
//! `sngan.pytorch` discriminator of the CV-SW code uses — computes, so we follow it rather than
//! treat σ as a constant: for an upstream gradient G of W_SN, the weight receives
//! `G/σ − ⟨G, W⟩/σ² · u vᵀ`. Treating σ as a constant would drop the second
//! term and change the reference's training dynamics.
//!
//! **State.** `u` and `v` are [`RunningState`]s: saved in checkpoints with the weights, never
//! touched by optimizers, updated only when the weight lives on an autodiff device (training
//! forwards), read as they are otherwise (evaluation, like PyTorch's `eval()`).
//! At construction `u` and `v` are random unit vectors and no power iteration runs, as in
//! `torch.nn.utils.spectral_norm` (the CV-SW discriminator's wrapper): the first training forward
//! does the first iteration.

use burn::module::{Module, RunningState};
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{Linear, LinearConfig, PaddingConfig2d};
use burn::tensor::{Device, Distribution, Tensor};

use super::init::{ConvInit, conv_bias, pytorch_default};

/// Norm floor of the power iteration (PyTorch's `eps`).
const EPS: f64 = 1e-12;

/// Power-iteration state of one spectrally normalised weight.
#[derive(Module, Debug)]
pub struct SpectralNorm {
    /// Left singular vector estimate `[h]`.
    pub u: RunningState<Tensor<1>>,
    /// Right singular vector estimate `[w]`.
    pub v: RunningState<Tensor<1>>,
}

fn normalize(x: Tensor<1>) -> Tensor<1> {
    let norm = x.clone().powi_scalar(2).sum().sqrt().clamp_min(EPS);
    x.div(norm)
}

/// One power-iteration step `(u, v) → (normalize(W normalize(Wᵀu)), normalize(Wᵀu))`.
fn power_step(w: &Tensor<2>, u: Tensor<1>) -> (Tensor<1>, Tensor<1>) {
    let v = normalize(
        w.clone()
            .transpose()
            .matmul(u.unsqueeze_dim::<2>(1))
            .squeeze_dim::<1>(1),
    );
    let u = normalize(
        w.clone()
            .matmul(v.clone().unsqueeze_dim::<2>(1))
            .squeeze_dim::<1>(1),
    );
    (u, v)
}

impl SpectralNorm {
    /// State for a weight matrix `w` `[h, w]` as `torch.nn.utils.spectral_norm` makes it
    /// (`SpectralNorm.apply` in torch/nn/utils/spectral_norm.py): `u`, `v` random normal,
    /// normalised, no power iteration before the first training forward — which does one, as
    /// every training forward does. (This crate used to run 15 iterations here; the official
    /// code does not: over its first steps σ = uᵀWv underestimates the top singular value, so
    /// W_SN has a spectral norm above 1 until the once-per-step iterations catch up.)
    pub fn init(w: &Tensor<2>) -> Self {
        let [h, c] = w.dims();
        let random = |n: usize| {
            normalize(
                Tensor::<1>::random([n], Distribution::Normal(0.0, 1.0), &w.device())
                    .cast(w.dtype()),
            )
        };
        Self {
            u: RunningState::new(random(h)),
            v: RunningState::new(random(c)),
        }
    }

    /// `W / σ(W)` for `w` `[h, w]`; one power-iteration step first when `w` is on an autodiff
    /// device (a training forward). Gradients flow through `W` and through σ = uᵀWv with `u`,
    /// `v` held constant.
    pub fn normalize(&self, w: Tensor<2>) -> Tensor<2> {
        let device = w.device();
        let (u, v) = if device.is_autodiff() {
            let (u, v) = power_step(&w.clone().detach(), self.u.value_sync().to_device(&device));
            let (u, v) = (u.detach(), v.detach());
            self.u.update(u.clone());
            self.v.update(v.clone());
            (u, v)
        } else {
            (
                self.u.value_sync().to_device(&device),
                self.v.value_sync().to_device(&device),
            )
        };
        let sigma = u
            .unsqueeze_dim::<2>(0)
            .matmul(w.clone())
            .matmul(v.unsqueeze_dim::<2>(1)); // [1, 1]
        w.div(sigma)
    }

    /// The current estimate σ = uᵀWv of `w`'s largest singular value (no update).
    pub fn sigma(&self, w: Tensor<2>) -> f64 {
        let device = w.device();
        let u = self.u.value_sync().to_device(&device);
        let v = self.v.value_sync().to_device(&device);
        u.unsqueeze_dim::<2>(0)
            .matmul(w)
            .matmul(v.unsqueeze_dim::<2>(1))
            .into_scalar::<f64>()
    }
}

/// `Linear` with optional spectral normalisation. `y = x W + b`, W `[in, out]` (Burn's layout).
#[derive(Module, Debug)]
pub struct SnLinear {
    /// The layer's parameters.
    pub linear: Linear,
    /// Power-iteration state when spectrally normalised.
    pub sn: Option<SpectralNorm>,
}

impl SnLinear {
    /// `[d_in, d_out]` with PyTorch's default init (weight and bias U(±1/√d_in), see
    /// [`super::init`]), a bias when `bias`, spectral norm when `spectral`.
    pub fn new(d_in: usize, d_out: usize, bias: bool, spectral: bool, device: &Device) -> Self {
        let linear = LinearConfig::new(d_in, d_out)
            .with_initializer(pytorch_default())
            .with_bias(bias)
            .init(device);
        let sn = spectral.then(|| SpectralNorm::init(&linear.weight.val().transpose()));
        Self { linear, sn }
    }

    /// The weight used by the forward: `[in, out]`, normalised when spectral.
    pub fn weight(&self) -> Tensor<2> {
        let w = self.linear.weight.val();
        match &self.sn {
            Some(sn) => sn.normalize(w.transpose()).transpose(),
            None => w,
        }
    }

    /// # Shapes
    /// `x` `[B, in]` → `[B, out]`.
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        burn::tensor::module::linear(x, self.weight(), self.linear.bias.as_ref().map(|b| b.val()))
    }
}

/// `Conv2d` (square kernel, stride 1, symmetric zero padding) with optional spectral norm.
#[derive(Module, Debug)]
pub struct SnConv2d {
    /// The layer's parameters: weight `[out, in, k, k]`, bias `[out]`.
    pub conv: Conv2d,
    /// Power-iteration state when spectrally normalised.
    pub sn: Option<SpectralNorm>,
}

impl SnConv2d {
    /// `k × k` kernel with padding `pad`, initialised by `init`; bias with PyTorch's default
    /// U(±1/√(c_in·k·k)) (see [`super::init`]).
    pub fn new(
        c_in: usize,
        c_out: usize,
        k: usize,
        pad: usize,
        spectral: bool,
        init: ConvInit,
        device: &Device,
    ) -> Self {
        let mut conv = Conv2dConfig::new([c_in, c_out], [k, k])
            .with_padding(PaddingConfig2d::Explicit(pad, pad, pad, pad))
            .with_bias(false)
            .init(device);
        conv.weight = init.kernel(c_in, c_out, k, device);
        conv.bias = Some(conv_bias(c_in, c_out, k, device));
        let sn = spectral.then(|| SpectralNorm::init(&conv.weight.val().flatten::<2>(1, 3)));
        Self { conv, sn }
    }

    /// The kernel used by the forward, normalised when spectral.
    pub fn weight(&self) -> Tensor<4> {
        let w = self.conv.weight.val();
        match &self.sn {
            Some(sn) => {
                let dims = w.dims();
                sn.normalize(w.flatten::<2>(1, 3)).reshape(dims)
            }
            None => w,
        }
    }

    /// # Shapes
    /// `x` `[B, in, H, W]` → `[B, out, H + 2·pad − k + 1, …]`.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let pad = match self.conv.padding {
            PaddingConfig2d::Explicit(top, ..) => top,
            _ => 0,
        };
        // The GEMM convolution on Flex, Burn's conv2d elsewhere (`crate::conv`, one switch).
        crate::conv::conv2d(
            x,
            self.weight(),
            self.conv.bias.as_ref().map(|b| b.val()),
            1,
            pad,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::TensorData;

    /// Largest singular value by 2000 power iterations on WᵀW in f64 on the host.
    fn top_singular(w: &[f64], h: usize, c: usize) -> f64 {
        let mut v = vec![1.0; c];
        let mut s = 0.0;
        for _ in 0..2000 {
            let wv: Vec<f64> = (0..h)
                .map(|i| (0..c).map(|j| w[i * c + j] * v[j]).sum())
                .collect();
            let wtwv: Vec<f64> = (0..c)
                .map(|j| (0..h).map(|i| w[i * c + j] * wv[i]).sum())
                .collect();
            let n = wtwv.iter().map(|x| x * x).sum::<f64>().sqrt();
            s = n.sqrt();
            v = wtwv.iter().map(|x| x / n).collect();
        }
        s
    }

    #[test]
    fn sigma_converges_to_the_top_singular_value_and_normalises_it_to_one() {
        let device = crate::test_device().autodiff();
        device.seed(3);
        let (h, c) = (6, 9);
        let values: Vec<f64> = (0..h * c)
            .map(|i| ((i * 37 % 11) as f64 - 5.0) / 3.0)
            .collect();
        let w = Tensor::<2>::from_data(
            TensorData::new(values.clone(), [h, c]),
            (&device, burn::tensor::DType::F64),
        );
        let sn = SpectralNorm::init(&w);
        // From a random u (no warm-up, as PyTorch), one iteration per training forward.
        let mut normed = w.clone();
        for _ in 0..200 {
            normed = sn.normalize(w.clone());
        }
        let exact = top_singular(&values, h, c);
        assert!(
            (sn.sigma(w.clone()) - exact).abs() < 1e-9 * exact,
            "{} vs {exact}",
            sn.sigma(w)
        );
        let normed: Vec<f64> = normed
            .inner()
            .into_data()
            .convert::<f64>()
            .try_to_vec::<f64>()
            .unwrap();
        assert!((top_singular(&normed, h, c) - 1.0).abs() < 1e-9);
    }

    #[test]
    fn training_gradient_matches_finite_differences_with_the_updated_u_v() {
        // L(W) = Σ_ij C_ij (W/σ(W))_ij with σ = uᵀWv. The training forward updates (u, v) and
        // then holds them constant; the finite differences use that updated state, frozen (an
        // evaluation-device forward does not move it).
        let device = crate::test_device().autodiff();
        device.seed(5);
        let (h, c) = (4, 5);
        let values: Vec<f64> = (0..h * c)
            .map(|i| ((i * 13 % 7) as f64 - 3.0) / 2.0 + 0.1 * i as f64)
            .collect();
        let weights: Vec<f64> = (0..h * c)
            .map(|i| ((i * 5 % 9) as f64 - 4.0) / 4.0)
            .collect();
        let dt = burn::tensor::DType::F64;
        let w = Tensor::<2>::from_data(TensorData::new(values.clone(), [h, c]), (&device, dt))
            .require_grad();
        let sn = SpectralNorm::init(&w.clone().add_scalar(0.3));
        let cw = Tensor::<2>::from_data(TensorData::new(weights.clone(), [h, c]), (&device, dt));
        let grads = sn.normalize(w.clone()).mul(cw).sum().backward();
        let g: Vec<f64> = w
            .grad(&grads)
            .unwrap()
            .into_data()
            .convert::<f64>()
            .try_to_vec::<f64>()
            .unwrap();
        let inner = device.clone().inner();
        let cw = Tensor::<2>::from_data(TensorData::new(weights, [h, c]), (&inner, dt));
        let loss = |vals: &[f64]| -> f64 {
            let w = Tensor::<2>::from_data(TensorData::new(vals.to_vec(), [h, c]), (&inner, dt));
            sn.normalize(w).mul(cw.clone()).sum().into_scalar::<f64>()
        };
        for k in 0..h * c {
            let (mut a, mut b) = (values.clone(), values.clone());
            a[k] += 1e-6;
            b[k] -= 1e-6;
            let fd = (loss(&a) - loss(&b)) / 2e-6;
            assert!(
                (fd - g[k]).abs() < 1e-6 * (1.0 + fd.abs()),
                "entry {k}: {fd} vs {}",
                g[k]
            );
        }
    }

    #[test]
    fn evaluation_forwards_leave_the_state_alone_and_training_forwards_move_it() {
        let device = crate::test_device().autodiff();
        device.seed(9);
        let layer = SnConv2d::new(3, 4, 3, 1, true, ConvInit::PytorchDefault, &device);
        let sn = layer.sn.as_ref().unwrap();
        let u0: Vec<f32> =
            sn.u.value_sync()
                .inner()
                .into_data()
                .try_to_vec::<f32>()
                .unwrap();
        let frozen = layer.valid();
        let x = Tensor::<4>::random([2, 3, 5, 5], Distribution::Default, &device.clone().inner());
        let _ = frozen.forward(x.clone());
        let u1: Vec<f32> =
            sn.u.value_sync()
                .inner()
                .into_data()
                .try_to_vec::<f32>()
                .unwrap();
        assert_eq!(u0, u1);
        // A freshly initialised weight has already converged for such a small matrix; perturb it.
        let layer = SnConv2d {
            conv: Conv2d {
                weight: layer
                    .conv
                    .weight
                    .clone()
                    .map(|w| w.clone().add(w.powi_scalar(2))),
                ..layer.conv.clone()
            },
            sn: layer.sn.clone(),
        };
        let y = layer.forward(x.autodiff());
        assert_eq!(y.dims(), [2, 4, 5, 5]);
        let u2: Vec<f32> = layer
            .sn
            .as_ref()
            .unwrap()
            .u
            .value_sync()
            .inner()
            .into_data()
            .try_to_vec::<f32>()
            .unwrap();
        assert_ne!(u0, u2);
    }

    /// Through optimizer steps (as the trainer runs them: forward on the autodiff device,
    /// backward, Adam returning a new module) the power-iteration state moves at every step and
    /// keeps tracking the changing kernel: after 60 steps σ = uᵀWv is the top singular value of
    /// the current W to 1e-3 (one iteration per forward, from a random start).
    #[test]
    fn the_state_tracks_the_weight_through_optimizer_steps() {
        use burn::optim::{AdamConfig, GradientsParams};
        let device = crate::test_device().autodiff();
        device.seed(21);
        let mut layer = SnConv2d::new(4, 6, 3, 1, true, ConvInit::PytorchDefault, &device);
        let mut opt = AdamConfig::new().with_epsilon(1e-8).init();
        let x = Tensor::<4>::random([2, 4, 5, 5], Distribution::Uniform(-1.0, 1.0), &device);
        let read = |l: &SnConv2d| -> Vec<f32> {
            l.sn.as_ref()
                .unwrap()
                .u
                .value_sync()
                .inner()
                .into_data()
                .convert::<f32>()
                .try_to_vec::<f32>()
                .unwrap()
        };
        let mut before = read(&layer);
        for step in 0..60 {
            let loss = layer.forward(x.clone()).powi_scalar(2).mean();
            let grads = GradientsParams::from_grads(loss.backward(), &layer);
            layer = opt.step(1e-2, layer, grads);
            let after = read(&layer);
            assert_ne!(before, after, "u did not move at step {step}");
            before = after;
        }
        let w = layer.conv.weight.val().inner();
        let (o, c) = (6, 4 * 9);
        let values: Vec<f64> = w
            .clone()
            .into_data()
            .convert::<f64>()
            .try_to_vec::<f64>()
            .unwrap();
        let exact = top_singular(&values, o, c);
        let sigma = layer.sn.as_ref().unwrap().sigma(w.reshape([o, c]));
        assert!(
            (sigma - exact).abs() < 1e-3 * exact,
            "σ estimate {sigma} vs top singular value {exact}"
        );
    }
}
