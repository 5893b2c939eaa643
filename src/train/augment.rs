//! NetsPresso's augmentation lists (`augmentation.train` for training, `augmentation.inference`
//! for validation) applied to an image and, for segmentation, its mask: geometric steps move
//! the mask with the image (nearest-neighbour, padding 255), colour steps leave it alone.
//!
//! Where NetsPresso 1.4.1 leaves the mask behind (`centercrop` crops only the image, so a
//! segmentation sample's image and mask no longer line up), zoo crops both.

use super::rng::Rng;
use crate::preprocess::image::{Resize, center_crop_origin};
use crate::rt::RawTensor;
use image::imageops::{self, FilterType};
use image::{GrayImage, Luma, Rgb, RgbImage};
use serde_json::Value;

/// The fill of mask pixels that padding creates (NetsPresso's "undefined" class).
pub const MASK_FILL: u8 = 255;

#[derive(Debug, Clone, PartialEq)]
enum Step {
    RandomResizedCrop {
        size: (u32, u32),
        scale: (f64, f64),
        ratio: (f64, f64),
        filter: FilterType,
    },
    HorizontalFlip(f64),
    VerticalFlip(f64),
    Resize {
        resize: Resize,
        max_size: Option<u32>,
        filter: FilterType,
    },
    CenterCrop((u32, u32)),
    Pad {
        size: (u32, u32),
        fill: [u8; 3],
    },
    RandomCrop {
        size: (u32, u32),
        fill: [u8; 3],
    },
    ColorJitter {
        brightness: (f64, f64),
        contrast: (f64, f64),
        saturation: (f64, f64),
        hue: (f64, f64),
        p: f64,
    },
    RandomErasing {
        p: f64,
        scale: (f64, f64),
        ratio: (f64, f64),
        value: Option<u8>,
    },
    TrivialAugmentWide {
        bins: usize,
        warp: super::autoaugment::Warp,
    },
    AutoAugment {
        policy: String,
        warp: super::autoaugment::Warp,
    },
    ToTensor(f32),
    Normalize([f32; 3], [f32; 3]),
}

/// The steps of one augmentation list.
#[derive(Debug, Clone, PartialEq)]
pub struct Augment {
    steps: Vec<Step>,
    /// Whether the list ended with `mixing` (accepted and, as in NetsPresso 1.4.1, not applied).
    pub dropped_mixing: bool,
}

/// Transforms that exist in NetsPresso but train detection or pose models, whose training zoo
/// does not have yet.
const OTHER_TASKS: [&str; 7] = [
    "randomresize",
    "randomresize2",
    "randomioucrop",
    "randomzoomout",
    "mosaicdetection",
    "hsvjitter",
    "posetopdownaffine",
];

const SUPPORTED: &str = "randomresizedcrop, randomhorizontalflip, randomverticalflip, resize, centercrop, pad, randomcrop, colorjitter, randomerasing, trivialaugmentwide, autoaugment, totensor, normalize, mixing (last)";

fn size_of(v: Option<&Value>, what: &str) -> Result<(u32, u32), String> {
    let ok = |n: u64| (1..=65_536).contains(&n).then_some(n as u32);
    match v {
        Some(Value::Number(n)) => n
            .as_u64()
            .and_then(ok)
            .map(|s| (s, s))
            .ok_or(format!("{what}: `size` must be a positive size")),
        Some(Value::Array(a)) if a.len() == 2 => match (a[0].as_u64().and_then(ok), a[1].as_u64().and_then(ok)) {
            (Some(h), Some(w)) => Ok((h, w)),
            _ => Err(format!("{what}: `size` must be positive")),
        },
        _ => Err(format!("{what}: needs `size` (an int or [h, w])")),
    }
}

fn pair(v: Option<&Value>, default: (f64, f64)) -> (f64, f64) {
    v.and_then(|v| v.as_array())
        .filter(|a| a.len() == 2)
        .and_then(|a| Some((a[0].as_f64()?, a[1].as_f64()?)))
        .unwrap_or(default)
}

fn triple(v: Option<&Value>, default: [f32; 3]) -> [f32; 3] {
    v.and_then(|v| v.as_array())
        .filter(|a| a.len() == 3)
        .and_then(|a| Some([a[0].as_f64()? as f32, a[1].as_f64()? as f32, a[2].as_f64()? as f32]))
        .unwrap_or(default)
}

