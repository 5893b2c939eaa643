//! The walk over a `model:` document: structure, names, types, dialects and cross-field rules.
//! Every problem is collected (never only the first) with its span and config path.

use super::params::{component_params, typed};
use super::{Architecture, Checkpoint, Component, Loss, ModelConfig, Validated};
use crate::architectures::registry;
use crate::config::diagnostics::Diagnostic;
use serde_json::Value as J;
use zoo_spec::losses::{CRITERIA, criterion};
use zoo_spec::spec::TASKS;
use zoo_spec::types::Ty;
use zoo_spec::yaml::{Node, Span, Value};

pub struct Cx {
    pub diags: Vec<Diagnostic>,
}

impl Cx {
    pub fn error(&mut self, span: Span, path: impl Into<String>, message: impl Into<String>) {
        self.diags.push(Diagnostic::error(span, path, message));
    }
    pub fn push(&mut self, d: Diagnostic) {
        self.diags.push(d);
    }
    fn unknown_keys(&mut self, node: &Node, allowed: &[&str], path: &str, owner: &str) {
        for (k, _) in node.as_map().unwrap_or_default() {
            let key = k.key_text();
            if !allowed.contains(&key.as_str()) {
                let help = zoo_spec::diag::closest(&key, allowed.iter().copied())
                    .map(|c| format!("did you mean `{c}`?"))
                    .unwrap_or_else(|| {
                        format!(
                            "expected one of {}",
                            allowed.iter().map(|a| format!("`{a}`")).collect::<Vec<_>>().join(", ")
                        )
                    });
                self.push(Diagnostic::error(k.span, path, format!("unknown key `{key}` in {owner}")).with_help(help));
            }
        }
    }
    fn opt_str(&mut self, node: Option<&Node>, path: &str) -> Option<String> {
        let n = node?;
        match &n.value {
            Value::Null => None,
            Value::Str(s) if s.is_empty() => None,
            Value::Str(s) => Some(s.clone()),
            _ => {
                self.error(
                    n.span,
                    path,
                    format!("expected a path (a string) or null, found {}", n.type_name()),
                );
                None
            }
        }
    }
    fn bool_or(&mut self, node: Option<&Node>, path: &str, default: bool) -> bool {
        match node {
            None => default,
            Some(n) => match typed(self, n, &Ty::Bool, path, None) {
                Some(J::Bool(b)) => b,
                _ => default,
            },
        }
    }
}

/// The sections of a merged NetsPresso config that are not the model's business.
const OTHER_SECTIONS: &[&str] = &["data", "augmentation", "training", "logging", "environment"];
const MODEL_KEYS: &[&str] = &[
    "task",
    "name",
    "checkpoint",
    "fx_model_checkpoint",
    "resume_optimizer_checkpoint",
    "freeze_backbone",
    "architecture",
    "postprocessor",
    "losses",
];

pub fn validate(root: &Node) -> Validated {
    let mut cx = Cx { diags: Vec::new() };
    let config = model_document(&mut cx, root);
    // A merged file's other sections are checked too.
    for key in OTHER_SECTIONS {
        super::sections::check_section(&mut cx, root, key);
    }
    let failed = cx
        .diags
        .iter()
        .any(|d| d.severity == crate::config::diagnostics::Severity::Error);
    cx.diags.sort_by_key(|d| (d.span.start.line, d.span.start.col));
    Validated {
        config: if failed { None } else { config },
        diagnostics: cx.diags,
    }
}

/// Validates any of NetsPresso's six config files (or a merged one): the model section when
/// there is one (see `validate`), and every other section present.
pub fn validate_any(root: &Node) -> Validated {
    if root.get("model").is_some() {
        return validate(root);
    }
    let mut cx = Cx { diags: Vec::new() };
    let mut allowed = vec!["model"];
    allowed.extend(OTHER_SECTIONS);
    if root.as_map().is_none() {
        cx.error(
            root.span,
            "",
            format!(
                "a config is a mapping with one of {}, found {}",
                allowed.iter().map(|k| format!("`{k}:`")).collect::<Vec<_>>().join(", "),
                root.type_name()
            ),
        );
    } else {
        cx.unknown_keys(root, &allowed, "", "the config");
        let present = OTHER_SECTIONS.iter().filter(|k| root.get(k).is_some()).count();
        if present == 0 && root.as_map().is_some_and(|m| m.is_empty()) {
            cx.error(
                root.span,
                "",
                "an empty config: expected one of `data:`, `augmentation:`, `model:`, `training:`, `logging:`, `environment:`",
            );
        }
        for key in OTHER_SECTIONS {
            super::sections::check_section(&mut cx, root, key);
        }
    }
    cx.diags.sort_by_key(|d| (d.span.start.line, d.span.start.col));
    Validated {
        config: None,
        diagnostics: cx.diags,
    }
}

