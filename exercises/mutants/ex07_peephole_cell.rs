//! Planted mistakes in exercise 7, one at a time, chosen by the environment variable
//! `RECURRENT_MUTANT`; with it unset this is a correct solution. Each `// MUTANT:` line
//! names a mistake and the text the graders' failure message must contain for it.
//!
// MUTANT: zeros | is all zeros
// MUTANT: o_peeks_at_c_prev | o_t peeps at the new cell c_t
// MUTANT: no_output_peephole | p_o ⊙ c_t is missing
// MUTANT: swapped_i_f_peepholes | p_i belongs to the input gate
// MUTANT: peephole_outside_sigmoid | inside the sigmoid
// MUTANT: peeps_at_h_prev | peepholes look at the cell

use ndarray::{s, Array2, ArrayView1, ArrayView2};

const MUTANTS: &[&str] = &[
    "zeros",
    "o_peeks_at_c_prev",
    "no_output_peephole",
    "swapped_i_f_peepholes",
    "peephole_outside_sigmoid",
    "peeps_at_h_prev",
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

#[derive(Clone, Copy, Debug)]
pub struct Peepholes<'a> {
    pub p_i: ArrayView1<'a, f64>,
    pub p_f: ArrayView1<'a, f64>,
    pub p_o: ArrayView1<'a, f64>,
}

#[derive(Clone, Debug)]
pub struct PeepholeStep {
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

pub fn peephole_cell_forward(
    x_t: ArrayView2<f64>,
    h_prev: ArrayView2<f64>,
    c_prev: ArrayView2<f64>,
    w_ih: ArrayView2<f64>,
    w_hh: ArrayView2<f64>,
    b: ArrayView1<f64>,
    peepholes: Peepholes,
) -> PeepholeStep {
    let m = mutant();
    let is = |name: &str| m == name;
    let h = h_prev.ncols();
    if is("zeros") {
        let z = || Array2::zeros((h_prev.nrows(), h));
        return PeepholeStep {
            h: z(),
            c: z(),
            i: z(),
            f: z(),
            g: z(),
            o: z(),
        };
    }
    let z = x_t.dot(&w_ih.t()) + h_prev.dot(&w_hh.t()) + b; // (B, 4H)
    let block = |k: usize| z.slice(s![.., k * h..(k + 1) * h]);
    let (p_i, p_f) = if is("swapped_i_f_peepholes") {
        (peepholes.p_f, peepholes.p_i)
    } else {
        (peepholes.p_i, peepholes.p_f)
    };
    let seen = if is("peeps_at_h_prev") {
        h_prev.to_owned()
    } else {
        c_prev.to_owned()
    };
    let gate = |k: usize, peep: Array2<f64>| {
        if is("peephole_outside_sigmoid") {
            block(k).mapv(sigmoid) + peep
        } else {
            (&block(k) + &peep).mapv(sigmoid)
        }
    };
    let i = gate(0, &seen * &p_i);
    let f = gate(1, &seen * &p_f);
    let g = block(2).mapv(f64::tanh);
    let c = &f * &c_prev + &i * &g;
    let o = if is("no_output_peephole") {
        block(3).mapv(sigmoid)
    } else if is("o_peeks_at_c_prev") {
        gate(3, &c_prev * &peepholes.p_o)
    } else if is("peeps_at_h_prev") {
        gate(3, &h_prev * &peepholes.p_o)
    } else {
        gate(3, &c * &peepholes.p_o)
    };
    let h_t = &o * &c.mapv(f64::tanh);
    PeepholeStep {
        h: h_t,
        c,
        i,
        f,
        g,
        o,
    }
}
