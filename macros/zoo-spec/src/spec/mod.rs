//! The spec model: what a spec file declares, parsed from the span-keeping YAML tree.
//!
//! Parsing reports every structural error of a file (unknown keys with did-you-mean, wrong
//! types, bad expressions) with the file's line and column; semantic checks (names, types,
//! ranks) happen when the spec is lowered to Rust.

use crate::diag::{SpecError, Src};
use crate::expr::{self, Expr, Stmt};
use crate::types::{Sig, Ty};
use crate::yaml::{Node, Pos, Span, Value};

mod children;
mod params;

use children::parse_child;
pub use params::check_literal;
use params::{parse_params, parse_stage_params};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Backbone,
    Neck,
    Head,
    Full,
    Block,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Backbone => "backbone",
            Kind::Neck => "neck",
            Kind::Head => "head",
            Kind::Full => "full",
            Kind::Block => "block",
        }
    }
    pub fn folder(self) -> &'static str {
        match self {
            Kind::Backbone => "backbones",
            Kind::Neck => "necks",
            Kind::Head => "heads",
            Kind::Full => "full",
            Kind::Block => "blocks",
        }
    }
}

pub const TASKS: &[&str] = &[
    "classification",
    "segmentation",
    "detection",
    "pose_estimation",
    "embedding",
];

/// An expression with the file position of its text, so errors inside it can be located.
#[derive(Debug, Clone)]
pub struct SrcExpr {
    pub text: String,
    pub expr: Expr,
    /// File position of byte 0 of `text`.
    pub base: Pos,
}

impl SrcExpr {
    /// The file span of a byte range of the text (single-line texts).
    pub fn span(&self, start: usize, end: usize) -> Span {
        // Counts the characters before a byte offset (which may fall inside a character).
        let col = |off: usize| self.base.col + self.text.char_indices().take_while(|(i, _)| *i < off).count();
        Span {
            start: Pos {
                line: self.base.line,
                col: col(start),
            },
            end: Pos {
                line: self.base.line,
                col: col(end.max(start + 1)),
            },
        }
    }
}

/// A user-facing parameter (or a block argument).
#[derive(Debug, Clone)]
pub struct ParamDecl {
    pub name: String,
    pub span: Span,
    pub ty: Ty,
    /// The default as written in the spec (`None`: required).
    pub default: Option<Node>,
    pub choices: Vec<String>,
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub doc: String,
    /// `enum` values match in any case (NetsPresso lower-cases the value), kept as spelled.
    pub ignore_case: bool,
}

#[derive(Debug, Clone)]
pub struct StageParams {
    pub span: Span,
    pub doc: String,
    pub min_items: usize,
    pub fields: Vec<ParamDecl>,
    /// Fields that are parallel lists zipped together: they must have equal lengths.
    pub parallel: Vec<String>,
    /// Tagged stages: each stage is a list of blocks written `[tag, value, ...]`; `fields` is
    /// then empty.
    pub tags: Vec<TagDecl>,
    /// Tags match whatever their case (NetsPresso lower-cases GELAN's, not MobileNetV4's).
    pub ignore_tag_case: bool,
}

/// One block kind of tagged stages: its tag and its positional values after the tag.
#[derive(Debug, Clone)]
pub struct TagDecl {
    pub name: String,
    pub span: Span,
    pub doc: String,
    pub fields: Vec<ParamDecl>,
}

#[derive(Debug, Clone)]
pub struct Check {
    pub cond: SrcExpr,
    pub message: String,
    /// Config path (relative to the component) that the error points at; `{var}` takes the
    /// value of a loop variable of `each`.
    pub at: String,
    /// `VARS in LIST`: the check is asserted for every item (loop variables, iterable).
    pub each: Option<(Vec<String>, SrcExpr)>,
}

/// A child module declaration.
#[derive(Debug, Clone)]
pub struct Child {
    pub span: Span,
    pub cond: Option<SrcExpr>,
    pub form: ChildForm,
}

