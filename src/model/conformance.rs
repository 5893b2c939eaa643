//! The contract every spec satisfies, checked by generated tests (one per spec, see
//! `build.rs`): it builds, runs forward, and its outputs have the channels and strides its
//! spec declares.

use crate::architectures::generated::{AnyBackbone, AnyHead, AnyNeck, run_block_example};
use crate::architectures::registry;
use crate::rt::Context;
use burn::tensor::{Device, Distribution, Tensor};

/// Input side used for backbone conformance: small, but divisible by every stride (32).
pub const SIDE: usize = 64;

/// A component's presets, each with its validated config.
type Presets = Vec<(&'static registry::PresetDesc, crate::ModelConfig)>;

/// Which presets of a backbone or full model are built and run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PresetScope {
    Every,
    /// The one with the fewest parameters (every preset is still validated): the check of the
    /// spec on a backend where each new kernel shape costs a compilation (the GPU job).
    Smallest,
}

/// A component's presets in `scope`, each validated into a config (at least one).
fn presets(kind: &str, name: &str, scope: PresetScope) -> Result<(&'static registry::ComponentDesc, Presets), String> {
    let desc = registry::find(kind, name).ok_or(format!("no {kind} `{name}`"))?;
    if desc.presets.is_empty() {
        return Err(format!("{kind} `{name}` has no preset to build"));
    }
    let mut out = Vec::new();
    for p in &desc.presets {
        let doc = serde_json::json!({ "model": p.body });
        let v = crate::config::check_text(&serde_json::to_string(&doc).unwrap());
        let cfg = v
            .config
            .ok_or_else(|| format!("preset `{}` does not validate: {:?}", p.name, v.diagnostics))?;
        out.push((p, cfg));
    }
    if scope == PresetScope::Smallest {
        let params = |cfg: &crate::ModelConfig| crate::model::size(cfg, 7).map_or(u64::MAX, |s| s.params);
        out.sort_by_key(|(_, cfg)| params(cfg));
        out.truncate(1);
    }
    Ok((desc, out))
}

/// Builds the presets of a backbone in `scope` and checks its outputs against its declared feature dims.
pub fn backbone(name: &str, device: &Device, scope: PresetScope) -> Result<usize, String> {
    let (desc, presets) = presets("backbone", name, scope)?;
    let mut checked = 0;
    for (p, cfg) in &presets {
        let crate::config::Architecture::Parts { backbone, .. } = &cfg.architecture else {
            return Err(format!("preset `{}` is not a backbone model", p.name));
        };
        for task in &desc.tasks {
            let ctx = Context {
                task: task.clone(),
                ..Default::default()
            };
            let outputs = AnyBackbone::outputs(name, &backbone.params, &ctx).map_err(|e| format!("{}: {e}", p.name))?;
            let m = AnyBackbone::init(name, &backbone.params, &ctx, device).map_err(|e| format!("{}: {e}", p.name))?;
            let what = format!("{name} preset {} (task {task})", p.name);
            if desc.input == "tokens" {
                text_backbone(&what, &m, &outputs, device)?;
                checked += 1;
                continue;
            }
            let x = Tensor::<4>::random([2, 3, SIDE, SIDE], Distribution::Normal(0.0, 1.0), device);
            let out = m.forward(x);
            let fd = outputs
                .feature_dim
                .ok_or(format!("{what}: the spec declares no feature_dim"))? as usize;
            let last = out.last_feature.ok_or(format!("{what}: no last_feature"))?;
            if last.dims() != [2, fd] {
                return Err(format!(
                    "{what}: last_feature is {:?}, the spec declares [2, {fd}]",
                    last.dims()
                ));
            }
            if task != "classification" {
                pyramid_matches(&what, &out.intermediate_features, &outputs)?;
            }
            checked += 1;
        }
    }
    Ok(checked)
}

