//! NetsPresso's `local` data layouts: classification (an image folder and a CSV
//! `image_id,class` per split) and segmentation (an image folder and a mask folder per split,
//! paired by natural sort order or by `path.pattern`), with `id_mapping` naming the classes.

use super::augment::{Augment, MASK_FILL};
use super::rng::Rng;
use crate::rt::RawTensor;
use image::GrayImage;
use serde_json::Value;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub path: PathBuf,
    /// The class (classification).
    pub label: usize,
    /// The mask file (segmentation).
    pub mask: Option<PathBuf>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Splits {
    pub train: Vec<Sample>,
    pub valid: Vec<Sample>,
    pub classes: Vec<String>,
    /// Where the validation split came from (`valid` paths, or 10% of train).
    pub valid_from: String,
    /// How mask pixels become classes (segmentation).
    pub masks: Option<MaskMap>,
    /// What the user should know about the data (printed before training).
    pub notes: Vec<String>,
}

const IMAGE_EXTENSIONS: [&str; 9] = ["png", "jpg", "jpeg", "bmp", "tif", "tiff", "dng", "webp", "mpo"];

fn text<'a>(v: &'a Value, path: &str) -> Option<&'a str> {
    path.split('.').try_fold(v, |v, k| v.get(k)).and_then(|v| v.as_str())
}

/// `data.id_mapping`: a list of class names, a map `{label value: class name}` (segmentation;
/// a value is a grey level or an `"(r, g, b)"` colour), or a JSON file of either, relative to
/// the root. Entries are (label value, name) in class order; a list has no label values.
fn id_mapping(data: &Value, root: &Path) -> Result<Vec<(Option<String>, String)>, String> {
    let raw = match data.get("id_mapping") {
        Some(Value::String(f)) => {
            let p = root.join(f);
            let t = std::fs::read_to_string(&p)
                .map_err(|e| format!("`data.id_mapping`: cannot read {}: {e}", p.display()))?;
            serde_json::from_str::<Value>(&t)
                .map_err(|e| format!("`data.id_mapping`: {} is not JSON: {e}", p.display()))?
        }
        Some(v) => v.clone(),
        None => Value::Null,
    };
    let name = |v: &Value| v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string());
    let entries: Vec<(Option<String>, String)> = match raw {
        Value::Array(a) => a.iter().map(|v| (None, name(v))).collect(),
        Value::Object(m) => m.iter().map(|(k, v)| (Some(k.clone()), name(v))).collect(),
        _ => {
            return Err(
                "`data.id_mapping` must list the class names, map label values to names, or name a JSON file of either"
                    .into(),
            );
        }
    };
    if entries.is_empty() {
        return Err("`data.id_mapping` is empty".into());
    }
    Ok(entries)
}

/// The class names of a data config's `data.id_mapping` (list, map, or JSON file relative to
/// `data.path.root`), in class order.
pub fn class_names(c: &Value) -> Result<Vec<String>, String> {
    let data = c.get("data").ok_or("the config has no `data:` section")?;
    if data.get("id_mapping").is_none_or(|m| m.is_null()) {
        return Err("`data.id_mapping` is missing".into());
    }
    let root = PathBuf::from(text(data, "path.root").unwrap_or("."));
    Ok(id_mapping(data, &root)?.into_iter().map(|(_, n)| n).collect())
}

/// One classification split: the images of `image` (a folder) listed in the CSV `label`.
fn class_split(root: &Path, image: &str, label: &str, classes: usize, which: &str) -> Result<Vec<Sample>, String> {
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
        // NetsPresso lists the folder and skips images the CSV does not name; a CSV row
        // without its image is an error here rather than a crash mid-epoch.
        if !is_image(&path) || !path.is_file() {
            return Err(format!("{}:{}: no image {}", csv.display(), n + 1, path.display()));
        }
        out.push(Sample {
            path,
            label,
            mask: None,
        });
    }
    if out.is_empty() {
        return Err(format!("{}: no samples", csv.display()));
    }
    Ok(out)
}

