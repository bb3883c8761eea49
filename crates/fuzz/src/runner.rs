//! Runs a target's inputs one at a time and classifies each outcome.
//!
//! Each input is written to a scratch file (in `/dev/shm` when it exists, so the file system
//! costs nothing), the allocation peak is reset, and the reader runs inside `catch_unwind`
//! under a timer. The outcome is, in this order of precedence:
//!
//! - **panic**: the reader panicked (the message and location are kept);
//! - **unbounded allocation**: the peak of live bytes during the call rose more than
//!   [`alloc_bound`] = 64 MiB + 64 × (input length) above the bytes live before it. Every
//!   reader here holds the file and its decoded values (at most 8 bytes per value, a few
//!   copies), so anything beyond 64 bytes per input byte means a size was taken from the file
//!   and trusted; the 64 MiB floor leaves room for fixed buffers (inflate windows, image rows)
//!   and for other threads' allocations, which the process-wide counter also sees;
//! - **hang**: the call took more than [`HANG`] (1 s; every seed reads in milliseconds);
//! - **ok** or **err**: the reader returned. Error messages are counted after
//!   [`normalise`] (digits removed), so "distinct errors" counts kinds of error, not inputs.
//!
//! A [`crate::watchdog::Watchdog`] aborts the process if one input runs past 20 s.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::mutate::Mutator;
use crate::panics::{SilentPanics, payload_text, take_last};
use crate::target::Target;
use crate::watchdog::{self, Watchdog};

/// The time above which an input counts as a hang.
pub const HANG: Duration = Duration::from_secs(1);

/// Allocation allowed for any input, on top of [`ALLOC_PER_INPUT_BYTE`] per input byte.
pub const ALLOC_FLOOR: usize = 64 << 20;

/// Allocation allowed per byte of input.
pub const ALLOC_PER_INPUT_BYTE: usize = 64;

/// The most bytes a reader may allocate for an input of `input_len` bytes.
pub fn alloc_bound(input_len: usize) -> usize {
    ALLOC_FLOOR.saturating_add(ALLOC_PER_INPUT_BYTE.saturating_mul(input_len))
}

/// The class of an outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Class {
    /// The reader returned `Ok`.
    Ok,
    /// The reader returned `Err`.
    Err,
    /// The reader panicked.
    Panic,
    /// The reader took longer than [`HANG`].
    Hang,
    /// The reader allocated more than [`alloc_bound`].
    UnboundedAlloc,
}

impl Class {
    /// Whether this outcome is a bug to fix.
    pub fn is_finding(self) -> bool {
        matches!(self, Class::Panic | Class::Hang | Class::UnboundedAlloc)
    }

    /// A file-name-safe label.
    pub fn label(self) -> &'static str {
        match self {
            Class::Ok => "ok",
            Class::Err => "err",
            Class::Panic => "panic",
            Class::Hang => "hang",
            Class::UnboundedAlloc => "alloc",
        }
    }
}

/// What one input did.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// Its class.
    pub class: Class,
    /// The error or panic message, or what was exceeded (empty for `Ok`).
    pub message: String,
    /// Wall time of the call.
    pub elapsed: Duration,
    /// Peak live bytes above those live before the call.
    pub peak: usize,
}

/// Classifies a call: `result` is `Err(panic message)` when it panicked, else the reader's
/// result; see the module documentation for the order of precedence.
pub fn classify(
    result: Result<Result<(), String>, String>,
    elapsed: Duration,
    peak: usize,
    input_len: usize,
) -> Outcome {
    let returned = |r: &Result<(), String>| match r {
        Ok(()) => "returned Ok".to_string(),
        Err(e) => format!("returned Err({e})"),
    };
    let (class, message) = match result {
        Err(panic) => (Class::Panic, panic),
        Ok(r) if peak > alloc_bound(input_len) => (
            Class::UnboundedAlloc,
            format!(
                "peak allocation {peak} bytes > bound {} for a {input_len}-byte input; {}",
                alloc_bound(input_len),
                returned(&r)
            ),
        ),
        Ok(r) if elapsed > HANG => (
            Class::Hang,
            format!(
                "took {:.2} s > {} s; {}",
                elapsed.as_secs_f64(),
                HANG.as_secs(),
                returned(&r)
            ),
        ),
        Ok(Ok(())) => (Class::Ok, String::new()),
        Ok(Err(e)) => (Class::Err, e),
    };
    Outcome {
        class,
        message,
        elapsed,
        peak,
    }
}

/// `message` with each run of digits replaced by `#`, so that errors differing only in an
/// offset, a count or a scratch path's process id count once.
pub fn normalise(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut in_digits = false;
    for c in message.chars() {
        if c.is_ascii_digit() {
            if !in_digits {
                out.push('#');
            }
            in_digits = true;
        } else {
            out.push(c);
            in_digits = false;
        }
    }
    out
}

