//! `model.postprocessor`: typed by the head (or full model) that produces the prediction, as
//! its spec's `postprocessor.params` declare; NetsPresso reads every one of them and fails late
//! (`AttributeError`) when one is missing or `postprocessor` is null.

use super::Architecture;
use super::params::typed;
use super::validate::Cx;
use crate::architectures::registry;
use crate::config::diagnostics::Diagnostic;
use serde_json::{Map, Value as J};
use zoo_spec::registry::parse_ty;
use zoo_spec::yaml::Node;

const PATH: &str = "model.postprocessor";

/// The component whose prediction is postprocessed.
fn producer(arch: &Architecture) -> Option<&'static registry::ComponentDesc> {
    match arch {
        Architecture::Parts { head, .. } => registry::find("head", &head.name),
        Architecture::Full(f) => registry::find("full", &f.name),
    }
}

/// Validates `postprocessor` against the producing component; returns it as JSON (`params`
/// typed and complete when the component declares them).
pub fn validate(cx: &mut Cx, model: &Node, arch: Option<&Architecture>) -> J {
    let node = model.get("postprocessor");
    if let Some(p) = node.filter(|p| !p.is_null()) {
        if p.as_map().is_none() {
            cx.error(
                p.span,
                PATH,
                format!("`postprocessor` must be a mapping or null, found {}", p.type_name()),
            );
            return J::Null;
        }
        let allowed = ["params"];
        for (k, _) in p.as_map().unwrap_or_default() {
            if !allowed.contains(&k.key_text().as_str()) {
                cx.push(
                    Diagnostic::error(k.span, PATH, format!("unknown key `{}` in postprocessor", k.key_text()))
                        .with_help("expected `params`"),
                );
            }
        }
    }
    let raw = node.map(|n| n.to_json()).unwrap_or(J::Null);
    let Some(desc) = arch.and_then(producer) else {
        return raw;
    };
    let Some(post) = desc.postprocessor.as_ref().filter(|p| !p.params.is_empty()) else {
        return raw;
    };
    let names: Vec<&str> = post.params.iter().map(|p| p.name.as_str()).collect();
    let example = format!(
        "postprocessor:\n  params:\n{}",
        post.params
            .iter()
            .map(|p| format!("    {}: ...", p.name))
            .collect::<Vec<_>>()
            .join("\n")
    );
    let params = node.filter(|n| !n.is_null()).and_then(|n| n.get_entry("params"));
    let params_node = match (node, params) {
        (_, Some((_, v))) if v.as_map().is_some() => v,
        (_, Some((k, v))) => {
            let at = if v.is_null() { k.span } else { v.span };
            cx.push(
                Diagnostic::error(
                    at,
                    format!("{PATH}.params"),
                    format!(
                        "{} `{}` needs `postprocessor.params` ({}), found {}",
                        desc.kind,
                        desc.name,
                        names.join(", "),
                        v.type_name()
                    ),
                )
                .with_help(example),
            );
            return raw;
        }
        (Some(n), None) => {
            let at = if n.is_null() {
                model.get_entry("postprocessor").map(|(k, _)| k.span).unwrap_or(n.span)
            } else {
                n.span
            };
            cx.push(
                Diagnostic::error(
                    at,
                    PATH,
                    format!(
                        "{} `{}` needs `postprocessor.params` ({}); NetsPresso fails when it decodes",
                        desc.kind,
                        desc.name,
                        names.join(", ")
                    ),
                )
                .with_help(example),
            );
            return raw;
        }
        (None, None) => {
            cx.push(
                Diagnostic::error(
                    model.span,
                    PATH,
                    format!(
                        "missing `postprocessor`: {} `{}` needs `postprocessor.params` ({})",
                        desc.kind,
                        desc.name,
                        names.join(", ")
                    ),
                )
                .with_help(example),
            );
            return raw;
        }
    };
    let ppath = format!("{PATH}.params");
    // A misspelt key explains its missing param: one error, with the did-you-mean.
    let mut misspelt: Vec<&str> = Vec::new();
    for (k, _) in params_node.as_map().unwrap_or_default() {
        let key = k.key_text();
        if !names.contains(&key.as_str()) {
            let close = zoo_spec::diag::closest(&key, names.iter().copied());
            misspelt.extend(close);
            let help = close
                .map(|c| format!("did you mean `{c}`?"))
                .unwrap_or_else(|| format!("`{}` reads {}", desc.name, names.join(", ")));
            cx.push(
                Diagnostic::error(
                    k.span,
                    &ppath,
                    format!("unknown key `{key}` in the postprocessor params of `{}`", desc.name),
                )
                .with_help(help),
            );
        }
    }
    let mut out = Map::new();
    for p in &post.params {
        match params_node.get(&p.name) {
            Some(v) => {
                if let Some(j) = typed(cx, v, &parse_ty(&p.ty), &format!("{ppath}.{}", p.name), Some(p)) {
                    out.insert(p.name.clone(), j);
                }
            }
            None if p.required && misspelt.contains(&p.name.as_str()) => {}
            None if p.required => cx.error(
                params_node.span,
                &ppath,
                format!("missing `{}` in the postprocessor params of `{}`", p.name, desc.name),
            ),
            None => {
                out.insert(p.name.clone(), p.default.clone());
            }
        }
    }
    if let Some(Architecture::Parts { head, .. }) = arch {
        agrees_with_head(cx, params_node, &head.params, &out);
    }
    serde_json::json!({ "params": J::Object(out) })
}

/// Values the decoder and the head both read must agree: YOLOv9's `reg_max` splits the
/// prediction, YOLO-Fastest's `anchors` scale it.
fn agrees_with_head(cx: &mut Cx, params_node: &Node, head: &J, post: &Map<String, J>) {
    for key in ["reg_max", "anchors"] {
        let (Some(h), Some(p)) = (head.get(key), post.get(key)) else {
            continue;
        };
        if h == p {
            continue;
        }
        let at = params_node.get(key).map(|n| n.span).unwrap_or(params_node.span);
        let counts = |v: &J| -> Vec<usize> {
            v.as_array()
                .map(|a| a.iter().map(|l| l.as_array().map_or(0, Vec::len)).collect())
                .unwrap_or_default()
        };
        if key == "anchors" && counts(h) == counts(p) {
            cx.push(Diagnostic::warning(
                at,
                format!("{PATH}.params.{key}"),
                format!("the postprocessor's `anchors` differ from the head's ({h}); boxes are decoded with the postprocessor's"),
            ));
        } else {
            cx.error(
                at,
                format!("{PATH}.params.{key}"),
                format!("the postprocessor's `{key}` ({p}) does not match the head's ({h}): the prediction could not be decoded"),
            );
        }
    }
}
