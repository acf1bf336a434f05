//! The echo state network (Jaeger 2001; the practical guide of Lukoševičius 2012): a
//! recurrent network whose recurrence is never trained.
//!
//! A fixed random reservoir of $N$ leaky tanh units is driven by the input,
//! $$\widehat{x}_t = \tanh(W_{in} u_t + W x_{t-1} + b), \qquad x_t = (1-a)\,x_{t-1} + a\,\widehat{x}_t,$$
//! (Lukoševičius 2012, eqs. 2–3, with the bias written as $b$ instead of a column of
//! $W_{in}$), and only a linear readout $y_t = [1; x_t]^\top W_{out}$ is learned, by ridge
//! regression on the states collected after a washout. Learning is one linear solve: no
//! gradient ever travels back through time, so none can vanish or explode.
//!
//! Everything here is `f64`: the normal equations square the condition number of the
//! state matrix, and `f32` would lose half of the digits the readout needs.
//! Unlike the rest of the crate, one sequence at a time (no batch axis): a reservoir is
//! driven by one long series.

use crate::error::{check_finite, check_shape, require, Error};
use crate::init::{self, uniform};
use crate::spectral::scale_to_spectral_radius;
use crate::Result;
use ndarray::{concatenate, s, Array1, Array2, ArrayView1, ArrayView2, Axis};
use rand::Rng;

/// How to build an [`Esn`].
#[derive(Clone, Debug, PartialEq)]
pub struct EsnConfig {
    /// D, the size of each input vector. Default 1: the benchmarks here are scalar series.
    pub input_size: usize,
    /// N, the number of reservoir units. Default 200: enough for NRMSE well below 0.1 on
    /// one-step Mackey–Glass, and a readout solve of 201 unknowns is instant.
    pub reservoir_size: usize,
    /// The spectral radius ρ the reservoir matrix W is rescaled to. Default 0.9: just below
    /// 1, Jaeger's rule of thumb for the echo state property with a long memory.
    pub spectral_radius: f64,
    /// The fraction of W's entries that are non-zero. Default 1.0 (dense): Lukoševičius
    /// (2012, §3.2.2) finds sparsity matters little for quality; sparse W only makes large
    /// reservoirs faster, and ours are small.
    pub density: f64,
    /// $W_{in}$ and $b$ are drawn from $U(\pm$ `input_scale`$)$. Default 1.0: inputs of order
    /// one then drive the units into tanh's curved region without saturating them.
    pub input_scale: f64,
    /// The leak rate $a$ in (0, 1]. Default 1.0: no leaking, Jaeger's original unit; a
    /// smaller $a$ slows the reservoir down for slowly varying inputs.
    pub leak_rate: f64,
    /// λ in $(X^\top X + \lambda I) W_{out} = X^\top Y$. Default 1e-6: enough to keep the
    /// solve well conditioned when states are nearly collinear, too little to bias the fit.
    pub ridge: f64,
    /// States discarded at the start of every run before the readout reads them. Default
    /// 100: long enough for the zero initial state to be forgotten when ρ < 1 (its trace
    /// shrinks roughly like $\rho^t$).
    pub washout: usize,
    /// The seed of the reservoir and input weights. Default 0.
    pub seed: u64,
}

impl Default for EsnConfig {
    fn default() -> Self {
        EsnConfig {
            input_size: 1,
            reservoir_size: 200,
            spectral_radius: 0.9,
            density: 1.0,
            input_scale: 1.0,
            leak_rate: 1.0,
            ridge: 1e-6,
            washout: 100,
            seed: 0,
        }
    }
}

