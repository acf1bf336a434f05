//! `cargo xtask repro esn`: an echo state network on Mackey–Glass (one-step prediction)
//! and NARMA-10, NRMSE against the reservoir's spectral radius and size (Jaeger 2001;
//! Lukoševičius 2012).

use anyhow::Result;
use ndarray::{s, Array1, Array2};
use recurrent::esn::{column, ridge_readout, Esn, EsnConfig};
use recurrent::series::{narma10, nrmse, MackeyGlass};

use super::plot::{line_chart, Chart, Series};
use super::{mean_std, Ctx, Table};

/// One benchmark: inputs and targets over one long run, split into train and test.
struct Bench {
    name: &'static str,
    file: &'static str,
    inputs: Array2<f64>,  // (T, 1)
    targets: Array2<f64>, // (T, 1)
}

const WASHOUT: usize = 100;

fn benches(len: usize, seed: u64) -> Result<[Bench; 2]> {
    let mg = MackeyGlass::default().generate(len + 1, seed)?;
    let (u, y) = narma10(len, seed)?;
    Ok([
        Bench {
            name: "Mackey–Glass, one step ahead",
            file: "mackey_glass",
            inputs: column(mg.slice(s![..len])),
            targets: column(mg.slice(s![1..])),
        },
        Bench {
            name: "NARMA-10",
            file: "narma10",
            inputs: column(u.view()),
            targets: column(y.view()),
        },
    ])
}

/// Test NRMSE and the test predictions of a reservoir fitted on the first `train` steps
/// (after the washout) of one run over the whole series.
fn score(bench: &Bench, config: &EsnConfig, train: usize) -> Result<(f64, Array1<f64>)> {
    let mut esn = Esn::new(config)?;
    let states = esn.run(bench.inputs.view())?; // (T, N)
    esn.w_out = Some(ridge_readout(
        states.slice(s![..train, ..]),
        bench.targets.slice(s![..train, ..]),
        config.washout,
        config.ridge,
    )?);
    let pred = esn
        .read(states.slice(s![train.., ..]))?
        .column(0)
        .to_owned(); // (T_test,)
    let truth = bench.targets.slice(s![train.., 0]).to_vec();
    Ok((nrmse(pred.as_slice().expect("contiguous"), &truth)?, pred))
}

