//! `zoo list`, `zoo describe`, `zoo new`, `zoo schema`: reading the registry.

use super::{Kind, OK, USAGE};
use crate::architectures::generated::AnyBackbone;
use crate::architectures::registry::{self, ComponentDesc};
use crate::rt::Context;
use std::path::Path;

/// `*` and `?` wildcards, as timm/torchvision `list_models` filters.
pub fn glob_match(pattern: &str, name: &str) -> bool {
    fn go(p: &[char], n: &[char]) -> bool {
        match (p.first(), n.first()) {
            (None, None) => true,
            (Some('*'), _) => go(&p[1..], n) || (!n.is_empty() && go(p, &n[1..])),
            (Some('?'), Some(_)) => go(&p[1..], &n[1..]),
            (Some(a), Some(b)) if a == b => go(&p[1..], &n[1..]),
            _ => false,
        }
    }
    go(&pattern.chars().collect::<Vec<_>>(), &name.chars().collect::<Vec<_>>())
}

/// A neck in the presets that use it: (preset, input dims, input strides, output dims,
/// output strides), computed from the specs' `outputs` without building anything.
type NeckFlow = (String, Vec<i64>, Vec<i64>, Vec<i64>, Vec<i64>);

fn neck_flows(neck: &str) -> Vec<NeckFlow> {
    let mut out = Vec::new();
    for c in registry::components() {
        for p in &c.presets {
            let uses = p.body.pointer("/architecture/neck/name").and_then(|n| n.as_str()) == Some(neck);
            if !uses {
                continue;
            }
            let doc = serde_json::json!({ "model": p.body });
            let Some(cfg) = crate::config::check_text(&doc.to_string()).config else {
                continue;
            };
            let crate::config::Architecture::Parts {
                backbone,
                neck: Some(n),
                ..
            } = &cfg.architecture
            else {
                continue;
            };
            if let Ok((_, Some(nctx), hctx)) = crate::model::contexts(&cfg.task, backbone, Some(n), 1) {
                out.push((
                    p.name.clone(),
                    nctx.intermediate_features_dim,
                    nctx.strides,
                    hctx.intermediate_features_dim,
                    hctx.strides,
                ));
            }
        }
    }
    out
}

/// Output channels of a backbone for each of its presets, of a neck in the presets that use
/// it (feature dims are computed from the specs' `outputs`, not by running the model).
fn channels(c: &ComponentDesc) -> String {
    if c.kind == "neck" {
        let mut parts: Vec<String> = Vec::new();
        for (_, _, _, dims, _) in neck_flows(&c.name) {
            let s = dims.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(",");
            if !parts.contains(&s) {
                parts.push(s);
            }
        }
        return if parts.is_empty() { "-".into() } else { parts.join("/") };
    }
    if c.kind != "backbone" {
        return "-".into();
    }
    let mut parts: Vec<String> = Vec::new();
    for p in &c.presets {
        let Some(params) = preset_params(&p.body) else { continue };
        let task = p.body.get("task").and_then(|t| t.as_str()).unwrap_or("classification");
        let ctx = Context {
            task: task.into(),
            ..Default::default()
        };
        if let Ok(o) = AnyBackbone::outputs(&c.name, &params, &ctx)
            && let Some(d) = o.feature_dim
        {
            let s = d.to_string();
            if !parts.contains(&s) {
                parts.push(s);
            }
        }
    }
    if parts.is_empty() { "-".into() } else { parts.join("/") }
}

/// The validated backbone params of a preset body.
fn preset_params(body: &serde_json::Value) -> Option<serde_json::Value> {
    let doc = serde_json::json!({ "model": body });
    let text = serde_json::to_string(&doc).ok()?;
    let v = crate::config::check_text(&text);
    match v.config?.architecture {
        crate::config::Architecture::Parts { backbone, .. } => Some(backbone.params),
        crate::config::Architecture::Full(f) => Some(f.params),
    }
}

pub fn list(glob: Option<&str>, task: Option<&str>, kind: Option<Kind>) -> i32 {
    if let Some(t) = task
        && !zoo_spec::spec::TASKS.contains(&t)
    {
        eprintln!(
            "error: unknown task `{t}`; expected one of {}",
            zoo_spec::spec::TASKS.join(", ")
        );
        return USAGE;
    }
    let kind = kind.map(|k| format!("{k:?}").to_lowercase());
    let rows: Vec<&ComponentDesc> = registry::components()
        .iter()
        .filter(|c| glob.is_none_or(|g| glob_match(g, &c.name)))
        .filter(|c| task.is_none_or(|t| c.tasks.iter().any(|x| x == t)))
        .filter(|c| kind.as_deref().is_none_or(|k| c.kind == k))
        .collect();
    println!(
        "{:<22} {:<9} {:<58} {:<10} summary",
        "name", "kind", "tasks", "channels"
    );
    for c in &rows {
        println!(
            "{:<22} {:<9} {:<58} {:<10} {}",
            c.name,
            c.kind,
            c.tasks.join(","),
            channels(c),
            c.summary
        );
    }
    if rows.is_empty() {
        eprintln!("no component matches");
    }
    if task == Some("embedding") && kind.is_none() {
        embedding_models(glob);
    }
    OK
}

