//! Planted mistakes in exercise 6, one at a time, chosen by the environment variable
//! `RECURRENT_MUTANT`; with it unset this is a correct solution. Each `// MUTANT:` line
//! names a mistake and the text the graders' failure message must contain for it.
//!
// MUTANT: zeros | is all zeros
// MUTANT: no_f_in_dc_prev | dc_prev is missing the f_t factor
// MUTANT: no_tanh_grad | tanh(c) derivative missing in the path from h to c
// MUTANT: no_h_path | also gets the path through h_t
// MUTANT: sigmoid_grad_for_g | dz_g = dg ⊙ (1 - g_t^2)
// MUTANT: gate_order | stack the gate gradients in the order i, f, g, o
// MUTANT: new_cell_in_df | the old cell, not c_t
// MUTANT: do_without_tanh | do = dh ⊙ tanh(c_t)

use ndarray::{concatenate, Array1, Array2, ArrayView2, Axis};

const MUTANTS: &[&str] = &[
    "zeros",
    "no_f_in_dc_prev",
    "no_tanh_grad",
    "no_h_path",
    "sigmoid_grad_for_g",
    "gate_order",
    "new_cell_in_df",
    "do_without_tanh",
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
pub struct LstmCellCache {
    pub x_t: Array2<f64>,
    pub h_prev: Array2<f64>,
    pub c_prev: Array2<f64>,
    pub i: Array2<f64>,
    pub f: Array2<f64>,
    pub g: Array2<f64>,
    pub o: Array2<f64>,
    pub c: Array2<f64>,
}

#[derive(Clone, Debug)]
pub struct LstmCellGrads {
    pub dx: Array2<f64>,
    pub dh_prev: Array2<f64>,
    pub dc_prev: Array2<f64>,
    pub dw_ih: Array2<f64>,
    pub dw_hh: Array2<f64>,
    pub db: Array1<f64>,
}

pub fn lstm_cell_backward(
    cache: &LstmCellCache,
    w_ih: ArrayView2<f64>,
    w_hh: ArrayView2<f64>,
    dh: ArrayView2<f64>,
    dc: ArrayView2<f64>,
) -> LstmCellGrads {
    let m = mutant();
    let is = |name: &str| m == name;
    let LstmCellCache {
        x_t,
        h_prev,
        c_prev,
        i,
        f,
        g,
        o,
        c,
    } = cache;
    if is("zeros") {
        return LstmCellGrads {
            dx: Array2::zeros(x_t.raw_dim()),
            dh_prev: Array2::zeros(h_prev.raw_dim()),
            dc_prev: Array2::zeros(c_prev.raw_dim()),
            dw_ih: Array2::zeros(w_ih.raw_dim()),
            dw_hh: Array2::zeros(w_hh.raw_dim()),
            db: Array1::zeros(w_hh.nrows()),
        };
    }
    let tanh_c = c.mapv(f64::tanh);
    let d_o = if is("do_without_tanh") {
        &dh * c
    } else {
        &dh * &tanh_c
    };
    let through_h = if is("no_tanh_grad") {
        &dh * o
    } else {
        &dh * o * &tanh_c.mapv(|t| 1.0 - t * t)
    };
    let dc_t = if is("no_h_path") {
        dc.to_owned()
    } else {
        &dc + &through_h
    };
    let di = &dc_t * g;
    let df = if is("new_cell_in_df") {
        &dc_t * c
    } else {
        &dc_t * c_prev
    };
    let dg = &dc_t * i;
    let dc_prev = if is("no_f_in_dc_prev") {
        dc_t.clone()
    } else {
        &dc_t * f
    };
    let dsig = |s: &Array2<f64>| s.mapv(|s| s * (1.0 - s));
    let dz_i = di * dsig(i);
    let dz_f = df * dsig(f);
    let dz_g = if is("sigmoid_grad_for_g") {
        dg * dsig(g)
    } else {
        dg * g.mapv(|t| 1.0 - t * t)
    };
    let dz_o = d_o * dsig(o);
    let dz = if is("gate_order") {
        concatenate![Axis(1), dz_i, dz_f, dz_o, dz_g]
    } else {
        concatenate![Axis(1), dz_i, dz_f, dz_g, dz_o]
    };
    LstmCellGrads {
        dx: dz.dot(&w_ih),
        dh_prev: dz.dot(&w_hh),
        dc_prev,
        dw_ih: dz.t().dot(x_t),
        dw_hh: dz.t().dot(h_prev),
        db: dz.sum_axis(Axis(0)),
    }
}