pub fn run(ctx: &Ctx) -> Result<()> {
    let rhos: Vec<f64> = ctx.pick(
        vec![0.1, 0.3, 0.5, 0.7, 0.9, 1.0, 1.1, 1.3, 1.5],
        vec![0.5, 0.9, 1.3],
    );
    let sizes: Vec<usize> = ctx.pick(vec![50, 100, 200, 400], vec![50]);
    let seeds: u64 = ctx.pick(3, 1);
    let (train, test) = ctx.pick((2000, 1000), (600, 300));
    let all: Vec<[Bench; 2]> = (0..seeds)
        .map(|seed| benches(train + test, seed))
        .collect::<Result<_>>()?;
    // nrmse[task][size][rho] = one value per seed
    let mut nrmses = vec![vec![vec![Vec::new(); rhos.len()]; sizes.len()]; 2];
    let bar = ctx.progress(2 * sizes.len() * rhos.len() * seeds as usize, "reservoirs");
    for (task, per_size) in nrmses.iter_mut().enumerate() {
        for (i, &n) in sizes.iter().enumerate() {
            for (j, &rho) in rhos.iter().enumerate() {
                for (seed, benches) in all.iter().enumerate() {
                    let config = EsnConfig {
                        reservoir_size: n,
                        spectral_radius: rho,
                        washout: WASHOUT,
                        seed: seed as u64,
                        ..EsnConfig::default()
                    };
                    let (e, _) = score(&benches[task], &config, train)?;
                    per_size[i][j].push(e);
                    bar.set_prefix(format!("NRMSE {e:.4}"));
                    bar.inc(1);
                }
            }
        }
    }
    bar.finish_and_clear();

    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let mut summary = String::new();
    for (task, bench) in all[0].iter().enumerate() {
        let mut header = vec!["ρ".to_string()];
        header.extend(sizes.iter().map(|n| format!("N = {n}")));
        let header: Vec<&str> = header.iter().map(String::as_str).collect();
        let mut table = Table::new(&header);
        for (j, rho) in rhos.iter().enumerate() {
            let mut row = vec![format!("{rho}")];
            row.extend((0..sizes.len()).map(|i| mean_std(&nrmses[task][i][j], 4)));
            table.row(row);
        }
        ctx.write_table(&format!("esn_{}", bench.file), &table)?;
        let series = sizes
            .iter()
            .enumerate()
            .map(|(i, n)| Series {
                label: format!("N = {n}"),
                points: rhos
                    .iter()
                    .enumerate()
                    .map(|(j, &rho)| (rho, mean(&nrmses[task][i][j])))
                    .collect(),
            })
            .collect();
        let title = format!("ESN on {}: test NRMSE against ρ", bench.name);
        ctx.write_svg(&format!("esn_{}_rho", bench.file), |path| {
            line_chart(
                path,
                &Chart {
                    title: &title,
                    x_label: "spectral radius ρ of the reservoir",
                    y_label: "test NRMSE (mean over seeds)",
                    log_x: false,
                    // Mackey–Glass errors span decades; NARMA-10's stay within one.
                    log_y: task == 0,
                    series,
                    reference: None,
                },
            )
        })?;
        // The best cell of the grid, and the rule-of-thumb cell ρ = 0.9 at the largest N.
        let (mut bi, mut bj) = (0, 0);
        for i in 0..sizes.len() {
            for j in 0..rhos.len() {
                if mean(&nrmses[task][i][j]) < mean(&nrmses[task][bi][bj]) {
                    (bi, bj) = (i, j);
                }
            }
        }
        let last = sizes.len() - 1;
        let j09 = rhos
            .iter()
            .position(|&r| r == 0.9)
            .expect("0.9 is in every grid");
        let worst_big = (0..rhos.len())
            .map(|j| mean(&nrmses[task][last][j]))
            .fold(0.0, f64::max);
        summary.push_str(&format!(
            "- {}: best test NRMSE {} at N = {}, ρ = {}; at the rule of thumb ρ = 0.9 with \
             N = {}, {}; the worst ρ at that N gives {worst_big:.4}.\n",
            bench.name,
            mean_std(&nrmses[task][bi][bj], 4),
            sizes[bi],
            rhos[bj],
            sizes[last],
            mean_std(&nrmses[task][last][j09], 4),
        ));
    }
    // Context: what trivial predictors score on the same test stretches (seed 0).
    let mg = &all[0][0];
    let persistence = nrmse(
        mg.inputs.slice(s![train.., 0]).to_vec().as_slice(),
        mg.targets.slice(s![train.., 0]).to_vec().as_slice(),
    )?;
    summary.push_str(&format!(
        "- For scale: predicting that the series stays where it is (x(t+1) = x(t)) scores \
         NRMSE {persistence:.4} on the Mackey–Glass test stretch; predicting the mean scores 1 \
         on either task.\n"
    ));
    summary.push_str(&format!(
        "\nTrained on {train} steps after a washout of {WASHOUT}, tested on the next {test}; \
         {seeds} seed(s) (reservoir and series), mean ± standard deviation.\n\n{}\n",
        ctx.provenance()
    ));
    ctx.write_text("esn_summary", &summary)?;

    // Prediction against truth on the first test steps, ρ = 0.9 and the largest N, seed 0.
    for bench in &all[0] {
        let config = EsnConfig {
            reservoir_size: sizes[sizes.len() - 1],
            spectral_radius: 0.9,
            washout: WASHOUT,
            ..EsnConfig::default()
        };
        let (e, pred) = score(bench, &config, train)?;
        let shown = ctx.pick(200, 100);
        let truth: Vec<(f64, f64)> = (0..shown)
            .map(|k| (k as f64, bench.targets[[train + k, 0]]))
            .collect();
        let guess: Vec<(f64, f64)> = (0..shown).map(|k| (k as f64, pred[k])).collect();
        let title = format!(
            "{}: ESN prediction against truth (test NRMSE {e:.4})",
            bench.name
        );
        ctx.write_svg(&format!("esn_{}_prediction", bench.file), |path| {
            line_chart(
                path,
                &Chart {
                    title: &title,
                    x_label: "test step",
                    y_label: "value",
                    log_x: false,
                    log_y: false,
                    series: vec![
                        Series {
                            label: "truth".into(),
                            points: truth,
                        },
                        Series {
                            label: "ESN".into(),
                            points: guess,
                        },
                    ],
                    reference: None,
                },
            )
        })?;
    }
    Ok(())
}
