//! Planted mistakes in exercise 8, one at a time, chosen by the environment variable
//! `RECURRENT_MUTANT`; with it unset this is a correct solution. Each `// MUTANT:` line
//! names a mistake and the text the graders' failure message must contain for it.
//!
// MUTANT: zeros | is all zeros
// MUTANT: uncoupled | (1 - f_t) ⊙ g_t
// MUTANT: block_zero_is_i | not f_t = 1 - i_t
// MUTANT: f_scales_both | the candidate is scaled by 1 - f_t, not f_t
// MUTANT: order_fog | stacked f, g, o

use ndarray::{s, Array2, ArrayView1, ArrayView2};

const MUTANTS: &[&str] = &[
    "zeros",
    "uncoupled",
    "block_zero_is_i",
    "f_scales_both",
    "order_fog",
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
pub struct CifgStep {
    pub h: Array2<f64>,
    pub c: Array2<f64>,
    pub f: Array2<f64>,
    pub g: Array2<f64>,
    pub o: Array2<f64>,
}

fn sigmoid(v: f64) -> f64 {
    1.0 / (1.0 + (-v).exp())
}

pub fn cifg_cell_forward(
    x_t: ArrayView2<f64>,
    h_prev: ArrayView2<f64>,
    c_prev: ArrayView2<f64>,
    w_ih: ArrayView2<f64>,
    w_hh: ArrayView2<f64>,
    b_ih: ArrayView1<f64>,
    b_hh: ArrayView1<f64>,
) -> CifgStep {
    let m = mutant();
    let is = |name: &str| m == name;
    let h = h_prev.ncols();
    if is("zeros") {
        let z = || Array2::zeros((h_prev.nrows(), h));
        return CifgStep {
            h: z(),
            c: z(),
            f: z(),
            g: z(),
            o: z(),
        };
    }
    let z = x_t.dot(&w_ih.t()) + b_ih + h_prev.dot(&w_hh.t()) + b_hh; // (B, 3H)
    let block = |k: usize| z.slice(s![.., k * h..(k + 1) * h]);
    // "order_fog" reads the blocks as f, o, g.
    let (kg, ko) = if is("order_fog") { (2, 1) } else { (1, 2) };
    let (f, i) = if is("block_zero_is_i") {
        let i = block(0).mapv(sigmoid);
        (i.mapv(|i| 1.0 - i), i)
    } else {
        let f = block(0).mapv(sigmoid);
        let i = f.mapv(|f| 1.0 - f);
        (f, i)
    };
    let g = block(kg).mapv(f64::tanh);
    let o = block(ko).mapv(sigmoid);
    let written = if is("uncoupled") {
        g.clone()
    } else if is("f_scales_both") {
        &f * &g
    } else {
        &i * &g
    };
    let c = &f * &c_prev + written;
    let h_t = &o * &c.mapv(f64::tanh);
    CifgStep { h: h_t, c, f, g, o }
}
