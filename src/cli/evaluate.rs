//! `zoo evaluate`: a trained classification model on a split of NetsPresso's data config,
//! prepared by its augmentation config's inference steps: loss, top-1 and top-k accuracy.

use super::run::{ModelArgs, detected_rules, resolve_checkpoint};
use super::{DeviceKind, Failure, INVALID, USAGE};
use crate::preprocess::Pipeline;
use crate::train::config::merge;
use crate::train::data::evaluation_split;
use crate::train::fit::{Eval, evaluate};
use std::path::Path;

pub struct EvaluateArgs<'a> {
    pub data: &'a Path,
    pub augmentation: &'a Path,
    pub model: &'a Path,
    pub environment: Option<&'a Path>,
    pub checkpoint: Option<&'a Path>,
    /// `valid` or `test`.
    pub split: &'a str,
    pub device: DeviceKind,
}

pub fn run(a: &EvaluateArgs) -> i32 {
    super::exit_code(eval(a))
}

fn eval(a: &EvaluateArgs) -> Result<(), Failure> {
    let usage = |m: String| (m, USAGE);
    if !matches!(a.split, "valid" | "test") {
        return Err(usage(format!("--split is `valid` or `test`, found `{}`", a.split)));
    }
    let cfg = super::build::load(a.model).map_err(|code| (String::new(), code))?;
    let mut files: Vec<(&str, &Path)> = vec![("data", a.data), ("augmentation", a.augmentation), ("model", a.model)];
    if let Some(e) = a.environment {
        files.push(("environment", e));
    }
    let merged = merge(&files).map_err(usage)?.merged;
    let data_task = merged.pointer("/data/task").and_then(|t| t.as_str()).unwrap_or("");
    if data_task != cfg.task {
        return Err((
            format!(
                "the data config is for `{data_task}` but the model config for `{}`",
                cfg.task
            ),
            INVALID,
        ));
    }
    if cfg.task != "classification" {
        return Err(usage(format!("evaluating `{}` models is not supported yet", cfg.task)));
    }
    let (classes, samples) = evaluation_split(&merged, a.split).map_err(|m| (m, INVALID))?;
    let aug = std::fs::read_to_string(a.augmentation)
        .map_err(|e| usage(format!("cannot read {}: {e}", a.augmentation.display())))?;
    let inference =
        Pipeline::from_augmentation(&aug).map_err(|m| (format!("{}: {m}", a.augmentation.display()), INVALID))?;
    let device = super::device(a.device).map_err(usage)?;
    let mut model = crate::model::build(&cfg, classes.len(), &device)
        .map_err(|e| (format!("cannot build {}: {e}", cfg.name), INVALID))?;
    let args = ModelArgs {
        config: a.model,
        checkpoint: a.checkpoint,
        num_classes: None,
        data: None,
        weights_from: None,
        weights_url: None,
        device: a.device,
    };
    let path = resolve_checkpoint(&args, &cfg)
        .map_err(|m| (m, INVALID))?
        .ok_or_else(|| {
            usage("evaluating needs trained weights: give --checkpoint (e.g. a run's `*_best.safetensors`)".into())
        })?;
    let opts = crate::weights::LoadOptions {
        load_head: true,
        remap: detected_rules(&cfg, &model, &path),
    };
    let rep = crate::weights::load(&mut model, &path, &opts).map_err(|e| (e.to_string(), INVALID))?;
    eprint!("weights: {}: {rep}", path.display());
    let batch_size = merged
        .pointer("/environment/batch_size")
        .and_then(|b| b.as_u64())
        .unwrap_or(8)
        .max(1) as usize;
    let workers = merged
        .pointer("/environment/num_workers")
        .and_then(|b| b.as_u64())
        .unwrap_or(1)
        .max(1) as usize;
    let k = classes.len().min(5);
    let e = Eval {
        cfg: &cfg,
        samples: &samples,
        inference: &inference,
        batch_size,
        workers,
        device,
        k,
    };
    let (loss, top1, topk) = crate::model::guarded(|| evaluate(&e, &model))
        .map_err(|m| (format!("evaluation failed in the tensor library: {m}"), INVALID))?
        .map_err(|m| (m, INVALID))?;
    println!(
        "{} on the {} split ({} samples, {} classes): loss {loss:.4}, top-1 accuracy {top1:.4}, top-{k} accuracy {topk:.4}",
        cfg.name,
        a.split,
        samples.len(),
        classes.len()
    );
    Ok(())
}
