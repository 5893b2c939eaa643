//! Text tokenisers of the embedding models, identical to the Hugging Face fast tokenisers
//! Finetuner used: cased and uncased WordPiece (BERT, DistilBERT) and CLIP's byte-level BPE.
//!
//! They run on the `tokenizers` crate (the Rust code behind the Python fast tokenisers, built
//! without its C features). Users have a `tokenizer.json`, or only the vocabulary files; for
//! those the same pipeline is assembled as a `tokenizer.json` document, so both routes run
//! the one definition HF saves.

use serde_json::{Value, json};
use std::path::Path;
use tokenizers::{Tokenizer, TruncationDirection, TruncationParams, TruncationStrategy};

/// One text's tokens: ids with the special tokens, unpadded.
#[derive(Debug, Clone, PartialEq)]
pub struct Encoded {
    pub ids: Vec<u32>,
    pub tokens: Vec<String>,
}

pub struct TextTokenizer {
    inner: Tokenizer,
    /// The pad id of the model family (`[PAD]` for WordPiece, `<|endoftext|>` for CLIP, as HF).
    pub pad_id: u32,
}

fn token_id(vocab: &serde_json::Map<String, Value>, token: &str) -> Result<u64, String> {
    vocab
        .get(token)
        .and_then(Value::as_u64)
        .ok_or_else(|| format!("the vocabulary has no {token} token"))
}

/// WordPiece: BERT's normaliser (lower-casing and accent stripping only when uncased),
/// pre-tokeniser and `[CLS] … [SEP]` template.
fn wordpiece_document(vocab: &serde_json::Map<String, Value>, lowercase: bool) -> Result<Value, String> {
    let id = |t: &str| token_id(vocab, t);
    let (cls, sep) = (id("[CLS]")?, id("[SEP]")?);
    id("[UNK]")?;
    Ok(json!({
        "version": "1.0",
        "truncation": null,
        "padding": null,
        "added_tokens": [],
        "normalizer": {"type": "BertNormalizer", "clean_text": true, "handle_chinese_chars": true,
                       "strip_accents": null, "lowercase": lowercase},
        "pre_tokenizer": {"type": "BertPreTokenizer"},
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                       {"SpecialToken": {"id": "[SEP]", "type_id": 0}}],
            "pair": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                     {"SpecialToken": {"id": "[SEP]", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}},
                     {"SpecialToken": {"id": "[SEP]", "type_id": 1}}],
            "special_tokens": {
                "[CLS]": {"id": "[CLS]", "ids": [cls], "tokens": ["[CLS]"]},
                "[SEP]": {"id": "[SEP]", "ids": [sep], "tokens": ["[SEP]"]}
            }
        },
        "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": true},
        "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
                  "max_input_chars_per_word": 100, "vocab": vocab}
    }))
}

/// CLIP: NFC, whitespace collapsed, lower-cased; its word pattern, byte-level symbols, BPE
/// with `</w>` ending each word; `<|startoftext|> … <|endoftext|>`.
fn clip_document(vocab: &serde_json::Map<String, Value>, merges: Vec<String>) -> Result<Value, String> {
    let id = |t: &str| token_id(vocab, t);
    let (bos, eos) = (id("<|startoftext|>")?, id("<|endoftext|>")?);
    Ok(json!({
        "version": "1.0",
        "truncation": null,
        "padding": null,
        "added_tokens": [],
        "normalizer": {"type": "Sequence", "normalizers": [
            {"type": "NFC"}, {"type": "Replace", "pattern": {"Regex": "\\s+"}, "content": " "}, {"type": "Lowercase"}]},
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
            {"type": "Split",
             "pattern": {"Regex": "<\\|startoftext\\|>|<\\|endoftext\\|>|'s|'t|'re|'ve|'m|'ll|'d|[\\p{L}]+|[\\p{N}]|[^\\s\\p{L}\\p{N}]+"},
             "behavior": "Removed", "invert": true},
            {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true}]},
        "post_processor": {"type": "RobertaProcessing", "sep": ["<|endoftext|>", eos], "cls": ["<|startoftext|>", bos],
                           "trim_offsets": false, "add_prefix_space": false},
        "decoder": {"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true},
        "model": {"type": "BPE", "dropout": null, "unk_token": "<|endoftext|>", "continuing_subword_prefix": "",
                  "end_of_word_suffix": "</w>", "fuse_unk": false, "byte_fallback": false, "ignore_merges": false,
                  "vocab": vocab, "merges": merges}
    }))
}

