//! User configs: the NetsPresso Trainer `model:` document, in both dialects, validated with
//! exact locations into a typed [`ModelConfig`].

mod checks;
pub mod diagnostics;
pub mod limits;
mod params;
mod postprocessor;
pub mod sections;
pub mod size_check;
mod validate;

pub use validate::{validate, validate_any};

use crate::config::diagnostics::Diagnostic;
use serde::Serialize;
use zoo_spec::yaml::{self, Node};

/// Where the weights come from, normalised over both dialects.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Checkpoint {
    /// Whether weights are loaded at all (1.x `use_pretrained`; true in the documented dialect
    /// when a path is given).
    pub use_pretrained: bool,
    pub load_head: bool,
    pub path: Option<String>,
    pub optimizer_path: Option<String>,
    /// A torch.fx model (documented `fx_model_checkpoint`, or a 1.x `path` ending in `.pt`).
    pub fx_model_path: Option<String>,
}

/// A chosen component with its validated parameters (defaults filled in).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Component {
    pub name: String,
    /// `params` plus `stage_params`, as the generated params type deserialises them.
    pub params: serde_json::Value,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Architecture {
    Full(Component),
    Parts {
        backbone: Component,
        neck: Option<Component>,
        head: Component,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Loss {
    pub criterion: String,
    pub weight: Option<f64>,
    pub fields: serde_json::Value,
}

/// A validated `model:` document.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelConfig {
    pub task: String,
    pub name: String,
    pub checkpoint: Checkpoint,
    pub freeze_backbone: bool,
    pub architecture: Architecture,
    pub postprocessor: serde_json::Value,
    pub losses: Vec<Loss>,
}

/// The outcome of validating one file: the config when there is no error, and every
/// diagnostic (warnings included).
pub struct Validated {
    pub config: Option<ModelConfig>,
    pub diagnostics: Vec<Diagnostic>,
}

impl Validated {
    pub fn has_errors(&self) -> bool {
        self.diagnostics
            .iter()
            .any(|d| d.severity == crate::config::diagnostics::Severity::Error)
    }
}

/// Parses and validates a config text.
pub fn check_text(text: &str) -> Validated {
    match yaml::parse(text) {
        Ok(root) => validate(&root),
        Err(e) => Validated {
            config: None,
            diagnostics: vec![Diagnostic::error(e.span, "", format!("invalid YAML: {}", e.message))],
        },
    }
}

/// Parses and validates any of NetsPresso's six config files (or a merged one); the model
/// config is returned when the text has a valid `model:` section.
pub fn check_any_text(text: &str) -> Validated {
    match yaml::parse(text) {
        Ok(root) => validate_any(&root),
        Err(e) => Validated {
            config: None,
            diagnostics: vec![Diagnostic::error(e.span, "", format!("invalid YAML: {}", e.message))],
        },
    }
}

/// Parses YAML text (exposed for tools that read configs without validating them).
pub fn parse(text: &str) -> Result<Node, yaml::YamlError> {
    yaml::parse(text)
}
