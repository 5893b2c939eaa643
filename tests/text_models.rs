//! Text embedding models as specs: BERT (bert-base-cased) and DistilBERT
//! (msmarco-distilbert-base-v3) have transformers' parameter counts and state-dict keys at full
//! size, match the originals' pooled embeddings on reduced-size fixtures
//! (`tests/reference/text_fixtures.py`), load the checkpoint layouts users download, and embed
//! texts and token ids from the command line.

mod common;

use common::{root, text, zoo};
use std::path::{Path, PathBuf};
use zoo::config::Architecture;

fn preset(name: &str) -> zoo::ModelConfig {
    let (_, p) = zoo::architectures::registry::preset(name).unwrap_or_else(|| panic!("no preset {name}"));
    let doc = serde_json::json!({ "model": p.body });
    zoo::check_text(&doc.to_string()).config.expect("the preset validates")
}

/// `# params N` and `key [shape]` lines of a reference facts file.
fn facts(file: &str) -> (usize, Vec<(String, Vec<usize>)>) {
    let text = std::fs::read_to_string(root("tests/fixtures/reference").join(file)).unwrap();
    let mut lines = text.lines();
    let params = lines.next().unwrap().trim_start_matches("# params ").parse().unwrap();
    let keys = lines
        .map(|l| {
            let (k, s) = l.split_once(' ').unwrap();
            (k.to_string(), serde_json::from_str(s).unwrap())
        })
        .collect();
    (params, keys)
}

/// Equal key lists (names, shapes, order); a difference names its first entry.
fn same_keys(ours: &[(String, Vec<usize>)], want: &[(String, Vec<usize>)], what: &str) {
    if let Some(k) = (0..ours.len().max(want.len())).find(|k| ours.get(*k) != want.get(*k)) {
        panic!(
            "{what}: entry {k} is {:?}, the original's {:?}",
            ours.get(k),
            want.get(k)
        );
    }
}

#[test]
fn full_size_models_have_transformers_counts_keys_and_shapes() {
    for (name, file, dim) in [
        ("bert-base-cased", "transformers_bert.txt", 768),
        (
            "sentence-transformers/msmarco-distilbert-base-v3",
            "transformers_distilbert.txt",
            768,
        ),
    ] {
        let cfg = preset(name);
        let model = zoo::build(&cfg, 1, &burn::tensor::Device::flex()).unwrap();
        let (params, keys) = facts(file);
        assert_eq!(zoo::model::count_params(&model), params, "{name}");
        let ours: Vec<(String, Vec<usize>)> = zoo::model::state_dict(&model)
            .into_iter()
            .map(|(k, s)| (k.strip_prefix("backbone.").expect("backbone keys only").to_string(), s))
            .collect();
        assert_eq!(
            ours, keys,
            "{name}: BertModel / DistilBertModel keys and shapes, in order"
        );
        let Architecture::Parts { backbone, .. } = &cfg.architecture else {
            panic!()
        };
        let out =
            zoo::architectures::generated::AnyBackbone::outputs(&backbone.name, &backbone.params, &Default::default())
                .unwrap();
        assert_eq!(out.feature_dim, Some(dim), "{name}: output_dim computed from the spec");
    }
    // bert-base-cased: 28,996 ids and 512 positions.
    let limits = zoo::model::text_limits(&preset("bert-base-cased")).unwrap().unwrap();
    assert_eq!((limits.vocab_size, limits.max_tokens), (28996, 512));
}

/// The reduced-size configs of make_reference.py --small.
fn small_config(kind: &str, pooling: &str) -> String {
    let backbone = match kind {
        "bert" => "name: bert
      params: {vocab_size: 1000, hidden_size: 64, num_hidden_layers: 2, num_attention_heads: 4, intermediate_size: 128, max_position_embeddings: 128}",
        _ => "name: distilbert
      params: {vocab_size: 1000, dim: 64, n_layers: 2, n_heads: 4, hidden_dim: 128, max_position_embeddings: 128}",
    };
    format!(
        "model:
  task: embedding
  name: small-{kind}
  checkpoint: {{use_pretrained: false, load_head: false, path: ~, optimizer_path: ~}}
  freeze_backbone: false
  architecture:
    full: ~
    backbone:
      {backbone}
    head:
      name: token_embedding
      params: {{pooling: {pooling}, output_dim: ~, normalize: false}}
  postprocessor: ~
  losses: []
"
    )
}

