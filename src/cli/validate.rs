//! `zoo validate`.

use super::{Format, INVALID, OK, USAGE};
use crate::config;
use crate::diagnostics::{Report, Severity};
use std::path::PathBuf;

pub fn run(files: &[PathBuf], format: Format) -> i32 {
    let mut any_invalid = false;
    let mut io_error = false;
    let mut json = Vec::new();
    for f in files {
        let shown = f.display().to_string();
        let text = match std::fs::read_to_string(f) {
            Ok(t) => t,
            Err(e) => {
                io_error = true;
                match format {
                    Format::Human => eprintln!("error: cannot read {shown}: {e}"),
                    Format::Json => json.push(
                        serde_json::json!({"file": shown, "severity": "error", "message": format!("cannot read: {e}")}),
                    ),
                }
                continue;
            }
        };
        let v = config::check_text(&text);
        let errors = v.diagnostics.iter().filter(|d| d.severity == Severity::Error).count();
        let warnings = v.diagnostics.len() - errors;
        any_invalid |= errors > 0;
        let report = Report {
            file: &shown,
            text: &text,
            diagnostics: &v.diagnostics,
        };
        match format {
            Format::Human => {
                eprint!("{}", report.human(super::color(true)));
                if errors == 0 {
                    let w = if warnings > 0 {
                        format!(" ({warnings} warning{})", if warnings == 1 { "" } else { "s" })
                    } else {
                        String::new()
                    };
                    println!("{shown}: valid{w}");
                } else {
                    eprintln!("{shown}: {errors} error{}", if errors == 1 { "" } else { "s" });
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
    } else if any_invalid {
        INVALID
    } else {
        OK
    }
}
