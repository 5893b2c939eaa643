//! The modules generated from the specs in `zoo/` (see `build.rs`), with the registry data.
#![allow(clippy::all, unused_imports, dead_code)]

include!(concat!(env!("OUT_DIR"), "/zoo_generated.rs"));
