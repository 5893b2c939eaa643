//! The training loop (classification and segmentation), as NetsPresso Trainer 1.4.1 runs it: the learning rate
//! fixed within an epoch (its scheduler steps per epoch), ⌊N/B⌋ shuffled steps per epoch
//! (drop_last), the weighted sum of `model.losses`, validation and checkpoints at its cadence
//! (epochs 1, 1 + v, ... and the last), `best` by validation loss or the first metric.
//!
//! The run folder `<output_dir>/<project_id>/version_<n>/` holds `hparams.yaml` (the merged
//! configs), `results.csv` (one row per epoch) and its plot `results.png`, `tensorboard/` (the same scalars, when
//! `logging.tensorboard`), `classwise.csv` (per-class validation metrics,
//! when `logging.metrics.classwise_analysis` asks) and the weights in NetsPresso's key layout
//! (`<task>_<name>_{last,best,epoch_<n>}.safetensors`), each written to a temporary file and
//! renamed, so a killed run never leaves a half-written checkpoint.

use super::augment::Augment;
use super::config::TrainSettings;
use super::data::{MaskMap, Sample, Splits, load_sample};
use super::loss::{Targets, total_loss};
use super::metrics::{Meter, Prediction};
use super::rng::Rng;
use crate::config::ModelConfig;
use crate::rt::Pred;
use crate::rt::RawTensor;
use burn::module::Module;
use burn::optim::GradientsParams;
use burn::tensor::Device;
use image::GrayImage;
use std::path::{Path, PathBuf};

/// One phase's numbers: the mean loss and the metrics by column name.
#[derive(Debug, Clone, PartialEq)]
pub struct Scores {
    pub loss: f64,
    pub metrics: Vec<(&'static str, f64)>,
}

impl Scores {
    /// The primary (first) metric.
    pub fn primary(&self) -> f64 {
        self.metrics.first().map_or(f64::NAN, |m| m.1)
    }
}

/// One epoch's numbers (a row of `results.csv`).
#[derive(Debug, Clone, PartialEq)]
pub struct EpochResult {
    pub epoch: usize,
    pub lr: f64,
    /// The train loss and the primary metric on the augmented training batches.
    pub train: Scores,
    pub valid: Option<Scores>,
    pub seconds: f64,
}

/// One loaded sample: the input [1, 3, H, W] and its mask.
type Loaded = (RawTensor, Option<GrayImage>);

/// Stacks [1, 3, H, W] images (and their masks) into one batch.
fn stack(parts: Vec<Loaded>, labels: Vec<usize>) -> Result<(RawTensor, Targets), String> {
    let first = &parts.first().ok_or("an empty batch")?.0;
    let shape = first.shape.clone();
    if let Some(p) = parts.iter().find(|p| p.0.shape != shape) {
        return Err(format!(
            "images of one batch differ in size ({:?} and {:?}); give the augmentation a resize or crop to one size",
            shape, p.0.shape
        ));
    }
    let n = parts.len();
    let mut values = Vec::with_capacity(n * shape.iter().product::<usize>());
    let mut masks = Vec::new();
    let mut with_masks = 0;
    for (x, m) in parts {
        values.extend(x.values);
        if let Some(m) = m {
            masks.extend(m.into_raw());
            with_masks += 1;
        }
    }
    let targets = if with_masks == n {
        Targets::Masks {
            values: masks,
            dims: [n, shape[2], shape[3]],
        }
    } else {
        Targets::Labels(labels)
    };
    Ok((
        RawTensor {
            shape: vec![n, shape[1], shape[2], shape[3]],
            values,
        },
        targets,
    ))
}

/// How one sample is loaded (its seed makes augmentation repeatable).
type Loader<'a> = dyn Fn(&Sample, u64) -> Result<Loaded, String> + Sync + 'a;

/// Loads samples on `workers` threads; each sample's randomness comes from its own seed, so
/// the result does not depend on the thread count.
fn load_all(samples: &[&Sample], workers: usize, load: &Loader, seeds: &[u64]) -> Result<Vec<Loaded>, String> {
    let workers = workers.clamp(1, samples.len().max(1));
    let chunk = samples.len().div_ceil(workers).max(1);
    let results: Vec<Result<Vec<Loaded>, String>> = std::thread::scope(|scope| {
        let handles: Vec<_> = samples
            .chunks(chunk)
            .zip(seeds.chunks(chunk))
            .map(|(part, seeds)| scope.spawn(move || part.iter().zip(seeds).map(|(s, seed)| load(s, *seed)).collect()))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| Err("a data loader failed".into())))
            .collect()
    });
    let mut parts = Vec::new();
    for r in results {
        parts.extend(r?);
    }
    Ok(parts)
}

