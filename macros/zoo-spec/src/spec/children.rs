//! Children of specs: `op`, `block`, `seq`, `list`, `for`, `switch`, and loop headers.

use super::{Child, ChildForm, Cx, ListItem, SrcExpr};
use crate::expr::{self, Expr};
use crate::yaml::{Node, Pos, Span};

pub(super) fn parse_loop(cx: &mut Cx, node: &Node) -> Option<(Vec<String>, SrcExpr)> {
    let text = cx.string(node, "`for`")?;
    let Some((vars, iter)) = text.split_once(" in ") else {
        cx.err(node.span, "`for` must read `VAR in LIST` or `A, B in LIST`");
        return None;
    };
    let vars: Vec<String> = vars.split(',').map(|v| v.trim().to_string()).collect();
    for v in &vars {
        if v.is_empty() || !v.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            cx.err(node.span, format!("`{v}` is not a valid loop variable"));
            return None;
        }
    }
    let offset = text.len() - iter.len();
    let quoted = cx.src.is_quoted(node.span);
    let base = Pos {
        line: node.span.start.line,
        col: node.span.start.col + usize::from(quoted),
    };
    let prefix_cols = text[..offset].chars().count();
    let base = Pos {
        line: base.line,
        col: base.col + prefix_cols,
    };
    match expr::parse(iter) {
        Ok(expr) => Some((
            vars,
            SrcExpr {
                text: iter.to_string(),
                expr,
                base,
            },
        )),
        Err(e) => {
            let se = SrcExpr {
                text: iter.to_string(),
                expr: Expr {
                    kind: expr::ExprKind::Null,
                    start: 0,
                    end: 0,
                },
                base,
            };
            cx.err(se.span(e.start, e.end), e.message);
            None
        }
    }
}

const FORMS: &[&str] = &["op", "block", "seq", "list", "for", "switch", "group"];

pub(super) fn parse_child(cx: &mut Cx, node: &Node) -> Option<Child> {
    let Some(map) = node.as_map() else {
        cx.err(
            node.span,
            "a child must be a mapping with one of `op`, `block`, `seq`, `list`, `for`, `switch`, `group`",
        );
        return None;
    };
    let cond = node.get("if").and_then(|c| cx.expr(c));
    let form_keys: Vec<&str> = FORMS.iter().copied().filter(|f| node.get(f).is_some()).collect();
    if form_keys.len() != 1 {
        let msg = if form_keys.is_empty() {
            let hint = map
                .first()
                .map(|(k, _)| crate::diag::did_you_mean(&k.key_text(), FORMS.iter().copied()))
                .unwrap_or_default();
            format!("a child needs exactly one of `op`, `block`, `seq`, `list`, `for`, `switch`, `group`{hint}")
        } else {
            format!("a child has only one form, found {}", form_keys.join(" and "))
        };
        cx.err(node.span, msg);
        return None;
    }
    let args_of = |cx: &mut Cx, skip: &[&str]| -> Vec<(String, Span, SrcExpr)> {
        map.iter()
            .filter(|(k, _)| !skip.contains(&k.key_text().as_str()))
            .filter_map(|(k, v)| cx.expr(v).map(|e| (k.key_text(), k.span, e)))
            .collect()
    };
    let form = match form_keys[0] {
        "op" => {
            let op_node = node.get("op").unwrap();
            let op = cx.string(op_node, "`op`")?;
            ChildForm::Op {
                op,
                op_span: op_node.span,
                args: args_of(cx, &["op", "if"]),
            }
        }
        "block" => {
            let b = node.get("block").unwrap();
            let block = cx.string(b, "`block`")?;
            ChildForm::Block {
                block,
                block_span: b.span,
                args: args_of(cx, &["block", "if"]),
            }
        }
        "seq" => {
            cx.keys(node, &["seq", "if"], "a `seq` child");
            let seq = node.get("seq").unwrap();
            let Some(items) = seq.as_map() else {
                cx.err(seq.span, "`seq` must be a mapping of names to children");
                return None;
            };
            ChildForm::Seq(
                items
                    .iter()
                    .filter_map(|(k, v)| parse_child(cx, v).map(|c| (k.key_text(), c)))
                    .collect(),
            )
        }
        "group" => {
            cx.keys(node, &["group"], "a `group` child");
            let group = node.get("group").unwrap();
            let Some(items) = group.as_map() else {
                cx.err(group.span, "`group` must be a mapping of names to children");
                return None;
            };
            ChildForm::Group(
                items
                    .iter()
                    .filter_map(|(k, v)| parse_child(cx, v).map(|c| (k.key_text(), c)))
                    .collect(),
            )
        }
        "list" => {
            cx.keys(node, &["list", "if"], "a `list` child");
            let list = node.get("list").unwrap();
            let Some(items) = list.as_seq() else {
                cx.err(list.span, "`list` must be a list of children");
                return None;
            };
            let mut out = Vec::new();
            for it in items {
                if it.get("for").is_some() && it.get("each").is_some() && it.get("each").unwrap().as_seq().is_some() {
                    cx.keys(it, &["for", "each", "at"], "a spliced `for` item");
                    let Some((vars, iter)) = parse_loop(cx, it.get("for").unwrap()) else {
                        continue;
                    };
                    let each: Vec<Child> = it
                        .get("each")
                        .unwrap()
                        .as_seq()
                        .unwrap()
                        .iter()
                        .filter_map(|c| parse_child(cx, c))
                        .collect();
                    out.push(ListItem::Splice {
                        vars,
                        iter,
                        each,
                        span: it.span,
                        at: it.get("at").and_then(|n| cx.string(n, "`at`")),
                    });
                } else if let Some(c) = parse_child(cx, it) {
                    out.push(ListItem::One(c));
                }
            }
            ChildForm::List(out)
        }
        "for" => {
            cx.keys(node, &["for", "each", "if", "at"], "a `for` child");
            let (vars, iter) = parse_loop(cx, node.get("for").unwrap())?;
            let Some(each) = node.get("each") else {
                cx.err(node.span, "a `for` child needs `each`");
                return None;
            };
            let at = node.get("at").and_then(|n| cx.string(n, "`at`"));
            let each = parse_child(cx, each)?;
            ChildForm::For {
                vars,
                iter,
                each: Box::new(each),
                at,
            }
        }
        "switch" => {
            cx.keys(node, &["switch", "cases", "if"], "a `switch` child");
            let on = cx.expr(node.get("switch").unwrap())?;
            let Some(cases) = node.get("cases").and_then(|c| c.as_map()) else {
                cx.err(
                    node.span,
                    "a `switch` child needs `cases`, a mapping of values to children",
                );
                return None;
            };
            let cases = cases
                .iter()
                .filter_map(|(k, v)| parse_child(cx, v).map(|c| (k.key_text(), c)))
                .collect();
            ChildForm::Switch { on, cases }
        }
        _ => unreachable!(),
    };
    Some(Child {
        span: node.span,
        cond,
        form,
    })
}
