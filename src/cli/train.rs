//! `zoo train`: NetsPresso's six configuration files in, a run folder out (see
//! `crate::train::fit` for what it holds).

use super::run::{ModelArgs, resolve_checkpoint};
use super::{DeviceKind, INVALID, OK, USAGE};
use crate::preprocess::Pipeline;
use crate::train::config::{TrainSettings, merge};
use crate::train::data::{TrainTransform, classification};
use crate::train::fit::{EpochResult, Fit, fit, run_dir, write_atomic};
use std::path::Path;

pub struct TrainArgs<'a> {
    pub data: &'a Path,
    pub augmentation: &'a Path,
    pub model: &'a Path,
    pub training: &'a Path,
    pub logging: Option<&'a Path>,
    pub environment: Option<&'a Path>,
    pub device: DeviceKind,
}

fn report(r: &EpochResult) {
    let valid = match r.valid {
        Some((l, a1, a5)) => format!("{l:>10.4} {a1:>10.4} {a5:>10.4}"),
        None => format!("{:>10} {:>10} {:>10}", "-", "-", "-"),
    };
    println!(
        "{:>5} {:>10.3e} {:>10.4} {:>10.4} {valid} {:>7.1}s",
        r.epoch, r.lr, r.train_loss, r.train_acc1, r.seconds
    );
}

pub fn run(a: &TrainArgs) -> i32 {
    match train(a) {
        Ok(()) => OK,
        Err((m, code)) => {
            if !m.is_empty() {
                eprintln!("error: {m}");
            }
            code
        }
    }
}

fn train(a: &TrainArgs) -> Result<(), (String, i32)> {
    let usage = |m: String| (m, USAGE);
    // The model config first, with located diagnostics.
    let cfg = super::build::load(a.model).map_err(|code| (String::new(), code))?;
    let mut files: Vec<(&str, &Path)> = vec![
        ("data", a.data),
        ("augmentation", a.augmentation),
        ("model", a.model),
        ("training", a.training),
    ];
    if let Some(l) = a.logging {
        files.push(("logging", l));
    }
    if let Some(e) = a.environment {
        files.push(("environment", e));
    }
    let run = merge(&files).map_err(usage)?;
    let settings = TrainSettings::from_config(&run.merged).map_err(|m| (m, INVALID))?;
    let data_task = run.merged.pointer("/data/task").and_then(|t| t.as_str()).unwrap_or("");
    if data_task != cfg.task {
        return Err((
            format!(
                "the data config is for `{data_task}` but the model config for `{}` (`data.task` vs `model.task`)",
                cfg.task
            ),
            INVALID,
        ));
    }
    if cfg.task != "classification" {
        return Err((
            format!(
                "training `{}` models is not supported yet; zoo trains classification models",
                cfg.task
            ),
            USAGE,
        ));
    }
    let splits = classification(&run.merged).map_err(|m| (m, INVALID))?;
    let transform = TrainTransform::from_config(&run.merged).map_err(|m| (m, INVALID))?;
    let aug_text = std::fs::read_to_string(a.augmentation)
        .map_err(|e| usage(format!("cannot read {}: {e}", a.augmentation.display())))?;
    let inference =
        Pipeline::from_augmentation(&aug_text).map_err(|m| (format!("{}: {m}", a.augmentation.display()), INVALID))?;
    let device = super::device(a.device).map_err(usage)?.autodiff();
    let mut model = crate::model::build(&cfg, splits.classes.len(), &device)
        .map_err(|e| (format!("cannot build {}: {e}", a.model.display()), INVALID))?;
    let args = ModelArgs {
        config: a.model,
        checkpoint: None,
        num_classes: None,
        data: None,
        weights_from: None,
        weights_url: None,
        device: a.device,
    };
    if let Some(path) = resolve_checkpoint(&args, &cfg).map_err(|m| (m, INVALID))? {
        let opts = crate::weights::LoadOptions {
            load_head: cfg.checkpoint.load_head,
            remap: Vec::new(),
        };
        let rep = crate::weights::load(&mut model, &path, &opts).map_err(|e| (e.to_string(), INVALID))?;
        eprint!("weights: {}: {rep}", path.display());
    }
    let project = settings
        .project_id
        .clone()
        .unwrap_or_else(|| format!("{}_{}", cfg.task, cfg.name.replace(['/', '\\'], "_")));
    let dir = run_dir(&settings.output_dir, &project).map_err(usage)?;
    write_atomic(&dir.join("hparams.yaml"), |p| {
        std::fs::write(p, super::emit::yaml(&run.merged)).map_err(|e| e.to_string())
    })
    .map_err(usage)?;
    eprintln!(
        "training {} ({}) on {} samples, validating on {} ({}), {} classes; results in {}",
        cfg.name,
        cfg.task,
        splits.train.len(),
        splits.valid.len(),
        splits.valid_from,
        splits.classes.len(),
        dir.display()
    );
    println!(
        "{:>5} {:>10} {:>10} {:>10} {:>10} {:>10} {:>10} {:>8}",
        "epoch", "lr", "loss", "acc1", "val_loss", "val_acc1", "val_acc5", "time"
    );
    let f = Fit {
        cfg: &cfg,
        settings: &settings,
        splits: &splits,
        transform: &transform,
        inference: &inference,
        dir: &dir,
        device,
        report: &report,
    };
    let results = crate::model::guarded(|| fit(&f, model))
        .map_err(|m| (format!("training failed in the tensor library: {m}"), INVALID))?
        .map_err(|m| (m, INVALID))?;
    if let Some((epoch, (loss, acc1, _))) =
        results
            .iter()
            .filter_map(|r| r.valid.map(|v| (r.epoch, v)))
            .min_by(|a, b| {
                if settings.best_model_criterion == "metric" {
                    b.1.1.total_cmp(&a.1.1)
                } else {
                    a.1.0.total_cmp(&b.1.0)
                }
            })
    {
        eprintln!(
            "best epoch {epoch}: validation loss {loss:.4}, accuracy {acc1:.4}; weights in {}",
            dir.display()
        );
    }
    Ok(())
}
