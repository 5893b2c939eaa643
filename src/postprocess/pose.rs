//! Pose postprocessing as NetsPresso Trainer 1.4.1 does it (mmpose's SimCC decoding): per
//! keypoint, the arg-max bin of the x and of the y classification, divided by the split ratio.

use crate::rt::RawTensor;

/// One keypoint in input pixels; `score` is the smaller of the two maxima (NetsPresso puts a
/// keypoint whose score is not positive at -1 / `simcc_split_ratio`).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Keypoint {
    pub x: f32,
    pub y: f32,
    pub score: f32,
}

/// Decodes `[batch, keypoints, bins_x + bins_y]` (x bins first, both halves equal).
pub fn simcc(pred: &RawTensor, split_ratio: f32) -> Result<Vec<Vec<Keypoint>>, String> {
    let [batch, k, c] = pred.shape[..] else {
        return Err(format!(
            "a SimCC prediction is [batch, keypoints, bins], found {:?}",
            pred.shape
        ));
    };
    if split_ratio <= 0.0 {
        return Err(format!("`simcc_split_ratio` must be positive, found {split_ratio}"));
    }
    let half = c / 2;
    let best = |xs: &[f32]| -> (usize, f32) {
        let mut b = (0, f32::NEG_INFINITY);
        for (i, v) in xs.iter().enumerate() {
            if *v > b.1 {
                b = (i, *v);
            }
        }
        b
    };
    Ok((0..batch)
        .map(|b| {
            (0..k)
                .map(|j| {
                    let row = &pred.values[(b * k + j) * c..(b * k + j + 1) * c];
                    let (x, vx) = best(&row[..half]);
                    let (y, vy) = best(&row[half..]);
                    let score = vx.min(vy);
                    let (x, y) = if score <= 0.0 {
                        (-1.0, -1.0)
                    } else {
                        (x as f32, y as f32)
                    };
                    Keypoint {
                        x: x / split_ratio,
                        y: y / split_ratio,
                        score,
                    }
                })
                .collect()
        })
        .collect())
}
