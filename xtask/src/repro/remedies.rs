//! `cargo xtask repro remedies`: every remedy for the vanishing and exploding gradient,
//! measured on the same two tasks with the same budget and the same seeds.
//!
//! The tasks: the adding problem at a length where the plain RNN fails (many-to-one, loss
//! at the last step only) and the delayed echo (many-to-many, the symbol seen `delay` steps
//! ago at every step). The recipes: the plain tanh RNN trained by SGD with momentum and no
//! clipping; the same with the gradient clipped by its global norm (Pascanu et al. 2013) or
//! element-wise by value (Karpathy's min-char-rnn); and, on top of norm clipping, one change
//! each: truncated BPTT(k) with a k shorter and a k longer than the task's dependency,
//! identity and orthogonal initialisation of $W_{hh}$, Le et al.'s IRNN (ReLU units from
//! the identity), Pascanu's gradient-flow penalty Ω,
//! the LSTM with forget bias 1 and the GRU. The echo state network, which trains no
//! recurrent weight at all, gets a ridge readout on the same data.
//!
//! Writes `remedies.md` / `.csv` (mean ± std over seeds, with wall time), `remedies-runs.md`
//! / `.csv` (every run), `remedies-truncation.md` / `.csv` (how far the truncated gradient
//! is from the full one), `remedies-adding.svg` and `remedies-echo.svg` (learning curves),
//! `remedies-setup.md` and `remedies-verdict.md` (sentences the chapters include).

use std::time::Instant;

use anyhow::Result;
use ndarray::{s, Array2, ArrayViewD, ArrayViewMutD, Axis};
use recurrent::esn::{ridge_readout, Esn, EsnConfig};
use recurrent::fast::{FastGru, FastLstm};
use recurrent::init::rng;
use recurrent::optim::{clip_grad_norm, clip_grad_value, Adam, AdamConfig, Sgd, SgdConfig};
use recurrent::regulariser::{flow_ratio, gradient_flow_penalty};
use recurrent::spectral::spectral_radius;
use recurrent::tasks::{Batch, Targets};
use recurrent::train::{Evaluated, SequenceModel, Task};
use recurrent::{
    Gru, GruConfig, GruForm, Init, Lstm, LstmConfig, Nonlinearity, Params, Recurrent, Rnn,
    RnnConfig,
};

use super::cells::{Cell, WithCell};
use super::plot::{line_chart, Chart, Series};
use super::{mean_std, Ctx, Table};

/// How the gradient is clipped before the SGD step.
#[derive(Clone, Copy, PartialEq)]
enum Clip {
    Off,
    /// Rescale all gradients together when their global norm exceeds this.
    Norm(f64),
    /// Clamp every entry into [-c, c].
    Value(f64),
}

/// Which truncation a recipe asks for; the k itself depends on the task's dependency.
#[derive(Clone, Copy, PartialEq)]
enum Truncation {
    Full,
    Shorter,
    Longer,
}

/// The network a recipe trains.
#[derive(Clone, Copy, PartialEq)]
enum Net {
    Rnn(Init),
    /// Le et al.'s IRNN, built as the classics build it.
    Irnn,
    Lstm,
    Gru,
    Esn,
}

/// The optimiser of a gradient-trained recipe.
#[derive(Clone, Copy, PartialEq)]
enum Opt {
    /// SGD with momentum 0.9: Pascanu et al.'s setting, where the step is the gradient.
    Sgd,
    /// Adam: each coordinate's step is scaled by its running gradient size.
    Adam,
}

/// One row of the table: a network and how it is trained.
#[derive(Clone, Copy)]
struct Recipe {
    name: &'static str,
    net: Net,
    opt: Opt,
    clip: Clip,
    truncation: Truncation,
    /// Weight α of Pascanu's Ω; 0 for no penalty.
    alpha: f64,
}

/// Norm clipping's threshold: Pascanu et al. (2013) suggest a value around the average
/// gradient norm; 1 is the common default and the one the cliff experiment uses.
const CLIP_NORM: f64 = 1.0;
/// min-char-rnn's element-wise clip (`np.clip(dparam, -5, 5)`).
const CLIP_VALUE: f64 = 5.0;
/// Ω's weight: the larger of the two values the regulariser experiment tried.
const ALPHA: f64 = 1.0;
/// Gers et al. (2000) open the forget gate at the start; Jozefowicz et al. (2015) use 1.
const FORGET_BIAS: f64 = 1.0;
/// SGD's step size: the largest of 0.05, 0.1 and 0.5 at which the plain RNN trained on
/// both tasks without clipping in a trial run (0.5 stalled the LSTM above the baseline).
const SGD_LR: f64 = 0.05;
/// Adam's step size: the ablation's 1e-2, with which the LSTM and GRU learn the adding
/// problem at T = 50 within the budget (Adam's default 1e-3 is too slow for it).
const ADAM_LR: f64 = 1e-2;
/// The ESN's input and bias scale. Small, so the reservoir stays near its linear regime,
/// where it keeps the most memory of past inputs (Lukoševičius 2012, §3.2.5); at the
/// default 1 the units saturate and the echo is not recalled (a trial run).
const ESN_INPUT_SCALE: f64 = 0.1;

