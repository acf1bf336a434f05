//! Planted mistakes in exercise 5, one at a time, chosen by the environment variable
//! `RECURRENT_MUTANT`; with it unset this is a correct solution. Each `// MUTANT:` line
//! names a mistake and the text the graders' failure message must contain for it.
//!
// MUTANT: zeros | is all zeros
// MUTANT: gate_order_ifog | stacks them i, f, g, o
// MUTANT: sigmoid_g | g_t = tanh(z_g)
// MUTANT: no_tanh_c | o_t ⊙ tanh(c_t)
// MUTANT: no_forget | the forget gate scales the old cell
// MUTANT: no_input_gate | the input gate scales the candidate
// MUTANT: old_cell_in_h | reads the new cell
// MUTANT: no_b_hh | adds both biases

use ndarray::{s, Array2, ArrayView1, ArrayView2};

const MUTANTS: &[&str] = &[
    "zeros",
    "gate_order_ifog",
    "sigmoid_g",
    "no_tanh_c",
    "no_forget",
    "no_input_gate",
    "old_cell_in_h",
    "no_b_hh",
];

/// The planted mistake to make, or "" for none.
fn mutant() -> String {
    let name = std::env::var("RECURRENT_MUTANT").unwrap_or_default();
    assert!(
        name.is_empty() || MUTANTS.contains(&name.as_str()),
        "unknown RECURRENT_MUTANT={name:?}; this file plants {MUTANTS:?}"
    );
    name
}

#[derive(Clone, Debug)]
pub struct LstmStep {
    pub h: Array2<f64>,
    pub c: Array2<f64>,
    pub i: Array2<f64>,
    pub f: Array2<f64>,
    pub g: Array2<f64>,
    pub o: Array2<f64>,
}

fn sigmoid(v: f64) -> f64 {
    1.0 / (1.0 + (-v).exp())
}

pub fn lstm_cell_forward(
    x_t: ArrayView2<f64>,
    h_prev: ArrayView2<f64>,
    c_prev: ArrayView2<f64>,
    w_ih: ArrayView2<f64>,
    w_hh: ArrayView2<f64>,
    b_ih: ArrayView1<f64>,
    b_hh: ArrayView1<f64>,
) -> LstmStep {
    let m = mutant();
    let is = |name: &str| m == name;
    let h = h_prev.ncols();
    let bh = (h_prev.nrows(), h);
    if is("zeros") {
        let z = || Array2::zeros(bh);
        return LstmStep {
            h: z(),
            c: z(),
            i: z(),
            f: z(),
            g: z(),
            o: z(),
        };
    }
    let mut z = x_t.dot(&w_ih.t()) + b_ih + h_prev.dot(&w_hh.t()); // (B, 4H)
    if !is("no_b_hh") {
        z += &b_hh;
    }
    let block = |k: usize| z.slice(s![.., k * h..(k + 1) * h]);
    let (kg, ko) = if is("gate_order_ifog") {
        (3, 2)
    } else {
        (2, 3)
    };
    let i = block(0).mapv(sigmoid);
    let f = block(1).mapv(sigmoid);
    let g = if is("sigmoid_g") {
        block(kg).mapv(sigmoid)
    } else {
        block(kg).mapv(f64::tanh)
    };
    let o = block(ko).mapv(sigmoid);
    let kept = if is("no_forget") {
        c_prev.to_owned()
    } else {
        &f * &c_prev
    };
    let written = if is("no_input_gate") {
        g.clone()
    } else {
        &i * &g
    };
    let c = kept + written; // (B, H)
    let shown = if is("no_tanh_c") {
        c.clone()
    } else if is("old_cell_in_h") {
        c_prev.mapv(f64::tanh)
    } else {
        c.mapv(f64::tanh)
    };
    let h_t = &o * &shown;
    LstmStep {
        h: h_t,
        c,
        i,
        f,
        g,
        o,
    }
}
