//! Planted mistakes in exercise 4, one at a time, chosen by the environment variable
//! `RECURRENT_MUTANT`; with it unset this is a correct solution. Each `// MUTANT:` line
//! names a mistake and the text the graders' failure message must contain for it.
//!
// MUTANT: zeros | is all zeros
// MUTANT: ignores_k | did you stop after k steps?
// MUTANT: window_too_long | one step too long
// MUTANT: window_too_short | one step too short
// MUTANT: chunked | its own k steps
// MUTANT: dh0_always | only a walk that gets through step 1
// MUTANT: dxs_assigned | add (+=) into dxs

use ndarray::{Array1, Array2, Array3, ArrayView2, ArrayView3, Axis};

const MUTANTS: &[&str] = &[
    "zeros",
    "ignores_k",
    "window_too_long",
    "window_too_short",
    "chunked",
    "dh0_always",
    "dxs_assigned",
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

pub fn bptt_truncated(
    xs: ArrayView3<f64>,
    h0: ArrayView2<f64>,
    w_xh: ArrayView2<f64>,
    w_hh: ArrayView2<f64>,
    hs: ArrayView3<f64>,
    dhs: ArrayView3<f64>,
    k: usize,
) -> BpttGrads {
    let m = mutant();
    let is = |name: &str| m == name;
    let (t_len, batch, d) = xs.dim();
    let h = w_hh.nrows();
    let mut dw_xh = Array2::zeros((h, d)); // (H, D)
    let mut dw_hh = Array2::zeros((h, h)); // (H, H)
    let mut db = Array1::zeros(h); // (H,)
    let mut dxs = Array3::zeros((t_len, batch, d)); // (T, B, D)
    let mut dh0 = Array2::zeros((batch, h)); // (B, H)
    if is("zeros") {
        return BpttGrads {
            dw_xh,
            dw_hh,
            db,
            dxs,
            dh0,
        };
    }
    for s in (0..t_len).rev() {
        let mut delta = dhs.index_axis(Axis(0), s).to_owned(); // (B, H)
        let earliest = if is("ignores_k") {
            0
        } else if is("window_too_long") {
            s.saturating_sub(k)
        } else if is("window_too_short") {
            (s + 2).saturating_sub(k).min(s)
        } else if is("chunked") {
            (s / k) * k
        } else {
            (s + 1).saturating_sub(k)
        };
        for t in (earliest..=s).rev() {
            let x_t = xs.index_axis(Axis(0), t); // (B, D)
            let h_t = hs.index_axis(Axis(0), t); // (B, H)
            let h_prev = if t == 0 {
                h0.view()
            } else {
                hs.index_axis(Axis(0), t - 1)
            }; // (B, H)
            let da_t = &delta * &h_t.mapv(|v| 1.0 - v * v); // (B, H)
            dw_xh += &da_t.t().dot(&x_t);
            dw_hh += &da_t.t().dot(&h_prev);
            db += &da_t.sum_axis(Axis(0));
            let mut dx_t = dxs.index_axis_mut(Axis(0), t); // (B, D)
            if is("dxs_assigned") {
                dx_t.assign(&da_t.dot(&w_xh));
            } else {
                dx_t += &da_t.dot(&w_xh);
            }
            delta = da_t.dot(&w_hh);
        }
        if earliest == 0 || is("dh0_always") {
            dh0 += &delta;
        }
    }
    BpttGrads {
        dw_xh,
        dw_hh,
        db,
        dxs,
        dh0,
    }
}
