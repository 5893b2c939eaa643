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
    probe_all(server, &[(args, d)]).pop().unwrap()
}

/// Many probes on one server (`lsp_probe.py batch`): starting a server and loading the schema
/// is most of a probe's time, and the documents to diagnose are validated together.
fn probe_all(server: &str, jobs: &[(&[&str], &Doc)]) -> Vec<Vec<String>> {
    let list: Vec<serde_json::Value> = jobs
        .iter()
        .map(|(args, d)| {
            let (verb, at) = args.split_first().unwrap();
            let mut job = serde_json::json!({"cmd": verb, "file": d.path});
            if let [line, col] = at {
                job["line"] = line.parse::<u32>().unwrap().into();
                job["col"] = col.parse::<u32>().unwrap().into();
            }
            job
        })
        .collect();
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), serde_json::to_string(&list).unwrap()).unwrap();
    let o = Command::new("python3")
        .arg(root().join("tests/editor/lsp_probe.py"))
        .arg("--server-cmd")
        .arg(server)
        .arg("batch")
        .arg(file.path())
        .output()
        .expect("python3 runs lsp_probe.py");
    assert!(
        o.status.success(),
        "lsp_probe failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let outputs: Vec<Vec<String>> = serde_json::from_slice(&o.stdout).expect("lsp_probe batch prints JSON");
    assert_eq!(outputs.len(), jobs.len());
    // As the single-probe CLI prints them: a hover text's lines, no blank lines.
    outputs
        .into_iter()
        .map(|out| {
            out.iter()
                .flat_map(|o| o.lines())
                .filter(|l| !l.is_empty())
                .map(str::to_string)
                .collect()
        })
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
    let mut names: Vec<String> = zoo::architectures::registry::components()
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
    let seg = RESNET.replace("task: classification", "task: segmentation");
    let docs = [
        doc(&RESNET.replace("      name: resnet\n", "      name: \n")),
        doc(&RESNET.replace("      name: fc\n", "      name: \n")),
        doc(&seg.replace("      name: resnet\n", "      name: \n")),
        doc(&seg.replace("      name: fc\n", "      name: \n")),
    ];
    let [cls_backbones, cls_heads, seg_backbones, seg_heads]: [Vec<String>; 4] = probe_all(
        &s,
        &[
            (&["complete", "7", "13"], &docs[0]),
            (&["complete", "13", "13"], &docs[1]),
            (&["complete", "7", "13"], &docs[2]),
            (&["complete", "13", "13"], &docs[3]),
        ],
    )
    .try_into()
    .unwrap();
    assert_eq!(cls_backbones, supporting("backbone", "classification"));
    assert_eq!(cls_heads, ["fc", "fc_conv"]);
    // Only what the task supports: vit and the classifiers are not segmentation components.
    assert_eq!(seg_backbones, supporting("backbone", "segmentation"));
    assert_eq!(seg_heads, ["all_mlp_decoder"]);
}

#[test]
fn completes_only_the_chosen_components_params() {
    let Some(s) = server() else { return };
    let resnet = doc(RESNET);
    let vit = doc(&RESNET.replace(
        "name: resnet\n      params:\n        blok_type: basicblock",
        "name: vit\n      params:\n        patch_size: 16",
    ));
    let [items, vit_items]: [Vec<String>; 2] = probe_all(
        &s,
        &[(&["complete", "9", "9"], &resnet), (&["complete", "9", "9"], &vit)],
    )
    .try_into()
    .unwrap();
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
    assert!(vit_items.iter().any(|i| i == "attention_channels"), "{vit_items:?}");
    assert!(!vit_items.iter().any(|i| i == "block_type"), "{vit_items:?}");
}

