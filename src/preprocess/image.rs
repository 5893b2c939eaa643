//! Turning an image file into a model input the way NetsPresso's inference augmentation does
//! (`resize` to a size or by the long or short side, `pad` at the bottom and right,
//! `centercrop`, `totensor`, `normalize`), with ImageNet defaults; and the geometry that maps
//! predictions back onto the original image.

use crate::rt::RawTensor;
use std::path::Path;
use zoo_spec::yaml::Node;

/// The most pixels a step of the resize may produce (2^23: a 50-megapixel photo resized to
/// 640 high makes 5 million): far above any model's input, small enough to resize in well
/// under a second.
const MAX_RESIZED_PIXELS: u64 = 1 << 23;

/// How `resize` sizes the image.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Resize {
    /// Exactly (height, width).
    To(u32, u32),
    /// The long side to this length, the aspect ratio kept (NetsPresso `resize_criteria: long`).
    Long(u32),
    /// The short side to this length.
    Short(u32),
}

impl Resize {
    /// The (height, width) an image of (height `oh`, width `ow`) is resized to.
    pub fn target(&self, oh: u32, ow: u32) -> (u32, u32) {
        match *self {
            Resize::To(h, w) => (h, w),
            // NetsPresso: the long side to `n`, the short one scaled and rounded (Python's
            // round); the short side to `n` is torchvision's, the long one truncated.
            Resize::Long(n) => {
                let other = |o: u32| crate::rt::round(n as f64 / oh.max(ow) as f64 * o as f64).max(1) as u32;
                if oh > ow { (n, other(ow)) } else { (other(oh), n) }
            }
            Resize::Short(n) => {
                let other = |o: u32| ((n as u64 * o as u64) / oh.min(ow) as u64).max(1) as u32;
                if oh <= ow { (n, other(ow)) } else { (other(oh), n) }
            }
        }
    }
}

/// The top-left corner (x, y) of a (ch, cw) center crop of an (ih, iw) image, rounded as
/// torchvision's `center_crop` rounds (Python's round of half the difference).
pub fn center_crop_origin(ih: u32, iw: u32, ch: u32, cw: u32) -> (u32, u32) {
    let half = |d: u32| crate::rt::round(d as f64 / 2.0).max(0) as u32;
    (half(iw.saturating_sub(cw)), half(ih.saturating_sub(ch)))
}

/// The inference pipeline: resize, optional bottom/right padding (height, width, fill),
/// optional center crop, scale, normalise.
#[derive(Debug, Clone, PartialEq)]
pub struct Pipeline {
    pub resize: Resize,
    pub pad: Option<(u32, u32, u8)>,
    pub crop: Option<(u32, u32)>,
    pub pixel_range: f32,
    pub mean: [f32; 3],
    pub std: [f32; 3],
    pub filter: image::imageops::FilterType,
}

impl Default for Pipeline {
    /// ImageNet defaults: 224×224, [0, 1] pixels, ImageNet mean and std.
    fn default() -> Self {
        Pipeline {
            resize: Resize::To(224, 224),
            pad: None,
            crop: None,
            pixel_range: 1.0,
            mean: [0.485, 0.456, 0.406],
            std: [0.229, 0.224, 0.225],
            filter: image::imageops::FilterType::Triangle,
        }
    }
}

/// Where an input came from: predictions in input pixels map to the original image by
/// dividing by `scale` (x, y) after removing the crop `offset` (x, y).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Geometry {
    /// Original (height, width).
    pub original: [usize; 2],
    pub scale: [f32; 2],
    pub offset: [f32; 2],
}

impl Geometry {
    /// An input that is its own original (a tensor file).
    pub fn identity(height: usize, width: usize) -> Self {
        Geometry {
            original: [height, width],
            scale: [1.0, 1.0],
            offset: [0.0, 0.0],
        }
    }

    /// A point of the input in original pixels.
    pub fn point(&self, x: f32, y: f32) -> (f32, f32) {
        (
            (x + self.offset[0]) / self.scale[0],
            (y + self.offset[1]) / self.scale[1],
        )
    }

