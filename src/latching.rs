//! Information latching (Bengio, Simard & Frasconi 1994, "Learning long-term dependencies
//! with gradient descent is difficult", section III): a two-class problem whose class is
//! decided by the first $L$ inputs of a sequence and by nothing after them.
//!
//! Bengio et al. asked what a dynamical system needs in order to learn such a task, and
//! named three things: it must be able to **store** a bit of information for an arbitrary
//! duration (*latching*), the stored bit must **resist noise** in the inputs that follow,
//! and its parameters must be **trainable** by gradient descent in reasonable time. Their
//! theorem is that the first two, for a system that latches through attractors of its
//! dynamics, force the third to fail: the gradient that would teach the system *what* to
//! latch shrinks exponentially with the time since the deciding inputs.
//!
//! Here each sequence has $L + T$ steps of one input each. In the first $L$ steps the
//! input is $\mu_c + \sigma\,\varepsilon_t$ with $\mu_c = +1$ for class 1 and $-1$ for
//! class 0; in the $T$ steps after, it is $\sigma\,\varepsilon_t$, pure noise, with
//! $\varepsilon_t \sim \mathcal N(0, 1)$. The class is read at the last step only. The
//! network has to notice the sign of the first $L$ inputs, keep it for $T$ steps while
//! noise keeps arriving, and say it at the end. (Bengio et al. let the first $L$ inputs be
//! free parameters that training chooses; fixed class means keep this a plain data set, so
//! every cell trains with the same loop.)

use crate::error::require;
use crate::init::{standard_normal, SeededRng};
use crate::tasks::{Batch, Targets};
use crate::train::Data;
use crate::{Real, Result};
use ndarray::Array3;
use rand::Rng;

/// The latching task: configuration of the sequences.
#[derive(Clone, Debug, PartialEq)]
pub struct Latching {
    /// $L$, the number of deciding steps at the start. Default 3: a short burst, long
    /// enough that the noise cannot flip its mean often ($\sigma/\sqrt{L} \approx 0.35$).
    pub key_len: usize,
    /// $T$, the number of noise steps between the deciding inputs and the answer: the
    /// span the network must latch over. Default 20.
    pub noise_len: usize,
    /// $\sigma$, the standard deviation of the noise on every step. Default 0.6: the
    /// deciding steps are clearly signed on average, the noise steps are as large as a
    /// deciding step now and then, so the network must learn to ignore them.
    pub sigma: f64,
}

impl Default for Latching {
    fn default() -> Self {
        Latching {
            key_len: 3,
            noise_len: 20,
            sigma: 0.6,
        }
    }
}

impl Latching {
    /// Checks the configuration: at least one deciding step, a finite noise level $\ge 0$.
    pub fn validate(&self) -> Result<()> {
        require(self.key_len >= 1, "key_len", "must be at least 1, got 0")?;
        require(
            self.sigma.is_finite() && self.sigma >= 0.0,
            "sigma",
            format!("must be finite and >= 0, got {}", self.sigma),
        )
    }

    /// The length of every sequence: $L + T$.
    pub fn seq_len(&self) -> usize {
        self.key_len + self.noise_len
    }

    /// The accuracy of the Bayes-optimal classifier, which sees the mean of the first $L$
    /// inputs, $\pm 1 + \mathcal N(0, \sigma^2/L)$, and answers its sign:
    /// $\Phi(\sqrt L / \sigma)$. No network can beat it; with the defaults it is 0.9980.
    pub fn best_accuracy(&self) -> f64 {
        if self.sigma == 0.0 {
            return 1.0;
        }
        normal_cdf((self.key_len as f64).sqrt() / self.sigma)
    }
}

/// $\Phi(x)$, the standard normal CDF, from the complementary error function
/// (Abramowitz & Stegun 7.1.26, absolute error below $1.5 \times 10^{-7}$).
fn normal_cdf(x: f64) -> f64 {
    let z = x.abs() / std::f64::consts::SQRT_2;
    let t = 1.0 / (1.0 + 0.327_591_1 * z);
    let poly = t
        * (0.254_829_592
            + t * (-0.284_496_736
                + t * (1.421_413_741 + t * (-1.453_152_027 + t * 1.061_405_429))));
    let erfc = poly * (-z * z).exp();
    if x >= 0.0 {
        1.0 - erfc / 2.0
    } else {
        erfc / 2.0
    }
}

