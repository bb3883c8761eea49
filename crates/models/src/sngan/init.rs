//! Initialisation of SNGAN's layers as the CV-SW code leaves them.
//!
//! ```text
//! khainb/CV-SW Generative_model/trainsw.py, weights_init (run with --init_type xavier_uniform,
//! Generative_model/README.md), applied after `.cuda()`:
//!   Conv2d kernel      W ~ U(±gain·√(6 / (fan_in + fan_out))), gain 1   (xavier_uniform)
//!   BatchNorm2d        γ ~ N(1, 0.02²),  β = 0
//!   everything else    PyTorch's default: W, b ~ U(±1/√fan_in)          (kaiming_uniform, a = √5)
//!                      — Linear weights and biases, every Conv2d bias
//! fan_in = c_in·k·k, fan_out = c_out·k·k for a conv; fan_in = d_in for a linear layer.
//! ```
//!
//! **The discriminator's kernels keep PyTorch's default.** With `--d_spectral_norm True`
//! (`models/sngan_cifar10.py`), `nn.utils.spectral_norm` moves the kernel to the parameter
//! `weight_orig` and leaves `weight` as a plain attribute sharing its storage; `.cuda()`
//! (trainsw.py, before `weights_init`) gives `weight_orig` new storage but does not touch the
//! plain attribute, so `nn.init.xavier_uniform(m.weight.data)` writes into a stale CPU copy that
//! the next forward overwrites with `weight_orig / σ`. The trained kernels therefore start from
//! U(±1/√fan_in). [`ConvInit`] makes both choices available; the defaults of
//! [`GeneratorConfig`](super::GeneratorConfig) (Xavier) and
//! [`DiscriminatorConfig`](super::DiscriminatorConfig) (PyTorch default) are what that code runs.

use burn::module::{Module, ModuleVisitor, Param};
use burn::nn::{BatchNorm, BatchNormConfig, Initializer};
use burn::tensor::{Device, Tensor};
use serde::{Deserialize, Serialize};

/// Initialisation of a convolution kernel (the bias always gets PyTorch's default).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConvInit {
    /// `nn.init.xavier_uniform_(W, 1.0)`: U(±√(6 / (fan_in + fan_out))).
    #[default]
    XavierUniform,
    /// PyTorch's `Conv2d.reset_parameters`: U(±1/√fan_in).
    PytorchDefault,
}

/// PyTorch's default for `Linear` and `Conv2d` weights and biases: `kaiming_uniform_(a = √5)`,
/// i.e. U(±1/√fan_in) (bound = gain·√(3/fan_in) with gain = √(1/3)).
pub fn pytorch_default() -> Initializer {
    Initializer::KaimingUniform {
        gain: 1.0 / 3f64.sqrt(),
        fan_out_only: false,
    }
}

impl ConvInit {
    /// The kernel `[c_out, c_in, k, k]`.
    pub fn kernel(self, c_in: usize, c_out: usize, k: usize, device: &Device) -> Param<Tensor<4>> {
        let (fan_in, fan_out) = (c_in * k * k, c_out * k * k);
        let init = match self {
            ConvInit::XavierUniform => Initializer::XavierUniform { gain: 1.0 },
            ConvInit::PytorchDefault => pytorch_default(),
        };
        init.init_with([c_out, c_in, k, k], Some(fan_in), Some(fan_out), device)
    }
}

struct Materialize;

impl ModuleVisitor for Materialize {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let _ = param.val();
    }
}

/// Draws every lazily initialised parameter of `module` now. Burn's initialisers are lazy and a
/// lazy parameter is shared between clones, so otherwise the first access decides both the
/// order of the random draws and — when it happens on a `no_grad()` clone, as in a
/// discriminator step's `G(z)` — that the parameter never tracks gradients.
pub fn materialize<M: Module>(module: M) -> M {
    module.visit(&mut Materialize);
    module
}

/// A conv bias `[c_out]` with PyTorch's default U(±1/√(c_in·k·k)).
pub fn conv_bias(c_in: usize, c_out: usize, k: usize, device: &Device) -> Param<Tensor<1>> {
    pytorch_default().init_with([c_out], Some(c_in * k * k), Some(c_out * k * k), device)
}

