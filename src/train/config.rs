//! The six NetsPresso configuration files of a training run, merged as `netspresso-train`
//! merges them (one document per top-level key), and the settings the trainer reads from
//! them, with NetsPresso 1.4.1's defaults where a key is absent.

use serde_json::Value;
use std::path::{Path, PathBuf};

/// The merged configuration: `data`, `augmentation`, `model`, `training`, `logging`,
/// `environment`, as JSON (written back as the run's `hparams.yaml`).
#[derive(Debug, Clone)]
pub struct RunConfig {
    pub merged: Value,
    /// The model config's file (validated by the model validator with locations).
    pub model_file: PathBuf,
}

/// Reads each file, checks it holds the key its flag names, and merges them.
pub fn merge(files: &[(&str, &Path)]) -> Result<RunConfig, String> {
    let mut merged = serde_json::Map::new();
    let mut model_file = PathBuf::new();
    for (key, path) in files {
        let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let root = zoo_spec::yaml::parse(&text).map_err(|e| format!("{}: invalid YAML: {e}", path.display()))?;
        let json = root.to_json();
        let section = json.get(*key).ok_or_else(|| {
            let found: Vec<String> = json
                .as_object()
                .map(|o| o.keys().map(|k| format!("`{k}`")).collect())
                .unwrap_or_default();
            format!(
                "{} has no `{key}:` section (found {}); give the {key} config with --{key}",
                path.display(),
                if found.is_empty() {
                    "nothing".to_string()
                } else {
                    found.join(", ")
                }
            )
        })?;
        merged.insert(key.to_string(), section.clone());
        if *key == "model" {
            model_file = path.to_path_buf();
        }
    }
    Ok(RunConfig {
        merged: Value::Object(merged),
        model_file,
    })
}

fn get<'a>(v: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(v, |v, k| v.get(k)).filter(|v| !v.is_null())
}

fn num(v: &Value, path: &str, default: f64) -> Result<f64, String> {
    match get(v, path) {
        None => Ok(default),
        Some(x) => x.as_f64().ok_or(format!("`{path}` must be a number, found {x}")),
    }
}

fn count(v: &Value, path: &str, default: usize) -> Result<usize, String> {
    match get(v, path) {
        None => Ok(default),
        Some(x) => x
            .as_u64()
            .map(|x| x as usize)
            .ok_or(format!("`{path}` must be a whole number >= 0, found {x}")),
    }
}

fn flag(v: &Value, path: &str, default: bool) -> Result<bool, String> {
    match get(v, path) {
        None => Ok(default),
        Some(x) => x.as_bool().ok_or(format!("`{path}` must be true or false, found {x}")),
    }
}

/// `training.optimizer`, with PyTorch's defaults for what NetsPresso does not pass.
#[derive(Debug, Clone, PartialEq)]
pub struct OptimizerConfig {
    pub name: String,
    pub lr: f64,
    pub weight_decay: f64,
    pub betas: (f64, f64),
    pub momentum: f64,
    pub nesterov: bool,
    pub alpha: f64,
    /// Adadelta's running-average coefficient.
    pub rho: f64,
    pub eps: f64,
    pub lr_decay: f64,
    pub no_bias_decay: bool,
    pub no_norm_weight_decay: bool,
    /// `overwrite`: per-module groups (backbone / neck / head), as written.
    pub overwrite: Option<Value>,
}

/// Everything the training loop reads besides the model and the data.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainSettings {
    pub epochs: usize,
    pub batch_size: usize,
    pub seed: u64,
    pub num_workers: usize,
    pub optimizer: OptimizerConfig,
    pub scheduler: super::schedule::Scheduler,
    pub max_norm: Option<f64>,
    pub ema: Option<super::ema::EmaConfig>,
    pub output_dir: PathBuf,
    pub project_id: Option<String>,
    pub validation_epoch: usize,
    pub save_checkpoint_epoch: usize,
    pub save_best_only: bool,
    /// `loss` (lowest validation loss) or `metric` (highest first metric).
    pub best_model_criterion: String,
    /// The metrics' column names (`logging.metrics.metric_names`; the first is the primary).
    pub metrics: Vec<&'static str>,
    /// `logging.metrics.classwise_analysis`: per-class validation metrics in `classwise.csv`.
    pub classwise: bool,
    /// `logging.tensorboard`: scalars in `<run>/tensorboard/`.
    pub tensorboard: bool,
    /// `environment.cache_data`: decoded images and masks kept in memory.
    pub cache_data: bool,
}

