//! Writes each target's seed files to `crates/fuzz/corpus/<target>/` (replacing what is
//! there) from the recipes in `src/targets/`, then checks every seed reads `Ok`.
//!
//! `cargo run --release --workspace --features sw-loss/ndarray,sw-loss/wgpu,experiments/wgpu --bin make_corpus`

use fuzz::runner::{Class, Scratch, run_one};
use fuzz::targets::all;

fn main() -> std::io::Result<()> {
    let mut bad = 0;
    for target in all() {
        let dir = target.corpus_dir();
        if dir.exists() {
            std::fs::remove_dir_all(&dir)?;
        }
        std::fs::create_dir_all(&dir)?;
        let scratch = Scratch::new(&target)?;
        for (name, bytes) in (target.seeds)() {
            std::fs::write(dir.join(&name), &bytes)?;
            let outcome = run_one(&target, &scratch, 0, &bytes)?;
            let verdict = if outcome.class == Class::Ok {
                "ok".to_string()
            } else {
                bad += 1;
                format!("{}: {}", outcome.class.label(), outcome.message)
            };
            println!("{}/{name}: {} bytes, {verdict}", target.name, bytes.len());
        }
    }
    if bad > 0 {
        return Err(std::io::Error::other(format!("{bad} seeds do not read Ok")));
    }
    Ok(())
}
