//! The LSTM with a forget gate (Hochreiter & Schmidhuber 1997; Gers, Schmidhuber &
//! Cummins 2000) over a batch of sequences, its variants (Greff et al. 2015, "LSTM: A
//! Search Space Odyssey") and backpropagation through time.
//!
//! With rows as examples, the pre-activations of all gates come from one fused product,
//! $$z_t = x_t W_{ih}^\top + b_{ih} + h_{t-1} W_{hh}^\top + b_{hh},$$
//! split into blocks $z_i, z_f, z_g, z_o$ (PyTorch's order **i, f, g, o**), and
//! $$\begin{aligned}
//! i_t &= \sigma(z_i + p_i \odot c_{t-1}), &
//! f_t &= \sigma(z_f + p_f \odot c_{t-1}), &
//! g_t &= \tanh(z_g), \\
//! c_t &= f_t \odot c_{t-1} + i_t \odot g_t, &
//! o_t &= \sigma(z_o + p_o \odot c_t), &
//! h_t &= o_t \odot \tanh(c_t).
//! \end{aligned}$$
//! The candidate $g_t$ is colah's $\tilde C_t$. The peephole weights $p_i, p_f, p_o$
//! (Gers & Schmidhuber 2000) are diagonal: each cell's gates look at that cell only, the
//! input and forget gates at $c_{t-1}$, the output gate at the new $c_t$. The state is the
//! pair $(h_t, c_t)$: $2H$ numbers for $H$ cells.
//!
//! # Parameters and PyTorch
//!
//! `w_ih` (kH, D), `w_hh` (kH, H), `b_ih` and `b_hh` (kH,) hold the k gate blocks that the
//! configuration computes, in the order i, f, g, o. The default configuration computes all
//! four (k = 4) with no peepholes: its tensors are `nn.LSTM`'s `weight_ih_l0`,
//! `weight_hh_l0`, `bias_ih_l0` and `bias_hh_l0` entry for entry, and its outputs are
//! `nn.LSTM`'s. A variant that removes a gate has no rows for it at all (k < 4; the
//! remaining blocks keep their order), so every parameter it has is one it uses and
//! parameter counts compare honestly across variants. [`Lstm::gate_rows`] says where each
//! block is.
//!
//! # Variants ([`LstmConfig`], [`GreffVariant`])
//!
//! | Greff | configuration | the change |
//! |---|---|---|
//! | V | `peepholes` | the "vanilla" LSTM of Greff et al., with peepholes |
//! | NIG | `input_gate: false` | $i_t = 1$ |
//! | NFG | `forget_gate: false` | $f_t = 1$, as in the LSTM of 1997: a pure constant error carousel |
//! | NOG | `output_gate: false` | $o_t = 1$ |
//! | NIAF | `input_activation: false` | $g_t = z_g$, no tanh |
//! | NOAF | `output_activation: false` | $h_t = o_t \odot c_t$ |
//! | NP | `peepholes: false` | PyTorch's LSTM |
//! | CIFG | `coupled` | $c_t = f_t \odot c_{t-1} + (1 - f_t) \odot g_t$; $i_t$ has no rows |
//! | FGR | `full_gate_recurrence` | the gates also see the previous step's gates |
//!
//! Greff et al. couple the other way round ($f_t = 1 - i_t$); since
//! $1 - \sigma(z) = \sigma(-z)$ the two are the same model with the sign of one block
//! flipped. We compute $f_t$ because the forget gate is the one the book studies.
//!
//! **FGR.** Greff et al.'s full gate recurrence adds recurrent connections between all the
//! gates: nine (H, H) matrices $R_{ii}, R_{fi}, R_{oi}, R_{if}, \dots, R_{oo}$, so that
//! $$z_i \mathrel{+}= i_{t-1} R_{ii}^\top + f_{t-1} R_{fi}^\top + o_{t-1} R_{oi}^\top$$
//! and likewise for $f$ and $o$; the candidate $g$ gets no such term, and the peepholes stay.
//! We store the nine blocks as one (3H, 3H) matrix `w_gates` whose rows are the receiving
//! gates and whose columns are the sending gates, both in the order i, f, o:
//! $[z_i, z_f, z_o] \mathrel{+}= [i_{t-1}, f_{t-1}, o_{t-1}]\, W_{gates}^\top$, the same
//! (outputs, inputs) layout as `w_hh`. The gate activations before the first step are taken
//! to be zero, like the rest of a zero initial state. They are not part of [`LstmState`], so
//! for FGR a sequence split into chunks is not the same as the whole sequence (for every
//! other variant it is). FGR is defined on the full LSTM, so it needs all three gates and
//! no coupling.
//!
//! # Initialisation
//!
//! Every parameter is drawn from $U(\pm 1/\sqrt{H})$, PyTorch's default for `nn.LSTM` (the
//! peepholes and `w_gates` too, which PyTorch does not have). Then `forget_bias` is added to
//! the forget rows of `b_ih` (Gers et al. 2000 start the forget gate open; Jozefowicz,
//! Zaremba & Sutskever 2015 recommend 1.0): with $f_t \approx \sigma(1) \approx 0.73$
//! instead of $0.5$ the cell remembers, and gradients reach far back, from the first update.
//!
//! Sequences are time-major: `xs` is (T, B, D), as in [`crate::rnn`].

use crate::activations::{sigmoid, sigmoid_grad_from_output, tanh, tanh_grad_from_output};
use crate::cell::{Backward, Recurrent};
use crate::error::{
    check_sequence_input, check_shape, check_state, check_step_input, dims3, require, Error,
};
use crate::init::{self, SeededRng};
use crate::{Params, Real, Result};
use ndarray::linalg::general_mat_mul;
use ndarray::{
    concatenate, s, Array1, Array2, Array3, ArrayView1, ArrayView2, ArrayView3, ArrayViewD,
    ArrayViewMut2, ArrayViewMutD, Axis, Zip,
};
use std::ops::Range;

/// The nine LSTM variants compared by Greff et al. (2015). All but NP have peepholes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum GreffVariant {
    /// Vanilla: all three gates, both activations, peepholes.
    V,
    /// No input gate: $i_t = 1$.
    NIG,
    /// No forget gate: $f_t = 1$.
    NFG,
    /// No output gate: $o_t = 1$.
    NOG,
    /// No input activation function: $g_t = z_g$.
    NIAF,
    /// No output activation function: $h_t = o_t \odot c_t$.
    NOAF,
    /// No peepholes.
    NP,
    /// Coupled input and forget gate: $i_t = 1 - f_t$.
    CIFG,
    /// Full gate recurrence: the gates see the previous step's gates.
    FGR,
}

