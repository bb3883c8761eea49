//! `configs/*_sngan*.toml`: what an SNGAN run reads, with the CV-SW code's values as defaults
//! (khainb/CV-SW Generative_model/README.md command lines, cfg.py).

use std::path::PathBuf;

use crate::header::{Headed, Header};
use anyhow::{Result, anyhow, bail};
use burn::optim::AdamConfig;
use models::sngan::{DiscriminatorConfig, GeneratorConfig};
use serde::{Deserialize, Serialize};
use sw_loss::LossConfig;

/// `configs/*_sngan*.toml`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SnganConfig {
    /// The shared keys (`experiment` = `"sngan"`, `description`, `seed`, `device`), read
    /// by [`Loaded::parse`](crate::config::Loaded::parse); see [`Header`].
    #[serde(skip)]
    pub header: Header,
    /// The images.
    pub data: GanData,
    /// The generator.
    #[serde(default)]
    pub generator: GeneratorConfig,
    /// The discriminator.
    #[serde(default)]
    pub discriminator: DiscriminatorConfig,
    /// Optimisation.
    #[serde(default)]
    pub train: GanTrain,
    /// The generator loss (any `sw-loss` estimator; SW_p itself, not SW_p^p, unless power).
    #[serde(default = "default_loss")]
    pub loss: LossConfig,
    /// FID and IS of the EMA generator during training (none when absent).
    #[serde(default)]
    pub eval: Option<GanEval>,
}

impl Headed for SnganConfig {
    /// Seed of everything random: initialisation, noise, data order.
    const DEFAULT_SEED: u64 = 1;

    fn header_mut(&mut self) -> &mut Header {
        &mut self.header
    }
}

fn default_loss() -> LossConfig {
    LossConfig {
        projections: 10,
        ..LossConfig::default()
    }
}

/// Which images.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DatasetName {
    /// CIFAR-10 training set (50 000 images, 32²).
    Cifar10,
    /// CelebA training split (aligned faces, short side 64 and centre crop).
    Celeba,
    /// Synthetic CIFAR-format shape images (no download).
    Synthetic,
}

/// `[data]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GanData {
    /// `cifar10`, `celeba` or `synthetic`.
    pub dataset: DatasetName,
    /// Folder of the dataset (default: `$SWBURN_DATA`, else `./data`).
    #[serde(default)]
    pub root: Option<PathBuf>,
    /// Number of synthetic images.
    #[serde(default = "synthetic_count")]
    pub synthetic_images: usize,
}

fn synthetic_count() -> usize {
    2048
}

/// `[train]`. Defaults: khainb/CV-SW Generative_model/README.md (CIFAR-10 command line).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GanTrain {
    /// Generator steps (`--max_iter`: 100 000 for CIFAR-10, 50 000 for CelebA).
    pub generator_steps: usize,
    /// Discriminator steps per generator step (`--n_critic 5`).
    pub n_critic: usize,
    /// Images per batch, real and generated (`-gen_bs 128 -dis_bs 128`).
    pub batch_size: usize,
    /// Adam step size of G (`--g_lr 0.0002`).
    pub lr_generator: f64,
    /// Adam step size of D (`--d_lr 0.0002`).
    pub lr_discriminator: f64,
    /// Adam β₁ of G and D (`--beta1 0.0`).
    pub beta1: f32,
    /// Adam β₂ of G and D (`--beta2 0.9`).
    pub beta2: f32,
    /// Adam ε of G and D: 1e-8, PyTorch's default that `torch.optim.Adam(..., lr, (β₁, β₂))` in
    /// trainsw.py keeps (Burn's own default is 1e-5).
    pub adam_epsilon: f32,
    /// Decay of the EMA generator (functions.py: `avg_p.mul_(0.999).add_(0.001, p.data)`).
    pub ema: f64,
    /// Write a checkpoint every this many generator steps (and at the end, and on Ctrl-C).
    pub checkpoint_every: usize,
    /// Keep this many most recent checkpoints.
    pub keep_checkpoints: usize,
    /// Write an 8×8 grid of EMA-G samples every this many steps.
    pub sample_every: usize,
    /// Append a row to metrics.csv every this many steps (means over the interval).
    pub log_every: usize,
}