#[derive(Debug, Clone)]
pub enum ChildForm {
    /// A primitive op with its arguments.
    Op {
        op: String,
        op_span: Span,
        args: Vec<(String, Span, SrcExpr)>,
    },
    /// An instance of a block spec.
    Block {
        block: String,
        block_span: Span,
        args: Vec<(String, Span, SrcExpr)>,
    },
    /// Named children applied in order.
    Seq(Vec<(String, Child)>),
    /// Indexed children applied in order; absent items take no index.
    List(Vec<ListItem>),
    /// One child per element of a list.
    For {
        vars: Vec<String>,
        iter: SrcExpr,
        each: Box<Child>,
        /// Config path (component-relative, `{expr}` templates) that errors building an
        /// element point at, e.g. `stage_params[{i}]`.
        at: Option<String>,
    },
    /// One of several children, by the value of a string expression.
    Switch { on: SrcExpr, cases: Vec<(String, Child)> },
    /// Named children that only share a key prefix (`decoder.layers.0...`); not callable as
    /// a whole, its members are used in forward programs as `group.member`.
    Group(Vec<(String, Child)>),
}

#[derive(Debug, Clone)]
pub enum ListItem {
    One(Child),
    /// Items repeated per element of a list and spliced into the enclosing list.
    Splice {
        vars: Vec<String>,
        iter: SrcExpr,
        each: Vec<Child>,
        span: Span,
        /// As `at` of a `for` child: where errors building an item point.
        at: Option<String>,
    },
}

#[derive(Debug, Clone)]
pub struct Preset {
    pub name: String,
    pub span: Span,
    /// The whole preset mapping: task, params, stage_params, head, ...
    pub body: Node,
}

#[derive(Debug, Clone)]
pub struct Spec {
    pub src: Src,
    pub name: String,
    pub name_span: Span,
    pub kind: Kind,
    pub summary: String,
    pub reference: String,
    pub tasks: Vec<String>,
    pub params: Vec<ParamDecl>,
    pub stage_params: Option<StageParams>,
    pub ignored_params: Vec<String>,
    pub lets: Vec<(String, Span, SrcExpr)>,
    pub checks: Vec<Check>,
    pub children: Vec<(String, Child)>,
    pub blocks: Vec<Spec>,
    pub signature: Sig,
    /// Names of the inputs of a several-input signature (`(x: tensor4, y: tensor4) -> ...`).
    pub inputs: Vec<String>,
    pub forward: Vec<(Stmt, SrcExpr)>,
    pub forward_span: Span,
    pub outputs: Vec<(String, Span, SrcExpr)>,
    pub presets: Vec<Preset>,
    /// A small instance for the conformance test: `{input: [shape], params: {...}}`.
    pub example: Option<Node>,
    /// Key-remap rules per weight source: regex rewrites from the source's names to zoo's.
    pub remap: Vec<(String, Vec<(String, String)>)>,
    /// Registered pretrained weights by model name.
    pub pretrained: Vec<(String, crate::registry::PretrainedDesc)>,
    /// How the runtime turns this head's prediction into results: a decoder of the zoo and
    /// the `model.postprocessor.params` it reads.
    pub postprocessor: Option<(String, Span, Vec<ParamDecl>)>,
    /// What a backbone reads: images `[B, 3, H, W]` or token ids with their attention mask.
    pub input: Input,
    /// A full model's text tower (two-tower models such as CLIP): a second forward program
    /// over `ids` and `mask`, returning the same rank as `forward`.
    pub forward_tokens: Option<(Vec<(Stmt, SrcExpr)>, Span)>,
    /// A full model's training-time program: the same input as `forward`, returning a list of
    /// outputs (the prediction first, then what only the loss reads, e.g. PIDNet's auxiliary
    /// heads).
    pub forward_train: Option<(Vec<(Stmt, SrcExpr)>, Span)>,
    /// How images are prepared for the model when it is not ImageNet's 224x224.
    pub preprocess: Option<crate::registry::PreprocessDesc>,
}

