//! `cargo xtask repro`: the experiments of the gradient lab and the classics, each one
//! command that regenerates its tables (Markdown and CSV) and figures (SVG).
//!
//! A full run writes into `book/src/repro/`, which is committed: these are measurements
//! that take minutes, and the book shows the numbers of the run that made them, with the
//! command and its wall time under every table. `--quick` runs a reduced version of the
//! same code into `target/repro-quick/`, so CI proves every experiment still runs without
//! touching the book's numbers. Every file is written to a temporary name and renamed, so
//! stopping a run with Ctrl-C never leaves a half-written table.

mod ablation;
mod adding;
mod attention;
mod cells;
mod char_lm;
pub mod cliff;
pub mod esn;
pub mod gradient_flow;
mod inside;
mod kinds;
mod latching;
pub mod plot;
mod reber;
pub mod regulariser;
pub mod remedies;
mod word_lm;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use indicatif::{ProgressBar, ProgressStyle};

/// One experiment: a name for the command line, what it reproduces, and how long a full
/// run takes on a 2-core machine.
pub struct Experiment {
    /// The command-line name, also the stem of its output files.
    pub name: &'static str,
    /// One line: what it measures and which paper it checks.
    pub about: &'static str,
    /// Expected wall time of a full run on 2 cores, in minutes (shown before it starts).
    pub minutes: f64,
    /// The experiment itself.
    pub run: fn(&Ctx) -> Result<()>,
}

/// Every experiment, in the order of the book.
pub const EXPERIMENTS: &[Experiment] = &[
    Experiment {
        name: "gradient-flow",
        about: "‖∂L/∂h_t‖ against T − t: tanh RNN over spectral radii, RNN/LSTM/GRU before and after training (Pascanu et al. 2013)",
        minutes: 6.0,
        run: gradient_flow::run,
    },
    Experiment {
        name: "cliff",
        about: "the loss along one weight of a one-unit RNN: the cliff, and plain against norm-clipped SGD on it (Pascanu et al. 2013)",
        minutes: 0.8,
        run: cliff::run,
    },
    Experiment {
        name: "remedies",
        about: "every remedy on the same tasks: clipping, truncation, identity/orthogonal init, IRNN, Ω, ESN, LSTM, GRU",
        minutes: 5.0,
        run: remedies::run,
    },
    Experiment {
        name: "esn",
        about: "echo state network on Mackey–Glass and NARMA-10: NRMSE vs spectral radius and size (Jaeger 2001)",
        minutes: 0.5,
        run: esn::run,
    },
    Experiment {
        name: "regulariser",
        about: "vanilla RNN on the adding problem with Pascanu et al. (2013)'s gradient-flow penalty",
        minutes: 6.0,
        run: regulariser::run,
    },
    Experiment {
        name: "latching",
        about: "information latching: success against T for the RNN, LSTM and GRU (Bengio, Simard & Frasconi 1994)",
        minutes: 3.6,
        run: latching::run,
    },
    Experiment {
        name: "adding",
        about: "the adding problem at T = 50, 100, 200: RNN, LSTM, GRU against the 1/6 baseline (Hochreiter & Schmidhuber 1997)",
        minutes: 6.3,
        run: adding::run,
    },
    Experiment {
        name: "reber",
        about: "the embedded Reber grammar: RNN, LSTM, GRU, the critical symbol over seeds and budgets (Hochreiter & Schmidhuber 1997)",
        minutes: 2.0,
        run: reber::run,
    },
    Experiment {
        name: "ablation",
        about: "which gates matter: Greff's LSTM variants, forget bias 1 and the GRU on three tasks",
        minutes: 2.4,
        run: ablation::run,
    },
    Experiment {
        name: "kinds",
        about: "the kinds of sequence task trained (RNN/LSTM/GRU, 3 seeds); latency of a bidirectional layer",
        minutes: 2.7,
        run: kinds::run,
    },
    Experiment {
        name: "char-lm",
        about: "a character LSTM on Shakespeare against the clock: held-out loss vs wall time, nanoGPT's 1.89 in 128 s, samples",
        minutes: 2.5,
        run: char_lm::run,
    },
    Experiment {
        name: "word-lm",
        about: "a word LSTM on Shakespeare with <unk>/<eos>: held-out perplexity, sentence probabilities, next words, samples",
        minutes: 2.1,
        run: word_lm::run,
    },
    Experiment {
        name: "inside",
        about: "looking inside a 2-layer char LSTM on Shakespeare: interpretable cells, tanh(c) as coloured text, gate saturation (Karpathy et al. 2015)",
        minutes: 3.5,
        run: inside::run,
    },
    Experiment {
        name: "attention",
        about: "encoder-decoder with and without attention: reversal by length, dates to ISO 8601",
        minutes: 8.0,
        run: attention::run,
    },
];

