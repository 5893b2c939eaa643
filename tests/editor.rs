//! The editor experience, measured with the real yaml-language-server through
//! `tests/editor/lsp_probe.py`: completion of component names and of the chosen component's
//! params only, exact diagnostics, hover docs, and NetsPresso's configs free of diagnostics.
//!
//! Skipped (loudly) only where `node` is missing. The server is installed by the README's test
//! command (`npm ci --prefix target/yaml-lsp`), or named by `YAML_LS_CMD`.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The command that starts the server, or `None` when node is missing (test skipped).
fn server() -> Option<String> {
    if Command::new("node").arg("--version").output().is_err() {
        eprintln!("\n*** SKIPPED: node is not installed; the yaml-language-server tests did not run ***\n");
        return None;
    }
    if let Ok(cmd) = std::env::var("YAML_LS_CMD") {
        return Some(cmd);
    }
    let bin = root().join("target/yaml-lsp/node_modules/yaml-language-server/bin/yaml-language-server");
    assert!(
        bin.exists(),
        "yaml-language-server is not installed: run `npm ci --prefix target/yaml-lsp` after copying \
         tests/editor/package*.json there (the README's test command does this), or set YAML_LS_CMD"
    );
    Some(format!("node {} --stdio", bin.display()))
}

struct Doc {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

/// Writes a config with the schema modeline on its first line (so YAML lines are offset by 1).
fn doc(body: &str) -> Doc {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.yaml");
    let schema = root().join("schemas/model.schema.json");
    std::fs::write(
        &path,
        format!("# yaml-language-server: $schema={}\n{body}", schema.display()),
    )
    .unwrap();
    Doc { _dir: dir, path }
}

fn probe(server: &str, args: &[&str], d: &Doc) -> Vec<String> {
    let mut cmd = Command::new("python3");
    cmd.arg(root().join("tests/editor/lsp_probe.py"))
        .arg("--server-cmd")
        .arg(server);
    let (verb, rest) = args.split_first().unwrap();
    cmd.arg(verb).arg(&d.path).args(rest);
    let o = cmd.output().expect("python3 runs lsp_probe.py");
    assert!(
        o.status.success(),
        "lsp_probe failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(str::to_string)
        .filter(|l| !l.is_empty())
        .collect()
}

const RESNET: &str = "model:
  task: classification
  name: resnet18
  architecture:
    backbone:
      name: resnet
      params:
        blok_type: basicblock
      stage_params:
        - {channels: 64, num_blocks: 2}
    head:
      name: fc
      params:
        num_layers: 1
  losses:
    - criterion: cross_entropy
      label_smoothing: 0.1
      weight: ~
";

/// The registered components of a kind that support a task, sorted (as the server lists them).
fn supporting(kind: &str, task: &str) -> Vec<String> {
    let mut names: Vec<String> = zoo::registry::components()
        .iter()
        .filter(|c| c.kind == kind && c.tasks.iter().any(|t| t == task))
        .map(|c| c.name.clone())
        .collect();
    names.sort();
    names
}

#[test]
fn completes_component_names() {
    let Some(s) = server() else { return };
    let d = doc(&RESNET.replace("      name: resnet\n", "      name: \n"));
    assert_eq!(
        probe(&s, &["complete", "7", "13"], &d),
        supporting("backbone", "classification")
    );
    let d = doc(&RESNET.replace("      name: fc\n", "      name: \n"));
    assert_eq!(probe(&s, &["complete", "13", "13"], &d), ["fc", "fc_conv"]);
    // Only what the task supports: vit and the classifiers are not segmentation components.
    let seg = RESNET.replace("task: classification", "task: segmentation");
    let d = doc(&seg.replace("      name: resnet\n", "      name: \n"));
    assert_eq!(
        probe(&s, &["complete", "7", "13"], &d),
        supporting("backbone", "segmentation")
    );
    let d = doc(&seg.replace("      name: fc\n", "      name: \n"));
    assert_eq!(probe(&s, &["complete", "13", "13"], &d), ["all_mlp_decoder"]);
}

#[test]
fn completes_only_the_chosen_components_params() {
    let Some(s) = server() else { return };
    let d = doc(RESNET);
    let items = probe(&s, &["complete", "9", "9"], &d);
    for k in [
        "block_type",
        "norm_type",
        "return_stage_idx",
        "split_stem_conv",
        "first_stage_shortcut_conv",
    ] {
        assert!(items.iter().any(|i| i == k), "{k} missing from {items:?}");
    }
    assert!(!items.iter().any(|i| i == "patch_size"), "{items:?}");
    let d = doc(&RESNET.replace(
        "name: resnet\n      params:\n        blok_type: basicblock",
        "name: vit\n      params:\n        patch_size: 16",
    ));
    let items = probe(&s, &["complete", "9", "9"], &d);
    assert!(items.iter().any(|i| i == "attention_channels"), "{items:?}");
    assert!(!items.iter().any(|i| i == "block_type"), "{items:?}");
}

#[test]
fn diagnostics_point_at_the_exact_key() {
    let Some(s) = server() else { return };
    let d = doc(RESNET);
    let diags = probe(&s, &["diagnose"], &d);
    assert!(
        diags.contains(&"9:9 error Property blok_type is not allowed.".to_string()),
        "{diags:?}"
    );
    let d = doc(&RESNET.replace("      name: resnet\n", "      name: resnt\n"));
    let diags = probe(&s, &["diagnose"], &d);
    let valid: Vec<String> = supporting("backbone", "classification")
        .iter()
        .map(|n| format!("{n:?}"))
        .collect();
    assert!(
        diags.contains(&format!(
            "7:13 error Value is not accepted. Valid values: {}.",
            valid.join(", ")
        )),
        "{diags:?}"
    );
    // A value NetsPresso lower-cases is accepted in any case; a typo is not.
    let d = doc(&RESNET.replace("blok_type: basicblock", "block_type: BasicBlock"));
    assert_eq!(probe(&s, &["diagnose"], &d), Vec::<String>::new());
    let d = doc(&RESNET.replace("blok_type: basicblock", "block_type: BasicBlok"));
    assert_eq!(
        probe(&s, &["diagnose"], &d),
        ["9:21 error Value is not accepted. Valid values: \"basicblock\", \"bottleneck\"."]
    );
}

#[test]
fn hover_shows_parameter_docs() {
    let Some(s) = server() else { return };
    let d = doc(&RESNET.replace("blok_type", "block_type"));
    let text = probe(&s, &["hover", "9", "10"], &d).join("\n");
    assert!(text.contains("Residual block of every stage"), "{text}");
}

#[test]
fn netspresso_configs_have_no_diagnostics() {
    let Some(s) = server() else { return };
    let files: Vec<PathBuf> = std::fs::read_dir(root().join("tests/fixtures/netspresso"))
        .unwrap()
        .map(|f| f.unwrap().path())
        .collect();
    // Errors and warnings only: the server also informs about the configs' own YAML style
    // (gelan's unused `&act_type` anchor).
    std::thread::scope(|scope| {
        for chunk in files.chunks(files.len().div_ceil(4)) {
            let s = &s;
            scope.spawn(move || {
                for f in chunk {
                    let d = doc(&std::fs::read_to_string(f).unwrap());
                    let found: Vec<String> = probe(s, &["diagnose"], &d)
                        .into_iter()
                        .filter(|l| !l.contains(" information ") && !l.contains(" hint "))
                        .collect();
                    assert_eq!(found, Vec::<String>::new(), "{}", f.display());
                }
            });
        }
    });
}

/// A config using `backbone` and `head` for `task`, each with one placeholder param line.
fn component_doc(task: &str, backbone: &str, head: &str) -> Doc {
    doc(&format!(
        "model:
  task: {task}
  name: probe
  architecture:
    backbone:
      name: {backbone}
      params:
        zz: 1
      stage_params: ~
    head:
      name: {head}
      params:
        zz: 1
"
    ))
}

#[test]
fn completes_every_components_params() {
    let Some(s) = server() else { return };
    let comps = zoo::registry::components();
    let pick = |kind: &str, task: &str| {
        comps
            .iter()
            .find(|c| c.kind == kind && c.tasks.iter().any(|t| t == task))
            .unwrap()
            .name
            .clone()
    };
    // Each backbone and head with params, next to a partner that supports its first task.
    let cases: Vec<(&zoo::registry::ComponentDesc, u32, Doc)> = comps
        .iter()
        .filter(|c| !c.params.is_empty() && matches!(c.kind.as_str(), "backbone" | "head"))
        .map(|c| {
            let task = &c.tasks[0];
            if c.kind == "backbone" {
                (c, 9, component_doc(task, &c.name, &pick("head", task)))
            } else {
                (c, 14, component_doc(task, &pick("backbone", task), &c.name))
            }
        })
        .collect();
    // A full model's fields sit directly under `full`.
    let full = doc(
        "model:\n  task: segmentation\n  name: probe\n  architecture:\n    full:\n      name: pidnet\n      zz: 1\n",
    );
    let pidnet = comps.iter().find(|c| c.kind == "full" && c.name == "pidnet").unwrap();
    let mut cases = cases;
    cases.push((pidnet, 8, full));
    // Four servers at a time: one per case starved the 2-core machine while other tests ran
    // (servers timed out initialising).
    std::thread::scope(|scope| {
        let handles: Vec<_> = cases
            .chunks(cases.len().div_ceil(4))
            .map(|chunk| {
                let s = &s;
                scope.spawn(move || {
                    chunk
                        .iter()
                        .map(|(c, line, d)| {
                            let col = if c.kind == "full" { "7" } else { "9" };
                            (c, probe(s, &["complete", &line.to_string(), col], d))
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        for (c, items) in handles.into_iter().flat_map(|h| h.join().unwrap()) {
            assert!(!c.params.is_empty(), "{}", c.name);
            for p in &c.params {
                assert!(
                    items.contains(&p.name),
                    "{} `{}`: `{}` is not completed; got {items:?}",
                    c.kind,
                    c.name,
                    p.name
                );
            }
        }
    });
}

/// A detection config with a neck; after the modeline, the neck's `name` is on line 12, its
/// params' placeholder on line 14, the postprocessor params' on line 21.
fn neck_doc(neck: &str, head: &str) -> Doc {
    doc(&format!(
        "model:
  task: detection
  name: probe
  architecture:
    backbone:
      name: cspdarknet
      params:
        dep_mul: 0.33
      stage_params: ~
    neck:
      name: {neck}
      params:
        zz: 1
    head:
      name: {head}
      params:
        zz: 1
  postprocessor:
    params:
      zz: 1
"
    ))
}

#[test]
fn completes_neck_names_necks_params_and_postprocessor_params() {
    let Some(s) = server() else { return };
    let d = neck_doc("", "anchor_free_decoupled_head");
    assert_eq!(
        probe(&s, &["complete", "12", "13"], &d),
        supporting("neck", "detection")
    );
    let necks: Vec<&zoo::registry::ComponentDesc> = zoo::registry::components()
        .iter()
        .filter(|c| c.kind == "neck")
        .collect();
    assert!(necks.len() >= 5, "{}", necks.len());
    let heads: Vec<&zoo::registry::ComponentDesc> = zoo::registry::components()
        .iter()
        .filter(|c| c.kind == "head" && c.postprocessor.as_ref().is_some_and(|p| !p.params.is_empty()))
        .collect();
    std::thread::scope(|scope| {
        let mut handles = Vec::new();
        for n in &necks {
            let s = &s;
            handles.push(scope.spawn(move || {
                let items = probe(
                    s,
                    &["complete", "14", "9"],
                    &neck_doc(&n.name, "anchor_free_decoupled_head"),
                );
                (
                    n.name.clone(),
                    n.params.iter().map(|p| p.name.clone()).collect::<Vec<_>>(),
                    items,
                )
            }));
        }
        for h in &heads {
            let s = &s;
            handles.push(scope.spawn(move || {
                let items = probe(s, &["complete", "21", "7"], &neck_doc("fpn", &h.name));
                let want = h
                    .postprocessor
                    .as_ref()
                    .unwrap()
                    .params
                    .iter()
                    .map(|p| p.name.clone())
                    .collect();
                (format!("postprocessor of {}", h.name), want, items)
            }));
        }
        for handle in handles {
            let (what, want, items) = handle.join().unwrap();
            for p in want {
                assert!(items.contains(&p), "{what}: `{p}` is not completed; got {items:?}");
            }
        }
    });
}

/// A config with the modeline of `schemas/<schema>` on its first line.
fn doc_with(schema: &str, body: &str) -> Doc {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.yaml");
    let schema = root().join("schemas").join(schema);
    std::fs::write(
        &path,
        format!("# yaml-language-server: $schema={}\n{body}", schema.display()),
    )
    .unwrap();
    Doc { _dir: dir, path }
}

const TRAINING: &str = "training:
  epochs: 10
  optimizer:
    name: sgd
    lr: 0.1
    zz: 1
  scheduler:
    name: step
    iters_per_phase: 3
    gamma: 0.5
    end_epoch: 10
";

#[test]
fn completes_the_chosen_optimizers_and_transforms_settings_only() {
    let Some(s) = server() else { return };
    let d = doc_with("training.schema.json", TRAINING);
    let items = probe(&s, &["complete", "7", "5"], &d);
    for k in ["momentum", "nesterov", "weight_decay", "no_bias_decay", "overwrite"] {
        assert!(items.iter().any(|i| i == k), "{k} missing from {items:?}");
    }
    assert!(!items.iter().any(|i| i == "betas" || i == "rho"), "{items:?}");
    let d = doc_with("training.schema.json", &TRAINING.replace("name: sgd", "name: adamw"));
    let items = probe(&s, &["complete", "7", "5"], &d);
    assert!(items.iter().any(|i| i == "betas"), "{items:?}");
    assert!(!items.iter().any(|i| i == "momentum"), "{items:?}");
    // Transform names, then the chosen transform's arguments.
    let aug = "augmentation:\n  train:\n    - name: \n  inference: ~\n";
    let d = doc_with("augmentation.schema.json", aug);
    let names = probe(&s, &["complete", "4", "13"], &d);
    assert_eq!(names, zoo::config::sections::schemas::transform_names());
    let aug = "augmentation:\n  train:\n    - name: randomresizedcrop\n      zz: 1\n  inference: ~\n";
    let d = doc_with("augmentation.schema.json", aug);
    let mut items = probe(&s, &["complete", "5", "7"], &d);
    items.sort();
    assert_eq!(items, ["interpolation", "ratio", "scale", "size"]);
}

#[test]
fn section_diagnostics_point_at_the_exact_key() {
    let Some(s) = server() else { return };
    let d = doc_with(
        "training.schema.json",
        &TRAINING.replace("    zz: 1\n", "    betas: [0.9, 0.99]\n"),
    );
    assert_eq!(
        probe(&s, &["diagnose"], &d),
        ["7:5 error Property betas is not allowed."]
    );
    let d = doc_with(
        "training.schema.json",
        &TRAINING.replace("    zz: 1\n", "").replace("epochs: 10", "epochs: 0"),
    );
    assert_eq!(
        probe(&s, &["diagnose"], &d),
        ["3:11 error Value is below the minimum of 1."]
    );
    // NetsPresso lower-cases optimizer names: any case is accepted, a typo is not.
    let d = doc_with(
        "training.schema.json",
        &TRAINING.replace("    zz: 1\n", "").replace("name: sgd", "name: SGD"),
    );
    assert_eq!(probe(&s, &["diagnose"], &d), Vec::<String>::new());
}

#[test]
fn netspresso_run_configs_have_no_diagnostics_but_their_real_mistakes() {
    let Some(s) = server() else { return };
    let base = root().join("tests/fixtures/netspresso-configs");
    let files = common::files_under(&base);
    let found = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for chunk in files.chunks(files.len().div_ceil(4)) {
            let (s, found, base) = (&s, &found, &base);
            scope.spawn(move || {
                for f in chunk {
                    let text = std::fs::read_to_string(f).unwrap();
                    let kind = ["data", "augmentation", "model", "training", "logging", "environment"]
                        .into_iter()
                        .find(|k| text.lines().any(|l| l.starts_with(&format!("{k}:"))))
                        .unwrap();
                    let d = doc_with(&format!("{kind}.schema.json"), &text);
                    for l in probe(s, &["diagnose"], &d) {
                        if l.contains(" error ") || l.contains(" warning ") {
                            let rel = f.strip_prefix(base).unwrap().display().to_string();
                            found.lock().unwrap().push(format!("{rel} {l}"));
                        }
                    }
                }
            });
        }
    });
    let mut found = found.into_inner().unwrap();
    found.sort();
    // `id_mapping: ~` stops NetsPresso too ("Unsupported id_mapping value None"); the editor
    // reports it where `zoo validate` does (line 16 of the file is line 17 after the modeline).
    assert_eq!(
        found,
        [
            "data/local/chess.yaml 17:15 error Incorrect type. Expected \"array | object(NetsPresso Trainer data config) | string\".",
            "data/local/rcv-workshop-iccv2023.yaml 17:15 error Incorrect type. Expected \"array | object(NetsPresso Trainer data config) | string\".",
        ]
    );
}
