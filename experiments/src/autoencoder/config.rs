//! `configs/shapenet*_ae_*.toml` and `configs/synthetic_ae.toml`: the typed config of the
//! autoencoder experiment and its checks (every parsed field is honoured or rejected).

use std::path::PathBuf;

use anyhow::{Result, bail};
use models::amortized::{AmortizedConfig, AmortizedKind};
use models::pointnet::PointNetConfig;
use serde::{Deserialize, Serialize};
use sw_loss::{BatchReduction, DirectionSets, EstimatorKind, LossConfig};

use crate::config::Loaded;
use crate::header::{Headed, Header};

/// The whole config.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AutoencoderConfig {
    /// The shared keys (`experiment` = `"autoencoder"`, `description`, `seed`, `device`), read
    /// by [`Loaded::parse`](crate::config::Loaded::parse); see [`Header`].
    #[serde(skip)]
    pub header: Header,
    /// The clouds.
    #[serde(default)]
    pub data: AeData,
    /// The autoencoder. `points` may be left out (it is `[data] points`); if given it must
    /// equal `[data] points`.
    #[serde(default)]
    pub model: PointNetConfig,
    /// Optimisation.
    #[serde(default)]
    pub train: AeTrain,
    /// The loss (`sw`, `max-sw`, `v-dsw`; with `[amortized]`, the amortized version).
    /// `direction_sets` defaults to `"per-pair"` here (not the library's `"shared"`): the
    /// official SW draws L directions per cloud, `[B, L, 3]` (hsgser/Self-Amortized-DSW
    /// loss/sw_variants.py line 38, `minibatch_rand_projections(batch_size, dim, ..)`). The
    /// autoencoder always trains on the p-th power averaged over the batch (the official
    /// `squared_loss = true`, `.mean(dim=0)`): `power` must be left out or `true`,
    /// `reduction` left out or `"mean"`.
    #[serde(default)]
    pub loss: LossConfig,
    /// The amortized model, for `amortized-max-sw` (loss.kind = "max-sw") or `amortized-v-dsw`
    /// (loss.kind = "v-dsw").
    #[serde(default)]
    pub amortized: Option<AmortizedTrain>,
}

impl Headed for AutoencoderConfig {
    /// Seed of the device RNG, the shuffling and synthetic data
    /// (hsgser/Self-Amortized-DSW config.json: seed 1).
    const DEFAULT_SEED: u64 = 1;

    fn header_mut(&mut self) -> &mut Header {
        &mut self.header
    }
}

/// `[data]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AeData {
    /// A ShapeNet `.npz`/`.npy` of `(N, P, 3)` clouds; when absent, synthetic clouds.
    pub file: Option<PathBuf>,
    /// Number of synthetic clouds (random shapes and seeds).
    pub synthetic_clouds: usize,
    /// Points per training cloud, resampled with replacement each batch
    /// (hsgser/Self-Amortized-DSW config.json: num_points 2048; dataset/shapenet_core55.py).
    pub points: usize,
    /// Clouds held out for evaluation (the last ones of the file). 0: every cloud trains
    /// and the end-of-run metrics are measured on the training clouds.
    pub held_out: usize,
    /// At most this many evaluation clouds for the per-epoch Chamfer and the end-of-run
    /// metrics (the first ones), so a 57 448-cloud training set is not scanned every epoch.
    pub monitor_clouds: usize,
}

impl Default for AeData {
    fn default() -> Self {
        Self {
            file: None,
            synthetic_clouds: 512,
            points: 2048,
            held_out: 32,
            monitor_clouds: 256,
        }
    }
}

/// How the per-pair transport cost is scaled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum LossScale {
    /// Σ over the N points of |sorted x − sorted y|^p, i.e. N·SW_p^p: the official code's
    /// units (hsgser/Self-Amortized-DSW loss/sw_variants.py,
    /// `compute_practical_moments_sw`: `torch.sum(..., dim=2)` over the points, then the mean
    /// over projections and over the batch).
    #[default]
    SumOverPoints,
    /// SW_p^p itself (mean over the points): N times smaller; not the official scale.
    MeanOverPoints,
}

impl LossScale {
    /// The factor on SW_p^p for clouds of `points` points.
    pub fn factor(self, points: usize) -> f64 {
        match self {
            LossScale::SumOverPoints => points as f64,
            LossScale::MeanOverPoints => 1.0,
        }
    }

    /// A label for logs and plots.
    pub fn label(self) -> &'static str {
        match self {
            LossScale::SumOverPoints => "N·SW_p^p (official units)",
            LossScale::MeanOverPoints => "SW_p^p (mean over points)",
        }
    }
}

/// `[train]`. Defaults: hsgser/Self-Amortized-DSW config.json.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AeTrain {
    /// Passes over the data (config.json: num_epochs 301, i.e. epochs 0..300).
    pub epochs: usize,
    /// Clouds per batch (config.json: batch_size 128).
    pub batch_size: usize,
    /// SGD step size (config.json / train.sh: learning_rate 1e-3).
    pub lr: f64,
    /// SGD momentum (config.json: momentum 0.9).
    pub momentum: f64,
    /// SGD weight decay (config.json: weight_decay 5e-4).
    pub weight_decay: f64,
    /// Save a checkpoint every this many epochs (and after the last).
    pub checkpoint_every: usize,
    /// Units of the training loss (default: the official N·SW_p^p).
    pub loss_scale: LossScale,
}