#[test]
fn diagnostics_point_at_the_exact_key() {
    let Some(s) = server() else { return };
    let docs = [
        doc(RESNET),
        doc(&RESNET.replace("      name: resnet\n", "      name: resnt\n")),
        // A value NetsPresso lower-cases is accepted in any case; a typo is not.
        doc(&RESNET.replace("blok_type: basicblock", "block_type: BasicBlock")),
        doc(&RESNET.replace("blok_type: basicblock", "block_type: BasicBlok")),
    ];
    let jobs: Vec<(&[&str], &Doc)> = docs.iter().map(|d| (&["diagnose"][..], d)).collect();
    let [misspelt_key, misspelt_name, any_case, typo]: [Vec<String>; 4] = probe_all(&s, &jobs).try_into().unwrap();
    assert!(
        misspelt_key.contains(&"9:9 error Property blok_type is not allowed.".to_string()),
        "{misspelt_key:?}"
    );
    let valid: Vec<String> = supporting("backbone", "classification")
        .iter()
        .map(|n| format!("{n:?}"))
        .collect();
    assert!(
        misspelt_name.contains(&format!(
            "7:13 error Value is not accepted. Valid values: {}.",
            valid.join(", ")
        )),
        "{misspelt_name:?}"
    );
    assert_eq!(any_case, Vec::<String>::new());
    assert_eq!(
        typo,
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
    let mut files: Vec<PathBuf> = std::fs::read_dir(root().join("tests/fixtures/netspresso"))
        .unwrap()
        .map(|f| f.unwrap().path())
        .collect();
    files.sort();
    assert!(files.len() >= 40, "{}", files.len());
    let docs: Vec<Doc> = files
        .iter()
        .map(|f| doc(&std::fs::read_to_string(f).unwrap()))
        .collect();
    let jobs: Vec<(&[&str], &Doc)> = docs.iter().map(|d| (&["diagnose"][..], d)).collect();
    // Errors and warnings only: the server also informs about the configs' own YAML style
    // (gelan's unused `&act_type` anchor), which shows that each document was validated.
    let mut informed = Vec::new();
    for (f, found) in files.iter().zip(probe_all(&s, &jobs)) {
        if found
            .iter()
            .any(|l| l.contains(" information Unused anchor \"&act_type\""))
        {
            informed.push(f.file_name().unwrap().to_string_lossy().into_owned());
        }
        let found: Vec<String> = found
            .into_iter()
            .filter(|l| !l.contains(" information ") && !l.contains(" hint "))
            .collect();
        assert_eq!(found, Vec::<String>::new(), "{}", f.display());
    }
    assert_eq!(
        informed,
        ["c", "m", "s", "tiny"].map(|size| format!("gelan_{size}-classification.yaml"))
    );
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
    let comps = zoo::architectures::registry::components();
    let pick = |kind: &str, task: &str| {
        comps
            .iter()
            .find(|c| c.kind == kind && c.tasks.iter().any(|t| t == task))
            .unwrap()
            .name
            .clone()
    };
    // Each backbone and head with params, next to a partner that supports its first task.
    let cases: Vec<(&zoo::architectures::registry::ComponentDesc, &[&str], Doc)> = comps
        .iter()
        .filter(|c| !c.params.is_empty() && matches!(c.kind.as_str(), "backbone" | "head"))
        .map(|c| {
            let task = &c.tasks[0];
            if c.kind == "backbone" {
                (
                    c,
                    &["complete", "9", "9"][..],
                    component_doc(task, &c.name, &pick("head", task)),
                )
            } else {
                (
                    c,
                    &["complete", "14", "9"][..],
                    component_doc(task, &pick("backbone", task), &c.name),
                )
            }
        })
        .collect();
    // A full model's fields sit directly under `full`.
    let full = doc(
        "model:\n  task: segmentation\n  name: probe\n  architecture:\n    full:\n      name: pidnet\n      zz: 1\n",
    );
    let pidnet = comps.iter().find(|c| c.kind == "full" && c.name == "pidnet").unwrap();
    let mut cases = cases;
    cases.push((pidnet, &["complete", "8", "7"], full));
    let jobs: Vec<(&[&str], &Doc)> = cases.iter().map(|(_, args, d)| (*args, d)).collect();
    for ((c, _, _), items) in cases.iter().zip(probe_all(&s, &jobs)) {
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
    let necks: Vec<&zoo::architectures::registry::ComponentDesc> = zoo::architectures::registry::components()
        .iter()
        .filter(|c| c.kind == "neck")
        .collect();
    assert!(necks.len() >= 5, "{}", necks.len());
    let heads: Vec<&zoo::architectures::registry::ComponentDesc> = zoo::architectures::registry::components()
        .iter()
        .filter(|c| c.kind == "head" && c.postprocessor.as_ref().is_some_and(|p| !p.params.is_empty()))
        .collect();
    let names = neck_doc("", "anchor_free_decoupled_head");
    let mut wanted: Vec<(String, Vec<String>, Doc, &[&str])> = Vec::new();
    for n in &necks {
        let want = n.params.iter().map(|p| p.name.clone()).collect();
        let d = neck_doc(&n.name, "anchor_free_decoupled_head");
        wanted.push((n.name.clone(), want, d, &["complete", "14", "9"]));
    }
    for h in &heads {
        let params = &h.postprocessor.as_ref().unwrap().params;
        let want = params.iter().map(|p| p.name.clone()).collect();
        let what = format!("postprocessor of {}", h.name);
        wanted.push((what, want, neck_doc("fpn", &h.name), &["complete", "21", "7"]));
    }
    let mut jobs: Vec<(&[&str], &Doc)> = vec![(&["complete", "12", "13"], &names)];
    jobs.extend(wanted.iter().map(|(_, _, d, args)| (*args, d)));
    let mut found = probe_all(&s, &jobs).into_iter();
    assert_eq!(found.next().unwrap(), supporting("neck", "detection"));
    for ((what, want, _, _), items) in wanted.iter().zip(found) {
        for p in want {
            assert!(items.contains(p), "{what}: `{p}` is not completed; got {items:?}");
        }
    }
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
    let sgd = doc_with("training.schema.json", TRAINING);
    let adamw = doc_with("training.schema.json", &TRAINING.replace("name: sgd", "name: adamw"));
    // Transform names, then the chosen transform's arguments.
    let aug = "augmentation:\n  train:\n    - name: \n  inference: ~\n";
    let names = doc_with("augmentation.schema.json", aug);
    let aug = "augmentation:\n  train:\n    - name: randomresizedcrop\n      zz: 1\n  inference: ~\n";
    let crop = doc_with("augmentation.schema.json", aug);
    let [sgd_items, adamw_items, names, mut crop_items]: [Vec<String>; 4] = probe_all(
        &s,
        &[
            (&["complete", "7", "5"], &sgd),
            (&["complete", "7", "5"], &adamw),
            (&["complete", "4", "13"], &names),
            (&["complete", "5", "7"], &crop),
        ],
    )
    .try_into()
    .unwrap();
    for k in ["momentum", "nesterov", "weight_decay", "no_bias_decay", "overwrite"] {
        assert!(sgd_items.iter().any(|i| i == k), "{k} missing from {sgd_items:?}");
    }
    assert!(!sgd_items.iter().any(|i| i == "betas" || i == "rho"), "{sgd_items:?}");
    assert!(adamw_items.iter().any(|i| i == "betas"), "{adamw_items:?}");
    assert!(!adamw_items.iter().any(|i| i == "momentum"), "{adamw_items:?}");
    assert_eq!(names, zoo::config::sections::schemas::transform_names());
    crop_items.sort();
    assert_eq!(crop_items, ["interpolation", "ratio", "scale", "size"]);
}

#[test]
fn section_diagnostics_point_at_the_exact_key() {
    let Some(s) = server() else { return };
    let docs = [
        doc_with(
            "training.schema.json",
            &TRAINING.replace("    zz: 1\n", "    betas: [0.9, 0.99]\n"),
        ),
        doc_with(
            "training.schema.json",
            &TRAINING.replace("    zz: 1\n", "").replace("epochs: 10", "epochs: 0"),
        ),
        // NetsPresso lower-cases optimizer names: any case is accepted, a typo is not.
        doc_with(
            "training.schema.json",
            &TRAINING.replace("    zz: 1\n", "").replace("name: sgd", "name: SGD"),
        ),
    ];
    let jobs: Vec<(&[&str], &Doc)> = docs.iter().map(|d| (&["diagnose"][..], d)).collect();
    let [betas, epochs, upper]: [Vec<String>; 3] = probe_all(&s, &jobs).try_into().unwrap();
    assert_eq!(betas, ["7:5 error Property betas is not allowed."]);
    assert_eq!(epochs, ["3:11 error Value is below the minimum of 1."]);
    assert_eq!(upper, Vec::<String>::new());
}

#[test]
fn netspresso_run_configs_have_no_diagnostics_but_their_real_mistakes() {
    let Some(s) = server() else { return };
    let base = root().join("tests/fixtures/netspresso-configs");
    let files = common::files_under(&base);
    let docs: Vec<Doc> = files
        .iter()
        .map(|f| {
            let text = std::fs::read_to_string(f).unwrap();
            let kind = ["data", "augmentation", "model", "training", "logging", "environment"]
                .into_iter()
                .find(|k| text.lines().any(|l| l.starts_with(&format!("{k}:"))))
                .unwrap();
            doc_with(&format!("{kind}.schema.json"), &text)
        })
        .collect();
    let jobs: Vec<(&[&str], &Doc)> = docs.iter().map(|d| (&["diagnose"][..], d)).collect();
    let mut found = Vec::new();
    for (f, lines) in files.iter().zip(probe_all(&s, &jobs)) {
        for l in lines {
            if l.contains(" error ") || l.contains(" warning ") {
                let rel = f.strip_prefix(&base).unwrap().display().to_string();
                found.push(format!("{rel} {l}"));
            }
        }
    }
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
