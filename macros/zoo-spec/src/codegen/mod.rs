//! Lowers specs to Rust: typed parameter structs, settings (params + derived values), burn
//! `Module` structs/enums for every child container, `init` and `forward`.
//!
//! Naming: a component `resnet` becomes `Resnet`, `ResnetParams`, `ResnetSettings`; an
//! anonymous child container `stages` of it becomes `ResnetStages…`. Field names are the
//! spec's child names, so burn's module paths are the state-dict keys
//! (`stages.0.0.conv1.block.conv.weight`).

mod children;

use crate::diag::SpecError;
use crate::expr::Stmt;
use crate::lower::{Binding, Records, Scope, lower, lower_expect};
use crate::primitives::{Prim, primitives};
use crate::spec::{Kind, ParamDecl, Spec, SrcExpr};
use crate::types::{Sig, Ty};
use crate::yaml::{Node, Value};
use std::collections::HashMap;
use std::fmt::Write;

/// What other specs see of a block: its Rust type, arguments and signature.
#[derive(Debug, Clone)]
pub struct BlockInfo {
    pub rust: String,
    pub params: Vec<ParamDecl>,
    pub sig: Sig,
}

pub fn camel(name: &str) -> String {
    name.split(['_', '-', '.'])
        .filter(|p| !p.is_empty())
        .map(|p| {
            let mut c = p.chars();
            match c.next() {
                Some(f) => f.to_ascii_uppercase().to_string() + c.as_str(),
                None => String::new(),
            }
        })
        .collect()
}

/// Rust keywords: a child named like one becomes a field with a trailing underscore, which the
/// weights loader and the state dict translate back (`attention.self_` is `attention.self`).
pub const KEYWORDS: &[&str] = &[
    "as", "break", "const", "continue", "crate", "else", "enum", "extern", "false", "fn", "for", "if", "impl", "in",
    "let", "loop", "match", "mod", "move", "mut", "pub", "ref", "return", "self", "Self", "static", "struct", "super",
    "trait", "true", "type", "unsafe", "use", "where", "while", "async", "await", "dyn", "abstract", "become", "box",
    "do", "final", "macro", "override", "priv", "typeof", "unsized", "virtual", "yield", "try", "gen",
];

/// A Rust identifier for a spec name (keywords get a trailing underscore).
pub fn ident(name: &str) -> String {
    if KEYWORDS.contains(&name) {
        format!("{name}_")
    } else {
        name.to_string()
    }
}

/// The local holding a built child in `init`.
fn child_local(name: &str) -> String {
    format!("c_{name}")
}

/// A local variable name that cannot clash with generated temporaries or `device`.
pub fn local(name: &str) -> String {
    format!("v_{name}")
}

/// Rust code for a YAML literal of a declared type.
pub fn literal(n: &Node, ty: &Ty) -> String {
    match (&n.value, ty) {
        (Value::Null, _) => "None".into(),
        (_, Ty::Opt(t)) => format!("Some({})", literal(n, t)),
        (Value::Int(i), Ty::Float) => format!("{:?}f64", *i as f64),
        (Value::Int(i), _) => format!("{i}i64"),
        (Value::Float(f), _) => format!("{f:?}f64"),
        (Value::Bool(b), _) => b.to_string(),
        (Value::Str(s), _) => format!("String::from({s:?})"),
        (Value::Seq(items), Ty::List(t)) => {
            format!(
                "vec![{}]",
                items.iter().map(|i| literal(i, t)).collect::<Vec<_>>().join(", ")
            )
        }
        _ => "Default::default()".into(),
    }
}

/// What a generated child is, seen from its parent.
struct ChildOut {
    init: String,
    /// An expression of the child's `crate::rt::Size` (parameters and buffers), computed from
    /// the same arguments as `init` without building anything.
    size: String,
    ty: String,
    /// Call template for one instance (`{m}`, `{x}`); `None` for params.
    call: Option<String>,
    sig: Sig,
    /// For list children: call template and signature of one element.
    elem: Option<(String, Sig)>,
    /// For `param`/`index_buffer` children: the tensor type.
    param_ty: Option<Ty>,
    optional: bool,
    /// For `group` children: the members, used as `group.member`.
    members: Vec<(String, ChildOut)>,
}

pub struct Gen<'a> {
    pub out: String,
    pub errors: Vec<SpecError>,
    pub records: Records,
    pub shared_blocks: &'a HashMap<String, BlockInfo>,
    prims: Vec<Prim>,
    /// Lowering a `forward_train` program (it returns a list of the signature's outputs).
    training: bool,
}

impl<'a> Gen<'a> {
    pub fn new(shared_blocks: &'a HashMap<String, BlockInfo>) -> Self {
        Gen {
            out: String::new(),
            errors: Vec::new(),
            records: Records::new(),
            shared_blocks,
            prims: primitives(),
            training: false,
        }
    }

    fn err_expr(&mut self, spec: &Spec, e: &SrcExpr, start: usize, end: usize, message: String) {
        // An empty message marks a use of a name whose definition already failed.
        if !message.is_empty() {
            self.errors.push(spec.src.error(e.span(start, end), message));
        }
    }

