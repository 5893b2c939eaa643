//! Type-checks spec expressions and lowers them to Rust source.
//!
//! Every expression is lowered to an owned Rust value of a statically known [`Ty`], so the
//! generated code always type-checks when the spec does. Init-time code runs inside functions
//! returning `Result<_, BuildError>` (fallible helpers end in `?`); forward code cannot fail at
//! run time because everything it indexes was checked at init.

use crate::expr::{Arg, BinOp, Expr, ExprKind, Subscript};
use crate::types::{Sig, Ty};
use std::collections::HashMap;

/// A type error or unknown name, at a byte range of the expression.
#[derive(Debug, Clone)]
pub struct LowerError {
    pub message: String,
    pub start: usize,
    pub end: usize,
}

fn fail<T>(e: &Expr, message: impl Into<String>) -> Result<T, LowerError> {
    Err(LowerError {
        message: message.into(),
        start: e.start,
        end: e.end,
    })
}

/// What a name refers to.
#[derive(Debug, Clone)]
pub enum Binding {
    /// A value: the Rust expression that yields it (a place; cloned on use) and its type.
    Value { rust: String, ty: Ty },
    /// A child module, callable in forward programs. `call` renders one application with
    /// `{m}` (the module, a place or reference) and `{x}` (the input); list children also
    /// have the call of one element, for `scan`.
    Module {
        recv: String,
        call: String,
        sig: Sig,
        optional: bool,
        elem: Option<(String, Sig)>,
    },
    /// A name whose definition already failed: its uses report nothing more (no cascades).
    Poisoned,
}

/// Record types by Rust name: their fields in order.
pub type Records = HashMap<String, Vec<(String, Ty)>>;

pub struct Scope<'a> {
    frames: Vec<Vec<(String, Binding)>>,
    pub records: &'a Records,
    /// Forward programs: helpers may not use `?`.
    pub forward: bool,
    counter: usize,
    /// Receivers of list children whose elements a program reaches one by one (indexing,
    /// `scan`): such lists are not plain sequences, so inference folding leaves their pairs.
    pub element_access: std::cell::RefCell<std::collections::BTreeSet<String>>,
}

impl<'a> Scope<'a> {
    pub fn new(records: &'a Records, forward: bool) -> Self {
        Scope {
            frames: vec![Vec::new()],
            records,
            forward,
            counter: 0,
            element_access: Default::default(),
        }
    }

    pub fn bind(&mut self, name: &str, b: Binding) {
        self.frames.last_mut().unwrap().push((name.to_string(), b));
    }

    pub fn bind_value(&mut self, name: &str, rust: impl Into<String>, ty: Ty) {
        self.bind(name, Binding::Value { rust: rust.into(), ty });
    }

    pub fn push(&mut self) {
        self.frames.push(Vec::new());
    }

    pub fn pop(&mut self) {
        self.frames.pop();
    }

    /// Gives the innermost binding of `name` a new type (an empty list that a loop fills).
    pub fn retype(&mut self, name: &str, new: Ty) {
        if let Some((_, Binding::Value { ty, .. })) = self
            .frames
            .iter_mut()
            .rev()
            .flat_map(|f| f.iter_mut().rev())
            .find(|(n, _)| n == name)
        {
            *ty = new;
        }
    }

    /// The number of open frames.
    pub fn depth(&self) -> usize {
        self.frames.len()
    }

    /// The frame (0 = outermost) in which `name` is bound.
    pub fn depth_of(&self, name: &str) -> Option<usize> {
        self.frames
            .iter()
            .enumerate()
            .rev()
            .find(|(_, f)| f.iter().any(|(n, _)| n == name))
            .map(|(d, _)| d)
    }

    pub fn lookup(&self, name: &str) -> Option<&Binding> {
        self.frames
            .iter()
            .rev()
            .flat_map(|f| f.iter().rev())
            .find(|(n, _)| n == name)
            .map(|(_, b)| b)
    }

    pub fn names(&self) -> Vec<String> {
        self.frames
            .iter()
            .flat_map(|f| f.iter().map(|(n, _)| n.clone()))
            .collect()
    }

    pub fn fresh(&mut self, stem: &str) -> String {
        self.counter += 1;
        format!("__{stem}{}", self.counter)
    }

    pub(crate) fn q(&self) -> &'static str {
        if self.forward {
            ".expect(\"checked at init\")"
        } else {
            "?"
        }
    }
}

