//! The bidirectional and stacked wrappers' behaviour: what each output can see, dropout's
//! masks, and the errors for layers that do not fit together.

use ndarray::{s, Array3};
use recurrent::init::{rng, uniform};
use recurrent::lstm::LstmConfig;
use recurrent::{Bidirectional, Error, Lstm, Merge, Params, Recurrent, Rnn, RnnConfig, Stacked};

fn rnn(d: usize, h: usize, seed: u64) -> Rnn<f64> {
    Rnn::new(&RnnConfig {
        input_size: d,
        hidden_size: h,
        seed,
        ..RnnConfig::default()
    })
    .unwrap()
}

fn lstm(d: usize, h: usize, seed: u64) -> Lstm<f64> {
    Lstm::new(&LstmConfig {
        input_size: d,
        hidden_size: h,
        seed,
        ..LstmConfig::default()
    })
    .unwrap()
}

fn inputs(t: usize, b: usize, d: usize, seed: u64) -> Array3<f64> {
    uniform(t * b, d, 1.0, &mut rng(seed))
        .into_shape_with_order((t, b, d))
        .unwrap()
}

/// The first output of a bidirectional layer changes when the *last* input changes: it
/// cannot be produced before the whole sequence has arrived. A forward layer's first
/// output does not.
#[test]
fn a_bidirectional_output_depends_on_future_inputs() {
    let bi = Bidirectional::new(rnn(3, 4, 0), rnn(3, 4, 1), Merge::Concat).unwrap();
    let xs = inputs(6, 2, 3, 5);
    let mut changed = xs.clone();
    changed.slice_mut(s![5, .., ..]).mapv_inplace(|x| x + 0.5);
    let s0 = bi.zero_state(2);
    let first = |x: &Array3<f64>| {
        let cache = bi.forward_seq(x.view(), &s0).unwrap();
        bi.outputs(&cache).slice(s![0, .., ..]).to_owned() // (B, 2H)
    };
    let (before, after) = (first(&xs), first(&changed));
    let forward_half = s![.., ..4];
    let backward_half = s![.., 4..];
    assert_eq!(before.slice(forward_half), after.slice(forward_half));
    assert!((&before.slice(backward_half) - &after.slice(backward_half))
        .iter()
        .any(|d| d.abs() > 1e-6));
}

#[test]
fn merges_have_the_documented_widths_and_sum_is_the_sum_of_halves() {
    let xs = inputs(4, 2, 3, 1);
    let concat = Bidirectional::new(lstm(3, 5, 0), lstm(3, 5, 1), Merge::Concat).unwrap();
    let sum = Bidirectional::new(lstm(3, 5, 0), lstm(3, 5, 1), Merge::Sum).unwrap();
    assert_eq!((concat.hidden_size(), sum.hidden_size()), (10, 5));
    let c = concat
        .forward_seq(xs.view(), &concat.zero_state(2))
        .unwrap();
    let sm = sum.forward_seq(xs.view(), &sum.zero_state(2)).unwrap();
    let halves =
        &concat.outputs(&c).slice(s![.., .., ..5]) + &concat.outputs(&c).slice(s![.., .., 5..]);
    assert!((&halves - &sum.outputs(&sm))
        .iter()
        .all(|d| d.abs() < 1e-15));
}

#[test]
fn parameters_are_named_by_layer_and_direction() {
    let layer = |d, s| Bidirectional::new(lstm(d, 2, s), lstm(d, 2, s + 1), Merge::Concat).unwrap();
    let deep = Stacked::new(vec![layer(3, 0), layer(4, 2)], 0.0, 0).unwrap();
    let names: Vec<&str> = deep.params().iter().map(|(n, _)| *n).collect();
    assert_eq!(
        &names[..5],
        [
            "l0.w_ih",
            "l0.w_hh",
            "l0.b_ih",
            "l0.b_hh",
            "l0.w_ih_reverse"
        ]
    );
    assert_eq!(names.last(), Some(&"l1.b_hh_reverse"));
    assert_eq!(names.len(), 16);
}

#[test]
fn dropout_is_off_until_a_training_step_and_reproducible_per_step() {
    let xs = inputs(5, 3, 2, 9);
    let mut deep = Stacked::new(vec![rnn(2, 64, 0), rnn(64, 3, 1)], 0.5, 42).unwrap();
    let run = |deep: &Stacked<Rnn<f64>>| {
        let cache = deep.forward_seq(xs.view(), &deep.zero_state(3)).unwrap();
        deep.outputs(&cache).to_owned()
    };
    let plain = Stacked::new(vec![rnn(2, 64, 0), rnn(64, 3, 1)], 0.0, 42).unwrap();
    assert_eq!(
        run(&deep),
        run(&plain),
        "dropout must be off for evaluation"
    );
    deep.set_dropout(Some(1));
    let step1 = run(&deep);
    assert_ne!(step1, run(&plain));
    assert_eq!(step1, run(&deep), "the same step draws the same masks");
    deep.set_dropout(Some(2));
    assert_ne!(step1, run(&deep), "a new step draws new masks");
    deep.set_dropout(None);
    assert_eq!(run(&deep), run(&plain));
}

#[test]
fn layers_that_do_not_fit_are_config_errors() {
    let err = Stacked::new(vec![rnn(2, 4, 0), rnn(5, 3, 1)], 0.0, 0).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Config {
                field: "layers",
                ..
            }
        ),
        "{err}"
    );
    assert!(err
        .to_string()
        .contains("layer 1 reads inputs of size 5 but layer 0 outputs 4"));
    let err = Stacked::new(vec![rnn(2, 4, 0)], 1.0, 0).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Config {
                field: "dropout",
                ..
            }
        ),
        "{err}"
    );
    assert!(Stacked::<Rnn<f64>>::new(vec![], 0.0, 0).is_err());
    let err = Bidirectional::new(rnn(2, 4, 0), rnn(2, 5, 1), Merge::Sum).unwrap_err();
    assert!(matches!(err, Error::Config { field: "bwd", .. }), "{err}");
}

#[test]
fn wrong_states_and_gradients_are_shape_errors() {
    let deep = Stacked::new(vec![rnn(2, 4, 0), rnn(4, 3, 1)], 0.0, 0).unwrap();
    let xs = inputs(3, 2, 2, 0);
    let one_state = vec![deep.layers[0].zero_state(2)];
    assert!(matches!(
        deep.forward_seq(xs.view(), &one_state),
        Err(Error::Config { field: "s0", .. })
    ));
    let cache = deep.forward_seq(xs.view(), &deep.zero_state(2)).unwrap();
    let wrong = Array3::zeros((3, 2, 4));
    let err = deep.backward_seq(&cache, wrong.view()).unwrap_err();
    assert!(matches!(err, Error::Shape { arg: "dhs", .. }), "{err}");
    let bi = Bidirectional::new(rnn(2, 4, 0), rnn(2, 4, 1), Merge::Concat).unwrap();
    let cache = bi.forward_seq(xs.view(), &bi.zero_state(2)).unwrap();
    let err = bi.backward_seq(&cache, wrong.view()).unwrap_err();
    assert!(err.to_string().contains("(3, 2, 8)"), "{err}");
}
