//! `zoo tokenize`: a text tokeniser's ids and tokens for texts, as `zoo embed --tokens` will
//! write them: `[{"text": ..., "ids": [...], "tokens": [...]}]`, special tokens included,
//! unpadded.

use super::{INVALID, OK, USAGE};
use crate::preprocess::text::TextTokenizer;
use std::path::Path;

pub struct TokenizeArgs<'a> {
    pub tokenizer: &'a Path,
    pub texts: &'a [String],
    pub text_file: Option<&'a Path>,
    pub lowercase: Option<bool>,
    pub max_length: Option<usize>,
    pub output: Option<&'a Path>,
}

/// The texts of `--text`, then one per line of `--text-file`.
pub fn texts(given: &[String], file: Option<&Path>) -> Result<Vec<String>, String> {
    let mut all = given.to_vec();
    if let Some(f) = file {
        let t = std::fs::read_to_string(f).map_err(|e| format!("cannot read {}: {e}", f.display()))?;
        all.extend(t.lines().map(str::to_string));
    }
    if all.is_empty() {
        return Err("give texts with --text or --text-file".into());
    }
    Ok(all)
}

pub fn run(a: &TokenizeArgs) -> i32 {
    if a.output
        .is_some_and(|o| o.extension().and_then(|e| e.to_str()) != Some("json"))
    {
        eprintln!("error: --output must end in .json");
        return USAGE;
    }
    if a.max_length.is_some_and(|m| m < 2) {
        eprintln!("error: --max-length counts the two special tokens; it must be at least 2");
        return USAGE;
    }
    let texts = match texts(a.texts, a.text_file) {
        Ok(t) => t,
        Err(m) => {
            eprintln!("error: {m}");
            return USAGE;
        }
    };
    let tok = match TextTokenizer::from_file(a.tokenizer, a.lowercase, a.max_length) {
        Ok(t) => t,
        Err(m) => {
            eprintln!("error: {m}");
            return USAGE;
        }
    };
    let mut rows = Vec::new();
    for text in &texts {
        match tok.encode(text) {
            Ok(e) => rows.push(serde_json::json!({ "text": text, "ids": e.ids, "tokens": e.tokens })),
            Err(m) => {
                eprintln!("error: {m}");
                return INVALID;
            }
        }
    }
    match a.output {
        Some(out) => {
            let json = serde_json::to_string_pretty(&rows).expect("plain JSON values");
            if let Err(e) = std::fs::write(out, json + "\n") {
                eprintln!("error: cannot write {}: {e}", out.display());
                return USAGE;
            }
            eprintln!("wrote the tokens of {} texts to {}", rows.len(), out.display());
        }
        None => {
            for r in &rows {
                let tokens: Vec<&str> = r["tokens"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter_map(|t| t.as_str())
                    .collect();
                let ids: Vec<String> = r["ids"].as_array().unwrap().iter().map(|i| i.to_string()).collect();
                println!(
                    "{}\n  tokens: {}\n  ids:    {}",
                    r["text"],
                    tokens.join(" "),
                    ids.join(" ")
                );
            }
        }
    }
    OK
}