fn load_batch(
    samples: &[&Sample],
    workers: usize,
    load: &Loader,
    seeds: &[u64],
) -> Result<(RawTensor, Targets), String> {
    let parts = load_all(samples, workers, load, seeds)?;
    stack(parts, samples.iter().map(|s| s.label).collect())
}

/// What the metrics read from a prediction: logits, or each pixel's arg-max class after the
/// logits are upsampled to the masks' size.
fn prediction(pred: &Pred, targets: &Targets) -> Result<Prediction, String> {
    // A training program's outputs: the prediction is the first.
    let pred = match pred {
        Pred::List(v) if !v.is_empty() => &v[0],
        p => p,
    };
    match (pred, targets) {
        (Pred::Rank2(t), Targets::Labels(_)) => Ok(Prediction::Logits(RawTensor::from_tensor(t.clone().detach())?)),
        (Pred::Rank4(t), Targets::Masks { dims, .. }) => {
            let masks = crate::postprocess::segmentation_masks(t.clone().detach(), [dims[1], dims[2]])?;
            Ok(Prediction::Classes(masks.into_iter().flat_map(|m| m.labels).collect()))
        }
        (p, Targets::Labels(_)) => Err(format!(
            "a classification model predicts [batch, classes], found {:?}",
            p.dims()
        )),
        (p, Targets::Masks { .. }) => Err(format!(
            "a segmentation model predicts [batch, classes, height, width], found {:?}",
            p.dims()
        )),
    }
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
    /// `augmentation.train`.
    pub augment: &'a Augment,
    /// `augmentation.inference` (validation).
    pub inference: &'a Augment,
    /// NetsPresso's parameter groups; the first one's optimizer is every other parameter's.
    pub groups: &'a [super::optim::Group],
    pub dir: &'a Path,
    /// The main device (the model's, validation's and the optimizer's).
    pub device: Device,
    /// Further devices training in parallel (`environment.gpus` / `--gpus` with several ids):
    /// each takes its own batch of `batch_size` every step.
    pub replicas: Vec<Device>,
    /// Prints one line per epoch.
    pub report: &'a dyn Fn(&EpochResult),
    /// Draws a progress bar on stderr during an epoch (a terminal).
    pub progress: bool,
}

/// The progress line of a step: `epoch 3/30 [#####.....] 12/50 loss 0.4321`.
fn progress_line(epoch: usize, epochs: usize, step: usize, steps: usize, loss: f64) -> String {
    let width = 24;
    let done = step * width / steps.max(1);
    format!(
        "\repoch {epoch}/{epochs} [{}{}] {step}/{steps} loss {loss:.4}",
        "#".repeat(done),
        ".".repeat(width - done)
    )
}

/// `results.csv`'s header: the train loss and primary metric, the validation loss and every
/// metric.
pub fn csv_header(metrics: &[&str]) -> String {
    let mut h = vec!["epoch".to_string(), "lr".into(), "train_loss".into()];
    h.extend(metrics.first().map(|m| format!("train_{m}")));
    h.push("valid_loss".into());
    h.extend(metrics.iter().map(|m| format!("valid_{m}")));
    h.push("seconds".into());
    h.join(",")
}