/// `BatchNorm2d(c)` as `weights_init` leaves it: γ ~ N(1, 0.02²), β = 0 (PyTorch's ε = 1e-5 and
/// momentum 0.1, which are Burn's defaults too).
pub fn batch_norm(c: usize, device: &Device) -> BatchNorm {
    let mut bn = BatchNormConfig::new(c).init(device);
    bn.gamma = Initializer::Normal {
        mean: 1.0,
        std: 0.02,
    }
    .init([c], device);
    bn
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sngan::{DiscriminatorConfig, GeneratorConfig, Resolution};

    /// Every float tensor of a module with its dotted path and shape.
    #[derive(Default)]
    struct Walk {
        path: Vec<String>,
        found: Vec<(String, Vec<usize>, Vec<f64>)>,
    }

    impl ModuleVisitor for Walk {
        fn enter_module(&mut self, name: &str, _: &str) {
            self.path.push(name.to_string());
        }
        fn exit_module(&mut self, _: &str, _: &str) {
            self.path.pop();
        }
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            let t = param.val();
            let dims = t.dims().to_vec();
            let values = t.into_data().convert::<f64>().try_to_vec::<f64>().unwrap();
            self.found.push((self.path.join("."), dims, values));
        }
    }

    /// Values of one layer kind divided by their bound: (count, max |x|, mean, variance).
    fn summary(xs: &[f64]) -> (usize, f64, f64, f64) {
        let n = xs.len() as f64;
        let mean = xs.iter().sum::<f64>() / n;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n;
        let max = xs.iter().fold(0.0f64, |m, x| m.max(x.abs()));
        (xs.len(), max, mean, var)
    }

    /// Asserts that `xs` (values / bound) look like U(−1, 1): inside it, reaching within 8/n of
    /// its ends, mean 0 and variance 1/3 within 5 standard errors (Var x² = 4/45 for U(−1, 1)).
    fn assert_unit_uniform(kind: &str, xs: &[f64]) {
        let (n, max, mean, var) = summary(xs);
        assert!(n >= 50, "{kind}: only {n} values");
        let nf = n as f64;
        assert!(
            max <= 1.0 + 1e-6 && max > 1.0 - 8.0 / nf,
            "{kind}: max |x|/bound = {max}"
        );
        assert!(
            mean.abs() < 5.0 * (1.0 / 3.0 / nf).sqrt(),
            "{kind}: mean {mean}"
        );
        let tol = 5.0 * 3.0 * (4.0 / 45.0 / nf).sqrt();
        assert!(
            (var * 3.0 - 1.0).abs() < tol,
            "{kind}: variance·3 = {}",
            var * 3.0
        );
    }

    /// Groups the tensors of `module` by layer kind, normalised by the bound the CV-SW code
    /// gives that kind (see the module doc), and checks each group's statistics.
    fn check<M: Module>(module: &M, kernel: ConvInit, what: &str) -> Vec<String> {
        let mut walk = Walk::default();
        module.visit(&mut walk);
        let mut kinds: std::collections::BTreeMap<&str, Vec<f64>> = Default::default();
        let mut gammas = Vec::new();
        let mut seen = Vec::new();
        // Kernel shapes by layer path, for the fan-in of the biases.
        let kernels: std::collections::HashMap<String, Vec<usize>> = walk
            .found
            .iter()
            .filter(|(p, _, _)| p.ends_with("conv.weight"))
            .map(|(p, d, _)| (p.trim_end_matches(".weight").to_string(), d.clone()))
            .collect();
        for (path, dims, values) in &walk.found {
            let (kind, bound) = if path.ends_with("conv.weight") {
                let (fan_in, fan_out) = (dims[1] * dims[2] * dims[3], dims[0] * dims[2] * dims[3]);
                match kernel {
                    ConvInit::XavierUniform => {
                        ("conv kernel", (6.0 / (fan_in + fan_out) as f64).sqrt())
                    }
                    ConvInit::PytorchDefault => ("conv kernel", 1.0 / (fan_in as f64).sqrt()),
                }
            } else if path.ends_with("conv.bias") {
                let k = &kernels[path.trim_end_matches(".bias")];
                ("conv bias", 1.0 / ((k[1] * k[2] * k[3]) as f64).sqrt())
            } else if path.ends_with("linear.weight") {
                ("linear weight", 1.0 / (dims[0] as f64).sqrt()) // Burn's [in, out]
            } else if path.ends_with("linear.bias") {
                // d_in of the layer: the weight's first dimension.
                let w = path.trim_end_matches("bias").to_string() + "weight";
                let (_, wd, _) = walk.found.iter().find(|(p, _, _)| *p == w).unwrap();
                ("linear bias", 1.0 / (wd[0] as f64).sqrt())
            } else if path.ends_with("gamma") {
                gammas.extend(values);
                seen.push("bn gamma".to_string());
                continue;
            } else if path.ends_with("beta") {
                assert!(values.iter().all(|&b| b == 0.0), "{what} {path}: β ≠ 0");
                seen.push("bn beta".to_string());
                continue;
            } else {
                continue; // running statistics, power-iteration vectors
            };
            kinds
                .entry(kind)
                .or_default()
                .extend(values.iter().map(|v| v / bound));
            seen.push(kind.to_string());
        }
        for (kind, xs) in &kinds {
            assert_unit_uniform(&format!("{what} {kind}"), xs);
        }
        if !gammas.is_empty() {
            let (n, _, mean, var) = summary(&gammas);
            assert!(
                (mean - 1.0).abs() < 4.0 * 0.02 / (n as f64).sqrt(),
                "{what} γ mean {mean}"
            );
            assert!(
                (var.sqrt() / 0.02 - 1.0).abs() < 0.15,
                "{what} γ std {}",
                var.sqrt()
            );
        }
        seen.sort();
        seen.dedup();
        seen
    }

    #[test]
    fn initial_weights_have_the_cv_sw_code_statistics_per_layer_kind() {
        let device = crate::test_device();
        device.seed(7);
        let g = GeneratorConfig {
            channels: 64,
            ..Default::default()
        }
        .init(&device);
        let kinds = check(&g, ConvInit::XavierUniform, "G");
        assert_eq!(
            kinds,
            [
                "bn beta",
                "bn gamma",
                "conv bias",
                "conv kernel",
                "linear bias",
                "linear weight"
            ]
        );
        let d = DiscriminatorConfig {
            channels: 64,
            resolution: Resolution::R32,
            ..Default::default()
        }
        .init(&device);
        // D: kernels U(±1/√fan_in) (not Xavier), biases too, l5 has no bias.
        let kinds = check(&d, ConvInit::PytorchDefault, "D");
        assert_eq!(kinds, ["conv bias", "conv kernel", "linear weight"]);
        // The other choice is honoured too.
        let d = DiscriminatorConfig {
            channels: 64,
            conv_init: ConvInit::XavierUniform,
            ..Default::default()
        }
        .init(&device);
        check(&d, ConvInit::XavierUniform, "D (xavier)");
    }

    /// A generator whose first use is a `no_grad()` clone (a discriminator step's G(z)) still
    /// gets a gradient for every trainable parameter in the generator step.
    #[test]
    fn every_parameter_tracks_gradients_after_a_no_grad_clone_is_used_first() {
        struct Trainable(usize);
        impl ModuleVisitor for Trainable {
            fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
                self.0 += usize::from(param.val().is_require_grad());
            }
        }
        let device = crate::test_device().autodiff();
        device.seed(3);
        let g = GeneratorConfig {
            channels: 4,
            latent: 8,
            ..Default::default()
        }
        .init(&device);
        let z = || {
            Tensor::<2>::random(
                [2, 8],
                burn::tensor::Distribution::Normal(0.0, 1.0),
                &device,
            )
        };
        let _ = g.clone().no_grad().forward(z());
        let grads = burn::optim::GradientsParams::from_grads(g.forward(z()).sum().backward(), &g);
        let mut trainable = Trainable(0);
        g.visit(&mut trainable);
        // l1 (W, b) + 3 blocks × (2 BN × (γ, β) + 3 convs × (W, b)) + BN (γ, β) + conv (W, b).
        assert_eq!(trainable.0, 2 + 3 * 10 + 2 + 2);
        assert_eq!(grads.len(), trainable.0);
    }

    #[test]
    fn a_bottom_width_that_misses_the_resolution_is_an_error_naming_it() {
        let bad = GeneratorConfig {
            bottom_width: 8,
            ..Default::default()
        };
        let e = bad.validate().unwrap_err();
        assert_eq!(e.field, "bottom_width");
        assert!(
            e.to_string().contains("64×64") && e.to_string().contains("32"),
            "{e}"
        );
        let bad = GeneratorConfig {
            resolution: Resolution::R64,
            bottom_width: 2,
            ..Default::default()
        };
        assert_eq!(bad.validate().unwrap_err().field, "bottom_width");
        assert!(GeneratorConfig::default().validate().is_ok());
        let e = DiscriminatorConfig {
            channels: 0,
            ..Default::default()
        }
        .validate()
        .unwrap_err();
        assert_eq!(e.field, "channels");
    }
}