fn model_document(cx: &mut Cx, root: &Node) -> Option<ModelConfig> {
    if root.as_map().is_none() {
        cx.error(
            root.span,
            "",
            format!("a config is a mapping with a `model:` key, found {}", root.type_name()),
        );
        return None;
    }
    let mut allowed = vec!["model"];
    allowed.extend(OTHER_SECTIONS);
    cx.unknown_keys(root, &allowed, "", "the config");
    let Some((_, model)) = root.get_entry("model") else {
        let misspelled = root
            .as_map()
            .unwrap_or_default()
            .iter()
            .any(|(k, _)| zoo_spec::diag::closest(&k.key_text(), ["model"]).is_some());
        if !misspelled {
            cx.error(root.span, "", "missing `model:`");
        }
        return None;
    };
    if model.as_map().is_none() {
        cx.error(
            model.span,
            "model",
            format!("`model` must be a mapping, found {}", model.type_name()),
        );
        return None;
    }
    cx.unknown_keys(model, MODEL_KEYS, "model", "model");

    let task = match model.get("task") {
        Some(n) => match n.as_str() {
            Some(t) if TASKS.contains(&t) => Some(t.to_string()),
            Some(t) => {
                let help = zoo_spec::diag::closest(t, TASKS.iter().copied())
                    .map(|c| format!("did you mean `{c}`?"))
                    .unwrap_or_else(|| format!("expected one of {}", TASKS.join(", ")));
                cx.push(Diagnostic::error(n.span, "model.task", format!("unknown task `{t}`")).with_help(help));
                None
            }
            None => {
                cx.error(
                    n.span,
                    "model.task",
                    format!("`task` must be a string, found {}", n.type_name()),
                );
                None
            }
        },
        None => {
            cx.error(model.span, "model", "missing required key `task`");
            None
        }
    };
    let name = match model.get("name") {
        Some(n) => match &n.value {
            Value::Str(s) => s.clone(),
            Value::Int(i) => i.to_string(),
            _ => {
                cx.error(
                    n.span,
                    "model.name",
                    format!("`name` must be a string, found {}", n.type_name()),
                );
                String::new()
            }
        },
        None => {
            cx.error(model.span, "model", "missing required key `name`");
            String::new()
        }
    };
    let checkpoint = checkpoint(cx, model);
    checkpoint_available(cx, model, &checkpoint, &name);
    let freeze_backbone = cx.bool_or(model.get("freeze_backbone"), "model.freeze_backbone", false);
    let architecture = match (model.get("architecture"), &task) {
        (Some(a), Some(t)) => architecture(cx, a, t),
        (Some(a), None) => {
            // Still report structural problems of the architecture.
            architecture(cx, a, "");
            None
        }
        (None, _) => {
            cx.error(model.span, "model", "missing required key `architecture`");
            None
        }
    };
    if freeze_backbone && let Some(Architecture::Full(_)) = &architecture {
        let n = model.get_entry("freeze_backbone").unwrap().0;
        cx.push(Diagnostic::warning(
            n.span,
            "model.freeze_backbone",
            "a full model has no separate backbone; `freeze_backbone` is ignored",
        ));
    }
    let postprocessor = super::postprocessor::validate(cx, model, architecture.as_ref());
    let losses = losses(cx, model, task.as_deref());
    loss_pairing(cx, model, architecture.as_ref(), task.as_deref(), &losses);
    Some(ModelConfig {
        task: task?,
        name,
        checkpoint,
        freeze_backbone,
        architecture: architecture?,
        postprocessor,
        losses,
    })
}

