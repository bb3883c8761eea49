//! `configs/shape_corr_synthetic.toml` and `configs/faust_corr.toml`. Defaults are the
//! official FAUST_r settings (Tungthanhlee/EOT-Correspondence `options/train/faust.yaml`,
//! `adaptive_refinement_one.py`); the synthetic config scales them down.

use std::path::PathBuf;

use crate::header::{Headed, Header};
use anyhow::{Result, bail};
use models::diffusion_net::DiffusionNetConfig;
use serde::{Deserialize, Serialize};

/// The whole config.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShapeCorrConfig {
    /// The shared keys (`experiment` = `"shape_corr"`, `description`, `seed`, `device`), read
    /// by [`Loaded::parse`](crate::config::Loaded::parse); see [`Header`].
    #[serde(skip)]
    pub header: Header,
    /// Shapes.
    #[serde(default)]
    pub data: DataConfig,
    /// DiffusionNet and the functional-map basis.
    #[serde(default)]
    pub model: ModelConfig,
    /// Training.
    #[serde(default)]
    pub train: TrainConfig,
    /// Test-time refinement.
    #[serde(default)]
    pub refine: RefineConfig,
    /// Evaluation.
    #[serde(default)]
    pub eval: EvalConfig,
}

impl Headed for ShapeCorrConfig {
    /// Seed (official `manual_seed: 1234`).
    const DEFAULT_SEED: u64 = 1234;

    fn header_mut(&mut self) -> &mut Header {
        &mut self.header
    }
}

/// `[data]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DataConfig {
    /// `synthetic` or `folder` (the ULRSSM layout: off/, corres/, dist/).
    pub source: String,
    /// The dataset folder (source = folder), e.g. `data/FAUST_r`.
    pub folder: Option<PathBuf>,
    /// Training shapes, index range `[start, end)` (official FAUST: the first 80).
    pub train: [usize; 2],
    /// Test shapes `[start, end)` (official FAUST: the last 20); every ordered pair is tested.
    pub test: [usize; 2],
    /// Operator cache (default `runs/cache/shape_corr`; the official ULRSSM code writes
    /// `<folder>/diffusion`, inside the dataset — we never write into the user's data).
    pub cache_dir: Option<PathBuf>,
    /// Synthetic: number of shapes.
    pub synthetic_shapes: usize,
    /// Synthetic: icosphere subdivision (3 → 642 vertices).
    pub synthetic_subdivision: usize,
    /// Synthetic: largest bending curvature.
    pub synthetic_max_bend: f64,
    /// Centre every mesh and rescale it to unit area before its operators and WKS, as ULRSSM's
    /// preprocess.py (lines 49–56) does to every dataset it trains on. On by default; for a
    /// folder ULRSSM's script already preprocessed it changes nothing. The geodesic errors are
    /// normalised by √area and do not depend on it.
    pub unit_area: bool,
}

impl Default for DataConfig {
    fn default() -> Self {
        Self {
            source: "folder".into(),
            folder: Some(PathBuf::from("data/FAUST_r")),
            // datasets/shape_dataset.py SingleFaustDataset: off_files[:80] train, [80:] test
            train: [0, 80],
            test: [80, 100],
            cache_dir: None,
            synthetic_shapes: 10,
            synthetic_subdivision: 3,
            synthetic_max_bend: 0.5,
            unit_area: true,
        }
    }
}

/// `[model]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ModelConfig {
    /// DiffusionNet output channels (official `out_channels: 256`).
    pub out_channels: usize,
    /// Width of the blocks (official default 128).
    pub hidden_channels: usize,
    /// Blocks (official default 4).
    pub blocks: usize,
    /// Dropout in the block MLPs (official default true).
    pub dropout: bool,
    /// Eigenpairs of the diffusion (official `k_eig=128`).
    pub k_eig: usize,
    /// Eigenpairs of the functional maps (official `num_evecs: 200`).
    pub num_evecs: usize,
}

impl Default for ModelConfig {
    fn default() -> Self {
        Self {
            out_channels: 256,
            hidden_channels: 128,
            blocks: 4,
            dropout: true,
            k_eig: 128,
            num_evecs: 200,
        }
    }
}

impl ModelConfig {
    /// The DiffusionNet of this config (WKS 128 in).
    pub fn network(&self) -> DiffusionNetConfig {
        DiffusionNetConfig::new()
            .with_out_channels(self.out_channels)
            .with_hidden_channels(self.hidden_channels)
            .with_blocks(self.blocks)
            .with_dropout(self.dropout)
            .with_k_eig(self.k_eig)
    }
}

