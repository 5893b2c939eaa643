//! `zoo validate`: any of NetsPresso's six config files, or several of one run at once (then
//! the rules across them are checked too: tasks, metric names, groups of a full model, the
//! classes of `id_mapping` against the checkpoint's head). `zoo train` and `zoo evaluate` run
//! the same checks before they start.

use super::{Format, INVALID, OK, USAGE};
use crate::config::diagnostics::{Diagnostic, Report, Severity};
use crate::config::{self, ModelConfig};
use std::path::{Path, PathBuf};
use zoo_spec::yaml::Node;

/// One file's outcome.
pub struct Checked {
    pub shown: String,
    pub text: String,
    pub root: Option<Node>,
    pub diagnostics: Vec<Diagnostic>,
    pub model: Option<ModelConfig>,
    /// Why the file could not be read.
    pub unreadable: Option<String>,
}

impl Checked {
    pub fn errors(&self) -> usize {
        self.diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .count()
    }
}

/// Checks every file, then the rules across them.
pub fn check_files(files: &[PathBuf]) -> Vec<Checked> {
    let mut out: Vec<Checked> = files
        .iter()
        .map(|f| {
            let shown = f.display().to_string();
            match std::fs::read_to_string(f) {
                Err(e) => Checked {
                    shown,
                    text: String::new(),
                    root: None,
                    diagnostics: Vec::new(),
                    model: None,
                    unreadable: Some(e.to_string()),
                },
                Ok(text) => {
                    let v = config::check_any_text(&text);
                    Checked {
                        shown,
                        root: config::parse(&text).ok(),
                        text,
                        diagnostics: v.diagnostics,
                        model: v.config,
                        unreadable: None,
                    }
                }
            }
        })
        .collect();
    let docs: Vec<config::sections::cross::Doc> = out
        .iter()
        .enumerate()
        .filter_map(|(i, c)| {
            c.root
                .as_ref()
                .map(|root| config::sections::cross::Doc { file: i, root })
        })
        .collect();
    let mut extra = config::sections::cross::across(&docs);
    extra.extend(head_classes(&out, &docs));
    for (i, d) in extra {
        out[i].diagnostics.push(d);
    }
    for c in &mut out {
        c.diagnostics.sort_by_key(|d| (d.span.start.line, d.span.start.col));
    }
    out
}

/// `id_mapping`'s class count against the head of the checkpoint the model config loads with
/// `load_head: true` (a wrong count fails only when NetsPresso loads the weights).
fn head_classes(files: &[Checked], docs: &[config::sections::cross::Doc]) -> Vec<(usize, Diagnostic)> {
    let Some(cfg) = files.iter().find_map(|c| c.model.as_ref()) else {
        return Vec::new();
    };
    let Some(path) = cfg.checkpoint.path.as_deref().map(Path::new) else {
        return Vec::new();
    };
    if !cfg.checkpoint.use_pretrained || !cfg.checkpoint.load_head || !path.is_file() {
        return Vec::new();
    }
    let Some((file, data)) = docs.iter().find_map(|d| d.root.get("data").map(|n| (d.file, n))) else {
        return Vec::new();
    };
    let Some((key, mapping)) = data.get_entry("id_mapping") else {
        return Vec::new();
    };
    let count = match &mapping.value {
        zoo_spec::yaml::Value::Seq(s) => s.len(),
        zoo_spec::yaml::Value::Map(m) => m.len(),
        _ => return Vec::new(),
    };
    let device = burn::tensor::Device::flex();
    let Some(head) = crate::model::class_dependent_keys(cfg, &device)
        .ok()
        .and_then(|keys| super::run::classes_in_checkpoint(path, &keys))
    else {
        return Vec::new();
    };
    if head == count {
        return Vec::new();
    }
    vec![(
        file,
        Diagnostic::error(
            key.span,
            "data.id_mapping",
            format!(
                "`id_mapping` has {count} classes but the checkpoint's head ({}) predicts {head}",
                path.display()
            ),
        )
        .with_help("set `model.checkpoint.load_head: false` to train a new head, or fix `id_mapping`"),
    )]
}

/// Prints the diagnostics of every file (rustc-like on stderr, or one JSON list on stdout);
/// returns the exit code.
pub fn render(checked: &[Checked], format: Format, say_valid: bool) -> i32 {
    let mut json = Vec::new();
    let (mut invalid, mut io_error) = (false, false);
    for c in checked {
        if let Some(e) = &c.unreadable {
            io_error = true;
            match format {
                Format::Human => eprintln!("error: cannot read {}: {e}", c.shown),
                Format::Json => json.push(
                    serde_json::json!({"file": c.shown, "severity": "error", "message": format!("cannot read: {e}")}),
                ),
            }
            continue;
        }
        let errors = c.errors();
        let warnings = c.diagnostics.len() - errors;
        invalid |= errors > 0;
        let report = Report {
            file: &c.shown,
            text: &c.text,
            diagnostics: &c.diagnostics,
        };
        match format {
            Format::Human => {
                eprint!("{}", report.human(super::color(true)));
                if errors > 0 {
                    eprintln!("{}: {errors} error{}", c.shown, if errors == 1 { "" } else { "s" });
                } else if say_valid {
                    let w = if warnings > 0 {
                        format!(" ({warnings} warning{})", if warnings == 1 { "" } else { "s" })
                    } else {
                        String::new()
                    };
                    println!("{}: valid{w}", c.shown);
                }
            }
            Format::Json => json.extend(report.json()),
        }
    }
    if format == Format::Json {
        println!(
            "{}",
            serde_json::to_string_pretty(&json).expect("diagnostics serialise")
        );
    }
    if io_error {
        USAGE
    } else if invalid {
        INVALID
    } else {
        OK
    }
}

pub fn run(files: &[PathBuf], format: Format) -> i32 {
    render(&check_files(files), format, true)
}