impl EsnConfig {
    /// Checks every field; [`Esn::new`] calls it.
    pub fn validate(&self) -> Result<()> {
        require(
            self.input_size > 0,
            "input_size",
            "must be at least 1, got 0",
        )?;
        require(
            self.reservoir_size > 0,
            "reservoir_size",
            "must be at least 1, got 0",
        )?;
        require(
            self.spectral_radius.is_finite() && self.spectral_radius > 0.0,
            "spectral_radius",
            format!("must be finite and > 0, got {}", self.spectral_radius),
        )?;
        require(
            self.density > 0.0 && self.density <= 1.0,
            "density",
            format!("must be in (0, 1], got {}", self.density),
        )?;
        require(
            self.input_scale.is_finite() && self.input_scale >= 0.0,
            "input_scale",
            format!("must be finite and ≥ 0, got {}", self.input_scale),
        )?;
        require(
            self.leak_rate > 0.0 && self.leak_rate <= 1.0,
            "leak_rate",
            format!("must be in (0, 1], got {}", self.leak_rate),
        )?;
        require(
            self.ridge.is_finite() && self.ridge >= 0.0,
            "ridge",
            format!("must be finite and ≥ 0, got {}", self.ridge),
        )
    }
}

/// An echo state network: a fixed reservoir and, once [`Esn::fit`] has run, a readout.
#[derive(Clone, Debug, PartialEq)]
pub struct Esn {
    /// $W_{in}$: (N, D), fixed.
    pub w_in: Array2<f64>,
    /// $W$: (N, N), fixed, with spectral radius `spectral_radius`.
    pub w: Array2<f64>,
    /// $b$: (N,), fixed.
    pub b: Array1<f64>,
    /// $W_{out}$: (1 + N, O), row 0 the bias; `None` until [`Esn::fit`].
    pub w_out: Option<Array2<f64>>,
    /// The leak rate $a$.
    pub leak_rate: f64,
    /// λ of the ridge readout.
    pub ridge: f64,
    /// States discarded before the readout reads them.
    pub washout: usize,
}

impl Esn {
    /// A new reservoir drawn from `config`; an invalid configuration is an error.
    pub fn new(config: &EsnConfig) -> Result<Self> {
        config.validate()?;
        let (n, d) = (config.reservoir_size, config.input_size);
        let mut rng = init::rng(config.seed);
        let mut w: Array2<f64> = uniform(n, n, 1.0, &mut rng); // (N, N)
        if config.density < 1.0 {
            w.mapv_inplace(|v| {
                if rng.random::<f64>() < config.density {
                    v
                } else {
                    0.0
                }
            });
        }
        // The rule of thumb: ρ(W) just below 1 (Jaeger 2001); any ρ may be asked for.
        scale_to_spectral_radius(&mut w, config.spectral_radius).map_err(|_| Error::Config {
            field: "density",
            reason: format!(
                "the drawn reservoir has spectral radius 0 (too sparse at density {} for N = {n}), \
                 so it cannot be rescaled",
                config.density
            ),
        })?;
        let w_in = uniform(n, d, config.input_scale, &mut rng); // (N, D)
        let b = uniform(1, n, config.input_scale, &mut rng).remove_axis(Axis(0)); // (N,)
        Ok(Esn {
            w_in,
            w,
            b,
            w_out: None,
            leak_rate: config.leak_rate,
            ridge: config.ridge,
            washout: config.washout,
        })
    }

    /// N.
    pub fn reservoir_size(&self) -> usize {
        self.w.nrows()
    }

    /// D.
    pub fn input_size(&self) -> usize {
        self.w_in.ncols()
    }

    // ANCHOR: run
    /// Drives the reservoir with `inputs` (T, D) from the zero state; returns every state
    /// $x_1, \dots, x_T$: (T, N). The washout is not removed here.
    pub fn run(&self, inputs: ArrayView2<f64>) -> Result<Array2<f64>> {
        check_shape(
            "inputs",
            inputs.shape(),
            &[("T", None), ("D", Some(self.input_size()))],
        )?;
        check_finite("inputs", &inputs)?;
        let a = self.leak_rate;
        // All input projections at once: W_in u_t + b for every t.
        let drive = inputs.dot(&self.w_in.t()) + &self.b; // (T, N)
        let mut states = Array2::zeros(drive.raw_dim()); // (T, N)
        let mut x = Array1::zeros(self.reservoir_size()); // (N,)  x_{t-1}
        for (t, drive_t) in drive.rows().into_iter().enumerate() {
            let x_hat = (&drive_t + &self.w.dot(&x)).mapv(f64::tanh); // (N,)

            // Leaky integration: a = 1 is Jaeger's plain unit, x_t = x̂_t.
            x = &x * (1.0 - a) + &x_hat * a;
            states.row_mut(t).assign(&x);
        }
        Ok(states)
    }
    // ANCHOR_END: run

