//! Helpers shared by the tests that run the `zoo` binary.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Runs `zoo` with `args`, without colours.
pub fn zoo(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_zoo"))
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("run zoo")
}

/// A path inside the repository.
pub fn root(p: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(p)
}

pub fn text(o: &[u8]) -> String {
    String::from_utf8_lossy(o).into_owned()
}
