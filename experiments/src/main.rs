//! `experiments`: the one binary of swburn. See `experiments --help`.

use clap::Parser;

fn main() {
    let cli = experiments::cli::Cli::parse();
    if let Err(err) = experiments::run(cli) {
        eprintln!("error: {err:#}");
        std::process::exit(1);
    }
}
