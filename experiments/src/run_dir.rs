//! Run folders: `runs/<config-name>/<timestamp>/`, never overwritten; a human log inside.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use anyhow::{Context, Result, anyhow};

use crate::checkpoint::Checkpoint;

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

/// A run folder, its `log.txt`, and the lock that keeps a second process out of it.
pub struct RunDir {
    path: PathBuf,
    log: Mutex<File>,
    /// `run.lock`, locked exclusively for the life of this value (the OS drops the lock when
    /// the process ends, also on kill -9, so a stale file never blocks a resume).
    _lock: File,
    resume: Option<Checkpoint>,
}

/// Takes the exclusive lock on `<run>/run.lock` (created if missing) and writes our pid into
/// it; a second process gets an error naming the folder and the pid holding it.
fn lock(path: &Path) -> Result<File> {
    let lock_path = path.join("run.lock");
    let mut file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(&lock_path)
        .with_context(|| format!("opening {}", lock_path.display()))?;
    match file.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            let holder = std::fs::read_to_string(&lock_path).unwrap_or_default();
            return Err(anyhow!(
                "{} is in use by another run ({}; {} is locked): wait for it to finish or stop it first",
                path.display(),
                holder.trim().trim_end_matches('.'),
                lock_path.display()
            ));
        }
        Err(std::fs::TryLockError::Error(e)) => {
            return Err(anyhow!("locking {}: {e}", lock_path.display()));
        }
    }
    file.set_len(0)?;
    writeln!(
        file,
        "pid {}, started {}",
        std::process::id(),
        chrono::Local::now().format("%Y-%m-%d %H:%M:%S")
    )?;
    Ok(file)
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
        let lock = lock(&path)?;
        std::fs::write(path.join("config.toml"), resolved_config)?;
        let log = OpenOptions::new()
            .create_new(true)
            .write(true)
            .open(path.join("log.txt"))?;
        Ok(Self {
            path,
            log: Mutex::new(log),
            _lock: lock,
            resume: None,
        })
    }

    /// The run folder of a training experiment: `resume`'s folder reopened at its latest
    /// checkpoint (or `from`, see [`RunDir::reopen`]), or a new one under `out` (default
    /// `runs/`) named after the config.
    pub fn open_or_create(
        resume: Option<&Path>,
        from: Option<&str>,
        out: Option<&Path>,
        loaded: &crate::config::Loaded,
    ) -> Result<Self> {
        match resume {
            Some(dir) => Self::reopen(dir, from),
            None => {
                if from.is_some() {
                    return Err(anyhow!("--from-checkpoint needs --resume RUN_DIR"));
                }
                Self::create(
                    out.unwrap_or_else(|| Path::new("runs")),
                    &loaded.name,
                    &loaded.resolved(),
                )
            }
        }
    }

    /// Reopens an existing run folder to resume it, locked against a second process. The
    /// checkpoint to continue from (`from`, else the one `LATEST` names) is verified first —
    /// a damaged one is an error that changes nothing in the folder and offers the newest
    /// intact one. Then checkpoints after it are set aside (renamed, not deleted) and the rows
    /// of `metrics.csv` past it (written before a kill, about to be written again) are
    /// dropped, so the resumed file has each step once; the log is appended to.
    pub fn reopen(path: &Path, from: Option<&str>) -> Result<Self> {
        if !path.join("config.toml").is_file() {
            return Err(anyhow!(
                "{} is not a run folder (it has no config.toml)",
                path.display()
            ));
        }
        let lock = lock(path)?;
        let resume = crate::checkpoint::resume_point(path, from)?;
        let set_aside = crate::checkpoint::set_aside_after(path, &resume)?;
        drop_rows_after(&path.join("metrics.csv"), resume.counter)?;
        let log = OpenOptions::new()
            .append(true)
            .create(true)
            .open(path.join("log.txt"))?;
        let run = Self {
            path: path.to_path_buf(),
            log: Mutex::new(log),
            _lock: lock,
            resume: Some(resume),
        };
        if !set_aside.is_empty() {
            run.log(&format!(
                "resuming from {}: set aside the later checkpoints {} (renamed *.set-aside-*)",
                run.resume.as_ref().map_or("", |c| c.name.as_str()),
                set_aside.join(", ")
            ));
        }
        if run.resume.as_ref().is_some_and(|c| !c.checksummed) {
            run.log(
                "the checkpoint has no MANIFEST (written by an older swburn): loaded unverified",
            );
        }
        Ok(run)
    }

    /// The verified checkpoint a reopened run continues from (`None` for a new run).
    pub fn resume(&self) -> Option<&Checkpoint> {
        self.resume.as_ref()
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
        crate::checkpoint::save(
            &path,
            "step-4",
            4,
            12.0,
            crate::checkpoint::Role::Latest,
            |_| Ok(()),
        )
        .unwrap();
        drop(RunDir::reopen(&path, None).unwrap());
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

    /// A second process (here: a second open of the folder) is refused with the holder's pid
    /// while the first holds the folder; once it is dropped the folder can be reopened.
    #[test]
    fn a_locked_run_folder_refuses_a_second_run() {
        let dir = tempfile::tempdir().unwrap();
        let run = RunDir::create(dir.path(), "tiny", "experiment = \"x\"\n").unwrap();
        let path = run.path().to_path_buf();
        crate::checkpoint::save(
            &path,
            "step-1",
            1,
            0.0,
            crate::checkpoint::Role::Latest,
            |_| Ok(()),
        )
        .unwrap();
        let before = std::fs::read_to_string(path.join("log.txt")).unwrap();
        let err = format!("{:#}", RunDir::reopen(&path, None).err().expect("refused"));
        assert!(err.contains("is in use by another run"), "{err}");
        assert!(
            err.contains(&format!("pid {}", std::process::id())),
            "{err}"
        );
        assert_eq!(
            std::fs::read_to_string(path.join("log.txt")).unwrap(),
            before
        );
        drop(run);
        let again = RunDir::reopen(&path, None).unwrap();
        assert_eq!(again.resume().map(|c| c.counter), Some(1));
    }
}