/// A fill colour: one value for all channels or [r, g, b].
fn fill(v: Option<&Value>, what: &str) -> Result<[u8; 3], String> {
    let byte = |v: &Value| v.as_u64().filter(|n| *n <= 255).map(|n| n as u8);
    match v {
        None | Some(Value::Null) => Ok([0; 3]),
        Some(Value::Array(a)) if a.len() == 3 => match (byte(&a[0]), byte(&a[1]), byte(&a[2])) {
            (Some(r), Some(g), Some(b)) => Ok([r, g, b]),
            _ => Err(format!("{what}: `fill` values must be 0..255")),
        },
        Some(v) => byte(v)
            .map(|b| [b; 3])
            .ok_or(format!("{what}: `fill` must be 0..255 or [r, g, b]")),
    }
}

fn filter(v: Option<&Value>, what: &str) -> Result<FilterType, String> {
    match v.and_then(|v| v.as_str()).map(str::to_lowercase).as_deref() {
        None | Some("bilinear") => Ok(FilterType::Triangle),
        Some("nearest") => Ok(FilterType::Nearest),
        Some("bicubic") => Ok(FilterType::CatmullRom),
        Some(other) => Err(format!(
            "{what}: interpolation `{other}` is not one of bilinear, nearest, bicubic"
        )),
    }
}

/// torchvision's ColorJitter range of a factor: `x` means [max(0, c - x), c + x], a pair is
/// the range itself.
fn jitter(v: Option<&Value>, center: f64, what: &str, name: &str) -> Result<(f64, f64), String> {
    match v {
        None | Some(Value::Null) => Ok((center, center)),
        Some(Value::Number(n)) => {
            let x = n.as_f64().unwrap_or(0.0);
            if x < 0.0 {
                return Err(format!("{what}: `{name}` must not be negative"));
            }
            Ok(if center == 0.0 {
                (-x, x)
            } else {
                ((center - x).max(0.0), center + x)
            })
        }
        Some(a) => Ok(pair(Some(a), (center, center))),
    }
}