    /// Generates everything for one spec (and its local blocks). `prefix` is the Rust type name.
    pub fn component(&mut self, spec: &Spec, prefix: &str, local_blocks: &HashMap<String, BlockInfo>) {
        let mut blocks = local_blocks.clone();
        for b in &spec.blocks {
            let info = BlockInfo {
                rust: local_block(prefix, &b.name),
                params: b.params.clone(),
                sig: b.signature,
            };
            blocks.insert(b.name.clone(), info);
        }
        for b in &spec.blocks {
            let name = local_block(prefix, &b.name);
            self.component(b, &name, &blocks);
        }

        // Record type of stage_params items (of blocks, for tagged stages).
        let tagged = spec.stage_params.as_ref().is_some_and(|sp| !sp.tags.is_empty());
        let record = spec.stage_params.as_ref().map(|sp| {
            if !sp.tags.is_empty() {
                return self.tagged_record(spec, prefix, &sp.tags, sp.ignore_tag_case);
            }
            let name = format!("{prefix}StageParams");
            let fields: Vec<(String, Ty)> = sp.fields.iter().map(|f| (f.name.clone(), f.ty.clone())).collect();
            self.records.insert(name.clone(), fields);
            let mut s = String::new();
            writeln!(s, "/// One item of `stage_params` of `{}`.", spec.name).unwrap();
            writeln!(
                s,
                "#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]"
            )
            .unwrap();
            writeln!(s, "#[serde(deny_unknown_fields)]\npub struct {name} {{").unwrap();
            for f in &sp.fields {
                param_field(&mut s, f);
            }
            writeln!(s, "}}").unwrap();
            self.out.push_str(&s);
            name
        });

        // Typed parameters.
        let mut s = String::new();
        writeln!(s, "/// Parameters of `{}`{}.", spec.name, summary_suffix(spec)).unwrap();
        writeln!(
            s,
            "#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]"
        )
        .unwrap();
        writeln!(s, "#[serde(deny_unknown_fields)]\npub struct {prefix}Params {{").unwrap();
        for p in &spec.params {
            param_field(&mut s, p);
        }
        // The type of `stage_params`: records, or lists of tagged block records.
        let stage_ty = record.as_ref().map(|r| {
            if tagged {
                Ty::list(Ty::list(Ty::Record(r.clone())))
            } else {
                Ty::list(Ty::Record(r.clone()))
            }
        });
        if let Some(t) = &stage_ty {
            writeln!(s, "    #[serde(default)]\n    pub stage_params: {},", t.rust()).unwrap();
        }
        writeln!(s, "}}").unwrap();
        self.out.push_str(&s);

        // Settings: params, context and derived values, resolved without building modules.
        let records = self.records.clone();
        let mut scope = Scope::new(&records, false);
        let mut fields: Vec<(String, Ty)> = Vec::new();
        let mut body = String::new();
        for p in &spec.params {
            let v = local(&p.name);
            writeln!(body, "let {v}: {} = params.{}.clone();", p.ty.rust(), ident(&p.name)).unwrap();
            scope.bind_value(&p.name, v, p.ty.clone());
            fields.push((p.name.clone(), p.ty.clone()));
        }
        if let Some(t) = &stage_ty {
            let v = local("stage_params");
            writeln!(body, "let {v}: {} = params.stage_params.clone();", t.rust()).unwrap();
            scope.bind_value("stage_params", v, t.clone());
            fields.push(("stage_params".into(), t.clone()));
        }
        for (name, ty) in context_bindings(spec.kind) {
            let v = local(name);
            writeln!(body, "let {v}: {} = ctx.{name}.clone();", ty.rust()).unwrap();
            scope.bind_value(name, v, ty.clone());
            fields.push((name.to_string(), ty));
        }
        // Lets that failed to lower: later uses stay silent instead of cascading.
        let mut failed: Vec<String> = Vec::new();
        for (name, span, e) in &spec.lets {
            if scope.lookup(name).is_some() && fields.iter().any(|(f, _)| f == name) {
                self.errors
                    .push(spec.src.error(*span, format!("`{name}` is already defined")));
                continue;
            }
            match lower(&e.expr, &mut scope) {
                Ok((code, ty)) => {
                    let ty = if ty == Ty::Null { Ty::opt(Ty::Int) } else { ty };
                    let v = local(name);
                    writeln!(body, "let {v}: {} = {code};", ty.rust()).unwrap();
                    scope.bind_value(name, v, ty.clone());
                    fields.push((name.clone(), ty));
                }
                Err(le) => {
                    self.err_expr(spec, e, le.start, le.end, le.message);
                    scope.bind(name, Binding::Poisoned);
                    failed.push(name.clone());
                }
            }
        }
        for c in &spec.checks {
            // `each: VARS in LIST`: the check runs per item, its `at`/`message` name the item.
            let mut close = "";
            let (mut at, mut message) = (template(&c.at, &mut scope), template(&c.message, &mut scope));
            if let Some((vars, iter)) = &c.each {
                let Some((ri, ti)) = self.lower_reported(spec, iter, &mut scope) else {
                    continue;
                };
                let item = match ti {
                    Ty::List(item) => *item,
                    t => {
                        self.err_expr(
                            spec,
                            iter,
                            0,
                            iter.text.len(),
                            format!("`each` iterates over a list, found {t}"),
                        );
                        continue;
                    }
                };
                scope.push();
                let bind = match crate::lower::bind_loop_vars(&iter.expr, vars, &item, "__it", &mut scope) {
                    Ok(b) => b,
                    Err(le) => {
                        self.err_expr(spec, iter, le.start, le.end, le.message);
                        scope.pop();
                        continue;
                    }
                };
                at = template(&c.at, &mut scope);
                message = template(&c.message, &mut scope);
                writeln!(body, "for __it in {ri} {{ {bind}").unwrap();
                close = "}";
            }
            match lower(&c.cond.expr, &mut scope) {
                Ok((code, Ty::Bool)) => {
                    writeln!(
                        body,
                        "if !({code}) {{ return Err(crate::rt::BuildError::at(&{at}, &{message})); }} {close}"
                    )
                    .unwrap();
                }
                Ok((_, t)) => {
                    let e = &c.cond;
                    self.err_expr(spec, e, 0, e.text.len(), format!("a check must be a bool, found {t}"))
                }
                Err(le) => self.err_expr(spec, &c.cond, le.start, le.end, le.message),
            }
            if !close.is_empty() {
                scope.pop();
            }
        }
        let mut st = String::new();
        writeln!(st, "/// `{}` with every derived value resolved.", spec.name).unwrap();
        writeln!(st, "#[derive(Debug, Clone, PartialEq)]\npub struct {prefix}Settings {{").unwrap();
        for (n, t) in &fields {
            writeln!(st, "    pub {}: {},", ident(n), t.rust()).unwrap();
        }
        writeln!(st, "}}").unwrap();
        writeln!(st, "impl {prefix}Settings {{").unwrap();
        writeln!(st, "    #[allow(unused_variables, unused_parens, clippy::all)]").unwrap();
        writeln!(
            st,
            "    pub fn resolve(params: &{prefix}Params, ctx: &crate::rt::Context) -> Result<Self, crate::rt::BuildError> {{"
        )
        .unwrap();
        st.push_str(&body);
        let inits: Vec<String> = fields
            .iter()
            .map(|(n, _)| format!("{}: {}", ident(n), local(n)))
            .collect();
        writeln!(st, "Ok(Self {{ {} }})\n    }}\n}}", inits.join(", ")).unwrap();
        self.out.push_str(&st);

        // Outputs (feature dims), evaluated from settings alone.
        if spec.outputs.is_empty() && matches!(spec.kind, Kind::Backbone | Kind::Neck) {
            self.errors.push(spec.src.error(
                spec.name_span,
                format!(
                    "a {} declares its `outputs` (feature_dim, intermediate_features_dim, strides)",
                    spec.kind.as_str()
                ),
            ));
        }
        if !spec.outputs.is_empty() {
            let mut oscope = Scope::new(&records, false);
            for f in &failed {
                oscope.bind(f, Binding::Poisoned);
            }
            for (n, t) in &fields {
                oscope.bind_value(n, format!("settings.{}", ident(n)), t.clone());
            }
            let mut o = String::new();
            writeln!(o, "impl {prefix}Settings {{\n#[allow(unused_parens, unused_variables, clippy::all)]\npub fn outputs(&self) -> Result<crate::rt::Outputs, crate::rt::BuildError> {{ let settings = self; let mut out = crate::rt::Outputs::default();").unwrap();
            for (name, span, e) in &spec.outputs {
                let want = match name.as_str() {
                    "feature_dim" => Ty::Int,
                    // Text backbones: the ids they can look up and the longest input.
                    "vocab_size" | "max_tokens"
                        if spec.input == crate::spec::Input::Tokens || spec.forward_tokens.is_some() =>
                    {
                        Ty::Int
                    }
                    // A model with a fixed image size (position tables of vision transformers).
                    "image_size" if spec.kind == Kind::Full => Ty::Int,
                    "intermediate_features_dim" | "strides" => Ty::list(Ty::Int),
                    _ => {
                        self.errors.push(spec.src.error(
                            *span,
                            format!(
                                "unknown output `{name}`; expected feature_dim, intermediate_features_dim or strides (text backbones: also vocab_size, max_tokens)"
                            ),
                        ));
                        continue;
                    }
                };
                match lower_expect(&e.expr, &mut oscope, &want) {
                    Ok(code) if want == Ty::Int => writeln!(o, "out.{name} = Some({code});").unwrap(),
                    Ok(code) => writeln!(o, "out.{name} = {code};").unwrap(),
                    Err(le) => self.err_expr(spec, e, le.start, le.end, le.message),
                }
            }
            writeln!(o, "Ok(out) }} }}").unwrap();
            self.out.push_str(&o);
        }

        // Children and the module struct.
        let mut iscope = Scope::new(&records, false);
        for f in &failed {
            iscope.bind(f, Binding::Poisoned);
        }
        let mut ibody = String::new();
        for (n, t) in &fields {
            let v = local(n);
            writeln!(ibody, "let {v}: {} = settings.{}.clone();", t.rust(), ident(n)).unwrap();
            iscope.bind_value(n, v, t.clone());
        }
        let lets = ibody.clone();
        let mut sbody = String::new();
        let mut struct_fields = Vec::new();
        let mut fscope = Scope::new(&records, true);
        for f in &failed {
            fscope.bind(f, Binding::Poisoned);
        }
        for (n, t) in &fields {
            fscope.bind_value(n, format!("self.settings.{}", ident(n)), t.clone());
        }
        for (name, child) in &spec.children {
            let tyname = child_type(prefix, name);
            let Some(co) = self.child(spec, &tyname, child, &mut iscope, &blocks) else {
                fscope.bind(name, Binding::Poisoned);
                continue;
            };
            // Built children get their own locals: a child may share its name with a param
            // that later children still read.
            writeln!(
                ibody,
                "let {} = crate::rt::scoped({name:?}, || Ok({}))?;",
                child_local(name),
                co.init
            )
            .unwrap();
            writeln!(sbody, "__total += {};", children::scoped_size(name, &co.size)).unwrap();
            struct_fields.push((name.clone(), co.ty.clone()));
            bind_child(&mut fscope, name, &format!("self.{}", ident(name)), co);
        }
        let mut m = String::new();
        writeln!(m, "/// The `{}` module{}.", spec.name, summary_suffix(spec)).unwrap();
        writeln!(m, "#[derive(burn::module::Module, Debug)]\npub struct {prefix} {{").unwrap();
        for (n, t) in &struct_fields {
            writeln!(m, "    pub {}: {t},", ident(n)).unwrap();
        }
        writeln!(m, "    #[module(skip)]\n    pub settings: {prefix}Settings,\n}}").unwrap();
        writeln!(m, "impl {prefix} {{").unwrap();
        writeln!(
            m,
            "    #[allow(unused_variables, unused_parens, unused_mut, clippy::all)]"
        )
        .unwrap();
        writeln!(
            m,
            "    pub fn init(params: &{prefix}Params, ctx: &crate::rt::Context, device: &burn::tensor::Device) -> Result<Self, crate::rt::BuildError> {{"
        )
        .unwrap();
        writeln!(
            m,
            "crate::rt::progress::tick();\nlet settings = {prefix}Settings::resolve(params, ctx)?;"
        )
        .unwrap();
        m.push_str(&ibody);
        let finits: Vec<String> = struct_fields
            .iter()
            .map(|(n, _)| format!("{}: {}", ident(n), child_local(n)))
            .collect();
        writeln!(
            m,
            "Ok(Self {{ {} settings }})\n    }}",
            finits.iter().map(|f| format!("{f}, ")).collect::<String>()
        )
        .unwrap();
        writeln!(
            m,
            "    /// Parameters and buffers `init` would create, computed without creating them.\n    #[allow(unused_variables, unused_parens, unused_mut, clippy::all)]\n    pub fn size(params: &{prefix}Params, ctx: &crate::rt::Context) -> Result<crate::rt::Size, crate::rt::BuildError> {{\nlet settings = {prefix}Settings::resolve(params, ctx)?;\n{lets}let mut __total = crate::rt::Size::BLOCK;\n{sbody}Ok(__total)\n    }}"
        )
        .unwrap();

        // Forward program (and a two-tower model's text tower, a full model's training program).
        let fwd = self.forward(spec, &mut fscope, Program::Forward);
        m.push_str(&fwd);
        if let Some(tokens) = &spec.forward_tokens {
            let fwd = self.forward(spec, &mut fscope, Program::Tokens(tokens));
            m.push_str(&fwd);
        }
        if let Some(train) = &spec.forward_train {
            let fwd = self.forward(spec, &mut fscope, Program::Train(train));
            m.push_str(&fwd);
        }
        writeln!(m, "}}").unwrap();
        let accessed = fscope.element_access.borrow();
        let fold_fields: Vec<(String, bool)> = struct_fields
            .iter()
            .map(|(n, t)| {
                (
                    ident(n),
                    t.starts_with("Vec<") && !accessed.contains(&format!("self.{}", ident(n))),
                )
            })
            .collect();
        m.push_str(&fold_impl(prefix, &fold_fields, false));
        self.out.push_str(&m);
    }

