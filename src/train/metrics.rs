//! NetsPresso's metrics: top-1 / top-k accuracy for classification, mIoU and pixel accuracy for
//! segmentation, selected by `logging.metrics.metric_names` (the first is the primary one) and
//! per class when `logging.metrics.classwise_analysis` asks.
//!
//! Pixel accuracy is the share of labelled pixels predicted right over the whole split. NetsPresso
//! 1.4.1 averages each batch's share instead (weighted by batch size), which makes the number
//! depend on the batch size and weighs a small image like a large one; zoo does not copy that.
//! mIoU is NetsPresso's: intersections and unions summed over the split, the mean over the
//! classes whose union is not empty.

use super::loss::Targets;
use crate::rt::RawTensor;

/// The metrics a task has, NetsPresso's names first, the short column name second.
pub fn available(task: &str) -> &'static [(&'static str, &'static str)] {
    match task {
        "classification" => &[("top1_accuracy", "acc1"), ("top5_accuracy", "acc5")],
        "segmentation" => &[("miou", "miou"), ("pixel_accuracy", "pixel_acc")],
        _ => &[],
    }
}

/// `logging.metrics.metric_names` (null: the task's defaults), as column names.
pub fn selected(task: &str, names: Option<&serde_json::Value>) -> Result<Vec<&'static str>, String> {
    let all = available(task);
    let Some(serde_json::Value::Array(list)) = names else {
        return Ok(all.iter().map(|(_, c)| *c).collect());
    };
    if list.is_empty() {
        return Err("`logging.metrics.metric_names` is empty; give null for the task's metrics".into());
    }
    list.iter()
        .map(|n| {
            let name = n.as_str().unwrap_or("").to_lowercase();
            all.iter().find(|(m, _)| *m == name).map(|(_, c)| *c).ok_or_else(|| {
                format!(
                    "`logging.metrics.metric_names`: `{name}` is not a {task} metric (available: {})",
                    all.iter().map(|(m, _)| *m).collect::<Vec<_>>().join(", ")
                )
            })
        })
        .collect()
}

/// Counts over a split, from which every metric follows.
#[derive(Debug, Clone, PartialEq)]
pub enum Meter {
    Classification {
        k: usize,
        /// Per class: (samples, top-1 hits, top-k hits).
        per_class: Vec<(u64, u64, u64)>,
    },
    Segmentation {
        /// The mask value no metric counts (the first loss's `ignore_index`, else 255).
        ignore: u8,
        intersection: Vec<u64>,
        union: Vec<u64>,
        /// Labelled pixels per class.
        target: Vec<u64>,
    },
}

impl Meter {
    pub fn new(task: &str, classes: usize, ignore: Option<u8>) -> Meter {
        if task == "segmentation" {
            Meter::Segmentation {
                ignore: ignore.unwrap_or(255),
                intersection: vec![0; classes],
                union: vec![0; classes],
                target: vec![0; classes],
            }
        } else {
            Meter::Classification {
                k: classes.min(5),
                per_class: vec![(0, 0, 0); classes],
            }
        }
    }

    /// Adds a batch: classification logits [B, C] with labels, or segmentation class maps
    /// (predicted, row-major, the masks' size) with masks.
    pub fn update(&mut self, pred: &Prediction, targets: &Targets) {
        match (self, pred, targets) {
            (Meter::Classification { k, per_class }, Prediction::Logits(logits), Targets::Labels(labels)) => {
                let c = logits.shape[1];
                for (row, l) in logits.values.chunks(c).zip(labels) {
                    let mine = row[*l];
                    let better = row.iter().filter(|v| **v > mine).count();
                    let e = &mut per_class[*l];
                    e.0 += 1;
                    e.1 += u64::from(better == 0);
                    e.2 += u64::from(better < *k);
                }
            }
            (
                Meter::Segmentation {
                    ignore,
                    intersection,
                    union,
                    target,
                },
                Prediction::Classes(classes),
                Targets::Masks { values, .. },
            ) => {
                let n = intersection.len();
                for (p, t) in classes.iter().zip(values) {
                    if *t == *ignore {
                        continue;
                    }
                    let (p, t) = (*p as usize, *t as usize);
                    if t < n {
                        target[t] += 1;
                        union[t] += 1;
                    }
                    if p == t {
                        intersection[t] += 1;
                    } else if p < n {
                        union[p] += 1;
                    }
                }
            }
            _ => {}
        }
    }

