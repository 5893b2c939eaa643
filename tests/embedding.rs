//! The `embedding` task: Finetuner's CNN embedding models as presets (torchvision's backbones,
//! the classifier removed, pooled), the embedding head's pooling, projection and
//! normalisation, and `zoo run` on an embedding config.

mod common;

use common::{root, text, zoo};

fn preset(name: &str, task: &str) -> zoo::ModelConfig {
    let (_, p) = zoo::architectures::registry::preset_for_task(name, Some(task)).unwrap();
    let doc = serde_json::json!({ "model": p.body });
    zoo::check_text(&doc.to_string()).config.expect("the preset validates")
}

#[test]
fn finetuners_cnn_embedding_models_have_the_measured_counts_and_dims() {
    // embeddings.md: parameters of the embedding model, and output_dim (computed, not typed in).
    for (name, params, dim) in [
        ("resnet50", 23_508_032, 2048),
        ("resnet152", 58_143_808, 2048),
        ("efficientnet_b0", 4_007_548, 1280),
        ("efficientnet_b4", 17_548_616, 1792),
    ] {
        let cfg = preset(name, "embedding");
        let model = zoo::build(&cfg, 1, &burn::tensor::Device::flex()).unwrap();
        assert_eq!(zoo::model::count_params(&model), params, "{name}");
        let pred = model.forward(burn::tensor::Tensor::zeros(
            [1, 3, 64, 64],
            &burn::tensor::Device::flex(),
        ));
        assert_eq!(pred.dims(), vec![1, dim], "{name}");
    }
    // The same name still names NetsPresso's classification preset.
    assert_eq!(preset("resnet50", "classification").task, "classification");
}

/// A reduced EfficientNet with an embedding head of the given params.
fn model(head: &str) -> (zoo::TaskModel, zoo::TaskModel) {
    let body = |head: &str| {
        format!(
            "model:
  task: embedding
  name: tiny
  checkpoint: {{use_pretrained: false, load_head: false, path: ~, optimizer_path: ~}}
  architecture:
    backbone:
      name: efficientnet
      params: {{width_mult: 0.25, depth_mult: 0.5}}
      stage_params:
        - {{expand_ratio: 1, kernel_size: 3, stride: 1, out_channels: 16, num_blocks: 1}}
        - {{expand_ratio: 6, kernel_size: 3, stride: 2, out_channels: 24, num_blocks: 2}}
    head:
      name: embedding
      params: {head}
  losses: []
"
        )
    };
    let device = burn::tensor::Device::flex();
    let build = |h: &str| {
        let v = zoo::check_text(&body(h));
        let cfg = v.config.unwrap_or_else(|| panic!("{:?}", v.diagnostics));
        zoo::build(&cfg, 1, &device).unwrap()
    };
    (build(head), build("{pooling: avg}"))
}

fn run(m: &zoo::TaskModel, x: burn::tensor::Tensor<4>) -> Vec<f32> {
    m.forward(x).tensors("pred").remove(0).1.values
}

#[test]
fn pooling_and_normalisation_follow_their_formulas() {
    let device = burn::tensor::Device::flex();
    let x = burn::tensor::Tensor::<4>::random([2, 3, 32, 32], burn::tensor::Distribution::Normal(0.0, 1.0), &device);
    let (max, _) = model("{pooling: max}");
    let (gem, _) = model("{pooling: gem, gem_p: 3.0}");
    let (norm, avg) = model("{pooling: avg, normalize: true}");
    // The same (default-initialised) backbone weights are not shared between builds, so compare
    // each head's output with its own backbone's last map.
    for (m, kind) in [(&max, "max"), (&gem, "gem"), (&norm, "norm"), (&avg, "avg")] {
        let zoo::TaskModel::Parts(p) = m else { panic!() };
        let map = p.backbone.forward(x.clone()).last_map.unwrap();
        let [b, c, h, w] = map.dims();
        let v = zoo::rt::RawTensor::from_tensor(map).unwrap().values;
        let got = run(m, x.clone());
        assert_eq!(got.len(), b * c);
        for i in 0..b {
            let mut want: Vec<f32> = (0..c)
                .map(|k| {
                    let plane = &v[(i * c + k) * h * w..(i * c + k + 1) * h * w];
                    match kind {
                        "max" => plane.iter().copied().fold(f32::NEG_INFINITY, f32::max),
                        "gem" => {
                            (plane.iter().map(|p| p.max(1e-6).powf(3.0)).sum::<f32>() / (h * w) as f32).powf(1.0 / 3.0)
                        }
                        _ => plane.iter().sum::<f32>() / (h * w) as f32,
                    }
                })
                .collect();
            if kind == "norm" {
                let n = want.iter().map(|x| x * x).sum::<f32>().sqrt();
                want.iter_mut().for_each(|x| *x /= n);
            }
            for k in 0..c {
                let g = got[i * c + k];
                assert!(
                    (g - want[k]).abs() <= 1e-4 * want[k].abs().max(1e-2),
                    "{kind} [{i}, {k}]: {g} vs {}",
                    want[k]
                );
            }
        }
    }
}

