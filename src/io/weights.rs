//! Loading and saving weights: NetsPresso / PyTorch state dicts (`.safetensors`, `.pt`/`.pth`
//! read without executing pickle code) and burn's own format (`.bpk`), by exact key, with
//! declarative key remapping for other sources and a load report.

use crate::model::TaskModel;
use burn::store::{
    ApplyError, ApplyResult, BurnToPyTorchAdapter, BurnpackStore, KeyRemapper, ModuleSnapshot, PyTorchToBurnAdapter,
    PytorchStore, SafetensorsStore,
};
use std::fmt;
use std::path::{Path, PathBuf};

/// PyTorch-only buffers with no counterpart in burn modules: recognised and skipped.
pub const SKIPPED_BUFFERS: &[&str] = &["num_batches_tracked"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Safetensors,
    Pytorch,
    Burnpack,
}

impl Format {
    pub fn of(path: &Path) -> Option<Format> {
        match path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("safetensors") => Some(Format::Safetensors),
            Some("pt" | "pth" | "bin" | "ckpt") => Some(Format::Pytorch),
            Some("bpk") => Some(Format::Burnpack),
            _ => None,
        }
    }
}

/// How a checkpoint is applied.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// Load `head.*` tensors too (NetsPresso's `checkpoint.load_head`).
    pub load_head: bool,
    /// Regex rewrites from the checkpoint's names to zoo's (e.g. torchvision → NetsPresso).
    pub remap: Vec<(String, String)>,
}

/// What a load did, by tensor name (zoo's names).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LoadReport {
    pub applied: Vec<String>,
    /// In the model but not in the checkpoint (left as initialised).
    pub missing: Vec<String>,
    /// In the checkpoint but not in the model.
    pub unexpected: Vec<String>,
    /// Head tensors of the checkpoint left out because `load_head` is false.
    pub dropped_head: Vec<String>,
}

impl fmt::Display for LoadReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "applied {}, missing {}, unexpected {}, head tensors not loaded {}",
            self.applied.len(),
            self.missing.len(),
            self.unexpected.len(),
            self.dropped_head.len()
        )?;
        for (what, keys) in [("missing", &self.missing), ("unexpected", &self.unexpected)] {
            for k in keys {
                writeln!(f, "  {what}: {k}")?;
            }
        }
        Ok(())
    }
}

#[derive(Debug)]
pub enum WeightsError {
    /// The file does not exist or cannot be read.
    Io(PathBuf, String),
    /// The extension names no format zoo reads.
    UnknownFormat(PathBuf),
    /// The file is not a valid checkpoint of its format (truncated, lying header, not a state dict…).
    Corrupt(PathBuf, String),
    /// Tensors present in both with different shapes: (name, model shape, checkpoint shape).
    ShapeMismatch(Vec<(String, Vec<usize>, Vec<usize>)>),
    /// Tensors with an unusable type or data: (name, message).
    BadTensors(Vec<(String, String)>),
    /// Model tensors the checkpoint lacks.
    Missing(Vec<String>),
    /// A remap rule is not a valid regex.
    BadRemap(String),
}

impl fmt::Display for WeightsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list = |v: &[String]| {
            let shown: Vec<&str> = v.iter().take(8).map(String::as_str).collect();
            let more = if v.len() > 8 {
                format!(" and {} more", v.len() - 8)
            } else {
                String::new()
            };
            format!("{}{more}", shown.join(", "))
        };
        match self {
            WeightsError::Io(p, e) => write!(f, "cannot read {}: {e}", p.display()),
            WeightsError::UnknownFormat(p) => write!(
                f,
                "{}: unknown weights format (expected .safetensors, .pt/.pth or .bpk)",
                p.display()
            ),
            WeightsError::Corrupt(p, e) => write!(f, "{} is not a valid checkpoint: {e}", p.display()),
            WeightsError::ShapeMismatch(v) => {
                write!(f, "shape mismatch for {} tensor(s): ", v.len())?;
                let items: Vec<String> = v
                    .iter()
                    .take(8)
                    .map(|(k, m, c)| format!("{k} (model {m:?}, checkpoint {c:?})"))
                    .collect();
                write!(f, "{}", items.join(", "))
            }
            WeightsError::BadTensors(v) => {
                let items: Vec<String> = v.iter().take(8).map(|(k, m)| format!("{k}: {m}")).collect();
                write!(f, "unusable tensor(s): {}", items.join("; "))
            }
            WeightsError::Missing(v) => {
                write!(
                    f,
                    "the checkpoint lacks {} tensor(s) of the model: {}",
                    v.len(),
                    list(v)
                )
            }
            WeightsError::BadRemap(e) => write!(f, "invalid key remap rule: {e}"),
        }
    }
}

