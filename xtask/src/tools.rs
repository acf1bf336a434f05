//! External tools the project installs for itself, pinned and cached: mdBook, its KaTeX
//! preprocessor, the evcxr Jupyter kernel (all via `cargo install`), and KaTeX's CSS and
//! fonts (from the npm registry) so the built book renders maths with no network.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{bail, Context, Result};

use crate::util;

/// A binary crate pinned to one version.
pub struct Tool {
    pub name: &'static str,
    pub version: &'static str,
}

pub const MDBOOK: Tool = Tool {
    name: "mdbook",
    version: "0.5.4",
};
pub const MDBOOK_KATEX: Tool = Tool {
    name: "mdbook-katex",
    version: "0.10.0",
};
pub const EVCXR_JUPYTER: Tool = Tool {
    name: "evcxr_jupyter",
    version: "0.22.0",
};

/// The KaTeX release whose JavaScript mdbook-katex 0.10.0 embeds (through the `katex`
/// crate 0.4.6) to pre-render maths. The CSS and fonts must come from the same release,
/// or glyph metrics and class names drift from the generated HTML. When bumping
/// mdbook-katex, re-read this from its default stylesheet link (`KATEX_HEADER` in its
/// `src/preprocess.rs`) and from the `katex` crate's embedded `katex.js`.
pub const KATEX_VERSION: &str = "0.16.4";

/// Returns the path of `tool` at its pinned version, installing it with
/// `cargo install --locked` unless a binary that reports that version already exists in
/// `$CARGO_HOME/bin` or on PATH.
pub fn ensure(tool: &Tool) -> Result<PathBuf> {
    if let Some(found) = installed(tool) {
        return Ok(found);
    }
    let spec = format!("{}@{}", tool.name, tool.version);
    println!("installing {spec} with cargo install (first time only; this takes minutes)");
    let start = Instant::now();
    util::run(util::cargo().args(["install", "--locked", &spec]))?;
    println!("installed {spec} in {}", util::secs(start.elapsed()));
    match installed(tool) {
        Some(found) => Ok(found),
        None => bail!("{spec} is still not found after installing it"),
    }
}

/// A binary of `tool` at its pinned version: one whose `--version` says so, or, for
/// tools without that flag (evcxr_jupyter), the one cargo's install record vouches for.
fn installed(tool: &Tool) -> Option<PathBuf> {
    if let Some(found) = candidates(tool.name)
        .into_iter()
        .find(|path| reports_version(path, tool.version))
    {
        return Some(found);
    }
    let home = util::cargo_home();
    let binary = home.join("bin").join(tool.name);
    let record = format!("\"{} {} (", tool.name, tool.version);
    let recorded = fs::read_to_string(home.join(".crates.toml"))
        .is_ok_and(|installs| installs.contains(&record));
    (recorded && binary.is_file()).then_some(binary)
}

fn candidates(name: &str) -> Vec<PathBuf> {
    let mut dirs = vec![util::cargo_home().join("bin")];
    if let Some(path) = std::env::var_os("PATH") {
        dirs.extend(std::env::split_paths(&path));
    }
    dirs.into_iter()
        .map(|dir| dir.join(name))
        .filter(|path| path.is_file())
        .collect()
}

fn reports_version(binary: &Path, version: &str) -> bool {
    Command::new(binary)
        .arg("--version")
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).contains(version))
}

/// Copies `katex.min.css` and `fonts/` of KaTeX [`KATEX_VERSION`] into `book/src/katex/`
/// (gitignored), downloading the npm package once into `~/.cache/recurrent/`. The book
/// sets mdbook-katex's `no-css = true` and links this copy instead of the CDN default.
pub fn vendor_katex(root: &Path) -> Result<()> {
    let dist = katex_package()?.join("dist");
    let target = root.join("book/src/katex");
    let fonts = target.join("fonts");
    fs::create_dir_all(&fonts).with_context(|| format!("creating {}", fonts.display()))?;
    fs::copy(dist.join("katex.min.css"), target.join("katex.min.css"))
        .context("copying katex.min.css")?;
    for entry in fs::read_dir(dist.join("fonts"))? {
        let entry = entry?;
        fs::copy(entry.path(), fonts.join(entry.file_name()))
            .with_context(|| format!("copying {}", entry.path().display()))?;
    }
    println!(
        "KaTeX {KATEX_VERSION} CSS and fonts vendored into {}",
        target.display()
    );
    Ok(())
}

/// The unpacked npm package (`.../katex-VERSION/package`), fetched with `npm pack` if
/// it is not cached yet. It is unpacked next to the cache and renamed into place last,
/// so an interrupted download never leaves a half-filled cache behind.
fn katex_package() -> Result<PathBuf> {
    let caches = util::home_dir().join(".cache/recurrent");
    let cache = caches.join(format!("katex-{KATEX_VERSION}"));
    let package = cache.join("package");
    if package.join("dist/katex.min.css").is_file() {
        return Ok(package);
    }
    let staging = caches.join(format!("katex-{KATEX_VERSION}.partial"));
    if staging.exists() {
        fs::remove_dir_all(&staging)?;
    }
    fs::create_dir_all(&staging)?;
    println!("fetching KaTeX {KATEX_VERSION} from the npm registry");
    util::run(
        Command::new("npm")
            .args(["pack", "--silent", &format!("katex@{KATEX_VERSION}")])
            .current_dir(&staging)
            .stdout(Stdio::null()),
    )?;
    let tarball = format!("katex-{KATEX_VERSION}.tgz");
    util::run(
        Command::new("tar")
            .args(["-xzf", &tarball])
            .current_dir(&staging),
    )?;
    if cache.exists() {
        fs::remove_dir_all(&cache)?;
    }
    fs::rename(&staging, &cache)?;
    Ok(package)
}