    /// The record of one block of tagged stages: `tag` plus the union of all tags' fields (a
    /// field some tags lack is optional), read from `[tag, value, ...]` lists.
    fn tagged_record(&mut self, spec: &Spec, prefix: &str, tags: &[crate::spec::TagDecl], ignore_case: bool) -> String {
        let name = format!("{prefix}Block");
        let mut union: Vec<(String, Ty)> = vec![("tag".into(), Ty::Str)];
        for t in tags {
            for f in &t.fields {
                if !union.iter().any(|(n, _)| n == &f.name) {
                    let everywhere = tags.iter().all(|o| o.fields.iter().any(|g| g.name == f.name));
                    let ty = if everywhere {
                        f.ty.clone()
                    } else {
                        Ty::opt(f.ty.clone())
                    };
                    union.push((f.name.clone(), ty));
                }
            }
        }
        self.records.insert(name.clone(), union.clone());
        let mut s = String::new();
        writeln!(s, "/// One block of a stage of `{}`: `[tag, value, ...]`.", spec.name).unwrap();
        writeln!(
            s,
            "#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]"
        )
        .unwrap();
        writeln!(
            s,
            "#[serde(try_from = \"Vec<serde_json::Value>\", into = \"Vec<serde_json::Value>\")]"
        )
        .unwrap();
        writeln!(s, "pub struct {name} {{").unwrap();
        for (n, t) in &union {
            writeln!(s, "    pub {}: {},", ident(n), t.rust()).unwrap();
        }
        writeln!(s, "}}").unwrap();
        let mut from = String::new();
        let mut into = String::new();
        for t in tags {
            let n = t.fields.len();
            let names: Vec<&str> = t.fields.iter().map(|f| f.name.as_str()).collect();
            let mut inits = vec!["tag: __tag.clone()".to_string()];
            for (n_, ty) in union.iter().skip(1) {
                let init = match t.fields.iter().position(|f| &f.name == n_) {
                    Some(k) => {
                        let fty = &t.fields[k].ty;
                        let read = format!(
                            "serde_json::from_value::<{}>(__v[{}].clone()).map_err(|e| format!(\"value {} (`{}`) of `{}`: {{e}}\"))?",
                            fty.rust(),
                            k + 1,
                            k + 1,
                            n_,
                            t.name
                        );
                        crate::lower::coerce(&read, fty, ty)
                    }
                    None => "None".into(),
                };
                inits.push(format!("{}: {init}", ident(n_)));
            }
            writeln!(
                from,
                "{:?} => {{ if __v.len() != {} {{ return Err(format!(\"`{}` takes {n} values after its tag ({}), found {{}}\", __v.len() - 1)); }} Ok(Self {{ {} }}) }}",
                t.name,
                n + 1,
                t.name,
                names.join(", "),
                inits.join(", ")
            )
            .unwrap();
            let vals: Vec<String> = t
                .fields
                .iter()
                .map(|f| {
                    let (_, uty) = union.iter().find(|(n_, _)| n_ == &f.name).unwrap();
                    let access = format!("b.{}", ident(&f.name));
                    if matches!(uty, Ty::Opt(_)) && !matches!(f.ty, Ty::Opt(_)) {
                        format!("serde_json::json!({access}.clone().expect(\"set for this tag\"))")
                    } else {
                        format!("serde_json::json!({access}.clone())")
                    }
                })
                .collect();
            writeln!(
                into,
                "{:?} => {{ let mut v = vec![serde_json::json!(b.tag.clone())]; {} v }}",
                t.name,
                vals.iter().map(|x| format!("v.push({x});")).collect::<String>()
            )
            .unwrap();
        }
        let known: Vec<String> = tags.iter().map(|t| format!("`{}`", t.name)).collect();
        writeln!(
            s,
            "impl TryFrom<Vec<serde_json::Value>> for {name} {{ type Error = String; #[allow(clippy::all)] fn try_from(__v: Vec<serde_json::Value>) -> Result<Self, String> {{ let __tag = __v.first().and_then(|t| t.as_str()).ok_or_else(|| String::from(\"a block is a list that starts with its tag\"))?.to_string(); {lower} match __tag.as_str() {{ {from} __other => Err(format!(\"unknown block tag `{{__other}}`; expected one of {}\")) }} }} }}",
            known.join(", "),
            lower = if ignore_case { "let __tag = __tag.to_lowercase();" } else { "" }
        )
        .unwrap();
        writeln!(
            s,
            "impl From<{name}> for Vec<serde_json::Value> {{ #[allow(clippy::all)] fn from(b: {name}) -> Self {{ match b.tag.as_str() {{ {into} _ => vec![serde_json::json!(b.tag)] }} }} }}"
        )
        .unwrap();
        self.out.push_str(&s);
        name
    }