/// Converts a lowered value from one type to another it fits.
pub fn coerce(rust: &str, from: &Ty, to: &Ty) -> String {
    if from == to {
        return rust.to_string();
    }
    match (from, to) {
        (Ty::Int, Ty::Float) => format!("(({rust}) as f64)"),
        (Ty::Null, Ty::Opt(_)) => "None".to_string(),
        (Ty::Opt(a), Ty::Opt(b)) => {
            let inner = coerce("__v", a, b);
            format!("({rust}).map(|__v| {inner})")
        }
        (a, Ty::Opt(b)) => format!("Some({})", coerce(rust, a, b)),
        (Ty::List(a), Ty::List(b)) if **a == Ty::Null => {
            let _ = b;
            "Vec::new()".to_string()
        }
        (Ty::List(a), Ty::List(b)) => {
            let inner = coerce("__v", a, b);
            format!("({rust}).into_iter().map(|__v| {inner}).collect::<Vec<_>>()")
        }
        _ => rust.to_string(),
    }
}

fn copy_type(t: &Ty) -> bool {
    matches!(t, Ty::Int | Ty::Float | Ty::Bool)
}

fn did_you_mean(name: &str, candidates: &[String]) -> String {
    candidates
        .iter()
        .map(|c| (strsim::jaro_winkler(name, c), c))
        .filter(|(s, _)| *s > 0.8)
        .max_by(|a, b| a.0.partial_cmp(&b.0).unwrap())
        .map(|(_, c)| format!("; did you mean `{c}`?"))
        .unwrap_or_default()
}