fn is_image(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| IMAGE_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
}

/// NetsPresso's natural order: digit runs compare as numbers, the rest case-insensitively.
fn natural_key(s: &str) -> Vec<(u8, u128, String)> {
    let mut out = Vec::new();
    let mut rest = s.to_lowercase();
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
        if digits > 0 {
            let (d, r) = rest.split_at(digits);
            out.push((0, d.parse().unwrap_or(u128::MAX), String::new()));
            rest = r.to_string();
        } else {
            let text = rest.find(|c: char| c.is_ascii_digit()).unwrap_or(rest.len());
            let (t, r) = rest.split_at(text);
            out.push((1, 0, t.to_string()));
            rest = r.to_string();
        }
    }
    out
}

/// The images of a folder in natural order.
fn images_in(dir: &Path, what: &str) -> Result<Vec<PathBuf>, String> {
    let entries = std::fs::read_dir(dir).map_err(|e| format!("{what}: cannot list {}: {e}", dir.display()))?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && is_image(p))
        .collect();
    files.sort_by_cached_key(|p| natural_key(&p.to_string_lossy()));
    Ok(files)
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// One segmentation split: images paired with masks by the id that `path.pattern` captures,
/// or, without a pattern, the two folders' natural orders zipped (NetsPresso's pairing; a
/// different count is an error here, where NetsPresso drops the extra files).
fn mask_split(root: &Path, data: &Value, which: &str, notes: &mut Vec<String>) -> Result<Vec<Sample>, String> {
    let (Some(image), Some(label)) = (
        text(data, &format!("path.{which}.image")),
        text(data, &format!("path.{which}.label")),
    ) else {
        return Err(format!(
            "`data.path.{which}` needs `image` and `label` (an image folder and a mask folder)"
        ));
    };
    let (idir, ldir) = (root.join(image), root.join(label));
    for (d, f) in [(&idir, "image"), (&ldir, "label")] {
        if !d.is_dir() {
            return Err(format!("`data.path.{which}.{f}`: {} is not a folder", d.display()));
        }
    }
    let images = images_in(&idir, &format!("`data.path.{which}.image`"))?;
    let masks = images_in(&ldir, &format!("`data.path.{which}.label`"))?;
    if images.is_empty() {
        return Err(format!("`data.path.{which}.image`: no images in {}", idir.display()));
    }
    let pattern = |k: &str| -> Result<Option<regex::Regex>, String> {
        match text(data, &format!("path.pattern.{k}")) {
            None => Ok(None),
            Some(p) => regex::Regex::new(p)
                .map(Some)
                .map_err(|e| format!("`data.path.pattern.{k}`: not a regular expression: {e}")),
        }
    };
    let pairs: Vec<(PathBuf, PathBuf)> = match (pattern("image")?, pattern("label")?) {
        (Some(pi), Some(pl)) => {
            let id = |re: &regex::Regex, p: &Path| -> Option<String> {
                let name = file_name(p);
                let c = re.captures(&name)?;
                Some(c.get(1).or(c.get(0))?.as_str().to_string())
            };
            let mut by_id = std::collections::HashMap::new();
            for m in &masks {
                if let Some(k) = id(&pl, m) {
                    by_id.insert(k, m.clone());
                }
            }
            let mut pairs = Vec::new();
            for i in &images {
                let Some(k) = id(&pi, i) else {
                    return Err(format!(
                        "`data.path.pattern.image` does not match {} (in {})",
                        file_name(i),
                        idir.display()
                    ));
                };
                let m = by_id.get(&k).ok_or_else(|| {
                    format!(
                        "{}: no mask in {} has the id `{k}` (`data.path.pattern.label`)",
                        i.display(),
                        ldir.display()
                    )
                })?;
                pairs.push((i.clone(), m.clone()));
            }
            pairs
        }
        (None, None) => {
            if images.len() != masks.len() {
                return Err(format!(
                    "`data.path.{which}`: {} images in {} but {} masks in {}; images and masks pair in sorted order, so the counts must match (or give `data.path.pattern`)",
                    images.len(),
                    idir.display(),
                    masks.len(),
                    ldir.display()
                ));
            }
            let stem = |p: &Path| p.file_stem().map(|s| s.to_string_lossy().into_owned());
            if let Some((i, m)) = images.iter().zip(&masks).find(|(i, m)| stem(i) != stem(m)) {
                notes.push(format!(
                    "`data.path.{which}`: images and masks pair in sorted order, and {} pairs with {} (names differ)",
                    file_name(i),
                    file_name(m)
                ));
            }
            images.into_iter().zip(masks).collect()
        }
        _ => {
            return Err("`data.path.pattern` needs both `image` and `label` (or neither)".into());
        }
    };
    Ok(pairs
        .into_iter()
        .map(|(path, mask)| Sample {
            path,
            label: 0,
            mask: Some(mask),
        })
        .collect())
}

