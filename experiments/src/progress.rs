//! Progress: a bar with ETA and the current loss on a terminal, plain periodic lines otherwise.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

/// Progress of one loop.
pub struct Progress {
    bar: Option<ProgressBar>,
    label: String,
    total: u64,
    done: u64,
    last_line: Instant,
}

impl Progress {
    /// A loop of `total` steps.
    pub fn new(label: &str, total: u64) -> Self {
        let bar = std::io::stdout().is_terminal().then(|| {
            let bar = ProgressBar::new(total);
            bar.set_style(
                ProgressStyle::with_template(
                    "{prefix:>10} [{bar:32}] {pos}/{len} {elapsed_precise} ETA {eta_precise} {msg}",
                )
                .expect("valid template")
                .progress_chars("=> "),
            );
            bar.set_prefix(label.to_string());
            bar
        });
        Self {
            bar,
            label: label.to_string(),
            total,
            done: 0,
            last_line: Instant::now(),
        }
    }

    /// Advances by `n` steps and shows `message` (e.g. the current loss).
    pub fn inc(&mut self, n: u64, message: impl FnOnce() -> String) {
        self.done += n;
        match &self.bar {
            Some(bar) => {
                bar.inc(n);
                bar.set_message(message());
            }
            None => {
                if self.last_line.elapsed() > Duration::from_secs(10) || self.done == self.total {
                    println!("{}: {}/{} {}", self.label, self.done, self.total, message());
                    self.last_line = Instant::now();
                }
            }
        }
    }

    /// Prints a line without breaking the bar.
    pub fn println(&self, line: &str) {
        match &self.bar {
            Some(bar) => bar.println(line),
            None => println!("{line}"),
        }
    }

    /// Ends the loop.
    pub fn finish(self) {
        if let Some(bar) = self.bar {
            bar.finish();
        }
    }
}