/// Where an experiment writes, and whether it is the quick version.
pub struct Ctx {
    /// The experiment's name (the stem of its files and the command in its captions).
    pub name: &'static str,
    /// Reduced run (fewer steps, seeds and lengths) for CI.
    pub quick: bool,
    /// The folder outputs go to.
    pub out: PathBuf,
    started: Instant,
}

/// A table of results: written as Markdown for the book and CSV for anyone's analysis.
#[derive(Default)]
pub struct Table {
    /// Column names.
    pub header: Vec<String>,
    /// Rows, each as long as the header.
    pub rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these column names and no rows yet.
    pub fn new(header: &[&str]) -> Self {
        Table {
            header: header.iter().map(|h| h.to_string()).collect(),
            rows: Vec::new(),
        }
    }

    /// Adds a row; it must have one cell per column.
    pub fn row(&mut self, cells: Vec<String>) {
        assert_eq!(
            cells.len(),
            self.header.len(),
            "a row of {} cells in a table of {} columns",
            cells.len(),
            self.header.len()
        );
        self.rows.push(cells);
    }

    fn markdown(&self) -> String {
        let mut md = String::new();
        let line = |cells: &[String]| format!("| {} |\n", cells.join(" | "));
        md.push_str(&line(&self.header));
        let rule: Vec<String> = self.header.iter().map(|_| "---".to_string()).collect();
        md.push_str(&line(&rule));
        for row in &self.rows {
            md.push_str(&line(row));
        }
        md
    }

    fn csv(&self) -> String {
        let field = |cell: &String| {
            // Markdown-only decoration (bold, code) is not data.
            let plain = cell.replace("**", "").replace('`', "");
            if plain.contains([',', '"', '\n']) {
                format!("\"{}\"", plain.replace('"', "\"\""))
            } else {
                plain
            }
        };
        let mut csv = String::new();
        for cells in std::iter::once(&self.header).chain(&self.rows) {
            let fields: Vec<String> = cells.iter().map(field).collect();
            csv.push_str(&fields.join(","));
            csv.push('\n');
        }
        csv
    }
}

impl Ctx {
    /// `full` in a full run, `quick` in a quick one: the one place an experiment's sizes
    /// differ between the two.
    pub fn pick<T>(&self, full: T, quick: T) -> T {
        if self.quick {
            quick
        } else {
            full
        }
    }

    /// The line under every table and figure caption: which command made it, in how long.
    pub fn provenance(&self) -> String {
        let quick = if self.quick { " --quick" } else { "" };
        format!(
            "Made by `cargo xtask repro {}{quick}` (seeded) in {:.0} s on {} cores.",
            self.name,
            self.started.elapsed().as_secs_f64(),
            std::thread::available_parallelism().map_or(1, |n| n.get())
        )
    }

    /// Writes `table` as `<file>.md` (with the provenance line under it) and `<file>.csv`.
    pub fn write_table(&self, file: &str, table: &Table) -> Result<()> {
        let md = format!("{}\n{}\n", table.markdown(), self.provenance());
        write_atomic(&self.out.join(format!("{file}.md")), &md)?;
        write_atomic(&self.out.join(format!("{file}.csv")), &table.csv())?;
        println!("repro {}: wrote {file}.md and {file}.csv", self.name);
        Ok(())
    }

    /// Writes a Markdown snippet (a sentence with measured numbers that the prose includes).
    pub fn write_text(&self, file: &str, text: &str) -> Result<()> {
        write_atomic(&self.out.join(format!("{file}.md")), text)
    }

