//! The quick fuzz budget inside `cargo test`: every reader gets [`INPUTS`] mutated inputs and
//! must end each in `Ok` or `Err` — no panic, hang or unbounded allocation — and must have
//! seen both outcomes, which shows the mutations reach the parser (a mutator whose inputs all
//! fail the first check, or all pass untouched, would make this test vacuous). The long budget
//! is `scripts/fuzz.sh` (FUZZING.md).
//!
//! The tests take one lock: the allocation counter is process-wide, so one test's allocations
//! would count against another's inputs.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use fuzz::runner::{Budget, Class, Scratch, alloc_bound, fuzz, run_one};
use fuzz::targets::all;

#[global_allocator]
static ALLOC: fuzz::alloc::CountingAlloc = fuzz::alloc::CountingAlloc;

/// Inputs per reader.
const INPUTS: u64 = 10_000;

static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

#[test]
fn every_seed_loads_ok_and_the_corpus_matches_its_recipes() {
    let _serial = serial();
    for target in all() {
        let corpus = target.corpus().unwrap();
        let mut committed: Vec<String> = corpus
            .iter()
            .map(|(p, _)| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        let mut recipes: Vec<String> = (target.seeds)().into_iter().map(|(n, _)| n).collect();
        committed.sort();
        recipes.sort();
        assert_eq!(
            committed, recipes,
            "{}: run `cargo run --bin make_corpus`",
            target.name
        );
        let scratch = Scratch::new(&target).unwrap();
        for (path, bytes) in corpus {
            let outcome = run_one(&target, &scratch, 0, &bytes).unwrap();
            assert_eq!(
                outcome.class,
                Class::Ok,
                "{}: {}",
                path.display(),
                outcome.message
            );
        }
    }
}

#[test]
fn the_allocation_counter_sees_a_runaway_allocation() {
    let _serial = serial();
    assert!(fuzz::alloc::installed());
    fuzz::alloc::reset_peak();
    let before = fuzz::alloc::current();
    // 1 MiB over the bound, not 1 byte: the counter is process-wide, and a test thread freeing
    // a few KB between `before` and this allocation made `peak − before` fall below a 1-byte
    // margin (seen once: 1 734 bytes short).
    let big = vec![1u8; alloc_bound(1000) + (1 << 20)];
    let peak = fuzz::alloc::peak() - before;
    assert!(peak > alloc_bound(1000), "{peak}");
    drop(big);
    assert!(fuzz::alloc::current() <= before + 4096);
    assert_eq!(
        fuzz::runner::classify(Ok(Ok(())), Duration::ZERO, peak, 1000).class,
        Class::UnboundedAlloc
    );
}

#[test]
fn readers_survive_the_quick_budget() {
    let _serial = serial();
    assert!(
        fuzz::alloc::installed(),
        "the counting allocator is not installed"
    );
    let start = Instant::now();
    let mut all_stats = Vec::new();
    for target in all() {
        let budget = Budget {
            min_inputs: INPUTS,
            min_time: Duration::ZERO,
        };
        all_stats.push(fuzz(&target, budget, None, |_| {}).unwrap());
    }
    println!("{}", fuzz::report::table(&all_stats));
    println!("quick budget: {:.1} s", start.elapsed().as_secs_f64());
    let findings = fuzz::report::findings(&all_stats);
    assert!(findings.is_empty(), "findings:\n{findings}");
    for s in &all_stats {
        assert_eq!(s.finding_count(), 0, "{}", s.target.name);
        assert!(
            s.ok > 0 && s.errors > 0,
            "{}: {} ok and {} errors of {} inputs: the mutations do not reach the parser",
            s.target.name,
            s.ok,
            s.errors,
            s.inputs
        );
    }
}