fn recipes() -> Vec<Recipe> {
    let rnn = |name, opt, init, clip, truncation, alpha| Recipe {
        name,
        net: Net::Rnn(init),
        opt,
        clip,
        truncation,
        alpha,
    };
    let (norm, full, uniform) = (Clip::Norm(CLIP_NORM), Truncation::Full, Init::Uniform);
    let gated = |name, net| Recipe {
        name,
        net,
        opt: Opt::Adam,
        clip: norm,
        truncation: full,
        alpha: 0.0,
    };
    vec![
        rnn("plain RNN: SGD", Opt::Sgd, uniform, Clip::Off, full, 0.0),
        rnn("RNN: SGD, clip norm", Opt::Sgd, uniform, norm, full, 0.0),
        rnn("RNN: Adam", Opt::Adam, uniform, Clip::Off, full, 0.0),
        rnn("RNN: Adam, clip norm", Opt::Adam, uniform, norm, full, 0.0),
        rnn(
            "RNN: Adam, clip value",
            Opt::Adam,
            uniform,
            Clip::Value(CLIP_VALUE),
            full,
            0.0,
        ),
        rnn(
            "RNN: BPTT(k), k < dependency",
            Opt::Adam,
            uniform,
            norm,
            Truncation::Shorter,
            0.0,
        ),
        rnn(
            "RNN: BPTT(k), k > dependency",
            Opt::Adam,
            uniform,
            norm,
            Truncation::Longer,
            0.0,
        ),
        rnn(
            "RNN: identity init (tanh)",
            Opt::Adam,
            Init::Identity { scale: 1.0 },
            norm,
            full,
            0.0,
        ),
        Recipe {
            name: "IRNN: ReLU, identity init",
            net: Net::Irnn,
            opt: Opt::Adam,
            clip: norm,
            truncation: full,
            alpha: 0.0,
        },
        rnn(
            "RNN: orthogonal init",
            Opt::Adam,
            Init::Orthogonal { gain: 1.0 },
            norm,
            full,
            0.0,
        ),
        rnn("RNN: regulariser Ω", Opt::Adam, uniform, norm, full, ALPHA),
        Recipe {
            name: "echo state network",
            net: Net::Esn,
            opt: Opt::Adam,
            clip: Clip::Off,
            truncation: full,
            alpha: 0.0,
        },
        gated("LSTM, forget bias 1", Net::Lstm),
        gated("GRU", Net::Gru),
    ]
}

/// A task with its budget and what "too short" and "long enough" mean for truncation.
struct Bench {
    task: Task,
    label: String,
    /// The longest span, in steps, from an input to the loss that needs it.
    dependency: usize,
    /// k of the two truncated recipes.
    k_shorter: usize,
    k_longer: usize,
}

impl Bench {
    fn k(&self, truncation: Truncation) -> Option<usize> {
        match truncation {
            Truncation::Full => None,
            Truncation::Shorter => Some(self.k_shorter),
            Truncation::Longer => Some(self.k_longer),
        }
    }

    fn seq_len(&self) -> usize {
        match self.task {
            Task::Adding { seq_len } | Task::Echo { seq_len, .. } => seq_len,
        }
    }

    fn is_adding(&self) -> bool {
        matches!(self.task, Task::Adding { .. })
    }

    /// The number a model has to beat: MSE 1/6 (adding) or chance accuracy 1/V (echo).
    fn chance(&self) -> f64 {
        match self.task {
            Task::Adding { .. } => recurrent::tasks::ADDING_BASELINE_MSE,
            Task::Echo { vocab, .. } => 1.0 / vocab as f64,
        }
    }
}

/// The sizes shared by every recipe: the one place full and quick runs differ.
struct Budget {
    hidden: usize,
    batch: usize,
    steps: usize,
    seeds: u64,
    eval: usize,
    /// Sequences the echo state network's readout is fitted on.
    esn_train: usize,
    esn_size: usize,
    esn_rho: f64,
    /// Training-loss points averaged into one point of the learning curves.
    window: usize,
}

/// What one run measured.
struct Run {
    /// Held-out MSE (adding) or accuracy (echo); NaN when training diverged.
    score: f64,
    /// Held-out loss in the training loss's unit (MSE or nats); NaN for the ESN on echo,
    /// whose readout is a least-squares fit, not a probability.
    loss: f64,
    /// Training loss at every step (empty for the ESN).
    curve: Vec<f64>,
    secs: f64,
    diverged: bool,
    /// The fraction of steps at which clipping changed the gradient.
    clipped: f64,
}

