//! The LSTM's forward pass against its per-gate step and against PyTorch's equations,
//! float32, initialisation, the constant error carousel, and its error messages.

use approx::assert_abs_diff_eq;
use ndarray::{s, Array1, Array2, Array3, Axis};
use rand::Rng;
use recurrent::activations::sigmoid;
use recurrent::init::{rng, uniform, SeededRng};
use recurrent::lstm::{Gate, GreffVariant, Lstm, LstmConfig, LstmGates, LstmState};
use recurrent::{Error, Params, Recurrent};

fn random3(shape: (usize, usize, usize), g: &mut SeededRng) -> Array3<f64> {
    Array3::from_shape_simple_fn(shape, || g.random_range(-1.0..1.0))
}

/// PyTorch's LSTM, Greff et al.'s nine variants, and a few combinations.
fn every_variant() -> Vec<(String, LstmConfig)> {
    let mut v = vec![("PyTorch".to_string(), LstmConfig::default())];
    for variant in GreffVariant::ALL {
        v.push((format!("{variant:?}"), LstmConfig::greff(variant, 1, 1)));
    }
    v.push((
        "CIFG without peepholes".to_string(),
        LstmConfig {
            coupled: true,
            ..LstmConfig::default()
        },
    ));
    v
}

fn build(base: &LstmConfig, d: usize, h: usize, seed: u64) -> Lstm<f64> {
    Lstm::new(&LstmConfig {
        input_size: d,
        hidden_size: h,
        seed,
        ..base.clone()
    })
    .unwrap()
}

/// (xs, h0, c0, G) for a (T, B, D, H) problem.
fn data(
    t: usize,
    b: usize,
    d: usize,
    h: usize,
    seed: u64,
) -> (Array3<f64>, Array2<f64>, Array2<f64>, Array3<f64>) {
    let mut r = rng(seed);
    (
        random3((t, b, d), &mut r),
        uniform(b, h, 1.0, &mut r),
        uniform(b, h, 1.0, &mut r),
        random3((t, b, h), &mut r),
    )
}

#[test]
fn fused_forward_equals_the_per_gate_step_for_every_variant() {
    for (name, config) in every_variant() {
        let lstm = build(&config, 4, 5, 1);
        let (xs, h0, c0, _) = data(6, 3, 4, 5, 2);
        let cache = lstm.forward(xs.view(), h0.view(), c0.view()).unwrap();
        let mut state = LstmState { h: h0, c: c0 };
        let mut gates: Option<LstmGates<f64>> = None;
        for t in 0..6 {
            let (next, g) = lstm
                .step(xs.slice(s![t, .., ..]), &state, gates.as_ref())
                .unwrap();
            let at = |a: ndarray::ArrayView3<'_, f64>| a.index_axis(Axis(0), t).to_owned();
            assert_abs_diff_eq!(at(cache.hs()), next.h, epsilon = 1e-14);
            assert_abs_diff_eq!(at(cache.cs()), next.c, epsilon = 1e-14);
            let steps = [
                (Gate::Input, &g.i),
                (Gate::Forget, &g.f),
                (Gate::Candidate, &g.g),
                (Gate::Output, &g.o),
            ];
            for (gate, value) in steps {
                match cache.gate(gate) {
                    Some(fused) => assert_abs_diff_eq!(at(fused), *value, epsilon = 1e-14),
                    // A gate with no rows is a constant: 1, or 1 - f under CIFG.
                    None if gate == Gate::Input && config.coupled => {
                        assert_abs_diff_eq!(*value, 1.0 - &g.f, epsilon = 1e-15)
                    }
                    None => assert!(value.iter().all(|&v| v == 1.0), "{name}: {gate:?}"),
                }
            }
            state = next;
            gates = Some(g);
        }
        assert_eq!(cache.h_last(), cache.hs().index_axis(Axis(0), 5), "{name}");
    }
}

