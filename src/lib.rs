//! zoo: a model zoo in which every architecture is a YAML spec file.
//!
//! Specs (`zoo/`) are compiled by `zoo-spec` (run by `build.rs`); the folders here follow the
//! data from there, each importing only folders before it in this list:
//!
//! - [`rt`]: the runtime of generated code (primitive layers, tracing, sizing, fast paths).
//! - [`architectures`]: the generated modules and their registry.
//! - [`config`]: user configs validated, with located diagnostics.
//! - [`model`]: a task model built from a config; the conformance checks of every spec.
//! - [`io`]: tensor files, weights and checkpoints, pretrained downloads.
//! - [`preprocess`], [`postprocess`]: inputs made ready for a model, outputs made readable.
//! - [`train`]: data, augmentation, losses, optimisers, schedules, metrics, runs.
//! - [`cli`]: the `zoo` command, a thin layer over the rest.

pub mod rt;

pub mod architectures;

pub mod config;

pub mod model;

pub mod io;

pub mod postprocess;
pub mod preprocess;

pub mod train;

pub mod cli;

pub use config::{ModelConfig, check_text};
pub use model::{TaskModel, build};
