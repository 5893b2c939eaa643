//! NetsPresso Trainer's own configs validate unchanged, and the models built from them have
//! exactly NetsPresso's parameter counts and state-dict keys/shapes (reference facts in
//! `tests/fixtures/reference/`, written by `tests/reference/netspresso_reference.py`).

mod common;

use std::path::{Path, PathBuf};

fn fixture(dir: &str, name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(dir)
        .join(name)
}

fn build(config: &str) -> zoo::model::TaskModel {
    let text = std::fs::read_to_string(fixture("netspresso", config)).unwrap();
    let v = zoo::config::check_text(&text);
    // Only warnings (e.g. segformer's ignored `resize_output`), each about an ignored key.
    assert!(
        v.diagnostics
            .iter()
            .all(|d| d.severity == zoo::config::diagnostics::Severity::Warning
                && d.message.ends_with("is accepted for compatibility and ignored")),
        "{config}: {:?}",
        v.diagnostics
    );
    let cfg = v.config.expect("valid");
    // As the reference facts were made: 1000 ImageNet classes, 19 Cityscapes classes, 80 COCO
    // classes, 17 COCO keypoints.
    let classes = match cfg.task.as_str() {
        "segmentation" => 19,
        "detection" => 80,
        "pose_estimation" => 17,
        _ => 1000,
    };
    zoo::model::build(&cfg, classes, &burn::tensor::Device::flex()).unwrap()
}

/// Parameter count and state dict of the reference model, without BatchNorm's
/// `num_batches_tracked` (a PyTorch-only counter with no weights).
fn reference(config: &str) -> (usize, Vec<(String, Vec<usize>)>) {
    let stem = config.trim_end_matches(".yaml");
    let text = std::fs::read_to_string(fixture("reference", &format!("{stem}.txt"))).unwrap();
    let mut lines = text.lines();
    let params = lines.next().unwrap().trim_start_matches("# params ").parse().unwrap();
    let keys = lines
        .filter(|l| !l.contains("num_batches_tracked"))
        .map(|l| {
            let (k, shape) = l.split_once(' ').unwrap();
            let shape: Vec<usize> = serde_json::from_str(shape).unwrap();
            (k.to_string(), shape)
        })
        .collect();
    (params, keys)
}

fn check(config: &str, expected_params: usize) {
    let model = build(config);
    let (ref_params, ref_keys) = reference(config);
    assert_eq!(ref_params, expected_params, "{config}: reference fixture");
    assert_eq!(
        zoo::model::count_params(&model),
        expected_params,
        "{config}: parameter count"
    );
    let ours = zoo::model::state_dict(&model);
    let missing: Vec<_> = ref_keys.iter().filter(|k| !ours.contains(k)).collect();
    let unexpected: Vec<_> = ours.iter().filter(|k| !ref_keys.contains(k)).collect();
    assert!(
        missing.is_empty() && unexpected.is_empty(),
        "{config}: missing {missing:?}, unexpected {unexpected:?}"
    );
    assert_eq!(ours.len(), ref_keys.len());
    loads_a_state_dict_with_the_reference_keys(config, model);
}

/// Writes a state dict with exactly the reference's keys and shapes (BatchNorm's
/// `num_batches_tracked` included, index tables as int64) and loads it: nothing may be
/// missing or unexpected.
fn loads_a_state_dict_with_the_reference_keys(config: &str, mut model: zoo::TaskModel) {
    let dir = tempfile::tempdir().unwrap();
    let path = common::state_dict_from_facts(&config.replace(".yaml", ".txt"), dir.path());
    let report = zoo::io::weights::load(
        &mut model,
        &path,
        &zoo::io::weights::LoadOptions {
            load_head: true,
            remap: vec![],
        },
    )
    .unwrap_or_else(|e| panic!("{config}: {e}"));
    assert!(
        report.missing.is_empty() && report.unexpected.is_empty(),
        "{config}: {report}"
    );
    assert_eq!(report.applied.len(), zoo::model::state_dict(&model).len(), "{config}");
}

