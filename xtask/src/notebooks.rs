//! `cargo xtask notebooks`: the evcxr Jupyter notebooks in `notebooks/`.
//!
//! Everything lives inside the repository: a Python venv in `.venv/` (Jupyter, nbclient)
//! with the evcxr kernelspec registered in `.venv/share/jupyter`, where the venv's
//! Jupyter looks by itself, and evcxr's configuration and compile cache under
//! `target/evcxr/`. Nothing in the user's home Jupyter or evcxr setup is read or changed.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{bail, Context, Result};

use crate::{tools, util};

/// The kernelspec name `evcxr_jupyter --install` registers; notebooks must declare
/// `"kernelspec": {"name": "rust", "display_name": "Rust", "language": "rust"}`.
pub const KERNEL: &str = "rust";

/// Commands evcxr runs when a kernel starts (`$EVCXR_CONFIG_DIR/init.evcxr`).
/// `:cache` keeps compiled dependencies (ndarray, rand, recurrent...) between kernel
/// sessions. Measured on a notebook training a 32-unit RNN for 500 BPTT steps: 32 s
/// without the cache, 16 s with it. `:opt 0` was slower end to end (24 s warm): cells
/// compile no faster and the training ran 15x slower. Setting `CARGO_TARGET_DIR` has no
/// effect (evcxr overrides it) and a persistent `EVCXR_TMPDIR` gained nothing.
const INIT_EVCXR: &str = ":cache 500\n";

/// How many notebooks ran cleanly and how many failed.
pub struct Executed {
    pub passed: usize,
    pub failed: usize,
}

/// Sets up the venv and kernel, then starts Jupyter Lab on `notebooks/` (blocking).
pub fn lab(root: &Path) -> Result<()> {
    let python = ensure_venv(root, &[("jupyterlab", "jupyterlab")])?;
    ensure_kernel(root, &python)?;
    let mut cmd = Command::new(&python);
    cmd.args(["-m", "jupyter", "lab", "--no-browser", "--ip=127.0.0.1"])
        .arg("--port=8888")
        // Jupyter refuses to start as root without this (containers, this project's CI
        // machines); for everyone else it changes nothing.
        .arg("--allow-root")
        .arg(format!(
            "--ServerApp.root_dir={}",
            root.join("notebooks").display()
        ));
    kernel_env(&mut cmd, root)?;
    println!(
        "starting Jupyter Lab on http://127.0.0.1:8888/lab (the login token is in the \
         URL Jupyter prints below; Ctrl-C to stop)"
    );
    util::run(&mut cmd)
}

/// Runs every `notebooks/*.ipynb` headless, one kernel per notebook, without writing
/// outputs back. A notebook fails on any cell error and on `panicked at` in a cell's
/// stderr or error output, because evcxr reports a runtime panic as plain stderr text.
pub fn execute(root: &Path) -> Result<Executed> {
    let mut executed = Executed {
        passed: 0,
        failed: 0,
    };
    let notebooks = list_notebooks(root)?;
    if notebooks.is_empty() {
        println!("no notebooks in {}", root.join("notebooks").display());
        return Ok(executed);
    }
    let python = ensure_venv(root, &[])?;
    ensure_kernel(root, &python)?;
    let script = root.join("xtask/py/execute_notebooks.py");
    for notebook in notebooks {
        let name = notebook
            .strip_prefix(root)
            .unwrap_or(&notebook)
            .display()
            .to_string();
        println!("executing {name}");
        let start = Instant::now();
        let mut cmd = Command::new(&python);
        cmd.arg(&script).arg(&notebook).arg(KERNEL);
        kernel_env(&mut cmd, root)?;
        // A panic's message is what the log needs; a backtrace into evcxr's runtime is not.
        cmd.env("RUST_BACKTRACE", "0");
        let ok = cmd
            .status()
            .with_context(|| format!("could not start {}", script.display()))?
            .success();
        let verdict = if ok { "ok" } else { "FAILED" };
        println!("{name}: {verdict} ({})", util::secs(start.elapsed()));
        if ok {
            executed.passed += 1;
        } else {
            executed.failed += 1;
        }
    }
    Ok(executed)
}

