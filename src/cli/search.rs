//! `zoo index` (embed every image, or every line of the text files, under a folder) and
//! `zoo search` (the nearest items of an index to an image or text query, by cosine
//! similarity; text-to-image with a two-tower model such as CLIP).
//!
//! An index is a folder that holds everything a query needs, so moving or editing the
//! original config or checkpoint never silently changes what a search compares against:
//! `index.json` (the items: paths relative to the indexed folder, `file.txt:LINE` for texts,
//! with the texts), `embeddings.npy` (float32 [N, D], every row L2-normalised, so cosine
//! similarity is a dot product), `config.yaml` (a copy of the config), `weights.safetensors`
//! (the weights used) and `tokenizer/` (the text tokenizer, when there is one).

use super::embed::{embeddings, normalize_rows, require_embedding_task};
use super::run::{ModelArgs, model_with_weights};
use super::text_input;
use super::{DeviceChoice, INVALID, OK, USAGE};
use crate::io::tensor_files;
use crate::preprocess::image::Pipeline;
use crate::rt::RawTensor;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

const FORMAT: &str = "zoo-index";
const VERSION: u32 = 1;
/// Images per forward pass: large enough to keep the kernels busy, small enough for memory.
const BATCH: usize = 8;
const IMAGE_EXTENSIONS: [&str; 3] = ["jpg", "jpeg", "png"];

#[derive(Serialize, Deserialize)]
struct Manifest {
    format: String,
    version: u32,
    /// The indexed folder (absolute when it was indexed).
    root: PathBuf,
    model: String,
    dim: usize,
    /// Each row of `embeddings.npy`, relative to `root` (`file.txt:LINE` for texts).
    items: Vec<PathBuf>,
    /// `image` or `text`: what the items are.
    #[serde(default = "image_kind")]
    kind: String,
    /// The text of each item of a text index.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    texts: Vec<String>,
    /// The tokenizer file kept in the index (relative to it), for text queries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    tokenizer: Option<PathBuf>,
}

fn image_kind() -> String {
    "image".into()
}

pub struct IndexArgs<'a> {
    pub model: ModelArgs<'a>,
    pub dir: &'a Path,
    pub output: &'a Path,
    pub tokenizer: Option<&'a Path>,
}

pub struct SearchArgs<'a> {
    pub index: &'a Path,
    pub image: Option<&'a Path>,
    pub text: Option<&'a str>,
    pub top: usize,
    pub tokenizer: Option<&'a Path>,
    pub device: DeviceChoice,
}

fn is_image(p: &Path) -> bool {
    p.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| IMAGE_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
}

/// Every file under `dir` that `keep` accepts, in a stable (sorted) order.
fn files_under(dir: &Path, keep: fn(&Path) -> bool) -> Result<Vec<PathBuf>, String> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(d) = pending.pop() {
        let entries = std::fs::read_dir(&d).map_err(|e| format!("cannot read {}: {e}", d.display()))?;
        for entry in entries {
            let p = entry.map_err(|e| format!("cannot read {}: {e}", d.display()))?.path();
            if p.is_dir() {
                pending.push(p);
            } else if keep(&p) {
                found.push(p);
            }
        }
    }
    found.sort();
    Ok(found)
}

fn is_text_file(p: &Path) -> bool {
    p.extension().and_then(|e| e.to_str()) == Some("txt")
}

/// Every non-empty line of the `.txt` files under `dir`: (`file.txt:LINE`, text).
fn lines_under(dir: &Path) -> Result<Vec<(PathBuf, String)>, String> {
    let mut out = Vec::new();
    for f in files_under(dir, is_text_file)? {
        let text = std::fs::read_to_string(&f).map_err(|e| format!("cannot read {}: {e}", f.display()))?;
        let rel = f.strip_prefix(dir).unwrap_or(&f).display().to_string();
        for (k, line) in text.lines().enumerate() {
            if !line.trim().is_empty() {
                out.push((PathBuf::from(format!("{rel}:{}", k + 1)), line.to_string()));
            }
        }
    }
    Ok(out)
}

/// Copies a tokenizer file and the files it is read with (casing, merges) into
/// `index/tokenizer/`; returns its path relative to the index.
fn keep_tokenizer(path: &Path, index: &Path) -> Result<PathBuf, String> {
    let dir = index.join("tokenizer");
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let name = path.file_name().ok_or("the tokenizer path names no file")?;
    let from = path.parent().unwrap_or(Path::new("."));
    std::fs::copy(path, dir.join(name)).map_err(|e| format!("cannot copy {}: {e}", path.display()))?;
    for companion in ["tokenizer_config.json", "merges.txt"] {
        if from.join(companion).is_file() {
            std::fs::copy(from.join(companion), dir.join(companion)).map_err(|e| e.to_string())?;
        }
    }
    Ok(Path::new("tokenizer").join(name))
}

