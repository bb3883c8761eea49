//! Keeping freed tensor memory in the process (glibc's `malloc` tuning).
//!
//! A training step allocates and frees the same few-MB buffers (activations, im2col columns,
//! gradients) over and over. glibc's default `malloc` serves every block above its mmap threshold
//! (128 KiB, rising to at most 32 MiB) with a fresh `mmap` and unmaps it on `free`, and it trims
//! the top of the heap once 128 KiB are free. Each such buffer then costs page faults on first
//! touch, zeroing by the kernel, and TLB shoot-downs across threads on `munmap`.
//! Measured on the SNGAN step (64 ch, batch 128, flex, 2 cores): 2.8 s of 11 s were kernel time;
//! with [`keep_freed_memory`] it drops to 0.3 s and the step to ~9.6 s (BENCHMARKS.md).
//!
//! [`keep_freed_memory`] raises the mmap threshold to its maximum (32 MiB: larger blocks are
//! still mapped and given back, so a one-off dataset buffer does not stay), never trims the
//! heap below 1 GiB of free space, and grows it 256 MiB at a time (address space; pages are
//! touched only when used). The process keeps up to about the peak of its < 32 MiB blocks.
//!
//! A library cannot pick its users' allocator: the `experiments` binary and the benches call this
//! once at start; a user's own binary may call it too. On other platforms (or musl) it does
//! nothing and says so.

/// Our values; `libc::mallopt`'s parameters are glibc's `malloc.h` ones.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
mod values {
    /// glibc's `DEFAULT_MMAP_THRESHOLD_MAX` on 64-bit: the largest threshold `mallopt` accepts.
    pub const MMAP_THRESHOLD_MAX: i32 = 32 << 20;
    pub const TRIM_THRESHOLD: i32 = 1 << 30;
    pub const TOP_PAD: i32 = 256 << 20;
}

/// Tunes the process's `malloc` to keep freed blocks below 32 MiB for reuse (see the module
/// docs). Returns `true` when every setting was taken (glibc), `false` where this platform's
/// allocator was left alone. Call it once, before the first tensor, from `main`.
pub fn keep_freed_memory() -> bool {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        use libc::{M_MMAP_THRESHOLD, M_TOP_PAD, M_TRIM_THRESHOLD, mallopt};
        use values::*;
        // SAFETY: mallopt only changes the allocator's tuning parameters; it is safe to call
        // at any time, and these values are inside the ranges glibc documents.
        unsafe {
            mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_MAX) == 1
                && mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD) == 1
                && mallopt(M_TOP_PAD, TOP_PAD) == 1
        }
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    {
        false
    }
}

#[cfg(all(test, target_os = "linux", target_env = "gnu"))]
mod tests {
    use super::*;

    /// Minor page faults of the calling thread so far (`getrusage(RUSAGE_THREAD)`).
    fn minor_faults() -> i64 {
        const RUSAGE_THREAD: i32 = 1; // linux/resource.h
        // SAFETY: getrusage fills the zeroed struct we own.
        unsafe {
            let mut usage: libc::rusage = std::mem::zeroed();
            assert_eq!(libc::getrusage(RUSAGE_THREAD, &mut usage), 0);
            usage.ru_minflt
        }
    }

    /// glibc takes every value, and a freed 24 MiB block then stays in the process: touching a
    /// second block of that size costs (almost) no page faults. With glibc's defaults the first
    /// block is a fresh mapping, unmapped on free, and the second faults in all 6 144 of its
    /// 4 KiB pages again.
    #[test]
    fn a_freed_block_is_reused_without_page_faults() {
        assert!(keep_freed_memory());
        let size = 24 << 20;
        let pages = (size / 4096) as i64;
        let touch = |fill: u8| {
            let v = vec![fill; size];
            std::hint::black_box(&v);
            assert!(v.iter().step_by(4096).all(|&b| b == fill));
        };
        touch(1); // the heap grows to hold it (faults here are expected)
        let before = minor_faults();
        touch(2);
        let faults = minor_faults() - before;
        assert!(
            faults < pages / 10,
            "{faults} page faults for a reused {pages}-page block"
        );
    }
}