#[test]
fn resnet18() {
    check("resnet18-classification.yaml", 11_689_512);
}

#[test]
fn resnet34() {
    check("resnet34-classification.yaml", 21_797_672);
}

#[test]
fn resnet50() {
    check("resnet50-classification.yaml", 25_557_032);
}

#[test]
fn mobilenet_v3_small() {
    check("mobilenetv3-small-classification.yaml", 2_542_856);
}

#[test]
fn mobilenet_v3_large() {
    check("mobilenetv3-large-classification.yaml", 5_483_032);
}

#[test]
fn vit_tiny() {
    check("vit-tiny-classification.yaml", 5_698_600);
}

#[test]
fn resnet50_segmentation() {
    check("resnet50-segmentation.yaml", 24_103_763);
}

#[test]
fn mobilenet_v3_small_segmentation() {
    check("mobilenetv3-small-segmentation.yaml", 1_366_579);
}

#[test]
fn mixnet_s() {
    check("mixnet-s-classification.yaml", 4_134_606);
    check("mixnet-s-segmentation.yaml", 3_307_513);
}

#[test]
fn mixnet_m() {
    check("mixnet-m-classification.yaml", 5_014_382);
    check("mixnet-m-segmentation.yaml", 4_189_337);
}

#[test]
fn mixnet_l() {
    check("mixnet-l-classification.yaml", 7_329_252);
    check("mixnet-l-segmentation.yaml", 6_520_591);
}

#[test]
fn mobilenet_v4_conv_small() {
    check("mobilenetv4-conv-small-classification.yaml", 3_775_368);
}

#[test]
fn mobilenet_v4_conv_medium() {
    check("mobilenetv4-conv-medium-classification.yaml", 9_719_768);
}

#[test]
fn mobilenet_v4_conv_large() {
    check("mobilenetv4-conv-large-classification.yaml", 32_590_864);
}

#[test]
fn mobilenet_v4_hybrid_medium() {
    check("mobilenetv4-hybrid-medium-classification.yaml", 11_074_648);
}

#[test]
fn mobilenet_v4_hybrid_large() {
    check("mobilenetv4-hybrid-large-classification.yaml", 37_752_336);
}

#[test]
fn efficientformer_l1() {
    check("efficientformer-l1-classification.yaml", 11_840_928);
    check("efficientformer-l1-segmentation.yaml", 11_872_043);
}

#[test]
fn segformer_b0() {
    check("segformer-b0-segmentation.yaml", 3_720_051);
}

#[test]
fn mobilevit_s() {
    check("mobilevit-s-classification.yaml", 5_578_632);
}

#[test]
fn gelan() {
    check("gelan_tiny-classification.yaml", 796_376);
    check("gelan_s-classification.yaml", 2_912_968);
    check("gelan_m-classification.yaml", 7_839_016);
    check("gelan_c-classification.yaml", 8_841_384);
}

#[test]
fn pidnet_s() {
    check("pidnet-s-segmentation.yaml", 7_720_935);
}

