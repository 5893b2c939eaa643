//! `zoo build`: validate, build, run one forward pass, print a layer summary.

use super::{DeviceChoice, INVALID, OK, USAGE};
use crate::config;
use crate::config::diagnostics::Report;
use burn::tensor::{Distribution, Tensor};
use std::path::Path;

/// Reads and validates a config, printing its diagnostics; `Err` is the exit code.
pub fn load(file: &Path) -> Result<crate::config::ModelConfig, i32> {
    let shown = file.display().to_string();
    let text = match std::fs::read_to_string(file) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: cannot read {shown}: {e}");
            return Err(USAGE);
        }
    };
    let v = config::check_text(&text);
    eprint!(
        "{}",
        Report {
            file: &shown,
            text: &text,
            diagnostics: &v.diagnostics
        }
        .human(super::color(true))
    );
    v.config.ok_or_else(|| {
        eprintln!("{shown}: invalid; nothing was built");
        INVALID
    })
}

pub fn keys(file: &Path, num_classes: usize) -> i32 {
    let cfg = match load(file) {
        Ok(c) => c,
        Err(code) => return code,
    };
    match crate::model::build(&cfg, num_classes.max(1), &burn::tensor::Device::flex()) {
        Ok(model) => {
            for (k, shape) in crate::model::state_dict(&model) {
                println!("{k} {shape:?}");
            }
            OK
        }
        Err(e) => {
            eprintln!("error: cannot build {}: {e}", file.display());
            INVALID
        }
    }
}

pub fn run(file: &Path, num_classes: usize, input_size: Option<&[usize]>, device: DeviceChoice, depth: usize) -> i32 {
    let shown = file.display().to_string();
    let cfg = match load(file) {
        Ok(c) => c,
        Err(code) => return code,
    };
    if num_classes == 0 {
        eprintln!("error: --num-classes must be at least 1");
        return USAGE;
    }
    // By default, the size `zoo run` gives the model (224x224, 640x640 for detection, the
    // pose head's target size).
    let default = crate::preprocess::image::Pipeline::for_config(&cfg).input_size();
    let (h, w) = match input_size {
        Some([h, w]) if *h > 0 && *w > 0 => (*h, *w),
        Some(_) => {
            eprintln!("error: --input-size takes two positive numbers, H and W");
            return USAGE;
        }
        None => default,
    };
    let device_kind = device;
    let device = match super::device(device) {
        Ok(d) => d,
        Err(m) => {
            eprintln!("error: {m}");
            return INVALID;
        }
    };
    let model = match crate::model::build(&cfg, num_classes, &device) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("error: cannot build {shown}: {e}");
            return INVALID;
        }
    };
    let limits = match crate::model::text_limits(&cfg) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("error: cannot build {shown}: {e}");
            return INVALID;
        }
    };
    if let Some(l) = limits
        && !model.reads_images()
    {
        return run_text(&cfg, &model, l, &device, depth);
    }
    if let Err(code) = super::run::forward_fits(&cfg, &model, device_kind, &device, 1, h, w) {
        return code;
    }
    let x = Tensor::<4>::random([1, 3, h, w], Distribution::Normal(0.0, 1.0), &device);
    let (pred, entries) = match crate::model::guarded(|| crate::rt::trace::record(depth, || model.forward(x))) {
        Ok(r) => r,
        Err(m) => {
            let hint = if (h, w) == default {
                "try another --input-size".to_string()
            } else {
                format!(
                    "try a larger --input-size, or {}x{} as `zoo run` uses",
                    default.0, default.1
                )
            };
            eprintln!("error: {} cannot run on a 1x3x{h}x{w} input ({m}); {hint}", cfg.name);
            return INVALID;
        }
    };
    println!(
        "{} ({}, {} classes, input 1x3x{h}x{w})",
        cfg.name, cfg.task, num_classes
    );
    summary(&model, &entries, &pred);
    OK
}

/// A text model on one input of 16 tokens (fewer if its position table is shorter).
fn run_text(
    cfg: &crate::config::ModelConfig,
    model: &crate::TaskModel,
    limits: crate::model::TextLimits,
    device: &burn::tensor::Device,
    depth: usize,
) -> i32 {
    let n = limits.max_tokens.min(16);
    let ids: Vec<i64> = (0..n as i64).map(|k| k % limits.vocab_size as i64).collect();
    let ids = Tensor::<1, burn::tensor::Int>::from_ints(ids.as_slice(), device).reshape([1, n]);
    let mask = Tensor::<2>::ones([1, n], device);
    let (pred, entries) =
        match crate::model::guarded(|| crate::rt::trace::record(depth, || model.forward_tokens(ids, mask))) {
            Ok(r) => r,
            Err(m) => {
                eprintln!("error: {} cannot run on {n} tokens ({m})", cfg.name);
                return INVALID;
            }
        };
    println!("{} ({}, input 1x{n} tokens)", cfg.name, cfg.task);
    summary(model, &entries, &pred);
    OK
}

/// The layer table, the parameter count and the output shapes.
fn summary(model: &crate::TaskModel, entries: &[crate::rt::trace::Entry], pred: &crate::rt::Pred) {
    println!("{:<48} output shape", "layer");
    for e in entries {
        let name = e.path.rsplit('.').next().unwrap_or(&e.path);
        let label = format!("{}{}", "  ".repeat(e.depth), name);
        println!("{label:<48} {:?}", e.shape);
    }
    println!(
        "total parameters: {}",
        crate::config::limits::thousands(crate::model::count_params(model) as u64)
    );
    match pred {
        crate::rt::Pred::List(_) | crate::rt::Pred::Map(_) => {
            for (name, t) in pred.tensors("pred") {
                println!("output {name}: {:?}", t.shape);
            }
        }
        _ => println!("output shape: {:?}", pred.dims()),
    }
}