/// A folder `zoo index` may write: absent, empty, or an earlier index (which it replaces).
fn check_output(output: &Path) -> Result<(), String> {
    if !output.exists() {
        return Ok(());
    }
    if !output.is_dir() {
        return Err(format!("{} exists and is not an index folder", output.display()));
    }
    let empty = std::fs::read_dir(output)
        .map_err(|e| format!("cannot read {}: {e}", output.display()))?
        .next()
        .is_none();
    if empty || output.join("index.json").is_file() {
        Ok(())
    } else {
        Err(format!(
            "{} holds files that are not a zoo index; give a new or empty folder",
            output.display()
        ))
    }
}

fn progress(done: usize, total: usize, tty: bool) {
    if tty {
        let width = 30;
        let filled = done * width / total.max(1);
        eprint!(
            "\rembedding [{}{}] {done}/{total}",
            "#".repeat(filled),
            " ".repeat(width - filled)
        );
        if done == total {
            eprintln!();
        }
    }
}

pub fn index(a: &IndexArgs) -> i32 {
    if !a.dir.is_dir() {
        eprintln!("error: {} is not a folder", a.dir.display());
        return USAGE;
    }
    if let Err(m) = check_output(a.output) {
        eprintln!("error: {m}");
        return USAGE;
    }
    if let Err(code) = require_embedding_task(a.model.config) {
        return code;
    }
    let config_text = match std::fs::read_to_string(a.model.config) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: cannot read {}: {e}", a.model.config.display());
            return USAGE;
        }
    };
    let (cfg, model, _) = match model_with_weights(&a.model) {
        Ok(m) => m,
        Err(code) => return code,
    };
    // Text models index texts; image and two-tower models images (queried by text later).
    let tokenizer = text_input::find_tokenizer(a.tokenizer, a.model.checkpoint);
    let built = if model.reads_images() {
        index_images(a, &cfg, &model)
    } else {
        match &tokenizer {
            Ok(t) => index_texts(a, &cfg, &model, t),
            Err(m) => Err((m.clone(), USAGE)),
        }
    };
    let (mut manifest, e, skipped) = match built {
        Ok(b) => b,
        Err((m, code)) => {
            // An empty message: the model's failure is already reported.
            if !m.is_empty() {
                eprintln!("error: {m}");
            }
            return code;
        }
    };
    let written = (|| -> Result<(), String> {
        if let (Ok(t), true) = (&tokenizer, model.reads_tokens()) {
            std::fs::create_dir_all(a.output).map_err(|e| e.to_string())?;
            manifest.tokenizer = Some(keep_tokenizer(t, a.output)?);
        }
        write_index(a.output, &manifest, &e, &config_text, &model)
    })();
    if let Err(m) = written {
        eprintln!("error: cannot write the index {}: {m}", a.output.display());
        return USAGE;
    }
    eprintln!(
        "indexed {} {}s ({skipped} skipped) as {}-value embeddings into {}",
        manifest.items.len(),
        manifest.kind,
        manifest.dim,
        a.output.display()
    );
    OK
}

type Built = (Manifest, RawTensor, usize);

fn manifest(a: &IndexArgs, cfg: &crate::config::ModelConfig, kind: &str, dim: usize, items: Vec<PathBuf>) -> Manifest {
    Manifest {
        format: FORMAT.into(),
        version: VERSION,
        root: std::path::absolute(a.dir).unwrap_or_else(|_| a.dir.to_path_buf()),
        model: cfg.name.clone(),
        dim,
        items,
        kind: kind.into(),
        texts: Vec::new(),
        tokenizer: None,
    }
}

fn index_images(
    a: &IndexArgs,
    cfg: &crate::config::ModelConfig,
    model: &crate::TaskModel,
) -> Result<Built, (String, i32)> {
    let files = files_under(a.dir, is_image).map_err(|m| (m, USAGE))?;
    if files.is_empty() {
        return Err((
            format!("no images ({}) under {}", IMAGE_EXTENSIONS.join(", "), a.dir.display()),
            USAGE,
        ));
    }
    let pipeline = Pipeline::for_config(cfg);
    let tty = super::color(true);
    let (mut items, mut values, mut skipped) = (Vec::new(), Vec::new(), 0usize);
    let mut dim = 0;
    for chunk in files.chunks(BATCH) {
        let mut batch = RawTensor {
            shape: vec![0],
            values: Vec::new(),
        };
        for p in chunk {
            match pipeline.load(p) {
                Ok(t) => {
                    batch.shape = t.shape.clone();
                    batch.values.extend(t.values);
                    items.push(p.strip_prefix(a.dir).unwrap_or(p).to_path_buf());
                }
                Err(m) => {
                    // One unreadable file should not cost the whole folder's work.
                    if tty {
                        eprintln!();
                    }
                    eprintln!("warning: skipped: {m}");
                    skipped += 1;
                }
            }
        }
        if batch.values.is_empty() {
            continue;
        }
        batch.shape[0] = batch.values.len() / batch.shape[1..].iter().product::<usize>();
        let mut e = embeddings(cfg, model, &batch, a.model.device).map_err(|code| (String::new(), code))?;
        normalize_rows(&mut e);
        dim = e.shape[1];
        values.extend(e.values);
        progress(items.len() + skipped, files.len(), tty);
    }
    if items.is_empty() {
        return Err((
            format!(
                "none of the {} images under {} could be read",
                files.len(),
                a.dir.display()
            ),
            INVALID,
        ));
    }
    let e = RawTensor {
        shape: vec![items.len(), dim],
        values,
    };
    Ok((manifest(a, cfg, "image", dim, items), e, skipped))
}