/// A backbone's input kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Input {
    /// `input`: a float image tensor `[batch, 3, height, width]`.
    Image,
    /// `ids`: token ids `[batch, length]` (int); `mask`: 1.0 for real tokens, 0.0 for padding.
    Tokens,
}

impl Input {
    pub fn as_str(self) -> &'static str {
        match self {
            Input::Image => "image",
            Input::Tokens => "tokens",
        }
    }
}

struct Cx<'a> {
    src: &'a Src,
    errors: Vec<SpecError>,
}

impl Cx<'_> {
    fn err(&mut self, span: Span, message: impl Into<String>) {
        self.errors.push(self.src.error(span, message));
    }

    fn keys(&mut self, node: &Node, allowed: &[&str], what: &str) -> bool {
        let Some(map) = node.as_map() else {
            self.err(
                node.span,
                format!("{what} must be a mapping, found {}", node.type_name()),
            );
            return false;
        };
        for (k, _) in map {
            let name = k.key_text();
            if !allowed.contains(&name.as_str()) {
                let hint = crate::diag::did_you_mean(&name, allowed.iter().copied());
                self.err(k.span, format!("unknown key `{name}` in {what}{hint}"));
            }
        }
        true
    }

    fn string(&mut self, node: &Node, what: &str) -> Option<String> {
        match &node.value {
            Value::Str(s) => Some(s.clone()),
            _ => {
                self.err(
                    node.span,
                    format!("{what} must be a string, found {}", node.type_name()),
                );
                None
            }
        }
    }

    /// An expression written as a YAML scalar (numbers and bools are literals).
    fn expr(&mut self, node: &Node) -> Option<SrcExpr> {
        let (text, quoted) = match &node.value {
            Value::Str(s) => (s.clone(), self.src.is_quoted(node.span)),
            Value::Int(i) => (i.to_string(), false),
            Value::Float(f) => (format!("{f:?}"), false),
            Value::Bool(b) => (b.to_string(), false),
            Value::Null => ("null".to_string(), false),
            _ => {
                self.err(node.span, format!("expected an expression, found {}", node.type_name()));
                return None;
            }
        };
        let base = Pos {
            line: node.span.start.line,
            col: node.span.start.col + usize::from(quoted),
        };
        match expr::parse(&text) {
            Ok(expr) => Some(SrcExpr { text, expr, base }),
            Err(e) => {
                let se = SrcExpr {
                    text: text.clone(),
                    expr: Expr {
                        kind: expr::ExprKind::Null,
                        start: 0,
                        end: 0,
                    },
                    base,
                };
                self.err(se.span(e.start, e.end), e.message);
                None
            }
        }
    }
}

pub fn parse_spec(src: &Src) -> Result<Spec, Vec<SpecError>> {
    let root = match crate::yaml::parse(&src.text) {
        Ok(n) => n,
        Err(e) => return Err(vec![src.error(e.span, e.message)]),
    };
    let mut cx = Cx {
        src,
        errors: Vec::new(),
    };
    let spec = parse_body(&mut cx, &root, None);
    if cx.errors.is_empty() {
        Ok(spec.expect("a spec without errors"))
    } else {
        Err(cx.errors)
    }
}

const TOP_KEYS: &[&str] = &[
    "name",
    "kind",
    "summary",
    "reference",
    "tasks",
    "params",
    "stage_params",
    "ignored_params",
    "let",
    "checks",
    "children",
    "blocks",
    "signature",
    "forward",
    "outputs",
    "presets",
    "example",
    "remap",
    "pretrained",
    "postprocessor",
    "input",
    "forward_tokens",
    "forward_train",
    "preprocess",
];

