//! `zoo train`: NetsPresso's six configuration files in, a run folder out (see
//! `crate::train::fit` for what it holds); `--resume RUN_DIR` continues a run.

use super::run::{ModelArgs, resolve_checkpoint};
use super::{DeviceChoice, Failure, INVALID, USAGE};
use crate::train::augment::Augment;
use crate::train::config::{TrainSettings, merge};
use crate::train::data::{Splits, splits};
use crate::train::fit::{EpochResult, Fit, ResumeState, fit, load_optimizer, load_resume, run_dir, write_atomic};
use std::path::Path;

pub struct TrainArgs<'a> {
    pub data: Option<&'a Path>,
    pub augmentation: Option<&'a Path>,
    pub model: Option<&'a Path>,
    pub training: Option<&'a Path>,
    pub logging: Option<&'a Path>,
    pub environment: Option<&'a Path>,
    /// A run folder to continue (its `hparams.yaml` holds the configs).
    pub resume: Option<&'a Path>,
    pub device: DeviceChoice,
    /// `--gpus`: device ids, comma-separated.
    pub gpus: Option<&'a str>,
}

/// Device ids from `--gpus` or `environment.gpus` (an int or "0, 1"); one id when neither
/// names several.
fn device_ids(flag: Option<&str>, merged: &serde_json::Value) -> Result<Vec<usize>, String> {
    let text = match (flag, merged.pointer("/environment/gpus")) {
        (Some(f), _) => f.to_string(),
        (None, Some(serde_json::Value::Number(n))) => n.to_string(),
        (None, Some(serde_json::Value::String(s))) => s.clone(),
        _ => "0".to_string(),
    };
    let mut ids: Vec<usize> = text
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| {
            p.parse()
                .map_err(|_| format!("device ids are numbers like `0,1`, found `{text}` (--gpus / environment.gpus)"))
        })
        .collect::<Result<_, _>>()?;
    ids.sort_unstable();
    ids.dedup();
    if ids.is_empty() {
        ids.push(0);
    }
    Ok(ids)
}

/// The per-epoch table's header: the columns of `results.csv` but the seconds.
fn header(metrics: &[&str]) -> String {
    let mut h = format!("{:>5} {:>10} {:>10}", "epoch", "lr", "loss");
    for m in metrics.iter().take(1) {
        h += &format!(" {m:>10}");
    }
    h += &format!(" {:>10}", "val_loss");
    for m in metrics {
        h += &format!(" {:>10}", format!("val_{m}"));
    }
    h + &format!(" {:>8}", "time")
}

fn report(r: &EpochResult, metrics: usize) {
    let mut line = format!("{:>5} {:>10.3e} {:>10.4}", r.epoch, r.lr, r.train.loss);
    for (_, v) in &r.train.metrics {
        line += &format!(" {v:>10.4}");
    }
    match &r.valid {
        Some(v) => {
            line += &format!(" {:>10.4}", v.loss);
            for (_, m) in &v.metrics {
                line += &format!(" {m:>10.4}");
            }
        }
        None => line += &format!(" {:>10}", "-").repeat(metrics + 1),
    }
    println!("{line} {:>7.1}s", r.seconds);
}

pub fn run(a: &TrainArgs) -> i32 {
    super::exit_code(train(a))
}

/// The merged configs and the model config, from the files or from a run's `hparams.yaml`.
struct Configs {
    merged: serde_json::Value,
    cfg: crate::ModelConfig,
}