    /// Lowers `forward`, or a full model's `forward_tokens` / `forward_train` program.
    fn forward(&mut self, spec: &Spec, scope: &mut Scope, program: Program) -> String {
        let tokens = match program {
            Program::Tokens(t) => Some(t),
            _ => None,
        };
        let (in_ty, mut ret) = match spec.kind {
            Kind::Backbone => ("Tensor<4>".to_string(), "crate::rt::BackboneOutput".to_string()),
            Kind::Neck => ("Vec<Tensor<4>>".to_string(), "Vec<Tensor<4>>".to_string()),
            Kind::Head | Kind::Block | Kind::Full => match spec.signature {
                Sig::Fixed(a, b) | Sig::Multi(_, a, b) => (format!("Tensor<{a}>"), format!("Tensor<{b}>")),
                Sig::ListIn(a, b) => (format!("Vec<Tensor<{a}>>"), format!("Tensor<{b}>")),
                Sig::ListOut(a, b) => (format!("Tensor<{a}>"), format!("Vec<Tensor<{b}>>")),
                Sig::ListPred(_) if spec.kind != Kind::Head => {
                    self.errors.push(
                        spec.src
                            .error(spec.forward_span, "only heads return a prediction (`-> pred`)"),
                    );
                    return String::new();
                }
                Sig::ListPred(a) => (format!("Vec<Tensor<{a}>>"), "crate::rt::Pred".to_string()),
                Sig::ListMap(a, b) => (format!("Vec<Tensor<{a}>>"), format!("Vec<Tensor<{b}>>")),
                Sig::Poly | Sig::Lookup(..) => {
                    self.errors.push(
                        spec.src
                            .error(spec.forward_span, "a spec's signature must have fixed ranks"),
                    );
                    return String::new();
                }
            },
        };
        let in_t = match spec.kind {
            Kind::Neck => Ty::TensorList(4),
            Kind::Backbone => Ty::Tensor(4),
            _ => match spec.signature {
                Sig::Fixed(a, _) | Sig::Multi(_, a, _) => Ty::Tensor(a),
                Sig::ListIn(a, _) | Sig::ListPred(a) | Sig::ListMap(a, _) => Ty::TensorList(a),
                Sig::ListOut(a, _) => Ty::Tensor(a),
                Sig::Lookup(a, _) => Ty::IndexTensor(a),
                Sig::Poly => Ty::Tensor(4),
            },
        };
        // Several inputs are bound by their names, one input as `input`; a text backbone
        // reads `ids` and `mask`.
        let text_tower = tokens.is_some() || (spec.kind == Kind::Backbone && spec.input == crate::spec::Input::Tokens);
        let bound: Vec<(String, Ty, String)> = if text_tower {
            vec![
                (
                    "ids".to_string(),
                    Ty::IndexTensor(2),
                    "Tensor<2, burn::tensor::Int>".to_string(),
                ),
                ("mask".to_string(), Ty::Tensor(2), "Tensor<2>".to_string()),
            ]
        } else if matches!(spec.signature, Sig::Multi(..)) && spec.kind != Kind::Backbone {
            spec.inputs
                .iter()
                .map(|n| (n.clone(), in_t.clone(), in_ty.clone()))
                .collect()
        } else {
            vec![("input".to_string(), in_t.clone(), in_ty.clone())]
        };
        scope.push();
        let mut params = Vec::new();
        for (n, t, rust) in &bound {
            let v = local(n);
            scope.bind_value(n, v.clone(), t.clone());
            params.push(format!("{v}: {rust}"));
        }
        let mut body = String::new();
        let (program, span, fname) = match program {
            Program::Tokens((p, span)) => (p, *span, "forward_tokens"),
            Program::Train((p, span)) => {
                // The training program returns the prediction and the loss's extra outputs.
                ret = format!("Vec<{ret}>");
                (p, *span, "forward_train")
            }
            Program::Forward => (&spec.forward, spec.forward_span, "forward"),
        };
        self.training = fname == "forward_train";
        let returned = self.statements(spec, program, scope, &mut body, None);
        self.training = false;
        scope.pop();
        if !returned {
            self.errors
                .push(spec.src.error(span, format!("the {fname} program never returns")));
        }
        format!(
            "    #[allow(unused_variables, unused_parens, unused_mut, clippy::all)]\n    pub fn {fname}(&self, {}) -> {ret} {{\n{body}\n    }}\n",
            params.join(", ")
        )
    }

