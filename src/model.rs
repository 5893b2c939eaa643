//! A task model (backbone → optional neck → head) built from a validated config.

use crate::config::{Architecture, ModelConfig};
use crate::generated::{AnyBackbone, AnyHead};
use crate::rt::{BuildError, Context, Pred};
use burn::module::Module;
use burn::tensor::{Device, Tensor};

/// A backbone and a head, named as in NetsPresso's state dicts (`backbone.…`, `head.…`).
#[derive(Module, Debug)]
pub struct TaskModel {
    pub backbone: AnyBackbone,
    pub head: AnyHead,
}

impl TaskModel {
    /// The raw prediction (`pred` in NetsPresso), before any postprocessing.
    pub fn forward(&self, x: Tensor<4>) -> Pred {
        let features = self.backbone.forward(x);
        self.head.forward(features)
    }
}

/// Builds the model of a validated config for `num_classes` classes.
pub fn build(cfg: &ModelConfig, num_classes: usize, device: &Device) -> Result<TaskModel, BuildError> {
    match &cfg.architecture {
        Architecture::Parts { backbone, neck, head } => {
            if let Some(n) = neck {
                return Err(BuildError::new(format!("neck `{}` is not supported yet", n.name)));
            }
            let bctx = Context { task: cfg.task.clone(), ..Default::default() };
            let outputs = AnyBackbone::outputs(&backbone.name, &backbone.params, &bctx)?;
            let b = AnyBackbone::init(&backbone.name, &backbone.params, &bctx, device)?;
            let hctx = Context {
                task: cfg.task.clone(),
                num_classes: num_classes as i64,
                feature_dim: outputs.feature_dim.unwrap_or(0),
                intermediate_features_dim: outputs.intermediate_features_dim,
            };
            let h = AnyHead::init(&head.name, &head.params, &hctx, device)?;
            Ok(TaskModel { backbone: b, head: h })
        }
        Architecture::Full(f) => Err(BuildError::new(format!("full model `{}` is not supported yet", f.name))),
    }
}
