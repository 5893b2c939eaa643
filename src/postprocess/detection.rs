//! Detection postprocessing as NetsPresso Trainer 1.4.1 does it: each head's box coding is
//! decoded into candidates `(box, objectness, class score, label)` in input pixels, filtered
//! by score, then reduced by NMS (per class or across classes) — or, for DETR-style queries,
//! by top-k alone. The decoders are named after their box coding; a head's spec says which
//! one reads its prediction (`postprocessor.decode`).

use crate::rt::Pred;
use crate::rt::RawTensor;

/// One detection: corners `[x1, y1, x2, y2]`, the score NetsPresso reports (objectness times
/// class score) and the class index.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Detection {
    #[serde(rename = "box")]
    pub bbox: [f32; 4],
    pub score: f32,
    pub label: usize,
}

/// A decoded box before NMS.
#[derive(Debug, Clone)]
struct Candidate {
    bbox: [f32; 4],
    obj: f32,
    conf: f32,
    label: usize,
}

#[derive(Debug, Clone, PartialEq)]
enum Decode {
    /// RetinaNet: deltas on anchors (torchvision's BoxCoder), top-k per level.
    AnchorBoxCoder { topk: usize, score_thresh: f32 },
    /// YOLOX: cell offsets and log sizes times the level's stride.
    GridExp { score_thresh: f32 },
    /// YOLO-Fastest-v2: sigmoid offsets, tanh-scaled anchor sizes.
    AnchorTanh { score_thresh: f32, anchors: Vec<Vec<f32>> },
    /// YOLOv9: distances to the four sides as distributions over `reg_max` bins.
    DistributionDistances { score_thresh: f32, reg_max: usize },
    /// RT-DETR: normalised (cx, cy, w, h) per query, top-k (query, class) pairs.
    NormalizedQueries { num_top_queries: usize, score_thresh: f32 },
}

/// A head's detection postprocessor: its decoder and, except for queries, NMS.
#[derive(Debug, Clone, PartialEq)]
pub struct DetectionPostprocessor {
    decode: Decode,
    /// IoU threshold and class-agnosticism.
    nms: Option<(f32, bool)>,
}

fn num(params: &serde_json::Value, key: &str) -> Result<f64, String> {
    params
        .get(key)
        .and_then(|v| v.as_f64())
        .ok_or_else(|| format!("the postprocessor needs a number `{key}`"))
}

fn flag(params: &serde_json::Value, key: &str) -> Result<bool, String> {
    params
        .get(key)
        .and_then(|v| v.as_bool())
        .ok_or_else(|| format!("the postprocessor needs a boolean `{key}`"))
}

impl DetectionPostprocessor {
    /// The postprocessor of decoder `decode` with `model.postprocessor.params` `params`.
    pub fn new(decode: &str, params: &serde_json::Value) -> Result<Self, String> {
        let score_thresh = num(params, "score_thresh")? as f32;
        let nms = || -> Result<Option<(f32, bool)>, String> {
            Ok(Some((
                num(params, "nms_thresh")? as f32,
                flag(params, "class_agnostic")?,
            )))
        };
        let (decode, nms) = match decode {
            "anchor_box_coder" => (
                Decode::AnchorBoxCoder {
                    topk: num(params, "topk_candidates")? as usize,
                    score_thresh,
                },
                nms()?,
            ),
            "grid_exp" => (Decode::GridExp { score_thresh }, nms()?),
            "anchor_tanh" => {
                let anchors: Vec<Vec<f32>> = params
                    .get("anchors")
                    .and_then(|a| a.as_array())
                    .ok_or("the postprocessor needs `anchors`")?
                    .iter()
                    .map(|l| {
                        l.as_array()
                            .map(|xs| xs.iter().filter_map(|x| x.as_f64()).map(|x| x as f32).collect())
                            .unwrap_or_default()
                    })
                    .collect();
                (Decode::AnchorTanh { score_thresh, anchors }, nms()?)
            }
            "distribution_distances" => (
                Decode::DistributionDistances {
                    score_thresh,
                    reg_max: num(params, "reg_max")? as usize,
                },
                nms()?,
            ),
            "normalized_queries" => (
                Decode::NormalizedQueries {
                    num_top_queries: num(params, "num_top_queries")? as usize,
                    score_thresh,
                },
                None,
            ),
            other => return Err(format!("`{other}` is not a detection decoder")),
        };
        Ok(DetectionPostprocessor { decode, nms })
    }