pub fn run(ctx: &Ctx) -> Result<()> {
    let adding_len = ctx.pick(50, 20);
    let (echo_len, delay, vocab) = (ctx.pick(30, 20), 10, 4);
    let benches = [
        Bench {
            task: Task::Adding {
                seq_len: adding_len,
            },
            label: format!("adding, T = {adding_len}"),
            // The first marked number can sit at step 1 and is needed at step T.
            dependency: adding_len - 1,
            k_shorter: 10,
            // BPTT(k) with k ≥ T is full BPTT (the BPTT chapter checks it to 1e-12).
            k_longer: adding_len,
        },
        Bench {
            task: Task::Echo {
                seq_len: echo_len,
                delay,
                vocab,
            },
            label: format!("echo, delay {delay}, T = {echo_len}, V = {vocab}"),
            dependency: delay,
            k_shorter: delay / 2,
            // The error at step s must reach step s - delay: k ≥ delay + 1.
            k_longer: delay + 5,
        },
    ];
    let budget = Budget {
        hidden: 32,
        batch: 32,
        steps: ctx.pick(1000, 40),
        seeds: ctx.pick(3, 1),
        eval: ctx.pick(512, 64),
        esn_train: ctx.pick(1000, 64),
        esn_size: ctx.pick(200, 40),
        esn_rho: 0.95,
        window: ctx.pick(50, 10),
    };
    let recipes = recipes();
    let bar = ctx.progress(
        recipes.len() * benches.len() * budget.seeds as usize,
        "remedies",
    );
    // runs[recipe][bench][seed]
    let mut runs: Vec<Vec<Vec<Run>>> = Vec::new();
    for recipe in &recipes {
        let mut per_bench = Vec::new();
        for bench in &benches {
            let mut per_seed = Vec::new();
            for seed in 0..budget.seeds {
                bar.set_message(format!("{} on {}", recipe.name, bench.label));
                let run = fit(recipe, bench, &budget, seed)?;
                bar.suspend(|| {
                    println!(
                        "{} on {}, seed {seed}: score {:.4}, loss {:.4}{} in {:.1} s",
                        recipe.name,
                        bench.label,
                        run.score,
                        run.loss,
                        if run.diverged { " (diverged)" } else { "" },
                        run.secs
                    )
                });
                bar.inc(1);
                per_seed.push(run);
            }
            per_bench.push(per_seed);
        }
        runs.push(per_bench);
    }
    bar.finish_and_clear();
    write_tables(ctx, &recipes, &benches, &budget, &runs)?;
    write_truncation(ctx, &benches, &budget)?;
    write_initial_flow(ctx, &benches[0], &budget)?;
    write_setup(ctx, &benches, &budget)?;
    write_verdict(ctx, &recipes, &benches, &budget, &runs)?;
    for (b, bench) in benches.iter().enumerate() {
        draw_curves(ctx, &recipes, bench, b, &budget, &runs)?;
    }
    Ok(())
}

/// Trains (or, for the ESN, fits) `recipe` on `bench` with `seed`.
fn fit(recipe: &Recipe, bench: &Bench, budget: &Budget, seed: u64) -> Result<Run> {
    let (d, h) = (bench.task.input_size(), budget.hidden);
    match recipe.net {
        Net::Rnn(init) => {
            let rnn = Rnn::<f32>::new(&RnnConfig {
                input_size: d,
                hidden_size: h,
                init,
                nonlinearity: Nonlinearity::Tanh,
                seed,
            })?;
            let alpha = recipe.alpha;
            train(rnn, recipe, bench, budget, seed, |model, batch, grads| {
                if alpha == 0.0 {
                    return Ok(());
                }
                // Ω needs the forward cache, which `evaluate` does not return: run the
                // forward pass again (deterministic), as `train_regularised` does.
                let h0 = Array2::zeros((batch.xs.len_of(Axis(1)), model.rnn.hidden_size())); // (B, H)
                let cache = model.rnn.forward(batch.xs.view(), h0.view())?;
                let (_, penalty) = gradient_flow_penalty(&model.rnn, &cache, grads.rnn.dhs.view())?;
                // The model's parameters start with the RNN's w_xh, w_hh, b, as Ω's do.
                for ((_, mut g), (_, p)) in
                    grads.params_mut().into_iter().zip(penalty.grads.params())
                {
                    g.scaled_add(alpha as f32, &p);
                }
                Ok(())
            })
        }
        Net::Lstm => {
            let lstm = FastLstm::<f32>::new(&LstmConfig {
                input_size: d,
                hidden_size: h,
                forget_bias: FORGET_BIAS,
                seed,
                ..LstmConfig::default()
            })?;
            train(lstm, recipe, bench, budget, seed, |_, _, _| Ok(()))
        }
        Net::Gru => {
            let gru = FastGru::<f32>::new(&GruConfig {
                input_size: d,
                hidden_size: h,
                form: GruForm::ResetAfter,
                seed,
            })?;
            train(gru, recipe, bench, budget, seed, |_, _, _| Ok(()))
        }
        Net::Irnn => Cell::Irnn.build(
            d,
            h,
            seed,
            Plain {
                recipe,
                bench,
                budget,
                seed,
            },
        ),
        Net::Esn => fit_esn(bench, budget, seed),
    }
}

/// [`train`] with nothing added to the gradients, for a cell that `cells` builds.
struct Plain<'a> {
    recipe: &'a Recipe,
    bench: &'a Bench,
    budget: &'a Budget,
    seed: u64,
}

impl WithCell for Plain<'_> {
    type Out = Run;
    fn with<C: Recurrent<f32>>(self, cell: C) -> Result<Run> {
        train(
            cell,
            self.recipe,
            self.bench,
            self.budget,
            self.seed,
            |_, _, _| Ok(()),
        )
    }
}

