//! Lowers specs to Rust: typed parameter structs, settings (params + derived values), burn
//! `Module` structs/enums for every child container, `init` and `forward`.
//!
//! Naming: a component `resnet` becomes `Resnet`, `ResnetParams`, `ResnetSettings`; an
//! anonymous child container `stages` of it becomes `ResnetStages…`. Field names are the
//! spec's child names, so burn's module paths are the state-dict keys
//! (`stages.0.0.conv1.block.conv.weight`).

use crate::diag::SpecError;
use crate::expr::Stmt;
use crate::lower::{Binding, Records, Scope, bind_loop_vars, coerce, lower, lower_expect, render_call};
use crate::primitives::{PARAM_OP, Prim, primitives};
use crate::spec::{Child, ChildForm, Kind, ListItem, ParamDecl, Spec, SrcExpr};
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

const KEYWORDS: &[&str] = &[
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
    ty: String,
    /// Call template for one instance (`{m}`, `{x}`); `None` for params.
    call: Option<String>,
    sig: Sig,
    /// For list children: call template and signature of one element.
    elem: Option<(String, Sig)>,
    /// For `param` children: the tensor rank.
    param_rank: Option<usize>,
    optional: bool,
}

pub struct Gen<'a> {
    pub out: String,
    pub errors: Vec<SpecError>,
    pub records: Records,
    pub shared_blocks: &'a HashMap<String, BlockInfo>,
    prims: Vec<Prim>,
}

impl<'a> Gen<'a> {
    pub fn new(shared_blocks: &'a HashMap<String, BlockInfo>) -> Self {
        Gen {
            out: String::new(),
            errors: Vec::new(),
            records: Records::new(),
            shared_blocks,
            prims: primitives(),
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
                rust: format!("{prefix}{}", camel(&b.name)),
                params: b.params.clone(),
                sig: b.signature,
            };
            blocks.insert(b.name.clone(), info);
        }
        for b in &spec.blocks {
            let name = format!("{prefix}{}", camel(&b.name));
            self.component(b, &name, &blocks);
        }

