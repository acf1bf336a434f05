//! Weight initialisers, all driven by an explicit seed so every run is reproducible.
//!
//! The random generator is ChaCha8 (`rand_chacha`), whose stream is fixed across platforms
//! and crate versions, unlike `StdRng`: a figure in the book drawn from seed 0 stays the
//! same figure.

use crate::error::require;
use crate::{Real, Result};
use ndarray::Array2;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The random generator used throughout the crate.
pub type SeededRng = ChaCha8Rng;

/// A generator for `seed`.
pub fn rng(seed: u64) -> SeededRng {
    ChaCha8Rng::seed_from_u64(seed)
}

// ANCHOR: init_enum
/// How to initialise a recurrent weight matrix $W_{hh}$.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Init {
    /// $U(-1/\sqrt{H}, 1/\sqrt{H})$: PyTorch's default for `nn.RNN`, `nn.LSTM`, `nn.GRU`.
    Uniform,
    /// Glorot & Bengio (2010): $U(\pm\sqrt{6/(\text{fan\_in}+\text{fan\_out})})$, keeping
    /// activation variance roughly constant from layer to layer.
    Xavier,
    /// A random orthogonal matrix times `gain` (Saxe et al. 2014): every singular value
    /// equals `gain`, so repeated multiplication neither shrinks nor grows a vector.
    Orthogonal {
        /// The common singular value.
        gain: f64,
    },
    /// `scale` times the identity (IRNN, Le, Jaitly & Hinton 2015): with ReLU, the state is
    /// copied forward unchanged until the input says otherwise. For an `Rnn` it also sets
    /// $b = 0$ and draws $W_{xh}$ from $\mathcal N(0, 0.001^2)$, as Le et al. do.
    Identity {
        /// The diagonal value (1 in Le et al.).
        scale: f64,
    },
}
// ANCHOR_END: init_enum

impl Init {
    /// Checks the parameters (gain and scale must be finite; gain positive).
    pub fn validate(&self) -> Result<()> {
        match *self {
            Init::Uniform | Init::Xavier => Ok(()),
            Init::Orthogonal { gain } => require(
                gain.is_finite() && gain > 0.0,
                "init",
                format!("orthogonal gain must be finite and > 0, got {gain}"),
            ),
            Init::Identity { scale } => require(
                scale.is_finite(),
                "init",
                format!("identity scale must be finite, got {scale}"),
            ),
        }
    }

    /// A (rows, cols) matrix drawn by this scheme; `Identity` needs rows == cols.
    pub fn matrix<F: Real>(
        &self,
        rows: usize,
        cols: usize,
        rng: &mut SeededRng,
    ) -> Result<Array2<F>> {
        self.validate()?;
        Ok(match *self {
            Init::Uniform => uniform(rows, cols, 1.0 / (rows as f64).sqrt(), rng),
            Init::Xavier => xavier_uniform(rows, cols, rng),
            Init::Orthogonal { gain } => orthogonal(rows, cols, gain, rng),
            Init::Identity { scale } => {
                require(
                    rows == cols,
                    "init",
                    format!("identity initialisation needs a square matrix, got {rows}x{cols}"),
                )?;
                identity(rows, scale)
            }
        })
    }
}

/// A (rows, cols) matrix with entries from $U(-\text{bound}, \text{bound})$.
pub fn uniform<F: Real>(rows: usize, cols: usize, bound: f64, rng: &mut SeededRng) -> Array2<F> {
    Array2::from_shape_simple_fn((rows, cols), || F::cast(rng.random_range(-bound..=bound)))
}

/// Glorot/Xavier uniform for a (fan_out, fan_in) weight.
pub fn xavier_uniform<F: Real>(rows: usize, cols: usize, rng: &mut SeededRng) -> Array2<F> {
    let bound = (6.0 / (rows + cols) as f64).sqrt();
    uniform(rows, cols, bound, rng)
}

/// The standard deviation of the IRNN's input weights: Le, Jaitly & Hinton (2015) draw
/// the non-recurrent weights from a Gaussian of mean 0 and standard deviation 0.001, so
/// that the identity recurrence dominates at the start (the value Keras's reproduction of
/// their sequential-MNIST experiment also uses).
pub const IRNN_INPUT_STD: f64 = 0.001;