/// Weights that will be needed must exist, or be registered for download under `model.name`
/// (NetsPresso downloads a missing checkpoint of a known model; anything else fails later).
fn checkpoint_available(cx: &mut Cx, model: &Node, ck: &Checkpoint, name: &str) {
    if let Some(fx) = &ck.fx_model_path {
        if !std::path::Path::new(fx).exists() {
            let at = model
                .get("fx_model_checkpoint")
                .or_else(|| model.get("checkpoint").and_then(|c| c.get("path")))
                .map(|n| n.span)
                .unwrap_or(model.span);
            cx.error(at, "model.checkpoint", format!("torch.fx model `{fx}` does not exist"));
        }
        return;
    }
    if !ck.use_pretrained || name.is_empty() || crate::architectures::registry::pretrained(name).is_some() {
        return;
    }
    let node = |key: &str| -> Option<&Node> {
        let c = model.get("checkpoint")?;
        if key.is_empty() { Some(c) } else { c.get(key) }
    };
    match &ck.path {
        Some(p) if !std::path::Path::new(p).exists() => {
            let at = node("path")
                .filter(|n| !n.is_null())
                .or(node(""))
                .map(|n| n.span)
                .unwrap_or(model.span);
            cx.push(
                Diagnostic::error(at, "model.checkpoint.path", format!("checkpoint `{p}` does not exist")).with_help(
                    format!("no pretrained weights are registered for `{name}` to download instead"),
                ),
            );
        }
        None => {
            let at = model
                .get("checkpoint")
                .and_then(|c| c.get_entry("use_pretrained"))
                .map(|(k, _)| k.span)
                .unwrap_or(model.span);
            cx.push(
                Diagnostic::error(
                    at,
                    "model.checkpoint.use_pretrained",
                    format!("no pretrained weights are registered for `{name}`"),
                )
                .with_help("set `use_pretrained: false`, or give `checkpoint.path`"),
            );
        }
        _ => {}
    }
}

fn checkpoint(cx: &mut Cx, model: &Node) -> Checkpoint {
    let mut ck = Checkpoint::default();
    let fx = cx.opt_str(model.get("fx_model_checkpoint"), "model.fx_model_checkpoint");
    let resume = cx.opt_str(
        model.get("resume_optimizer_checkpoint"),
        "model.resume_optimizer_checkpoint",
    );
    match model.get_entry("checkpoint") {
        None => {}
        Some((_, n)) if n.is_null() => {}
        Some((_, n)) if matches!(n.value, Value::Str(_)) => {
            // Documented dialect: `checkpoint: path`.
            ck.path = cx.opt_str(Some(n), "model.checkpoint");
            ck.use_pretrained = ck.path.is_some();
            ck.load_head = true;
        }
        Some((_, n)) if n.as_map().is_some() => {
            cx.unknown_keys(
                n,
                &["use_pretrained", "load_head", "path", "optimizer_path"],
                "model.checkpoint",
                "checkpoint",
            );
            ck.use_pretrained = cx.bool_or(n.get("use_pretrained"), "model.checkpoint.use_pretrained", true);
            ck.load_head = cx.bool_or(n.get("load_head"), "model.checkpoint.load_head", false);
            ck.path = cx.opt_str(n.get("path"), "model.checkpoint.path");
            ck.optimizer_path = cx.opt_str(n.get("optimizer_path"), "model.checkpoint.optimizer_path");
            if let Some(p) = &ck.path {
                let ext = std::path::Path::new(p)
                    .extension()
                    .and_then(|e| e.to_str())
                    .unwrap_or("");
                match ext {
                    "pt" => {
                        ck.fx_model_path = ck.path.take();
                    }
                    "safetensors" | "pth" | "bin" | "mpk" | "bpk" => {}
                    _ => {
                        let v = n.get("path").unwrap();
                        cx.push(
                            Diagnostic::error(
                                v.span,
                                "model.checkpoint.path",
                                format!("unsupported checkpoint format `{p}`"),
                            )
                            .with_help("expected a .safetensors or .pth state dict, or a .pt torch.fx model"),
                        );
                    }
                }
            }
        }
        Some((_, n)) => {
            cx.error(
                n.span,
                "model.checkpoint",
                format!(
                    "`checkpoint` must be a path, a mapping or null, found {}",
                    n.type_name()
                ),
            );
        }
    }
    if fx.is_some() && (ck.path.is_some() || ck.fx_model_path.is_some()) {
        let (k, _) = model.get_entry("fx_model_checkpoint").unwrap();
        cx.push(
            Diagnostic::error(
                k.span,
                "model.fx_model_checkpoint",
                "`fx_model_checkpoint` and `checkpoint` are exclusive",
            )
            .with_help("set one of them"),
        );
    }
    if fx.is_some() {
        ck.fx_model_path = fx;
    }
    if resume.is_some() {
        if ck.optimizer_path.is_some() {
            let (k, _) = model.get_entry("resume_optimizer_checkpoint").unwrap();
            cx.error(k.span, "model.resume_optimizer_checkpoint", "the optimizer checkpoint is given twice (`resume_optimizer_checkpoint` and `checkpoint.optimizer_path`)");
        }
        ck.optimizer_path = resume;
    }
    ck
}

