//! The rules a schema cannot state: within one section (a train split to train on, `mixing`
//! last, checkpoints at a multiple of the validation cadence, ...) and across the files of one
//! run (`data.task` against `model.task`, metric names against the task, `overwrite` against a
//! full model). NetsPresso finds most of these mid-run, or not at all.

use super::schemas::METRICS;
use crate::config::diagnostics::Diagnostic;
use crate::config::validate::Cx;
use zoo_spec::yaml::Node;

fn at<'a>(n: &'a Node, path: &str) -> Option<&'a Node> {
    path.split('.').try_fold(n, |n, k| n.get(k))
}

fn text<'a>(n: &'a Node, path: &str) -> Option<&'a str> {
    at(n, path).and_then(|v| v.as_str())
}

fn int(n: &Node, path: &str) -> Option<i64> {
    match at(n, path).map(|v| &v.value) {
        Some(zoo_spec::yaml::Value::Int(i)) => Some(*i),
        _ => None,
    }
}

/// The node that names `path` (the key when present, else the closest parent).
fn span_of(n: &Node, path: &str) -> zoo_spec::yaml::Span {
    let mut cur = n;
    for k in path.split('.') {
        match cur.get_entry(k) {
            Some((_, v)) => cur = v,
            None => break,
        }
    }
    cur.span
}

/// The key that names `path` (the closest parent's when it is absent).
fn key_of(n: &Node, path: &str) -> zoo_spec::yaml::Span {
    let mut cur = n;
    let mut span = n.span;
    for k in path.split('.') {
        match cur.get_entry(k) {
            Some((key, v)) => {
                span = key.span;
                cur = v;
            }
            None => break,
        }
    }
    span
}

/// Rules inside one section (`key` names it; `section` is its body).
pub fn within(cx: &mut Cx, section: &Node, key: &str) {
    match key {
        "data" => data(cx, section),
        "augmentation" => augmentation(cx, section),
        "training" => training(cx, section),
        "logging" => logging(cx, section),
        _ => {}
    }
}

fn data(cx: &mut Cx, d: &Node) {
    let task = text(d, "task");
    let format = text(d, "format");
    let place = |key: &'static str| if d.get(key).is_some() { key } else { "format" };
    if format == Some("local") && at(d, "path.root").is_none_or(|r| r.is_null()) {
        cx.error(
            key_of(d, place("path")),
            "data.path",
            "a `local` dataset needs `path.root`",
        );
    }
    if format == Some("huggingface") && text(d, "metadata.repo").is_none() {
        cx.error(
            key_of(d, place("metadata")),
            "data.metadata",
            "a `huggingface` dataset needs `metadata.repo`",
        );
    }
    if task == Some("segmentation") && d.get("label_image_mode").is_none() {
        cx.push(
            Diagnostic::warning(
                key_of(d, "task"),
                "data",
                "a segmentation dataset without `label_image_mode` (zoo reads `L`)",
            )
            .with_help("NetsPresso 1.4.1 stops with a missing-key error without it; add `label_image_mode: L`"),
        );
    }
    if let Some((k, _)) = d.get_entry("label_image_mode")
        && task.is_some_and(|t| ["classification", "detection", "pose_estimation"].contains(&t))
    {
        cx.push(Diagnostic::warning(
            k.span,
            "data.label_image_mode",
            "`label_image_mode` is read for segmentation only; it is ignored here",
        ));
    }
}

/// Transform arguments NetsPresso's constructors take without a default.
fn optional_kwarg(name: &str, key: &str) -> bool {
    matches!(
        (name, key),
        ("randomioucrop", "sampler_options" | "trials") | ("mixing", _)
    )
}