fn configs(a: &TrainArgs) -> Result<Configs, Failure> {
    let usage = |m: String| (m, USAGE);
    if let Some(run) = a.resume {
        let given = [a.data, a.augmentation, a.model, a.training, a.logging, a.environment];
        if given.iter().any(Option::is_some) {
            return Err(usage(
                "--resume continues a run with its own configs (its hparams.yaml); give no config files".into(),
            ));
        }
        let hp = run.join("hparams.yaml");
        if !hp.is_file() {
            return Err(usage(format!(
                "{} is not a zoo run folder (no {})",
                run.display(),
                hp.display()
            )));
        }
        // The run's merged configs, checked as `zoo validate` checks a merged file.
        let cfg = checked_model(&[("model", &hp)])?;
        let text = std::fs::read_to_string(&hp).map_err(|e| usage(format!("cannot read {}: {e}", hp.display())))?;
        let merged = zoo_spec::yaml::parse(&text)
            .map_err(|e| usage(format!("{}: invalid YAML: {e}", hp.display())))?
            .to_json();
        return Ok(Configs { merged, cfg });
    }
    let need = |p: Option<&Path>, flag: &str| -> Result<std::path::PathBuf, Failure> {
        p.map(Path::to_path_buf)
            .ok_or_else(|| usage(format!("give --{flag} (or --resume RUN_DIR)")))
    };
    let (data, aug, model, training) = (
        need(a.data, "data")?,
        need(a.augmentation, "augmentation")?,
        need(a.model, "model")?,
        need(a.training, "training")?,
    );
    let mut files: Vec<(&str, &Path)> = vec![
        ("data", &data),
        ("augmentation", &aug),
        ("model", &model),
        ("training", &training),
    ];
    if let Some(l) = a.logging {
        files.push(("logging", l));
    }
    if let Some(e) = a.environment {
        files.push(("environment", e));
    }
    let cfg = checked_model(&files)?;
    let merged = merge(&files).map_err(usage)?.merged;
    Ok(Configs { merged, cfg })
}

/// Every file checked on its own and with the others (as `zoo validate` does), the
/// diagnostics printed; the model config when nothing is in error.
pub(super) fn checked_model(files: &[(&str, &Path)]) -> Result<crate::ModelConfig, Failure> {
    let paths: Vec<std::path::PathBuf> = files.iter().map(|(_, p)| p.to_path_buf()).collect();
    let checked = super::validate::check_files(&paths);
    if let Some(c) = checked.iter().find(|c| c.unreadable.is_some()) {
        return Err((
            format!(
                "cannot read {}: {}",
                c.shown,
                c.unreadable.as_deref().unwrap_or_default()
            ),
            USAGE,
        ));
    }
    let code = super::validate::render(&checked, super::Format::Human, false);
    if code != super::OK {
        let bad: Vec<&str> = checked
            .iter()
            .filter(|c| c.errors() > 0)
            .map(|c| c.shown.as_str())
            .collect();
        return Err((
            format!("invalid config ({}); nothing was trained", bad.join(", ")),
            code,
        ));
    }
    let model = files.iter().position(|(k, _)| *k == "model").unwrap_or(0);
    checked[model]
        .model
        .clone()
        .ok_or_else(|| (format!("{} has no `model:` section", checked[model].shown), USAGE))
}