fn architecture(cx: &mut Cx, a: &Node, task: &str) -> Option<Architecture> {
    const PATH: &str = "model.architecture";
    if a.as_map().is_none() {
        cx.error(
            a.span,
            PATH,
            format!("`architecture` must be a mapping, found {}", a.type_name()),
        );
        return None;
    }
    cx.unknown_keys(a, &["full", "backbone", "neck", "head"], PATH, "architecture");
    let full = a.get("full").filter(|f| !f.is_null());
    let full_named = full.and_then(|f| f.get("name")).filter(|n| !n.is_null());
    if let (Some(f), Some(_)) = (full, full_named) {
        for part in ["backbone", "neck", "head"] {
            if let Some((k, v)) = a.get_entry(part)
                && !v.is_null()
            {
                cx.push(
                    Diagnostic::error(
                        k.span,
                        format!("{PATH}.{part}"),
                        format!("`{part}` cannot be combined with a full model"),
                    )
                    .with_help("a full model (`architecture.full.name`) replaces backbone, neck and head"),
                );
            }
        }
        return full_model(cx, f, task).map(Architecture::Full);
    }
    if let Some(f) = full {
        if f.as_map().is_none() {
            cx.error(
                f.span,
                format!("{PATH}.full"),
                format!("`full` must be null or a mapping, found {}", f.type_name()),
            );
        } else {
            cx.unknown_keys(
                f,
                &["name"],
                &format!("{PATH}.full"),
                "full (without a name it only may hold `name: ~`)",
            );
        }
    }
    let backbone = match a.get_entry("backbone") {
        Some((_, n)) if !n.is_null() => component(cx, n, "backbone", task, &format!("{PATH}.backbone")),
        _ => {
            cx.error(a.span, PATH, "missing `backbone` (or a full model in `full`)");
            None
        }
    };
    let neck = match a.get("neck") {
        Some(n) if !n.is_null() => component(cx, n, "neck", task, &format!("{PATH}.neck")),
        _ => None,
    };
    let head = match a.get("head") {
        Some(n) if !n.is_null() => component(cx, n, "head", task, &format!("{PATH}.head")),
        _ => {
            cx.error(a.span, PATH, "missing `head`");
            None
        }
    };
    let (backbone, head) = (backbone?, head?);
    if a.get("neck").is_some_and(|n| !n.is_null()) && neck.is_none() {
        return None;
    }
    super::checks::resolve(cx, a, task, &backbone, neck.as_ref(), &head)?;
    Some(Architecture::Parts { backbone, neck, head })
}

fn full_model(cx: &mut Cx, f: &Node, task: &str) -> Option<Component> {
    let path = "model.architecture.full";
    let name_node = f.get("name")?;
    let Some(name) = name_node.as_str() else {
        cx.error(name_node.span, format!("{path}.name"), "`name` must be a string");
        return None;
    };
    let desc = find_component(cx, "full", name, name_node, path)?;
    task_supported(cx, desc, name_node, task, path);
    let mut allowed: Vec<&str> = desc.params.iter().map(|p| p.name.as_str()).collect();
    allowed.push("name");
    cx.unknown_keys(
        f,
        &allowed,
        path,
        &format!("{name} (its fields sit directly under `full`)"),
    );
    let mut m = serde_json::Map::new();
    for p in &desc.params {
        match f.get(&p.name) {
            Some(v) => {
                if let Some(j) = typed(
                    cx,
                    v,
                    &zoo_spec::registry::parse_ty(&p.ty),
                    &format!("{path}.{}", p.name),
                    Some(p),
                ) {
                    m.insert(p.name.clone(), j);
                }
            }
            None if p.required => cx.error(f.span, path, format!("missing required key `{}` in {name}", p.name)),
            None => {
                m.insert(p.name.clone(), p.default.clone());
            }
        }
    }
    let c = Component {
        name: name.to_string(),
        params: J::Object(m),
    };
    super::checks::resolve_full(cx, f, task, &c)?;
    Some(c)
}

