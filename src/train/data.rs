//! NetsPresso's `local` classification layout (an image folder and a CSV `image_id,class` per
//! split, `id_mapping` naming the classes) and the training-time augmentation of its
//! augmentation config.

use super::rng::Rng;
use crate::tensor_io::RawTensor;
use serde_json::Value;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub path: PathBuf,
    pub label: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Splits {
    pub train: Vec<Sample>,
    pub valid: Vec<Sample>,
    pub classes: Vec<String>,
    /// Where the validation split came from (`valid` paths, or 10% of train).
    pub valid_from: String,
}

const IMAGE_EXTENSIONS: [&str; 9] = ["png", "jpg", "jpeg", "bmp", "tif", "tiff", "dng", "webp", "mpo"];

fn text<'a>(v: &'a Value, path: &str) -> Option<&'a str> {
    path.split('.').try_fold(v, |v, k| v.get(k)).and_then(|v| v.as_str())
}

/// The class names of `data.id_mapping`: a list, or a JSON file (a list) relative to the root.
fn class_names(data: &Value, root: &Path) -> Result<Vec<String>, String> {
    let list = match data.get("id_mapping") {
        Some(Value::Array(a)) => a.clone(),
        Some(Value::String(f)) => {
            let p = root.join(f);
            let t = std::fs::read_to_string(&p)
                .map_err(|e| format!("`data.id_mapping`: cannot read {}: {e}", p.display()))?;
            match serde_json::from_str::<Value>(&t) {
                Ok(Value::Array(a)) => a,
                _ => {
                    return Err(format!(
                        "`data.id_mapping`: {} is not a JSON list of class names",
                        p.display()
                    ));
                }
            }
        }
        _ => return Err("`data.id_mapping` must list the class names (or name a JSON file of them)".into()),
    };
    if list.is_empty() {
        return Err("`data.id_mapping` is empty".into());
    }
    Ok(list
        .iter()
        .map(|v| v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string()))
        .collect())
}

/// One split: the images of `image` (a folder) listed in the CSV `label`.
fn split(root: &Path, image: &str, label: &str, classes: usize, which: &str) -> Result<Vec<Sample>, String> {
    let dir = root.join(image);
    let csv = root.join(label);
    if !dir.is_dir() {
        return Err(format!("`data.path.{which}.image`: {} is not a folder", dir.display()));
    }
    let t = std::fs::read_to_string(&csv)
        .map_err(|e| format!("`data.path.{which}.label`: cannot read {}: {e}", csv.display()))?;
    let mut lines = t.lines().enumerate();
    let header: Vec<&str> = lines
        .next()
        .map(|(_, h)| h.split(',').map(str::trim).collect())
        .unwrap_or_default();
    let (Some(ic), Some(cc)) = (
        header.iter().position(|h| *h == "image_id"),
        header.iter().position(|h| *h == "class"),
    ) else {
        return Err(format!(
            "{}: the header must name `image_id` and `class` columns",
            csv.display()
        ));
    };
    let mut out = Vec::new();
    for (n, line) in lines {
        if line.trim().is_empty() {
            continue;
        }
        let cols: Vec<&str> = line.split(',').map(str::trim).collect();
        let (Some(name), Some(class)) = (cols.get(ic), cols.get(cc)) else {
            return Err(format!(
                "{}:{}: expected {} columns",
                csv.display(),
                n + 1,
                header.len()
            ));
        };
        let label: usize = class
            .parse()
            .map_err(|_| format!("{}:{}: class `{class}` is not a class index", csv.display(), n + 1))?;
        if label >= classes {
            return Err(format!(
                "{}:{}: class {label} is outside `data.id_mapping` ({classes} classes)",
                csv.display(),
                n + 1
            ));
        }
        let path = dir.join(name);
        let ext_ok = path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| IMAGE_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()));
        // NetsPresso lists the folder and skips images the CSV does not name; a CSV row
        // without its image is an error here rather than a crash mid-epoch.
        if !ext_ok || !path.is_file() {
            return Err(format!("{}:{}: no image {}", csv.display(), n + 1, path.display()));
        }
        out.push(Sample { path, label });
    }
    if out.is_empty() {
        return Err(format!("{}: no samples", csv.display()));
    }
    Ok(out)
}