/// The decoders the runtime implements (`src/postprocess/`), by box/keypoint coding.
pub const DECODERS: &[&str] = &[
    "classification",
    "segmentation",
    "anchor_box_coder",
    "grid_exp",
    "anchor_tanh",
    "distribution_distances",
    "normalized_queries",
    "simcc",
    "embedding",
];

fn parse_body(cx: &mut Cx, root: &Node, local_name: Option<(&str, Span)>) -> Option<Spec> {
    if !cx.keys(root, TOP_KEYS, "a spec") {
        return None;
    }
    let (name, name_span) = match local_name {
        Some((n, s)) => (n.to_string(), s),
        None => match root.get_entry("name") {
            Some((_, v)) => (cx.string(v, "`name`").unwrap_or_default(), v.span),
            None => {
                cx.err(root.span, "a spec needs a `name`");
                (String::new(), root.span)
            }
        },
    };
    if !name.is_empty()
        && !name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    {
        cx.err(
            name_span,
            format!("`{name}` is not a valid name: use lowercase letters, digits and `_`"),
        );
    }
    let kind = match (local_name, root.get("kind")) {
        (Some(_), None) => Kind::Block,
        (_, Some(v)) => match v.as_str() {
            Some("backbone") => Kind::Backbone,
            Some("neck") => Kind::Neck,
            Some("head") => Kind::Head,
            Some("full") => Kind::Full,
            Some("block") => Kind::Block,
            _ => {
                cx.err(v.span, "`kind` must be one of backbone, neck, head, full, block");
                Kind::Block
            }
        },
        (None, None) => {
            cx.err(root.span, "a spec needs a `kind` (backbone, neck, head, full or block)");
            Kind::Block
        }
    };
    let text = |cx: &mut Cx, key: &str| {
        root.get(key)
            .and_then(|v| cx.string(v, &format!("`{key}`")))
            .unwrap_or_default()
    };
    let summary = text(cx, "summary");
    let reference = text(cx, "reference");
    if kind != Kind::Block && local_name.is_none() && summary.is_empty() {
        cx.err(name_span, "a component needs a one-line `summary`");
    }

    let mut tasks = Vec::new();
    if let Some(t) = root.get("tasks") {
        match t.as_seq() {
            Some(items) => {
                for it in items {
                    match it.as_str() {
                        Some(s) if TASKS.contains(&s) => tasks.push(s.to_string()),
                        _ => {
                            let hint = it
                                .as_str()
                                .map(|s| crate::diag::did_you_mean(s, TASKS.iter().copied()))
                                .unwrap_or_default();
                            cx.err(
                                it.span,
                                format!("unknown task; expected one of {}{hint}", TASKS.join(", ")),
                            );
                        }
                    }
                }
            }
            None => cx.err(t.span, "`tasks` must be a list"),
        }
    } else if matches!(kind, Kind::Backbone | Kind::Head | Kind::Full) {
        cx.err(name_span, "a backbone, head or full model needs `tasks`");
    }

    let input = match root.get("input") {
        None => Input::Image,
        Some(n) => match (n.as_str(), kind) {
            (Some("image"), Kind::Backbone) => Input::Image,
            (Some("tokens"), Kind::Backbone) => Input::Tokens,
            (_, Kind::Backbone) => {
                cx.err(
                    n.span,
                    "`input` is `image` (the default) or `tokens` (ids and an attention mask)",
                );
                Input::Image
            }
            _ => {
                cx.err(n.span, "only a backbone declares its `input`");
                Input::Image
            }
        },
    };

    let params = match root.get("params") {
        Some(p) => parse_params(cx, p),
        None => Vec::new(),
    };
    let stage_params = root.get("stage_params").and_then(|n| parse_stage_params(cx, n));
    let ignored_params = match root.get("ignored_params") {
        Some(n) => n
            .as_seq()
            .map(|s| s.iter().filter_map(|x| cx.string(x, "an ignored param")).collect())
            .unwrap_or_else(|| {
                cx.err(n.span, "`ignored_params` must be a list of names");
                Vec::new()
            }),
        None => Vec::new(),
    };

    let mut lets = Vec::new();
    if let Some(l) = root.get("let") {
        if let Some(map) = l.as_map() {
            for (k, v) in map {
                if let Some(e) = cx.expr(v) {
                    lets.push((k.key_text(), k.span, e));
                }
            }
        } else {
            cx.err(l.span, "`let` must be a mapping of names to expressions");
        }
    }

    let mut checks = Vec::new();
    if let Some(c) = root.get("checks") {
        for item in c.as_seq().unwrap_or_default() {
            if !cx.keys(item, &["each", "assert", "message", "at"], "a check") {
                continue;
            }
            let each = match item.get("each") {
                Some(n) => match children::parse_loop(cx, n) {
                    Some(l) => Some(l),
                    None => continue,
                },
                None => None,
            };
            let cond = item.get("assert").and_then(|n| cx.expr(n));
            let message = item.get("message").and_then(|n| cx.string(n, "`message`"));
            let at = item.get("at").and_then(|n| cx.string(n, "`at`")).unwrap_or_default();
            match (cond, message) {
                (Some(cond), Some(message)) => checks.push(Check {
                    cond,
                    message,
                    at,
                    each,
                }),
                _ => cx.err(item.span, "a check needs `assert` and `message`"),
            }
        }
    }

    let mut blocks = Vec::new();
    if let Some(b) = root.get("blocks") {
        for (k, v) in b.as_map().unwrap_or_default() {
            if let Some(spec) = parse_body(cx, v, Some((&k.key_text(), k.span))) {
                blocks.push(spec);
            }
        }
    }

    let mut children = Vec::new();
    if let Some(c) = root.get("children") {
        match c.as_map() {
            Some(map) => {
                for (k, v) in map {
                    if let Some(ch) = parse_child(cx, v) {
                        children.push((k.key_text(), ch));
                    }
                }
            }
            None => cx.err(c.span, "`children` must be a mapping of names to children"),
        }
    }

    let default_sig = match kind {
        Kind::Head => Sig::Fixed(2, 2),
        _ => Sig::Fixed(4, 4),
    };
    let mut inputs = Vec::new();
    let signature = match root.get("signature") {
        Some(n) => match n.as_str().map(parse_sig) {
            Some(Ok((s, names))) => {
                inputs = names;
                s
            }
            Some(Err(m)) => {
                cx.err(n.span, m);
                default_sig
            }
            None => {
                cx.err(n.span, "`signature` must be a string like `tensor4 -> tensor4`");
                default_sig
            }
        },
        None => default_sig,
    };

    let mut forward = Vec::new();
    let mut forward_span = root.span;
    match root.get_entry("forward") {
        Some((k, f)) => {
            forward_span = k.span;
            if let Some(text) = cx.string(f, "`forward`") {
                forward = parse_forward(cx, f, &text);
            }
        }
        None => cx.err(name_span, "a spec needs a `forward` program"),
    }

    let forward_tokens = match root.get_entry("forward_tokens") {
        Some((k, f)) if kind == Kind::Full => cx
            .string(f, "`forward_tokens`")
            .map(|text| (parse_forward(cx, f, &text), k.span)),
        Some((k, _)) => {
            cx.err(
                k.span,
                "only a full model has a text tower (`forward_tokens`); a text backbone declares `input: tokens`",
            );
            None
        }
        None => None,
    };

    let forward_train = match root.get_entry("forward_train") {
        Some((k, f)) if kind == Kind::Full => cx
            .string(f, "`forward_train`")
            .map(|text| (parse_forward(cx, f, &text), k.span)),
        Some((k, _)) => {
            cx.err(
                k.span,
                "only a full model has a training-time program (`forward_train`)",
            );
            None
        }
        None => None,
    };

    let mut outputs = Vec::new();
    if let Some(o) = root.get("outputs") {
        for (k, v) in o.as_map().unwrap_or_default() {
            if let Some(e) = cx.expr(v) {
                outputs.push((k.key_text(), k.span, e));
            }
        }
    }

    let mut presets = Vec::new();
    if let Some(p) = root.get("presets") {
        for (k, v) in p.as_map().unwrap_or_default() {
            presets.push(Preset {
                name: k.key_text(),
                span: k.span,
                body: v.clone(),
            });
        }
    }

    Some(Spec {
        src: cx.src.clone(),
        name,
        name_span,
        kind,
        summary,
        reference,
        tasks,
        params,
        stage_params,
        ignored_params,
        lets,
        checks,
        children,
        blocks,
        signature,
        inputs,
        forward,
        forward_span,
        outputs,
        presets,
        example: root.get("example").cloned(),
        remap: root.get("remap").map(|r| parse_remap(cx, r)).unwrap_or_default(),
        pretrained: root
            .get("pretrained")
            .map(|p| parse_pretrained(cx, p))
            .unwrap_or_default(),
        postprocessor: root.get("postprocessor").and_then(|p| parse_postprocessor(cx, p)),
        input,
        forward_tokens,
        forward_train,
        preprocess: root.get("preprocess").and_then(|p| parse_preprocess(cx, p)),
    })
}