impl GreffVariant {
    /// All nine, in the order of Greff et al.'s table.
    pub const ALL: [GreffVariant; 9] = [
        GreffVariant::V,
        GreffVariant::NIG,
        GreffVariant::NFG,
        GreffVariant::NOG,
        GreffVariant::NIAF,
        GreffVariant::NOAF,
        GreffVariant::NP,
        GreffVariant::CIFG,
        GreffVariant::FGR,
    ];
}

/// How to build an [`Lstm`]: its sizes, which parts of the block it has, and its
/// initialisation. The default is PyTorch's `nn.LSTM`.
#[derive(Clone, Debug, PartialEq)]
pub struct LstmConfig {
    /// D, the size of each input vector. Default 1: the smallest useful input, a scalar
    /// signal; set it to your data's width.
    pub input_size: usize,
    /// H, the number of cells. Default 32: enough for the toy tasks of the book and small
    /// enough that a gradient check runs in a blink.
    pub hidden_size: usize,
    /// Diagonal peephole weights from the cell to the gates (Gers & Schmidhuber 2000).
    /// Default false, because PyTorch's LSTM has none; Greff et al.'s vanilla LSTM has them.
    pub peepholes: bool,
    /// Whether $i_t$ is computed. Default true; false is Greff's NIG ($i_t = 1$).
    pub input_gate: bool,
    /// Whether $f_t$ is computed. Default true, since the forget gate is the part Greff et
    /// al. found most critical; false is NFG ($f_t = 1$), the original 1997 LSTM.
    pub forget_gate: bool,
    /// Whether $o_t$ is computed. Default true; false is NOG ($o_t = 1$).
    pub output_gate: bool,
    /// Whether $g_t = \tanh(z_g)$. Default true; false is NIAF ($g_t = z_g$).
    pub input_activation: bool,
    /// Whether $h_t = o_t \odot \tanh(c_t)$. Default true, since without it the output is
    /// unbounded whenever the cell is; false is NOAF ($h_t = o_t \odot c_t$).
    pub output_activation: bool,
    /// CIFG: $i_t = 1 - f_t$, so the cell writes exactly as much as it forgets. Default
    /// false, as in PyTorch. Needs both `input_gate` and `forget_gate`.
    pub coupled: bool,
    /// FGR: the i, f, o gates also receive the previous step's gate activations through
    /// `w_gates` (3H, 3H). Default false, as in PyTorch. Needs all three gates, no coupling.
    pub full_gate_recurrence: bool,
    /// Added to the forget rows of `b_ih` after drawing it. Default 0.0, so that a default
    /// LSTM is initialised exactly like `nn.LSTM`; 1.0 is the usual recommendation
    /// (Jozefowicz et al. 2015). Must be 0 without a forget gate.
    pub forget_bias: f64,
    /// The seed of every random draw. Default 0: any fixed number makes runs repeatable.
    pub seed: u64,
}

impl Default for LstmConfig {
    fn default() -> Self {
        LstmConfig {
            input_size: 1,
            hidden_size: 32,
            peepholes: false,
            input_gate: true,
            forget_gate: true,
            output_gate: true,
            input_activation: true,
            output_activation: true,
            coupled: false,
            full_gate_recurrence: false,
            forget_bias: 0.0,
            seed: 0,
        }
    }
}

impl LstmConfig {
    /// One of Greff et al.'s variants: the vanilla LSTM with peepholes and one change.
    /// The other fields keep their defaults (seed 0, forget bias 0).
    pub fn greff(variant: GreffVariant, input_size: usize, hidden_size: usize) -> Self {
        let v = LstmConfig {
            input_size,
            hidden_size,
            peepholes: true,
            ..LstmConfig::default()
        };
        match variant {
            GreffVariant::V => v,
            GreffVariant::NIG => LstmConfig {
                input_gate: false,
                ..v
            },
            GreffVariant::NFG => LstmConfig {
                forget_gate: false,
                ..v
            },
            GreffVariant::NOG => LstmConfig {
                output_gate: false,
                ..v
            },
            GreffVariant::NIAF => LstmConfig {
                input_activation: false,
                ..v
            },
            GreffVariant::NOAF => LstmConfig {
                output_activation: false,
                ..v
            },
            GreffVariant::NP => LstmConfig {
                peepholes: false,
                ..v
            },
            GreffVariant::CIFG => LstmConfig { coupled: true, ..v },
            GreffVariant::FGR => LstmConfig {
                full_gate_recurrence: true,
                ..v
            },
        }
    }

    /// Whether two configurations describe the same computation (everything but the
    /// initialisation: `seed` and `forget_bias`).
    fn same_structure(&self, other: &LstmConfig) -> bool {
        let init_free = |c: &LstmConfig| LstmConfig {
            seed: 0,
            forget_bias: 0.0,
            ..c.clone()
        };
        init_free(self) == init_free(other)
    }

    /// Checks every field and every combination; [`Lstm::new`] calls it.
    pub fn validate(&self) -> Result<()> {
        require(
            self.input_size > 0,
            "input_size",
            "must be at least 1, got 0",
        )?;
        require(
            self.hidden_size > 0,
            "hidden_size",
            "must be at least 1, got 0",
        )?;
        require(
            !self.coupled || (self.input_gate && self.forget_gate),
            "coupled",
            format!(
                "coupling sets i = 1 - f, so it needs input_gate and forget_gate, got \
                 input_gate: {}, forget_gate: {}",
                self.input_gate, self.forget_gate
            ),
        )?;
        require(
            !self.full_gate_recurrence
                || (self.input_gate && self.forget_gate && self.output_gate && !self.coupled),
            "full_gate_recurrence",
            "connects the i, f and o gates of consecutive steps, so it needs all three gates \
             and no coupling",
        )?;
        require(
            self.forget_bias.is_finite(),
            "forget_bias",
            format!("must be finite, got {}", self.forget_bias),
        )?;
        require(
            self.forget_gate || self.forget_bias == 0.0,
            "forget_bias",
            format!(
                "there is no forget gate to bias (forget_gate: false), got {}",
                self.forget_bias
            ),
        )
    }
}

/// The gates of the block, to name one in [`Lstm::gate_rows`] and [`LstmCache::gate`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Gate {
    /// The input gate $i_t$.
    Input,
    /// The forget gate $f_t$.
    Forget,
    /// The candidate $g_t$ (colah's $\tilde C_t$; not a gate, but it has its own block).
    Candidate,
    /// The output gate $o_t$.
    Output,
}

/// Where each computed gate's block starts in a row of kH pre-activations, and the switches
/// the element-wise math needs. Derived from the configuration; shared by layer and cache.
#[derive(Clone, Copy, Debug)]
struct Layout {
    h: usize,
    i: Option<usize>,
    f: Option<usize>,
    g: usize,
    o: Option<usize>,
    /// kH: the number of computed blocks times H.
    width: usize,
    coupled: bool,
    input_activation: bool,
    output_activation: bool,
}

