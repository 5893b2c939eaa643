//! `freeze_backbone`: one optimizer step changes the head and leaves the backbone untouched.

use burn::module::Module;
use burn::nn::loss::CrossEntropyLossConfig;
use burn::optim::{GradientsParams, SgdConfig};
use burn::tensor::{Device, Distribution, Int, Tensor, TensorData};

/// The values of the learnable parameters (buffers such as BatchNorm statistics excluded).
fn snapshot<M: Module>(m: &M) -> Vec<f32> {
    struct Values(Vec<String>, Vec<f32>);
    impl burn::module::ModuleVisitor for Values {
        fn enter_module(&mut self, name: &str, _: &str) {
            self.0.push(name.to_string());
        }
        fn exit_module(&mut self, _: &str, _: &str) {
            self.0.pop();
        }
        fn visit_float<const D: usize>(&mut self, p: &burn::module::Param<Tensor<D>>) {
            if !self.0.last().is_some_and(|n| zoo::model::BUFFERS.contains(&n.as_str())) {
                self.1.extend(p.val().into_data().try_to_vec::<f32>().unwrap());
            }
        }
    }
    let mut v = Values(Vec::new(), Vec::new());
    m.visit(&mut v);
    v.1
}

fn step(freeze: bool) -> (bool, bool) {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/parity/resnet_basic.yaml"
    ))
    .unwrap();
    let text = text.replace("freeze_backbone: false", &format!("freeze_backbone: {freeze}"));
    let cfg = zoo::check_text(&text).config.unwrap();
    assert_eq!(cfg.freeze_backbone, freeze);
    let device = Device::flex().autodiff();
    let model = zoo::build(&cfg, 4, &device).unwrap().train();
    let parts = |m: &zoo::TaskModel| match m {
        zoo::TaskModel::Parts(p) => (snapshot(&p.backbone), snapshot(&p.head)),
        zoo::TaskModel::Full(_) => unreachable!("resnet is a backbone + head model"),
    };
    let (b0, h0) = parts(&model);
    let x = Tensor::<4>::random([2, 3, 32, 32], Distribution::Normal(0.0, 1.0), &device);
    let y = Tensor::<1, Int>::from_data(TensorData::from([1i64, 3]), &device);
    let zoo::rt::Pred::Rank2(logits) = model.forward(x) else {
        unreachable!()
    };
    let loss = CrossEntropyLossConfig::new().init(&device).forward(logits, y);
    let grads = GradientsParams::from_grads(loss.backward(), &model);
    let mut optim = SgdConfig::new().init();
    let model = optim.step(0.1, model, grads);
    let (b1, h1) = parts(&model);
    (b1 != b0, h1 != h0)
}

#[test]
fn frozen_backbone_is_not_updated() {
    assert_eq!(
        step(true),
        (false, true),
        "(backbone changed, head changed) with freeze_backbone: true"
    );
}

#[test]
fn unfrozen_backbone_is_updated() {
    assert_eq!(step(false), (true, true));
}
