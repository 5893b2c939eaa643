//! Source files, located errors and did-you-mean suggestions.

use crate::yaml::Span;
use std::fmt;
use std::sync::Arc;

/// A source file: its display path and text.
#[derive(Debug, Clone)]
pub struct Src {
    pub path: String,
    pub text: Arc<str>,
}

impl Src {
    pub fn new(path: impl Into<String>, text: impl Into<Arc<str>>) -> Src {
        Src {
            path: path.into(),
            text: text.into(),
        }
    }

    /// The text of a 1-based line.
    pub fn line(&self, n: usize) -> Option<&str> {
        self.text.lines().nth(n.checked_sub(1)?)
    }

    /// Whether the scalar starting at `span` is quoted in the source.
    pub fn is_quoted(&self, span: Span) -> bool {
        self.line(span.start.line)
            .and_then(|l| l.chars().nth(span.start.col - 1))
            .is_some_and(|c| c == '\'' || c == '"')
    }

    pub fn error(&self, span: Span, message: impl Into<String>) -> SpecError {
        SpecError {
            path: self.path.clone(),
            span,
            message: message.into(),
        }
    }
}

/// An error in a spec file.
#[derive(Debug, Clone, PartialEq)]
pub struct SpecError {
    pub path: String,
    pub span: Span,
    pub message: String,
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.path, self.span.start.line, self.span.start.col, self.message
        )
    }
}

impl std::error::Error for SpecError {}

/// The closest candidate to `name`, if close enough: `"; did you mean `x`?"`.
pub fn did_you_mean<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    closest(name, candidates)
        .map(|c| format!("; did you mean `{c}`?"))
        .unwrap_or_default()
}

/// The closest candidate to `name` by Jaro-Winkler similarity (≥ 0.8) or a shared prefix.
pub fn closest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(name, c), c))
        .filter(|(s, _)| *s >= 0.8)
        .max_by(|a, b| a.0.partial_cmp(&b.0).unwrap())
        .map(|(_, c)| c)
}
