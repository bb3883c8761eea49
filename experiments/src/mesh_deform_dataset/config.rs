//! `configs/mesh_deform_dataset.toml`: the dataset mode's config.

use std::path::PathBuf;

use models::mesh_ode::surface_distance::CORTEXODE_POINTS;
use models::mesh_ode::{ConditionedDeformerConfig, OdeMethod};
use serde::{Deserialize, Serialize};
use sw_loss::LossConfig;

use crate::header::{Headed, Header};
use crate::mesh_deform::losses::DEFAULT_LOSSES;

/// `configs/mesh_deform_dataset.toml`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MeshDatasetConfig {
    /// The shared keys (`experiment` = `"mesh_deform_dataset"`, `description`, `seed`, `device`), read
    /// by [`Loaded::parse`](crate::config::Loaded::parse); see [`Header`].
    #[serde(skip)]
    pub header: Header,
    /// Template and targets.
    #[serde(default)]
    pub shapes: DatasetShapes,
    /// Encoder and field.
    #[serde(default)]
    pub model: ConditionedDeformerConfig,
    /// Optimisation.
    #[serde(default)]
    pub train: DatasetTrain,
    /// The SW estimator of the SW losses.
    #[serde(default)]
    pub loss: LossConfig,
}

impl Headed for MeshDatasetConfig {
    /// Seed of the targets, the initialisation, the batches and the SW directions.
    const DEFAULT_SEED: u64 = 1;

    fn header_mut(&mut self) -> &mut Header {
        &mut self.header
    }
}

/// `[shapes]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatasetShapes {
    /// Icosphere subdivisions of the template.
    pub template_subdivisions: usize,
    /// Number of synthetic targets (random ellipsoids and bumpy spheres, alternating).
    pub targets: usize,
    /// Subdivisions of the synthetic targets.
    pub target_subdivisions: usize,
    /// A folder of target meshes (.obj, .off, .ply, FreeSurfer `*.white` / `*.pial`; sorted by
    /// name) instead of synthetic ones. They should be genus 0; each is rescaled into the
    /// template's frame and scored in its own units.
    pub target_dir: Option<PathBuf>,
    /// The last `test` targets are held out.
    pub test: usize,
    /// Surface samples of each target: the encoder's input (fixed) and K, the samples of each
    /// mesh the losses draw anew every step.
    pub points: usize,
    /// Surface samples per mesh for the held-out ASSD / HD90 / Chamfer (CortexODE: 100 000).
    pub eval_points: usize,
}

impl Default for DatasetShapes {
    fn default() -> Self {
        Self {
            template_subdivisions: 3,
            targets: 48,
            target_subdivisions: 3,
            target_dir: None,
            test: 8,
            points: 1024,
            eval_points: CORTEXODE_POINTS,
        }
    }
}

/// `[train]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatasetTrain {
    /// Losses to compare, one training each: `chamfer`, `sw-vertices`, `sw-surface`,
    /// `sw-varifold` (the default four) and `sw-vertices-lumped`.
    pub losses: Vec<String>,
    /// Adam steps.
    pub steps: usize,
    /// Targets per step.
    pub batch: usize,
    /// Adam step size.
    pub lr: f64,
    /// ODE steps over t ∈ [0, 1].
    pub ode_steps: usize,
    /// `rk4` or `euler`.
    pub method: OdeMethod,
    /// Weight of the normal part of varifolds.
    pub normal_weight: f64,
    /// Evaluate every this many steps (and at the first and last).
    pub log_every: usize,
    /// Adam's ε (CortexODE: PyTorch's 1e-8, see [`crate::mesh_deform::losses::CORTEXODE_ADAM_EPSILON`]).
    pub adam_epsilon: f64,
    /// Weight of the Chamfer loss (CortexODE: 1e3, [`crate::mesh_deform::losses::CORTEXODE_CHAMFER_SCALE`]);
    /// the SW losses are not scaled.
    pub chamfer_scale: f64,
}

impl Default for DatasetTrain {
    fn default() -> Self {
        Self {
            losses: DEFAULT_LOSSES.iter().map(|s| s.to_string()).collect(),
            steps: 600,
            batch: 8,
            lr: 1e-3,
            ode_steps: 4,
            method: OdeMethod::Rk4,
            normal_weight: 0.1,
            log_every: 100,
            adam_epsilon: crate::mesh_deform::losses::CORTEXODE_ADAM_EPSILON,
            chamfer_scale: crate::mesh_deform::losses::CORTEXODE_CHAMFER_SCALE,
        }
    }
}
