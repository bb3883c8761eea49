//! What an experiment is to the binary: its config key, a check of its config and its run.
//! Each experiment's module defines one ([`crate::registry`] lists them).

use std::path::Path;

use anyhow::Result;

use crate::cli::Cli;
use crate::config::Loaded;

/// One experiment.
pub struct Experiment {
    /// The config key (`experiment = "<name>"`).
    pub name: &'static str,
    /// Parses and checks a loaded config as the run would before touching data (the error
    /// names the file and the key).
    pub check: fn(&Loaded) -> Result<()>,
    /// Runs it; the path is `--resume RUN_DIR` (only for resumable experiments).
    pub run: fn(&Loaded, &Cli, Option<&Path>) -> Result<()>,
    /// Whether a run checkpoints its training state and continues with `--resume`.
    pub resumable: bool,
}
