//! `configs/sphere_flow.toml`: a gradient flow on the sphere S² towards a mixture of von
//! Mises–Fisher distributions (the SSW paper's Figure, Bonet et al., ICLR 2023, §5), driven by
//! spherical SW or by Euclidean SW of the embedded points for comparison.

use anyhow::{Result, bail};
use serde::{Deserialize, Serialize};

use crate::header::{Headed, Header};

/// The whole config.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SphereFlowConfig {
    /// The shared keys (`experiment` = `"sphere_flow"`, `description`, `seed`, `device`), read
    /// by [`Loaded::parse`](crate::config::Loaded::parse); see [`Header`].
    #[serde(skip)]
    pub header: Header,
    /// Source and target.
    #[serde(default)]
    pub data: SphereData,
    /// The flow.
    #[serde(default)]
    pub flow: SphereFlowParams,
}

impl Headed for SphereFlowConfig {
    /// Seed of the device RNG (samples, frames, directions).
    const DEFAULT_SEED: u64 = 1;

    fn header_mut(&mut self) -> &mut Header {
        &mut self.header
    }
}

/// `[data]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SphereData {
    /// Source points, uniform on S².
    pub source_points: usize,
    /// Target points, split evenly over the mixture's components.
    pub target_points: usize,
    /// The components' mean directions (normalised on load).
    pub target_means: Vec<[f64; 3]>,
    /// The components' concentration κ > 0.
    pub kappa: f64,
}

impl Default for SphereData {
    fn default() -> Self {
        Self {
            source_points: 500,
            target_points: 500,
            target_means: vec![
                [1.0, 0.0, 0.0],
                [-1.0, 0.0, 0.0],
                [0.0, 1.0, 0.0],
                [0.0, 0.0, 1.0],
            ],
            kappa: 20.0,
        }
    }
}

/// `[flow]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SphereFlowParams {
    /// Losses, each a kind of the checked loss (`sw_loss::LossConfig`, power p = 2): `"ssw"`
    /// (spherical SW₂²), `"s3w"` and `"ri-s3w"` (stereographic SW₂², `sw_loss::s3w`), and
    /// `"sw"` (Euclidean SW₂² of the points embedded in R³).
    pub losses: Vec<String>,
    /// Steps.
    pub steps: usize,
    /// Step size of x ← normalise(x − lr · ∇(n · loss)).
    pub lr: f64,
    /// Frames (ssw) or directions (sw, s3w, ri-s3w) per step.
    pub projections: usize,
    /// ri-s3w: rotations per step. Default 5 (the paper's flows use 1, 5 and 10:
    /// mint-vu/s3wd src/demos/gf_runtime.ipynb, the `ri_s3wd` calls).
    pub s3w_rotations: usize,
    /// Frames of the SSW₂ metric logged against the target (fixed for the run).
    pub metric_frames: usize,
    /// Steps at which the metric is logged (the first and last always are).
    pub log_steps: Vec<usize>,
}

impl Default for SphereFlowParams {
    fn default() -> Self {
        Self {
            losses: vec!["ssw".into(), "sw".into()],
            steps: 500,
            lr: 0.5,
            projections: 50,
            s3w_rotations: 5,
            metric_frames: 500,
            log_steps: vec![1, 50, 100, 200, 300, 500],
        }
    }
}

/// The losses the flow knows.
pub const LOSSES: [&str; 4] = ["ssw", "s3w", "ri-s3w", "sw"];

impl SphereFlowConfig {
    /// Checks what serde cannot; the error names the key.
    pub fn validate(&self) -> Result<()> {
        let (d, f) = (&self.data, &self.flow);
        if d.source_points == 0 || d.target_points == 0 {
            bail!("[data] source_points and target_points must be at least 1");
        }
        if d.target_means.is_empty() || d.target_points < d.target_means.len() {
            bail!(
                "[data] target_means must list 1 to target_points = {} means, got {}",
                d.target_points,
                d.target_means.len()
            );
        }
        for (i, m) in d.target_means.iter().enumerate() {
            let norm = m.iter().map(|v| v * v).sum::<f64>().sqrt();
            if !(norm.is_finite() && norm > 0.0) {
                bail!("[data] target_means[{i}] must be a finite non-zero vector, got {m:?}");
            }
        }
        if !(d.kappa.is_finite() && d.kappa > 0.0) {
            bail!("[data] kappa must be a finite number > 0, got {}", d.kappa);
        }
        if f.losses.is_empty() {
            bail!(
                "[flow] losses is empty; list at least one of {}",
                LOSSES.join(", ")
            );
        }
        for l in &f.losses {
            if !LOSSES.contains(&l.as_str()) {
                bail!(
                    "[flow] losses: unknown `{l}`; expected one of {}",
                    LOSSES.join(", ")
                );
            }
        }
        if f.steps == 0 || f.projections == 0 || f.metric_frames == 0 || f.s3w_rotations == 0 {
            bail!("[flow] steps, projections, s3w_rotations and metric_frames must be at least 1");
        }
        if !(f.lr.is_finite() && f.lr > 0.0) {
            bail!("[flow] lr must be a finite number > 0, got {}", f.lr);
        }
        Ok(())
    }
}
