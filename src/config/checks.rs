//! Semantic checks that need the resolved architecture: each spec's `checks` (run by its
//! generated `resolve`), feature dims flowing from backbone through the neck to the head, task fit.

use super::Component;
use super::size_check::{self, Part};
use super::validate::Cx;
use crate::architectures::generated::{AnyBackbone, AnyHead, AnyNeck};
use crate::config::diagnostics::Diagnostic;
use crate::rt::{BuildError, Context};
use zoo_spec::yaml::Node;

/// Finds the node at a component-relative path such as `params.return_stage_idx` or
/// `stage_params[1].channels`; falls back to the closest existing ancestor.
pub(super) fn locate<'a>(mut node: &'a Node, rel: &str) -> (&'a Node, bool) {
    let mut exact = true;
    'parts: for part in rel.split('.').filter(|p| !p.is_empty()) {
        // `key[i][j]`: a key, then list indices.
        let (key, indices) = match part.split_once('[') {
            Some((k, rest)) => (
                k,
                rest.split('[')
                    .map(|i| i.trim_end_matches(']').parse::<usize>().ok())
                    .collect::<Vec<_>>(),
            ),
            None => (part, Vec::new()),
        };
        match node.get_entry(key) {
            Some((k, v)) => {
                node = if v.is_null() { k } else { v };
                for i in indices {
                    match i.and_then(|i| node.as_seq().and_then(|s| s.get(i))) {
                        Some(item) => node = item,
                        None => {
                            exact = false;
                            break 'parts;
                        }
                    }
                }
            }
            None => {
                exact = false;
                break;
            }
        }
    }
    (node, exact)
}

pub(super) fn report(cx: &mut Cx, comp_node: &Node, path: &str, mut e: BuildError) {
    if !e.module.is_empty() {
        e.message = format!("in the submodule `{}`: {}", e.module.join("."), e.message);
    }
    match &e.at {
        Some(at) => {
            let (node, _) = locate(comp_node, at);
            cx.push(Diagnostic::error(node.span, format!("{path}.{at}"), e.message));
        }
        None => {
            let at = comp_node
                .get_entry("name")
                .map(|(_, v)| v.span)
                .unwrap_or(comp_node.span);
            cx.push(Diagnostic::error(at, path, e.message));
        }
    }
}

/// Resolves backbone, neck and head as the build would (without creating tensors).
pub fn resolve(
    cx: &mut Cx,
    arch: &Node,
    task: &str,
    backbone: &Component,
    neck: Option<&Component>,
    head: &Component,
) -> Option<()> {
    let bpath = "model.architecture.backbone";
    let npath = "model.architecture.neck";
    let hpath = "model.architecture.head";
    let bnode = arch.get("backbone")?;
    let hnode = arch.get("head")?;
    let ctx = Context {
        task: task.to_string(),
        ..Default::default()
    };
    let mut outputs = match AnyBackbone::outputs(&backbone.name, &backbone.params, &ctx) {
        Ok(o) => o,
        Err(e) => {
            report(cx, bnode, bpath, e);
            return None;
        }
    };
    if !inputs_fit(cx, hnode, hpath, backbone, head) {
        return None;
    }
    let nctx = match neck {
        Some(n) => {
            let nnode = arch.get("neck")?;
            let nctx = Context {
                task: task.to_string(),
                intermediate_features_dim: outputs.intermediate_features_dim.clone(),
                strides: outputs.strides.clone(),
                ..Default::default()
            };
            match AnyNeck::outputs(&n.name, &n.params, &nctx) {
                Ok(o) => {
                    outputs.intermediate_features_dim = o.intermediate_features_dim;
                    outputs.strides = o.strides;
                }
                Err(e) => {
                    report(cx, nnode, npath, e);
                    return None;
                }
            }
            Some((n, nnode, nctx))
        }
        None => None,
    };
    let hctx = Context {
        task: task.to_string(),
        num_classes: 1000,
        feature_dim: outputs.feature_dim.unwrap_or(0),
        intermediate_features_dim: outputs.intermediate_features_dim.clone(),
        strides: outputs.strides.clone(),
    };
    if let Err(e) = AnyHead::check(&head.name, &head.params, &hctx) {
        report(cx, hnode, hpath, e);
        return None;
    }
    // The checks of nested blocks run when they are built; parameters are initialised lazily,
    // so building here allocates no weights. Only for otherwise valid configs: an error that
    // is already reported would show up again from inside the model.
    if cx
        .diags
        .iter()
        .any(|d| d.severity == crate::config::diagnostics::Severity::Error)
    {
        return Some(());
    }
    let mut parts = vec![Part {
        kind: "backbone",
        component: backbone,
        ctx: ctx.clone(),
        node: bnode,
        path: bpath,
    }];
    if let Some((n, nnode, nctx)) = &nctx {
        parts.push(Part {
            kind: "neck",
            component: n,
            ctx: nctx.clone(),
            node: nnode,
            path: npath,
        });
    }
    parts.push(Part {
        kind: "head",
        component: head,
        ctx: hctx.clone(),
        node: hnode,
        path: hpath,
    });
    let size = size_check::fits(cx, &parts, super::limits::limit())?;
    let device = burn::tensor::Device::flex();
    crate::rt::progress::building(size.blocks, || {
        if let Err(e) = AnyBackbone::init(&backbone.name, &backbone.params, &ctx, &device) {
            report(cx, bnode, bpath, e);
            return None;
        }
        if let Some((n, nnode, nctx)) = &nctx
            && let Err(e) = AnyNeck::init(&n.name, &n.params, nctx, &device)
        {
            report(cx, nnode, npath, e);
            return None;
        }
        if let Err(e) = AnyHead::init(&head.name, &head.params, &hctx, &device) {
            report(cx, hnode, hpath, e);
            return None;
        }
        Some(())
    })
}