impl Default for AeTrain {
    fn default() -> Self {
        Self {
            epochs: 300,
            batch_size: 128,
            lr: 1e-3,
            momentum: 0.9,
            weight_decay: 5e-4,
            checkpoint_every: 10,
            loss_scale: LossScale::SumOverPoints,
        }
    }
}

/// `[amortized]`. Defaults: hsgser/Self-Amortized-DSW config.json and train.py.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AmortizedTrain {
    /// The amortized model (train.sh: f_type).
    pub kind: AmortizedKind,
    /// Adam step size (config.json: s_lr 1e-3).
    #[serde(default = "amortized_lr")]
    pub lr: f64,
    /// Width of queries and keys (train.sh: INTER_DIM 64).
    #[serde(default = "sixty_four")]
    pub key_dim: usize,
    /// Linformer's projected length (train.sh: PROJ_DIM 64).
    #[serde(default = "sixty_four")]
    pub linformer_k: usize,
}

fn amortized_lr() -> f64 {
    1e-3
}

fn sixty_four() -> usize {
    64
}

/// Adam of the amortized model: betas (0, 0.9) (config.json: beta1 0.0, beta2 0.9) and
/// torch's default ε = 1e-8 (train.py builds `torch.optim.Adam(params, s_lr, (beta1, beta2))`;
/// Burn's default ε is 1e-5).
pub const AMORTIZER_ADAM: (f64, f64, f64) = (0.0, 0.9, 1e-8);

impl AutoencoderConfig {
    /// Parses, checks ([`AutoencoderConfig::check`], the error naming the file) and fills the
    /// experiment's own defaults: `[loss] direction_sets = "per-pair"` unless written.
    pub fn load(loaded: &Loaded) -> Result<Self> {
        let mut cfg: Self = loaded.parse()?;
        cfg.check(&loaded.table)
            .map_err(|e| anyhow::anyhow!("{}: {e}", loaded.path.display()))?;
        let written = loaded
            .table
            .get("loss")
            .and_then(|t| t.as_table())
            .is_some_and(|t| t.contains_key("direction_sets"));
        if !written {
            cfg.loss.direction_sets = DirectionSets::PerPair;
        }
        Ok(cfg)
    }

    /// The autoencoder's config with `points` from `[data]`.
    pub fn model_config(&self) -> PointNetConfig {
        PointNetConfig {
            points: self.data.points,
            ..self.model.clone()
        }
    }

    /// The amortized model's config, if any.
    pub fn amortized_config(&self) -> Option<AmortizedConfig> {
        self.amortized.as_ref().map(|a| AmortizedConfig {
            key_dim: a.key_dim,
            linformer_k: a.linformer_k,
            ..AmortizedConfig::new(a.kind, self.data.points)
        })
    }

    /// The loss as trained: the p-th power, mean over the batch (see [`AutoencoderConfig::loss`]).
    pub fn training_loss(&self) -> LossConfig {
        LossConfig {
            power: true,
            reduction: BatchReduction::Mean,
            ..self.loss.clone()
        }
    }

    /// A label such as `amortized-v-dsw (LinAttn)`.
    pub fn label(&self) -> String {
        match &self.amortized {
            Some(a) => format!("amortized-{} ({:?})", self.loss.kind, a.kind),
            None => self.loss.kind.to_string(),
        }
    }

    /// Checks what serde cannot: `raw` is the resolved TOML table (to see which keys the
    /// user wrote). The error names the table and field.
    pub fn check(&self, raw: &toml::Table) -> Result<()> {
        self.loss
            .validate()
            .map_err(|e| anyhow::anyhow!("[loss] {e}"))?;
        let written = |table: &str, key: &str| {
            raw.get(table)
                .and_then(|t| t.as_table())
                .and_then(|t| t.get(key))
                .is_some()
        };
        if written("loss", "power") && !self.loss.power {
            bail!(
                "[loss] power = false is not supported by the autoencoder: it trains on the p-th power N·SW_p^p as the official code does (squared_loss = true); remove the key"
            );
        }
        if written("loss", "reduction") && self.loss.reduction != BatchReduction::Mean {
            bail!(
                "[loss] reduction = {:?} is not supported by the autoencoder: the loss is the mean over the batch as in the official code; remove the key or set \"mean\"",
                self.loss.reduction
            );
        }
        if written("model", "points") && self.model.points != self.data.points {
            bail!(
                "[model] points = {} differs from [data] points = {}: the decoder outputs [data] points points; remove [model] points or make them equal",
                self.model.points,
                self.data.points
            );
        }
        if self.data.points == 0 {
            bail!("[data] points must be at least 1");
        }
        if self.data.monitor_clouds == 0 {
            bail!("[data] monitor_clouds must be at least 1");
        }
        if self.train.epochs == 0 || self.train.batch_size == 0 || !(self.train.lr > 0.0) {
            bail!("[train] epochs and batch_size must be positive and lr > 0");
        }
        if let Some(a) = &self.amortized {
            if !matches!(self.loss.kind, EstimatorKind::MaxSw | EstimatorKind::VDsw) {
                bail!(
                    "[amortized] needs loss.kind = \"max-sw\" (amortized Max-SW) or \"v-dsw\" (amortized v-DSW)"
                );
            }
            if !(a.lr.is_finite() && a.lr > 0.0) {
                bail!("[amortized] lr must be a finite real > 0, got {}", a.lr);
            }
        }
        Ok(())
    }
}
