//! `zoo bench`: the forward pass alone, timed after a warm-up, per batch size: images per
//! second, latency percentiles and peak memory; with `--profile`, where the time goes per
//! module (the trace machinery of `zoo build`'s summary, with times).

use super::build::load;
use super::{DeviceChoice, Format, INVALID, OK, USAGE};
use crate::rt::Pred;
use burn::tensor::{Distribution, Tensor};
use std::path::Path;

pub struct BenchArgs<'a> {
    pub config: &'a Path,
    pub batches: &'a [usize],
    pub input_size: Option<&'a [usize]>,
    pub threads: Option<usize>,
    pub device: DeviceChoice,
    pub format: Format,
    pub iterations: usize,
    pub warmup: usize,
    pub profile: bool,
    /// How deep the profile goes.
    pub depth: usize,
    pub num_classes: Option<usize>,
    /// Fold BatchNorms into convolutions first, as `zoo run` does.
    pub fold: bool,
}

/// One batch size's numbers.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Measurement {
    pub batch: usize,
    pub images_per_second: f64,
    pub latency_ms_p50: f64,
    pub latency_ms_p90: f64,
    pub peak_rss_mb: Option<f64>,
}

/// One module of the profile: its total time over the profiled passes.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ProfileRow {
    pub module: String,
    pub depth: usize,
    pub milliseconds: f64,
    pub share: f64,
    pub calls: usize,
    pub output_shape: Vec<usize>,
}

/// Waits for every tensor of a prediction (reading one value of each forces a lazy backend).
fn settle(p: &Pred) {
    fn first<const D: usize>(t: &Tensor<D>) {
        let _ = t.clone().flatten::<1>(0, D - 1).narrow(0, 0, 1).into_data();
    }
    match p {
        Pred::Rank1(t) => {
            let _ = t.clone().narrow(0, 0, 1).into_data();
        }
        Pred::Rank2(t) => first(t),
        Pred::Rank3(t) => first(t),
        Pred::Rank4(t) => first(t),
        Pred::Rank5(t) => first(t),
        Pred::List(xs) => xs.iter().for_each(settle),
        Pred::Map(xs) => xs.iter().for_each(|(_, p)| settle(p)),
    }
}

/// The process's peak resident memory since the last reset, in MB (Linux `VmHWM`).
fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kb: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kb / 1024.0)
}

/// Resets the peak to the current resident memory (Linux: `5` to `clear_refs`).
fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    // Nearest rank.
    let k = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[k.clamp(1, sorted.len()) - 1]
}

/// The classes a benchmark model predicts by default (NetsPresso's reference counts).
fn default_classes(task: &str) -> usize {
    match task {
        "segmentation" => 19,
        "detection" => 80,
        "pose_estimation" => 17,
        _ => 1000,
    }
}

