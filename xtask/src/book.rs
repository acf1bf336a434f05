//! `cargo xtask book`: build the mdBook and prove it works offline.
//!
//! Learners read the book from a laptop on a train as often as online, and mdbook-katex
//! fails soft (a bad formula is left as raw LaTeX and the build still exits 0), so every
//! build is followed by [`offline_check`] on the generated site.

use std::fs;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};

use crate::{figures, tools, util};

/// URL `serve` prints and binds; loopback only, the book is for the person at the desk.
const HOST: &str = "127.0.0.1";
const PORT: &str = "3000";

/// Installs the tools, renders figures, builds and checks the book, then serves it
/// unless `build_only`.
pub fn run(root: &Path, build_only: bool) -> Result<()> {
    figures::run(root, false)?;
    build(root)?;
    if !build_only {
        println!("serving the book on http://{HOST}:{PORT} (Ctrl-C to stop)");
        util::run(
            Command::new(tools::ensure(&tools::MDBOOK)?)
                .args(["serve", "book", "--hostname", HOST, "--port", PORT])
                .current_dir(root)
                .env("PATH", util::path_with_cargo_bin()),
        )?;
    }
    Ok(())
}

/// Vendors KaTeX, runs `mdbook build book` and the offline check. Figures are not
/// rendered here so that CI can time and report them as a stage of their own.
pub fn build(root: &Path) -> Result<()> {
    let mdbook = tools::ensure(&tools::MDBOOK)?;
    tools::ensure(&tools::MDBOOK_KATEX)?;
    tools::vendor_katex(root)?;
    let katex_failures = mdbook_build(root, &mdbook)?;
    let site = root.join("book/book");
    let offences = offline_check(&site)?;
    for offence in &offences {
        println!("{offence}");
    }
    if katex_failures > 0 {
        bail!("mdbook-katex could not render {katex_failures} formula(s), see its warnings above");
    }
    if !offences.is_empty() {
        bail!(
            "offline check of {} failed: {} problem(s) listed above",
            site.display(),
            offences.len()
        );
    }
    println!("offline check of {} passed", site.display());
    Ok(())
}

/// `mdbook build`, returning how many "Rendering failed" warnings mdbook-katex gave:
/// for inline maths those leave no trace in the HTML that could be checked afterwards.
fn mdbook_build(root: &Path, mdbook: &Path) -> Result<usize> {
    let mut cmd = Command::new(mdbook);
    cmd.args(["build", "book"])
        .current_dir(root)
        .env("PATH", util::path_with_cargo_bin())
        .stderr(Stdio::piped());
    println!("$ {}", util::describe(&cmd));
    let mut child = cmd.spawn().context("could not start mdbook")?;
    let mut katex_failures = 0;
    if let Some(stderr) = child.stderr.take() {
        for line in BufReader::new(stderr).lines() {
            let line = line?;
            eprintln!("{line}");
            if line.contains("Rendering failed") {
                katex_failures += 1;
            }
        }
    }
    let status = child.wait()?;
    if !status.success() {
        bail!("mdbook build failed ({status})");
    }
    Ok(katex_failures)
}

/// One reason the built book would not work offline, with where it was found.
#[derive(Debug, PartialEq)]
pub struct Offence {
    pub file: String,
    pub line: usize,
    pub what: String,
}

impl std::fmt::Display for Offence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.what)
    }
}

/// The stylesheet every page with maths must link; mdbook-katex's own link is disabled.
const KATEX_CSS: &str = "katex/katex.min.css";

/// Checks the built site in `site` (normally `book/book/`) for anything that needs the
/// network or shows broken maths: remote scripts, stylesheets, fonts or images; raw
/// `$$` or mdbook-katex's "Rendering failed"; maths on a page that loads no local KaTeX
/// CSS; no vendored KaTeX woff2 fonts.
pub fn offline_check(site: &Path) -> Result<Vec<Offence>> {
    let mut files = Vec::new();
    collect_files(site, &mut files)?;
    files.sort();
    let css_present = site.join(KATEX_CSS).is_file();
    let mut offences = Vec::new();
    for path in files {
        let Some(ext) = path.extension().and_then(|e| e.to_str()) else {
            continue;
        };
        if !matches!(ext, "html" | "css" | "js") {
            continue;
        }
        let text =
            fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
        let name = path
            .strip_prefix(site)
            .unwrap_or(&path)
            .display()
            .to_string();
        offences.extend(check_file(&name, ext, &text, css_present));
    }
    let fonts = site.join("katex/fonts");
    let has_woff2 = fs::read_dir(&fonts).is_ok_and(|entries| {
        entries
            .flatten()
            .any(|e| e.path().extension().is_some_and(|x| x == "woff2"))
    });
    if !has_woff2 {
        offences.push(Offence {
            file: "katex/fonts/".into(),
            line: 0,
            what: "no .woff2 KaTeX fonts (run `cargo xtask book` to vendor them)".into(),
        });
    }
    Ok(offences)
}

fn collect_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    for entry in fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = entry?.path();
        if path.is_dir() {
            collect_files(&path, out)?;
        } else {
            out.push(path);
        }
    }
    Ok(())
}

