//! The contract every spec satisfies, checked by generated tests (one per spec, see
//! `build.rs`): it builds, runs forward, and its outputs have the channels and strides its
//! spec declares.

use crate::generated::{AnyBackbone, AnyHead, run_block_example};
use crate::registry;
use crate::rt::Context;
use burn::tensor::{Device, Distribution, Tensor};

/// Input side used for backbone conformance: small, but divisible by every stride (32).
pub const SIDE: usize = 64;

/// A component's presets, each with its validated config.
type Presets = Vec<(&'static registry::PresetDesc, crate::ModelConfig)>;

/// A component's presets, each validated into a config (at least one).
fn presets(kind: &str, name: &str) -> Result<(&'static registry::ComponentDesc, Presets), String> {
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
    Ok((desc, out))
}

/// Builds every preset of a backbone and checks its outputs against its declared feature dims.
pub fn backbone(name: &str) -> Result<usize, String> {
    let (desc, presets) = presets("backbone", name)?;
    let device = Device::flex();
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
            let m = AnyBackbone::init(name, &backbone.params, &ctx, &device).map_err(|e| format!("{}: {e}", p.name))?;
            let x = Tensor::<4>::random([2, 3, SIDE, SIDE], Distribution::Normal(0.0, 1.0), &device);
            let out = m.forward(x);
            let what = format!("{name} preset {} (task {task})", p.name);
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
                let dims = &outputs.intermediate_features_dim;
                if out.intermediate_features.len() != dims.len() {
                    return Err(format!(
                        "{what}: {} features, the spec declares {}",
                        out.intermediate_features.len(),
                        dims.len()
                    ));
                }
                for (k, (f, c)) in out.intermediate_features.iter().zip(dims).enumerate() {
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
            }
            checked += 1;
        }
    }
    Ok(checked)
}

/// Builds a head on a feature of width 24 for 7 classes and checks the prediction's shape.
pub fn head(name: &str) -> Result<(), String> {
    let desc = registry::find("head", name).ok_or(format!("no head `{name}`"))?;
    let mut params = serde_json::Map::new();
    let example = desc.example.get("params").cloned().unwrap_or_default();
    for p in &desc.params {
        params.insert(
            p.name.clone(),
            example.get(&p.name).cloned().unwrap_or(p.default.clone()),
        );
    }
    let device = Device::flex();
    let task = desc.tasks.first().cloned().unwrap_or_default();
    let ctx = Context {
        task,
        num_classes: 7,
        feature_dim: 24,
        intermediate_features_dim: vec![8, 16, 24],
    };
    let m = AnyHead::init(name, &serde_json::Value::Object(params), &ctx, &device).map_err(|e| e.to_string())?;
    // A three-level pyramid of strides 4, 8 and 16 on a 64x64 image.
    let sides = [16, 8, 4];
    let feats = crate::rt::BackboneOutput {
        last_feature: Some(Tensor::random([2, 24], Distribution::Normal(0.0, 1.0), &device)),
        intermediate_features: ctx
            .intermediate_features_dim
            .iter()
            .zip(sides)
            .map(|(c, s)| Tensor::random([2, *c as usize, s, s], Distribution::Normal(0.0, 1.0), &device))
            .collect(),
    };
    let want = match desc.signature.as_str() {
        "list<tensor4> -> tensor4" => vec![2, 7, sides[0], sides[0]],
        _ => vec![2, 7],
    };
    let pred = m.forward(feats);
    if pred.dims() != want {
        return Err(format!("head `{name}` predicts {:?}, expected {want:?}", pred.dims()));
    }
    Ok(())
}

/// Runs a block's spec `example` and checks the output rank against its signature.
pub fn block(name: &str) -> Result<(), String> {
    let desc = registry::find("block", name).ok_or(format!("no block `{name}`"))?;
    let (input, output) = run_block_example(name, &Device::flex()).map_err(|e| e.to_string())?;
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

/// Builds every preset of a full model for 7 classes and checks that it predicts a map of
/// class scores.
pub fn full(name: &str) -> Result<(), String> {
    let (_, presets) = presets("full", name)?;
    let device = Device::flex();
    for (p, cfg) in &presets {
        let m = crate::model::build(cfg, 7, &device).map_err(|e| format!("{}: {e}", p.name))?;
        let pred = m.forward(Tensor::<4>::random(
            [1, 3, SIDE, SIDE],
            Distribution::Normal(0.0, 1.0),
            &device,
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