pub fn lower(e: &Expr, s: &mut Scope) -> Result<(String, Ty), LowerError> {
    match &e.kind {
        ExprKind::Int(i) => Ok((format!("{i}i64"), Ty::Int)),
        ExprKind::Float(f) => Ok((format!("{f:?}f64"), Ty::Float)),
        ExprKind::Bool(b) => Ok((b.to_string(), Ty::Bool)),
        ExprKind::Null => Ok(("None".into(), Ty::Null)),
        ExprKind::Str(t) => Ok((format!("String::from({t:?})"), Ty::Str)),
        ExprKind::Name(n) => match s.lookup(n) {
            Some(Binding::Value { rust, ty }) => {
                let r = if copy_type(ty) {
                    rust.clone()
                } else {
                    format!("{rust}.clone()")
                };
                Ok((r, ty.clone()))
            }
            Some(Binding::Module { .. }) => fail(e, format!("`{n}` is a module; call it, e.g. `{n}(x)`")),
            Some(Binding::Poisoned) => fail(e, ""),
            None => {
                let hint = did_you_mean(n, &s.names());
                fail(e, format!("unknown name `{n}`{hint}"))
            }
        },
        ExprKind::List(items) => {
            if items.is_empty() {
                return Ok(("Vec::new()".into(), Ty::list(Ty::Null)));
            }
            let mut lowered = Vec::new();
            let mut ty = Ty::Null;
            for (k, it) in items.iter().enumerate() {
                let (r, t) = lower(it, s)?;
                if k == 0 {
                    ty = t.clone();
                } else {
                    ty = match Ty::unify(&ty, &t) {
                        Some(u) => u,
                        None => return fail(it, format!("list items have different types ({ty} and {t})")),
                    };
                }
                lowered.push((r, t));
            }
            if let Ty::Tensor(r) = ty {
                let parts: Vec<String> = lowered.into_iter().map(|(x, _)| x).collect();
                return Ok((format!("vec![{}]", parts.join(", ")), Ty::TensorList(r)));
            }
            let parts: Vec<String> = lowered.iter().map(|(x, t)| coerce(x, t, &ty)).collect();
            Ok((format!("vec![{}]", parts.join(", ")), Ty::list(ty)))
        }
        ExprKind::Record(_) => fail(e, "a `{...}` record is only allowed as the value of `return`"),
        ExprKind::Unary(op, inner) => {
            let (r, t) = lower(inner, s)?;
            match (*op, &t) {
                ("-", Ty::Int) => Ok((format!("crate::rt::isub(0i64, {r}){}", s.q()), t)),
                ("-", Ty::Float) => Ok((format!("(-{r})"), t)),
                ("-", Ty::Tensor(_)) => Ok((format!("({r}).neg()"), t)),
                ("not", Ty::Bool) => Ok((format!("(!{r})"), Ty::Bool)),
                _ => fail(e, format!("`{op}` cannot be applied to {t}")),
            }
        }
        ExprKind::Binary(op, a, b) => lower_binary(e, *op, a, b, s),
        ExprKind::Ternary(c, a, b) => {
            let (rc, tc) = lower(c, s)?;
            if tc != Ty::Bool {
                return fail(c, format!("a condition must be a bool, found {tc}"));
            }
            let (ra, ta) = lower(a, s)?;
            let (rb, tb) = lower(b, s)?;
            let Some(t) = Ty::unify(&ta, &tb) else {
                return fail(e, format!("the branches have different types ({ta} and {tb})"));
            };
            Ok((
                format!(
                    "(if {rc} {{ {} }} else {{ {} }})",
                    coerce(&ra, &ta, &t),
                    coerce(&rb, &tb, &t)
                ),
                t,
            ))
        }
        ExprKind::Field(..) if member_name(e, s).is_some() => {
            let named = with_members(e, s).expect("checked");
            lower(&named, s)
        }
        ExprKind::Field(base, field) => {
            let (r, t) = lower_place(base, s)?;
            match &t {
                Ty::Record(name) => {
                    let fields = s.records.get(name).cloned().unwrap_or_default();
                    match fields.iter().find(|(f, _)| f == field) {
                        Some((f, ft)) => {
                            let access = format!("{r}.{}", crate::codegen::ident(f));
                            Ok((
                                if copy_type(ft) {
                                    access
                                } else {
                                    format!("{access}.clone()")
                                },
                                ft.clone(),
                            ))
                        }
                        None => {
                            let names: Vec<String> = fields.iter().map(|(f, _)| f.clone()).collect();
                            fail(e, format!("no field `{field}`{}", did_you_mean(field, &names)))
                        }
                    }
                }
                Ty::Tuple(ts) => match field.parse::<usize>() {
                    Ok(i) if i < ts.len() => {
                        let access = format!("{r}.{i}");
                        Ok((
                            if copy_type(&ts[i]) {
                                access
                            } else {
                                format!("{access}.clone()")
                            },
                            ts[i].clone(),
                        ))
                    }
                    _ => fail(e, format!("a tuple of {} items has no field `{field}`", ts.len())),
                },
                _ => fail(e, format!("{t} has no fields")),
            }
        }
        ExprKind::Index(base, subs) => lower_index(e, base, subs, s),
        ExprKind::Comprehension { elem, vars, iter, cond } => {
            let (ri, ti) = lower(iter, s)?;
            let item = match ti {
                Ty::List(item) => item,
                Ty::TensorList(r) => Box::new(Ty::Tensor(r)),
                _ => return fail(iter, format!("can only iterate over a list, found {ti}")),
            };
            let it = s.fresh("it");
            let out = s.fresh("out");
            s.push();
            let bind = bind_loop_vars(iter, vars, &item, &it, s)?;
            let cond_code = match cond {
                Some(c) => {
                    let (rc, tc) = lower(c, s)?;
                    if tc != Ty::Bool {
                        s.pop();
                        return fail(c, format!("a filter must be a bool, found {tc}"));
                    }
                    Some(rc)
                }
                None => None,
            };
            let (re, te) = lower(elem, s)?;
            s.pop();
            let push = match cond_code {
                Some(c) => format!("if {c} {{ {out}.push({re}); }}"),
                None => format!("{out}.push({re});"),
            };
            let (code, ty) = match te {
                Ty::Tensor(r) => ("Vec<Tensor<_>>".to_string(), Ty::TensorList(r)),
                t => (t.rust(), Ty::list(t)),
            };
            let _ = code;
            Ok((
                format!("{{ let mut {out} = Vec::new(); for {it} in {ri} {{ {bind} {push} }} {out} }}"),
                ty,
            ))
        }
        ExprKind::Call(callee, args) => lower_call(e, callee, args, s),
    }
}

