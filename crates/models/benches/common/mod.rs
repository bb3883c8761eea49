//! Timing shared by the bench binaries.

use std::time::Instant;

/// Median of `v`.
pub fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Median wall seconds of `reps` calls of `f`, after one warm-up call.
pub fn time(reps: usize, mut f: impl FnMut()) -> f64 {
    f();
    median(
        (0..reps)
            .map(|_| {
                let t = Instant::now();
                f();
                t.elapsed().as_secs_f64()
            })
            .collect(),
    )
}

/// `sw_loss::allocator::keep_freed_memory`, as the `experiments` binary does, unless
/// `SWBURN_BENCH_GLIBC_DEFAULTS=1` asks for glibc's defaults (to time the difference).
pub fn keep_freed_memory() {
    if std::env::var("SWBURN_BENCH_GLIBC_DEFAULTS").is_ok_and(|v| v == "1") {
        eprintln!("glibc malloc defaults (SWBURN_BENCH_GLIBC_DEFAULTS=1)");
    } else {
        sw_loss::allocator::keep_freed_memory();
    }
}
