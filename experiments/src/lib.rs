//! Wiring of swburn's experiments: config → data → model → loop → outputs.
//! No math lives here; estimators are in `sw-loss`, data in `datasets`.
// The binary's docs are for its maintainers: they link the private helpers they describe.
#![allow(rustdoc::private_intra_doc_links)]

pub mod autoencoder;
pub mod checkpoint;
pub mod cli;
pub mod config;
pub mod config_check;
pub mod device;
pub mod experiment;
pub mod gradient_flow;
pub mod header;
pub mod mesh_deform;
pub mod mesh_deform_dataset;
pub mod numerics;
pub mod pair;
pub mod plots;
pub mod progress;
pub mod record;
pub mod registry;
pub mod render;
pub mod run_dir;
pub mod run_layer;
pub mod shape_corr;
pub mod sngan;
pub mod sphere_flow;
pub mod variance;

use anyhow::{Result, bail};

use cli::{Cli, Command};

/// Runs what the command line asks for.
pub fn run(cli: Cli) -> Result<()> {
    match &cli.command {
        Some(Command::List { dir }) => config::list(dir.as_deref()),
        Some(Command::Download { name, dir }) => download(name, dir.clone()),
        Some(Command::EvalAe {
            run,
            data,
            subset,
            checkpoint,
            no_exact_emd,
            synthetic,
            classifier_epochs,
        }) => autoencoder::evaluate(
            run,
            &autoencoder::EvalOptions {
                data: data.clone(),
                subset: *subset,
                synthetic: *synthetic,
                checkpoint: *checkpoint,
                exact_emd: !*no_exact_emd,
                classifier_epochs: *classifier_epochs,
            },
            &cli,
        ),
        Some(Command::Sample { run, n, out, batch }) => sngan::sample(run, *n, out, *batch, &cli),
        Some(Command::EvalGan {
            run,
            inception,
            stats,
            n,
            batch,
        }) => sngan::evaluate(run, inception, stats, *n, *batch, &cli),
        None => {
            if let Some(run_dir) = &cli.resume {
                if cli.config.is_some() {
                    bail!(
                        "give either --config (a new run) or --resume RUN_DIR (its config is in the run folder), not both"
                    );
                }
                let (loaded, e) = registry::load(&run_dir.join("config.toml"), &cli.set)?;
                return match Some(e).filter(|e| e.resumable) {
                    Some(e) => (e.run)(&loaded, &cli, Some(run_dir)),
                    None => bail!(
                        "--resume continues training runs; `{}` in {} has no training state to resume — start it again instead",
                        loaded.experiment,
                        run_dir.display()
                    ),
                };
            }
            let Some(path) = &cli.config else {
                bail!(
                    "no config given: run `experiments --config configs/<name>.toml` (see `experiments list`)"
                );
            };
            let (loaded, e) = registry::load(path, &cli.set)?;
            (e.run)(&loaded, &cli, None)
        }
    }
}

fn download(name: &str, dir: Option<std::path::PathBuf>) -> Result<()> {
    use datasets::download::{Outcome, data_dir, fetch, known};
    let source = known(name)?;
    let dir = dir.unwrap_or_else(data_dir);
    let bar = indicatif::ProgressBar::new(0);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{prefix} [{bar:32}] {bytes}/{total_bytes} {bytes_per_sec} ETA {eta}",
        )
        .expect("valid template")
        .progress_chars("=> "),
    );
    bar.set_prefix(source.name.clone());
    let outcome = fetch(&source, &dir, |done, total| {
        if let Some(t) = total {
            bar.set_length(t);
        }
        bar.set_position(done);
    })?;
    bar.finish_and_clear();
    match outcome {
        Outcome::AlreadyPresent => {
            println!("{name} is already in {}; nothing to do", dir.display())
        }
        Outcome::ExtractedExisting => println!(
            "verified the existing {} and unpacked it in {}",
            source.file,
            dir.display()
        ),
        Outcome::Downloaded { resumed_from } => println!(
            "downloaded{} and verified {}, unpacked in {}",
            if resumed_from > 0 {
                format!(" (resumed at {resumed_from} bytes)")
            } else {
                String::new()
            },
            source.file,
            dir.display()
        ),
    }
    Ok(())
}