/// Lines per forward pass of a text index (the progress bar's step).
const TEXT_BATCH: usize = 64;

fn index_texts(
    a: &IndexArgs,
    cfg: &crate::config::ModelConfig,
    model: &crate::TaskModel,
    tokenizer: &Path,
) -> Result<Built, (String, i32)> {
    let lines = lines_under(a.dir).map_err(|m| (m, USAGE))?;
    if lines.is_empty() {
        return Err((format!("no text lines (.txt files) under {}", a.dir.display()), USAGE));
    }
    let usage = |m: String| (m, USAGE);
    let limits = crate::model::text_limits(cfg)
        .map_err(|e| usage(e.to_string()))?
        .ok_or_else(|| usage("the model declares no vocab_size / max_tokens".into()))?;
    let tok =
        crate::preprocess::text::TextTokenizer::from_file(tokenizer, None, Some(limits.max_tokens)).map_err(usage)?;
    let tty = super::color(true);
    let mut values = Vec::new();
    let mut dim = 0;
    for (k, chunk) in lines.chunks(TEXT_BATCH).enumerate() {
        let texts: Vec<String> = chunk.iter().map(|(_, t)| t.clone()).collect();
        let encoded = text_input::encode(&tok, &texts).map_err(|m| (m, INVALID))?;
        let rows = text_input::pad(&encoded, tok.pad_id);
        let mut e =
            text_input::embeddings(&cfg.name, model, limits, &rows, a.model.device).map_err(|m| (m, INVALID))?;
        normalize_rows(&mut e);
        dim = e.shape[1];
        values.extend(e.values);
        progress((k * TEXT_BATCH + chunk.len()).min(lines.len()), lines.len(), tty);
    }
    let (items, texts): (Vec<PathBuf>, Vec<String>) = lines.into_iter().unzip();
    let e = RawTensor {
        shape: vec![items.len(), dim],
        values,
    };
    let mut m = manifest(a, cfg, "text", dim, items);
    m.texts = texts;
    Ok((m, e, 0))
}

fn write_index(
    out: &Path,
    manifest: &Manifest,
    e: &RawTensor,
    config_text: &str,
    model: &crate::TaskModel,
) -> Result<(), String> {
    std::fs::create_dir_all(out).map_err(|e| e.to_string())?;
    std::fs::write(out.join("config.yaml"), config_text).map_err(|e| e.to_string())?;
    crate::io::weights::save(model, &out.join("weights.safetensors")).map_err(|e| e.to_string())?;
    tensor_files::write_npy(&out.join("embeddings.npy"), e).map_err(|e| e.to_string())?;
    // The manifest last: a folder without it is not taken for a finished index.
    let json = serde_json::to_string_pretty(manifest).map_err(|e| e.to_string())?;
    std::fs::write(out.join("index.json"), json + "\n").map_err(|e| e.to_string())
}

fn read_index(dir: &Path) -> Result<(Manifest, RawTensor), String> {
    let path = dir.join("index.json");
    let text = std::fs::read_to_string(&path).map_err(|e| {
        format!(
            "{} is not a zoo index (cannot read {}: {e})",
            dir.display(),
            path.display()
        )
    })?;
    let m: Manifest =
        serde_json::from_str(&text).map_err(|e| format!("{}: not a zoo index manifest: {e}", path.display()))?;
    if m.format != FORMAT || m.version != VERSION {
        return Err(format!(
            "{}: format {} version {}; this zoo reads {FORMAT} version {VERSION}",
            path.display(),
            m.format,
            m.version
        ));
    }
    let e = tensor_files::read_npy(&dir.join("embeddings.npy"))?;
    if e.shape != [m.items.len(), m.dim] {
        return Err(format!(
            "{}: embeddings.npy is {:?} but the manifest lists {} items of {} values",
            dir.display(),
            e.shape,
            m.items.len(),
            m.dim
        ));
    }
    Ok((m, e))
}