/// SGD with momentum or Adam on `bench`, clipping and truncation as `recipe` says; `extra` may add
/// to the gradients before clipping (the regulariser does). Data from `seed + 1`, the
/// held-out batch from `seed + 2`, as in `recurrent::train::train_on`.
fn train<C: Recurrent<f32>>(
    cell: C,
    recipe: &Recipe,
    bench: &Bench,
    budget: &Budget,
    seed: u64,
    extra: impl Fn(&SequenceModel<f32, C>, &Batch<f32>, &mut Evaluated<f32, C>) -> Result<()>,
) -> Result<Run> {
    let started = Instant::now();
    let mut model = SequenceModel::with_cell(cell, &bench.task, seed)?;
    let mut data = rng(seed.wrapping_add(1));
    let held_out = bench
        .task
        .batch::<f32>(budget.eval, &mut rng(seed.wrapping_add(2)))?;
    let mut sgd = Sgd::new(SgdConfig {
        lr: SGD_LR,
        momentum: 0.9,
    })?;
    let mut adam = Adam::new(AdamConfig {
        lr: ADAM_LR,
        ..AdamConfig::default()
    })?;
    // BPTT(k) with k ≥ T drops nothing: run it as the full BPTT it equals.
    let k = bench.k(recipe.truncation).filter(|&k| k < bench.seq_len());
    let mut curve = Vec::with_capacity(budget.steps);
    let mut diverged = false;
    let mut clipped = 0usize;
    for _ in 0..budget.steps {
        let batch = bench.task.batch::<f32>(budget.batch, &mut data)?;
        let mut grads = model.evaluate(&batch, k)?;
        let loss = f64::from(grads.loss);
        if !loss.is_finite() {
            diverged = true;
            break;
        }
        extra(&model, &batch, &mut grads)?;
        let mut g: Vec<ArrayViewMutD<f32>> =
            grads.params_mut().into_iter().map(|(_, v)| v).collect();
        match recipe.clip {
            Clip::Off => {}
            Clip::Norm(max) => {
                if clip_grad_norm(&mut g, max)? > max as f32 {
                    clipped += 1;
                }
            }
            Clip::Value(c) => {
                if g.iter().flat_map(|t| t.iter()).any(|x| x.abs() > c as f32) {
                    clipped += 1;
                }
                clip_grad_value(&mut g, c)?;
            }
        }
        let g: Vec<ArrayViewD<f32>> = grads.params().into_iter().map(|(_, v)| v).collect();
        let mut p: Vec<ArrayViewMutD<f32>> =
            model.params_mut().into_iter().map(|(_, v)| v).collect();
        match recipe.opt {
            Opt::Sgd => sgd.step(&mut p, &g)?,
            Opt::Adam => adam.step(&mut p, &g)?,
        }
        curve.push(loss);
    }
    let loss = if diverged {
        f64::NAN
    } else {
        f64::from(model.loss(&held_out)?)
    };
    // A run whose weights overflowed without a non-finite training loss yet is diverged too.
    diverged |= !loss.is_finite();
    let score = if diverged {
        f64::NAN
    } else if bench.is_adding() {
        loss
    } else {
        model.accuracy(&held_out)?
    };
    Ok(Run {
        score,
        loss,
        clipped: clipped as f64 / curve.len().max(1) as f64,
        curve,
        secs: started.elapsed().as_secs_f64(),
        diverged,
    })
}

/// The echo state network: a fixed reservoir driven by each sequence from the zero state,
/// and a ridge readout fitted on the states where the task has targets (the last state for
/// the adding problem, every step from `delay` on for the echo).
fn fit_esn(bench: &Bench, budget: &Budget, seed: u64) -> Result<Run> {
    let started = Instant::now();
    let config = EsnConfig {
        input_size: bench.task.input_size(),
        reservoir_size: budget.esn_size,
        spectral_radius: budget.esn_rho,
        input_scale: ESN_INPUT_SCALE,
        // Every sequence starts from the zero state, as the RNNs' do: nothing to wash out.
        washout: 0,
        seed,
        ..EsnConfig::default()
    };
    let mut esn = Esn::new(&config)?;
    let train = bench
        .task
        .batch::<f64>(budget.esn_train, &mut rng(seed.wrapping_add(1)))?;
    let held_out = bench
        .task
        .batch::<f64>(budget.eval, &mut rng(seed.wrapping_add(2)))?;
    let (x, y) = esn_rows(&esn, &train)?;
    esn.w_out = Some(ridge_readout(x.view(), y.view(), 0, config.ridge)?);
    let (x, y) = esn_rows(&esn, &held_out)?;
    let pred = esn.read(x.view())?; // (N_rows, O)
    let (score, loss) = if bench.is_adding() {
        let mse = (&pred - &y).mapv(|e| e * e).mean().unwrap_or(f64::NAN);
        (mse, mse)
    } else {
        let hits = pred
            .rows()
            .into_iter()
            .zip(y.rows())
            .filter(|(p, t)| argmax(p.iter()) == argmax(t.iter()))
            .count();
        (hits as f64 / pred.nrows() as f64, f64::NAN)
    };
    Ok(Run {
        score,
        loss,
        curve: Vec::new(),
        secs: started.elapsed().as_secs_f64(),
        diverged: false,
        clipped: 0.0,
    })
}

/// The reservoir states the readout reads, (rows, N), and their targets, (rows, O): the
/// sum for the adding problem, a one-hot row per target step for the echo.
fn esn_rows(esn: &Esn, batch: &Batch<f64>) -> Result<(Array2<f64>, Array2<f64>)> {
    let (t_len, b_len, _) = batch.xs.dim();
    let n = esn.reservoir_size();
    match &batch.targets {
        Targets::Final(ys) => {
            let mut x = Array2::zeros((b_len, n)); // (B, N)
            for b in 0..b_len {
                let states = esn.run(batch.xs.slice(s![.., b, ..]))?; // (T, N)
                x.row_mut(b).assign(&states.row(t_len - 1));
            }
            Ok((x, ys.clone()))
        }
        Targets::Classes { from, classes } => {
            let rows = (t_len - from) * b_len;
            let vocab = batch.xs.len_of(Axis(2));
            let mut x = Array2::zeros((rows, n)); // ((T - from)·B, N)
            let mut y = Array2::zeros((rows, vocab)); // ((T - from)·B, V)
            for b in 0..b_len {
                let states = esn.run(batch.xs.slice(s![.., b, ..]))?; // (T, N)
                for t in *from..t_len {
                    // The same (t, b) row order as the targets.
                    let row = (t - from) * b_len + b;
                    x.row_mut(row).assign(&states.row(t));
                    y[[row, classes[row]]] = 1.0;
                }
            }
            Ok((x, y))
        }
    }
}