impl Layout {
    fn new(config: &LstmConfig) -> Self {
        let h = config.hidden_size;
        let mut width = 0;
        let mut block = |present: bool| {
            present.then(|| {
                width += h;
                width - h
            })
        };
        let i = block(config.input_gate && !config.coupled);
        let f = block(config.forget_gate);
        let g = block(true).unwrap_or_default();
        let o = block(config.output_gate);
        Layout {
            h,
            i,
            f,
            g,
            o,
            width,
            coupled: config.coupled,
            input_activation: config.input_activation,
            output_activation: config.output_activation,
        }
    }

    fn rows(&self, gate: Gate) -> Option<Range<usize>> {
        let start = match gate {
            Gate::Input => self.i,
            Gate::Forget => self.f,
            Gate::Candidate => Some(self.g),
            Gate::Output => self.o,
        };
        start.map(|k| k..k + self.h)
    }

    /// The symbol of the gate axis in shape errors.
    fn symbol(&self) -> &'static str {
        match self.width / self.h {
            4 => "4H",
            3 => "3H",
            2 => "2H",
            _ => "H",
        }
    }
}

/// The LSTM state: the output $h_t$ and the cell $c_t$, each (B, H).
#[derive(Clone, Debug, PartialEq)]
pub struct LstmState<F> {
    /// $h_t$: (B, H).
    pub h: Array2<F>,
    /// $c_t$: (B, H).
    pub c: Array2<F>,
}

/// The activations of one step from [`Lstm::step`], each (B, H). A gate the variant removes
/// holds its constant (ones); under CIFG `i` holds $1 - f_t$.
#[derive(Clone, Debug, PartialEq)]
pub struct LstmGates<F> {
    /// $i_t$.
    pub i: Array2<F>,
    /// $f_t$.
    pub f: Array2<F>,
    /// $g_t$.
    pub g: Array2<F>,
    /// $o_t$.
    pub o: Array2<F>,
}

/// An LSTM layer: the fused gate weights and, when configured, peepholes and `w_gates`.
#[derive(Clone, Debug, PartialEq)]
pub struct Lstm<F> {
    /// $W_{ih}$: (kH, D), the input weights of the computed blocks in the order i, f, g, o.
    pub w_ih: Array2<F>,
    /// $W_{hh}$: (kH, H), the recurrent weights, same rows.
    pub w_hh: Array2<F>,
    /// $b_{ih}$: (kH,).
    pub b_ih: Array1<F>,
    /// $b_{hh}$: (kH,). Always added to $b_{ih}$; PyTorch keeps both, and so do we.
    pub b_hh: Array1<F>,
    /// $p_i$: (H,), with peepholes and a computed input gate.
    pub p_i: Option<Array1<F>>,
    /// $p_f$: (H,), with peepholes and a forget gate.
    pub p_f: Option<Array1<F>>,
    /// $p_o$: (H,), with peepholes and an output gate.
    pub p_o: Option<Array1<F>>,
    /// $W_{gates}$: (3H, 3H), with full gate recurrence; rows and columns in the order
    /// i, f, o.
    pub w_gates: Option<Array2<F>>,
    config: LstmConfig,
}

/// What [`Lstm::forward`] keeps for [`Lstm::backward`]: the inputs, every gate activation,
/// every cell and every output.
#[derive(Clone, Debug)]
pub struct LstmCache<F> {
    xs: Array3<F>,   // (T, B, D)
    h0: Array2<F>,   // (B, H)
    c0: Array2<F>,   // (B, H)
    acts: Array3<F>, // (T, B, kH)  i, f, g, o after their nonlinearities
    cs: Array3<F>,   // (T, B, H)
    hs: Array3<F>,   // (T, B, H)
    config: LstmConfig,
}

impl<F: Real> LstmCache<F> {
    /// The outputs $h_1, \dots, h_T$: (T, B, H).
    pub fn hs(&self) -> ArrayView3<'_, F> {
        self.hs.view()
    }
    /// The cells $c_1, \dots, c_T$: (T, B, H).
    pub fn cs(&self) -> ArrayView3<'_, F> {
        self.cs.view()
    }
    /// The last output $h_T$: (B, H).
    pub fn h_last(&self) -> ArrayView2<'_, F> {
        self.hs.index_axis(Axis(0), self.len() - 1)
    }
    /// The last cell $c_T$: (B, H).
    pub fn c_last(&self) -> ArrayView2<'_, F> {
        self.cs.index_axis(Axis(0), self.len() - 1)
    }
    /// The activations of `gate` at every step, (T, B, H), or `None` for a gate the
    /// variant does not compute (a removed gate, or $i_t$ under CIFG).
    pub fn gate(&self, gate: Gate) -> Option<ArrayView3<'_, F>> {
        Layout::new(&self.config)
            .rows(gate)
            .map(|r| self.acts.slice(s![.., .., r]))
    }
    /// The number of time steps T.
    pub fn len(&self) -> usize {
        self.hs.len_of(Axis(0))
    }
    /// Always false: a cache is only made from a non-empty sequence.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// The bytes this cache holds: $O(T \cdot B \cdot (D + (k + 2) H))$, the memory full
    /// BPTT must keep.
    pub fn bytes(&self) -> usize {
        let n = self.xs.len()
            + self.h0.len()
            + self.c0.len()
            + self.acts.len()
            + self.cs.len()
            + self.hs.len();
        n * std::mem::size_of::<F>()
    }
}

/// Gradients of the parameters of an [`Lstm`]: the same names, shapes and presence.
#[derive(Clone, Debug, PartialEq)]
pub struct LstmGrads<F> {
    /// $\partial L/\partial W_{ih}$: (kH, D).
    pub w_ih: Array2<F>,
    /// $\partial L/\partial W_{hh}$: (kH, H).
    pub w_hh: Array2<F>,
    /// $\partial L/\partial b_{ih}$: (kH,).
    pub b_ih: Array1<F>,
    /// $\partial L/\partial b_{hh}$: (kH,), equal to `b_ih`'s since both enter as a sum.
    pub b_hh: Array1<F>,
    /// $\partial L/\partial p_i$: (H,).
    pub p_i: Option<Array1<F>>,
    /// $\partial L/\partial p_f$: (H,).
    pub p_f: Option<Array1<F>>,
    /// $\partial L/\partial p_o$: (H,).
    pub p_o: Option<Array1<F>>,
    /// $\partial L/\partial W_{gates}$: (3H, 3H).
    pub w_gates: Option<Array2<F>>,
}

