//! The classification training loop, as NetsPresso Trainer 1.4.1 runs it: the learning rate
//! fixed within an epoch (its scheduler steps per epoch), ⌊N/B⌋ shuffled steps per epoch
//! (drop_last), the weighted sum of `model.losses`, validation and checkpoints at its cadence
//! (epochs 1, 1 + v, ... and the last), `best` by validation loss or the first metric.
//!
//! The run folder `<output_dir>/<project_id>/version_<n>/` holds `hparams.yaml` (the merged
//! configs), `results.csv` (one row per epoch) and the weights in NetsPresso's key layout
//! (`<task>_<name>_{last,best,epoch_<n>}.safetensors`), each written to a temporary file and
//! renamed, so a killed run never leaves a half-written checkpoint.

use super::config::TrainSettings;
use super::data::{Sample, Splits, TrainTransform};
use super::rng::Rng;
use crate::config::ModelConfig;
use crate::preprocess::Pipeline;
use crate::tensor_io::RawTensor;
use burn::module::Module;
use burn::optim::GradientsParams;
use burn::tensor::{Device, Tensor};
use std::path::{Path, PathBuf};

/// One epoch's numbers (a row of `results.csv`).
#[derive(Debug, Clone, PartialEq)]
pub struct EpochResult {
    pub epoch: usize,
    pub lr: f64,
    pub train_loss: f64,
    pub train_acc1: f64,
    pub valid: Option<(f64, f64, f64)>,
    pub seconds: f64,
}

/// `cross_entropy` as PyTorch computes it with `label_smoothing` ε: the targets are
/// (1 - ε) one-hot + ε / C.
fn cross_entropy(logits: Tensor<2>, labels: &[usize], smoothing: f64) -> Tensor<1> {
    let [b, c] = logits.dims();
    let device = logits.device();
    let mut q = vec![(smoothing / c as f64) as f32; b * c];
    for (i, l) in labels.iter().enumerate() {
        q[i * c + l] += (1.0 - smoothing) as f32;
    }
    let q = Tensor::<1>::from_floats(q.as_slice(), &device).reshape([b, c]);
    let logp = burn::tensor::activation::log_softmax(logits, 1);
    (q * logp).sum_dim(1).mean().neg().reshape([1])
}

/// The total loss of `model.losses` (weight null = 1) for logits.
fn total_loss(cfg: &ModelConfig, logits: Tensor<2>, labels: &[usize]) -> Result<Tensor<1>, String> {
    let mut total: Option<Tensor<1>> = None;
    for l in &cfg.losses {
        let loss = match l.criterion.as_str() {
            "cross_entropy" => {
                let eps = l.fields.get("label_smoothing").and_then(|v| v.as_f64()).unwrap_or(0.0);
                cross_entropy(logits.clone(), labels, eps)
            }
            other => {
                return Err(format!(
                    "loss `{other}` is not supported for classification training yet"
                ));
            }
        };
        let loss = loss.mul_scalar(l.weight.unwrap_or(1.0));
        total = Some(match total {
            None => loss,
            Some(t) => t + loss,
        });
    }
    total.ok_or_else(|| "`model.losses` is empty; classification trains with `cross_entropy`".to_string())
}

/// Stacks [1, 3, H, W] images into one batch.
fn stack(parts: Vec<RawTensor>) -> Result<RawTensor, String> {
    let first = parts.first().ok_or("an empty batch")?;
    let shape = first.shape.clone();
    if let Some(p) = parts.iter().find(|p| p.shape != shape) {
        return Err(format!(
            "images of one batch differ in size ({:?} and {:?}); give the augmentation a resize or crop to one size",
            shape, p.shape
        ));
    }
    let n = parts.len();
    Ok(RawTensor {
        shape: vec![n, shape[1], shape[2], shape[3]],
        values: parts.into_iter().flat_map(|p| p.values).collect(),
    })
}

/// Loads a batch on `workers` threads; each image's randomness comes from its own seed, so the
/// batch does not depend on the thread count.
fn load_batch(
    samples: &[&Sample],
    workers: usize,
    load: &(dyn Fn(&Sample, u64) -> Result<RawTensor, String> + Sync),
    seeds: &[u64],
) -> Result<RawTensor, String> {
    let workers = workers.clamp(1, samples.len().max(1));
    let chunk = samples.len().div_ceil(workers);
    let results: Vec<Result<Vec<RawTensor>, String>> = std::thread::scope(|scope| {
        let handles: Vec<_> = samples
            .chunks(chunk)
            .zip(seeds.chunks(chunk))
            .map(|(part, seeds)| scope.spawn(move || part.iter().zip(seeds).map(|(s, seed)| load(s, *seed)).collect()))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| Err("an image loader failed".into())))
            .collect()
    });
    let mut parts = Vec::new();
    for r in results {
        parts.extend(r?);
    }
    stack(parts)
}