/// A text backbone on two rows of five tokens (the first with two padding tokens): its token
/// states are [2, 5, feature_dim], and the padding does not change the first row's real tokens
/// (the mask reaches every layer).
fn text_backbone(what: &str, m: &AnyBackbone, outputs: &crate::rt::Outputs, device: &Device) -> Result<(), String> {
    let fd = outputs
        .feature_dim
        .ok_or(format!("{what}: the spec declares no feature_dim"))? as usize;
    let vocab = outputs
        .vocab_size
        .ok_or(format!("{what}: the spec declares no vocab_size"))?;
    let max = outputs
        .max_tokens
        .ok_or(format!("{what}: the spec declares no max_tokens"))?;
    if max < 5 {
        return Err(format!("{what}: max_tokens {max} is below the 5 tokens tried"));
    }
    let id = |k: i64| k % vocab;
    let ids = Tensor::<2, burn::tensor::Int>::from_ints(
        [[id(1), id(7), id(3), id(2), id(2)], [id(4), id(5), id(6), id(7), id(8)]],
        device,
    );
    let mask = Tensor::<2>::from_floats([[1.0, 1.0, 1.0, 0.0, 0.0], [1.0; 5]], device);
    let out = m.forward_tokens(ids, mask);
    let tokens = out.last_tokens.ok_or(format!("{what}: no last_tokens"))?;
    if tokens.dims() != [2, 5, fd] {
        return Err(format!(
            "{what}: last_tokens is {:?}, expected [2, 5, {fd}]",
            tokens.dims()
        ));
    }
    // The padded row's real tokens must not see the padding: the same three tokens alone agree.
    let ids3 = Tensor::<2, burn::tensor::Int>::from_ints([[id(1), id(7), id(3)]], device);
    let alone = m
        .forward_tokens(ids3, Tensor::<2>::ones([1, 3], device))
        .last_tokens
        .ok_or(format!("{what}: no last_tokens"))?;
    let padded = tokens.slice([0..1, 0..3]);
    let diff: f32 = (padded - alone).abs().max().into_scalar();
    if !diff.is_finite() || diff > 1e-4 {
        return Err(format!("{what}: padding changes the real tokens' states by {diff}"));
    }
    Ok(())
}

/// The feature pyramid a neck or head is tried on: its spec example's
/// `intermediate_features_dim` and `strides`, else three levels of 8, 16 and 24 channels at
/// strides 4, 8 and 16, for a 64x64 image.
fn example_pyramid(desc: &registry::ComponentDesc) -> (Vec<i64>, Vec<i64>) {
    let ints = |key: &str| -> Option<Vec<i64>> {
        desc.example
            .get(key)
            .and_then(|v| v.as_array())
            .map(|a| a.iter().filter_map(|x| x.as_i64()).collect())
    };
    let dims = ints("intermediate_features_dim").unwrap_or(vec![8, 16, 24]);
    let strides = ints("strides").unwrap_or_else(|| (0..dims.len()).map(|i| 4 << i).collect());
    (dims, strides)
}

fn example_params(desc: &registry::ComponentDesc) -> serde_json::Value {
    let mut params = serde_json::Map::new();
    let example = desc.example.get("params").cloned().unwrap_or_default();
    for p in &desc.params {
        params.insert(
            p.name.clone(),
            example.get(&p.name).cloned().unwrap_or(p.default.clone()),
        );
    }
    serde_json::Value::Object(params)
}

fn pyramid(dims: &[i64], strides: &[i64], device: &Device) -> Vec<Tensor<4>> {
    dims.iter()
        .zip(strides)
        .map(|(c, s)| {
            let side = SIDE / *s as usize;
            Tensor::random([2, *c as usize, side, side], Distribution::Normal(0.0, 1.0), device)
        })
        .collect()
}