    /// A metric by column name (fractions).
    pub fn value(&self, name: &str) -> f64 {
        match self {
            Meter::Classification { per_class, .. } => {
                let n = per_class.iter().map(|e| e.0).sum::<u64>().max(1) as f64;
                match name {
                    "acc1" => per_class.iter().map(|e| e.1).sum::<u64>() as f64 / n,
                    _ => per_class.iter().map(|e| e.2).sum::<u64>() as f64 / n,
                }
            }
            Meter::Segmentation {
                intersection,
                union,
                target,
                ..
            } => match name {
                "miou" => {
                    let ious: Vec<f64> = intersection
                        .iter()
                        .zip(union)
                        .filter(|(_, u)| **u > 0)
                        .map(|(i, u)| *i as f64 / *u as f64)
                        .collect();
                    if ious.is_empty() {
                        0.0
                    } else {
                        ious.iter().sum::<f64>() / ious.len() as f64
                    }
                }
                _ => intersection.iter().sum::<u64>() as f64 / target.iter().sum::<u64>().max(1) as f64,
            },
        }
    }

    /// A metric per class (`None` where the class has no sample, or no union).
    pub fn classwise(&self, name: &str) -> Vec<Option<f64>> {
        match self {
            Meter::Classification { per_class, .. } => per_class
                .iter()
                .map(|e| (e.0 > 0).then(|| if name == "acc1" { e.1 } else { e.2 } as f64 / e.0 as f64))
                .collect(),
            Meter::Segmentation {
                intersection,
                union,
                target,
                ..
            } => (0..intersection.len())
                .map(|c| match name {
                    "miou" => (union[c] > 0).then(|| intersection[c] as f64 / union[c] as f64),
                    _ => (target[c] > 0).then(|| intersection[c] as f64 / target[c] as f64),
                })
                .collect(),
        }
    }
}

/// A batch's prediction as the metrics read it.
pub enum Prediction {
    Logits(RawTensor),
    /// Predicted classes, [batch, height, width] row-major.
    Classes(Vec<u32>),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn miou_and_pixel_accuracy_skip_ignored_pixels_and_empty_classes() {
        let mut m = Meter::new("segmentation", 3, Some(255));
        // Class 2 never occurs: its IoU does not count.
        let targets = Targets::Masks {
            values: vec![0, 0, 1, 1, 255, 1],
            dims: [1, 2, 3],
        };
        m.update(&Prediction::Classes(vec![0, 1, 1, 1, 2, 0]), &targets);
        // class 0: I 1, U 3 (pred 0 at 0 and 5, target 0 at 0, 1); class 1: I 2, U 4.
        assert!((m.value("miou") - (1.0 / 3.0 + 2.0 / 4.0) / 2.0).abs() < 1e-12);
        assert!((m.value("pixel_acc") - 3.0 / 5.0).abs() < 1e-12);
        assert_eq!(m.classwise("miou"), vec![Some(1.0 / 3.0), Some(0.5), None]);
    }

    #[test]
    fn metric_names_are_checked_against_the_task() {
        assert_eq!(selected("segmentation", None).unwrap(), ["miou", "pixel_acc"]);
        let names = serde_json::json!(["Pixel_Accuracy"]);
        assert_eq!(selected("segmentation", Some(&names)).unwrap(), ["pixel_acc"]);
        let e = selected("classification", Some(&serde_json::json!(["miou"]))).unwrap_err();
        assert!(
            e.contains("`miou` is not a classification metric (available: top1_accuracy, top5_accuracy)"),
            "{e}"
        );
    }
}