pub fn run(a: &BenchArgs) -> i32 {
    let cfg = match load(a.config) {
        Ok(c) => c,
        Err(code) => return code,
    };
    if let Some(t) = a.threads {
        if t == 0 {
            eprintln!("error: --threads must be at least 1");
            return USAGE;
        }
        super::set_threads(t);
    }
    if a.batches.is_empty() || a.batches.contains(&0) || a.iterations == 0 {
        eprintln!("error: --batch sizes and --iterations must be at least 1");
        return USAGE;
    }
    let default = crate::preprocess::image::Pipeline::for_config(&cfg).input_size();
    let (h, w) = match a.input_size {
        Some([h, w]) if *h > 0 && *w > 0 => (*h, *w),
        Some(_) => {
            eprintln!("error: --input-size takes two positive numbers, H and W");
            return USAGE;
        }
        None => default,
    };
    let device = match super::device(a.device) {
        Ok(d) => d,
        Err(m) => {
            eprintln!("error: {m}");
            return INVALID;
        }
    };
    let classes = a.num_classes.unwrap_or_else(|| default_classes(&cfg.task));
    let mut model = match crate::model::build(&cfg, classes.max(1), &device) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("error: cannot build {}: {e}", a.config.display());
            return INVALID;
        }
    };
    if !model.reads_images() {
        eprintln!("error: {} reads token ids; `zoo bench` times image models", cfg.name);
        return USAGE;
    }
    if a.fold {
        model.fold_for_inference();
    }
    let mut results = Vec::new();
    for &b in a.batches {
        if let Err(code) = super::run::forward_fits(&cfg, &model, a.device, &device, b, h, w) {
            return code;
        }
        let x = Tensor::<4>::random([b, 3, h, w], Distribution::Normal(0.0, 1.0), &device);
        reset_peak_rss();
        let timed = crate::model::guarded(|| {
            for _ in 0..a.warmup {
                settle(&model.forward(x.clone()));
            }
            let mut ms = Vec::with_capacity(a.iterations);
            for _ in 0..a.iterations {
                let t0 = std::time::Instant::now();
                settle(&model.forward(x.clone()));
                ms.push(t0.elapsed().as_secs_f64() * 1000.0);
            }
            ms
        });
        let mut ms = match timed {
            Ok(ms) => ms,
            Err(m) => {
                eprintln!(
                    "error: {} cannot run on a {b}x3x{h}x{w} input ({m}); try another --input-size",
                    cfg.name
                );
                return INVALID;
            }
        };
        ms.sort_by(f64::total_cmp);
        let mean = ms.iter().sum::<f64>() / ms.len() as f64;
        results.push(Measurement {
            batch: b,
            images_per_second: b as f64 / (mean / 1000.0),
            latency_ms_p50: percentile(&ms, 50.0),
            latency_ms_p90: percentile(&ms, 90.0),
            peak_rss_mb: peak_rss_mb(),
        });
    }
    let profile = if a.profile {
        let b = a.batches[0];
        let x = Tensor::<4>::random([b, 3, h, w], Distribution::Normal(0.0, 1.0), &device);
        match crate::model::guarded(|| profile(&model, &x, a.iterations, a.depth)) {
            Ok(p) => Some(p),
            Err(m) => {
                eprintln!("error: profiling {} failed: {m}", cfg.name);
                return INVALID;
            }
        }
    } else {
        None
    };
    match a.format {
        Format::Json => {
            let mut v = serde_json::json!({
                "model": cfg.name,
                "task": cfg.task,
                "input_size": [h, w],
                "classes": classes,
                "results": results,
            });
            if let Some(p) = &profile {
                v["profile"] = serde_json::json!(p);
            }
            println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
        }
        Format::Human => {
            println!(
                "{} ({}, {classes} classes, input 3x{h}x{w}, {} iterations after {} warm-up)",
                cfg.name, cfg.task, a.iterations, a.warmup
            );
            println!(
                "{:>6} {:>12} {:>10} {:>10} {:>10}",
                "batch", "images/s", "p50 ms", "p90 ms", "peak MB"
            );
            for r in &results {
                let rss = r.peak_rss_mb.map_or("-".to_string(), |m| format!("{m:.0}"));
                println!(
                    "{:>6} {:>12.2} {:>10.2} {:>10.2} {:>10}",
                    r.batch, r.images_per_second, r.latency_ms_p50, r.latency_ms_p90, rss
                );
            }
            if let Some(p) = &profile {
                println!(
                    "\nper module (batch {}, total over {} passes; time includes the modules inside):",
                    a.batches[0], a.iterations
                );
                println!("{:<44} {:>10} {:>7} {:>6}  output", "module", "ms", "share", "calls");
                for r in p {
                    let name = format!("{}{}", "  ".repeat(r.depth), r.module.rsplit('.').next().unwrap_or(""));
                    println!(
                        "{name:<44} {:>10.2} {:>6.1}% {:>6}  {:?}",
                        r.milliseconds,
                        r.share * 100.0,
                        r.calls,
                        r.output_shape
                    );
                }
            }
        }
    }
    OK
}

/// Each traced module's time summed over `passes` forward passes, in call order; shares of the
/// whole passes' time.
fn profile(model: &crate::TaskModel, x: &Tensor<4>, passes: usize, depth: usize) -> Vec<ProfileRow> {
    let mut rows: Vec<ProfileRow> = Vec::new();
    let mut total = 0.0;
    for _ in 0..passes {
        let t0 = std::time::Instant::now();
        let (pred, entries) = crate::rt::trace::record(depth, || model.forward(x.clone()));
        settle(&pred);
        total += t0.elapsed().as_secs_f64() * 1000.0;
        for e in entries {
            match rows.iter_mut().find(|r| r.module == e.path) {
                Some(r) => {
                    r.milliseconds += e.seconds * 1000.0;
                    r.calls += 1;
                }
                None => rows.push(ProfileRow {
                    module: e.path,
                    depth: e.depth,
                    milliseconds: e.seconds * 1000.0,
                    share: 0.0,
                    calls: 1,
                    output_shape: e.shape,
                }),
            }
        }
    }
    for r in &mut rows {
        r.share = if total > 0.0 { r.milliseconds / total } else { 0.0 };
        r.calls /= passes.max(1);
    }
    rows
}
