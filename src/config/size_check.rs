//! Refuses a model that would not fit in memory before anything is allocated: the generated
//! `size` functions give parameters and buffer bytes from the config alone, and the value that
//! makes the model too large is found by asking which numeric value, set to 1, shrinks it most.

use super::Component;
use super::limits::{Limit, human_bytes, human_count};
use super::validate::Cx;
use crate::architectures::generated::{AnyBackbone, AnyFull, AnyHead, AnyNeck};
use crate::config::diagnostics::Diagnostic;
use crate::rt::{BuildError, Context, Size};
use serde_json::Value;
use std::time::{Duration, Instant};
use zoo_spec::yaml::Node;

/// One component of the model as the validator sees it.
pub struct Part<'a> {
    pub kind: &'static str,
    pub component: &'a Component,
    pub ctx: Context,
    /// The component's node (`model.architecture.backbone`) and its path.
    pub node: &'a Node,
    pub path: &'static str,
}

/// The size of a component, by kind.
pub fn component_size(kind: &str, name: &str, params: &Value, ctx: &Context) -> Result<Size, BuildError> {
    match kind {
        "backbone" => AnyBackbone::size(name, params, ctx),
        "neck" => AnyNeck::size(name, params, ctx),
        "head" => AnyHead::size(name, params, ctx),
        _ => AnyFull::size(name, params, ctx),
    }
}

/// The size of the whole model; `Err` carries the part whose size could not be computed.
pub fn model_size(parts: &[Part]) -> Result<Size, (usize, BuildError)> {
    let mut total = Size::ZERO;
    for (i, p) in parts.iter().enumerate() {
        total += component_size(p.kind, &p.component.name, &p.component.params, &p.ctx).map_err(|e| (i, e))?;
    }
    Ok(total)
}

/// Checks the model against the memory limit: its size when it fits; otherwise `None`, with
/// an error reported at the value that makes it too large.
pub fn fits(cx: &mut Cx, parts: &[Part], limit: Option<Limit>) -> Option<Size> {
    let cap = limit.map_or(u64::MAX, |l| l.bytes);
    let (total, cut) = crate::rt::size::capped(cap, cap.saturating_mul(EXACT_UP_TO), EXACT_FOR, || model_size(parts));
    let total = match total {
        Ok(t) => t,
        Err((k, e)) => {
            // The error building would give, reported before building allocates anything
            // (an eager buffer of an absurd size comes before the error in build order).
            super::checks::report(cx, parts[k].node, parts[k].path, e);
            return None;
        }
    };
    let Some(limit) = limit else { return Some(total) };
    if total.bytes() <= limit.bytes {
        return Some(total);
    }
    let over = if cut { "over " } else { "" };
    let message = format!(
        "the model would need {over}{} parameters ({over}{} of weights), more than {} ({})",
        human_count(total.params),
        human_bytes(total.bytes()),
        limit.source,
        human_bytes(limit.bytes)
    );
    let help = "lower this value, or raise the limit with `--max-memory` (e.g. `--max-memory 64G`)";
    match culprit(parts, total, limit.bytes) {
        Some((k, rel, _)) => {
            let p = &parts[k];
            let (node, _) = super::checks::locate(p.node, &rel);
            let yaml_path = format!("{}.{rel}", p.path);
            cx.push(Diagnostic::error(node.span, yaml_path, message).with_help(help));
        }
        None => {
            let p = &parts[0];
            let at = p.node.get_entry("name").map(|(_, v)| v.span).unwrap_or(p.node.span);
            cx.push(
                Diagnostic::error(at, p.path, message)
                    .with_help("choose smaller settings, or raise the limit with `--max-memory`"),
            );
        }
    }
    None
}

/// Training holds the weights, their gradients and up to two optimizer moments (Adam's).
pub const TRAINING_COPIES: u64 = 4;

/// Checks that training a model of `size` fits: weights, gradients and the optimizer's state
/// (activations come on top).
pub fn training_fits(size: Size, limit: Option<Limit>) -> Result<(), String> {
    let Some(limit) = limit else { return Ok(()) };
    let need = size
        .params
        .saturating_mul(4 * TRAINING_COPIES)
        .saturating_add(size.buffer_bytes);
    if need <= limit.bytes {
        return Ok(());
    }
    Err(format!(
        "training needs {} for the weights, their gradients and the optimizer's moments ({TRAINING_COPIES} × {} of weights), more than {} ({}); choose a smaller model or raise the limit with `--max-memory`",
        human_bytes(need),
        human_bytes(size.bytes()),
        limit.source,
        human_bytes(limit.bytes)
    ))
}