fn argmax<'a>(values: impl Iterator<Item = &'a f64>) -> usize {
    values
        .enumerate()
        .fold((0, f64::NEG_INFINITY), |(bi, bv), (i, &v)| {
            if v > bv {
                (i, v)
            } else {
                (bi, bv)
            }
        })
        .0
}

/// The finite scores of a list of runs.
fn scores(runs: &[Run]) -> Vec<f64> {
    runs.iter()
        .map(|r| r.score)
        .filter(|s| s.is_finite())
        .collect()
}

fn mean(values: &[f64]) -> f64 {
    values.iter().sum::<f64>() / values.len() as f64
}

/// Whether a run "solved" its task: MSE below 0.01 (adding; Hochreiter & Schmidhuber's
/// criterion is stricter, per sequence) or accuracy above 0.95 (echo).
fn solved(bench: &Bench, score: f64) -> bool {
    if bench.is_adding() {
        score < 0.01
    } else {
        score > 0.95
    }
}

/// Whether a run beat the input-blind answer: MSE below 1/6 or accuracy above 1/V, by a
/// margin (10%) larger than the held-out batch's noise.
fn beats_chance(bench: &Bench, score: f64) -> bool {
    if bench.is_adding() {
        score < 0.9 * bench.chance()
    } else {
        score > 1.1 * bench.chance()
    }
}

fn k_label(bench: &Bench, recipe: &Recipe) -> String {
    match bench.k(recipe.truncation) {
        None => "full".into(),
        Some(k) if k >= bench.seq_len() => format!("{k} (= full)"),
        Some(k) => k.to_string(),
    }
}

/// The summary table over the recipes at `rows` (indices into `recipes`).
fn summary(
    rows: &[usize],
    recipes: &[Recipe],
    benches: &[Bench],
    budget: &Budget,
    runs: &[Vec<Vec<Run>>],
) -> Table {
    let (a, e) = (&benches[0], &benches[1]);
    let mut table = Table::new(&[
        "recipe",
        &format!("{}: held-out MSE", a.label),
        "beat 1/6 / solved (seeds)",
        "k",
        "steps clipped",
        "s per run",
        &format!("{}: held-out accuracy", e.label),
        "beat chance / solved (seeds)",
        "k",
        "steps clipped",
        "s per run",
    ]);
    let seeds = budget.seeds;
    for &r in rows {
        let recipe = &recipes[r];
        let mut cells = vec![recipe.name.to_string()];
        for (b, bench) in benches.iter().enumerate() {
            let list = &runs[r][b];
            let finite = scores(list);
            let diverged = list.iter().filter(|run| run.diverged).count();
            let shown = if finite.is_empty() {
                "—".to_string()
            } else {
                mean_std(&finite, if bench.is_adding() { 4 } else { 3 })
            };
            let shown = if diverged > 0 {
                format!("{shown} ({diverged} diverged)")
            } else {
                shown
            };
            let beat = finite.iter().filter(|&&s| beats_chance(bench, s)).count();
            let good = finite.iter().filter(|&&s| solved(bench, s)).count();
            let secs: Vec<f64> = list.iter().map(|run| run.secs).collect();
            cells.extend([
                shown,
                format!("{beat}/{seeds} / {good}/{seeds}"),
                match recipe.net {
                    Net::Esn => "none".into(),
                    _ => k_label(bench, recipe),
                },
                match recipe.clip {
                    Clip::Off => "—".into(),
                    _ => format!(
                        "{:.0}%",
                        100.0 * mean(&list.iter().map(|run| run.clipped).collect::<Vec<_>>())
                    ),
                },
                format!("{:.1}", mean(&secs)),
            ]);
        }
        table.row(cells);
    }
    table
}

/// Recipes by name, for the chapters' excerpts of the table.
fn rows_named(recipes: &[Recipe], names: &[&str]) -> Vec<usize> {
    names
        .iter()
        .filter_map(|n| recipes.iter().position(|r| r.name == *n))
        .collect()
}

