//! `zoo run` (inference on an image or a tensor file) and `zoo save` (write weights).

use super::build::load;
use super::{DeviceChoice, INVALID, OK, USAGE};
use crate::config::ModelConfig;
use crate::io::tensor_files;
use crate::io::weights::{self, LoadOptions};
use crate::postprocess::Postprocessor;
use crate::preprocess::image::{Geometry, Pipeline};
use crate::rt::RawTensor;
use std::path::{Path, PathBuf};

/// Options shared by `run` and `save` for building a model with weights.
pub struct ModelArgs<'a> {
    pub config: &'a Path,
    pub checkpoint: Option<&'a Path>,
    pub num_classes: Option<usize>,
    pub data: Option<&'a Path>,
    pub weights_from: Option<&'a str>,
    /// Base URL of pretrained weights (default: `ZOO_WEIGHTS_URL`, then NetsPresso's storage).
    pub weights_url: Option<&'a str>,
    pub device: DeviceChoice,
    /// Fold BatchNorms into the convolutions before them once the weights are in (inference).
    pub fold: bool,
}

/// The number of classes a checkpoint's head predicts: the first dimension of a head tensor
/// that follows the class count (`class_keys`, see `model::class_dependent_keys`);
/// `.safetensors` only.
pub fn classes_in_checkpoint(path: &Path, class_keys: &[String]) -> Option<usize> {
    if weights::Format::of(path) != Some(weights::Format::Safetensors) {
        return None;
    }
    let bytes = std::fs::read(path).ok()?;
    let (_, meta) = safetensors::SafeTensors::read_metadata(&bytes).ok()?;
    let tensors = meta.tensors();
    class_keys
        .iter()
        .find_map(|k| tensors.get(k.as_str()).and_then(|info| info.shape.first().copied()))
}

/// Class names from a NetsPresso data config's `data.id_mapping` (a list, a map of label
/// values to names, or a JSON file of either), read as training reads them.
pub fn class_names(data: &Path) -> Result<Vec<String>, String> {
    let text = std::fs::read_to_string(data).map_err(|e| format!("cannot read {}: {e}", data.display()))?;
    let root = zoo_spec::yaml::parse(&text).map_err(|e| format!("{}: invalid YAML: {e}", data.display()))?;
    crate::train::data::class_names(&root.to_json()).map_err(|m| format!("{}: {m}", data.display()))
}

