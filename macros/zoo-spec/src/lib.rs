//! The zoo spec compiler.
//!
//! Pipeline: discover `zoo/**/*.yaml` → parse each into a [`spec::Spec`] (span-keeping YAML,
//! expressions with positions) → lower to Rust ([`codegen`]) and registry descriptors
//! ([`registry`]) → JSON Schemas ([`schema`]). `build.rs` and the proc-macros both call
//! [`compile_dir`]; errors come back as `file:line:col: message`.

pub mod builtins;
pub mod codegen;
pub mod diag;
pub mod expr;
pub mod losses;
pub mod lower;
pub mod primitives;
pub mod registry;
pub mod schema;
pub mod spec;
pub mod tensor_ops;
pub mod types;
pub mod yaml;

use codegen::{BlockInfo, Gen, camel};
use diag::{SpecError, Src};
use registry::ComponentDesc;
use spec::{Kind, Spec};
use std::collections::HashMap;
use std::fmt::Write;
use std::path::{Path, PathBuf};

/// The result of compiling a folder of specs.
pub struct Compiled {
    /// Generated Rust (formatted), to be `include!`d.
    pub rust: String,
    pub components: Vec<ComponentDesc>,
    /// Every spec file read (for `rerun-if-changed`).
    pub files: Vec<PathBuf>,
}

/// Finds all `*.yaml` specs under `root` (sorted, for a stable output).
pub fn discover(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&dir) else { continue };
        for entry in rd.flatten() {
            let p = entry.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|e| e == "yaml" || e == "yml") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// Compiles every spec under `root`; paths in errors are shown relative to `display_base`.
pub fn compile_dir(root: &Path, display_base: &Path) -> Result<Compiled, Vec<SpecError>> {
    let files = discover(root);
    let mut sources = Vec::new();
    for f in &files {
        let shown = f
            .strip_prefix(display_base)
            .unwrap_or(f)
            .to_string_lossy()
            .replace('\\', "/");
        match std::fs::read_to_string(f) {
            Ok(text) => sources.push(Src::new(shown, text)),
            Err(e) => {
                return Err(vec![SpecError {
                    path: shown,
                    span: Default::default(),
                    message: format!("cannot read: {e}"),
                }]);
            }
        }
    }
    let mut c = compile_sources(&sources)?;
    c.files = files;
    Ok(c)
}

/// Where generated code finds its surroundings.
#[derive(Debug, Clone)]
pub struct Options {
    /// Path of the crate with the runtime (`rt`, `primitives`, `trace`): `crate` inside zoo,
    /// `::zoo` elsewhere.
    pub runtime: String,
    /// Path of the generated `blocks` module, as seen from the other generated modules.
    pub blocks_path: String,
    /// Blocks compiled elsewhere that specs may use (their Rust lives at `external_blocks_path`).
    pub external_blocks: Vec<Src>,
    pub external_blocks_path: String,
    /// Generate the registry dispatch (`AnyBackbone`, `AnyHead`, block examples); zoo only.
    pub dispatch: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            runtime: "crate".into(),
            blocks_path: "crate::architectures::generated::blocks".into(),
            external_blocks: Vec::new(),
            external_blocks_path: String::new(),
            dispatch: true,
        }
    }
}

/// Compiles in-memory spec sources for the zoo crate itself.
pub fn compile_sources(sources: &[Src]) -> Result<Compiled, Vec<SpecError>> {
    compile_with(sources, &Options::default())
}