/// An embedding preset's output_dim (computed from its specs), backbone and pooling.
fn embedding_model(body: &serde_json::Value) -> Option<(i64, String, String, &'static str)> {
    let doc = serde_json::json!({ "model": body });
    let cfg = crate::config::check_text(&doc.to_string()).config?;
    let crate::config::Architecture::Parts { backbone, head, .. } = &cfg.architecture else {
        // A full embedding model: two towers in one space (CLIP).
        let crate::config::Architecture::Full(f) = &cfg.architecture else {
            return None;
        };
        let dim = crate::model::model_outputs(&cfg).ok()?.feature_dim?;
        let desc = registry::find("full", &f.name)?;
        let task = if desc.input.contains("tokens") {
            "text-to-image"
        } else {
            "image-to-image"
        };
        return Some((dim, f.name.clone(), "cls|eos".into(), task));
    };
    let (_, _, hctx) = crate::model::contexts(&cfg.task, backbone, None, 1).ok()?;
    let dim = head
        .params
        .get("output_dim")
        .and_then(|d| d.as_i64())
        .unwrap_or(hctx.feature_dim);
    let pooling = head
        .params
        .get("pooling")
        .and_then(|d| d.as_str())
        .unwrap_or("-")
        .to_string();
    let task = match registry::find("backbone", &backbone.name).map(|b| b.input.as_str()) {
        Some("tokens") => "text-to-text",
        _ => "image-to-image",
    };
    Some((dim, backbone.name.clone(), pooling, task))
}

/// The embedding models (presets of the `embedding` task) as Finetuner's `describe_models()`
/// lists them, `output_dim` computed from the specs.
fn embedding_models(glob: Option<&str>) {
    let mut rows = Vec::new();
    for c in registry::components() {
        for p in c
            .presets
            .iter()
            .filter(|p| p.body.get("task").and_then(|t| t.as_str()) == Some("embedding"))
        {
            if glob.is_some_and(|g| !glob_match(g, &p.name)) {
                continue;
            }
            let Some((dim, backbone, pooling, task)) = embedding_model(&p.body) else {
                continue;
            };
            rows.push((p.name.clone(), dim, backbone, pooling, task));
        }
    }
    if rows.is_empty() {
        return;
    }
    println!("\nembedding models (`zoo new NAME --task embedding`):");
    let w = rows.iter().map(|r| r.0.len()).max().unwrap_or(0).max(22);
    println!(
        "{:<w$} {:<16} {:>10}  {:<14} pooling",
        "model", "task", "output_dim", "architecture"
    );
    for (name, dim, arch, pooling, task) in rows {
        println!("{name:<w$} {task:<16} {dim:>10}  {arch:<14} {pooling}");
    }
}