impl Augment {
    /// The steps of `augmentation.<phase>` (`train` or `inference`); an absent or null list is
    /// no step at all.
    pub fn from_config(c: &Value, phase: &str) -> Result<Augment, String> {
        let list = match c.get("augmentation").and_then(|a| a.get(phase)) {
            Some(Value::Array(a)) => a.clone(),
            None | Some(Value::Null) => Vec::new(),
            Some(_) => return Err(format!("`augmentation.{phase}` must be a list of transforms")),
        };
        let mut steps = Vec::new();
        let mut dropped_mixing = false;
        for (k, s) in list.iter().enumerate() {
            let name = s.get("name").and_then(|n| n.as_str()).unwrap_or("").to_lowercase();
            let what = format!("`augmentation.{phase}[{k}]` ({name})");
            let p = || s.get("p").and_then(|p| p.as_f64()).unwrap_or(0.5).clamp(0.0, 1.0);
            steps.push(match name.as_str() {
                "randomresizedcrop" => Step::RandomResizedCrop {
                    size: size_of(s.get("size"), &what)?,
                    scale: pair(s.get("scale"), (0.08, 1.0)),
                    ratio: pair(s.get("ratio"), (0.75, 4.0 / 3.0)),
                    filter: filter(s.get("interpolation"), &what)?,
                },
                "randomhorizontalflip" => Step::HorizontalFlip(p()),
                "randomverticalflip" => Step::VerticalFlip(p()),
                "resize" => {
                    let criteria = s.get("resize_criteria").and_then(|c| c.as_str()).map(str::to_lowercase);
                    let resize = match (s.get("size"), criteria.as_deref()) {
                        (Some(Value::Number(_)), Some(c)) => {
                            let (n, _) = size_of(s.get("size"), &what)?;
                            if c == "long" { Resize::Long(n) } else { Resize::Short(n) }
                        }
                        (Some(Value::Number(_)), None) => {
                            return Err(format!(
                                "{what}: a resize to one number needs `resize_criteria: long` or `short` (NetsPresso asserts it)"
                            ));
                        }
                        _ => {
                            let (h, w) = size_of(s.get("size"), &what)?;
                            Resize::To(h, w)
                        }
                    };
                    Step::Resize {
                        resize,
                        max_size: s.get("max_size").and_then(|m| m.as_u64()).map(|m| m as u32),
                        filter: filter(s.get("interpolation"), &what)?,
                    }
                }
                "centercrop" => Step::CenterCrop(size_of(s.get("size"), &what)?),
                "pad" => Step::Pad {
                    size: size_of(s.get("size"), &what)?,
                    fill: fill(s.get("fill"), &what)?,
                },
                "randomcrop" => Step::RandomCrop {
                    size: size_of(s.get("size"), &what)?,
                    fill: fill(s.get("fill"), &what)?,
                },
                "colorjitter" => {
                    let hue = jitter(s.get("hue"), 0.0, &what, "hue")?;
                    if hue.0 < -0.5 || hue.1 > 0.5 {
                        return Err(format!("{what}: `hue` must lie within [-0.5, 0.5]"));
                    }
                    Step::ColorJitter {
                        brightness: jitter(s.get("brightness"), 1.0, &what, "brightness")?,
                        contrast: jitter(s.get("contrast"), 1.0, &what, "contrast")?,
                        saturation: jitter(s.get("saturation"), 1.0, &what, "saturation")?,
                        hue,
                        p: p(),
                    }
                }
                "randomerasing" => Step::RandomErasing {
                    p: p(),
                    scale: pair(s.get("scale"), (0.02, 0.33)),
                    ratio: pair(s.get("ratio"), (0.3, 3.3)),
                    value: s.get("value").and_then(|v| v.as_u64()).map(|v| v.min(255) as u8),
                },
                "totensor" => Step::ToTensor(s.get("pixel_range").and_then(|p| p.as_f64()).unwrap_or(1.0) as f32),
                "normalize" => Step::Normalize(
                    triple(s.get("mean"), [0.485, 0.456, 0.406]),
                    triple(s.get("std"), [0.229, 0.224, 0.225]),
                ),
                "mixing" => {
                    if k + 1 != list.len() {
                        return Err(format!(
                            "{what}: `mixing` must be the last transform of the list (NetsPresso refuses it in the middle)"
                        ));
                    }
                    dropped_mixing = true;
                    continue;
                }
                other if OTHER_TASKS.contains(&other) => {
                    return Err(format!(
                        "{what}: `{other}` augments detection or pose samples; zoo trains classification and segmentation models (supported: {SUPPORTED})"
                    ));
                }
                "trivialaugmentwide" => Step::TrivialAugmentWide {
                    bins: s
                        .get("num_magnitude_bins")
                        .and_then(|b| b.as_u64())
                        .unwrap_or(31)
                        .clamp(2, 1024) as usize,
                    warp: super::autoaugment::Warp {
                        bilinear: filter(s.get("interpolation"), &what)? != FilterType::Nearest,
                        fill: fill(s.get("fill"), &what)?,
                    },
                },
                "autoaugment" => {
                    let policy = s.get("policy").and_then(|p| p.as_str()).unwrap_or("imagenet").to_lowercase();
                    if !["imagenet", "cifar10", "svhn"].contains(&policy.as_str()) {
                        return Err(format!("{what}: `policy` is imagenet, cifar10 or svhn, found `{policy}`"));
                    }
                    Step::AutoAugment {
                        policy,
                        warp: super::autoaugment::Warp {
                            bilinear: filter(s.get("interpolation"), &what)? != FilterType::Nearest,
                            fill: fill(s.get("fill"), &what)?,
                        },
                    }
                }
                other => {
                    return Err(format!(
                        "{what}: unknown transform `{other}` (supported: {SUPPORTED})"
                    ));
                }
            });
        }
        Ok(Augment { steps, dropped_mixing })
    }

