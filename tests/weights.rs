//! Checkpoint files: full-size NetsPresso state dicts load with no missing and no unexpected
//! keys; broken files give clear errors, never panics.

mod common;

use common::state_dict_from_facts;
use safetensors::tensor::{Dtype, TensorView};
use std::path::{Path, PathBuf};
use zoo::io::weights::{LoadOptions, WeightsError};

use common::root;

fn build(config: &str) -> zoo::TaskModel {
    let text = std::fs::read_to_string(root("tests/fixtures/netspresso").join(config)).unwrap();
    let cfg = zoo::check_text(&text).config.unwrap();
    zoo::build(&cfg, 1000, &burn::tensor::Device::flex()).unwrap()
}

/// A safetensors file with every key and shape of NetsPresso's state dict for `config`
/// (from the reference facts), `num_batches_tracked` included as int64.
fn netspresso_state_dict(config: &str, dir: &Path) -> PathBuf {
    state_dict_from_facts(&config.replace(".yaml", ".txt"), dir)
}

#[test]
fn full_size_netspresso_state_dicts_load_exactly() {
    let dir = tempfile::tempdir().unwrap();
    for config in [
        "resnet18-classification.yaml",
        "resnet34-classification.yaml",
        "resnet50-classification.yaml",
        "mobilenetv3-small-classification.yaml",
        "mobilenetv3-large-classification.yaml",
        "vit-tiny-classification.yaml",
    ] {
        let file = netspresso_state_dict(config, dir.path());
        let mut model = build(config);
        let opts = LoadOptions {
            load_head: true,
            remap: vec![],
        };
        let report = zoo::io::weights::load(&mut model, &file, &opts).unwrap_or_else(|e| panic!("{config}: {e}"));
        assert!(
            report.missing.is_empty() && report.unexpected.is_empty(),
            "{config}: {report}"
        );
        assert_eq!(report.applied.len(), zoo::model::state_dict(&model).len(), "{config}");
    }
}

fn load_err(file: &Path) -> WeightsError {
    let mut model = build("resnet18-classification.yaml");
    zoo::io::weights::load(
        &mut model,
        file,
        &LoadOptions {
            load_head: true,
            remap: vec![],
        },
    )
    .expect_err("a broken file")
}

#[test]
fn truncated_safetensors() {
    let dir = tempfile::tempdir().unwrap();
    let good = netspresso_state_dict("resnet18-classification.yaml", dir.path());
    let bytes = std::fs::read(&good).unwrap();
    let cut = dir.path().join("cut.safetensors");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let e = load_err(&cut);
    assert!(matches!(e, WeightsError::Corrupt(..)), "{e}");
    assert!(
        e.to_string().contains("cut.safetensors is not a valid checkpoint"),
        "{e}"
    );
}

#[test]
fn lying_header_safetensors() {
    let dir = tempfile::tempdir().unwrap();
    let lying = dir.path().join("lying.safetensors");
    // The header claims 10 MB of JSON in an 18-byte file.
    let mut bytes = (10_000_000u64).to_le_bytes().to_vec();
    bytes.extend_from_slice(b"{\"a\":1}\0\0\0");
    std::fs::write(&lying, bytes).unwrap();
    assert!(matches!(load_err(&lying), WeightsError::Corrupt(..)));
}

#[test]
fn wrong_dtype_safetensors() {
    let dir = tempfile::tempdir().unwrap();
    let data = vec![0u8; 64 * 3 * 7 * 7];
    let views = vec![(
        "backbone.conv1.block.conv.weight".to_string(),
        TensorView::new(Dtype::U8, vec![64, 3, 7, 7], &data).unwrap(),
    )];
    let path = dir.path().join("u8.safetensors");
    safetensors::serialize_to_file(views, None, &path).unwrap();
    let e = load_err(&path);
    assert!(e.to_string().contains("backbone.conv1.block.conv.weight"), "{e}");
}