/// Top-1 hits and top-k hits of logits against labels.
fn hits(logits: &RawTensor, labels: &[usize], k: usize) -> (usize, usize) {
    let c = logits.shape[1];
    let (mut top1, mut topk) = (0, 0);
    for (row, l) in logits.values.chunks(c).zip(labels) {
        let mine = row[*l];
        let better = row.iter().filter(|v| **v > mine).count();
        top1 += usize::from(better == 0);
        topk += usize::from(better < k);
    }
    (top1, topk)
}

fn seconds_since(t: std::time::Instant) -> f64 {
    t.elapsed().as_secs_f64()
}

/// Writes `path` through a temporary file in the same folder, renamed into place.
pub fn write_atomic(path: &Path, write: impl FnOnce(&Path) -> Result<(), String>) -> Result<(), String> {
    // `name.tmp.ext`: the extension still names the format.
    let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("file");
    let tmp = match path.extension().and_then(|e| e.to_str()) {
        Some(ext) => path.with_file_name(format!("{stem}.tmp.{ext}")),
        None => path.with_file_name(format!("{stem}.tmp")),
    };
    write(&tmp)?;
    std::fs::rename(&tmp, path).map_err(|e| format!("cannot move {} into place: {e}", tmp.display()))
}

/// A fresh `version_<n>` folder under `<output_dir>/<project>`.
pub fn run_dir(output_dir: &Path, project: &str) -> Result<PathBuf, String> {
    let base = output_dir.join(project);
    std::fs::create_dir_all(&base).map_err(|e| format!("cannot create {}: {e}", base.display()))?;
    for n in 0.. {
        let dir = base.join(format!("version_{n}"));
        // create_dir fails when another run took the number first.
        if std::fs::create_dir(&dir).is_ok() {
            return Ok(dir);
        }
        if n > 100_000 {
            break;
        }
    }
    Err(format!("cannot create a version folder under {}", base.display()))
}

pub struct Fit<'a> {
    pub cfg: &'a ModelConfig,
    pub settings: &'a TrainSettings,
    pub splits: &'a Splits,
    pub transform: &'a TrainTransform,
    pub inference: &'a Pipeline,
    pub dir: &'a Path,
    pub device: Device,
    /// Prints one line per epoch.
    pub report: &'a dyn Fn(&EpochResult),
}

const CSV_HEADER: &str = "epoch,lr,train_loss,train_acc1,valid_loss,valid_acc1,valid_acc5,seconds";

fn csv_row(r: &EpochResult) -> String {
    let (vl, v1, v5) = match r.valid {
        Some((l, a1, a5)) => (format!("{l:.6}"), format!("{a1:.6}"), format!("{a5:.6}")),
        None => (String::new(), String::new(), String::new()),
    };
    format!(
        "{},{:.8e},{:.6},{:.6},{vl},{v1},{v5},{:.2}",
        r.epoch, r.lr, r.train_loss, r.train_acc1, r.seconds
    )
}

/// Where a run stands after a finished epoch: what `--resume` needs besides the weights and
/// the optimizer state (`resume/model_<epoch>.bpk`, `resume/optim_<epoch>.bpk`).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ResumeState {
    pub epoch: usize,
    /// The best validation score so far (loss, or minus the first metric).
    pub best: Option<f64>,
    /// `results.csv` so far, header included.
    pub rows: Vec<String>,
    /// The EMA's update count, when the run keeps one (its weights: `resume/ema_<epoch>.bpk`).
    #[serde(default)]
    pub ema_updates: Option<u64>,
}

const RESUME: &str = "resume";

/// Saves the state after `epoch`: the epoch's files first, then `state.json` naming the epoch
/// (the commit point), then the previous epoch's files are removed. A kill at any moment
/// leaves a complete earlier state.
fn save_resume(
    dir: &Path,
    model: &crate::TaskModel,
    optim: &burn::optim::ModuleOptimizer,
    ema: Option<&crate::TaskModel>,
    state: &ResumeState,
) -> Result<(), String> {
    let r = dir.join(RESUME);
    std::fs::create_dir_all(&r).map_err(|e| format!("cannot create {}: {e}", r.display()))?;
    let e = state.epoch;
    write_atomic(&r.join(format!("model_{e}.bpk")), |p| {
        crate::weights::save(model, p).map_err(|e| e.to_string())
    })?;
    write_atomic(&r.join(format!("optim_{e}.bpk")), |p| {
        optim.save(p).map_err(|e| e.to_string())
    })?;
    if let Some(m) = ema {
        write_atomic(&r.join(format!("ema_{e}.bpk")), |p| {
            crate::weights::save(m, p).map_err(|e| e.to_string())
        })?;
    }
    let json = serde_json::to_string_pretty(state).map_err(|e| e.to_string())?;
    write_atomic(&r.join("state.json"), |p| {
        std::fs::write(p, json).map_err(|e| e.to_string())
    })?;
    if e > 1 {
        for f in [
            format!("model_{}.bpk", e - 1),
            format!("optim_{}.bpk", e - 1),
            format!("ema_{}.bpk", e - 1),
        ] {
            let _ = std::fs::remove_file(r.join(f));
        }
    }
    Ok(())
}