/// Binds loop variables for one element `it` of a list of `item`s; returns the binding code.
pub fn bind_loop_vars(at: &Expr, vars: &[String], item: &Ty, it: &str, s: &mut Scope) -> Result<String, LowerError> {
    if vars.len() == 1 {
        let v = crate::codegen::local(&vars[0]);
        s.bind_value(&vars[0], v.clone(), item.clone());
        return Ok(format!("let {v} = {it};"));
    }
    let Ty::Tuple(ts) = item else {
        return fail(
            at,
            format!(
                "{} loop variables need tuples (enumerate/zip), found {item}",
                vars.len()
            ),
        );
    };
    if ts.len() != vars.len() {
        return fail(
            at,
            format!("{} loop variables for tuples of {} items", vars.len(), ts.len()),
        );
    }
    let names: Vec<String> = vars.iter().map(|v| crate::codegen::local(v)).collect();
    for (v, (n, t)) in vars.iter().zip(names.iter().zip(ts)) {
        s.bind_value(v, n.clone(), t.clone());
    }
    Ok(format!("let ({},) = {it};", names.join(", ")))
}

fn lower_binary(e: &Expr, op: BinOp, a: &Expr, b: &Expr, s: &mut Scope) -> Result<(String, Ty), LowerError> {
    if op == BinOp::Coalesce
        && let ExprKind::Call(callee, args) = &a.kind
        && let ExprKind::Name(n) = &callee.kind
        && let Some(Binding::Module {
            recv,
            call,
            sig,
            optional: true,
            ..
        }) = s.lookup(n).cloned()
    {
        let (rx, out) = module_input(a, n, sig, args, s)?;
        let (rb, tb) = lower(b, s)?;
        if tb != out {
            return fail(b, format!("the fallback must be a {out} like `{n}(...)`, found {tb}"));
        }
        let x = s.fresh("x");
        let m = s.fresh("m");
        let applied = render_call(&call, &m, &call_args(sig, &x));
        return Ok((
            format!(
                "{{ let {x} = {rx}; match &{recv} {{ Some({m}) => crate::rt::trace::call({n:?}, || {applied}), None => {rb} }} }}"
            ),
            out,
        ));
    }
    let (ra, ta) = lower(a, s)?;
    if op == BinOp::Coalesce {
        let (rb, tb) = lower(b, s)?;
        let inner = match &ta {
            Ty::Opt(t) => (**t).clone(),
            Ty::Null => return Ok((rb, tb)),
            _ => return fail(a, format!("`??` needs an optional value on the left, found {ta}")),
        };
        let Some(t) = Ty::unify(&inner, &tb) else {
            return fail(e, format!("`??` sides have different types ({inner} and {tb})"));
        };
        let v = s.fresh("v");
        return Ok((
            format!(
                "(match {ra} {{ Some({v}) => {}, None => {} }})",
                coerce(&v, &inner, &t),
                coerce(&rb, &tb, &t)
            ),
            t,
        ));
    }
    let (rb, tb) = lower(b, s)?;
    use BinOp::*;
    let num = |t: &Ty| t.is_numeric();
    match op {
        And | Or => {
            if ta != Ty::Bool || tb != Ty::Bool {
                return fail(e, format!("`{}` needs bools, found {ta} and {tb}", op.symbol()));
            }
            Ok((format!("({ra} {} {rb})", if op == And { "&&" } else { "||" }), Ty::Bool))
        }
        Add | Sub | Mul | Div | FloorDiv | Mod | Pow if num(&ta) && num(&tb) => {
            let float = ta == Ty::Float || tb == Ty::Float;
            let fa = coerce(&ra, &ta, &Ty::Float);
            let fb = coerce(&rb, &tb, &Ty::Float);
            let q = s.q();
            Ok(match op {
                Div => (format!("({fa} / {fb})"), Ty::Float),
                Pow if float => (format!("({fa}).powf({fb})"), Ty::Float),
                Pow => (format!("crate::rt::ipow({ra}, {rb}){q}"), Ty::Int),
                FloorDiv if float => (format!("({fa} / {fb}).floor()"), Ty::Float),
                FloorDiv => (format!("crate::rt::floordiv({ra}, {rb}){q}"), Ty::Int),
                Mod if float => (format!("({fa}).rem_euclid({fb})"), Ty::Float),
                Mod => (format!("crate::rt::modulo({ra}, {rb}){q}"), Ty::Int),
                _ if float => (format!("({fa} {} {fb})", op.symbol()), Ty::Float),
                // Checked: a config's huge value is an error, never a wrapped or panicking
                // multiplication.
                Add => (format!("crate::rt::iadd({ra}, {rb}){q}"), Ty::Int),
                Sub => (format!("crate::rt::isub({ra}, {rb}){q}"), Ty::Int),
                _ => (format!("crate::rt::imul({ra}, {rb}){q}"), Ty::Int),
            })
        }
        Add if ta == Ty::Str && tb == Ty::Str => Ok((format!("format!(\"{{}}{{}}\", {ra}, {rb})"), Ty::Str)),
        Add if matches!((&ta, &tb), (Ty::TensorList(x), Ty::TensorList(y)) if x == y) => {
            Ok((format!("crate::rt::concat({ra}, {rb})"), ta.clone()))
        }
        // `[]` (an empty list filled in a loop) and a list of tensors.
        Add if ta == Ty::list(Ty::Null) && matches!(tb, Ty::TensorList(_)) => {
            Ok((format!("crate::rt::concat({ra}, {rb})"), tb.clone()))
        }
        Add if matches!((&ta, &tb), (Ty::List(_), Ty::List(_))) => {
            let Some(t) = Ty::unify(&ta, &tb) else {
                return fail(e, format!("cannot concatenate {ta} and {tb}"));
            };
            Ok((
                format!("crate::rt::concat({}, {})", coerce(&ra, &ta, &t), coerce(&rb, &tb, &t)),
                t,
            ))
        }
        Add | Sub | Mul | Div => match (&ta, &tb) {
            (Ty::Tensor(x), Ty::Tensor(y)) if x == y => Ok((format!("({ra} {} {rb})", op.symbol()), ta.clone())),
            (Ty::Tensor(_), t) if num(t) => Ok((
                format!("({ra} {} ({}) as f32)", op.symbol(), coerce(&rb, t, &Ty::Float)),
                ta.clone(),
            )),
            (t, Ty::Tensor(_)) if num(t) && matches!(op, Add | Mul) => Ok((
                format!("({rb} {} ({}) as f32)", op.symbol(), coerce(&ra, t, &Ty::Float)),
                tb.clone(),
            )),
            _ => fail(e, format!("`{}` cannot combine {ta} and {tb}", op.symbol())),
        },
        Eq | Ne => {
            let neg = if op == Ne { "!" } else { "" };
            let code = match (&ta, &tb) {
                (Ty::Opt(_), Ty::Null) => format!("{neg}({ra}).is_none()"),
                (Ty::Null, Ty::Opt(_)) => format!("{neg}({rb}).is_none()"),
                (Ty::Null, Ty::Null) => (op == Eq).to_string(),
                (x, y) if num(x) && num(y) && x != y => {
                    format!(
                        "({} {} {})",
                        coerce(&ra, x, &Ty::Float),
                        op.symbol(),
                        coerce(&rb, y, &Ty::Float)
                    )
                }
                (x, y) => match Ty::unify(x, y) {
                    Some(t) if !matches!(t, Ty::Tensor(_) | Ty::TensorList(_)) => {
                        format!("({} {} {})", coerce(&ra, x, &t), op.symbol(), coerce(&rb, y, &t))
                    }
                    _ => return fail(e, format!("cannot compare {ta} with {tb}")),
                },
            };
            Ok((code, Ty::Bool))
        }
        Lt | Le | Gt | Ge => {
            if !(num(&ta) && num(&tb)) {
                return fail(e, format!("`{}` compares numbers, found {ta} and {tb}", op.symbol()));
            }
            if ta == tb {
                Ok((format!("({ra} {} {rb})", op.symbol()), Ty::Bool))
            } else {
                let fa = coerce(&ra, &ta, &Ty::Float);
                let fb = coerce(&rb, &tb, &Ty::Float);
                Ok((format!("({fa} {} {fb})", op.symbol()), Ty::Bool))
            }
        }
        In => {
            let Ty::List(item) = &tb else {
                return fail(b, format!("`in` needs a list on the right, found {tb}"));
            };
            if !ta.fits(item) && !item.fits(&ta) {
                return fail(e, format!("cannot look for {ta} in {tb}"));
            }
            Ok((format!("({rb}).contains(&({}))", coerce(&ra, &ta, item)), Ty::Bool))
        }
        _ => fail(e, format!("`{}` cannot combine {ta} and {tb}", op.symbol())),
    }
}

