//! Scalar functions of spec expressions (`len`, `range`, `zip`, `make_divisible`, ...): their
//! typing rules and the Rust they lower to. Tensor functions are in `tensor_ops`.

use crate::expr::{Arg, Expr, ExprKind};
use crate::lower::{LowerError, Scope, bind_args, coerce, int_plain, lower};
use crate::types::Ty;

fn fail<T>(e: &Expr, message: impl Into<String>) -> Result<T, LowerError> {
    Err(crate::lower::error_at(e, message))
}

pub fn lower_builtin(e: &Expr, fname: &str, args: &[Arg], s: &mut Scope) -> Result<(String, Ty), LowerError> {
    let lowered = |s: &mut Scope, k: usize| -> Result<(String, Ty), LowerError> { lower(&args[k].value, s) };
    let need = |n: usize| -> Result<(), LowerError> {
        if args.len() != n {
            fail(
                e,
                format!("`{fname}` takes {n} argument{}", if n == 1 { "" } else { "s" }),
            )
        } else {
            Ok(())
        }
    };
    let q = s.q();
    match fname {
        "len" => {
            need(1)?;
            let (r, t) = lowered(s, 0)?;
            match t {
                Ty::List(_) | Ty::TensorList(_) => Ok((format!("(({r}).len() as i64)"), Ty::Int)),
                _ => fail(e, format!("`len` needs a list, found {t}")),
            }
        }
        "range" => {
            let (a, b) = match args.len() {
                1 => ("0i64".to_string(), int_plain(&args[0].value, s)?),
                2 | 3 => (int_plain(&args[0].value, s)?, int_plain(&args[1].value, s)?),
                _ => return fail(e, "`range` takes 1 to 3 arguments"),
            };
            if args.len() == 3 {
                // Python's range with a step (negative counts down); a zero step is an error.
                let step = int_plain(&args[2].value, s)?;
                return Ok((
                    format!("crate::rt::range_step({a}, {b}, {step}){}", s.q()),
                    Ty::list(Ty::Int),
                ));
            }
            Ok((
                format!("crate::rt::range_step({a}, {b}, 1i64){}", s.q()),
                Ty::list(Ty::Int),
            ))
        }
        "enumerate" => {
            need(1)?;
            let (r, t) = lowered(s, 0)?;
            let Ty::List(item) = t else {
                return fail(e, format!("`enumerate` needs a list, found {t}"));
            };
            Ok((
                format!("({r}).into_iter().enumerate().map(|(__i, __x)| (__i as i64, __x)).collect::<Vec<_>>()"),
                Ty::list(Ty::Tuple(vec![Ty::Int, *item])),
            ))
        }
        "zip" => {
            if args.len() < 2 {
                return fail(e, "`zip` takes at least 2 lists");
            }
            let mut parts = Vec::new();
            let mut tys = Vec::new();
            for a in args {
                let (r, t) = lower(&a.value, s)?;
                let Ty::List(item) = t else {
                    return fail(&a.value, format!("`zip` needs lists, found {t}"));
                };
                parts.push(r);
                tys.push(*item);
            }
            let n = parts.len();
            let lets: Vec<String> = parts
                .iter()
                .enumerate()
                .map(|(k, p)| format!("let __z{k} = {p};"))
                .collect();
            let lens: Vec<String> = (0..n).map(|k| format!("__z{k}.len()")).collect();
            let items: Vec<String> = (0..n).map(|k| format!("__z{k}[__k].clone()")).collect();
            Ok((
                format!(
                    "{{ {} let __n = crate::rt::same_len(&[{}]){q}; (0..__n).map(|__k| ({},)).collect::<Vec<_>>() }}",
                    lets.join(" "),
                    lens.join(", "),
                    items.join(", ")
                ),
                Ty::list(Ty::Tuple(tys)),
            ))
        }
        "min" | "max" => {
            if args.len() == 1 {
                let (r, t) = lowered(s, 0)?;
                return match t {
                    Ty::List(ref i) if **i == Ty::Int => Ok((format!("crate::rt::{fname}_list(&{r}){q}"), Ty::Int)),
                    Ty::List(ref i) if **i == Ty::Float => {
                        Ok((format!("crate::rt::{fname}_listf(&{r}){q}"), Ty::Float))
                    }
                    _ => fail(
                        e,
                        format!("`{fname}` of one argument needs a list of numbers, found {t}"),
                    ),
                };
            }
            if args.len() != 2 {
                return fail(e, format!("`{fname}` takes 2 numbers or one list"));
            }
            let (ra, ta) = lowered(s, 0)?;
            let (rb, tb) = lowered(s, 1)?;
            if !(ta.is_numeric() && tb.is_numeric()) {
                return fail(e, format!("`{fname}` needs numbers, found {ta} and {tb}"));
            }
            if ta == Ty::Int && tb == Ty::Int {
                Ok((format!("({ra}).{fname}({rb})"), Ty::Int))
            } else {
                Ok((
                    format!(
                        "({}).{fname}({})",
                        coerce(&ra, &ta, &Ty::Float),
                        coerce(&rb, &tb, &Ty::Float)
                    ),
                    Ty::Float,
                ))
            }
        }
        "sum" | "prod" => {
            need(1)?;
            let method = if fname == "sum" { "sum" } else { "product" };
            let (r, t) = lowered(s, 0)?;
            match t {
                Ty::List(ref i) if **i == Ty::Int => Ok((format!("crate::rt::i{fname}(&{r}){}", s.q()), Ty::Int)),
                Ty::List(ref i) if **i == Ty::Float => Ok((format!("({r}).into_iter().{method}::<f64>()"), Ty::Float)),
                _ => fail(e, format!("`{fname}` needs a list of numbers, found {t}")),
            }
        }
        "any" | "all" => {
            need(1)?;
            let (r, t) = lowered(s, 0)?;
            if t != Ty::list(Ty::Bool) {
                return fail(e, format!("`{fname}` needs a list of bools, found {t}"));
            }
            Ok((format!("({r}).into_iter().{fname}(|__b| __b)"), Ty::Bool))
        }
        "abs" => {
            need(1)?;
            let (r, t) = lowered(s, 0)?;
            if !t.is_numeric() {
                return fail(e, format!("`abs` needs a number, found {t}"));
            }
            Ok((format!("({r}).abs()"), t))
        }
        "round" | "ceil" | "floor" | "int" => {
            need(1)?;
            let (r, t) = lowered(s, 0)?;
            match t {
                Ty::Int => Ok((r, Ty::Int)),
                Ty::Float => Ok((format!("crate::rt::{fname}({r})"), Ty::Int)),
                _ => fail(e, format!("`{fname}` needs a number, found {t}")),
            }
        }
        "float" => {
            need(1)?;
            let (r, t) = lowered(s, 0)?;
            if !t.is_numeric() {
                return fail(e, format!("`float` needs a number, found {t}"));
            }
            Ok((coerce(&r, &t, &Ty::Float), Ty::Float))
        }
        "make_divisible" => {
            let bound = bind_args(e, fname, &["value", "divisor", "min_value"], 1, args)?;
            let (rv, tv) = lower(bound[0].unwrap(), s)?;
            if !tv.is_numeric() {
                return fail(e, format!("`make_divisible` needs a number, found {tv}"));
            }
            let d = match bound[1] {
                Some(x) => int_plain(x, s)?,
                None => "8i64".into(),
            };
            let m = match bound[2] {
                Some(x) => format!("Some({})", int_plain(x, s)?),
                None => "None".into(),
            };
            Ok((
                format!(
                    "crate::rt::make_divisible({}, {d}, {m}){}",
                    coerce(&rv, &tv, &Ty::Float),
                    s.q()
                ),
                Ty::Int,
            ))
        }
        "unwrap" => {
            need(1)?;
            let (r, t) = lowered(s, 0)?;
            let Ty::Opt(inner) = t else {
                return fail(e, format!("`unwrap` needs an optional value, found {t}"));
            };
            let what = match &args[0].value.kind {
                ExprKind::Name(n) => n.clone(),
                _ => "value".to_string(),
            };
            Ok((format!("crate::rt::unwrap({r}, {what:?}){q}"), *inner))
        }
        "lower" => {
            need(1)?;
            let (r, t) = lowered(s, 0)?;
            if t != Ty::Str {
                return fail(e, format!("`lower` needs a string, found {t}"));
            }
            Ok((format!("({r}).to_lowercase()"), Ty::Str))
        }
        "chain" => {
            need(1)?;
            let (r, t) = lowered(s, 0)?;
            match t {
                Ty::List(inner) if matches!(*inner, Ty::List(_)) => {
                    Ok((format!("({r}).into_iter().flatten().collect::<Vec<_>>()"), *inner))
                }
                Ty::List(inner) if *inner == Ty::Null => Ok(("Vec::new()".into(), Ty::list(Ty::Null))),
                _ => fail(e, format!("`chain` joins a list of lists, found {t}")),
            }
        }
        _ => crate::tensor_ops::lower_tensor_call(e, fname, args, s),
    }
}
