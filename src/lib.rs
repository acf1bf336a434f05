//! # recurrent
//!
//! Recurrent neural networks from first principles: every layer is a forward pass and a
//! hand-written backward pass side by side, checked against central differences. The
//! crate is the code of the book in `book/`; each module says which chapter explains it.

#![warn(missing_docs)]

pub mod activations;
pub mod attention;
pub mod bidirectional;
pub mod cell;
pub mod checkpoint;
pub mod error;
pub mod esn;
pub mod fast;
pub mod gradcheck;
pub mod gru;
pub mod init;
pub mod inside;
pub mod kinds;
pub mod latching;
pub mod linear;
pub mod lm;
pub mod loss;
pub mod lstm;
pub mod optim;
pub mod params;
pub mod real;
pub mod reber;
pub mod regulariser;
pub mod rnn;
pub mod sampling;
pub mod seq2seq;
pub mod series;
pub mod spectral;
pub mod stacked;
pub mod tasks;
pub mod text;
pub mod torch_io;
pub mod train;
pub mod translate;
pub mod vocab;

pub use bidirectional::{BiState, Bidirectional, Merge};
pub use cell::{Backward, Recurrent};
pub use error::{Error, Result};
pub use gru::{Gru, GruBackward, GruCache, GruConfig, GruForm, GruGrads};
pub use init::Init;
pub use linear::{Linear, LinearGrads};
pub use lstm::{
    GreffVariant, Lstm, LstmBackward, LstmCache, LstmConfig, LstmGates, LstmGrads, LstmState,
};
pub use params::Params;
pub use real::Real;
pub use rnn::{Nonlinearity, Rnn, RnnBackward, RnnCache, RnnConfig, RnnGrads};
pub use stacked::Stacked;

/// The book's pages, so that `cargo test` compiles and runs every Rust block in them
/// against this crate: the text cannot drift from the code.
#[cfg(doctest)]
mod book {
    #[doc = include_str!("../book/src/introduction.md")]
    struct Introduction;
    #[doc = include_str!("../book/src/what-is-an-rnn.md")]
    struct WhatIsAnRnn;
    #[doc = include_str!("../book/src/bptt.md")]
    struct Bptt;
    #[doc = include_str!("../book/src/remedies.md")]
    struct Remedies;
    #[doc = include_str!("../book/src/gradient-clipping.md")]
    struct GradientClipping;
    #[doc = include_str!("../book/src/truncated-bptt.md")]
    struct TruncatedBptt;
    #[doc = include_str!("../book/src/initialisation.md")]
    struct Initialisation;
    #[doc = include_str!("../book/src/echo-state-networks.md")]
    struct EchoStateNetworks;
    #[doc = include_str!("../book/src/regularising-gradient-flow.md")]
    struct RegularisingGradientFlow;
    #[doc = include_str!("../book/src/hessian-free.md")]
    struct HessianFree;
    #[doc = include_str!("../book/src/classics.md")]
    struct Classics;
    #[doc = include_str!("../book/src/vanishing-exploding.md")]
    struct VanishingExploding;
    #[doc = include_str!("../book/src/lstm.md")]
    struct Lstm;
    #[doc = include_str!("../book/src/peepholes.md")]
    struct Peepholes;
    #[doc = include_str!("../book/src/coupled-gates.md")]
    struct CoupledGates;
    #[doc = include_str!("../book/src/gru.md")]
    struct Gru;
    #[doc = include_str!("../book/src/which-gates-matter.md")]
    struct WhichGatesMatter;
    #[doc = include_str!("../book/src/bidirectional-and-deep.md")]
    struct BidirectionalAndDeep;
    #[doc = include_str!("../book/src/kinds-of-task.md")]
    struct KindsOfTask;
    #[doc = include_str!("../book/src/language-models.md")]
    struct LanguageModels;
    #[doc = include_str!("../book/src/looking-inside.md")]
    struct LookingInside;
    #[doc = include_str!("../book/src/attention.md")]
    struct Attention;
    #[doc = include_str!("../book/src/making-it-fast.md")]
    struct MakingItFast;
    #[doc = include_str!("../book/src/notation.md")]
    struct Notation;
    #[doc = include_str!("../book/src/errata.md")]
    struct Errata;
    #[doc = include_str!("../book/src/references.md")]
    struct References;
}