/// Builds a head on its example pyramid (or a feature of width 24) for 7 classes and checks
/// the prediction's shape.
pub fn head(name: &str, device: &Device) -> Result<(), String> {
    let desc = registry::find("head", name).ok_or(format!("no head `{name}`"))?;
    let (dims, strides) = example_pyramid(desc);
    let ctx = Context {
        task: desc.tasks.first().cloned().unwrap_or_default(),
        num_classes: 7,
        feature_dim: 24,
        intermediate_features_dim: dims.clone(),
        strides: strides.clone(),
    };
    let m = AnyHead::init(name, &example_params(desc), &ctx, device).map_err(|e| e.to_string())?;
    let feats = crate::rt::BackboneOutput {
        last_map: Some(Tensor::random([2, 24, 2, 2], Distribution::Normal(0.0, 1.0), device)),
        last_feature: Some(Tensor::random([2, 24], Distribution::Normal(0.0, 1.0), device)),
        last_tokens: Some(Tensor::random([2, 5, 24], Distribution::Normal(0.0, 1.0), device)),
        token_mask: Some(Tensor::from_floats([[1.0, 1.0, 1.0, 0.0, 0.0], [1.0; 5]], device)),
        intermediate_features: pyramid(&dims, &strides, device),
    };
    let first_side = SIDE / strides[0] as usize;
    let pred = m.forward(feats);
    match desc.signature.as_str() {
        "list<tensor4> -> pred" => {
            // Detection/pose predictions: named tensors, each finite.
            let tensors = pred.tensors("pred");
            if tensors.is_empty() {
                return Err(format!("head `{name}` predicts nothing"));
            }
            for (n, t) in &tensors {
                if t.values.iter().any(|v| !v.is_finite()) {
                    return Err(format!("head `{name}`: `{n}` {:?} is not finite", t.shape));
                }
            }
        }
        sig => {
            let want = match sig {
                "list<tensor4> -> tensor4" => vec![2, 7, first_side, first_side],
                // Embeddings: the projection's width, else the pooled feature's (24).
                "tensor4 -> tensor2" | "(tensor3, tensor3) -> tensor2" => {
                    let dim = desc
                        .example
                        .pointer("/params/output_dim")
                        .and_then(|d| d.as_u64())
                        .unwrap_or(24);
                    vec![2, dim as usize]
                }
                _ => vec![2, 7],
            };
            if pred.dims() != want {
                return Err(format!("head `{name}` predicts {:?}, expected {want:?}", pred.dims()));
            }
        }
    }
    Ok(())
}

/// Builds a neck on its example pyramid and checks that its outputs have the channels and
/// strides it declares.
pub fn neck(name: &str, device: &Device) -> Result<(), String> {
    let desc = registry::find("neck", name).ok_or(format!("no neck `{name}`"))?;
    let (dims, strides) = example_pyramid(desc);
    let ctx = Context {
        task: "detection".into(),
        intermediate_features_dim: dims.clone(),
        strides: strides.clone(),
        ..Default::default()
    };
    let params = example_params(desc);
    let outputs = AnyNeck::outputs(name, &params, &ctx).map_err(|e| e.to_string())?;
    let m = AnyNeck::init(name, &params, &ctx, device).map_err(|e| e.to_string())?;
    let out = m.forward(pyramid(&dims, &strides, device));
    pyramid_matches(&format!("neck `{name}`"), &out, &outputs)
}

/// The features a backbone or neck returns have the channels and the strides (on a
/// `SIDE`x`SIDE` input) its spec declares.
fn pyramid_matches(what: &str, feats: &[Tensor<4>], outputs: &crate::rt::Outputs) -> Result<(), String> {
    let dims = &outputs.intermediate_features_dim;
    if feats.len() != dims.len() {
        return Err(format!(
            "{what}: {} features, the spec declares {}",
            feats.len(),
            dims.len()
        ));
    }
    for (k, (f, c)) in feats.iter().zip(dims).enumerate() {
        let d = f.dims();
        if d[1] != *c as usize {
            return Err(format!(
                "{what}: feature {k} has {} channels, the spec declares {c}",
                d[1]
            ));
        }
        if let Some(stride) = outputs.strides.get(k) {
            let side = SIDE.div_ceil(*stride as usize);
            if d[2] != side || d[3] != side {
                return Err(format!(
                    "{what}: feature {k} is {}x{}, stride {stride} gives {side}x{side}",
                    d[2], d[3]
                ));
            }
        }
    }
    Ok(())
}

