//! Training semantics against NetsPresso Trainer 1.4.1: learning-rate schedules
//! (`tests/reference/training_fixtures.py` records its schedulers' own sequences).

mod common;

use common::training_run::{colour_dataset_of, tiny_run_configs, write_run};
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

/// `zoo evaluate` of the run configs in `dir` (data, augmentation, model), with `extra` flags.
fn evaluate(dir: &std::path::Path, extra: &[&str]) -> std::process::Output {
    let arg = |f: &str| dir.join(f).display().to_string();
    let (d, a, m) = (arg("data.yaml"), arg("augmentation.yaml"), arg("model.yaml"));
    let mut args = vec!["evaluate", "--data", &d, "--augmentation", &a, "--model", &m];
    args.extend(extra);
    common::zoo(&args)
}

/// The rows of a `results.csv` after its header, as numbers (NaN for empty cells).
fn numbers(csv: &str) -> Vec<Vec<f64>> {
    csv.lines()
        .skip(1)
        .map(|l| l.split(',').map(|v| v.parse().unwrap_or(f64::NAN)).collect())
        .collect()
}

/// The number printed right after `key` in `out`.
fn number_after(out: &str, key: &str) -> f64 {
    let rest = &out[out.find(key).unwrap() + key.len()..];
    rest.split(|c: char| c == ',' || c.is_whitespace())
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

fn zoo_args(args: &[String]) -> std::process::Output {
    common::zoo(&args.iter().map(String::as_str).collect::<Vec<_>>())
}

#[test]
fn zoo_train_learns_a_small_classification_set_and_writes_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let args = tiny_run_configs(dir.path(), "");
    let o = zoo_args(&args);
    let err = common::text(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(
        err.contains(
            "training tiny_resnet (classification) on 64 samples, validating on 16 (data.path.valid), 4 classes"
        ),
        "{err}"
    );
    let run = dir.path().join("outputs/classification_tiny_resnet/version_0");
    let csv = std::fs::read_to_string(run.join("results.csv")).unwrap();
    let rows = numbers(&csv);
    assert_eq!(
        csv.lines().next().unwrap(),
        "epoch,lr,train_loss,train_acc1,valid_loss,valid_acc1,valid_acc5,seconds"
    );
    assert_eq!(rows.len(), 6, "{csv}");
    // NetsPresso's schedule: epoch 1 ends the 1-epoch warmup at the base lr, then cosine.
    assert!((rows[0][1] - 0.01).abs() < 1e-12 && rows[5][1] < rows[1][1], "{csv}");
    // The loss falls and the classes are learnt (validation every epoch: validation_epoch 1).
    assert!(
        rows[5][2] < 0.7 * rows[0][2],
        "train loss {} -> {}\n{csv}",
        rows[0][2],
        rows[5][2]
    );
    assert!(rows[5][4] < rows[0][4], "{csv}");
    assert!(rows[5][5] >= 0.9, "{csv}");
    // Checkpoints at NetsPresso's cadence (save_checkpoint_epoch 2: epochs 1, 3, 5 and the last),
    // best and last, the merged configs.
    for f in ["epoch_1", "epoch_3", "epoch_5", "epoch_6", "best", "last"] {
        assert!(
            run.join(format!("classification_tiny_resnet_{f}.safetensors"))
                .is_file(),
            "{f}"
        );
    }
    assert!(!run.join("classification_tiny_resnet_epoch_2.safetensors").exists());
    // The merged configs of the run validate as one file.
    let o = common::zoo(&["validate", run.join("hparams.yaml").to_str().unwrap()]);
    assert!(o.status.success(), "{}", common::text(&o.stderr));
    let hparams = std::fs::read_to_string(run.join("hparams.yaml")).unwrap();
    for key in [
        "data:",
        "augmentation:",
        "model:",
        "training:",
        "logging:",
        "environment:",
    ] {
        assert!(hparams.contains(key), "{key}\n{hparams}");
    }
    // The best weights classify a validation image with `zoo run` (classes from the data config).
    let o = common::zoo(&[
        "run",
        dir.path().join("model.yaml").to_str().unwrap(),
        "--checkpoint",
        run.join("classification_tiny_resnet_best.safetensors")
            .to_str()
            .unwrap(),
        "--data",
        dir.path().join("data.yaml").to_str().unwrap(),
        "--input",
        dir.path().join("data/images/valid/2_1.png").to_str().unwrap(),
    ]);
    let out = common::text(&o.stdout);
    assert!(o.status.success(), "{}", common::text(&o.stderr));
    assert!(out.lines().nth(1).unwrap().contains("blue"), "{out}");
    // `zoo evaluate` of the last weights reproduces the last epoch's validation numbers.
    let arg = |f: &str| dir.path().join(f).display().to_string();
    let last = run
        .join("classification_tiny_resnet_last.safetensors")
        .display()
        .to_string();
    let o = evaluate(
        dir.path(),
        &["--environment", &arg("environment.yaml"), "--checkpoint", &last],
    );
    let out = common::text(&o.stdout);
    assert!(o.status.success(), "{}", common::text(&o.stderr));
    assert!(
        out.starts_with("tiny_resnet on the valid split (16 samples, 4 classes): loss "),
        "{out}"
    );
    let after = |key: &str| number_after(&out, key);
    let (loss, top1, top4) = (after("loss "), after("top-1 accuracy "), after("top-4 accuracy "));
    assert!(
        (loss - rows[5][4]).abs() < 1e-4 && (top1 - rows[5][5]).abs() < 1e-4 && (top4 - rows[5][6]).abs() < 1e-4,
        "{out} vs {csv}"
    );
    let o = evaluate(dir.path(), &["--split", "test"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        common::text(&o.stderr).contains("`data.path.test` needs `image`"),
        "{}",
        common::text(&o.stderr)
    );
    let o = evaluate(dir.path(), &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        common::text(&o.stderr).contains("evaluating needs trained weights"),
        "{}",
        common::text(&o.stderr)
    );
    // Fine-tuning the trained weights on a new class count: the backbone loads, the head is new.
    let best = run.join("classification_tiny_resnet_best.safetensors");
    let model = dir.path().join("model.yaml");
    let m = std::fs::read_to_string(&model).unwrap();
    let data = dir.path().join("data.yaml");
    let d = std::fs::read_to_string(&data).unwrap();
    std::fs::write(
        &data,
        d.replace("[red, green, blue, yellow]", "[red, green, blue, yellow, purple]"),
    )
    .unwrap();
    let with = |load_head: bool| {
        m.replace(
            "checkpoint: {use_pretrained: false, load_head: false, path: ~, optimizer_path: ~}",
            &format!(
                "checkpoint: {{use_pretrained: true, load_head: {load_head}, path: {}, optimizer_path: ~}}",
                best.display()
            ),
        )
    };
    std::fs::write(&model, with(false)).unwrap();
    let o = zoo_args(&args);
    let err = common::text(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(
        err.contains("applied 35, missing 0, unexpected 0, head tensors not loaded 2"),
        "{err}"
    );
    assert!(err.contains("5 classes; results in"), "{err}");
    let tuned = tensors(
        &dir.path()
            .join("outputs/classification_tiny_resnet/version_1/classification_tiny_resnet_last.safetensors"),
    );
    assert_eq!(tuned["head.classifier.1.weight"].len(), 5 * 16 * 4);
    // Keeping the 4-class head for 5 classes is a clear error, before any training.
    std::fs::write(&model, with(true)).unwrap();
    let o = zoo_args(&args);
    assert_eq!(o.status.code(), Some(1));
    let err = common::text(&o.stderr);
    assert!(
        err.contains("error: `id_mapping` has 5 classes but the checkpoint's head")
            && err.contains("data.yaml:10:3")
            && err.contains("predicts 4"),
        "{err}"
    );
    std::fs::write(&model, &m).unwrap();
    std::fs::write(&data, &d).unwrap();
    // A second run gets its own version folder.
    let o = zoo_args(&args);
    assert!(o.status.success());
    assert!(
        dir.path()
            .join("outputs/classification_tiny_resnet/version_2/results.csv")
            .is_file()
    );
}

#[test]
fn zoo_train_refuses_configs_that_cannot_train() {
    let dir = tempfile::tempdir().unwrap();
    let mut args = tiny_run_configs(dir.path(), "");
    let data = dir.path().join("data.yaml");
    let text = std::fs::read_to_string(&data).unwrap();
    std::fs::write(&data, text.replace("task: classification", "task: segmentation")).unwrap();
    let o = zoo_args(&args);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        common::text(&o.stderr)
            .contains("error: the data is for `segmentation` but the model config is for `classification`"),
        "{}",
        common::text(&o.stderr)
    );
    std::fs::write(
        &data,
        text.replace(
            "format: local",
            "format: huggingface\n  metadata: {repo: beans, subset: ~, custom_cache_dir: ~, features: {image: image, label: labels}}",
        ),
    )
    .unwrap();
    let o = zoo_args(&args);
    assert!(
        common::text(&o.stderr).contains("zoo does not do; save it in NetsPresso's `local` layout"),
        "{}",
        common::text(&o.stderr)
    );
    std::fs::write(&data, &text).unwrap();
    // Weights that fit, but not with their gradients and AdamW's two moments: refused before
    // building. Validation sizes the head for 1000 classes (35,960 parameters, 141.5 KiB); the
    // run's 4 classes leave 19,028 (and 1,088 bytes of BatchNorm statistics): 16 × 19,028 +
    // 1,088 bytes = 298.4 KiB to train.
    let mut limited = args.clone();
    limited.extend(["--max-memory".to_string(), "200K".to_string()]);
    let o = zoo_args(&limited);
    let err = common::text(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("error: training needs 298.4 KiB for the weights, their gradients and the optimizer's moments (4 × 75.4 KiB of weights), more than --max-memory (200.0 KiB)"),
        "{err}"
    );
    // A checkpoint cadence that is no multiple of the validation cadence.
    let logging = dir.path().join("logging.yaml");
    let l = std::fs::read_to_string(&logging).unwrap();
    std::fs::write(
        &logging,
        l.replace("save_checkpoint_epoch: 2", "save_checkpoint_epoch: 3")
            .replace("validation_epoch: 1", "validation_epoch: 2"),
    )
    .unwrap();
    let o = zoo_args(&args);
    assert!(
        common::text(&o.stderr)
            .contains("error: `save_checkpoint_epoch` (3) must be a multiple of `validation_epoch` (2)")
            && common::text(&o.stderr).contains("logging.yaml:5:"),
        "{}",
        common::text(&o.stderr)
    );
    std::fs::write(&logging, l).unwrap();
    // Settings zoo does not apply yet are refused rather than ignored.
    let training = dir.path().join("training.yaml");
    let t = std::fs::read_to_string(&training).unwrap();
    std::fs::write(&training, t.replace("mixed_precision: False", "mixed_precision: True")).unwrap();
    let o = zoo_args(&args);
    assert!(
        common::text(&o.stderr).contains("`training.mixed_precision` is not supported by `zoo train` yet"),
        "{}",
        common::text(&o.stderr)
    );
    // Overwrite groups on a model that has no such parts are refused with the reason.
    std::fs::write(
        &training,
        t.replace("overwrite: ~", "overwrite: [{param_group: tail, lr: 0.1}]"),
    )
    .unwrap();
    let o = zoo_args(&args);
    assert!(
        common::text(&o.stderr).contains("error: unknown parameter group `tail`")
            && common::text(&o.stderr).contains("= note: at training.optimizer.overwrite[0].param_group"),
        "{}",
        common::text(&o.stderr)
    );
    std::fs::write(&training, t.replace("max_norm: ~", "max_norm: -1")).unwrap();
    let o = zoo_args(&args);
    assert!(
        common::text(&o.stderr).contains("error: must be above 0, found -1")
            && common::text(&o.stderr).contains("= note: at training.max_norm"),
        "{}",
        common::text(&o.stderr)
    );
    std::fs::write(&training, t).unwrap();
    // A PyTorch optimizer state cannot be mapped onto zoo's parameters: said before training.
    let model = dir.path().join("model.yaml");
    let m = std::fs::read_to_string(&model).unwrap();
    std::fs::write(
        &model,
        m.replace("optimizer_path: ~", "optimizer_path: resnet_optimizer.pth"),
    )
    .unwrap();
    let o = zoo_args(&args);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        common::text(&o.stderr).contains("`model.checkpoint.optimizer_path`: resnet_optimizer.pth is not an optimizer state zoo wrote; give a run's `resume/optim_<epoch>.bpk`"),
        "{}",
        common::text(&o.stderr)
    );
    std::fs::write(&model, m).unwrap();
    // Files given for the wrong flag.
    let k = args.iter().position(|a| a == "--training").unwrap();
    args[k + 1] = data.display().to_string();
    let o = zoo_args(&args);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        common::text(&o.stderr).contains("has no `training:` section (found `data`)"),
        "{}",
        common::text(&o.stderr)
    );
    assert!(
        !dir.path().join("outputs").exists(),
        "nothing is written for a refused run"
    );
}