/// Resolves a full model as the build would: its spec's `checks` (whose `params.x` paths name
/// fields directly under `full`) and those of its blocks.
pub fn resolve_full(cx: &mut Cx, node: &Node, task: &str, full: &Component) -> Option<()> {
    let path = "model.architecture.full";
    let ctx = Context {
        task: task.to_string(),
        num_classes: 1000,
        ..Default::default()
    };
    let relocate = |mut e: BuildError| {
        e.at = e.at.map(|a| a.strip_prefix("params.").map(str::to_string).unwrap_or(a));
        e
    };
    // Only for otherwise valid fields: a reported error would show up again from inside.
    if cx
        .diags
        .iter()
        .any(|d| d.severity == crate::config::diagnostics::Severity::Error)
    {
        return Some(());
    }
    if let Err(e) = crate::architectures::generated::AnyFull::check(&full.name, &full.params, &ctx) {
        report(cx, node, path, relocate(e));
        return None;
    }
    let part = Part {
        kind: "full",
        component: full,
        ctx: ctx.clone(),
        node,
        path,
    };
    let size = size_check::fits(cx, std::slice::from_ref(&part), super::limits::limit())?;
    let built = crate::rt::progress::building(size.blocks, || {
        crate::architectures::generated::AnyFull::init(&full.name, &full.params, &ctx, &burn::tensor::Device::flex())
    });
    if let Err(e) = built {
        report(cx, node, path, relocate(e));
        return None;
    }
    Some(())
}

/// The forward signature of heads that pool a text backbone's token states.
const TOKEN_HEAD: &str = "(tensor3, tensor3) -> tensor2";

/// A text backbone (token states) needs a head that pools tokens; an image backbone one that
/// reads feature maps. The mismatch is reported at the head's name.
fn inputs_fit(cx: &mut Cx, hnode: &Node, hpath: &str, backbone: &Component, head: &Component) -> bool {
    let (Some(b), Some(h)) = (
        crate::architectures::registry::find("backbone", &backbone.name),
        crate::architectures::registry::find("head", &head.name),
    ) else {
        return true;
    };
    let text = b.input == "tokens";
    if text == (h.signature == TOKEN_HEAD) {
        return true;
    }
    let fitting: Vec<&str> = crate::architectures::registry::components()
        .iter()
        .filter(|c| {
            c.kind == "head" && (c.signature == TOKEN_HEAD) == text && c.tasks.iter().any(|t| h.tasks.contains(t))
        })
        .map(|c| c.name.as_str())
        .collect();
    let (gives, wants) = if text {
        ("token states (a text backbone)", "image feature maps")
    } else {
        ("image feature maps", "the token states of a text backbone")
    };
    let at = hnode.get_entry("name").map(|(_, v)| v.span).unwrap_or(hnode.span);
    cx.push(
        Diagnostic::error(
            at,
            format!("{hpath}.name"),
            format!(
                "head `{}` reads {wants}, but backbone `{}` gives {gives}",
                h.name, b.name
            ),
        )
        .with_help(if fitting.is_empty() {
            "no head in the zoo fits this backbone for this task".to_string()
        } else {
            format!(
                "use {}",
                fitting
                    .iter()
                    .map(|f| format!("`{f}`"))
                    .collect::<Vec<_>>()
                    .join(" or ")
            )
        }),
    );
    false
}
