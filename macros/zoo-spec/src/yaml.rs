//! A span-keeping YAML tree, built from saphyr-parser's event stream.
//!
//! Every node (keys included) carries its source span so that both spec errors and user-config
//! errors can point at the exact line and column. The builder is iterative and enforces a
//! nesting limit and an alias-expansion budget, so hostile input (deep nesting, alias bombs)
//! yields an error instead of a stack overflow or an exhausted memory.

use saphyr_parser::{Event, Parser, ScalarStyle};
use std::collections::HashMap;
use std::fmt;

/// Deepest nesting of mappings/sequences accepted.
pub const MAX_DEPTH: usize = 64;
/// Most nodes a document may expand to (aliases included).
pub const MAX_NODES: usize = 1_000_000;

/// A position in a source text: 1-based line and column (in characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, Hash)]
pub struct Pos {
    pub line: usize,
    pub col: usize,
}

/// The source range of a node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct Span {
    pub start: Pos,
    pub end: Pos,
}

impl Span {
    pub fn point(line: usize, col: usize) -> Span {
        let p = Pos { line, col };
        Span {
            start: p,
            end: Pos { line, col: col + 1 },
        }
    }
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.start.line, self.start.col)
    }
}

/// A YAML node with its span.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub value: Value,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>),
}

impl Node {
    pub fn new(value: Value, span: Span) -> Node {
        Node { value, span }
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_map(&self) -> Option<&[(Node, Node)]> {
        match &self.value {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }

    pub fn as_seq(&self) -> Option<&[Node]> {
        match &self.value {
            Value::Seq(s) => Some(s),
            _ => None,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self.value, Value::Null)
    }

    /// Looks a key up in a mapping node.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.get_entry(key).map(|(_, v)| v)
    }

    /// Looks a key up in a mapping node and returns the key node too (for its span).
    pub fn get_entry(&self, key: &str) -> Option<(&Node, &Node)> {
        self.as_map()?
            .iter()
            .find(|(k, _)| k.as_str() == Some(key))
            .map(|(k, v)| (k, v))
    }

    /// A short description of the node's type, for messages.
    pub fn type_name(&self) -> &'static str {
        self.value.type_name()
    }

    /// Number of nodes in this subtree.
    pub fn size(&self) -> usize {
        1 + match &self.value {
            Value::Seq(s) => s.iter().map(Node::size).sum(),
            Value::Map(m) => m.iter().map(|(k, v)| k.size() + v.size()).sum(),
            _ => 0,
        }
    }

    /// Converts to JSON (keys become strings).
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match &self.value {
            Value::Null => J::Null,
            Value::Bool(b) => J::Bool(*b),
            Value::Int(i) => J::from(*i),
            Value::Float(f) => serde_json::Number::from_f64(*f).map(J::Number).unwrap_or(J::Null),
            Value::Str(s) => J::String(s.clone()),
            Value::Seq(s) => J::Array(s.iter().map(Node::to_json).collect()),
            Value::Map(m) => J::Object(m.iter().map(|(k, v)| (k.key_text(), v.to_json())).collect()),
        }
    }

    /// The text of a mapping key (non-string keys are rendered).
    pub fn key_text(&self) -> String {
        match &self.value {
            Value::Str(s) => s.clone(),
            Value::Null => "null".into(),
            Value::Bool(b) => b.to_string(),
            Value::Int(i) => i.to_string(),
            Value::Float(f) => f.to_string(),
            _ => "<complex key>".into(),
        }
    }
}

impl Value {
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Int(_) => "an integer",
            Value::Float(_) => "a float",
            Value::Str(_) => "a string",
            Value::Seq(_) => "a list",
            Value::Map(_) => "a mapping",
        }
    }
}

/// A YAML syntax or resource-limit error.
#[derive(Debug, Clone, PartialEq)]
pub struct YamlError {
    pub message: String,
    pub span: Span,
}

impl fmt::Display for YamlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.span, self.message)
    }
}

impl std::error::Error for YamlError {}

