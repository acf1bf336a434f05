//! Optimisers and gradient clipping, over any list of parameter tensors.
//!
//! They take the parameters and gradients as parallel lists of views (see
//! [`crate::Params`]), so one optimiser can update an RNN and its output layer together.
//! State (momentum, Adam's moments) is kept per position in the list and created at the
//! first step.

use crate::error::{require, Error};
use crate::{Real, Result};
use ndarray::{ArrayD, ArrayViewD, ArrayViewMutD, Zip};

fn check_lists<F: Real>(
    params: &[ArrayViewMutD<F>],
    grads: &[ArrayViewD<F>],
    state: &[ArrayD<F>],
) -> Result<()> {
    if params.len() != grads.len() {
        return Err(Error::Value {
            arg: "grads",
            reason: format!("{} gradients for {} parameters", grads.len(), params.len()),
        });
    }
    for (k, (p, g)) in params.iter().zip(grads).enumerate() {
        if p.shape() != g.shape() {
            return Err(Error::Shape {
                arg: "grads",
                expected: format!("{:?} (parameter {k})", p.shape()),
                found: g.shape().to_vec(),
            });
        }
        if let Some(s) = state.get(k) {
            if s.shape() != p.shape() {
                return Err(Error::Value {
                    arg: "params",
                    reason: format!(
                        "parameter {k} has shape {:?} but had {:?} at the previous step",
                        p.shape(),
                        s.shape()
                    ),
                });
            }
        }
    }
    Ok(())
}

/// Settings of [`Sgd`].
#[derive(Clone, Debug, PartialEq)]
pub struct SgdConfig {
    /// Step size. Default 0.1: plain SGD on the small tasks here needs large steps.
    pub lr: f64,
    /// Momentum coefficient $\mu$ in $v \leftarrow \mu v + g$, $\theta \leftarrow \theta - \eta v$
    /// (PyTorch's form). Default 0.9, the usual choice; 0 gives plain SGD.
    pub momentum: f64,
}

impl Default for SgdConfig {
    fn default() -> Self {
        SgdConfig {
            lr: 0.1,
            momentum: 0.9,
        }
    }
}

/// Stochastic gradient descent with momentum.
#[derive(Clone, Debug)]
pub struct Sgd<F> {
    config: SgdConfig,
    velocity: Vec<ArrayD<F>>,
}

impl<F: Real> Sgd<F> {
    /// Validates `config` (lr > 0, 0 <= momentum < 1).
    pub fn new(config: SgdConfig) -> Result<Self> {
        require(
            config.lr.is_finite() && config.lr > 0.0,
            "lr",
            format!("must be finite and > 0, got {}", config.lr),
        )?;
        require(
            (0.0..1.0).contains(&config.momentum),
            "momentum",
            format!("must be in [0, 1), got {}", config.momentum),
        )?;
        Ok(Sgd {
            config,
            velocity: Vec::new(),
        })
    }

    /// One update of every parameter from its gradient.
    pub fn step(&mut self, params: &mut [ArrayViewMutD<F>], grads: &[ArrayViewD<F>]) -> Result<()> {
        check_lists(params, grads, &self.velocity)?;
        if self.velocity.is_empty() {
            self.velocity = params.iter().map(|p| ArrayD::zeros(p.raw_dim())).collect();
        }
        let (lr, mu) = (F::cast(self.config.lr), F::cast(self.config.momentum));
        for ((p, g), v) in params.iter_mut().zip(grads).zip(&mut self.velocity) {
            Zip::from(p).and(g).and(v).for_each(|p, &g, v| {
                *v = mu * *v + g;
                *p -= lr * *v;
            });
        }
        Ok(())
    }
}

/// Settings of [`Adam`] (Kingma & Ba 2015); the defaults are the paper's.
#[derive(Clone, Debug, PartialEq)]
pub struct AdamConfig {
    /// Step size. Default 1e-3, the paper's; good for every task in the early chapters.
    pub lr: f64,
    /// Decay of the first-moment estimate. Default 0.9 (the paper).
    pub beta1: f64,
    /// Decay of the second-moment estimate. Default 0.999 (the paper).
    pub beta2: f64,
    /// Added to the denominator so that a zero second moment does not divide by zero.
    /// Default 1e-8 (the paper).
    pub eps: f64,
}

impl Default for AdamConfig {
    fn default() -> Self {
        AdamConfig {
            lr: 1e-3,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
        }
    }
}

/// Adam: per-parameter steps scaled by running estimates of the gradient's mean and
/// uncentred variance, with bias correction.
#[derive(Clone, Debug)]
pub struct Adam<F> {
    config: AdamConfig,
    t: i32,
    m: Vec<ArrayD<F>>,
    v: Vec<ArrayD<F>>,
}