    /// A box of the input in original pixels, clipped to the image (a box reaching into the
    /// padding ends at the image border).
    pub fn bbox(&self, b: [f32; 4]) -> [f32; 4] {
        let (x1, y1) = self.point(b[0], b[1]);
        let (x2, y2) = self.point(b[2], b[3]);
        let (w, h) = (self.original[1] as f32, self.original[0] as f32);
        [x1.clamp(0.0, w), y1.clamp(0.0, h), x2.clamp(0.0, w), y2.clamp(0.0, h)]
    }
}

impl Pipeline {
    /// The default inference steps of a model config (`for_task` with the rtmcc head's
    /// `target_size`, the image size its MLP is built for).
    pub fn for_config(cfg: &crate::config::ModelConfig) -> Pipeline {
        if let Some(p) = Self::declared(cfg) {
            return p;
        }
        let target = match &cfg.architecture {
            crate::config::Architecture::Parts { head, .. } => head
                .params
                .get("target_size")
                .and_then(|t| t.as_array())
                .and_then(|t| Some([t.first()?.as_u64()? as u32, t.get(1)?.as_u64()? as u32])),
            crate::config::Architecture::Full(_) => None,
        };
        Pipeline::for_task(&cfg.task, target)
    }

    /// The preparation the model's spec declares (`preprocess:`), at its `image_size`.
    fn declared(cfg: &crate::config::ModelConfig) -> Option<Pipeline> {
        let name = match &cfg.architecture {
            crate::config::Architecture::Parts { backbone, .. } => &backbone.name,
            crate::config::Architecture::Full(f) => &f.name,
        };
        let desc = crate::architectures::registry::components()
            .iter()
            .find(|c| c.name == *name && c.kind != "head")?;
        let p = desc.preprocess.as_ref()?;
        let side = crate::model::model_outputs(cfg)
            .ok()
            .and_then(|o| o.image_size)
            .unwrap_or(224)
            .clamp(1, u32::MAX as i64) as u32;
        let f = |v: [f64; 3]| v.map(|x| x as f32);
        Some(Pipeline {
            resize: if p.resize == "short" {
                Resize::Short(side)
            } else {
                Resize::To(side, side)
            },
            pad: None,
            crop: p.crop.then_some((side, side)),
            pixel_range: 1.0,
            mean: f(p.mean),
            std: f(p.std),
            filter: if p.interpolation == "bicubic" {
                image::imageops::FilterType::CatmullRom
            } else {
                image::imageops::FilterType::Triangle
            },
        })
    }

    /// The (height, width) of the model inputs this pipeline makes from a square image.
    pub fn input_size(&self) -> (usize, usize) {
        let (h, w) = match self.resize {
            Resize::To(h, w) => (h, w),
            Resize::Long(n) | Resize::Short(n) => (n, n),
        };
        let (h, w) = match self.pad {
            Some((ph, pw, _)) => (h.max(ph), w.max(pw)),
            None => (h, w),
        };
        match self.crop {
            Some((ch, cw)) => (ch.min(h) as usize, cw.min(w) as usize),
            None => (h as usize, w as usize),
        }
    }