/// Looks a component up by name (lower-cased as NetsPresso does, except necks); reports an
/// unknown name with a suggestion.
fn find_component(
    cx: &mut Cx,
    kind: &str,
    name: &str,
    at: &Node,
    path: &str,
) -> Option<&'static registry::ComponentDesc> {
    let lookup = if kind == "neck" {
        name.to_string()
    } else {
        name.to_lowercase()
    };
    if let Some(desc) = registry::find(kind, &lookup) {
        return Some(desc);
    }
    let what = if kind == "full" { "full model" } else { kind };
    let names = registry::names(kind);
    let help = zoo_spec::diag::closest(name, names.iter().copied())
        .map(|c| format!("did you mean `{c}`?"))
        .unwrap_or_else(|| {
            if names.is_empty() {
                format!("no {what}s are in the zoo yet")
            } else {
                format!("expected one of {}", names.join(", "))
            }
        });
    cx.push(Diagnostic::error(at.span, format!("{path}.name"), format!("unknown {what} `{name}`")).with_help(help));
    None
}

fn task_supported(cx: &mut Cx, desc: &registry::ComponentDesc, at: &Node, task: &str, path: &str) {
    if !task.is_empty() && !desc.tasks.iter().any(|t| t == task) {
        cx.push(
            Diagnostic::error(
                at.span,
                format!("{path}.name"),
                format!("{} `{}` does not support the task `{task}`", desc.kind, desc.name),
            )
            .with_help(format!("`{}` supports: {}", desc.name, desc.tasks.join(", "))),
        );
    }
}

fn component(cx: &mut Cx, n: &Node, kind: &str, task: &str, path: &str) -> Option<Component> {
    if n.as_map().is_none() {
        cx.error(
            n.span,
            path,
            format!(
                "`{kind}` must be a mapping with `name` and `params`, found {}",
                n.type_name()
            ),
        );
        return None;
    }
    let mut allowed = vec!["name", "params"];
    if kind == "backbone" {
        allowed.push("stage_params");
    }
    cx.unknown_keys(n, &allowed, path, kind);
    let Some(name_node) = n.get("name") else {
        cx.error(n.span, path, format!("missing `name` of the {kind}"));
        return None;
    };
    let Some(name) = name_node.as_str() else {
        cx.error(
            name_node.span,
            format!("{path}.name"),
            format!("the {kind} name must be a string, found {}", name_node.type_name()),
        );
        return None;
    };
    let desc = find_component(cx, kind, name, name_node, path)?;
    task_supported(cx, desc, name_node, task, path);
    let params = component_params(cx, desc, n, path)?;
    Some(Component {
        name: desc.name.clone(),
        params,
    })
}

/// The criterion each head (or full model) is meant to be trained with (NetsPresso's docs and
/// configs; NetsPresso does not enforce the pairing, so a mismatch is a warning).
const PAIRED_LOSSES: &[(&str, &str)] = &[
    ("fc", "cross_entropy"),
    ("fc_conv", "cross_entropy"),
    ("all_mlp_decoder", "seg_cross_entropy"),
    ("pidnet", "pidnet_loss"),
    ("anchor_free_decoupled_head", "yolox_loss"),
    ("anchor_decoupled_head", "retinanet_loss"),
    ("yolo_fastest_head_v2", "yolofastest_loss"),
    ("yolo_detection_head", "yolov9_loss"),
    ("rtdetr_head", "detr_loss"),
    ("rtmcc", "rtmcc_loss"),
];

