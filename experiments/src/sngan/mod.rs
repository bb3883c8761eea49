//! SNGAN trained with a feature-space SW-type generator loss (CV-SW, section 5.2): the config
//! (`config`), the training loop with checkpoints and periodic scoring (`train`), and sampling
//! and FID / IS scoring of a trained run (`eval`).

pub mod config;
pub mod eval;
pub mod train;

pub use config::{DatasetName, GanData, GanEval, GanTrain, SnganConfig};
pub use eval::{evaluate, load_ema_generator, sample};
pub use train::run;

/// The `sngan` experiment ([`crate::registry`]).
pub const EXPERIMENT: crate::experiment::Experiment = crate::experiment::Experiment {
    name: "sngan",
    check: |loaded| {
        let cfg: SnganConfig = loaded.parse()?;
        config::checked(&cfg, &loaded.path.display().to_string())
    },
    run: train::run,
    resumable: true,
};