fn train(a: &TrainArgs) -> Result<(), Failure> {
    let usage = |m: String| (m, USAGE);
    let Configs { merged, cfg } = configs(a)?;
    let settings = TrainSettings::from_config(&merged).map_err(|m| (m, INVALID))?;
    if !matches!(cfg.task.as_str(), "classification" | "segmentation") {
        return Err(usage(format!(
            "training `{}` models is not supported yet; zoo trains classification and segmentation models",
            cfg.task
        )));
    }
    let splits = splits(&merged).map_err(|m| (m, INVALID))?;
    let augment = Augment::from_config(&merged, "train").map_err(|m| (m, INVALID))?;
    let inference = Augment::from_config(&merged, "inference").map_err(|m| (m, INVALID))?;
    for note in &splits.notes {
        eprintln!("note: {note}");
    }
    if augment.dropped_mixing {
        eprintln!("note: `mixing` (the last train transform) is not applied, as NetsPresso 1.4.1 does not apply it");
    }
    let ids = match (a.device.adapter, a.gpus) {
        (super::Adapter::Default, _) => device_ids(a.gpus, &merged).map_err(usage)?,
        (_, Some(_)) => {
            return Err(usage(format!(
                "--device {} names the device already; leave out --gpus, or give --gpus with `--device {}`",
                a.device,
                a.device.kind.name()
            )));
        }
        // `--device cuda:1`: that one device, whatever environment.gpus says.
        (_, None) => vec![0],
    };
    // One device 0 is the backend's default device (for wgpu, its preferred adapter); numbers
    // name GPUs otherwise.
    let at = |i: usize| match ids.as_slice() {
        [0] => super::device(a.device),
        _ => super::device_at(a.device, i),
    };
    let device = at(ids[0]).map_err(|m| (m, INVALID))?.autodiff();
    let replicas: Vec<burn::tensor::Device> = ids[1..]
        .iter()
        .map(|i| at(*i).map(|d| d.autodiff()))
        .collect::<Result<_, _>>()
        .map_err(|m| (m, INVALID))?;
    if !replicas.is_empty() {
        let cpu = a.device.on_cpu();
        eprintln!(
            "data-parallel on {} devices ({}): a batch of {} per device and step{}",
            ids.len(),
            ids.iter().map(|i| i.to_string()).collect::<Vec<_>>().join(", "),
            settings.batch_size,
            if cpu {
                "; the CPU backend has one device, so the batches run one after another (the same steps as on several GPUs, no faster)"
            } else {
                ""
            }
        );
    }
    // NetsPresso seeds torch with `environment.seed`: initial weights and dropout repeat.
    device.seed(settings.seed);
    let size = crate::model::size(&cfg, splits.classes.len())
        .map_err(|e| (format!("cannot build {}: {e}", cfg.name), INVALID))?;
    crate::config::size_check::training_fits(size, crate::config::limits::limit()).map_err(|m| (m, INVALID))?;
    let mut model = crate::model::build(&cfg, splits.classes.len(), &device)
        .map_err(|e| (format!("cannot build {}: {e}", cfg.name), INVALID))?;
    let resume = match a.resume {
        Some(dir) => {
            let state = load_resume(dir, &mut model).map_err(|m| (m, INVALID))?;
            if state.epoch >= settings.epochs {
                eprintln!(
                    "{} finished all {} epochs; nothing to resume",
                    dir.display(),
                    settings.epochs
                );
                return Ok(());
            }
            Some((dir, state))
        }
        None => {
            let args = ModelArgs {
                config: a.model.unwrap_or(Path::new("model.yaml")),
                checkpoint: None,
                num_classes: None,
                data: None,
                weights_from: None,
                weights_url: None,
                device: a.device,
                fold: false,
            };
            if let Some(path) = resolve_checkpoint(&args, &cfg).map_err(|m| (m, INVALID))? {
                let opts = crate::io::weights::LoadOptions {
                    load_head: cfg.checkpoint.load_head,
                    remap: Vec::new(),
                };
                let rep = crate::io::weights::load(&mut model, &path, &opts).map_err(|e| (e.to_string(), INVALID))?;
                eprint!("weights: {}: {rep}", path.display());
            }
            None
        }
    };
    // The groups come from the model as loaded: their parameter ids are the ones trained.
    let full = matches!(cfg.architecture, crate::config::Architecture::Full(_));
    let groups = crate::train::optim::groups(&settings.optimizer, &model, settings.optimizer.overwrite.as_ref(), full)
        .map_err(|m| (m, INVALID))?;
    if groups.len() > 1 {
        let summary: Vec<String> = groups
            .iter()
            .map(|g| {
                format!(
                    "{} ({} tensors, lr {}, weight_decay {})",
                    g.name,
                    g.params.len(),
                    g.lr,
                    g.weight_decay
                )
            })
            .collect();
        eprintln!("parameter groups: {}", summary.join("; "));
    }
    let grouped = crate::train::optim::build_grouped(&settings.optimizer, groups).map_err(|m| (m, INVALID))?;
    let mut optim = grouped.optim;
    if resume.is_none()
        && let Some(p) = &cfg.checkpoint.optimizer_path
    {
        optim = load_optimizer_file(Path::new(p), optim)?;
    }
    let job = Job {
        cfg: &cfg,
        settings: &settings,
        splits: &splits,
        augment: &augment,
        inference: &inference,
        groups: &grouped.all,
        device,
        replicas,
    };
    if let Some((dir, state)) = resume {
        let optim = load_optimizer(dir, &state, optim).map_err(|m| (m, INVALID))?;
        eprintln!(
            "resuming {} after epoch {} of {} in {}",
            cfg.name,
            state.epoch,
            settings.epochs,
            dir.display()
        );
        return job.run(dir, model, optim, Some(state));
    }
    let project = settings
        .project_id
        .clone()
        .unwrap_or_else(|| format!("{}_{}", cfg.task, cfg.name.replace(['/', '\\'], "_")));
    let dir = run_dir(&settings.output_dir, &project).map_err(usage)?;
    write_atomic(&dir.join("hparams.yaml"), |p| {
        std::fs::write(p, super::emit::yaml(&merged)).map_err(|e| e.to_string())
    })
    .map_err(usage)?;
    job.run(&dir, model, optim, None)
}

