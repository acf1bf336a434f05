//! The benchmark's results: medians over rounds, ratios within rounds, the printed table,
//! the JSON, and the book's tables (Markdown and CSV) and roofline figure.

use super::step::{flops, Cell, CONFIGS};
use super::THREADS;
use anyhow::{Context, Result};
use plotters::prelude::*;
use serde_json::{json, Value};
use std::fmt::Write as _;
use std::path::Path;

/// Writes through a temporary file and a rename, so the book never includes half a table.
pub fn write_atomic(path: &Path, text: &str) -> Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("renaming to {}", path.display()))
}

fn median(mut v: Vec<f64>) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    })
}

/// One row of the main table.
#[derive(Clone, Debug)]
pub struct Row {
    pub config: (usize, usize, usize),
    pub cell: Cell,
    pub train: bool,
    pub threads: usize,
    /// Median over rounds of our median step time, seconds.
    pub ours: f64,
    /// The same for PyTorch, if it ran.
    pub torch: Option<f64>,
    /// Median over rounds of PyTorch's time / ours, each from the same round.
    pub ratio: Option<f64>,
}

impl Row {
    fn tokens(&self) -> f64 {
        (self.config.0 * self.config.1) as f64
    }
    pub fn ours_tps(&self) -> f64 {
        self.tokens() / self.ours
    }
    pub fn torch_tps(&self) -> Option<f64> {
        self.torch.map(|t| self.tokens() / t)
    }
    pub fn gflops(&self, secs: f64) -> f64 {
        flops(self.cell, self.train, self.config) / secs / 1e9
    }
    fn mode(&self) -> &'static str {
        if self.train {
            "train"
        } else {
            "forward"
        }
    }
}

pub struct Results {
    records: Vec<Value>,
    rows: Vec<Row>,
    /// GEMM peak per thread count, GFLOP/s (median over rounds).
    peak: Vec<(usize, f64)>,
    /// Triad bandwidth per thread count, GB/s.
    bandwidth: Vec<(usize, f64)>,
}

fn field<'a>(r: &'a Value, k: &str) -> &'a Value {
    &r[k]
}

fn num(r: &Value, k: &str) -> f64 {
    field(r, k).as_f64().unwrap_or(f64::NAN)
}

fn int(r: &Value, k: &str) -> usize {
    field(r, k).as_u64().unwrap_or(0) as usize
}

