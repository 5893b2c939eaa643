//! Parameter declarations of specs: `params`, `stage_params` and their types and defaults.

use super::{Cx, ParamDecl, StageParams, TagDecl};
use crate::types::Ty;
use crate::yaml::{Node, Value};

const PARAM_KEYS: &[&str] = &["type", "default", "enum", "ignore_case", "min", "max", "doc"];

pub(super) fn parse_params(cx: &mut Cx, node: &Node) -> Vec<ParamDecl> {
    let Some(map) = node.as_map() else {
        cx.err(node.span, "`params` must be a mapping of names to declarations");
        return Vec::new();
    };
    map.iter().filter_map(|(k, v)| parse_param(cx, k, v)).collect()
}

fn parse_param(cx: &mut Cx, key: &Node, v: &Node) -> Option<ParamDecl> {
    let name = key.key_text();
    let mut decl = ParamDecl {
        name,
        span: key.span,
        ty: Ty::Int,
        default: None,
        choices: Vec::new(),
        min: None,
        max: None,
        doc: String::new(),
        ignore_case: false,
    };
    let ty_node = match &v.value {
        Value::Str(_) => v,
        Value::Map(_) => {
            if !cx.keys(v, PARAM_KEYS, "a parameter declaration") {
                return None;
            }
            let Some(t) = v.get("type") else {
                cx.err(v.span, format!("parameter `{}` needs a `type`", decl.name));
                return None;
            };
            decl.default = v.get("default").cloned();
            decl.doc = v.get("doc").and_then(|d| cx.string(d, "`doc`")).unwrap_or_default();
            decl.min = v.get("min").and_then(|m| number(cx, m));
            decl.max = v.get("max").and_then(|m| number(cx, m));
            decl.ignore_case = flag(cx, v, "ignore_case");
            if let Some(e) = v.get("enum") {
                match e.as_seq() {
                    Some(items) => decl.choices = items.iter().filter_map(|i| cx.string(i, "an enum value")).collect(),
                    None => cx.err(e.span, "`enum` must be a list of strings"),
                }
            }
            t
        }
        _ => {
            cx.err(
                v.span,
                "a parameter is declared with a type (`int`) or a mapping (`{type: int, default: 1}`)",
            );
            return None;
        }
    };
    match ty_node.as_str().map(Ty::parse_decl) {
        Some(Ok(t)) => decl.ty = t,
        Some(Err(m)) => {
            cx.err(ty_node.span, m);
            return None;
        }
        None => {
            cx.err(ty_node.span, "`type` must be a string");
            return None;
        }
    }
    if let Some(d) = &decl.default {
        if let Err(m) = check_literal(d, &decl.ty) {
            cx.err(d.span, format!("default of `{}`: {m}", decl.name));
        }
        if let (Some(s), false) = (d.as_str(), decl.choices.is_empty())
            && !decl.choices.iter().any(|c| c == s)
        {
            cx.err(d.span, format!("default `{s}` is not one of the `enum` values"));
        }
    }
    Some(decl)
}

/// An optional boolean key of a declaration (absent: false).
fn flag(cx: &mut Cx, node: &Node, key: &str) -> bool {
    match node.get(key).map(|n| &n.value) {
        None => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => {
            cx.err(node.get(key).unwrap().span, format!("`{key}` must be true or false"));
            false
        }
    }
}

fn number(cx: &mut Cx, n: &Node) -> Option<f64> {
    match n.value {
        Value::Int(i) => Some(i as f64),
        Value::Float(f) => Some(f),
        _ => {
            cx.err(n.span, "expected a number");
            None
        }
    }
}

/// Checks that a YAML literal is a value of the declared type.
pub fn check_literal(n: &Node, ty: &Ty) -> Result<(), String> {
    match (&n.value, ty) {
        (Value::Null, Ty::Opt(_)) => Ok(()),
        (_, Ty::Opt(t)) => check_literal(n, t),
        (Value::Int(_), Ty::Int | Ty::Float) => Ok(()),
        (Value::Float(_), Ty::Float) => Ok(()),
        (Value::Bool(_), Ty::Bool) => Ok(()),
        (Value::Str(_), Ty::Str) => Ok(()),
        (Value::Seq(items), Ty::List(t)) => items.iter().try_for_each(|i| check_literal(i, t)),
        _ => Err(format!("expected {ty}, found {}", n.type_name())),
    }
}

