//! `ordertrace-fuzz`: a coverage-free mutation fuzzer for every ordertrace entry that takes
//! bytes or strings from outside, on stable Rust.
//!
//! Each target starts from seeds (the shared conformance table's headers) and runs mutated
//! inputs (see [`mutate`]); an input whose outcome has a signature not seen before joins the
//! corpus, so the run keeps exploring without coverage instrumentation. Each input is checked
//! against the target's properties, not only for panics. The run is deterministic for a seed.
//!
//! ```text
//! ordertrace-fuzz --inputs 100000            # every target, 100,000 inputs each
//! ordertrace-fuzz --inputs 10000000 --seed 7 # the long run
//! ordertrace-fuzz --target baggage --inputs 1000000
//! ```
//! Exit status 1 when any input panicked or broke a property; each is printed with its input.

mod c_abi;
mod mutate;
mod reference;
mod rng;
mod targets;

use clap::Parser;
use rng::Rng;
use std::panic::{self, AssertUnwindSafe};
use std::process::ExitCode;
use std::time::Instant;

/// Coverage-free mutation fuzzing of ordertrace's parsers and entry points.
#[derive(Parser)]
struct Args {
    /// Inputs per target.
    #[arg(long, default_value_t = 100_000)]
    inputs: u64,
    /// Seed of the run (the same seed replays the same inputs).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Run only this target (repeatable); all when not given.
    #[arg(long)]
    target: Vec<String>,
    /// Most corpus entries kept per target.
    #[arg(long, default_value_t = 4096)]
    max_corpus: usize,
}

/// A memory figure of this process in KiB from `/proc/self/status` (`VmRSS`: resident now;
/// `VmHWM`: the peak so far).
fn status_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

fn show(input: &[u8]) -> String {
    let shown: String = input
        .iter()
        .take(160)
        .flat_map(|b| std::ascii::escape_default(*b))
        .map(char::from)
        .collect();
    format!(
        "{} bytes: \"{shown}\"{}",
        input.len(),
        if input.len() > 160 { "..." } else { "" }
    )
}

/// Signatures seen, as a fixed bitmap (2^22 bits, 512 KiB): memory stays flat however many
/// distinct outcomes a long run meets (a set of them grew by the millions).
struct Seen(Vec<u64>);

impl Seen {
    const BITS: u64 = 1 << 22;

    fn new() -> Self {
        Self(vec![0; (Self::BITS / 64) as usize])
    }

    /// Marks `signature`; true when it was not marked before.
    fn insert(&mut self, signature: u64) -> bool {
        let bit = signature % Self::BITS;
        let (word, mask) = ((bit / 64) as usize, 1u64 << (bit % 64));
        let new = self.0[word] & mask == 0;
        self.0[word] |= mask;
        new
    }
}

/// Largest input kept in the corpus (larger ones are still run, just not kept).
const MAX_CORPUS_INPUT: usize = 16 * 1024;

struct Report {
    inputs: u64,
    failures: Vec<String>,
    corpus: usize,
    signatures: usize,
    seconds: f64,
    rss_at_tenth: Option<u64>,
    rss_at_end: Option<u64>,
}

fn fuzz(target: &targets::Target, args: &Args, seed: u64) -> Report {
    let mut rng = Rng::new(seed);
    let mut corpus = target.seeds();
    let mut signatures = Seen::new();
    let mut distinct = 0usize;
    let mut failures = Vec::new();
    let mut rss_at_tenth = None;
    let started = Instant::now();
    for n in 0..args.inputs {
        if n == args.inputs / 10 {
            rss_at_tenth = status_kib("VmRSS:");
        }
        if n > 0 && n % 1_000_000 == 0 {
            println!(
                "  {} {n} inputs, {} failures, {:.0} s, RSS {} KiB",
                target.name,
                failures.len(),
                started.elapsed().as_secs_f64(),
                status_kib("VmRSS:").unwrap_or(0)
            );
        }
        let base = rng.below(corpus.len());
        let mut input = corpus[base].clone();
        let other = rng.below(corpus.len());
        mutate::mutate(&mut rng, &mut input, &corpus[other]);
        let outcome = panic::catch_unwind(AssertUnwindSafe(|| (target.run)(&input)));
        match outcome {
            Ok(Ok(signature)) => {
                let new = signatures.insert(signature);
                distinct += usize::from(new);
                if new && input.len() <= MAX_CORPUS_INPUT {
                    if corpus.len() < args.max_corpus {
                        corpus.push(input);
                    } else {
                        let slot = rng.below(corpus.len());
                        corpus[slot] = input;
                    }
                }
            }
            Ok(Err(broken)) => {
                if failures.len() < 20 {
                    failures.push(format!("input {n}: {broken}\n    {}", show(&input)));
                }
            }
            Err(panic) => {
                if failures.len() < 20 {
                    failures.push(format!(
                        "input {n}: PANIC {}\n    {}",
                        ordertrace::error::panic_message(panic.as_ref()),
                        show(&input)
                    ));
                }
            }
        }
    }
    Report {
        inputs: args.inputs,
        failures,
        corpus: corpus.len(),
        signatures: distinct,
        seconds: started.elapsed().as_secs_f64(),
        rss_at_tenth,
        rss_at_end: status_kib("VmRSS:"),
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    let all = targets::all();
    let unknown: Vec<&String> = args
        .target
        .iter()
        .filter(|t| !all.iter().any(|a| a.name == t.as_str()))
        .collect();
    if !unknown.is_empty() {
        let names: Vec<&str> = all.iter().map(|t| t.name).collect();
        eprintln!(
            "unknown target(s) {unknown:?}; targets: {}",
            names.join(", ")
        );
        return ExitCode::from(2);
    }
    // Panics are caught and reported per input; keep the default hook from printing each.
    panic::set_hook(Box::new(|_| {}));
    let mut failed = false;
    println!(
        "ordertrace-fuzz: {} inputs per target, seed {}",
        args.inputs, args.seed
    );
    for (i, target) in all.iter().enumerate() {
        if !args.target.is_empty() && !args.target.iter().any(|t| t == target.name) {
            continue;
        }
        let report = fuzz(target, &args, args.seed.wrapping_add(i as u64));
        let kib = |v: Option<u64>| v.map_or("?".to_string(), |k| format!("{} MiB", k / 1024));
        println!(
            "{:<16} {:>11} inputs  {:>4} failures  {:>5} signatures  {:>5} corpus  {:>7.1} s  {:>9.0} inputs/s  RSS {} at 10%, {} at the end  ({})",
            target.name,
            report.inputs,
            report.failures.len(),
            report.signatures,
            report.corpus,
            report.seconds,
            report.inputs as f64 / report.seconds.max(1e-9),
            kib(report.rss_at_tenth),
            kib(report.rss_at_end),
            target.about,
        );
        for f in &report.failures {
            println!("  FAILED {f}");
        }
        failed |= !report.failures.is_empty();
    }
    println!(
        "peak RSS of the whole run: {}",
        status_kib("VmHWM:").map_or("?".to_string(), |k| format!("{} MiB", k / 1024))
    );
    if failed {
        println!("ordertrace-fuzz: FAILED");
        ExitCode::FAILURE
    } else {
        println!("ordertrace-fuzz: 0 panics, 0 broken properties");
        ExitCode::SUCCESS
    }
}
