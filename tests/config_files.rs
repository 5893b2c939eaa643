//! `zoo validate` on NetsPresso's other five config kinds (data, augmentation, training,
//! logging, environment): every real NetsPresso file, located diagnostics per kind, and the
//! rules across the files of one run.

mod common;

use std::path::Path;

/// `zoo validate --format json` of files: (exit code, diagnostics as
/// "file-name:line:col severity path: message [help]").
fn validate(files: &[&Path]) -> (i32, Vec<String>) {
    let mut args = vec!["validate", "--format", "json"];
    let shown: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
    args.extend(shown.iter().map(String::as_str));
    let o = common::zoo(&args);
    let list: Vec<serde_json::Value> = serde_json::from_slice(&o.stdout).unwrap();
    let lines = list
        .iter()
        .map(|d| {
            let file = Path::new(d["file"].as_str().unwrap())
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned();
            let help = d["help"].as_str().map(|h| format!(" [{h}]")).unwrap_or_default();
            format!(
                "{file}:{}:{} {} {}: {}{help}",
                d["line"],
                d["column"],
                d["severity"].as_str().unwrap(),
                d["path"].as_str().unwrap(),
                d["message"].as_str().unwrap()
            )
        })
        .collect();
    (o.status.code().unwrap(), lines)
}

fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn netspresso_config_files_validate_but_for_their_real_mistakes() {
    let root = common::root("tests/fixtures/netspresso-configs");
    let files = common::files_under(&root);
    assert_eq!(files.len(), 68);
    let mut errors = Vec::new();
    for f in &files {
        let (_, diags) = validate(&[f]);
        let rel = f.strip_prefix(&root).unwrap().display().to_string();
        errors.extend(
            diags
                .iter()
                .filter(|d| d.split(' ').nth(1) == Some("error"))
                .map(|d| format!("{rel} {d}")),
        );
    }
    // Each of these stops NetsPresso Trainer 1.4.1 too: `mixing` before other transforms raises
    // "Mixing transform is in the middle of transforms", and `id_mapping: ~` raises
    // "Unsupported id_mapping value None".
    assert_eq!(
        errors,
        [
            "benchmark_examples/classification-imagenet1k-resnet50/augmentation.yaml augmentation.yaml:25:7 error augmentation.train[4]: `mixing` must be the last transform [NetsPresso refuses it in the middle (\"Mixing transform is in the middle of transforms. This must be in the last of transforms list.\")]",
            "data/local/chess.yaml chess.yaml:16:15 error data.id_mapping: expected a list or a mapping or a string, found null [Class names: a list (index = class), a map {label value: name} (segmentation; a colour is \"(r, g, b)\"), or a JSON file of either relative to `root`.]",
            "data/local/rcv-workshop-iccv2023.yaml rcv-workshop-iccv2023.yaml:16:15 error data.id_mapping: expected a list or a mapping or a string, found null [Class names: a list (index = class), a map {label value: name} (segmentation; a colour is \"(r, g, b)\"), or a JSON file of either relative to `root`.]",
        ]
    );
}

const TRAINING: &str = "training:
  epochs: 0
  mixed_precision: False
  ema: {name: exp_decay, decay: 0.9999, beta: 15, bta: 2}
  max_norm: ~
  optimzer: {}
  optimizer:
    name: SGD
    lr: 0.01
    momentum: 0.9
    betas: [0.9, 0.999]
    weight_decay: 0.0005
    nesterov: yes
    no_bias_decay: False
    no_norm_weight_decay: False
    overwrite: [{param_group: heads, lr: 0.1}]
  scheduler: {name: cosine_nosgdr, warmup_epochs: 5}
";