pub(super) fn parse_stage_params(cx: &mut Cx, node: &Node) -> Option<StageParams> {
    if !cx.keys(
        node,
        &["doc", "min_items", "fields", "parallel", "tagged", "ignore_tag_case"],
        "`stage_params`",
    ) {
        return None;
    }
    let tags = node.get("tagged").map(|t| parse_tags(cx, t)).unwrap_or_default();
    let fields = match (node.get("fields"), node.get("tagged")) {
        (Some(f), None) => parse_params(cx, f),
        (None, Some(_)) => Vec::new(),
        (Some(_), Some(t)) => {
            cx.err(t.span, "`stage_params` has either `fields` (a mapping per stage) or `tagged` (a list of tagged blocks per stage)");
            Vec::new()
        }
        (None, None) => {
            cx.err(node.span, "`stage_params` needs `fields` or `tagged`");
            Vec::new()
        }
    };
    let parallel: Vec<String> = node
        .get("parallel")
        .and_then(|p| p.as_seq())
        .map(|s| s.iter().filter_map(|x| cx.string(x, "a field name")).collect())
        .unwrap_or_default();
    for p in &parallel {
        if !fields.iter().any(|f| &f.name == p) {
            cx.err(
                node.get("parallel").unwrap().span,
                format!("`parallel` names `{p}`, which is not a field"),
            );
        }
    }
    let min_items = match node.get("min_items").map(|n| &n.value) {
        Some(Value::Int(i)) if *i >= 0 => *i as usize,
        Some(_) => {
            cx.err(
                node.get("min_items").unwrap().span,
                "`min_items` must be a non-negative integer",
            );
            0
        }
        None => 1,
    };
    Some(StageParams {
        span: node.span,
        doc: node.get("doc").and_then(|d| cx.string(d, "`doc`")).unwrap_or_default(),
        min_items,
        fields,
        parallel,
        tags,
        ignore_tag_case: flag(cx, node, "ignore_tag_case"),
    })
}

/// `tagged: {TAG: {doc, fields: {NAME: TYPE, ...}}, ...}`: the fields are the values after the
/// tag, in order. A field shared by several tags must have one type.
fn parse_tags(cx: &mut Cx, node: &Node) -> Vec<TagDecl> {
    let Some(map) = node.as_map() else {
        cx.err(node.span, "`tagged` must be a mapping of block tags to `{doc, fields}`");
        return Vec::new();
    };
    let mut tags: Vec<TagDecl> = Vec::new();
    for (k, v) in map {
        if !cx.keys(v, &["doc", "fields"], "a block tag") {
            continue;
        }
        let fields = match v.get("fields") {
            Some(f) => parse_params(cx, f),
            None => {
                cx.err(v.span, format!("block tag `{}` needs `fields`", k.key_text()));
                continue;
            }
        };
        for f in &fields {
            if f.name == "tag" {
                cx.err(f.span, "`tag` names the block kind; a field cannot be called so");
            }
            if let Some(other) = tags
                .iter()
                .flat_map(|t| t.fields.iter())
                .find(|o| o.name == f.name && o.ty != f.ty)
            {
                cx.err(
                    f.span,
                    format!(
                        "`{}` is {} in another tag, here {}; a shared field has one type",
                        f.name, other.ty, f.ty
                    ),
                );
            }
        }
        tags.push(TagDecl {
            name: k.key_text(),
            span: k.span,
            doc: v.get("doc").and_then(|d| cx.string(d, "`doc`")).unwrap_or_default(),
            fields,
        });
    }
    if tags.is_empty() {
        cx.err(node.span, "`tagged` needs at least one block tag");
    }
    tags
}