/// What [`Lstm::backward`] returns: parameter gradients, $\partial L/\partial x_t$,
/// $\partial L/\partial (h_0, c_0)$, and the total $\partial L/\partial h_t$.
pub type LstmBackward<F> = Backward<F, LstmGrads<F>, LstmState<F>>;

/// The FGR blocks as (rows of `w_gates`, columns of the kH gate buffer): i and f are
/// adjacent in both, but o follows f in `w_gates` and g in the gate buffer.
fn fgr_blocks(h: usize) -> [(Range<usize>, Range<usize>); 2] {
    [(0..2 * h, 0..2 * h), (2 * h..3 * h, 3 * h..4 * h)]
}

fn vector<F: Real>(n: usize, bound: f64, rng: &mut SeededRng) -> Array1<F> {
    init::uniform(1, n, bound, rng).remove_axis(Axis(0))
}

/// `p[j]`, or 0 for an absent peephole.
fn peep<F: Real>(p: Option<&[F]>, j: usize) -> F {
    p.map_or(F::zero(), |p| p[j])
}

/// The activation of a gate at cell `j`, or 1 for a removed gate.
fn gate_value<F: Real>(a: &[F], k: Option<usize>, j: usize) -> F {
    k.map_or(F::one(), |k| a[k + j])
}

/// The element-wise part of a step, shared by the fused forward and backward passes.
struct Cell<'a, F> {
    layout: Layout,
    p_i: Option<&'a [F]>,
    p_f: Option<&'a [F]>,
    p_o: Option<&'a [F]>,
}

impl<F: Real> Cell<'_, F> {
    /// One example: turns the pre-activations `a` (kH) into activations in place and writes
    /// $c_t$ and $h_t$ (H each) from $c_{t-1}$.
    fn forward_row(&self, a: &mut [F], c_prev: &[F], c: &mut [F], h: &mut [F]) {
        let l = &self.layout;
        for j in 0..l.h {
            let cp = c_prev[j];
            // f before i: under CIFG, i is 1 - f.
            let f = match l.f {
                Some(k) => {
                    a[k + j] = sigmoid(a[k + j] + peep(self.p_f, j) * cp);
                    a[k + j]
                }
                None => F::one(),
            };
            let i = match l.i {
                Some(k) => {
                    a[k + j] = sigmoid(a[k + j] + peep(self.p_i, j) * cp);
                    a[k + j]
                }
                None if l.coupled => F::one() - f,
                None => F::one(),
            };
            if l.input_activation {
                a[l.g + j] = tanh(a[l.g + j]);
            }
            let g = a[l.g + j];
            let cj = f * cp + i * g;
            c[j] = cj;
            // The output gate peeps at the new cell c_t, not c_{t-1}, as in Greff et al. (2015).
            let o = match l.o {
                Some(k) => {
                    a[k + j] = sigmoid(a[k + j] + peep(self.p_o, j) * cj);
                    a[k + j]
                }
                None => F::one(),
            };
            h[j] = o * if l.output_activation { tanh(cj) } else { cj };
        }
    }

    /// One example, backwards. `dz` holds on entry the gradient reaching this step's
    /// activations from the next step's gates (FGR; zero otherwise) and on exit
    /// $\partial L/\partial z_t$. `dc` holds on entry $\partial L/\partial c_t$ through
    /// $c_{t+1}$ and on exit $\partial L/\partial c_{t-1}$; `dh` is the total
    /// $\partial L/\partial h_t$.
    fn backward_row(&self, a: &[F], dz: &mut [F], c_prev: &[F], c: &[F], dh: &[F], dc: &mut [F]) {
        let l = &self.layout;
        for j in 0..l.h {
            let (cp, cj) = (c_prev[j], c[j]);
            let f = gate_value(a, l.f, j);
            let i = if l.coupled {
                F::one() - f
            } else {
                gate_value(a, l.i, j)
            };
            let g = a[l.g + j];
            let o = gate_value(a, l.o, j);
            // h_t = o_t ⊙ φ(c_t), φ = tanh or the identity (NOAF).
            let (phi, dphi) = if l.output_activation {
                let t = tanh(cj);
                (t, tanh_grad_from_output(t))
            } else {
                (cj, F::one())
            };
            let mut dcj = dc[j] + dh[j] * o * dphi;
            if let Some(k) = l.o {
                let dzo = (dh[j] * phi + dz[k + j]) * sigmoid_grad_from_output(o);
                dz[k + j] = dzo;
                dcj += dzo * peep(self.p_o, j);
            }
            // c_t = f_t ⊙ c_{t-1} + i_t ⊙ g_t.
            let di = dcj * g;
            let dg = dcj * i;
            let mut df = dcj * cp;
            // The constant error carousel: ∂c_t/∂c_{t-1} = f_t, a gate and not a weight
            // matrix times a squashing derivative, so with f_t ≈ 1 the error on the cell
            // crosses many steps undiminished (Hochreiter & Schmidhuber 1997). Peepholes
            // add the paths through z_i and z_f below.
            let mut dcp = dcj * f;
            match l.i {
                Some(k) => {
                    let dzi = (di + dz[k + j]) * sigmoid_grad_from_output(i);
                    dz[k + j] = dzi;
                    dcp += dzi * peep(self.p_i, j);
                }
                // CIFG: i_t = 1 - f_t, so the error on i_t reaches f_t with its sign flipped.
                None if l.coupled => df -= di,
                None => {}
            }
            if let Some(k) = l.f {
                let dzf = (df + dz[k + j]) * sigmoid_grad_from_output(f);
                dz[k + j] = dzf;
                dcp += dzf * peep(self.p_f, j);
            }
            dz[l.g + j] = if l.input_activation {
                dg * tanh_grad_from_output(g)
            } else {
                dg
            };
            dc[j] = dcp;
        }
    }
}

/// Rows of a standard-layout matrix are contiguous.
fn row<'a, F>(r: ArrayView1<'a, F>) -> &'a [F] {
    r.to_slice()
        .expect("rows of a standard-layout array are contiguous")
}