#[test]
fn training_configs_are_checked_field_by_field() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(dir.path(), "training.yaml", TRAINING);
    let (code, diags) = validate(&[&f]);
    assert_eq!(code, 1);
    assert_eq!(
        diags,
        [
            "training.yaml:2:11 error training.epochs: must be at least 1, found 0",
            "training.yaml:4:51 error training.ema.bta: unknown key `bta` in `training.ema` [did you mean `beta`?]",
            "training.yaml:6:3 error training.optimzer: unknown key `optimzer` in `training` [did you mean `optimizer`?]",
            "training.yaml:11:5 error training.optimizer.betas: `betas` is not a setting of `SGD` in `training.optimizer` [expected one of `no_bias_decay`, `no_norm_weight_decay`, `overwrite`, `name`, `lr`, `momentum`, `weight_decay`, `nesterov`]",
            "training.yaml:13:15 error training.optimizer.nesterov: expected true or false, found the string \"yes\" [YAML 1.2 reads yes/no/on/off as strings; write true or false]",
            "training.yaml:16:31 error training.optimizer.overwrite[0].param_group: unknown parameter group `heads` [did you mean `head`?]",
            "training.yaml:17:21 error training.scheduler.name: unknown scheduler `cosine_nosgdr` [did you mean `cosine_no_sgdr`?]",
        ]
    );
    // The stock file is valid; an end beyond the run is a warning, as NetsPresso clamps it.
    let stock = std::fs::read_to_string(common::root("configs/training/training.yaml")).unwrap();
    let f = write(dir.path(), "training.yaml", &stock.replace("epochs: 30", "epochs: 20"));
    let (code, diags) = validate(&[&f]);
    assert_eq!(code, 0, "{diags:?}");
    assert_eq!(
        diags,
        [
            "training.yaml:19:16 warning training.scheduler.end_epoch: `end_epoch` 25 is beyond `epochs` 20; the schedule ends at epoch 20 (as NetsPresso clamps it)"
        ]
    );
}

#[test]
fn augmentation_data_logging_and_environment_configs_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let aug = write(
        dir.path(),
        "augmentation.yaml",
        "augmentation:
  train:
    - {name: randomresizecrop, size: 224}
    - {name: colorjitter, brightness: 0.2, contrast: 0.2, saturation: 0.2, hue: 0.1, p: 1.5}
    - {name: mixing, mixup: [0.2, 1.0], cutmix: ~, inplace: false}
    - {name: totensor, pixel_range: 1.0}
  inference:
    - {name: resize, size: 256, interpolation: bilinear, max_size: ~}
    - {name: Normalize, mean: [0.5, 0.5], std: [0.5, 0.5, 0.5]}
",
    );
    let (code, diags) = validate(&[&aug]);
    assert_eq!(code, 1);
    assert_eq!(
        diags,
        [
            "augmentation.yaml:3:14 error augmentation.train[0].name: unknown transform `randomresizecrop` [did you mean `randomresizedcrop`?]",
            "augmentation.yaml:4:89 error augmentation.train[1].p: must be at most 1, found 1.5",
            "augmentation.yaml:5:7 error augmentation.train[2]: `mixing` must be the last transform [NetsPresso refuses it in the middle (\"Mixing transform is in the middle of transforms. This must be in the last of transforms list.\")]",
            "augmentation.yaml:8:7 warning augmentation.inference[0]: `resize` without `resize_criteria` [NetsPresso 1.4.1 requires every argument of a transform (zoo uses torchvision's defaults)]",
            "augmentation.yaml:8:28 error augmentation.inference[0].size: a resize to one number needs `resize_criteria` [set `resize_criteria: short` or `long`, or give `size: [height, width]` (NetsPresso asserts it)]",
            "augmentation.yaml:9:31 error augmentation.inference[1].mean: expected at least 3 items, found 2",
        ]
    );
    let data = write(
        dir.path(),
        "data.yaml",
        "data:
  name: shapes
  task: segmentaton
  format: local
  path:
    root: ./shapes
    train: {image: images/train, label: masks/train}
  label_image_mode: rbg
  palette: ~
  id_mapping: {\"(0, 0, 0)\": background}
",
    );
    let (_, diags) = validate(&[&data]);
    assert_eq!(
        diags,
        [
            "data.yaml:3:9 error data.task: unknown task `segmentaton` [did you mean `segmentation`?]",
            "data.yaml:8:21 error data.label_image_mode: unknown label image mode `rbg` [expected one of `RGB`, `L`, `P`]",
            "data.yaml:9:3 error data.palette: unknown key `palette` in `data` [did you mean `pallete`?]",
        ]
    );
    let logging = write(
        dir.path(),
        "logging.yaml",
        "logging:
  output_dir: ./outputs
  image: true
  model_save_options: {best_model_criterion: accuracy, validation_epoch: 4, save_checkpoint_epoch: 6}
  metrics: {classwise_analysis: false, metric_names: [top1_acc]}
",
    );
    let (_, diags) = validate(&[&logging]);
    assert_eq!(
        diags,
        [
            "logging.yaml:3:3 warning logging.image: `image` is ignored: the pre-1.4 switch for saving images; use `num_save_samples`",
            "logging.yaml:4:46 error logging.model_save_options.best_model_criterion: unknown criterion `accuracy` [expected one of `loss`, `metric`]",
            "logging.yaml:4:100 error logging.model_save_options.save_checkpoint_epoch: `save_checkpoint_epoch` (6) must be a multiple of `validation_epoch` (4) [e.g. 4]",
            "logging.yaml:5:55 error logging.metrics.metric_names[0]: unknown metric `top1_acc` [did you mean `top1_accuracy`?]",
        ]
    );
    let env = write(
        dir.path(),
        "environment.yaml",
        "environment: {seed: 1, num_workers: -1, gpu: 0, batch_size: 0, cache_data: False}\n",
    );
    let (_, diags) = validate(&[&env]);
    assert_eq!(
        diags,
        [
            "environment.yaml:1:37 error environment.num_workers: must be at least 0, found -1",
            "environment.yaml:1:41 error environment.gpu: unknown key `gpu` in `environment` [did you mean `gpus`?]",
            "environment.yaml:1:61 error environment.batch_size: must be at least 1, found 0",
        ]
    );
}