    /// Draws `<file>.svg`: `draw` renders to the temporary path it is given, which is then
    /// renamed, so an interrupted drawing never replaces a good figure.
    pub fn write_svg(&self, file: &str, draw: impl FnOnce(&Path) -> Result<()>) -> Result<()> {
        let path = self.out.join(format!("{file}.svg"));
        let tmp = self.out.join(format!(".{file}.svg.tmp"));
        draw(&tmp).with_context(|| format!("drawing {}", path.display()))?;
        std::fs::rename(&tmp, &path).with_context(|| format!("renaming to {}", path.display()))?;
        println!("repro {}: wrote {file}.svg", self.name);
        Ok(())
    }

    /// A progress bar for `len` units of work with a message and a live value (the loss).
    pub fn progress(&self, len: usize, what: &str) -> ProgressBar {
        let bar = ProgressBar::new(len as u64);
        bar.set_style(
            ProgressStyle::with_template("{msg:32} [{bar:30}] {pos}/{len} {prefix} eta {eta}")
                .expect("valid template")
                .progress_chars("=> "),
        );
        bar.set_message(what.to_string());
        bar
    }
}

/// Writes `text` through a temporary file and a rename.
fn write_atomic(path: &Path, text: &str) -> Result<()> {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("out");
    let tmp = path.with_file_name(format!(".{name}.tmp"));
    std::fs::write(&tmp, text).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("renaming to {}", path.display()))?;
    Ok(())
}

/// The folder a run writes to: the book's (committed) for a full run, `target/` for quick.
pub fn out_dir(root: &Path, quick: bool) -> PathBuf {
    if quick {
        root.join("target/repro-quick")
    } else {
        root.join("book/src/repro")
    }
}

/// The list `cargo xtask repro --list` prints.
pub fn list() -> String {
    let mut text = String::from("experiments (cargo xtask repro NAME [--quick]; or `all`):\n");
    for e in EXPERIMENTS {
        let _ = writeln!(text, "  {:22} ~{:>4.1} min  {}", e.name, e.minutes, e.about);
    }
    text
}

/// Runs the experiment `name` (or every one, for `all`).
pub fn run(root: &Path, name: &str, quick: bool) -> Result<()> {
    let chosen: Vec<&Experiment> = if name == "all" {
        EXPERIMENTS.iter().collect()
    } else {
        match EXPERIMENTS.iter().find(|e| e.name == name) {
            Some(e) => vec![e],
            None => bail!("no experiment called {name:?}\n{}", list()),
        }
    };
    let out = out_dir(root, quick);
    std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
    for experiment in chosen {
        let expected = if quick {
            "a quick run".to_string()
        } else {
            format!("expected ~{:.1} min on 2 cores", experiment.minutes)
        };
        println!(
            "repro {}: {} ({expected})",
            experiment.name, experiment.about
        );
        let ctx = Ctx {
            name: experiment.name,
            quick,
            out: out.clone(),
            started: Instant::now(),
        };
        (experiment.run)(&ctx).with_context(|| format!("experiment {}", experiment.name))?;
        println!(
            "repro {}: done in {:.0} s",
            experiment.name,
            ctx.started.elapsed().as_secs_f64()
        );
    }
    Ok(())
}

/// Runs every experiment's quick form, each as one check that fails on its own: what CI
/// runs. Returns (passed, failed).
pub fn quick_all(root: &Path) -> (usize, usize) {
    let (mut passed, mut failed) = (0, 0);
    for experiment in EXPERIMENTS {
        match run(root, experiment.name, true) {
            Ok(()) => passed += 1,
            Err(err) => {
                println!("error: {err:#}");
                failed += 1;
            }
        }
    }
    (passed, failed)
}

/// Mean and sample standard deviation, formatted `m ± s` with `digits` decimals.
pub fn mean_std(values: &[f64], digits: usize) -> String {
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let var = if values.len() > 1 {
        values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0)
    } else {
        0.0
    };
    format!("{mean:.digits$} ± {:.digits$}", var.sqrt())
}