    /// Lowers forward statements into `body`; returns whether they end in `return`. Inside a
    /// loop (`outer`: the scope depth the loop started at), assigning a name defined before
    /// the loop updates that variable (its type must not change) instead of shadowing it.
    fn statements(
        &mut self,
        spec: &Spec,
        stmts: &[(Stmt, SrcExpr)],
        scope: &mut Scope,
        body: &mut String,
        outer: Option<usize>,
    ) -> bool {
        let mut returned = false;
        let mut k = 0;
        while k < stmts.len() {
            let (stmt, se) = &stmts[k];
            k += 1;
            if returned {
                self.err_expr(
                    spec,
                    se,
                    0,
                    se.text.len(),
                    "unreachable: this statement follows `return`".into(),
                );
                break;
            }
            match stmt {
                Stmt::Assign { targets, value } => {
                    if targets.len() != 1 {
                        self.err_expr(
                            spec,
                            se,
                            targets[0].1,
                            targets.last().unwrap().2,
                            "only one name can be assigned".into(),
                        );
                        continue;
                    }
                    let (name, a, b) = &targets[0];
                    if matches!(scope.lookup(name), Some(Binding::Module { .. })) {
                        self.err_expr(
                            spec,
                            se,
                            *a,
                            *b,
                            format!("`{name}` is a child module and cannot be reassigned"),
                        );
                        continue;
                    }
                    let carried = match (outer, scope.depth_of(name), scope.lookup(name)) {
                        (Some(o), Some(d), Some(Binding::Value { rust, ty })) if d < o => {
                            Some((rust.clone(), ty.clone()))
                        }
                        _ => None,
                    };
                    match lower(value, scope) {
                        Ok((code, ty)) => match carried {
                            Some((rust, want)) if ty == want => writeln!(body, "{rust} = {code};").unwrap(),
                            // An empty list before the loop takes the type of what fills it
                            // (the Rust vector's element type is inferred).
                            Some((rust, want))
                                if want == Ty::list(Ty::Null) && matches!(ty, Ty::TensorList(_) | Ty::List(_)) =>
                            {
                                writeln!(body, "{rust} = {code};").unwrap();
                                scope.retype(name, ty);
                            }
                            Some((_, want)) => self.err_expr(
                                spec,
                                se,
                                value.start,
                                value.end,
                                format!("`{name}` is {want} before the loop; it cannot become {ty} in it"),
                            ),
                            None => {
                                let v = scope.fresh(&format!("{name}_"));
                                writeln!(body, "let mut {v} = {code};").unwrap();
                                scope.bind_value(name, v, ty);
                            }
                        },
                        Err(le) => {
                            self.err_expr(spec, se, le.start, le.end, le.message);
                            scope.bind(name, Binding::Poisoned);
                        }
                    }
                }
                Stmt::Return(e) => {
                    if outer.is_some() {
                        self.err_expr(spec, se, 0, se.text.len(), "a loop body cannot `return`".into());
                        continue;
                    }
                    returned = true;
                    match self.ret(spec, e, scope) {
                        Ok(code) => writeln!(body, "{code}").unwrap(),
                        Err((start, end, msg)) => self.err_expr(spec, se, start, end, msg),
                    }
                }
                Stmt::For { vars, iter, body: n } => {
                    let inner = &stmts[k..(k + n).min(stmts.len())];
                    k += n;
                    let (ri, ti) = match lower(iter, scope) {
                        Ok(x) => x,
                        Err(le) => {
                            self.err_expr(spec, se, le.start, le.end, le.message);
                            continue;
                        }
                    };
                    let Ty::List(item) = ti else {
                        self.err_expr(
                            spec,
                            se,
                            iter.start,
                            iter.end,
                            format!("a loop iterates over a list, found {ti}"),
                        );
                        continue;
                    };
                    if inner.is_empty() {
                        self.err_expr(
                            spec,
                            se,
                            0,
                            se.text.len(),
                            "a loop needs a body (indented lines below it)".into(),
                        );
                        continue;
                    }
                    let depth = scope.depth();
                    scope.push();
                    let it = scope.fresh("it");
                    match crate::lower::bind_loop_vars(iter, vars, &item, &it, scope) {
                        Ok(bind) => {
                            writeln!(body, "for {it} in {ri} {{ {bind}").unwrap();
                            self.statements(spec, inner, scope, body, Some(depth));
                            writeln!(body, "}}").unwrap();
                        }
                        Err(le) => self.err_expr(spec, se, le.start, le.end, le.message),
                    }
                    scope.pop();
                }
            }
        }
        returned
    }