fn write_tables(
    ctx: &Ctx,
    recipes: &[Recipe],
    benches: &[Bench],
    budget: &Budget,
    runs: &[Vec<Vec<Run>>],
) -> Result<()> {
    let all: Vec<usize> = (0..recipes.len()).collect();
    let table = summary(&all, recipes, benches, budget, runs);
    let excerpts = [
        (
            "remedies-clipping",
            vec![
                "plain RNN: SGD",
                "RNN: SGD, clip norm",
                "RNN: Adam",
                "RNN: Adam, clip norm",
                "RNN: Adam, clip value",
            ],
        ),
        (
            "remedies-truncation-runs",
            vec![
                "RNN: Adam, clip norm",
                "RNN: BPTT(k), k < dependency",
                "RNN: BPTT(k), k > dependency",
            ],
        ),
        (
            "remedies-init-runs",
            vec![
                "RNN: Adam, clip norm",
                "RNN: identity init (tanh)",
                "IRNN: ReLU, identity init",
                "RNN: orthogonal init",
                "LSTM, forget bias 1",
            ],
        ),
    ];
    for (file, names) in excerpts {
        let rows = rows_named(recipes, &names);
        ctx.write_table(file, &summary(&rows, recipes, benches, budget, runs))?;
    }
    ctx.write_table("remedies", &table)?;

    let mut every = Table::new(&[
        "recipe",
        "task",
        "seed",
        "held-out score",
        "held-out loss",
        "diverged",
        "steps clipped",
        "seconds",
    ]);
    for (r, recipe) in recipes.iter().enumerate() {
        for (b, bench) in benches.iter().enumerate() {
            for (seed, run) in runs[r][b].iter().enumerate() {
                every.row(vec![
                    recipe.name.to_string(),
                    bench.label.clone(),
                    seed.to_string(),
                    format!("{:.5}", run.score),
                    format!("{:.5}", run.loss),
                    run.diverged.to_string(),
                    format!("{:.3}", run.clipped),
                    format!("{:.2}", run.secs),
                ]);
            }
        }
    }
    ctx.write_table("remedies-runs", &every)
}

/// The bias of BPTT(k): cosine between the truncated and the full gradient of the RNN's
/// parameters, and the ratio of their norms, for an untrained RNN on a batch of each task,
/// drawn with PyTorch's uniform initialisation (whose gradient vanishes within a few steps)
/// and with an orthogonal one (whose gradient reaches further back).
fn write_truncation(ctx: &Ctx, benches: &[Bench], budget: &Budget) -> Result<()> {
    let mut table = Table::new(&[
        "task",
        "k",
        "uniform init: cosine(truncated, full)",
        "uniform: ‖truncated‖ / ‖full‖",
        "orthogonal init: cosine",
        "orthogonal: ‖truncated‖ / ‖full‖",
    ]);
    for bench in benches {
        let t_len = bench.seq_len();
        let mut ks: Vec<usize> = [1, 2, 5, 10, 15, 20, 30, 40]
            .into_iter()
            .filter(|&k| k < t_len)
            .collect();
        ks.push(t_len);
        for &k in &ks {
            let mut cells = vec![bench.label.clone(), k.to_string()];
            for init in [Init::Uniform, Init::Orthogonal { gain: 1.0 }] {
                let (mut cosines, mut ratios) = (Vec::new(), Vec::new());
                for seed in 0..budget.seeds {
                    let model = SequenceModel::<f64>::new(&bench.task, budget.hidden, init, seed)?;
                    let batch = bench
                        .task
                        .batch::<f64>(budget.eval, &mut rng(seed.wrapping_add(7)))?;
                    let full = model.evaluate(&batch, None)?;
                    let cut = model.evaluate(&batch, Some(k))?;
                    // The recurrent layer's parameters only: the head's gradient is not
                    // truncated.
                    let flat = |e: &Evaluated<f64>| -> Vec<f64> {
                        e.rnn
                            .grads
                            .params()
                            .into_iter()
                            .flat_map(|(_, v)| v.iter().copied().collect::<Vec<_>>())
                            .collect()
                    };
                    let (f, c) = (flat(&full), flat(&cut));
                    let dot: f64 = f.iter().zip(&c).map(|(a, b)| a * b).sum();
                    let nf = f.iter().map(|a| a * a).sum::<f64>().sqrt();
                    let nc = c.iter().map(|a| a * a).sum::<f64>().sqrt();
                    cosines.push(dot / (nf * nc));
                    ratios.push(nc / nf);
                }
                cells.push(mean_std(&cosines, 4));
                cells.push(mean_std(&ratios, 4));
            }
            table.row(cells);
        }
    }
    ctx.write_table("remedies-truncation", &table)
}

