//! Training learns both synthetic tasks, deterministically for a given seed.

use recurrent::train::{train, train_model, SequenceModel, Task, TrainConfig};
use recurrent::{Gru, GruConfig, Lstm, LstmConfig};

#[test]
fn learns_the_adding_problem_many_to_one() {
    let config = TrainConfig {
        task: Task::Adding { seq_len: 10 },
        steps: 2000,
        ..TrainConfig::default()
    };
    let (_, log) = train::<f32>(&config, |_, _| {}).unwrap();
    assert!(
        log.eval_after < 0.1 * log.baseline,
        "held-out MSE {} should be under a tenth of the baseline {}",
        log.eval_after,
        log.baseline
    );
}

#[test]
fn learns_the_delayed_echo_many_to_many() {
    let config = TrainConfig {
        task: Task::Echo {
            seq_len: 12,
            delay: 2,
            vocab: 4,
        },
        steps: 500,
        ..TrainConfig::default()
    };
    let (_, log) = train::<f32>(&config, |_, _| {}).unwrap();
    let acc = log.accuracy.unwrap();
    assert!(
        acc > 0.95,
        "echo accuracy {acc} (loss {} vs chance {})",
        log.eval_after,
        log.baseline
    );
}

#[test]
fn same_seed_same_run_bit_for_bit() {
    let config = TrainConfig {
        steps: 50,
        ..TrainConfig::default()
    };
    let (m1, l1) = train::<f64>(&config, |_, _| {}).unwrap();
    let (m2, l2) = train::<f64>(&config, |_, _| {}).unwrap();
    assert_eq!(l1, l2);
    assert_eq!(m1, m2);
    let (_, l3) = train::<f64>(&TrainConfig { seed: 1, ..config }, |_, _| {}).unwrap();
    assert_ne!(l1.losses, l3.losses);
}

#[test]
fn invalid_training_configuration_is_an_error() {
    for bad in [
        TrainConfig {
            lr: 0.0,
            ..TrainConfig::default()
        },
        TrainConfig {
            batch_size: 0,
            ..TrainConfig::default()
        },
        TrainConfig {
            truncation: Some(0),
            ..TrainConfig::default()
        },
        TrainConfig {
            clip_norm: f64::NAN,
            ..TrainConfig::default()
        },
    ] {
        assert!(train::<f32>(&bad, |_, _| {}).is_err(), "{bad:?}");
    }
}

#[test]
fn lstm_and_gru_slot_into_the_same_training_loop() {
    let config = TrainConfig {
        task: Task::Echo {
            seq_len: 12,
            delay: 2,
            vocab: 4,
        },
        steps: 400,
        lr: 1e-2,
        ..TrainConfig::default()
    };
    let lstm = Lstm::<f32>::new(&LstmConfig {
        input_size: 4,
        hidden_size: 16,
        ..LstmConfig::default()
    })
    .unwrap();
    let (_, log) = train_model(
        SequenceModel::with_cell(lstm, &config.task, 0).unwrap(),
        &config,
        |_, _| {},
    )
    .unwrap();
    assert!(
        log.accuracy.unwrap() > 0.95,
        "LSTM echo accuracy {:?}",
        log.accuracy
    );
    let gru = Gru::<f32>::new(&GruConfig {
        input_size: 4,
        hidden_size: 16,
        ..GruConfig::default()
    })
    .unwrap();
    let (_, log) = train_model(
        SequenceModel::with_cell(gru, &config.task, 0).unwrap(),
        &config,
        |_, _| {},
    )
    .unwrap();
    assert!(
        log.accuracy.unwrap() > 0.95,
        "GRU echo accuracy {:?}",
        log.accuracy
    );
}

#[test]
fn a_cell_of_the_wrong_input_size_or_without_truncation_is_an_error() {
    let task = Task::Echo {
        seq_len: 6,
        delay: 1,
        vocab: 4,
    };
    let lstm = Lstm::<f32>::new(&LstmConfig {
        input_size: 3,
        hidden_size: 4,
        ..LstmConfig::default()
    })
    .unwrap();
    let err = SequenceModel::with_cell(lstm, &task, 0).unwrap_err();
    assert!(
        err.to_string()
            .contains("input size is 3 but the task gives inputs of size 4"),
        "{err}"
    );
    let gru = Gru::<f32>::new(&GruConfig {
        input_size: 4,
        hidden_size: 4,
        ..GruConfig::default()
    })
    .unwrap();
    let config = TrainConfig {
        task: task.clone(),
        steps: 1,
        truncation: Some(2),
        ..TrainConfig::default()
    };
    let err = train_model(
        SequenceModel::with_cell(gru, &task, 0).unwrap(),
        &config,
        |_, _| {},
    )
    .unwrap_err();
    assert!(err.to_string().contains("full BPTT only"), "{err}");
}