/// Lowers an expression that is only borrowed: a plain name, a list item (`xs[i]`) and a
/// record field (`st.kernel_sizes`) are not cloned. A loop over a stage's blocks reads
/// `group_of[i][j]` once per block; cloning `group_of[i]` there made a 200 000-block config
/// take a minute to validate (quadratic), found by the hour-long config fuzzing.
fn lower_place(e: &Expr, s: &mut Scope) -> Result<(String, Ty), LowerError> {
    match &e.kind {
        ExprKind::Name(n) => {
            if let Some(Binding::Value { rust, ty }) = s.lookup(n) {
                return Ok((rust.clone(), ty.clone()));
            }
        }
        ExprKind::Index(base, subs) => {
            if let [Subscript::Index(i)] = &subs[..] {
                let (rb, tb) = lower_place(base, s)?;
                let (ri, ti) = lower(i, s)?;
                if let (Ty::List(item), Ty::Int) = (&tb, &ti) {
                    return Ok((format!("(*crate::rt::at_ref(&{rb}, {ri}){})", s.q()), (**item).clone()));
                }
            }
        }
        ExprKind::Field(base, field) if member_name(e, s).is_none() => {
            let (r, t) = lower_place(base, s)?;
            if let Ty::Record(name) = &t
                && let Some((f, ft)) = s.records.get(name).and_then(|fs| fs.iter().find(|(f, _)| f == field))
            {
                return Ok((format!("{r}.{}", crate::codegen::ident(f)), ft.clone()));
            }
        }
        _ => {}
    }
    let (r, t) = lower(e, s)?;
    Ok((format!("({r})"), t))
}