fn loss_pairing(cx: &mut Cx, model: &Node, arch: Option<&Architecture>, task: Option<&str>, losses: &[Loss]) {
    let (producer, kind) = match arch {
        Some(Architecture::Parts { head, .. }) => (head.name.as_str(), "head"),
        Some(Architecture::Full(f)) => (f.name.as_str(), "full"),
        None => return,
    };
    // A head or loss that does not fit the task is an error already.
    let fits = |tasks: &[String]| task.is_none_or(|t| tasks.iter().any(|x| x == t));
    if !registry::find(kind, producer).is_some_and(|d| fits(&d.tasks)) {
        return;
    }
    let Some((_, want)) = PAIRED_LOSSES.iter().find(|(h, _)| *h == producer) else {
        return;
    };
    if losses.is_empty() || losses.iter().any(|l| l.criterion == *want) {
        return;
    }
    let items = model.get("losses").and_then(|l| l.as_seq()).unwrap_or_default();
    for (i, it) in items.iter().enumerate() {
        let Some(at) = it.get("criterion") else { continue };
        let Some(name) = at.as_str().filter(|n| losses.iter().any(|l| l.criterion == *n)) else {
            continue;
        };
        if criterion(name).is_some_and(|c| task.is_some_and(|t| !c.tasks.contains(&t))) {
            continue;
        }
        cx.push(
            Diagnostic::warning(
                at.span,
                format!("model.losses[{i}].criterion"),
                format!("`{name}` is not the loss of `{producer}`, which is trained with `{want}`"),
            )
            .with_help(format!("NetsPresso pairs `{producer}` with `{want}`")),
        );
    }
}

/// RT-DETR's set loss: the partial losses it knows (anything else hits NetsPresso's assert
/// "do you really want to compute {loss} loss?") and a Hungarian matcher (resolved with
/// `eval()` in NetsPresso, so only that name works).
fn detr_loss(cx: &mut Cx, it: &Node, path: &str) {
    const PARTIAL: &[&str] = &["labels", "boxes", "cardinality", "focal", "vfl"];
    for (k, l) in it
        .get("losses")
        .and_then(|l| l.as_seq())
        .unwrap_or_default()
        .iter()
        .enumerate()
    {
        if let Some(name) = l.as_str()
            && !PARTIAL.contains(&name)
        {
            let help = zoo_spec::diag::closest(name, PARTIAL.iter().copied())
                .map(|c| format!("did you mean `{c}`?"))
                .unwrap_or_else(|| format!("expected one of {}", PARTIAL.join(", ")));
            cx.push(
                Diagnostic::error(
                    l.span,
                    format!("{path}.losses[{k}]"),
                    format!("`{name}` is not a partial loss of detr_loss"),
                )
                .with_help(help),
            );
        }
    }
    let Some(m) = it.get("matcher").filter(|m| m.as_map().is_some()) else {
        return;
    };
    let mpath = format!("{path}.matcher");
    cx.unknown_keys(
        m,
        &["type", "weight_dict", "alpha", "gamma", "use_focal_loss"],
        &mpath,
        "the matcher",
    );
    match m.get("type") {
        Some(t) if t.as_str() == Some("HungarianMatcher") => {}
        Some(t) => cx.error(
            t.span,
            format!("{mpath}.type"),
            "the matcher `type` must be `HungarianMatcher` (the only matcher NetsPresso has)",
        ),
        None => cx.error(m.span, &mpath, "missing `type` in the matcher (`HungarianMatcher`)"),
    }
    if let Some(w) = m.get("weight_dict").filter(|w| w.as_map().is_some()) {
        cx.unknown_keys(
            w,
            &["cost_class", "cost_bbox", "cost_giou"],
            &format!("{mpath}.weight_dict"),
            "the matcher's weight_dict",
        );
        for key in ["cost_class", "cost_bbox", "cost_giou"] {
            match w.get(key) {
                Some(v) => {
                    typed(cx, v, &Ty::Float, &format!("{mpath}.weight_dict.{key}"), None);
                }
                None => cx.error(
                    w.span,
                    format!("{mpath}.weight_dict"),
                    format!("missing `{key}` in the matcher's weight_dict"),
                ),
            }
        }
    }
    for (key, ty) in [("alpha", Ty::Float), ("gamma", Ty::Float), ("use_focal_loss", Ty::Bool)] {
        if let Some(v) = m.get(key) {
            typed(cx, v, &ty, &format!("{mpath}.{key}"), None);
        }
    }
}

