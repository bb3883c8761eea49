//! Run folders: `runs/<config-name>/<timestamp>/`, never overwritten; a human log inside.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use anyhow::{Context, Result, anyhow};

/// Opens the CSV file `path` for appending (a resumed run adds rows to its own file) and writes
/// `header` first if the file is new.
pub fn append_csv(path: &Path, header: &[&str]) -> Result<csv::Writer<File>> {
    let fresh = !path.exists();
    let file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("opening {}", path.display()))?;
    let mut w = csv::WriterBuilder::new()
        .has_headers(false)
        .from_writer(file);
    if fresh {
        w.write_record(header)?;
    }
    Ok(w)
}

/// Rewrites the CSV file `path` (if it exists) without the data rows whose first column is a
/// number greater than `counter`; the header and every other row stay. Written to a temporary
/// file and renamed. Returns the number of rows dropped.
pub fn drop_rows_after(path: &Path, counter: usize) -> Result<usize> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Ok(0);
    };
    let mut lines = text.lines();
    let mut kept = String::with_capacity(text.len());
    if let Some(header) = lines.next() {
        kept.push_str(header);
        kept.push('\n');
    }
    let mut dropped = 0;
    for line in lines {
        let first = line.split(',').next().unwrap_or("").trim();
        if first.parse::<usize>().is_ok_and(|c| c > counter) {
            dropped += 1;
        } else {
            kept.push_str(line);
            kept.push('\n');
        }
    }
    if dropped > 0 {
        let tmp = path.with_extension("csv.tmp");
        std::fs::write(&tmp, kept).with_context(|| format!("writing {}", tmp.display()))?;
        std::fs::rename(&tmp, path).with_context(|| format!("replacing {}", path.display()))?;
    }
    Ok(dropped)
}

/// A fresh run folder and its `log.txt`.
pub struct RunDir {
    path: PathBuf,
    log: Mutex<File>,
}

impl RunDir {
    /// Creates `<root>/<name>/<timestamp>[-k]/`, choosing a suffix k if the folder exists, and
    /// writes the resolved config into it as `config.toml`.
    pub fn create(root: &Path, name: &str, resolved_config: &str) -> Result<Self> {
        let parent = root.join(name);
        std::fs::create_dir_all(&parent)
            .with_context(|| format!("creating {}", parent.display()))?;
        let stamp = chrono::Local::now().format("%Y%m%d-%H%M%S").to_string();
        let mut path = parent.join(&stamp);
        let mut k = 1;
        loop {
            match std::fs::create_dir(&path) {
                Ok(()) => break,
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    k += 1;
                    path = parent.join(format!("{stamp}-{k}"));
                }
                Err(e) => return Err(anyhow!("creating run folder {}: {e}", path.display())),
            }
        }
        std::fs::write(path.join("config.toml"), resolved_config)?;
        let log = OpenOptions::new()
            .create_new(true)
            .write(true)
            .open(path.join("log.txt"))?;
        Ok(Self {
            path,
            log: Mutex::new(log),
        })
    }

    /// The run folder of a training experiment: `resume`'s folder reopened (rows past its last
    /// checkpoint dropped), or a new one under `out` (default `runs/`) named after the config.
    pub fn open_or_create(
        resume: Option<&Path>,
        out: Option<&Path>,
        loaded: &crate::config::Loaded,
    ) -> Result<Self> {
        match resume {
            Some(dir) => Self::reopen(dir),
            None => Self::create(
                out.unwrap_or_else(|| Path::new("runs")),
                &loaded.name,
                &loaded.resolved(),
            ),
        }
    }

    /// Reopens an existing run folder (to resume it); its log is appended to. The rows of
    /// `metrics.csv` past the latest checkpoint (written before a kill, about to be written
    /// again) are dropped, so the resumed file has each step once.
    pub fn reopen(path: &Path) -> Result<Self> {
        if !path.join("config.toml").is_file() {
            return Err(anyhow!(
                "{} is not a run folder (it has no config.toml)",
                path.display()
            ));
        }
        if let Ok((_, counter, _)) = latest_checkpoint(path) {
            drop_rows_after(&path.join("metrics.csv"), counter)?;
        }
        let log = OpenOptions::new()
            .append(true)
            .create(true)
            .open(path.join("log.txt"))?;
        Ok(Self {
            path: path.to_path_buf(),
            log: Mutex::new(log),
        })
    }

    /// The folder.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A path inside the folder, creating its parent folders.
    pub fn file(&self, relative: &str) -> Result<PathBuf> {
        let p = self.path.join(relative);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent)?;
        }
        Ok(p)
    }

    /// Appends a timestamped line to `log.txt`.
    pub fn log(&self, line: &str) {
        let stamp = chrono::Local::now().format("%H:%M:%S");
        if let Ok(mut f) = self.log.lock() {
            let _ = writeln!(f, "[{stamp}] {line}");
        }
    }
}