    /// An augmented image as [1, 3, H, W], and its mask moved the same way.
    pub fn apply(
        &self,
        mut img: RgbImage,
        mut mask: Option<GrayImage>,
        rng: &mut Rng,
    ) -> (RawTensor, Option<GrayImage>) {
        let (mut range, mut mean, mut std) = (1.0f32, [0.0f32; 3], [1.0f32; 3]);
        let mut erase: Vec<(u32, u32, u32, u32, Option<u8>)> = Vec::new();
        for s in &self.steps {
            match s {
                Step::RandomResizedCrop {
                    size,
                    scale,
                    ratio,
                    filter,
                } => {
                    let (x, y, w, h) = random_crop_box(img.width(), img.height(), *scale, *ratio, rng);
                    img = imageops::resize(
                        &imageops::crop_imm(&img, x, y, w, h).to_image(),
                        size.1,
                        size.0,
                        *filter,
                    );
                    mask = mask.map(|m| {
                        let c = imageops::crop_imm(&m, x, y, w, h).to_image();
                        imageops::resize(&c, size.1, size.0, FilterType::Nearest)
                    });
                }
                Step::HorizontalFlip(p) => {
                    if rng.uniform() < *p {
                        img = imageops::flip_horizontal(&img);
                        mask = mask.map(|m| imageops::flip_horizontal(&m));
                    }
                }
                Step::VerticalFlip(p) => {
                    if rng.uniform() < *p {
                        img = imageops::flip_vertical(&img);
                        mask = mask.map(|m| imageops::flip_vertical(&m));
                    }
                }
                Step::Resize {
                    resize,
                    max_size,
                    filter,
                } => {
                    let (mut h, mut w) = resize.target(img.height(), img.width());
                    if let Some(m) = max_size.filter(|m| h.max(w) > *m && *m > 0) {
                        // torchvision: the long side capped at max_size, the short one scaled.
                        let long = h.max(w) as u64;
                        let scale = |v: u32| ((v as u64 * m as u64) / long).max(1) as u32;
                        (h, w) = (scale(h), scale(w));
                    }
                    img = imageops::resize(&img, w, h, *filter);
                    mask = mask.map(|m| imageops::resize(&m, w, h, FilterType::Nearest));
                }
                Step::CenterCrop((h, w)) => {
                    let (ch, cw) = ((*h).min(img.height()), (*w).min(img.width()));
                    let (x0, y0) = center_crop_origin(img.height(), img.width(), ch, cw);
                    img = imageops::crop_imm(&img, x0, y0, cw, ch).to_image();
                    mask = mask.map(|m| imageops::crop_imm(&m, x0, y0, cw, ch).to_image());
                }
                Step::Pad { size, fill } => {
                    (img, mask) = pad(img, mask, *size, *fill);
                }
                Step::RandomCrop { size, fill } => {
                    (img, mask) = pad(img, mask, *size, *fill);
                    let (h, w) = *size;
                    let y = rng.below((img.height() - h + 1) as u64) as u32;
                    let x = rng.below((img.width() - w + 1) as u64) as u32;
                    img = imageops::crop_imm(&img, x, y, w, h).to_image();
                    mask = mask.map(|m| imageops::crop_imm(&m, x, y, w, h).to_image());
                }
                Step::ColorJitter {
                    brightness,
                    contrast,
                    saturation,
                    hue,
                    p,
                } => {
                    // torchvision draws the order and the factors first, NetsPresso then
                    // applies them with probability p.
                    let mut order = [0usize, 1, 2, 3];
                    rng.shuffle(&mut order);
                    let draw = |r: (f64, f64), rng: &mut Rng| r.0 + rng.uniform() * (r.1 - r.0);
                    let factors = [
                        draw(*brightness, rng),
                        draw(*contrast, rng),
                        draw(*saturation, rng),
                        draw(*hue, rng),
                    ];
                    if rng.uniform() < *p {
                        for f in order {
                            match f {
                                0 => adjust_brightness(&mut img, factors[0]),
                                1 => adjust_contrast(&mut img, factors[1]),
                                2 => adjust_saturation(&mut img, factors[2]),
                                _ => adjust_hue(&mut img, factors[3]),
                            }
                        }
                    }
                }
                Step::RandomErasing { p, scale, ratio, value } => {
                    if rng.uniform() < *p
                        && let Some((x, y, w, h)) = erasing_box(img.width(), img.height(), *scale, *ratio, rng)
                    {
                        erase.push((x, y, w, h, *value));
                        for yy in y..y + h {
                            for xx in x..x + w {
                                let v = value.unwrap_or_else(|| rng.below(255) as u8);
                                img.put_pixel(xx, yy, Rgb([v; 3]));
                            }
                        }
                    }
                }
                Step::TrivialAugmentWide { bins, warp } => {
                    (img, mask) = super::autoaugment::trivial_augment_wide(img, mask, *bins, *warp, rng);
                }
                Step::AutoAugment { policy, warp } => {
                    (img, mask) = super::autoaugment::auto_augment(img, mask, policy, *warp, rng);
                }
                Step::ToTensor(r) => range = *r,
                Step::Normalize(m, s) => {
                    mean = *m;
                    std = *s;
                }
            }
        }
        (to_tensor(&img, range, mean, std), mask)
    }
}