impl Data for Latching {
    /// One scalar input per step.
    fn input_size(&self) -> usize {
        1
    }
    /// Two classes.
    fn output_size(&self) -> usize {
        2
    }
    /// Guessing: $\ln 2$ nats.
    fn baseline(&self) -> f64 {
        std::f64::consts::LN_2
    }
    // ANCHOR: batch
    /// Inputs (L + T, B, 1); one class per sequence, read at the last step.
    fn batch<F: Real>(&self, batch: usize, rng: &mut SeededRng) -> Result<Batch<F>> {
        self.validate()?;
        require(batch >= 1, "batch", "must be at least 1, got 0")?;
        let steps = self.seq_len();
        let mut xs = Array3::zeros((steps, batch, 1)); // (L+T, B, 1)
        let mut classes = Vec::with_capacity(batch);
        for b in 0..batch {
            let class = rng.random_range(0..2usize);
            let mean = if class == 1 { 1.0 } else { -1.0 };
            for t in 0..steps {
                let signal = if t < self.key_len { mean } else { 0.0 };
                xs[[t, b, 0]] = F::cast(signal + self.sigma * standard_normal(rng));
            }
            classes.push(class);
        }
        Ok(Batch {
            xs,
            targets: Targets::Classes {
                from: steps - 1,
                classes,
            },
        })
    }
    // ANCHOR_END: batch
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::init::rng;
    use crate::Error;

    #[test]
    fn the_class_is_the_sign_of_the_first_inputs() {
        let task = Latching {
            key_len: 2,
            noise_len: 5,
            sigma: 0.0,
        };
        let batch: Batch<f64> = task.batch(64, &mut rng(0)).unwrap();
        assert_eq!(batch.xs.dim(), (7, 64, 1));
        let Targets::Classes { from, classes } = &batch.targets else {
            panic!("latching batches have class targets");
        };
        assert_eq!(*from, 6);
        assert_eq!(classes.len(), 64);
        for (b, &c) in classes.iter().enumerate() {
            let sign = if c == 1 { 1.0 } else { -1.0 };
            for t in 0..2 {
                assert_eq!(batch.xs[[t, b, 0]], sign);
            }
            for t in 2..7 {
                assert_eq!(batch.xs[[t, b, 0]], 0.0);
            }
        }
        assert!(classes.contains(&0) && classes.contains(&1));
    }

    #[test]
    fn noise_has_the_configured_spread_and_batches_are_seeded() {
        let task = Latching {
            key_len: 1,
            noise_len: 50,
            sigma: 0.5,
        };
        let a: Batch<f64> = task.batch(200, &mut rng(3)).unwrap();
        let b: Batch<f64> = task.batch(200, &mut rng(3)).unwrap();
        assert_eq!(a, b);
        let noise: Vec<f64> = a.xs.iter().skip(200).copied().collect();
        let n = noise.len() as f64;
        let mean = noise.iter().sum::<f64>() / n;
        let sd = (noise.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n).sqrt();
        assert!(mean.abs() < 0.02, "mean {mean}");
        assert!((sd - 0.5).abs() < 0.02, "sd {sd}");
    }

    #[test]
    fn best_accuracy_is_the_normal_tail() {
        let task = Latching::default();
        assert!((task.best_accuracy() - 0.99800).abs() < 1e-4);
        assert!((normal_cdf(0.0) - 0.5).abs() < 1e-7);
        assert!((normal_cdf(-1.0) - 0.158_655_25).abs() < 1e-6);
        let exact = Latching {
            sigma: 0.0,
            ..Latching::default()
        };
        assert_eq!(exact.best_accuracy(), 1.0);
    }

    #[test]
    fn bad_sizes_are_errors() {
        let no_key = Latching {
            key_len: 0,
            ..Latching::default()
        };
        let err = no_key.batch::<f64>(4, &mut rng(0)).unwrap_err();
        assert!(
            matches!(
                err,
                Error::Config {
                    field: "key_len",
                    ..
                }
            ),
            "{err}"
        );
        let bad_sigma = Latching {
            sigma: f64::NAN,
            ..Latching::default()
        };
        assert!(matches!(
            bad_sigma.validate(),
            Err(Error::Config { field: "sigma", .. })
        ));
        let negative = Latching {
            sigma: -1.0,
            ..Latching::default()
        };
        assert!(negative.validate().is_err());
        assert!(Latching::default().batch::<f64>(0, &mut rng(0)).is_err());
    }

    #[test]
    fn zero_noise_steps_is_a_valid_task() {
        let task = Latching {
            noise_len: 0,
            ..Latching::default()
        };
        let batch: Batch<f32> = task.batch(3, &mut rng(1)).unwrap();
        assert_eq!(batch.xs.dim(), (3, 3, 1));
    }
}