impl<F: Real> Lstm<F> {
    /// A new layer drawn from `config`; an invalid configuration is an error.
    pub fn new(config: &LstmConfig) -> Result<Self> {
        config.validate()?;
        let layout = Layout::new(config);
        let (d, h, kh) = (config.input_size, config.hidden_size, layout.width);
        let mut rng = init::rng(config.seed);
        let bound = 1.0 / (h as f64).sqrt();
        let w_ih = init::uniform(kh, d, bound, &mut rng);
        let w_hh = init::uniform(kh, h, bound, &mut rng);
        let mut b_ih: Array1<F> = vector(kh, bound, &mut rng);
        let b_hh = vector(kh, bound, &mut rng);
        if let Some(rows) = layout.rows(Gate::Forget) {
            b_ih.slice_mut(s![rows])
                .mapv_inplace(|b| b + F::cast(config.forget_bias));
        }
        let mut peephole =
            |present: bool| (config.peepholes && present).then(|| vector(h, bound, &mut rng));
        let p_i = peephole(layout.i.is_some());
        let p_f = peephole(layout.f.is_some());
        let p_o = peephole(layout.o.is_some());
        let w_gates = config
            .full_gate_recurrence
            .then(|| init::uniform(3 * h, 3 * h, bound, &mut rng));
        Ok(Lstm {
            w_ih,
            w_hh,
            b_ih,
            b_hh,
            p_i,
            p_f,
            p_o,
            w_gates,
            config: config.clone(),
        })
    }

    /// The configuration the layer was built from.
    pub fn config(&self) -> &LstmConfig {
        &self.config
    }

    /// D.
    pub fn input_size(&self) -> usize {
        self.config.input_size
    }

    /// H.
    pub fn hidden_size(&self) -> usize {
        self.config.hidden_size
    }

    /// The rows of `w_ih`, `w_hh`, `b_ih` and `b_hh` that hold `gate`'s block, or `None` if
    /// the variant does not compute it. For the default LSTM these are PyTorch's:
    /// i is `0..H`, f is `H..2H`, g is `2H..3H`, o is `3H..4H`.
    pub fn gate_rows(&self, gate: Gate) -> Option<Range<usize>> {
        self.layout().rows(gate)
    }

    fn layout(&self) -> Layout {
        Layout::new(&self.config)
    }

