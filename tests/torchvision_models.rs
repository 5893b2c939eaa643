//! torchvision models as specs: EfficientNet B0-B7 (the embedding backbone, classifier
//! dropped) has torchvision's parameter count and `features.*` keys, and matches torchvision's
//! pooled feature on reduced-width fixtures (`tests/reference/efficientnet_fixtures.py`);
//! ResNet-101/152 presets; torchvision state dicts load through the specs' remap rules.

mod common;

use zoo::config::Architecture;

fn preset_config(name: &str) -> zoo::ModelConfig {
    let (_, p) = zoo::architectures::registry::preset(name).unwrap_or_else(|| panic!("no preset {name}"));
    let doc = serde_json::json!({ "model": p.body });
    zoo::check_text(&doc.to_string()).config.expect("the preset validates")
}

fn backbone(cfg: &zoo::ModelConfig) -> zoo::architectures::generated::AnyBackbone {
    let Architecture::Parts { backbone, .. } = &cfg.architecture else {
        panic!()
    };
    let ctx = zoo::rt::Context {
        task: cfg.task.clone(),
        ..Default::default()
    };
    zoo::architectures::generated::AnyBackbone::init(
        &backbone.name,
        &backbone.params,
        &ctx,
        &burn::tensor::Device::flex(),
    )
    .unwrap()
}

#[test]
fn b0_to_b7_have_torchvisions_embedding_parameter_counts() {
    // torchvision's `features` (the embedding model: the classifier dropped).
    let want = [
        ("efficientnet_b0", 4_007_548, 1280),
        ("efficientnet_b1", 6_513_184, 1280),
        ("efficientnet_b2", 7_700_994, 1408),
        ("efficientnet_b3", 10_696_232, 1536),
        ("efficientnet_b4", 17_548_616, 1792),
        ("efficientnet_b5", 28_340_784, 2048),
        ("efficientnet_b6", 40_735_704, 2304),
        ("efficientnet_b7", 63_786_960, 2560),
    ];
    for (name, params, dim) in want {
        let cfg = preset_config(name);
        assert_eq!(zoo::model::count_params(&backbone(&cfg)), params, "{name}");
        let Architecture::Parts { backbone: b, .. } = &cfg.architecture else {
            panic!()
        };
        let out = zoo::architectures::generated::AnyBackbone::outputs(&b.name, &b.params, &zoo::rt::Context::default())
            .unwrap();
        assert_eq!(out.feature_dim, Some(dim), "{name}: output_dim computed from the spec");
    }
}

#[test]
fn keys_and_shapes_are_torchvisions() {
    for v in ["b0", "b4", "b7"] {
        let text = std::fs::read_to_string(common::root(&format!(
            "tests/fixtures/reference/torchvision_efficientnet_{v}.txt"
        )))
        .unwrap();
        let want: Vec<(String, Vec<usize>)> = text
            .lines()
            .skip(1)
            .filter(|l| !l.contains("num_batches_tracked"))
            .map(|l| {
                let (k, s) = l.split_once(' ').unwrap();
                (k.to_string(), serde_json::from_str(s).unwrap())
            })
            .collect();
        let ours = zoo::model::state_dict(&backbone(&preset_config(&format!("efficientnet_{v}"))));
        assert_eq!(ours, want, "efficientnet_{v}");
    }
}