#[test]
fn presets_equal_netspresso_configs() {
    // `zoo new PRESET` prints the preset; it must say what NetsPresso's config says.
    for (preset, config) in [
        ("resnet18", "resnet18-classification.yaml"),
        ("resnet34", "resnet34-classification.yaml"),
        ("resnet50", "resnet50-classification.yaml"),
        ("mobilenet_v3_small", "mobilenetv3-small-classification.yaml"),
        ("mobilenet_v3_large", "mobilenetv3-large-classification.yaml"),
        ("vit_tiny", "vit-tiny-classification.yaml"),
        ("mixnet_s", "mixnet-s-classification.yaml"),
        ("mixnet_m", "mixnet-m-classification.yaml"),
        ("mixnet_l", "mixnet-l-classification.yaml"),
        ("mobilenet_v4_conv_small", "mobilenetv4-conv-small-classification.yaml"),
        (
            "mobilenet_v4_conv_medium",
            "mobilenetv4-conv-medium-classification.yaml",
        ),
        ("mobilenet_v4_conv_large", "mobilenetv4-conv-large-classification.yaml"),
        (
            "mobilenet_v4_hybrid_medium",
            "mobilenetv4-hybrid-medium-classification.yaml",
        ),
        (
            "mobilenet_v4_hybrid_large",
            "mobilenetv4-hybrid-large-classification.yaml",
        ),
    ] {
        let (_, p) = zoo::architectures::registry::preset(preset).unwrap_or_else(|| panic!("no preset {preset}"));
        let text = std::fs::read_to_string(fixture("netspresso", config)).unwrap();
        let original = zoo::config::parse(&text).unwrap().to_json();
        assert_eq!(serde_json::json!({ "model": p.body }), original, "{preset}");
    }
}

#[test]
fn fc_conv_head_of_mobilenetv4_configs() {
    // The head of NetsPresso's mobilenetv4 configs on a 960-wide feature, 1000 classes.
    let params = serde_json::json!({"num_layers": 2, "intermediate_channels": 1280, "act_type": "relu", "norm_type": "batch_norm", "dropout_prob": 0.0});
    let ctx = zoo::rt::Context {
        task: "classification".into(),
        num_classes: 1000,
        feature_dim: 960,
        ..Default::default()
    };
    let head =
        zoo::architectures::generated::AnyHead::init("fc_conv", &params, &ctx, &burn::tensor::Device::flex()).unwrap();
    let (ref_params, ref_keys) = reference("fc_conv-head.yaml");
    assert_eq!(ref_params, 2_512_360);
    assert_eq!(zoo::model::count_params(&head), ref_params);
    let ours: Vec<(String, Vec<usize>)> = zoo::model::state_dict(&head)
        .into_iter()
        .map(|(k, s)| (format!("head.{k}"), s))
        .collect();
    assert_eq!(ours, ref_keys);
}

#[test]
fn gelan_block_tags_in_any_case() {
    // NetsPresso lower-cases GELAN's block tags (not MobileNetV4's).
    let text = std::fs::read_to_string(fixture("netspresso", "gelan_s-classification.yaml"))
        .unwrap()
        .replace("['conv'", "['Conv'")
        .replace("['elan'", "['ELAN'")
        .replace("['aconv'", "['AConv'")
        .replace("['repncspelan'", "['RepNCSPELAN'");
    let v = zoo::config::check_text(&text);
    assert!(v.diagnostics.is_empty(), "{:?}", v.diagnostics);
    let model = zoo::model::build(&v.config.unwrap(), 1000, &burn::tensor::Device::flex()).unwrap();
    assert_eq!(zoo::model::count_params(&model), 2_912_968);
    let mobilenetv4 = std::fs::read_to_string(fixture("netspresso", "mobilenetv4-conv-small-classification.yaml"))
        .unwrap()
        .replacen("- ['conv'", "- ['Conv'", 1);
    let v = zoo::config::check_text(&mobilenetv4);
    assert_eq!(v.diagnostics.len(), 1);
    assert_eq!(v.diagnostics[0].message, "unknown block tag `Conv`");
}