    fn cell(&self) -> Cell<'_, F> {
        fn slice<F>(p: &Option<Array1<F>>) -> Option<&[F]> {
            p.as_ref()
                .map(|p| p.as_slice().expect("a 1-D array we own is contiguous"))
        }
        Cell {
            layout: self.layout(),
            p_i: slice(&self.p_i),
            p_f: slice(&self.p_f),
            p_o: slice(&self.p_o),
        }
    }

    /// The public fields can be replaced (to load weights): check that they still fit the
    /// configuration before any product would panic on them.
    fn check_params(&self) -> Result<()> {
        let l = self.layout();
        let (d, h) = (self.input_size(), self.hidden_size());
        let gates = (l.symbol(), Some(l.width));
        check_shape("w_ih", self.w_ih.shape(), &[gates, ("D", Some(d))])?;
        check_shape("w_hh", self.w_hh.shape(), &[gates, ("H", Some(h))])?;
        check_shape("b_ih", self.b_ih.shape(), &[gates])?;
        check_shape("b_hh", self.b_hh.shape(), &[gates])?;
        let peepholes = [
            ("p_i", &self.p_i, l.i.is_some()),
            ("p_f", &self.p_f, l.f.is_some()),
            ("p_o", &self.p_o, l.o.is_some()),
        ];
        for (name, p, gate) in peepholes {
            presence(name, p.is_some(), self.config.peepholes && gate)?;
            if let Some(p) = p {
                check_shape(name, p.shape(), &[("H", Some(h))])?;
            }
        }
        let fgr = self.config.full_gate_recurrence;
        presence("w_gates", self.w_gates.is_some(), fgr)?;
        if let Some(w) = &self.w_gates {
            let side = ("3H", Some(3 * h));
            check_shape("w_gates", w.shape(), &[side, side])?;
        }
        Ok(())
    }

    fn check_step(
        &self,
        x_t: &ArrayView2<F>,
        prev: &LstmState<F>,
        prev_gates: Option<&LstmGates<F>>,
    ) -> Result<()> {
        self.check_params()?;
        let b = check_step_input(x_t, self.input_size())?;
        check_state("h_prev", &prev.h.view(), b, self.hidden_size())?;
        check_state("c_prev", &prev.c.view(), b, self.hidden_size())?;
        if let (Some(p), Some(_)) = (prev_gates, &self.w_gates) {
            let bh = [("B", Some(b)), ("H", Some(self.hidden_size()))];
            check_shape("prev_gates.i", p.i.shape(), &bh)?;
            check_shape("prev_gates.f", p.f.shape(), &bh)?;
            check_shape("prev_gates.o", p.o.shape(), &bh)?;
        }
        Ok(())
    }

    fn check_sequence(
        &self,
        xs: &ArrayView3<F>,
        h0: &ArrayView2<F>,
        c0: &ArrayView2<F>,
    ) -> Result<()> {
        self.check_params()?;
        let b = check_sequence_input(xs, self.input_size())?;
        check_state("h0", h0, b, self.hidden_size())?;
        check_state("c0", c0, b, self.hidden_size())
    }

    // ANCHOR: step
    /// One time step, gate by gate. `x_t` is (B, D); `prev` holds $h_{t-1}$ and $c_{t-1}$
    /// (B, H). With full gate recurrence, `prev_gates` are the previous step's activations
    /// (`None` at the first step: zero); other variants ignore it. Returns the new state and
    /// this step's activations.
    pub fn step(
        &self,
        x_t: ArrayView2<F>,
        prev: &LstmState<F>,
        prev_gates: Option<&LstmGates<F>>,
    ) -> Result<(LstmState<F>, LstmGates<F>)> {
        self.check_step(&x_t, prev, prev_gates)?;
        let (h, l) = (self.hidden_size(), self.layout());
        let c_prev = &prev.c; // (B, H)

        // z_t = x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh: every block at once.
        let x_part = x_t.dot(&self.w_ih.t()) + &self.b_ih; // (B, kH)
        let z = x_part + prev.h.dot(&self.w_hh.t()) + &self.b_hh; // (B, kH)
        let ones = Array2::<F>::ones(c_prev.raw_dim()); // (B, H)

        // FGR: [i, f, o]_{t-1} W_gates^T, whose blocks 0, 1, 2 go to z_i, z_f and z_o.
        let fgr = match (&self.w_gates, prev_gates) {
            (Some(w), Some(p)) => {
                let gates_prev = concatenate![Axis(1), p.i, p.f, p.o]; // (B, 3H)
                Some(gates_prev.dot(&w.t())) // (B, 3H)
            }
            _ => None,
        };
        // σ(z_gate + p_gate ⊙ cell + FGR block n), or 1 for a removed gate.
        let sigmoid_gate = |gate: Gate, p: &Option<Array1<F>>, cell: &Array2<F>, n: usize| {
            match l.rows(gate) {
                None => ones.clone(),
                Some(rows) => {
                    let mut pre = z.slice(s![.., rows]).to_owned(); // (B, H)
                    if let Some(p) = p {
                        pre += &(cell * p);
                    }
                    if let Some(r) = &fgr {
                        pre += &r.slice(s![.., n * h..(n + 1) * h]);
                    }
                    pre.mapv(sigmoid)
                }
            }
        };
        // f_t = σ(z_f + p_f ⊙ c_{t-1}), (B, H): how much of the old cell to keep.
        let f = sigmoid_gate(Gate::Forget, &self.p_f, c_prev, 1);

        // i_t = σ(z_i + p_i ⊙ c_{t-1}), (B, H): how much of the candidate to write.
        let i = if l.coupled {
            &ones - &f
        } else {
            sigmoid_gate(Gate::Input, &self.p_i, c_prev, 0)
        };

        // g_t = tanh(z_g), (B, H): the candidate values (NIAF: z_g itself).
        let z_g = z.slice(s![.., l.g..l.g + h]);
        let g = if l.input_activation {
            z_g.mapv(tanh)
        } else {
            z_g.to_owned()
        };

        // c_t = f_t ⊙ c_{t-1} + i_t ⊙ g_t, (B, H): forget some, write some.
        let c = &f * c_prev + &i * &g;

        // o_t = σ(z_o + p_o ⊙ c_t), (B, H): the output gate peeps at the new cell.
        let o = sigmoid_gate(Gate::Output, &self.p_o, &c, 2);

        // h_t = o_t ⊙ tanh(c_t), (B, H) (NOAF: o_t ⊙ c_t).
        let h_t = if l.output_activation {
            &o * &c.mapv(tanh)
        } else {
            &o * &c
        };
        Ok((LstmState { h: h_t, c }, LstmGates { i, f, g, o }))
    }
    // ANCHOR_END: step

    // ANCHOR: forward
    /// Runs the LSTM over `xs` (T, B, D) from `h0` and `c0` (B, H), keeping every gate
    /// activation and every state.
    ///
    /// The input part of every gate, $x_t W_{ih}^\top + b_{ih} + b_{hh}$, does not depend on
    /// the state, so all T of them are one (T·B, D)·(D, kH) product before the loop, written
    /// into the buffer that will hold the activations. Each step adds
    /// $h_{t-1} W_{hh}^\top$ in place, then turns its row of pre-activations into
    /// $i, f, g, o$ and writes $c_t$ and $h_t$ into their preallocated slices. Nothing is
    /// allocated per time step.
    pub fn forward(
        &self,
        xs: ArrayView3<F>,
        h0: ArrayView2<F>,
        c0: ArrayView2<F>,
    ) -> Result<LstmCache<F>> {
        self.check_sequence(&xs, &h0, &c0)?;
        let (t_len, batch, d) = xs.dim();
        let (h, cell) = (self.hidden_size(), self.cell());
        let kh = cell.layout.width;
        let xs = xs.as_standard_layout().into_owned(); // (T, B, D)
        let h0 = h0.as_standard_layout().into_owned(); // (B, H)
        let c0 = c0.as_standard_layout().into_owned(); // (B, H)
        let x_flat = xs
            .view()
            .into_shape_with_order((t_len * batch, d))
            .expect("standard layout"); // (T·B, D)
        let mut acts = Array3::zeros((t_len, batch, kh)); // (T, B, kH)
        {
            let mut z_flat = acts
                .view_mut()
                .into_shape_with_order((t_len * batch, kh))
                .expect("standard layout"); // (T·B, kH)
            z_flat.assign(&(&self.b_ih + &self.b_hh));
            general_mat_mul(F::one(), &x_flat, &self.w_ih.t(), F::one(), &mut z_flat);
        }
        let mut cs = Array3::zeros((t_len, batch, h)); // (T, B, H)
        let mut hs = Array3::zeros((t_len, batch, h)); // (T, B, H)
        for t in 0..t_len {
            let (acts_done, mut acts_rest) = acts.view_mut().split_at(Axis(0), t);
            let (c_done, mut c_rest) = cs.view_mut().split_at(Axis(0), t);
            let (h_done, mut h_rest) = hs.view_mut().split_at(Axis(0), t);
            let (h_prev, c_prev) = if t == 0 {
                (h0.view(), c0.view())
            } else {
                (
                    h_done.index_axis(Axis(0), t - 1),
                    c_done.index_axis(Axis(0), t - 1),
                )
            }; // (B, H) each
            let mut z_t = acts_rest.index_axis_mut(Axis(0), 0); // (B, kH)
            general_mat_mul(F::one(), &h_prev, &self.w_hh.t(), F::one(), &mut z_t);
            if let (Some(w), true) = (&self.w_gates, t > 0) {
                fgr_forward(w, acts_done.index_axis(Axis(0), t - 1), &mut z_t);
            }
            Zip::from(z_t.rows_mut())
                .and(c_prev.rows())
                .and(c_rest.index_axis_mut(Axis(0), 0).rows_mut())
                .and(h_rest.index_axis_mut(Axis(0), 0).rows_mut())
                .for_each(|mut a, c_p, mut c, mut h| {
                    cell.forward_row(
                        a.as_slice_mut().expect("contiguous row"),
                        row(c_p),
                        c.as_slice_mut().expect("contiguous row"),
                        h.as_slice_mut().expect("contiguous row"),
                    )
                });
        }
        Ok(LstmCache {
            xs,
            h0,
            c0,
            acts,
            cs,
            hs,
            config: self.config.clone(),
        })
    }
    // ANCHOR_END: forward

    // ANCHOR: backward
    /// Full backpropagation through time.
    ///
    /// `dhs` (T, B, H) holds $\partial L/\partial h_t$ through the layers above only (zero
    /// at steps the loss does not read); `dc_last` (B, H) is $\partial L/\partial c_T$ from
    /// outside the layer (a loss on the final cell, or the next chunk of a long sequence;
    /// `None` means zero). Walking from $t = T$ down to 1, two errors flow back: into
    /// $h_{t-1}$ through every gate, $\partial L/\partial z_t\, W_{hh}$, as in the Elman
    /// RNN; and into $c_{t-1}$ along the cell,
    /// $$\frac{dL}{dc_{t-1}} = \frac{dL}{dc_t} \odot f_t + (\text{peephole terms}),$$
    /// multiplied by a gate instead of a weight matrix and a squashing derivative: the
    /// constant error carousel. The weight gradients are sums over time, formed after the
    /// loop as one matrix multiply each.
    pub fn backward(
        &self,
        cache: &LstmCache<F>,
        dhs: ArrayView3<F>,
        dc_last: Option<ArrayView2<F>>,
    ) -> Result<LstmBackward<F>> {
        let (t_len, batch, h) = cache.hs.dim();
        check_shape("dhs", dhs.shape(), &dims3(cache.hs.dim()))?;
        let mut dc = Array2::zeros((batch, h)); // (B, H)  dL/dc_t, through c_{t+1} and beyond
        if let Some(dc_last) = dc_last {
            let bh = [("B", Some(batch)), ("H", Some(h))];
            check_shape("dc_last", dc_last.shape(), &bh)?;
            dc.assign(&dc_last);
        }
        self.check_params()?;
        if !self.config.same_structure(&cache.config) {
            return Err(Error::Value {
                arg: "cache",
                reason: "it was made by an LSTM with a different structure".to_string(),
            });
        }
        let cell = self.cell();
        // dL/dz_t, (T, B, kH); until step t is processed, the FGR error on its activations.
        let mut dzs = Array3::zeros((t_len, batch, cell.layout.width));
        let mut dh_total = Array3::zeros((t_len, batch, h)); // (T, B, H)  dL/dh_t
        let mut dh_next = Array2::zeros((batch, h)); // (B, H)  dL/dh_t through step t+1
        for t in (0..t_len).rev() {
            let mut dh_t = dh_total.index_axis_mut(Axis(0), t); // (B, H)
            Zip::from(&mut dh_t)
                .and(dhs.index_axis(Axis(0), t))
                .and(&dh_next)
                .for_each(|d, &direct, &later| *d = direct + later);
            let c_prev = if t == 0 {
                cache.c0.view()
            } else {
                cache.cs.index_axis(Axis(0), t - 1)
            }; // (B, H)
            let (mut dz_done, mut dz_rest) = dzs.view_mut().split_at(Axis(0), t);
            let mut dz_t = dz_rest.index_axis_mut(Axis(0), 0); // (B, kH)
            Zip::from(cache.acts.index_axis(Axis(0), t).rows())
                .and(dz_t.rows_mut())
                .and(c_prev.rows())
                .and(cache.cs.index_axis(Axis(0), t).rows())
                .and(dh_t.rows())
                .and(dc.rows_mut())
                .for_each(|a, mut dz, c_p, c, dh, mut dc| {
                    cell.backward_row(
                        row(a),
                        dz.as_slice_mut().expect("contiguous row"),
                        row(c_p),
                        row(c),
                        row(dh),
                        dc.as_slice_mut().expect("contiguous row"),
                    )
                });
            // dL/dh_{t-1} (the part through step t) = dz_t W_hh
            general_mat_mul(F::one(), &dz_t, &self.w_hh, F::zero(), &mut dh_next);
            if let (Some(w), true) = (&self.w_gates, t > 0) {
                fgr_backward(w, dz_t.view(), &mut dz_done.index_axis_mut(Axis(0), t - 1));
            }
        }
        let (grads, dxs) = self.param_and_input_grads(cache, &dzs);
        Ok(Backward {
            grads,
            dxs,
            ds0: LstmState { h: dh_next, c: dc },
            dhs: dh_total,
        })
    }
    // ANCHOR_END: backward

    // ANCHOR: param_grads
    /// The sums over time, given $z_t' = \partial L/\partial z_t$ for every step:
    /// $\partial L/\partial W_{ih} = \sum_t z_t'^\top x_t$,
    /// $\partial L/\partial W_{hh} = \sum_t z_t'^\top h_{t-1}$,
    /// $\partial L/\partial b_{ih} = \partial L/\partial b_{hh} = \sum_t \mathbf 1^\top z_t'$,
    /// $\partial L/\partial p_i = \sum_{t,b} z_i' \odot c_{t-1}$ (likewise $p_f$; $p_o$ with
    /// $c_t$), $\partial L/\partial W_{gates} = \sum_t z_t'^\top [i, f, o]_{t-1}$ and
    /// $\partial L/\partial x_t = z_t' W_{ih}$.
    fn param_and_input_grads(
        &self,
        cache: &LstmCache<F>,
        dzs: &Array3<F>,
    ) -> (LstmGrads<F>, Array3<F>) {
        let (t_len, batch, _) = dzs.dim();
        let (d, h, l) = (self.input_size(), self.hidden_size(), self.layout());
        let dz_flat = flat(dzs.view()); // (T·B, kH)
        let x_flat = flat(cache.xs.view()); // (T·B, D)
        let w_ih = dz_flat.t().dot(&x_flat); // (kH, D)
        let b_ih = dz_flat.sum_axis(Axis(0)); // (kH,)

        // h_{t-1} and c_{t-1} are h0 and c0 for t = 1 and hs[t-2], cs[t-2] after: two
        // products instead of a copy.
        let dz_first = dzs.index_axis(Axis(0), 0); // (B, kH)
        let dz_later = flat(dzs.slice(s![1.., .., ..])); // ((T-1)·B, kH)
        let h_earlier = flat(cache.hs.slice(s![..t_len - 1, .., ..])); // ((T-1)·B, H)
        let c_earlier = flat(cache.cs.slice(s![..t_len - 1, .., ..])); // ((T-1)·B, H)
        let mut w_hh = dz_first.t().dot(&cache.h0); // (kH, H)
        general_mat_mul(F::one(), &dz_later.t(), &h_earlier, F::one(), &mut w_hh);
        let peephole_to_prev = |p: &Option<Array1<F>>, k: Option<usize>| {
            let (_, k) = (p.as_ref()?, k?);
            let mut g = column_dots(dz_first.slice(s![.., k..k + h]), cache.c0.view()); // (H,)
            g += &column_dots(dz_later.slice(s![.., k..k + h]), c_earlier);
            Some(g)
        };
        let p_i = peephole_to_prev(&self.p_i, l.i);
        let p_f = peephole_to_prev(&self.p_f, l.f);
        let p_o = match (&self.p_o, l.o) {
            (Some(_), Some(k)) => Some(column_dots(
                dz_flat.slice(s![.., k..k + h]),
                flat(cache.cs.view()),
            )),
            _ => None,
        };
        let w_gates = self.w_gates.as_ref().map(|_| {
            let mut g = Array2::zeros((3 * h, 3 * h)); // (3H, 3H)
            let acts_earlier = flat(cache.acts.slice(s![..t_len - 1, .., ..])); // ((T-1)·B, 4H)
            for (w_rows, z_cols) in fgr_blocks(h) {
                for (w_cols, a_cols) in fgr_blocks(h) {
                    general_mat_mul(
                        F::one(),
                        &dz_later.slice(s![.., z_cols.clone()]).t(),
                        &acts_earlier.slice(s![.., a_cols]),
                        F::one(),
                        &mut g.slice_mut(s![w_rows.clone(), w_cols]),
                    );
                }
            }
            g
        });
        let mut dxs = Array3::zeros((t_len, batch, d)); // (T, B, D)
        {
            let mut dx_flat = dxs
                .view_mut()
                .into_shape_with_order((t_len * batch, d))
                .expect("standard layout"); // (T·B, D)
            general_mat_mul(F::one(), &dz_flat, &self.w_ih, F::zero(), &mut dx_flat);
        }
        let grads = LstmGrads {
            w_ih,
            w_hh,
            b_hh: b_ih.clone(),
            b_ih,
            p_i,
            p_f,
            p_o,
            w_gates,
        };
        (grads, dxs)
    }
    // ANCHOR_END: param_grads
}