#[test]
fn default_lstm_follows_pytorchs_equations_and_gate_order() {
    // nn.LSTM: gates = x W_ih^T + b_ih + h W_hh^T + b_hh, rows i, f, g, o of H each;
    // c' = f c + i g, h' = o tanh(c'). Written out one cell at a time.
    let (d, h) = (3, 2);
    let lstm = build(&LstmConfig::default(), d, h, 7);
    let (xs, h0, c0, _) = data(1, 1, d, h, 8);
    let cache = lstm.forward(xs.view(), h0.view(), c0.view()).unwrap();
    let pre = |row: usize| {
        let mut z = lstm.b_ih[row] + lstm.b_hh[row];
        for k in 0..d {
            z += xs[[0, 0, k]] * lstm.w_ih[[row, k]];
        }
        for k in 0..h {
            z += h0[[0, k]] * lstm.w_hh[[row, k]];
        }
        z
    };
    for j in 0..h {
        let i = sigmoid(pre(j));
        let f = sigmoid(pre(h + j));
        let g = pre(2 * h + j).tanh();
        let o = sigmoid(pre(3 * h + j));
        let c = f * c0[[0, j]] + i * g;
        assert_abs_diff_eq!(cache.cs()[[0, 0, j]], c, epsilon = 1e-15);
        assert_abs_diff_eq!(cache.hs()[[0, 0, j]], o * c.tanh(), epsilon = 1e-15);
    }
    assert_eq!(lstm.gate_rows(Gate::Input), Some(0..h));
    assert_eq!(lstm.gate_rows(Gate::Forget), Some(h..2 * h));
    assert_eq!(lstm.gate_rows(Gate::Candidate), Some(2 * h..3 * h));
    assert_eq!(lstm.gate_rows(Gate::Output), Some(3 * h..4 * h));
}

#[test]
fn float32_agrees_with_float64() {
    for (name, config) in every_variant() {
        let config = LstmConfig {
            input_size: 4,
            hidden_size: 6,
            seed: 3,
            ..config
        };
        // The same seed draws the same numbers, rounded to f32.
        let l64 = Lstm::<f64>::new(&config).unwrap();
        let l32 = Lstm::<f32>::new(&config).unwrap();
        let (xs, h0, c0, g) = data(7, 3, 4, 6, 4);
        let f32s = |a: &Array3<f64>| a.mapv(|v| v as f32);
        let c64 = l64.forward(xs.view(), h0.view(), c0.view()).unwrap();
        let c32 = l32
            .forward(
                f32s(&xs).view(),
                h0.mapv(|v| v as f32).view(),
                c0.mapv(|v| v as f32).view(),
            )
            .unwrap();
        assert_abs_diff_eq!(c32.hs().mapv(f64::from), c64.hs(), epsilon = 1e-5);
        assert_abs_diff_eq!(c32.cs().mapv(f64::from), c64.cs(), epsilon = 1e-5);
        let b64 = l64.backward(&c64, g.view(), None).unwrap();
        let b32 = l32.backward(&c32, f32s(&g).view(), None).unwrap();
        for ((n, p32), (_, p64)) in b32.grads.params().into_iter().zip(b64.grads.params()) {
            let diff = (&p32.mapv(f64::from) - &p64).mapv(f64::abs);
            let worst = diff.fold(0.0, |a: f64, &b| a.max(b));
            assert!(worst < 1e-4, "{name}: {n} differs by {worst}");
        }
    }
}

