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
    pixel_cross_entropy(
        crate::rt::interpolate_to(logits, [h, w]),
        masks,
        [b, h, w],
        ignore,
        smoothing,
    )
}

/// Cross entropy of logits already at the mask's size.
fn pixel_cross_entropy(
    logits: Tensor<4>,
    masks: &[u8],
    [b, h, w]: [usize; 3],
    ignore: Option<u8>,
    smoothing: f64,
) -> Result<Tensor<1>, String> {
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

/// Bilinear resize with `align_corners=True` (PIDNet's loss upsamples so).
fn upsample_aligned(x: Tensor<4>, size: [usize; 2]) -> Tensor<4> {
    use burn::tensor::module::interpolate;
    use burn::tensor::ops::{InterpolateMode, InterpolateOptions};
    if x.dims()[2..] == size {
        return x;
    }
    interpolate(
        x,
        InterpolateOptions::new(InterpolateMode::Bilinear)
            .with_output_size(size)
            .with_align_corners(true),
    )
}

/// PIDNet's boundary targets from a mask (`generate_edge`): Canny edges of the label map (the
/// Sobel magnitude |gx| + |gy| kept where it is a local maximum across the edge; NetsPresso's
/// thresholds of 0.1 and 0.2 keep every such pixel), the 6-pixel frame cleared, dilated by a
/// 4×4 square. 1.0 on boundaries, 0.0 elsewhere (NetsPresso 1.4.1 leaves them 0 / 255, so its
/// weighted BCE finds no positive and no negative pixel and the boundary loss is always 0).
pub fn boundaries(mask: &[u8], h: usize, w: usize) -> Vec<f32> {
    let at = |x: isize, y: isize| -> f64 {
        let (x, y) = (x.clamp(0, w as isize - 1) as usize, y.clamp(0, h as isize - 1) as usize);
        mask[y * w + x] as f64
    };
    let mut gx = vec![0.0f64; h * w];
    let mut gy = vec![0.0f64; h * w];
    for y in 0..h as isize {
        for x in 0..w as isize {
            let i = y as usize * w + x as usize;
            gx[i] = (at(x + 1, y - 1) + 2.0 * at(x + 1, y) + at(x + 1, y + 1))
                - (at(x - 1, y - 1) + 2.0 * at(x - 1, y) + at(x - 1, y + 1));
            gy[i] = (at(x - 1, y + 1) + 2.0 * at(x, y + 1) + at(x + 1, y + 1))
                - (at(x - 1, y - 1) + 2.0 * at(x, y - 1) + at(x + 1, y - 1));
        }
    }
    let mag: Vec<f64> = gx.iter().zip(&gy).map(|(a, b)| a.abs() + b.abs()).collect();
    let m = |x: isize, y: isize| -> f64 {
        if x < 0 || y < 0 || x >= w as isize || y >= h as isize {
            0.0
        } else {
            mag[y as usize * w + x as usize]
        }
    };
    let tan22 = (22.5f64).to_radians().tan();
    let tan67 = (67.5f64).to_radians().tan();
    let mut edge = vec![false; h * w];
    for y in 0..h as isize {
        for x in 0..w as isize {
            let i = y as usize * w + x as usize;
            let v = mag[i];
            if v <= 0.2 {
                continue;
            }
            let (ax, ay) = (gx[i].abs(), gy[i].abs());
            let (a, b) = if ay <= tan22 * ax {
                (m(x - 1, y), m(x + 1, y))
            } else if ay >= tan67 * ax {
                (m(x, y - 1), m(x, y + 1))
            } else if (gx[i] > 0.0) == (gy[i] > 0.0) {
                (m(x - 1, y - 1), m(x + 1, y + 1))
            } else {
                (m(x + 1, y - 1), m(x - 1, y + 1))
            };
            edge[i] = v > a && v >= b;
        }
    }
    const FRAME: usize = 6;
    for y in 0..h {
        for x in 0..w {
            if y < FRAME || x < FRAME || y + FRAME >= h || x + FRAME >= w {
                edge[y * w + x] = false;
            }
        }
    }
    // OpenCV's 4×4 dilation anchored at (2, 2): rows and columns -2..=1 around a pixel.
    let mut out = vec![0f32; h * w];
    for y in 0..h as isize {
        for x in 0..w as isize {
            let hit = (-2..=1).any(|dy| {
                (-2..=1).any(|dx| {
                    let (xx, yy) = (x + dx, y + dy);
                    xx >= 0 && yy >= 0 && xx < w as isize && yy < h as isize && edge[yy as usize * w + xx as usize]
                })
            });
            out[y as usize * w + x as usize] = f32::from(u8::from(hit));
        }
    }
    out
}

/// NetsPresso's `pidnet_loss` over `[pred, extra_p, extra_d]`: the sum of 0.4 · CE(extra_p),
/// CE(pred), 20 · class-balanced BCE(extra_d, boundaries) and CE(pred) on the pixels where
/// sigmoid(extra_d) > 0.8, every map upsampled to the mask (align_corners=True).
fn pidnet_loss(outs: &[Pred], masks: &[u8], dims: [usize; 3], ignore: Option<u8>) -> Result<Tensor<1>, String> {
    let [b, h, w] = dims;
    let (Some(Pred::Rank4(pred)), Some(Pred::Rank4(extra_p)), Some(Pred::Rank4(extra_d))) =
        (outs.first(), outs.get(1), outs.get(2))
    else {
        return Err("`pidnet_loss` needs PIDNet's training outputs [pred, extra_p, extra_d]".into());
    };
    let pred = upsample_aligned(pred.clone(), [h, w]);
    let extra_p = upsample_aligned(extra_p.clone(), [h, w]);
    let extra_d = upsample_aligned(extra_d.clone(), [h, w]);
    let device = pred.device();
    let ce = pixel_cross_entropy(extra_p, masks, dims, ignore, 0.0)?.mul_scalar(0.4)
        + pixel_cross_entropy(pred.clone(), masks, dims, ignore, 0.0)?;
    // Class-balanced BCE: boundary pixels weighted by the share of the others and vice versa.
    let plane = h * w;
    let mut edges = Vec::with_capacity(b * plane);
    for k in 0..b {
        edges.extend(boundaries(&masks[k * plane..(k + 1) * plane], h, w));
    }
    let n = edges.len() as f64;
    let pos = edges.iter().map(|e| *e as f64).sum::<f64>();
    let weights: Vec<f32> = edges
        .iter()
        .map(|e| {
            if *e > 0.5 {
                ((n - pos) / n) as f32
            } else {
                (pos / n) as f32
            }
        })
        .collect();
    let t = Tensor::<1>::from_floats(edges.as_slice(), &device).reshape([b, 1, h, w]);
    let wt = Tensor::<1>::from_floats(weights.as_slice(), &device).reshape([b, 1, h, w]);
    let x = extra_d.clone().slice([0..b, 0..1, 0..h, 0..w]);
    let bce = x.clone().clamp_min(0.0) - x.clone() * t + x.clone().abs().neg().exp().add_scalar(1.0).log();
    let boundary = (bce * wt).mean().reshape([1]).mul_scalar(20.0);
    // Boundary-aware CE: the classes only where the boundary head is confident.
    let filler = ignore.unwrap_or(255);
    let confident = burn::tensor::activation::sigmoid(x.detach())
        .into_data()
        .try_to_vec::<f32>()
        .map_err(|e| format!("{e:?}"))?;
    let labels: Vec<u8> = masks
        .iter()
        .zip(&confident)
        .map(|(m, s)| if *s > 0.8 { *m } else { filler })
        .collect();
    let aware = pixel_cross_entropy(pred, &labels, dims, Some(filler), 0.0)?;
    Ok(ce + boundary + aware)
}

/// The first loss's `ignore_index` as a mask value, if it is one.
pub fn ignore_of(fields: &serde_json::Value) -> Option<u8> {
    fields
        .get("ignore_index")
        .and_then(|v| v.as_i64())
        .and_then(|v| u8::try_from(v).ok())
}

/// The total loss of `model.losses` for a prediction.
pub fn total_loss(cfg: &ModelConfig, outputs: Pred, targets: &Targets) -> Result<Tensor<1>, String> {
    let mut total: Option<Tensor<1>> = None;
    // A training program's outputs: the prediction first (what every loss but PIDNet's reads).
    let pred = match &outputs {
        Pred::List(v) if !v.is_empty() => v[0].clone(),
        p => p.clone(),
    };
    for l in &cfg.losses {
        let eps = l.fields.get("label_smoothing").and_then(|v| v.as_f64()).unwrap_or(0.0);
        let loss = match (l.criterion.as_str(), &pred, targets) {
            ("pidnet_loss", _, Targets::Masks { values, dims }) => match &outputs {
                Pred::List(outs) => pidnet_loss(outs, values, *dims, ignore_of(&l.fields))?,
                _ => {
                    return Err(
                        "`pidnet_loss` needs PIDNet's training outputs (a full `pidnet` model); this model has none"
                            .into(),
                    );
                }
            },
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
                    "loss `{other}` is not supported in training yet (cross_entropy, seg_cross_entropy and pidnet_loss are)"
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pidnet_loss_of_uninformed_outputs_is_its_formula() {
        // A 3-class 32×32 mask with a square of class 2: at zero logits every CE is ln 3, the BCE
        // of each pixel ln 2 weighted to 2·pos·neg/N² on average, and no pixel is confident.
        let (h, w, c) = (32, 32, 3);
        let mut mask = vec![0u8; h * w];
        for y in 10..22 {
            for x in 10..22 {
                mask[y * w + x] = 2;
            }
        }
        let device = burn::tensor::Device::flex();
        let outs = vec![
            Pred::Rank4(Tensor::zeros([1, c, 4, 4], &device)),
            Pred::Rank4(Tensor::zeros([1, c, 4, 4], &device)),
            Pred::Rank4(Tensor::zeros([1, 1, 4, 4], &device)),
        ];
        let got = pidnet_loss(&outs, &mask, [1, h, w], Some(255))
            .unwrap()
            .into_scalar::<f32>() as f64;
        let edges = boundaries(&mask, h, w);
        let pos = edges.iter().sum::<f32>() as f64;
        let n = (h * w) as f64;
        assert!(pos > 0.0 && pos < n);
        let want = 1.4 * 3f64.ln() + 20.0 * 2f64.ln() * 2.0 * pos * (n - pos) / (n * n);
        assert!((got - want).abs() < 5e-5, "{got} vs {want}");
    }
}
