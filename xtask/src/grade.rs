//! `cargo xtask grade`: grade the exercises in `exercises/`.
//!
//! Each exercise is one integration-test target `exercises/tests/exNN_name.rs`, which
//! includes the learner's stub `exercises/src/exNN_name.rs`, or with feature `solutions`
//! the reference solution, or with feature `mutants` a solution with planted mistakes
//! chosen by `RECURRENT_MUTANT`. Every exercise is compiled and run on its own, so one
//! that does not compile or loops forever is reported for itself and the others are
//! still graded.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::util;

/// Longest a single exercise's tests may run; the graders take well under a second,
/// so hitting this means a loop that never ends.
const TIMEOUT: Duration = Duration::from_secs(60);
/// Width of the hint column, so the table stays readable in an 100-column terminal.
const HINT_WIDTH: usize = 60;

#[derive(Clone, Copy, PartialEq)]
pub enum Mode {
    /// The learner's own code in `exercises/src/`: every test should pass.
    Learner,
    /// The reference solutions: every test must pass.
    Solutions,
    /// The untouched `todo!()` stubs: every test must fail, or its grader is vacuous.
    CheckStubs,
    /// Planted mistakes: each must make a test fail with the hint named for it.
    Mutants,
}

/// How many checks passed and failed: exercises for most modes, mutants for `Mutants`.
pub struct Summary {
    pub passed: usize,
    pub failed: usize,
}