#[test]
fn forget_bias_lands_in_the_forget_rows_of_b_ih() {
    for (name, base) in [
        ("PyTorch", LstmConfig::default()),
        ("CIFG", LstmConfig::greff(GreffVariant::CIFG, 1, 1)),
    ] {
        let plain = build(&base, 3, 4, 5);
        let biased = Lstm::<f64>::new(&LstmConfig {
            input_size: 3,
            hidden_size: 4,
            seed: 5,
            forget_bias: 1.0,
            ..base
        })
        .unwrap();
        let rows = biased.gate_rows(Gate::Forget).unwrap();
        let mut expected = Array1::zeros(plain.b_ih.len());
        expected.slice_mut(s![rows]).fill(1.0);
        assert_abs_diff_eq!(&biased.b_ih - &plain.b_ih, expected, epsilon = 1e-15);
        // Only b_ih moves; PyTorch's b_hh and every other tensor are the same draws.
        for ((n, a), (_, b)) in biased.params().into_iter().zip(plain.params()) {
            if n != "b_ih" {
                assert_eq!(a, b, "{name}: {n}");
            }
        }
    }
    // Without input-gate rows (CIFG) the forget block is the first.
    let cifg = build(&LstmConfig::greff(GreffVariant::CIFG, 1, 1), 3, 4, 5);
    assert_eq!(cifg.gate_rows(Gate::Forget), Some(0..4));
}

#[test]
fn removed_gates_have_no_rows_and_no_parameters() {
    let (d, h) = (3, 4);
    let names = |l: &Lstm<f64>| l.params().iter().map(|(n, _)| *n).collect::<Vec<_>>();
    let pytorch = build(&LstmConfig::default(), d, h, 0);
    assert_eq!(names(&pytorch), ["w_ih", "w_hh", "b_ih", "b_hh"]);
    assert_eq!(pytorch.num_params(), 4 * h * (d + h + 2));

    let v = build(&LstmConfig::greff(GreffVariant::V, 1, 1), d, h, 0);
    assert_eq!(
        names(&v),
        ["w_ih", "w_hh", "b_ih", "b_hh", "p_i", "p_f", "p_o"]
    );

    let nig = build(&LstmConfig::greff(GreffVariant::NIG, 1, 1), d, h, 0);
    assert_eq!(nig.w_ih.dim(), (3 * h, d));
    assert_eq!(nig.gate_rows(Gate::Input), None);
    assert_eq!(nig.gate_rows(Gate::Forget), Some(0..h));
    assert_eq!(names(&nig), ["w_ih", "w_hh", "b_ih", "b_hh", "p_f", "p_o"]);

    let nog = build(&LstmConfig::greff(GreffVariant::NOG, 1, 1), d, h, 0);
    assert_eq!(nog.w_hh.dim(), (3 * h, h));
    assert_eq!(names(&nog), ["w_ih", "w_hh", "b_ih", "b_hh", "p_i", "p_f"]);

    let cifg = build(&LstmConfig::greff(GreffVariant::CIFG, 1, 1), d, h, 0);
    assert_eq!(cifg.b_ih.len(), 3 * h);
    assert_eq!(names(&cifg), ["w_ih", "w_hh", "b_ih", "b_hh", "p_f", "p_o"]);

    let fgr = build(&LstmConfig::greff(GreffVariant::FGR, 1, 1), d, h, 0);
    assert_eq!(fgr.w_gates.as_ref().unwrap().dim(), (3 * h, 3 * h));
    assert_eq!(names(&fgr).last(), Some(&"w_gates"));
    assert_eq!(fgr.num_params(), v.num_params() + 9 * h * h);
}

#[test]
fn greff_variants_differ_from_vanilla_in_one_field() {
    let v = LstmConfig::greff(GreffVariant::V, 2, 3);
    assert!(v.peepholes && v.input_gate && v.forget_gate && v.output_gate);
    assert_eq!(
        LstmConfig {
            peepholes: false,
            ..v.clone()
        },
        LstmConfig::greff(GreffVariant::NP, 2, 3)
    );
    // NP is PyTorch's LSTM (up to the default sizes).
    assert_eq!(
        LstmConfig::greff(GreffVariant::NP, 1, 32),
        LstmConfig::default()
    );
    for variant in GreffVariant::ALL {
        let config = LstmConfig::greff(variant, 2, 3);
        assert!(config.validate().is_ok(), "{variant:?}");
        assert_eq!(config.peepholes, variant != GreffVariant::NP, "{variant:?}");
    }
}