fn lower_index(e: &Expr, base: &Expr, subs: &[Subscript], s: &mut Scope) -> Result<(String, Ty), LowerError> {
    let (rb, tb) = lower_place(base, s)?;
    let rb = if matches!(&tb, Ty::Tensor(_)) && matches!(&base.kind, ExprKind::Name(_)) {
        format!("{rb}.clone()")
    } else {
        rb
    };
    let q = s.q();
    match &tb {
        Ty::List(_) | Ty::TensorList(_) if subs.len() == 1 => {
            let elem = match &tb {
                Ty::List(t) => (**t).clone(),
                Ty::TensorList(r) => Ty::Tensor(*r),
                _ => unreachable!(),
            };
            match &subs[0] {
                Subscript::Index(i) => {
                    let (ri, ti) = lower(i, s)?;
                    match ti {
                        Ty::Int => Ok((format!("crate::rt::at(&{rb}, {ri}){q}"), elem)),
                        Ty::List(ref t) if **t == Ty::Int => {
                            Ok((format!("crate::rt::pick(&{rb}, &{ri}){q}"), tb.clone()))
                        }
                        _ => fail(i, format!("a list index must be an int or a list of ints, found {ti}")),
                    }
                }
                Subscript::Slice(lo, hi, step) => {
                    if let Some(x) = step {
                        return fail(x, "a step slices tensors, not lists");
                    }
                    let lo = match lo {
                        Some(x) => int_arg(x, s)?,
                        None => "None".into(),
                    };
                    let hi = match hi {
                        Some(x) => int_arg(x, s)?,
                        None => "None".into(),
                    };
                    Ok((format!("crate::rt::slice(&{rb}, {lo}, {hi})"), tb.clone()))
                }
            }
        }
        Ty::Tensor(rank) => {
            if subs.len() > *rank {
                return fail(e, format!("{} subscripts for a tensor of rank {rank}", subs.len()));
            }
            let mut parts = Vec::new();
            let mut dropped = 0;
            for sub in subs {
                match sub {
                    Subscript::Index(i) => {
                        let (ri, ti) = lower(i, s)?;
                        if ti != Ty::Int {
                            return fail(i, format!("a tensor index must be an int, found {ti}"));
                        }
                        parts.push(format!("crate::rt::Sub::At({ri})"));
                        dropped += 1;
                    }
                    Subscript::Slice(lo, hi, step) => {
                        let lo = match lo {
                            Some(x) => int_arg(x, s)?,
                            None => "None".into(),
                        };
                        let hi = match hi {
                            Some(x) => int_arg(x, s)?,
                            None => "None".into(),
                        };
                        let step = match step {
                            Some(x) => match x.kind {
                                ExprKind::Int(k) if k > 0 => k.to_string(),
                                _ => return fail(x, "a slice step is a positive integer literal"),
                            },
                            None => "1".into(),
                        };
                        parts.push(format!("crate::rt::Sub::Range({lo}, {hi}, {step})"));
                    }
                }
            }
            let out = rank - dropped;
            Ok((
                format!(
                    "crate::rt::index_tensor::<{rank}, {out}>({rb}, &[{}])",
                    parts.join(", ")
                ),
                Ty::Tensor(out),
            ))
        }
        _ => fail(e, format!("{tb} cannot be indexed")),
    }
}

