//! `zoo run` and `zoo save` end to end, on the parity fixtures and a bundled sample image.

mod common;

use common::{root, text, zoo};
use std::path::{Path, PathBuf};

fn f(p: &str) -> String {
    root(p).display().to_string()
}

const CONFIG: &str = "tests/fixtures/parity/resnet_basic.yaml";
const WEIGHTS: &str = "tests/fixtures/parity/resnet_basic.safetensors";

#[test]
fn run_on_the_sample_image_prints_top5() {
    let o = zoo(&[
        "run",
        &f(CONFIG),
        "--checkpoint",
        &f(WEIGHTS),
        "--input",
        &f("tests/fixtures/images/sample.png"),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let out = text(&o.stdout);
    assert!(out.starts_with("image 0: top-5\n  1. class "), "{out}");
    assert_eq!(out.lines().count(), 6, "{out}");
    let err = text(&o.stderr);
    assert!(err.contains("classes: 10 (from the checkpoint's head)"), "{err}");
    assert!(err.contains("applied 77, missing 0, unexpected 0"), "{err}");
    // JPEG decodes too.
    let o = zoo(&[
        "run",
        &f(CONFIG),
        "--checkpoint",
        &f(WEIGHTS),
        "--input",
        &f("tests/fixtures/images/sample.jpg"),
        "--top-k",
        "3",
    ]);
    assert_eq!(text(&o.stdout).lines().count(), 4);
}

#[test]
fn run_on_a_tensor_file_writes_netspresso_pred() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("pred.npy");
    let io = f("tests/fixtures/parity/resnet_basic.io.safetensors");
    let o = zoo(&[
        "run",
        &f(CONFIG),
        "--checkpoint",
        &f(WEIGHTS),
        "--input",
        &io,
        "--output",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let got = zoo::io::tensor_files::read_npy(&out).unwrap();
    let want = zoo::io::tensor_files::read_safetensors(Path::new(&io), "output").unwrap();
    assert_eq!(got.shape, [2, 10]);
    let diff = got
        .values
        .iter()
        .zip(&want.values)
        .map(|(a, b)| (a - b).abs())
        .fold(0f32, f32::max);
    assert!(diff <= 1e-4, "{diff}");
    assert_eq!(text(&o.stdout).matches("top-5").count(), 2);
    // .safetensors output holds `pred`.
    let st = dir.path().join("pred.safetensors");
    let o = zoo(&[
        "run",
        &f(CONFIG),
        "--checkpoint",
        &f(WEIGHTS),
        "--input",
        &io,
        "--output",
        st.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(
        zoo::io::tensor_files::read_safetensors(&st, "pred").unwrap().values,
        got.values
    );
}

#[test]
fn class_names_come_from_a_data_config() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data.yaml");
    let names: Vec<String> = (0..10).map(|i| format!("thing{i}")).collect();
    std::fs::write(&data, format!("data:\n  id_mapping: [{}]\n", names.join(", "))).unwrap();
    let o = zoo(&[
        "run",
        &f(CONFIG),
        "--input",
        &f("tests/fixtures/images/sample.png"),
        "--data",
        data.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert!(
        text(&o.stderr).contains("classes: 10 (from the id_mapping of"),
        "{}",
        text(&o.stderr)
    );
    assert!(text(&o.stderr).contains("warning: no checkpoint"));
    assert!(text(&o.stdout).contains("  thing"), "{}", text(&o.stdout));
}

#[test]
fn unknown_class_count_and_bad_inputs_are_usage_errors() {
    let o = zoo(&["run", &f(CONFIG), "--input", &f("tests/fixtures/images/sample.png")]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("the number of classes is unknown"));
    let o = zoo(&["run", &f(CONFIG), "--num-classes", "3", "--input", "/no/image.png"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("cannot read image /no/image.png"),
        "{}",
        text(&o.stderr)
    );
    let o = zoo(&["run", &f(CONFIG), "--num-classes", "3", "--input", &f(CONFIG)]);
    assert_eq!(o.status.code(), Some(2));
    let o = zoo(&[
        "run",
        &f(CONFIG),
        "--checkpoint",
        &f("tests/fixtures/parity/vit.safetensors"),
        "--input",
        &f("tests/fixtures/images/sample.png"),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o.stderr)
            .contains("shape mismatch for 1 tensor(s): head.classifier.1.weight (model [10, 32], checkpoint [10, 24])"),
        "{}",
        text(&o.stderr)
    );
}

#[test]
fn torchvision_checkpoints_through_weights_from() {
    let io = f("tests/fixtures/parity/resnet_basic.io.safetensors");
    for file in ["resnet_basic_torchvision.pth", "resnet_basic_torchvision.safetensors"] {
        let ck = f(&format!("tests/fixtures/parity/{file}"));
        let o = zoo(&[
            "run",
            &f(CONFIG),
            "--checkpoint",
            &ck,
            "--weights-from",
            "torchvision",
            "--num-classes",
            "10",
            "--input",
            &io,
        ]);
        assert_eq!(o.status.code(), Some(0), "{file}: {}", text(&o.stderr));
    }
    let o = zoo(&[
        "run",
        &f(CONFIG),
        "--checkpoint",
        &f(WEIGHTS),
        "--weights-from",
        "timm",
        "--input",
        &io,
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("declares no key-remap rules for `timm` (it has: torchvision)"));
}

#[test]
fn save_writes_loadable_weights() {
    let dir = tempfile::tempdir().unwrap();
    let out: PathBuf = dir.path().join("w.safetensors");
    let o = zoo(&[
        "save",
        &f(CONFIG),
        "--checkpoint",
        &f(WEIGHTS),
        "--output",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert_eq!(text(&o.stdout).trim(), format!("wrote 77 tensors to {}", out.display()));
    let io = f("tests/fixtures/parity/resnet_basic.io.safetensors");
    let pred = dir.path().join("p.npy");
    let o = zoo(&[
        "run",
        &f(CONFIG),
        "--checkpoint",
        out.to_str().unwrap(),
        "--input",
        &io,
        "--output",
        pred.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let want = zoo::io::tensor_files::read_safetensors(Path::new(&io), "output").unwrap();
    let got = zoo::io::tensor_files::read_npy(&pred).unwrap();
    assert!(got.values.iter().zip(&want.values).all(|(a, b)| (a - b).abs() <= 1e-4));
    let o = zoo(&["save", &f(CONFIG), "--num-classes", "3", "--output", "w.pth"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn torch_fx_models_are_refused_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let config = std::fs::read_to_string(f(CONFIG))
        .unwrap()
        .replace(
            "path: null",
            &format!("path: {}", dir.path().join("model_fx.pt").display()),
        )
        .replace("use_pretrained: false", "use_pretrained: true");
    let cfg = dir.path().join("fx.yaml");
    std::fs::write(&cfg, config).unwrap();
    std::fs::write(dir.path().join("model_fx.pt"), b"PK").unwrap();
    let o = zoo(&[
        "run",
        cfg.to_str().unwrap(),
        "--num-classes",
        "10",
        "--input",
        &f("tests/fixtures/images/sample.png"),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    assert!(
        text(&o.stderr).contains("model_fx.pt is a torch.fx model"),
        "{}",
        text(&o.stderr)
    );
}

#[test]
fn segmentation_writes_netspresso_masks_and_raw_pred() {
    let dir = tempfile::tempdir().unwrap();
    let mask = dir.path().join("mask.png");
    let pred = dir.path().join("pred.npy");
    let io = f("tests/fixtures/parity/resnet_seg.io.safetensors");
    let o = zoo(&[
        "run",
        &f("tests/fixtures/parity/resnet_seg.yaml"),
        "--checkpoint",
        &f("tests/fixtures/parity/resnet_seg.safetensors"),
        "--input",
        &io,
        "--mask",
        mask.to_str().unwrap(),
        "--output",
        pred.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    // The class count comes from the decoder's classifier, not from its other head tensors.
    assert!(text(&o.stderr).contains("classes: 10 (from the checkpoint's head)"));
    // --output keeps the raw logits at the decoder's resolution (stride 4).
    assert_eq!(zoo::io::tensor_files::read_npy(&pred).unwrap().shape, [2, 10, 8, 8]);
    // One mask per image, at the input size, equal to NetsPresso's postprocessor's.
    let want = zoo::io::tensor_files::read_safetensors(Path::new(&io), "mask").unwrap();
    assert_eq!(want.shape, [2, 32, 32]);
    for i in 0..2 {
        let img = image::open(dir.path().join(format!("mask_{i}.png")))
            .unwrap()
            .to_luma8();
        assert_eq!(img.dimensions(), (32, 32));
        let got: Vec<f32> = img.pixels().map(|p| p[0] as f32).collect();
        assert_eq!(got, want.values[i * 1024..(i + 1) * 1024], "image {i}");
    }
    let out = text(&o.stdout);
    assert!(
        out.starts_with("image 0: mask 32x32, largest classes:\n  class "),
        "{out}"
    );
    // A mask for a classifier, or a mask that is not a PNG, is a usage error.
    let o = zoo(&[
        "run",
        &f(CONFIG),
        "--checkpoint",
        &f(WEIGHTS),
        "--input",
        &io,
        "--mask",
        mask.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    assert!(text(&o.stderr).contains("--mask is for segmentation models"));
    let o = zoo(&["run", &f(CONFIG), "--input", &io, "--mask", "m.jpg"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("--mask must end in .png"));
}