/// Indices and cosine similarities of the `top` rows of `e` nearest to `q` (both normalised).
fn nearest(e: &RawTensor, q: &[f32], top: usize) -> Vec<(usize, f32)> {
    let mut scored: Vec<(usize, f32)> = e
        .values
        .chunks(q.len())
        .map(|row| row.iter().zip(q).map(|(a, b)| a * b).sum())
        .enumerate()
        .collect();
    scored.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    scored.truncate(top);
    scored
}

pub fn search(a: &SearchArgs) -> i32 {
    if a.top == 0 {
        eprintln!("error: --top must be at least 1");
        return USAGE;
    }
    let (m, e) = match read_index(a.index) {
        Ok(x) => x,
        Err(m) => {
            eprintln!("error: {m}");
            return USAGE;
        }
    };
    if a.image.is_some() == a.text.is_some() {
        eprintln!("error: give one query: --image FILE or --text TEXT");
        return USAGE;
    }
    let config = a.index.join("config.yaml");
    let weights = a.index.join("weights.safetensors");
    let args = ModelArgs {
        config: &config,
        checkpoint: Some(&weights),
        num_classes: None,
        data: None,
        weights_from: None,
        weights_url: None,
        device: a.device,
        fold: true,
    };
    let (cfg, model, _) = match model_with_weights(&args) {
        Ok(x) => x,
        Err(code) => return code,
    };
    let query = match (a.image, a.text) {
        (Some(image), _) if model.reads_images() => Pipeline::for_config(&cfg)
            .load(image)
            .map_err(|m| (m, USAGE))
            .and_then(|input| embeddings(&cfg, &model, &input, a.device).map_err(|code| (String::new(), code))),
        (Some(_), _) => Err((
            format!("`{}` is a text model; query its index with --text", m.model),
            USAGE,
        )),
        (None, Some(text)) if model.reads_tokens() => text_query(a, &m, &cfg, &model, text),
        (None, _) => Err((
            format!(
                "`{}` embeds images only; query its index with --image (text-to-image needs a two-tower model such as CLIP)",
                m.model
            ),
            USAGE,
        )),
    };
    let mut q = match query {
        Ok(q) => q,
        Err((m, code)) => {
            if !m.is_empty() {
                eprintln!("error: {m}");
            }
            return code;
        }
    };
    normalize_rows(&mut q);
    if q.shape[1] != m.dim {
        eprintln!(
            "error: the query's embedding has {} values but the index's have {}",
            q.shape[1], m.dim
        );
        return INVALID;
    }
    for (k, (i, score)) in nearest(&e, &q.values, a.top).into_iter().enumerate() {
        let rank = k + 1;
        let item = m.root.join(&m.items[i]).display().to_string();
        match m.texts.get(i) {
            Some(t) => println!("{rank:>3}  {score:.4}  {item}  {t}"),
            None => println!("{rank:>3}  {score:.4}  {item}"),
        }
    }
    OK
}

/// The embedding of a text query, tokenised by `--tokenizer` or the index's own copy.
fn text_query(
    a: &SearchArgs,
    m: &Manifest,
    cfg: &crate::config::ModelConfig,
    model: &crate::TaskModel,
    text: &str,
) -> Result<RawTensor, (String, i32)> {
    let kept = m.tokenizer.as_ref().map(|t| a.index.join(t));
    let path = a.tokenizer.map(Path::to_path_buf).or(kept).ok_or((
        format!("{} keeps no tokenizer; give --tokenizer", a.index.display()),
        USAGE,
    ))?;
    let usage = |m: String| (m, USAGE);
    let limits = crate::model::text_limits(cfg)
        .map_err(|e| usage(e.to_string()))?
        .ok_or_else(|| usage("the model declares no vocab_size / max_tokens".into()))?;
    let tok = crate::preprocess::text::TextTokenizer::from_file(&path, None, Some(limits.max_tokens)).map_err(usage)?;
    let encoded = text_input::encode(&tok, &[text.to_string()]).map_err(usage)?;
    text_input::embeddings(
        &cfg.name,
        model,
        limits,
        &text_input::pad(&encoded, tok.pad_id),
        a.device,
    )
    .map_err(|m| (m, INVALID))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_ranks_by_cosine_and_breaks_ties_by_position() {
        let e = RawTensor {
            shape: vec![4, 2],
            values: vec![1.0, 0.0, 0.0, 1.0, 0.6, 0.8, 0.0, 1.0],
        };
        assert_eq!(nearest(&e, &[0.0, 1.0], 3), vec![(1, 1.0), (3, 1.0), (2, 0.8)]);
        assert_eq!(nearest(&e, &[1.0, 0.0], 10).len(), 4);
    }
}