/// The state a run folder was left in, with its weights and optimizer state loaded.
pub fn load_resume(
    dir: &Path,
    model: &mut crate::TaskModel,
    optim: burn::optim::ModuleOptimizer,
) -> Result<(ResumeState, burn::optim::ModuleOptimizer), String> {
    let r = dir.join(RESUME);
    let text = std::fs::read_to_string(r.join("state.json")).map_err(|e| {
        format!(
            "{} holds no resumable state ({}: {e}); it finished no epoch, or it is not a zoo run folder",
            dir.display(),
            r.join("state.json").display()
        )
    })?;
    let state: ResumeState =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", r.join("state.json").display()))?;
    let e = state.epoch;
    let opts = crate::weights::LoadOptions {
        load_head: true,
        remap: Vec::new(),
    };
    crate::weights::load(model, &r.join(format!("model_{e}.bpk")), &opts).map_err(|e| e.to_string())?;
    let optim = optim
        .load(r.join(format!("optim_{e}.bpk")))
        .map_err(|err| format!("{}: {err}", r.join(format!("optim_{e}.bpk")).display()))?;
    Ok((state, optim))
}

/// Trains `model` (built on an autodiff device), from the start or from `resume`; returns the
/// results of the epochs it ran.
pub fn fit(
    f: &Fit,
    mut model: crate::TaskModel,
    mut optim: burn::optim::ModuleOptimizer,
    resume: Option<ResumeState>,
) -> Result<Vec<EpochResult>, String> {
    let s = f.settings;
    let lrs = s.scheduler.sequence(s.optimizer.lr, s.epochs)?;
    let n = f.splits.train.len();
    let steps = n / s.batch_size;
    if steps == 0 {
        return Err(format!(
            "the train split has {n} samples, fewer than one batch of {}; lower `environment.batch_size`",
            s.batch_size
        ));
    }
    let classes = f.splits.classes.len();
    let k = classes.min(5);
    let stem = format!("{}_{}", f.cfg.task, f.cfg.name.replace(['/', '\\'], "_"));
    let csv = f.dir.join("results.csv");
    let mut ema = s.ema.clone().map(|c| super::ema::Ema::new(c, &model));
    if let (Some(e), Some(r)) = (ema.as_mut(), resume.as_ref()) {
        let file = f.dir.join(RESUME).join(format!("ema_{}.bpk", r.epoch));
        let opts = crate::weights::LoadOptions {
            load_head: true,
            remap: Vec::new(),
        };
        crate::weights::load(&mut e.model, &file, &opts).map_err(|err| format!("{}: {err}", file.display()))?;
        e.updates = r.ema_updates.unwrap_or(0);
    }
    let (first, mut rows, mut best) = match resume {
        Some(r) => (r.epoch + 1, r.rows, r.best),
        None => (1, vec![CSV_HEADER.to_string()], None),
    };
    let mut results = Vec::new();
    let workers = s.num_workers.max(1);
    let train_load = |sample: &Sample, seed: u64| f.transform.load(&sample.path, &mut Rng::new(seed));
    for epoch in first..=s.epochs {
        let start = std::time::Instant::now();
        let lr = lrs[epoch - 1];
        let mut order: Vec<usize> = (0..n).collect();
        Rng::new(s.seed ^ (epoch as u64).wrapping_mul(0x9E37_79B9)).shuffle(&mut order);
        let (mut loss_sum, mut correct) = (0.0, 0usize);
        for step in 0..steps {
            let idx = &order[step * s.batch_size..(step + 1) * s.batch_size];
            let samples: Vec<&Sample> = idx.iter().map(|i| &f.splits.train[*i]).collect();
            let seeds: Vec<u64> = idx
                .iter()
                .map(|i| s.seed.wrapping_mul(1_000_003) ^ ((epoch as u64) << 32) ^ *i as u64)
                .collect();
            let batch = load_batch(&samples, workers, &train_load, &seeds)?;
            let labels: Vec<usize> = samples.iter().map(|s| s.label).collect();
            let x = batch.to_tensor::<4>(&f.device)?;
            let logits = match model.forward(x) {
                crate::rt::Pred::Rank2(t) => t,
                other => {
                    return Err(format!(
                        "a classification model predicts [batch, classes], found {:?}",
                        other.dims()
                    ));
                }
            };
            let loss = total_loss(f.cfg, logits.clone(), &labels)?;
            let value = loss.clone().into_scalar::<f32>() as f64;
            if !value.is_finite() {
                return Err(format!(
                    "epoch {epoch}, step {}: the loss is {value}; lower the learning rate",
                    step + 1
                ));
            }
            loss_sum += value;
            let out = RawTensor::from_tensor(logits.detach())?;
            correct += hits(&out, &labels, 1).0;
            let mut grads = GradientsParams::from_grads(loss.backward(), &model);
            if let Some(max_norm) = s.max_norm {
                super::clip::clip_global_norm(&model, &mut grads, max_norm);
            }
            model = optim.step(lr, model, grads);
            if let Some(e) = ema.as_mut() {
                e.update(&model);
            }
        }
        let train_loss = loss_sum / steps as f64;
        let train_acc1 = correct as f64 / (steps * s.batch_size) as f64;
        let valid = if s.validates(epoch) {
            let e = Eval {
                cfg: f.cfg,
                samples: &f.splits.valid,
                inference: f.inference,
                batch_size: s.batch_size,
                workers,
                device: f.device.clone().without_autodiff(),
                k,
            };
            // NetsPresso validates (and saves) the EMA weights when it keeps them.
            let weights = match &ema {
                Some(m) => m.model.valid(),
                None => model.valid(),
            };
            Some(evaluate(&e, &weights)?)
        } else {
            None
        };
        let r = EpochResult {
            epoch,
            lr,
            train_loss,
            train_acc1,
            valid,
            seconds: seconds_since(start),
        };
        (f.report)(&r);
        rows.push(csv_row(&r));
        write_atomic(&csv, |p| {
            std::fs::write(p, rows.join("\n") + "\n").map_err(|e| e.to_string())
        })?;
        if s.checkpoints(epoch) {
            let weights = match &ema {
                Some(m) => m.model.valid(),
                None => model.valid(),
            };
            let save = |name: &str| -> Result<(), String> {
                let path = f.dir.join(format!("{stem}_{name}.safetensors"));
                write_atomic(&path, |p| crate::weights::save(&weights, p).map_err(|e| e.to_string()))
            };
            if !s.save_best_only {
                save(&format!("epoch_{epoch}"))?;
            }
            if let Some((vloss, acc1, _)) = valid {
                let score = if s.best_model_criterion == "metric" {
                    -acc1
                } else {
                    vloss
                };
                if best.is_none_or(|b| score < b) {
                    best = Some(score);
                    save("best")?;
                }
            }
            save("last")?;
        }
        let state = ResumeState {
            epoch,
            best,
            rows: rows.clone(),
            ema_updates: ema.as_ref().map(|e| e.updates),
        };
        save_resume(f.dir, &model, &optim, ema.as_ref().map(|e| &e.model), &state)?;
        results.push(r);
    }
    Ok(results)
}

