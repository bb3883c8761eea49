//! The autoencoder's checkpoints: what a snapshot holds (autoencoder, SGD state, amortizer and
//! its Adam state), `checkpoints/epoch-K/` and `checkpoints/best/` (the official model selection:
//! the lowest mean training loss), the best loss so far on resume, and the logged losses of a
//! resumed run.

use std::path::Path;

use anyhow::{Context, Result, anyhow};
use burn::module::Module;
use burn::optim::ModuleOptimizer;
use models::amortized::Amortizer;
use models::pointnet::PointNetAutoencoder;

use crate::checkpoint::Role;
use crate::run_dir::RunDir;

/// What a checkpoint holds.
pub(super) struct Snapshot<'a> {
    pub(super) ae: &'a PointNetAutoencoder,
    pub(super) sgd: &'a ModuleOptimizer,
    pub(super) amortizer: Option<&'a Amortizer>,
    pub(super) adam: &'a ModuleOptimizer,
}

/// Writes the model files into `dir` (the fresh `*.tmp` folder of [`crate::checkpoint::save`]).
fn write_snapshot(dir: &Path, s: &Snapshot) -> Result<()> {
    s.ae.clone()
        .save_file(dir.join("model.bpk"))
        .map_err(|e| anyhow!("saving the model: {e:?}"))?;
    s.sgd
        .save(dir.join("optimizer.bpk"))
        .map_err(|e| anyhow!("saving the optimizer: {e:?}"))?;
    if let Some(a) = s.amortizer {
        a.clone()
            .save_file(dir.join("amortizer.bpk"))
            .map_err(|e| anyhow!("saving the amortizer: {e:?}"))?;
        s.adam
            .save(dir.join("amortizer_optimizer.bpk"))
            .map_err(|e| anyhow!("saving the amortizer's optimizer: {e:?}"))?;
    }
    Ok(())
}

/// The latest checkpoint `checkpoints/epoch-K/` (checksummed, atomic; `LATEST` names it).
pub(super) fn save_latest(run: &RunDir, epoch: usize, seconds: f64, s: &Snapshot) -> Result<()> {
    let name = format!("epoch-{epoch}");
    crate::checkpoint::save(run.path(), &name, epoch, seconds, Role::Latest, |dir| {
        write_snapshot(dir, s)
    })
}

/// `checkpoints/best/`, checksummed and atomic like the others; `LATEST` is not touched. Its
/// `state` holds the epoch and `train_loss` the epoch's mean training loss.
pub(super) fn save_best(run: &RunDir, epoch: usize, loss: f64, s: &Snapshot) -> Result<()> {
    crate::checkpoint::save(run.path(), "best", epoch, 0.0, Role::Side, |dir| {
        write_snapshot(dir, s)?;
        std::fs::write(dir.join("train_loss"), format!("{loss:e}\n"))?;
        Ok(())
    })
}

/// The lowest mean training loss so far of a run resumed after `epoch`
/// (`checkpoints/best/train_loss`, infinite without a best checkpoint). A `best/` that does
/// not verify, or that comes from after `epoch` (a resume from an earlier checkpoint), is set
/// aside (renamed `best.set-aside-<time>`, with a warning) and model selection restarts at
/// the resume point.
pub(super) fn best_so_far(run: &RunDir, epoch: usize) -> Result<f64> {
    let dir = run.path().join("checkpoints/best");
    crate::checkpoint::recover_interrupted(&run.path().join("checkpoints"), "best")?;
    if !dir.exists() {
        return Ok(f64::INFINITY);
    }
    let problem = match crate::checkpoint::verified(&dir) {
        Ok(best) if best.counter <= epoch => {
            let file = dir.join("train_loss");
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("reading {}", file.display()))?;
            return text
                .trim()
                .parse()
                .with_context(|| format!("{}: not a number", file.display()));
        }
        Ok(best) => format!("it is from epoch {}, after the resume point", best.counter),
        Err(e) => format!("{e:#}"),
    };
    let stamp = chrono::Local::now().format("%Y%m%d-%H%M%S");
    let aside = run
        .path()
        .join(format!("checkpoints/best.set-aside-{stamp}"));
    std::fs::rename(&dir, &aside).with_context(|| format!("setting {} aside", dir.display()))?;
    let note = format!(
        "checkpoints/best/ set aside as {} ({problem}); the best checkpoint is chosen again from epoch {}",
        aside.display(),
        epoch + 1
    );
    eprintln!("warning: {note}");
    run.log(&note);
    Ok(f64::INFINITY)
}

/// The (epoch, training loss) rows of a resumed run's `metrics.csv` before `first_epoch`, so
/// the loss plot covers the whole run.
pub(super) fn logged_losses(path: &Path, first_epoch: usize) -> Vec<(f64, f64)> {
    let Ok(mut reader) = csv::Reader::from_path(path) else {
        return Vec::new();
    };
    reader
        .records()
        .filter_map(|r| {
            let r = r.ok()?;
            let epoch: usize = r.get(0)?.parse().ok()?;
            let loss: f64 = r.get(1)?.parse().ok()?;
            (epoch < first_epoch).then_some((epoch as f64, loss))
        })
        .collect()
}
