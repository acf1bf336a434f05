//! The three cells the classic experiments (`latching`, `adding`, `reber`) set against each
//! other, built the same way in all three, and trained by the crate's one loop.
//!
//! The LSTM and GRU are the fast float32 layers of `recurrent::fast` (same models and
//! parameter names as the readable ones, several times faster); the Elman RNN has no fast
//! form and is the crate's readable layer, also in float32.

use anyhow::Result;
use recurrent::fast::{FastGru, FastLstm};
use recurrent::train::{train_on, Data, SequenceModel, TrainConfig, TrainLog};
use recurrent::{GruConfig, GruForm, Init, LstmConfig, Nonlinearity, Recurrent, Rnn, RnnConfig};

/// A row of the classics' tables.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Cell {
    /// The Elman RNN with tanh, PyTorch's uniform initialisation.
    Rnn,
    /// Le, Jaitly & Hinton (2015)'s IRNN: the Elman RNN with ReLU units, $W_{hh} = I$,
    /// $b = 0$ and input weights from $\mathcal N(0, 0.001^2)$. Not in [`Cell::ALL`]: an
    /// experiment that wants it names it.
    Irnn,
    /// The standard LSTM (PyTorch's), forget-gate bias 1 (Gers et al. 2000; Jozefowicz et
    /// al. 2015): the cell starts out remembering.
    Lstm,
    /// The GRU, reset gate after the recurrent product (PyTorch's form).
    Gru,
}

impl Cell {
    /// The three the classics compare, in the order of the tables.
    pub const ALL: [Cell; 3] = [Cell::Rnn, Cell::Lstm, Cell::Gru];

    /// The row label.
    pub fn name(self) -> &'static str {
        match self {
            Cell::Rnn => "RNN",
            Cell::Irnn => "IRNN",
            Cell::Lstm => "LSTM",
            Cell::Gru => "GRU",
        }
    }
}

/// What a model is asked after training: anything computed from the trained model, for
/// any cell type (a trait, because a closure cannot be generic over the cell).
pub trait Judge {
    /// The measurement.
    type Out;
    /// Measures `model`.
    fn judge<C: Recurrent<f32>>(&self, model: &SequenceModel<f32, C>) -> Result<Self::Out>;
}

/// Builds `cell` with `hidden` units for `data`, seeded by `config.seed`, trains it with
/// `config` (whose `hidden_size` must be `hidden`) and returns the log and `judge`'s
/// measurement of the trained model.
pub fn train_cell<D: Data, J: Judge>(
    cell: Cell,
    data: &D,
    config: &TrainConfig,
    judge: &J,
    on_step: impl FnMut(usize, f64),
) -> Result<(TrainLog, J::Out)> {
    cell.build(
        data.input_size(),
        config.hidden_size,
        config.seed,
        Fit {
            data,
            config,
            judge,
            on_step,
        },
    )
}

/// What to do with a freshly built cell, whatever its type (a trait, because a closure
/// cannot be generic over the cell).
pub trait WithCell {
    /// The result.
    type Out;
    /// Uses `cell`.
    fn with<C: Recurrent<f32>>(self, cell: C) -> Result<Self::Out>;
}

impl Cell {
    /// Builds this cell for inputs of width `d` with `h` units from `seed` (the fast f32
    /// LSTM and GRU; the readable RNN and IRNN) and hands it to `then`.
    pub fn build<W: WithCell>(self, d: usize, h: usize, seed: u64, then: W) -> Result<W::Out> {
        match self {
            Cell::Rnn => then.with(Rnn::<f32>::new(&RnnConfig {
                input_size: d,
                hidden_size: h,
                init: Init::Uniform,
                nonlinearity: Nonlinearity::Tanh,
                seed,
            })?),
            Cell::Irnn => then.with(Rnn::<f32>::new(&RnnConfig {
                input_size: d,
                hidden_size: h,
                init: Init::Identity { scale: 1.0 },
                nonlinearity: Nonlinearity::Relu,
                seed,
            })?),
            Cell::Lstm => then.with(FastLstm::<f32>::new(&LstmConfig {
                input_size: d,
                hidden_size: h,
                forget_bias: 1.0,
                seed,
                ..LstmConfig::default()
            })?),
            Cell::Gru => then.with(FastGru::<f32>::new(&GruConfig {
                input_size: d,
                hidden_size: h,
                form: GruForm::ResetAfter,
                seed,
            })?),
        }
    }
}

/// `train_cell`'s use of the built cell: train it, then judge it.
struct Fit<'a, D, J, S> {
    data: &'a D,
    config: &'a TrainConfig,
    judge: &'a J,
    on_step: S,
}

impl<D: Data, J: Judge, S: FnMut(usize, f64)> WithCell for Fit<'_, D, J, S> {
    type Out = (TrainLog, J::Out);
    fn with<C: Recurrent<f32>>(self, cell: C) -> Result<Self::Out> {
        fit(cell, self.data, self.config, self.judge, self.on_step)
    }
}

fn fit<C: Recurrent<f32>, D: Data, J: Judge>(
    cell: C,
    data: &D,
    config: &TrainConfig,
    judge: &J,
    on_step: impl FnMut(usize, f64),
) -> Result<(TrainLog, J::Out)> {
    let model = SequenceModel::with_cell(cell, data, config.seed)?;
    let (model, log) = train_on(model, data, config, on_step)?;
    let out = judge.judge(&model)?;
    Ok((log, out))
}

/// Asks nothing: the training log is all the experiment needs.
pub struct NoJudge;

impl Judge for NoJudge {
    type Out = ();
    fn judge<C: Recurrent<f32>>(&self, _: &SequenceModel<f32, C>) -> Result<()> {
        Ok(())
    }
}

/// Mean of `values`.
pub fn mean(values: &[f64]) -> f64 {
    values.iter().sum::<f64>() / values.len() as f64
}

/// Averages of `values` over consecutive windows of `width`, at each window's middle step:
/// a training-loss curve smooth enough to read.
pub fn windowed(values: &[f64], width: usize) -> Vec<(f64, f64)> {
    values
        .chunks(width)
        .enumerate()
        .map(|(k, c)| ((k * width + c.len() / 2) as f64, mean(c)))
        .collect()
}
