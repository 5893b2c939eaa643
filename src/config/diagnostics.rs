//! Located diagnostics for user configs, rendered like rustc's or as JSON.

use serde::Serialize;
use std::fmt::Write;
use zoo_spec::yaml::Span;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

/// One problem in a config file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Diagnostic {
    pub severity: Severity,
    pub message: String,
    /// The config path of the offending node, e.g. `model.architecture.backbone.params`.
    pub path: String,
    #[serde(skip)]
    pub span: Span,
    /// A suggestion shown under the caret (did-you-mean, expected values).
    pub help: Option<String>,
}

impl Diagnostic {
    pub fn error(span: Span, path: impl Into<String>, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            message: message.into(),
            path: path.into(),
            span,
            help: None,
        }
    }
    pub fn warning(span: Span, path: impl Into<String>, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            message: message.into(),
            path: path.into(),
            span,
            help: None,
        }
    }
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        let h = help.into();
        if !h.is_empty() {
            self.help = Some(h);
        }
        self
    }
    pub fn line(&self) -> usize {
        self.span.start.line
    }
    pub fn column(&self) -> usize {
        self.span.start.col
    }
}

/// Diagnostics of one file with its text, for rendering.
pub struct Report<'a> {
    pub file: &'a str,
    pub text: &'a str,
    pub diagnostics: &'a [Diagnostic],
}

struct Style {
    on: bool,
}

impl Style {
    fn paint(&self, code: &str, s: &str) -> String {
        if self.on {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }
}

impl Report<'_> {
    /// rustc-style text; `color` adds ANSI colours (only on a terminal).
    pub fn human(&self, color: bool) -> String {
        let st = Style { on: color };
        let mut out = String::new();
        for d in self.diagnostics {
            let (label, code) = match d.severity {
                Severity::Error => ("error", "1;31"),
                Severity::Warning => ("warning", "1;33"),
            };
            let line_no = d.span.start.line;
            let width = line_no.to_string().len();
            let pad = " ".repeat(width);
            writeln!(
                out,
                "{}{}",
                st.paint(code, label),
                st.paint("1", &format!(": {}", d.message))
            )
            .unwrap();
            writeln!(
                out,
                "{pad}{} {}:{}:{}",
                st.paint("1;34", "-->"),
                self.file,
                line_no,
                d.span.start.col
            )
            .unwrap();
            if let Some(src_line) = self.text.lines().nth(line_no.saturating_sub(1)) {
                let bar = st.paint("1;34", "|");
                writeln!(out, "{pad} {bar}").unwrap();
                writeln!(out, "{} {bar} {}", st.paint("1;34", &line_no.to_string()), src_line).unwrap();
                let start = d.span.start.col.saturating_sub(1);
                let len = if d.span.end.line == d.span.start.line && d.span.end.col > d.span.start.col {
                    d.span.end.col - d.span.start.col
                } else {
                    src_line.chars().count().saturating_sub(start).max(1)
                };
                let prefix: String = src_line
                    .chars()
                    .take(start)
                    .map(|c| if c == '\t' { '\t' } else { ' ' })
                    .collect();
                let carets = "^".repeat(len.max(1));
                let help = d.help.as_deref().map(|h| format!(" {h}")).unwrap_or_default();
                writeln!(
                    out,
                    "{pad} {bar} {prefix}{}",
                    st.paint(code, &format!("{carets}{help}"))
                )
                .unwrap();
            }
            if !d.path.is_empty() {
                writeln!(out, "{pad} {} note: at {}", st.paint("1;34", "="), d.path).unwrap();
            }
            out.push('\n');
        }
        out
    }

    /// One JSON object per diagnostic, with the same fields.
    pub fn json(&self) -> Vec<serde_json::Value> {
        self.diagnostics
            .iter()
            .map(|d| {
                serde_json::json!({
                    "file": self.file,
                    "line": d.span.start.line,
                    "column": d.span.start.col,
                    "end_line": d.span.end.line,
                    "end_column": d.span.end.col,
                    "severity": d.severity,
                    "message": d.message,
                    "path": d.path,
                    "help": d.help,
                })
            })
            .collect()
    }
}