/// What an evaluation runs on: samples prepared by the inference steps, in batches.
pub struct Eval<'a> {
    pub cfg: &'a ModelConfig,
    pub samples: &'a [Sample],
    pub inference: &'a Pipeline,
    pub batch_size: usize,
    pub workers: usize,
    /// A device without autodiff (the model is in validation mode).
    pub device: Device,
    /// Top-k accuracy's k (NetsPresso: min(5, classes)).
    pub k: usize,
}

/// Loss (mean over batches, as NetsPresso averages), top-1 and top-k accuracy (fractions).
pub fn evaluate(e: &Eval, model: &crate::TaskModel) -> Result<(f64, f64, f64), String> {
    let load = |sample: &Sample, _seed: u64| e.inference.load(&sample.path);
    let (mut loss_sum, mut batches, mut top1, mut topk) = (0.0, 0usize, 0usize, 0usize);
    for chunk in e.samples.chunks(e.batch_size.max(1)) {
        let samples: Vec<&Sample> = chunk.iter().collect();
        let batch = load_batch(&samples, e.workers, &load, &vec![0; samples.len()])?;
        let labels: Vec<usize> = chunk.iter().map(|s| s.label).collect();
        let logits = match model.forward(batch.to_tensor::<4>(&e.device)?) {
            crate::rt::Pred::Rank2(t) => t,
            other => {
                return Err(format!(
                    "a classification model predicts [batch, classes], found {:?}",
                    other.dims()
                ));
            }
        };
        let loss = total_loss(e.cfg, logits.clone(), &labels)?.into_scalar::<f32>() as f64;
        loss_sum += loss;
        batches += 1;
        let (a, b) = hits(&RawTensor::from_tensor(logits)?, &labels, e.k);
        top1 += a;
        topk += b;
    }
    let n = e.samples.len().max(1) as f64;
    Ok((loss_sum / batches.max(1) as f64, top1 as f64 / n, topk as f64 / n))
}