impl std::error::Error for WeightsError {}

fn not_head(path: &str, _container: &str) -> bool {
    !path.starts_with("head.") && path != "head"
}

/// The regex alternation of Rust keywords (fields named like one end in `_`).
fn keyword_alternation() -> String {
    zoo_spec::codegen::KEYWORDS
        .iter()
        .filter(|k| k.chars().all(|c| c.is_ascii_lowercase()))
        .copied()
        .collect::<Vec<_>>()
        .join("|")
}

/// Checkpoint names to the model's: the given rules, then keyword segments (`attention.self.`)
/// to the fields they became (`attention.self_.`).
fn remapper(rules: &[(String, String)]) -> Result<KeyRemapper, WeightsError> {
    let mut all = rules.to_vec();
    all.push((format!(r"(^|\.)({})\.", keyword_alternation()), "${1}${2}_.".into()));
    let mut r = KeyRemapper::new();
    for (from, to) in &all {
        r = r
            .add_pattern(from, to)
            .map_err(|e| WeightsError::BadRemap(format!("`{from}`: {e}")))?;
    }
    Ok(r)
}

/// Loads a checkpoint into `model`. Missing model tensors and shape mismatches are errors;
/// unexpected checkpoint tensors are reported.
pub fn load(model: &mut TaskModel, path: &Path, opts: &LoadOptions) -> Result<LoadReport, WeightsError> {
    let format = Format::of(path).ok_or_else(|| WeightsError::UnknownFormat(path.to_path_buf()))?;
    if let Err(e) = std::fs::metadata(path) {
        return Err(WeightsError::Io(path.to_path_buf(), e.to_string()));
    }
    let remap = remapper(&opts.remap)?;
    // PyTorch-layout shapes of the model, to show mismatches as PyTorch users read them.
    let torch_shapes = crate::model::state_dict(model);
    let corrupt = |e: String| WeightsError::Corrupt(path.to_path_buf(), e);
    // The two PyTorch-layout stores share their settings but no trait for them.
    macro_rules! apply_pytorch_layout {
        ($store:expr) => {{
            let mut store = $store
                .skip_enum_variants(true)
                .map_indices_contiguous(false)
                .allow_partial(true)
                .validate(false)
                .remap(remap);
            if !opts.load_head {
                store = store.with_predicate(not_head);
            }
            model.load_from(&mut store).map_err(|e| corrupt(e.to_string()))?
        }};
    }
    let result: ApplyResult = match format {
        Format::Safetensors => {
            let store = SafetensorsStore::from_file(path).with_from_adapter(PyTorchToBurnAdapter);
            apply_pytorch_layout!(store)
        }
        Format::Pytorch => {
            let store = PytorchStore::from_file(path);
            apply_pytorch_layout!(store)
        }
        Format::Burnpack => {
            let mut store = BurnpackStore::from_file(path)
                .auto_extension(false)
                .allow_partial(true)
                .validate(false);
            if !opts.load_head {
                store = store.with_filter(burn::store::PathFilter::new().with_predicate(not_head));
            }
            model.load_from(&mut store).map_err(|e| corrupt(e.to_string()))?
        }
    };
    report(result, opts, &torch_shapes)
}

/// A parameter's name in the model's `.safetensors` (NetsPresso's state-dict key) from its
/// burn path: norm `gamma`/`beta` as `weight`/`bias`, keyword fields (`self_`) as written.
pub fn state_dict_name(path: &str) -> String {
    let kw = zoo_spec::codegen::KEYWORDS;
    let parts: Vec<&str> = path
        .split('.')
        .map(|p| match p.strip_suffix('_') {
            Some(k) if kw.contains(&k) => k,
            _ => p,
        })
        .collect();
    torch_name(&parts.join("."))
}

