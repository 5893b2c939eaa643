//! What `zoo run` shows and writes for each task: a table on stdout, `--json` (one object per
//! image, coordinates in the original image's pixels) and `--draw` (the results on the image).

use crate::postprocess::detection::Detection;
use crate::postprocess::pose::Keypoint;
use crate::postprocess::{draw, numbered};
use crate::preprocess::image::Geometry;
use crate::rt::RawTensor;
use serde_json::{Value as J, json};
use std::path::Path;

/// Where results go.
pub struct Outputs<'a> {
    pub json: Option<&'a Path>,
    pub draw: Option<&'a Path>,
    pub mask: Option<&'a Path>,
    /// The input image (none for a tensor input).
    pub image: Option<&'a Path>,
    pub names: Option<&'a [String]>,
    pub top_k: usize,
}

impl Outputs<'_> {
    fn class(&self, label: usize) -> J {
        self.names
            .and_then(|n| n.get(label))
            .map(|n| J::String(n.clone()))
            .unwrap_or(J::Null)
    }

    fn class_text(&self, label: usize) -> String {
        self.names
            .and_then(|n| n.get(label))
            .cloned()
            .unwrap_or_else(|| format!("class {label}"))
    }

    fn write_json(&self, items: Vec<J>) -> Result<(), String> {
        let Some(path) = self.json else { return Ok(()) };
        let text = serde_json::to_string_pretty(&J::Array(items)).expect("JSON values serialise");
        std::fs::write(path, text + "\n").map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        eprintln!("wrote results to {}", path.display());
        Ok(())
    }

    /// Draws on the input image (one picture per batch item) and saves it.
    fn draw_each(&self, n: usize, mut paint: impl FnMut(usize, &mut image::RgbImage)) -> Result<(), String> {
        let (Some(path), Some(input)) = (self.draw, self.image) else {
            return Ok(());
        };
        for i in 0..n {
            let mut img = image::open(input)
                .map_err(|e| format!("cannot read image {}: {e}", input.display()))?
                .to_rgb8();
            paint(i, &mut img);
            let file = numbered(path, i, n);
            img.save(&file)
                .map_err(|e| format!("cannot write {}: {e}", file.display()))?;
            eprintln!("drew results on {}", file.display());
        }
        Ok(())
    }
}

/// Rounds to 0.01 px / 1e-4 for JSON readers.
fn r2(v: f32) -> f64 {
    (v as f64 * 100.0).round() / 100.0
}
fn r4(v: f32) -> f64 {
    (v as f64 * 10000.0).round() / 10000.0
}

pub fn classification(logits: &RawTensor, out: &Outputs) -> Result<(), String> {
    let classes = logits.shape[1];
    let mut items = Vec::new();
    for (i, row) in logits.values.chunks(classes).enumerate() {
        println!("image {i}: top-{}", out.top_k.min(classes));
        let top = super::run::top_k(row, out.top_k);
        for (rank, (c, p)) in top.iter().enumerate() {
            let name = out
                .names
                .and_then(|n| n.get(*c))
                .map(|n| format!("  {n}"))
                .unwrap_or_default();
            println!("  {}. class {c:<5} {:>7.3}%{name}", rank + 1, p * 100.0);
        }
        items.push(json!({
            "top": top.iter().map(|(c, p)| json!({"label": c, "class": out.class(*c), "score": r4(*p)})).collect::<Vec<_>>()
        }));
    }
    out.write_json(items)
}

/// One embedding per image: its width and norm on stdout, the vector in `--json`.
pub fn embedding(e: &RawTensor, out: &Outputs) -> Result<(), String> {
    let dim = e.shape[1];
    let mut items = Vec::new();
    for (i, row) in e.values.chunks(dim).enumerate() {
        let norm = row.iter().map(|v| v * v).sum::<f32>().sqrt();
        println!("image {i}: embedding of {dim} values, L2 norm {norm:.4}");
        items.push(json!({ "embedding": row }));
    }
    out.write_json(items)
}