impl Default for GanTrain {
    fn default() -> Self {
        Self {
            generator_steps: 100_000,
            n_critic: 5,
            batch_size: 128,
            lr_generator: 2e-4,
            lr_discriminator: 2e-4,
            beta1: 0.0,
            beta2: 0.9,
            adam_epsilon: 1e-8,
            ema: 0.999,
            checkpoint_every: 1000,
            keep_checkpoints: 2,
            sample_every: 1000,
            log_every: 100,
        }
    }
}

impl GanTrain {
    /// The Adam of both networks: β₁, β₂ and ε from the config.
    pub fn adam(&self) -> AdamConfig {
        AdamConfig::new()
            .with_beta_1(self.beta1)
            .with_beta_2(self.beta2)
            .with_epsilon(self.adam_epsilon)
    }
}

/// `[eval]`: FID and IS of the EMA generator every `every` generator steps and after the last,
/// like the CV-SW code's `validate` every `--val_freq` epochs (trainsw.py). Each scoring appends
/// a row to `eval.csv`, redraws `fid.png`, and keeps the EMA generator of the lowest FID in
/// `best/`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GanEval {
    /// Score every this many generator steps (and after the last); 0 turns scoring off (e.g.
    /// `--set eval.every=0` to train without the Inception weights).
    pub every: usize,
    /// Generated images per scoring (`--num_eval_imgs 50000`, cfg.py); at least 10 (the IS
    /// splits).
    #[serde(default = "fifty_thousand")]
    pub samples: usize,
    /// Images per forward (`--eval_batch_size 100`, cfg.py).
    #[serde(default = "hundred")]
    pub batch: usize,
    /// The FID Inception weights (`pt_inception-2015-12-05-6726825d.pth` or `.safetensors`),
    /// or `"stand-in"` for a tiny network with the same interface whose scores mean nothing
    /// (pipeline checks without the weights).
    pub inception: PathBuf,
    /// Reference statistics `.npz` (`mu`, `sigma`), e.g. the CV-SW repository's
    /// `fid_stat/fid_stats_cifar10_train.npz`.
    pub stats: PathBuf,
}

fn fifty_thousand() -> usize {
    50_000
}

fn hundred() -> usize {
    100
}

impl GanEval {
    /// Whether scoring is on (`every` > 0).
    pub fn enabled(&self) -> bool {
        self.every > 0
    }
}