/// A scratch folder for one target, set up by the target and removed when dropped.
pub struct Scratch {
    dir: PathBuf,
}

impl Scratch {
    /// Creates `swburn-fuzz-<pid>-<n>-<target>` under `/dev/shm` (or the temp folder; `n`
    /// counts scratch folders, so concurrent runs of one target do not share one) and runs the
    /// target's setup in it.
    pub fn new(target: &Target) -> std::io::Result<Self> {
        static COUNT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = COUNT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let shm = Path::new("/dev/shm");
        let base = if shm.is_dir() {
            shm.to_path_buf()
        } else {
            std::env::temp_dir()
        };
        let dir = base.join(format!(
            "swburn-fuzz-{}-{n}-{}",
            std::process::id(),
            target.name
        ));
        if dir.exists() {
            std::fs::remove_dir_all(&dir)?;
        }
        std::fs::create_dir_all(&dir)?;
        (target.setup)(&dir)?;
        Ok(Self { dir })
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Runs `target` on `bytes` (written to its file in `scratch`); `index` names the input to
/// the watchdog. Panics are caught; install [`SilentPanics`] around calls to keep them quiet.
pub fn run_one(
    target: &Target,
    scratch: &Scratch,
    index: u64,
    bytes: &[u8],
) -> std::io::Result<Outcome> {
    let path = scratch.dir().join(target.file_name);
    std::fs::write(&path, bytes)?;
    let before = crate::alloc::current();
    crate::alloc::reset_peak();
    watchdog::begin(target.name, index);
    let start = Instant::now();
    let result = std::panic::catch_unwind(|| (target.run)(&path));
    let elapsed = start.elapsed();
    watchdog::end();
    let peak = crate::alloc::peak().saturating_sub(before);
    let result = result.map_err(|payload| take_last().unwrap_or_else(|| payload_text(&*payload)));
    Ok(classify(result, elapsed, peak, bytes.len()))
}

/// Input `index` of `target`: the mutator's, checksums repaired by the target's fix-up
/// except on every eighth input.
pub fn input(target: &Target, mutator: &Mutator, index: u64) -> Vec<u8> {
    let mut input = mutator.input(target.name, index);
    if !index.is_multiple_of(8) {
        (target.fixup)(&mut input);
    }
    input
}

/// How long to fuzz a target: until both bounds are met.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    /// At least this many inputs.
    pub min_inputs: u64,
    /// At least this long.
    pub min_time: Duration,
}

/// An input that found a bug.
#[derive(Debug, Clone)]
pub struct Finding {
    /// Its index (reproduce with `fuzz --target <name> --reproduce <index>`).
    pub index: u64,
    /// What it did.
    pub outcome: Outcome,
    /// Its bytes.
    pub input: Vec<u8>,
}

/// Findings kept (in memory and on disk) per class and normalised message.
const KEEP_PER_SIGNATURE: usize = 3;

/// The tally of one target's run.
#[derive(Debug, Clone)]
pub struct Stats {
    /// The target.
    pub target: Target,
    /// Inputs run.
    pub inputs: u64,
    /// `Ok` outcomes.
    pub ok: u64,
    /// `Err` outcomes.
    pub errors: u64,
    /// Panics.
    pub panics: u64,
    /// Hangs.
    pub hangs: u64,
    /// Unbounded allocations.
    pub unbounded_allocs: u64,
    /// Normalised error message → count.
    pub distinct_errors: BTreeMap<String, u64>,
    /// Normalised finding message (with its class) → count.
    pub finding_kinds: BTreeMap<(Class, String), u64>,
    /// The first few findings of each kind.
    pub findings: Vec<Finding>,
    /// Wall time of the run.
    pub seconds: f64,
    /// The slowest input's time.
    pub slowest: Duration,
    /// The largest allocation peak of an input.
    pub largest_peak: usize,
}

impl Stats {
    fn new(target: Target) -> Self {
        Self {
            target,
            inputs: 0,
            ok: 0,
            errors: 0,
            panics: 0,
            hangs: 0,
            unbounded_allocs: 0,
            distinct_errors: BTreeMap::new(),
            finding_kinds: BTreeMap::new(),
            findings: Vec::new(),
            seconds: 0.0,
            slowest: Duration::ZERO,
            largest_peak: 0,
        }
    }

    /// Panics + hangs + unbounded allocations.
    pub fn finding_count(&self) -> u64 {
        self.panics + self.hangs + self.unbounded_allocs
    }

