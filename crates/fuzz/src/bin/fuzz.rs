//! The long fuzz budget: `fuzz --minutes M --min-inputs N --out FUZZING.md --findings DIR
//! [--target NAME]` runs each target until it has had both its share of the minutes and N
//! inputs, shows progress, prints the table and writes it, with the command and the machine,
//! into `--out` between `<!-- fuzz-run:begin -->` and `<!-- fuzz-run:end -->`.
//!
//! `--reproduce I` (or `--input FILE`) runs one input of one target and prints what it did;
//! `--minimise` shrinks it first and prints the bytes as a Rust literal for a regression test.

use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use fuzz::mutate::Mutator;
use fuzz::runner::{Budget, Scratch, fuzz, run_one};
use fuzz::target::Target;
use indicatif::{ProgressBar, ProgressStyle};

#[global_allocator]
static ALLOC: fuzz::alloc::CountingAlloc = fuzz::alloc::CountingAlloc;

/// Fuzz the `datasets` readers.
#[derive(Debug, Parser)]
#[command(name = "fuzz")]
struct Args {
    /// Total minutes, shared equally by the targets.
    #[arg(long, default_value_t = 0.0)]
    minutes: f64,
    /// Inputs each target gets at least.
    #[arg(long, default_value_t = 100_000)]
    min_inputs: u64,
    /// Markdown file to write the results into (its fuzz-run section is replaced).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Folder for findings (input bytes and a description).
    #[arg(long)]
    findings: Option<PathBuf>,
    /// Only these targets (repeatable); `--list` names them.
    #[arg(long)]
    target: Vec<String>,
    /// List the targets and exit.
    #[arg(long)]
    list: bool,
    /// Run input I of the one `--target` and print its outcome.
    #[arg(long)]
    reproduce: Option<u64>,
    /// Run this file as an input of the one `--target` and print its outcome.
    #[arg(long)]
    input: Option<PathBuf>,
    /// With --reproduce or --input: shrink the input first, print it as a Rust byte string.
    #[arg(long)]
    minimise: bool,
    /// After each target, print its N most frequent error messages (normalised).
    #[arg(long, default_value_t = 0)]
    errors: usize,
    /// With --reproduce or --input: write the input to this file (before running it, and
    /// again once minimised).
    #[arg(long)]
    save: Option<PathBuf>,
}

fn targets(names: &[String]) -> Result<Vec<Target>, String> {
    if names.is_empty() {
        return Ok(fuzz::targets::all());
    }
    names
        .iter()
        .map(|n| fuzz::targets::by_name(n).ok_or_else(|| format!("no target `{n}` (see --list)")))
        .collect()
}

fn main() -> Result<(), String> {
    let args = Args::parse();
    if args.list {
        for t in fuzz::targets::all() {
            println!("{:16} {}", t.name, t.reader);
        }
        return Ok(());
    }
    let targets = targets(&args.target)?;
    if args.reproduce.is_some() || args.input.is_some() {
        let [target] = targets.as_slice() else {
            return Err("--reproduce and --input need exactly one --target".into());
        };
        return reproduce(target, &args);
    }
    let share = Duration::from_secs_f64(args.minutes.max(0.0) * 60.0 / targets.len() as f64);
    let budget = Budget {
        min_inputs: args.min_inputs,
        min_time: share,
    };
    let started = chrono::Utc::now();
    let mut all = Vec::new();
    for target in &targets {
        let bar = ProgressBar::new(args.min_inputs);
        bar.set_style(
            ProgressStyle::with_template(
                "{prefix:16} [{elapsed_precise}] {bar:30} {pos}/{len} {msg}",
            )
            .map_err(|e| e.to_string())?,
        );
        bar.set_prefix(target.name);
        let stats = fuzz(target, budget, args.findings.as_deref(), |s| {
            if s.inputs % 256 == 0 {
                bar.set_position(s.inputs);
                bar.set_message(format!(
                    "ok {} err {} ({} kinds) findings {}",
                    s.ok,
                    s.errors,
                    s.distinct_errors.len(),
                    s.finding_count()
                ));
            }
        })
        .map_err(|e| format!("{}: {e}", target.name))?;
        bar.finish_and_clear();
        print!("{}", fuzz::report::row(&stats));
        let mut common: Vec<(&String, &u64)> = stats.distinct_errors.iter().collect();
        common.sort_by(|a, b| b.1.cmp(a.1));
        for (message, count) in common.into_iter().take(args.errors) {
            println!("    {count:6}  {message}");
        }
        all.push(stats);
    }
    let finished = chrono::Utc::now();
    let table = fuzz::report::table(&all);
    let findings = fuzz::report::findings(&all);
    println!("\n{table}");
    if !findings.is_empty() {
        println!("findings:\n{findings}");
    }
    if let Some(out) = &args.out {
        let section = section(&args, &table, &findings, started, finished);
        write_section(out, &section).map_err(|e| format!("{}: {e}", out.display()))?;
        println!("wrote {}", out.display());
    }
    let count: u64 = all.iter().map(|s| s.finding_count()).sum();
    if count > 0 {
        return Err(format!("{count} findings"));
    }
    Ok(())
}