/// Checks the config before anything is built; errors name the file and the field.
pub fn checked(cfg: &SnganConfig, path: &str) -> Result<()> {
    cfg.loss
        .validate()
        .map_err(|e| anyhow!("{path}: [loss] {e}"))?;
    cfg.generator
        .validate()
        .map_err(|e| anyhow!("{path}: [generator] {e}"))?;
    cfg.discriminator
        .validate()
        .map_err(|e| anyhow!("{path}: [discriminator] {e}"))?;
    let t = &cfg.train;
    if t.generator_steps == 0 || t.n_critic == 0 || t.batch_size < 2 {
        bail!("{path}: [train] generator_steps and n_critic must be positive and batch_size ≥ 2");
    }
    if !(t.lr_generator > 0.0 && t.lr_discriminator > 0.0) {
        bail!("{path}: [train] lr_generator and lr_discriminator must be > 0");
    }
    for (field, beta) in [("beta1", t.beta1), ("beta2", t.beta2)] {
        if !(0.0..1.0).contains(&beta) {
            bail!("{path}: [train] {field} must be in [0, 1), got {beta}");
        }
    }
    if !(t.adam_epsilon > 0.0 && t.adam_epsilon.is_finite()) {
        bail!(
            "{path}: [train] adam_epsilon must be > 0, got {}",
            t.adam_epsilon
        );
    }
    if !(0.0..1.0).contains(&t.ema) {
        bail!("{path}: [train] ema must be in [0, 1), got {}", t.ema);
    }
    if cfg.generator.resolution != cfg.discriminator.resolution {
        bail!(
            "{path}: [generator] resolution {} and [discriminator] resolution {} differ",
            cfg.generator.resolution.size(),
            cfg.discriminator.resolution.size()
        );
    }
    if let Some(e) = &cfg.eval {
        if e.batch == 0 {
            bail!("{path}: [eval] batch must be at least 1");
        }
        if e.samples < 10 {
            bail!(
                "{path}: [eval] samples = {} but the Inception Score's 10 splits need at least 10",
                e.samples
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::module::Param;
    use burn::nn::{Linear, LinearConfig};
    use burn::optim::GradientsParams;
    use burn::tensor::{Device, Tensor, TensorData};

    /// One weight w, loss c·w: the gradient is c. Runs Adam steps with gradients `cs` from
    /// w = 0 and returns w after each.
    fn adam_path(cfg: &GanTrain, lr: f64, cs: &[f64]) -> Vec<f64> {
        let device = Device::flex().autodiff();
        let mut m: Linear = LinearConfig::new(1, 1).with_bias(false).init(&device);
        m.weight = Param::from_tensor(Tensor::zeros([1, 1], &device));
        let mut opt = cfg.adam().init();
        let mut out = Vec::new();
        for &c in cs {
            let x = Tensor::<2>::from_data(TensorData::new(vec![c as f32], [1, 1]), &device);
            let loss = m.forward(x).sum();
            let grads = GradientsParams::from_grads(loss.backward(), &m);
            m = opt.step(lr, m, grads);
            out.push(m.weight.val().into_scalar::<f64>());
        }
        out
    }

    /// PyTorch's Adam (torch.optim.Adam, no weight decay) on the same problem, in f64.
    fn torch_adam(b1: f64, b2: f64, eps: f64, lr: f64, cs: &[f64]) -> Vec<f64> {
        let (mut m, mut v, mut w) = (0.0, 0.0, 0.0);
        cs.iter()
            .enumerate()
            .map(|(t, &g)| {
                let t = t as i32 + 1;
                m = b1 * m + (1.0 - b1) * g;
                v = b2 * v + (1.0 - b2) * g * g;
                let (mh, vh) = (m / (1.0 - b1.powi(t)), v / (1.0 - b2.powi(t)));
                w -= lr * mh / (vh.sqrt() + eps);
                w
            })
            .collect()
    }

    #[test]
    fn adam_epsilon_and_betas_reach_the_optimiser() {
        // Gradients of order 1e-6: the step is lr·g/(|g| + ε), ≈ lr with ε = 1e-8 and ≈ lr/11
        // with Burn's 1e-5 — so ε is visible in the first step; the betas in the later ones.
        let cs = [2e-6, -1e-6, 3e-6, 5e-7];
        let lr = 1e-2;
        let official = GanTrain::default();
        assert_eq!(official.adam_epsilon, 1e-8);
        let ours = adam_path(&official, lr, &cs);
        let want = torch_adam(0.0, 0.9, 1e-8, lr, &cs);
        for (a, b) in ours.iter().zip(&want) {
            assert!((a - b).abs() < 1e-6 * lr, "{ours:?} vs {want:?}");
        }
        let burn_default = torch_adam(0.0, 0.9, 1e-5, lr, &cs);
        assert!(
            (ours[0] - burn_default[0]).abs() > 0.5 * lr,
            "ε has no effect"
        );
        let other = GanTrain {
            beta1: 0.5,
            beta2: 0.99,
            adam_epsilon: 1e-6,
            ..GanTrain::default()
        };
        let ours = adam_path(&other, lr, &cs);
        let want = torch_adam(0.5, 0.99, 1e-6, lr, &cs);
        for (a, b) in ours.iter().zip(&want) {
            assert!((a - b).abs() < 1e-6 * lr, "{ours:?} vs {want:?}");
        }
        assert!(
            (ours[3] - torch_adam(0.0, 0.9, 1e-6, lr, &cs)[3]).abs() > 1e-3 * lr,
            "the betas have no effect"
        );
    }
}
