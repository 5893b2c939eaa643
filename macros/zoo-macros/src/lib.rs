//! Proc-macros of the zoo spec compiler. They are thin: the work is in `zoo-spec`.
//!
//! `include_specs!("path/to/specs")` compiles a folder of specs (laid out like `zoo/`:
//! `backbones/`, `heads/`, `blocks/`, …) into modules of the calling crate, against the `zoo`
//! runtime. Specs may use zoo's own shared blocks (`conv_layer`, …). A broken spec is a compile
//! error naming `file:line:col`. This is how a crate adds architectures without forking zoo.

use proc_macro::TokenStream;
use std::path::{Path, PathBuf};
use zoo_spec::diag::Src;

/// zoo's own shared blocks, which external specs may use.
fn zoo_blocks() -> Vec<Src> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../zoo/blocks");
    zoo_spec::discover(&dir)
        .into_iter()
        .filter_map(|f| {
            let text = std::fs::read_to_string(&f).ok()?;
            Some(Src::new(
                format!("zoo/blocks/{}", f.file_name()?.to_string_lossy()),
                text,
            ))
        })
        .collect()
}

fn error(msg: &str) -> TokenStream {
    format!("compile_error!({msg:?});")
        .parse()
        .expect("a compile_error! invocation")
}

#[proc_macro]
pub fn include_specs(input: TokenStream) -> TokenStream {
    let lit: syn::LitStr = match syn::parse(input) {
        Ok(l) => l,
        Err(_) => return error("include_specs! takes a folder path as a string literal"),
    };
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default());
    let dir = manifest.join(lit.value());
    if !dir.is_dir() {
        return error(&format!("include_specs!: `{}` is not a folder", dir.display()));
    }
    let files = zoo_spec::discover(&dir);
    let mut sources = Vec::new();
    for f in &files {
        let shown = f.strip_prefix(&manifest).unwrap_or(f).to_string_lossy().into_owned();
        match std::fs::read_to_string(f) {
            Ok(t) => sources.push(Src::new(shown, t)),
            Err(e) => return error(&format!("include_specs!: cannot read {shown}: {e}")),
        }
    }
    let opts = zoo_spec::Options {
        runtime: "::zoo".into(),
        blocks_path: "super::blocks".into(),
        external_blocks: zoo_blocks(),
        external_blocks_path: "::zoo::architectures::generated::blocks".into(),
        dispatch: false,
    };
    let compiled = match zoo_spec::compile_with(&sources, &opts) {
        Ok(c) => c,
        Err(errors) => {
            let text: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
            return error(&text.join("\n"));
        }
    };
    // Rebuild when a spec changes.
    let mut out = String::new();
    for f in &files {
        out.push_str(&format!(
            "const _: &str = include_str!({:?});\n",
            f.display().to_string()
        ));
    }
    out.push_str(&compiled.rust);
    match out.parse() {
        Ok(ts) => ts,
        Err(e) => error(&format!("include_specs!: generated code does not parse: {e}")),
    }
}