    fn ret(&mut self, spec: &Spec, e: &crate::expr::Expr, scope: &mut Scope) -> Result<String, (usize, usize, String)> {
        let le = |l: crate::lower::LowerError| (l.start, l.end, l.message);
        match spec.kind {
            Kind::Backbone => {
                let crate::expr::ExprKind::Record(fields) = &e.kind else {
                    return Err((
                        e.start,
                        e.end,
                        "a backbone returns `{last_feature: ..., intermediate_features: ...}`".into(),
                    ));
                };
                let mut last = "None".to_string();
                let mut last_map = "None".to_string();
                let mut last_tokens = "None".to_string();
                let mut inter = "Vec::new()".to_string();
                for (name, v) in fields {
                    let (code, ty) = lower(v, scope).map_err(le)?;
                    match (name.as_str(), &ty) {
                        ("last_feature", Ty::Tensor(2)) => last = format!("Some({code})"),
                        ("last_map", Ty::Tensor(4)) => last_map = format!("Some({code})"),
                        ("last_tokens", Ty::Tensor(3)) => last_tokens = format!("Some({code})"),
                        ("last_tokens", _) => {
                            return Err((
                                v.start,
                                v.end,
                                format!("`last_tokens` must be a rank-3 tensor [batch, tokens, channels], found {ty}"),
                            ));
                        }
                        ("last_map", _) => {
                            return Err((
                                v.start,
                                v.end,
                                format!("`last_map` must be a rank-4 tensor (the map before pooling), found {ty}"),
                            ));
                        }
                        ("intermediate_features", Ty::TensorList(4)) => inter = code,
                        ("last_feature", _) => {
                            return Err((
                                v.start,
                                v.end,
                                format!("`last_feature` must be a rank-2 tensor [batch, channels], found {ty}"),
                            ));
                        }
                        ("intermediate_features", _) => {
                            return Err((
                                v.start,
                                v.end,
                                format!("`intermediate_features` must be a list of rank-4 tensors, found {ty}"),
                            ));
                        }
                        _ => {
                            return Err((
                                v.start,
                                v.end,
                                format!(
                                    "unknown output `{name}`; a backbone returns last_feature, last_map, last_tokens and intermediate_features"
                                ),
                            ));
                        }
                    }
                }
                Ok(format!(
                    "crate::rt::BackboneOutput {{ last_feature: {last}, last_map: {last_map}, last_tokens: {last_tokens}, token_mask: None, intermediate_features: {inter} }}"
                ))
            }
            Kind::Neck => {
                let (code, ty) = lower(e, scope).map_err(le)?;
                if ty != Ty::TensorList(4) {
                    return Err((
                        e.start,
                        e.end,
                        format!("a neck returns a list of rank-4 tensors, found {ty}"),
                    ));
                }
                Ok(code)
            }
            Kind::Head if matches!(spec.signature, Sig::ListPred(_)) => pred_tree(e, scope),
            Kind::Head | Kind::Block | Kind::Full => {
                let (code, ty) = lower(e, scope).map_err(le)?;
                let want = match spec.signature {
                    Sig::Fixed(_, b) | Sig::ListIn(_, b) | Sig::Multi(_, _, b) | Sig::Lookup(_, b) => Ty::Tensor(b),
                    Sig::ListOut(_, b) | Sig::ListMap(_, b) => Ty::TensorList(b),
                    Sig::Poly | Sig::ListPred(_) => Ty::Tensor(4),
                };
                let want = match (self.training, want) {
                    (true, Ty::Tensor(r)) => Ty::TensorList(r),
                    (_, w) => w,
                };
                if ty != want {
                    let message = if self.training {
                        format!("`forward_train` returns a list `[prediction, extras...]` ({want}), found {ty}")
                    } else {
                        format!("the signature says this returns {want}, found {ty}")
                    };
                    return Err((e.start, e.end, message));
                }
                Ok(code)
            }
        }
    }
}

