//! The commands on `--device wgpu` against the same commands on flex: `zoo run`, `zoo embed`,
//! `zoo bench`, `zoo train`, and one training step (forward, loss, backward, SGD) of a model.
//! Built only with `--features wgpu`; `.ci/run` runs it on lavapipe (a Vulkan device on the CPU)
//! beside the parity fixtures and the conformance tests (README "GPU").
#![cfg(feature = "wgpu")]

mod common;

use common::{root, text, zoo};
use std::path::Path;

fn f(p: &str) -> String {
    root(p).display().to_string()
}

/// `zoo <args> --device <device> --output <dir>/<device>.npy`: the tensor it wrote.
fn output_on(device: &str, args: &[&str], dir: &Path) -> zoo::rt::RawTensor {
    let out = dir.join(format!("{device}.npy"));
    let mut all = args.to_vec();
    all.extend(["--device", device, "--output", out.to_str().unwrap()]);
    let o = zoo(&all);
    assert_eq!(o.status.code(), Some(0), "{device}: {}", text(&o.stderr));
    zoo::io::tensor_files::read_npy(&out).unwrap()
}

fn same_on_wgpu_and_flex(args: &[&str], shape: &[usize]) {
    same_on(args, "wgpu", shape)
}

/// The output of `args` on `device` is flex's (≤1e-4) and of `shape`.
fn same_on(args: &[&str], device: &str, shape: &[usize]) {
    let dir = tempfile::tempdir().unwrap();
    let flex = output_on("flex", args, dir.path());
    let wgpu = output_on(device, args, dir.path());
    assert_eq!(flex.shape, shape, "{args:?}");
    assert_eq!(wgpu.shape, shape, "{args:?}");
    let err = common::max_relative_difference(&wgpu.values, &flex.values);
    assert!(err <= 1e-4, "{args:?}: wgpu differs from flex by {err:e}");
}

#[test]
fn zoo_run_classifies_and_segments_on_wgpu_as_on_flex() {
    for (case, shape) in [("resnet_basic", vec![2, 10]), ("resnet_seg", vec![2, 10, 8, 8])] {
        let config = f(&format!("tests/fixtures/parity/{case}.yaml"));
        let weights = f(&format!("tests/fixtures/parity/{case}.safetensors"));
        let input = f(&format!("tests/fixtures/parity/{case}.io.safetensors"));
        same_on_wgpu_and_flex(&["run", &config, "--checkpoint", &weights, "--input", &input], &shape);
    }
}