/// Runs one grading mode as a command: prints the table, ends with `N passed, M failed`
/// and exits non-zero unless everything passed.
pub fn command(root: &Path, mode: Mode) -> Result<ExitCode> {
    let summary = grade(root, mode)?;
    if mode == Mode::Learner && summary.failed > 0 {
        println!("(exit status 1 until every exercise passes; that is expected while you work)");
    }
    println!("{} passed, {} failed", summary.passed, summary.failed);
    Ok(if summary.failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Grades every exercise in `mode`, printing a table and details of each failure.
pub fn grade(root: &Path, mode: Mode) -> Result<Summary> {
    let exercises = discover(root)?;
    if exercises.is_empty() {
        bail!(
            "no exercises found in {}",
            root.join("exercises/tests").display()
        );
    }
    if mode == Mode::Mutants {
        return grade_mutants(root, &exercises);
    }
    let features = match mode {
        Mode::Solutions => Some("solutions"),
        _ => None,
    };
    let title = match mode {
        Mode::Learner => "Grading your exercises (exercises/src/)",
        Mode::Solutions => "Grading the reference solutions (exercises/solutions/)",
        _ => "Checking that the todo!() stubs fail every test (exercises/src/)",
    };
    println!("{title}");
    let mut rows = Vec::new();
    let mut details = Vec::new();
    let mut summary = Summary {
        passed: 0,
        failed: 0,
    };
    for name in &exercises {
        let run = build(root, name, features)?.run(root, &[])?;
        let (ok, status, hint) = if mode == Mode::CheckStubs {
            judge_stub(&run)
        } else {
            let ok = run.outcome == Outcome::Finished && run.passed() == run.total;
            let status = if ok { "pass" } else { run.outcome.label() };
            (ok, status.to_string(), run.first_hint())
        };
        if ok {
            summary.passed += 1;
        } else {
            summary.failed += 1;
            details.push(run.details(name));
        }
        rows.push([
            name.clone(),
            format!("{}/{}", run.passed(), run.total),
            status,
            truncate(&hint, HINT_WIDTH),
        ]);
    }
    print_table(["exercise", "tests passed", "status", "hint"], &rows);
    for detail in details.iter().filter(|d| !d.is_empty()) {
        println!("\n{detail}");
    }
    Ok(summary)
}

/// A stub passes the check when it compiles and every one of its tests fails.
fn judge_stub(run: &Run) -> (bool, String, String) {
    let passing: Vec<&str> = run
        .tests
        .iter()
        .filter(|t| t.passed)
        .map(|t| t.name.as_str())
        .collect();
    match &run.outcome {
        Outcome::Finished if run.total == 0 => (false, "no tests".into(), String::new()),
        Outcome::Finished if passing.is_empty() => {
            (true, "all fail (good)".into(), run.first_hint())
        }
        Outcome::Finished => (
            false,
            "VACUOUS".into(),
            format!("pass against the stub: {}", passing.join(", ")),
        ),
        other => (false, other.label().into(), run.first_hint()),
    }
}

fn grade_mutants(root: &Path, exercises: &[String]) -> Result<Summary> {
    println!("Checking that every planted mistake is caught with its hint (exercises/mutants/)");
    let mut rows = Vec::new();
    let mut summary = Summary {
        passed: 0,
        failed: 0,
    };
    for name in exercises {
        let file = root.join("exercises/mutants").join(format!("{name}.rs"));
        let mutants = match fs::read_to_string(&file) {
            Ok(text) => parse_mutants(&text),
            Err(_) => Vec::new(),
        };
        if mutants.is_empty() {
            println!("note: {} declares no `// MUTANT:` lines", file.display());
            continue;
        }
        let binary = build(root, name, Some("mutants"))?;
        for mutant in mutants {
            let run = binary.run(root, &[("RECURRENT_MUTANT", mutant.name.as_str())])?;
            let failures = run.failure_text();
            let caught = run.outcome == Outcome::Finished
                && run.passed() < run.total
                && failures.contains(&mutant.hint);
            let status = match &run.outcome {
                Outcome::Finished if caught => "caught".to_string(),
                Outcome::Finished if run.passed() == run.total => "MISSED (all pass)".into(),
                Outcome::Finished => "WRONG HINT".into(),
                other => other.label().into(),
            };
            if caught {
                summary.passed += 1;
            } else {
                summary.failed += 1;
            }
            rows.push([
                format!("{name}/{}", mutant.name),
                truncate(&mutant.hint, 40),
                status,
                truncate(&run.hint_about(&mutant.hint), HINT_WIDTH),
            ]);
        }
    }
    print_table(["mutant", "expected hint", "status", "grader said"], &rows);
    Ok(summary)
}

/// Exercise names (`exNN_name`) from `exercises/tests/ex*.rs`, sorted.
fn discover(root: &Path) -> Result<Vec<String>> {
    let dir = root.join("exercises/tests");
    let mut names = Vec::new();
    for entry in fs::read_dir(&dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = entry?.path();
        let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
        if stem.starts_with("ex") && path.extension().is_some_and(|e| e == "rs") {
            names.push(stem.to_string());
        }
    }
    names.sort();
    Ok(names)
}

/// A built test binary, or the compiler's first error.
enum Built {
    Binary(PathBuf),
    CompileError(String),
}

/// Builds one exercise's test binary with cargo's JSON messages, which name the
/// executable and carry the compiler's diagnostics.
fn build(root: &Path, name: &str, features: Option<&str>) -> Result<Built> {
    let mut cmd = util::cargo();
    cmd.args(["test", "--package", "exercises", "--test", name, "--no-run"])
        .arg("--message-format=json")
        .current_dir(root);
    if let Some(features) = features {
        cmd.args(["--features", features]);
    }
    let out = cmd
        .output()
        .with_context(|| format!("running `{}`", util::describe(&cmd)))?;
    let mut first_error = None;
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let Ok(msg) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        match msg["reason"].as_str() {
            Some("compiler-artifact") if msg["profile"]["test"] == true => {
                if let Some(exe) = msg["executable"].as_str() {
                    return Ok(Built::Binary(PathBuf::from(exe)));
                }
            }
            Some("compiler-message") if msg["message"]["level"] == "error" => {
                let rendered = msg["message"]["rendered"].as_str().unwrap_or("");
                first_error.get_or_insert_with(|| rendered.to_string());
            }
            _ => {}
        }
    }
    // No compiler error: cargo itself failed (bad manifest, unknown target...), and
    // says why on stderr.
    Ok(Built::CompileError(first_error.unwrap_or_else(|| {
        format!(
            "`{}` failed:\n{}",
            util::describe(&cmd),
            String::from_utf8_lossy(&out.stderr).trim()
        )
    })))
}

impl Built {
    /// Runs the tests one at a time with a [`TIMEOUT`], from the exercises crate's
    /// folder like `cargo test` does.
    fn run(&self, root: &Path, env: &[(&str, &str)]) -> Result<Run> {
        let binary = match self {
            Built::CompileError(error) => return Ok(Run::compile_error(error)),
            Built::Binary(binary) => binary,
        };
        let mut child = Command::new(binary)
            .args(["--test-threads=1", "--color=never"])
            .current_dir(root.join("exercises"))
            // Backtraces would bury the graders' hints in noise.
            .env("RUST_BACKTRACE", "0")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?;
        // Drain both pipes on their own threads: a chatty test would otherwise block on
        // a full pipe and look like an infinite loop.
        let stdout = drain(child.stdout.take());
        let stderr = drain(child.stderr.take());
        let start = Instant::now();
        let status = loop {
            if let Some(status) = child.try_wait()? {
                break Some(status);
            }
            if start.elapsed() > TIMEOUT {
                child.kill()?;
                child.wait()?;
                break None;
            }
            thread::sleep(Duration::from_millis(20));
        };
        let stdout = stdout.join().unwrap_or_default();
        let stderr = stderr.join().unwrap_or_default();
        let mut run = parse_libtest(&stdout);
        run.outcome = match status {
            None => Outcome::TimedOut,
            // libtest exits 101 on failing tests; anything else, or a run that never
            // printed its summary, is a crash (stack overflow, abort, ...).
            Some(status) if status.success() || status.code() == Some(101) => {
                if stdout.contains("test result:") {
                    Outcome::Finished
                } else {
                    Outcome::Crashed(stderr.lines().last().unwrap_or("").to_string())
                }
            }
            Some(status) => {
                Outcome::Crashed(format!("{status}: {}", stderr.lines().last().unwrap_or("")))
            }
        };
        Ok(run)
    }
}

fn drain<R: Read + Send + 'static>(pipe: Option<R>) -> thread::JoinHandle<String> {
    thread::spawn(move || {
        let mut bytes = Vec::new();
        if let Some(mut pipe) = pipe {
            // A read error just truncates what is shown; the exit status still counts.
            let _ = pipe.read_to_end(&mut bytes);
        }
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

#[derive(Debug, PartialEq)]
enum Outcome {
    Finished,
    CompileError(String),
    TimedOut,
    Crashed(String),
}

impl Outcome {
    fn label(&self) -> &'static str {
        match self {
            Outcome::Finished => "fail",
            Outcome::CompileError(_) => "compile error",
            Outcome::TimedOut => "timed out",
            Outcome::Crashed(_) => "crashed",
        }
    }
}

#[derive(Debug, PartialEq)]
struct TestResult {
    name: String,
    passed: bool,
    /// The panic message of a failed test (graders put the likely mistake in it).
    message: String,
}

/// What one run of a test binary showed.
#[derive(Debug, PartialEq)]
struct Run {
    outcome: Outcome,
    /// From `running N tests`, so a run cut short still knows how many there were.
    total: usize,
    tests: Vec<TestResult>,
}

impl Run {
    fn compile_error(error: &str) -> Run {
        Run {
            outcome: Outcome::CompileError(error.to_string()),
            total: 0,
            tests: Vec::new(),
        }
    }

    fn passed(&self) -> usize {
        self.tests.iter().filter(|t| t.passed).count()
    }

    /// All failure messages together, which a mutant's hint must appear in.
    fn failure_text(&self) -> String {
        let messages: Vec<&str> = self
            .tests
            .iter()
            .filter(|t| !t.passed)
            .map(|t| t.message.as_str())
            .collect();
        messages.join("\n")
    }

    /// One line saying what went wrong first, for the table.
    fn first_hint(&self) -> String {
        self.hint_about("")
    }

    /// Like [`Run::first_hint`], preferring the first failure that mentions `wanted`.
    fn hint_about(&self, wanted: &str) -> String {
        match &self.outcome {
            Outcome::CompileError(error) => error.lines().next().unwrap_or("").to_string(),
            Outcome::TimedOut => {
                format!("no result after {} s (infinite loop?)", TIMEOUT.as_secs())
            }
            Outcome::Crashed(why) => why.clone(),
            Outcome::Finished => {
                let mut failed = self.tests.iter().filter(|t| !t.passed);
                let first = failed.clone().next();
                failed
                    .find(|t| t.message.contains(wanted))
                    .or(first)
                    .map(|t| summarise(&t.message))
                    .unwrap_or_default()
            }
        }
    }

    /// The full story of a failed exercise, printed below the table.
    fn details(&self, exercise: &str) -> String {
        let mut out = String::new();
        match &self.outcome {
            Outcome::CompileError(error) => {
                out = format!("== {exercise}: does not compile\n{}", error.trim_end());
            }
            Outcome::TimedOut | Outcome::Crashed(_) => {
                out = format!("== {exercise}: {}", self.first_hint());
            }
            Outcome::Finished => {
                // Unimplemented tests are already explained by the table.
                let failed = self.tests.iter().filter(|t| !t.passed);
                for test in failed.filter(|t| !t.message.starts_with(TODO_PANIC)) {
                    out.push_str(&format!("== {exercise}::{}\n{}\n", test.name, test.message));
                }
            }
        }
        out.trim_end().to_string()
    }
}

/// What `todo!()` panics with; learners get told plainly instead.
const TODO_PANIC: &str = "not yet implemented";
const TODO_HINT: &str = "not implemented yet (todo!)";

/// First line of a panic message, without `assert_eq!`'s preamble, which would push the
/// grader's own words out of the table.
fn summarise(message: &str) -> String {
    let first = message.lines().next().unwrap_or("").trim();
    if first.starts_with(TODO_PANIC) {
        return TODO_HINT.to_string();
    }
    match first.split_once("` failed: ") {
        Some((assertion, hint)) if assertion.starts_with("assertion `") => hint.to_string(),
        _ => first.to_string(),
    }
}

/// Parses libtest's plain output: `test NAME ... ok|FAILED|ignored` lines and the
/// `---- NAME stdout ----` sections holding each failure's panic message.
fn parse_libtest(stdout: &str) -> Run {
    let mut run = Run {
        outcome: Outcome::Finished,
        total: 0,
        tests: Vec::new(),
    };
    for line in stdout.lines() {
        if let Some(count) = line
            .strip_prefix("running ")
            .and_then(|r| r.split(' ').next())
        {
            run.total += count.parse::<usize>().unwrap_or(0);
        } else if let Some(rest) = line.strip_prefix("test ") {
            if let Some((name, verdict)) = rest.rsplit_once(" ... ") {
                if verdict == "ignored" {
                    run.total = run.total.saturating_sub(1);
                    continue;
                }
                run.tests.push(TestResult {
                    name: name.to_string(),
                    passed: verdict == "ok",
                    message: String::new(),
                });
            }
        }
    }
    for test in run.tests.iter_mut().filter(|t| !t.passed) {
        test.message = failure_section(stdout, &test.name).unwrap_or_default();
    }
    run
}

/// The panic message in a failed test's `---- NAME stdout ----` section: the lines
/// after `thread '...' panicked at FILE:LINE:COL:`, up to libtest's `note:` line.
fn failure_section(stdout: &str, name: &str) -> Option<String> {
    let header = format!("---- {name} stdout ----");
    let start = stdout.find(&header)? + header.len();
    let section = &stdout[start..];
    let end = ["\n---- ", "\nfailures:\n"]
        .iter()
        .filter_map(|marker| section.find(marker))
        .min()
        .unwrap_or(section.len());
    let section = &section[..end];
    let mut message = Vec::new();
    let mut in_panic = false;
    for line in section.lines() {
        if line.starts_with("thread '") && line.contains("panicked at") {
            in_panic = true;
            // Before Rust 1.73 the message followed on the same line after a quote.
            if let Some((_, inline)) = line.split_once("panicked at '") {
                message.push(inline.trim_end_matches(['\'', ','].as_slice()));
            }
        } else if line.starts_with("note: ") {
            in_panic = false;
        } else if in_panic {
            message.push(line);
        }
    }
    let text = if message.is_empty() {
        section.trim().to_string()
    } else {
        message.join("\n").trim().to_string()
    };
    Some(text)
}

/// A planted mistake: `// MUTANT: <name> | <hint the grader must give>`.
#[derive(Debug, PartialEq)]
struct Mutant {
    name: String,
    hint: String,
}

fn parse_mutants(source: &str) -> Vec<Mutant> {
    source
        .lines()
        .filter_map(|line| line.trim().strip_prefix("// MUTANT:"))
        .filter_map(|rest| rest.split_once('|'))
        .map(|(name, hint)| Mutant {
            name: name.trim().to_string(),
            hint: hint.trim().to_string(),
        })
        .filter(|m| !m.name.is_empty() && !m.hint.is_empty())
        .collect()
}

fn truncate(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        text.to_string()
    } else {
        let cut: String = text.chars().take(width - 1).collect();
        format!("{cut}…")
    }
}

fn print_table<const N: usize>(header: [&str; N], rows: &[[String; N]]) {
    let mut widths = header.map(|h| h.chars().count());
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        println!("{}", padded.join(" | ").trim_end());
    };
    line(header.to_vec());
    let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
    println!("{}", rule.join("-|-"));
    for row in rows {
        line(row.iter().map(String::as_str).collect());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OUTPUT: &str = "
running 3 tests
test hidden_state_shape ... ok
test gradient_matches_numeric ... FAILED
test stub_is_done ... FAILED

failures:

---- gradient_matches_numeric stdout ----

thread 'gradient_matches_numeric' panicked at tests/ex03_bptt.rs:41:5:
dW_hh is off: did you accumulate over all time steps?
  max abs difference: 0.25
note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace

---- stub_is_done stdout ----

thread 'stub_is_done' panicked at src/ex03_bptt.rs:3:5:
not yet implemented: backward pass

failures:
    gradient_matches_numeric
    stub_is_done

test result: FAILED. 1 passed; 2 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.01s
";

    #[test]
    fn parses_results_and_panic_messages() {
        let run = parse_libtest(OUTPUT);
        assert_eq!(run.total, 3);
        assert_eq!(run.passed(), 1);
        assert_eq!(run.tests[1].name, "gradient_matches_numeric");
        assert_eq!(
            run.tests[1].message,
            "dW_hh is off: did you accumulate over all time steps?\n  max abs difference: 0.25"
        );
        assert_eq!(
            run.first_hint(),
            "dW_hh is off: did you accumulate over all time steps?"
        );
        assert_eq!(summarise(&run.tests[2].message), TODO_HINT);
        assert_eq!(run.hint_about("max abs"), run.first_hint());
        assert_eq!(
            summarise("assertion `left == right` failed: h is off\n  left: 1\n right: 2"),
            "h is off"
        );
        assert!(run
            .failure_text()
            .contains("accumulate over all time steps"));
    }

    #[test]
    fn ignored_tests_do_not_count() {
        let run = parse_libtest("running 2 tests\ntest a ... ok\ntest b ... ignored\n");
        assert_eq!((run.passed(), run.total), (1, 1));
    }

    #[test]
    fn stub_judgement() {
        let mut run = parse_libtest(OUTPUT);
        assert_eq!(judge_stub(&run).1, "VACUOUS");
        run.tests[0].passed = false;
        assert!(judge_stub(&run).0);
        run.outcome = Outcome::CompileError("error[E0308]: mismatched types".into());
        assert_eq!(judge_stub(&run).1, "compile error");
        assert!(!judge_stub(&parse_libtest("running 0 tests\n")).0);
    }

    #[test]
    fn parses_mutant_lines() {
        let source = "// MUTANT: no_accumulate | did you accumulate over all time steps?\n\
            fn f() {}\n    // MUTANT:  wrong_sign|sign of the gradient \n\
            // MUTANT: missing_separator\n// not a MUTANT: x | y";
        assert_eq!(
            parse_mutants(source),
            [
                Mutant {
                    name: "no_accumulate".into(),
                    hint: "did you accumulate over all time steps?".into()
                },
                Mutant {
                    name: "wrong_sign".into(),
                    hint: "sign of the gradient".into()
                },
            ]
        );
    }

    #[test]
    fn truncates_long_hints() {
        assert_eq!(truncate("abcdef", 4), "abc…");
        assert_eq!(truncate("abc", 4), "abc");
    }
}