/// Compiles in-memory spec sources with explicit [`Options`].
pub fn compile_with(sources: &[Src], opts: &Options) -> Result<Compiled, Vec<SpecError>> {
    let mut errors = Vec::new();
    let mut specs: Vec<Spec> = Vec::new();
    for src in sources {
        match spec::parse_spec(src) {
            Ok(s) => specs.push(s),
            Err(mut e) => errors.append(&mut e),
        }
    }
    // Folder and kind must agree, names must be unique per kind.
    let mut seen: HashMap<(String, &'static str), String> = HashMap::new();
    for s in &specs {
        let folder = s.src.path.rsplit('/').nth(1).unwrap_or("");
        if !folder.is_empty() && folder != s.kind.folder() && s.src.path.contains('/') {
            errors.push(s.src.error(
                s.name_span,
                format!(
                    "a {} spec belongs in `{}/`, not `{folder}/`",
                    s.kind.as_str(),
                    s.kind.folder()
                ),
            ));
        }
        if let Some(prev) = seen.insert((s.name.clone(), s.kind.as_str()), s.src.path.clone()) {
            errors.push(s.src.error(
                s.name_span,
                format!("another {} is named `{}` ({prev})", s.kind.as_str(), s.name),
            ));
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }

    let mut shared: HashMap<String, BlockInfo> = HashMap::new();
    for src in &opts.external_blocks {
        if let Ok(s) = spec::parse_spec(src) {
            let rust = format!("{}::{}", opts.external_blocks_path, camel(&s.name));
            shared.insert(
                s.name.clone(),
                BlockInfo {
                    rust,
                    params: s.params.clone(),
                    sig: s.signature,
                },
            );
        }
    }
    for s in specs.iter().filter(|s| s.kind == Kind::Block) {
        shared.insert(
            s.name.clone(),
            BlockInfo {
                rust: format!("{}::{}", opts.blocks_path, camel(&s.name)),
                params: s.params.clone(),
                sig: s.signature,
            },
        );
    }

    let mut rust = String::new();
    let mut components = Vec::new();
    let mut records = lower::Records::new();
    for kind in [Kind::Block, Kind::Backbone, Kind::Neck, Kind::Head, Kind::Full] {
        let mut module = String::new();
        for s in specs.iter().filter(|s| s.kind == kind) {
            let mut g = Gen::new(&shared);
            g.records = records.clone();
            let prefix = camel(&s.name);
            g.component(s, &prefix, &HashMap::new());
            errors.append(&mut g.errors);
            records = g.records;
            writeln!(module, "// ---- from {} ----\n{}", s.src.path, g.out).unwrap();
            components.push(registry::describe(
                s,
                &format!("crate::architectures::generated::{}::{prefix}", kind.folder()),
            ));
        }
        writeln!(
            rust,
            "pub mod {} {{\n#![allow(clippy::all, unused_imports, dead_code, non_camel_case_types, non_snake_case)]\nuse burn::tensor::Tensor;\nuse burn::module::Module;\nuse crate::rt::fast::FastConv as _;\n{module}\n}}",
            kind.folder()
        )
        .unwrap();
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    if opts.dispatch {
        rust.push_str(&dispatch(&components, &mut errors));
        rust.push_str(&block_examples(&components, &mut errors));
        if !errors.is_empty() {
            return Err(errors);
        }
    }
    if opts.runtime != "crate" {
        for m in ["rt", "primitives", "trace"] {
            rust = rust.replace(&format!("crate::{m}::"), &format!("{}::{m}::", opts.runtime));
        }
    }
    let formatted = match syn::parse_file(&rust) {
        Ok(file) => prettyplease::unparse(&file),
        Err(e) => {
            // A bug in the compiler, not in a spec: show the offending generated line.
            let line = e.span().start().line;
            let context: String = rust
                .lines()
                .skip(line.saturating_sub(3))
                .take(5)
                .collect::<Vec<_>>()
                .join("\n");
            return Err(vec![SpecError {
                path: "<generated>".into(),
                span: Default::default(),
                message: format!("internal error: generated Rust does not parse ({e}) near:\n{context}"),
            }]);
        }
    };
    Ok(Compiled {
        rust: formatted,
        components,
        files: Vec::new(),
    })
}

/// Runs each block's `example` (conformance tests); blocks without one are listed as such.
fn block_examples(components: &[ComponentDesc], errors: &mut Vec<SpecError>) -> String {
    let mut s = String::new();
    let blocks: Vec<&ComponentDesc> = components.iter().filter(|c| c.kind == "block").collect();
    writeln!(
        s,
        "/// Runs a block's spec `example`: returns the input and output shapes."
    )
    .unwrap();
    writeln!(s, "pub fn run_block_example(name: &str, device: &burn::tensor::Device) -> Result<(Vec<usize>, Vec<usize>), crate::rt::BuildError> {{ match name {{").unwrap();
    for b in &blocks {
        let ex = &b.example;
        if ex.is_null() {
            writeln!(
                s,
                "{:?} => Err(crate::rt::BuildError::new(\"block `{}` has no `example` in its spec\")),",
                b.name, b.name
            )
            .unwrap();
            continue;
        }
        let input: Vec<usize> = ex
            .get("input")
            .and_then(|i| i.as_array())
            .map(|a| a.iter().filter_map(|v| v.as_u64().map(|x| x as usize)).collect())
            .unwrap_or_default();
        // Several inputs (`(x: tensor3, y: tensor3) -> ...`) all take the example's shape.
        let ins = b.signature.split_once("->").map(|(a, _)| a.trim()).unwrap_or("");
        let (rank, arity) = match ins.strip_prefix('(').and_then(|r| r.strip_suffix(')')) {
            Some(list) => {
                let parts: Vec<&str> = list.split(',').collect();
                let r = parts
                    .first()
                    .map(|p| p.rsplit(':').next().unwrap_or(p))
                    .and_then(|t| t.trim().trim_start_matches("tensor").parse::<usize>().ok())
                    .unwrap_or(4);
                (r, parts.len())
            }
            None => (ins.trim_start_matches("tensor").parse::<usize>().unwrap_or(4), 1),
        };
        if input.len() != rank {
            errors.push(SpecError {
                path: b.file.clone(),
                span: Default::default(),
                message: format!("`example.input` of block `{}` must be a shape of rank {rank}", b.name),
            });
            continue;
        }
        let params = ex
            .get("params")
            .cloned()
            .unwrap_or(serde_json::Value::Object(Default::default()));
        let mut full = serde_json::Map::new();
        for p in &b.params {
            match params.get(&p.name) {
                Some(v) => full.insert(p.name.clone(), v.clone()),
                None => full.insert(p.name.clone(), p.default.clone()),
            };
        }
        writeln!(
            s,
            "{:?} => {{ let v: serde_json::Value = serde_json::from_str({:?}).expect(\"example JSON\"); let p = crate::rt::from_json::<{}Params>(&v)?; let m = {}::init(&p, &crate::rt::Context::default(), device)?; let x = burn::tensor::Tensor::<{rank}>::random({input:?}, burn::tensor::Distribution::Normal(0.0, 1.0), device); let y = m.forward({args}); Ok(({input:?}.to_vec(), y.dims().to_vec())) }}",
            b.name,
            serde_json::Value::Object(full).to_string(),
            b.rust,
            b.rust,
            args = vec!["x.clone()"; arity].join(", ")
        )
        .unwrap();
    }
    writeln!(
        s,
        "_ => Err(crate::rt::BuildError::new(format!(\"unknown block `{{name}}`\"))) }} }}"
    )
    .unwrap();
    s
}

/// A method that dispatches on a component name: `match name { "x" => ARM, _ => Err(..) }`.
fn by_name(s: &mut String, kind: &str, comps: &[&ComponentDesc], header: &str, arm: impl Fn(&ComponentDesc) -> String) {
    writeln!(s, "{header} {{ match name {{").unwrap();
    for c in comps {
        writeln!(s, "{:?} => {},", c.name, arm(c)).unwrap();
    }
    writeln!(
        s,
        "_ => Err(crate::rt::BuildError::new(format!(\"unknown {kind} `{{name}}`\"))) }} }}"
    )
    .unwrap();
}

/// `outputs(name, params, ctx)`: a component's feature dims from its settings alone.
fn outputs_by_name(s: &mut String, kind: &str, comps: &[&ComponentDesc]) {
    by_name(
        s,
        kind,
        comps,
        "pub fn outputs(name: &str, params: &serde_json::Value, ctx: &crate::rt::Context) -> Result<crate::rt::Outputs, crate::rt::BuildError>",
        |c| {
            format!(
                "{}Settings::resolve(&crate::rt::from_json::<{}Params>(params)?, ctx)?.outputs()",
                c.rust, c.rust
            )
        },
    );
}

/// An enum over the components of a kind (a burn module) with `init` by name.
fn any_enum(s: &mut String, kind: &str, comps: &[&ComponentDesc]) -> String {
    let ty = format!("Any{}", camel(kind));
    writeln!(s, "#[derive(burn::module::Module, Debug)]\npub enum {ty} {{").unwrap();
    for c in comps {
        writeln!(s, "    {}({}),", camel(&c.name), c.rust).unwrap();
    }
    writeln!(s, "}}").unwrap();
    let variants: Vec<String> = comps.iter().map(|c| camel(&c.name)).collect();
    s.push_str(&codegen::fold_enum_impl(&ty, &variants));
    writeln!(s, "impl {ty} {{").unwrap();
    by_name(
        s,
        kind,
        comps,
        "pub fn init(name: &str, params: &serde_json::Value, ctx: &crate::rt::Context, device: &burn::tensor::Device) -> Result<Self, crate::rt::BuildError>",
        |c| {
            format!(
                "Ok(Self::{}({}::init(&crate::rt::from_json::<{}Params>(params)?, ctx, device)?))",
                camel(&c.name),
                c.rust,
                c.rust
            )
        },
    );
    by_name(
        s,
        kind,
        comps,
        "pub fn size(name: &str, params: &serde_json::Value, ctx: &crate::rt::Context) -> Result<crate::rt::Size, crate::rt::BuildError>",
        |c| {
            format!(
                "{}::size(&crate::rt::from_json::<{}Params>(params)?, ctx)",
                c.rust, c.rust
            )
        },
    );
    ty
}

/// `input_kind()`: what each component of an `Any…` enum reads.
fn input_kind(s: &mut String, comps: &[&ComponentDesc], kinds: &str) {
    writeln!(
        s,
        "/// What the component reads: {kinds}.\npub fn input_kind(&self) -> &'static str {{ match self {{"
    )
    .unwrap();
    for c in comps {
        writeln!(s, "Self::{}(_) => {:?},", camel(&c.name), c.input).unwrap();
    }
    writeln!(s, "}} }}").unwrap();
}

/// Enums over all backbones / heads and their dispatch by name.
fn dispatch(components: &[ComponentDesc], errors: &mut Vec<SpecError>) -> String {
    let mut s = String::new();
    let of = |kind: &str| components.iter().filter(|c| c.kind == kind).collect::<Vec<_>>();
    let backbones = of("backbone");
    any_enum(&mut s, "backbone", &backbones);
    outputs_by_name(&mut s, "backbone", &backbones);
    // Image backbones take `forward`, text backbones `forward_tokens`; callers check
    // `input_kind` first, so the other arm only names the mistake.
    input_kind(&mut s, &backbones, "`image` or `tokens`");
    writeln!(
        s,
        "pub fn forward(&self, x: burn::tensor::Tensor<4>) -> crate::rt::BackboneOutput {{ match self {{"
    )
    .unwrap();
    for c in &backbones {
        let arm = if c.input == "tokens" {
            format!("(_) => panic!(\"backbone `{}` reads token ids, not images\")", c.name)
        } else {
            "(m) => crate::rt::trace::call(\"backbone\", || m.forward(x))".to_string()
        };
        writeln!(s, "Self::{}{arm},", camel(&c.name)).unwrap();
    }
    writeln!(s, "}} }}").unwrap();
    writeln!(
        s,
        "#[allow(unused_variables)]\npub fn forward_tokens(&self, ids: burn::tensor::Tensor<2, burn::tensor::Int>, mask: burn::tensor::Tensor<2>) -> crate::rt::BackboneOutput {{ match self {{"
    )
    .unwrap();
    for c in &backbones {
        let arm = if c.input == "tokens" {
            "(m) => { let mut out = crate::rt::trace::call(\"backbone\", || m.forward(ids, mask.clone())); out.token_mask = Some(mask); out }".to_string()
        } else {
            format!("(_) => panic!(\"backbone `{}` reads images, not token ids\")", c.name)
        };
        writeln!(s, "Self::{}{arm},", camel(&c.name)).unwrap();
    }
    writeln!(s, "}} }} }}").unwrap();

    // Necks: feature pyramid in, feature pyramid out; their output dims follow from the
    // backbone's (in the context) and their own params.
    let necks = of("neck");
    if !necks.is_empty() {
        any_enum(&mut s, "neck", &necks);
        outputs_by_name(&mut s, "neck", &necks);
        writeln!(
            s,
            "pub fn forward(&self, features: Vec<burn::tensor::Tensor<4>>) -> Vec<burn::tensor::Tensor<4>> {{ match self {{"
        )
        .unwrap();
        for c in &necks {
            writeln!(
                s,
                "Self::{}(m) => crate::rt::trace::call(\"neck\", || m.forward(features)),",
                camel(&c.name)
            )
            .unwrap();
        }
        writeln!(s, "}} }} }}").unwrap();
    }

    let heads = of("head");
    any_enum(&mut s, "head", &heads);
    by_name(
        &mut s,
        "head",
        &heads,
        "pub fn check(name: &str, params: &serde_json::Value, ctx: &crate::rt::Context) -> Result<(), crate::rt::BuildError>",
        |c| {
            format!(
                "{}Settings::resolve(&crate::rt::from_json::<{}Params>(params)?, ctx).map(|_| ())",
                c.rust, c.rust
            )
        },
    );
    writeln!(
        s,
        "pub fn forward(&self, features: crate::rt::BackboneOutput) -> crate::rt::Pred {{ match self {{"
    )
    .unwrap();
    for c in &heads {
        // Which backbone output a head consumes follows from its signature.
        let call = match c.signature.as_str() {
            "tensor2 -> tensor2" => {
                "crate::rt::Pred::Rank2(m.forward(features.last_feature.expect(\"backbones return last_feature\")))"
            }
            "list<tensor4> -> tensor4" => "crate::rt::Pred::Rank4(m.forward(features.intermediate_features))",
            "list<tensor4> -> pred" => "m.forward(features.intermediate_features)",
            // Heads that pool the last map themselves (embeddings).
            "tensor4 -> tensor2" => {
                "crate::rt::Pred::Rank2(m.forward(features.last_map.expect(\"the backbone returns its last map (`last_map`)\")))"
            }
            // Heads that pool token states under their mask, given as [batch, tokens, 1].
            "(tensor3, tensor3) -> tensor2" => {
                "crate::rt::Pred::Rank2(m.forward(features.last_tokens.expect(\"the backbone returns its token states (`last_tokens`)\"), features.token_mask.expect(\"text backbones pass their mask\").unsqueeze_dim::<3>(2)))"
            }
            other => {
                errors.push(SpecError {
                    path: c.file.clone(),
                    span: Default::default(),
                    message: format!("a head with signature `{other}` is not supported (classification heads are `tensor2 -> tensor2`, dense heads `list<tensor4> -> tensor4` or `list<tensor4> -> pred`)"),
                });
                continue;
            }
        };
        writeln!(
            s,
            "Self::{}(m) => crate::rt::trace::call(\"head\", || {call}),",
            camel(&c.name)
        )
        .unwrap();
    }
    writeln!(s, "}} }} }}").unwrap();
    // Full models: a name-dispatched enum taking the image (dense predictions, or a two-tower
    // model's image embedding), and token ids for a two-tower model's text tower.
    let fulls = of("full");
    if !fulls.is_empty() {
        any_enum(&mut s, "full", &fulls);
        by_name(
            &mut s,
            "full",
            &fulls,
            "pub fn check(name: &str, params: &serde_json::Value, ctx: &crate::rt::Context) -> Result<(), crate::rt::BuildError>",
            |c| {
                format!(
                    "{}Settings::resolve(&crate::rt::from_json::<{}Params>(params)?, ctx).map(|_| ())",
                    c.rust, c.rust
                )
            },
        );
        by_name(
            &mut s,
            "full",
            &fulls,
            "#[allow(unused_variables)]\npub fn outputs(name: &str, params: &serde_json::Value, ctx: &crate::rt::Context) -> Result<crate::rt::Outputs, crate::rt::BuildError>",
            |c| {
                if c.has_outputs {
                    format!(
                        "{}Settings::resolve(&crate::rt::from_json::<{}Params>(params)?, ctx)?.outputs()",
                        c.rust, c.rust
                    )
                } else {
                    "Ok(crate::rt::Outputs::default())".to_string()
                }
            },
        );
        input_kind(&mut s, &fulls, "`image` or `image+tokens`");
        writeln!(
            s,
            "pub fn forward(&self, x: burn::tensor::Tensor<4>) -> crate::rt::Pred {{ match self {{"
        )
        .unwrap();
        for c in &fulls {
            let variant = match c.signature.as_str() {
                "tensor4 -> tensor4" => "Rank4",
                "tensor4 -> tensor2" => "Rank2",
                other => {
                    errors.push(SpecError {
                        path: c.file.clone(),
                        span: Default::default(),
                        message: format!(
                            "a full model is `tensor4 -> tensor4` (dense) or `tensor4 -> tensor2` (embeddings), found `{other}`"
                        ),
                    });
                    continue;
                }
            };
            writeln!(
                s,
                "Self::{}(m) => crate::rt::Pred::{variant}(crate::rt::trace::call(\"full\", || m.forward(x))),",
                camel(&c.name)
            )
            .unwrap();
        }
        writeln!(s, "}} }}").unwrap();
        // The training program: the prediction and the loss's extra outputs as a list; the
        // prediction alone for models without one.
        writeln!(
            s,
            "pub fn forward_train(&self, x: burn::tensor::Tensor<4>) -> crate::rt::Pred {{ match self {{"
        )
        .unwrap();
        for c in &fulls {
            let arm = if c.has_forward_train {
                "(m) => crate::rt::Pred::List(crate::rt::trace::call(\"full\", || m.forward_train(x)).into_iter().map(crate::rt::Pred::from).collect())".to_string()
            } else {
                "(_) => self.forward(x)".to_string()
            };
            writeln!(s, "Self::{}{arm},", camel(&c.name)).unwrap();
        }
        writeln!(s, "}} }}").unwrap();
        writeln!(
            s,
            "#[allow(unused_variables)]\npub fn forward_tokens(&self, ids: burn::tensor::Tensor<2, burn::tensor::Int>, mask: burn::tensor::Tensor<2>) -> crate::rt::Pred {{ match self {{"
        )
        .unwrap();
        for c in &fulls {
            let arm = if c.input.contains("tokens") {
                "(m) => crate::rt::Pred::Rank2(crate::rt::trace::call(\"full\", || m.forward_tokens(ids, mask)))"
                    .to_string()
            } else {
                format!("(_) => panic!(\"`{}` reads images, not token ids\")", c.name)
            };
            writeln!(s, "Self::{}{arm},", camel(&c.name)).unwrap();
        }
        writeln!(s, "}} }} }}").unwrap();
    }
    writeln!(
        s,
        "/// Registry descriptors of every component, as JSON.\npub const REGISTRY_JSON: &str = {:?};",
        serde_json::to_string(components).unwrap()
    )
    .unwrap();
    s
}
