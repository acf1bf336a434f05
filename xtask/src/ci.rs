//! `cargo xtask ci`: every check CI runs, in order, with a timing table at the end.
//!
//! Stages keep going after a failure so that one run reports every problem; only a
//! stage that needs an earlier one's output (the book needs the figures) is skipped,
//! and counts as failed. The last line is always `ci: N passed, M failed`, where each
//! stage is one check except grading (one per exercise or mutant) and notebooks (one
//! per notebook).

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Result;

use crate::grade::{self, Mode};
use crate::{book, figures, notebooks, repro, util};

/// Passed and failed checks of one stage.
#[derive(Clone, Copy)]
struct Checks {
    passed: usize,
    failed: usize,
}

const ONE_PASSED: Checks = Checks {
    passed: 1,
    failed: 0,
};
const ONE_FAILED: Checks = Checks {
    passed: 0,
    failed: 1,
};

struct Report {
    stage: &'static str,
    checks: Checks,
    elapsed: Duration,
    note: &'static str,
}

pub fn run(root: &Path) -> ExitCode {
    let start = Instant::now();
    let mut reports = Vec::new();
    let cargo = |args: &[&str]| -> Result<Checks> {
        util::run(util::cargo().args(args).current_dir(root))?;
        Ok(ONE_PASSED)
    };
    let graded = |mode: Mode| -> Result<Checks> {
        let summary = grade::grade(root, mode)?;
        Ok(Checks {
            passed: summary.passed,
            failed: summary.failed,
        })
    };

    let r = &mut reports;
    stage(r, "fmt", || cargo(&["fmt", "--all", "--", "--check"]));
    let clippy = ["clippy", "--workspace", "--all-targets"];
    stage(r, "clippy", || {
        cargo(&[&clippy[..], &["--", "-D", "warnings"]].concat())
    });
    for (name, feature) in [
        ("clippy solutions", "exercises/solutions"),
        ("clippy mutants", "exercises/mutants"),
    ] {
        let args = [
            &clippy[..],
            &["--features", feature, "--", "-D", "warnings"],
        ]
        .concat();
        stage(r, name, || cargo(&args));
    }
    stage(r, "test", || {
        cargo(&["test", "--workspace", "--features", "exercises/solutions"])
    });
    stage(r, "grade --check-stubs", || graded(Mode::CheckStubs));
    stage(r, "grade --solutions", || graded(Mode::Solutions));
    stage(r, "grade --mutants", || graded(Mode::Mutants));
    // Quick mode: the same seeded figures; only the timing table takes fewer repetitions,
    // since CI tests the pipeline, not this machine's speed.
    let figures_ok = stage(r, "figures", || {
        figures::run(root, true)?;
        Ok(ONE_PASSED)
    });
    // One check per experiment: the quick form of the same code, into target/, so the
    // book keeps the full runs' numbers.
    stage(r, "repro --quick", || {
        let (passed, failed) = repro::quick_all(root);
        Ok(Checks { passed, failed })
    });
    if figures_ok {
        stage(r, "book", || {
            book::build(root)?;
            Ok(ONE_PASSED)
        });
    } else {
        println!("\n==> [book] skipped: it shows the figures, which failed");
        r.push(Report {
            stage: "book",
            checks: ONE_FAILED,
            elapsed: Duration::ZERO,
            note: "skipped (figures failed)",
        });
    }
    stage(r, "notebooks", || {
        let executed = notebooks::execute(root)?;
        Ok(Checks {
            passed: executed.passed,
            failed: executed.failed,
        })
    });

    print_summary(&reports, start.elapsed())
}

/// Runs one stage, printing `[name] ok|FAILED (time)`; an error counts as one failed
/// check. Returns whether the stage passed.
fn stage(
    reports: &mut Vec<Report>,
    name: &'static str,
    body: impl FnOnce() -> Result<Checks>,
) -> bool {
    println!("\n==> [{name}]");
    let started = Instant::now();
    let checks = body().unwrap_or_else(|err| {
        println!("error: {err:#}");
        ONE_FAILED
    });
    let elapsed = started.elapsed();
    let verdict = if checks.failed == 0 { "ok" } else { "FAILED" };
    println!("[{name}] {verdict} ({})", util::secs(elapsed));
    reports.push(Report {
        stage: name,
        checks,
        elapsed,
        note: "",
    });
    checks.failed == 0
}

fn print_summary(reports: &[Report], total: Duration) -> ExitCode {
    let width = reports.iter().map(|r| r.stage.len()).max().unwrap_or(0);
    println!(
        "\n{:width$} | result | checks               | time",
        "stage"
    );
    for report in reports {
        let Checks { passed, failed } = report.checks;
        let result = if failed == 0 { "ok" } else { "FAILED" };
        let line = format!(
            "{:width$} | {result:6} | {passed:>3} passed, {failed} failed | {:>8} {}",
            report.stage,
            util::secs(report.elapsed),
            report.note
        );
        println!("{}", line.trim_end());
    }
    println!("total time {}", util::secs(total));
    let passed: usize = reports.iter().map(|r| r.checks.passed).sum();
    let failed: usize = reports.iter().map(|r| r.checks.failed).sum();
    // Everything printed before must be out before the closing line, which CI reads as
    // the run's result and must therefore come last.
    let _ = std::io::stderr().flush();
    println!("ci: {passed} passed, {failed} failed");
    let _ = std::io::stdout().flush();
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
