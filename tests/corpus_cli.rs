//! No input of the bad-input corpus can make a command print a Rust panic or backtrace, or
//! abort: the broken configs (`tests/broken/`) and every input the fuzzers ever failed on
//! (`tests/fuzz-regressions/`), run through the commands that read them, with
//! `RUST_BACKTRACE=1` so a panic would show its backtrace.

mod common;
use common::{root, text};
use std::path::{Path, PathBuf};
use std::process::Command;

fn files(dir: &str) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = match std::fs::read_dir(root(dir)) {
        Ok(d) => d.flatten().map(|e| e.path()).filter(|p| p.is_file()).collect(),
        Err(_) => Vec::new(),
    };
    out.sort();
    out
}

/// Runs zoo and checks it ended by itself with a diagnosis, not a panic or a signal.
fn clean(args: &[&str], input: &Path) {
    let out = Command::new(env!("CARGO_BIN_EXE_zoo"))
        .args(args)
        .env("NO_COLOR", "1")
        .env("RUST_BACKTRACE", "1")
        .output()
        .expect("run zoo");
    let err = text(&out.stderr);
    let what = format!("zoo {} on {}", args.join(" "), input.display());
    assert!(
        matches!(out.status.code(), Some(0..=2)),
        "{what}: ended with {:?}\n{err}",
        out.status
    );
    for sign in ["panicked at", "stack backtrace", "RUST_BACKTRACE", "internal error"] {
        assert!(!err.contains(sign), "{what}: `{sign}` in\n{err}");
    }
}

/// A copy of a corpus file under the name its reader expects.
fn named(dir: &tempfile::TempDir, src: &Path, name: &str) -> PathBuf {
    let p = dir.path().join(name);
    std::fs::copy(src, &p).unwrap();
    p
}

#[test]
fn broken_and_fuzzed_configs_are_diagnosed_by_validate_and_build() {
    let mut inputs = files("tests/broken");
    inputs.extend(files("tests/fuzz-regressions/config"));
    assert!(inputs.len() >= 88, "{} corpus files", inputs.len());
    for f in &inputs {
        let p = f.to_str().unwrap();
        clean(&["validate", "--max-memory", "4G", p], f);
        clean(&["build", "--max-memory", "4G", "--input-size", "64", "64", p], f);
    }
}

#[test]
fn fuzzed_weights_images_arrays_and_tokenizers_are_diagnosed() {
    let dir = tempfile::tempdir().unwrap();
    let config = root("tests/fixtures/parity/resnet_basic.yaml");
    let config = config.to_str().unwrap();
    let image = root("tests/fixtures/images/sample.png");
    let image = image.to_str().unwrap();
    for (target, name) in [("safetensors", "w.safetensors"), ("pickle", "w.pth")] {
        for f in files(&format!("tests/fuzz-regressions/{target}")) {
            let w = named(&dir, &f, name);
            clean(
                &[
                    "run",
                    config,
                    "--num-classes",
                    "10",
                    "--checkpoint",
                    w.to_str().unwrap(),
                    "--input",
                    image,
                ],
                &f,
            );
        }
    }
    for f in files("tests/fuzz-regressions/image") {
        for name in ["x.png", "x.jpg"] {
            let x = named(&dir, &f, name);
            clean(
                &["run", config, "--num-classes", "10", "--input", x.to_str().unwrap()],
                &f,
            );
        }
    }
    for f in files("tests/fuzz-regressions/npy") {
        let x = named(&dir, &f, "x.npy");
        clean(
            &["run", config, "--num-classes", "10", "--input", x.to_str().unwrap()],
            &f,
        );
    }
    for f in files("tests/fuzz-regressions/tokenizer") {
        for name in ["tokenizer.json", "vocab.txt", "vocab.json"] {
            let t = named(&dir, &f, name);
            clean(&["tokenize", "--tokenizer", t.to_str().unwrap(), "--text", "hello"], &f);
        }
    }
    // Spec inputs have no command of their own (the compiler runs in build.rs); tests/fuzz.rs
    // replays them through the compiler.
}
