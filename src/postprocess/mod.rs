//! Turning raw predictions into results, as NetsPresso's postprocessors do: segmentation masks,
//! detections (per-head box decoding and NMS), pose keypoints.

pub mod detection;
pub mod draw;
pub mod pose;
mod segmentation;
pub use segmentation::*;

use crate::config::{Architecture, ModelConfig};

/// What a model's prediction turns into, by the decoder its head (or full model) declares.
#[derive(Debug, Clone, PartialEq)]
pub enum Postprocessor {
    Classification,
    Segmentation,
    Detection(detection::DetectionPostprocessor),
    Pose {
        simcc_split_ratio: f32,
    },
    /// The prediction is the embedding itself.
    Embedding,
}

/// The postprocessor of a validated config (`None` when its head declares none).
pub fn for_config(cfg: &ModelConfig) -> Result<Option<Postprocessor>, String> {
    let desc = match &cfg.architecture {
        Architecture::Parts { head, .. } => crate::architectures::registry::find("head", &head.name),
        Architecture::Full(f) => crate::architectures::registry::find("full", &f.name),
    };
    let Some(post) = desc.and_then(|d| d.postprocessor.as_ref()) else {
        return Ok(None);
    };
    let params = cfg.postprocessor.get("params").cloned().unwrap_or_default();
    Ok(Some(match post.decode.as_str() {
        "classification" => Postprocessor::Classification,
        "segmentation" => Postprocessor::Segmentation,
        "embedding" => Postprocessor::Embedding,
        "simcc" => Postprocessor::Pose {
            simcc_split_ratio: params
                .get("simcc_split_ratio")
                .and_then(|v| v.as_f64())
                .ok_or("the postprocessor needs `simcc_split_ratio`")? as f32,
        },
        other => Postprocessor::Detection(detection::DetectionPostprocessor::new(other, &params)?),
    }))
}
