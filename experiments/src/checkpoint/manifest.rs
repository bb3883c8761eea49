//! A checkpoint's MANIFEST: the SHA-256 and size of every file, written last, and checked
//! before a checkpoint is trusted ([`verified`]); its `state` (counter and seconds).

use anyhow::{Context, Result, anyhow, bail};
use sha2::{Digest, Sha256};
use std::fs::File;
use std::io::Read;
use std::path::Path;

use super::{Checkpoint, MANIFEST, STATE};

/// SHA-256 (hex) and length of a file, streamed.
pub(super) fn digest(path: &Path) -> Result<(String, u64)> {
    let mut f = File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut len = 0u64;
    loop {
        let n = f
            .read(&mut buf)
            .with_context(|| format!("reading {}", path.display()))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        len += n as u64;
    }
    let hex = hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<String>();
    Ok((hex, len))
}

/// The files of a checkpoint folder (plain files, the manifest excluded), sorted. A
/// sub-folder is an error: checkpoints are flat.
pub(super) fn files_of(dir: &Path) -> Result<Vec<String>> {
    let mut names = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("listing {}", dir.display()))? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name == MANIFEST {
            continue;
        }
        if !entry.file_type()?.is_file() {
            bail!(
                "{}: unexpected non-file entry in a checkpoint",
                entry.path().display()
            );
        }
        names.push(name);
    }
    names.sort();
    Ok(names)
}

pub(super) fn manifest_of(dir: &Path) -> Result<String> {
    let mut out = String::new();
    for name in files_of(dir)? {
        let (hex, len) = digest(&dir.join(&name))?;
        out.push_str(&format!("{hex} {len} {name}\n"));
    }
    Ok(out)
}

/// Checks a checkpoint folder against its manifest; returns its state. The error names the
/// first file that does not match (or the manifest itself).
pub fn verified(dir: &Path) -> Result<Checkpoint> {
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if !dir.is_dir() {
        bail!("{}: no such checkpoint", dir.display());
    }
    let (counter, seconds) = read_state(dir)?;
    let manifest_path = dir.join(MANIFEST);
    let text = match std::fs::read(&manifest_path) {
        Ok(bytes) => String::from_utf8(bytes)
            .map_err(|_| anyhow!("{}: not text (damaged)", manifest_path.display()))?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(Checkpoint {
                dir: dir.to_path_buf(),
                name,
                counter,
                seconds,
                checksummed: false,
            });
        }
        Err(e) => return Err(anyhow!("{}: {e}", manifest_path.display())),
    };
    let mut listed = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let mut parts = line.splitn(3, ' ');
        let (Some(hex), Some(len), Some(file)) = (parts.next(), parts.next(), parts.next()) else {
            bail!(
                "{} line {}: not `<sha256> <bytes> <file>` (damaged manifest)",
                manifest_path.display(),
                i + 1
            );
        };
        let len: u64 = len.parse().map_err(|_| {
            anyhow!(
                "{} line {}: size `{len}` is not a number (damaged manifest)",
                manifest_path.display(),
                i + 1
            )
        })?;
        let path = dir.join(file);
        if file.contains('/') || file == MANIFEST || !path.is_file() {
            bail!(
                "{}: listed in the manifest but missing (damaged checkpoint)",
                path.display()
            );
        }
        let (actual, actual_len) = digest(&path)?;
        if actual_len != len {
            bail!(
                "{}: {actual_len} bytes, the manifest says {len} (truncated or damaged)",
                path.display()
            );
        }
        if actual != hex {
            bail!(
                "{}: SHA-256 {actual} does not match the manifest's {hex} (the file changed after it was written)",
                path.display()
            );
        }
        listed.push(file.to_string());
    }
    listed.sort();
    if let Some(extra) = files_of(dir)?.into_iter().find(|f| !listed.contains(f)) {
        bail!(
            "{}: not in the manifest {} (a manifest cut short, or a file added later)",
            dir.join(extra).display(),
            manifest_path.display()
        );
    }
    if !listed.iter().any(|f| f == STATE) {
        bail!(
            "{}: the manifest does not cover `state` (damaged manifest)",
            manifest_path.display()
        );
    }
    Ok(Checkpoint {
        dir: dir.to_path_buf(),
        name,
        counter,
        seconds,
        checksummed: true,
    })
}

pub(super) fn read_state(dir: &Path) -> Result<(usize, f64)> {
    let path = dir.join(STATE);
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("{}: reading the checkpoint state", path.display()))?;
    let mut lines = text.lines();
    let counter = lines.next().unwrap_or("").trim().parse().map_err(|_| {
        anyhow!(
            "{}: the first line is not a step/epoch count (damaged)",
            path.display()
        )
    })?;
    let seconds: f64 = lines.next().unwrap_or("0").trim().parse().map_err(|_| {
        anyhow!(
            "{}: the second line is not a number of seconds (damaged)",
            path.display()
        )
    })?;
    if !seconds.is_finite() || seconds < 0.0 {
        bail!("{}: {seconds} training seconds (damaged)", path.display());
    }
    Ok((counter, seconds))
}