fn pos(m: &saphyr_parser::Marker) -> Pos {
    Pos {
        line: m.line(),
        col: m.col() + 1,
    }
}

fn span_of(s: &saphyr_parser::Span) -> Span {
    Span {
        start: pos(&s.start),
        end: pos(&s.end),
    }
}

/// Resolves a plain scalar the way YAML 1.2's core schema does, plus the float forms OmegaConf
/// accepts (`1e-2` without a decimal point).
pub fn resolve_plain(s: &str) -> Value {
    match s {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => return Value::Float(f64::INFINITY),
        "-.inf" | "-.Inf" | "-.INF" => return Value::Float(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return Value::Float(f64::NAN),
        _ => {}
    }
    if let Some(hex) = s.strip_prefix("0x")
        && let Ok(i) = i64::from_str_radix(hex, 16)
    {
        return Value::Int(i);
    }
    if let Some(oct) = s.strip_prefix("0o")
        && let Ok(i) = i64::from_str_radix(oct, 8)
    {
        return Value::Int(i);
    }
    let digits = s.strip_prefix(['-', '+']).unwrap_or(s);
    if !digits.is_empty()
        && digits.chars().all(|c| c.is_ascii_digit())
        && let Ok(i) = s.parse::<i64>()
    {
        return Value::Int(i);
    }
    let looks_numeric = digits.starts_with(|c: char| c.is_ascii_digit() || c == '.')
        && digits
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '-' | '+'))
        && digits.chars().any(|c| c.is_ascii_digit());
    if looks_numeric && let Ok(f) = s.parse::<f64>() {
        return Value::Float(f);
    }
    Value::Str(s.to_string())
}

enum Frame {
    Seq {
        items: Vec<Node>,
        span: Span,
        anchor: usize,
    },
    Map {
        entries: Vec<(Node, Node)>,
        pending_key: Option<Node>,
        span: Span,
        anchor: usize,
    },
}