fn losses(cx: &mut Cx, model: &Node, task: Option<&str>) -> Vec<Loss> {
    let Some(list) = model.get("losses") else {
        return Vec::new();
    };
    if list.is_null() {
        return Vec::new();
    }
    let Some(items) = list.as_seq() else {
        cx.error(
            list.span,
            "model.losses",
            format!("`losses` must be a list, found {}", list.type_name()),
        );
        return Vec::new();
    };
    let mut out: Vec<Loss> = Vec::new();
    for (i, it) in items.iter().enumerate() {
        let path = format!("model.losses[{i}]");
        if it.as_map().is_none() {
            cx.error(
                it.span,
                &path,
                format!("a loss must be a mapping with `criterion`, found {}", it.type_name()),
            );
            continue;
        }
        let Some(cn) = it.get("criterion") else {
            cx.error(it.span, &path, "missing `criterion`");
            continue;
        };
        let Some(c) = cn.as_str().and_then(criterion) else {
            let text = cn.as_str().unwrap_or("");
            let help = zoo_spec::diag::closest(text, CRITERIA.iter().map(|c| c.name))
                .map(|c| format!("did you mean `{c}`?"))
                .unwrap_or_else(|| {
                    format!(
                        "expected one of {}",
                        CRITERIA.iter().map(|c| c.name).collect::<Vec<_>>().join(", ")
                    )
                });
            cx.push(
                Diagnostic::error(
                    cn.span,
                    format!("{path}.criterion"),
                    format!("unknown loss criterion `{text}`"),
                )
                .with_help(help),
            );
            continue;
        };
        if let Some(t) = task
            && !c.tasks.contains(&t)
        {
            cx.push(
                Diagnostic::error(
                    cn.span,
                    format!("{path}.criterion"),
                    format!("loss `{}` does not fit the task `{t}`", c.name),
                )
                .with_help(format!("`{}` is a loss for {}", c.name, c.tasks.join(", "))),
            );
        }
        if out.iter().any(|l| l.criterion == c.name) {
            cx.push(Diagnostic::error(
                cn.span,
                format!("{path}.criterion"),
                format!(
                    "loss `{}` is listed twice; NetsPresso would keep only the last one",
                    c.name
                ),
            ));
        }
        let mut allowed: Vec<&str> = c.fields.iter().map(|f| f.0).collect();
        allowed.push("criterion");
        cx.unknown_keys(it, &allowed, &path, &format!("the `{}` loss", c.name));
        let mut weight = None;
        for (fname, ty, _) in c.fields {
            let Some(v) = it.get(fname) else { continue };
            let fpath = format!("{path}.{fname}");
            match *ty {
                "map" => {
                    if v.as_map().is_none() && !v.is_null() {
                        cx.error(
                            v.span,
                            &fpath,
                            format!("`{fname}` must be a mapping, found {}", v.type_name()),
                        );
                    }
                }
                "list<list<float>>" => {
                    typed(cx, v, &Ty::list(Ty::list(Ty::Float)), &fpath, None);
                }
                t => {
                    let j = typed(cx, v, &zoo_spec::registry::parse_ty(t), &fpath, None);
                    if let (Some((lo, hi)), Some(x)) = (
                        zoo_spec::losses::field_range(fname),
                        j.as_ref().and_then(|j| j.as_f64()),
                    ) && !(lo..=hi).contains(&x)
                    {
                        cx.error(
                            v.span,
                            &fpath,
                            format!(
                                "`{fname}` must be in [{lo}, {hi}], found {x} (PyTorch refuses it when training starts)"
                            ),
                        );
                    }
                    // Masks hold 0..255: another ignore_index ignores no pixel, and the
                    // undefined ones (255) then fail the loss.
                    if *fname == "ignore_index"
                        && matches!(c.name, "seg_cross_entropy" | "pidnet_loss")
                        && let Some(x) = j.as_ref().and_then(|j| j.as_i64())
                        && !(0..=255).contains(&x)
                    {
                        cx.push(
                            Diagnostic::warning(
                                v.span,
                                &fpath,
                                format!("`ignore_index` {x} matches no mask pixel (masks hold 0..255)"),
                            )
                            .with_help("NetsPresso marks undefined pixels 255; `ignore_index: 255` skips them"),
                        );
                    }
                    if *fname == "weight" {
                        weight = j.and_then(|j| j.as_f64());
                    }
                }
            }
        }
        for r in c.required {
            if it.get(r).is_none() {
                cx.error(
                    it.span,
                    &path,
                    format!(
                        "missing `{r}` in the `{}` loss (NetsPresso reads it without a default)",
                        c.name
                    ),
                );
            }
        }
        if c.name == "detr_loss" {
            detr_loss(cx, it, &path);
        }
        let mut fields = it.to_json();
        if let Some(o) = fields.as_object_mut() {
            o.remove("criterion");
            o.remove("weight");
        }
        out.push(Loss {
            criterion: c.name.to_string(),
            weight,
            fields,
        });
    }
    out
}