/// `postprocessor: {decode: NAME, params: {...}}`.
fn parse_postprocessor(cx: &mut Cx, node: &Node) -> Option<(String, Span, Vec<ParamDecl>)> {
    if !cx.keys(node, &["decode", "params"], "a postprocessor") {
        return None;
    }
    let Some(d) = node.get("decode") else {
        cx.err(
            node.span,
            format!("a postprocessor needs `decode`, one of {}", DECODERS.join(", ")),
        );
        return None;
    };
    let name = cx.string(d, "`decode`")?;
    if !DECODERS.contains(&name.as_str()) {
        let hint = crate::diag::closest(&name, DECODERS.iter().copied())
            .map(|c| format!("; did you mean `{c}`?"))
            .unwrap_or_default();
        cx.err(
            d.span,
            format!("unknown decoder `{name}`{hint} (the zoo has {})", DECODERS.join(", ")),
        );
        return None;
    }
    let params = node.get("params").map(|p| parse_params(cx, p)).unwrap_or_default();
    Some((name, d.span, params))
}

/// `preprocess: {resize: short|exact, crop: bool, interpolation: bilinear|bicubic, mean: [3], std: [3]}`.
fn parse_preprocess(cx: &mut Cx, node: &Node) -> Option<crate::registry::PreprocessDesc> {
    if !cx.keys(
        node,
        &["resize", "crop", "interpolation", "mean", "std"],
        "`preprocess`",
    ) {
        return None;
    }
    let mut out = crate::registry::PreprocessDesc::default();
    let choice = |cx: &mut Cx, key: &str, allowed: &[&str], value: &mut String| {
        if let Some(n) = node.get(key) {
            match n.as_str() {
                Some(v) if allowed.contains(&v) => *value = v.to_string(),
                _ => cx.err(n.span, format!("`{key}` is one of {}", allowed.join(", "))),
            }
        }
    };
    choice(cx, "resize", &["exact", "short"], &mut out.resize);
    choice(cx, "interpolation", &["bilinear", "bicubic"], &mut out.interpolation);
    if let Some(n) = node.get("crop") {
        match n.value {
            Value::Bool(b) => out.crop = b,
            _ => cx.err(n.span, "`crop` is true or false"),
        }
    }
    for (key, slot) in [("mean", &mut out.mean), ("std", &mut out.std)] {
        let Some(n) = node.get(key) else { continue };
        let vals: Vec<f64> = n
            .as_seq()
            .unwrap_or_default()
            .iter()
            .filter_map(|v| match v.value {
                Value::Float(f) => Some(f),
                Value::Int(i) => Some(i as f64),
                _ => None,
            })
            .collect();
        match <[f64; 3]>::try_from(vals) {
            Ok(v) if key == "mean" || v.iter().all(|x| *x > 0.0) => *slot = v,
            _ => cx.err(
                n.span,
                format!(
                    "`{key}` is three numbers (R, G, B){}",
                    if key == "std" { ", each above 0" } else { "" }
                ),
            ),
        }
    }
    Some(out)
}