    /// The default inference steps per task: classification and segmentation 224×224;
    /// detection NetsPresso's detection benchmarks' (long side to 640, padded to 640×640 with
    /// 114); pose the head's `target_size` (else 256×256).
    pub fn for_task(task: &str, target_size: Option<[u32; 2]>) -> Pipeline {
        match task {
            "detection" => Pipeline {
                resize: Resize::Long(640),
                pad: Some((640, 640, 114)),
                ..Pipeline::default()
            },
            "pose_estimation" => {
                let [h, w] = target_size.unwrap_or([256, 256]);
                Pipeline {
                    resize: Resize::To(h, w),
                    ..Pipeline::default()
                }
            }
            _ => Pipeline::default(),
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
                    let criteria = step
                        .get("resize_criteria")
                        .and_then(|c| c.as_str())
                        .map(str::to_lowercase);
                    let size = step
                        .get("size")
                        .ok_or(format!("{at}: resize needs `size` (int or [h, w])"))?;
                    p.resize = match (&size.value, criteria.as_deref()) {
                        (zoo_spec::yaml::Value::Int(i), Some("long")) if *i > 0 => Resize::Long(*i as u32),
                        (zoo_spec::yaml::Value::Int(i), Some("short")) if *i > 0 => Resize::Short(*i as u32),
                        (zoo_spec::yaml::Value::Int(_), _) => {
                            return Err(format!(
                                "{at}: a resize to one number needs `resize_criteria: long` or `short` (NetsPresso asserts it)"
                            ));
                        }
                        _ => {
                            let (h, w) = pair(size).ok_or(format!("{at}: resize needs `size` (int or [h, w])"))?;
                            Resize::To(h, w)
                        }
                    }
                }
                "pad" => {
                    let (h, w) = step
                        .get("size")
                        .and_then(pair)
                        .ok_or(format!("{at}: pad needs `size` (int or [h, w])"))?;
                    let fill = match step.get("fill").map(|f| &f.value) {
                        Some(zoo_spec::yaml::Value::Int(i)) if (0..=255).contains(i) => *i as u8,
                        None => 0,
                        _ => return Err(format!("{at}: pad's `fill` must be a pixel value 0..255")),
                    };
                    p.pad = Some((h, w, fill));
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
                        "{at}: inference transform `{other}` is not supported (resize, pad, centercrop, totensor, normalize are)"
                    ));
                }
            }
        }
        Ok(p)
    }

    /// Loads an image as a `[1, 3, H, W]` input.
    pub fn load(&self, path: &Path) -> Result<RawTensor, String> {
        self.load_with_geometry(path).map(|(t, _)| t)
    }

    /// Loads an image as a `[1, 3, H, W]` input, with how to map its pixels back.
    pub fn load_with_geometry(&self, path: &Path) -> Result<(RawTensor, Geometry), String> {
        let img = image::open(path)
            .map_err(|e| format!("cannot read image {}: {e}", path.display()))?
            .to_rgb8();
        let (ow, oh) = img.dimensions();
        let (h, w) = self.resize.target(oh, ow);
        // An extreme aspect ratio (48 x 65 344) makes the resize itself huge: by the shorter
        // side, a strip of hundreds of megapixels; to a fixed size, the image crate's first
        // (vertical) pass still spans the whole width at the new height. Seconds of work for
        // pixels that are then cropped or averaged away.
        let vertical_pass = u64::from(h) * u64::from(ow);
        if u64::from(h) * u64::from(w) > MAX_RESIZED_PIXELS || vertical_pass > MAX_RESIZED_PIXELS {
            return Err(format!(
                "image {} ({ow}x{oh}) is too elongated to resize to {w}x{h} (at most {} megapixels in any step of the resize)",
                path.display(),
                MAX_RESIZED_PIXELS >> 20
            ));
        }
        let mut img = image::imageops::resize(&img, w, h, self.filter);
        let mut geometry = Geometry {
            original: [oh as usize, ow as usize],
            scale: [w as f32 / ow as f32, h as f32 / oh as f32],
            offset: [0.0, 0.0],
        };
        if let Some((ph, pw, fill)) = self.pad {
            // NetsPresso pads at the bottom and right only: no offset.
            let (nw, nh) = (pw.max(w), ph.max(h));
            let mut canvas = image::RgbImage::from_pixel(nw, nh, image::Rgb([fill; 3]));
            image::imageops::replace(&mut canvas, &img, 0, 0);
            img = canvas;
        }
        if let Some((ch, cw)) = self.crop {
            let (iw, ih) = img.dimensions();
            let (ch, cw) = (ch.min(ih), cw.min(iw));
            let (x0, y0) = center_crop_origin(ih, iw, ch, cw);
            img = image::imageops::crop_imm(&img, x0, y0, cw, ch).to_image();
            geometry.offset = [x0 as f32, y0 as f32];
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
        Ok((
            RawTensor {
                shape: vec![1, 3, h as usize, w as usize],
                values,
            },
            geometry,
        ))
    }
}