pub fn describe(name: &str) -> i32 {
    // A preset name (`resnet50`) describes the component that holds it.
    let holder = || {
        registry::components()
            .iter()
            .find(|c| c.presets.iter().any(|p| p.name == name))
    };
    let found = registry::components().iter().find(|c| c.name == name);
    if found.is_none()
        && let Some(c) = holder()
    {
        println!("`{name}` is a preset of {} `{}`\n", c.kind, c.name);
    }
    let Some(c) = found.or_else(holder) else {
        let names: Vec<&str> = registry::components().iter().map(|c| c.name.as_str()).collect();
        let hint = zoo_spec::diag::did_you_mean(name, names.iter().copied());
        eprintln!("error: no component named `{name}`{hint}");
        return USAGE;
    };
    println!("{} ({})", c.name, c.kind);
    println!("  {}", c.summary);
    if !c.reference.is_empty() {
        println!("  reference: {}", c.reference);
    }
    println!("  tasks: {}", c.tasks.join(", "));
    match c.input.as_str() {
        "tokens" => println!("  input: token ids [B, L] (int) and an attention mask [B, L]"),
        "image+tokens" => {
            println!("  input: images [B, 3, H, W] (image tower) or token ids and a mask [B, L] (text tower)")
        }
        _ => {}
    }
    println!("  spec: {}", c.file);
    let params = |title: &str, ps: &[crate::architectures::registry::ParamDesc]| {
        println!("\n{title}:");
        if ps.is_empty() {
            println!("  (none)");
        }
        for p in ps {
            let default = if p.required {
                "required".to_string()
            } else {
                format!("default {}", p.default)
            };
            let choices = if p.choices.is_empty() {
                String::new()
            } else {
                format!(" one of {}", p.choices.join("|"))
            };
            println!("  {:<28} {:<12} {default}{choices}", p.name, p.ty);
            if !p.doc.is_empty() {
                println!("  {:<28} {}", "", p.doc);
            }
        }
    };
    params("params", &c.params);
    if let Some(sp) = &c.stage_params {
        if sp.tags.is_empty() {
            params("stage_params (one mapping per stage)", &sp.fields);
        } else {
            println!("\nstage_params: one list of blocks per stage; a block is [tag, value, ...]");
            for t in &sp.tags {
                let fields: Vec<&str> = t.fields.iter().map(|f| f.name.as_str()).collect();
                println!("\n  [{}, {}]", t.name, fields.join(", "));
                if !t.doc.is_empty() {
                    println!("  {}", t.doc);
                }
                for f in &t.fields {
                    let doc = if f.doc.is_empty() {
                        String::new()
                    } else {
                        format!("  {}", f.doc)
                    };
                    println!("    {:<30} {:<8}{doc}", f.name, f.ty);
                }
            }
        }
        if !sp.parallel.is_empty() {
            println!("  parallel lists (equal lengths): {}", sp.parallel.join(", "));
        }
    }
    if !c.ignored_params.is_empty() {
        println!(
            "\nignored (accepted for compatibility): {}",
            c.ignored_params.join(", ")
        );
    }
    if c.kind == "neck" {
        let flows = neck_flows(&c.name);
        if !flows.is_empty() {
            println!("\nin presets (input -> output channels @ strides):");
            for (p, di, si, d, st) in flows {
                println!("  {p:<28} {di:?} @ {si:?} -> {d:?} @ {st:?}");
            }
        }
    }
    if !c.presets.is_empty() {
        println!("\npresets:");
        for p in &c.presets {
            if p.body.get("task").and_then(|t| t.as_str()) == Some("embedding")
                && let Some((dim, backbone, pooling, task)) = embedding_model(&p.body)
            {
                let input = match task {
                    "text-to-text" => "token ids and attention mask [B, L]",
                    "text-to-image" => "images [B, 3, H, W] or token ids and attention mask [B, L]",
                    _ => "images [B, 3, H, W]",
                };
                println!(
                    "  {:<28} embedding of {dim} values: {backbone}, {pooling} pooling; input {input}",
                    p.name
                );
                continue;
            }
            let outputs = preset_params(&p.body).and_then(|params| {
                let task = p.body.get("task").and_then(|t| t.as_str()).unwrap_or("classification");
                AnyBackbone::outputs(
                    &c.name,
                    &params,
                    &Context {
                        task: task.into(),
                        ..Default::default()
                    },
                )
                .ok()
            });
            match outputs {
                Some(o) => println!(
                    "  {:<28} feature_dim {}, features {:?}, strides {:?}",
                    p.name,
                    o.feature_dim.map(|d| d.to_string()).unwrap_or("-".into()),
                    o.intermediate_features_dim,
                    o.strides
                ),
                None => println!("  {}", p.name),
            }
        }
    }
    OK
}

pub fn new_config(preset: &str, task: Option<&str>) -> i32 {
    let Some((_, p)) = registry::preset_for_task(preset, task) else {
        if let Some(t) = task
            && registry::preset(preset).is_some()
        {
            eprintln!("error: the preset `{preset}` has no `{t}` variant");
            return USAGE;
        }
        let names = registry::preset_names();
        let hint = zoo_spec::diag::did_you_mean(preset, names.iter().copied());
        eprintln!(
            "error: no preset named `{preset}`{hint}\navailable: {}",
            names.join(", ")
        );
        return USAGE;
    };
    let schema = Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas/model.schema.json");
    println!("# yaml-language-server: $schema={}", schema.display());
    print!("{}", super::emit::yaml(&serde_json::json!({ "model": p.body })));
    OK
}

pub fn schema(out: Option<&Path>) -> i32 {
    let model = zoo_spec::schema::model_schema(registry::components());
    match out {
        None => {
            println!("{}", pretty(&model));
            OK
        }
        Some(dir) => {
            let spec = zoo_spec::schema::spec_schema();
            let write = |name: &str, v: &serde_json::Value| std::fs::write(dir.join(name), pretty(v));
            if let Err(e) = std::fs::create_dir_all(dir)
                .and_then(|_| write("model.schema.json", &model))
                .and_then(|_| write("spec.schema.json", &spec))
            {
                eprintln!("error: cannot write schemas into {}: {e}", dir.display());
                return USAGE;
            }
            println!("wrote {}/model.schema.json and spec.schema.json", dir.display());
            OK
        }
    }
}

/// The committed form of a schema: pretty JSON with a final newline.
pub fn pretty(v: &serde_json::Value) -> String {
    serde_json::to_string_pretty(v).expect("schemas serialise") + "\n"
}
