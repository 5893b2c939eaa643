//! Training semantics against NetsPresso Trainer 1.4.1: learning-rate schedules
//! (`tests/reference/training_fixtures.py` records its schedulers' own sequences).

mod common;

use zoo::train::schedule::Scheduler;

#[test]
fn every_scheduler_gives_netspressos_learning_rates() {
    let text = std::fs::read_to_string(common::root("tests/fixtures/training/schedulers.json")).unwrap();
    let cases: Vec<serde_json::Value> = serde_json::from_str(&text).unwrap();
    assert_eq!(cases.len(), 12);
    for c in &cases {
        let label = c["label"].as_str().unwrap();
        let s = Scheduler::from_config(&c["scheduler"]).unwrap_or_else(|e| panic!("{label}: {e}"));
        let base = c["lr"].as_f64().unwrap();
        let epochs = c["epochs"].as_u64().unwrap() as usize;
        let got = s.sequence(base, epochs).unwrap();
        let want: Vec<f64> = c["sequence"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        assert_eq!(got.len(), want.len(), "{label}");
        for (k, (g, w)) in got.iter().zip(&want).enumerate() {
            assert!(
                (g - w).abs() <= 1e-12 * base.max(1e-12),
                "{label}: epoch {} lr {g}, NetsPresso {w}",
                k + 1
            );
        }
    }
}

#[test]
fn schedules_that_cannot_run_are_errors() {
    let poly = serde_json::json!({"name": "poly", "warmup_epochs": 5, "warmup_bias_lr": 0.0, "min_lr": 0.0, "power": 1.0, "end_epoch": 5});
    let e = Scheduler::from_config(&poly).unwrap().sequence(1.0, 10).unwrap_err();
    assert!(
        e.contains("`end_epoch` (5) must be larger than `warmup_epochs` (5)"),
        "{e}"
    );
    let e = Scheduler::from_config(&serde_json::json!({"name": "cosine_sgdr"})).unwrap_err();
    assert!(e.contains("unknown scheduler `cosine_sgdr`"), "{e}");
    let e = Scheduler::from_config(&serde_json::json!({"name": "step", "gamma": 0.1, "end_epoch": 3})).unwrap_err();
    assert!(e.contains("needs `iters_per_phase`"), "{e}");
}
