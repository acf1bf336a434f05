//! Planted mistakes in exercise 10, one at a time, chosen by the environment variable
//! `RECURRENT_MUTANT`; with it unset this is a correct solution. Each `// MUTANT:` line
//! names a mistake and the text the graders' failure message must contain for it.
//!
// MUTANT: zeros | is all zeros
// MUTANT: db_hn_not_scaled | db_hh's n block is scaled by r_t
// MUTANT: hidden_n_not_scaled | the n rows of dw_hh
// MUTANT: no_direct_path | dh ⊙ z_t directly
// MUTANT: z_flipped | z_t ≈ 1 keeps h_prev
// MUTANT: dr_missing_hn | da_r = da_n ⊙ hn ⊙ r_t(1 - r_t)
// MUTANT: no_tanh_grad | (1 - n_t^2)
// MUTANT: gate_order | stack the gate gradients r, z, n

use ndarray::{concatenate, Array1, Array2, ArrayView2, Axis};

const MUTANTS: &[&str] = &[
    "zeros",
    "db_hn_not_scaled",
    "hidden_n_not_scaled",
    "no_direct_path",
    "z_flipped",
    "dr_missing_hn",
    "no_tanh_grad",
    "gate_order",
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
pub struct GruCellCache {
    pub x_t: Array2<f64>,
    pub h_prev: Array2<f64>,
    pub r: Array2<f64>,
    pub z: Array2<f64>,
    pub n: Array2<f64>,
    pub hn: Array2<f64>,
}

#[derive(Clone, Debug)]
pub struct GruCellGrads {
    pub dx: Array2<f64>,
    pub dh_prev: Array2<f64>,
    pub dw_ih: Array2<f64>,
    pub dw_hh: Array2<f64>,
    pub db_ih: Array1<f64>,
    pub db_hh: Array1<f64>,
}

pub fn gru_cell_backward(
    cache: &GruCellCache,
    w_ih: ArrayView2<f64>,
    w_hh: ArrayView2<f64>,
    dh: ArrayView2<f64>,
) -> GruCellGrads {
    let m = mutant();
    let is = |name: &str| m == name;
    let GruCellCache {
        x_t,
        h_prev,
        r,
        z,
        n,
        hn,
    } = cache;
    if is("zeros") {
        return GruCellGrads {
            dx: Array2::zeros(x_t.raw_dim()),
            dh_prev: Array2::zeros(h_prev.raw_dim()),
            dw_ih: Array2::zeros(w_ih.raw_dim()),
            dw_hh: Array2::zeros(w_hh.raw_dim()),
            db_ih: Array1::zeros(w_ih.nrows()),
            db_hh: Array1::zeros(w_hh.nrows()),
        };
    }
    let flip = is("z_flipped");
    let dsig = |s: &Array2<f64>| s.mapv(|s| s * (1.0 - s));
    let da_z = if flip {
        &dh * &(n - h_prev) * dsig(z)
    } else {
        &dh * &(h_prev - n) * dsig(z)
    };
    let keep_n = if flip { z.clone() } else { z.mapv(|z| 1.0 - z) };
    let da_n = if is("no_tanh_grad") {
        &dh * &keep_n
    } else {
        &dh * &keep_n * n.mapv(|n| 1.0 - n * n)
    };
    let d_hn = if is("hidden_n_not_scaled") {
        da_n.clone()
    } else {
        &da_n * r
    };
    let da_r = if is("dr_missing_hn") {
        &da_n * &dsig(r)
    } else {
        &da_n * hn * dsig(r)
    };
    let (g_x, g_h) = if is("gate_order") {
        (
            concatenate![Axis(1), da_z, da_r, da_n],
            concatenate![Axis(1), da_z, da_r, d_hn],
        )
    } else {
        (
            concatenate![Axis(1), da_r, da_z, da_n],
            concatenate![Axis(1), da_r, da_z, d_hn],
        )
    };
    let direct = if is("no_direct_path") {
        Array2::zeros(h_prev.raw_dim())
    } else if flip {
        &dh * &z.mapv(|z| 1.0 - z)
    } else {
        &dh * z
    };
    let db_hh = if is("db_hn_not_scaled") {
        g_x.sum_axis(Axis(0))
    } else {
        g_h.sum_axis(Axis(0))
    };
    GruCellGrads {
        dx: g_x.dot(&w_ih),
        dh_prev: direct + g_h.dot(&w_hh),
        dw_ih: g_x.t().dot(x_t),
        dw_hh: g_h.t().dot(h_prev),
        db_ih: g_x.sum_axis(Axis(0)),
        db_hh,
    }
}