        // Record type of stage_params items.
        let record = spec.stage_params.as_ref().map(|sp| {
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
        if let Some(r) = &record {
            writeln!(s, "    #[serde(default)]\n    pub stage_params: Vec<{r}>,").unwrap();
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
        if let Some(r) = &record {
            let v = local("stage_params");
            writeln!(body, "let {v}: Vec<{r}> = params.stage_params.clone();").unwrap();
            scope.bind_value("stage_params", v, Ty::list(Ty::Record(r.clone())));
            fields.push(("stage_params".into(), Ty::list(Ty::Record(r.clone()))));
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
            match lower(&c.cond.expr, &mut scope) {
                Ok((code, Ty::Bool)) => {
                    writeln!(
                        body,
                        "if !({code}) {{ return Err(crate::rt::BuildError::at({:?}, {:?})); }}",
                        c.at, c.message
                    )
                    .unwrap();
                }
                Ok((_, t)) => {
                    let e = &c.cond;
                    self.err_expr(spec, e, 0, e.text.len(), format!("a check must be a bool, found {t}"))
                }
                Err(le) => self.err_expr(spec, &c.cond, le.start, le.end, le.message),
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
        if !spec.outputs.is_empty() {
            let mut oscope = Scope::new(&records, false);
            for f in &failed {
                oscope.bind(f, Binding::Poisoned);
            }
            for (n, t) in &fields {
                oscope.bind_value(n, format!("settings.{}", ident(n)), t.clone());
            }
            let mut o = String::new();
            writeln!(o, "impl {prefix}Settings {{\n#[allow(unused_parens, clippy::all)]\npub fn outputs(&self) -> Result<crate::rt::Outputs, crate::rt::BuildError> {{ let settings = self; let mut out = crate::rt::Outputs::default();").unwrap();
            for (name, span, e) in &spec.outputs {
                let want = match name.as_str() {
                    "feature_dim" => Ty::Int,
                    "intermediate_features_dim" | "strides" => Ty::list(Ty::Int),
                    _ => {
                        self.errors.push(spec.src.error(
                            *span,
                            format!(
                                "unknown output `{name}`; expected feature_dim, intermediate_features_dim or strides"
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
        let mut struct_fields = Vec::new();
        let mut fscope = Scope::new(&records, true);
        for f in &failed {
            fscope.bind(f, Binding::Poisoned);
        }
        for (n, t) in &fields {
            fscope.bind_value(n, format!("self.settings.{}", ident(n)), t.clone());
        }
        for (name, child) in &spec.children {
            let tyname = format!("{prefix}{}", camel(name));
            let Some(co) = self.child(spec, &tyname, child, &mut iscope, &blocks) else {
                fscope.bind(name, Binding::Poisoned);
                continue;
            };
            writeln!(ibody, "let {} = {};", local(name), co.init).unwrap();
            struct_fields.push((name.clone(), co.ty.clone()));
            match (co.param_rank, co.call) {
                (Some(rank), _) => {
                    // An optional param is used under the same condition that created it.
                    let access = if co.optional {
                        format!(
                            "self.{}.as_ref().expect(\"`{name}` is used where its `if` is false\").val()",
                            ident(name)
                        )
                    } else {
                        format!("self.{}.val()", ident(name))
                    };
                    fscope.bind_value(name, access, Ty::Tensor(rank));
                }
                (None, Some(call)) => fscope.bind(
                    name,
                    Binding::Module {
                        recv: format!("self.{}", ident(name)),
                        call,
                        sig: co.sig,
                        optional: co.optional,
                        elem: co.elem,
                    },
                ),
                (None, None) => {}
            }
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
        writeln!(m, "let settings = {prefix}Settings::resolve(params, ctx)?;").unwrap();
        m.push_str(&ibody);
        let finits: Vec<String> = struct_fields
            .iter()
            .map(|(n, _)| format!("{}: {}", ident(n), local(n)))
            .collect();
        writeln!(
            m,
            "Ok(Self {{ {} settings }})\n    }}",
            finits.iter().map(|f| format!("{f}, ")).collect::<String>()
        )
        .unwrap();

        // Forward program.
        let fwd = self.forward(spec, &mut fscope);
        m.push_str(&fwd);
        writeln!(m, "}}").unwrap();
        self.out.push_str(&m);
    }

    fn forward(&mut self, spec: &Spec, scope: &mut Scope) -> String {
        let (in_ty, ret) = match spec.kind {
            Kind::Backbone | Kind::Full => ("Tensor<4>".to_string(), "crate::rt::BackboneOutput".to_string()),
            Kind::Neck => ("Vec<Tensor<4>>".to_string(), "Vec<Tensor<4>>".to_string()),
            Kind::Head | Kind::Block => match spec.signature {
                Sig::Fixed(a, b) => (format!("Tensor<{a}>"), format!("Tensor<{b}>")),
                Sig::Poly => {
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
            Kind::Backbone | Kind::Full => Ty::Tensor(4),
            _ => match spec.signature {
                Sig::Fixed(a, _) => Ty::Tensor(a),
                Sig::Poly => Ty::Tensor(4),
            },
        };
        scope.push();
        scope.bind_value("input", "input", in_t);
        let mut body = String::new();
        let mut returned = false;
        for (stmt, se) in &spec.forward {
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
                    match lower(value, scope) {
                        Ok((code, ty)) => {
                            let v = scope.fresh(&format!("{name}_"));
                            writeln!(body, "let {v} = {code};").unwrap();
                            scope.bind_value(name, v, ty);
                        }
                        Err(le) => {
                            self.err_expr(spec, se, le.start, le.end, le.message);
                            scope.bind(name, Binding::Poisoned);
                        }
                    }
                }
                Stmt::Return(e) => {
                    returned = true;
                    match self.ret(spec, e, scope) {
                        Ok(code) => writeln!(body, "{code}").unwrap(),
                        Err((start, end, msg)) => self.err_expr(spec, se, start, end, msg),
                    }
                }
            }
        }
        scope.pop();
        if !returned {
            self.errors
                .push(spec.src.error(spec.forward_span, "the forward program never returns"));
        }
        format!(
            "    #[allow(unused_variables, unused_parens, clippy::all)]\n    pub fn forward(&self, input: {in_ty}) -> {ret} {{\n{body}\n    }}\n"
        )
    }

    fn ret(&mut self, spec: &Spec, e: &crate::expr::Expr, scope: &mut Scope) -> Result<String, (usize, usize, String)> {
        let le = |l: crate::lower::LowerError| (l.start, l.end, l.message);
        match spec.kind {
            Kind::Backbone | Kind::Full => {
                let crate::expr::ExprKind::Record(fields) = &e.kind else {
                    return Err((
                        e.start,
                        e.end,
                        "a backbone returns `{last_feature: ..., intermediate_features: ...}`".into(),
                    ));
                };
                let mut last = "None".to_string();
                let mut inter = "Vec::new()".to_string();
                for (name, v) in fields {
                    let (code, ty) = lower(v, scope).map_err(le)?;
                    match (name.as_str(), &ty) {
                        ("last_feature", Ty::Tensor(2)) => last = format!("Some({code})"),
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
                                    "unknown output `{name}`; a backbone returns last_feature and intermediate_features"
                                ),
                            ));
                        }
                    }
                }
                Ok(format!(
                    "crate::rt::BackboneOutput {{ last_feature: {last}, intermediate_features: {inter} }}"
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
            Kind::Head | Kind::Block => {
                let (code, ty) = lower(e, scope).map_err(le)?;
                let want = match spec.signature {
                    Sig::Fixed(_, b) => b,
                    Sig::Poly => 4,
                };
                if ty != Ty::Tensor(want) {
                    return Err((
                        e.start,
                        e.end,
                        format!("the signature says this returns tensor{want}, found {ty}"),
                    ));
                }
                Ok(code)
            }
        }
    }

    /// Generates a child (and any container types it needs); returns how the parent uses it.
    fn child(
        &mut self,
        spec: &Spec,
        tyname: &str,
        ch: &Child,
        scope: &mut Scope,
        blocks: &HashMap<String, BlockInfo>,
    ) -> Option<ChildOut> {
        let mut out = self.child_form(spec, tyname, ch, scope, blocks)?;
        if let Some(c) = &ch.cond {
            match lower(&c.expr, scope) {
                Ok((code, Ty::Bool)) => {
                    out.init = format!("if {code} {{ Some({}) }} else {{ None }}", out.init);
                    out.ty = format!("Option<{}>", out.ty);
                    out.optional = true;
                }
                Ok((_, t)) => {
                    self.err_expr(spec, c, 0, c.text.len(), format!("`if` must be a bool, found {t}"));
                    return None;
                }
                Err(le) => {
                    self.err_expr(spec, c, le.start, le.end, le.message);
                    return None;
                }
            }
        }
        Some(out)
    }

    fn child_form(
        &mut self,
        spec: &Spec,
        tyname: &str,
        ch: &Child,
        scope: &mut Scope,
        blocks: &HashMap<String, BlockInfo>,
    ) -> Option<ChildOut> {
        match &ch.form {
            ChildForm::Op { op, op_span, args } => {
                if op == PARAM_OP {
                    return self.param_child(spec, args, *op_span, scope);
                }
                let Some(prim) = self.prims.iter().position(|p| p.name == op) else {
                    let mut names: Vec<&str> = self.prims.iter().map(|p| p.name).collect();
                    names.push(PARAM_OP);
                    let hint = crate::diag::did_you_mean(op, names.iter().copied());
                    self.errors
                        .push(spec.src.error(*op_span, format!("unknown op `{op}`{hint}")));
                    return None;
                };
                let (rust_type, ctor, sig) = (self.prims[prim].rust_type, self.prims[prim].ctor, self.prims[prim].sig);
                let q = if self.prims[prim].fallible { "?" } else { "" };
                let decls: Vec<(String, Ty, Option<String>)> = self.prims[prim]
                    .args
                    .iter()
                    .map(|a| (a.name.to_string(), a.ty.clone(), a.default.map(String::from)))
                    .collect();
                let codes = self.call_args(spec, op, *op_span, &decls, args, scope)?;
                Some(ChildOut {
                    init: format!(
                        "{ctor}({}device){q}",
                        codes.iter().map(|c| format!("{c}, ")).collect::<String>()
                    ),
                    ty: rust_type.to_string(),
                    call: Some("{m}.forward({x})".into()),
                    sig,
                    elem: None,
                    param_rank: None,
                    optional: false,
                })
            }
            ChildForm::Block {
                block,
                block_span,
                args,
            } => {
                let Some(info) = blocks.get(block).or_else(|| self.shared_blocks.get(block)).cloned() else {
                    let names: Vec<&str> = blocks
                        .keys()
                        .chain(self.shared_blocks.keys())
                        .map(String::as_str)
                        .collect();
                    let hint = crate::diag::did_you_mean(block, names.iter().copied());
                    self.errors
                        .push(spec.src.error(*block_span, format!("unknown block `{block}`{hint}")));
                    return None;
                };
                let decls: Vec<(String, Ty, Option<String>)> = info
                    .params
                    .iter()
                    .map(|p| {
                        (
                            p.name.clone(),
                            p.ty.clone(),
                            p.default.as_ref().map(|d| literal(d, &p.ty)),
                        )
                    })
                    .collect();
                let codes = self.call_args(spec, block, *block_span, &decls, args, scope)?;
                let fields: Vec<String> = decls
                    .iter()
                    .zip(&codes)
                    .map(|((n, _, _), c)| format!("{}: {c}", ident(n)))
                    .collect();
                Some(ChildOut {
                    init: format!(
                        "{}::init(&{}Params {{ {} }}, &crate::rt::Context::default(), device)?",
                        info.rust,
                        info.rust,
                        fields.join(", ")
                    ),
                    ty: info.rust.clone(),
                    call: Some("{m}.forward({x})".into()),
                    sig: info.sig,
                    elem: None,
                    param_rank: None,
                    optional: false,
                })
            }
            ChildForm::Seq(items) => {
                let mut fields = Vec::new();
                let mut init_fields = Vec::new();
                let mut sig = Sig::Poly;
                let mut fwd = String::new();
                for (name, c) in items {
                    let co = self.child(spec, &format!("{tyname}{}", camel(name)), c, scope, blocks)?;
                    let Some(call) = &co.call else {
                        self.errors
                            .push(spec.src.error(c.span, "a `param` cannot be part of a `seq`"));
                        return None;
                    };
                    sig = self.compose(spec, c, sig, co.sig, co.optional)?;
                    let applied = render_call(call, "__m", "x");
                    if co.optional {
                        writeln!(
                            fwd,
                            "let x = match &self.{} {{ Some(__m) => {applied}, None => x }};",
                            ident(name)
                        )
                        .unwrap();
                    } else {
                        writeln!(
                            fwd,
                            "let x = {};",
                            render_call(call, &format!("self.{}", ident(name)), "x")
                        )
                        .unwrap();
                    }
                    fields.push(format!("    pub {}: {},", ident(name), co.ty));
                    init_fields.push(format!("{}: {}", ident(name), co.init));
                }
                let mut s = String::new();
                writeln!(
                    s,
                    "#[derive(burn::module::Module, Debug)]\npub struct {tyname} {{\n{}\n}}",
                    fields.join("\n")
                )
                .unwrap();
                writeln!(
                    s,
                    "impl {tyname} {{\n{}\nlet x = input;\n{fwd}x\n}}\n}}",
                    fwd_header(sig)
                )
                .unwrap();
                self.out.push_str(&s);
                Some(ChildOut {
                    init: format!("{tyname} {{ {} }}", init_fields.join(", ")),
                    ty: tyname.to_string(),
                    call: Some("{m}.forward({x})".into()),
                    sig,
                    elem: None,
                    param_rank: None,
                    optional: false,
                })
            }
            ChildForm::For { vars, iter, each } => {
                let (ri, ti) = match lower(&iter.expr, scope) {
                    Ok(x) => x,
                    Err(le) => {
                        self.err_expr(spec, iter, le.start, le.end, le.message);
                        return None;
                    }
                };
                let Ty::List(item) = ti else {
                    self.err_expr(
                        spec,
                        iter,
                        0,
                        iter.text.len(),
                        format!("`for` iterates over a list, found {ti}"),
                    );
                    return None;
                };
                scope.push();
                let it = scope.fresh("it");
                let bind = match bind_loop_vars(&iter.expr, vars, &item, &it, scope) {
                    Ok(b) => b,
                    Err(le) => {
                        scope.pop();
                        self.err_expr(spec, iter, le.start, le.end, le.message);
                        return None;
                    }
                };
                let co = self.child(spec, &format!("{tyname}Item"), each, scope, blocks);
                scope.pop();
                let co = co?;
                let Some(call) = co.call.clone() else {
                    self.errors
                        .push(spec.src.error(each.span, "a `for` cannot repeat a `param`"));
                    return None;
                };
                self.list_out(
                    spec,
                    ch,
                    tyname,
                    &co.ty,
                    &call,
                    co.sig,
                    co.optional,
                    format!(
                        "{{ let mut __out = Vec::new(); for {it} in {ri} {{ {bind} __out.push({}); }} __out }}",
                        co.init
                    ),
                )
            }
            ChildForm::List(items) => {
                let enum_name = format!("{tyname}Item");
                let mut variants: Vec<(String, String, String)> = Vec::new(); // (variant, type, call)
                let mut sig: Option<Sig> = None;
                let mut init = String::from("{ let mut __out = Vec::new(); ");
                for item in items {
                    match item {
                        ListItem::One(c) => {
                            let k = variants.len();
                            let co = self.child(
                                spec,
                                &format!("{tyname}{k}"),
                                &Child {
                                    cond: None,
                                    ..c.clone()
                                },
                                scope,
                                blocks,
                            )?;
                            let call = co.call.clone()?;
                            sig = Some(self.join(spec, c, sig, co.sig)?);
                            let v = format!("V{k}");
                            let push = format!("__out.push({enum_name}::{v}({}));", co.init);
                            match &c.cond {
                                Some(cond) => match lower(&cond.expr, scope) {
                                    Ok((code, Ty::Bool)) => write!(init, "if {code} {{ {push} }} ").unwrap(),
                                    Ok((_, t)) => {
                                        self.err_expr(
                                            spec,
                                            cond,
                                            0,
                                            cond.text.len(),
                                            format!("`if` must be a bool, found {t}"),
                                        );
                                        return None;
                                    }
                                    Err(le) => {
                                        self.err_expr(spec, cond, le.start, le.end, le.message);
                                        return None;
                                    }
                                },
                                None => write!(init, "{push} ").unwrap(),
                            }
                            variants.push((v, co.ty, call));
                        }
                        ListItem::Splice { vars, iter, each, span } => {
                            let (ri, ti) = match lower(&iter.expr, scope) {
                                Ok(x) => x,
                                Err(le) => {
                                    self.err_expr(spec, iter, le.start, le.end, le.message);
                                    return None;
                                }
                            };
                            let Ty::List(itemty) = ti else {
                                self.errors
                                    .push(spec.src.error(*span, format!("`for` iterates over a list, found {ti}")));
                                return None;
                            };
                            scope.push();
                            let it = scope.fresh("it");
                            let bind = bind_loop_vars(&iter.expr, vars, &itemty, &it, scope).ok();
                            let mut pushes = String::new();
                            let mut ok = bind.is_some();
                            for c in each {
                                let k = variants.len();
                                let Some(co) = self.child(
                                    spec,
                                    &format!("{tyname}{k}"),
                                    &Child {
                                        cond: None,
                                        ..c.clone()
                                    },
                                    scope,
                                    blocks,
                                ) else {
                                    ok = false;
                                    continue;
                                };
                                let Some(call) = co.call.clone() else {
                                    ok = false;
                                    continue;
                                };
                                match self.join(spec, c, sig, co.sig) {
                                    Some(s) => sig = Some(s),
                                    None => ok = false,
                                }
                                let v = format!("V{k}");
                                let push = format!("__out.push({enum_name}::{v}({}));", co.init);
                                match &c.cond {
                                    Some(cond) => match lower(&cond.expr, scope) {
                                        Ok((code, Ty::Bool)) => write!(pushes, "if {code} {{ {push} }} ").unwrap(),
                                        _ => {
                                            self.err_expr(spec, cond, 0, cond.text.len(), "`if` must be a bool".into());
                                            ok = false;
                                        }
                                    },
                                    None => write!(pushes, "{push} ").unwrap(),
                                }
                                variants.push((v, co.ty, call));
                            }
                            scope.pop();
                            if !ok {
                                return None;
                            }
                            write!(init, "for {it} in {ri} {{ {} {pushes} }} ", bind.unwrap()).unwrap();
                        }
                    }
                }
                init.push_str("__out }");
                let sig = sig.unwrap_or(Sig::Poly);
                // The element enum: one variant per item template.
                let mut s = String::new();
                writeln!(s, "#[derive(burn::module::Module, Debug)]\npub enum {enum_name} {{").unwrap();
                for (v, t, _) in &variants {
                    writeln!(s, "    {v}({t}),").unwrap();
                }
                writeln!(s, "}}\nimpl {enum_name} {{\n{}\nmatch self {{", fwd_header(sig)).unwrap();
                for (v, _, call) in &variants {
                    writeln!(s, "{enum_name}::{v}(__m) => {},", render_call(call, "__m", "input")).unwrap();
                }
                writeln!(s, "}}\n}}\n}}").unwrap();
                self.out.push_str(&s);
                self.list_out(spec, ch, tyname, &enum_name, "{m}.forward({x})", sig, false, init)
            }
            ChildForm::Switch { on, cases } => {
                let (code, t) = match lower(&on.expr, scope) {
                    Ok(x) => x,
                    Err(le) => {
                        self.err_expr(spec, on, le.start, le.end, le.message);
                        return None;
                    }
                };
                if t != Ty::Str {
                    self.err_expr(
                        spec,
                        on,
                        0,
                        on.text.len(),
                        format!("`switch` needs a string, found {t}"),
                    );
                    return None;
                }
                let mut sig: Option<Sig> = None;
                let mut arms = String::new();
                let mut variants = Vec::new();
                for (value, c) in cases {
                    let v = camel(value);
                    let co = self.child(spec, &format!("{tyname}{v}"), c, scope, blocks)?;
                    let call = co.call.clone()?;
                    sig = Some(self.join(spec, c, sig, co.sig)?);
                    writeln!(arms, "{value:?} => {tyname}::{v}({}),", co.init).unwrap();
                    variants.push((v, co.ty, call));
                }
                let sig = sig.unwrap_or(Sig::Poly);
                let names: Vec<String> = cases.iter().map(|(v, _)| format!("`{v}`")).collect();
                let mut s = String::new();
                writeln!(s, "#[derive(burn::module::Module, Debug)]\npub enum {tyname} {{").unwrap();
                for (v, t, _) in &variants {
                    writeln!(s, "    {v}({t}),").unwrap();
                }
                writeln!(s, "}}\nimpl {tyname} {{\n{}\nmatch self {{", fwd_header(sig)).unwrap();
                for (v, _, call) in &variants {
                    writeln!(s, "{tyname}::{v}(__m) => {},", render_call(call, "__m", "input")).unwrap();
                }
                writeln!(s, "}}\n}}\n}}").unwrap();
                self.out.push_str(&s);
                let expected = names.join(", ");
                Some(ChildOut {
                    init: format!(
                        "match ({code}).as_str() {{ {arms} __other => return Err(crate::rt::BuildError::new(format!(\"`{{}}` is not one of {}\", __other))) }}",
                        expected.replace('"', "\\\"")
                    ),
                    ty: tyname.to_string(),
                    call: Some("{m}.forward({x})".into()),
                    sig,
                    elem: None,
                    param_rank: None,
                    optional: false,
                })
            }
        }
    }

    /// A `Vec` child: a free function applies its elements in order.
    #[allow(clippy::too_many_arguments)]
    fn list_out(
        &mut self,
        spec: &Spec,
        ch: &Child,
        tyname: &str,
        elem_ty: &str,
        elem_call: &str,
        elem_sig: Sig,
        elem_optional: bool,
        init: String,
    ) -> Option<ChildOut> {
        let sig = match elem_sig {
            Sig::Poly => Sig::Poly,
            Sig::Fixed(a, b) if a == b => Sig::Fixed(a, a),
            Sig::Fixed(..) => {
                // Elements that change rank can still be scanned, not chained.
                elem_sig
            }
        };
        let fname = format!("{}_forward", snake(tyname));
        let elem_ty_full = if elem_optional {
            format!("Option<{elem_ty}>")
        } else {
            elem_ty.to_string()
        };
        let step = render_call(elem_call, "__m", "x");
        let apply = if elem_optional {
            format!("x = match __e {{ Some(__m) => crate::trace::call_at(__k, || {step}), None => x }};")
        } else {
            format!("x = {{ let __m = __e; crate::trace::call_at(__k, || {step}) }};")
        };
        let header = match sig {
            Sig::Poly => format!("fn {fname}<const D: usize>(m: &[{elem_ty_full}], input: Tensor<D>) -> Tensor<D>"),
            Sig::Fixed(a, b) => format!("fn {fname}(m: &[{elem_ty_full}], input: Tensor<{a}>) -> Tensor<{b}>"),
        };
        let body = if matches!(sig, Sig::Fixed(a, b) if a != b) {
            "unreachable!(\"rank-changing elements are only scanned\")".to_string()
        } else {
            format!("let mut x = input; for (__k, __e) in m.iter().enumerate() {{ {apply} }} x")
        };
        writeln!(self.out, "#[allow(dead_code, clippy::all)]\npub {header} {{ {body} }}").unwrap();
        let _ = (spec, ch);
        Some(ChildOut {
            init,
            ty: format!("Vec<{elem_ty_full}>"),
            call: Some(format!("{fname}(&{{m}}, {{x}})")),
            sig,
            elem: if elem_optional {
                None
            } else {
                Some((elem_call.to_string(), elem_sig))
            },
            param_rank: None,
            optional: false,
        })
    }

    fn param_child(
        &mut self,
        spec: &Spec,
        args: &[(String, crate::yaml::Span, SrcExpr)],
        op_span: crate::yaml::Span,
        scope: &mut Scope,
    ) -> Option<ChildOut> {
        let decls = vec![
            ("shape".to_string(), Ty::list(Ty::Int), None),
            ("init".to_string(), Ty::Str, Some("String::from(\"zeros\")".to_string())),
            ("std".to_string(), Ty::Float, Some("0.02f64".to_string())),
        ];
        let shape = args.iter().find(|(n, _, _)| n == "shape");
        let rank = match shape.map(|(_, _, e)| &e.expr.kind) {
            Some(crate::expr::ExprKind::List(items)) => items.len(),
            _ => {
                self.errors.push(spec.src.error(
                    op_span,
                    "`param` needs `shape` written as a list, e.g. `[1, 1, channels]`",
                ));
                return None;
            }
        };
        let codes = self.call_args(spec, PARAM_OP, op_span, &decls, args, scope)?;
        Some(ChildOut {
            init: format!(
                "crate::primitives::param::<{rank}>({}, {}, {}, device)?",
                codes[0], codes[1], codes[2]
            ),
            ty: format!("burn::module::Param<Tensor<{rank}>>"),
            call: None,
            sig: Sig::Poly,
            elem: None,
            param_rank: Some(rank),
            optional: false,
        })
    }

    /// Matches named arguments against declarations; returns Rust code per declaration.
    fn call_args(
        &mut self,
        spec: &Spec,
        what: &str,
        at: crate::yaml::Span,
        decls: &[(String, Ty, Option<String>)],
        args: &[(String, crate::yaml::Span, SrcExpr)],
        scope: &mut Scope,
    ) -> Option<Vec<String>> {
        let mut ok = true;
        for (name, span, _) in args {
            if !decls.iter().any(|(d, _, _)| d == name) {
                let hint = crate::diag::did_you_mean(name, decls.iter().map(|(d, _, _)| d.as_str()));
                self.errors.push(
                    spec.src
                        .error(*span, format!("`{what}` has no argument `{name}`{hint}")),
                );
                ok = false;
            }
        }
        let mut codes = Vec::new();
        for (name, ty, default) in decls {
            match args.iter().find(|(n, _, _)| n == name) {
                Some((_, _, e)) => match lower(&e.expr, scope) {
                    Ok((code, t)) if t.fits(ty) => codes.push(coerce(&code, &t, ty)),
                    Ok((_, t)) => {
                        self.err_expr(
                            spec,
                            e,
                            0,
                            e.text.len(),
                            format!("argument `{name}` of `{what}` must be {ty}, found {t}"),
                        );
                        ok = false;
                    }
                    Err(le) => {
                        self.err_expr(spec, e, le.start, le.end, le.message);
                        ok = false;
                    }
                },
                None => match default {
                    Some(d) => codes.push(d.clone()),
                    None => {
                        self.errors
                            .push(spec.src.error(at, format!("`{what}` needs its argument `{name}`")));
                        ok = false;
                    }
                },
            }
        }
        ok.then_some(codes)
    }

    fn compose(&mut self, spec: &Spec, c: &Child, acc: Sig, next: Sig, optional: bool) -> Option<Sig> {
        if optional && matches!(next, Sig::Fixed(a, b) if a != b) {
            self.errors.push(
                spec.src
                    .error(c.span, "an optional child in a sequence must keep the tensor rank"),
            );
            return None;
        }
        match acc.then(next) {
            Ok(s) => Some(s),
            Err(m) => {
                self.errors.push(spec.src.error(c.span, m));
                None
            }
        }
    }

    fn join(&mut self, spec: &Spec, c: &Child, acc: Option<Sig>, next: Sig) -> Option<Sig> {
        match acc {
            None => Some(next),
            Some(a) => match a.join(next) {
                Ok(s) => Some(s),
                Err(m) => {
                    self.errors.push(spec.src.error(c.span, m));
                    None
                }
            },
        }
    }
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
    }
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
        ],
        Kind::Neck => vec![("intermediate_features_dim", Ty::list(Ty::Int))],
        Kind::Full => vec![("task", Ty::Str), ("num_classes", Ty::Int)],
        Kind::Block => vec![],
    }
}
