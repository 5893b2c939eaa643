//! The architectures compiled from the specs in `zoo/`: their Rust modules ([`generated`], written
//! by `build.rs` into `$OUT_DIR`) and the same components as data ([`registry`]: names, kinds,
//! tasks, parameters, presets), which validation, schemas and the CLI read without building.

pub mod generated;
pub mod registry;