    /// Detections per image of a batch, in the pixels of the `[height, width]` model input,
    /// best first.
    pub fn run(&self, pred: &Pred, input: [usize; 2]) -> Result<Vec<Vec<Detection>>, String> {
        let per_image = match &self.decode {
            Decode::AnchorBoxCoder { topk, score_thresh } => anchor_box_coder(pred, input, *topk, *score_thresh)?,
            Decode::GridExp { score_thresh } => grid_exp(&levels(pred, 4)?, input, *score_thresh)?,
            Decode::AnchorTanh { score_thresh, anchors } => {
                anchor_tanh(&levels(pred, 5)?, input, *score_thresh, anchors)?
            }
            Decode::DistributionDistances { score_thresh, reg_max } => {
                distribution_distances(&levels(pred, 4)?, input, *score_thresh, *reg_max)?
            }
            Decode::NormalizedQueries {
                num_top_queries,
                score_thresh,
            } => normalized_queries(&tensor(pred, 3)?, input, *num_top_queries, *score_thresh)?,
        };
        Ok(per_image
            .into_iter()
            .map(|cands| {
                let kept = match self.nms {
                    Some((thresh, agnostic)) => nms(&cands, thresh, agnostic),
                    None => (0..cands.len()).collect(),
                };
                kept.into_iter()
                    .map(|i| Detection {
                        bbox: cands[i].bbox,
                        score: cands[i].obj * cands[i].conf,
                        label: cands[i].label,
                    })
                    .collect()
            })
            .collect())
    }
}

fn raw(p: &Pred) -> Result<RawTensor, String> {
    let mut t = p.tensors("pred");
    if t.len() != 1 {
        return Err(format!("expected one tensor, found {}", t.len()));
    }
    Ok(t.remove(0).1)
}

fn tensor(p: &Pred, rank: usize) -> Result<RawTensor, String> {
    let t = raw(p)?;
    if t.shape.len() != rank {
        return Err(format!("expected a prediction of rank {rank}, found {:?}", t.shape));
    }
    Ok(t)
}

/// The per-level tensors of a list prediction.
fn levels(p: &Pred, rank: usize) -> Result<Vec<RawTensor>, String> {
    let Pred::List(items) = p else {
        return Err("expected a prediction per level".into());
    };
    items.iter().map(|i| tensor(i, rank)).collect()
}

fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

/// Index and value of the largest element (the first of equal ones).
fn argmax(xs: impl Iterator<Item = f32>) -> (usize, f32) {
    let mut best = (0, f32::NEG_INFINITY);
    for (i, v) in xs.enumerate() {
        if v > best.1 {
            best = (i, v);
        }
    }
    best
}

fn xyxy(cx: f32, cy: f32, w: f32, h: f32) -> [f32; 4] {
    [cx - w / 2.0, cy - h / 2.0, cx + w / 2.0, cy + h / 2.0]
}

/// Keeps a YOLO-style box whose objectness (value 4) times its best class score (values 5..)
/// reaches `thresh`; `value(k)` is the cell's raw value k of `channels`.
fn keep_scored(cands: &mut Vec<Candidate>, bbox: [f32; 4], value: impl Fn(usize) -> f32, channels: usize, thresh: f32) {
    let obj = sigmoid(value(4));
    let (label, conf) = argmax((5..channels).map(|ch| sigmoid(value(ch))));
    if obj * conf >= thresh {
        cands.push(Candidate { bbox, obj, conf, label });
    }
}