/// Makes a child usable in the forward program: a module to call, a param's value, or, for
/// a group, each member as `group.member`.
/// `impl crate::rt::Fold` for a generated struct: every field folds (`sequences` are lists
/// applied whole, element after element), then, in a `seq`, each field's output norm folds into
/// the convolution before it.
pub(crate) fn fold_impl(tyname: &str, fields: &[(String, bool)], seq: bool) -> String {
    let mut body = String::from("0usize");
    for (f, sequence) in fields {
        if *sequence {
            write!(body, " + crate::rt::fold_sequence(&mut self.{f})").unwrap();
        } else {
            write!(body, " + crate::rt::Fold::fold(&mut self.{f})").unwrap();
        }
    }
    if seq {
        for w in fields.windows(2) {
            write!(
                body,
                " + crate::rt::fold_pair(&mut self.{}, &mut self.{})",
                w[0].0, w[1].0
            )
            .unwrap();
        }
    }
    format!("impl crate::rt::Fold for {tyname} {{\nfn fold(&mut self) -> usize {{\n{body}\n}}\n}}\n")
}

/// `impl crate::rt::Fold` for a generated enum: each variant delegates.
pub(crate) fn fold_enum_impl(name: &str, variants: &[String]) -> String {
    if variants.is_empty() {
        return format!("impl crate::rt::Fold for {name} {{}}\n");
    }
    let arms = |f: &str| -> String {
        variants
            .iter()
            .map(|v| format!("{name}::{v}(__m) => crate::rt::Fold::{f}(__m),"))
            .collect::<String>()
    };
    format!(
        "impl crate::rt::Fold for {name} {{\n\
         fn fold(&mut self) -> usize {{ match self {{ {} }} }}\n\
         fn as_conv(&mut self) -> Option<&mut burn::nn::conv::Conv2d> {{ match self {{ {} }} }}\n\
         fn as_norm(&mut self) -> Option<&mut crate::rt::primitives::Norm2d> {{ match self {{ {} }} }}\n}}\n",
        arms("fold"),
        arms("as_conv"),
        arms("as_norm")
    )
}

fn bind_child(scope: &mut Scope, name: &str, recv: &str, co: ChildOut) {
    match (co.param_ty, co.call) {
        (Some(pty), _) => {
            // An optional param is used under the same condition that created it.
            let access = if co.optional {
                format!("{recv}.as_ref().expect(\"`{name}` is used where its `if` is false\").val()")
            } else {
                format!("{recv}.val()")
            };
            scope.bind_value(name, access, pty);
        }
        (None, Some(call)) => scope.bind(
            name,
            Binding::Module {
                recv: recv.to_string(),
                call,
                sig: co.sig,
                optional: co.optional,
                elem: co.elem,
            },
        ),
        (None, None) => {
            for (m, mo) in co.members {
                bind_child(scope, &format!("{name}.{m}"), &format!("{recv}.{}", ident(&m)), mo);
            }
        }
    }
}

/// A head's prediction (`-> pred`): a tensor, a list of tensors, or a record of those (nested
/// as deep as the head's output is), as `crate::rt::Pred`.
fn pred_tree(e: &crate::expr::Expr, scope: &mut Scope) -> Result<String, (usize, usize, String)> {
    if let crate::expr::ExprKind::Record(fields) = &e.kind {
        let mut parts = Vec::new();
        for (name, v) in fields {
            parts.push(format!("({name:?}.to_string(), {})", pred_tree(v, scope)?));
        }
        return Ok(format!("crate::rt::Pred::Map(vec![{}])", parts.join(", ")));
    }
    let (code, ty) = lower(e, scope).map_err(|l| (l.start, l.end, l.message))?;
    match ty {
        Ty::Tensor(1..=5) => Ok(format!("crate::rt::Pred::from({code})")),
        Ty::TensorList(1..=5) => Ok(format!(
            "crate::rt::Pred::List(({code}).into_iter().map(crate::rt::Pred::from).collect())"
        )),
        t => Err((
            e.start,
            e.end,
            format!("a prediction is a tensor, a list of tensors or a record of those, found {t}"),
        )),
    }
}

