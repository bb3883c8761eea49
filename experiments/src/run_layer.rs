//! What every training loop repeats, once: the Ctrl-C flag (finish the unit of work, checkpoint,
//! stop; a second Ctrl-C quits at once), the "is this step due" cadence, and the seed of each
//! epoch or step derived from the run's seed (so a resumed run draws what the uninterrupted
//! one would).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// The Ctrl-C / SIGTERM flag of a run.
#[derive(Clone)]
pub struct Interrupt {
    flag: Arc<AtomicBool>,
}

impl Interrupt {
    /// Installs the handler: the first signal sets the flag and says that the current `unit`
    /// (e.g. "epoch", "step") finishes and is checkpointed; a second one exits with 130. If a
    /// handler is already installed (a second run in the same process), the flag stays unset.
    pub fn install(unit: &'static str) -> Self {
        let flag = Arc::new(AtomicBool::new(false));
        let handler_flag = flag.clone();
        let _ = ctrlc::set_handler(move || {
            if handler_flag.swap(true, Ordering::SeqCst) {
                std::process::exit(130);
            }
            eprintln!(
                "\ninterrupted (Ctrl-C or SIGTERM): finishing this {unit} and writing a checkpoint (once more to quit now)"
            );
        });
        Self { flag }
    }

    /// Whether a stop was asked for.
    pub fn requested(&self) -> bool {
        self.flag.load(Ordering::SeqCst)
    }
}

/// Whether periodic work of period `every` is due after `step` (1-based) of `last`: every
/// `every`-th step and the last one (`every` = 0 means only the last).
pub fn due(step: usize, every: usize, last: usize) -> bool {
    step == last || (every > 0 && step.is_multiple_of(every))
}

/// The seed of epoch `epoch` of a run seeded with `seed` (the autoencoder's shuffling,
/// resampling and device draws): `seed · φ64 + epoch`, wrapping.
pub fn epoch_seed(seed: u64, epoch: usize) -> u64 {
    seed.wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add(epoch as u64)
}

/// An independent stream `k` of a run seeded with `seed` (the SNGAN's per-step and
/// per-evaluation draws): two odd multipliers and a rotation, wrapping.
pub fn mix(seed: u64, k: u64) -> u64 {
    seed.wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add(k.wrapping_mul(0xD1B5_4A32_D192_ED03))
        .rotate_left(17)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cadence_is_every_nth_and_the_last() {
        let steps: Vec<usize> = (1..=10).filter(|&s| due(s, 4, 10)).collect();
        assert_eq!(steps, [4, 8, 10]);
        let steps: Vec<usize> = (1..=5).filter(|&s| due(s, 0, 5)).collect();
        assert_eq!(steps, [5]);
    }

    /// The seeds are the numbers earlier run folders were made with (resume stays exact).
    #[test]
    fn seeds_are_the_ones_runs_were_made_with() {
        assert_eq!(epoch_seed(1, 3), 0x9E37_79B9_7F4A_7C18);
        assert_eq!(
            mix(1, 0),
            0x9E37_79B9_7F4A_7C15u64.rotate_left(17),
            "stream 0 of seed 1"
        );
        assert_ne!(mix(1, 1), mix(1, 2));
        assert_ne!(epoch_seed(1, 1), epoch_seed(2, 1));
    }
}