    /// Trains the readout: runs the reservoir over `inputs` (T, D), drops the washout and
    /// fits $W_{out}$ to `targets` (T, O) by [`ridge_readout`]. Returns the readout.
    pub fn fit(
        &mut self,
        inputs: ArrayView2<f64>,
        targets: ArrayView2<f64>,
    ) -> Result<&Array2<f64>> {
        check_shape(
            "targets",
            targets.shape(),
            &[("T", Some(inputs.nrows())), ("O", None)],
        )?;
        let states = self.run(inputs)?; // (T, N)
        let w_out = ridge_readout(states.view(), targets, self.washout, self.ridge)?;
        Ok(self.w_out.insert(w_out))
    }

    /// The readout's outputs $[1; x_t]^\top W_{out}$ for every step of a run over `inputs`
    /// (T, D) from the zero state: (T, O), washout included (the caller decides what to
    /// score). An error before [`Esn::fit`].
    pub fn predict(&self, inputs: ArrayView2<f64>) -> Result<Array2<f64>> {
        let states = self.run(inputs)?; // (T, N)
        self.read(states.view())
    }

    /// The readout applied to given `states` (T, N), for instance a stretch of one long
    /// [`Esn::run`]: (T, O). An error before [`Esn::fit`].
    pub fn read(&self, states: ArrayView2<f64>) -> Result<Array2<f64>> {
        let w_out = self.w_out.as_ref().ok_or_else(|| Error::Value {
            arg: "self",
            reason: "the readout is not trained yet: call fit first".into(),
        })?;
        check_shape(
            "states",
            states.shape(),
            &[("T", None), ("N", Some(self.reservoir_size()))],
        )?;
        Ok(with_bias_column(states).dot(w_out))
    }
}

/// `[1 | states]`: a column of ones before the states, (T, 1 + N), so the readout has a
/// bias.
fn with_bias_column(states: ArrayView2<f64>) -> Array2<f64> {
    let ones = Array2::ones((states.nrows(), 1)); // (T, 1)
    concatenate![Axis(1), ones, states]
}

// ANCHOR: readout
/// The ridge-regression readout (Lukoševičius 2012, eq. 9): drop the first `washout` rows
/// of `states` (T, N) and `targets` (T, O), prepend a column of ones, and solve
/// $$(X^\top X + \lambda I)\,W_{out} = X^\top Y$$
/// for $W_{out}$: (1 + N, O), row 0 the bias. λ regularises the bias too, as in the
/// guide's formula; with λ > 0 the matrix is positive definite whatever the states.
pub fn ridge_readout(
    states: ArrayView2<f64>,
    targets: ArrayView2<f64>,
    washout: usize,
    ridge: f64,
) -> Result<Array2<f64>> {
    check_shape("states", states.shape(), &[("T", None), ("N", None)])?;
    check_shape(
        "targets",
        targets.shape(),
        &[("T", Some(states.nrows())), ("O", None)],
    )?;
    require(
        washout < states.nrows(),
        "washout",
        format!(
            "must leave at least one state, got {washout} of T = {}",
            states.nrows()
        ),
    )?;
    require(
        ridge.is_finite() && ridge >= 0.0,
        "ridge",
        format!("must be finite and ≥ 0, got {ridge}"),
    )?;
    let x = with_bias_column(states.slice(s![washout.., ..])); // (T - washout, 1 + N)
    let y = targets.slice(s![washout.., ..]); // (T - washout, O)
    let mut gram = x.t().dot(&x); // (1 + N, 1 + N)
    gram.diag_mut().mapv_inplace(|g| g + ridge);
    solve_spd(gram.view(), x.t().dot(&y).view())
}
// ANCHOR_END: readout