#[test]
fn values_netspresso_lower_cases_match_in_any_case() {
    // NetsPresso lower-cases ResNet's block_type and every ConvLayer's norm/activation.
    let text = std::fs::read_to_string(fixture("netspresso", "resnet18-classification.yaml"))
        .unwrap()
        .replace("block_type: basicblock", "block_type: BasicBlock")
        .replace("norm_type: batch_norm", "norm_type: Batch_Norm");
    let v = zoo::config::check_text(&text);
    assert!(v.diagnostics.is_empty(), "{:?}", v.diagnostics);
    let cfg = v.config.unwrap();
    let crate_params = match &cfg.architecture {
        zoo::config::Architecture::Parts { backbone, .. } => backbone.params.clone(),
        _ => unreachable!(),
    };
    // Passed on as the spec spells them.
    assert_eq!(crate_params["block_type"], "basicblock");
    assert_eq!(crate_params["norm_type"], "batch_norm");
    let model = zoo::model::build(&cfg, 1000, &burn::tensor::Device::flex()).unwrap();
    assert_eq!(zoo::model::count_params(&model), 11_689_512);
    // Where NetsPresso does not lower-case (the fc head's activation), neither does zoo.
    let text = std::fs::read_to_string(fixture("netspresso", "mobilenetv3-small-classification.yaml"))
        .unwrap()
        .replace("act_type: hard_swish\n", "act_type: Hard_Swish\n");
    let v = zoo::config::check_text(&text);
    assert_eq!(v.diagnostics.len(), 1, "{:?}", v.diagnostics);
    assert_eq!(
        v.diagnostics[0].message,
        "`Hard_Swish` is not a valid value for `act_type`"
    );
}

// Detection: FPN neck + RetinaNet head (80 classes).
#[test]
fn resnet50_detection() {
    check("resnet50-detection.yaml", 262_534_460);
}

#[test]
fn mobilenet_v3_small_detection() {
    check("mobilenetv3-small-detection.yaml", 20_538_908);
}

#[test]
fn efficientformer_l1_detection() {
    check("efficientformer-l1-detection.yaml", 23_618_836);
}

#[test]
fn mixnet_s_detection() {
    check("mixnet-s-detection.yaml", 136_143_842);
}

#[test]
fn mixnet_m_detection() {
    check("mixnet-m-detection.yaml", 137_035_906);
}

#[test]
fn mixnet_l_detection() {
    check("mixnet-l-detection.yaml", 139_449_080);
}

// Detection: CSPDarknet + YOLOPAFPN + YOLOX head (80 classes).
#[test]
fn yolox_nano() {
    check("yolox-nano-detection.yaml", 912_159);
}

#[test]
fn yolox_tiny() {
    check("yolox-tiny-detection.yaml", 5_055_855);
}

#[test]
fn yolox_s() {
    check("yolox-s-detection.yaml", 8_968_255);
}

#[test]
fn yolox_m() {
    check("yolox-m-detection.yaml", 25_326_495);
}

#[test]
fn yolox_l() {
    check("yolox-l-detection.yaml", 54_208_895);
}

#[test]
fn yolox_x() {
    check("yolox-x-detection.yaml", 99_071_455);
}

// Detection: GELAN + YOLOv9 FPN + YOLOv9 head (80 classes).
#[test]
fn yolov9_tiny() {
    check("yolov9_tiny-detection.yaml", 2_442_672);
}

#[test]
fn yolov9_s() {
    check("yolov9_s-detection.yaml", 7_226_240);
}

#[test]
fn yolov9_m() {
    check("yolov9_m-detection.yaml", 20_124_032);
}

#[test]
fn yolov9_c() {
    check("yolov9_c-detection.yaml", 25_498_784);
}

// Detection: ShuffleNetV2 + LightFPN + YOLO-Fastest-v2 head (80 classes).
#[test]
fn yolo_fastest_v2() {
    check("yolo-fastest-v2-detection.yaml", 250_030);
}

// Pose estimation: MobileNetV3 + RTMCC head (17 keypoints).
#[test]
fn rtmpose() {
    check("rtmpose-pose_estimation.yaml", 2_112_115);
}

// Detection: ResNet + RT-DETR hybrid encoder + RT-DETR decoder (80 classes).
#[test]
fn rtdetr_res18() {
    check("rtdetr-res18-detection.yaml", 20_184_464);
}

#[test]
fn rtdetr_res50() {
    check("rtdetr-res50-detection.yaml", 42_944_620);
}