#[test]
fn constant_error_carousel_carries_the_cell_error_unchanged() {
    // With f ≡ 1 (NFG), no peepholes and W_hh = 0, nothing but the carousel connects c_{t-1}
    // to the future: c_t = c_{t-1} + i_t ⊙ g_t with i_t, g_t independent of c_{t-1}, so
    // ∂c_t/∂c_{t-1} = 1 and an error put on c_T reaches c_0 after 100 steps bit for bit.
    let t_len = 100;
    let (xs, h0, c0, _) = data(t_len, 2, 3, 4, 9);
    let gc = uniform(2, 4, 1.0, &mut rng(10));
    let no_loss_on_h = Array3::zeros((t_len, 2, 4));
    let mut nfg = build(
        &LstmConfig {
            forget_gate: false,
            ..LstmConfig::default()
        },
        3,
        4,
        11,
    );
    nfg.w_hh.fill(0.0);
    let cache = nfg.forward(xs.view(), h0.view(), c0.view()).unwrap();
    let back = nfg
        .backward(&cache, no_loss_on_h.view(), Some(gc.view()))
        .unwrap();
    assert_eq!(back.ds0.c, gc);
    assert!(back.ds0.h.iter().all(|&v| v == 0.0));

    // With a forget gate, the same error is multiplied by f_t at every step: dL/dc_0 is
    // G ⊙ f_1 ⊙ ... ⊙ f_T, which vanishes unless the gate stays open.
    for (forget_bias, survives) in [(0.0, false), (6.0, true)] {
        let mut lstm = build(
            &LstmConfig {
                forget_bias,
                ..LstmConfig::default()
            },
            3,
            4,
            11,
        );
        lstm.w_hh.fill(0.0);
        let cache = lstm.forward(xs.view(), h0.view(), c0.view()).unwrap();
        let back = lstm
            .backward(&cache, no_loss_on_h.view(), Some(gc.view()))
            .unwrap();
        let f = cache.gate(Gate::Forget).unwrap();
        let product = f.fold_axis(Axis(0), 1.0, |a, &b| a * b);
        assert_abs_diff_eq!(back.ds0.c, &gc * &product, epsilon = 1e-15);
        let ratio = back.ds0.c.mapv(f64::abs).sum() / gc.mapv(f64::abs).sum();
        assert_eq!(
            ratio > 0.1,
            survives,
            "forget_bias {forget_bias}: ratio {ratio}"
        );
    }
}

#[test]
fn state_carries_across_chunks() {
    // Running 4 steps, then 5 more from the final state, is running all 9 (FGR excepted:
    // its previous gate activations are not part of the state).
    let lstm = build(&LstmConfig::greff(GreffVariant::V, 1, 1), 3, 4, 12);
    let (xs, h0, c0, _) = data(9, 2, 3, 4, 13);
    let whole = lstm.forward(xs.view(), h0.view(), c0.view()).unwrap();
    let first = lstm
        .forward_seq(xs.slice(s![..4, .., ..]), &LstmState { h: h0, c: c0 })
        .unwrap();
    let s = lstm.final_state(&first);
    let second = lstm.forward_seq(xs.slice(s![4.., .., ..]), &s).unwrap();
    assert_abs_diff_eq!(
        second.hs(),
        whole.hs().slice(s![4.., .., ..]),
        epsilon = 1e-14
    );
    assert_abs_diff_eq!(second.c_last(), whole.c_last(), epsilon = 1e-14);
}

