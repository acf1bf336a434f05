//! Two benchmark time series of the reservoir-computing literature, generated from a seed:
//! the Mackey–Glass delay equation (chaotic for $\tau = 17$) and the NARMA-10 system.
//! Both are what echo state networks were first measured on (Jaeger 2001; Jaeger & Haas
//! 2004; Atiya & Parlos 2000 for NARMA), and both need no download.

use crate::error::{require, Error};
use crate::init::{self, SeededRng};
use crate::Result;
use ndarray::Array1;
use rand::Rng;

/// The Mackey–Glass equation (Mackey & Glass 1977),
/// $$\frac{dx}{dt} = \beta\,\frac{x(t-\tau)}{1 + x(t-\tau)^{n}} - \gamma\,x(t),$$
/// integrated with a fixed step and sampled at whole time units.
#[derive(Clone, Debug, PartialEq)]
pub struct MackeyGlass {
    /// The delay $\tau$. Default 17: the value at which the attractor is mildly chaotic,
    /// the standard benchmark since Jaeger (2001).
    pub tau: f64,
    /// The production rate $\beta$. Default 0.2, Mackey & Glass's value.
    pub beta: f64,
    /// The decay rate $\gamma$. Default 0.1, Mackey & Glass's value.
    pub gamma: f64,
    /// The exponent $n$. Default 10, Mackey & Glass's value.
    pub n: f64,
    /// The integration step. Default 0.1: τ/dt must be a whole number so that the delayed
    /// value is a stored grid point, and 0.1 keeps RK4's error far below the series' own
    /// scale.
    pub dt: f64,
    /// Time units between two samples. Default 1: the usual sampling of the benchmark.
    pub sample_every: f64,
    /// Time units integrated and thrown away before the first sample, so that the series
    /// starts on the attractor, not on the arbitrary initial history. Default 500.
    pub discard: f64,
}

impl Default for MackeyGlass {
    fn default() -> Self {
        MackeyGlass {
            tau: 17.0,
            beta: 0.2,
            gamma: 0.1,
            n: 10.0,
            dt: 0.1,
            sample_every: 1.0,
            discard: 500.0,
        }
    }
}

impl MackeyGlass {
    fn validate(&self) -> Result<(usize, usize, usize)> {
        for (field, v) in [
            ("tau", self.tau),
            ("beta", self.beta),
            ("gamma", self.gamma),
            ("n", self.n),
            ("dt", self.dt),
            ("sample_every", self.sample_every),
        ] {
            require(
                v.is_finite() && v > 0.0,
                field,
                format!("must be finite and > 0, got {v}"),
            )?;
        }
        require(
            self.discard.is_finite() && self.discard >= 0.0,
            "discard",
            format!("must be finite and ≥ 0, got {}", self.discard),
        )?;
        let whole = |x: f64| {
            let r = x.round();
            ((x - r).abs() < 1e-9 * x.max(1.0)).then_some(r as usize)
        };
        let delay = whole(self.tau / self.dt).ok_or_else(|| Error::Config {
            field: "dt",
            reason: format!(
                "tau / dt must be a whole number, got {} / {}",
                self.tau, self.dt
            ),
        })?;
        let every = whole(self.sample_every / self.dt)
            .filter(|&k| k > 0)
            .ok_or_else(|| Error::Config {
                field: "sample_every",
                reason: format!(
                    "must be a whole positive multiple of dt = {}, got {}",
                    self.dt, self.sample_every
                ),
            })?;
        let skip = (self.discard / self.dt).round() as usize;
        Ok((delay, every, skip))
    }

    fn rate(&self, x: f64, x_delayed: f64) -> f64 {
        self.beta * x_delayed / (1.0 + x_delayed.powf(self.n)) - self.gamma * x
    }