fn io(case: &str) -> PathBuf {
    root(&format!("tests/fixtures/parity/{case}.io.safetensors"))
}

/// An integer tensor of a fixture (ids, mask) as (shape, values).
fn ints(file: &Path, name: &str) -> (Vec<usize>, Vec<i64>) {
    let bytes = std::fs::read(file).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let v = st.tensor(name).unwrap();
    assert_eq!(v.dtype(), safetensors::Dtype::I64);
    let values = v
        .data()
        .chunks_exact(8)
        .map(|c| i64::from_le_bytes(c.try_into().unwrap()))
        .collect();
    (v.shape().to_vec(), values)
}

/// Builds a small model with the synthetic weights of the fixtures; returns it and the weights.
fn small_model(kind: &str, pooling: &str, dir: &Path) -> (zoo::TaskModel, PathBuf) {
    let v = zoo::check_text(&small_config(kind, pooling));
    let cfg = v.config.unwrap_or_else(|| panic!("{:?}", v.diagnostics));
    let mut model = zoo::build(&cfg, 1, &common::device()).unwrap();
    let weights = common::synthetic_weights(&model, &dir.join("none"), dir);
    let opts = zoo::io::weights::LoadOptions::default();
    zoo::io::weights::load(&mut model, &weights, &opts).unwrap();
    (model, weights)
}

fn forward(model: &zoo::TaskModel, case: &str) -> zoo::rt::RawTensor {
    let device = common::device();
    let (shape, ids) = ints(&io(case), "ids");
    let (_, mask) = ints(&io(case), "mask");
    let ids =
        burn::tensor::Tensor::<1, burn::tensor::Int>::from_ints(ids.as_slice(), &device).reshape([shape[0], shape[1]]);
    let mask: Vec<f32> = mask.iter().map(|m| *m as f32).collect();
    let mask = burn::tensor::Tensor::<1>::from_floats(mask.as_slice(), &device).reshape([shape[0], shape[1]]);
    model.forward_tokens(ids, mask).tensors("pred").remove(0).1
}

#[test]
fn bert_and_distilbert_match_transformers_for_every_pooling() {
    for kind in ["bert", "distilbert"] {
        for pooling in ["mean", "cls", "max"] {
            let dir = tempfile::tempdir().unwrap();
            let (model, _) = small_model(kind, pooling, dir.path());
            let got = forward(&model, kind);
            let want = zoo::io::tensor_files::read_safetensors(&io(kind), pooling).unwrap();
            assert_eq!(got.shape, vec![2, 64]);
            assert_eq!(got.shape, want.shape);
            let err = common::max_relative_difference(&got.values, &want.values);
            assert!(err <= 1e-4, "{kind} {pooling}: max relative difference {err:e}");
        }
    }
}