/// What each initialisation does to the gradient before any training: for the RNN the
/// spectral radius and largest singular value of $W_{hh}$, and for every cell the ratio
/// ‖dL/dh₁‖ / ‖dL/dh_T‖ on a batch of the adding problem (loss at the last step only).
fn write_initial_flow(ctx: &Ctx, bench: &Bench, budget: &Budget) -> Result<()> {
    let mut table = Table::new(&[
        "initialisation",
        "ρ(W_hh)",
        "‖W_hh‖₂",
        &format!("log10 ‖dL/dh₁‖/‖dL/dh_T‖, {}", bench.label),
    ]);
    let (d, h) = (bench.task.input_size(), budget.hidden);
    let rows: [(&str, Option<(Init, Nonlinearity)>); 7] = [
        (
            "RNN, uniform (PyTorch)",
            Some((Init::Uniform, Nonlinearity::Tanh)),
        ),
        (
            "RNN, identity (tanh)",
            Some((Init::Identity { scale: 1.0 }, Nonlinearity::Tanh)),
        ),
        (
            "IRNN (ReLU, identity)",
            Some((Init::Identity { scale: 1.0 }, Nonlinearity::Relu)),
        ),
        (
            "RNN, orthogonal",
            Some((Init::Orthogonal { gain: 1.0 }, Nonlinearity::Tanh)),
        ),
        ("LSTM, forget bias 0", None),
        ("LSTM, forget bias 1", None),
        ("GRU", None),
    ];
    for (name, rnn) in rows {
        let (mut rhos, mut sigmas, mut flows) = (Vec::new(), Vec::new(), Vec::new());
        for seed in 0..budget.seeds {
            let batch = bench
                .task
                .batch::<f64>(budget.eval, &mut rng(seed.wrapping_add(7)))?;
            let dhs = match (rnn, name) {
                (Some((init, nonlinearity)), _) => {
                    let rnn = Rnn::<f64>::new(&RnnConfig {
                        input_size: d,
                        hidden_size: h,
                        init,
                        nonlinearity,
                        seed,
                    })?;
                    let model = SequenceModel::with_cell(rnn, &bench.task, seed)?;
                    let w = &model.rnn.w_hh;
                    rhos.push(spectral_radius(w.view())?);
                    sigmas.push(spectral_radius(w.t().dot(w).view())?.sqrt());
                    model.evaluate(&batch, None)?.rnn.dhs
                }
                (None, "GRU") => {
                    let gru = Gru::<f64>::new(&GruConfig {
                        input_size: d,
                        hidden_size: h,
                        form: GruForm::ResetAfter,
                        seed,
                    })?;
                    let model = SequenceModel::with_cell(gru, &bench.task, seed)?;
                    model.evaluate(&batch, None)?.rnn.dhs
                }
                (None, _) => {
                    let lstm = Lstm::<f64>::new(&LstmConfig {
                        input_size: d,
                        hidden_size: h,
                        forget_bias: if name.ends_with("bias 1") {
                            FORGET_BIAS
                        } else {
                            0.0
                        },
                        seed,
                        ..LstmConfig::default()
                    })?;
                    let model = SequenceModel::with_cell(lstm, &bench.task, seed)?;
                    model.evaluate(&batch, None)?.rnn.dhs
                }
            };
            flows.push(flow_ratio(dhs.view()).log10());
        }
        let or_dash = |v: &[f64]| {
            if v.is_empty() {
                "—".to_string()
            } else {
                mean_std(v, 3)
            }
        };
        table.row(vec![
            name.to_string(),
            or_dash(&rhos),
            or_dash(&sigmas),
            mean_std(&flows, 2),
        ]);
    }
    ctx.write_table("remedies-init", &table)
}

fn write_setup(ctx: &Ctx, benches: &[Bench], budget: &Budget) -> Result<()> {
    let (a, e) = (&benches[0], &benches[1]);
    let text = format!(
        "Two tasks: the **adding problem** at T = {t_a} (held-out MSE; always answering 1 \
         scores 1/6 ≈ 0.167; *solved* means MSE < 0.01) and the **delayed echo** with delay \
         {delay}, T = {t_e} and {vocab} symbols (held-out accuracy over the steps from \
         {delay} on; guessing scores {chance:.2}; *solved* means accuracy > 0.95). The \
         longest dependency is {dep_a} steps in the adding problem and {dep_e} in the echo, \
         so BPTT(k) runs with k = {ks_a} and k = {kl_a} (which is full BPTT) on the adding \
         problem and k = {ks_e} and k = {kl_e} on the echo.\n\n\
         Every gradient-trained recipe has H = {h} units, batches of {batch}, {steps} steps, \
         full BPTT and PyTorch's uniform initialisation unless the recipe changes them, on \
         f32. The first two rows use SGD with momentum 0.9 and step {sgd}, Pascanu et al.'s \
         setting; every other row uses Adam with step {adam}. *clip norm* rescales the \
         global gradient norm to {clip_n} when it is larger (Pascanu et al. 2013); *clip \
         value* clamps every entry into ±{clip_v} (min-char-rnn, which clips before an \
         adaptive optimiser, Adagrad). Every row below *RNN: Adam, clip norm* keeps Adam \
         with norm clipping at {clip_n} and changes one thing. Two rows start from Le et \
         al.'s (2015) initialisation, $W_{{hh}} = I$, $b = 0$ and input weights from \
         $\\mathcal N(0, 0.001^2)$: *IRNN* is their network, with ReLU units; *identity \
         init (tanh)* is the same start on tanh units, which separates what the \
         initialisation does from what the rectifier does. Ω has weight α = {alpha}. The LSTM (forget bias {fb}) and GRU are \
         the crate's fast f32 cells. The echo state network has N = {n} tanh units, spectral \
         radius {rho}, input and bias scale {esn_in} and a ridge readout (λ = 1e-6) fitted \
         on {esn_train} sequences, each run from the zero state. {seeds} seeds (0 to {last}) \
         for everything, each with its own held-out batch of {eval} sequences; ± is the \
         standard deviation over seeds.\n\n{}\n",
        ctx.provenance(),
        t_a = a.seq_len(),
        t_e = e.seq_len(),
        delay = e.dependency,
        vocab = match e.task {
            Task::Echo { vocab, .. } => vocab,
            Task::Adding { .. } => 0,
        },
        chance = e.chance(),
        dep_a = a.dependency,
        dep_e = e.dependency,
        ks_a = a.k_shorter,
        kl_a = a.k_longer,
        ks_e = e.k_shorter,
        kl_e = e.k_longer,
        h = budget.hidden,
        sgd = SGD_LR,
        adam = ADAM_LR,
        esn_in = ESN_INPUT_SCALE,
        batch = budget.batch,
        steps = budget.steps,
        clip_n = CLIP_NORM,
        clip_v = CLIP_VALUE,
        alpha = ALPHA,
        fb = FORGET_BIAS,
        n = budget.esn_size,
        rho = budget.esn_rho,
        esn_train = budget.esn_train,
        seeds = budget.seeds,
        last = budget.seeds - 1,
        eval = budget.eval,
    );
    ctx.write_text("remedies-setup", &text)
}

