//! Which input is running and since when, for the two places that must name it when the
//! process cannot go on: the watchdog thread, which aborts when one input runs past
//! [`WATCHDOG`] (a reader stuck in a loop would otherwise stall the whole run silently), and
//! the allocator's refusal message ([`crate::alloc`]).
//!
//! Plain atomics, so the allocator may read them without allocating or locking.

use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

/// How long one input may run before the process is aborted.
pub const WATCHDOG: Duration = Duration::from_secs(20);

static NAME_PTR: AtomicPtr<u8> = AtomicPtr::new(std::ptr::null_mut());
static NAME_LEN: AtomicUsize = AtomicUsize::new(0);
static INDEX: AtomicU64 = AtomicU64::new(0);
/// Nanoseconds after [`epoch`] at which the running input started, plus one; 0 when idle.
static STARTED: AtomicU64 = AtomicU64::new(0);

fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

/// Marks input `index` of `target` as running from now.
pub fn begin(target: &'static str, index: u64) {
    NAME_PTR.store(target.as_ptr().cast_mut(), Ordering::Relaxed);
    NAME_LEN.store(target.len(), Ordering::Relaxed);
    INDEX.store(index, Ordering::Relaxed);
    let now = epoch().elapsed().as_nanos() as u64 + 1;
    STARTED.store(now, Ordering::Release);
}

/// Marks the running input as finished.
pub fn end() {
    STARTED.store(0, Ordering::Release);
}

/// The running input `(target, index)` and how long it has run, if one is running.
pub fn current() -> Option<(&'static str, u64, Duration)> {
    let started = STARTED.load(Ordering::Acquire);
    if started == 0 {
        return None;
    }
    let ptr = NAME_PTR.load(Ordering::Relaxed);
    let len = NAME_LEN.load(Ordering::Relaxed);
    // SAFETY: `begin` stored the pointer and length of a `&'static str`.
    let name = unsafe { std::str::from_utf8_unchecked(std::slice::from_raw_parts(ptr, len)) };
    let now = epoch().elapsed().as_nanos() as u64 + 1;
    Some((
        name,
        INDEX.load(Ordering::Relaxed),
        Duration::from_nanos(now.saturating_sub(started)),
    ))
}

/// Writes "target T input I" for the running input to stderr, without allocating.
pub fn describe_current_to_stderr() {
    let mut err = std::io::stderr();
    match current() {
        Some((name, index, _)) => {
            let _ = write!(err, "target {name} input {index}");
        }
        None => {
            let _ = write!(err, "no fuzz input running");
        }
    }
}

/// The watchdog thread; stops when dropped.
pub struct Watchdog {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Watchdog {
    /// Starts a thread that aborts the process when an input runs past [`WATCHDOG`].
    pub fn start() -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            while !flag.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(100));
                if let Some((name, index, running)) = current()
                    && running > WATCHDOG
                {
                    eprintln!(
                        "fuzz watchdog: target {name} input {index} has run for {:.1} s (limit {} s): aborting; reproduce with `fuzz --target {name} --reproduce {index}`",
                        running.as_secs_f64(),
                        WATCHDOG.as_secs()
                    );
                    std::process::abort();
                }
            }
        });
        Self {
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