/// YOLOX: level `[batch, 5 + classes, h, w]`; stride = input width // map width.
fn grid_exp(levels: &[RawTensor], input: [usize; 2], thresh: f32) -> Result<Vec<Vec<Candidate>>, String> {
    let batch = levels.first().map(|l| l.shape[0]).unwrap_or(0);
    let mut out = vec![Vec::new(); batch];
    for l in levels {
        let [_, c, h, w] = l.shape[..] else { unreachable!() };
        if c < 6 {
            return Err(format!("a YOLOX level has {c} channels; expected 5 + classes"));
        }
        let stride = (input[1] / w.max(1)) as f32;
        let plane = h * w;
        for (b, cands) in out.iter_mut().enumerate() {
            let at = |ch: usize, i: usize| l.values[(b * c + ch) * plane + i];
            for y in 0..h {
                for x in 0..w {
                    let i = y * w + x;
                    let cx = (at(0, i) + x as f32) * stride;
                    let cy = (at(1, i) + y as f32) * stride;
                    let bw = at(2, i).exp() * stride;
                    let bh = at(3, i).exp() * stride;
                    keep_scored(cands, xyxy(cx, cy, bw, bh), |ch| at(ch, i), c, thresh);
                }
            }
        }
    }
    Ok(out)
}

/// YOLO-Fastest-v2: level `[batch, anchors, 5 + classes, h, w]`, anchor-major order.
fn anchor_tanh(
    levels: &[RawTensor],
    input: [usize; 2],
    thresh: f32,
    anchors: &[Vec<f32>],
) -> Result<Vec<Vec<Candidate>>, String> {
    if anchors.len() < levels.len() {
        return Err(format!(
            "the postprocessor has anchors for {} levels, the prediction has {}",
            anchors.len(),
            levels.len()
        ));
    }
    let batch = levels.first().map(|l| l.shape[0]).unwrap_or(0);
    let mut out = vec![Vec::new(); batch];
    for (l, anc) in levels.iter().zip(anchors) {
        let [_, na, c, h, w] = l.shape[..] else { unreachable!() };
        if anc.len() < 2 * na || c < 6 {
            return Err(format!(
                "a level predicts {na} anchors of {c} values; the postprocessor's anchors are {anc:?}"
            ));
        }
        let stride = (input[1] / w.max(1)) as f32;
        let plane = h * w;
        for (b, cands) in out.iter_mut().enumerate() {
            for a in 0..na {
                let at = |ch: usize, i: usize| l.values[((b * na + a) * c + ch) * plane + i];
                for y in 0..h {
                    for x in 0..w {
                        let i = y * w + x;
                        let cx = (sigmoid(at(0, i)) + x as f32) * stride;
                        let cy = (sigmoid(at(1, i)) + y as f32) * stride;
                        let bw = 2.0 * ((at(2, i) / 2.0 - 0.549306).tanh() + 1.0) * anc[2 * a];
                        let bh = 2.0 * ((at(3, i) / 2.0 - 0.549306).tanh() + 1.0) * anc[2 * a + 1];
                        keep_scored(cands, xyxy(cx, cy, bw, bh), |ch| at(ch, i), c, thresh);
                    }
                }
            }
        }
    }
    Ok(out)
}

