//! A tiny training run shared by the training tests and the GPU tests: a four-colour
//! classification set and the six config files of a run over it.

/// A small classification set in NetsPresso's local layout: four colours, noisy 24x24 PNGs,
/// 16 per class for training and 4 for validation, with `image_id,class` CSVs.
pub fn colour_dataset(root: &std::path::Path) {
    colour_dataset_of(root, 16, 4);
}

/// `train` and `valid` images per class of the four-colour set.
pub fn colour_dataset_of(root: &std::path::Path, train: usize, valid: usize) {
    let colours = [[200u8, 40, 40], [40, 200, 40], [40, 40, 200], [200, 200, 40]];
    let mut state = 7u32;
    let mut noise = move || {
        state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        (state >> 24) as i32 - 128
    };
    for (split, n) in [("train", train), ("valid", valid)] {
        std::fs::create_dir_all(root.join("images").join(split)).unwrap();
        std::fs::create_dir_all(root.join("labels")).unwrap();
        let mut rows = vec!["image_id,class".to_string()];
        for (c, rgb) in colours.iter().enumerate() {
            for i in 0..n {
                let img = image::RgbImage::from_fn(24, 24, |_, _| {
                    image::Rgb(rgb.map(|v| (v as i32 + noise() / 3).clamp(0, 255) as u8))
                });
                let name = format!("{c}_{i}.png");
                img.save(root.join("images").join(split).join(&name)).unwrap();
                rows.push(format!("{name},{c}"));
            }
        }
        std::fs::write(root.join("labels").join(format!("{split}.csv")), rows.join("\n") + "\n").unwrap();
    }
}

/// The model of the tiny run: a two-stage ResNet for 32x32 images.
pub const TINY_RESNET: &str = "model:\n  task: classification\n  name: tiny_resnet\n  checkpoint: {use_pretrained: false, load_head: false, path: ~, optimizer_path: ~}\n  freeze_backbone: false\n  architecture:\n    full: ~\n    backbone:\n      name: resnet\n      params: {block_type: basicblock, norm_type: batch_norm, return_stage_idx: ~, split_stem_conv: false, first_stage_shortcut_conv: false}\n      stage_params:\n        - {channels: 8, num_blocks: 1}\n        - {channels: 16, num_blocks: 1, replace_stride_with_dilation: false, replace_stride_with_pooling: false}\n    head:\n      name: fc\n      params: {num_layers: 1, intermediate_channels: ~, act_type: ~, dropout_prob: 0.0}\n  postprocessor: ~\n  losses:\n    - {criterion: cross_entropy, label_smoothing: 0.1, weight: ~}\n";

/// The six configs of a tiny run (a two-stage ResNet at 32x32) under `dir`.
pub fn tiny_run_configs(dir: &std::path::Path, data_extra: &str) -> Vec<String> {
    let root = dir.join("data");
    colour_dataset(&root);
    let files = [
        (
            "data.yaml",
            format!(
                "data:\n  name: colours\n  task: classification\n  format: local\n  path:\n    root: {}\n    train: {{image: images/train, label: labels/train.csv}}\n    valid: {{image: images/valid, label: labels/valid.csv}}\n    test: {{image: ~, label: ~}}\n  id_mapping: [red, green, blue, yellow]\n{data_extra}",
                root.display()
            ),
        ),
        (
            "augmentation.yaml",
            "augmentation:\n  train:\n    - {name: randomresizedcrop, size: 32, scale: [0.5, 1.0], ratio: [0.75, 1.33], interpolation: bilinear}\n    - {name: randomhorizontalflip, p: 0.5}\n    - {name: totensor, pixel_range: 1.0}\n    - {name: normalize, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225]}\n  inference:\n    - {name: resize, size: [32, 32], interpolation: bilinear, max_size: ~, resize_criteria: ~}\n    - {name: totensor, pixel_range: 1.0}\n    - {name: normalize, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225]}\n".to_string(),
        ),
        (
            "model.yaml",
            TINY_RESNET.to_string(),
        ),
        (
            "training.yaml",
            "training:\n  epochs: 6\n  mixed_precision: False\n  ema: ~\n  max_norm: ~\n  optimizer: {name: adamw, lr: 0.01, betas: [0.9, 0.999], weight_decay: 0.0005, no_bias_decay: False, no_norm_weight_decay: False, overwrite: ~}\n  scheduler: {name: cosine_no_sgdr, warmup_epochs: 1, warmup_bias_lr: 0.001, min_lr: 0.0001, end_epoch: 6}\n".to_string(),
        ),
        (
            "logging.yaml",
            format!(
                "logging:\n  project_id: ~\n  output_dir: {}\n  tensorboard: false\n  model_save_options: {{save_optimizer_state: true, save_best_only: false, best_model_criterion: loss, validation_epoch: 1, save_checkpoint_epoch: 2}}\n",
                dir.join("outputs").display()
            ),
        ),
        ("environment.yaml", "environment: {seed: 1, num_workers: 2, gpus: 0, batch_size: 8, cache_data: False}\n".to_string()),
    ];
    write_run(dir, &files)
}

/// Writes the config files of a run under `dir`; the `zoo train` arguments that name them.
pub fn write_run(dir: &std::path::Path, files: &[(&str, String)]) -> Vec<String> {
    let mut args = vec!["train".to_string()];
    for (name, text) in files {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        args.push(format!("--{}", name.trim_end_matches(".yaml")));
        args.push(p.display().to_string());
    }
    args
}