/// `model.checkpoint.optimizer_path`: an optimizer state zoo saved (`resume/optim_<n>.bpk` of
/// a run). NetsPresso's `.pth` states hold PyTorch's tensors by parameter index, which zoo
/// cannot map onto its parameters.
fn load_optimizer_file(
    path: &Path,
    optim: burn::optim::ModuleOptimizer,
) -> Result<burn::optim::ModuleOptimizer, Failure> {
    let bpk = path.extension().and_then(|e| e.to_str()) == Some("bpk");
    if !bpk {
        return Err((
            format!(
                "`model.checkpoint.optimizer_path`: {} is not an optimizer state zoo wrote; give a run's `resume/optim_<epoch>.bpk`, or continue the run with `zoo train --resume RUN_DIR` (PyTorch `.pth` optimizer states cannot be mapped onto zoo's parameters)",
                path.display()
            ),
            INVALID,
        ));
    }
    let optim = optim.load(path).map_err(|e| {
        (
            format!("`model.checkpoint.optimizer_path`: {}: {e}", path.display()),
            INVALID,
        )
    })?;
    eprintln!("optimizer state: {}", path.display());
    Ok(optim)
}

/// What a run trains with, besides its folder, weights and optimizer state.
struct Job<'a> {
    cfg: &'a crate::ModelConfig,
    settings: &'a TrainSettings,
    splits: &'a Splits,
    augment: &'a Augment,
    inference: &'a Augment,
    groups: &'a [crate::train::optim::Group],
    device: burn::tensor::Device,
    replicas: Vec<burn::tensor::Device>,
}

impl Job<'_> {
    /// Runs the epochs, printing the table and the best epoch.
    fn run(
        &self,
        dir: &Path,
        model: crate::TaskModel,
        optim: burn::optim::ModuleOptimizer,
        resume: Option<ResumeState>,
    ) -> Result<(), Failure> {
        let (cfg, splits) = (self.cfg, self.splits);
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
        let metrics = &self.settings.metrics;
        println!("{}", header(metrics));
        let report = |r: &EpochResult| report(r, metrics.len());
        let f = Fit {
            cfg,
            settings: self.settings,
            splits,
            augment: self.augment,
            inference: self.inference,
            groups: self.groups,
            dir,
            device: self.device.clone(),
            replicas: self.replicas.clone(),
            report: &report,
            progress: std::io::IsTerminal::is_terminal(&std::io::stderr()),
        };
        let results = crate::model::guarded(|| fit(&f, model, optim, resume))
            .map_err(|m| (format!("training failed in the tensor library: {m}"), INVALID))?
            .map_err(|m| (m, INVALID))?;
        let metric = self.settings.best_model_criterion == "metric";
        let best = results
            .iter()
            .filter_map(|r| r.valid.as_ref().map(|v| (r.epoch, v)))
            .min_by(|a, b| {
                if metric {
                    b.1.primary().total_cmp(&a.1.primary())
                } else {
                    a.1.loss.total_cmp(&b.1.loss)
                }
            });
        if let Some((epoch, v)) = best {
            let metrics: Vec<String> = v.metrics.iter().map(|(m, x)| format!("{m} {x:.4}")).collect();
            eprintln!(
                "best epoch {epoch} of this run: validation loss {:.4}, {}; weights in {}",
                v.loss,
                metrics.join(", "),
                dir.display()
            );
        }
        Ok(())
    }
}