/// The classification splits of `data` (format `local`).
pub fn classification(c: &Value) -> Result<Splits, String> {
    let data = c.get("data").ok_or("the data config is missing")?;
    match text(data, "format") {
        Some("local") => {}
        Some("huggingface") => {
            return Err("`data.format: huggingface` downloads the dataset, which zoo does not do; save it in NetsPresso's `local` layout (an image folder and a CSV `image_id,class` per split) and use `format: local`".into());
        }
        other => return Err(format!("`data.format` must be `local`, found {other:?}")),
    }
    let root = PathBuf::from(text(data, "path.root").ok_or("`data.path.root` is missing")?);
    let classes = class_names(data, &root)?;
    let train = match (text(data, "path.train.image"), text(data, "path.train.label")) {
        (Some(i), Some(l)) => split(&root, i, l, classes.len(), "train")?,
        _ => return Err("`data.path.train` needs `image` (a folder) and `label` (a CSV file)".into()),
    };
    let (train, valid, valid_from) = match (text(data, "path.valid.image"), text(data, "path.valid.label")) {
        (Some(i), Some(l)) => (
            train,
            split(&root, i, l, classes.len(), "valid")?,
            "data.path.valid".to_string(),
        ),
        _ => {
            // NetsPresso: 0.9 / 0.1 of train when there is no valid split (seeded).
            let mut all = train;
            Rng::new(42).shuffle(&mut all);
            let n_valid = (all.len() as f64 * 0.1).round().max(1.0) as usize;
            if all.len() < 2 {
                return Err("the train split has too few samples to hold out a validation split".into());
            }
            let valid = all.split_off(all.len() - n_valid);
            (all, valid, "10% of the train split".to_string())
        }
    };
    Ok(Splits {
        train,
        valid,
        classes,
        valid_from,
    })
}

/// The class names and one split (`valid` or `test`) of `data`, for evaluation.
pub fn evaluation_split(c: &Value, which: &str) -> Result<(Vec<String>, Vec<Sample>), String> {
    let data = c.get("data").ok_or("the data config is missing")?;
    if text(data, "format") != Some("local") {
        return Err("`data.format` must be `local` to evaluate".into());
    }
    let root = PathBuf::from(text(data, "path.root").ok_or("`data.path.root` is missing")?);
    let classes = class_names(data, &root)?;
    match (
        text(data, &format!("path.{which}.image")),
        text(data, &format!("path.{which}.label")),
    ) {
        (Some(i), Some(l)) => {
            let samples = split(&root, i, l, classes.len(), which)?;
            Ok((classes, samples))
        }
        _ => Err(format!(
            "`data.path.{which}` needs `image` (a folder) and `label` (a CSV file) to evaluate on it"
        )),
    }
}

/// One step of `augmentation.train`.
#[derive(Debug, Clone, PartialEq)]
enum Step {
    RandomResizedCrop {
        size: (u32, u32),
        scale: (f64, f64),
        ratio: (f64, f64),
    },
    HorizontalFlip(f64),
    VerticalFlip(f64),
    Resize((u32, u32)),
    CenterCrop((u32, u32)),
    ToTensor(f32),
    Normalize([f32; 3], [f32; 3]),
}

/// The training transforms of an augmentation config.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainTransform {
    steps: Vec<Step>,
}

