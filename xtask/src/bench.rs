//! `cargo xtask bench [--quick] [--compare-pytorch]`: the float32 training step and forward
//! pass of the fast LSTM and GRU (`recurrent::fast`) at three sizes, with 1 and 2 threads,
//! in tokens per second and GFLOP/s; optionally PyTorch's `nn.LSTM` / `nn.GRU` on the same
//! work, alternating the two programs so that each ratio compares runs a minute apart.
//!
//! A benchmark of a debug build measures the wrong program, so the command rebuilds itself
//! in release mode (with the `threads` feature of the crate) and runs that. Each
//! measurement runs in a worker process ([`worker`]), since the matrix multiply reads its
//! thread count once per process. Results go to `target/bench/bench.json`; a full run with
//! `--compare-pytorch` also writes the book's tables and figure into `book/src/repro/`.

mod report;
mod step;
mod worker;

use anyhow::{bail, Context, Result};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use crate::util;

pub use worker::run as worker;

/// The thread counts of the table.
const THREADS: [usize; 2] = [1, 2];

pub fn command(root: &Path, options: &[&str]) -> Result<ExitCode> {
    let quick = options.contains(&"--quick");
    let compare = options.contains(&"--compare-pytorch");
    if cfg!(debug_assertions) {
        let mut cmd = util::cargo();
        cmd.current_dir(root).args([
            "run",
            "--quiet",
            "--release",
            "--package",
            "xtask",
            "--features",
            "recurrent/threads",
            "--",
            "bench",
        ]);
        cmd.args(options);
        println!(
            "bench: building and running the release build: {}",
            util::describe(&cmd)
        );
        let status = cmd.status().context("could not start cargo")?;
        return Ok(if status.success() {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        });
    }
    let python = if compare { Some(torch_python()?) } else { None };
    let rounds = if quick { 1 } else { 3 };
    let mut records: Vec<Value> = Vec::new();
    // A B A B: ours and PyTorch alternate, per thread count, `rounds` times.
    for round in 0..rounds {
        for threads in THREADS {
            println!(
                "bench: round {}/{rounds}, {threads} thread(s): ours",
                round + 1
            );
            records.extend(tag(ours("runs", threads, quick)?, round, threads));
            if let Some(python) = &python {
                println!(
                    "bench: round {}/{rounds}, {threads} thread(s): PyTorch",
                    round + 1
                );
                records.extend(tag(pytorch(root, python, threads, quick)?, round, threads));
            }
        }
    }
    println!("bench: the optimisations one by one (1 thread)");
    records.extend(tag(ours("ablations", 1, quick)?, 0, 1));
    records.extend(tag(ours("handoff", 2, quick)?, 0, 2));
    println!("bench: peak memory of a training step");
    records.extend(tag(ours("memory", 2, quick)?, 0, 2));

    let results = report::Results::new(records);
    print!("{}", results.table_text());
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"))
        .join("bench");
    std::fs::create_dir_all(&target)?;
    let json = target.join("bench.json");
    report::write_atomic(&json, &results.json())?;
    println!("bench: wrote {}", json.display());
    if compare && !quick {
        let repro = root.join("book/src/repro");
        std::fs::create_dir_all(&repro)?;
        let made_by = format!(
            "Made by `cargo xtask bench --compare-pytorch` on {}.",
            utc_now()
        );
        results.write_book(&repro, &made_by)?;
        println!(
            "bench: wrote the book's tables and figure into {}",
            repro.display()
        );
    } else {
        println!("bench: (the book's tables are written by a full run with --compare-pytorch)");
    }
    Ok(ExitCode::SUCCESS)
}

/// Adds the round and the thread count to each record.
fn tag(records: Vec<Value>, round: usize, threads: usize) -> Vec<Value> {
    records
        .into_iter()
        .map(|mut r| {
            r["round"] = round.into();
            r["threads"] = threads.into();
            r
        })
        .collect()
}

/// Runs this program's `bench-worker <what>` with `threads` matrix-multiply threads.
fn ours(what: &str, threads: usize, quick: bool) -> Result<Vec<Value>> {
    let exe = std::env::current_exe().context("locating the xtask binary")?;
    let mut cmd = Command::new(exe);
    cmd.args(["bench-worker", what])
        .env("MATMUL_NUM_THREADS", threads.to_string());
    if quick {
        cmd.arg("--quick");
    }
    json_lines(&mut cmd)
}

/// Runs `scripts/pytorch/bench.py` with `threads` threads.
fn pytorch(root: &Path, python: &Path, threads: usize, quick: bool) -> Result<Vec<Value>> {
    let mut cmd = Command::new(python);
    cmd.arg(root.join("scripts/pytorch/bench.py"))
        .args(["--threads", &threads.to_string()])
        // Same thread count for every pool PyTorch might use, as for ours.
        .env("OMP_NUM_THREADS", threads.to_string())
        .env("MKL_NUM_THREADS", threads.to_string());
    if quick {
        cmd.arg("--quick");
    }
    json_lines(&mut cmd)
}

/// Runs `cmd` and parses each line of its standard output as JSON.
fn json_lines(cmd: &mut Command) -> Result<Vec<Value>> {
    let line = util::describe(cmd);
    let out = cmd
        .stderr(std::process::Stdio::inherit())
        .output()
        .with_context(|| format!("could not start `{line}`"))?;
    if !out.status.success() {
        bail!("`{line}` failed ({})", out.status);
    }
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).with_context(|| format!("`{line}` printed {l}")))
        .collect()
}

/// A Python with PyTorch: `$RECURRENT_TORCH_VENV` if set (an existing venv), otherwise
/// `~/.cache/recurrent/torchvenv`, created and filled with `pip install torch numpy` on
/// first use. PyPI's torch is the CUDA build (about 5 GB with its nvidia-* wheels, a couple
/// of minutes to install); it runs on the CPU all the same. Outside the repository and never
/// used by `cargo xtask ci`.
fn torch_python() -> Result<PathBuf> {
    let venv = std::env::var_os("RECURRENT_TORCH_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| util::home_dir().join(".cache/recurrent/torchvenv"));
    let python = venv.join("bin/python");
    let has_torch = |python: &Path| {
        Command::new(python)
            .args(["-c", "import torch, numpy"])
            .status()
            .is_ok_and(|s| s.success())
    };
    if python.exists() && has_torch(&python) {
        return Ok(python);
    }
    if !python.exists() {
        util::run(Command::new("python3").args(["-m", "venv"]).arg(&venv))?;
    }
    util::run(Command::new(&python).args(["-m", "pip", "install", "--quiet", "torch", "numpy"]))?;
    if !has_torch(&python) {
        bail!(
            "{} cannot import torch after installing it",
            python.display()
        );
    }
    Ok(python)
}

/// The current UTC time as `YYYY-MM-DD HH:MM UTC` (from `date`; empty if it fails).
fn utc_now() -> String {
    Command::new("date")
        .args(["-u", "+%Y-%m-%d %H:%M UTC"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}