/// Parses a single-document YAML text into a [`Node`]. An empty document is `Null`.
pub fn parse(text: &str) -> Result<Node, YamlError> {
    let mut stack: Vec<Frame> = Vec::new();
    let mut anchors: HashMap<usize, Node> = HashMap::new();
    let mut root: Option<Node> = None;
    let mut nodes = 0usize;
    let mut docs = 0usize;

    for item in Parser::new_from_str(text) {
        let (event, sp) = item.map_err(|e| YamlError {
            message: e.info().to_string(),
            span: Span {
                start: pos(e.marker()),
                end: pos(e.marker()),
            },
        })?;
        let span = span_of(&sp);
        let node = match event {
            Event::StreamStart | Event::StreamEnd | Event::Nothing | Event::DocumentEnd => continue,
            Event::DocumentStart(_) => {
                docs += 1;
                if docs > 1 {
                    return Err(YamlError {
                        message: "only one YAML document is allowed here (found a second `---`)".into(),
                        span,
                    });
                }
                continue;
            }
            Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(YamlError {
                        message: format!("nesting is deeper than {MAX_DEPTH} levels"),
                        span,
                    });
                }
                nodes += 1;
                if nodes > MAX_NODES {
                    return Err(too_many(span));
                }
                if matches!(event, Event::SequenceStart(..)) {
                    stack.push(Frame::Seq {
                        items: Vec::new(),
                        span,
                        anchor,
                    });
                } else {
                    stack.push(Frame::Map {
                        entries: Vec::new(),
                        pending_key: None,
                        span,
                        anchor,
                    });
                }
                continue;
            }
            Event::SequenceEnd => match stack.pop() {
                Some(Frame::Seq {
                    items,
                    span: start,
                    anchor,
                }) => {
                    let node = Node::new(
                        Value::Seq(items),
                        Span {
                            start: start.start,
                            end: span.end,
                        },
                    );
                    if anchor > 0 {
                        anchors.insert(anchor, node.clone());
                    }
                    node
                }
                _ => {
                    return Err(YamlError {
                        message: "unbalanced sequence".into(),
                        span,
                    });
                }
            },
            Event::MappingEnd => match stack.pop() {
                Some(Frame::Map {
                    entries,
                    span: start,
                    anchor,
                    ..
                }) => {
                    let node = Node::new(
                        Value::Map(entries),
                        Span {
                            start: start.start,
                            end: span.end,
                        },
                    );
                    if anchor > 0 {
                        anchors.insert(anchor, node.clone());
                    }
                    node
                }
                _ => {
                    return Err(YamlError {
                        message: "unbalanced mapping".into(),
                        span,
                    });
                }
            },
            Event::Scalar(value, style, anchor, _tag) => {
                nodes += 1;
                if nodes > MAX_NODES {
                    return Err(too_many(span));
                }
                let v = if matches!(style, ScalarStyle::Plain) {
                    resolve_plain(&value)
                } else {
                    Value::Str(value.into_owned())
                };
                let node = Node::new(v, span);
                if anchor > 0 {
                    anchors.insert(anchor, node.clone());
                }
                node
            }
            Event::Alias(id) => {
                let Some(target) = anchors.get(&id) else {
                    return Err(YamlError {
                        message: "alias to an unknown anchor".into(),
                        span,
                    });
                };
                nodes += target.size();
                if nodes > MAX_NODES {
                    return Err(too_many(span));
                }
                // The alias keeps the span of its use, its children the spans of the anchor.
                Node::new(target.value.clone(), span)
            }
        };
        match stack.last_mut() {
            None => root = Some(node),
            Some(Frame::Seq { items, .. }) => items.push(node),
            Some(Frame::Map {
                entries, pending_key, ..
            }) => match pending_key.take() {
                None => {
                    if matches!(node.value, Value::Seq(_) | Value::Map(_)) {
                        return Err(YamlError {
                            message: "complex mapping keys are not supported".into(),
                            span: node.span,
                        });
                    }
                    let text = node.key_text();
                    if let Some((prev, _)) = entries.iter().find(|(k, _)| k.key_text() == text) {
                        return Err(YamlError {
                            message: format!(
                                "duplicate key `{text}` (first defined at line {})",
                                prev.span.start.line
                            ),
                            span: node.span,
                        });
                    }
                    *pending_key = Some(node);
                }
                Some(key) => entries.push((key, node)),
            },
        }
    }
    Ok(root.unwrap_or(Node::new(Value::Null, Span::point(1, 1))))
}

fn too_many(span: Span) -> YamlError {
    YamlError {
        message: format!("the document expands to more than {MAX_NODES} nodes (an alias bomb?)"),
        span,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_and_scalars() {
        let n = parse("a: 1\nb:\n  c: 1e-2\n  d: [x, ~, true]\n").unwrap();
        let (k, v) = n.get_entry("b").unwrap();
        assert_eq!(k.span.start, Pos { line: 2, col: 1 });
        assert_eq!(v.get("c").unwrap().value, Value::Float(0.01));
        let d = v.get("d").unwrap().as_seq().unwrap();
        assert_eq!(d[1].value, Value::Null);
        assert_eq!(d[2].value, Value::Bool(true));
        assert_eq!(d[0].span.start, Pos { line: 4, col: 7 });
    }

    #[test]
    fn anchors_resolve() {
        let n = parse("a: &x 3\nb: *x\n").unwrap();
        assert_eq!(n.get("b").unwrap().value, Value::Int(3));
    }

    #[test]
    fn deep_nesting_is_an_error() {
        let text = "- ".repeat(100_000) + "x";
        let err = parse(&text).unwrap_err();
        assert!(err.message.contains("nesting"), "{err}");
    }

    #[test]
    fn alias_bomb_is_an_error() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x]\n");
        for i in 1..10 {
            let p = i - 1;
            text += &format!("a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n");
        }
        let err = parse(&text).unwrap_err();
        assert!(err.message.contains("alias bomb"), "{err}");
    }

    #[test]
    fn duplicate_keys_are_errors() {
        let err = parse("a: 1\na: 2\n").unwrap_err();
        assert_eq!(err.span.start, Pos { line: 2, col: 1 });
    }
}