fn to_tensor(img: &RgbImage, range: f32, mean: [f32; 3], std: [f32; 3]) -> RawTensor {
    let (w, h) = img.dimensions();
    let plane = (w * h) as usize;
    let mut values = vec![0f32; 3 * plane];
    for (i, px) in img.pixels().enumerate() {
        for c in 0..3 {
            values[c * plane + i] = (px[c] as f32 / 255.0 * range - mean[c]) / std[c];
        }
    }
    RawTensor {
        shape: vec![1, 3, h as usize, w as usize],
        values,
    }
}

/// NetsPresso's `pad`: at the bottom and right up to `size`, the image with `fill`, the mask
/// with 255.
fn pad(img: RgbImage, mask: Option<GrayImage>, size: (u32, u32), fill: [u8; 3]) -> (RgbImage, Option<GrayImage>) {
    let (w, h) = img.dimensions();
    let (nw, nh) = (size.1.max(w), size.0.max(h));
    if (nw, nh) == (w, h) {
        return (img, mask);
    }
    let mut canvas = RgbImage::from_pixel(nw, nh, Rgb(fill));
    imageops::replace(&mut canvas, &img, 0, 0);
    let mask = mask.map(|m| {
        let mut c = GrayImage::from_pixel(nw, nh, Luma([MASK_FILL]));
        imageops::replace(&mut c, &m, 0, 0);
        c
    });
    (canvas, mask)
}

/// ITU-R 601-2 luma as PIL's `convert("L")` computes it.
fn luma(p: &Rgb<u8>) -> f64 {
    (p[0] as f64 * 299.0 + p[1] as f64 * 587.0 + p[2] as f64 * 114.0) / 1000.0
}

/// PIL's `Image.blend(degenerate, image, factor)`, clipped to 0..255.
pub(super) fn blend(v: f64, degenerate: f64, factor: f64) -> u8 {
    (degenerate + factor * (v - degenerate)).round().clamp(0.0, 255.0) as u8
}

pub(super) fn adjust_brightness(img: &mut RgbImage, f: f64) {
    for p in img.pixels_mut() {
        p.0 = p.0.map(|v| blend(v as f64, 0.0, f));
    }
}

pub(super) fn adjust_contrast(img: &mut RgbImage, f: f64) {
    let n = (img.width() as f64 * img.height() as f64).max(1.0);
    let mean = (img.pixels().map(|p| luma(p).round()).sum::<f64>() / n + 0.5).floor();
    for p in img.pixels_mut() {
        p.0 = p.0.map(|v| blend(v as f64, mean, f));
    }
}

pub(super) fn adjust_saturation(img: &mut RgbImage, f: f64) {
    for p in img.pixels_mut() {
        let g = luma(p).round();
        p.0 = p.0.map(|v| blend(v as f64, g, f));
    }
}

/// Shifts the hue by `f` of a full turn (in HSV, as torchvision's PIL path does).
fn adjust_hue(img: &mut RgbImage, f: f64) {
    if f == 0.0 {
        return;
    }
    for p in img.pixels_mut() {
        let [r, g, b] = p.0.map(|v| v as f64 / 255.0);
        let (max, min) = (r.max(g).max(b), r.min(g).min(b));
        let d = max - min;
        let mut h = if d == 0.0 {
            0.0
        } else if max == r {
            ((g - b) / d).rem_euclid(6.0) / 6.0
        } else if max == g {
            ((b - r) / d + 2.0) / 6.0
        } else {
            ((r - g) / d + 4.0) / 6.0
        };
        let s = if max == 0.0 { 0.0 } else { d / max };
        h = (h + f).rem_euclid(1.0);
        let i = (h * 6.0).floor();
        let fr = h * 6.0 - i;
        let (pv, qv, tv) = (max * (1.0 - s), max * (1.0 - s * fr), max * (1.0 - s * (1.0 - fr)));
        let (r, g, b) = match i as i64 % 6 {
            0 => (max, tv, pv),
            1 => (qv, max, pv),
            2 => (pv, max, tv),
            3 => (pv, qv, max),
            4 => (tv, pv, max),
            _ => (max, pv, qv),
        };
        p.0 = [r, g, b].map(|v| (v * 255.0).round().clamp(0.0, 255.0) as u8);
    }
}

