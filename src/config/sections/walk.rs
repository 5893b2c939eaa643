//! A located check of a YAML document against the JSON Schemas zoo writes for NetsPresso's
//! data / augmentation / training / logging / environment sections, so the editor's schema and
//! `zoo validate` cannot disagree. The subset the schemas use: `type`, `enum`, `const`,
//! `properties` with `additionalProperties: false`, `required`, `items`, `minItems`/`maxItems`,
//! `minimum`/`maximum`/`exclusiveMinimum`, `anyOf`, `allOf` of `if`/`then` on a `const`
//! discriminator (`name`), and local `$ref`s.

use crate::config::diagnostics::Diagnostic;
use crate::config::validate::Cx;
use serde_json::Value as J;
use zoo_spec::yaml::{Node, Value};

/// What a node is, in the schema's words.
fn kind(n: &Node) -> &'static str {
    match &n.value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Int(_) => "integer",
        Value::Float(_) => "number",
        Value::Str(_) => "string",
        Value::Seq(_) => "array",
        Value::Map(_) => "object",
    }
}

fn fits_type(n: &Node, t: &str) -> bool {
    let k = kind(n);
    k == t || (t == "number" && k == "integer")
}

fn type_names(t: &J) -> Vec<&str> {
    match t {
        J::String(s) => vec![s.as_str()],
        J::Array(a) => a.iter().filter_map(|x| x.as_str()).collect(),
        _ => Vec::new(),
    }
}

fn article(t: &str) -> String {
    match t {
        "integer" => "an integer".into(),
        "array" => "a list".into(),
        "object" => "a mapping".into(),
        "null" => "null (~)".into(),
        "boolean" => "true or false".into(),
        other => format!("a {other}"),
    }
}

fn found(n: &Node) -> String {
    match &n.value {
        Value::Str(s) => format!("the string \"{s}\""),
        Value::Int(i) => format!("the integer {i}"),
        Value::Float(f) => format!("the number {f}"),
        Value::Bool(b) => format!("`{b}`"),
        Value::Null => "null".into(),
        Value::Seq(_) => "a list".into(),
        Value::Map(_) => "a mapping".into(),
    }
}

fn scalar_json(n: &Node) -> J {
    match &n.value {
        Value::Str(s) => J::String(s.clone()),
        Value::Int(i) => J::from(*i),
        Value::Float(f) => J::from(*f),
        Value::Bool(b) => J::Bool(*b),
        Value::Null => J::Null,
        _ => n.to_json(),
    }
}