/// The sentences the chapters quote, every count and number taken from the runs.
fn write_verdict(
    ctx: &Ctx,
    recipes: &[Recipe],
    benches: &[Bench],
    budget: &Budget,
    runs: &[Vec<Vec<Run>>],
) -> Result<()> {
    let seeds = budget.seeds as usize;
    let mut text = String::new();
    for (b, bench) in benches.iter().enumerate() {
        let unit = if bench.is_adding() { "MSE" } else { "accuracy" };
        let summary = |r: usize| {
            let finite = scores(&runs[r][b]);
            if finite.is_empty() {
                "diverged in every seed".to_string()
            } else {
                format!(
                    "{unit} {}",
                    mean_std(&finite, if bench.is_adding() { 4 } else { 3 })
                )
            }
        };
        let in_all = |test: &dyn Fn(f64) -> bool, r: usize| {
            let list = &runs[r][b];
            list.len() == seeds
                && list
                    .iter()
                    .all(|run| run.score.is_finite() && test(run.score))
        };
        let names = |test: &dyn Fn(f64) -> bool| -> Vec<&str> {
            (0..recipes.len())
                .filter(|&r| in_all(test, r))
                .map(|r| recipes[r].name)
                .collect()
        };
        let solved_all = names(&|s| solved(bench, s));
        let beat_all = names(&|s| beats_chance(bench, s));
        let list = |v: &[&str]| {
            if v.is_empty() {
                "none".to_string()
            } else {
                v.join("; ")
            }
        };
        let diverged: usize = runs
            .iter()
            .map(|per| per[b].iter().filter(|r| r.diverged).count())
            .sum();
        let best = (0..recipes.len())
            .filter(|&r| !scores(&runs[r][b]).is_empty())
            .min_by(|&x, &y| {
                let (mx, my) = (mean(&scores(&runs[x][b])), mean(&scores(&runs[y][b])));
                let (mx, my) = if bench.is_adding() {
                    (mx, my)
                } else {
                    (-mx, -my)
                };
                mx.total_cmp(&my)
            });
        let diverged_in: Vec<String> = (0..recipes.len())
            .filter_map(|r| {
                let n = runs[r][b].iter().filter(|run| run.diverged).count();
                (n > 0).then(|| format!("{} ({n})", recipes[r].name))
            })
            .collect();
        text.push_str(&format!(
            "- **{}** ({unit} of the input-blind answer: {:.3}). Solved in all {seeds} seeds: \
             {}. Beat the input-blind answer in all {seeds} seeds: {}. Best on average: {}. \
             Runs that diverged: {diverged}{}.\n",
            bench.label,
            bench.chance(),
            list(&solved_all),
            list(&beat_all),
            best.map_or("none".to_string(), |r| format!(
                "{} ({})",
                recipes[r].name,
                summary(r)
            )),
            if diverged_in.is_empty() {
                String::new()
            } else {
                format!(", in {}", diverged_in.join("; "))
            },
        ));
    }
    text.push_str(&format!("\n{}\n", ctx.provenance()));
    ctx.write_text("remedies-verdict", &text)
}

/// Learning curves on one task: the training loss of every gradient-trained recipe,
/// averaged over windows of steps and over the seeds that did not diverge.
fn draw_curves(
    ctx: &Ctx,
    recipes: &[Recipe],
    bench: &Bench,
    b: usize,
    budget: &Budget,
    runs: &[Vec<Vec<Run>>],
) -> Result<()> {
    let mut series = Vec::new();
    for (r, recipe) in recipes.iter().enumerate() {
        let curves: Vec<&Vec<f64>> = runs[r][b]
            .iter()
            .filter(|run| !run.diverged && !run.curve.is_empty())
            .map(|run| &run.curve)
            .collect();
        if curves.is_empty() {
            continue;
        }
        let len = curves.iter().map(|c| c.len()).min().unwrap_or(0);
        let points = (0..len)
            .step_by(budget.window)
            .map(|start| {
                let end = (start + budget.window).min(len);
                let total: f64 = curves
                    .iter()
                    .map(|c| c[start..end].iter().sum::<f64>())
                    .sum();
                (
                    (start + end) as f64 / 2.0,
                    total / ((end - start) * curves.len()) as f64,
                )
            })
            .collect();
        series.push(Series {
            label: recipe.name.to_string(),
            points,
        });
    }
    let (file, y_label, reference, log_y) = if bench.is_adding() {
        (
            "remedies-adding",
            "training MSE",
            (bench.chance(), "always answer 1 (1/6)"),
            true,
        )
    } else {
        (
            "remedies-echo",
            "training cross-entropy (nats)",
            (-bench.chance().ln(), "guessing (ln V)"),
            false,
        )
    };
    let title = format!(
        "{}: training loss, mean of {} seed(s)",
        bench.label, budget.seeds
    );
    ctx.write_svg(file, |path| {
        line_chart(
            path,
            &Chart {
                title: &title,
                x_label: "SGD step",
                y_label,
                log_x: false,
                log_y,
                series,
                reference: Some(reference),
            },
        )
    })
}
