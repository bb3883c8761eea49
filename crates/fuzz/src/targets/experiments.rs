//! The readers of the `experiments` binary: TOML configs (read, typed and checked as a run
//! would, `experiments::config_check::check_config`) and checkpoints — Burn's record loader on
//! a mutated model file of a checkpoint without a manifest (as older run folders have: nothing
//! stands between the bytes and Burn), and the manifest check of a checksummed one.

use std::path::{Path, PathBuf};

use burn::module::Module;
use burn::tensor::Device;

use crate::target::{Target, no_fixup};

/// `config_check::check_config` on a config file.
pub const CONFIG: Target = Target {
    name: "config_toml",
    reader: "experiments::config_check::check_config",
    file_name: "config.toml",
    text: true,
    setup: crate::target::no_setup,
    fixup: no_fixup,
    run: check_config,
    seeds: config_seeds,
};

/// `sngan::eval::load_ema_generator` on a run whose latest checkpoint has no manifest.
pub const CHECKPOINT_MODEL: Target = Target {
    name: "checkpoint_bpk",
    reader: "sngan::eval::load_ema_generator (Burn .bpk, no manifest)",
    file_name: "run/checkpoints/step-1/ema_generator.bpk",
    text: false,
    setup: legacy_run,
    fixup: no_fixup,
    run: load_generator,
    seeds: model_seeds,
};

/// `checkpoint::resume_point` on a checksummed checkpoint whose `MANIFEST` is the input.
pub const CHECKPOINT_MANIFEST: Target = Target {
    name: "checkpoint_manifest",
    reader: "checkpoint::resume_point (MANIFEST)",
    file_name: "run/checkpoints/step-1/MANIFEST",
    text: true,
    setup: checksummed_run,
    fixup: no_fixup,
    run: resume_point,
    seeds: manifest_seeds,
};

fn repo() -> PathBuf {
    Path::new(
        &std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").into()),
    )
    .join("../..")
}

fn check_config(path: &Path) -> Result<(), String> {
    experiments::config_check::check_config(path)
        .map(|_| ())
        .map_err(|e| format!("{e:#}"))
}

/// The shipped configs, verbatim.
fn config_seeds() -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(repo().join("configs"))
        .expect("configs/")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&p).expect("a config"))
        })
        .collect();
    out.sort();
    out
}

/// The tiny SNGAN of the tests (8 channels, latent 16), resolved as a run folder saves it.
fn tiny_gan_config() -> String {
    let sets: Vec<String> = [
        "generator.channels=8",
        "discriminator.channels=8",
        "generator.latent=16",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    experiments::config::load(&repo().join("configs/synthetic_sngan.toml"), &sets)
        .expect("configs/synthetic_sngan.toml")
        .resolved()
}

fn tiny_generator() -> models::sngan::Generator {
    let dir = std::env::temp_dir().join(format!("swburn-fuzz-gan-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let cfg_path = dir.join("config.toml");
    std::fs::write(&cfg_path, tiny_gan_config()).expect("config");
    let loaded = experiments::config::load(&cfg_path, &[]).expect("tiny config");
    let cfg: experiments::sngan::SnganConfig = loaded.parse().expect("tiny config");
    let device = Device::flex();
    device.seed(7);
    let _ = std::fs::remove_dir_all(&dir);
    cfg.generator.init(&device)
}

/// A run folder (config, `LATEST` → step-1, its `state`) in the scratch folder.
fn run_folder(scratch: &Path) -> std::io::Result<PathBuf> {
    let run = scratch.join("run");
    std::fs::create_dir_all(run.join("checkpoints/step-1"))?;
    std::fs::write(run.join("config.toml"), tiny_gan_config())?;
    std::fs::write(run.join("checkpoints/LATEST"), "step-1")?;
    std::fs::write(run.join("checkpoints/step-1/state"), "1\n0\n")?;
    Ok(run)
}

fn legacy_run(scratch: &Path) -> std::io::Result<()> {
    run_folder(scratch).map(|_| ())
}

/// The run of `path` (…/run/checkpoints/step-1/<file>).
fn run_of(path: &Path) -> PathBuf {
    path.ancestors()
        .nth(3)
        .expect("run/checkpoints/step-1/file")
        .to_path_buf()
}

fn load_generator(path: &Path) -> Result<(), String> {
    experiments::sngan::eval::load_ema_generator(&run_of(path), &Device::flex())
        .map(|_| ())
        .map_err(|e| format!("{e:#}"))
}

/// The tiny generator's record as Burn writes it.
fn model_seeds() -> Vec<(String, Vec<u8>)> {
    let path = std::env::temp_dir().join(format!("swburn-fuzz-g-{}.bpk", std::process::id()));
    tiny_generator()
        .save_file(&path)
        .unwrap_or_else(|e| panic!("saving the seed generator: {e:?}"));
    let bytes = std::fs::read(&path).expect("the seed generator");
    let _ = std::fs::remove_file(&path);
    vec![("ema_generator.bpk".into(), bytes)]
}

/// A checksummed step-1 (a small model file and the state) whose manifest the input replaces.
fn checksummed_run(scratch: &Path) -> std::io::Result<()> {
    let run = run_folder(scratch)?;
    let _ = std::fs::remove_dir_all(run.join("checkpoints/step-1"));
    experiments::checkpoint::save(
        &run,
        "step-1",
        1,
        0.0,
        experiments::checkpoint::Role::Latest,
        |dir| {
            Ok(std::fs::write(
                dir.join("ema_generator.bpk"),
                b"model bytes",
            )?)
        },
    )
    .map_err(|e| std::io::Error::other(format!("{e:#}")))
}

fn resume_point(path: &Path) -> Result<(), String> {
    experiments::checkpoint::resume_point(&run_of(path), None)
        .map(|_| ())
        .map_err(|e| format!("{e:#}"))
}

/// The manifest `checksummed_run` writes.
fn manifest_seeds() -> Vec<(String, Vec<u8>)> {
    let dir = std::env::temp_dir().join(format!("swburn-fuzz-manifest-{}", std::process::id()));
    checksummed_run(&dir).expect("a checksummed run");
    let bytes = std::fs::read(dir.join("run/checkpoints/step-1/MANIFEST")).expect("MANIFEST");
    let _ = std::fs::remove_dir_all(&dir);
    vec![("MANIFEST".into(), bytes)]
}