fn csv_row(r: &EpochResult, metrics: &[&str]) -> String {
    let mut row = vec![
        r.epoch.to_string(),
        format!("{:.8e}", r.lr),
        format!("{:.6}", r.train.loss),
    ];
    row.extend(r.train.metrics.first().map(|m| format!("{:.6}", m.1)));
    match &r.valid {
        Some(v) => {
            row.push(format!("{:.6}", v.loss));
            row.extend(v.metrics.iter().map(|m| format!("{:.6}", m.1)));
        }
        None => row.extend(std::iter::repeat_n(String::new(), metrics.len() + 1)),
    }
    row.push(format!("{:.2}", r.seconds));
    row.join(",")
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
    /// `classwise.csv` so far, header included (when the run keeps it).
    #[serde(default)]
    pub classwise: Vec<String>,
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
        crate::io::weights::save(model, p).map_err(|e| e.to_string())
    })?;
    write_atomic(&r.join(format!("optim_{e}.bpk")), |p| {
        optim.save(p).map_err(|e| e.to_string())
    })?;
    if let Some(m) = ema {
        write_atomic(&r.join(format!("ema_{e}.bpk")), |p| {
            crate::io::weights::save(m, p).map_err(|e| e.to_string())
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

/// The state a run folder was left in, with its weights loaded into `model`.
pub fn load_resume(dir: &Path, model: &mut crate::TaskModel) -> Result<ResumeState, String> {
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
    let opts = crate::io::weights::LoadOptions {
        load_head: true,
        remap: Vec::new(),
    };
    let file = r.join(format!("model_{}.bpk", state.epoch));
    crate::io::weights::load(model, &file, &opts).map_err(|e| e.to_string())?;
    Ok(state)
}

/// The optimizer state saved with `state` (after the optimizer's groups are set up).
pub fn load_optimizer(
    dir: &Path,
    state: &ResumeState,
    optim: burn::optim::ModuleOptimizer,
) -> Result<burn::optim::ModuleOptimizer, String> {
    let file = dir.join(RESUME).join(format!("optim_{}.bpk", state.epoch));
    optim.load(&file).map_err(|err| format!("{}: {err}", file.display()))
}

/// The seed of one training sample's augmentation in an epoch.
fn sample_seed(seed: u64, epoch: usize, index: usize) -> u64 {
    seed.wrapping_mul(1_000_003) ^ ((epoch as u64) << 32) ^ index as u64
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
    // Each group's schedule runs from its own base lr (NetsPresso's per-group schedulers).
    let lrs: Vec<Vec<f64>> = f
        .groups
        .iter()
        .map(|g| s.scheduler.sequence(g.lr, s.epochs))
        .collect::<Result<_, _>>()?;
    let groups: Vec<burn::module::ParamGroup> = f
        .groups
        .iter()
        .map(|g| burn::module::ParamGroup::from_ids(g.params.iter().map(|(id, _)| *id).collect()))
        .collect();
    let n = f.splits.train.len();
    // Every device takes a batch per step (NetsPresso's batch size is per GPU).
    let devices = 1 + f.replicas.len();
    let step_size = s.batch_size * devices;
    let steps = n / step_size;
    if steps == 0 {
        return Err(format!(
            "the train split has {n} samples, fewer than one batch of {} per device ({devices} devices); lower `environment.batch_size`",
            s.batch_size
        ));
    }
    let classes = f.splits.classes.len();
    let masks = f.splits.masks.as_ref();
    let stem = format!("{}_{}", f.cfg.task, f.cfg.name.replace(['/', '\\'], "_"));
    let csv = f.dir.join("results.csv");
    let classwise_csv = f.dir.join("classwise.csv");
    let mut ema = s.ema.clone().map(|c| super::ema::Ema::new(c, &model));
    if let (Some(e), Some(r)) = (ema.as_mut(), resume.as_ref()) {
        let file = f.dir.join(RESUME).join(format!("ema_{}.bpk", r.epoch));
        let opts = crate::io::weights::LoadOptions {
            load_head: true,
            remap: Vec::new(),
        };
        crate::io::weights::load(&mut e.model, &file, &opts).map_err(|err| format!("{}: {err}", file.display()))?;
        e.updates = r.ema_updates.unwrap_or(0);
    }
    let (first, mut rows, mut best, mut classwise) = match resume {
        Some(r) => (r.epoch + 1, r.rows, r.best, r.classwise),
        None => (1, vec![csv_header(&s.metrics)], None, Vec::new()),
    };
    let mut results = Vec::new();
    let mut board = if s.tensorboard {
        Some(super::tensorboard::EventWriter::create(&f.dir.join("tensorboard"))?)
    } else {
        None
    };
    let workers = s.num_workers.max(1);
    let cache = s.cache_data.then(super::data::Cache::default);
    let train_load =
        |sample: &Sample, seed: u64| load_sample(sample, f.augment, masks, cache.as_ref(), &mut Rng::new(seed));
    for epoch in first..=s.epochs {
        let start = std::time::Instant::now();
        let epoch_lrs: Vec<f64> = lrs.iter().map(|l| l[epoch - 1]).collect();
        let step_lr = super::optim::learning_rates(&groups, &epoch_lrs);
        // NetsPresso logs the mean of its groups' learning rates.
        let lr = lrs.iter().map(|l| l[epoch - 1]).sum::<f64>() / lrs.len().max(1) as f64;
        let mut order: Vec<usize> = (0..n).collect();
        Rng::new(s.seed ^ (epoch as u64).wrapping_mul(0x9E37_79B9)).shuffle(&mut order);
        let mut loss_sum = 0.0;
        let mut meter = Meter::new(&f.cfg.task, classes, masks.and_then(|m| m.ignore));
        for step in 0..steps {
            let window = &order[step * step_size..(step + 1) * step_size];
            let mut parts = Vec::with_capacity(devices);
            let mut value = 0.0;
            for (k, idx) in window.chunks(s.batch_size).enumerate() {
                let samples: Vec<&Sample> = idx.iter().map(|i| &f.splits.train[*i]).collect();
                let seeds: Vec<u64> = idx.iter().map(|i| sample_seed(s.seed, epoch, *i)).collect();
                let (batch, targets) = load_batch(&samples, workers, &train_load, &seeds)?;
                // The first device trains the model itself; the others a fork of it.
                let device = if k == 0 {
                    f.device.clone()
                } else {
                    f.replicas[k - 1].clone()
                };
                let replica = if k == 0 {
                    model.clone()
                } else {
                    model.clone().fork(&device)
                };
                let pred = replica.forward_train(batch.to_tensor::<4>(&device)?);
                let loss = total_loss(f.cfg, pred.clone(), &targets)?.div_scalar(devices as f64);
                value += loss.clone().into_scalar::<f32>() as f64;
                meter.update(&prediction(&pred, &targets)?, &targets);
                parts.push((GradientsParams::from_grads(loss.backward(), &replica), device));
                if k == 0 {
                    // BatchNorm statistics updated in the first device's forward pass.
                    model = replica;
                }
            }
            if !value.is_finite() {
                return Err(format!(
                    "epoch {epoch}, step {}: the loss is {value}; lower the learning rate",
                    step + 1
                ));
            }
            loss_sum += value;
            if f.progress {
                eprint!(
                    "{}",
                    progress_line(epoch, s.epochs, step + 1, steps, loss_sum / (step + 1) as f64)
                );
            }
            let mut grads = if parts.len() == 1 {
                parts.pop().map(|p| p.0).unwrap_or_default()
            } else {
                super::parallel::merge(&model, parts, &f.device)
            };
            if let Some(max_norm) = s.max_norm {
                super::clip::clip_global_norm(&model, &mut grads, max_norm);
            }
            model = optim.step(step_lr.clone(), model, grads);
            if let Some(e) = ema.as_mut() {
                e.update(&model);
            }
        }
        let train = Scores {
            loss: loss_sum / steps as f64,
            metrics: s.metrics.iter().take(1).map(|m| (*m, meter.value(m))).collect(),
        };
        let valid = if s.validates(epoch) {
            let e = Eval {
                cfg: f.cfg,
                samples: &f.splits.valid,
                inference: f.inference,
                masks,
                classes,
                metrics: &s.metrics,
                batch_size: s.batch_size,
                workers,
                device: f.device.clone().without_autodiff(),
                cache: cache.as_ref(),
            };
            // NetsPresso validates (and saves) the EMA weights when it keeps them.
            let weights = match &ema {
                Some(m) => m.model.valid(),
                None => model.valid(),
            };
            let (scores, meter) = evaluate(&e, &weights)?;
            if s.classwise {
                if classwise.is_empty() {
                    classwise.push(format!("epoch,class,name,{}", s.metrics.join(",")));
                }
                classwise.extend(classwise_rows(epoch, &meter, &f.splits.classes, &s.metrics));
                write_atomic(&classwise_csv, |p| {
                    std::fs::write(p, classwise.join("\n") + "\n").map_err(|e| e.to_string())
                })?;
            }
            Some(scores)
        } else {
            None
        };
        if f.progress {
            // Clear the bar before the epoch's table row.
            eprint!("\r{}\r", " ".repeat(72));
        }
        let r = EpochResult {
            epoch,
            lr,
            train,
            valid,
            seconds: seconds_since(start),
        };
        (f.report)(&r);
        if let Some(b) = board.as_mut() {
            // NetsPresso's tags, at its global step (epoch × steps per epoch).
            let mut v: Vec<(String, f32)> = vec![
                ("training/total".into(), r.train.loss as f32),
                ("misc/learning_rate".into(), r.lr as f32),
                ("misc/elapsed_time".into(), r.seconds as f32),
            ];
            v.extend(
                r.train
                    .metrics
                    .iter()
                    .map(|(m, x)| (format!("training/{m}"), *x as f32)),
            );
            if let Some(val) = &r.valid {
                v.push(("validation/total".into(), val.loss as f32));
                v.extend(val.metrics.iter().map(|(m, x)| (format!("validation/{m}"), *x as f32)));
            }
            let tags: Vec<(&str, f32)> = v.iter().map(|(t, x)| (t.as_str(), *x)).collect();
            b.scalars((epoch * steps) as i64, &tags)?;
        }
        rows.push(csv_row(&r, &s.metrics));
        write_atomic(&csv, |p| {
            std::fs::write(p, rows.join("\n") + "\n").map_err(|e| e.to_string())
        })?;
        let (losses, metrics, epochs) = super::plot::series_of_csv(&rows);
        let png = super::plot::results_png(&losses, &metrics, epochs.max(s.epochs));
        write_atomic(&f.dir.join("results.png"), |p| png.save(p).map_err(|e| e.to_string()))?;
        if s.checkpoints(epoch) {
            let weights = match &ema {
                Some(m) => m.model.valid(),
                None => model.valid(),
            };
            let save = |name: &str| -> Result<(), String> {
                let path = f.dir.join(format!("{stem}_{name}.safetensors"));
                write_atomic(&path, |p| {
                    crate::io::weights::save(&weights, p).map_err(|e| e.to_string())
                })
            };
            if !s.save_best_only {
                save(&format!("epoch_{epoch}"))?;
            }
            if let Some(v) = &r.valid {
                let score = if s.best_model_criterion == "metric" {
                    -v.primary()
                } else {
                    v.loss
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
            classwise: classwise.clone(),
        };
        save_resume(f.dir, &model, &optim, ema.as_ref().map(|e| &e.model), &state)?;
        results.push(r);
    }
    Ok(results)
}

/// `classwise.csv` rows of one validation: a class per row, its metrics (empty where the class
/// did not occur).
fn classwise_rows(epoch: usize, meter: &Meter, classes: &[String], metrics: &[&str]) -> Vec<String> {
    let per: Vec<Vec<Option<f64>>> = metrics.iter().map(|m| meter.classwise(m)).collect();
    classes
        .iter()
        .enumerate()
        .map(|(c, name)| {
            let cells: Vec<String> = per
                .iter()
                .map(|v| v[c].map(|x| format!("{x:.6}")).unwrap_or_default())
                .collect();
            let name = if name.contains([',', '"']) {
                format!("\"{}\"", name.replace('"', "\"\""))
            } else {
                name.clone()
            };
            format!("{epoch},{c},{name},{}", cells.join(","))
        })
        .collect()
}

/// What an evaluation runs on: samples prepared by the inference steps, in batches.
pub struct Eval<'a> {
    pub cfg: &'a ModelConfig,
    pub samples: &'a [Sample],
    pub inference: &'a Augment,
    pub masks: Option<&'a MaskMap>,
    pub classes: usize,
    /// Column names of the metrics to report.
    pub metrics: &'a [&'static str],
    pub batch_size: usize,
    pub workers: usize,
    /// A device without autodiff (the model is in validation mode).
    pub device: Device,
    /// Decoded files kept between epochs (`environment.cache_data`).
    pub cache: Option<&'a super::data::Cache>,
}

/// The loss (the mean over batches, as NetsPresso averages) and the metrics of a split, and the
/// counts behind them. Samples whose inputs differ in size (segmentation with aspect-keeping
/// resizes) run one at a time.
pub fn evaluate(e: &Eval, model: &crate::TaskModel) -> Result<(Scores, Meter), String> {
    let load = |sample: &Sample, _seed: u64| load_sample(sample, e.inference, e.masks, e.cache, &mut Rng::new(0));
    let mut meter = Meter::new(&e.cfg.task, e.classes, e.masks.and_then(|m| m.ignore));
    let (mut loss_sum, mut batches) = (0.0, 0usize);
    let mut run = |parts: Vec<Loaded>, labels: Vec<usize>| -> Result<(), String> {
        let (batch, targets) = stack(parts, labels)?;
        // The training outputs: NetsPresso's validation loss is the training loss.
        let pred = model.forward_train(batch.to_tensor::<4>(&e.device)?);
        loss_sum += total_loss(e.cfg, pred.clone(), &targets)?.into_scalar::<f32>() as f64;
        batches += 1;
        meter.update(&prediction(&pred, &targets)?, &targets);
        Ok(())
    };
    for chunk in e.samples.chunks(e.batch_size.max(1)) {
        let samples: Vec<&Sample> = chunk.iter().collect();
        let parts = load_all(&samples, e.workers, &load, &vec![0; samples.len()])?;
        let labels: Vec<usize> = chunk.iter().map(|s| s.label).collect();
        if parts.iter().all(|p| p.0.shape == parts[0].0.shape) {
            run(parts, labels)?;
        } else {
            for (p, l) in parts.into_iter().zip(labels) {
                run(vec![p], vec![l])?;
            }
        }
    }
    let scores = Scores {
        loss: loss_sum / batches.max(1) as f64,
        metrics: e.metrics.iter().map(|m| (*m, meter.value(m))).collect(),
    };
    Ok((scores, meter))
}
