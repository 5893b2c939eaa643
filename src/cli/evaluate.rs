//! `zoo evaluate`: a trained classification or segmentation model on a split of NetsPresso's
//! data config, prepared by its augmentation config's inference steps: the loss and the
//! metrics of `logging.metrics` (top-1 / top-k accuracy; mIoU and pixel accuracy), per class
//! too when `classwise_analysis` asks.

use super::run::{ModelArgs, detected_rules, resolve_checkpoint};
use super::{DeviceChoice, Failure, INVALID, USAGE};
use crate::train::augment::Augment;
use crate::train::config::merge;
use crate::train::data::evaluation_split;
use crate::train::fit::{Eval, evaluate};
use std::path::Path;

pub struct EvaluateArgs<'a> {
    pub data: &'a Path,
    pub augmentation: &'a Path,
    pub model: &'a Path,
    pub environment: Option<&'a Path>,
    pub logging: Option<&'a Path>,
    pub checkpoint: Option<&'a Path>,
    /// `valid` or `test`.
    pub split: &'a str,
    pub device: DeviceChoice,
}

pub fn run(a: &EvaluateArgs) -> i32 {
    super::exit_code(eval(a))
}

fn eval(a: &EvaluateArgs) -> Result<(), Failure> {
    let usage = |m: String| (m, USAGE);
    if !matches!(a.split, "valid" | "test") {
        return Err(usage(format!("--split is `valid` or `test`, found `{}`", a.split)));
    }
    let mut files: Vec<(&str, &Path)> = vec![("data", a.data), ("augmentation", a.augmentation), ("model", a.model)];
    if let Some(l) = a.logging {
        files.push(("logging", l));
    }
    if let Some(e) = a.environment {
        files.push(("environment", e));
    }
    let cfg = super::train::checked_model(&files)?;
    let merged = merge(&files).map_err(usage)?.merged;
    if !matches!(cfg.task.as_str(), "classification" | "segmentation") {
        return Err(usage(format!(
            "evaluating `{}` models is not supported yet (classification and segmentation are)",
            cfg.task
        )));
    }
    let (classes, masks, samples) = evaluation_split(&merged, a.split).map_err(|m| (m, INVALID))?;
    let inference = Augment::from_config(&merged, "inference")
        .map_err(|m| (format!("{}: {m}", a.augmentation.display()), INVALID))?;
    let metrics = crate::train::metrics::selected(&cfg.task, merged.pointer("/logging/metrics/metric_names"))
        .map_err(|m| (m, INVALID))?;
    let classwise = merged
        .pointer("/logging/metrics/classwise_analysis")
        .and_then(|c| c.as_bool())
        .unwrap_or(false);
    let device = super::device(a.device).map_err(|m| (m, INVALID))?;
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
        fold: false,
    };
    let path = resolve_checkpoint(&args, &cfg)
        .map_err(|m| (m, INVALID))?
        .ok_or_else(|| {
            usage("evaluating needs trained weights: give --checkpoint (e.g. a run's `*_best.safetensors`)".into())
        })?;
    let opts = crate::io::weights::LoadOptions {
        load_head: true,
        remap: detected_rules(&cfg, &model, &path),
    };
    let rep = crate::io::weights::load(&mut model, &path, &opts).map_err(|e| (e.to_string(), INVALID))?;
    eprint!("weights: {}: {rep}", path.display());
    // Evaluation is inference: the same outputs, one pass less per convolution and norm.
    model.fold_for_inference();
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
    let e = Eval {
        cfg: &cfg,
        samples: &samples,
        inference: &inference,
        masks: masks.as_ref(),
        classes: classes.len(),
        metrics: &metrics,
        batch_size,
        workers,
        device,
        cache: None,
    };
    let (scores, meter) = crate::model::guarded(|| evaluate(&e, &model))
        .map_err(|m| (format!("evaluation failed in the tensor library: {m}"), INVALID))?
        .map_err(|m| (m, INVALID))?;
    let k = classes.len().min(5);
    let named: Vec<String> = scores
        .metrics
        .iter()
        .map(|(m, v)| {
            let long = match *m {
                "acc1" => "top-1 accuracy".to_string(),
                "acc5" => format!("top-{k} accuracy"),
                "miou" => "mIoU".to_string(),
                _ => "pixel accuracy".to_string(),
            };
            format!("{long} {v:.4}")
        })
        .collect();
    println!(
        "{} on the {} split ({} samples, {} classes): loss {:.4}, {}",
        cfg.name,
        a.split,
        samples.len(),
        classes.len(),
        scores.loss,
        named.join(", ")
    );
    if classwise {
        println!(
            "{:>5}  {:<20} {}",
            "class",
            "name",
            metrics.iter().map(|m| format!("{m:>10}")).collect::<String>()
        );
        let per: Vec<Vec<Option<f64>>> = metrics.iter().map(|m| meter.classwise(m)).collect();
        for (c, name) in classes.iter().enumerate() {
            let cells: String = per
                .iter()
                .map(|v| v[c].map_or(format!("{:>10}", "-"), |x| format!("{x:>10.4}")))
                .collect();
            println!("{c:>5}  {name:<20} {cells}");
        }
    }
    Ok(())
}