/// A model over the limit is counted exactly up to this many times the limit, or for this
/// long; beyond, the error says "over" what was counted.
const EXACT_UP_TO: u64 = 1024;
const EXACT_FOR: Duration = Duration::from_secs(2);

/// Probing stops after this long (a config of 65 536 blocks takes milliseconds per probe).
const PROBE_BUDGET: Duration = Duration::from_millis(800);

/// The value that makes the model too large: the part, its path relative to the part's node,
/// and the size with it lowered. First among the values above anything the component's
/// presets use (a user's `num_blocks: 65536`, not the `channels: 512` it multiplies), each
/// lowered to the presets' largest; failing that, the value whose lowering to 1 shrinks the
/// model most.
fn culprit(parts: &[Part], total: Size, cap: u64) -> Option<(usize, String, Size)> {
    let start = Instant::now();
    let mut leaves = Vec::new();
    for (k, p) in parts.iter().enumerate() {
        let typical = preset_maxima(p.kind, &p.component.name);
        let mut paths = Vec::new();
        numeric_leaves(&p.component.params, &mut Vec::new(), &mut paths);
        for path in paths {
            let value = value_at(&p.component.params, &path);
            let usual = last_key(&path).and_then(|key| typical.get(key)).copied();
            leaves.push((k, path, value, usual));
        }
    }
    let unusual = |usual: Option<f64>, value: f64| usual.is_some_and(|u| value > u);
    // Values beyond the presets' range, the most extreme (relative to that range) first.
    let mut beyond: Vec<_> = leaves.iter().filter(|l| unusual(l.3, l.2)).collect();
    beyond.sort_by(|a, b| (b.2 / b.3.unwrap_or(1.0)).total_cmp(&(a.2 / a.3.unwrap_or(1.0))));
    let lowered_to_usual = probe(parts, total, cap, &beyond, start, |l| l.3.unwrap_or(1.0));
    if lowered_to_usual.is_some() {
        return lowered_to_usual;
    }
    let mut all: Vec<_> = leaves.iter().collect();
    all.sort_by(|a, b| b.2.total_cmp(&a.2));
    probe(parts, total, cap, &all, start, |_| 1.0)
}

type Leaf = (usize, Vec<Seg>, f64, Option<f64>);

/// Sizes the model with each leaf lowered (one at a time) and keeps the smallest result.
fn probe(
    parts: &[Part],
    total: Size,
    cap: u64,
    leaves: &[&Leaf],
    start: Instant,
    lower_to: impl Fn(&Leaf) -> f64,
) -> Option<(usize, String, Size)> {
    let mut best: Option<(usize, String, Size)> = None;
    for leaf in leaves {
        if start.elapsed() > PROBE_BUDGET {
            break;
        }
        let (k, path, _, _) = leaf;
        let p = &parts[*k];
        let mut params = p.component.params.clone();
        let Some(slot) = pointer_mut(&mut params, path) else {
            continue;
        };
        let to = lower_to(leaf);
        *slot = if slot.is_f64() {
            Value::from(to)
        } else {
            Value::from(to as i64)
        };
        let mut trial = parts.iter().map(|q| q.component.params.clone()).collect::<Vec<_>>();
        trial[*k] = params;
        let Some(size) = sized(parts, &trial, cap) else {
            continue;
        };
        if size.bytes() < total.bytes() && best.as_ref().is_none_or(|b| size.bytes() < b.2.bytes()) {
            best = Some((*k, relative_path(p.kind, path), size));
        }
    }
    best
}

fn last_key(path: &[Seg]) -> Option<&str> {
    path.iter().rev().find_map(|s| match s {
        Seg::Key(k) => Some(k.as_str()),
        Seg::Index(_) => None,
    })
}

/// The largest number each key holds in any preset of a component (`num_blocks` → 36 for
/// ResNet), anywhere in the component's section of the preset.
fn preset_maxima(kind: &str, name: &str) -> std::collections::HashMap<String, f64> {
    let mut out = std::collections::HashMap::new();
    for c in crate::architectures::registry::components() {
        for preset in &c.presets {
            let Some(section) = preset.body.get("architecture").and_then(|a| a.get(kind)) else {
                continue;
            };
            if section.get("name").and_then(Value::as_str) != Some(name) {
                continue;
            }
            let mut paths = Vec::new();
            numeric_leaves_all(section, &mut Vec::new(), &mut paths);
            for path in paths {
                if let Some(key) = last_key(&path) {
                    let v = value_at(section, &path);
                    let e = out.entry(key.to_string()).or_insert(v);
                    *e = e.max(v);
                }
            }
        }
    }
    out
}

