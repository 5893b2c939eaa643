//! Specs outside the zoo crate compile into typed modules with `zoo_macros::include_specs!`.

mod external {
    zoo_macros::include_specs!("tests/specs");
}

use external::backbones::{Tinynet, TinynetParams, TinynetSettings};

#[test]
fn an_external_backbone_builds_and_runs() {
    let device = burn::tensor::Device::flex();
    let ctx = zoo::rt::Context {
        task: "classification".into(),
        ..Default::default()
    };
    let params = TinynetParams { width: 6 };
    let outputs = TinynetSettings::resolve(&params, &ctx).unwrap().outputs().unwrap();
    assert_eq!(outputs.feature_dim, Some(12));
    assert_eq!(outputs.intermediate_features_dim, vec![6, 12]);
    let m = Tinynet::init(&params, &ctx, &device).unwrap();
    let x = burn::tensor::Tensor::<4>::zeros([2, 3, 16, 16], &device);
    let out = m.forward(x);
    assert_eq!(out.last_feature.unwrap().dims(), [2, 12]);
    assert_eq!(out.intermediate_features[1].dims(), [2, 12, 4, 4]);
    // stem: 3*6*9 + 2*6 (norm); body: 6*12*9 + 2*12
    assert_eq!(zoo::model::count_params(&m), 162 + 12 + 648 + 24);
}