impl Results {
    pub fn new(records: Vec<Value>) -> Self {
        let of_kind = |kind: &'static str| records.iter().filter(move |r| r["kind"] == kind);
        let mut rows = Vec::new();
        for &config in CONFIGS {
            for cell in [Cell::Lstm, Cell::Gru] {
                for train in [true, false] {
                    for threads in THREADS {
                        let matches = |r: &&Value, imp: &str| {
                            r["impl"] == imp
                                && r["cell"] == cell.name()
                                && r["mode"] == if train { "train" } else { "forward" }
                                && (int(r, "b"), int(r, "t"), int(r, "h")) == config
                                && int(r, "threads") == threads
                        };
                        let per_round = |imp: &str| -> Vec<(usize, f64)> {
                            of_kind("run")
                                .filter(|r| matches(r, imp))
                                .map(|r| (int(r, "round"), num(r, "seconds")))
                                .collect()
                        };
                        let (ours, torch) = (per_round("ours"), per_round("pytorch"));
                        let Some(ours_median) = median(ours.iter().map(|x| x.1).collect()) else {
                            continue;
                        };
                        let ratios: Vec<f64> = ours
                            .iter()
                            .filter_map(|(round, o)| {
                                torch.iter().find(|(r, _)| r == round).map(|(_, t)| t / o)
                            })
                            .collect();
                        rows.push(Row {
                            config,
                            cell,
                            train,
                            threads,
                            ours: ours_median,
                            torch: median(torch.iter().map(|x| x.1).collect()),
                            ratio: median(ratios),
                        });
                    }
                }
            }
        }
        let per_threads = |kind: &'static str, key: &str| -> Vec<(usize, f64)> {
            THREADS
                .iter()
                .filter_map(|&t| {
                    let v = of_kind(kind)
                        .filter(|r| int(r, "threads") == t)
                        .map(|r| num(r, key))
                        .collect();
                    median(v).map(|m| (t, m))
                })
                .collect()
        };
        let peak = per_threads("peak", "gflops");
        let bandwidth = per_threads("bandwidth", "gbs");
        Results {
            records,
            rows,
            peak,
            bandwidth,
        }
    }

    fn peak(&self, threads: usize) -> Option<f64> {
        self.peak.iter().find(|p| p.0 == threads).map(|p| p.1)
    }

    /// The `second` cell's training-step time over the `first`'s, same size and threads,
    /// the two taking steps in turn: the median and the quartiles of the ratios of every
    /// turn of every round.
    fn in_turns(
        &self,
        [first, second]: [Cell; 2],
        config: (usize, usize, usize),
        threads: usize,
    ) -> Option<[f64; 3]> {
        let mut ratios: Vec<f64> = self
            .records
            .iter()
            .filter(|r| {
                r["kind"] == "in_turns"
                    && r["first"] == first.name()
                    && r["second"] == second.name()
                    && int(r, "threads") == threads
                    && (int(r, "b"), int(r, "t"), int(r, "h")) == config
            })
            .filter_map(|r| r["ratios"].as_array())
            .flatten()
            .filter_map(Value::as_f64)
            .collect();
        ratios.sort_by(f64::total_cmp);
        let at = |q: f64| ratios[((ratios.len() - 1) as f64 * q).round() as usize];
        (!ratios.is_empty()).then(|| {
            [
                at(0.25),
                median(ratios.clone()).unwrap_or(f64::NAN),
                at(0.75),
            ]
        })
    }

    /// The main table as Markdown (also what the terminal shows).
    fn results_md(&self) -> String {
        let mut s = String::from(
            "| (B, T, H) | cell | step | threads | ours, tokens/s | PyTorch, tokens/s | ours / PyTorch | ours, GFLOP/s | PyTorch, GFLOP/s | ours, % of GEMM peak |\n\
             |---|---|---|---:|---:|---:|---:|---:|---:|---:|\n",
        );
        for r in &self.rows {
            let (b, t, h) = r.config;
            let opt = |v: Option<f64>, f: &dyn Fn(f64) -> String| v.map_or("–".to_string(), f);
            let _ = writeln!(
                s,
                "| ({b}, {t}, {h}) | {} | {} | {} | {:.0} | {} | {} | {:.1} | {} | {} |",
                r.cell.name(),
                r.mode(),
                r.threads,
                r.ours_tps(),
                opt(r.torch_tps(), &|v| format!("{v:.0}")),
                opt(r.ratio, &|v| format!("**{v:.2}×**")),
                r.gflops(r.ours),
                opt(r.torch, &|v| format!("{:.1}", r.gflops(v))),
                opt(self.peak(r.threads), &|p| format!(
                    "{:.0}%",
                    100.0 * r.gflops(r.ours) / p
                )),
            );
        }
        s
    }

    fn summary_md(&self) -> String {
        let mut s = String::from("| measure | 1 thread | 2 threads |\n|---|---:|---:|\n");
        let cell =
            |v: Option<f64>, unit: &str| v.map_or("–".to_string(), |v| format!("{v:.0} {unit}"));
        let by = |list: &[(usize, f64)], t: usize| list.iter().find(|p| p.0 == t).map(|p| p.1);
        let _ = writeln!(
            s,
            "| float32 matrix-multiply peak (best of matrixmultiply and the crate's micro-kernel, square products) | {} | {} |",
            cell(by(&self.peak, 1), "GFLOP/s"),
            cell(by(&self.peak, 2), "GFLOP/s")
        );
        let _ = writeln!(
            s,
            "| memory bandwidth (triad, 3 × 256 MiB) | {} | {} |",
            cell(by(&self.bandwidth, 1), "GB/s"),
            cell(by(&self.bandwidth, 2), "GB/s")
        );
        // What the GRU's step would cost against the LSTM's if only the matrix products
        // counted: the line the measured ratios below can approach, not cross.
        for &config in CONFIGS {
            let (b, t, h) = config;
            let ratio = flops(Cell::Gru, true, config) / flops(Cell::Lstm, true, config);
            let _ = writeln!(
                s,
                "| GRU / LSTM, FLOPs of the matrix products of a training step at ({b}, {t}, {h}) | {ratio:.3} | {ratio:.3} |"
            );
        }
        let pairs = CONFIGS
            .iter()
            .map(|&config| ([Cell::Lstm, Cell::Gru], config, "GRU / LSTM"))
            .chain([(
                [Cell::Gru, Cell::Gru],
                (1, 100, 100),
                "one GRU / a copy of it (a check of the method: 1 expected)",
            )]);
        for (cells, config, what) in pairs {
            let (b, t, h) = config;
            let ratio = |th| {
                self.in_turns(cells, config, th)
                    .map_or("–".into(), |[p25, m, p75]| {
                        format!("{m:.2} ({p25:.2}–{p75:.2})")
                    })
            };
            let _ = writeln!(
                s,
                "| {what}, training-step time at ({b}, {t}, {h}), steps in turn: median (quartiles) | {} | {} |",
                ratio(1),
                ratio(2)
            );
        }
        s
    }

    fn optimisations_md(&self) -> String {
        let mut s = String::from(
            "| optimisation | (B, T, H) | before, ms | after, ms | speed-up |\n|---|---|---:|---:|---:|\n",
        );
        for r in self.records.iter().filter(|r| r["kind"] == "ablation") {
            let (before, after) = (num(r, "before"), num(r, "after"));
            // A measurement that does not depend on the sizes has (0, 0, 0).
            let sizes = match (int(r, "b"), int(r, "t"), int(r, "h")) {
                (0, 0, 0) => "any".to_string(),
                (b, t, h) => format!("({b}, {t}, {h})"),
            };
            // Milliseconds to three decimals, or to three significant digits below 0.1 ms
            // (a hand-off takes a microsecond).
            let ms = |secs: f64| {
                let ms = 1e3 * secs;
                if ms >= 0.1 {
                    format!("{ms:.3}")
                } else {
                    format!("{ms:.3e}")
                }
            };
            let _ = writeln!(
                s,
                "| {} | {sizes} | {} | {} | {:.2}× |",
                r["name"].as_str().unwrap_or("?"),
                ms(before),
                ms(after),
                before / after
            );
        }
        s
    }

    fn memory_md(&self) -> String {
        let mut s = String::from("| quantity | MiB |\n|---|---:|\n");
        let mib = |bytes: f64| bytes / (1024.0 * 1024.0);
        for r in self.records.iter().filter(|r| r["kind"] == "memory") {
            let (b, t, h) = (int(r, "b"), int(r, "t"), int(r, "h"));
            let n = (b * t) as f64;
            let hf = h as f64;
            let f32b = 4.0;
            // What BPTT must keep for the LSTM: i, f, g, o, c_t and h_t at every step.
            let must = n * 6.0 * hf * f32b;
            // What our cache keeps: that, tanh(c_t), the inputs, h_0 and c_0.
            let cache =
                n * (7.0 * hf + super::step::VOCAB as f64) * f32b + 2.0 * (b * h) as f64 * f32b;
            let before = num(r, "rss_before_kib") * 1024.0;
            let peak = num(r, "peak_rss_kib") * 1024.0;
            let rows = [
                (
                    format!("activations BPTT must keep, LSTM ({b}, {t}, {h}): T·B·6H floats"),
                    must,
                ),
                (
                    "the fast LSTM's cache (adds tanh(c_t), the inputs, h_0, c_0)".to_string(),
                    cache,
                ),
                ("resident before the model existed".to_string(), before),
                ("peak resident during training steps".to_string(), peak),
                ("peak minus before".to_string(), peak - before),
            ];
            for (what, bytes) in rows {
                let _ = writeln!(s, "| {what} | {:.1} |", mib(bytes));
            }
        }
        s
    }

    /// The terminal table, and the headline numbers under it.
    pub fn table_text(&self) -> String {
        let mut s = self.results_md();
        s.push('\n');
        s.push_str(&self.summary_md());
        s.push('\n');
        s.push_str(&self.optimisations_md());
        s.push('\n');
        s.push_str(&self.memory_md());
        s
    }

    pub fn json(&self) -> String {
        let rows: Vec<Value> = self
            .rows
            .iter()
            .map(|r| {
                json!({
                    "b": r.config.0, "t": r.config.1, "h": r.config.2,
                    "cell": r.cell.name(), "mode": r.mode(), "threads": r.threads,
                    "ours_seconds": r.ours, "ours_tokens_per_s": r.ours_tps(),
                    "ours_gflops": r.gflops(r.ours),
                    "pytorch_seconds": r.torch, "pytorch_tokens_per_s": r.torch_tps(),
                    "ours_over_pytorch": r.ratio,
                })
            })
            .collect();
        let doc = json!({
            "rows": rows,
            "gemm_peak_gflops": self.peak,
            "bandwidth_gbs": self.bandwidth,
            "records": self.records,
        });
        serde_json::to_string_pretty(&doc).unwrap_or_default()
    }

    pub fn write_book(&self, dir: &Path, made_by: &str) -> Result<()> {
        let tables = [
            ("bench-results.md", self.results_md()),
            ("bench-summary.md", self.summary_md()),
            ("bench-optimisations.md", self.optimisations_md()),
            ("bench-memory.md", self.memory_md()),
        ];
        for (name, table) in tables {
            write_atomic(&dir.join(name), &format!("{table}\n{made_by}\n"))?;
        }
        let mut csv = String::from(
            "b,t,h,cell,step,threads,ours_tokens_per_s,pytorch_tokens_per_s,ours_over_pytorch,ours_gflops\n",
        );
        for r in &self.rows {
            let opt = |v: Option<f64>| v.map_or(String::new(), |v| format!("{v:.4}"));
            let _ = writeln!(
                csv,
                "{},{},{},{},{},{},{:.1},{},{},{:.3}",
                r.config.0,
                r.config.1,
                r.config.2,
                r.cell.name(),
                r.mode(),
                r.threads,
                r.ours_tps(),
                opt(r.torch_tps()),
                opt(r.ratio),
                r.gflops(r.ours)
            );
        }
        write_atomic(&dir.join("bench-results.csv"), &csv)?;
        let svg = dir.join("bench-roofline.svg");
        let tmp = dir.join("bench-roofline.svg.tmp");
        self.roofline(&tmp)?;
        std::fs::rename(&tmp, &svg).with_context(|| format!("renaming to {}", svg.display()))
    }

    /// Achieved GFLOP/s of every 2-thread training and forward row against the arithmetic
    /// intensity of the step's sequential product, under the measured GEMM peak and the
    /// memory-bandwidth roof.
    fn roofline(&self, path: &Path) -> Result<()> {
        let threads = 2;
        let peak = self.peak(threads).unwrap_or(100.0);
        let bw = self
            .bandwidth
            .iter()
            .find(|b| b.0 == threads)
            .map_or(10.0, |b| b.1);
        let root = SVGBackend::new(path, (760, 460)).into_drawing_area();
        root.fill(&WHITE).map_err(plot_err)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(
                "Achieved float32 GFLOP/s, 2 threads, against the roofs of this machine",
                ("sans-serif", 16),
            )
            .margin(14)
            .x_label_area_size(40)
            .y_label_area_size(56)
            .build_cartesian_2d(
                (0.1f64..100.0).log_scale(),
                (0.5f64..(peak * 2.0)).log_scale(),
            )
            .map_err(plot_err)?;
        chart
            .configure_mesh()
            .x_desc("arithmetic intensity of the per-step product, FLOP/byte")
            .y_desc("GFLOP/s")
            .draw()
            .map_err(plot_err)?;
        let roof: Vec<(f64, f64)> = (0..=60)
            .map(|k| {
                let ai = 0.1 * 10f64.powf(k as f64 / 20.0);
                (ai, (bw * ai).min(peak))
            })
            .collect();
        chart
            .draw_series(LineSeries::new(roof, BLACK.stroke_width(2)))
            .map_err(plot_err)?
            .label(format!(
                "roof: min({bw:.0} GB/s × intensity, GEMM peak {peak:.0} GFLOP/s)"
            ))
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLACK.stroke_width(2)));
        let point = |r: &Row| (intensity(r.cell, r.config), r.gflops(r.ours));
        let rows: Vec<&Row> = self.rows.iter().filter(|r| r.threads == threads).collect();
        let series: [(&str, bool, RGBColor); 2] =
            [("training step", true, BLUE), ("forward pass", false, RED)];
        for (what, train, color) in series {
            for (shape_is_lstm, cell) in [(true, Cell::Lstm), (false, Cell::Gru)] {
                let pts: Vec<(f64, f64)> = rows
                    .iter()
                    .filter(|r| r.train == train && r.cell == cell)
                    .map(|r| point(r))
                    .collect();
                let label = format!("ours, {}, {what}", cell.name());
                if shape_is_lstm {
                    chart
                        .draw_series(pts.iter().map(|&p| Circle::new(p, 5, color.filled())))
                        .map_err(plot_err)?
                        .label(label)
                        .legend(move |(x, y)| Circle::new((x + 10, y), 5, color.filled()));
                } else {
                    chart
                        .draw_series(
                            pts.iter()
                                .map(|&p| TriangleMarker::new(p, 6, color.filled())),
                        )
                        .map_err(plot_err)?
                        .label(label)
                        .legend(move |(x, y)| TriangleMarker::new((x + 10, y), 6, color.filled()));
                }
                let torch: Vec<(f64, f64)> = rows
                    .iter()
                    .filter(|r| r.train == train && r.cell == cell)
                    .filter_map(|r| Some((intensity(r.cell, r.config), r.gflops(r.torch?))))
                    .collect();
                if !torch.is_empty() {
                    chart
                        .draw_series(
                            torch
                                .iter()
                                .map(|&p| Cross::new(p, 5, color.stroke_width(2))),
                        )
                        .map_err(plot_err)?
                        .label(format!("PyTorch, {}, {what}", cell.name()))
                        .legend(move |(x, y)| Cross::new((x + 10, y), 5, color.stroke_width(2)));
                }
            }
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerRight)
            .border_style(BLACK)
            .background_style(WHITE.mix(0.9))
            .draw()
            .map_err(plot_err)?;
        root.present().map_err(plot_err)?;
        Ok(())
    }
}

/// FLOPs per byte of the product each time step must do in order, $h_{t-1} W_{hh}^\top$:
/// $2 B G H^2$ operations over the bytes of $W_{hh}$, $h_{t-1}$ and the result, each read
/// or written once (float32). It grows with the batch: at B = 1 it is below 1/2.
fn intensity(cell: Cell, (b, _, h): (usize, usize, usize)) -> f64 {
    let g = (cell.blocks() * h) as f64;
    let (b, h) = (b as f64, h as f64);
    2.0 * b * g * h / (4.0 * (g * h + b * h + b * g))
}

fn plot_err<E: std::error::Error + Send + Sync + 'static>(
    e: DrawingAreaErrorKind<E>,
) -> anyhow::Error {
    anyhow::anyhow!("drawing failed: {e}")
}