/// Builds the config's model and loads its weights; prints what it chose. `Err` is the exit code.
pub fn model_with_weights(a: &ModelArgs) -> Result<(ModelConfig, crate::TaskModel, Option<Vec<String>>), i32> {
    let cfg = load(a.config)?;
    let device = super::device(a.device).map_err(|m| {
        eprintln!("error: {m}");
        INVALID
    })?;
    let checkpoint = match resolve_checkpoint(a, &cfg).and_then(|c| match c {
        Some(dir) if dir.is_dir() => hub_folder(&dir, &cfg).map(Some),
        other => Ok(other),
    }) {
        Ok(c) => c,
        Err(m) => {
            eprintln!("error: {m}");
            return Err(INVALID);
        }
    };
    let names = match a.data {
        Some(d) => Some(class_names(d).map_err(|m| {
            eprintln!("error: {m}");
            USAGE
        })?),
        None => None,
    };
    let (num_classes, source) = if let Some(n) = a.num_classes {
        (n, "--num-classes".to_string())
    } else if cfg.task == "embedding" {
        // An embedding model has no classes (its head's width is its own).
        (1, "no classes: an embedding model".to_string())
    } else if let Some(n) = checkpoint.as_deref().and_then(|c| {
        let keys = crate::model::class_dependent_keys(&cfg, &device).ok()?;
        classes_in_checkpoint(c, &keys)
    }) {
        (n, "the checkpoint's head".to_string())
    } else if let Some(n) = names.as_ref().map(Vec::len) {
        (n, format!("the id_mapping of {}", a.data.unwrap().display()))
    } else {
        eprintln!(
            "error: the number of classes is unknown: pass --num-classes, a .safetensors checkpoint with a head, or --data with an id_mapping"
        );
        return Err(USAGE);
    };
    if num_classes == 0 {
        eprintln!("error: the number of classes must be at least 1");
        return Err(USAGE);
    }
    if cfg.task != "embedding" {
        eprintln!("classes: {num_classes} (from {source})");
    }
    let mut model = crate::model::build(&cfg, num_classes, &device).map_err(|e| {
        eprintln!("error: cannot build {}: {e}", a.config.display());
        INVALID
    })?;
    match &checkpoint {
        Some(path) => {
            let remap = match a.weights_from {
                None => detected_rules(&cfg, &model, path),
                Some(source) => match remap_rules(&cfg, source) {
                    Ok(r) => r,
                    Err(m) => {
                        eprintln!("error: {m}");
                        return Err(USAGE);
                    }
                },
            };
            // An explicit --checkpoint carries its head; the config's decides by `load_head`.
            let load_head = a.checkpoint.is_some() || cfg.checkpoint.load_head;
            match weights::load(&mut model, path, &LoadOptions { load_head, remap }) {
                Ok(report) => eprint!("weights: {}: {report}", path.display()),
                Err(e) => {
                    eprintln!("error: {e}");
                    // NetsPresso downloads by `model.name` whatever the task: a detector named
                    // after a classifier gets its ImageNet weights, without neck or head.
                    let registered = a.checkpoint.is_none() && cfg.checkpoint.path.is_none();
                    if let (true, weights::WeightsError::Missing(keys)) = (registered, &e)
                        && keys.iter().all(|k| k.starts_with("neck.") || k.starts_with("head."))
                    {
                        eprintln!(
                            "note: the weights registered for `{}` are its ImageNet classification weights; this {} model's \
                             neck and head are not in them (NetsPresso starts them from random values for training). \
                             Give trained weights with --checkpoint",
                            cfg.name, cfg.task
                        );
                    }
                    return Err(INVALID);
                }
            }
        }
        None => eprintln!("warning: no checkpoint; the weights are randomly initialised"),
    }
    if a.fold {
        model.fold_for_inference();
    }
    Ok((cfg, model, names))
}

/// Where the weights come from: `--checkpoint`, else the config's checkpoint (a path, or the
/// registered pretrained file of `model.name`, downloaded into the cache when not on disk).
pub(super) fn resolve_checkpoint(a: &ModelArgs, cfg: &ModelConfig) -> Result<Option<PathBuf>, String> {
    if let Some(p) = a.checkpoint {
        return if p.exists() {
            Ok(Some(p.to_path_buf()))
        } else {
            Err(format!("checkpoint {} does not exist", p.display()))
        };
    }
    if let Some(fx) = &cfg.checkpoint.fx_model_path {
        return Err(format!(
            "{fx} is a torch.fx model (pickled Python code), which zoo does not execute; export its state dict \
             (`torch.save(model.state_dict(), ...)` or safetensors) and give that as the checkpoint"
        ));
    }
    if !cfg.checkpoint.use_pretrained {
        return Ok(None);
    }
    if let Some(p) = cfg.checkpoint.path.as_deref().map(Path::new)
        && p.exists()
    {
        return Ok(Some(p.to_path_buf()));
    }
    let Some(entry) = crate::architectures::registry::pretrained(&cfg.name) else {
        return Err(match &cfg.checkpoint.path {
            Some(p) => format!(
                "checkpoint {p} does not exist and no pretrained weights are registered for `{}`",
                cfg.name
            ),
            None => format!(
                "`use_pretrained` is set but no pretrained weights are registered for `{}`; give `checkpoint.path`",
                cfg.name
            ),
        });
    };
    let base = crate::io::download::base_url(a.weights_url);
    let path = crate::io::download::fetch(
        &cfg.name,
        &entry,
        &base,
        &crate::io::download::cache_dir(),
        super::color(true),
    )
    .map_err(|e| e.to_string())?;
    eprintln!("pretrained weights of `{}`: {}", cfg.name, path.display());
    Ok(Some(path))
}