/// torchvision's RandomResizedCrop box: ten tries at a random area and aspect ratio, then a
/// center crop at the ratio clamped to the range.
pub(crate) fn random_crop_box(
    width: u32,
    height: u32,
    scale: (f64, f64),
    ratio: (f64, f64),
    rng: &mut Rng,
) -> (u32, u32, u32, u32) {
    let area = (width * height) as f64;
    let (lr0, lr1) = (ratio.0.ln(), ratio.1.ln());
    for _ in 0..10 {
        let target = area * (scale.0 + rng.uniform() * (scale.1 - scale.0));
        let r = (lr0 + rng.uniform() * (lr1 - lr0)).exp();
        let w = (target * r).sqrt().round() as u32;
        let h = (target / r).sqrt().round() as u32;
        if w > 0 && h > 0 && w <= width && h <= height {
            let x = (rng.uniform() * (width - w + 1) as f64) as u32;
            let y = (rng.uniform() * (height - h + 1) as f64) as u32;
            return (x.min(width - w), y.min(height - h), w, h);
        }
    }
    let in_ratio = width as f64 / height as f64;
    let (w, h) = if in_ratio < ratio.0 {
        (width, (width as f64 / ratio.0).round() as u32)
    } else if in_ratio > ratio.1 {
        ((height as f64 * ratio.1).round() as u32, height)
    } else {
        (width, height)
    };
    ((width - w) / 2, (height - h) / 2, w.max(1), h.max(1))
}

