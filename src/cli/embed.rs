//! `zoo embed`: embeddings of images (files, or a `.npy`/`.safetensors` float tensor
//! [B, 3, H, W] used as is) by an `embedding` config, written as float32 [B, output_dim].

use super::run::{ModelArgs, model_with_weights};
use super::{OK, USAGE};
use crate::preprocess::Pipeline;
use crate::tensor_io::{self, RawTensor};
use std::path::{Path, PathBuf};

pub struct EmbedArgs<'a> {
    pub model: ModelArgs<'a>,
    pub inputs: &'a [PathBuf],
    pub output: &'a Path,
    pub normalize: bool,
}

fn is_tensor_file(p: &Path) -> bool {
    matches!(p.extension().and_then(|e| e.to_str()), Some("npy" | "safetensors"))
}

/// One batch of every input: images prepared by the config's default pipeline, tensor files
/// as they are (all of one height and width).
fn batch(inputs: &[PathBuf], pipeline: &Pipeline) -> Result<RawTensor, String> {
    let mut parts: Vec<RawTensor> = Vec::new();
    for p in inputs {
        let t = if is_tensor_file(p) {
            tensor_io::read_tensor_file(p)?
        } else {
            pipeline.load(p)?
        };
        if t.shape.len() != 4 || t.shape[1] != 3 {
            return Err(format!(
                "{}: an image input is [batch, 3, height, width], found {:?}",
                p.display(),
                t.shape
            ));
        }
        if let Some(first) = parts.first()
            && first.shape[2..] != t.shape[2..]
        {
            return Err(format!(
                "{}: {}x{} differs from the first input's {}x{}",
                p.display(),
                t.shape[2],
                t.shape[3],
                first.shape[2],
                first.shape[3]
            ));
        }
        parts.push(t);
    }
    let Some(first) = parts.first() else {
        return Err("no input".into());
    };
    let mut shape = first.shape.clone();
    shape[0] = parts.iter().map(|t| t.shape[0]).sum();
    Ok(RawTensor {
        shape,
        values: parts.into_iter().flat_map(|t| t.values).collect(),
    })
}

/// The model's embeddings of `input`: float32 [B, output_dim].
pub fn embeddings(
    cfg: &crate::config::ModelConfig,
    model: &crate::TaskModel,
    input: &RawTensor,
    device: super::DeviceKind,
) -> Result<RawTensor, i32> {
    let pred = super::run::forward(cfg, model, input, device)?;
    Ok(pred.tensors("pred").remove(0).1)
}

/// Scales every row of a [B, D] tensor to unit L2 norm (a zero row stays zero).
pub fn normalize_rows(e: &mut RawTensor) {
    let dim = e.shape[1];
    for row in e.values.chunks_mut(dim) {
        let n = row.iter().map(|v| v * v).sum::<f32>().sqrt().max(1e-12);
        row.iter_mut().for_each(|v| *v /= n);
    }
}

/// Refuses a config of another task, pointing at the embedding variant when there is one.
pub fn require_embedding_task(config: &Path) -> Result<(), i32> {
    let cfg = super::build::load(config)?;
    if cfg.task == "embedding" {
        return Ok(());
    }
    let hint = if crate::registry::preset_for_task(&cfg.name, Some("embedding")).is_some() {
        format!(" (`zoo new {} --task embedding` prints one)", cfg.name)
    } else {
        " (`zoo list --task embedding` shows the backbones and heads)".to_string()
    };
    eprintln!(
        "error: {} is a {} model; embeddings need `task: embedding`{hint}",
        config.display(),
        cfg.task
    );
    Err(USAGE)
}

pub fn run(a: &EmbedArgs) -> i32 {
    if a.output.extension().and_then(|e| e.to_str()) != Some("npy") {
        eprintln!("error: --output must end in .npy");
        return USAGE;
    }
    if a.inputs.is_empty() {
        eprintln!("error: give at least one --input");
        return USAGE;
    }
    // The task first: a classifier's weights are not worth downloading for this.
    if let Err(code) = require_embedding_task(a.model.config) {
        return code;
    }
    let (cfg, model, _) = match model_with_weights(&a.model) {
        Ok(m) => m,
        Err(code) => return code,
    };
    let input = match batch(a.inputs, &Pipeline::for_config(&cfg)) {
        Ok(t) => t,
        Err(m) => {
            eprintln!("error: {m}");
            return USAGE;
        }
    };
    let mut e = match embeddings(&cfg, &model, &input, a.model.device) {
        Ok(e) => e,
        Err(code) => return code,
    };
    let dim = e.shape[1];
    if a.normalize {
        normalize_rows(&mut e);
    }
    if let Err(err) = tensor_io::write_npy(a.output, &e) {
        eprintln!("error: cannot write {}: {err}", a.output.display());
        return USAGE;
    }
    eprintln!(
        "wrote {} embeddings of {dim} values to {}",
        e.shape[0],
        a.output.display()
    );
    OK
}
