//! Wiring of swburn's experiments: config → data → model → loop → outputs.
//! No math lives here; estimators are in `sw-loss`, data in `datasets`.

pub mod cli;
pub mod config;
pub mod device;
pub mod flow;
pub mod pair;
pub mod plots;
pub mod progress;
pub mod run_dir;
pub mod variance;

use anyhow::{Result, bail};

use cli::{Cli, Command};

/// Runs what the command line asks for.
pub fn run(cli: Cli) -> Result<()> {
    match &cli.command {
        Some(Command::List { dir }) => config::list(dir.as_deref()),
        None => {
            let Some(path) = &cli.config else {
                bail!("no config given: run `experiments --config configs/<name>.toml` (see `experiments list`)");
            };
            if cli.resume.is_some() {
                bail!("--resume continues training runs (SNGAN, autoencoder); `{}` has no training state to resume — start it again instead", path.display());
            }
            let loaded = config::load(path, &cli.set)?;
            match loaded.experiment.as_str() {
                "gradient_flow" => flow::run(&loaded, &cli),
                "variance" => variance::run(&loaded, &cli),
                other => bail!(
                    "{}: unknown experiment `{other}` in key `experiment`; expected one of: gradient_flow, variance",
                    path.display()
                ),
            }
        }
    }
}