fn list_notebooks(root: &Path) -> Result<Vec<PathBuf>> {
    let dir = root.join("notebooks");
    let mut notebooks = Vec::new();
    if dir.is_dir() {
        for entry in fs::read_dir(&dir)? {
            let path = entry?.path();
            if path.extension().is_some_and(|e| e == "ipynb") {
                notebooks.push(path);
            }
        }
    }
    notebooks.sort();
    Ok(notebooks)
}

/// Creates `.venv` if needed and pip-installs nbclient/nbformat plus `extra`
/// (import name, pip name) pairs, skipping pip when they are already installed, so that
/// repeated runs cost a fraction of a second. Returns the venv's python.
fn ensure_venv(root: &Path, extra: &[(&str, &str)]) -> Result<PathBuf> {
    let venv = root.join(".venv");
    let python = venv.join("bin/python");
    if !python.is_file() {
        util::run(Command::new("python3").args(["-m", "venv"]).arg(&venv))?;
    }
    let mut packages = vec![("nbclient", "nbclient"), ("nbformat", "nbformat")];
    packages.extend_from_slice(extra);
    // find_spec locates packages without importing them: importing jupyterlab takes
    // seconds here, as PYTHONDONTWRITEBYTECODE leaves no bytecode cache.
    let modules: Vec<String> = packages.iter().map(|(m, _)| format!("'{m}'")).collect();
    let probe = format!(
        "import importlib.util as u, sys; sys.exit(not all(u.find_spec(m) for m in [{}]))",
        modules.join(", ")
    );
    let importable = Command::new(&python)
        .args(["-c", &probe])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !importable {
        let start = Instant::now();
        let mut pip = Command::new(&python);
        pip.args(["-m", "pip", "install", "--quiet"])
            .args(packages.iter().map(|(_, pip_name)| *pip_name));
        util::run(&mut pip)?;
        println!(
            "Python packages installed in {}",
            util::secs(start.elapsed())
        );
    }
    Ok(python)
}

/// Registers evcxr's kernelspec in `.venv/share/jupyter` and checks the venv's Jupyter
/// resolves [`KERNEL`] to it.
fn ensure_kernel(root: &Path, python: &Path) -> Result<()> {
    let evcxr = tools::ensure(&tools::EVCXR_JUPYTER)?;
    let mut install = Command::new(&evcxr);
    install.arg("--install").stdout(Stdio::null());
    kernel_env(&mut install, root)?;
    util::run(&mut install)?;
    let probe = format!(
        "from jupyter_client.kernelspec import KernelSpecManager as M; \
         print(M().find_kernel_specs().get('{KERNEL}', ''))"
    );
    let mut list = Command::new(python);
    list.args(["-c", &probe]);
    kernel_env(&mut list, root)?;
    let out = list.output().context("asking Jupyter for its kernels")?;
    let found = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let expected = jupyter_path(root).join("kernels").join(KERNEL);
    if Path::new(&found) != expected {
        bail!(
            "Jupyter resolves kernel `{KERNEL}` to `{found}`, expected {}",
            expected.display()
        );
    }
    println!("Jupyter kernel `{KERNEL}` (evcxr) registered in {found}");
    Ok(())
}

fn jupyter_path(root: &Path) -> PathBuf {
    root.join(".venv/share/jupyter")
}

/// Environment for Jupyter and evcxr: evcxr (un)registers itself under `JUPYTER_PATH`
/// (checked again on every kernel start), reads `init.evcxr` from `EVCXR_CONFIG_DIR`,
/// and keeps its `:cache` under `XDG_CACHE_HOME`; evcxr also needs cargo on PATH.
/// Jupyter's own data, runtime files and settings go to the venv too, instead of
/// `~/.local/share/jupyter` and `~/.jupyter`.
fn kernel_env(cmd: &mut Command, root: &Path) -> Result<()> {
    let evcxr_dir = root.join("target/evcxr");
    fs::create_dir_all(&evcxr_dir)?;
    fs::write(evcxr_dir.join("init.evcxr"), INIT_EVCXR)?;
    cmd.env("JUPYTER_PATH", jupyter_path(root))
        .env("JUPYTER_DATA_DIR", jupyter_path(root))
        .env("JUPYTER_CONFIG_DIR", root.join(".venv/etc/jupyter"))
        .env("EVCXR_CONFIG_DIR", &evcxr_dir)
        .env("XDG_CACHE_HOME", evcxr_dir.join("cache"))
        .env("PATH", util::path_with_cargo_bin());
    Ok(())
}