impl<F: Real> Adam<F> {
    /// Validates `config` (lr > 0, betas in [0, 1), eps > 0).
    pub fn new(config: AdamConfig) -> Result<Self> {
        require(
            config.lr.is_finite() && config.lr > 0.0,
            "lr",
            format!("must be finite and > 0, got {}", config.lr),
        )?;
        require(
            (0.0..1.0).contains(&config.beta1),
            "beta1",
            format!("must be in [0, 1), got {}", config.beta1),
        )?;
        require(
            (0.0..1.0).contains(&config.beta2),
            "beta2",
            format!("must be in [0, 1), got {}", config.beta2),
        )?;
        require(
            config.eps.is_finite() && config.eps > 0.0,
            "eps",
            format!("must be finite and > 0, got {}", config.eps),
        )?;
        Ok(Adam {
            config,
            t: 0,
            m: Vec::new(),
            v: Vec::new(),
        })
    }

    /// Changes the step size (for a schedule); the moments are kept.
    pub fn set_lr(&mut self, lr: f64) -> Result<()> {
        require(
            lr.is_finite() && lr > 0.0,
            "lr",
            format!("must be finite and > 0, got {lr}"),
        )?;
        self.config.lr = lr;
        Ok(())
    }

    /// The number of updates so far and the moment estimates $m$ and $v$ (one per
    /// parameter, empty before the first update): what a checkpoint must save so that
    /// resumed training continues exactly.
    pub fn state(&self) -> (u64, &[ArrayD<F>], &[ArrayD<F>]) {
        (self.t as u64, &self.m, &self.v)
    }

    /// Restores what [`Adam::state`] returned. `m` and `v` must match in number and shapes.
    pub fn restore(&mut self, t: u64, m: Vec<ArrayD<F>>, v: Vec<ArrayD<F>>) -> Result<()> {
        require(
            m.len() == v.len() && m.iter().zip(&v).all(|(a, b)| a.shape() == b.shape()),
            "m, v",
            "the first and second moments must have the same number and shapes",
        )?;
        self.t = i32::try_from(t).map_err(|_| Error::Value {
            arg: "t",
            reason: format!("{t} updates is more than Adam counts"),
        })?;
        self.m = m;
        self.v = v;
        Ok(())
    }

    /// One update of every parameter from its gradient.
    pub fn step(&mut self, params: &mut [ArrayViewMutD<F>], grads: &[ArrayViewD<F>]) -> Result<()> {
        check_lists(params, grads, &self.m)?;
        if self.m.is_empty() {
            self.m = params.iter().map(|p| ArrayD::zeros(p.raw_dim())).collect();
            self.v = self.m.clone();
        }
        self.t += 1;
        let c = &self.config;
        let (b1, b2) = (F::cast(c.beta1), F::cast(c.beta2));
        // Bias correction folded into the step size (Kingma & Ba, end of section 2).
        let lr_t =
            F::cast(c.lr * (1.0 - c.beta2.powi(self.t)).sqrt() / (1.0 - c.beta1.powi(self.t)));
        let eps = F::cast(c.eps);
        for (((p, g), m), v) in params
            .iter_mut()
            .zip(grads)
            .zip(&mut self.m)
            .zip(&mut self.v)
        {
            Zip::from(p).and(g).and(m).and(v).for_each(|p, &g, m, v| {
                *m = b1 * *m + (F::one() - b1) * g;
                *v = b2 * *v + (F::one() - b2) * g * g;
                *p -= lr_t * *m / (v.sqrt() + eps);
            });
        }
        Ok(())
    }
}

// ANCHOR: global_norm
/// The global L2 norm of all gradients together.
pub fn global_norm<F: Real>(grads: &[ArrayViewMutD<F>]) -> F {
    grads
        .iter()
        .flat_map(|g| g.iter())
        .map(|&x| x * x)
        .sum::<F>()
        .sqrt()
}
// ANCHOR_END: global_norm

// ANCHOR: clip_grad_norm
/// Clipping by global norm (Pascanu, Mikolov & Bengio 2013): if $\|g\| > $ `max_norm`,
/// rescale every gradient by `max_norm` / $\|g\|$, keeping the step's direction. Returns the
/// norm before clipping (worth logging: spikes show the exploding gradient).
pub fn clip_grad_norm<F: Real>(grads: &mut [ArrayViewMutD<F>], max_norm: f64) -> Result<F> {
    require(
        max_norm.is_finite() && max_norm > 0.0,
        "max_norm",
        format!("must be finite and > 0, got {max_norm}"),
    )?;
    let norm = global_norm(grads);
    let max_norm = F::cast(max_norm);
    if norm > max_norm {
        let scale = max_norm / norm;
        for g in grads.iter_mut() {
            g.mapv_inplace(|x| x * scale);
        }
    }
    Ok(norm)
}
// ANCHOR_END: clip_grad_norm