/// All checks on one file of the site; `ext` is "html", "css" or "js", and
/// `katex_css_present` whether the site contains [`KATEX_CSS`].
fn check_file(name: &str, ext: &str, text: &str, katex_css_present: bool) -> Vec<Offence> {
    let mut offences = Vec::new();
    let mut offend = |pos: usize, what: String| {
        offences.push(Offence {
            file: name.to_string(),
            line: line_of(text, pos),
            what,
        })
    };
    // Tags, attributes and URL schemes are case-insensitive, so matching happens on a
    // lower-cased copy; it has the same byte offsets, so `original` maps matches back.
    let lower = text.to_ascii_lowercase();
    let original = |part: &str| {
        let start = part.as_ptr() as usize - lower.as_ptr() as usize;
        text[start..start + part.len()].to_string()
    };
    if ext == "html" || ext == "js" {
        for (tag, attr) in [
            ("script", "src"),
            ("link", "href"),
            ("img", "src"),
            ("iframe", "src"),
        ] {
            for (pos, tag_text) in tags(&lower, tag) {
                if let Some(url) = attr_value(tag_text, attr).filter(|u| is_remote(u)) {
                    let url = original(url);
                    offend(
                        pos,
                        format!("<{tag} {attr}=\"{url}\"> loads from the network"),
                    );
                }
            }
        }
    }
    if ext == "html" {
        // Code blocks keep their dollars verbatim (a doc comment with LaTeX included
        // from the crate, a shell snippet), so only prose counts.
        let code = code_spans(&lower);
        for needle in ["Rendering failed", "$$"] {
            let in_prose = text
                .match_indices(needle)
                .map(|(pos, _)| pos)
                .find(|pos| !code.iter().any(|span| span.contains(pos)));
            if let Some(pos) = in_prose {
                offend(pos, format!("unrendered maths: `{needle}` in the page"));
            }
        }
        if let Some(pos) = text.find("class=\"katex\"") {
            let linked = tags(&lower, "link").into_iter().any(|(_, tag)| {
                attr_value(tag, "href").is_some_and(|href| href.ends_with(KATEX_CSS))
            });
            if !linked {
                offend(pos, format!("page has maths but no <link> to {KATEX_CSS}"));
            } else if !katex_css_present {
                offend(
                    pos,
                    format!("page links {KATEX_CSS}, missing from the site"),
                );
            }
        }
    }
    if ext == "html" || ext == "css" {
        for (pos, url) in css_urls(&lower) {
            if is_remote(url) {
                let url = original(url);
                offend(pos, format!("CSS loads `{url}` from the network"));
            }
        }
    }
    offences
}

/// 1-based line number of byte offset `pos`.
fn line_of(text: &str, pos: usize) -> usize {
    text[..pos].matches('\n').count() + 1
}

/// Whether a lower-cased URL points off this machine (protocol-relative included).
fn is_remote(url: &str) -> bool {
    let url = url.trim();
    url.starts_with("http://") || url.starts_with("https://") || url.starts_with("//")
}

/// Opening tags `<name ...>` in lower-cased `html`: offset and text up to `>`.
fn tags<'a>(html: &'a str, name: &str) -> Vec<(usize, &'a str)> {
    let open = format!("<{name}");
    html.match_indices(&open)
        .filter_map(|(pos, _)| {
            let rest = &html[pos + open.len()..];
            // `<linkfoo` is another tag; a real one continues with whitespace, `>` or `/`.
            if !rest.starts_with(|c: char| c.is_whitespace() || c == '>' || c == '/') {
                return None;
            }
            let end = rest.find('>').unwrap_or(rest.len());
            Some((pos, &rest[..end]))
        })
        .collect()
}

/// Byte ranges of `<pre>` and `<code>` elements in lower-cased `html`.
fn code_spans(html: &str) -> Vec<std::ops::Range<usize>> {
    let mut spans = Vec::new();
    for name in ["pre", "code"] {
        let close = format!("</{name}>");
        for (start, _) in tags(html, name) {
            let end = html[start..]
                .find(&close)
                .map_or(html.len(), |end| start + end);
            spans.push(start..end);
        }
    }
    spans
}

/// Value of attribute `name` inside a tag's text, quoted or not.
fn attr_value<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let key = format!("{name}=");
    let mut from = 0;
    while let Some(found) = tag[from..].find(&key) {
        let pos = from + found;
        from = pos + key.len();
        let preceded_by_space = tag[..pos].ends_with(|c: char| c.is_whitespace());
        if !preceded_by_space {
            continue;
        }
        let value = &tag[from..];
        return Some(match value.chars().next() {
            Some(q @ ('"' | '\'')) => value[1..].split(q).next().unwrap_or(""),
            _ => value.split(char::is_whitespace).next().unwrap_or(""),
        });
    }
    None
}