/// burn's norm parameters as PyTorch names them (`gamma`/`beta` → `weight`/`bias`).
fn torch_name(path: &str) -> String {
    match path.rsplit_once('.') {
        Some((base, "gamma")) => format!("{base}.weight"),
        Some((base, "beta")) => format!("{base}.bias"),
        _ => path.to_string(),
    }
}

fn report(
    r: ApplyResult,
    opts: &LoadOptions,
    torch_shapes: &[(String, Vec<usize>)],
) -> Result<LoadReport, WeightsError> {
    let mut shapes = Vec::new();
    let mut bad = Vec::new();
    for e in &r.errors {
        match e {
            ApplyError::ShapeMismatch { path, expected, found } => {
                let name = torch_name(path);
                let (mut model, mut file) = (expected.as_slice().to_vec(), found.as_slice().to_vec());
                // burn stores linear weights as [in, out]; PyTorch as [out, in].
                let torch = torch_shapes.iter().find(|(k, _)| *k == name).map(|(_, s)| s);
                if torch.is_some_and(|t| *t != model && t.iter().rev().eq(model.iter())) {
                    model.reverse();
                    file.reverse();
                }
                shapes.push((name, model, file))
            }
            ApplyError::DTypeMismatch { path, expected, found } => {
                bad.push((path.clone(), format!("expected {expected:?}, found {found:?}")))
            }
            other => bad.push((String::new(), other.to_string())),
        }
    }
    if !shapes.is_empty() {
        return Err(WeightsError::ShapeMismatch(shapes));
    }
    if !bad.is_empty() {
        return Err(WeightsError::BadTensors(bad));
    }
    let is_buffer = |k: &str| SKIPPED_BUFFERS.iter().any(|b| k.rsplit('.').next() == Some(*b));
    let mut rep = LoadReport {
        applied: r.applied,
        ..Default::default()
    };
    // Head tensors the filter kept out of the model.
    rep.dropped_head = r.skipped.into_iter().filter(|k| !not_head(k, "")).collect();
    for k in r.unused {
        if is_buffer(&k) {
            continue;
        }
        if !opts.load_head && !not_head(&k, "") {
            if !rep.dropped_head.contains(&k) {
                rep.dropped_head.push(k);
            }
        } else {
            rep.unexpected.push(k);
        }
    }
    rep.dropped_head.sort();
    rep.unexpected.sort();
    rep.missing = r
        .missing
        .into_iter()
        .map(|(k, _)| k)
        .filter(|k| opts.load_head || not_head(k, ""))
        .collect();
    if !rep.missing.is_empty() {
        return Err(WeightsError::Missing(rep.missing));
    }
    Ok(rep)
}

/// Writes the model's weights. `.safetensors` uses PyTorch/NetsPresso names and layouts;
/// `.bpk` is burn's own format.
pub fn save(model: &TaskModel, path: &Path) -> Result<(), WeightsError> {
    // A training forward pass leaves BatchNorm's new running statistics pending per thread
    // (burn's `RunningState`), where a plain read does not see them; `valid` folds them in, so
    // a model saved mid-training (a resume state) has the statistics of its last step.
    let model = &burn::module::Module::valid(model);
    let io = |e: String| WeightsError::Io(path.to_path_buf(), e);
    match Format::of(path) {
        Some(Format::Safetensors) => {
            let keywords = KeyRemapper::new()
                .add_pattern(format!(r"(^|\.)({})_\.", keyword_alternation()), "${1}${2}.")
                .map_err(|e| io(e.to_string()))?;
            let mut store = SafetensorsStore::from_file(path)
                .with_to_adapter(BurnToPyTorchAdapter)
                .skip_enum_variants(true)
                .map_indices_contiguous(false)
                .remap(keywords);
            model.save_into(&mut store).map_err(|e| io(e.to_string()))
        }
        Some(Format::Burnpack) => {
            let mut store = BurnpackStore::from_file(path).auto_extension(false).overwrite(true);
            model.save_into(&mut store).map_err(|e| io(e.to_string()))
        }
        _ => Err(WeightsError::UnknownFormat(path.to_path_buf())),
    }
}