/// `pretrained: {model_name: {file, version?, sha256?}}`.
fn parse_pretrained(cx: &mut Cx, node: &Node) -> Vec<(String, crate::registry::PretrainedDesc)> {
    let mut out = Vec::new();
    for (k, v) in node.as_map().unwrap_or_default() {
        if !cx.keys(v, &["file", "version", "sha256"], "a pretrained entry") {
            continue;
        }
        let text = |cx: &mut Cx, key: &str| {
            v.get(key)
                .filter(|n| !n.is_null())
                .and_then(|n| cx.string(n, &format!("`{key}`")))
        };
        let Some(file) = text(cx, "file") else {
            cx.err(v.span, "a pretrained entry needs `file`");
            continue;
        };
        let sha256 = text(cx, "sha256");
        if let Some(s) = &sha256
            && (s.len() != 64 || !s.chars().all(|c| c.is_ascii_hexdigit()))
        {
            cx.err(v.get("sha256").unwrap().span, "`sha256` must be 64 hex digits");
        }
        out.push((
            k.key_text(),
            crate::registry::PretrainedDesc {
                file,
                version: text(cx, "version"),
                sha256,
            },
        ));
    }
    out
}

/// `remap: {source: [[from_regex, to], ...]}`.
fn parse_remap(cx: &mut Cx, node: &Node) -> Vec<(String, Vec<(String, String)>)> {
    let Some(map) = node.as_map() else {
        cx.err(
            node.span,
            "`remap` maps a weight source to a list of `[from_regex, to]` rules",
        );
        return Vec::new();
    };
    let mut out = Vec::new();
    for (k, v) in map {
        let mut rules = Vec::new();
        for rule in v.as_seq().unwrap_or_default() {
            match rule.as_seq() {
                Some([from, to]) => match (from.as_str(), to.as_str()) {
                    (Some(f), Some(t)) => match regex::Regex::new(f) {
                        Ok(_) => rules.push((f.to_string(), t.to_string())),
                        Err(e) => cx.err(from.span, format!("invalid regex: {e}")),
                    },
                    _ => cx.err(rule.span, "a remap rule is `[from_regex, to]` (two strings)"),
                },
                _ => cx.err(rule.span, "a remap rule is `[from_regex, to]` (two strings)"),
            }
        }
        if v.as_seq().is_none() {
            cx.err(v.span, "a remap source takes a list of `[from_regex, to]` rules");
        }
        out.push((k.key_text(), rules));
    }
    out
}

