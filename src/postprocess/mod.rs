//! Turning raw predictions into results, as NetsPresso's postprocessors do: segmentation masks,
//! detections (per-head box decoding and NMS), pose keypoints.

mod segmentation;
pub use segmentation::*;
