//! The folders of `src/` follow the data flow (see `src/lib.rs`); a folder never imports one
//! that comes after it, so a reader can follow the data downward and no import cycle can form.

use std::path::{Path, PathBuf};

/// `src/lib.rs`'s order; folders on one line are peers.
const LAYERS: &[&[&str]] = &[
    &["rt"],
    &["architectures"],
    &["config"],
    &["model"],
    &["io"],
    &["preprocess", "postprocess"],
    &["train"],
    &["cli"],
];

fn layer(folder: &str) -> Option<usize> {
    LAYERS.iter().position(|l| l.contains(&folder))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The top-level modules a source file names through `crate::<module>`.
fn crate_imports(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find("crate::") {
        let before = rest[..i].chars().next_back();
        rest = &rest[i + "crate::".len()..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue;
        }
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_lowercase() || *c == '_')
            .collect();
        if !name.is_empty() {
            out.push(name);
        }
    }
    out
}

#[test]
fn every_folder_of_src_is_a_layer() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut folders: Vec<String> = std::fs::read_dir(&src)
        .unwrap()
        .flatten()
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    folders.sort();
    let unplaced: Vec<&String> = folders.iter().filter(|f| layer(f).is_none()).collect();
    assert!(
        unplaced.is_empty(),
        "folders without a layer in tests/layers.rs: {unplaced:?}"
    );
    let flat: Vec<String> = std::fs::read_dir(&src)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".rs") && n != "lib.rs" && n != "main.rs")
        .collect();
    assert!(flat.is_empty(), "modules outside a folder: {flat:?}");
}

#[test]
fn no_folder_imports_a_later_one() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let mut wrong = Vec::new();
    for f in &files {
        let rel = f.strip_prefix(&src).unwrap();
        let Some(own) = rel
            .components()
            .next()
            .and_then(|c| layer(&c.as_os_str().to_string_lossy()))
        else {
            continue;
        };
        if rel.components().count() == 1 {
            continue;
        }
        let text = std::fs::read_to_string(f).unwrap();
        for m in crate_imports(&text) {
            if layer(&m).is_some_and(|l| l > own) {
                wrong.push(format!("{} imports crate::{m}", rel.display()));
            }
        }
    }
    wrong.sort();
    wrong.dedup();
    assert!(wrong.is_empty(), "imports against the data flow:\n{}", wrong.join("\n"));
}

#[test]
fn the_import_scan_sees_paths_and_skips_lookalikes() {
    assert_eq!(
        crate_imports("use crate::rt::Pred; x = crate::io::tensor_files::read(p); zoo_crate::cli"),
        ["rt", "io"]
    );
}