/// How the pixels of mask files become class indices.
#[derive(Debug, Clone, PartialEq)]
pub struct MaskMap {
    /// `label_image_mode: RGB` or `P`: masks are colour images whose colours `id_mapping` names.
    pub colour: bool,
    /// Label value (grey level or colour) → class; `None` when a grey level is the class.
    pub lookup: Option<Vec<([u8; 3], u8)>>,
    pub classes: usize,
    /// The mask value no loss or metric counts (the first loss's `ignore_index`).
    pub ignore: Option<u8>,
}

/// A label value of `id_mapping`: `"(r, g, b)"` or a grey level.
fn label_value(key: &str) -> Option<[u8; 3]> {
    let k = key.trim();
    if let Some(inner) = k.strip_prefix('(').and_then(|k| k.strip_suffix(')')) {
        let v: Vec<u8> = inner.split(',').map(|p| p.trim().parse().ok()).collect::<Option<_>>()?;
        return v.try_into().ok();
    }
    k.parse::<u8>().ok().map(|g| [g; 3])
}

impl MaskMap {
    fn new(data: &Value, entries: &[(Option<String>, String)]) -> Result<MaskMap, String> {
        let mode = text(data, "label_image_mode").unwrap_or("L").to_uppercase();
        let colour = match mode.as_str() {
            "L" => false,
            "RGB" | "P" => true,
            other => return Err(format!("`data.label_image_mode` must be L, RGB or P, found `{other}`")),
        };
        if entries.len() > MASK_FILL as usize {
            return Err(format!(
                "`data.id_mapping` has {} classes; segmentation masks hold at most 255 (255 marks undefined pixels)",
                entries.len()
            ));
        }
        let keyed = entries.iter().all(|(k, _)| k.is_some());
        let lookup = if keyed {
            let mut l = Vec::new();
            for (class, (k, _)) in entries.iter().enumerate() {
                let key = k.as_deref().unwrap_or_default();
                let v = label_value(key).ok_or_else(|| {
                    format!("`data.id_mapping`: label value `{key}` is neither a grey level 0..255 nor \"(r, g, b)\"")
                })?;
                if !colour && key.trim().starts_with('(') {
                    return Err(format!(
                        "`data.id_mapping` maps colours such as `{key}`, which needs `data.label_image_mode: RGB`"
                    ));
                }
                l.push((v, class as u8));
            }
            Some(l)
        } else if colour {
            return Err(
                "`data.label_image_mode: RGB` needs `data.id_mapping` to map colours to class names, e.g. {\"(0, 0, 0)\": background}"
                    .into(),
            );
        } else {
            None
        };
        Ok(MaskMap {
            colour,
            lookup,
            classes: entries.len(),
            ignore: None,
        })
    }