#[test]
fn the_trait_view_is_the_same_layer() {
    let lstm = build(&LstmConfig::default(), 3, 4, 6);
    let (xs, h0, c0, g) = data(4, 2, 3, 4, 6);
    let s0 = LstmState {
        h: h0.clone(),
        c: c0.clone(),
    };
    let cache = lstm.forward_seq(xs.view(), &s0).unwrap();
    let direct = lstm.forward(xs.view(), h0.view(), c0.view()).unwrap();
    assert_eq!(lstm.outputs(&cache), direct.hs());
    let last = lstm.final_state(&cache);
    assert_eq!(last.h, cache.h_last());
    assert_eq!(last.c, cache.c_last());
    let zero = lstm.zero_state(2);
    assert_eq!((zero.h.dim(), zero.c.dim()), ((2, 4), (2, 4)));
    let back = lstm.backward_seq(&cache, g.view()).unwrap();
    let direct = lstm.backward(&cache, g.view(), None).unwrap();
    assert_eq!(back.grads, direct.grads);
    assert_eq!(back.ds0, direct.ds0);
}

#[test]
fn initialisation_is_pytorchs_and_repeatable() {
    let config = LstmConfig {
        input_size: 5,
        hidden_size: 16,
        full_gate_recurrence: true,
        peepholes: true,
        seed: 3,
        ..LstmConfig::default()
    };
    let a = Lstm::<f64>::new(&config).unwrap();
    for (name, p) in a.params() {
        assert!(
            p.iter().all(|v| v.abs() <= 0.25),
            "{name} exceeds 1/sqrt(H)"
        );
    }
    assert_eq!(a, Lstm::new(&config).unwrap());
    assert_ne!(
        a,
        Lstm::new(&LstmConfig {
            seed: 4,
            ..config.clone()
        })
        .unwrap()
    );
    assert_eq!(a.config(), &config);
}

#[test]
fn wrong_shapes_name_the_argument_and_both_shapes() {
    let lstm = build(&LstmConfig::default(), 3, 4, 0);
    let msg = |e: Error| e.to_string();
    let xs = Array3::<f64>::zeros((5, 2, 7));
    let z24 = Array2::<f64>::zeros((2, 4));
    let err = lstm.forward(xs.view(), z24.view(), z24.view()).unwrap_err();
    assert_eq!(
        msg(err),
        "shape mismatch in `xs`: expected [T, B, D=3], found [5, 2, 7]"
    );
    let xs = Array3::<f64>::zeros((5, 2, 3));
    let z34 = Array2::<f64>::zeros((3, 4));
    let err = lstm.forward(xs.view(), z34.view(), z24.view()).unwrap_err();
    assert_eq!(
        msg(err),
        "shape mismatch in `h0`: expected [B=2, H=4], found [3, 4]"
    );
    let z25 = Array2::<f64>::zeros((2, 5));
    let err = lstm.forward(xs.view(), z24.view(), z25.view()).unwrap_err();
    assert_eq!(
        msg(err),
        "shape mismatch in `c0`: expected [B=2, H=4], found [2, 5]"
    );
    let cache = lstm.forward(xs.view(), z24.view(), z24.view()).unwrap();
    let err = lstm
        .backward(&cache, Array3::zeros((5, 2, 5)).view(), None)
        .unwrap_err();
    assert_eq!(
        msg(err),
        "shape mismatch in `dhs`: expected [T=5, B=2, H=4], found [5, 2, 5]"
    );
    let err = lstm
        .backward(&cache, Array3::zeros((5, 2, 4)).view(), Some(z34.view()))
        .unwrap_err();
    assert_eq!(
        msg(err),
        "shape mismatch in `dc_last`: expected [B=2, H=4], found [3, 4]"
    );
    let state = LstmState {
        h: z24.clone(),
        c: z34,
    };
    let err = lstm
        .step(Array2::zeros((2, 3)).view(), &state, None)
        .unwrap_err();
    assert_eq!(
        msg(err),
        "shape mismatch in `c_prev`: expected [B=2, H=4], found [3, 4]"
    );

    // Loaded weights of the wrong shape, or a missing peephole, are caught before use.
    let mut loaded = lstm.clone();
    loaded.w_ih = Array2::zeros((12, 3));
    let err = loaded
        .forward(xs.view(), z24.view(), z24.view())
        .unwrap_err();
    assert_eq!(
        msg(err),
        "shape mismatch in `w_ih`: expected [4H=16, D=3], found [12, 3]"
    );
    let mut v = build(&LstmConfig::greff(GreffVariant::V, 1, 1), 3, 4, 0);
    v.p_o = None;
    let err = v.forward(xs.view(), z24.view(), z24.view()).unwrap_err();
    assert!(matches!(err, Error::Value { arg: "p_o", .. }), "{err}");
    // A cache belongs to the configuration that made it.
    let v = build(&LstmConfig::greff(GreffVariant::V, 1, 1), 3, 4, 0);
    let err = v
        .backward(&cache, Array3::zeros((5, 2, 4)).view(), None)
        .unwrap_err();
    assert!(matches!(err, Error::Value { arg: "cache", .. }), "{err}");
}

