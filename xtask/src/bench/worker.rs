//! What one benchmark process measures. `cargo xtask bench` starts this as
//! `xtask bench-worker <runs|ablations|memory|handoff> [--quick]` with `MATMUL_NUM_THREADS` set,
//! because the matrix multiply reads its thread count once per process; each result is one
//! JSON object on its own line of standard output.

use super::step::{Cell, Model, Path, CONFIGS};
use anyhow::{bail, Result};
use ndarray::linalg::general_mat_mul;
use ndarray::{Array1, Array2, Array3, Axis};
use recurrent::activations::{sigmoid, tanh};
use recurrent::fast::{run_parts, weight_grads, FastReal, GradWorkspace, Out, Panels};
use serde_json::json;
use std::hint::black_box;
use std::time::Instant;

/// Median seconds of `f` after warm-up. The repetitions are chosen from one trial run so
/// that a row takes about `budget` seconds, within [`min_reps`, 60].
fn median_secs(budget: f64, min_reps: usize, mut f: impl FnMut()) -> f64 {
    let start = Instant::now();
    f(); // the first call also allocates the workspaces and warms the caches
    let trial = start.elapsed().as_secs_f64().max(1e-6);
    f();
    let reps = ((budget / trial) as usize).clamp(min_reps, 60);
    let mut times: Vec<f64> = (0..reps)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64()
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

/// The time budget per measured row, and the fewest repetitions.
fn budget(quick: bool) -> (f64, usize) {
    if quick {
        (0.3, 3)
    } else {
        (1.5, 3)
    }
}

pub fn run(what: &str, quick: bool) -> Result<()> {
    match what {
        "runs" => runs(quick),
        "ablations" => ablations(quick),
        "memory" => memory(),
        "handoff" => handoff(quick),
        _ => bail!("unknown bench-worker task {what}"),
    }
    Ok(())
}

/// The main table: every configuration, both cells, training step and forward pass; then
/// the float32 GEMM peak and the memory bandwidth of this process's thread count.
fn runs(quick: bool) {
    let (budget, min_reps) = budget(quick);
    for &(b, t, h) in CONFIGS {
        for cell in [Cell::Lstm, Cell::Gru] {
            for train in [true, false] {
                let mut model = Model::new(cell, Path::Fast, (b, t, h));
                let secs = median_secs(budget, min_reps, || {
                    black_box(if train {
                        model.train_step()
                    } else {
                        model.forward()
                    });
                });
                let record = json!({
                    "kind": "run", "impl": "ours", "cell": cell.name(),
                    "mode": if train { "train" } else { "forward" },
                    "b": b, "t": t, "h": h, "seconds": secs,
                });
                println!("{record}");
            }
        }
    }
    // The GRU against the LSTM at every size, and, as a check on the method, one GRU
    // against a second copy of itself at batch 1, where the check once found 8%.
    let pairs = CONFIGS
        .iter()
        .map(|&config| ([Cell::Lstm, Cell::Gru], config))
        .chain([([Cell::Gru, Cell::Gru], (1, 100, 100))]);
    for (cells, (b, t, h)) in pairs {
        let ratios = in_turns(cells, (b, t, h), budget, min_reps);
        let record = json!({
            "kind": "in_turns", "first": cells[0].name(), "second": cells[1].name(),
            "b": b, "t": t, "h": h, "ratios": ratios,
        });
        println!("{record}");
    }
    println!("{}", json!({"kind": "peak", "gflops": gemm_peak(quick)}));
    println!("{}", json!({"kind": "bandwidth", "gbs": bandwidth(quick)}));
}

/// The second model's training-step time over the first's at one size, measured in turns
/// so that both see the same state of a shared machine (A B A B, as against PyTorch): a
/// few steps of the first, then as many of the second, and again. The first step of each
/// turn is not timed (the other model has just had the caches); each turn gives the ratio
/// of the two median steps, one number per turn.
fn in_turns(
    cells: [Cell; 2],
    config: (usize, usize, usize),
    budget: f64,
    min_reps: usize,
) -> Vec<f64> {
    let mut models = cells.map(|cell| Model::new(cell, Path::Fast, config));
    let start = Instant::now();
    for model in &mut models {
        black_box(model.train_step()); // allocates the workspaces
    }
    let trial = start.elapsed().as_secs_f64().max(1e-6);
    // Turns of about 0.1 s, at least 3 timed steps each, over about three times the
    // budget and at least 3 · `min_reps` turns: a ratio is the measurement the targets
    // are stated in, and the spread of a few turns at (64, 100, 256) was ±10%.
    let steps = ((0.1 / trial) as usize).clamp(3, 50);
    let turns = ((3.0 * budget / (trial * steps as f64)) as usize).clamp(3 * min_reps, 40);
    (0..turns)
        .map(|_| {
            let [first, second] = models.each_mut().map(|model| {
                black_box(model.train_step());
                let mut times: Vec<f64> = (0..steps)
                    .map(|_| {
                        let t = Instant::now();
                        black_box(model.train_step());
                        t.elapsed().as_secs_f64()
                    })
                    .collect();
                times.sort_by(f64::total_cmp);
                times[times.len() / 2]
            });
            second / first
        })
        .collect()
}

/// The float32 matrix-multiply peak on this machine: the best of square products of a few
/// sizes, by ndarray's matrixmultiply and by the crate's packed micro-kernel (with the
/// rows split across the threads, as the fast layers split their batch), in GFLOP/s.
fn gemm_peak(quick: bool) -> f64 {
    let (budget, min_reps) = budget(quick);
    let threads = recurrent::fast::threads();
    [512, 1024, 1536]
        .iter()
        .map(|&n| {
            let a = Array2::<f32>::from_elem((n, n), 0.5);
            let b = Array2::<f32>::from_elem((n, n), 0.25);
            let mut c = Array2::<f32>::zeros((n, n));
            let library = median_secs(budget, min_reps, || {
                general_mat_mul(1.0, &a, &b, 0.0, &mut c);
                black_box(&c);
            });
            let mut packed = Panels::default();
            packed.pack(b.view());
            let kernel = median_secs(budget, min_reps, || {
                std::thread::scope(|scope| {
                    let rows = n.div_ceil(threads);
                    for (a, mut c) in a
                        .axis_chunks_iter(Axis(0), rows)
                        .zip(c.axis_chunks_iter_mut(Axis(0), rows))
                    {
                        let packed = &packed;
                        scope.spawn(move || {
                            if !f32::packed_product(packed, a, &mut c, Out::Add) {
                                packed.times_add(a, &mut c);
                            }
                        });
                    }
                });
                black_box(&c);
            });
            2.0 * (n * n * n) as f64 / library.min(kernel) / 1e9
        })
        .fold(0.0, f64::max)
}

/// Main-memory bandwidth in GB/s: the "triad" a = b + s·c (McCalpin's STREAM) over arrays
/// much larger than the caches, counting 3 arrays of traffic.
fn bandwidth(quick: bool) -> f64 {
    let n = if quick { 1 << 23 } else { 1 << 26 }; // 32 MiB or 256 MiB per array
    let mut a = vec![0.0f32; n];
    let b = vec![1.0f32; n];
    let c = vec![2.0f32; n];
    let secs = median_secs(0.5, 3, || {
        for ((a, &b), &c) in a.iter_mut().zip(&b).zip(&c) {
            *a = b + 0.5 * c;
        }
        black_box(&a);
    });
    3.0 * 4.0 * n as f64 / secs / 1e9
}

fn ablation(name: &str, config: (usize, usize, usize), before: f64, after: f64) {
    let (b, t, h) = config;
    let record = json!({
        "kind": "ablation", "name": name, "b": b, "t": t, "h": h,
        "before": before, "after": after,
    });
    println!("{record}");
}

/// Each optimisation on its own, measured against what it replaces.
fn ablations(quick: bool) {
    let (budget, min_reps) = budget(quick);
    let time = |f: &mut dyn FnMut()| median_secs(budget, min_reps, f);
    for config in [(64, 100, 256), (1, 100, 100)] {
        let (b, t, h) = config;
        // Whole training steps: the readable layer, the fast kernels through the trait
        // (fresh buffers per call), and the fast kernels with reused workspaces.
        for cell in [Cell::Lstm, Cell::Gru] {
            let step = |path| {
                let mut m = Model::new(cell, path, config);
                time(&mut || {
                    black_box(m.train_step());
                })
            };
            let (readable, allocating, fast) = (
                step(Path::Readable),
                step(Path::FastAllocating),
                step(Path::Fast),
            );
            ablation(
                &format!("{}: fast kernels (vs readable layer)", cell.name()),
                config,
                readable,
                allocating,
            );
            ablation(
                &format!("{}: reused workspaces", cell.name()),
                config,
                allocating,
                fast,
            );
        }
        let g = 4 * h;
        let d = super::step::VOCAB;
        // The input projection: T products (B, D)·(D, 4H), or one (T·B, D)·(D, 4H).
        let xs = Array3::<f32>::from_elem((t, b, d), 0.1);
        let w_ih = Array2::<f32>::from_elem((g, d), 0.1);
        let mut z = Array3::<f32>::zeros((t, b, g));
        let per_step = time(&mut || {
            for s in 0..t {
                let mut z_t = z.index_axis_mut(Axis(0), s);
                general_mat_mul(1.0, &xs.index_axis(Axis(0), s), &w_ih.t(), 0.0, &mut z_t);
            }
            black_box(&z);
        });
        let hoisted = time(&mut || {
            let x = xs
                .view()
                .into_shape_with_order((t * b, d))
                .expect("contiguous");
            let mut zf = z
                .view_mut()
                .into_shape_with_order((t * b, g))
                .expect("contiguous");
            general_mat_mul(1.0, &x, &w_ih.t(), 0.0, &mut zf);
            black_box(&z);
        });
        ablation(
            "input projection of all steps as one product",
            config,
            per_step,
            hoisted,
        );
        // Fused gates: four (B, H)·(H, H) products per step, or one (B, H)·(H, 4H).
        let hp = Array2::<f32>::from_elem((b, h), 0.1);
        let w_hh_t = Array2::<f32>::from_elem((h, g), 0.1);
        let mut z_t = Array2::<f32>::zeros((b, g));
        let four = time(&mut || {
            for _ in 0..t {
                for k in 0..4 {
                    let w = w_hh_t.slice(ndarray::s![.., k * h..(k + 1) * h]);
                    let mut zk = z_t.slice_mut(ndarray::s![.., k * h..(k + 1) * h]);
                    general_mat_mul(1.0, &hp, &w, 0.0, &mut zk);
                }
            }
            black_box(&z_t);
        });
        let fused = time(&mut || {
            for _ in 0..t {
                general_mat_mul(1.0, &hp, &w_hh_t, 0.0, &mut z_t);
            }
            black_box(&z_t);
        });
        ablation(
            "fused gate weights: one product per step, not four",
            config,
            four,
            fused,
        );
        // The weight gradient: T products (4H, B)·(B, H) accumulated, or one over T·B rows.
        let dz = Array3::<f32>::from_elem((t, b, g), 0.1);
        let hs = Array3::<f32>::from_elem((t, b, h), 0.1);
        let mut dw = Array2::<f32>::zeros((g, h));
        let accumulated = time(&mut || {
            for s in 0..t {
                let dz_s = dz.index_axis(Axis(0), s);
                general_mat_mul(1.0, &dz_s.t(), &hs.index_axis(Axis(0), s), 1.0, &mut dw);
            }
            black_box(&dw);
        });
        let dzf = dz
            .view()
            .into_shape_with_order((t * b, g))
            .expect("contiguous"); // (T·B, 4H)
        let hf = hs
            .view()
            .into_shape_with_order((t * b, h))
            .expect("contiguous"); // (T·B, H)
        let mut db = Array1::<f32>::zeros(g);
        let one = time(&mut || {
            general_mat_mul(1.0, &dzf.t(), &hf, 0.0, &mut dw);
            db.assign(&dzf.sum_axis(Axis(0))); // the bias gradient, as weight_grads gives it
            black_box((&dw, &db));
        });
        ablation(
            "weight gradient as one product over all steps",
            config,
            accumulated,
            one,
        );
        // That one product: the general multiply, or transposed on the packed errors.
        let mut ws = GradWorkspace::default();
        let packed = time(&mut || {
            weight_grads(dzf, &mut [(hf, dw.view_mut())], db.view_mut(), &mut ws);
            black_box((&dw, &db));
        });
        ablation(
            "that product on the packed micro-kernel, transposed",
            config,
            one,
            packed,
        );
        // The sequential product at this batch: the general multiply, which packs W_hh^T
        // at every call, or W_hh^T packed once and the float32 vector micro-kernel (the
        // portable packed kernel where the processor has no AVX-512).
        let gemm = time(&mut || {
            for _ in 0..t {
                general_mat_mul(1.0, &hp, &w_hh_t, 1.0, &mut z_t);
            }
            black_box(&z_t);
        });
        let mut packed = Panels::default();
        let panels = time(&mut || {
            packed.pack(w_hh_t.view());
            for _ in 0..t {
                if !f32::packed_product(&packed, hp.view(), &mut z_t.view_mut(), Out::Add) {
                    packed.times_add(hp.view(), &mut z_t.view_mut());
                }
            }
            black_box(&z_t);
        });
        ablation(
            "weight packed once, vector micro-kernel, for the recurrent product",
            config,
            gemm,
            panels,
        );
        // The gate nonlinearities over one sequence's pre-activations: libm's expf and
        // tanhf per element, or the branch-free vectorisable float32 versions.
        let pre = Array1::<f32>::linspace(-6.0, 6.0, t * b * g);
        let mut out = Array1::<f32>::zeros(t * b * g);
        let libm = time(&mut || {
            for (o, &x) in out.iter_mut().zip(&pre) {
                *o = sigmoid(x) + tanh(x);
            }
            black_box(&out);
        });
        let fast = time(&mut || {
            for (o, &x) in out.iter_mut().zip(&pre) {
                *o = x.fast_sigmoid() + x.fast_tanh();
            }
            black_box(&out);
        });
        ablation("vectorisable float32 sigmoid and tanh", config, libm, fast);
    }
}

/// Handing work to a second thread and waiting for it: a thread started and joined for
/// each hand-off (`std::thread::scope`), or the fast layers' worker kept from one hand-off
/// to the next (`run_parts`), with empty work; then a weight gradient on two threads, by
/// the threaded matrixmultiply or by [`weight_grads`]. Run with two threads.
fn handoff(quick: bool) {
    let (budget, min_reps) = budget(quick);
    let hand_offs = 100;
    let started = median_secs(budget, min_reps, || {
        for _ in 0..hand_offs {
            std::thread::scope(|scope| {
                scope.spawn(|| black_box(1));
                black_box(0);
            });
        }
    });
    let kept = median_secs(budget, min_reps, || {
        for _ in 0..hand_offs {
            run_parts(vec![0, 1], |j| {
                black_box(j);
            });
        }
    });
    let record = json!({
        "kind": "ablation", "name": "worker thread kept, not started per hand-off (one hand-off, 2 threads)",
        "b": 0, "t": 0, "h": 0,
        "before": started / hand_offs as f64, "after": kept / hand_offs as f64,
    });
    println!("{record}");
    // The LSTM's weight gradient of W_hh on two threads: matrixmultiply's own threads,
    // or the columns of the errors split across the kept workers.
    let (b, t, h) = (64, 100, 256);
    let g = 4 * h;
    let dz = Array2::<f32>::from_elem((t * b, g), 0.1); // (T·B, 4H)
    let hs = Array2::<f32>::from_elem((t * b, h), 0.1); // (T·B, H)
    let mut dw = Array2::<f32>::zeros((g, h));
    let mut db = Array1::<f32>::zeros(g);
    let library = median_secs(budget, min_reps, || {
        general_mat_mul(1.0, &dz.t(), &hs, 0.0, &mut dw);
        db.assign(&dz.sum_axis(Axis(0)));
        black_box((&dw, &db));
    });
    let mut ws = GradWorkspace::default();
    let split = median_secs(budget, min_reps, || {
        weight_grads(
            dz.view(),
            &mut [(hs.view(), dw.view_mut())],
            db.view_mut(),
            &mut ws,
        );
        black_box((&dw, &db));
    });
    let record = json!({
        "kind": "ablation",
        "name": "weight gradient on 2 threads: columns split across kept workers, not matrixmultiply's threads",
        "b": b, "t": t, "h": h, "before": library, "after": split,
    });
    println!("{record}");
}

/// Peak resident memory of a process that runs training steps of the fast LSTM at
/// (64, 100, 256), and its resident memory before the model existed.
fn memory() {
    let before = status_kib("VmRSS");
    let mut model = Model::new(Cell::Lstm, Path::Fast, (64, 100, 256));
    for _ in 0..3 {
        black_box(model.train_step());
    }
    let record = json!({
        "kind": "memory", "b": 64, "t": 100, "h": 256,
        "rss_before_kib": before, "peak_rss_kib": status_kib("VmHWM")
    });
    println!("{record}");
}

/// A field of /proc/self/status in KiB (0 where there is no /proc).
fn status_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}