fn int_arg(x: &Expr, s: &mut Scope) -> Result<String, LowerError> {
    let (r, t) = lower(x, s)?;
    if t != Ty::Int {
        return fail(x, format!("expected an int, found {t}"));
    }
    Ok(format!("Some({r})"))
}

/// Positional and keyword arguments matched against a parameter list.
pub(crate) fn bind_args<'e>(
    call: &Expr,
    fname: &str,
    params: &[&str],
    required: usize,
    args: &'e [Arg],
) -> Result<Vec<Option<&'e Expr>>, LowerError> {
    let mut out: Vec<Option<&Expr>> = vec![None; params.len()];
    let mut positional = 0;
    for a in args {
        match &a.name {
            None => {
                if positional >= params.len() {
                    return fail(&a.value, format!("`{fname}` takes at most {} arguments", params.len()));
                }
                out[positional] = Some(&a.value);
                positional += 1;
            }
            Some(n) => match params.iter().position(|p| p == n) {
                Some(k) => out[k] = Some(&a.value),
                None => {
                    return fail(
                        &a.value,
                        format!("`{fname}` has no argument `{n}`; it takes {}", params.join(", ")),
                    );
                }
            },
        }
    }
    if let Some(k) = out.iter().take(required).position(Option::is_none) {
        return fail(call, format!("`{fname}` needs its argument `{}`", params[k]));
    }
    Ok(out)
}

pub fn render_call(call: &str, recv: &str, x: &str) -> String {
    call.replace("{m}", recv).replace("{x}", x)
}

/// Lowers the single tensor argument of a module call; returns it and the output rank.
/// The argument list a module call passes for the lowered input `var` (see [`module_input`]).
pub fn call_args(sig: Sig, var: &str) -> String {
    match sig {
        Sig::Multi(n, ..) => (0..n).map(|k| format!("{var}.{k}")).collect::<Vec<_>>().join(", "),
        _ => var.to_string(),
    }
}

fn module_input(e: &Expr, fname: &str, sig: Sig, args: &[Arg], s: &mut Scope) -> Result<(String, Ty), LowerError> {
    if let Sig::Multi(n, r, out) = sig {
        // Several inputs travel as a tuple; `call_args` spreads it.
        if args.len() != n || args.iter().any(|a| a.name.is_some()) {
            return fail(e, format!("module `{fname}` takes {n} tensors"));
        }
        let mut parts = Vec::new();
        for a in args {
            let (rx, tx) = lower(&a.value, s)?;
            if tx != Ty::Tensor(r) {
                return fail(
                    &a.value,
                    format!("module `{fname}` takes tensors of rank {r}, found {tx}"),
                );
            }
            parts.push(rx);
        }
        return Ok((format!("({},)", parts.join(", ")), Ty::Tensor(out)));
    }
    if args.len() != 1 || args[0].name.is_some() {
        return fail(e, format!("module `{fname}` takes exactly one tensor"));
    }
    let (rx, tx) = lower(&args[0].value, s)?;
    let applied = match (tx.clone(), sig) {
        (Ty::IndexTensor(r), Sig::Lookup(i, o)) if r == i => Ok(Ty::Tensor(o)),
        (Ty::IndexTensor(r), Sig::Lookup(i, _)) => Err(format!("expects token ids of rank {i}, got rank {r}")),
        (_, Sig::Lookup(i, _)) => {
            return fail(
                &args[0].value,
                format!("module `{fname}` looks up token ids (an int tensor of rank {i}), found {tx}"),
            );
        }
        (Ty::Tensor(r), _) => sig.apply_ty(r),
        (Ty::TensorList(r), _) => sig.apply_list_ty(r),
        _ => return fail(&args[0].value, format!("module `{fname}` takes a tensor, found {tx}")),
    };
    let out = applied.map_err(|m| LowerError {
        message: format!("`{fname}` {m}"),
        start: e.start,
        end: e.end,
    })?;
    Ok((rx, out))
}

/// `group.member` as the name it is bound under, when `group` is a group child.
fn member_name(e: &Expr, s: &Scope) -> Option<String> {
    // `a.b.c` (nested groups) as the dotted name its innermost member is bound under.
    fn dotted(e: &Expr) -> Option<String> {
        match &e.kind {
            ExprKind::Name(n) => Some(n.clone()),
            ExprKind::Field(base, field) => dotted(base).map(|b| format!("{b}.{field}")),
            _ => None,
        }
    }
    if let ExprKind::Field(..) = &e.kind {
        let name = dotted(e)?;
        if s.lookup(&name).is_some() {
            return Some(name);
        }
    }
    None
}