    /// A mask file as class indices (255: undefined). Grey masks keep their values (a palette
    /// PNG its palette indices, as PIL reads it); colour masks map their colours, unknown
    /// colours becoming 255.
    pub fn load(&self, path: &Path) -> Result<GrayImage, String> {
        if self.colour {
            let img = image::open(path)
                .map_err(|e| format!("cannot read mask {}: {e}", path.display()))?
                .to_rgb8();
            let lookup = self.lookup.as_deref().unwrap_or_default();
            let (w, h) = img.dimensions();
            return Ok(GrayImage::from_fn(w, h, |x, y| {
                let p = img.get_pixel(x, y).0;
                image::Luma([lookup.iter().find(|(c, _)| *c == p).map_or(MASK_FILL, |(_, k)| *k)])
            }));
        }
        let mut grey = read_grey(path)?;
        if let Some(l) = &self.lookup {
            for p in grey.pixels_mut() {
                p.0[0] = l.iter().find(|(c, _)| c[0] == p.0[0]).map_or(MASK_FILL, |(_, k)| *k);
            }
        }
        Ok(grey)
    }

    /// Every pixel of an (augmented) mask is a class or the ignored value.
    pub fn check(&self, mask: &GrayImage, path: &Path) -> Result<(), String> {
        for (x, y, p) in mask.enumerate_pixels() {
            let v = p.0[0];
            if (v as usize) < self.classes || Some(v) == self.ignore {
                continue;
            }
            let why = if v == MASK_FILL {
                "255 marks undefined pixels (unmapped colours, padding): set `ignore_index: 255` on the loss"
                    .to_string()
            } else {
                format!("`data.id_mapping` has {} classes", self.classes)
            };
            return Err(format!(
                "mask {}: pixel ({x}, {y}) has the value {v}, which is not a class; {why}",
                path.display()
            ));
        }
        Ok(())
    }
}

/// A grey mask's values as stored: 8-bit grey, or a palette PNG's indices.
fn read_grey(path: &Path) -> Result<GrayImage, String> {
    let bad = |e: String| format!("cannot read mask {}: {e}", path.display());
    let is_png = path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("png"));
    if is_png {
        let file = std::fs::File::open(path).map_err(|e| bad(e.to_string()))?;
        let mut decoder = png::Decoder::new(std::io::BufReader::new(file));
        decoder.set_transformations(png::Transformations::IDENTITY);
        let mut reader = decoder.read_info().map_err(|e| bad(e.to_string()))?;
        let size = reader.output_buffer_size().ok_or_else(|| bad("too large".into()))?;
        let mut buf = vec![0u8; size];
        let info = reader.next_frame(&mut buf).map_err(|e| bad(e.to_string()))?;
        let (w, h) = (info.width, info.height);
        let depth = info.bit_depth as u8;
        match info.color_type {
            png::ColorType::Grayscale | png::ColorType::Indexed if depth <= 8 => {
                // Rows of `line_size` bytes, each pixel `depth` bits, most significant first.
                let per_byte = 8 / depth as usize;
                let mask = (1u16 << depth) - 1;
                let mut out = GrayImage::new(w, h);
                for y in 0..h as usize {
                    let row = &buf[y * info.line_size..(y + 1) * info.line_size];
                    for x in 0..w as usize {
                        let byte = row[x / per_byte];
                        let shift = 8 - depth as usize * (x % per_byte + 1);
                        out.put_pixel(x as u32, y as u32, image::Luma([((byte as u16 >> shift) & mask) as u8]));
                    }
                }
                return Ok(out);
            }
            other => {
                return Err(bad(format!(
                    "a {other:?} PNG of {depth}-bit samples; `label_image_mode: L` reads 8-bit grey or palette masks (colour masks need `label_image_mode: RGB` and colours in `id_mapping`)"
                )));
            }
        }
    }
    match image::open(path).map_err(|e| bad(e.to_string()))? {
        image::DynamicImage::ImageLuma8(g) => Ok(g),
        other => Err(bad(format!(
            "{:?} pixels; `label_image_mode: L` reads 8-bit grey masks",
            other.color()
        ))),
    }
}