fn augmentation(cx: &mut Cx, a: &Node) {
    let schema = super::schemas::augmentation();
    let variants = schema["definitions"]["transform"]["allOf"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    for phase in ["train", "inference"] {
        let Some(list) = a.get(phase).and_then(|l| l.as_seq()) else {
            continue;
        };
        for (i, t) in list.iter().enumerate() {
            let name = t.get("name").and_then(|n| n.as_str()).unwrap_or("").to_lowercase();
            let path = format!("augmentation.{phase}[{i}]");
            if name == "mixing" && i + 1 != list.len() {
                cx.push(
                    Diagnostic::error(t.span, &path, "`mixing` must be the last transform")
                        .with_help("NetsPresso refuses it in the middle (\"Mixing transform is in the middle of transforms. This must be in the last of transforms list.\")"),
                );
            }
            if name == "resize"
                && t.get("size")
                    .is_some_and(|s| matches!(s.value, zoo_spec::yaml::Value::Int(_)))
                && t.get("resize_criteria").is_none_or(|c| c.is_null())
            {
                cx.push(
                    Diagnostic::error(t.get("size").map_or(t.span, |s| s.span), format!("{path}.size"), "a resize to one number needs `resize_criteria`")
                        .with_help("set `resize_criteria: short` or `long`, or give `size: [height, width]` (NetsPresso asserts it)"),
                );
            }
            let Some(branch) = variants
                .iter()
                .find(|b| b["if"]["properties"]["name"]["const"] == name.as_str())
            else {
                continue;
            };
            let missing: Vec<String> = branch["then"]["properties"]
                .as_object()
                .map(|p| {
                    p.keys()
                        .filter(|k| *k != "name" && t.get(k).is_none() && !optional_kwarg(&name, k))
                        .map(|k| format!("`{k}`"))
                        .collect()
                })
                .unwrap_or_default();
            if !missing.is_empty() {
                cx.push(
                    Diagnostic::warning(t.span, &path, format!("`{name}` without {}", missing.join(", "))).with_help(
                        "NetsPresso 1.4.1 requires every argument of a transform (zoo uses torchvision's defaults)",
                    ),
                );
            }
        }
    }
}

fn training(cx: &mut Cx, t: &Node) {
    let epochs = int(t, "epochs");
    let sched = text(t, "scheduler.name");
    if let (Some(e), Some(end), Some("cosine_no_sgdr")) = (epochs, int(t, "scheduler.end_epoch"), sched)
        && end > e
    {
        cx.push(Diagnostic::warning(
            span_of(t, "scheduler.end_epoch"),
            "training.scheduler.end_epoch",
            format!(
                "`end_epoch` {end} is beyond `epochs` {e}; the schedule ends at epoch {e} (as NetsPresso clamps it)"
            ),
        ));
    }
    if let (Some(w), Some(end)) = (int(t, "scheduler.warmup_epochs"), int(t, "scheduler.end_epoch"))
        && w > end
    {
        cx.push(Diagnostic::warning(
            span_of(t, "scheduler.warmup_epochs"),
            "training.scheduler.warmup_epochs",
            format!("the warmup ({w} epochs) outlasts `end_epoch` {end}: the learning rate freezes mid-warmup"),
        ));
    }
    if let Some(list) = at(t, "optimizer.overwrite").and_then(|o| o.as_seq()) {
        let mut seen = Vec::new();
        for (i, g) in list.iter().enumerate() {
            if let Some(p) = g.get("param_group").and_then(|p| p.as_str()) {
                if seen.contains(&p) {
                    cx.push(Diagnostic::warning(
                        g.span,
                        format!("training.optimizer.overwrite[{i}]"),
                        format!("`{p}` is overwritten twice; the later entry's settings win"),
                    ));
                }
                seen.push(p);
            }
        }
    }
}

fn logging(cx: &mut Cx, l: &Node) {
    let v = int(l, "model_save_options.validation_epoch");
    let s = int(l, "model_save_options.save_checkpoint_epoch");
    if let (Some(v), Some(s)) = (v, s)
        && v >= 1
        && s >= 1
        && s % v != 0
    {
        cx.push(
            Diagnostic::error(
                span_of(l, "model_save_options.save_checkpoint_epoch"),
                "logging.model_save_options.save_checkpoint_epoch",
                format!("`save_checkpoint_epoch` ({s}) must be a multiple of `validation_epoch` ({v})"),
            )
            .with_help(format!("e.g. {}", v * (s / v).max(1))),
        );
    }
}

/// One file of a run: its index among the files, and its document.
pub struct Doc<'a> {
    pub file: usize,
    pub root: &'a Node,
}

/// The first file's section `key`.
fn find<'a>(docs: &'a [Doc<'a>], key: &str) -> Option<(usize, &'a Node)> {
    docs.iter().find_map(|d| d.root.get(key).map(|n| (d.file, n)))
}