fn parity(case: &str, width: f64, depth: f64, eps: f64, momentum: f64) {
    let text = format!(
        "model:
  task: classification
  name: {case}
  checkpoint: {{use_pretrained: false, load_head: false, path: ~, optimizer_path: ~}}
  freeze_backbone: false
  architecture:
    full: ~
    backbone:
      name: efficientnet
      params: {{width_mult: {width}, depth_mult: {depth}, norm_eps: {eps}, norm_momentum: {momentum}, return_stage_idx: ~}}
      stage_params:
        - {{expand_ratio: 1, kernel_size: 3, stride: 1, out_channels: 16, num_blocks: 1}}
        - {{expand_ratio: 6, kernel_size: 3, stride: 2, out_channels: 24, num_blocks: 2}}
        - {{expand_ratio: 6, kernel_size: 5, stride: 2, out_channels: 40, num_blocks: 2}}
        - {{expand_ratio: 6, kernel_size: 3, stride: 2, out_channels: 80, num_blocks: 3}}
        - {{expand_ratio: 6, kernel_size: 5, stride: 1, out_channels: 112, num_blocks: 3}}
        - {{expand_ratio: 6, kernel_size: 5, stride: 2, out_channels: 192, num_blocks: 4}}
        - {{expand_ratio: 6, kernel_size: 3, stride: 1, out_channels: 320, num_blocks: 1}}
    head:
      name: fc
      params: {{num_layers: 1, intermediate_channels: ~, act_type: ~, dropout_prob: 0.2}}
  postprocessor: ~
  losses:
    - {{criterion: cross_entropy, label_smoothing: 0.1, weight: ~}}
"
    );
    let v = zoo::check_text(&text);
    let cfg = v.config.unwrap_or_else(|| panic!("{:?}", v.diagnostics));
    let device = common::device();
    let mut model = zoo::build(&cfg, 10, &device).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let weights = common::synthetic_weights(&model, &dir.path().join("none"), dir.path());
    let opts = zoo::io::weights::LoadOptions {
        load_head: true,
        remap: vec![],
    };
    zoo::io::weights::load(&mut model, &weights, &opts).unwrap();
    let io = common::root(&format!("tests/fixtures/parity/{case}.io.safetensors"));
    let x = zoo::io::tensor_files::read_safetensors(&io, "input")
        .unwrap()
        .to_tensor::<4>(&device)
        .unwrap();
    let want = zoo::io::tensor_files::read_safetensors(&io, "embedding").unwrap();
    let zoo::TaskModel::Parts(m) = &model else { panic!() };
    let got = zoo::rt::RawTensor::from_tensor(m.backbone.forward(x).last_feature.unwrap()).unwrap();
    assert_eq!(got.shape, want.shape);
    let err = common::max_relative_difference(&got.values, &want.values);
    assert!(err <= 1e-4, "{case}: max relative difference {err:e}");
}

#[test]
fn parity_with_torchvision_b0_norms() {
    parity("efficientnet", 0.25, 0.5, 1e-5, 0.1);
}

#[test]
fn parity_with_torchvision_b5_norms() {
    parity("efficientnet_b5_norm", 0.3, 0.6, 1e-3, 0.01);
}

/// A zero-filled state dict with the keys and shapes of a reference facts file.
fn facts_file(facts: &str, dir: &std::path::Path) -> std::path::PathBuf {
    common::state_dict_from_facts(facts, dir)
}

#[test]
fn torchvision_resnet101_152_and_efficientnet_load_through_the_spec_remap_rules() {
    let dir = tempfile::tempdir().unwrap();
    let device = burn::tensor::Device::flex();
    // (facts, preset, backbone spec, parameters of the whole torchvision model, its head's)
    for (facts, preset, spec, params, with_head) in [
        ("torchvision_resnet101.txt", "resnet101", "resnet", 44_549_160, true),
        ("torchvision_resnet152.txt", "resnet152", "resnet", 60_192_808, true),
        (
            "torchvision_efficientnet_b0.txt",
            "efficientnet_b0",
            "efficientnet",
            5_288_548,
            false,
        ),
    ] {
        let cfg = preset_config(preset);
        let mut model = zoo::build(&cfg, 1000, &device).unwrap();
        assert_eq!(zoo::model::count_params(&model), params, "{preset}");
        let rules = zoo::architectures::registry::find("backbone", spec)
            .unwrap()
            .remap
            .iter()
            .find(|(s, _)| s == "torchvision")
            .unwrap()
            .1
            .clone();
        let file = facts_file(facts, dir.path());
        let report = zoo::io::weights::load(
            &mut model,
            &file,
            &zoo::io::weights::LoadOptions {
                load_head: with_head,
                remap: rules,
            },
        )
        .unwrap_or_else(|e| panic!("{facts}: {e}"));
        assert!(
            report.missing.is_empty() && report.unexpected.is_empty(),
            "{facts}: {report}"
        );
    }
}

#[test]
fn a_torchvision_checkpoint_loads_without_naming_its_source() {
    // torchvision's resnet101 names (`layer1.0.conv1.weight`, `fc.*`) are recognised by the
    // resnet spec's `torchvision` rules.
    let dir = tempfile::tempdir().unwrap();
    let file = facts_file("torchvision_resnet101.txt", dir.path());
    let o = common::zoo(&["new", "resnet101", "--task", "classification"]);
    let cfg = dir.path().join("r101.yaml");
    std::fs::write(&cfg, &o.stdout).unwrap();
    let out = dir.path().join("out.npy");
    let o = common::zoo(&[
        "run",
        cfg.to_str().unwrap(),
        "--checkpoint",
        file.to_str().unwrap(),
        "--num-classes",
        "1000",
        "--input",
        common::root("tests/fixtures/images/sample.png").to_str().unwrap(),
        "--output",
        out.to_str().unwrap(),
    ]);
    let err = common::text(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(
        err.contains("has torchvision names; reading them with `resnet`'s remap rules"),
        "{err}"
    );
    assert!(err.contains("missing 0, unexpected 0"), "{err}");
}