/// Upsamples to the original size, takes the class of every pixel, prints each image's
/// largest classes and writes masks, overlays and JSON.
pub fn segmentation(pred: burn::tensor::Tensor<4>, geometry: &[Geometry], out: &Outputs) -> Result<(), String> {
    let classes = pred.dims()[1];
    let size = geometry
        .first()
        .map(|g| g.original)
        .unwrap_or([pred.dims()[2], pred.dims()[3]]);
    let masks = crate::postprocess::segmentation_masks(pred, size)?;
    let mut items = Vec::new();
    for (i, m) in masks.iter().enumerate() {
        println!("image {i}: mask {}x{}, largest classes:", m.height, m.width);
        let total = m.labels.len() as f32;
        let hist = m.histogram();
        for (c, n) in hist.iter().take(out.top_k) {
            let name = out
                .names
                .and_then(|ns| ns.get(*c as usize))
                .map(|n| format!("  {n}"))
                .unwrap_or_default();
            println!("  class {c:<5} {:>7.3}% of pixels{name}", *n as f32 / total * 100.0);
        }
        let mut file = None;
        if let Some(path) = out.mask {
            let f = numbered(path, i, masks.len());
            crate::postprocess::write_mask_png(m, classes, &f)?;
            eprintln!("wrote mask to {}", f.display());
            file = Some(f.display().to_string());
        }
        let mut present: Vec<(u32, usize)> = hist.clone();
        present.sort();
        items.push(json!({
            "mask": file,
            "classes_present": present.iter().map(|(c, n)| json!({
                "label": c, "class": out.class(*c as usize), "fraction": r4(*n as f32 / total)
            })).collect::<Vec<_>>()
        }));
    }
    out.draw_each(masks.len(), |i, img| {
        if img.dimensions() == (masks[i].width as u32, masks[i].height as u32) {
            draw::mask_overlay(img, &masks[i].labels);
        }
    })?;
    out.write_json(items)
}

pub fn detection(per_image: &[Vec<Detection>], geometry: &[Geometry], out: &Outputs) -> Result<(), String> {
    let mut items = Vec::new();
    let mut drawn: Vec<Vec<([f32; 4], usize, String)>> = Vec::new();
    for (i, dets) in per_image.iter().enumerate() {
        let g = geometry
            .get(i)
            .or(geometry.first())
            .copied()
            .unwrap_or(Geometry::identity(0, 0));
        // Boxes that lie wholly in the padding have no pixels of the image.
        let mapped: Vec<([f32; 4], &Detection)> = dets.iter().map(|d| (g.bbox(d.bbox), d)).collect();
        let dets: Vec<([f32; 4], &Detection)> =
            mapped.into_iter().filter(|(b, _)| b[2] > b[0] && b[3] > b[1]).collect();
        let outside = per_image[i].len() - dets.len();
        if outside > 0 {
            eprintln!("image {i}: {outside} detections lie outside the image (in the padding) and are left out");
        }
        println!(
            "image {i}: {} detection{}",
            dets.len(),
            if dets.len() == 1 { "" } else { "s" }
        );
        if !dets.is_empty() {
            println!("  {:<24} {:>7}  box (x1, y1, x2, y2)", "class", "score");
        }
        let mut objs = Vec::new();
        let mut boxes = Vec::new();
        for (b, d) in dets {
            let class = out.class_text(d.label);
            println!(
                "  {:<24} {:>7.4}  [{:.1}, {:.1}, {:.1}, {:.1}]",
                format!("{class} ({})", d.label),
                d.score,
                b[0],
                b[1],
                b[2],
                b[3]
            );
            objs.push(json!({
                "label": d.label, "class": out.class(d.label), "score": r4(d.score),
                "box": b.map(r2)
            }));
            boxes.push((b, d.label, format!("{class} {:.2}", d.score)));
        }
        items.push(json!({ "detections": objs }));
        drawn.push(boxes);
    }
    out.draw_each(per_image.len(), |i, img| draw::detections(img, &drawn[i]))?;
    out.write_json(items)
}

pub fn pose(per_image: &[Vec<Keypoint>], geometry: &[Geometry], out: &Outputs) -> Result<(), String> {
    let mut items = Vec::new();
    let mut drawn: Vec<Vec<(f32, f32, f32)>> = Vec::new();
    for (i, kps) in per_image.iter().enumerate() {
        let g = geometry
            .get(i)
            .or(geometry.first())
            .copied()
            .unwrap_or(Geometry::identity(0, 0));
        println!("image {i}: {} keypoints", kps.len());
        println!("  {:<4} {:>9} {:>9} {:>8}", "k", "x", "y", "score");
        let mut points = Vec::new();
        for (k, p) in kps.iter().enumerate() {
            // A keypoint NetsPresso marks missing (score <= 0) stays at its marker value.
            let (x, y) = if p.score > 0.0 { g.point(p.x, p.y) } else { (p.x, p.y) };
            println!("  {k:<4} {x:>9.1} {y:>9.1} {:>8.4}", p.score);
            points.push((x, y, p.score));
        }
        items.push(json!({
            "keypoints": points.iter().map(|(x, y, _)| json!([r2(*x), r2(*y)])).collect::<Vec<_>>(),
            "scores": points.iter().map(|(_, _, s)| r4(*s)).collect::<Vec<_>>()
        }));
        drawn.push(points);
    }
    out.draw_each(per_image.len(), |i, img| draw::keypoints(img, &drawn[i]))?;
    out.write_json(items)
}
