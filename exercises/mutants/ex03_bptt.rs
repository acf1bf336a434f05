//! Planted mistakes in exercise 3, one at a time, chosen by the environment variable
//! `RECURRENT_MUTANT`; with it unset this is a correct solution. Each `// MUTANT:` line
//! names a mistake and the text the graders' failure message must contain for it.
//!
// MUTANT: zeros | is all zeros
// MUTANT: last_step_only | did you accumulate over all time steps?
// MUTANT: no_tanh_grad | 1 - h_t^2
// MUTANT: no_carry | did you carry dh back through W_hh
// MUTANT: transposed_carry | not da_t W_hh^T
// MUTANT: h_t_in_dw_hh | h_{t-1}, not h_t
// MUTANT: dh0_missing | carry left after the loop
// MUTANT: forward_walk | walk from t = T down to 1

use ndarray::{Array1, Array2, Array3, ArrayView2, ArrayView3, Axis};

const MUTANTS: &[&str] = &[
    "zeros",
    "last_step_only",
    "no_tanh_grad",
    "no_carry",
    "transposed_carry",
    "h_t_in_dw_hh",
    "dh0_missing",
    "forward_walk",
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
pub struct BpttGrads {
    pub dw_xh: Array2<f64>,
    pub dw_hh: Array2<f64>,
    pub db: Array1<f64>,
    pub dxs: Array3<f64>,
    pub dh0: Array2<f64>,
}

pub fn bptt(
    xs: ArrayView3<f64>,
    h0: ArrayView2<f64>,
    w_xh: ArrayView2<f64>,
    w_hh: ArrayView2<f64>,
    hs: ArrayView3<f64>,
    dhs: ArrayView3<f64>,
) -> BpttGrads {
    let m = mutant();
    let is = |name: &str| m == name;
    let (t_len, batch, d) = xs.dim();
    let h = w_hh.nrows();
    let mut dw_xh = Array2::zeros((h, d)); // (H, D)
    let mut dw_hh = Array2::zeros((h, h)); // (H, H)
    let mut db = Array1::zeros(h); // (H,)
    let mut dxs = Array3::zeros((t_len, batch, d)); // (T, B, D)
    let mut dh_carry = Array2::zeros((batch, h)); // (B, H)
    if is("zeros") {
        return BpttGrads {
            dw_xh,
            dw_hh,
            db,
            dxs,
            dh0: dh_carry,
        };
    }
    let order: Vec<usize> = if is("forward_walk") {
        (0..t_len).collect()
    } else {
        (0..t_len).rev().collect()
    };
    for t in order {
        let x_t = xs.index_axis(Axis(0), t); // (B, D)
        let h_t = hs.index_axis(Axis(0), t); // (B, H)
        let h_prev = if t == 0 {
            h0.view()
        } else {
            hs.index_axis(Axis(0), t - 1)
        }; // (B, H)
        let dh_t = if is("no_carry") {
            dhs.index_axis(Axis(0), t).to_owned()
        } else {
            &dhs.index_axis(Axis(0), t) + &dh_carry
        }; // (B, H)
        let da_t = if is("no_tanh_grad") {
            dh_t
        } else {
            &dh_t * &h_t.mapv(|v| 1.0 - v * v)
        }; // (B, H)
        dw_xh += &da_t.t().dot(&x_t);
        let h_read = if is("h_t_in_dw_hh") { h_t } else { h_prev };
        if is("last_step_only") {
            if t == t_len - 1 {
                dw_hh = da_t.t().dot(&h_read);
            }
        } else {
            dw_hh += &da_t.t().dot(&h_read);
        }
        db += &da_t.sum_axis(Axis(0));
        dxs.index_axis_mut(Axis(0), t).assign(&da_t.dot(&w_xh));
        dh_carry = if is("transposed_carry") {
            da_t.dot(&w_hh.t())
        } else {
            da_t.dot(&w_hh)
        };
    }
    let dh0 = if is("dh0_missing") {
        Array2::zeros((batch, h))
    } else {
        dh_carry
    };
    BpttGrads {
        dw_xh,
        dw_hh,
        db,
        dxs,
        dh0,
    }
}