/// Paths of every number in a JSON value.
fn numeric_leaves_all(v: &Value, path: &mut Vec<Seg>, out: &mut Vec<Vec<Seg>>) {
    match v {
        Value::Number(_) => out.push(path.clone()),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                path.push(Seg::Index(i));
                numeric_leaves_all(item, path, out);
                path.pop();
            }
        }
        Value::Object(map) => {
            for (key, item) in map {
                path.push(Seg::Key(key.clone()));
                numeric_leaves_all(item, path, out);
                path.pop();
            }
        }
        _ => {}
    }
}

/// The model's size with other params; a probe still over `cap` stops counting there.
fn sized(parts: &[Part], params: &[Value], cap: u64) -> Option<Size> {
    let (total, _) = crate::rt::size::capped(cap, cap, Duration::ZERO, || {
        let mut total = Size::ZERO;
        for (p, v) in parts.iter().zip(params) {
            total += component_size(p.kind, &p.component.name, v, &p.ctx).ok()?;
        }
        Some(total)
    });
    total
}

#[derive(Debug, Clone, PartialEq)]
enum Seg {
    Key(String),
    Index(usize),
}

/// Paths of the numbers above 1 in a JSON value (lowering one to 1 can shrink the model).
fn numeric_leaves(v: &Value, path: &mut Vec<Seg>, out: &mut Vec<Vec<Seg>>) {
    let mut all = Vec::new();
    numeric_leaves_all(v, path, &mut all);
    out.extend(all.into_iter().filter(|p| value_at(v, p) > 1.0));
}

fn value_at(v: &Value, path: &[Seg]) -> f64 {
    let mut v = v;
    for seg in path {
        v = match seg {
            Seg::Key(k) => &v[k.as_str()],
            Seg::Index(i) => &v[*i],
        };
    }
    v.as_f64().unwrap_or(0.0)
}

fn pointer_mut<'a>(mut v: &'a mut Value, path: &[Seg]) -> Option<&'a mut Value> {
    for seg in path {
        v = match seg {
            Seg::Key(k) => v.get_mut(k.as_str())?,
            Seg::Index(i) => v.get_mut(*i)?,
        };
    }
    Some(v)
}

/// The config path of a params value relative to the component's node: `params.x` and
/// `stage_params[i].y` for backbones, necks and heads; a full model's fields sit directly
/// under `full`.
fn relative_path(kind: &str, path: &[Seg]) -> String {
    let mut out = String::new();
    for (i, seg) in path.iter().enumerate() {
        match seg {
            Seg::Key(k) if i == 0 && kind != "full" && k != "stage_params" => {
                out.push_str("params.");
                out.push_str(k);
            }
            Seg::Key(k) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(k);
            }
            Seg::Index(n) => out.push_str(&format!("[{n}]")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_paths_name_config_keys() {
        let path = [
            Seg::Key("stage_params".into()),
            Seg::Index(2),
            Seg::Key("kernel_sizes".into()),
            Seg::Index(0),
            Seg::Index(1),
        ];
        assert_eq!(relative_path("backbone", &path), "stage_params[2].kernel_sizes[0][1]");
        assert_eq!(
            relative_path("backbone", &[Seg::Key("stem_channels".into())]),
            "params.stem_channels"
        );
        assert_eq!(relative_path("full", &[Seg::Key("channels".into())]), "channels");
    }

    #[test]
    fn training_counts_gradients_and_optimizer_moments() {
        let size = Size {
            params: 1 << 20,
            buffer_bytes: 1024,
            blocks: 1,
        };
        let limit = |bytes| {
            Some(Limit {
                bytes,
                source: "--max-memory",
            })
        };
        assert_eq!(training_fits(size, limit((16 << 20) + 1024)), Ok(()));
        let e = training_fits(size, limit(8 << 20)).unwrap_err();
        assert!(
            e.starts_with("training needs 16.0 MiB for the weights, their gradients and the optimizer's moments (4 × 4.0 MiB of weights), more than --max-memory (8.0 MiB)"),
            "{e}"
        );
        assert_eq!(training_fits(size, None), Ok(()));
    }

    #[test]
    fn only_numbers_above_one_are_probed() {
        let v = serde_json::json!({"a": 1, "b": 0.5, "c": [3, {"d": 2.5}], "e": "7"});
        let mut out = Vec::new();
        numeric_leaves(&v, &mut Vec::new(), &mut out);
        assert_eq!(
            out,
            vec![
                vec![Seg::Key("c".into()), Seg::Index(0)],
                vec![Seg::Key("c".into()), Seg::Index(1), Seg::Key("d".into())],
            ]
        );
    }
}