/// The tensors of a `.safetensors` file by name (f32 values; other dtypes as raw bytes).
fn tensors(path: &std::path::Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    let bytes = std::fs::read(path).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    st.tensors().into_iter().map(|(k, v)| (k, v.data().to_vec())).collect()
}

#[test]
fn a_killed_run_resumes_to_the_uninterrupted_result() {
    let dir = tempfile::tempdir().unwrap();
    let args = tiny_run_configs(dir.path(), "");
    // 12 epochs: the kill below lands mid-run.
    let training = dir.path().join("training.yaml");
    let t = std::fs::read_to_string(&training).unwrap();
    std::fs::write(
        &training,
        // With an EMA, which the resume state keeps too.
        t.replace("epochs: 6", "epochs: 12")
            .replace("end_epoch: 6", "end_epoch: 12")
            .replace("ema: ~", "ema: {name: exp_decay, decay: 0.99, beta: 15}"),
    )
    .unwrap();
    let whole = zoo_args(&args);
    assert!(whole.status.success(), "{}", common::text(&whole.stderr));
    let base = dir.path().join("outputs/classification_tiny_resnet");
    // The same run, killed (SIGKILL) once three epochs are done.
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_zoo"))
        .args(&args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let csv = base.join("version_1/results.csv");
    let state = base.join("version_1/resume/state.json");
    let epochs_done = || -> u64 {
        std::fs::read_to_string(&state)
            .ok()
            .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
            .and_then(|v| v["epoch"].as_u64())
            .unwrap_or(0)
    };
    let started = std::time::Instant::now();
    while epochs_done() < 3 {
        assert!(started.elapsed().as_secs() < 120, "the run did not reach epoch 3");
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let done = epochs_done();
    assert!((3..12).contains(&done), "killed after epoch {done}");
    let o = common::zoo(&["train", "--resume", base.join("version_1").to_str().unwrap()]);
    let err = common::text(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(
        err.contains(&format!("resuming tiny_resnet after epoch {done} of 12")),
        "{err}"
    );
    // Same per-epoch numbers and the same final weights as the uninterrupted run.
    let strip = |p: std::path::PathBuf| -> Vec<String> {
        std::fs::read_to_string(p)
            .unwrap()
            .lines()
            .map(|l| l.rsplit_once(',').unwrap().0.to_string())
            .collect()
    };
    assert_eq!(strip(base.join("version_0/results.csv")), strip(csv));
    let last = "classification_tiny_resnet_last.safetensors";
    assert_eq!(
        tensors(&base.join("version_0").join(last)),
        tensors(&base.join("version_1").join(last))
    );
    // A finished run has nothing left to resume; a folder that is no run is refused.
    let o = common::zoo(&["train", "--resume", base.join("version_1").to_str().unwrap()]);
    assert!(o.status.success());
    assert!(common::text(&o.stderr).contains("finished all 12 epochs; nothing to resume"));
    let o = common::zoo(&["train", "--resume", dir.path().to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        common::text(&o.stderr).contains("is not a zoo run folder"),
        "{}",
        common::text(&o.stderr)
    );
}

/// One parameter vector, for driving an optimizer with chosen gradients.
#[derive(burn::module::Module, Debug)]
struct Weights {
    w: burn::module::Param<burn::tensor::Tensor<1>>,
}

#[test]
fn optimizers_take_pytorchs_steps() {
    use burn::tensor::Tensor;
    let text = std::fs::read_to_string(common::root("tests/fixtures/training/optimizers.json")).unwrap();
    let cases: Vec<serde_json::Value> = serde_json::from_str(&text).unwrap();
    assert_eq!(cases.len(), 8);
    // The GPU job of `.ci/run` takes these steps on wgpu too.
    let device = common::device().autodiff();
    let state_dir = tempfile::tempdir().unwrap();
    for c in &cases {
        let label = c["label"].as_str().unwrap();
        let floats = |v: &serde_json::Value| -> Vec<f32> {
            v.as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_f64().unwrap() as f32)
                .collect()
        };
        // The optimizer as `training.optimizer` names it.
        let training = serde_json::json!({
            "training": {"epochs": 1, "optimizer": c["optimizer"], "scheduler": {"name": "step", "iters_per_phase": 1, "gamma": 1.0, "end_epoch": 1}}
        });
        let settings = zoo::train::config::TrainSettings::from_config(&training).unwrap();
        let mut optim = zoo::train::optim::build(&settings.optimizer).unwrap();
        let mut m = Weights {
            w: burn::module::Param::from_tensor(Tensor::<1>::from_floats(floats(&c["w0"]).as_slice(), &device)),
        };
        for (k, (g, want)) in c["grads"]
            .as_array()
            .unwrap()
            .iter()
            .zip(c["steps"].as_array().unwrap())
            .enumerate()
        {
            // d/dw sum(w * g) = g.
            let g = Tensor::<1>::from_floats(floats(g).as_slice(), &device);
            let loss = (m.w.val() * g).sum();
            let grads = burn::optim::GradientsParams::from_grads(loss.backward(), &m);
            m = optim.step(settings.optimizer.lr, m, grads);
            // The state survives a save and load (what `--resume` relies on).
            let file = state_dir.path().join(format!("{label}.bpk"));
            optim.save(&file).unwrap();
            optim = zoo::train::optim::build(&settings.optimizer)
                .unwrap()
                .load(&file)
                .unwrap();
            let got: Vec<f32> = m.w.val().into_data().try_to_vec::<f32>().unwrap();
            for (a, b) in got.iter().zip(floats(want)) {
                assert!((a - b).abs() <= 2e-6, "{label} step {}: {got:?}, PyTorch {want}", k + 1);
            }
        }
    }
    // An unknown optimizer names the ones there are.
    let o = serde_json::json!({"training": {"optimizer": {"name": "lion", "lr": 0.01}, "scheduler": {"name": "step", "iters_per_phase": 1, "gamma": 1.0, "end_epoch": 1}}});
    let s = zoo::train::config::TrainSettings::from_config(&o).unwrap();
    assert!(
        zoo::train::optim::build(&s.optimizer)
            .err()
            .unwrap()
            .contains("unknown optimizer `lion`; expected adamw, adam, adamax, sgd, rmsprop, adadelta or adagrad")
    );
}

#[test]
fn parameter_groups_are_netspressos() {
    let text = std::fs::read_to_string(common::root("tests/fixtures/training/param_groups.json")).unwrap();
    let cases: Vec<serde_json::Value> = serde_json::from_str(&text).unwrap();
    assert_eq!(cases.len(), 3);
    let device = burn::tensor::Device::flex();
    for c in &cases {
        let label = c["label"].as_str().unwrap();
        let yaml = std::fs::read_to_string(common::root(c["config"].as_str().unwrap())).unwrap();
        let cfg = zoo::config::check_text(&yaml).config.unwrap();
        let classes = c["num_classes"].as_u64().unwrap() as usize;
        let model = zoo::model::build(&cfg, classes, &device).unwrap();
        let training = serde_json::json!({
            "training": {"epochs": 1, "optimizer": c["optimizer"], "scheduler": {"name": "step", "iters_per_phase": 1, "gamma": 1.0, "end_epoch": 1}}
        });
        let s = zoo::train::config::TrainSettings::from_config(&training).unwrap();
        let full = matches!(cfg.architecture, zoo::config::Architecture::Full(_));
        let groups = zoo::train::optim::groups(&s.optimizer, &model, s.optimizer.overwrite.as_ref(), full).unwrap();
        let want = c["groups"].as_array().unwrap();
        let got: Vec<&str> = groups.iter().map(|g| g.name.as_str()).collect();
        let names: Vec<&str> = want.iter().map(|g| g["name"].as_str().unwrap()).collect();
        assert_eq!(got, names, "{label}");
        for (g, w) in groups.iter().zip(want) {
            let mut mine: Vec<&str> = g.params.iter().map(|(_, n)| n.as_str()).collect();
            mine.sort();
            let theirs: Vec<&str> = w["params"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p.as_str().unwrap())
                .collect();
            assert_eq!(mine, theirs, "{label}: {}", g.name);
            assert_eq!(g.lr, w["lr"].as_f64().unwrap(), "{label}: {}", g.name);
            assert_eq!(
                g.weight_decay,
                w["weight_decay"].as_f64().unwrap(),
                "{label}: {}",
                g.name
            );
        }
    }
}

#[derive(burn::module::Module, Debug)]
struct Linear {
    weight: burn::module::Param<burn::tensor::Tensor<1>>,
    bias: burn::module::Param<burn::tensor::Tensor<1>>,
}

#[derive(burn::module::Module, Debug)]
struct Net {
    backbone: Linear,
    head: Linear,
}

#[test]
fn each_group_steps_with_its_own_learning_rate_and_decay() {
    use burn::tensor::Tensor;
    let device = burn::tensor::Device::flex().autodiff();
    let p = |v: f32| burn::module::Param::from_tensor(Tensor::<1>::from_floats([v, v].as_slice(), &device));
    let net = Net {
        backbone: Linear {
            weight: p(1.0),
            bias: p(1.0),
        },
        head: Linear {
            weight: p(1.0),
            bias: p(1.0),
        },
    };
    // SGD, weight decay 0.5, no decay on biases, the head at ten times the lr.
    let training = serde_json::json!({"training": {"optimizer": {
        "name": "sgd", "lr": 0.1, "momentum": 0.0, "weight_decay": 0.5, "nesterov": false,
        "no_bias_decay": true, "no_norm_weight_decay": false,
        "overwrite": [{"param_group": "head", "lr": 1.0}]},
        "scheduler": {"name": "step", "iters_per_phase": 1, "gamma": 1.0, "end_epoch": 1}}});
    let s = zoo::train::config::TrainSettings::from_config(&training).unwrap();
    let groups = zoo::train::optim::groups(&s.optimizer, &net, s.optimizer.overwrite.as_ref(), false).unwrap();
    let names: Vec<(&str, usize)> = groups.iter().map(|g| (g.name.as_str(), g.params.len())).collect();
    assert_eq!(
        names,
        [
            ("backbone_group", 1),
            ("backbone_no_decay_group", 1),
            ("head_group", 1),
            ("head_no_decay_group", 1)
        ]
    );
    let ids: Vec<burn::module::ParamGroup> = groups
        .iter()
        .map(|g| burn::module::ParamGroup::from_ids(g.params.iter().map(|(id, _)| *id).collect()))
        .collect();
    let lrs: Vec<f64> = groups.iter().map(|g| g.lr).collect();
    let mut optim = zoo::train::optim::build_grouped(&s.optimizer, groups).unwrap().optim;
    // The gradient of sum(w) is 1 everywhere: w ← w - lr·(1 + decay·w).
    let loss = net.backbone.weight.val().sum()
        + net.backbone.bias.val().sum()
        + net.head.weight.val().sum()
        + net.head.bias.val().sum();
    let grads = burn::optim::GradientsParams::from_grads(loss.backward(), &net);
    let net = optim.step(zoo::train::optim::learning_rates(&ids, &lrs), net, grads);
    let v = |t: Tensor<1>| t.into_data().try_to_vec::<f32>().unwrap()[0];
    assert!((v(net.backbone.weight.val()) - (1.0 - 0.1 * 1.5)).abs() < 1e-6);
    assert!((v(net.backbone.bias.val()) - (1.0 - 0.1)).abs() < 1e-6);
    assert!((v(net.head.weight.val()) - (1.0 - 1.0 * 1.5)).abs() < 1e-6);
    assert!((v(net.head.bias.val()) - (1.0 - 1.0)).abs() < 1e-6);
}

#[derive(burn::module::Module, Debug)]
struct Two {
    a: burn::module::Param<burn::tensor::Tensor<1>>,
    b: burn::module::Param<burn::tensor::Tensor<2>>,
}

#[test]
fn max_norm_clips_all_gradients_by_one_global_norm() {
    use burn::tensor::Tensor;
    let device = burn::tensor::Device::flex().autodiff();
    let m = Two {
        a: burn::module::Param::from_tensor(Tensor::<1>::from_floats([1.0, 2.0], &device)),
        b: burn::module::Param::from_tensor(Tensor::<2>::from_floats([[1.0], [1.0]], &device)),
    };
    // Gradients a: [3, 0], b: [[0], [4]]: each tensor's norm is below 5, the global norm is 5.
    let loss = (m.a.val() * Tensor::<1>::from_floats([3.0, 0.0], &device)).sum()
        + (m.b.val() * Tensor::<2>::from_floats([[0.0], [4.0]], &device)).sum();
    let mut grads = burn::optim::GradientsParams::from_grads(loss.backward(), &m);
    let norm = zoo::train::clip::clip_global_norm(&m, &mut grads, 1.0);
    assert!((norm - 5.0).abs() < 1e-6);
    let a: Vec<f32> = grads.get::<1>(m.a.id).unwrap().into_data().try_to_vec::<f32>().unwrap();
    let b: Vec<f32> = grads.get::<2>(m.b.id).unwrap().into_data().try_to_vec::<f32>().unwrap();
    // PyTorch: scaled by max_norm / (norm + 1e-6).
    let f = (1.0 / (5.0 + 1e-6)) as f32;
    assert_eq!(a, vec![3.0 * f, 0.0]);
    assert_eq!(b, vec![0.0, 4.0 * f]);
    // Below the limit nothing changes.
    let norm = zoo::train::clip::clip_global_norm(&m, &mut grads, 10.0);
    assert!((norm - 1.0).abs() < 1e-5);
    let a2: Vec<f32> = grads.get::<1>(m.a.id).unwrap().into_data().try_to_vec::<f32>().unwrap();
    assert_eq!(a2, a);
}

/// f32 tensors of a `.safetensors` file by name.
fn floats(path: &std::path::Path) -> std::collections::BTreeMap<String, Vec<f32>> {
    let bytes = std::fs::read(path).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    st.tensors()
        .into_iter()
        .filter(|(_, v)| v.dtype() == safetensors::Dtype::F32)
        .map(|(k, v)| {
            (
                k,
                v.data()
                    .chunks_exact(4)
                    .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
                    .collect(),
            )
        })
        .collect()
}

#[test]
fn a_model_saved_after_a_training_step_has_its_batchnorm_statistics() {
    use burn::tensor::Tensor;
    let dir = tempfile::tempdir().unwrap();
    let cfg = zoo::check_text(common::training_run::TINY_RESNET).config.unwrap();
    let device = burn::tensor::Device::flex().autodiff();
    let model = zoo::build(&cfg, 4, &device).unwrap();
    let x: Vec<f32> = (0..4 * 3 * 32 * 32)
        .map(|i| ((i * 37 % 101) as f32 - 30.0) / 25.0)
        .collect();
    let pred = model.forward_train(Tensor::<1>::from_floats(x.as_slice(), &device).reshape([4, 3, 32, 32]));
    let labels = zoo::train::loss::Targets::Labels(vec![0, 1, 2, 3]);
    zoo::train::loss::total_loss(&cfg, pred, &labels).unwrap().backward();
    // Saved straight away, as a resume state is at the end of an epoch without validation.
    let path = dir.path().join("after.safetensors");
    zoo::io::weights::save(&model, &path).unwrap();
    let saved = floats(&path);
    let (mut means, mut vars) = (0, 0);
    for (name, v) in &saved {
        // From mean 0 and variance 1, momentum 0.1: 0.1 of the batch's mean, and 0.9 plus 0.1
        // of its (positive) variance.
        if name.ends_with(".running_mean") {
            means += 1;
            assert!(v.iter().any(|m| *m != 0.0), "{name} did not move: {v:?}");
        } else if name.ends_with(".running_var") {
            vars += 1;
            assert!(v.iter().all(|s| *s > 0.9 && *s != 1.0), "{name}: {v:?}");
        }
    }
    assert!(means >= 5 && means == vars, "{means} means, {vars} variances");
}

#[test]
fn ema_averages_every_weight_as_netspresso_does() {
    use zoo::train::ema::{Ema, EmaConfig};
    let dir = tempfile::tempdir().unwrap();
    tiny_run_configs(dir.path(), "");
    let cfg = zoo::check_text(&std::fs::read_to_string(dir.path().join("model.yaml")).unwrap())
        .config
        .unwrap();
    let device = burn::tensor::Device::flex().autodiff();
    device.seed(1);
    let m1 = zoo::build(&cfg, 4, &device).unwrap();
    device.seed(2);
    let m2 = zoo::build(&cfg, 4, &device).unwrap();
    let save = |m: &zoo::TaskModel, name: &str| {
        let p = dir.path().join(name);
        zoo::io::weights::save(m, &p).unwrap();
        floats(&p)
    };
    let (w1, w2) = (save(&m1, "w1.safetensors"), save(&m2, "w2.safetensors"));
    assert_ne!(w1, w2, "two seeds give two initialisations");
    // The EMA follows the parameters of the model it copied: m1's, now holding m2's values
    // (as training changes them).
    let m2 = {
        let mut m = m1.clone();
        let opts = zoo::io::weights::LoadOptions {
            load_head: true,
            remap: Vec::new(),
        };
        zoo::io::weights::load(&mut m, &dir.path().join("w2.safetensors"), &opts).unwrap();
        m
    };
    // constant_decay 0.9: ema = 0.9 ema + 0.1 theta, parameters and BatchNorm statistics alike.
    let mut e = Ema::new(EmaConfig { decay: 0.9, beta: None }, &m1);
    e.update(&m2);
    let got = save(&e.model, "ema.safetensors");
    assert_eq!(got.len(), w1.len());
    assert!(got.keys().any(|k| k.ends_with("running_var")));
    for (k, v) in &got {
        for ((g, a), b) in v.iter().zip(&w1[k]).zip(&w2[k]) {
            assert!(
                (g - (0.9 * a + 0.1 * b)).abs() <= 1e-6,
                "{k}: {g} vs 0.9 * {a} + 0.1 * {b}"
            );
        }
    }
    // exp_decay: d_t = decay (1 - exp(-t / beta)); the first update copies the weights.
    let c = EmaConfig {
        decay: 0.9999,
        beta: Some(2000.0),
    };
    assert_eq!(c.decay_at(0), 0.0);
    assert!((c.decay_at(2000) - 0.9999 * (1.0 - (-1.0f64).exp())).abs() < 1e-15);
    let mut e = Ema::new(c, &m1);
    e.update(&m2);
    assert_eq!(save(&e.model, "ema2.safetensors"), w2);
    // Config errors.
    let bad = serde_json::json!({"name": "exp_decay", "decay": 0.99});
    assert!(
        EmaConfig::from_config(Some(&bad))
            .unwrap_err()
            .contains("`training.ema.beta` must be a number above 0")
    );
    let bad = serde_json::json!({"name": "linear", "decay": 0.99});
    assert!(
        EmaConfig::from_config(Some(&bad))
            .unwrap_err()
            .contains("unknown `training.ema.name` `linear`")
    );
}

/// A segmentation set in NetsPresso's local layout: grey 32×32 images with a red (class 1) or
/// blue (class 2) rectangle, grey-level masks (0 background) whose rectangle edges are 255
/// (undefined, ignored).
fn shapes_dataset(root: &std::path::Path) {
    let mut state = 11u32;
    let mut rand = move |n: u32| {
        state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        (state >> 8) % n
    };
    for (split, n) in [("train", 48), ("valid", 8)] {
        for d in ["images", "masks"] {
            std::fs::create_dir_all(root.join(d).join(split)).unwrap();
        }
        for i in 0..n {
            let class = 1 + (i % 2) as u8;
            let colour = if class == 1 { [210, 50, 50] } else { [50, 50, 210] };
            let (w, h) = (8 + rand(14), 8 + rand(14));
            let (x0, y0) = (rand(32 - w), rand(32 - h));
            let inside = |x: u32, y: u32| x >= x0 && x < x0 + w && y >= y0 && y < y0 + h;
            let edge = |x: u32, y: u32| inside(x, y) && (x == x0 || y == y0 || x == x0 + w - 1 || y == y0 + h - 1);
            let mut img = image::RgbImage::new(32, 32);
            let mut mask = image::GrayImage::new(32, 32);
            for y in 0..32 {
                for x in 0..32 {
                    let n = rand(40) as i32 - 20;
                    let base = if inside(x, y) { colour } else { [120, 120, 120] };
                    img.put_pixel(x, y, image::Rgb(base.map(|v| (v + n).clamp(0, 255) as u8)));
                    let m = if edge(x, y) {
                        255
                    } else if inside(x, y) {
                        class
                    } else {
                        0
                    };
                    mask.put_pixel(x, y, image::Luma([m]));
                }
            }
            img.save(root.join("images").join(split).join(format!("{i}.png")))
                .unwrap();
            mask.save(root.join("masks").join(split).join(format!("{i}.png")))
                .unwrap();
        }
    }
}

/// The six configs of a tiny segmentation run (a two-stage ResNet with an all-MLP decoder).
fn tiny_segmentation_configs(dir: &std::path::Path) -> Vec<String> {
    let root = dir.join("data");
    shapes_dataset(&root);
    let files = [
        (
            "data.yaml",
            format!(
                "data:\n  name: shapes\n  task: segmentation\n  format: local\n  path:\n    root: {}\n    train: {{image: images/train, label: masks/train}}\n    valid: {{image: images/valid, label: masks/valid}}\n    test: {{image: ~, label: ~}}\n    pattern: {{image: ~, label: ~}}\n  label_image_mode: L\n  id_mapping: [background, red, blue]\n  pallete: ~\n",
                root.display()
            ),
        ),
        (
            "augmentation.yaml",
            "augmentation:\n  train:\n    - {name: randomresizedcrop, size: 32, scale: [0.6, 1.0], ratio: [0.75, 1.33], interpolation: bilinear}\n    - {name: randomhorizontalflip, p: 0.5}\n    - {name: colorjitter, brightness: 0.1, contrast: 0.1, saturation: 0.1, hue: 0.02, p: 0.5}\n    - {name: totensor, pixel_range: 1.0}\n    - {name: normalize, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225]}\n  inference:\n    - {name: resize, size: [32, 32], interpolation: bilinear, max_size: ~, resize_criteria: ~}\n    - {name: totensor, pixel_range: 1.0}\n    - {name: normalize, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225]}\n".to_string(),
        ),
        (
            "model.yaml",
            "model:\n  task: segmentation\n  name: tiny_seg\n  checkpoint: {use_pretrained: false, load_head: false, path: ~, optimizer_path: ~}\n  freeze_backbone: false\n  architecture:\n    full: ~\n    backbone:\n      name: resnet\n      params: {block_type: basicblock, norm_type: batch_norm, return_stage_idx: ~, split_stem_conv: false, first_stage_shortcut_conv: false}\n      stage_params:\n        - {channels: 8, num_blocks: 1}\n        - {channels: 16, num_blocks: 1, replace_stride_with_dilation: false, replace_stride_with_pooling: false}\n    head:\n      name: all_mlp_decoder\n      params: {intermediate_channels: 16, classifier_dropout_prob: 0.0}\n  postprocessor: ~\n  losses:\n    - {criterion: seg_cross_entropy, weight: ~, ignore_index: 255}\n".to_string(),
        ),
        (
            "training.yaml",
            "training:\n  epochs: 10\n  mixed_precision: False\n  ema: ~\n  max_norm: ~\n  optimizer: {name: adamw, lr: 0.01, betas: [0.9, 0.999], weight_decay: 0.0005, no_bias_decay: False, no_norm_weight_decay: False, overwrite: ~}\n  scheduler: {name: cosine_no_sgdr, warmup_epochs: 1, warmup_bias_lr: 0.001, min_lr: 0.0001, end_epoch: 10}\n".to_string(),
        ),
        (
            "logging.yaml",
            format!(
                "logging:\n  project_id: ~\n  output_dir: {}\n  tensorboard: true\n  model_save_options: {{save_optimizer_state: true, save_best_only: true, best_model_criterion: metric, validation_epoch: 1, save_checkpoint_epoch: 1}}\n  metrics: {{classwise_analysis: true, metric_names: ~}}\n",
                dir.join("outputs").display()
            ),
        ),
        ("environment.yaml", "environment: {seed: 1, num_workers: 2, gpus: 0, batch_size: 4, cache_data: False}\n".to_string()),
    ];
    write_run(dir, &files)
}

#[test]
fn zoo_train_learns_a_small_segmentation_set_and_writes_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let args = tiny_segmentation_configs(dir.path());
    let o = zoo_args(&args);
    let err = common::text(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(
        err.contains("training tiny_seg (segmentation) on 48 samples, validating on 8 (data.path.valid), 3 classes"),
        "{err}"
    );
    let out = common::text(&o.stdout);
    assert!(
        out.lines().next().unwrap().split_whitespace().eq([
            "epoch",
            "lr",
            "loss",
            "miou",
            "val_loss",
            "val_miou",
            "val_pixel_acc",
            "time"
        ]),
        "{out}"
    );
    let run = dir.path().join("outputs/segmentation_tiny_seg/version_0");
    let csv = std::fs::read_to_string(run.join("results.csv")).unwrap();
    assert_eq!(
        csv.lines().next().unwrap(),
        "epoch,lr,train_loss,train_miou,valid_loss,valid_miou,valid_pixel_acc,seconds"
    );
    let rows = numbers(&csv);
    assert_eq!(rows.len(), 10, "{csv}");
    // The loss falls, mIoU and pixel accuracy rise.
    assert!(rows[9][2] < 0.6 * rows[0][2], "{csv}");
    assert!(rows[9][4] < rows[0][4], "{csv}");
    assert!(rows[9][5] > rows[0][5] && rows[9][5] > 0.7, "{csv}");
    assert!(rows[9][6] > 0.9, "{csv}");
    // save_best_only: best and last, no per-epoch files.
    for f in ["best", "last"] {
        assert!(
            run.join(format!("segmentation_tiny_seg_{f}.safetensors")).is_file(),
            "{f}"
        );
    }
    assert!(!run.join("segmentation_tiny_seg_epoch_1.safetensors").exists());
    // TensorBoard scalars at NetsPresso's global step (epoch × 12 steps).
    let events: Vec<_> = std::fs::read_dir(run.join("tensorboard"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(events.len(), 1);
    let scalars = zoo::train::tensorboard::read_scalars(&events[0]).unwrap();
    let at = |step: i64, tag: &str| {
        scalars
            .iter()
            .find(|(s, t, _)| *s == step && t == tag)
            .map(|x| x.2 as f64)
            .expect(tag)
    };
    assert!((at(120, "validation/miou") - rows[9][5]).abs() < 1e-5);
    assert!((at(12, "training/total") - rows[0][2]).abs() < 1e-5);
    assert_eq!(scalars.iter().filter(|(_, t, _)| t == "misc/learning_rate").count(), 10);
    // The plot of results.csv.
    let png = image::open(run.join("results.png")).unwrap();
    assert_eq!((png.width(), png.height()), (1000, 420));
    // Caching decoded samples changes nothing but the time.
    let env = dir.path().join("environment.yaml");
    let e = std::fs::read_to_string(&env).unwrap();
    std::fs::write(&env, e.replace("cache_data: False", "cache_data: True")).unwrap();
    let o = zoo_args(&args);
    assert!(o.status.success(), "{}", common::text(&o.stderr));
    let strip = |t: String| -> Vec<String> { t.lines().map(|l| l.rsplit_once(',').unwrap().0.to_string()).collect() };
    let cached = std::fs::read_to_string(run.with_file_name("version_1").join("results.csv")).unwrap();
    assert_eq!(strip(cached), strip(csv.clone()));
    std::fs::write(&env, e).unwrap();
    // classwise.csv: every class per validated epoch.
    let cw = std::fs::read_to_string(run.join("classwise.csv")).unwrap();
    let lines: Vec<&str> = cw.lines().collect();
    assert_eq!(lines[0], "epoch,class,name,miou,pixel_acc");
    assert_eq!(lines.len(), 1 + 10 * 3, "{cw}");
    assert!(
        lines[28].starts_with("10,0,background,") && lines[30].starts_with("10,2,blue,"),
        "{cw}"
    );
    // `zoo evaluate` of the last weights reproduces the last validation, per class too.
    let arg = |f: &str| dir.path().join(f).display().to_string();
    let last = run.join("segmentation_tiny_seg_last.safetensors").display().to_string();
    let o = evaluate(
        dir.path(),
        &[
            "--environment",
            &arg("environment.yaml"),
            "--logging",
            &arg("logging.yaml"),
            "--checkpoint",
            &last,
        ],
    );
    let out = common::text(&o.stdout);
    assert!(o.status.success(), "{}", common::text(&o.stderr));
    let after = |key: &str| number_after(&out, key);
    assert!(
        out.starts_with("tiny_seg on the valid split (8 samples, 3 classes): loss "),
        "{out}"
    );
    assert!(
        (after("loss ") - rows[9][4]).abs() < 1e-4
            && (after("mIoU ") - rows[9][5]).abs() < 1e-4
            && (after("pixel accuracy ") - rows[9][6]).abs() < 1e-4,
        "{out}\n{csv}"
    );
    let blue: Vec<&str> = lines[30].split(',').collect();
    let printed = out.lines().find(|l| l.trim_start().starts_with("2  blue")).expect(&out);
    let cells: Vec<f64> = printed.split_whitespace().skip(2).map(|v| v.parse().unwrap()).collect();
    assert!((cells[0] - blue[3].parse::<f64>().unwrap()).abs() < 1e-4, "{out}\n{cw}");
}

#[test]
fn segmentation_masks_pair_and_map_as_configured() {
    use zoo::train::data::splits;
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    for d in ["img", "lbl"] {
        std::fs::create_dir_all(root.join(d)).unwrap();
    }
    // Natural order pairs img2 with lbl2 and img10 with lbl10 (not lexical order).
    for i in [2, 10] {
        image::RgbImage::new(4, 2)
            .save(root.join(format!("img/a{i}.png")))
            .unwrap();
        let mut m = image::RgbImage::from_pixel(4, 2, image::Rgb([0, 0, 0]));
        m.put_pixel(1, 0, image::Rgb([128, 0, 0]));
        m.put_pixel(2, 0, image::Rgb([9, 9, 9]));
        m.save(root.join(format!("lbl/b{i}.png"))).unwrap();
    }
    let config = |extra: &str| {
        let y = format!(
            "data:\n  task: segmentation\n  format: local\n  path:\n    root: {}\n    train: {{image: img, label: lbl}}\n    valid: {{image: img, label: lbl}}\n{extra}",
            root.display()
        );
        zoo_spec::yaml::parse(&y).unwrap().to_json()
    };
    let s = splits(&config(
        "  label_image_mode: RGB\n  id_mapping: {\"(0, 0, 0)\": background, \"(128, 0, 0)\": aeroplane}\n",
    ))
    .unwrap();
    assert_eq!(s.classes, ["background", "aeroplane"]);
    assert_eq!(s.train.len(), 2);
    assert!(s.train[0].path.ends_with("img/a2.png") && s.train[0].mask.as_ref().unwrap().ends_with("lbl/b2.png"));
    assert!(
        s.notes[0].contains("a2.png pairs with b2.png (names differ)"),
        "{:?}",
        s.notes
    );
    let m = s
        .masks
        .as_ref()
        .unwrap()
        .load(s.train[0].mask.as_ref().unwrap())
        .unwrap();
    // Known colours become classes; unknown ones 255.
    assert_eq!(m.as_raw()[..4], [0, 1, 255, 0]);
    // A JSON file of id_mapping, relative to the root, names the classes too.
    std::fs::write(
        root.join("ids.json"),
        r#"{"(0, 0, 0)": "background", "(128, 0, 0)": "aeroplane"}"#,
    )
    .unwrap();
    let c = config("  label_image_mode: RGB\n  id_mapping: ids.json\n");
    assert_eq!(zoo::train::data::class_names(&c).unwrap(), ["background", "aeroplane"]);
    assert_eq!(splits(&c).unwrap().masks.unwrap().lookup.unwrap()[1], ([128, 0, 0], 1));
    // A pattern pairs by the captured id.
    let s = splits(&config(
        "    pattern: {image: 'a([0-9]+)\\.png', label: 'b([0-9]+)\\.png'}\n  label_image_mode: RGB\n  id_mapping: {\"(0, 0, 0)\": background}\n",
    ))
    .unwrap();
    assert!(s.train[1].path.ends_with("img/a10.png") && s.train[1].mask.as_ref().unwrap().ends_with("lbl/b10.png"));
    // Colour masks read as grey levels are refused with what to change.
    let e = splits(&config(
        "  label_image_mode: L\n  id_mapping: [background, aeroplane]\n",
    ))
    .map(|s| s.masks.unwrap().load(s.train[0].mask.as_ref().unwrap()))
    .unwrap()
    .unwrap_err();
    assert!(
        e.contains("`label_image_mode: L` reads 8-bit grey or palette masks"),
        "{e}"
    );
    // A palette PNG in L mode gives its palette indices, as PIL does.
    let pal = root.join("pal.png");
    {
        let f = std::fs::File::create(&pal).unwrap();
        let mut enc = png::Encoder::new(std::io::BufWriter::new(f), 3, 1);
        enc.set_color(png::ColorType::Indexed);
        enc.set_depth(png::BitDepth::Four);
        enc.set_palette(vec![0, 0, 0, 128, 0, 0, 0, 128, 0]);
        let mut w = enc.write_header().unwrap();
        w.write_image_data(&[0x12, 0x00]).unwrap();
    }
    let s = splits(&config("  label_image_mode: L\n  id_mapping: [a, b, c]\n")).unwrap();
    let grey = s.masks.as_ref().unwrap().load(&pal).unwrap();
    assert_eq!(grey.as_raw(), &[1, 2, 0]);
    // Unequal folders are an error (NetsPresso silently drops the extra files).
    std::fs::remove_file(&pal).unwrap();
    image::GrayImage::new(4, 2).save(root.join("lbl/b3.png")).unwrap();
    let e = splits(&config("  label_image_mode: L\n  id_mapping: [a, b]\n")).unwrap_err();
    assert!(e.contains("2 images in") && e.contains("but 3 masks in"), "{e}");
    // A mask value outside the classes names the file and the pixel.
    std::fs::remove_file(root.join("lbl/b3.png")).unwrap();
    let mut g = image::GrayImage::new(4, 2);
    g.put_pixel(3, 1, image::Luma([7]));
    g.save(root.join("lbl/b2.png")).unwrap();
    let s = splits(&config("  label_image_mode: L\n  id_mapping: [a, b]\n")).unwrap();
    let aug = zoo::train::augment::Augment::from_config(&serde_json::json!({}), "train").unwrap();
    let e = zoo::train::data::load_sample(
        &s.train[0],
        &aug,
        s.masks.as_ref(),
        None,
        &mut zoo::train::rng::Rng::new(1),
    )
    .unwrap_err();
    assert!(
        e.contains("b2.png: pixel (3, 1) has the value 7, which is not a class; `data.id_mapping` has 2 classes"),
        "{e}"
    );
}

#[test]
fn several_devices_train_with_a_batch_each() {
    let dir = tempfile::tempdir().unwrap();
    let mut args = tiny_run_configs(dir.path(), "");
    args.extend(["--gpus".to_string(), "1,0".to_string()]);
    let o = zoo_args(&args);
    let err = common::text(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(
        err.contains(
            "data-parallel on 2 devices (0, 1): a batch of 8 per device and step; the CPU backend has one device"
        ),
        "{err}"
    );
    let csv = std::fs::read_to_string(
        dir.path()
            .join("outputs/classification_tiny_resnet/version_0/results.csv"),
    )
    .unwrap();
    let rows = numbers(&csv);
    assert_eq!(rows.len(), 6, "{csv}");
    // 64 samples, 2 devices × 8: four steps per epoch, and still learning.
    assert!(rows[5][2] < 0.8 * rows[0][2], "{csv}");
    assert!(rows[5][5] >= 0.75, "{csv}");
    let bad = args.iter().position(|a| a == "1,0").unwrap();
    args[bad] = "0,x".into();
    let o = zoo_args(&args);
    assert_eq!(o.status.code(), Some(2));
    assert!(common::text(&o.stderr).contains("device ids are numbers like `0,1`, found `0,x`"));
}

#[test]
fn pidnet_boundaries_are_netspressos_edges() {
    let text = std::fs::read_to_string(common::root("tests/fixtures/training/pidnet_edges.json")).unwrap();
    let cases: Vec<serde_json::Value> = serde_json::from_str(&text).unwrap();
    assert_eq!(cases.len(), 3);
    for (k, c) in cases.iter().enumerate() {
        let rows = c["label"].as_array().unwrap();
        let (h, w) = (rows.len(), rows[0].as_array().unwrap().len());
        let mask: Vec<u8> = rows
            .iter()
            .flat_map(|r| r.as_array().unwrap().iter().map(|v| v.as_u64().unwrap() as u8))
            .collect();
        let got = zoo::train::loss::boundaries(&mask, h, w);
        let want: Vec<f32> = c["edge"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|r| {
                r.as_str()
                    .unwrap()
                    .chars()
                    .map(|ch| if ch == '1' { 1.0 } else { 0.0 })
                    .collect::<Vec<_>>()
            })
            .collect();
        let differ = got.iter().zip(&want).filter(|(a, b)| a != b).count();
        let show = |v: &[f32]| -> String {
            v.chunks(w)
                .map(|r| r.iter().map(|x| if *x > 0.5 { '#' } else { '.' }).collect::<String>() + "\n")
                .collect()
        };
        assert_eq!(
            differ,
            0,
            "case {k}: {differ} pixels differ\nzoo:\n{}\nNetsPresso:\n{}",
            show(&got),
            show(&want)
        );
    }
}

#[test]
fn a_tiny_pidnet_trains_with_its_three_losses() {
    let dir = tempfile::tempdir().unwrap();
    let args = tiny_segmentation_configs(dir.path());
    let model = "model:\n  task: segmentation\n  name: pidnet_tiny\n  checkpoint: {use_pretrained: false, load_head: false, path: ~, optimizer_path: ~}\n  freeze_backbone: false\n  architecture:\n    full: {name: pidnet, m: 1, n: 1, channels: 8, ppm_channels: 8, head_channels: 8}\n    backbone: ~\n    head: ~\n  postprocessor: ~\n  losses:\n    - {criterion: pidnet_loss, weight: ~, ignore_index: 255}\n";
    std::fs::write(dir.path().join("model.yaml"), model).unwrap();
    let aug = dir.path().join("augmentation.yaml");
    let a = std::fs::read_to_string(&aug).unwrap();
    std::fs::write(
        &aug,
        a.replace("size: 32,", "size: 64,")
            .replace("size: [32, 32]", "size: [64, 64]"),
    )
    .unwrap();
    let training = dir.path().join("training.yaml");
    let t = std::fs::read_to_string(&training).unwrap();
    std::fs::write(
        &training,
        t.replace("epochs: 10", "epochs: 4")
            .replace("end_epoch: 10", "end_epoch: 4"),
    )
    .unwrap();
    let o = zoo_args(&args);
    let err = common::text(&o.stderr);
    assert!(o.status.success(), "{err}");
    let csv = std::fs::read_to_string(
        dir.path()
            .join("outputs/segmentation_pidnet_tiny/version_0/results.csv"),
    )
    .unwrap();
    let rows = numbers(&csv);
    assert_eq!(rows.len(), 4, "{csv}");
    // The summed loss (two CEs, 20 × the boundary BCE, the boundary-aware CE) falls.
    assert!(rows[3][2] < 0.8 * rows[0][2], "{csv}");
    assert!(rows[3][4] < rows[0][4], "{csv}");
    // The weights hold the auxiliary heads the loss trained, in NetsPresso's names.
    let best = tensors(
        &dir.path()
            .join("outputs/segmentation_pidnet_tiny/version_0/segmentation_pidnet_tiny_best.safetensors"),
    );
    assert!(
        best.keys().any(|k| k.starts_with("seghead_d.")),
        "{:?}",
        best.keys().collect::<Vec<_>>()
    );
}

#[test]
fn netspressos_own_training_files_run_unchanged() {
    // NetsPresso's training.yaml (30 epochs, AdamW, cosine_no_sgdr), logging.yaml (output
    // ./outputs, TensorBoard, validation and checkpoints every 10 epochs), environment.yaml and
    // augmentation/classification.yaml (256×256), as bundled, on a small generated set.
    let dir = tempfile::tempdir().unwrap();
    colour_dataset_of(&dir.path().join("data"), 2, 1);
    std::fs::write(
        dir.path().join("data.yaml"),
        format!(
            "data:\n  name: colours\n  task: classification\n  format: local\n  path:\n    root: {}\n    train: {{image: images/train, label: labels/train.csv}}\n    valid: {{image: images/valid, label: labels/valid.csv}}\n    test: {{image: ~, label: ~}}\n  id_mapping: [red, green, blue, yellow]\n",
            dir.path().join("data").display()
        ),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("model.yaml"),
        "model:\n  task: classification\n  name: tiny_resnet\n  checkpoint: {use_pretrained: false, load_head: false, path: ~, optimizer_path: ~}\n  freeze_backbone: false\n  architecture:\n    full: ~\n    backbone:\n      name: resnet\n      params: {block_type: basicblock, norm_type: batch_norm, return_stage_idx: ~, split_stem_conv: false, first_stage_shortcut_conv: false}\n      stage_params:\n        - {channels: 4, num_blocks: 1}\n        - {channels: 8, num_blocks: 1, replace_stride_with_dilation: false, replace_stride_with_pooling: false}\n    head:\n      name: fc\n      params: {num_layers: 1, intermediate_channels: ~, act_type: ~, dropout_prob: 0.0}\n  postprocessor: ~\n  losses:\n    - {criterion: cross_entropy, label_smoothing: 0.1, weight: ~}\n",
    )
    .unwrap();
    let stock = |f: &str| common::root(&format!("configs/training/{f}")).display().to_string();
    let d = |f: &str| dir.path().join(f).display().to_string();
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_zoo"))
        .current_dir(dir.path())
        .env("NO_COLOR", "1")
        .args([
            "train",
            "--data",
            &d("data.yaml"),
            "--augmentation",
            &stock("augmentation-classification.yaml"),
            "--model",
            &d("model.yaml"),
            "--training",
            &stock("training.yaml"),
            "--logging",
            &stock("logging.yaml"),
            "--environment",
            &stock("environment.yaml"),
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", common::text(&o.stderr));
    let run = dir.path().join("outputs/classification_tiny_resnet/version_0");
    let csv = std::fs::read_to_string(run.join("results.csv")).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 31, "{csv}");
    // Validation at epochs 1, 11, 21 and 30 only.
    let validated: Vec<&str> = lines[1..]
        .iter()
        .filter(|l| !l.split(',').nth(4).unwrap().is_empty())
        .map(|l| l.split(',').next().unwrap())
        .collect();
    assert_eq!(validated, ["1", "11", "21", "30"]);
    // NetsPresso's stock schedule: 2e-5 rising to 6e-5 at epoch 5, 1e-5 after epoch 25.
    assert!(
        lines[1].starts_with("1,2.00000000e-5,") && lines[5].starts_with("5,6.00000000e-5,"),
        "{csv}"
    );
    assert!(lines[30].starts_with("30,1.00000000e-5,"), "{csv}");
    for f in ["epoch_1", "epoch_11", "epoch_21", "epoch_30", "best", "last"] {
        assert!(
            run.join(format!("classification_tiny_resnet_{f}.safetensors"))
                .is_file(),
            "{f}"
        );
    }
    assert!(
        run.join("tensorboard").is_dir() && run.join("results.png").is_file() && run.join("hparams.yaml").is_file()
    );
}