fn data_of(c: &Value) -> Result<(&Value, PathBuf), String> {
    let data = c.get("data").ok_or("the data config is missing")?;
    match text(data, "format") {
        Some("local") => {}
        Some("huggingface") => {
            return Err("`data.format: huggingface` downloads the dataset, which zoo does not do; save it in NetsPresso's `local` layout (classification: an image folder and a CSV `image_id,class` per split; segmentation: an image folder and a mask folder per split) and use `format: local`".into());
        }
        other => return Err(format!("`data.format` must be `local`, found {other:?}")),
    }
    let root = PathBuf::from(text(data, "path.root").ok_or("`data.path.root` is missing")?);
    Ok((data, root))
}

/// What one split's samples and labels are, for a task.
struct Layout<'a> {
    data: &'a Value,
    root: PathBuf,
    segmentation: bool,
    classes: Vec<String>,
    masks: Option<MaskMap>,
}

impl<'a> Layout<'a> {
    fn of(c: &'a Value) -> Result<Layout<'a>, String> {
        let (data, root) = data_of(c)?;
        let task = text(data, "task").unwrap_or("");
        let segmentation = match task {
            "classification" => false,
            "segmentation" => true,
            other => {
                return Err(format!(
                    "`data.task: {other}`: zoo reads classification and segmentation data"
                ));
            }
        };
        let entries = id_mapping(data, &root)?;
        let masks = if segmentation {
            let mut m = MaskMap::new(data, &entries)?;
            m.ignore = ignore_index(c);
            Some(m)
        } else {
            if entries.iter().any(|(k, _)| k.is_some()) {
                return Err("`data.id_mapping` of a classification dataset lists the class names".into());
            }
            None
        };
        Ok(Layout {
            data,
            root,
            segmentation,
            classes: entries.into_iter().map(|(_, n)| n).collect(),
            masks,
        })
    }

    /// The samples of `which`, or `None` when the config names no such split.
    fn split(&self, which: &str, notes: &mut Vec<String>) -> Result<Option<Vec<Sample>>, String> {
        let (Some(i), Some(l)) = (
            text(self.data, &format!("path.{which}.image")),
            text(self.data, &format!("path.{which}.label")),
        ) else {
            return Ok(None);
        };
        if self.segmentation {
            mask_split(&self.root, self.data, which, notes).map(Some)
        } else {
            class_split(&self.root, i, l, self.classes.len(), which).map(Some)
        }
    }

    fn needs(&self) -> &'static str {
        if self.segmentation {
            "`image` and `label` (an image folder and a mask folder)"
        } else {
            "`image` (a folder) and `label` (a CSV file)"
        }
    }
}

/// The first loss's `ignore_index` as a mask value (NetsPresso hands it to the metrics too).
fn ignore_index(c: &Value) -> Option<u8> {
    super::loss::ignore_of(c.pointer("/model/losses/0")?)
}

/// The train and validation splits of `data` (format `local`).
pub fn splits(c: &Value) -> Result<Splits, String> {
    let layout = Layout::of(c)?;
    let mut notes = Vec::new();
    let train = layout
        .split("train", &mut notes)?
        .ok_or_else(|| format!("`data.path.train` needs {} to train", layout.needs()))?;
    let (train, valid, valid_from) = match layout.split("valid", &mut notes)? {
        Some(valid) => (train, valid, "data.path.valid".to_string()),
        None => {
            // NetsPresso: 0.9 / 0.1 of train when there is no valid split (seeded).
            let mut all = train;
            if all.len() < 2 {
                return Err("the train split has too few samples to hold out a validation split".into());
            }
            Rng::new(42).shuffle(&mut all);
            let n_valid = (all.len() as f64 * 0.1).round().max(1.0) as usize;
            let valid = all.split_off(all.len() - n_valid);
            (all, valid, "10% of the train split".to_string())
        }
    };
    Ok(Splits {
        train,
        valid,
        classes: layout.classes,
        valid_from,
        masks: layout.masks,
        notes,
    })
}

