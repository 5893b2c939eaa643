//! Checkpoints as users download them from model hubs: a model folder (`config.json` beside
//! `model.safetensors` / `pytorch_model.bin`), a sentence-transformers folder (`modules.json`,
//! `1_Pooling/config.json`), and original key names (transformers, torchvision) recognised
//! by the remap rules the specs declare, so they load without naming their source.

use crate::io::weights::{Format, WeightsError};
use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// Remap rules of one weight source, as a spec's `remap:` declares them.
pub type Source = (String, Vec<(String, String)>);

/// The tensor names a checkpoint file holds, read without loading the tensors.
pub fn checkpoint_keys(path: &Path) -> Result<Vec<String>, WeightsError> {
    let corrupt = |e: String| WeightsError::Corrupt(path.to_path_buf(), e);
    match Format::of(path) {
        Some(Format::Safetensors) => {
            use std::io::Read;
            let mut f = std::fs::File::open(path).map_err(|e| WeightsError::Io(path.to_path_buf(), e.to_string()))?;
            let mut len = [0u8; 8];
            f.read_exact(&mut len).map_err(|e| corrupt(e.to_string()))?;
            let n = u64::from_le_bytes(len);
            let size = f.metadata().map(|m| m.len()).unwrap_or(0);
            if n > size.saturating_sub(8) || n > 100 << 20 {
                return Err(corrupt(format!("header length {n} exceeds the file")));
            }
            let mut header = vec![0u8; n as usize];
            f.read_exact(&mut header).map_err(|e| corrupt(e.to_string()))?;
            let v: serde_json::Value = serde_json::from_slice(&header).map_err(|e| corrupt(format!("header: {e}")))?;
            let obj = v
                .as_object()
                .ok_or_else(|| corrupt("header is not a JSON object".into()))?;
            Ok(obj.keys().filter(|k| *k != "__metadata__").cloned().collect())
        }
        Some(Format::Pytorch) => burn::store::pytorch::PytorchReader::new(path)
            .map(|r| r.keys())
            .map_err(|e| corrupt(e.to_string())),
        Some(Format::Burnpack) => Ok(Vec::new()),
        None => Err(WeightsError::UnknownFormat(path.to_path_buf())),
    }
}

/// Applies remap rules in order, each to the result of the previous (as the loader does).
pub fn rename(key: &str, rules: &[(regex::Regex, String)]) -> String {
    let mut k = key.to_string();
    for (re, to) in rules {
        if re.is_match(&k) {
            k = re.replace_all(&k, to.as_str()).into_owned();
        }
    }
    k
}

/// When none of a checkpoint's names is the model's, the source whose rules turn the most of
/// them into model names (at least one); `None` when the names are the model's own or no
/// source fits.
pub fn detect_source<'a>(keys: &[String], model_keys: &HashSet<String>, sources: &'a [Source]) -> Option<&'a Source> {
    if keys.is_empty() || keys.iter().any(|k| model_keys.contains(k)) {
        return None;
    }
    sources
        .iter()
        .filter_map(|s| {
            let rules: Vec<(regex::Regex, String)> =
                s.1.iter()
                    .map(|(from, to)| regex::Regex::new(from).map(|re| (re, to.clone())))
                    .collect::<Result<_, _>>()
                    .ok()?;
            let hits = keys.iter().filter(|k| model_keys.contains(&rename(k, &rules))).count();
            (hits > 0).then_some((hits, s))
        })
        .max_by_key(|(hits, _)| *hits)
        .map(|(_, s)| s)
}

/// What a checkpoint folder holds: the weights file, and for a sentence-transformers folder
/// its pooling mode and whether it ends in a `Normalize` module.
#[derive(Debug, Clone, PartialEq)]
pub struct Folder {
    pub weights: PathBuf,
    pub pooling: Option<String>,
    pub normalize: bool,
}

/// The weights file of a model folder, preferring safetensors.
fn weights_in(dir: &Path) -> Option<PathBuf> {
    [
        "model.safetensors",
        "pytorch_model.bin",
        "model.pth",
        "pytorch_model.pt",
    ]
    .iter()
    .map(|f| dir.join(f))
    .find(|p| p.is_file())
}

/// Reads a checkpoint folder: a sentence-transformers folder (`modules.json`) or a model
/// folder with one weights file.
pub fn read_folder(dir: &Path) -> Result<Folder, String> {
    let modules = dir.join("modules.json");
    if !modules.is_file() {
        return weights_in(dir)
            .map(|weights| Folder {
                weights,
                pooling: None,
                normalize: false,
            })
            .ok_or(format!(
                "{} holds no model.safetensors or pytorch_model.bin (nor a sentence-transformers modules.json)",
                dir.display()
            ));
    }
    let text = std::fs::read_to_string(&modules).map_err(|e| format!("cannot read {}: {e}", modules.display()))?;
    let list: Vec<serde_json::Value> =
        serde_json::from_str(&text).map_err(|e| format!("{}: not a list of modules: {e}", modules.display()))?;
    let mut out = Folder {
        weights: PathBuf::new(),
        pooling: None,
        normalize: false,
    };
    for m in &list {
        let ty = m.get("type").and_then(|t| t.as_str()).unwrap_or("");
        let sub = dir.join(m.get("path").and_then(|p| p.as_str()).unwrap_or(""));
        match ty.rsplit('.').next().unwrap_or("") {
            "Transformer" => {
                out.weights = weights_in(&sub).ok_or(format!(
                    "{}: the Transformer module's folder {} holds no model.safetensors or pytorch_model.bin",
                    modules.display(),
                    sub.display()
                ))?;
            }
            "Pooling" => out.pooling = Some(pooling_mode(&sub.join("config.json"))?),
            "Normalize" => out.normalize = true,
            other => {
                return Err(format!(
                    "{}: module `{other}` ({ty}) is not supported; zoo reads Transformer, Pooling and Normalize",
                    modules.display()
                ));
            }
        }
    }
    if out.weights.as_os_str().is_empty() {
        return Err(format!("{}: no Transformer module", modules.display()));
    }
    Ok(out)
}

/// sentence-transformers' pooling mode from its `config.json` (`pooling_mode_*_tokens`).
fn pooling_mode(config: &Path) -> Result<String, String> {
    let text = std::fs::read_to_string(config).map_err(|e| format!("cannot read {}: {e}", config.display()))?;
    let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| format!("{}: {e}", config.display()))?;
    let on = |k: &str| v.get(k).and_then(|b| b.as_bool()).unwrap_or(false);
    let modes: Vec<&str> = [
        ("pooling_mode_mean_tokens", "mean"),
        ("pooling_mode_cls_token", "cls"),
        ("pooling_mode_max_tokens", "max"),
        ("pooling_mode_mean_sqrt_len_tokens", "mean_sqrt_len"),
        ("pooling_mode_weightedmean_tokens", "weightedmean"),
        ("pooling_mode_lasttoken", "lasttoken"),
    ]
    .iter()
    .filter(|(k, _)| on(k))
    .map(|(_, m)| *m)
    .collect();
    match modes.as_slice() {
        [one] => Ok(one.to_string()),
        [] => Err(format!("{}: no pooling mode is set", config.display())),
        many => Err(format!(
            "{}: several pooling modes ({}) are concatenated, which zoo does not support",
            config.display(),
            many.join(", ")
        )),
    }
}