/// Views (T, B, N) as (T·B, N); the arrays and slices passed here are contiguous.
fn flat<F>(a: ArrayView3<'_, F>) -> ArrayView2<'_, F> {
    let (t, b, n) = a.dim();
    a.into_shape_with_order((t * b, n)).expect("contiguous")
}

/// FGR, forward: `z_t` (B, 4H) += [i, f, o]_{t-1} W_gates^T, with `acts_prev` (B, 4H).
fn fgr_forward<F: Real>(w: &Array2<F>, acts_prev: ArrayView2<F>, z_t: &mut ArrayViewMut2<F>) {
    let h = w.nrows() / 3;
    for (w_rows, z_cols) in fgr_blocks(h) {
        for (w_cols, a_cols) in fgr_blocks(h) {
            general_mat_mul(
                F::one(),
                &acts_prev.slice(s![.., a_cols]),
                &w.slice(s![w_rows.clone(), w_cols]).t(),
                F::one(),
                &mut z_t.slice_mut(s![.., z_cols.clone()]),
            );
        }
    }
}

/// FGR, backward: the error on $[i, f, o]_{t-1}$ is $z_t' W_{gates}$, added into
/// `d_prev` (B, 4H), the buffer that becomes $z_{t-1}'$.
fn fgr_backward<F: Real>(w: &Array2<F>, dz_t: ArrayView2<F>, d_prev: &mut ArrayViewMut2<F>) {
    let h = w.nrows() / 3;
    for (w_rows, z_cols) in fgr_blocks(h) {
        for (w_cols, a_cols) in fgr_blocks(h) {
            general_mat_mul(
                F::one(),
                &dz_t.slice(s![.., z_cols.clone()]),
                &w.slice(s![w_rows.clone(), w_cols]),
                F::one(),
                &mut d_prev.slice_mut(s![.., a_cols]),
            );
        }
    }
}

/// $\sum_b a_{bj} c_{bj}$ for every column j: a diagonal weight's gradient.
fn column_dots<F: Real>(a: ArrayView2<F>, c: ArrayView2<F>) -> Array1<F> {
    let mut out = Array1::zeros(a.ncols()); // (H,)
    Zip::from(&mut out)
        .and(a.columns())
        .and(c.columns())
        .for_each(|o, a, c| *o = a.dot(&c));
    out
}

/// An optional tensor must be present exactly when the configuration uses it.
fn presence(name: &'static str, present: bool, wanted: bool) -> Result<()> {
    if present == wanted {
        return Ok(());
    }
    let reason = if wanted {
        "the configuration uses it, but it is None"
    } else {
        "the configuration does not use it, but it is Some"
    };
    Err(Error::Value {
        arg: name,
        reason: reason.to_string(),
    })
}

macro_rules! lstm_params {
    ($ty:ident) => {
        impl<F: Real> Params<F> for $ty<F> {
            fn params(&self) -> Vec<(&'static str, ArrayViewD<'_, F>)> {
                let mut v = vec![
                    ("w_ih", self.w_ih.view().into_dyn()),
                    ("w_hh", self.w_hh.view().into_dyn()),
                    ("b_ih", self.b_ih.view().into_dyn()),
                    ("b_hh", self.b_hh.view().into_dyn()),
                ];
                let optional = [("p_i", &self.p_i), ("p_f", &self.p_f), ("p_o", &self.p_o)];
                for (name, p) in optional {
                    if let Some(p) = p {
                        v.push((name, p.view().into_dyn()));
                    }
                }
                if let Some(w) = &self.w_gates {
                    v.push(("w_gates", w.view().into_dyn()));
                }
                v
            }
            fn params_mut(&mut self) -> Vec<(&'static str, ArrayViewMutD<'_, F>)> {
                let mut v = vec![
                    ("w_ih", self.w_ih.view_mut().into_dyn()),
                    ("w_hh", self.w_hh.view_mut().into_dyn()),
                    ("b_ih", self.b_ih.view_mut().into_dyn()),
                    ("b_hh", self.b_hh.view_mut().into_dyn()),
                ];
                let optional = [
                    ("p_i", &mut self.p_i),
                    ("p_f", &mut self.p_f),
                    ("p_o", &mut self.p_o),
                ];
                for (name, p) in optional {
                    if let Some(p) = p {
                        v.push((name, p.view_mut().into_dyn()));
                    }
                }
                if let Some(w) = &mut self.w_gates {
                    v.push(("w_gates", w.view_mut().into_dyn()));
                }
                v
            }
        }
    };
}

// The layer and its gradients list the same names in the same order (`w_ih`, `w_hh`,
// `b_ih`, `b_hh`, then `p_i`, `p_f`, `p_o`, `w_gates` where present), so they zip.
lstm_params!(Lstm);
lstm_params!(LstmGrads);

impl<F: Real> Recurrent<F> for Lstm<F> {
    type State = LstmState<F>;
    type Cache = LstmCache<F>;
    type Grads = LstmGrads<F>;

    fn input_size(&self) -> usize {
        Lstm::input_size(self)
    }
    fn hidden_size(&self) -> usize {
        Lstm::hidden_size(self)
    }
    fn zero_state(&self, batch: usize) -> LstmState<F> {
        let zeros = Array2::zeros((batch, Lstm::hidden_size(self)));
        LstmState {
            h: zeros.clone(),
            c: zeros,
        }
    }
    fn forward_seq(&self, xs: ArrayView3<F>, s0: &LstmState<F>) -> Result<LstmCache<F>> {
        self.forward(xs, s0.h.view(), s0.c.view())
    }
    fn outputs<'c>(&self, cache: &'c LstmCache<F>) -> ArrayView3<'c, F> {
        cache.hs()
    }
    fn final_state(&self, cache: &LstmCache<F>) -> LstmState<F> {
        LstmState {
            h: cache.h_last().to_owned(),
            c: cache.c_last().to_owned(),
        }
    }
    fn backward_seq(&self, cache: &LstmCache<F>, dhs: ArrayView3<F>) -> Result<LstmBackward<F>> {
        self.backward(cache, dhs, None)
    }
}