/// `[train]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrainConfig {
    /// Variants to train and compare: `no-sw` (SW weight 0) and/or `sw`.
    pub variants: Vec<String>,
    /// Epochs (official `total_epochs: 30`).
    pub epochs: usize,
    /// Pairs per epoch (official: every ordered pair of the 80 training shapes, 6400; 0 = all).
    pub pairs_per_epoch: usize,
    /// Adam step size (official 1e-3).
    pub lr: f64,
    /// Cosine-annealing floor (official `eta_min: 1.0e-4`, `T_max: 30` epochs).
    pub lr_min: f64,
    /// Adam ε (PyTorch default 1e-8; Burn's is 1e-5).
    pub adam_epsilon: f64,
    /// Gradient-norm clip (official `clip_grad_norm_(…, 1.0)`).
    pub grad_clip: f64,
    /// Soft-permutation temperature (official `tau: 0.07`).
    pub tau: f64,
    /// SURFMNet weights (official `w_bij: 1.0, w_orth: 1.0, w_lap: 0.0`).
    pub w_bij: f64,
    /// See `w_bij`.
    pub w_orth: f64,
    /// See `w_bij`.
    pub w_lap: f64,
    /// Alignment weight (official 1.0).
    pub w_align: f64,
    /// SW weight of the `sw` variant (official `loss_weight: 100.0`).
    pub sw_weight: f64,
    /// SW projections (official `L: 200`).
    pub sw_projections: usize,
    /// Fmap regulariser (official `lmbda=100`).
    pub lambda: f64,
    /// Resolvent exponent (official `resolvant_gamma=0.5`).
    pub gamma: f64,
    /// Validate every `val_freq` training iterations (pairs, counted across epochs) on the test
    /// pairs and keep the weights with the lowest mean geodesic error as `best` (official
    /// `options/train/faust.yaml` `val: val_freq: 4000`; `train.py` `_run_validation` runs at
    /// `curr_iter % val_freq == 0`, `base_model.py` `validation` keeps the best state dict; the
    /// final validation after the loop does not update it). 0: no validation, only the latest
    /// weights are evaluated. Like the official code, the validation set is the test set.
    pub val_freq: usize,
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            variants: vec!["no-sw".into(), "sw".into()],
            epochs: 30,
            pairs_per_epoch: 0,
            lr: 1e-3,
            lr_min: 1e-4,
            adam_epsilon: 1e-8,
            grad_clip: 1.0,
            tau: 0.07,
            w_bij: 1.0,
            w_orth: 1.0,
            w_lap: 0.0,
            w_align: 1.0,
            sw_weight: 100.0,
            sw_projections: 200,
            lambda: 100.0,
            gamma: 0.5,
            val_freq: 4000,
        }
    }
}

/// The test-time refinement procedure of the official code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RefineProcedure {
    /// `test.py`: the network in `eval()` mode (dropout off), one Adam for the whole test set
    /// whose moments carry over from pair to pair (only the weights are reset to the trained
    /// ones), and no SW term: the official loss gates SW on `curr_iter > apply_after_ith_steps`
    /// and `refine()` never advances `curr_iter` from 0.
    #[serde(rename = "test.py")]
    TestPy,
    /// `adaptive_refinement_one.py`: a copy of the network in training mode (dropout on), a
    /// fresh Adam per pair, bidirectional SW with log-Sinkhorn plans (σ, iterations below).
    #[serde(rename = "adaptive")]
    Adaptive,
}

impl RefineProcedure {
    /// The name the config uses (`test.py`, `adaptive`), as the results table prints it.
    pub fn name(self) -> &'static str {
        match self {
            Self::TestPy => "test.py",
            Self::Adaptive => "adaptive",
        }
    }
}

/// `[refine]` (official `test.py`, or `adaptive_refinement_one.py`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RefineConfig {
    /// `"test.py"` (default, the official test procedure) or `"adaptive"`.
    pub procedure: RefineProcedure,
    /// Refinement steps per pair (official `--num_refine 15`).
    pub iterations: usize,
    /// Adam step size (official 1e-3).
    pub lr: f64,
    /// Sinkhorn σ (official 0.1).
    pub sigma: f64,
    /// Sinkhorn iterations (official `num_sink=10`).
    pub sinkhorn_iterations: usize,
}

impl Default for RefineConfig {
    fn default() -> Self {
        Self {
            procedure: RefineProcedure::TestPy,
            iterations: 15,
            lr: 1e-3,
            sigma: 0.1,
            sinkhorn_iterations: 10,
        }
    }
}

/// `[eval]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EvalConfig {
    /// At most this many test pairs (0 = every ordered pair, as official).
    pub max_pairs: usize,
    /// Test a shape against itself too (official `PairFaustDataset`: `product(range(20), repeat=2)`).
    pub self_pairs: bool,
    /// PCK threshold (official `plot_pck` 0.10).
    pub pck_threshold: f64,
    /// PCK steps (official 40).
    pub pck_steps: usize,
}

impl Default for EvalConfig {
    fn default() -> Self {
        Self {
            max_pairs: 0,
            self_pairs: true,
            pck_threshold: 0.1,
            pck_steps: 40,
        }
    }
}

impl ShapeCorrConfig {
    /// Rejects values that cannot run, naming the key.
    pub fn validate(&self, path: &str) -> Result<()> {
        for v in &self.train.variants {
            if v != "sw" && v != "no-sw" {
                bail!("{path}: [train] variants: `{v}` is not `sw` or `no-sw`");
            }
        }
        if self.train.variants.is_empty() {
            bail!("{path}: [train] variants is empty");
        }
        if !matches!(self.data.source.as_str(), "synthetic" | "folder") {
            bail!(
                "{path}: [data] source `{}` is not `synthetic` or `folder`",
                self.data.source
            );
        }
        for (key, r) in [("train", self.data.train), ("test", self.data.test)] {
            if r[0] >= r[1] {
                bail!("{path}: [data] {key} = {r:?} is an empty range [start, end)");
            }
        }
        if self.model.num_evecs < 3 || self.model.k_eig < 3 {
            bail!("{path}: [model] num_evecs and k_eig must be ≥ 3");
        }
        if self.train.epochs == 0 || !(self.train.lr > 0.0) || !(self.refine.lr > 0.0) {
            bail!("{path}: [train] epochs and lr, [refine] lr must be positive");
        }
        if !(self.train.tau > 0.0) || !(self.refine.sigma > 0.0) || self.train.sw_projections == 0 {
            bail!("{path}: [train] tau, sw_projections and [refine] sigma must be positive");
        }
        Ok(())
    }
}