// ANCHOR: cholesky
/// The Cholesky factor $L$ (lower triangular, $A = L L^\top$) of a symmetric positive
/// definite `a` (P, P), by the Cholesky–Banachiewicz order: row by row,
/// $L_{ij} = (A_{ij} - \sum_{k<j} L_{ik} L_{jk}) / L_{jj}$ and
/// $L_{ii} = \sqrt{A_{ii} - \sum_{k<i} L_{ik}^2}$. A pivot that is not positive means `a`
/// is not positive definite (for the readout: λ = 0 and collinear states), and is an
/// error naming the row.
pub fn cholesky(a: ArrayView2<f64>) -> Result<Array2<f64>> {
    let p = a.nrows();
    if a.ncols() != p || p == 0 {
        return Err(Error::Shape {
            arg: "a",
            expected: "a non-empty square matrix [P, P]".into(),
            found: a.shape().to_vec(),
        });
    }
    let mut l = Array2::<f64>::zeros((p, p)); // (P, P)
    for i in 0..p {
        for j in 0..=i {
            let dot = l.row(i).slice(s![..j]).dot(&l.row(j).slice(s![..j]));
            let rest = a[[i, j]] - dot;
            if i == j {
                if rest.is_nan() || rest <= 0.0 {
                    return Err(Error::Value {
                        arg: "a",
                        reason: format!(
                            "is not positive definite: pivot {i} is {rest:e} (for a ridge \
                             readout, use λ > 0)"
                        ),
                    });
                }
                l[[i, i]] = rest.sqrt();
            } else {
                l[[i, j]] = rest / l[[j, j]];
            }
        }
    }
    Ok(l)
}

/// Solves $A X = B$ for a symmetric positive definite `a` (P, P) and `rhs` (P, O): factor
/// $A = L L^\top$, then two triangular solves, $L Z = B$ forward and $L^\top X = Z$
/// backward.
pub fn solve_spd(a: ArrayView2<f64>, rhs: ArrayView2<f64>) -> Result<Array2<f64>> {
    check_shape("rhs", rhs.shape(), &[("P", Some(a.nrows())), ("O", None)])?;
    let l = cholesky(a)?; // (P, P)
    let p = l.nrows();
    let mut z = rhs.to_owned(); // (P, O)
    for i in 0..p {
        let done = l.row(i).slice(s![..i]).dot(&z.slice(s![..i, ..])); // (O,)
        let row = (&z.row(i) - &done) / l[[i, i]];
        z.row_mut(i).assign(&row);
    }
    let mut x = z; // (P, O), overwritten from the bottom row up
    for i in (0..p).rev() {
        let done = l
            .column(i)
            .slice(s![i + 1..])
            .dot(&x.slice(s![i + 1.., ..])); // (O,)
        let row = (&x.row(i) - &done) / l[[i, i]];
        x.row_mut(i).assign(&row);
    }
    Ok(x)
}
// ANCHOR_END: cholesky

