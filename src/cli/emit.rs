//! A small YAML emitter for configs: block mappings and sequences, flow style for short lists
//! of scalars, `~` for null.

use serde_json::Value;
use std::fmt::Write;

fn scalar(v: &Value) -> String {
    match v {
        Value::Null => "~".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => {
            if n.is_f64() {
                let f = n.as_f64().unwrap();
                if f.fract() == 0.0 && f.abs() < 1e15 {
                    format!("{f:.1}")
                } else if f != 0.0 && f.abs() < 1e-4 {
                    // `1.0e-12`, which YAML 1.1 readers (PyYAML) also take for a float.
                    let e = format!("{f:e}");
                    match e.split_once('e') {
                        Some((m, x)) if !m.contains('.') => format!("{m}.0e{x}"),
                        _ => e,
                    }
                } else {
                    format!("{f}")
                }
            } else {
                n.to_string()
            }
        }
        Value::String(s) => {
            let plain = !s.is_empty()
                && !matches!(
                    zoo_spec::yaml::resolve_plain(s),
                    zoo_spec::yaml::Value::Null
                        | zoo_spec::yaml::Value::Bool(_)
                        | zoo_spec::yaml::Value::Int(_)
                        | zoo_spec::yaml::Value::Float(_)
                )
                && s.chars().all(|c| c.is_alphanumeric() || "_-./ ".contains(c))
                && !s.starts_with([' ', '-'])
                && !s.ends_with(' ');
            if plain { s.clone() } else { format!("{s:?}") }
        }
        _ => unreachable!("scalars only"),
    }
}

fn is_scalar(v: &Value) -> bool {
    !matches!(v, Value::Array(_) | Value::Object(_))
}

fn flow(v: &Value) -> String {
    match v {
        Value::Array(items) => format!("[{}]", items.iter().map(flow).collect::<Vec<_>>().join(", ")),
        Value::Object(m) if m.is_empty() => "{}".into(),
        Value::Object(m) => format!(
            "{{{}}}",
            m.iter()
                .map(|(k, v)| format!("{k}: {}", flow(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        s => scalar(s),
    }
}

/// Short lists of scalars (or of such lists) are written inline.
fn inline(v: &Value) -> bool {
    match v {
        Value::Array(items) => {
            items
                .iter()
                .all(|i| is_scalar(i) || (matches!(i, Value::Array(_)) && inline(i)))
                && flow(v).len() <= 100
        }
        Value::Object(m) => m.is_empty(),
        _ => true,
    }
}

fn block(out: &mut String, v: &Value, indent: usize) {
    let pad = " ".repeat(indent);
    match v {
        Value::Object(m) => {
            for (k, val) in m {
                if inline(val) {
                    writeln!(out, "{pad}{k}: {}", flow(val)).unwrap();
                } else {
                    writeln!(out, "{pad}{k}:").unwrap();
                    block(out, val, indent + 2);
                }
            }
        }
        Value::Array(items) => {
            for it in items {
                if inline(it) {
                    writeln!(out, "{pad}- {}", flow(it)).unwrap();
                } else {
                    let mut inner = String::new();
                    block(&mut inner, it, indent + 2);
                    let trimmed = inner.trim_start();
                    writeln!(out, "{pad}- {}", trimmed.trim_end()).unwrap();
                }
            }
        }
        s => writeln!(out, "{pad}{}", scalar(s)).unwrap(),
    }
}

/// Renders a JSON value as a YAML document.
pub fn yaml(v: &Value) -> String {
    let mut out = String::new();
    block(&mut out, v, 0);
    out
}
