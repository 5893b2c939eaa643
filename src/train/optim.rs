//! `training.optimizer` as burn optimizers with PyTorch's semantics: every field burn
//! defaults differently (eps 1e-5, SGD dampening 0.1, RMSprop momentum 0.9, AdamW decay 1e-4)
//! is set to what NetsPresso's torch optimizer gets.

use super::config::OptimizerConfig;
use burn::optim::decay::WeightDecayConfig;
use burn::optim::momentum::MomentumConfig;
use burn::optim::{AdaGradConfig, AdamConfig, AdamWConfig, ModuleOptimizer, RmsPropConfig, SgdConfig};

fn decay(wd: f64) -> Option<WeightDecayConfig> {
    (wd != 0.0).then_some(WeightDecayConfig { penalty: wd as f32 })
}

/// The optimizer NetsPresso builds for this config (one group; see `no_decay` for the
/// no-decay groups).
pub fn build(o: &OptimizerConfig) -> Result<ModuleOptimizer, String> {
    let (b1, b2) = (o.betas.0 as f32, o.betas.1 as f32);
    Ok(match o.name.as_str() {
        "adamw" => AdamWConfig::new()
            .with_beta_1(b1)
            .with_beta_2(b2)
            .with_epsilon(o.eps as f32)
            .with_weight_decay(o.weight_decay as f32)
            .init(),
        "adam" => AdamConfig::new()
            .with_beta_1(b1)
            .with_beta_2(b2)
            .with_epsilon(o.eps as f32)
            .with_weight_decay(decay(o.weight_decay))
            .init(),
        "sgd" => SgdConfig::new()
            .with_weight_decay(decay(o.weight_decay))
            .with_momentum((o.momentum != 0.0 || o.nesterov).then(|| {
                MomentumConfig::new()
                    .with_momentum(o.momentum)
                    .with_dampening(0.0)
                    .with_nesterov(o.nesterov)
            }))
            .init(),
        "rmsprop" => RmsPropConfig::new()
            .with_alpha(o.alpha as f32)
            .with_momentum(o.momentum as f32)
            .with_epsilon(o.eps as f32)
            .with_weight_decay(decay(o.weight_decay))
            .init(),
        "adagrad" => AdaGradConfig::new()
            .with_lr_decay(o.lr_decay)
            .with_epsilon(o.eps as f32)
            .with_weight_decay(decay(o.weight_decay))
            .init(),
        "adamax" | "adadelta" => {
            return Err(format!(
                "optimizer `{}` is not implemented in zoo yet (burn has none); use adamw, adam, sgd, rmsprop or adagrad",
                o.name
            ));
        }
        other => {
            return Err(format!(
                "unknown optimizer `{other}`; expected adamw, adam, adamax, sgd, rmsprop, adadelta or adagrad"
            ));
        }
    })
}