#[test]
fn the_files_of_one_run_are_checked_together() {
    let dir = tempfile::tempdir().unwrap();
    let data = write(
        dir.path(),
        "data.yaml",
        "data:
  name: shapes
  task: segmentation
  format: local
  path:
    root: ./shapes
    train: {image: images/train, label: ~}
  label_image_mode: L
  id_mapping: [background, shape]
",
    );
    let model = common::root("configs/vit-tiny-classification.yaml");
    let full = common::root("configs/pidnet-s-segmentation.yaml");
    let logging = write(
        dir.path(),
        "logging.yaml",
        "logging:\n  output_dir: ./outputs\n  metrics: {classwise_analysis: false, metric_names: [miou, top1_accuracy]}\n",
    );
    let training = std::fs::read_to_string(common::root("configs/training/training.yaml")).unwrap();
    let training = write(
        dir.path(),
        "training.yaml",
        &training.replace("overwrite: ~", "overwrite: [{param_group: head, lr: 0.001}]"),
    );
    let (code, diags) = validate(&[&data, &model, &logging, &training]);
    assert_eq!(code, 1);
    assert_eq!(
        diags,
        [
            "data.yaml:3:9 error data.task: the data is for `segmentation` but the model config is for `classification` [`data.task` and `model.task` must name the same task (NetsPresso does not check this and fails mid-run)]",
            "data.yaml:7:5 error data.path.train: no train split: `path.train` needs `image` and `label` [NetsPresso asserts it when training starts (\"For training, train split of dataset must be provided.\")]",
            "logging.yaml:3:55 error logging.metrics.metric_names[0]: `miou` is not a classification metric [available for classification: top1_accuracy, top5_accuracy]",
        ]
    );
    // PIDNet is a full model: per-module groups do not apply.
    let (_, diags) = validate(&[&full, &training]);
    assert!(
        diags.contains(&"training.yaml:13:5 error training.optimizer.overwrite: `overwrite` sets backbone / neck / head groups, which a full model does not have [NetsPresso asserts \"Overwrite config only for non single task model\"; remove it or set it to ~]".to_string()),
        "{diags:?}"
    );
}

#[test]
fn a_merged_file_is_checked_across_its_sections() {
    let dir = tempfile::tempdir().unwrap();
    let model = std::fs::read_to_string(common::root("configs/resnet18-classification.yaml")).unwrap();
    let merged = format!(
        "{model}\ndata:\n  name: x\n  task: segmentation\n  format: local\n  path: {{root: ./x, train: {{image: i, label: l}}}}\n  label_image_mode: L\n  id_mapping: [a, b]\nenvironment: {{seed: 1, num_workers: 0, gpus: 0, batch_size: 0, cache_data: false}}\n"
    );
    let line = |needle: &str| merged.lines().position(|l| l.contains(needle)).unwrap() + 1;
    let f = write(dir.path(), "merged.yaml", &merged);
    let (code, diags) = validate(&[&f]);
    assert_eq!(code, 1);
    assert_eq!(
        diags,
        [
            format!(
                "merged.yaml:{}:9 error data.task: the data is for `segmentation` but the model config is for `classification` [`data.task` and `model.task` must name the same task (NetsPresso does not check this and fails mid-run)]",
                line("task: segmentation")
            ),
            format!(
                "merged.yaml:{}:61 error environment.batch_size: must be at least 1, found 0",
                line("batch_size: 0")
            ),
        ]
    );
}