/// A `format!` call for a check's `at`/`message` in which `{expr}` is the value of an int or
/// string expression (e.g. a loop variable); other text is literal.
pub(crate) fn template(text: &str, scope: &mut Scope) -> String {
    let mut fmt = String::new();
    let mut args = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        let (before, after) = rest.split_at(open);
        fmt.push_str(&before.replace('}', "}}"));
        let lowered = after[1..].find('}').and_then(|close| {
            let inner = &after[1..1 + close];
            let e = crate::expr::parse(inner).ok()?;
            match lower(&e, scope) {
                Ok((code, Ty::Int | Ty::Str)) => Some((code, inner.len())),
                // Lists of numbers read as Python prints them: [256, 512, 1024].
                Ok((code, Ty::List(t))) if matches!(*t, Ty::Int | Ty::Float) => {
                    Some((format!("format!(\"{{:?}}\", {code})"), inner.len()))
                }
                _ => None,
            }
        });
        match lowered {
            Some((code, len)) => {
                args.push(code);
                fmt.push_str("{}");
                rest = &after[len + 2..];
            }
            None => {
                fmt.push_str("{{");
                rest = &after[1..];
            }
        }
    }
    fmt.push_str(&rest.replace('}', "}}"));
    format!(
        "format!({fmt:?}{})",
        args.iter().map(|a| format!(", {a}")).collect::<String>()
    )
}

/// `": summary"` for doc comments, or nothing.
fn summary_suffix(spec: &Spec) -> String {
    if spec.summary.is_empty() {
        String::new()
    } else {
        format!(": {}", spec.summary)
    }
}

fn fwd_header(sig: Sig) -> String {
    match sig {
        Sig::Poly => {
            "#[allow(clippy::all)]\npub fn forward<const D: usize>(&self, input: Tensor<D>) -> Tensor<D> {".into()
        }
        Sig::Fixed(a, b) => {
            format!("#[allow(clippy::all)]\npub fn forward(&self, input: Tensor<{a}>) -> Tensor<{b}> {{")
        }
        Sig::ListIn(a, b) => {
            format!("#[allow(clippy::all)]\npub fn forward(&self, input: Vec<Tensor<{a}>>) -> Tensor<{b}> {{")
        }
        Sig::ListOut(a, b) => {
            format!("#[allow(clippy::all)]\npub fn forward(&self, input: Tensor<{a}>) -> Vec<Tensor<{b}>> {{")
        }
        Sig::ListPred(a) => {
            format!("#[allow(clippy::all)]\npub fn forward(&self, input: Vec<Tensor<{a}>>) -> crate::rt::Pred {{")
        }
        Sig::ListMap(a, b) => {
            format!("#[allow(clippy::all)]\npub fn forward(&self, input: Vec<Tensor<{a}>>) -> Vec<Tensor<{b}>> {{")
        }
        Sig::Lookup(a, b) => {
            format!(
                "#[allow(clippy::all)]\npub fn forward(&self, input: Tensor<{a}, burn::tensor::Int>) -> Tensor<{b}> {{"
            )
        }
        Sig::Multi(n, a, b) => {
            let ins: Vec<String> = (0..n).map(|k| format!("input{k}: Tensor<{a}>")).collect();
            format!(
                "#[allow(clippy::all)]\npub fn forward(&self, {}) -> Tensor<{b}> {{",
                ins.join(", ")
            )
        }
    }
}

/// Generated type names by level, kept apart from each other and from the `Params`/`Settings`/
/// `StageParams`/`Block` types (spec names are snake_case, so their camel forms have no `_`):
/// a child's type is `Prefix_child`, a local block's `Prefix__Block`.
pub fn child_type(prefix: &str, name: &str) -> String {
    // The name as written: camel case would merge `layer3` and `layer3_`.
    format!("{prefix}_{name}")
}

pub fn local_block(prefix: &str, name: &str) -> String {
    format!("{prefix}__{}", camel(name))
}

pub fn snake(camel: &str) -> String {
    let mut s = String::new();
    for (i, c) in camel.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                s.push('_');
            }
            s.push(c.to_ascii_lowercase());
        } else {
            s.push(c);
        }
    }
    s
}

fn param_field(s: &mut String, p: &ParamDecl) {
    if !p.doc.is_empty() {
        writeln!(s, "    /// {}", p.doc.replace('\n', " ")).unwrap();
    }
    writeln!(s, "    pub {}: {},", ident(&p.name), p.ty.rust()).unwrap();
}

/// Values a component receives from the model it is part of, by kind.
pub fn context_bindings(kind: Kind) -> Vec<(&'static str, Ty)> {
    match kind {
        Kind::Backbone => vec![("task", Ty::Str)],
        Kind::Head => vec![
            ("task", Ty::Str),
            ("num_classes", Ty::Int),
            ("feature_dim", Ty::Int),
            ("intermediate_features_dim", Ty::list(Ty::Int)),
            ("strides", Ty::list(Ty::Int)),
        ],
        Kind::Neck => vec![
            ("intermediate_features_dim", Ty::list(Ty::Int)),
            ("strides", Ty::list(Ty::Int)),
        ],
        Kind::Full => vec![("task", Ty::Str), ("num_classes", Ty::Int)],
        Kind::Block => vec![],
    }
}

/// Which forward program of a spec is lowered.
#[derive(Clone, Copy)]
enum Program<'a> {
    Forward,
    Tokens(&'a (Vec<(Stmt, SrcExpr)>, crate::yaml::Span)),
    Train(&'a (Vec<(Stmt, SrcExpr)>, crate::yaml::Span)),
}