impl TrainSettings {
    pub fn from_config(c: &Value) -> Result<TrainSettings, String> {
        let o = get(c, "training.optimizer").ok_or("`training.optimizer` is missing")?;
        let name = o
            .get("name")
            .and_then(|n| n.as_str())
            .ok_or("`training.optimizer.name` is missing")?
            .to_lowercase();
        let betas = match o.get("betas").and_then(|b| b.as_array()) {
            Some(b) if b.len() == 2 => (
                b[0].as_f64().ok_or("`training.optimizer.betas` are two numbers")?,
                b[1].as_f64().ok_or("`training.optimizer.betas` are two numbers")?,
            ),
            Some(_) => return Err("`training.optimizer.betas` are two numbers".into()),
            None => (0.9, 0.999),
        };
        // PyTorch's eps per optimizer (NetsPresso passes only RMSprop's).
        let default_eps = match name.as_str() {
            "adagrad" => 1e-10,
            "adadelta" => 1e-6,
            _ => 1e-8,
        };
        let optimizer = OptimizerConfig {
            lr: num(o, "lr", 0.0)?,
            weight_decay: num(o, "weight_decay", 0.0)?,
            betas,
            momentum: num(o, "momentum", 0.0)?,
            nesterov: flag(o, "nesterov", false)?,
            alpha: num(o, "alpha", 0.99)?,
            rho: num(o, "rho", 0.9)?,
            eps: num(o, "eps", default_eps)?,
            lr_decay: num(o, "lr_decay", 0.0)?,
            no_bias_decay: flag(o, "no_bias_decay", false)?,
            no_norm_weight_decay: flag(o, "no_norm_weight_decay", false)?,
            overwrite: o.get("overwrite").filter(|v| !v.is_null()).cloned(),
            name,
        };
        if optimizer.lr.is_nan() || optimizer.lr <= 0.0 {
            return Err(format!(
                "`training.optimizer.lr` must be above 0, found {}",
                optimizer.lr
            ));
        }
        // Settings zoo does not apply yet are refused, not ignored.
        if flag(c, "training.mixed_precision", false)? {
            return Err(
                "`training.mixed_precision` is not supported by `zoo train` yet (burn's CPU backends train in f32); remove it (or set it to False)"
                    .into(),
            );
        }
        let scheduler = super::schedule::Scheduler::from_config(
            get(c, "training.scheduler").ok_or("`training.scheduler` is missing")?,
        )
        .map_err(|e| format!("`training.scheduler`: {e}"))?;
        let validation_epoch = count(c, "logging.model_save_options.validation_epoch", 10)?.max(1);
        let save_checkpoint_epoch = count(c, "logging.model_save_options.save_checkpoint_epoch", validation_epoch)?;
        if save_checkpoint_epoch == 0 || !save_checkpoint_epoch.is_multiple_of(validation_epoch) {
            return Err(format!(
                "`logging.model_save_options.save_checkpoint_epoch` ({save_checkpoint_epoch}) must be a multiple of `validation_epoch` ({validation_epoch})"
            ));
        }
        let criterion = get(c, "logging.model_save_options.best_model_criterion")
            .and_then(|v| v.as_str())
            .unwrap_or("loss")
            .to_lowercase();
        if !matches!(criterion.as_str(), "loss" | "metric") {
            return Err(format!(
                "`logging.model_save_options.best_model_criterion` is `loss` or `metric`, found `{criterion}`"
            ));
        }
        let batch_size = count(c, "environment.batch_size", 8)?;
        if batch_size == 0 {
            return Err("`environment.batch_size` must be at least 1".into());
        }
        let epochs = count(c, "training.epochs", 1)?;
        if epochs == 0 {
            return Err("`training.epochs` must be at least 1".into());
        }
        Ok(TrainSettings {
            epochs,
            batch_size,
            seed: count(c, "environment.seed", 1)? as u64,
            num_workers: count(c, "environment.num_workers", 0)?,
            optimizer,
            scheduler,
            max_norm: match get(c, "training.max_norm") {
                None => None,
                Some(_) => match num(c, "training.max_norm", 0.0)? {
                    m if m > 0.0 => Some(m),
                    m => {
                        return Err(format!(
                            "`training.max_norm` must be above 0 (or ~ for no clipping), found {m}"
                        ));
                    }
                },
            },
            ema: super::ema::EmaConfig::from_config(get(c, "training.ema"))?,
            output_dir: PathBuf::from(
                get(c, "logging.output_dir")
                    .and_then(|v| v.as_str())
                    .unwrap_or("./outputs"),
            ),
            project_id: get(c, "logging.project_id")
                .and_then(|v| v.as_str())
                .map(str::to_string),
            validation_epoch,
            save_checkpoint_epoch,
            save_best_only: flag(c, "logging.model_save_options.save_best_only", false)?,
            best_model_criterion: criterion,
            metrics: super::metrics::selected(
                get(c, "model.task")
                    .and_then(|t| t.as_str())
                    .unwrap_or("classification"),
                get(c, "logging.metrics.metric_names"),
            )?,
            classwise: flag(c, "logging.metrics.classwise_analysis", false)?,
            tensorboard: flag(c, "logging.tensorboard", false)?,
            cache_data: flag(c, "environment.cache_data", false)?,
        })
    }

    /// NetsPresso's cadence: epochs 1, 1 + v, 1 + 2v, ... and the last.
    pub fn validates(&self, epoch: usize) -> bool {
        epoch % self.validation_epoch == 1 % self.validation_epoch || epoch == self.epochs
    }

    pub fn checkpoints(&self, epoch: usize) -> bool {
        epoch % self.save_checkpoint_epoch == 1 % self.save_checkpoint_epoch || epoch == self.epochs
    }
}
