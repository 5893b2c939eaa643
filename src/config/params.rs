//! Validation of a component's `params` / `stage_params` against its declarations.

use super::validate::Cx;
use crate::architectures::registry::{ComponentDesc, ParamDesc};
use serde_json::{Map, Value as J};
use zoo_spec::registry::TagDesc;
use zoo_spec::registry::parse_ty;
use zoo_spec::types::Ty;
use zoo_spec::yaml::{Node, Value};

/// Checks a value against a declared type; returns its JSON when it fits.
pub fn typed(cx: &mut Cx, node: &Node, ty: &Ty, path: &str, decl: Option<&ParamDesc>) -> Option<J> {
    let bad = |cx: &mut Cx, want: &str| {
        let mut msg = format!("expected {want}, found {}", describe(node));
        if let (Ty::Bool | Ty::Opt(_), Value::Str(s)) = (ty, &node.value)
            && matches!(s.as_str(), "yes" | "no" | "on" | "off" | "Yes" | "No" | "On" | "Off")
        {
            msg.push_str(" (YAML 1.2 reads yes/no/on/off as strings; write true or false)");
        }
        cx.error(node.span, path, msg);
        None
    };
    match (ty, &node.value) {
        (Ty::Opt(_), Value::Null) => Some(J::Null),
        (Ty::Opt(inner), _) => typed(cx, node, inner, path, decl),
        (Ty::Int, Value::Int(i)) => {
            bounds(cx, node, *i as f64, path, decl);
            Some(J::from(*i))
        }
        (Ty::Float, Value::Int(i)) => {
            bounds(cx, node, *i as f64, path, decl);
            Some(J::from(*i as f64))
        }
        (Ty::Float, Value::Float(f)) => {
            bounds(cx, node, *f, path, decl);
            serde_json::Number::from_f64(*f)
                .map(J::Number)
                .or_else(|| bad(cx, "a finite number"))
        }
        (Ty::Bool, Value::Bool(b)) => Some(J::Bool(*b)),
        // A string choice `true`/`false` may be written as a YAML boolean (FPN's
        // `add_extra_convs: False | on_input | ...`); it is passed on as the string.
        (Ty::Str, Value::Bool(b)) if decl.is_some_and(|d| d.choices.iter().any(|c| *c == b.to_string())) => {
            Some(J::String(b.to_string()))
        }
        (Ty::Str, Value::Str(s)) => {
            // A case-insensitive choice is passed on as the spec spells it.
            if let Some(d) = decl
                && d.ignore_case
                && let Some(c) = d.choices.iter().find(|c| c.eq_ignore_ascii_case(s))
            {
                return Some(J::String(c.clone()));
            }
            if let Some(d) = decl
                && !d.choices.is_empty()
                && !d.choices.iter().any(|c| c == s)
            {
                let hint = zoo_spec::diag::closest(s, d.choices.iter().map(String::as_str))
                    .map(|c| format!("did you mean `{c}`?"))
                    .unwrap_or_else(|| format!("expected one of {}", quote_list(&d.choices)));
                cx.push(
                    crate::config::diagnostics::Diagnostic::error(
                        node.span,
                        path,
                        format!("`{s}` is not a valid value for `{}`", d.name),
                    )
                    .with_help(hint),
                );
                return None;
            }
            Some(J::String(s.clone()))
        }
        (Ty::List(item), Value::Seq(items)) => {
            let mut out = Vec::new();
            let mut ok = true;
            for (k, it) in items.iter().enumerate() {
                match typed(cx, it, item, &format!("{path}[{k}]"), decl) {
                    Some(v) => out.push(v),
                    None => ok = false,
                }
            }
            ok.then_some(J::Array(out))
        }
        (Ty::Int, _) => bad(cx, "an integer"),
        (Ty::Float, _) => bad(cx, "a number"),
        (Ty::Bool, _) => bad(cx, "a boolean (true or false)"),
        (Ty::Str, _) => bad(cx, "a string"),
        (Ty::List(_), _) => bad(cx, "a list"),
        _ => bad(cx, &ty.to_string()),
    }
}

fn describe(node: &Node) -> String {
    match &node.value {
        Value::Null => "null".into(),
        Value::Bool(b) => format!("the boolean `{b}`"),
        Value::Int(i) => format!("the integer `{i}`"),
        Value::Float(f) => format!("the number `{f}`"),
        Value::Str(s) => format!("the string `{s}`"),
        Value::Seq(_) => "a list".into(),
        Value::Map(_) => "a mapping".into(),
    }
}

fn quote_list(items: &[String]) -> String {
    items.iter().map(|c| format!("`{c}`")).collect::<Vec<_>>().join(", ")
}