/// Runs a block's spec `example` and checks the output rank against its signature.
pub fn block(name: &str, device: &Device) -> Result<(), String> {
    let desc = registry::find("block", name).ok_or(format!("no block `{name}`"))?;
    let (input, output) = run_block_example(name, device).map_err(|e| e.to_string())?;
    let out_rank: usize = desc
        .signature
        .split_once("->")
        .and_then(|(_, o)| o.trim().trim_start_matches("tensor").parse().ok())
        .unwrap_or(4);
    if output.len() != out_rank || output[0] != input[0] {
        return Err(format!(
            "block `{name}`: input {input:?} gave {output:?}; the signature says {}",
            desc.signature
        ));
    }
    Ok(())
}

/// Builds the presets of a full model in `scope` for 7 classes and checks that it predicts a map of
/// class scores.
pub fn full(name: &str, device: &Device, scope: PresetScope) -> Result<(), String> {
    let (_, presets) = presets("full", name, scope)?;
    for (p, cfg) in &presets {
        let m = crate::model::build(cfg, 7, device).map_err(|e| format!("{}: {e}", p.name))?;
        if cfg.task == "embedding" {
            embedding_full(name, &p.name, cfg, &m, device)?;
            continue;
        }
        let pred = m.forward(Tensor::<4>::random(
            [1, 3, SIDE, SIDE],
            Distribution::Normal(0.0, 1.0),
            device,
        ));
        let d = pred.dims();
        if d.len() != 4 || d[0] != 1 || d[1] != 7 {
            return Err(format!(
                "full model `{name}` preset {} predicts {d:?}, expected [1, 7, h, w]",
                p.name
            ));
        }
    }
    Ok(())
}

/// A full embedding model (two towers): an image at its image size gives [1, feature_dim];
/// two rows of token ids (one padded) give [2, feature_dim].
fn embedding_full(
    name: &str,
    preset: &str,
    cfg: &crate::ModelConfig,
    m: &crate::TaskModel,
    device: &Device,
) -> Result<(), String> {
    let what = format!("full model `{name}` preset {preset}");
    let out = crate::model::model_outputs(cfg).map_err(|e| format!("{what}: {e}"))?;
    let dim = out
        .feature_dim
        .ok_or(format!("{what}: the spec declares no feature_dim"))? as usize;
    if m.reads_images() {
        let side = out.image_size.unwrap_or(SIDE as i64) as usize;
        let pred = m.forward(Tensor::<4>::random(
            [1, 3, side, side],
            Distribution::Normal(0.0, 1.0),
            device,
        ));
        if pred.dims() != [1, dim] {
            return Err(format!("{what}: an image gives {:?}, expected [1, {dim}]", pred.dims()));
        }
    }
    if m.reads_tokens() {
        let limits = crate::model::text_limits(cfg)
            .map_err(|e| format!("{what}: {e}"))?
            .ok_or(format!("{what}: the spec declares no vocab_size / max_tokens"))?;
        let v = limits.vocab_size as i64;
        let ids = Tensor::<2, burn::tensor::Int>::from_ints(
            [[1 % v, 7 % v, v - 1, v - 1, v - 1], [4 % v, 5 % v, 6 % v, 7 % v, v - 1]],
            device,
        );
        let mask = Tensor::<2>::from_floats([[1.0, 1.0, 1.0, 0.0, 0.0], [1.0; 5]], device);
        let pred = m.forward_tokens(ids, mask);
        if pred.dims() != [2, dim] {
            return Err(format!("{what}: two texts give {:?}, expected [2, {dim}]", pred.dims()));
        }
    }
    Ok(())
}