/// YOLOv9: level `[batch, 4 * reg_max + classes, h, w]`; each side's distance is the mean of
/// its softmax distribution over 0..reg_max, times the stride, from the cell centre.
fn distribution_distances(
    levels: &[RawTensor],
    input: [usize; 2],
    thresh: f32,
    reg_max: usize,
) -> Result<Vec<Vec<Candidate>>, String> {
    let batch = levels.first().map(|l| l.shape[0]).unwrap_or(0);
    let mut out = vec![Vec::new(); batch];
    for l in levels {
        let [_, c, h, w] = l.shape[..] else { unreachable!() };
        if c <= 4 * reg_max {
            return Err(format!(
                "a level has {c} channels; reg_max {reg_max} needs more than {}",
                4 * reg_max
            ));
        }
        let stride = input[1] / w.max(1);
        // NetsPresso's anchors cover the input in steps of the stride.
        if input[0].div_ceil(stride) != h || input[1].div_ceil(stride) != w {
            return Err(format!(
                "a {h}x{w} level does not tile the {}x{} input at stride {stride}",
                input[0], input[1]
            ));
        }
        let (s, offset) = (stride as f32, (stride / 2) as f32);
        let plane = h * w;
        for (b, cands) in out.iter_mut().enumerate() {
            let at = |ch: usize, i: usize| l.values[(b * c + ch) * plane + i];
            for y in 0..h {
                for x in 0..w {
                    let i = y * w + x;
                    let mut d = [0f32; 4];
                    for (k, dk) in d.iter_mut().enumerate() {
                        let logits: Vec<f32> = (0..reg_max).map(|r| at(k * reg_max + r, i)).collect();
                        let m = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                        let e: Vec<f32> = logits.iter().map(|v| (v - m).exp()).collect();
                        let sum: f32 = e.iter().sum();
                        *dk = e.iter().enumerate().map(|(r, v)| v / sum * r as f32).sum();
                    }
                    let (ox, oy) = (x as f32 * s + offset, y as f32 * s + offset);
                    let (label, conf) = argmax((4 * reg_max..c).map(|ch| sigmoid(at(ch, i))));
                    if conf >= thresh {
                        cands.push(Candidate {
                            bbox: [ox - d[0] * s, oy - d[1] * s, ox + d[2] * s, oy + d[3] * s],
                            obj: 1.0,
                            conf,
                            label,
                        });
                    }
                }
            }
        }
    }
    Ok(out)
}

/// RetinaNet: `anchors` `[cells, 4]`, per level `cls_logits` `[batch, n, classes]` and
/// `bbox_regression` `[batch, n, 4]`; the best `topk` scores above the threshold per level,
/// boxes clipped to the input.
fn anchor_box_coder(pred: &Pred, input: [usize; 2], topk: usize, thresh: f32) -> Result<Vec<Vec<Candidate>>, String> {
    let part = |key: &str| pred.get(key).ok_or(format!("the prediction has no `{key}`"));
    let anchors = tensor(part("anchors")?, 2)?;
    let logits = levels(part("cls_logits")?, 3)?;
    let deltas = levels(part("bbox_regression")?, 3)?;
    let batch = logits.first().map(|l| l.shape[0]).unwrap_or(0);
    let clip = (1000.0f64 / 16.0).ln() as f32;
    let (ih, iw) = (input[0] as f32, input[1] as f32);
    let mut out = vec![Vec::new(); batch];
    for (b, cands) in out.iter_mut().enumerate() {
        let mut start = 0;
        for (lg, dl) in logits.iter().zip(&deltas) {
            let (n, k) = (lg.shape[1], lg.shape[2]);
            let scores: Vec<f32> = lg.values[b * n * k..(b + 1) * n * k]
                .iter()
                .map(|v| sigmoid(*v))
                .collect();
            let mut idx: Vec<usize> = (0..n * k).filter(|i| scores[*i] > thresh).collect();
            idx.sort_by(|a, c| scores[*c].total_cmp(&scores[*a]).then(a.cmp(c)));
            idx.truncate(topk);
            for i in idx {
                let (a, label) = (i / k, i % k);
                let an = &anchors.values[(start + a) * 4..(start + a) * 4 + 4];
                let d = &dl.values[(b * n + a) * 4..(b * n + a) * 4 + 4];
                let (aw, ah) = (an[2] - an[0], an[3] - an[1]);
                let (acx, acy) = (an[0] + 0.5 * aw, an[1] + 0.5 * ah);
                let (pcx, pcy) = (d[0] * aw + acx, d[1] * ah + acy);
                let (pw, ph) = (d[2].min(clip).exp() * aw, d[3].min(clip).exp() * ah);
                let (hw, hh) = (0.5 * pw, 0.5 * ph);
                cands.push(Candidate {
                    bbox: [
                        (pcx - hw).clamp(0.0, iw),
                        (pcy - hh).clamp(0.0, ih),
                        (pcx + hw).clamp(0.0, iw),
                        (pcy + hh).clamp(0.0, ih),
                    ],
                    obj: 1.0,
                    conf: scores[i],
                    label,
                });
            }
            start += n;
        }
        if start > anchors.shape[0] {
            return Err(format!(
                "the prediction has {start} anchor boxes but {} anchors",
                anchors.shape[0]
            ));
        }
    }
    Ok(out)
}

