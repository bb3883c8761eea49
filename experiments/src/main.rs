//! `experiments`: the one binary of swburn. See `experiments --help`.

use clap::Parser;

fn main() {
    // Freed tensor buffers stay in the process instead of being unmapped and faulted in again
    // (about 10 % of an SNGAN step on flex; see sw_loss::allocator).
    sw_loss::allocator::keep_freed_memory();
    let cli = experiments::cli::Cli::parse();
    if let Err(err) = experiments::run(cli) {
        eprintln!("error: {err:#}");
        std::process::exit(1);
    }
}
