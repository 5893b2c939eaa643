//! zoo: a model zoo in which every architecture is a YAML spec file.
//!
//! The pipeline in the order data flows: specs (`zoo/`) → spec compiler (`zoo-spec`, run by
//! `build.rs`) → [`architectures`] (generated modules and their registry) → [`config`] validation → [`model`]
//! building → run.

pub mod architectures;
pub mod cli;
pub mod config;
pub mod io;
pub mod model;
pub mod postprocess;
pub mod rt;

pub use config::{ModelConfig, check_text};
pub use model::{TaskModel, build};
pub mod preprocess;
pub mod train;
