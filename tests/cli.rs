//! The `zoo` binary end to end: exit codes, output formats, the documented commands.

mod common;

use common::{root, text, zoo};

#[test]
fn validate_exit_codes() {
    let good = root("tests/fixtures/netspresso/resnet18-classification.yaml");
    let bad = root("tests/broken/backbone_param_typo.yaml");
    let o = zoo(&["validate", good.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert!(text(&o.stdout).contains("resnet18-classification.yaml: valid"));
    let o = zoo(&["validate", good.to_str().unwrap(), bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let o = zoo(&["validate", "/no/such/file.yaml"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("cannot read /no/such/file.yaml"));
    let o = zoo(&["validate"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn validate_human_output_is_rustc_like() {
    let bad = root("tests/broken/backbone_param_typo.yaml");
    let o = zoo(&["validate", bad.to_str().unwrap()]);
    let err = text(&o.stderr);
    let expected = format!(
        "error: unknown key `blok_type` in resnet params\n  --> {}:16:9\n   |\n16 |         blok_type: basicblock\n   |         ^^^^^^^^^ did you mean `block_type`?\n   = note: at model.architecture.backbone.params\n",
        bad.display()
    );
    assert!(err.starts_with(&expected), "got:\n{err}");
}

#[test]
fn validate_json_output() {
    let bad = root("tests/broken/many_errors_at_once.yaml");
    let o = zoo(&["validate", "--format", "json", bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let items = v.as_array().unwrap();
    assert_eq!(items.len(), 3);
    assert_eq!(items[0]["line"], 16);
    assert_eq!(items[0]["column"], 21);
    assert_eq!(items[0]["path"], "model.architecture.backbone.params.block_type");
    assert_eq!(items[0]["help"], "did you mean `basicblock`?");
    assert_eq!(
        items[2]["message"],
        "unknown key `smoothing` in the `cross_entropy` loss"
    );
}

#[test]
fn build_prints_netspresso_parameter_count() {
    let cfg = root("tests/fixtures/netspresso/resnet18-classification.yaml");
    let o = zoo(&["build", cfg.to_str().unwrap(), "--input-size", "64", "64"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let out = text(&o.stdout);
    assert!(out.contains("total parameters: 11,689,512"), "{out}");
    assert!(out.contains("output shape: [1, 1000]"), "{out}");
    assert!(
        out.contains("  stages                                         [1, 512, 2, 2]"),
        "{out}"
    );
    let o = zoo(&[
        "build",
        cfg.to_str().unwrap(),
        "--num-classes",
        "10",
        "--input-size",
        "32",
        "48",
    ]);
    assert!(text(&o.stdout).contains("output shape: [1, 10]"));
    assert!(text(&o.stdout).contains("total parameters: 11,181,642"));
}

#[test]
fn build_refuses_invalid_configs() {
    let bad = root("tests/broken/unknown_backbone.yaml");
    let o = zoo(&["build", bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o.stderr).contains("unknown backbone `resnt`"));
}

#[test]
fn list_filters() {
    let o = zoo(&["list", "--task", "detection", "--kind", "backbone"]);
    let out = text(&o.stdout);
    assert!(
        out.contains("resnet") && out.contains("mobilenetv3") && !out.contains("vit "),
        "{out}"
    );
    let o = zoo(&["list", "mobile*"]);
    let out = text(&o.stdout);
    assert!(out.contains("576/960") && !out.contains("resnet"), "{out}");
}

#[test]
fn describe_shows_params_and_presets() {
    let o = zoo(&["describe", "resnet"]);
    let out = text(&o.stdout);
    assert!(
        out.contains("block_type") && out.contains("one of basicblock|bottleneck"),
        "{out}"
    );
    assert!(
        out.contains("resnet50                     feature_dim 2048, features [2048], strides [32]"),
        "{out}"
    );
    let o = zoo(&["describe", "resnett"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("did you mean `resnet`?"));
}

#[test]
fn new_prints_a_config_that_validates() {
    let o = zoo(&["new", "mobilenet_v3_large"]);
    assert_eq!(o.status.code(), Some(0));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.yaml");
    std::fs::write(&path, &o.stdout).unwrap();
    let v = zoo(&["validate", path.to_str().unwrap()]);
    assert_eq!(v.status.code(), Some(0), "{}", text(&v.stderr));
    let o = zoo(&["new", "resnet19"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("did you mean `resnet18`?"));
}

#[test]
fn schema_out_writes_both_schemas() {
    let dir = tempfile::tempdir().unwrap();
    let o = zoo(&["schema", "--out", dir.path().to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0));
    let committed = std::fs::read_to_string(root("schemas/model.schema.json")).unwrap();
    assert_eq!(
        std::fs::read_to_string(dir.path().join("model.schema.json")).unwrap(),
        committed
    );
    assert!(dir.path().join("spec.schema.json").exists());
}

/// Whether this build compiles in a backend's cargo feature.
fn compiled(feature: &str) -> bool {
    match feature {
        "wgpu" => cfg!(feature = "wgpu"),
        "cuda" => cfg!(feature = "cuda"),
        "tch" => cfg!(feature = "tch"),
        "ndarray" => cfg!(feature = "ndarray"),
        _ => unreachable!(),
    }
}

#[test]
fn every_computing_command_says_which_feature_a_missing_backend_needs() {
    let dir = tempfile::tempdir().unwrap();
    let train = common::training_run::tiny_run_configs(dir.path(), "");
    let o = zoo(&["new", "efficientnet_b0", "--task", "embedding"]);
    let embedding = dir.path().join("b0.yaml");
    std::fs::write(&embedding, o.stdout).unwrap();
    let cfg = root("tests/fixtures/parity/resnet_basic.yaml").display().to_string();
    let weights = root("tests/fixtures/parity/resnet_basic.safetensors")
        .display()
        .to_string();
    let image = root("tests/fixtures/images/sample.png").display().to_string();
    let file = |f: &str| dir.path().join(f).display().to_string();
    let commands: Vec<Vec<String>> = vec![
        vec!["build".into(), cfg.clone()],
        vec![
            "run".into(),
            cfg.clone(),
            "--checkpoint".into(),
            weights,
            "--input".into(),
            image.clone(),
        ],
        vec!["bench".into(), cfg],
        vec![
            "embed".into(),
            embedding.display().to_string(),
            "--input".into(),
            image,
            "--output".into(),
            file("e.npy"),
        ],
        vec![
            "evaluate".into(),
            "--data".into(),
            file("data.yaml"),
            "--augmentation".into(),
            file("augmentation.yaml"),
            "--model".into(),
            file("model.yaml"),
        ],
        train,
    ];
    let mut checked = 0;
    for (device, backend, feature) in [
        ("wgpu", "wgpu", "wgpu"),
        ("wgpu:integrated", "wgpu", "wgpu"),
        ("cuda", "cuda", "cuda"),
        ("cuda:1", "cuda", "cuda"),
        ("tch-cuda:0", "tch-cuda", "tch"),
        ("ndarray", "ndarray", "ndarray"),
    ] {
        if compiled(feature) {
            continue;
        }
        for command in &commands {
            let mut args: Vec<&str> = command.iter().map(String::as_str).collect();
            args.extend(["--device", device]);
            let o = zoo(&args);
            let err = text(&o.stderr);
            assert_eq!(o.status.code(), Some(1), "{args:?}: {err}");
            assert!(
                err.contains(&format!(
                    "the {backend} backend is not compiled into this binary; rebuild with `--features {feature}`"
                )),
                "{args:?}: {err}"
            );
            assert!(!err.contains("panicked"), "{err}");
            checked += 1;
        }
    }
    assert!(checked >= 18, "{checked}");
}

#[test]
fn a_device_that_cannot_exist_is_a_usage_error_naming_the_choices() {
    let cfg = root("tests/fixtures/parity/resnet_basic.yaml").display().to_string();
    for (device, says) in [
        (
            "gpu",
            "unknown backend `gpu` (did you mean `wgpu`?); one of flex, ndarray, wgpu, cuda, tch, tch-cuda",
        ),
        (
            "flex:1",
            "`flex:1`: flex runs on the CPU, which it uses as one device; write `flex`",
        ),
        (
            "cuda:first",
            "`cuda:first`: `first` is no device number (like `cuda:1`)",
        ),
        ("cuda:-1", "`cuda:-1`: `-1` is no device number (like `cuda:1`)"),
        (
            "wgpu:cpu:2",
            "`wgpu:cpu:2`: wgpu addresses one CPU adapter; write `wgpu:cpu`",
        ),
        (
            "wgpu:fast",
            "`wgpu:fast`: after `wgpu:` comes a GPU number or integrated, virtual or cpu",
        ),
    ] {
        for command in ["build", "bench"] {
            let o = zoo(&[command, &cfg, "--device", device]);
            let err = text(&o.stderr);
            assert_eq!(o.status.code(), Some(2), "{device}: {err}");
            assert!(
                err.contains(&format!("invalid value '{device}' for '--device <DEVICE>': {says}")),
                "{device}: {err}"
            );
        }
    }
}

#[test]
fn train_takes_the_device_number_once() {
    let dir = tempfile::tempdir().unwrap();
    let mut args: Vec<String> = common::training_run::tiny_run_configs(dir.path(), "");
    args.extend(["--device".into(), "cuda:1".into(), "--gpus".into(), "0".into()]);
    let o = zoo(&args.iter().map(String::as_str).collect::<Vec<_>>());
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("--device cuda:1 names the device already; leave out --gpus, or give --gpus with `--device cuda`"),
        "{err}"
    );
}

#[test]
fn every_bundled_config_is_netspresso_s_own_and_valid() {
    // Model configs; `configs/training/` holds NetsPresso's training, logging and environment files.
    let mut files: Vec<String> = std::fs::read_dir(root("configs"))
        .unwrap()
        .map(|f| f.unwrap().path())
        .filter(|p| p.is_file())
        .map(|p| p.display().to_string())
        .collect();
    files.sort();
    assert_eq!(files.len(), 48);
    for f in &files {
        // The bundled file is NetsPresso's config plus the schema modeline.
        let name = std::path::Path::new(f).file_name().unwrap();
        let original = std::fs::read_to_string(root("tests/fixtures/netspresso").join(name)).unwrap();
        let bundled = std::fs::read_to_string(f).unwrap();
        assert_eq!(
            bundled,
            format!("# yaml-language-server: $schema=../schemas/model.schema.json\n{original}"),
            "{f}"
        );
    }
    let mut args = vec!["validate"];
    args.extend(files.iter().map(String::as_str));
    let o = zoo(&args);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert_eq!(text(&o.stdout).matches(": valid").count(), 48);
}

#[test]
fn an_input_too_small_for_the_model_is_an_error_not_a_crash() {
    // GELAN's stride-32 stages leave no room for their 3x3 kernels on a 16x16 image.
    let config = root("configs/gelan_s-classification.yaml");
    let o = zoo(&["build", config.to_str().unwrap(), "--input-size", "16", "16"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    let err = text(&o.stderr);
    assert!(
        err.contains("error: gelan_s cannot run on a 1x3x16x16 input (") && err.contains("try a larger --input-size"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
    let o = zoo(&["build", config.to_str().unwrap(), "--input-size", "64", "64"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
}

#[test]
fn necks_are_listed_and_described_with_their_computed_pyramids() {
    let o = zoo(&["list", "--kind", "neck"]);
    assert_eq!(o.status.code(), Some(0));
    let out = text(&o.stdout);
    for n in ["fpn", "lightfpn", "rtdetr_hybrid_encoder", "yolopafpn", "yolov9fpn"] {
        assert!(out.lines().any(|l| l.starts_with(&format!("{n} "))), "{n}: {out}");
    }
    let lightfpn = out.lines().find(|l| l.starts_with("lightfpn ")).unwrap();
    assert!(lightfpn.contains(" 72,72 "), "{lightfpn}");
    let o = zoo(&["describe", "yolov9fpn"]);
    let out = text(&o.stdout);
    assert!(
        out.contains("in presets (input -> output channels @ strides):"),
        "{out}"
    );
    // GELAN-C returns stages 1..3 (512 wide each); the FPN makes them 256, 512, 512.
    assert!(
        out.contains("yolov9_c                     [512, 512, 512] @ [8, 16, 32] -> [256, 512, 512] @ [8, 16, 32]"),
        "{out}"
    );
}

#[test]
fn bench_times_batches_and_profiles_modules() {
    let o = zoo(&[
        "bench",
        root("configs/resnet18-classification.yaml").to_str().unwrap(),
        "--batch",
        "1",
        "--batch",
        "2",
        "--input-size",
        "64",
        "64",
        "--iterations",
        "3",
        "--warmup",
        "1",
        "--threads",
        "1",
        "--format",
        "json",
        "--profile",
        "--depth",
        "3",
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["model"], "resnet18");
    assert_eq!(v["input_size"], serde_json::json!([64, 64]));
    let results = v["results"].as_array().unwrap();
    assert_eq!(
        results.iter().map(|r| r["batch"].as_u64().unwrap()).collect::<Vec<_>>(),
        [1, 2]
    );
    for r in results {
        let (p50, p90, ips) = (
            r["latency_ms_p50"].as_f64().unwrap(),
            r["latency_ms_p90"].as_f64().unwrap(),
            r["images_per_second"].as_f64().unwrap(),
        );
        assert!(p50 > 0.0 && p90 >= p50 && ips > 0.0, "{r}");
        assert!(r["peak_rss_mb"].as_f64().unwrap() > 10.0, "{r}");
    }
    // The profile: backbone and head at the top, their stages below, shares of the pass.
    let profile = v["profile"].as_array().unwrap();
    let top: Vec<&str> = profile
        .iter()
        .filter(|r| r["depth"] == 0)
        .map(|r| r["module"].as_str().unwrap())
        .collect();
    assert_eq!(top, ["backbone", "head"]);
    let share: f64 = profile
        .iter()
        .filter(|r| r["depth"] == 0)
        .map(|r| r["share"].as_f64().unwrap())
        .sum();
    assert!(share > 0.5 && share <= 1.0 + 1e-9, "{share}");
    assert!(
        profile
            .iter()
            .any(|r| r["module"] == "backbone.stages.0" && r["calls"] == 1),
        "{profile:?}"
    );
    let head = profile.iter().find(|r| r["module"] == "head").unwrap();
    assert_eq!(head["output_shape"], serde_json::json!([1, 1000]));
    // Human output is a table; bad arguments are usage errors.
    let o = zoo(&[
        "bench",
        root("configs/resnet18-classification.yaml").to_str().unwrap(),
        "--batch",
        "1",
        "--input-size",
        "32",
        "32",
        "--iterations",
        "1",
        "--warmup",
        "0",
    ]);
    let out = text(&o.stdout);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(
        out.lines()
            .nth(1)
            .unwrap()
            .split_whitespace()
            .eq(["batch", "images/s", "p50", "ms", "p90", "ms", "peak", "MB"]),
        "{out}"
    );
    let o = zoo(&[
        "bench",
        root("configs/resnet18-classification.yaml").to_str().unwrap(),
        "--batch",
        "0",
    ]);
    assert_eq!(o.status.code(), Some(2));
}
