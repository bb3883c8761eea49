//! The spherical gradient flow: points on S² flow towards a mixture of von Mises–Fisher
//! distributions under spherical SW (`sw_loss::sphere::ssw`) or, for comparison, Euclidean SW
//! of the embedded points, each step followed by the projection back onto the sphere
//! (x ← (x − lr·∇(n·loss))/‖·‖, as the SSW paper's flows project, clbonet/Spherical_Sliced-Wasserstein).
//!
//! Outputs: `metrics.csv` (loss, step, SSW₂ to the target on fixed frames, seconds),
//! `ssw_vs_step.png`, `points_<loss>.png` (three views of the final points against the
//! target), `log.txt` with the table.

pub mod config;
mod run;

pub use config::SphereFlowConfig;
pub use run::run;

/// The registry's entry.
pub const EXPERIMENT: crate::experiment::Experiment = crate::experiment::Experiment {
    name: "sphere_flow",
    check: |loaded| {
        let cfg: SphereFlowConfig = loaded.parse()?;
        cfg.validate()
            .map_err(|e| anyhow::anyhow!("{}: {e}", loaded.path.display()))
    },
    run: |loaded, cli, _| run(loaded, cli),
    resumable: false,
};
