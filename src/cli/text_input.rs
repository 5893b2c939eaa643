//! Token inputs of text models for `zoo embed`, `zoo index` and `zoo search`: texts tokenised
//! with the model's tokenizer, or id and mask arrays from `.npy` files; run in batches.

use super::DeviceChoice;
use crate::io::tensor_files;
use crate::model::TextLimits;
use crate::preprocess::text::{Encoded, TextTokenizer};
use crate::rt::RawTensor;
use burn::tensor::{Int, Tensor};
use std::path::{Path, PathBuf};

/// Rows of token ids with their attention mask, all `len` long (padded).
#[derive(Debug, Clone, PartialEq)]
pub struct TokenRows {
    pub ids: Vec<i64>,
    pub mask: Vec<i64>,
    pub rows: usize,
    pub len: usize,
}

/// Rows per forward pass: long text files are embedded in pieces of bounded memory.
const BATCH: usize = 32;

/// The tokenizer to use: `--tokenizer`, else the one in the checkpoint folder
/// (`tokenizer.json`, `vocab.txt`, or `vocab.json` with `merges.txt`).
pub fn find_tokenizer(explicit: Option<&Path>, checkpoint: Option<&Path>) -> Result<PathBuf, String> {
    if let Some(t) = explicit {
        return Ok(t.to_path_buf());
    }
    if let Some(dir) = checkpoint.filter(|c| c.is_dir()) {
        // sentence-transformers folders keep the tokenizer beside modules.json or in the
        // Transformer module's folder (`0_Transformer/` in older ones).
        for sub in ["", "0_Transformer"] {
            for f in ["tokenizer.json", "vocab.txt", "vocab.json"] {
                let p = dir.join(sub).join(f);
                if p.is_file() {
                    return Ok(p);
                }
            }
        }
    }
    Err("text needs a tokenizer: give --tokenizer (tokenizer.json, vocab.txt or vocab.json), or a checkpoint folder that holds one".into())
}

/// Tokenises every text (truncated at the model's longest input).
pub fn encode(tok: &TextTokenizer, texts: &[String]) -> Result<Vec<Encoded>, String> {
    texts.iter().map(|t| tok.encode(t)).collect()
}

/// Pads encoded texts to the longest, with the tokenizer's pad id and mask 0.
pub fn pad(encoded: &[Encoded], pad_id: u32) -> TokenRows {
    let len = encoded.iter().map(|e| e.ids.len()).max().unwrap_or(0);
    let mut ids = Vec::with_capacity(encoded.len() * len);
    let mut mask = Vec::with_capacity(encoded.len() * len);
    for e in encoded {
        ids.extend(e.ids.iter().map(|i| *i as i64));
        ids.extend(std::iter::repeat_n(pad_id as i64, len - e.ids.len()));
        mask.extend(std::iter::repeat_n(1, e.ids.len()));
        mask.extend(std::iter::repeat_n(0, len - e.ids.len()));
    }
    TokenRows {
        ids,
        mask,
        rows: encoded.len(),
        len,
    }
}

/// `--tokens`: `[{"text", "ids", "tokens"}]`, ids with special tokens, unpadded.
pub fn tokens_json(texts: &[String], encoded: &[Encoded]) -> serde_json::Value {
    serde_json::Value::Array(
        texts
            .iter()
            .zip(encoded)
            .map(|(t, e)| serde_json::json!({ "text": t, "ids": e.ids, "tokens": e.tokens }))
            .collect(),
    )
}

/// Ids [B, L] from an integer `.npy`, with a mask of the same shape (default: all ones).
pub fn from_npy(ids: &Path, mask: Option<&Path>) -> Result<TokenRows, String> {
    let (shape, values) = tensor_files::read_npy_ints(ids)?;
    let [rows, len] = shape[..] else {
        return Err(format!(
            "{}: token ids are [batch, tokens], found shape {shape:?}",
            ids.display()
        ));
    };
    if rows == 0 || len == 0 {
        return Err(format!("{}: no tokens (shape {shape:?})", ids.display()));
    }
    let mask = match mask {
        None => vec![1; values.len()],
        Some(m) => {
            let (mshape, mvalues) = tensor_files::read_npy_ints(m)?;
            if mshape != shape {
                return Err(format!("{}: the mask is {mshape:?}, the ids {shape:?}", m.display()));
            }
            if let Some(v) = mvalues.iter().find(|v| !matches!(v, 0 | 1)) {
                return Err(format!("{}: a mask holds 0 and 1, found {v}", m.display()));
            }
            mvalues
        }
    };
    Ok(TokenRows {
        ids: values,
        mask,
        rows,
        len,
    })
}

/// The model's embeddings of token rows: float32 [B, output_dim], computed `BATCH` rows at a
/// time.
pub fn embeddings(
    name: &str,
    model: &crate::TaskModel,
    limits: TextLimits,
    rows: &TokenRows,
    device: DeviceChoice,
) -> Result<RawTensor, String> {
    limits.check(&rows.ids, rows.len)?;
    let device = super::device(device)?;
    let mut out: Option<RawTensor> = None;
    for start in (0..rows.rows).step_by(BATCH) {
        let n = BATCH.min(rows.rows - start);
        let slice = |v: &[i64]| v[start * rows.len..(start + n) * rows.len].to_vec();
        let (ids, mask) = (slice(&rows.ids), slice(&rows.mask));
        let ids_t = Tensor::<1, Int>::from_ints(ids.as_slice(), &device).reshape([n, rows.len]);
        let mask_f: Vec<f32> = mask.iter().map(|m| *m as f32).collect();
        let mask_t = Tensor::<1>::from_floats(mask_f.as_slice(), &device).reshape([n, rows.len]);
        let pred = crate::model::guarded(|| model.forward_tokens(ids_t, mask_t))
            .map_err(|m| format!("{name} cannot run on {n}x{} tokens ({m})", rows.len))?;
        let e = pred.tensors("pred").remove(0).1;
        match &mut out {
            None => out = Some(e),
            Some(all) => {
                all.shape[0] += e.shape[0];
                all.values.extend(e.values);
            }
        }
    }
    out.ok_or_else(|| "no token rows".to_string())
}