/// RT-DETR: `[batch, queries, 4 + classes]`, boxes as normalised (cx, cy, w, h).
fn normalized_queries(
    pred: &RawTensor,
    input: [usize; 2],
    top: usize,
    thresh: f32,
) -> Result<Vec<Vec<Candidate>>, String> {
    let [batch, q, c] = pred.shape[..] else { unreachable!() };
    if c <= 4 {
        return Err(format!("a query predicts {c} values; expected 4 + classes"));
    }
    let k = c - 4;
    let (ih, iw) = (input[0] as f32, input[1] as f32);
    let mut out = Vec::with_capacity(batch);
    for b in 0..batch {
        let row = |qi: usize| &pred.values[(b * q + qi) * c..(b * q + qi + 1) * c];
        let scores: Vec<f32> = (0..q)
            .flat_map(|qi| row(qi)[4..].iter().map(|v| sigmoid(*v)).collect::<Vec<_>>())
            .collect();
        let mut idx: Vec<usize> = (0..q * k).collect();
        idx.sort_by(|a, d| scores[*d].total_cmp(&scores[*a]).then(a.cmp(d)));
        idx.truncate(top);
        let mut cands = Vec::new();
        for i in idx {
            if scores[i] <= thresh {
                continue;
            }
            let r = row(i / k);
            let bbox = [
                (r[0] - r[2] / 2.0) * iw,
                (r[1] - r[3] / 2.0) * ih,
                (r[0] + r[2] / 2.0) * iw,
                (r[1] + r[3] / 2.0) * ih,
            ];
            cands.push(Candidate {
                bbox,
                obj: 1.0,
                conf: scores[i],
                label: i % k,
            });
        }
        out.push(cands);
    }
    Ok(out)
}

fn iou(a: &[f32; 4], b: &[f32; 4]) -> f32 {
    let area = |x: &[f32; 4]| (x[2] - x[0]) * (x[3] - x[1]);
    let w = (a[2].min(b[2]) - a[0].max(b[0])).max(0.0);
    let h = (a[3].min(b[3]) - a[1].max(b[1])).max(0.0);
    let inter = w * h;
    inter / (area(a) + area(b) - inter)
}

/// torchvision's (batched) NMS on `objectness * class score`: the kept indices, best first;
/// a box is dropped when its IoU with a better kept box of the same class (any class when
/// `agnostic`) exceeds `thresh`.
fn nms(cands: &[Candidate], thresh: f32, agnostic: bool) -> Vec<usize> {
    let score = |c: &Candidate| c.obj * c.conf;
    let mut order: Vec<usize> = (0..cands.len()).collect();
    order.sort_by(|a, b| score(&cands[*b]).total_cmp(&score(&cands[*a])).then(a.cmp(b)));
    let mut kept: Vec<usize> = Vec::new();
    for i in order {
        let suppressed = kept
            .iter()
            .any(|&j| (agnostic || cands[j].label == cands[i].label) && iou(&cands[j].bbox, &cands[i].bbox) > thresh);
        if !suppressed {
            kept.push(i);
        }
    }
    kept
}
