//! Planted mistakes in exercise 9, one at a time, chosen by the environment variable
//! `RECURRENT_MUTANT`; with it unset this is a correct solution. Each `// MUTANT:` line
//! names a mistake and the text the graders' failure message must contain for it.
//!
// MUTANT: zeros | is all zeros
// MUTANT: z_flipped | update-gate convention
// MUTANT: reset_before_in_after | in ResetAfter, r_t scales the product
// MUTANT: reset_after_in_before | in ResetBefore, r_t scales h_prev before the product
// MUTANT: ignores_form | did you branch on `form`?
// MUTANT: gate_order_zrn | stacks them r, z, n
// MUTANT: sigmoid_n | the candidate is a tanh
// MUTANT: b_hn_outside_reset | b_hn sits inside the reset

use ndarray::{s, Array2, ArrayView1, ArrayView2};
pub use recurrent::GruForm;

const MUTANTS: &[&str] = &[
    "zeros",
    "z_flipped",
    "reset_before_in_after",
    "reset_after_in_before",
    "ignores_form",
    "gate_order_zrn",
    "sigmoid_n",
    "b_hn_outside_reset",
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
pub struct GruStep {
    pub h: Array2<f64>,
    pub r: Array2<f64>,
    pub z: Array2<f64>,
    pub n: Array2<f64>,
}

fn sigmoid(v: f64) -> f64 {
    1.0 / (1.0 + (-v).exp())
}

pub fn gru_cell_forward(
    x_t: ArrayView2<f64>,
    h_prev: ArrayView2<f64>,
    w_ih: ArrayView2<f64>,
    w_hh: ArrayView2<f64>,
    b_ih: ArrayView1<f64>,
    b_hh: ArrayView1<f64>,
    form: GruForm,
) -> GruStep {
    let m = mutant();
    let is = |name: &str| m == name;
    let h = h_prev.ncols();
    if is("zeros") {
        let z = || Array2::zeros((h_prev.nrows(), h));
        return GruStep {
            h: z(),
            r: z(),
            z: z(),
            n: z(),
        };
    }
    let block = |k: usize| k * h..(k + 1) * h;
    let gx = x_t.dot(&w_ih.t()) + b_ih; // (B, 3H)
    let gh = h_prev.dot(&w_hh.t()) + b_hh; // (B, 3H)
    let (kr, kz) = if is("gate_order_zrn") { (1, 0) } else { (0, 1) };
    let r = (&gx.slice(s![.., block(kr)]) + &gh.slice(s![.., block(kr)])).mapv(sigmoid);
    let z = (&gx.slice(s![.., block(kz)]) + &gh.slice(s![.., block(kz)])).mapv(sigmoid);
    let w_hn = w_hh.slice(s![block(2), ..]);
    let b_hn = b_hh.slice(s![block(2)]);
    let gx_n = gx.slice(s![.., block(2)]);
    let after = form == GruForm::ResetAfter;
    let reset_after = if is("ignores_form") {
        true
    } else if after {
        !is("reset_before_in_after")
    } else {
        is("reset_after_in_before")
    };
    let z_keeps = if is("ignores_form") {
        true
    } else {
        after != is("z_flipped")
    };
    let squash = |a: Array2<f64>| {
        if is("sigmoid_n") {
            a.mapv(sigmoid)
        } else {
            a.mapv(f64::tanh)
        }
    };
    let n = if reset_after {
        if is("b_hn_outside_reset") {
            squash(&gx_n + &(&r * &h_prev.dot(&w_hn.t())) + b_hn)
        } else {
            squash(&gx_n + &(&r * &(h_prev.dot(&w_hn.t()) + b_hn)))
        }
    } else {
        squash(&gx_n + &(&r * &h_prev).dot(&w_hn.t()) + b_hn)
    };
    let one_minus_z = z.mapv(|z| 1.0 - z);
    let h_t = if z_keeps {
        &one_minus_z * &n + &z * &h_prev
    } else {
        &one_minus_z * &h_prev + &z * &n
    };
    GruStep { h: h_t, r, z, n }
}