fn show(v: &J) -> String {
    match v {
        J::String(s) => format!("`{s}`"),
        J::Null => "~".into(),
        other => format!("`{other}`"),
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

/// Checks `node` against `schema` (resolving `$ref`s in `root`), reporting every problem.
pub fn check(cx: &mut Cx, node: &Node, schema: &J, root: &J, path: &str) {
    let schema = resolve(schema, root);
    if let Some(t) = schema.get("type") {
        let names = type_names(t);
        if !names.iter().any(|t| fits_type(node, t)) {
            let want: Vec<String> = names.iter().map(|t| article(t)).collect();
            let mut d = Diagnostic::error(
                node.span,
                path,
                format!("expected {}, found {}", want.join(" or "), found(node)),
            );
            if let Value::Str(s) = &node.value
                && matches!(s.to_lowercase().as_str(), "yes" | "no" | "on" | "off")
                && names.contains(&"boolean")
            {
                d = d.with_help("YAML 1.2 reads yes/no/on/off as strings; write true or false");
            }
            cx.push(d);
            return;
        }
    }
    if let Some(J::Array(names)) = schema.get("x-enum") {
        // A name NetsPresso lower-cases: any letter case.
        let given = node.as_str().unwrap_or_default();
        let list: Vec<&str> = names.iter().filter_map(|n| n.as_str()).collect();
        if !list.iter().any(|n| n.eq_ignore_ascii_case(given)) {
            let lower: Vec<String> = list.iter().map(|n| n.to_lowercase()).collect();
            let help = zoo_spec::diag::closest(&given.to_lowercase(), lower.iter().map(String::as_str))
                .and_then(|c| list.iter().find(|n| n.to_lowercase() == c))
                .map(|c| format!("did you mean `{c}`?"))
                .unwrap_or_else(|| {
                    format!(
                        "expected one of {}",
                        list.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
                    )
                });
            let what = schema.get("x-what").and_then(|w| w.as_str()).unwrap_or("value");
            cx.push(
                Diagnostic::error(
                    node.span,
                    path,
                    format!("unknown {what} `{}`", node.as_str().unwrap_or_default()),
                )
                .with_help(help),
            );
        }
        return;
    }
    if let Some(J::Array(options)) = schema.get("enum") {
        let v = scalar_json(node);
        let same = |o: &J| o == &v || (o.as_f64().is_some() && o.as_f64() == v.as_f64());
        if !options.iter().any(same) {
            let names: Vec<&str> = options.iter().filter_map(|o| o.as_str()).collect();
            let help = node
                .as_str()
                .and_then(|s| zoo_spec::diag::closest(s, names.iter().copied()))
                .map(|c| format!("did you mean `{c}`?"))
                .unwrap_or_else(|| {
                    format!(
                        "expected one of {}",
                        options.iter().map(show).collect::<Vec<_>>().join(", ")
                    )
                });
            let what = schema.get("x-what").and_then(|w| w.as_str()).unwrap_or("value");
            cx.push(Diagnostic::error(node.span, path, format!("unknown {what} {}", show(&v))).with_help(help));
            return;
        }
    }
    if let Some(c) = schema.get("const")
        && &scalar_json(node) != c
    {
        cx.error(node.span, path, format!("expected {}, found {}", show(c), found(node)));
        return;
    }
    match &node.value {
        Value::Int(_) | Value::Float(_) => bounds(cx, node, schema, path),
        Value::Seq(items) => {
            let n = items.len() as u64;
            if let Some(min) = schema.get("minItems").and_then(|m| m.as_u64())
                && n < min
            {
                cx.error(node.span, path, format!("expected at least {min} items, found {n}"));
            }
            if let Some(max) = schema.get("maxItems").and_then(|m| m.as_u64())
                && n > max
            {
                cx.error(node.span, path, format!("expected at most {max} items, found {n}"));
            }
            if let Some(item) = schema.get("items") {
                for (i, it) in items.iter().enumerate() {
                    check(cx, it, item, root, &format!("{path}[{i}]"));
                }
            }
        }
        Value::Map(entries) => object(cx, node, entries, schema, root, path),
        _ => {}
    }
    if let Some(J::Array(options)) = schema.get("anyOf") {
        let before = cx.diags.len();
        any_of(cx, node, options, root, path);
        let added = cx.diags.len() - before;
        // A value of none of the alternatives' types: the field's description says what fits.
        if let (Some(d), Some(last)) = (schema.get("description").and_then(|d| d.as_str()), cx.diags.last_mut())
            && added == 1
            && last.help.is_none()
            && last.message.starts_with("expected ")
        {
            last.help = Some(d.to_string());
        }
    }
}

fn bounds(cx: &mut Cx, node: &Node, schema: &J, path: &str) {
    let v = match &node.value {
        Value::Int(i) => *i as f64,
        Value::Float(f) => *f,
        _ => return,
    };
    let num = |k: &str| schema.get(k).and_then(|m| m.as_f64());
    let shown = |x: f64| {
        if x.fract() == 0.0 && x.abs() < 1e15 {
            format!("{}", x as i64)
        } else {
            format!("{x}")
        }
    };
    if let Some(m) = num("minimum")
        && v < m
    {
        cx.error(
            node.span,
            path,
            format!("must be at least {}, found {}", shown(m), shown(v)),
        );
    }
    if let Some(m) = num("exclusiveMinimum")
        && v <= m
    {
        cx.error(
            node.span,
            path,
            format!("must be above {}, found {}", shown(m), shown(v)),
        );
    }
    if let Some(m) = num("maximum")
        && v > m
    {
        cx.error(
            node.span,
            path,
            format!("must be at most {}, found {}", shown(m), shown(v)),
        );
    }
    if let Some(m) = num("exclusiveMaximum")
        && v >= m
    {
        cx.error(
            node.span,
            path,
            format!("must be below {}, found {}", shown(m), shown(v)),
        );
    }
}

/// The properties a mapping may have: its own, and those of the `then` branches whose `if`
/// holds for it.
fn object(cx: &mut Cx, node: &Node, entries: &[(Node, Node)], schema: &J, root: &J, path: &str) {
    let mut props: Vec<(String, J)> = schema
        .get("properties")
        .and_then(|p| p.as_object())
        .map(|p| p.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default();
    let mut required: Vec<String> = strings(schema.get("required"));
    let mut closed = schema.get("additionalProperties") == Some(&J::Bool(false));
    // Keys that some `name` has, for a clearer message when the chosen one does not.
    let mut branch_keys: Vec<String> = Vec::new();
    for branch in schema.get("allOf").and_then(|a| a.as_array()).into_iter().flatten() {
        let branch = resolve(branch, root);
        for part in ["then", "else"] {
            if let Some(p) = branch
                .get(part)
                .and_then(|t| resolve(t, root).get("properties"))
                .and_then(|p| p.as_object())
            {
                branch_keys.extend(p.keys().cloned());
            }
        }
        let chosen = match branch.get("if") {
            Some(cond) if holds(node, cond) => branch.get("then"),
            Some(_) => branch.get("else"),
            None => Some(branch),
        };
        if let Some(t) = chosen {
            let t = resolve(t, root);
            closed |= t.get("additionalProperties") == Some(&J::Bool(false));
            for (k, v) in t.get("properties").and_then(|p| p.as_object()).into_iter().flatten() {
                match props.iter_mut().find(|(name, _)| name == k) {
                    // The base's schema of a shared key stays (the branch repeats it for the
                    // editor, or only documents it).
                    Some(_) => {}
                    None => props.push((k.clone(), v.clone())),
                }
            }
            required.extend(strings(t.get("required")));
        }
    }
    let chosen_name = node.get("name").and_then(|n| n.as_str()).map(str::to_string);
    let names: Vec<&str> = props.iter().map(|(k, _)| k.as_str()).collect();
    let owner = if path.is_empty() {
        "the config".to_string()
    } else {
        format!("`{path}`")
    };
    for (k, v) in entries {
        let key = k.key_text();
        match props.iter().find(|(name, _)| *name == key) {
            Some((_, s)) => check(cx, v, s, root, &join(path, &key)),
            None if schema.get("additionalProperties").is_some_and(|a| a.is_object()) => {
                let s = schema.get("additionalProperties").unwrap_or(&J::Null);
                check(cx, v, s, root, &join(path, &key));
            }
            None if closed => {
                let deprecated = schema
                    .get("x-ignored")
                    .and_then(|d| d.get(&key))
                    .and_then(|d| d.as_str());
                if let Some(why) = deprecated {
                    cx.push(Diagnostic::warning(
                        k.span,
                        join(path, &key),
                        format!("`{key}` is ignored: {why}"),
                    ));
                    continue;
                }
                let help = zoo_spec::diag::closest(&key, names.iter().copied())
                    .map(|c| format!("did you mean `{c}`?"))
                    .unwrap_or_else(|| {
                        format!(
                            "expected one of {}",
                            names.iter().map(|a| format!("`{a}`")).collect::<Vec<_>>().join(", ")
                        )
                    });
                let message = match &chosen_name {
                    Some(n) if branch_keys.contains(&key) => format!("`{key}` is not a setting of `{n}` in {owner}"),
                    _ => format!("unknown key `{key}` in {owner}"),
                };
                cx.push(Diagnostic::error(k.span, join(path, &key), message).with_help(help));
            }
            None => {}
        }
    }
    required.dedup();
    for r in required {
        if !entries.iter().any(|(k, _)| k.key_text() == r) {
            cx.error(node.span, path, format!("missing required key `{r}` in {owner}"));
        }
    }
}

fn strings(v: Option<&J>) -> Vec<String> {
    v.and_then(|r| r.as_array())
        .map(|a| a.iter().filter_map(|x| x.as_str().map(str::to_string)).collect())
        .unwrap_or_default()
}

/// Whether an `if` of `{properties: {k: {const: c}}}` holds (a missing key does not).
fn holds(node: &Node, cond: &J) -> bool {
    let Some(p) = cond.get("properties").and_then(|p| p.as_object()) else {
        return false;
    };
    p.iter().all(|(k, s)| match node.get(k) {
        Some(v) => match (s.get("const"), s.get("enum")) {
            (Some(c), _) => &scalar_json(v) == c || v.as_str().map(str::to_lowercase).as_deref() == c.as_str(),
            (_, Some(J::Array(e))) => e.contains(&scalar_json(v)),
            _ => true,
        },
        None => false,
    })
}

/// The first alternative the node fits; otherwise the problems of the alternative of its
/// type (or a summary when no alternative has its type).
fn any_of(cx: &mut Cx, node: &Node, options: &[J], root: &J, path: &str) {
    let mut by_type = None;
    for o in options {
        let o = resolve(o, root);
        let mut trial = Cx { diags: Vec::new() };
        check(&mut trial, node, o, root, path);
        if trial
            .diags
            .iter()
            .all(|d| d.severity != crate::config::diagnostics::Severity::Error)
        {
            cx.diags.extend(trial.diags);
            return;
        }
        let typed = o
            .get("type")
            .map(|t| type_names(t).iter().any(|t| fits_type(node, t)))
            .unwrap_or(false);
        if typed && by_type.is_none() {
            by_type = Some(trial.diags);
        }
    }
    match by_type {
        Some(d) => cx.diags.extend(d),
        None => {
            let mut kinds: Vec<String> = options
                .iter()
                .flat_map(|o| resolve(o, root).get("type").map(type_names).unwrap_or_default())
                .map(article)
                .collect();
            kinds.dedup();
            cx.error(
                node.span,
                path,
                format!("expected {}, found {}", kinds.join(" or "), found(node)),
            );
        }
    }
}

fn resolve<'a>(schema: &'a J, root: &'a J) -> &'a J {
    match schema.get("$ref").and_then(|r| r.as_str()) {
        Some(r) => r
            .strip_prefix("#/")
            .map(|p| p.split('/').fold(root, |v, k| v.get(k).unwrap_or(&J::Null)))
            .unwrap_or(&J::Null),
        None => schema,
    }
}