#[test]
fn a_projection_head_has_finetuners_layout() {
    let (m, _) = model("{output_dim: 16, num_layers: 2}");
    let keys: Vec<String> = zoo::model::state_dict(&m)
        .into_iter()
        .filter(|(k, _)| k.starts_with("head."))
        .map(|(k, s)| format!("{k} {s:?}"))
        .collect();
    // [Linear(in, in), BatchNorm1d(in), ReLU] + Linear(in, out) + BatchNorm1d(out), no biases.
    assert_eq!(
        keys,
        [
            "head.projection.0.weight [32, 32]",
            "head.projection.1.weight [32]",
            "head.projection.1.bias [32]",
            "head.projection.1.running_mean [32]",
            "head.projection.1.running_var [32]",
            "head.projection.3.weight [16, 32]",
            "head.projection.4.weight [16]",
            "head.projection.4.bias [16]",
            "head.projection.4.running_mean [16]",
            "head.projection.4.running_var [16]",
        ]
    );
    let x = burn::tensor::Tensor::<4>::zeros([3, 3, 32, 32], &burn::tensor::Device::flex());
    assert_eq!(m.forward(x).dims(), vec![3, 16]);
}

#[test]
fn zoo_new_and_run_an_embedding_config() {
    let o = zoo(&["new", "efficientnet_b0", "--task", "embedding"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("b0.yaml");
    std::fs::write(&config, o.stdout).unwrap();
    let json = dir.path().join("e.json");
    let o = zoo(&[
        "run",
        config.to_str().unwrap(),
        "--input",
        root("tests/fixtures/images/sample.jpg").to_str().unwrap(),
        "--json",
        json.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert!(
        text(&o.stdout).starts_with("image 0: embedding of 1280 values"),
        "{}",
        text(&o.stdout)
    );
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(v[0]["embedding"].as_array().unwrap().len(), 1280);
    let o = zoo(&["new", "resnet50", "--task", "detection"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("the preset `resnet50` has no `detection` variant"));
}

#[test]
fn zoo_embed_writes_one_embedding_per_image_or_tensor_item() {
    let dir = tempfile::tempdir().unwrap();
    let o = zoo(&["new", "efficientnet_b0", "--task", "embedding"]);
    let config = dir.path().join("b0.yaml");
    std::fs::write(&config, o.stdout).unwrap();
    // Two images and a [2, 3, 224, 224] tensor: four embeddings.
    let x = zoo::rt::RawTensor {
        shape: vec![2, 3, 224, 224],
        values: (0..2 * 3 * 224 * 224)
            .map(|i| ((i % 97) as f32 - 48.0) / 50.0)
            .collect(),
    };
    let npy = dir.path().join("x.npy");
    zoo::io::tensor_files::write_npy(&npy, &x).unwrap();
    let out = dir.path().join("e.npy");
    let o = zoo(&[
        "embed",
        config.to_str().unwrap(),
        "--input",
        root("tests/fixtures/images/sample.jpg").to_str().unwrap(),
        root("tests/fixtures/images/sample.png").to_str().unwrap(),
        npy.to_str().unwrap(),
        "--output",
        out.to_str().unwrap(),
        "--normalize",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let e = zoo::io::tensor_files::read_npy(&out).unwrap();
    assert_eq!(e.shape, vec![4, 1280]);
    for row in e.values.chunks(1280) {
        let n: f32 = row.iter().map(|v| v * v).sum::<f32>().sqrt();
        assert!((n - 1.0).abs() < 1e-4, "{n}");
    }
    // The tensor's two items differ, so their embeddings do.
    assert_ne!(&e.values[2 * 1280..3 * 1280], &e.values[3 * 1280..]);
    // A classification config is refused before any weights are fetched.
    let o = zoo(&[
        "embed",
        root("configs/resnet18-classification.yaml").to_str().unwrap(),
        "--input",
        root("tests/fixtures/images/sample.jpg").to_str().unwrap(),
        "--output",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("is a classification model; embeddings need `task: embedding`"));
}

#[test]
fn zoo_list_prints_the_embedding_models_with_computed_output_dims() {
    let o = zoo(&["list", "--task", "embedding"]);
    assert_eq!(o.status.code(), Some(0));
    let out = text(&o.stdout);
    assert!(
        out.contains("embedding models (`zoo new NAME --task embedding`):"),
        "{out}"
    );
    // Finetuner printed 1280 for efficientnet_b4; the spec computes 1792.
    for (name, dim) in [
        ("resnet50", 2048),
        ("resnet152", 2048),
        ("efficientnet_b0", 1280),
        ("efficientnet_b4", 1792),
    ] {
        let line = out
            .lines()
            .find(|l| l.starts_with(&format!("{name} ")))
            .unwrap_or_else(|| panic!("{out}"));
        assert!(
            line.contains("image-to-image") && line.contains(&format!(" {dim} ")),
            "{line}"
        );
    }
    // A preset name describes the component that holds it.
    let o = zoo(&["describe", "efficientnet_b4"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(
        text(&o.stdout).starts_with("`efficientnet_b4` is a preset of backbone `efficientnet`"),
        "{}",
        text(&o.stdout)
    );
    // `zoo describe` of the head shows each model's pooling and input kind.
    let o = zoo(&["describe", "embedding"]);
    assert_eq!(o.status.code(), Some(0));
    let out = text(&o.stdout);
    let line = out
        .lines()
        .find(|l| l.trim_start().starts_with("efficientnet_b4 "))
        .unwrap();
    assert!(
        line.ends_with("embedding of 1792 values: efficientnet, avg pooling; input images [B, 3, H, W]"),
        "{line}"
    );
}

#[test]
fn zoo_index_and_search_find_an_indexed_image_first() {
    let tmp = tempfile::tempdir().unwrap();
    let o = zoo(&["new", "efficientnet_b0", "--task", "embedding"]);
    let config = tmp.path().join("b0.yaml");
    std::fs::write(&config, o.stdout).unwrap();
    let images = tmp.path().join("images");
    common::image_set(&images);
    let index = tmp.path().join("index");
    let o = zoo(&[
        "index",
        config.to_str().unwrap(),
        images.to_str().unwrap(),
        "--output",
        index.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let err = text(&o.stderr);
    assert!(err.contains("warning: skipped: cannot read image"), "{err}");
    assert!(
        err.contains("indexed 4 images (1 skipped) as 1280-value embeddings"),
        "{err}"
    );
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(index.join("index.json")).unwrap()).unwrap();
    assert_eq!(
        manifest["items"],
        serde_json::json!(["blue.jpg", "green.png", "more/yellow.png", "red.png"])
    );
    assert_eq!(manifest["dim"], 1280);
    let e = zoo::io::tensor_files::read_npy(&index.join("embeddings.npy")).unwrap();
    assert_eq!(e.shape, vec![4, 1280]);
    for row in e.values.chunks(1280) {
        let n: f32 = row.iter().map(|v| v * v).sum::<f32>().sqrt();
        assert!((n - 1.0).abs() < 1e-4, "{n}");
    }
    // The index keeps the (random) weights it used: querying with an indexed image finds
    // that image with similarity 1, which a freshly initialised model would not.
    let o = zoo(&[
        "search",
        index.to_str().unwrap(),
        "--image",
        images.join("more/yellow.png").to_str().unwrap(),
        "--top",
        "2",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let out = text(&o.stdout);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    let first: Vec<&str> = lines[0].split_whitespace().collect();
    assert_eq!(first[0], "1");
    assert!(first[1].parse::<f32>().unwrap() > 0.9999, "{out}");
    assert!(first[2].ends_with("images/more/yellow.png"), "{out}");
    assert!(lines[1].split_whitespace().nth(1).unwrap().parse::<f32>().unwrap() < 0.9999);

    // Re-indexing replaces an index; a folder with other files is refused and left alone.
    let other = tmp.path().join("other");
    std::fs::create_dir(&other).unwrap();
    std::fs::write(other.join("keep.txt"), "mine").unwrap();
    let o = zoo(&[
        "index",
        config.to_str().unwrap(),
        images.to_str().unwrap(),
        "--output",
        other.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("holds files that are not a zoo index"));
    assert_eq!(std::fs::read_to_string(other.join("keep.txt")).unwrap(), "mine");
    // A text query on an image model, and a folder that is no index, are clear errors.
    let o = zoo(&["search", index.to_str().unwrap(), "--text", "a red square"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("embeds images only; query its index with --image"),
        "{}",
        text(&o.stderr)
    );
    let o = zoo(&["search", other.to_str().unwrap(), "--image", "x.png"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("is not a zoo index"), "{}", text(&o.stderr));
}
