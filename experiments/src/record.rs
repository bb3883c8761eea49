//! Loading Burn records (`.bpk`, models and optimizers) from files that may be damaged: every
//! load of a checkpoint file goes through [`load`].
//!
//! Checkpoints with a `MANIFEST` are verified before anything is loaded (`crate::checkpoint`),
//! but older checkpoints and files put there by hand reach Burn's loader as they are, and
//! fuzzing it (`crates/fuzz`, target `checkpoint_bpk`) found two faults in burn-pack / burn-core
//! 0.22.1, both handled here:
//!
//! ```text
//! header  magic u32 LE = 0x4255524E ("BURN") | version u16 | metadata_size u32 LE   (10 bytes)
//!         burn-pack's reader allocates metadata_size bytes (up to 100 MiB) before reading
//!         them, so a damaged size field in a 38 KB file cost 84 MB  → checked against the
//!         file's length first (10 + metadata_size ≤ file length)
//! tensors a float parameter whose stored dtype was changed to I32/U32 makes burn-tensor
//!         panic ("Expected float dtype", bridge/ops/float.rs:286)  → caught, reported as
//!         a damaged file
//! ```

use std::io::Read;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;

use anyhow::{Result, anyhow, bail};

/// burn-pack's magic number (`burn_pack::MAGIC_NUMBER`), little-endian at offset 0.
const MAGIC: u32 = 0x4255_524E;
/// burn-pack's header: magic (4) + version (2) + metadata size (4) (`burn_pack::HEADER_SIZE`).
const HEADER: usize = 10;

/// Checks the burn-pack header of `path` against the file's length.
fn check_header(path: &Path) -> Result<()> {
    let mut file = std::fs::File::open(path).map_err(|e| anyhow!("{}: {e}", path.display()))?;
    let len = file
        .metadata()
        .map_err(|e| anyhow!("{}: {e}", path.display()))?
        .len();
    let mut header = [0u8; HEADER];
    if len < HEADER as u64 || file.read_exact(&mut header).is_err() {
        bail!(
            "{}: {len} bytes, too short for a Burn record (truncated or damaged)",
            path.display()
        );
    }
    let magic = u32::from_le_bytes(header[0..4].try_into().expect("4 bytes"));
    if magic != MAGIC {
        bail!(
            "{}: not a Burn record (magic {magic:#010x}, expected {MAGIC:#010x}; damaged?)",
            path.display()
        );
    }
    let metadata = u32::from_le_bytes(header[6..10].try_into().expect("4 bytes")) as u64;
    if HEADER as u64 + metadata > len {
        bail!(
            "{}: the header declares {metadata} bytes of metadata but the file holds {len} (truncated or damaged)",
            path.display()
        );
    }
    Ok(())
}

/// The message of a caught panic.
fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}

/// Runs `load` (a Burn `try_load_file` / optimizer `load` of `path`) after the header check,
/// with Burn's panics turned into errors. `what` names the record in the error
/// ("the generator"). While it runs, the panic hook is silenced, so a damaged file prints one
/// error, not a panic trace.
pub fn load<T, E: std::fmt::Debug>(
    path: &Path,
    what: &str,
    load: impl FnOnce() -> std::result::Result<T, E>,
) -> Result<T> {
    check_header(path).map_err(|e| anyhow!("loading {what}: {e:#}"))?;
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let result = catch_unwind(AssertUnwindSafe(load));
    std::panic::set_hook(hook);
    match result {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(e)) => Err(anyhow!("{}: loading {what}: {e:?}", path.display())),
        Err(payload) => Err(anyhow!(
            "{}: loading {what}: the record is damaged (Burn's loader failed: {})",
            path.display(),
            panic_message(payload.as_ref())
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::module::Module;
    use burn::nn::{Linear, LinearConfig};
    use burn::tensor::Device;

    fn saved() -> (tempfile::TempDir, std::path::PathBuf, Linear) {
        let dir = tempfile::tempdir().unwrap();
        let device = Device::flex();
        let model = LinearConfig::new(3, 2).init(&device);
        let path = dir.path().join("m.bpk");
        model.clone().save_file(&path).unwrap();
        (dir, path, LinearConfig::new(3, 2).init(&device))
    }

    #[test]
    fn an_intact_record_loads() {
        let (_dir, path, fresh) = saved();
        load(&path, "the model", || fresh.try_load_file(&path)).unwrap();
    }

    /// The two faults fuzzing found, on a freshly written record: a metadata size past the
    /// file (burn-pack would allocate it) and a float tensor's dtype byte set to an integer
    /// type (burn-tensor panics); plus a wrong magic and a truncation.
    #[test]
    fn damaged_records_are_errors_naming_the_file() {
        let (_dir, path, fresh) = saved();
        let good = std::fs::read(&path).unwrap();
        let try_load = |bytes: &[u8]| {
            std::fs::write(&path, bytes).unwrap();
            let m = fresh.clone();
            format!(
                "{:#}",
                load(&path, "the model", || m.try_load_file(&path)).unwrap_err()
            )
        };
        let mut big = good.clone();
        big[6..10].copy_from_slice(&(80u32 << 20).to_le_bytes());
        let e = try_load(&big);
        assert!(e.contains("declares 83886080 bytes of metadata"), "{e}");
        assert!(e.contains("m.bpk"), "{e}");
        let mut magic = good.clone();
        magic[0] ^= 1;
        assert!(try_load(&magic).contains("not a Burn record"));
        assert!(try_load(&good[..7]).contains("too short"));
        // The dtype of each tensor is a CBOR text value in the metadata ("F32"); rewriting it
        // to "I32" is what the fuzzer's byte mutations did.
        let at = good
            .windows(3)
            .position(|w| w == b"F32")
            .expect("an F32 dtype in the metadata");
        let mut dtype = good.clone();
        dtype[at] = b'I';
        let e = try_load(&dtype);
        assert!(e.contains("m.bpk: loading the model"), "{e}");
    }
}
