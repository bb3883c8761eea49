//! The Markdown table of a fuzz run: one row per reader.

use crate::runner::Stats;

/// The header and separator rows.
pub fn header() -> String {
    "| reader | inputs | distinct errors | ok | panics | hangs | unbounded allocations | seconds |\n\
     |---|---:|---:|---:|---:|---:|---:|---:|\n"
        .to_string()
}

/// One reader's row.
pub fn row(s: &Stats) -> String {
    format!(
        "| `{}` | {} | {} | {} | {} | {} | {} | {:.1} |\n",
        s.target.reader,
        s.inputs,
        s.distinct_errors.len(),
        s.ok,
        s.panics,
        s.hangs,
        s.unbounded_allocs,
        s.seconds
    )
}

/// The whole table, with a totals row.
pub fn table(stats: &[Stats]) -> String {
    let mut out = header();
    for s in stats {
        out.push_str(&row(s));
    }
    let sum = |f: fn(&Stats) -> u64| stats.iter().map(f).sum::<u64>();
    out.push_str(&format!(
        "| **all {} readers** | {} | {} | {} | {} | {} | {} | {:.1} |\n",
        stats.len(),
        sum(|s| s.inputs),
        sum(|s| s.distinct_errors.len() as u64),
        sum(|s| s.ok),
        sum(|s| s.panics),
        sum(|s| s.hangs),
        sum(|s| s.unbounded_allocs),
        stats.iter().map(|s| s.seconds).sum::<f64>()
    ));
    out
}

/// Each finding kind of each reader, for the report's notes: class, count, first input index
/// and message.
pub fn findings(stats: &[Stats]) -> String {
    let mut out = String::new();
    for s in stats {
        for f in &s.findings {
            out.push_str(&format!(
                "- `{}` input {} ({} bytes): {} — {}\n",
                s.target.name,
                f.index,
                f.input.len(),
                f.outcome.class.label(),
                f.outcome.message
            ));
        }
    }
    out
}