fn reproduce(target: &Target, args: &Args) -> Result<(), String> {
    let input = match (&args.input, args.reproduce) {
        (Some(file), _) => std::fs::read(file).map_err(|e| format!("{}: {e}", file.display()))?,
        (None, Some(index)) => {
            let corpus: Vec<Vec<u8>> = target
                .corpus()
                .map_err(|e| e.to_string())?
                .into_iter()
                .map(|(_, b)| b)
                .collect();
            fuzz::runner::input(target, &Mutator::new(&corpus, target.text), index)
        }
        (None, None) => unreachable!("checked by the caller"),
    };
    // Saved before it runs too: an input that hangs or aborts is then still at hand.
    if let Some(file) = &args.save {
        std::fs::write(file, &input).map_err(|e| format!("{}: {e}", file.display()))?;
    }
    let (input, outcome) = if args.minimise {
        fuzz::minimise::minimise(target, &input).map_err(|e| e.to_string())?
    } else {
        let scratch = Scratch::new(target).map_err(|e| e.to_string())?;
        let _quiet = fuzz::panics::SilentPanics::install();
        let outcome = run_one(target, &scratch, args.reproduce.unwrap_or(0), &input)
            .map_err(|e| e.to_string())?;
        (input, outcome)
    };
    println!(
        "{}: {} ({} bytes, {:.3} s, peak {} bytes)\n{}",
        target.name,
        outcome.class.label(),
        input.len(),
        outcome.elapsed.as_secs_f64(),
        outcome.peak,
        outcome.message
    );
    if args.minimise {
        println!("b\"{}\"", input.escape_ascii());
    }
    if let Some(file) = &args.save {
        std::fs::write(file, &input).map_err(|e| format!("{}: {e}", file.display()))?;
        println!("wrote {}", file.display());
    }
    Ok(())
}

/// The text of a command's first line of output, if it runs.
fn command_output(program: &str, args: &[&str]) -> Option<String> {
    let out = std::process::Command::new(program)
        .args(args)
        .output()
        .ok()?;
    out.status.success().then(|| {
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .next()
            .unwrap_or("")
            .trim()
            .to_string()
    })
}

fn section(
    args: &Args,
    table: &str,
    findings: &str,
    started: chrono::DateTime<chrono::Utc>,
    finished: chrono::DateTime<chrono::Utc>,
) -> String {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let command =
        std::env::var("FUZZ_COMMAND").unwrap_or_else(|_| format!("fuzz {}", argv.join(" ")));
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines().find_map(|l| {
                l.strip_prefix("model name")
                    .map(|m| m.trim_start_matches([' ', '\t', ':']).to_string())
            })
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let nproc = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let commit = command_output("git", &["rev-parse", "--short", "HEAD"])
        .unwrap_or_else(|| "unknown".into());
    let rustc = command_output("rustc", &["--version"]).unwrap_or_else(|| "unknown rustc".into());
    let mut s = String::new();
    s.push_str(&format!(
        "Command: `{command}` (each reader: at least {} inputs and {:.1} minutes / readers).\n\n",
        args.min_inputs, args.minutes
    ));
    s.push_str(&format!(
        "Machine: {cpu}, nproc {nproc}; {rustc}; commit {commit}; started {}, finished {} (UTC).\n\n",
        started.format("%Y-%m-%d %H:%M:%S"),
        finished.format("%Y-%m-%d %H:%M:%S")
    ));
    s.push_str(table);
    if findings.is_empty() {
        s.push_str("\nNo panics, hangs or unbounded allocations.\n");
    } else {
        s.push_str("\nFindings:\n\n");
        s.push_str(findings);
    }
    s
}

const BEGIN: &str = "<!-- fuzz-run:begin -->";
const END: &str = "<!-- fuzz-run:end -->";

/// Replaces the fuzz-run section of `path` (or appends one, creating the file if needed).
fn write_section(path: &std::path::Path, section: &str) -> std::io::Result<()> {
    let old = std::fs::read_to_string(path).unwrap_or_default();
    let block = format!("{BEGIN}\n{section}{END}");
    let new = match (old.find(BEGIN), old.find(END)) {
        (Some(a), Some(b)) if a < b => format!("{}{block}{}", &old[..a], &old[b + END.len()..]),
        _ if old.is_empty() => format!("# Fuzzing\n\n{block}\n"),
        _ => format!("{}\n{block}\n", old.trim_end()),
    };
    std::fs::write(path, new)
}