/// Writes the fixture's ids and mask as the int64 .npy files users pass.
fn ids_and_mask(case: &str, dir: &Path) -> (PathBuf, PathBuf) {
    let (shape, ids) = ints(&io(case), "ids");
    let (_, mask) = ints(&io(case), "mask");
    let (ip, mp) = (dir.join("ids.npy"), dir.join("mask.npy"));
    zoo::io::tensor_files::write_npy_ints(&ip, &shape, &ids).unwrap();
    zoo::io::tensor_files::write_npy_ints(&mp, &shape, &mask).unwrap();
    (ip, mp)
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn embed(args: &[&str]) -> (std::process::Output, Option<zoo::rt::RawTensor>) {
    let out = zoo(&[&["embed"], args].concat());
    let path = args
        .iter()
        .position(|a| *a == "--output")
        .map(|k| Path::new(args[k + 1]));
    let e = path
        .filter(|_| out.status.success())
        .map(|p| zoo::io::tensor_files::read_npy(p).unwrap());
    (out, e)
}

/// `zoo embed CONFIG --checkpoint W --input ids.npy --mask mask.npy` on a fixture's ids.
fn embed_ids(cfg: &Path, weights: &Path, case: &str, dir: &Path) -> (std::process::Output, Option<zoo::rt::RawTensor>) {
    let (ids, mask) = ids_and_mask(case, dir);
    let out = dir.join("e.npy");
    let s = |p: &Path| p.to_str().unwrap().to_string();
    embed(&[
        &s(cfg),
        "--checkpoint",
        &s(weights),
        "--input",
        &s(&ids),
        "--mask",
        &s(&mask),
        "--output",
        &s(&out),
    ])
}

#[test]
fn zoo_embed_token_ids_with_a_mask_matches_transformers() {
    let dir = tempfile::tempdir().unwrap();
    let (_, weights) = small_model("bert", "mean", dir.path());
    let cfg = write(dir.path(), "bert.yaml", &small_config("bert", "mean"));
    let (o, e) = embed_ids(&cfg, &weights, "bert", dir.path());
    assert!(o.status.success(), "{}", text(&o.stderr));
    let want = zoo::io::tensor_files::read_safetensors(&io("bert"), "mean").unwrap();
    let e = e.unwrap();
    assert_eq!(e.shape, vec![2, 64]);
    assert!(common::max_relative_difference(&e.values, &want.values) <= 1e-4);
    // Without the mask the padded row reads its padding: a different embedding.
    let s = |p: &Path| p.to_str().unwrap().to_string();
    let (ids, out) = (dir.path().join("ids.npy"), dir.path().join("e.npy"));
    let (o, e2) = embed(&[
        &s(&cfg),
        "--checkpoint",
        &s(&weights),
        "--input",
        &s(&ids),
        "--output",
        &s(&out),
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let e2 = e2.unwrap();
    assert!(common::max_relative_difference(&e2.values[..64], &want.values[..64]) > 1e-2);
    assert!(common::max_relative_difference(&e2.values[64..], &want.values[64..]) <= 1e-4);
}

/// The synthetic weights renamed: `backbone.X` to `rename(X)`, plus `extra` tensors.
fn renamed(weights: &Path, dest: &Path, rename: impl Fn(&str) -> String, extra: &[(&str, Vec<usize>, bool)]) {
    let bytes = std::fs::read(weights).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let mut data: Vec<(String, safetensors::Dtype, Vec<usize>, Vec<u8>)> = st
        .tensors()
        .into_iter()
        .map(|(k, v)| {
            (
                rename(k.strip_prefix("backbone.").unwrap()),
                v.dtype(),
                v.shape().to_vec(),
                v.data().to_vec(),
            )
        })
        .collect();
    for (k, shape, int) in extra {
        let n: usize = shape.iter().product();
        let (dtype, raw) = if *int {
            (
                safetensors::Dtype::I64,
                (0..n as i64).flat_map(|i| i.to_le_bytes()).collect(),
            )
        } else {
            (
                safetensors::Dtype::F32,
                common::synthetic(k, shape)
                    .iter()
                    .flat_map(|v| (*v as f32).to_le_bytes())
                    .collect(),
            )
        };
        data.push((k.to_string(), dtype, shape.clone(), raw));
    }
    common::write_safetensors(dest, &data);
}

#[test]
fn the_legacy_hub_bert_layout_loads_without_naming_its_source() {
    // bert-base-cased on the hub: `bert.` prefix, LayerNorm gamma/beta, pre-training heads
    // `cls.*`, old `position_ids` buffers.
    let dir = tempfile::tempdir().unwrap();
    let (_, weights) = small_model("bert", "mean", dir.path());
    let legacy = dir.path().join("model.safetensors");
    let h = 64;
    renamed(
        &weights,
        &legacy,
        |k| {
            let k = format!("bert.{k}");
            if let Some(base) = k.strip_suffix("LayerNorm.weight") {
                format!("{base}LayerNorm.gamma")
            } else if let Some(base) = k.strip_suffix("LayerNorm.bias") {
                format!("{base}LayerNorm.beta")
            } else {
                k
            }
        },
        &[
            ("bert.embeddings.position_ids", vec![1, 128], true),
            ("cls.predictions.bias", vec![1000], false),
            ("cls.predictions.transform.dense.weight", vec![h, h], false),
            ("cls.predictions.transform.dense.bias", vec![h], false),
            ("cls.predictions.transform.LayerNorm.gamma", vec![h], false),
            ("cls.predictions.transform.LayerNorm.beta", vec![h], false),
            ("cls.seq_relationship.weight", vec![2, h], false),
            ("cls.seq_relationship.bias", vec![2], false),
        ],
    );
    let cfg = write(dir.path(), "bert.yaml", &small_config("bert", "mean"));
    let (o, e) = embed_ids(&cfg, &legacy, "bert", dir.path());
    let err = text(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(err.contains("transformers names"), "{err}");
    // The heads and the buffer are reported, not errors; nothing is missing.
    assert!(err.contains("missing 0, unexpected 8"), "{err}");
    assert!(err.contains("unexpected: cls.seq_relationship.weight"), "{err}");
    let want = zoo::io::tensor_files::read_safetensors(&io("bert"), "mean").unwrap();
    assert!(common::max_relative_difference(&e.unwrap().values, &want.values) <= 1e-4);
}

/// A sentence-transformers folder as msmarco-distilbert-base-v3's: modules.json,
/// 1_Pooling/config.json, the DistilBertModel weights and the tokenizer at the top.
fn sentence_transformers_folder(dir: &Path, pooling: &str) -> PathBuf {
    let (_, weights) = small_model("distilbert", "mean", dir);
    let folder = dir.join("msmarco");
    std::fs::create_dir_all(folder.join("1_Pooling")).unwrap();
    renamed(&weights, &folder.join("model.safetensors"), |k| k.to_string(), &[]);
    write(
        &folder,
        "modules.json",
        r#"[{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
            {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"}]"#,
    );
    let on = |m: &str| if m == pooling { "true" } else { "false" };
    write(
        &folder.join("1_Pooling"),
        "config.json",
        &format!(
            r#"{{"word_embedding_dimension": 64, "pooling_mode_cls_token": {}, "pooling_mode_mean_tokens": {}, "pooling_mode_max_tokens": {}, "pooling_mode_mean_sqrt_len_tokens": false}}"#,
            on("cls"),
            on("mean"),
            on("max")
        ),
    );
    std::fs::copy(
        root("tests/fixtures/tokenizers/wordpiece/vocab.txt"),
        folder.join("vocab.txt"),
    )
    .unwrap();
    write(&folder, "tokenizer_config.json", r#"{"do_lower_case": true}"#);
    folder
}

#[test]
fn a_sentence_transformers_folder_embeds_texts_as_its_token_ids() {
    let dir = tempfile::tempdir().unwrap();
    let folder = sentence_transformers_folder(dir.path(), "mean");
    let cfg = write(dir.path(), "msmarco.yaml", &small_config("distilbert", "mean"));
    let s = |p: &Path| p.to_str().unwrap().to_string();
    let texts = [
        "The quick brown fox.",
        "Ünïcödé and a much longer sentence about embeddings!",
    ];
    let out = dir.path().join("t.npy");
    let tokens = dir.path().join("tokens.json");
    let (o, by_text) = embed(&[
        &s(&cfg),
        "--checkpoint",
        &s(&folder),
        "--text",
        texts[0],
        texts[1],
        "--tokens",
        &s(&tokens),
        "--output",
        &s(&out),
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let by_text = by_text.unwrap();
    assert_eq!(by_text.shape, vec![2, 64]);
    // --tokens: the ids with [CLS] (2) and [SEP] (3) of the synthetic vocabulary, unpadded.
    let rows: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&tokens).unwrap()).unwrap();
    let ids: Vec<Vec<i64>> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            r["ids"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i.as_i64().unwrap())
                .collect()
        })
        .collect();
    assert_eq!(rows[0]["text"], texts[0]);
    assert_eq!(rows[1]["tokens"][0], "[CLS]");
    assert!(ids[0].len() < ids[1].len());
    // The same ids padded by hand, with their mask, give the same embeddings.
    let len = ids[1].len();
    let mut flat = ids[0].clone();
    flat.resize(len, 0);
    flat.extend(&ids[1]);
    let mask: Vec<i64> = (0..2 * len).map(|k| i64::from(k >= len || k < ids[0].len())).collect();
    let (ip, mp) = (dir.path().join("ids.npy"), dir.path().join("mask.npy"));
    zoo::io::tensor_files::write_npy_ints(&ip, &[2, len], &flat).unwrap();
    zoo::io::tensor_files::write_npy_ints(&mp, &[2, len], &mask).unwrap();
    let (o, by_ids) = embed(&[
        &s(&cfg),
        "--checkpoint",
        &s(&folder),
        "--input",
        &s(&ip),
        "--mask",
        &s(&mp),
        "--output",
        &s(&out),
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(common::max_relative_difference(&by_ids.unwrap().values, &by_text.values) <= 1e-5);
}

#[test]
fn text_inputs_that_cannot_work_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let folder = sentence_transformers_folder(dir.path(), "cls");
    let cfg = write(dir.path(), "msmarco.yaml", &small_config("distilbert", "mean"));
    let s = |p: &Path| p.to_str().unwrap().to_string();
    let out = dir.path().join("e.npy");
    // The folder pools by [CLS], the config by mean.
    let (o, _) = embed(&[
        &s(&cfg),
        "--checkpoint",
        &s(&folder),
        "--text",
        "hello",
        "--output",
        &s(&out),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    assert!(text(&o.stderr).contains("pools by `cls`"), "{}", text(&o.stderr));
    // Ids beyond the vocabulary, and more tokens than positions.
    let ids = dir.path().join("ids.npy");
    zoo::io::tensor_files::write_npy_ints(&ids, &[1, 3], &[2, 1000, 3]).unwrap();
    let (o, _) = embed(&[&s(&cfg), "--input", &s(&ids), "--output", &s(&out)]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("token id 1000 (row 0, position 1) is outside the vocabulary of 1000 ids"),
        "{}",
        text(&o.stderr)
    );
    zoo::io::tensor_files::write_npy_ints(&ids, &[1, 129], &[5; 129]).unwrap();
    let (o, _) = embed(&[&s(&cfg), "--input", &s(&ids), "--output", &s(&out)]);
    assert!(
        text(&o.stderr).contains("129 tokens per input, the model takes at most 128"),
        "{}",
        text(&o.stderr)
    );
    // No tokenizer anywhere; texts for an image model; float images for a text model.
    let (o, _) = embed(&[&s(&cfg), "--text", "hello", "--output", &s(&out)]);
    assert!(
        text(&o.stderr).contains("text needs a tokenizer"),
        "{}",
        text(&o.stderr)
    );
    let image_cfg = write(
        dir.path(),
        "r.yaml",
        &text(&zoo(&["new", "resnet50", "--task", "embedding"]).stdout),
    );
    let (o, _) = embed(&[&s(&image_cfg), "--text", "hello", "--output", &s(&out)]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("is an image model"), "{}", text(&o.stderr));
    let (o, _) = embed(&[
        &s(&cfg),
        "--input",
        &s(&root("tests/fixtures/images/sample.png")),
        "--output",
        &s(&out),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("is a text model"), "{}", text(&o.stderr));
}

const SMALL_CLIP: &str = "model:
  task: embedding
  name: small-clip
  checkpoint: {use_pretrained: false, load_head: false, path: ~, optimizer_path: ~}
  freeze_backbone: false
  architecture:
    full:
      name: clip
      projection_dim: 32
      text_vocab_size: 1000
      text_hidden_size: 64
      text_intermediate_size: 128
      text_num_hidden_layers: 2
      text_num_attention_heads: 4
      vision_hidden_size: 64
      vision_intermediate_size: 128
      vision_num_hidden_layers: 2
      vision_num_attention_heads: 4
      image_size: 64
      patch_size: 16
    backbone: ~
    head: ~
  postprocessor: ~
  losses: []
";

#[test]
fn clip_has_transformers_counts_and_keys_and_both_towers_match() {
    // Full size: CLIPModel without `logit_scale` (the contrastive temperature, unused by the
    // embeddings): text tower 63,428,096 + image tower 87,849,216.
    let cfg = preset("openai/clip-vit-base-patch32");
    let model = zoo::build(&cfg, 1, &burn::tensor::Device::flex()).unwrap();
    let (params, keys) = facts("transformers_clip.txt");
    assert_eq!(zoo::model::count_params(&model), params - 1);
    let keys: Vec<_> = keys.into_iter().filter(|(k, _)| k != "logit_scale").collect();
    same_keys(&zoo::model::state_dict(&model), &keys, "CLIPModel");
    let out = zoo::model::model_outputs(&cfg).unwrap();
    assert_eq!(
        (out.feature_dim, out.image_size, out.max_tokens),
        (Some(512), Some(224), Some(77))
    );

    // Reduced size: both towers within 1e-4 of CLIPModel's get_image_features / get_text_features.
    let dir = tempfile::tempdir().unwrap();
    let cfg = zoo::check_text(SMALL_CLIP).config.unwrap();
    let mut model = zoo::build(&cfg, 1, &common::device()).unwrap();
    let weights = common::synthetic_weights(&model, &dir.path().join("none"), dir.path());
    zoo::io::weights::load(&mut model, &weights, &Default::default()).unwrap();
    let x = zoo::io::tensor_files::read_safetensors(&io("clip"), "input").unwrap();
    let image = model
        .forward(x.to_tensor::<4>(&common::device()).unwrap())
        .tensors("pred")
        .remove(0)
        .1;
    let want = zoo::io::tensor_files::read_safetensors(&io("clip"), "image").unwrap();
    assert_eq!(image.shape, vec![1, 32]);
    assert!(common::max_relative_difference(&image.values, &want.values) <= 1e-4);
    let text = forward(&model, "clip");
    let want = zoo::io::tensor_files::read_safetensors(&io("clip"), "text").unwrap();
    assert_eq!(text.shape, vec![2, 32]);
    let err = common::max_relative_difference(&text.values, &want.values);
    assert!(err <= 1e-4, "text tower: {err:e}");
}

#[test]
fn zoo_embed_runs_either_clip_tower_from_a_hub_checkpoint() {
    // The hub file of older transformers: `position_ids` buffers of both towers and
    // `logit_scale` beside the weights; they are reported as unused.
    let dir = tempfile::tempdir().unwrap();
    let cfg_text = zoo::check_text(SMALL_CLIP).config.unwrap();
    let model = zoo::build(&cfg_text, 1, &burn::tensor::Device::flex()).unwrap();
    let weights = common::synthetic_weights(&model, &dir.path().join("none"), dir.path());
    let hub = dir.path().join("model.safetensors");
    let bytes = std::fs::read(&weights).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let mut data: Vec<(String, safetensors::Dtype, Vec<usize>, Vec<u8>)> = vec![(
        "logit_scale".into(),
        safetensors::Dtype::F32,
        vec![],
        2.6592f32.to_le_bytes().to_vec(),
    )];
    data.extend(
        st.tensors()
            .into_iter()
            .map(|(k, v)| (k, v.dtype(), v.shape().to_vec(), v.data().to_vec())),
    );
    for (k, n) in [
        ("text_model.embeddings.position_ids", 77),
        ("vision_model.embeddings.position_ids", 17),
    ] {
        data.push((
            k.into(),
            safetensors::Dtype::I64,
            vec![1, n],
            (0..n as i64).flat_map(|i| i.to_le_bytes()).collect(),
        ));
    }
    common::write_safetensors(&hub, &data);
    let cfg = write(dir.path(), "clip.yaml", SMALL_CLIP);
    let s = |p: &Path| p.to_str().unwrap().to_string();
    let out = dir.path().join("e.npy");
    // Text: int64 ids with their mask.
    let (o, e) = embed_ids(&cfg, &hub, "clip", dir.path());
    let err = text(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(err.contains("missing 0, unexpected 3"), "{err}");
    let want = zoo::io::tensor_files::read_safetensors(&io("clip"), "text").unwrap();
    assert!(common::max_relative_difference(&e.unwrap().values, &want.values) <= 1e-4);
    // Image: a float tensor [1, 3, 64, 64] used as is.
    let x = zoo::io::tensor_files::read_safetensors(&io("clip"), "input").unwrap();
    let xp = dir.path().join("x.npy");
    zoo::io::tensor_files::write_npy(&xp, &x).unwrap();
    let (o, e) = embed(&[
        &s(&cfg),
        "--checkpoint",
        &s(&hub),
        "--input",
        &s(&xp),
        "--output",
        &s(&out),
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let want = zoo::io::tensor_files::read_safetensors(&io("clip"), "image").unwrap();
    assert!(common::max_relative_difference(&e.unwrap().values, &want.values) <= 1e-4);
    // An image file is prepared at the model's 64x64 (short side, center crop); a tensor of
    // another size is refused before running.
    let (o, e) = embed(&[
        &s(&cfg),
        "--checkpoint",
        &s(&hub),
        "--input",
        &s(&root("tests/fixtures/images/sample.jpg")),
        "--output",
        &s(&out),
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_eq!(e.unwrap().shape, vec![1, 32]);
    let wrong = zoo::rt::RawTensor {
        shape: vec![1, 3, 32, 32],
        values: vec![0.0; 3 * 32 * 32],
    };
    zoo::io::tensor_files::write_npy(&xp, &wrong).unwrap();
    let (o, _) = embed(&[
        &s(&cfg),
        "--checkpoint",
        &s(&hub),
        "--input",
        &s(&xp),
        "--output",
        &s(&out),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("takes 64x64 images (its position table), the input is 32x32"),
        "{}",
        text(&o.stderr)
    );
}

/// Runs `zoo search` and returns its result lines as (rank, score, rest).
fn search(args: &[&str]) -> Vec<(usize, f32, String)> {
    let o = zoo(&[&["search"], args].concat());
    assert!(o.status.success(), "{}", text(&o.stderr));
    text(&o.stdout)
        .lines()
        .map(|l| {
            let mut parts = l.split_whitespace();
            let rank = parts.next().unwrap().parse().unwrap();
            let score = parts.next().unwrap().parse().unwrap();
            (rank, score, parts.collect::<Vec<_>>().join(" "))
        })
        .collect()
}

#[test]
fn a_text_index_finds_the_line_a_query_repeats() {
    let dir = tempfile::tempdir().unwrap();
    let folder = sentence_transformers_folder(dir.path(), "mean");
    let cfg = write(dir.path(), "msmarco.yaml", &small_config("distilbert", "mean"));
    let docs = dir.path().join("docs");
    std::fs::create_dir_all(docs.join("more")).unwrap();
    write(&docs, "a.txt", "the quick brown fox\n\njumped over the lazy dog\n");
    write(
        &docs.join("more"),
        "b.txt",
        "an entirely different sentence about cats\n",
    );
    write(&docs, "image.png", "not a text file");
    let index = dir.path().join("index");
    let s = |p: &Path| p.to_str().unwrap().to_string();
    let o = zoo(&[
        "index",
        &s(&cfg),
        &s(&docs),
        "--checkpoint",
        &s(&folder),
        "--output",
        &s(&index),
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(
        text(&o.stderr).contains("indexed 3 texts (0 skipped) as 64-value embeddings"),
        "{}",
        text(&o.stderr)
    );
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(index.join("index.json")).unwrap()).unwrap();
    assert_eq!(manifest["kind"], "text");
    assert_eq!(
        manifest["items"],
        serde_json::json!(["a.txt:1", "a.txt:3", "more/b.txt:1"])
    );
    assert_eq!(manifest["tokenizer"], "tokenizer/vocab.txt");
    // The index keeps its tokenizer (with its casing): no --tokenizer at query time.
    let hits = search(&[&s(&index), "--text", "jumped over the lazy dog", "--top", "3"]);
    assert_eq!(hits.len(), 3);
    assert_eq!(hits[0].0, 1);
    assert!(hits[0].1 > 0.9999, "{hits:?}");
    assert!(hits[0].2.ends_with("docs/a.txt:3 jumped over the lazy dog"), "{hits:?}");
    assert!(hits[1].1 < 0.9999 && hits[1].1 >= hits[2].1, "{hits:?}");
    // An image query on a text index is refused.
    let o = zoo(&[
        "search",
        &s(&index),
        "--image",
        &s(&root("tests/fixtures/images/sample.png")),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("is a text model; query its index with --text"),
        "{}",
        text(&o.stderr)
    );
}

#[test]
fn clip_searches_images_by_text() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write(dir.path(), "clip.yaml", SMALL_CLIP);
    let model = zoo::build(
        &zoo::check_text(SMALL_CLIP).config.unwrap(),
        1,
        &burn::tensor::Device::flex(),
    )
    .unwrap();
    let weights = common::synthetic_weights(&model, &dir.path().join("none"), dir.path());
    let images = dir.path().join("images");
    common::image_set(&images);
    let index = dir.path().join("index");
    let tokenizer = root("tests/fixtures/tokenizers/clip/vocab.json");
    let s = |p: &Path| p.to_str().unwrap().to_string();
    let o = zoo(&[
        "index",
        &s(&cfg),
        &s(&images),
        "--checkpoint",
        &s(&weights),
        "--tokenizer",
        &s(&tokenizer),
        "--output",
        &s(&index),
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(
        text(&o.stderr).contains("indexed 4 images (1 skipped) as 32-value embeddings"),
        "{}",
        text(&o.stderr)
    );
    assert!(index.join("tokenizer/merges.txt").is_file());
    let query = "a red square";
    let hits = search(&[&s(&index), "--text", query, "--top", "4"]);
    // The ranking is the cosine similarity of `zoo embed`'s text and image embeddings.
    let out = dir.path().join("e.npy");
    let (o, t) = embed(&[
        &s(&cfg),
        "--checkpoint",
        &s(&weights),
        "--text",
        query,
        "--tokenizer",
        &s(&tokenizer),
        "--output",
        &s(&out),
        "--normalize",
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let t = t.unwrap();
    let mut want: Vec<(f32, String)> = ["blue.jpg", "green.png", "more/yellow.png", "red.png"]
        .iter()
        .map(|name| {
            let (o, e) = embed(&[
                &s(&cfg),
                "--checkpoint",
                &s(&weights),
                "--input",
                &s(&images.join(name)),
                "--output",
                &s(&out),
                "--normalize",
            ]);
            assert!(o.status.success(), "{}", text(&o.stderr));
            let e = e.unwrap();
            (
                e.values.iter().zip(&t.values).map(|(a, b)| a * b).sum(),
                name.to_string(),
            )
        })
        .collect();
    want.sort_by(|a, b| b.0.total_cmp(&a.0));
    assert_eq!(hits.len(), 4);
    for ((rank, score, item), (cos, name)) in hits.iter().zip(&want) {
        assert!(
            item.ends_with(name.as_str()),
            "rank {rank}: {item}, expected {name} ({hits:?} vs {want:?})"
        );
        assert!((score - cos).abs() < 1e-3, "{name}: {score} vs {cos}");
    }
}

#[test]
fn zoo_new_prints_the_text_models_and_zoo_run_points_text_models_to_zoo_embed() {
    for name in [
        "bert-base-cased",
        "sentence-transformers/msmarco-distilbert-base-v3",
        "openai/clip-vit-base-patch32",
    ] {
        let o = zoo(&["new", name, "--task", "embedding"]);
        assert!(o.status.success(), "{}", text(&o.stderr));
        let out = text(&o.stdout);
        assert!(out.contains(&format!("  name: {name}\n")), "{out}");
        // The printed config validates as it is.
        assert!(zoo::check_text(&out).config.is_some(), "{name}");
    }
    let out = text(&zoo(&["new", "bert-base-cased"]).stdout);
    assert!(out.contains("layer_norm_eps: 1.0e-12"), "{out}");
    let dir = tempfile::tempdir().unwrap();
    let cfg = write(dir.path(), "bert.yaml", &out);
    let o = zoo(&[
        "run",
        cfg.to_str().unwrap(),
        "--input",
        root("tests/fixtures/images/sample.png").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("bert-base-cased is a text model; `zoo embed"),
        "{}",
        text(&o.stderr)
    );
}