// ANCHOR: clip_grad_value
/// Clipping by value: every entry into [-clip, clip] (as in Karpathy's min-char-rnn). Simpler
/// than norm clipping but it changes the step's direction.
pub fn clip_grad_value<F: Real>(grads: &mut [ArrayViewMutD<F>], clip: f64) -> Result<()> {
    require(
        clip.is_finite() && clip > 0.0,
        "clip",
        format!("must be finite and > 0, got {clip}"),
    )?;
    let c = F::cast(clip);
    for g in grads.iter_mut() {
        g.mapv_inplace(|x| x.max(-c).min(c));
    }
    Ok(())
}
// ANCHOR_END: clip_grad_value

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_abs_diff_eq;
    use ndarray::{arr1, ArrayD};

    fn quadratic_grad(p: &ArrayD<f64>) -> ArrayD<f64> {
        // L = 0.5 * |p - 3|^2
        p.mapv(|x| x - 3.0)
    }

    #[test]
    fn sgd_and_adam_minimise_a_quadratic() {
        let mut p = arr1(&[0.0, 10.0]).into_dyn();
        let mut sgd = Sgd::new(SgdConfig {
            lr: 0.1,
            momentum: 0.5,
        })
        .unwrap();
        for _ in 0..200 {
            let g = quadratic_grad(&p);
            sgd.step(&mut [p.view_mut()], &[g.view()]).unwrap();
        }
        assert_abs_diff_eq!(p, arr1(&[3.0, 3.0]).into_dyn(), epsilon = 1e-6);
        let mut p = arr1(&[0.0, 10.0]).into_dyn();
        let mut adam = Adam::new(AdamConfig {
            lr: 0.1,
            ..AdamConfig::default()
        })
        .unwrap();
        for _ in 0..2000 {
            let g = quadratic_grad(&p);
            adam.step(&mut [p.view_mut()], &[g.view()]).unwrap();
        }
        assert_abs_diff_eq!(p, arr1(&[3.0, 3.0]).into_dyn(), epsilon = 1e-3);
    }

    #[test]
    fn first_adam_step_has_size_lr() {
        // With bias correction, the first step is lr * g / |g| for every entry.
        let mut p = arr1(&[1.0, 1.0]).into_dyn();
        let g = arr1(&[0.5, -50.0]).into_dyn();
        Adam::new(AdamConfig::default())
            .unwrap()
            .step(&mut [p.view_mut()], &[g.view()])
            .unwrap();
        assert_abs_diff_eq!(
            p,
            arr1(&[1.0 - 1e-3, 1.0 + 1e-3]).into_dyn(),
            epsilon = 1e-8
        );
    }

    #[test]
    fn norm_clipping_keeps_direction() {
        let mut a = arr1(&[3.0, 0.0]).into_dyn();
        let mut b = arr1(&[4.0]).into_dyn();
        let norm = clip_grad_norm(&mut [a.view_mut(), b.view_mut()], 1.0).unwrap();
        assert_abs_diff_eq!(norm, 5.0);
        assert_abs_diff_eq!(a, arr1(&[0.6, 0.0]).into_dyn(), epsilon = 1e-12);
        assert_abs_diff_eq!(b, arr1(&[0.8]).into_dyn(), epsilon = 1e-12);
        let mut c = arr1(&[0.1]).into_dyn();
        clip_grad_norm(&mut [c.view_mut()], 1.0).unwrap();
        assert_eq!(c, arr1(&[0.1]).into_dyn());
    }

    #[test]
    fn value_clipping_clamps_each_entry() {
        let mut a = arr1(&[3.0, -0.5, -7.0]).into_dyn();
        clip_grad_value(&mut [a.view_mut()], 1.0).unwrap();
        assert_eq!(a, arr1(&[1.0, -0.5, -1.0]).into_dyn());
    }

    #[test]
    fn bad_settings_and_mismatched_lists_are_errors() {
        assert!(Sgd::<f64>::new(SgdConfig {
            lr: -1.0,
            momentum: 0.0
        })
        .is_err());
        assert!(Sgd::<f64>::new(SgdConfig {
            lr: 0.1,
            momentum: 1.0
        })
        .is_err());
        assert!(Adam::<f64>::new(AdamConfig {
            beta2: 1.5,
            ..AdamConfig::default()
        })
        .is_err());
        let mut p = arr1(&[1.0, 2.0]).into_dyn();
        let g = arr1(&[1.0]).into_dyn();
        let err = Adam::new(AdamConfig::default())
            .unwrap()
            .step(&mut [p.view_mut()], &[g.view()])
            .unwrap_err();
        assert!(err.to_string().contains("[1]"), "{err}");
        assert!(clip_grad_norm::<f64>(&mut [], 0.0).is_err());
    }
}