/// The weights file of a checkpoint folder (a model folder, or a sentence-transformers folder
/// whose pooling must be the config's).
fn hub_folder(dir: &Path, cfg: &ModelConfig) -> Result<PathBuf, String> {
    let folder = crate::io::hub::read_folder(dir)?;
    if let crate::config::Architecture::Parts { head, .. } = &cfg.architecture {
        let ours = head.params.get("pooling").and_then(|p| p.as_str());
        if let (Some(theirs), Some(ours)) = (&folder.pooling, ours)
            && theirs != ours
        {
            return Err(format!(
                "{} pools by `{theirs}` (1_Pooling/config.json) but the config's head pools by `{ours}`; set \
                 `head.params.pooling: {theirs}`",
                dir.display()
            ));
        }
        let normalizes = head.params.get("normalize").and_then(|n| n.as_bool()).unwrap_or(false);
        if folder.normalize && !normalizes {
            eprintln!(
                "note: {} ends in a Normalize module; pass --normalize (or set `head.params.normalize: true`) for its embeddings",
                dir.display()
            );
        }
    }
    eprintln!(
        "checkpoint folder {}: weights {}",
        dir.display(),
        folder.weights.display()
    );
    Ok(folder.weights)
}

/// The remap rules of the source a checkpoint's names come from, when they are not the
/// model's own (e.g. transformers' `bert.` names for a `bert` backbone); none otherwise.
pub(super) fn detected_rules(cfg: &ModelConfig, model: &crate::TaskModel, path: &Path) -> Vec<(String, String)> {
    let name = match &cfg.architecture {
        crate::config::Architecture::Parts { backbone, .. } => backbone.name.clone(),
        crate::config::Architecture::Full(f) => f.name.clone(),
    };
    let Some(desc) = crate::architectures::registry::components()
        .iter()
        .find(|c| c.name == name)
    else {
        return Vec::new();
    };
    if desc.remap.is_empty() {
        return Vec::new();
    }
    let Ok(keys) = crate::io::hub::checkpoint_keys(path) else {
        // The loader reports an unreadable file.
        return Vec::new();
    };
    let ours: std::collections::HashSet<String> = crate::model::state_dict(model).into_iter().map(|(k, _)| k).collect();
    match crate::io::hub::detect_source(&keys, &ours, &desc.remap) {
        Some((source, rules)) => {
            eprintln!(
                "weights: {} has {source} names; reading them with `{name}`'s remap rules",
                path.display()
            );
            rules.clone()
        }
        None => Vec::new(),
    }
}

/// The remap rules a backbone's spec declares for a weight source (e.g. `torchvision`).
fn remap_rules(cfg: &ModelConfig, source: &str) -> Result<Vec<(String, String)>, String> {
    let name = match &cfg.architecture {
        crate::config::Architecture::Parts { backbone, .. } => backbone.name.clone(),
        crate::config::Architecture::Full(f) => f.name.clone(),
    };
    let desc = crate::architectures::registry::components()
        .iter()
        .find(|c| c.name == name)
        .ok_or(format!("no component `{name}`"))?;
    desc.remap
        .iter()
        .find(|(s, _)| s == source)
        .map(|(_, r)| r.clone())
        .ok_or_else(|| {
            let known: Vec<&str> = desc.remap.iter().map(|(s, _)| s.as_str()).collect();
            format!(
                "`{name}` declares no key-remap rules for `{source}` (it has: {})",
                if known.is_empty() {
                    "none".into()
                } else {
                    known.join(", ")
                }
            )
        })
}

pub struct RunArgs<'a> {
    pub model: ModelArgs<'a>,
    pub input: &'a Path,
    pub output: Option<&'a Path>,
    pub json: Option<&'a Path>,
    pub draw: Option<&'a Path>,
    pub augmentation: Option<&'a Path>,
    pub mask: Option<&'a Path>,
    pub top_k: usize,
}

fn is_tensor_file(p: &Path) -> bool {
    matches!(p.extension().and_then(|e| e.to_str()), Some("npy" | "safetensors"))
}

fn has_extension(p: Option<&Path>, ext: &str) -> bool {
    p.is_none_or(|p| p.extension().and_then(|e| e.to_str()) == Some(ext))
}