fn read(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

/// `do_lower_case` of the `tokenizer_config.json` beside a `vocab.txt`, which is how HF
/// tells a cased vocabulary from an uncased one.
fn lowercase_beside(vocab: &Path) -> Result<Option<bool>, String> {
    let cfg = vocab.with_file_name("tokenizer_config.json");
    if !cfg.is_file() {
        return Ok(None);
    }
    let v: Value = serde_json::from_str(&read(&cfg)?).map_err(|e| format!("{}: {e}", cfg.display()))?;
    Ok(v.get("do_lower_case").and_then(Value::as_bool))
}

impl TextTokenizer {
    /// Loads `tokenizer.json`, a WordPiece `vocab.txt` (cased unless `lowercase` or the
    /// `tokenizer_config.json` beside it says otherwise), or CLIP's `vocab.json` (with the
    /// `merges.txt` beside it). `max_length` counts the special tokens; by default the
    /// model family's (BERT 512, CLIP's context 77).
    pub fn from_file(path: &Path, lowercase: Option<bool>, max_length: Option<usize>) -> Result<TextTokenizer, String> {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        let doc = if name.ends_with(".txt") {
            let mut vocab = serde_json::Map::new();
            for (i, line) in read(path)?.lines().enumerate() {
                // HF keeps the first id of a repeated token.
                vocab.entry(line.trim_end_matches('\r').to_string()).or_insert(json!(i));
            }
            let lower = match lowercase {
                Some(l) => l,
                None => lowercase_beside(path)?.ok_or_else(|| {
                    format!(
                        "{} does not say whether it is cased; put its tokenizer_config.json beside it, use its \
                         tokenizer.json, or choose with --lowercase true|false",
                        path.display()
                    )
                })?,
            };
            Some(wordpiece_document(&vocab, lower)?)
        } else {
            let text = read(path)?;
            let v: Value = serde_json::from_str(&text).map_err(|e| format!("{}: not JSON ({e})", path.display()))?;
            match v {
                // A tokenizer.json (it has its model); else a token -> id vocabulary.
                Value::Object(ref o) if o.contains_key("model") => None,
                Value::Object(vocab) if vocab.values().all(Value::is_u64) => {
                    let merges_path = path.with_file_name("merges.txt");
                    let merges = read(&merges_path)
                        .map_err(|e| format!("{e} (a vocab.json needs the merges.txt beside it)"))?
                        .lines()
                        .filter(|l| !l.is_empty() && !l.starts_with("#version"))
                        .map(str::to_string)
                        .collect();
                    Some(clip_document(&vocab, merges)?)
                }
                _ => return Err(format!("{}: not a tokenizer.json or a vocab.json", path.display())),
            }
        };
        let broken = |m: String| format!("{}: not a tokenizer this zoo reads ({m})", path.display());
        let loaded = crate::rt::guarded(|| match doc {
            Some(d) => Tokenizer::from_bytes(d.to_string()),
            None => Tokenizer::from_file(path),
        })
        .map_err(broken)?;
        let mut inner = loaded.map_err(|e| broken(e.to_string()))?;
        let clip = inner.token_to_id("<|startoftext|>").is_some();
        let pad_id = ["[PAD]", "<|endoftext|>"]
            .iter()
            .find_map(|t| inner.token_to_id(t))
            .unwrap_or(0);
        let max_length = max_length.unwrap_or(if clip { 77 } else { 512 });
        inner
            .with_truncation(Some(TruncationParams {
                max_length,
                strategy: TruncationStrategy::LongestFirst,
                stride: 0,
                direction: TruncationDirection::Right,
            }))
            .map_err(|e| e.to_string())?;
        inner.with_padding(None);
        Ok(TextTokenizer { inner, pad_id })
    }

    pub fn encode(&self, text: &str) -> Result<Encoded, String> {
        // The tokenizers crate trusts its file's tables (a template naming a special token
        // the vocabulary lacks panics); a broken file is an error here, not a crash.
        let e = crate::rt::guarded(|| self.inner.encode(text, true))
            .map_err(|m| format!("cannot tokenise {text:?}: the tokenizer file is inconsistent ({m})"))?
            .map_err(|e| format!("cannot tokenise {text:?}: {e}"))?;
        Ok(Encoded {
            ids: e.get_ids().to_vec(),
            tokens: e.get_tokens().to_vec(),
        })
    }
}
