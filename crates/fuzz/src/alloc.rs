//! A counting global allocator: [`CountingAlloc`] wraps `std::alloc::System`, tracks the bytes
//! currently allocated and their peak, and refuses any allocation that would take the total
//! past [`HARD_CAP`] — so a reader that trusts a corrupt size aborts with Rust's "memory
//! allocation failed" instead of taking the machine down.
//!
//! A global allocator can only be installed by the final crate, so this library exposes the
//! type and `tests/quick.rs` and `src/bin/fuzz.rs` each declare
//! `#[global_allocator] static A: fuzz::alloc::CountingAlloc = fuzz::alloc::CountingAlloc;`.
//! Without that declaration [`installed`] is false and the runner cannot judge allocations.
//!
//! The counters are process-wide: bytes allocated by other threads at the same time count too,
//! which is why the runner fuzzes one input at a time and the bound it checks is generous.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// Total live bytes above which allocation fails (4 GiB).
pub const HARD_CAP: usize = 4 << 30;

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);
static INSTALLED: AtomicBool = AtomicBool::new(false);

/// `System` with byte counters and a hard cap; see the module documentation.
#[derive(Debug, Default, Clone, Copy)]
pub struct CountingAlloc;

/// Counts `size` new bytes, or refuses them when the total would pass [`HARD_CAP`].
fn reserve(size: usize) -> bool {
    let before = CURRENT.fetch_add(size, Ordering::Relaxed);
    let after = before.saturating_add(size);
    if after > HARD_CAP {
        CURRENT.fetch_sub(size, Ordering::Relaxed);
        refused(size);
        return false;
    }
    PEAK.fetch_max(after, Ordering::Relaxed);
    true
}

/// Names the refused request and the running input on stderr (without allocating: formatting
/// integers and `&str`s into the unbuffered stderr needs no heap), since the caller will most
/// likely abort with only "memory allocation failed".
fn refused(size: usize) {
    use std::io::Write;
    let _ = write!(
        std::io::stderr(),
        "fuzz: refused an allocation of {size} bytes (live bytes would pass the {} GiB cap) while running ",
        HARD_CAP >> 30
    );
    crate::watchdog::describe_current_to_stderr();
    let _ = writeln!(std::io::stderr());
}

fn release(size: usize) {
    CURRENT.fetch_sub(size, Ordering::Relaxed);
}

// SAFETY: every call forwards to `System` with the caller's layout; the counters only decide
// whether to forward, and a refused request returns null as `GlobalAlloc` allows.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        INSTALLED.store(true, Ordering::Relaxed);
        if !reserve(layout.size()) {
            return std::ptr::null_mut();
        }
        // SAFETY: the caller's layout, as `GlobalAlloc::alloc` received it.
        let p = unsafe { System.alloc(layout) };
        if p.is_null() {
            release(layout.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        INSTALLED.store(true, Ordering::Relaxed);
        if !reserve(layout.size()) {
            return std::ptr::null_mut();
        }
        // SAFETY: the caller's layout, as `GlobalAlloc::alloc_zeroed` received it.
        let p = unsafe { System.alloc_zeroed(layout) };
        if p.is_null() {
            release(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System` through this allocator with this layout.
        unsafe { System.dealloc(ptr, layout) };
        release(layout.size());
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let old = layout.size();
        if new_size > old && !reserve(new_size - old) {
            return std::ptr::null_mut();
        }
        // SAFETY: `ptr` came from `System` through this allocator with `layout`; `new_size` is
        // the caller's, as `GlobalAlloc::realloc` received it.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if p.is_null() {
            if new_size > old {
                release(new_size - old);
            }
        } else if new_size < old {
            release(old - new_size);
        }
        p
    }
}

/// Whether [`CountingAlloc`] is the global allocator of this process (it has served a call).
pub fn installed() -> bool {
    INSTALLED.load(Ordering::Relaxed)
}

/// Live bytes now.
pub fn current() -> usize {
    CURRENT.load(Ordering::Relaxed)
}

/// The most live bytes since the last [`reset_peak`].
pub fn peak() -> usize {
    PEAK.load(Ordering::Relaxed)
}

/// Starts a new peak measurement from the live bytes now.
pub fn reset_peak() {
    PEAK.store(current(), Ordering::Relaxed);
}