/// Rules across the files of one run; each diagnostic names the file it belongs to.
pub fn across(docs: &[Doc]) -> Vec<(usize, Diagnostic)> {
    let mut out = Vec::new();
    let model = find(docs, "model");
    let data = find(docs, "data");
    let model_task = model.and_then(|(_, m)| text(m, "task"));
    let data_task = data.and_then(|(_, d)| text(d, "task"));
    if let (Some((df, d)), Some(mt), Some(dt)) = (data, model_task, data_task)
        && mt != dt
    {
        out.push((
            df,
            Diagnostic::error(
                span_of(d, "task"),
                "data.task",
                format!("the data is for `{dt}` but the model config is for `{mt}`"),
            )
            .with_help("`data.task` and `model.task` must name the same task (NetsPresso does not check this and fails mid-run)"),
        ));
    }
    let task = model_task.or(data_task);
    // The train split is needed to train: an error with a training config, a warning alone.
    if let Some((df, d)) = data
        && text(d, "format") == Some("local")
    {
        let train = ["image", "label"].map(|k| at(d, &format!("path.train.{k}")).is_some_and(|v| !v.is_null()));
        if !train.iter().all(|x| *x) {
            let training = find(docs, "training").is_some();
            let message = "no train split: `path.train` needs `image` and `label`";
            let help = "NetsPresso asserts it when training starts (\"For training, train split of dataset must be provided.\")";
            let span = key_of(d, "path.train");
            out.push((
                df,
                if training {
                    Diagnostic::error(span, "data.path.train", message).with_help(help)
                } else {
                    Diagnostic::warning(span, "data.path.train", format!("{message} to train")).with_help(help)
                },
            ));
        }
    }
    if let (Some((lf, l)), Some(task)) = (find(docs, "logging"), task)
        && let Some(names) = at(l, "metrics.metric_names").and_then(|m| m.as_seq())
    {
        let available = METRICS.iter().find(|m| m.0 == task).map(|m| m.1).unwrap_or(&[]);
        for (i, n) in names.iter().enumerate() {
            let Some(name) = n.as_str() else { continue };
            if !available.contains(&name.to_lowercase().as_str()) {
                out.push((
                    lf,
                    Diagnostic::error(
                        n.span,
                        format!("logging.metrics.metric_names[{i}]"),
                        format!("`{name}` is not a {task} metric"),
                    )
                    .with_help(format!("available for {task}: {}", available.join(", "))),
                ));
            }
        }
    }
    let full = model
        .and_then(|(_, m)| at(m, "architecture.full.name"))
        .is_some_and(|n| !n.is_null());
    if let Some((tf, t)) = find(docs, "training")
        && full
        && let Some((k, o)) = t.get("optimizer").and_then(|o| o.get_entry("overwrite"))
        && !o.is_null()
        && o.as_seq().is_none_or(|s| !s.is_empty())
    {
        out.push((
            tf,
            Diagnostic::error(
                k.span,
                "training.optimizer.overwrite",
                "`overwrite` sets backbone / neck / head groups, which a full model does not have",
            )
            .with_help(
                "NetsPresso asserts \"Overwrite config only for non single task model\"; remove it or set it to ~",
            ),
        ));
    }
    if let (Some((af, a)), Some(task)) = (find(docs, "augmentation"), task) {
        let other = |n: &str| -> Option<&'static str> {
            match n {
                "mosaicdetection" | "randomioucrop" | "randomzoomout" | "hsvjitter" | "randomresize"
                | "randomresize2"
                    if task != "detection" =>
                {
                    Some("detection")
                }
                "posetopdownaffine" if task != "pose_estimation" => Some("pose estimation"),
                _ => None,
            }
        };
        for phase in ["train", "inference"] {
            for (i, t) in a
                .get(phase)
                .and_then(|l| l.as_seq())
                .unwrap_or_default()
                .iter()
                .enumerate()
            {
                let name = t.get("name").and_then(|n| n.as_str()).unwrap_or("").to_lowercase();
                if let Some(meant) = other(&name) {
                    out.push((
                        af,
                        Diagnostic::warning(
                            t.span,
                            format!("augmentation.{phase}[{i}]"),
                            format!("`{name}` is a {meant} transform; this run is {task}"),
                        ),
                    ));
                }
            }
        }
    }
    out
}