/// Targets of `url(...)` and `@import "..."` in lower-cased CSS, with offsets. This also
/// covers `@font-face { src: url(...) }`.
fn css_urls(css: &str) -> Vec<(usize, &str)> {
    let mut urls = Vec::new();
    for (pos, _) in css.match_indices("url(") {
        let rest = &css[pos + 4..];
        let inner = &rest[..rest.find(')').unwrap_or(rest.len())];
        urls.push((pos, inner.trim().trim_matches(['"', '\''])));
    }
    for (pos, _) in css.match_indices("@import") {
        let rest = css[pos + 7..].trim_start();
        if let Some(q @ ('"' | '\'')) = rest.chars().next() {
            urls.push((pos, rest[1..].split(q).next().unwrap_or("")));
        }
    }
    urls
}

#[cfg(test)]
mod tests {
    use super::*;

    fn whats(name: &str, text: &str) -> Vec<String> {
        let ext = name.rsplit('.').next().unwrap();
        check_file(name, ext, text, true)
            .into_iter()
            .map(|o| format!("{}: {}", o.line, o.what))
            .collect()
    }

    #[test]
    fn local_page_with_plain_links_is_fine() {
        let page = r#"<link rel="stylesheet" href="css/general.css">
<script src="book.js"></script>
<a href="https://github.com/example/recurrent">source</a>
<img src="figures/loss.svg" alt="loss">"#;
        assert!(whats("index.html", page).is_empty());
    }

    #[test]
    fn remote_script_link_and_image_are_reported_with_lines() {
        let page = "<p>\n<script src=\"https://cdn.example/x.js\"></script>\n\
            <LINK rel=stylesheet href='//cdn.example/x.css'>\n<img alt=x src=http://e/x.png>";
        assert_eq!(
            whats("a.html", page),
            [
                "2: <script src=\"https://cdn.example/x.js\"> loads from the network",
                "3: <link href=\"//cdn.example/x.css\"> loads from the network",
                "4: <img src=\"http://e/x.png\"> loads from the network",
            ]
        );
    }

    #[test]
    fn data_src_is_not_src() {
        assert!(whats("a.html", r#"<script data-src="https://x/y.js"></script>"#).is_empty());
    }

    #[test]
    fn remote_css_imports_urls_and_fonts_are_reported() {
        let css = "@import \"https://fonts.example/css\";\n\
            @font-face { src: url(https://fonts.example/a.woff2) format('woff2'); }\n\
            .x { background: url('img/local.png'); }\n\
            @import url(//cdn.example/more.css);";
        assert_eq!(whats("theme.css", css).len(), 3);
        assert!(whats("theme.css", ".x { background: url(\"img/a.png\") }").is_empty());
    }

    #[test]
    fn inline_style_in_html_is_checked() {
        let page = r#"<style>@font-face { src: url("https://f.example/f.woff2"); }</style>"#;
        assert_eq!(whats("a.html", page).len(), 1);
    }

    #[test]
    fn unrendered_maths_is_reported() {
        assert_eq!(
            whats("a.html", "<p>ok</p>\n<p>$$ \\frac{1}{ $$</p>"),
            ["2: unrendered maths: `$$` in the page"]
        );
        assert_eq!(whats("a.html", "Rendering failed: x").len(), 1);
        // Dollars inside code are verbatim source text, not maths.
        let code = "<pre><code class=\"language-rust\">/// $$\\frac{dL}{dh}$$\n</code></pre>\n\
            <p>inline <code>echo $$</code></p>";
        assert!(whats("a.html", code).is_empty());
        assert_eq!(
            whats("a.html", &format!("{code}\n<p>$$x$$</p>")),
            ["4: unrendered maths: `$$` in the page"]
        );
        // JavaScript and CSS may legitimately contain `$$` (jQuery-style code).
        assert!(whats("a.js", "var $$ = 1;").is_empty());
    }

    #[test]
    fn maths_needs_the_local_katex_stylesheet() {
        let maths = r#"<span class="katex"><span class="katex-html">x</span></span>"#;
        assert_eq!(
            whats("ch1/a.html", maths),
            ["1: page has maths but no <link> to katex/katex.min.css"]
        );
        let linked = format!(r#"<link rel="stylesheet" href="../katex/katex.min.css">{maths}"#);
        assert!(whats("ch1/a.html", &linked).is_empty());
        let missing = check_file("a.html", "html", &linked, false);
        assert_eq!(
            missing[0].what,
            "page links katex/katex.min.css, missing from the site"
        );
    }

    #[test]
    fn offline_check_walks_a_site_and_requires_woff2_fonts() {
        let site = std::env::temp_dir().join(format!("xtask-site-{}", std::process::id()));
        fs::create_dir_all(site.join("katex/fonts")).unwrap();
        fs::write(site.join("katex/katex.min.css"), ".katex{}").unwrap();
        fs::write(site.join("index.html"), "<script src=\"https://x/y.js\">").unwrap();
        let offences = offline_check(&site).unwrap();
        assert_eq!(offences.len(), 2, "{offences:?}");
        assert_eq!(offences[1].file, "katex/fonts/");
        fs::write(site.join("katex/fonts/KaTeX_Main-Regular.woff2"), b"").unwrap();
        fs::write(site.join("index.html"), "<p>fine</p>").unwrap();
        assert!(offline_check(&site).unwrap().is_empty());
        fs::remove_dir_all(&site).unwrap();
    }
}
