//! Shrinks a finding to a small input that still does the same thing, for the regression
//! tests: chunks are deleted while the outcome keeps its class and normalised message
//! (delta debugging with halving chunk sizes, Zeller & Hildebrandt, "Simplifying and Isolating
//! Failure-Inducing Input", TSE 2002, cut down to its deletion pass).

use crate::panics::SilentPanics;
use crate::runner::{Outcome, Scratch, normalise, run_one};
use crate::target::Target;

/// Calls of the reader a minimisation may spend.
const MAX_RUNS: usize = 20_000;

/// Whether `candidate` behaves like `original`: the same class and normalised message.
fn same(original: &Outcome, candidate: &Outcome) -> bool {
    candidate.class == original.class
        && normalise(&candidate.message) == normalise(&original.message)
}

/// The smallest input found that reproduces `input`'s outcome on `target`, with that outcome.
pub fn minimise(target: &Target, input: &[u8]) -> std::io::Result<(Vec<u8>, Outcome)> {
    let scratch = Scratch::new(target)?;
    let _quiet = SilentPanics::install();
    let original = run_one(target, &scratch, 0, input)?;
    let mut best = input.to_vec();
    let mut runs = 1;
    let mut chunk = best.len().div_ceil(2).max(1);
    loop {
        let mut at = 0;
        while at < best.len() && runs < MAX_RUNS {
            let end = (at + chunk).min(best.len());
            let mut candidate = best[..at].to_vec();
            candidate.extend_from_slice(&best[end..]);
            runs += 1;
            if same(&original, &run_one(target, &scratch, 0, &candidate)?) {
                best = candidate;
            } else {
                at += chunk;
            }
        }
        if chunk == 1 || runs >= MAX_RUNS {
            break;
        }
        chunk = chunk.div_ceil(2);
    }
    let outcome = run_one(target, &scratch, 0, &best)?;
    Ok((best, outcome))
}
