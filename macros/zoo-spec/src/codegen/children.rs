//! Children: primitives, blocks and the containers (`seq`, `list`, `for`, `switch`, `group`) that
//! become generated burn module structs, enums and sequential-apply functions.

use super::{BlockInfo, ChildOut, Gen, camel, fwd_header, ident, literal, snake};
use crate::lower::{Scope, bind_loop_vars, coerce, lower, render_call};
use crate::primitives::{INDEX_BUFFER_OP, PARAM_OP};
use crate::spec::{Child, ChildForm, ListItem, Spec, SrcExpr};
use crate::types::{Sig, Ty};
use std::collections::HashMap;
use std::fmt::Write;

impl Gen<'_> {
    /// Generates a child (and any container types it needs); returns how the parent uses it.
    pub(super) fn child(
        &mut self,
        spec: &Spec,
        tyname: &str,
        ch: &Child,
        scope: &mut Scope,
        blocks: &HashMap<String, BlockInfo>,
    ) -> Option<ChildOut> {
        let mut out = self.child_form(spec, tyname, ch, scope, blocks)?;
        if let Some(c) = &ch.cond {
            let code = self.condition(spec, c, scope)?;
            out.init = format!("if {code} {{ Some({}) }} else {{ None }}", out.init);
            out.size = format!("if {code} {{ {} }} else {{ crate::rt::Size::ZERO }}", out.size);
            out.ty = format!("Option<{}>", out.ty);
            out.optional = true;
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
                if op == INDEX_BUFFER_OP {
                    return self.index_buffer_child(spec, args, *op_span, scope);
                }
                let Some(prim) = self.prims.iter().position(|p| p.name == op) else {
                    let mut names: Vec<&str> = self.prims.iter().map(|p| p.name).collect();
                    names.push(PARAM_OP);
                    names.push(INDEX_BUFFER_OP);
                    let hint = crate::diag::did_you_mean(op, names.iter().copied());
                    self.errors
                        .push(spec.src.error(*op_span, format!("unknown op `{op}`{hint}")));
                    return None;
                };
                let (rust_type, ctor, sig) = (self.prims[prim].rust_type, self.prims[prim].ctor, self.prims[prim].sig);
                let call = self.prims[prim].call();
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
                    size: format!("crate::rt::size::{op}({})", codes.join(", ")),
                    ty: rust_type.to_string(),
                    call: Some(call.into()),
                    sig,
                    elem: None,
                    param_ty: None,
                    optional: false,
                    members: Vec::new(),
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
                        "{}::init(&{}Params {{ {} }}, &crate::rt::Context::default(), device).map_err(crate::rt::BuildError::outside)?",
                        info.rust,
                        info.rust,
                        fields.join(", ")
                    ),
                    size: format!(
                        "{}::size(&{}Params {{ {} }}, &crate::rt::Context::default()).map_err(crate::rt::BuildError::outside)?",
                        info.rust,
                        info.rust,
                        fields.join(", ")
                    ),
                    ty: info.rust.clone(),
                    call: Some("{m}.forward({x})".into()),
                    sig: info.sig,
                    elem: None,
                    param_ty: None,
                    optional: false,
                    members: Vec::new(),
                })
            }
            ChildForm::Seq(items) => {
                let mut fields = Vec::new();
                let mut init_fields = Vec::new();
                let mut sig = Sig::Poly;
                let mut fwd = String::new();
                let mut fold_fields = Vec::new();
                let mut sizes = Vec::new();
                for (name, c) in items {
                    let co = self.child(spec, &super::child_type(tyname, name), c, scope, blocks)?;
                    sizes.push(scoped_size(name, &co.size));
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
                    fold_fields.push((ident(name), co.ty.starts_with("Vec<")));
                    init_fields.push(format!(
                        "{}: crate::rt::scoped({name:?}, || Ok({}))?",
                        ident(name),
                        co.init
                    ));
                }
                let mut s = String::new();
                s.push_str(&super::fold_impl(tyname, &fold_fields, true));
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
                    size: sum_sizes(&sizes),
                    ty: tyname.to_string(),
                    call: Some("{m}.forward({x})".into()),
                    sig,
                    elem: None,
                    param_ty: None,
                    optional: false,
                    members: Vec::new(),
                })
            }
            ChildForm::Group(items) => {
                let mut fields = Vec::new();
                let mut init_fields = Vec::new();
                let mut members = Vec::new();
                let mut fold_fields = Vec::new();
                let mut sizes = Vec::new();
                for (name, c) in items {
                    let co = self.child(spec, &super::child_type(tyname, name), c, scope, blocks)?;
                    sizes.push(scoped_size(name, &co.size));
                    fields.push(format!("    pub {}: {},", ident(name), co.ty));
                    fold_fields.push((ident(name), false));
                    init_fields.push(format!(
                        "{}: crate::rt::scoped({name:?}, || Ok({}))?",
                        ident(name),
                        co.init
                    ));
                    members.push((name.clone(), co));
                }
                writeln!(
                    self.out,
                    "#[derive(burn::module::Module, Debug)]\npub struct {tyname} {{\n{}\n}}",
                    fields.join("\n")
                )
                .unwrap();
                self.out.push_str(&super::fold_impl(tyname, &fold_fields, false));
                Some(ChildOut {
                    init: format!("{tyname} {{ {} }}", init_fields.join(", ")),
                    size: sum_sizes(&sizes),
                    ty: tyname.to_string(),
                    call: None,
                    sig: Sig::Poly,
                    elem: None,
                    param_ty: None,
                    optional: false,
                    members,
                })
            }
            ChildForm::For { vars, iter, each, at } => {
                let (ri, ti) = self.lower_reported(spec, iter, scope)?;
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
                let co = self.child(spec, &format!("{tyname}__Item"), each, scope, blocks);
                // Errors building an element point at the config item it comes from.
                let (at_let, locate) = match at {
                    Some(a) => (
                        format!("let __at = {};", super::template(a, scope)),
                        ".map_err(|__e| __e.located(&__at))".to_string(),
                    ),
                    None => (String::new(), String::new()),
                };
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
                        "{{ let mut __out = Vec::new(); for {it} in {ri} {{ {bind} {at_let} let __k = __out.len(); __out.push(crate::rt::scoped(__k, || Ok({})){locate}?); }} __out }}",
                        co.init
                    ),
                    format!(
                        "{{ let mut __s = crate::rt::Size::ZERO; let mut __n = 0usize; for {it} in {ri} {{ if crate::rt::size::over() {{ break; }} {bind} {at_let} let __k = __n; __n += 1; __s += crate::rt::scoped(__k, || Ok({})){locate}?; }} __s }}",
                        co.size
                    ),
                )
            }
            ChildForm::List(items) => {
                let enum_name = format!("{tyname}__Item");
                let mut variants: Vec<(String, String, String)> = Vec::new(); // (variant, type, call)
                let mut sig: Option<Sig> = None;
                let mut init = String::from("{ let mut __out = Vec::new(); ");
                let mut size = String::from("{ let mut __s = crate::rt::Size::ZERO; let mut __n = 0usize; ");
                for item in items {
                    match item {
                        ListItem::One(c) => {
                            let k = variants.len();
                            let co = self.child(
                                spec,
                                &format!("{tyname}__{k}"),
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
                            let push = format!(
                                "{{ let __k = __out.len(); __out.push(crate::rt::scoped(__k, || Ok({enum_name}::{v}({})))?); }}",
                                co.init
                            );
                            let guarded = self.guarded(spec, c.cond.as_ref(), &push, scope)?;
                            write!(init, "{guarded} ").unwrap();
                            let add = format!(
                                "{{ let __k = __n; __n += 1; __s += crate::rt::scoped(__k, || Ok({}))?; }}",
                                co.size
                            );
                            let guarded = self.guarded(spec, c.cond.as_ref(), &add, scope)?;
                            write!(size, "{guarded} ").unwrap();
                            variants.push((v, co.ty, call));
                        }
                        ListItem::Splice {
                            vars,
                            iter,
                            each,
                            span,
                            at,
                        } => {
                            let (ri, ti) = self.lower_reported(spec, iter, scope)?;
                            let Ty::List(itemty) = ti else {
                                self.errors
                                    .push(spec.src.error(*span, format!("`for` iterates over a list, found {ti}")));
                                return None;
                            };
                            scope.push();
                            let it = scope.fresh("it");
                            let bind = bind_loop_vars(&iter.expr, vars, &itemty, &it, scope).ok();
                            let (at_let, locate) = match at {
                                Some(a) if bind.is_some() => (
                                    format!("let __at = {};", super::template(a, scope)),
                                    ".map_err(|__e| __e.located(&__at))",
                                ),
                                _ => (String::new(), ""),
                            };
                            let mut pushes = String::new();
                            let mut adds = String::new();
                            let mut ok = bind.is_some();
                            for c in each {
                                let k = variants.len();
                                let Some(co) = self.child(
                                    spec,
                                    &format!("{tyname}__{k}"),
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
                                let push = format!(
                                    "{{ let __k = __out.len(); __out.push(crate::rt::scoped(__k, || Ok({enum_name}::{v}({}))){locate}?); }}",
                                    co.init
                                );
                                match self.guarded(spec, c.cond.as_ref(), &push, scope) {
                                    Some(g) => write!(pushes, "{g} ").unwrap(),
                                    None => ok = false,
                                }
                                let add = format!(
                                    "{{ let __k = __n; __n += 1; __s += crate::rt::scoped(__k, || Ok({})){locate}?; }}",
                                    co.size
                                );
                                match self.guarded(spec, c.cond.as_ref(), &add, scope) {
                                    Some(g) => write!(adds, "{g} ").unwrap(),
                                    None => ok = false,
                                }
                                variants.push((v, co.ty, call));
                            }
                            scope.pop();
                            if !ok {
                                return None;
                            }
                            let bind = bind.unwrap();
                            write!(init, "for {it} in {ri} {{ {bind} {at_let} {pushes} }} ").unwrap();
                            write!(
                                size,
                                "for {it} in {ri} {{ if crate::rt::size::over() {{ break; }} {bind} {at_let} {adds} }} "
                            )
                            .unwrap();
                        }
                    }
                }
                init.push_str("__out }");
                size.push_str("let _ = __n; __s }");
                let sig = sig.unwrap_or(Sig::Poly);
                // The element enum: one variant per item template.
                self.enum_module(&enum_name, &variants, sig);
                self.list_out(spec, ch, tyname, &enum_name, "{m}.forward({x})", sig, false, init, size)
            }
            ChildForm::Switch { on, cases } => {
                let (code, t) = self.lower_reported(spec, on, scope)?;
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
                let mut size_arms = String::new();
                let mut variants = Vec::new();
                for (value, c) in cases {
                    let v = camel(value);
                    let co = self.child(spec, &format!("{tyname}_{v}"), c, scope, blocks)?;
                    let call = co.call.clone()?;
                    sig = Some(self.join(spec, c, sig, co.sig)?);
                    writeln!(arms, "{value:?} => {tyname}::{v}({}),", co.init).unwrap();
                    writeln!(size_arms, "{value:?} => {},", co.size).unwrap();
                    variants.push((v, co.ty, call));
                }
                let sig = sig.unwrap_or(Sig::Poly);
                let names: Vec<String> = cases.iter().map(|(v, _)| format!("`{v}`")).collect();
                self.enum_module(tyname, &variants, sig);
                let expected = names.join(", ");
                let unknown = format!(
                    "__other => return Err(crate::rt::BuildError::new(format!(\"`{{}}` is not one of {}\", __other)))",
                    expected.replace('"', "\\\"")
                );
                Some(ChildOut {
                    init: format!("match ({code}).as_str() {{ {arms} {unknown} }}"),
                    size: format!("match ({code}).as_str() {{ {size_arms} {unknown} }}"),
                    ty: tyname.to_string(),
                    call: Some("{m}.forward({x})".into()),
                    sig,
                    elem: None,
                    param_ty: None,
                    optional: false,
                    members: Vec::new(),
                })
            }
        }
    }

    /// Lowers a spec expression; on error reports it (located) and yields `None`.
    pub(crate) fn lower_reported(&mut self, spec: &Spec, e: &SrcExpr, scope: &mut Scope) -> Option<(String, Ty)> {
        match lower(&e.expr, scope) {
            Ok(x) => Some(x),
            Err(le) => {
                self.err_expr(spec, e, le.start, le.end, le.message);
                None
            }
        }
    }

    /// Lowers a child's `if:`, which must be a bool; reports errors where they are.
    fn condition(&mut self, spec: &Spec, c: &SrcExpr, scope: &mut Scope) -> Option<String> {
        match self.lower_reported(spec, c, scope)? {
            (code, Ty::Bool) => Some(code),
            (_, t) => {
                self.err_expr(spec, c, 0, c.text.len(), format!("`if` must be a bool, found {t}"));
                None
            }
        }
    }

    /// `stmt`, under the child's `if:` when it has one.
    fn guarded(&mut self, spec: &Spec, cond: Option<&SrcExpr>, stmt: &str, scope: &mut Scope) -> Option<String> {
        match cond {
            Some(c) => Some(format!("if {} {{ {stmt} }}", self.condition(spec, c, scope)?)),
            None => Some(stmt.to_string()),
        }
    }

    /// An enum module over alternatives `(variant, type, call)` whose forward dispatches.
    fn enum_module(&mut self, name: &str, variants: &[(String, String, String)], sig: Sig) {
        let mut s = String::new();
        writeln!(s, "#[derive(burn::module::Module, Debug)]\npub enum {name} {{").unwrap();
        for (v, t, _) in variants {
            writeln!(s, "    {v}({t}),").unwrap();
        }
        writeln!(s, "}}\nimpl {name} {{\n{}\nmatch self {{", fwd_header(sig)).unwrap();
        let args = match sig {
            Sig::Multi(n, ..) => (0..n).map(|k| format!("input{k}")).collect::<Vec<_>>().join(", "),
            _ => "input".to_string(),
        };
        for (v, _, call) in variants {
            writeln!(s, "{name}::{v}(__m) => {},", render_call(call, "__m", &args)).unwrap();
        }
        writeln!(s, "}}\n}}\n}}").unwrap();
        let names: Vec<String> = variants.iter().map(|(v, _, _)| v.clone()).collect();
        s.push_str(&super::fold_enum_impl(name, &names));
        self.out.push_str(&s);
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
        size: String,
    ) -> Option<ChildOut> {
        let sig = match elem_sig {
            Sig::Poly => Sig::Poly,
            Sig::Fixed(a, b) if a == b => Sig::Fixed(a, a),
            Sig::Fixed(..)
            | Sig::ListIn(..)
            | Sig::ListOut(..)
            | Sig::Multi(..)
            | Sig::ListPred(..)
            | Sig::ListMap(..)
            | Sig::Lookup(..) => {
                // Elements that change rank can still be scanned or mapped, not chained.
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
            format!("x = match __e {{ Some(__m) => crate::rt::trace::call_at(__k, || {step}), None => x }};")
        } else {
            format!("x = {{ let __m = __e; crate::rt::trace::call_at(__k, || {step}) }};")
        };
        let header = match sig {
            Sig::Poly => format!("fn {fname}<const D: usize>(m: &[{elem_ty_full}], input: Tensor<D>) -> Tensor<D>"),
            Sig::Fixed(a, b) => format!("fn {fname}(m: &[{elem_ty_full}], input: Tensor<{a}>) -> Tensor<{b}>"),
            Sig::ListIn(a, b) => format!("fn {fname}(m: &[{elem_ty_full}], input: Vec<Tensor<{a}>>) -> Tensor<{b}>"),
            Sig::ListOut(a, b) => format!("fn {fname}(m: &[{elem_ty_full}], input: Tensor<{a}>) -> Vec<Tensor<{b}>>"),
            Sig::Multi(_, a, b) => format!("fn {fname}(m: &[{elem_ty_full}], input: Tensor<{a}>) -> Tensor<{b}>"),
            Sig::ListPred(a) => format!("fn {fname}(m: &[{elem_ty_full}], input: Vec<Tensor<{a}>>) -> crate::rt::Pred"),
            Sig::ListMap(a, b) => {
                format!("fn {fname}(m: &[{elem_ty_full}], input: Vec<Tensor<{a}>>) -> Vec<Tensor<{b}>>")
            }
            Sig::Lookup(a, b) => {
                format!("fn {fname}(m: &[{elem_ty_full}], input: Tensor<{a}, burn::tensor::Int>) -> Tensor<{b}>")
            }
        };
        let body = if matches!(sig, Sig::Fixed(a, b) if a != b)
            || matches!(
                sig,
                Sig::ListIn(..) | Sig::ListOut(..) | Sig::Multi(..) | Sig::ListPred(..) | Sig::Lookup(..)
            ) {
            "unreachable!(\"rank-changing elements are only scanned\")".to_string()
        } else {
            format!("let mut x = input; for (__k, __e) in m.iter().enumerate() {{ {apply} }} x")
        };
        writeln!(
            self.out,
            "#[allow(dead_code, unused_variables, clippy::all)]\npub {header} {{ {body} }}"
        )
        .unwrap();
        let _ = (spec, ch);
        Some(ChildOut {
            init,
            size,
            ty: format!("Vec<{elem_ty_full}>"),
            call: Some(format!("{fname}(&{{m}}, {{x}})")),
            sig,
            elem: if elem_optional {
                None
            } else {
                Some((elem_call.to_string(), elem_sig))
            },
            param_ty: None,
            optional: false,
            members: Vec::new(),
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
            ("value".to_string(), Ty::Float, Some("0.0f64".to_string())),
        ];
        let rank = self.shape_rank(spec, args, op_span, PARAM_OP, "[1, 1, channels]")?;
        let codes = self.call_args(spec, PARAM_OP, op_span, &decls, args, scope)?;
        Some(ChildOut {
            init: format!(
                "crate::rt::primitives::param::<{rank}>({}, {}, {}, {}, device)?",
                codes[0], codes[1], codes[2], codes[3]
            ),
            size: format!("crate::rt::size::param({})", codes[0]),
            ty: format!("burn::module::Param<Tensor<{rank}>>"),
            call: None,
            sig: Sig::Poly,
            elem: None,
            param_ty: Some(Ty::Tensor(rank)),
            optional: false,
            members: Vec::new(),
        })
    }

    /// The rank of a tensor child's `shape`, which must be a list literal (ranks are static).
    fn shape_rank(
        &mut self,
        spec: &Spec,
        args: &[(String, crate::yaml::Span, SrcExpr)],
        op_span: crate::yaml::Span,
        op: &str,
        example: &str,
    ) -> Option<usize> {
        match args.iter().find(|(n, _, _)| n == "shape").map(|(_, _, e)| &e.expr.kind) {
            Some(crate::expr::ExprKind::List(items)) => Some(items.len()),
            _ => {
                self.errors.push(spec.src.error(
                    op_span,
                    format!("`{op}` needs `shape` written as a list, e.g. `{example}`"),
                ));
                None
            }
        }
    }

    /// An integer buffer (e.g. a table of gather indices), loaded with the weights, not trained.
    fn index_buffer_child(
        &mut self,
        spec: &Spec,
        args: &[(String, crate::yaml::Span, SrcExpr)],
        op_span: crate::yaml::Span,
        scope: &mut Scope,
    ) -> Option<ChildOut> {
        let decls = vec![
            ("shape".to_string(), Ty::list(Ty::Int), None),
            ("value".to_string(), Ty::Int, Some("0i64".to_string())),
        ];
        let rank = self.shape_rank(spec, args, op_span, INDEX_BUFFER_OP, "[49, 49]")?;
        let codes = self.call_args(spec, INDEX_BUFFER_OP, op_span, &decls, args, scope)?;
        Some(ChildOut {
            init: format!(
                "crate::rt::primitives::index_buffer::<{rank}>({}, {}, device)?",
                codes[0], codes[1]
            ),
            size: format!("crate::rt::size::index_buffer({})", codes[0]),
            ty: format!("burn::module::Param<Tensor<{rank}, burn::tensor::Int>>"),
            call: None,
            sig: Sig::Poly,
            elem: None,
            param_ty: Some(Ty::IndexTensor(rank)),
            optional: false,
            members: Vec::new(),
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

/// A member's size, its errors located at the member as `init`'s are.
pub(super) fn scoped_size(name: &str, size: &str) -> String {
    format!("crate::rt::scoped({name:?}, || Ok({size}))?")
}

/// The sum of size expressions.
fn sum_sizes(sizes: &[String]) -> String {
    let mut s = String::from("{ let mut __s = crate::rt::Size::ZERO; ");
    for z in sizes {
        write!(s, "__s += {z}; ").unwrap();
    }
    s.push_str("__s }");
    s
}
