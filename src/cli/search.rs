//! `zoo index` (embed every image under a folder) and `zoo search` (the nearest items of an
//! index to a query, by cosine similarity).
//!
//! An index is a folder that holds everything a query needs, so moving or editing the
//! original config or checkpoint never silently changes what a search compares against:
//! `index.json` (the items' paths, relative to the indexed folder), `embeddings.npy`
//! (float32 [N, D], every row L2-normalised, so cosine similarity is a dot product),
//! `config.yaml` (a copy of the config) and `weights.safetensors` (the weights used).

use super::embed::{embeddings, normalize_rows, require_embedding_task};
use super::run::{ModelArgs, model_with_weights};
use super::{DeviceKind, INVALID, OK, USAGE};
use crate::preprocess::Pipeline;
use crate::tensor_io::{self, RawTensor};
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
    /// Each row of `embeddings.npy`, relative to `root`.
    items: Vec<PathBuf>,
}

pub struct IndexArgs<'a> {
    pub model: ModelArgs<'a>,
    pub dir: &'a Path,
    pub output: &'a Path,
}

pub struct SearchArgs<'a> {
    pub index: &'a Path,
    pub image: Option<&'a Path>,
    pub text: Option<&'a str>,
    pub top: usize,
    pub device: DeviceKind,
}

fn is_image(p: &Path) -> bool {
    p.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| IMAGE_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
}

/// Every image file under `dir`, in a stable (sorted) order.
fn images_under(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(d) = pending.pop() {
        let entries = std::fs::read_dir(&d).map_err(|e| format!("cannot read {}: {e}", d.display()))?;
        for entry in entries {
            let p = entry.map_err(|e| format!("cannot read {}: {e}", d.display()))?.path();
            if p.is_dir() {
                pending.push(p);
            } else if is_image(&p) {
                found.push(p);
            }
        }
    }
    found.sort();
    Ok(found)
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
    let files = match images_under(a.dir) {
        Ok(f) if f.is_empty() => {
            eprintln!(
                "error: no images ({}) under {}",
                IMAGE_EXTENSIONS.join(", "),
                a.dir.display()
            );
            return USAGE;
        }
        Ok(f) => f,
        Err(m) => {
            eprintln!("error: {m}");
            return USAGE;
        }
    };
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
    let pipeline = Pipeline::for_config(&cfg);
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
        let mut e = match embeddings(&cfg, &model, &batch, a.model.device) {
            Ok(e) => e,
            Err(code) => return code,
        };
        normalize_rows(&mut e);
        dim = e.shape[1];
        values.extend(e.values);
        progress(items.len() + skipped, files.len(), tty);
    }
    if items.is_empty() {
        eprintln!(
            "error: none of the {} images under {} could be read",
            files.len(),
            a.dir.display()
        );
        return INVALID;
    }
    let manifest = Manifest {
        format: FORMAT.into(),
        version: VERSION,
        root: std::path::absolute(a.dir).unwrap_or_else(|_| a.dir.to_path_buf()),
        model: cfg.name.clone(),
        dim,
        items,
    };
    let e = RawTensor {
        shape: vec![manifest.items.len(), dim],
        values,
    };
    if let Err(m) = write_index(a.output, &manifest, &e, &config_text, &model) {
        eprintln!("error: cannot write the index {}: {m}", a.output.display());
        return USAGE;
    }
    eprintln!(
        "indexed {} images ({} skipped) as {dim}-value embeddings into {}",
        manifest.items.len(),
        skipped,
        a.output.display()
    );
    OK
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
    crate::weights::save(model, &out.join("weights.safetensors")).map_err(|e| e.to_string())?;
    tensor_io::write_npy(&out.join("embeddings.npy"), e).map_err(|e| e.to_string())?;
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
    let e = tensor_io::read_npy(&dir.join("embeddings.npy"))?;
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
    let image = match (a.image, a.text) {
        (Some(p), None) => p,
        (None, Some(_)) => {
            eprintln!(
                "error: `{}` embeds images; a text query needs a model with a text tower, and zoo has none yet",
                m.model
            );
            return USAGE;
        }
        _ => {
            eprintln!("error: give one query: --image FILE or --text TEXT");
            return USAGE;
        }
    };
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
    };
    let (cfg, model, _) = match model_with_weights(&args) {
        Ok(x) => x,
        Err(code) => return code,
    };
    let input = match Pipeline::for_config(&cfg).load(image) {
        Ok(t) => t,
        Err(m) => {
            eprintln!("error: {m}");
            return USAGE;
        }
    };
    let mut q = match embeddings(&cfg, &model, &input, a.device) {
        Ok(q) => q,
        Err(code) => return code,
    };
    normalize_rows(&mut q);
    if q.shape[1] != m.dim {
        eprintln!(
            "error: the query's embedding has {} values but the index's have {}",
            q.shape[1], m.dim
        );
        return INVALID;
    }
    for (rank, (i, score)) in nearest(&e, &q.values, a.top).into_iter().enumerate() {
        println!("{:>3}  {score:.4}  {}", rank + 1, m.root.join(&m.items[i]).display());
    }
    OK
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