    // ANCHOR: mackey_glass
    /// `len` samples of the series. The history on $[-\tau, 0]$ is $1.2$ (the customary
    /// start) plus $0.1 \sin(2\pi s/\tau + \varphi)$ with a seeded phase $\varphi$, so
    /// different seeds give different stretches of the attractor (and the history does not
    /// depend on `dt`).
    ///
    /// The scheme is classical fourth-order Runge–Kutta on the grid $t_k = k\,dt$. The
    /// delayed term is known on the grid ($\tau/dt$ is whole); RK4 also needs it at the
    /// half step $t_k + dt/2 - \tau$, where we take the mean of the two neighbouring grid
    /// values (linear interpolation, whose $O(dt^2)$ error is negligible at $dt = 0.1$).
    pub fn generate(&self, len: usize, seed: u64) -> Result<Array1<f64>> {
        let (delay, every, skip) = self.validate()?;
        require(len > 0, "len", "must be at least 1, got 0")?;
        let mut rng = init::rng(seed);
        let steps = skip + every * (len - 1);
        // x[k] holds x(t) at t = (k - delay)·dt: the first `delay + 1` entries are the
        // history on [-τ, 0].
        let phase = rng.random_range(0.0..std::f64::consts::TAU);
        let mut x: Vec<f64> = (0..=delay)
            .map(|k| {
                let s = (k as f64 - delay as f64) * self.dt; // in [-τ, 0]
                1.2 + 0.1 * (std::f64::consts::TAU * s / self.tau + phase).sin()
            })
            .collect();
        x.reserve(steps);
        let h = self.dt;
        for k in delay..delay + steps {
            let (now, lag, lag_next) = (x[k], x[k - delay], x[k + 1 - delay]);
            let lag_half = 0.5 * (lag + lag_next);
            let k1 = self.rate(now, lag);
            let k2 = self.rate(now + 0.5 * h * k1, lag_half);
            let k3 = self.rate(now + 0.5 * h * k2, lag_half);
            let k4 = self.rate(now + h * k3, lag_next);
            x.push(now + h / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4));
        }
        Ok((0..len).map(|i| x[delay + skip + i * every]).collect())
    }
    // ANCHOR_END: mackey_glass
}

// ANCHOR: narma10
/// The NARMA-10 system (Atiya & Parlos 2000): inputs $u_t \sim U(0, 0.5)$ and
/// $$y_{t+1} = 0.3\,y_t + 0.05\,y_t \sum_{i=0}^{9} y_{t-i} + 1.5\,u_{t-9}\,u_t + 0.1.$$
/// Predicting $y_{t+1}$ from the inputs needs a memory of the last ten of them, which is
/// what makes it a test of a reservoir's memory. Returns $(u, y)$, each of length `len`,
/// with $y_{t+1}$ stored at index $t$ so that `y[t]` is the target for input `u[t]`; the
/// first 10 values start from $y = 0$. The system can diverge for rare input draws; that
/// is reported as an error naming the seed.
pub fn narma10(len: usize, seed: u64) -> Result<(Array1<f64>, Array1<f64>)> {
    require(len > 0, "len", "must be at least 1, got 0")?;
    let mut rng: SeededRng = init::rng(seed);
    let u: Array1<f64> = (0..len).map(|_| rng.random_range(0.0..0.5)).collect();
    // y_hist[t] = y_t, with y_0 = 0; the target of u[t] is y_hist[t + 1].
    let mut y_hist = vec![0.0; len + 1];
    for t in 0..len {
        let window: f64 = y_hist[t.saturating_sub(9)..=t].iter().sum();
        let u_lag = if t >= 9 { u[t - 9] } else { 0.0 };
        let next = 0.3 * y_hist[t] + 0.05 * y_hist[t] * window + 1.5 * u_lag * u[t] + 0.1;
        if !next.is_finite() || next.abs() > 1e3 {
            return Err(Error::Value {
                arg: "seed",
                reason: format!("NARMA-10 diverged at step {t} with seed {seed}"),
            });
        }
        y_hist[t + 1] = next;
    }
    Ok((u, Array1::from(y_hist[1..].to_vec())))
}
// ANCHOR_END: narma10

