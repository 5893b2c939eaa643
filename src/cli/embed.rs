//! `zoo embed`: embeddings by an `embedding` config, written as float32 [B, output_dim]: of
//! images (files, or a `.npy`/`.safetensors` float tensor [B, 3, H, W] used as is) through an
//! image model, of texts (tokenised) or token ids (an int64 `.npy` [B, L] and its mask)
//! through a text model.

use super::run::{ModelArgs, model_with_weights};
use super::text_input;
use super::{OK, USAGE};
use crate::io::tensor_files;
use crate::preprocess::image::Pipeline;
use crate::rt::RawTensor;
use std::path::{Path, PathBuf};

pub struct EmbedArgs<'a> {
    pub model: ModelArgs<'a>,
    pub inputs: &'a [PathBuf],
    pub texts: &'a [String],
    pub text_file: Option<&'a Path>,
    pub tokenizer: Option<&'a Path>,
    /// Attention mask of `.npy` token ids.
    pub mask: Option<&'a Path>,
    /// Where to write the tokens of `texts`.
    pub tokens: Option<&'a Path>,
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
            tensor_files::read_tensor_file(p)?
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
    device: super::DeviceChoice,
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
    let hint = if crate::architectures::registry::preset_for_task(&cfg.name, Some("embedding")).is_some() {
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

/// Refuses images of another size than a model with a fixed image size (a position table)
/// takes.
pub fn fits_image_size(cfg: &crate::config::ModelConfig, t: RawTensor) -> Result<RawTensor, String> {
    if let Some(side) = crate::model::model_outputs(cfg).ok().and_then(|o| o.image_size)
        && t.shape[2..] != [side as usize, side as usize]
    {
        return Err(format!(
            "{} takes {side}x{side} images (its position table), the input is {}x{}",
            cfg.name, t.shape[2], t.shape[3]
        ));
    }
    Ok(t)
}

/// Flags that only text or only image models take, checked before anything is loaded.
fn check_flags(a: &EmbedArgs) -> Result<(), String> {
    if a.output.extension().and_then(|e| e.to_str()) != Some("npy") {
        return Err("--output must end in .npy".into());
    }
    let text = !a.texts.is_empty() || a.text_file.is_some();
    if text && !a.inputs.is_empty() {
        return Err("give --input or --text/--text-file, not both".into());
    }
    if !text && a.inputs.is_empty() {
        return Err("give --input (images, tensor files, or token ids .npy) or --text/--text-file".into());
    }
    if a.tokens.is_some() && !text {
        return Err("--tokens writes the tokens of --text/--text-file".into());
    }
    if a.tokens
        .is_some_and(|t| t.extension().and_then(|e| e.to_str()) != Some("json"))
    {
        return Err("--tokens must end in .json".into());
    }
    if a.mask.is_some() && text {
        return Err(
            "--mask goes with token ids given as --input IDS.npy; texts get their mask from the tokenizer".into(),
        );
    }
    Ok(())
}

/// Embeddings of a text model: texts through the tokenizer, or `.npy` token ids.
fn text_embeddings(
    a: &EmbedArgs,
    cfg: &crate::config::ModelConfig,
    model: &crate::TaskModel,
) -> Result<RawTensor, String> {
    let limits = crate::model::text_limits(cfg)
        .map_err(|e| e.to_string())?
        .ok_or("the backbone declares no vocab_size / max_tokens")?;
    let rows = if a.inputs.is_empty() {
        let texts = super::tokenize::texts(a.texts, a.text_file)?;
        let path = text_input::find_tokenizer(a.tokenizer, a.model.checkpoint)?;
        let tok = crate::preprocess::text::TextTokenizer::from_file(&path, None, Some(limits.max_tokens))?;
        let encoded = text_input::encode(&tok, &texts)?;
        if let Some(out) = a.tokens {
            let json = serde_json::to_string_pretty(&text_input::tokens_json(&texts, &encoded)).expect("plain JSON");
            std::fs::write(out, json + "\n").map_err(|e| format!("cannot write {}: {e}", out.display()))?;
            eprintln!("wrote the tokens of {} texts to {}", texts.len(), out.display());
        }
        text_input::pad(&encoded, tok.pad_id)
    } else {
        let [ids] = a.inputs else {
            return Err("token ids are one .npy file [batch, tokens] (with --mask for padding)".into());
        };
        text_input::from_npy(ids, a.mask)?
    };
    text_input::embeddings(&cfg.name, model, limits, &rows, a.model.device)
}

pub fn run(a: &EmbedArgs) -> i32 {
    if let Err(m) = check_flags(a) {
        eprintln!("error: {m}");
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
    let text_given = !a.texts.is_empty() || a.text_file.is_some();
    let int_input = a.inputs.first().is_some_and(|p| {
        p.extension().and_then(|e| e.to_str()) == Some("npy") && tensor_files::npy_is_integer(p).unwrap_or(false)
    });
    if !text_given && !int_input && !model.reads_images() {
        eprintln!(
            "error: {} is a text model; give --text/--text-file, or token ids as --input IDS.npy (int64 [batch, tokens])",
            cfg.name
        );
        return USAGE;
    }
    let mut e = if text_given || int_input {
        if !model.reads_tokens() {
            eprintln!(
                "error: {} is an image model; text and token ids need a text model (`zoo list --task embedding`)",
                cfg.name
            );
            return USAGE;
        }
        match text_embeddings(a, &cfg, &model) {
            Ok(e) => e,
            Err(m) => {
                eprintln!("error: {m}");
                return USAGE;
            }
        }
    } else {
        if a.mask.is_some() {
            eprintln!("error: --mask goes with token ids (an integer .npy), not images");
            return USAGE;
        }
        let input = match batch(a.inputs, &Pipeline::for_config(&cfg)).and_then(|t| fits_image_size(&cfg, t)) {
            Ok(t) => t,
            Err(m) => {
                eprintln!("error: {m}");
                return USAGE;
            }
        };
        match embeddings(&cfg, &model, &input, a.model.device) {
            Ok(e) => e,
            Err(code) => return code,
        }
    };
    let dim = e.shape[1];
    if a.normalize {
        normalize_rows(&mut e);
    }
    if let Err(err) = tensor_files::write_npy(a.output, &e) {
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