/// The model input and, per batch item, how its pixels map back to the original.
fn load_input(a: &RunArgs, cfg: &ModelConfig) -> Result<(RawTensor, Vec<Geometry>), String> {
    if is_tensor_file(a.input) {
        let t = tensor_files::read_tensor_file(a.input)?;
        if t.shape.len() != 4 || t.shape[1] != 3 {
            return Err(format!(
                "the input must be [batch, 3, height, width], found {:?}",
                t.shape
            ));
        }
        let g = Geometry::identity(t.shape[2], t.shape[3]);
        return Ok((t.clone(), vec![g; t.shape[0]]));
    }
    let pipeline = match a.augmentation {
        None => Pipeline::for_config(cfg),
        Some(p) => {
            let text = std::fs::read_to_string(p).map_err(|e| format!("cannot read {}: {e}", p.display()))?;
            Pipeline::from_augmentation(&text).map_err(|m| format!("{}: {m}", p.display()))?
        }
    };
    let (t, g) = pipeline.load_with_geometry(a.input)?;
    Ok((t, vec![g]))
}

/// The model's prediction for `input` on `device`; a failure of the tensor library (an input
/// the model cannot take) is an error message and exit 1.
pub fn forward(
    cfg: &ModelConfig,
    model: &crate::TaskModel,
    input: &RawTensor,
    device: DeviceChoice,
) -> Result<crate::rt::Pred, i32> {
    let kind = device;
    let device = super::device(device).expect("checked when building");
    if let [b, _, h, w] = input.shape[..] {
        forward_fits(cfg, model, kind, &device, b, h, w)?;
    }
    let x = input.to_tensor::<4>(&device).expect("rank checked");
    crate::model::guarded(|| model.forward(x)).map_err(|m| {
        eprintln!(
            "error: {} cannot run on an input of shape {:?} ({m})",
            cfg.name, input.shape
        );
        INVALID
    })
}

/// Refuses (exit 1, with the estimate) a forward pass of `b`×3×`h`×`w` that would not fit
/// in memory; measured on the CPU backends, whose activations are on the heap.
pub(super) fn forward_fits(
    cfg: &ModelConfig,
    model: &crate::TaskModel,
    kind: DeviceChoice,
    device: &burn::tensor::Device,
    b: usize,
    h: usize,
    w: usize,
) -> Result<(), i32> {
    if !kind.on_cpu() {
        return Ok(());
    }
    let fixed = crate::model::fixed_image_size(cfg);
    crate::model::check_forward(model, b, h, w, fixed, device).map_err(|m| {
        eprintln!("error: {}: {m}", cfg.name);
        INVALID
    })
}