#[test]
fn wgpu_adapters_are_chosen_by_type_and_number() {
    let config = f("tests/fixtures/parity/resnet_basic.yaml");
    let o = zoo(&["build", &config, "--device", "wgpu:virtual:7"]);
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("--device wgpu:virtual:7: no such adapter (")
            && err.contains("`wgpu:N` counts discrete GPUs only"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
    // lavapipe is a CPU-type adapter: where it is installed, `wgpu:cpu` computes what flex does.
    if Path::new("/usr/share/vulkan/icd.d/lvp_icd.x86_64.json").exists() {
        let weights = f("tests/fixtures/parity/resnet_basic.safetensors");
        let input = f("tests/fixtures/parity/resnet_basic.io.safetensors");
        let args = ["run", &config, "--checkpoint", &weights, "--input", &input];
        same_on(&args, "wgpu:cpu", &[2, 10]);
    }
}

#[test]
fn zoo_embed_on_wgpu_as_on_flex() {
    let dir = tempfile::tempdir().unwrap();
    let o = zoo(&["new", "efficientnet_b0", "--task", "embedding"]);
    let config = dir.path().join("b0.yaml");
    std::fs::write(&config, o.stdout).unwrap();
    let config = config.to_str().unwrap();
    let weights = dir.path().join("b0.safetensors");
    let o = zoo(&["save", config, "--output", weights.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    same_on_wgpu_and_flex(
        &[
            "embed",
            config,
            "--checkpoint",
            weights.to_str().unwrap(),
            "--input",
            &f("tests/fixtures/images/sample.jpg"),
            "--normalize",
        ],
        &[1, 1280],
    );
}

#[test]
fn zoo_bench_measures_on_wgpu() {
    let o = zoo(&[
        "bench",
        &f("tests/fixtures/parity/resnet_basic.yaml"),
        "--device",
        "wgpu",
        "--batch",
        "1",
        "--iterations",
        "3",
        "--format",
        "json",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let m = &v["results"][0];
    assert_eq!(m["batch"], 1);
    assert!(m["images_per_second"].as_f64().unwrap() > 0.0, "{v}");
}

/// A two-stage ResNet for 4 classes, built on `device`.
fn tiny_resnet(device: &burn::tensor::Device) -> (zoo::ModelConfig, zoo::TaskModel) {
    let v = zoo::check_text(common::training_run::TINY_RESNET);
    let cfg = v.config.unwrap_or_else(|| panic!("{:?}", v.diagnostics));
    let model = zoo::build(&cfg, 4, device).unwrap();
    (cfg, model)
}

/// Every float tensor of a model's state dict (parameters and BatchNorm statistics) as (name,
/// values), by name.
fn parameters(model: &zoo::TaskModel, dir: &Path, tag: &str) -> Vec<(String, Vec<f32>)> {
    let file = dir.join(format!("{tag}.safetensors"));
    zoo::io::weights::save(model, &file).unwrap();
    let bytes = std::fs::read(&file).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let mut names: Vec<String> = st
        .names()
        .into_iter()
        .filter(|n| st.tensor(n).unwrap().dtype() == safetensors::Dtype::F32)
        .map(String::from)
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|n| {
            let v = zoo::io::tensor_files::read_safetensors(&file, &n).unwrap().values;
            (n, v)
        })
        .collect()
}

#[test]
fn a_training_step_on_wgpu_is_the_step_on_flex() {
    use burn::tensor::{Device, Tensor};
    let dir = tempfile::tempdir().unwrap();
    let flex = Device::flex().autodiff();
    let wgpu = common::device_of("wgpu").autodiff();
    // One set of weights for both devices, loaded as `zoo train` loads a checkpoint. SGD, whose
    // step is linear in the gradient: Adam's first step is ±lr wherever |g| is far above its
    // eps, so it turns float noise in tiny gradients into full steps (6.9e-4 of the first
    // conv's scale on lavapipe) and compares nothing about the kernels.
    let (cfg, model) = tiny_resnet(&Device::flex());
    let start = dir.path().join("start.safetensors");
    zoo::io::weights::save(&model, &start).unwrap();
    let settings = zoo::train::config::TrainSettings::from_config(&serde_json::json!({
        "training": {"epochs": 1, "optimizer": {"name": "sgd", "lr": 0.1, "momentum": 0.9, "weight_decay": 0.001, "nesterov": true},
                     "scheduler": {"name": "step", "iters_per_phase": 1, "gamma": 1.0, "end_epoch": 1}}
    }))
    .unwrap();
    let x: Vec<f32> = (0..4 * 3 * 32 * 32)
        .map(|i| ((i * 37 % 101) as f32 - 50.0) / 25.0)
        .collect();
    let labels = zoo::train::loss::Targets::Labels(vec![0, 1, 2, 3]);
    let step = |device: &Device| {
        let (_, mut model) = tiny_resnet(device);
        let all = zoo::io::weights::LoadOptions {
            load_head: true,
            remap: vec![],
        };
        let report = zoo::io::weights::load(&mut model, &start, &all).unwrap();
        assert_eq!((report.missing.len(), report.unexpected.len()), (0, 0));
        let input = Tensor::<1>::from_floats(x.as_slice(), device).reshape([4, 3, 32, 32]);
        let loss = zoo::train::loss::total_loss(&cfg, model.forward_train(input), &labels).unwrap();
        let value = loss.clone().into_scalar::<f32>();
        let grads = burn::optim::GradientsParams::from_grads(loss.backward(), &model);
        let mut optim = zoo::train::optim::build(&settings.optimizer).unwrap();
        (value, optim.step(settings.optimizer.lr, model, grads))
    };
    let (loss_flex, after_flex) = step(&flex);
    let (loss_wgpu, after_wgpu) = step(&wgpu);
    assert!(
        (loss_flex - loss_wgpu).abs() <= 1e-4 * loss_flex.abs(),
        "loss: flex {loss_flex}, wgpu {loss_wgpu}"
    );
    let (a, b) = (
        parameters(&after_flex, dir.path(), "flex"),
        parameters(&after_wgpu, dir.path(), "wgpu"),
    );
    let before = parameters(&model, dir.path(), "before");
    assert_eq!(a.len(), b.len());
    assert_eq!(a.len(), before.len());
    assert!(a.len() >= 10, "{} tensors", a.len());
    let mut unchanged = Vec::new();
    for (((name, fv), (_, wv)), (_, v0)) in a.iter().zip(&b).zip(&before) {
        // BatchNorm's running statistics move too (momentum 0.1 towards the batch's).
        if fv == v0 {
            unchanged.push(name.as_str());
        }
        let err = common::max_relative_difference(wv, fv);
        assert!(err <= 1e-4, "{name}: wgpu's step differs from flex's by {err:e}");
    }
    assert!(unchanged.is_empty(), "the step changed none of {unchanged:?}");
}

#[test]
fn without_a_vulkan_driver_wgpu_is_an_error_saying_what_to_install() {
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_zoo"))
        .args([
            "build",
            &f("tests/fixtures/parity/resnet_basic.yaml"),
            "--device",
            "wgpu",
        ])
        // The Vulkan loader and EGL then find no driver at all.
        .env("VK_ICD_FILENAMES", "/nonexistent/icd.json")
        .env("VK_DRIVER_FILES", "/nonexistent/icd.json")
        .env("__EGL_VENDOR_LIBRARY_FILENAMES", "/nonexistent/egl.json")
        .output()
        .unwrap();
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("--device wgpu: no GPU adapter"), "{err}");
    assert!(err.contains("`mesa-vulkan-drivers`"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn zoo_train_runs_an_epoch_on_wgpu() {
    let dir = tempfile::tempdir().unwrap();
    let mut args = common::training_run::tiny_run_configs(dir.path(), "");
    let training = dir.path().join("training.yaml");
    let one_epoch = std::fs::read_to_string(&training)
        .unwrap()
        .replace("epochs: 6", "epochs: 1");
    std::fs::write(&training, one_epoch).unwrap();
    args.extend(["--device".into(), "wgpu".into()]);
    let o = zoo(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let csv = std::fs::read_to_string(
        dir.path()
            .join("outputs/classification_tiny_resnet/version_0/results.csv"),
    )
    .unwrap();
    let rows: Vec<&str> = csv.lines().collect();
    assert_eq!(rows.len(), 2, "{csv}");
    let loss: f64 = rows[1].split(',').nth(2).unwrap().parse().unwrap();
    assert!(loss.is_finite() && loss > 0.0 && loss < 10.0, "{csv}");
}