/// RandomErasing's box: ten tries at an area and aspect ratio that fit strictly inside.
fn erasing_box(
    width: u32,
    height: u32,
    scale: (f64, f64),
    ratio: (f64, f64),
    rng: &mut Rng,
) -> Option<(u32, u32, u32, u32)> {
    let area = (width * height) as f64;
    let (lr0, lr1) = (ratio.0.ln(), ratio.1.ln());
    for _ in 0..10 {
        let target = area * (scale.0 + rng.uniform() * (scale.1 - scale.0));
        let r = (lr0 + rng.uniform() * (lr1 - lr0)).exp();
        let h = (target * r).sqrt().round() as u32;
        let w = (target / r).sqrt().round() as u32;
        if h < height && w < width && h > 0 && w > 0 {
            let y = rng.below((height - h + 1) as u64) as u32;
            let x = rng.below((width - w + 1) as u64) as u32;
            return Some((x, y, w, h));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn aug(yaml: &str) -> Augment {
        let v = zoo_spec::yaml::parse(yaml).unwrap().to_json();
        Augment::from_config(&v, "train").unwrap()
    }

    /// An image whose pixel (x, y) is (x, y, 0) and a mask whose pixel is x + 10 y.
    fn pair(w: u32, h: u32) -> (RgbImage, GrayImage) {
        (
            RgbImage::from_fn(w, h, |x, y| Rgb([x as u8, y as u8, 0])),
            GrayImage::from_fn(w, h, |x, y| Luma([(x + 10 * y) as u8])),
        )
    }

    #[test]
    fn geometric_steps_move_the_mask_with_the_image() {
        let a = aug(
            "augmentation:\n  train:\n    - {name: randomcrop, size: [4, 5], fill: 0}\n    - {name: randomhorizontalflip, p: 1.0}\n    - {name: totensor, pixel_range: 255}\n",
        );
        let (img, mask) = pair(9, 7);
        let (t, m) = a.apply(img, Some(mask), &mut Rng::new(3));
        let m = m.unwrap();
        assert_eq!(t.shape, vec![1, 3, 4, 5]);
        assert_eq!(m.dimensions(), (5, 4));
        let plane = 20;
        for y in 0..4 {
            for x in 0..5 {
                // The image's (x, y) channels name the source pixel; the mask must agree.
                let sx = t.values[(y * 5 + x) as usize].round() as u32;
                let sy = t.values[plane + (y * 5 + x) as usize].round() as u32;
                assert_eq!(m.get_pixel(x, y)[0] as u32, sx + 10 * sy, "pixel ({x}, {y})");
            }
        }
    }

    #[test]
    fn padding_fills_masks_with_the_undefined_class_and_centercrop_crops_both() {
        let a = aug(
            "augmentation:\n  train:\n    - {name: pad, size: [6, 6], fill: 7}\n    - {name: centercrop, size: [4, 4]}\n",
        );
        let (img, mask) = pair(3, 5);
        let (t, m) = a.apply(img, Some(mask), &mut Rng::new(1));
        let m = m.unwrap();
        assert_eq!(t.shape, vec![1, 3, 4, 4]);
        // Padded to 6×6 at the bottom/right, then the 4×4 centre starts at (1, 1).
        assert_eq!(m.get_pixel(0, 0)[0], 11);
        assert_eq!(m.get_pixel(2, 0)[0], MASK_FILL);
        assert_eq!(m.get_pixel(0, 3)[0], 41);
        assert_eq!(m.get_pixel(3, 3)[0], MASK_FILL);
        assert_eq!(t.values[2] * 255.0, 7.0);
    }

    #[test]
    fn colour_steps_leave_masks_alone_and_zero_jitter_is_the_identity() {
        let a = aug(
            "augmentation:\n  train:\n    - {name: colorjitter, brightness: 0.0, contrast: 0.0, saturation: 0.0, hue: 0.0, p: 1.0}\n    - {name: totensor, pixel_range: 255}\n",
        );
        let (img, mask) = pair(4, 3);
        let (t, m) = a.apply(img.clone(), Some(mask.clone()), &mut Rng::new(5));
        assert_eq!(m.unwrap(), mask);
        assert_eq!(t.values[1], 1.0);
        let a = aug(
            "augmentation:\n  train:\n    - {name: colorjitter, brightness: 0.5, contrast: 0.5, saturation: 0.5, hue: 0.2, p: 1.0}\n",
        );
        let (t2, _) = a.apply(img, None, &mut Rng::new(5));
        assert_ne!(t2.values, t.values.iter().map(|v| v / 255.0).collect::<Vec<_>>());
    }

    #[test]
    fn augmentation_policies_keep_masks_aligned_and_sized() {
        let a = aug(
            "augmentation:\n  train:\n    - {name: trivialaugmentwide, num_magnitude_bins: 31, interpolation: bilinear, fill: ~}\n    - {name: autoaugment, policy: imagenet, interpolation: nearest, fill: 0}\n",
        );
        let (img, mask) = pair(12, 9);
        let values: std::collections::BTreeSet<u8> = mask.pixels().map(|p| p.0[0]).collect();
        let mut changed = 0;
        for seed in 0..64 {
            let (t, m) = a.apply(img.clone(), Some(mask.clone()), &mut Rng::new(seed));
            let m = m.unwrap();
            assert_eq!(t.shape, vec![1, 3, 9, 12]);
            assert_eq!(m.dimensions(), (12, 9));
            // Masks are moved, never blended: every value is an original one or the fill.
            assert!(m.pixels().all(|p| p.0[0] == MASK_FILL || values.contains(&p.0[0])));
            changed += usize::from(m != mask);
        }
        // Geometric operations happen (5 of TrivialAugmentWide's 14, and Rotate/ShearX in AutoAugment).
        assert!(changed > 10, "{changed}");
        let v = zoo_spec::yaml::parse(
            "augmentation:\n  train:\n    - {name: autoaugment, policy: coco, interpolation: bilinear, fill: ~}\n",
        )
        .unwrap()
        .to_json();
        let e = Augment::from_config(&v, "train").unwrap_err();
        assert!(e.contains("`policy` is imagenet, cifar10 or svhn, found `coco`"), "{e}");
    }

    #[test]
    fn lists_netspresso_refuses_are_errors() {
        let v = |y: &str| zoo_spec::yaml::parse(y).unwrap().to_json();
        let e = Augment::from_config(
            &v("augmentation:\n  train:\n    - {name: mixing, num_classes: 3}\n    - {name: totensor}\n"),
            "train",
        )
        .unwrap_err();
        assert!(
            e.contains("`augmentation.train[0]` (mixing)") && e.contains("last"),
            "{e}"
        );
        let e =
            Augment::from_config(&v("augmentation:\n  train:\n    - {name: mosaicdetection}\n"), "train").unwrap_err();
        assert!(e.contains("detection or pose"), "{e}");
        let ok = Augment::from_config(
            &v("augmentation:\n  train:\n    - {name: totensor}\n    - {name: mixing, num_classes: 3}\n"),
            "train",
        )
        .unwrap();
        assert!(ok.dropped_mixing);
        let e =
            Augment::from_config(&v("augmentation:\n  train:\n    - {name: resize, size: 64}\n"), "train").unwrap_err();
        assert!(e.contains("resize_criteria"), "{e}");
    }
}