pub fn run(a: &RunArgs) -> i32 {
    if a.output.is_some_and(|o| !is_tensor_file(o)) {
        eprintln!("error: --output must end in .npy or .safetensors");
        return USAGE;
    }
    for (flag, path, ext) in [
        ("--mask", a.mask, "png"),
        ("--draw", a.draw, "png"),
        ("--json", a.json, "json"),
    ] {
        if !has_extension(path, ext) {
            eprintln!("error: {flag} must end in .{ext}");
            return USAGE;
        }
    }
    if a.draw.is_some() && is_tensor_file(a.input) {
        eprintln!("error: --draw draws on the input image; give an image with --input, not a tensor file");
        return USAGE;
    }
    let (cfg, model, names) = match model_with_weights(&a.model) {
        Ok(m) => m,
        Err(code) => return code,
    };
    if a.mask.is_some() && cfg.task != "segmentation" {
        eprintln!("error: --mask is for segmentation models; this one is for {}", cfg.task);
        return USAGE;
    }
    if a.draw.is_some() && matches!(cfg.task.as_str(), "classification" | "embedding") {
        eprintln!(
            "error: --draw is for detection, pose estimation and segmentation; use --json for classes and embeddings"
        );
        return USAGE;
    }
    if !model.reads_images() {
        eprintln!(
            "error: {} is a text model; `zoo embed {} --text ...` embeds texts (or token ids as --input IDS.npy)",
            cfg.name,
            a.model.config.display()
        );
        return USAGE;
    }
    let (input, geometry) =
        match load_input(a, &cfg).and_then(|(t, g)| super::embed::fits_image_size(&cfg, t).map(|t| (t, g))) {
            Ok(x) => x,
            Err(m) => {
                eprintln!("error: {m}");
                return USAGE;
            }
        };
    let pred = match forward(&cfg, &model, &input, a.model.device) {
        Ok(p) => p,
        Err(code) => return code,
    };
    let tensors = pred.tensors("pred");
    if let Some(out) = a.output {
        let npy = out.extension().and_then(|e| e.to_str()) == Some("npy");
        let written = if npy && tensors.len() != 1 {
            Err(format!(
                "a .npy file holds one tensor, but {} predicts {} ({}); write a .safetensors file",
                cfg.name,
                tensors.len(),
                tensors.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>().join(", ")
            ))
        } else if npy {
            tensor_files::write_npy(out, &tensors[0].1).map_err(|e| e.to_string())
        } else {
            let named: Vec<(&str, &RawTensor)> = tensors.iter().map(|(n, t)| (n.as_str(), t)).collect();
            tensor_files::write_safetensors(out, &named)
        };
        if let Err(e) = written {
            eprintln!("error: cannot write {}: {e}", out.display());
            return USAGE;
        }
        for (n, t) in &tensors {
            eprintln!("wrote {n} {:?} to {}", t.shape, out.display());
        }
    }
    let post = match crate::postprocess::for_config(&cfg) {
        Ok(p) => p,
        Err(m) => {
            eprintln!("error: {m}");
            return INVALID;
        }
    };
    let out = super::results::Outputs {
        json: a.json,
        draw: a.draw,
        mask: a.mask,
        image: (!is_tensor_file(a.input)).then_some(a.input),
        names: names.as_deref(),
        top_k: a.top_k,
    };
    let size = [input.shape[2], input.shape[3]];
    let done = match (post, pred) {
        (Some(Postprocessor::Classification), crate::rt::Pred::Rank2(_)) => {
            super::results::classification(&tensors[0].1, &out)
        }
        (Some(Postprocessor::Segmentation), crate::rt::Pred::Rank4(p)) => {
            super::results::segmentation(p, &geometry, &out)
        }
        (Some(Postprocessor::Detection(d)), p) => d
            .run(&p, size)
            .and_then(|dets| super::results::detection(&dets, &geometry, &out)),
        (Some(Postprocessor::Embedding), crate::rt::Pred::Rank2(_)) => super::results::embedding(&tensors[0].1, &out),
        (Some(Postprocessor::Pose { simcc_split_ratio }), _) => {
            crate::postprocess::pose::simcc(&tensors[0].1, simcc_split_ratio)
                .and_then(|kps| super::results::pose(&kps, &geometry, &out))
        }
        _ => {
            for (n, t) in &tensors {
                println!("{n} shape: {:?}", t.shape);
            }
            Ok(())
        }
    };
    match done {
        Ok(()) => OK,
        Err(m) => {
            eprintln!("error: {m}");
            INVALID
        }
    }
}

/// Softmax probabilities and the `k` best classes of every image.
pub fn top_k(logits: &[f32], k: usize) -> Vec<(usize, f32)> {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let exp: Vec<f32> = logits.iter().map(|v| (v - max).exp()).collect();
    let sum: f32 = exp.iter().sum();
    let mut ranked: Vec<(usize, f32)> = exp.iter().map(|e| e / sum).enumerate().collect();
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    ranked.truncate(k);
    ranked
}

pub fn save(a: &ModelArgs, output: &Path) -> i32 {
    if weights::Format::of(output).is_none_or(|f| f == weights::Format::Pytorch) {
        eprintln!("error: --output must end in .safetensors (NetsPresso names) or .bpk (burn's format)");
        return USAGE;
    }
    // A checkpoint keeps every tensor of the architecture: nothing is folded.
    let (_, model, _) = match model_with_weights(&ModelArgs { fold: false, ..*a }) {
        Ok(m) => m,
        Err(code) => return code,
    };
    match weights::save(&model, output) {
        Ok(()) => {
            println!(
                "wrote {} tensors to {}",
                crate::model::state_dict(&model).len(),
                output.display()
            );
            OK
        }
        Err(e) => {
            eprintln!("error: {e}");
            USAGE
        }
    }
}