fn parse_sig(text: &str) -> Result<(Sig, Vec<String>), String> {
    let bad = || {
        format!(
            "bad signature `{text}`: expected `tensorN -> tensorM`, `list<tensorN> -> tensorM`, \
             `tensorN -> list<tensorM>`, `(x: tensorN, y: tensorN) -> tensorM`, `list<tensorN> -> list<tensorM>`, `list<tensorN> -> pred` (heads) \
             or `tensorN -> tensorN` with N a rank"
        )
    };
    let (a, b) = text.split_once("->").ok_or_else(bad)?;
    let rank = |s: &str| s.trim().strip_prefix("tensor").and_then(|r| r.parse::<usize>().ok());
    if a.trim() == "tensorN" && b.trim() == "tensorN" {
        return Ok((Sig::Poly, Vec::new()));
    }
    if let Some(inner) = a.trim().strip_prefix('(').and_then(|r| r.strip_suffix(')')) {
        let mut names = Vec::new();
        let mut ranks = Vec::new();
        for part in inner.split(',') {
            let (name, ty) = part.split_once(':').ok_or_else(bad)?;
            let name = name.trim();
            if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return Err(bad());
            }
            names.push(name.to_string());
            ranks.push(rank(ty).ok_or_else(bad)?);
        }
        let out = rank(b).ok_or_else(bad)?;
        if names.len() < 2 || ranks.iter().any(|r| *r != ranks[0]) {
            return Err(format!(
                "bad signature `{text}`: several inputs must be two or more tensors of one rank"
            ));
        }
        return Ok((Sig::Multi(names.len(), ranks[0], out), names));
    }
    if let Some(inner) = a.trim().strip_prefix("list<").and_then(|r| r.strip_suffix('>')) {
        if b.trim() == "pred" {
            return rank(inner).map(|x| (Sig::ListPred(x), Vec::new())).ok_or_else(bad);
        }
        if let Some(out) = b.trim().strip_prefix("list<").and_then(|r| r.strip_suffix('>')) {
            return match (rank(inner), rank(out)) {
                (Some(x), Some(y)) => Ok((Sig::ListMap(x, y), Vec::new())),
                _ => Err(bad()),
            };
        }
        return match (rank(inner), rank(b)) {
            (Some(x), Some(y)) => Ok((Sig::ListIn(x, y), Vec::new())),
            _ => Err(bad()),
        };
    }
    if let Some(inner) = b.trim().strip_prefix("list<").and_then(|r| r.strip_suffix('>')) {
        return match (rank(a), rank(inner)) {
            (Some(x), Some(y)) => Ok((Sig::ListOut(x, y), Vec::new())),
            _ => Err(bad()),
        };
    }
    match (rank(a), rank(b)) {
        (Some(x), Some(y)) => Ok((Sig::Fixed(x, y), Vec::new())),
        _ => Err(bad()),
    }
}