/// One split to evaluate on: the class names, the mask map (segmentation), the samples.
pub type EvaluationSplit = (Vec<String>, Option<MaskMap>, Vec<Sample>);

/// The class names, mask map and one split (`valid` or `test`) of `data`, for evaluation.
pub fn evaluation_split(c: &Value, which: &str) -> Result<EvaluationSplit, String> {
    let layout = Layout::of(c)?;
    let samples = layout
        .split(which, &mut Vec::new())?
        .ok_or_else(|| format!("`data.path.{which}` needs {} to evaluate on it", layout.needs()))?;
    Ok((layout.classes, layout.masks, samples))
}

/// Decoded images and masks kept in memory (`environment.cache_data`), so each file is read
/// and decoded once per run.
#[derive(Default)]
pub struct Cache {
    images: std::sync::Mutex<std::collections::HashMap<PathBuf, std::sync::Arc<image::RgbImage>>>,
    masks: std::sync::Mutex<std::collections::HashMap<PathBuf, std::sync::Arc<GrayImage>>>,
}

/// The cached value of `key`, or `load`'s (then cached).
fn cached<T>(
    map: &std::sync::Mutex<std::collections::HashMap<PathBuf, std::sync::Arc<T>>>,
    key: &Path,
    load: impl FnOnce() -> Result<T, String>,
) -> Result<T, String>
where
    T: Clone,
{
    if let Some(v) = map.lock().ok().and_then(|m| m.get(key).cloned()) {
        return Ok((*v).clone());
    }
    let v = load()?;
    if let Ok(mut m) = map.lock() {
        m.insert(key.to_path_buf(), std::sync::Arc::new(v.clone()));
    }
    Ok(v)
}

/// A sample as the model's input `[1, 3, H, W]` and, for segmentation, its mask of classes
/// after `augment`.
pub fn load_sample(
    sample: &Sample,
    augment: &Augment,
    masks: Option<&MaskMap>,
    cache: Option<&Cache>,
    rng: &mut Rng,
) -> Result<(RawTensor, Option<GrayImage>), String> {
    let read = || {
        image::open(&sample.path)
            .map(|i| i.to_rgb8())
            .map_err(|e| format!("cannot read image {}: {e}", sample.path.display()))
    };
    let img = match cache {
        Some(c) => cached(&c.images, &sample.path, read)?,
        None => read()?,
    };
    let mask = match (&sample.mask, masks) {
        (Some(p), Some(m)) => {
            let mask = match cache {
                Some(c) => cached(&c.masks, p, || m.load(p))?,
                None => m.load(p)?,
            };
            if mask.dimensions() != img.dimensions() {
                return Err(format!(
                    "mask {} is {}×{} but its image {} is {}×{}",
                    p.display(),
                    mask.width(),
                    mask.height(),
                    sample.path.display(),
                    img.width(),
                    img.height()
                ));
            }
            Some(mask)
        }
        _ => None,
    };
    let (x, mask) = augment.apply(img, mask, rng);
    if let (Some(m), Some(map), Some(p)) = (&mask, masks, &sample.mask) {
        map.check(m, p)?;
    }
    Ok((x, mask))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn natural_order_compares_numbers_as_numbers() {
        let mut v = vec!["img10.png", "IMG2.png", "img1.png", "a.png"];
        v.sort_by_cached_key(|s| natural_key(s));
        assert_eq!(v, ["a.png", "img1.png", "IMG2.png", "img10.png"]);
    }

    #[test]
    fn label_values_are_grey_levels_or_colours() {
        assert_eq!(label_value("(128, 0, 64)"), Some([128, 0, 64]));
        assert_eq!(label_value("7"), Some([7, 7, 7]));
        assert_eq!(label_value("(1, 2)"), None);
        assert_eq!(label_value("x"), None);
    }
}