/// The same expression with `group.member` references turned into plain names.
fn with_members(e: &Expr, s: &Scope) -> Option<Expr> {
    let name = member_name(e, s)?;
    Some(Expr {
        kind: ExprKind::Name(name),
        start: e.start,
        end: e.end,
    })
}

fn lower_call(e: &Expr, callee: &Expr, args: &[Arg], s: &mut Scope) -> Result<(String, Ty), LowerError> {
    // `group.member(x)` and `group.member[i](x)`: members of a group child.
    if let Some(named) = with_members(callee, s) {
        return lower_call(e, &named, args, s);
    }
    if let ExprKind::Index(base, subs) = &callee.kind
        && let Some(named) = with_members(base, s)
    {
        let callee = Expr {
            kind: ExprKind::Index(Box::new(named), subs.clone()),
            start: callee.start,
            end: callee.end,
        };
        return lower_call(e, &callee, args, s);
    }
    // `blocks[2](x)`: one element of a list child.
    if let ExprKind::Index(base, subs) = &callee.kind
        && let ExprKind::Name(m) = &base.kind
        && let Some(Binding::Module { recv, elem, .. }) = s.lookup(m).cloned()
    {
        let Some((elem_call, sig)) = elem else {
            return fail(callee, format!("`{m}` is not a list of modules"));
        };
        s.element_access.borrow_mut().insert(recv.clone());
        // A literal index, or an int expression (a loop variable) checked when it runs.
        let k = match subs.as_slice() {
            [Subscript::Index(i)] => match i.kind {
                ExprKind::Int(k) if k >= 0 => k.to_string(),
                ExprKind::Int(_) => return fail(i, "a child list is indexed from 0"),
                _ => {
                    let (ri, ti) = lower(i, s)?;
                    if ti != Ty::Int {
                        return fail(i, format!("a child list is indexed by an int, found {ti}"));
                    }
                    format!("(({ri}) as usize)")
                }
            },
            _ => return fail(callee, "a child list takes one index"),
        };
        let (rx, out) = module_input(e, m, sig, args, s)?;
        let applied = render_call(
            &elem_call,
            &format!("{recv}.get({k}).expect(\"`{m}` has the element\")"),
            &call_args(sig, "__x"),
        );
        return Ok((
            format!(
                "{{ let __x = {rx}; let __k = {k}; crate::rt::trace::call({m:?}, || crate::rt::trace::call_at(__k, || {applied})) }}"
            ),
            out,
        ));
    }
    let ExprKind::Name(fname) = &callee.kind else {
        return fail(callee, "only named functions and modules can be called");
    };
    if let Some(Binding::Poisoned) = s.lookup(fname) {
        return fail(e, "");
    }
    if let Some(Binding::Module {
        recv,
        call,
        sig,
        optional,
        ..
    }) = s.lookup(fname).cloned()
    {
        let (rx, out) = module_input(e, fname, sig, args, s)?;
        if optional {
            return fail(
                e,
                format!(
                    "`{fname}` is optional (it has an `if`): write `{fname}(x) ?? fallback` to say what happens without it"
                ),
            );
        }
        let applied = render_call(&call, &recv, &call_args(sig, "__x"));
        return Ok((
            format!("{{ let __x = {rx}; crate::rt::trace::call({fname:?}, || {applied}) }}"),
            out,
        ));
    }
    crate::builtins::lower_builtin(e, fname, args, s)
}

pub fn int_plain(x: &Expr, s: &mut Scope) -> Result<String, LowerError> {
    let (r, t) = lower(x, s)?;
    if t != Ty::Int {
        return fail(x, format!("expected an int, found {t}"));
    }
    Ok(r)
}

pub fn lower_expect(x: &Expr, s: &mut Scope, want: &Ty) -> Result<String, LowerError> {
    let (r, t) = lower(x, s)?;
    if !t.fits(want) {
        return fail(x, format!("expected {want}, found {t}"));
    }
    Ok(coerce(&r, &t, want))
}

pub fn error_at(e: &Expr, message: impl Into<String>) -> LowerError {
    LowerError {
        message: message.into(),
        start: e.start,
        end: e.end,
    }
}