fn parse_forward(cx: &mut Cx, node: &Node, text: &str) -> Vec<(Stmt, SrcExpr)> {
    let mut out = Vec::new();
    // Each statement is found in the file from where the previous one was, so block scalars
    // (whose node starts at the first content line), quoted and plain strings all report the
    // statement's own line and column.
    let mut cursor = node.span.start.line;
    // Open loops: (index of the `for` statement, its indentation).
    let mut open: Vec<(usize, usize)> = Vec::new();
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let indent = line.len() - line.trim_start().len();
        while open.last().is_some_and(|(_, i)| indent <= *i) {
            open.pop();
        }
        let found = (cursor..cursor + 64).find_map(|l| {
            let file_line = cx.src.line(l)?;
            let start = if l == node.span.start.line {
                node.span.start.col - 1
            } else {
                0
            };
            let c = file_line.get(start..)?.find(trimmed)?;
            Some(Pos {
                line: l,
                col: start + c + 1,
            })
        });
        let base = match found {
            Some(p) => {
                cursor = p.line + 1;
                p
            }
            None => Pos {
                line: node.span.start.line,
                col: node.span.start.col,
            },
        };
        let se = SrcExpr {
            text: trimmed.to_string(),
            expr: Expr {
                kind: expr::ExprKind::Null,
                start: 0,
                end: 0,
            },
            base,
        };
        match expr::parse_stmt(trimmed) {
            Ok(stmt) => {
                // Every open loop whose body this line is in grows by one statement.
                for (k, _) in &open {
                    if let (Stmt::For { body, .. }, _) = &mut out[*k] {
                        *body += 1;
                    }
                }
                if matches!(stmt, Stmt::For { .. }) {
                    open.push((out.len(), indent));
                }
                out.push((stmt, se));
            }
            Err(e) => cx.err(se.span(e.start, e.end), e.message),
        }
    }
    out
}