    /// Adds one outcome; returns whether it is a finding worth keeping.
    fn add(&mut self, outcome: &Outcome) -> bool {
        self.inputs += 1;
        self.slowest = self.slowest.max(outcome.elapsed);
        self.largest_peak = self.largest_peak.max(outcome.peak);
        match outcome.class {
            Class::Ok => self.ok += 1,
            Class::Err => {
                self.errors += 1;
                *self
                    .distinct_errors
                    .entry(normalise(&outcome.message))
                    .or_default() += 1;
            }
            Class::Panic => self.panics += 1,
            Class::Hang => self.hangs += 1,
            Class::UnboundedAlloc => self.unbounded_allocs += 1,
        }
        if !outcome.class.is_finding() {
            return false;
        }
        let seen = self
            .finding_kinds
            .entry((outcome.class, normalise(&outcome.message)))
            .or_default();
        *seen += 1;
        *seen as usize <= KEEP_PER_SIGNATURE
    }
}

/// Fuzzes `target` from input 0 until `budget` is met; findings are also written to
/// `findings/<target>/<class>-<index>.{bin,txt}` when `findings` is given. `progress` is called
/// after every input.
pub fn fuzz(
    target: &Target,
    budget: Budget,
    findings: Option<&Path>,
    mut progress: impl FnMut(&Stats),
) -> std::io::Result<Stats> {
    let corpus: Vec<Vec<u8>> = target.corpus()?.into_iter().map(|(_, b)| b).collect();
    if corpus.is_empty() {
        return Err(std::io::Error::other(format!(
            "{}: empty corpus (run make_corpus)",
            target.corpus_dir().display()
        )));
    }
    let mutator = Mutator::new(&corpus, target.text);
    let scratch = Scratch::new(target)?;
    let _quiet = SilentPanics::install();
    let _watchdog = Watchdog::start();
    let mut stats = Stats::new(*target);
    let start = Instant::now();
    let mut index = 0u64;
    while stats.inputs < budget.min_inputs || start.elapsed() < budget.min_time {
        let input = input(target, &mutator, index);
        let outcome = run_one(target, &scratch, index, &input)?;
        if stats.add(&outcome) {
            if let Some(dir) = findings {
                save_finding(dir, target, index, &outcome, &input)?;
            }
            stats.findings.push(Finding {
                index,
                outcome,
                input,
            });
        }
        stats.seconds = start.elapsed().as_secs_f64();
        progress(&stats);
        index += 1;
    }
    Ok(stats)
}

/// Writes a finding's bytes and a description of it.
fn save_finding(
    dir: &Path,
    target: &Target,
    index: u64,
    outcome: &Outcome,
    input: &[u8],
) -> std::io::Result<()> {
    let dir = dir.join(target.name);
    std::fs::create_dir_all(&dir)?;
    let stem = format!("{}-{index}", outcome.class.label());
    std::fs::write(dir.join(format!("{stem}.bin")), input)?;
    std::fs::write(
        dir.join(format!("{stem}.txt")),
        format!(
            "target: {}\nreader: {}\ninput index: {index} ({} bytes, written as {})\nclass: {}\nmessage: {}\ntime: {:.3} s\npeak allocation: {} bytes (bound {})\nreproduce: fuzz --target {} --reproduce {index}\n",
            target.name,
            target.reader,
            input.len(),
            target.file_name,
            outcome.class.label(),
            outcome.message,
            outcome.elapsed.as_secs_f64(),
            outcome.peak,
            alloc_bound(input.len()),
            target.name,
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn the_allocation_bound_grows_with_the_input() {
        assert_eq!(alloc_bound(0), 64 << 20);
        assert_eq!(alloc_bound(1000), (64 << 20) + 64_000);
        assert_eq!(alloc_bound(usize::MAX), usize::MAX);
        let at = |peak, len| classify(Ok(Ok(())), MS, peak, len).class;
        assert_eq!(at(alloc_bound(100), 100), Class::Ok);
        assert_eq!(at(alloc_bound(100) + 1, 100), Class::UnboundedAlloc);
        assert_eq!(at(alloc_bound(100) + 1, 200), Class::Ok);
    }

    #[test]
    fn classes_take_precedence_panic_alloc_hang_result() {
        let big = alloc_bound(10) + 1;
        let slow = HANG + MS;
        assert_eq!(
            classify(Err("boom".into()), slow, big, 10).class,
            Class::Panic
        );
        let alloc = classify(Ok(Err("bad".into())), slow, big, 10);
        assert_eq!(alloc.class, Class::UnboundedAlloc);
        assert!(
            alloc.message.contains("returned Err(bad)"),
            "{}",
            alloc.message
        );
        assert_eq!(classify(Ok(Ok(())), slow, 0, 10).class, Class::Hang);
        let err = classify(Ok(Err("x.npy: truncated".into())), MS, 0, 10);
        assert_eq!(
            (err.class, err.message.as_str()),
            (Class::Err, "x.npy: truncated")
        );
        assert!(!Class::Err.is_finding() && Class::Hang.is_finding());
    }

    #[test]
    fn normalising_merges_messages_that_differ_in_numbers() {
        assert_eq!(
            normalise("/dev/shm/swburn-fuzz-4242-npy/input.npy: record 17 has label byte 200"),
            "/dev/shm/swburn-fuzz-#-npy/input.npy: record # has label byte #"
        );
    }
}