fn bounds(cx: &mut Cx, node: &Node, v: f64, path: &str, decl: Option<&ParamDesc>) {
    let Some(d) = decl else { return };
    if let Some(min) = d.min
        && v < min
    {
        cx.error(
            node.span,
            path,
            format!("`{}` must be at least {min}, found {v}", d.name),
        );
    }
    if let Some(max) = d.max
        && v > max
    {
        cx.error(
            node.span,
            path,
            format!("`{}` must be at most {max}, found {v}", d.name),
        );
    }
}

/// Validates a mapping of declared fields; fills defaults. `owner` names it in messages.
pub fn fields(
    cx: &mut Cx,
    node: Option<&Node>,
    at: zoo_spec::yaml::Span,
    decls: &[ParamDesc],
    ignored: &[String],
    path: &str,
    owner: &str,
) -> Option<Map<String, J>> {
    let empty = Vec::new();
    let entries = match node {
        None => &empty,
        Some(n) if n.is_null() => &empty,
        Some(n) => match n.as_map() {
            Some(m) => m,
            None => {
                cx.error(
                    n.span,
                    path,
                    format!("{owner} must be a mapping, found {}", n.type_name()),
                );
                return None;
            }
        },
    };
    let mut ok = true;
    let mut out = Map::new();
    // Required keys a misspelled key was taken for: reported once, as the misspelling.
    let mut suggested: Vec<String> = Vec::new();
    for (k, v) in entries {
        let key = k.key_text();
        let kpath = format!("{path}.{key}");
        if ignored.contains(&key) {
            cx.push(crate::config::diagnostics::Diagnostic::warning(
                k.span,
                &kpath,
                format!("`{key}` is accepted for compatibility and ignored"),
            ));
            continue;
        }
        let Some(d) = decls.iter().find(|d| d.name == key) else {
            let names: Vec<&str> = decls.iter().map(|d| d.name.as_str()).collect();
            let close = zoo_spec::diag::closest(&key, names.iter().copied());
            if let Some(c) = close {
                suggested.push(c.to_string());
            }
            let help = close.map(|c| format!("did you mean `{c}`?")).unwrap_or_else(|| {
                if names.is_empty() {
                    format!("{owner} takes no parameters")
                } else {
                    format!(
                        "expected one of {}",
                        names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
                    )
                }
            });
            cx.push(
                crate::config::diagnostics::Diagnostic::error(k.span, path, format!("unknown key `{key}` in {owner}"))
                    .with_help(help),
            );
            ok = false;
            continue;
        };
        match typed(cx, v, &parse_ty(&d.ty), &kpath, Some(d)) {
            Some(j) => {
                out.insert(key, j);
            }
            None => ok = false,
        }
    }
    for d in decls {
        if out.contains_key(&d.name) || entries.iter().any(|(k, _)| k.key_text() == d.name) {
            continue;
        }
        if d.required {
            if !suggested.contains(&d.name) {
                cx.error(at, path, format!("missing required key `{}` in {owner}", d.name));
            }
            ok = false;
        } else {
            out.insert(d.name.clone(), d.default.clone());
        }
    }
    ok.then_some(out)
}

/// Validates `params` and `stage_params` of a component into the JSON its params type takes.
pub fn component_params(cx: &mut Cx, comp: &ComponentDesc, node: &Node, path: &str) -> Option<J> {
    let params_node = node.get("params");
    let params_at = node.get_entry("params").map(|(k, _)| k.span).unwrap_or(node.span);
    let mut ok = true;
    let mut out = fields(
        cx,
        params_node,
        params_at,
        &comp.params,
        &comp.ignored_params,
        &format!("{path}.params"),
        &format!("{} params", comp.name),
    )
    .unwrap_or_else(|| {
        ok = false;
        Map::new()
    });
    let sp_node = node.get("stage_params");
    match (&comp.stage_params, sp_node) {
        (None, None) => {}
        (None, Some(n)) if n.is_null() => {}
        (None, Some(n)) => {
            cx.error(
                n.span,
                format!("{path}.stage_params"),
                format!(
                    "`{}` takes no stage_params (write `stage_params: ~` or leave it out)",
                    comp.name
                ),
            );
            ok = false;
        }
        (Some(sp), n) => {
            let items: &[Node] = match n {
                Some(n) => match n.as_seq() {
                    Some(s) => s,
                    None if n.is_null() => &[],
                    None => {
                        cx.error(
                            n.span,
                            format!("{path}.stage_params"),
                            format!("`stage_params` must be a list, found {}", n.type_name()),
                        );
                        return None;
                    }
                },
                None => &[],
            };
            if items.len() < sp.min_items {
                let span = n.map(|n| n.span).unwrap_or(node.span);
                cx.error(
                    span,
                    format!("{path}.stage_params"),
                    format!(
                        "`{}` needs at least {} stage(s) in `stage_params`, found {}",
                        comp.name,
                        sp.min_items,
                        items.len()
                    ),
                );
                ok = false;
            }
            let mut stages = Vec::new();
            for (i, it) in items.iter().enumerate() {
                let ipath = format!("{path}.stage_params[{i}]");
                if !sp.tags.is_empty() {
                    match tagged_stage(cx, it, &sp.tags, sp.ignore_tag_case, &ipath) {
                        Some(blocks) => stages.push(blocks),
                        None => ok = false,
                    }
                    continue;
                }
                match fields(
                    cx,
                    Some(it),
                    it.span,
                    &sp.fields,
                    &[],
                    &ipath,
                    &format!("stage {i} of {}", comp.name),
                ) {
                    Some(m) => {
                        parallel_lengths(cx, it, &sp.parallel, &ipath);
                        stages.push(J::Object(m));
                    }
                    None => ok = false,
                }
            }
            out.insert("stage_params".into(), J::Array(stages));
        }
    }
    ok.then_some(J::Object(out))
}