#[test]
fn empty_sequences_and_nan_are_clear_errors() {
    let lstm = build(&LstmConfig::default(), 3, 4, 0);
    let z24 = Array2::<f64>::zeros((2, 4));
    let err = lstm
        .forward(Array3::zeros((0, 2, 3)).view(), z24.view(), z24.view())
        .unwrap_err();
    assert_eq!(err.to_string(), "`xs` is empty: axis T has length 0");
    let mut c0 = z24.clone();
    c0[[1, 3]] = f64::INFINITY;
    let err = lstm
        .forward(Array3::zeros((2, 2, 3)).view(), z24.view(), c0.view())
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("`c0` holds a non-finite value inf at index [1, 3]"),
        "{err}"
    );
}

#[test]
fn invalid_configs_are_errors() {
    let field = |config: LstmConfig| match Lstm::<f64>::new(&config).unwrap_err() {
        Error::Config { field, .. } => field,
        other => panic!("expected a configuration error, got {other}"),
    };
    let d = LstmConfig::default;
    assert_eq!(
        field(LstmConfig {
            hidden_size: 0,
            ..d()
        }),
        "hidden_size"
    );
    assert_eq!(
        field(LstmConfig {
            input_size: 0,
            ..d()
        }),
        "input_size"
    );
    assert_eq!(
        field(LstmConfig {
            coupled: true,
            input_gate: false,
            ..d()
        }),
        "coupled"
    );
    assert_eq!(
        field(LstmConfig {
            coupled: true,
            forget_gate: false,
            ..d()
        }),
        "coupled"
    );
    for broken in [
        LstmConfig {
            input_gate: false,
            ..d()
        },
        LstmConfig {
            output_gate: false,
            ..d()
        },
        LstmConfig {
            coupled: true,
            ..d()
        },
    ] {
        let config = LstmConfig {
            full_gate_recurrence: true,
            ..broken
        };
        assert_eq!(field(config), "full_gate_recurrence");
    }
    assert_eq!(
        field(LstmConfig {
            forget_gate: false,
            forget_bias: 1.0,
            ..d()
        }),
        "forget_bias"
    );
    assert_eq!(
        field(LstmConfig {
            forget_bias: f64::NAN,
            ..d()
        }),
        "forget_bias"
    );
}

#[test]
fn cache_memory_grows_linearly_with_t() {
    let lstm = build(&LstmConfig::default(), 3, 4, 0);
    let z = Array2::<f64>::zeros((2, 4));
    let bytes = |t: usize| {
        lstm.forward(Array3::zeros((t, 2, 3)).view(), z.view(), z.view())
            .unwrap()
            .bytes()
    };
    // Per step and example: the input (D), four gates (4H), the cell and the output (2H).
    assert_eq!(bytes(20) - bytes(10), 10 * 2 * (3 + 6 * 4) * 8);
}
