//! # Graded exercises for *recurrent*
//!
//! Each exercise asks you to write one piece of a recurrent network yourself, in plain
//! `ndarray`, and grades it against the reference implementation in the `recurrent` crate
//! and, for the backward passes, against central differences with the gradient checker.
//!
//! | exercise | file | read first |
//! |---|---|---|
//! | 1. one step of an Elman RNN | `src/ex01_rnn_step.rs` | *What a recurrent network is* |
//! | 2. the forward pass over a sequence | `src/ex02_rnn_forward.rs` | *What a recurrent network is* |
//! | 3. backpropagation through time | `src/ex03_bptt.rs` | *Backpropagation through time* |
//! | 4. truncated BPTT(k) | `src/ex04_truncated_bptt.rs` | *Truncated backpropagation through time* |
//! | 5. one step of an LSTM cell | `src/ex05_lstm_cell_forward.rs` | *The LSTM* |
//! | 6. backpropagation through one LSTM step | `src/ex06_lstm_cell_backward.rs` | *The LSTM* |
//! | 7. an LSTM step with peepholes | `src/ex07_peephole_cell.rs` | *Peepholes* |
//! | 8. an LSTM step with coupled gates (CIFG) | `src/ex08_cifg_cell.rs` | *Coupled gates* |
//! | 9. one step of a GRU cell, both forms | `src/ex09_gru_cell_forward.rs` | *The GRU* |
//! | 10. backpropagation through one GRU step | `src/ex10_gru_cell_backward.rs` | *The GRU* |
//! | 11. clipping the gradient by its global norm | `src/ex11_clip_grad_norm.rs` | *Gradient clipping* |
//! | 12. the spectral radius by power iteration | `src/ex12_power_iteration.rs` | *The vanishing and exploding gradient* |
//! | 13. the ridge readout of an echo state network | `src/ex13_esn_readout.rs` | *Echo state networks* |
//! | 14. additive attention, forward and backward | `src/ex14_additive_attention.rs` | *Attention* |
//! | 15. sampling with a temperature and top-k | `src/ex15_sampling.rs` | *Language models and sampling* |
//! | 16. the log-probability of a sentence | `src/ex16_sentence_log_prob.rs` | *Language models and sampling* |
//! | 17. a bidirectional wrapper, forward and backward | `src/ex17_bidirectional.rs` | *Bidirectional and deep RNNs* |
//!
//! ## The loop
//!
//! 1. Open one of the files above. Its top comment states the task, the equation and the
//!    shapes; the function body is a `todo!()` with hints in `// TODO:` comments.
//! 2. Replace the `todo!()` with your code. Change only the body: the signature (and the
//!    structs it takes or returns, such as `BpttGrads` or `LstmStep`) is what the graders
//!    call.
//! 3. Run the graders:
//!
//! ```text
//! cargo test -p exercises --test ex03_bptt  # one exercise
//! cargo test -p exercises --no-fail-fast    # every exercise
//! cargo xtask grade                         # a table of all exercises, with hints
//! ```
//!
//! A failing test says which quantity is off, by how much, at which index, and what the
//! most likely mistake is ("did you add the bias b?", "did you accumulate over all time
//! steps?"). Read the message before the code.
//!
//! Each exercise is its own test binary that includes only its own file. `cargo xtask
//! grade` builds and runs them one at a time, so an exercise that does not compile yet,
//! panics or loops forever is reported for itself and the others are still graded. Plain
//! `cargo test` builds all of them first, so there a compile error in any exercise file
//! stops the run; without `--no-fail-fast` it also stops at the first exercise with a
//! failing test. The exercises do not depend on each other: exercise 2 does not call your
//! exercise 1, and exercises 3 and 4 are given the states of the forward pass. Likewise
//! exercises 6 and 10 are given the forward step's gates, not your exercises 5 and 9.
//!
//! ## Stuck?
//!
//! Reference solutions are in `exercises/solutions/`; `cargo xtask grade --solutions`
//! grades them, and `cargo test -p exercises --features solutions` runs the same tests
//! against them. Try for a while before you look: the point is the moment the gradient
//! check passes.
//!
//! `exercises/mutants/` holds deliberately wrong versions, one planted mistake at a time
//! (chosen by the `RECURRENT_MUTANT` environment variable); `cargo xtask grade --mutants`
//! shows that the graders catch each one with the right hint.