/// A series as a (T, 1) column, the shape [`Esn::run`] and [`Esn::fit`] take.
pub fn column(series: ArrayView1<f64>) -> Array2<f64> {
    series.to_owned().insert_axis(Axis(1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::series::{nrmse, MackeyGlass};
    use approx::assert_abs_diff_eq;
    use ndarray::array;

    #[test]
    fn cholesky_reproduces_the_matrix_and_solves_a_known_system() {
        let a = array![[4.0, 2.0, 0.4], [2.0, 5.0, 1.0], [0.4, 1.0, 3.0]];
        let l = cholesky(a.view()).unwrap();
        assert_abs_diff_eq!(l.dot(&l.t()), a, epsilon = 1e-12);
        assert_eq!(l[[0, 1]], 0.0);
        let x = array![[1.0, -2.0], [0.5, 0.0], [-1.0, 3.0]];
        let solved = solve_spd(a.view(), a.dot(&x).view()).unwrap();
        assert_abs_diff_eq!(solved, x, epsilon = 1e-12);
    }

    #[test]
    fn not_positive_definite_is_an_error_naming_the_pivot() {
        let a = array![[1.0, 2.0], [2.0, 1.0]];
        let err = cholesky(a.view()).unwrap_err().to_string();
        assert!(err.contains("not positive definite: pivot 1"), "{err}");
        assert!(cholesky(Array2::<f64>::zeros((2, 3)).view()).is_err());
    }

    #[test]
    fn ridge_readout_recovers_a_linear_map_and_shrinks_with_lambda() {
        // y = 0.5 + 2 s_0 - s_1 exactly: λ = 0 recovers it; large λ shrinks it.
        let mut g = init::rng(1);
        let states: Array2<f64> = uniform(50, 2, 1.0, &mut g);
        let y = states.column(0).mapv(|v| 2.0 * v) - states.column(1) + 0.5;
        let y = column(y.view());
        let w = ridge_readout(states.view(), y.view(), 5, 0.0).unwrap();
        assert_abs_diff_eq!(w, array![[0.5], [2.0], [-1.0]], epsilon = 1e-10);
        let shrunk = ridge_readout(states.view(), y.view(), 5, 100.0).unwrap();
        assert!(shrunk.iter().map(|v| v * v).sum::<f64>() < w.iter().map(|v| v * v).sum());
        // Collinear features without λ: the error says what to do.
        let twins = concatenate![Axis(1), states.column(0).insert_axis(Axis(1)), states];
        let err = ridge_readout(twins.view(), y.view(), 0, 0.0).unwrap_err();
        assert!(err.to_string().contains("λ > 0"), "{err}");
    }

    #[test]
    fn reservoir_has_the_asked_spectral_radius_and_leaks() {
        let esn = Esn::new(&EsnConfig {
            reservoir_size: 30,
            spectral_radius: 0.7,
            density: 0.5,
            ..EsnConfig::default()
        })
        .unwrap();
        let rho = crate::spectral::spectral_radius(esn.w.view()).unwrap();
        assert!((rho - 0.7).abs() < 1e-3, "{rho}");
        // One step from zero with a = 0.25 is a quarter of the plain unit's step.
        let mut leaky = esn.clone();
        leaky.leak_rate = 0.25;
        let u = array![[0.3]];
        assert_abs_diff_eq!(
            leaky.run(u.view()).unwrap(),
            esn.run(u.view()).unwrap() * 0.25,
            epsilon = 1e-15
        );
    }

    #[test]
    fn learns_one_step_mackey_glass() {
        let series = MackeyGlass::default().generate(1601, 0).unwrap();
        let u = column(series.slice(s![..1600]));
        let y = column(series.slice(s![1..]));
        let mut esn = Esn::new(&EsnConfig::default()).unwrap();
        esn.fit(u.slice(s![..1000, ..]), y.slice(s![..1000, ..]))
            .unwrap();
        // Test on the unseen stretch; the run restarts from zero, so skip a washout.
        let pred = esn.predict(u.slice(s![1000.., ..])).unwrap();
        let err = nrmse(
            pred.slice(s![100.., 0]).as_slice().unwrap(),
            y.slice(s![1100.., 0]).to_vec().as_slice(),
        )
        .unwrap();
        assert!(err < 0.02, "NRMSE {err}");
    }

    #[test]
    fn bad_configs_and_shapes_are_errors() {
        for config in [
            EsnConfig {
                spectral_radius: 0.0,
                ..EsnConfig::default()
            },
            EsnConfig {
                leak_rate: 1.5,
                ..EsnConfig::default()
            },
            EsnConfig {
                density: 0.0,
                ..EsnConfig::default()
            },
            EsnConfig {
                ridge: -1.0,
                ..EsnConfig::default()
            },
        ] {
            assert!(matches!(Esn::new(&config), Err(Error::Config { .. })));
        }
        let esn = Esn::new(&EsnConfig {
            reservoir_size: 5,
            ..EsnConfig::default()
        })
        .unwrap();
        let two_wide = Array2::<f64>::zeros((10, 2));
        let err = esn.run(two_wide.view()).unwrap_err().to_string();
        assert!(err.contains("`inputs`") && err.contains("[10, 2]"), "{err}");
        assert!(esn.predict(Array2::zeros((3, 1)).view()).is_err());
        let states = Array2::<f64>::zeros((4, 2));
        assert!(ridge_readout(states.view(), Array2::zeros((3, 1)).view(), 0, 1.0).is_err());
        assert!(ridge_readout(states.view(), Array2::zeros((4, 1)).view(), 4, 1.0).is_err());
    }
}