/// The latest checkpoint folder of a run (named by `checkpoints/LATEST`) and the (counter,
/// seconds) in its `state` file: the epoch or step it ends, and the training seconds so far.
pub fn latest_checkpoint(run_dir: &Path) -> Result<(PathBuf, usize, f64)> {
    let ckpt = run_dir.join("checkpoints");
    let latest = std::fs::read_to_string(ckpt.join("LATEST")).map_err(|_| {
        anyhow!(
            "{}: no checkpoint (checkpoints/LATEST is missing)",
            run_dir.display()
        )
    })?;
    let ckpt = ckpt.join(latest.trim());
    let state = std::fs::read_to_string(ckpt.join("state"))
        .with_context(|| format!("{}: reading the checkpoint state", ckpt.display()))?;
    let mut lines = state.lines();
    let counter = lines
        .next()
        .unwrap_or("")
        .parse()
        .with_context(|| format!("{}: the state's first line", ckpt.display()))?;
    let seconds = lines
        .next()
        .unwrap_or("0")
        .parse()
        .with_context(|| format!("{}: the state's second line", ckpt.display()))?;
    Ok((ckpt, counter, seconds))
}

/// Finishes a checkpoint written into `checkpoints/<name>.tmp/`: writes its `state`, renames the
/// folder to `checkpoints/<name>/`, and only then points `checkpoints/LATEST` (itself written to
/// a temporary file and renamed) at it — a checkpoint interrupted half-way is never referenced.
pub fn commit_checkpoint(
    run_dir: &Path,
    name: &str,
    counter: usize,
    seconds: f64,
) -> std::io::Result<()> {
    let dir = run_dir.join("checkpoints");
    let tmp = dir.join(format!("{name}.tmp"));
    std::fs::write(tmp.join("state"), format!("{counter}\n{seconds}\n"))?;
    let done = dir.join(name);
    let _ = std::fs::remove_dir_all(&done);
    std::fs::rename(&tmp, &done)?;
    std::fs::write(dir.join("LATEST.tmp"), name)?;
    std::fs::rename(dir.join("LATEST.tmp"), dir.join("LATEST"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A run killed (kill -9) after logging steps 1–7 but checkpointing only step 4: reopening it
    /// keeps metrics.csv rows 1–4 and the header, so the resumed run logs 5–7 once.
    #[test]
    fn reopening_drops_metric_rows_past_the_latest_checkpoint() {
        let dir = tempfile::tempdir().unwrap();
        let run = RunDir::create(dir.path(), "tiny", "experiment = \"x\"\n").unwrap();
        let path = run.path().to_path_buf();
        drop(run);
        let mut w = append_csv(&path.join("metrics.csv"), &["step", "loss"]).unwrap();
        for step in 1..=7 {
            w.write_record([step.to_string(), format!("{}.5", 10 - step)])
                .unwrap();
        }
        w.flush().unwrap();
        drop(w);
        std::fs::create_dir_all(path.join("checkpoints/step-4.tmp")).unwrap();
        commit_checkpoint(&path, "step-4", 4, 12.0).unwrap();
        let _ = RunDir::reopen(&path).unwrap();
        assert_eq!(
            std::fs::read_to_string(path.join("metrics.csv")).unwrap(),
            "step,loss\n1,9.5\n2,8.5\n3,7.5\n4,6.5\n"
        );
        // Appending continues the file; reopening again at the same checkpoint changes nothing.
        let mut w = append_csv(&path.join("metrics.csv"), &["step", "loss"]).unwrap();
        w.write_record(["5", "5.5"]).unwrap();
        w.flush().unwrap();
        assert_eq!(drop_rows_after(&path.join("metrics.csv"), 5).unwrap(), 0);
        assert_eq!(drop_rows_after(&path.join("metrics.csv"), 2).unwrap(), 3);
        assert_eq!(
            std::fs::read_to_string(path.join("metrics.csv")).unwrap(),
            "step,loss\n1,9.5\n2,8.5\n"
        );
        // No file: nothing to do.
        assert_eq!(drop_rows_after(&path.join("none.csv"), 1).unwrap(), 0);
    }
}
