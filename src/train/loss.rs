//! `model.losses` on a batch: the weighted sum NetsPresso computes (weight null = 1), with
//! cross_entropy (label smoothing) for classification and seg_cross_entropy (ignore_index,
//! label smoothing, logits upsampled to the mask) for segmentation.

use crate::config::ModelConfig;
use crate::rt::Pred;
use burn::tensor::{Int, Tensor};

/// What a batch is trained towards.
#[derive(Debug, Clone, PartialEq)]
pub enum Targets {
    Labels(Vec<usize>),
    /// Class indices, [batch, height, width] row-major.
    Masks {
        values: Vec<u8>,
        dims: [usize; 3],
    },
}

/// `cross_entropy` as PyTorch computes it with `label_smoothing` ε: the targets are
/// (1 - ε) one-hot + ε / C.
fn cross_entropy(logits: Tensor<2>, labels: &[usize], smoothing: f64) -> Tensor<1> {
    let [b, c] = logits.dims();
    let device = logits.device();
    let mut q = vec![(smoothing / c as f64) as f32; b * c];
    for (i, l) in labels.iter().enumerate() {
        q[i * c + l] += (1.0 - smoothing) as f32;
    }
    let q = Tensor::<1>::from_floats(q.as_slice(), &device).reshape([b, c]);
    let logp = burn::tensor::activation::log_softmax(logits, 1);
    (q * logp).sum_dim(1).mean().neg().reshape([1])
}

/// PyTorch's `CrossEntropyLoss(ignore_index, label_smoothing)` over pixels, after the logits
/// are upsampled (bilinear, align_corners=False) to the mask's size: the mean over the pixels
/// that are not ignored (0 when every pixel is).
fn seg_cross_entropy(
    logits: Tensor<4>,
    masks: &[u8],
    [b, h, w]: [usize; 3],
    ignore: Option<u8>,
    smoothing: f64,
) -> Result<Tensor<1>, String> {
    let logits = crate::rt::interpolate_to(logits, [h, w]);
    let c = logits.dims()[1];
    let device = logits.device();
    let mut valid = Vec::with_capacity(masks.len());
    let mut idx = Vec::with_capacity(masks.len());
    for v in masks {
        if Some(*v) == ignore {
            valid.push(0f32);
            idx.push(0i64);
        } else if (*v as usize) < c {
            valid.push(1.0);
            idx.push(*v as i64);
        } else {
            return Err(format!(
                "a mask pixel has the value {v}, but the model predicts {c} classes and the loss ignores {}",
                ignore.map_or("nothing".to_string(), |i| i.to_string())
            ));
        }
    }
    let logp = burn::tensor::activation::log_softmax(logits, 1);
    let n = valid.iter().sum::<f32>();
    if n == 0.0 {
        return Ok(logp.sum().mul_scalar(0.0).reshape([1]));
    }
    let idx = Tensor::<1, Int>::from_data(idx.as_slice(), &device).reshape([b, 1, h, w]);
    let valid = Tensor::<1>::from_floats(valid.as_slice(), &device).reshape([b, 1, h, w]);
    let nll = (logp.clone().gather(1, idx) * valid.clone()).sum();
    let all = (logp.sum_dim(1) * valid).sum();
    let total = nll.mul_scalar(1.0 - smoothing) + all.mul_scalar(smoothing / c as f64);
    Ok(total.div_scalar(n as f64).neg().reshape([1]))
}

/// The first loss's `ignore_index` as a mask value, if it is one.
pub fn ignore_of(fields: &serde_json::Value) -> Option<u8> {
    fields
        .get("ignore_index")
        .and_then(|v| v.as_i64())
        .and_then(|v| u8::try_from(v).ok())
}

/// The total loss of `model.losses` for a prediction.
pub fn total_loss(cfg: &ModelConfig, pred: Pred, targets: &Targets) -> Result<Tensor<1>, String> {
    let mut total: Option<Tensor<1>> = None;
    for l in &cfg.losses {
        let eps = l.fields.get("label_smoothing").and_then(|v| v.as_f64()).unwrap_or(0.0);
        let loss = match (l.criterion.as_str(), &pred, targets) {
            ("cross_entropy", Pred::Rank2(logits), Targets::Labels(labels)) => {
                cross_entropy(logits.clone(), labels, eps)
            }
            ("seg_cross_entropy", Pred::Rank4(logits), Targets::Masks { values, dims }) => {
                seg_cross_entropy(logits.clone(), values, *dims, ignore_of(&l.fields), eps)?
            }
            ("cross_entropy" | "seg_cross_entropy", other, _) => {
                let want = if l.criterion == "cross_entropy" {
                    "a classification model's [batch, classes] logits and class labels"
                } else {
                    "a segmentation model's [batch, classes, height, width] logits and masks"
                };
                return Err(format!(
                    "loss `{}` needs {want}; this model predicts {:?}",
                    l.criterion,
                    other.dims()
                ));
            }
            (other, _, _) => {
                return Err(format!(
                    "loss `{other}` is not supported in training yet (cross_entropy and seg_cross_entropy are)"
                ));
            }
        };
        let loss = loss.mul_scalar(l.weight.unwrap_or(1.0));
        total = Some(match total {
            None => loss,
            Some(t) => t + loss,
        });
    }
    total.ok_or_else(|| "`model.losses` is empty; give the loss to train with".to_string())
}