/// The normalised root-mean-square error $\sqrt{\langle (\hat y - y)^2\rangle / \mathrm{Var}(y)}$:
/// 1 for predicting the mean, 0 for a perfect fit (Jaeger 2001's measure). Both arguments
/// must have the same non-zero length and `target` must not be constant.
pub fn nrmse(prediction: &[f64], target: &[f64]) -> Result<f64> {
    if prediction.len() != target.len() || target.is_empty() {
        return Err(Error::Shape {
            arg: "prediction",
            expected: format!("[{}] (the target's length, non-zero)", target.len()),
            found: vec![prediction.len()],
        });
    }
    let n = target.len() as f64;
    let mean = target.iter().sum::<f64>() / n;
    let var = target.iter().map(|y| (y - mean).powi(2)).sum::<f64>() / n;
    require(var > 0.0, "target", "is constant, so NRMSE is undefined")?;
    let mse = prediction
        .iter()
        .zip(target)
        .map(|(p, y)| (p - y).powi(2))
        .sum::<f64>()
        / n;
    Ok((mse / var).sqrt())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mackey_glass_stays_on_its_attractor_and_is_seeded() {
        let mg = MackeyGlass::default();
        let a = mg.generate(2000, 0).unwrap();
        // The τ = 17 attractor lives in about [0.2, 1.4].
        assert!(a.iter().all(|&x| (0.15..1.5).contains(&x)), "{a}");
        assert_eq!(a, mg.generate(2000, 0).unwrap());
        assert_ne!(a, mg.generate(2000, 1).unwrap());
        // Chaotic, not periodic with a short period: it keeps visiting a wide range.
        let (lo, hi) = a
            .iter()
            .fold((f64::MAX, f64::MIN), |(l, h), &x| (l.min(x), h.max(x)));
        assert!(hi - lo > 0.8, "{lo}..{hi}");
    }

    #[test]
    fn rk4_converges_as_the_step_shrinks() {
        // Halving dt changes the samples by much less than the series' scale (over a short
        // stretch: on the chaotic attractor any difference grows in the long run).
        let short = MackeyGlass {
            discard: 0.0,
            ..MackeyGlass::default()
        };
        let coarse = short.generate(30, 3).unwrap();
        let fine = MackeyGlass { dt: 0.05, ..short }.generate(30, 3).unwrap();
        let worst = coarse
            .iter()
            .zip(&fine)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        assert!(worst < 1e-3, "{worst}");
    }

    #[test]
    fn bad_mackey_glass_settings_are_errors() {
        let bad_dt = MackeyGlass {
            dt: 0.3,
            ..MackeyGlass::default()
        };
        assert!(matches!(
            bad_dt.generate(10, 0),
            Err(Error::Config { field: "dt", .. })
        ));
        assert!(MackeyGlass::default().generate(0, 0).is_err());
    }

    #[test]
    fn narma10_follows_its_recurrence() {
        let (u, y) = narma10(300, 2).unwrap();
        for t in 10..299 {
            let window: f64 = (t - 9..=t).map(|i| y[i - 1]).sum();
            let want = 0.3 * y[t - 1] + 0.05 * y[t - 1] * window + 1.5 * u[t - 9] * u[t] + 0.1;
            assert!((y[t] - want).abs() < 1e-12);
        }
        assert!(u.iter().all(|&v| (0.0..0.5).contains(&v)));
    }

    #[test]
    fn nrmse_is_one_for_the_mean_and_zero_for_the_truth() {
        let y = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(nrmse(&y, &y).unwrap(), 0.0);
        assert!((nrmse(&[2.5; 4], &y).unwrap() - 1.0).abs() < 1e-12);
        assert!(nrmse(&[1.0], &y).is_err());
        assert!(nrmse(&[1.0, 1.0], &[2.0, 2.0]).is_err());
    }
}