/// Parallel lists that are zipped together must have equal lengths.
fn parallel_lengths(cx: &mut Cx, stage: &Node, names: &[String], path: &str) {
    let lists: Vec<(&str, &Node, usize)> = names
        .iter()
        .filter_map(|n| {
            stage
                .get_entry(n)
                .and_then(|(k, v)| v.as_seq().map(|s| (n.as_str(), k, s.len())))
        })
        .collect();
    let Some(&(first, _, len)) = lists.first() else { return };
    for (name, key, l) in &lists[1..] {
        if *l != len {
            cx.error(
                key.span,
                format!("{path}.{name}"),
                format!("`{name}` has {l} items but `{first}` has {len}; these lists are zipped block by block and must have equal lengths"),
            );
        }
    }
}

/// A stage of tagged blocks: a list of `[tag, value, ...]` lists, each checked against the
/// fields of its tag.
fn tagged_stage(cx: &mut Cx, stage: &Node, tags: &[TagDesc], ignore_case: bool, path: &str) -> Option<J> {
    let Some(blocks) = stage.as_seq() else {
        cx.error(
            stage.span,
            path,
            format!(
                "a stage is a list of blocks `[tag, value, ...]`, found {}",
                describe(stage)
            ),
        );
        return None;
    };
    let names: Vec<String> = tags.iter().map(|t| t.name.clone()).collect();
    let mut out = Vec::new();
    let mut ok = true;
    for (j, b) in blocks.iter().enumerate() {
        let bpath = format!("{path}[{j}]");
        let Some(values) = b.as_seq() else {
            cx.error(
                b.span,
                &bpath,
                format!("a block is a list `[tag, value, ...]`, found {}", describe(b)),
            );
            ok = false;
            continue;
        };
        let Some((tag_node, rest)) = values.split_first() else {
            cx.error(
                b.span,
                &bpath,
                format!("an empty block; it starts with its tag, one of {}", quote_list(&names)),
            );
            ok = false;
            continue;
        };
        let matches = |t: &&TagDesc| match tag_node.as_str() {
            Some(x) if ignore_case => t.name.eq_ignore_ascii_case(x),
            Some(x) => t.name == x,
            None => false,
        };
        let Some(tag) = tags.iter().find(matches) else {
            let found = tag_node
                .as_str()
                .map(|t| format!("`{t}`"))
                .unwrap_or_else(|| describe(tag_node));
            let hint = tag_node
                .as_str()
                .and_then(|t| zoo_spec::diag::closest(t, names.iter().map(String::as_str)))
                .map(|c| format!("did you mean `{c}`?"))
                .unwrap_or_else(|| format!("expected one of {}", quote_list(&names)));
            cx.push(
                crate::config::diagnostics::Diagnostic::error(
                    tag_node.span,
                    format!("{bpath}[0]"),
                    format!("unknown block tag {found}"),
                )
                .with_help(hint),
            );
            ok = false;
            continue;
        };
        let wanted: Vec<&str> = tag.fields.iter().map(|f| f.name.as_str()).collect();
        if rest.len() != tag.fields.len() {
            cx.error(
                b.span,
                &bpath,
                format!(
                    "`{}` takes {} values after its tag ({}), found {}",
                    tag.name,
                    tag.fields.len(),
                    wanted.join(", "),
                    rest.len()
                ),
            );
            ok = false;
            continue;
        }
        let mut vals = vec![J::String(tag.name.clone())];
        for (k, (v, f)) in rest.iter().zip(&tag.fields).enumerate() {
            match typed(cx, v, &parse_ty(&f.ty), &format!("{bpath}[{}]", k + 1), Some(f)) {
                Some(x) => vals.push(x),
                None => ok = false,
            }
        }
        out.push(J::Array(vals));
    }
    ok.then_some(J::Array(out))
}