fn size_of(v: Option<&Value>, what: &str) -> Result<(u32, u32), String> {
    match v {
        Some(Value::Number(n)) => n
            .as_u64()
            .map(|s| (s as u32, s as u32))
            .ok_or(format!("{what}: `size` must be positive")),
        Some(Value::Array(a)) if a.len() == 2 => match (a[0].as_u64(), a[1].as_u64()) {
            (Some(h), Some(w)) if h > 0 && w > 0 => Ok((h as u32, w as u32)),
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

impl TrainTransform {
    pub fn from_config(c: &Value) -> Result<TrainTransform, String> {
        let list = c
            .get("augmentation")
            .and_then(|a| a.get("train"))
            .and_then(|t| t.as_array())
            .ok_or("the augmentation config has no `augmentation.train` list")?;
        let mut steps = Vec::new();
        for (k, s) in list.iter().enumerate() {
            let name = s.get("name").and_then(|n| n.as_str()).unwrap_or("").to_lowercase();
            let what = format!("`augmentation.train[{k}]` ({name})");
            let p = || s.get("p").and_then(|p| p.as_f64()).unwrap_or(0.5);
            steps.push(match name.as_str() {
                "randomresizedcrop" => Step::RandomResizedCrop {
                    size: size_of(s.get("size"), &what)?,
                    scale: pair(s.get("scale"), (0.08, 1.0)),
                    ratio: pair(s.get("ratio"), (0.75, 4.0 / 3.0)),
                },
                "randomhorizontalflip" => Step::HorizontalFlip(p()),
                "randomverticalflip" => Step::VerticalFlip(p()),
                "resize" => Step::Resize(size_of(s.get("size"), &what)?),
                "centercrop" => Step::CenterCrop(size_of(s.get("size"), &what)?),
                "totensor" => Step::ToTensor(s.get("pixel_range").and_then(|p| p.as_f64()).unwrap_or(1.0) as f32),
                "normalize" => Step::Normalize(
                    triple(s.get("mean"), [0.485, 0.456, 0.406]),
                    triple(s.get("std"), [0.229, 0.224, 0.225]),
                ),
                other => {
                    return Err(format!(
                        "{what}: transform `{other}` is not supported in training yet (supported: randomresizedcrop, randomhorizontalflip, randomverticalflip, resize, centercrop, totensor, normalize)"
                    ));
                }
            });
        }
        Ok(TrainTransform { steps })
    }

    /// An augmented image as [1, 3, H, W].
    pub fn load(&self, path: &Path, rng: &mut Rng) -> Result<RawTensor, String> {
        let mut img = image::open(path)
            .map_err(|e| format!("cannot read image {}: {e}", path.display()))?
            .to_rgb8();
        let (mut range, mut mean, mut std) = (1.0f32, [0.0f32; 3], [1.0f32; 3]);
        let bilinear = image::imageops::FilterType::Triangle;
        for s in &self.steps {
            match s {
                Step::RandomResizedCrop { size, scale, ratio } => {
                    let (x, y, w, h) = random_crop_box(img.width(), img.height(), *scale, *ratio, rng);
                    let crop = image::imageops::crop_imm(&img, x, y, w, h).to_image();
                    img = image::imageops::resize(&crop, size.1, size.0, bilinear);
                }
                Step::HorizontalFlip(p) => {
                    if rng.uniform() < *p {
                        img = image::imageops::flip_horizontal(&img);
                    }
                }
                Step::VerticalFlip(p) => {
                    if rng.uniform() < *p {
                        img = image::imageops::flip_vertical(&img);
                    }
                }
                Step::Resize((h, w)) => img = image::imageops::resize(&img, *w, *h, bilinear),
                Step::CenterCrop((h, w)) => {
                    let (ch, cw) = ((*h).min(img.height()), (*w).min(img.width()));
                    let (x0, y0) = ((img.width() - cw) / 2, (img.height() - ch) / 2);
                    img = image::imageops::crop_imm(&img, x0, y0, cw, ch).to_image();
                }
                Step::ToTensor(r) => range = *r,
                Step::Normalize(m, s) => {
                    mean = *m;
                    std = *s;
                }
            }
        }
        let (w, h) = img.dimensions();
        let plane = (w * h) as usize;
        let mut values = vec![0f32; 3 * plane];
        for (i, px) in img.pixels().enumerate() {
            for c in 0..3 {
                values[c * plane + i] = (px[c] as f32 / 255.0 * range - mean[c]) / std[c];
            }
        }
        Ok(RawTensor {
            shape: vec![1, 3, h as usize, w as usize],
            values,
        })
    }
}

/// torchvision's RandomResizedCrop box: ten tries at a random area and aspect ratio, then a
/// center crop at the ratio clamped to the range.
fn random_crop_box(
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
