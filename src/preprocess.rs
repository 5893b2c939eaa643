//! Turning an image file into a model input the way NetsPresso's inference augmentation does
//! (`resize`, `centercrop`, `totensor`, `normalize`), with ImageNet defaults.

use crate::tensor_io::RawTensor;
use std::path::Path;
use zoo_spec::yaml::Node;

/// The inference pipeline: resize to `size` (H, W), optional center crop, scale, normalise.
#[derive(Debug, Clone, PartialEq)]
pub struct Pipeline {
    pub resize: (u32, u32),
    pub crop: Option<(u32, u32)>,
    pub pixel_range: f32,
    pub mean: [f32; 3],
    pub std: [f32; 3],
}

impl Default for Pipeline {
    /// ImageNet defaults: 224×224, [0, 1] pixels, ImageNet mean and std.
    fn default() -> Self {
        Pipeline {
            resize: (224, 224),
            crop: None,
            pixel_range: 1.0,
            mean: [0.485, 0.456, 0.406],
            std: [0.229, 0.224, 0.225],
        }
    }
}

fn pair(n: &Node) -> Option<(u32, u32)> {
    match &n.value {
        zoo_spec::yaml::Value::Int(i) => Some((*i as u32, *i as u32)),
        zoo_spec::yaml::Value::Seq(s) if s.len() == 2 => {
            let v: Vec<u32> = s
                .iter()
                .filter_map(|x| match x.value {
                    zoo_spec::yaml::Value::Int(i) if i > 0 => Some(i as u32),
                    _ => None,
                })
                .collect();
            (v.len() == 2).then(|| (v[0], v[1]))
        }
        _ => None,
    }
}

fn floats3(n: &Node) -> Option<[f32; 3]> {
    let s = n.as_seq()?;
    let v: Vec<f32> = s
        .iter()
        .filter_map(|x| match x.value {
            zoo_spec::yaml::Value::Int(i) => Some(i as f32),
            zoo_spec::yaml::Value::Float(f) => Some(f as f32),
            _ => None,
        })
        .collect();
    v.try_into().ok()
}

impl Pipeline {
    /// Reads `augmentation.inference` of a NetsPresso augmentation config.
    pub fn from_augmentation(text: &str) -> Result<Pipeline, String> {
        let root = zoo_spec::yaml::parse(text).map_err(|e| format!("invalid YAML: {e}"))?;
        let steps = root
            .get("augmentation")
            .and_then(|a| a.get("inference"))
            .and_then(|i| i.as_seq())
            .ok_or("the augmentation config has no `augmentation.inference` list")?;
        let mut p = Pipeline::default();
        for step in steps {
            let name = step.get("name").and_then(|n| n.as_str()).unwrap_or("").to_lowercase();
            let at = format!("line {}", step.span.start.line);
            match name.as_str() {
                "resize" => {
                    p.resize = step
                        .get("size")
                        .and_then(pair)
                        .ok_or(format!("{at}: resize needs `size` (int or [h, w])"))?
                }
                "centercrop" => {
                    p.crop = Some(
                        step.get("size")
                            .and_then(pair)
                            .ok_or(format!("{at}: centercrop needs `size`"))?,
                    )
                }
                "totensor" => {
                    p.pixel_range = match step.get("pixel_range").map(|v| &v.value) {
                        Some(zoo_spec::yaml::Value::Int(i)) => *i as f32,
                        Some(zoo_spec::yaml::Value::Float(f)) => *f as f32,
                        _ => 1.0,
                    }
                }
                "normalize" => {
                    p.mean = step
                        .get("mean")
                        .and_then(floats3)
                        .ok_or(format!("{at}: normalize needs `mean` of 3 numbers"))?;
                    p.std = step
                        .get("std")
                        .and_then(floats3)
                        .ok_or(format!("{at}: normalize needs `std` of 3 numbers"))?;
                }
                other => {
                    return Err(format!(
                        "{at}: inference transform `{other}` is not supported (resize, centercrop, totensor, normalize are)"
                    ));
                }
            }
        }
        Ok(p)
    }

    /// Loads an image as a `[1, 3, H, W]` input.
    pub fn load(&self, path: &Path) -> Result<RawTensor, String> {
        let img = image::open(path)
            .map_err(|e| format!("cannot read image {}: {e}", path.display()))?
            .to_rgb8();
        let (h, w) = self.resize;
        let mut img = image::imageops::resize(&img, w, h, image::imageops::FilterType::Triangle);
        if let Some((ch, cw)) = self.crop {
            let (ch, cw) = (ch.min(h), cw.min(w));
            img = image::imageops::crop_imm(&img, (w - cw) / 2, (h - ch) / 2, cw, ch).to_image();
        }
        let (w, h) = img.dimensions();
        let plane = (w * h) as usize;
        let mut values = vec![0f32; 3 * plane];
        for (i, px) in img.pixels().enumerate() {
            for c in 0..3 {
                let v = px[c] as f32 / 255.0 * self.pixel_range;
                values[c * plane + i] = (v - self.mean[c]) / self.std[c];
            }
        }
        Ok(RawTensor {
            shape: vec![1, 3, h as usize, w as usize],
            values,
        })
    }
}
