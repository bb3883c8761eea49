//! A fuzz harness for the file readers of the `datasets` crate and the `experiments` binary's config
//! and checkpoint readers (`targets::experiments`) that runs on stable Rust inside
//! `cargo test` (no libFuzzer, no nightly): each [`target::Target`] is a reader with a seed
//! corpus; [`mutate`] derives inputs from the seeds deterministically by (target, index);
//! [`runner`] feeds them to the reader under `catch_unwind`, a timer and an allocation counter
//! ([`alloc`]) and classifies each outcome; [`report`] writes the Markdown table of FUZZING.md.
//!
//! A reader passes when every input ends in `Ok` or in an `Err` naming the problem: no panic,
//! no input slower than [`runner::HANG`], no allocation beyond [`runner::alloc_bound`].
#![warn(missing_docs)]

pub mod alloc;
pub mod crc32;
pub mod fixup;
pub mod minimise;
pub mod mutate;
pub mod panics;
pub mod report;
pub mod rng;
pub mod runner;
pub mod target;
pub mod targets;
pub mod watchdog;