#[test]
fn full_size_torchvision_state_dicts_load_through_the_spec_remap_rules() {
    let dir = tempfile::tempdir().unwrap();
    for (facts, config, backbone, source) in [
        (
            "torchvision_resnet18.txt",
            "resnet18-classification.yaml",
            "resnet",
            "torchvision",
        ),
        (
            "torchvision_mobilenet_v3_small.txt",
            "mobilenetv3-small-classification.yaml",
            "mobilenetv3",
            "torchvision_small",
        ),
        (
            "torchvision_mobilenet_v3_large.txt",
            "mobilenetv3-large-classification.yaml",
            "mobilenetv3",
            "torchvision_large",
        ),
    ] {
        let file = state_dict_from_facts(facts, dir.path());
        let rules = zoo::architectures::registry::find("backbone", backbone)
            .unwrap()
            .remap
            .iter()
            .find(|(s, _)| s == source)
            .unwrap()
            .1
            .clone();
        let mut model = build(config);
        let report = zoo::io::weights::load(
            &mut model,
            &file,
            &LoadOptions {
                load_head: true,
                remap: rules,
            },
        )
        .unwrap_or_else(|e| panic!("{facts}: {e}"));
        assert!(
            report.missing.is_empty() && report.unexpected.is_empty(),
            "{facts}: {report}"
        );
        assert_eq!(report.applied.len(), zoo::model::state_dict(&model).len(), "{facts}");
    }
}

#[test]
fn pickles_that_are_not_state_dicts() {
    for f in ["not_a_state_dict_list.pt", "not_a_state_dict_tensor.pt"] {
        let e = load_err(&root("tests/fixtures/parity").join(f));
        assert!(
            matches!(e, WeightsError::Corrupt(..) | WeightsError::Missing(..)),
            "{f}: {e}"
        );
        assert!(e.to_string().contains(f) || e.to_string().contains("lacks"), "{f}: {e}");
    }
}

#[test]
fn a_pt_file_that_is_not_a_state_dict() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.pt");
    std::fs::write(&path, b"PK\x03\x04 definitely not a pickled state dict").unwrap();
    let e = load_err(&path);
    assert!(matches!(e, WeightsError::Corrupt(..)), "{e}");
    let text_file = dir.path().join("notes.pth");
    std::fs::write(&text_file, "hello").unwrap();
    assert!(matches!(load_err(&text_file), WeightsError::Corrupt(..)));
}

#[test]
fn missing_file_and_unknown_format() {
    assert!(matches!(
        load_err(Path::new("/no/such.safetensors")),
        WeightsError::Io(..)
    ));
    let e = load_err(Path::new("weights.onnx"));
    assert!(e.to_string().contains("unknown weights format"), "{e}");
}

#[test]
fn save_then_load_round_trips_with_netspresso_names() {
    let dir = tempfile::tempdir().unwrap();
    let model = build("mobilenetv3-small-classification.yaml");
    let path = dir.path().join("m.safetensors");
    zoo::io::weights::save(&model, &path).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let mut names: Vec<String> = st.names().into_iter().map(String::from).collect();
    names.sort();
    let mut want: Vec<String> = zoo::model::state_dict(&model).into_iter().map(|(k, _)| k).collect();
    want.sort();
    assert_eq!(names, want);
    assert_eq!(st.tensor("head.classifier.0.weight").unwrap().shape(), [1024, 576]);
    let mut again = build("mobilenetv3-small-classification.yaml");
    let report = zoo::io::weights::load(
        &mut again,
        &path,
        &LoadOptions {
            load_head: true,
            remap: vec![],
        },
    )
    .unwrap();
    assert_eq!(report.applied.len(), want.len());
    let bpk = dir.path().join("m.bpk");
    zoo::io::weights::save(&model, &bpk).unwrap();
    let report = zoo::io::weights::load(
        &mut again,
        &bpk,
        &LoadOptions {
            load_head: true,
            remap: vec![],
        },
    )
    .unwrap();
    assert_eq!(report.applied.len(), want.len());
}