/// A (rows, cols) matrix with entries from $\mathcal N(0, \text{std}^2)$.
pub fn normal<F: Real>(rows: usize, cols: usize, std: f64, rng: &mut SeededRng) -> Array2<F> {
    Array2::from_shape_simple_fn((rows, cols), || F::cast(std * standard_normal(rng)))
}

/// A standard normal sample by the Box–Muller transform.
pub fn standard_normal(rng: &mut SeededRng) -> f64 {
    // 1 - u lies in (0, 1], so the logarithm is finite.
    let u1: f64 = 1.0 - rng.random::<f64>();
    let u2: f64 = rng.random();
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

// ANCHOR: orthogonal
/// A (rows, cols) matrix with orthonormal rows or columns (whichever are fewer), times
/// `gain`: the Q of a QR factorisation of a Gaussian matrix, with the signs fixed by R's
/// diagonal so that Q is uniformly distributed (Mezzadri 2007).
pub fn orthogonal<F: Real>(rows: usize, cols: usize, gain: f64, rng: &mut SeededRng) -> Array2<F> {
    let (tall, short) = (rows.max(cols), rows.min(cols));
    let mut q = Array2::from_shape_simple_fn((tall, short), || standard_normal(rng)); // (tall, short)

    // Modified Gram–Schmidt, column by column: subtract the projections on the columns
    // already made orthonormal, then normalise. The norm before normalising is R's
    // diagonal, which is positive here, so no sign fix is needed beyond this construction.
    for j in 0..short {
        for k in 0..j {
            let dot = q.column(j).dot(&q.column(k));
            let qk = q.column(k).to_owned();
            q.column_mut(j).scaled_add(-dot, &qk);
        }
        let norm = q.column(j).dot(&q.column(j)).sqrt();
        q.column_mut(j).mapv_inplace(|v| v / norm);
    }
    let q = if rows >= cols { q } else { q.reversed_axes() };
    q.mapv(|v| F::cast(gain * v))
}
// ANCHOR_END: orthogonal

// ANCHOR: identity
/// `scale` times the (n, n) identity.
pub fn identity<F: Real>(n: usize, scale: f64) -> Array2<F> {
    Array2::eye(n) * F::cast(scale)
}
// ANCHOR_END: identity

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_abs_diff_eq;

    #[test]
    fn same_seed_same_matrix() {
        let a: Array2<f64> = Init::Uniform.matrix(4, 3, &mut rng(7)).unwrap();
        let b: Array2<f64> = Init::Uniform.matrix(4, 3, &mut rng(7)).unwrap();
        let c: Array2<f64> = Init::Uniform.matrix(4, 3, &mut rng(8)).unwrap();
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn uniform_respects_pytorch_bound() {
        let w: Array2<f64> = Init::Uniform.matrix(16, 5, &mut rng(0)).unwrap();
        assert!(w.iter().all(|v| v.abs() <= 0.25));
    }

    #[test]
    fn orthogonal_is_orthogonal_in_both_orientations() {
        for &(r, c) in &[(6, 6), (8, 3), (3, 8)] {
            let q: Array2<f64> = orthogonal(r, c, 1.5, &mut rng(1));
            let gram = if r >= c { q.t().dot(&q) } else { q.dot(&q.t()) };
            let n = gram.nrows();
            assert_abs_diff_eq!(gram, Array2::eye(n) * 2.25, epsilon = 1e-12);
        }
    }

    #[test]
    fn normal_samples_have_unit_variance() {
        let mut g = rng(3);
        let xs: Vec<f64> = (0..20_000).map(|_| standard_normal(&mut g)).collect();
        let mean = xs.iter().sum::<f64>() / xs.len() as f64;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / xs.len() as f64;
        assert!(mean.abs() < 0.03, "{mean}");
        assert!((var - 1.0).abs() < 0.05, "{var}");
    }

    #[test]
    fn bad_parameters_are_errors() {
        assert!(Init::Orthogonal { gain: 0.0 }.validate().is_err());
        assert!(Init::Identity { scale: f64::NAN }.validate().is_err());
        assert!(Init::Identity { scale: 1.0 }
            .matrix::<f64>(2, 3, &mut rng(0))
            .is_err());
    }
}
