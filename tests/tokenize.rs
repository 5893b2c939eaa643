//! Tokenisers against the Hugging Face fast tokenisers' ids (tests/fixtures/tokenizers, from
//! tests/reference/tokenizer_fixtures.py): cased and uncased WordPiece and CLIP's byte-level
//! BPE, each from its tokenizer.json and from its vocabulary files.

mod common;

use common::root;
use serde_json::Value;
use zoo::preprocess::text::TextTokenizer;

fn fixture(path: &str) -> std::path::PathBuf {
    root(&format!("tests/fixtures/tokenizers/{path}"))
}

fn expected(kind: &str) -> Vec<(String, Vec<u32>, Vec<String>)> {
    let v: Value = serde_json::from_str(&std::fs::read_to_string(fixture("expected.json")).unwrap()).unwrap();
    let cases = v[kind].as_object().unwrap();
    assert_eq!(cases.len(), 12, "{kind}");
    cases
        .iter()
        .map(|(text, e)| {
            let ids = e["ids"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i.as_u64().unwrap() as u32)
                .collect();
            let tokens = e["tokens"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t.as_str().unwrap().to_string())
                .collect();
            (text.clone(), ids, tokens)
        })
        .collect()
}

fn assert_matches(tok: &TextTokenizer, kind: &str) {
    for (text, ids, tokens) in expected(kind) {
        let e = tok.encode(&text).unwrap();
        assert_eq!(e.ids, ids, "{kind}: {text:?}");
        assert_eq!(e.tokens, tokens, "{kind}: {text:?}");
    }
}

#[test]
fn wordpiece_ids_equal_hfs_from_tokenizer_json_and_from_vocab_txt() {
    for (kind, file, lower) in [
        ("wordpiece-cased", "wordpiece/tokenizer-cased.json", false),
        ("wordpiece-uncased", "wordpiece/tokenizer-uncased.json", true),
    ] {
        assert_matches(
            &TextTokenizer::from_file(&fixture(file), None, Some(512)).unwrap(),
            kind,
        );
        let from_vocab = TextTokenizer::from_file(&fixture("wordpiece/vocab.txt"), Some(lower), Some(512)).unwrap();
        assert_matches(&from_vocab, kind);
        assert_eq!(from_vocab.pad_id, 0);
    }
    // Accents: kept (and unknown) when cased, stripped when uncased.
    let cased = expected("wordpiece-cased");
    let naive = cased.iter().find(|c| c.0.starts_with("naïve")).unwrap();
    assert_eq!(naive.1, vec![101, 100, 100, 100, 102]);
}

#[test]
fn clip_ids_equal_hfs_from_tokenizer_json_and_from_vocab_and_merges() {
    // expected.json is untruncated (the 136-character word makes 90 ids); truncation is tested below.
    let json = TextTokenizer::from_file(&fixture("clip/tokenizer.json"), None, Some(512)).unwrap();
    assert_matches(&json, "clip");
    let files = TextTokenizer::from_file(&fixture("clip/vocab.json"), None, Some(512)).unwrap();
    assert_matches(&files, "clip");
    assert_eq!(files.pad_id, 913, "HF pads CLIP with <|endoftext|>");
}

#[test]
fn truncation_at_the_maximum_length_keeps_the_closing_special_token() {
    let v: Value = serde_json::from_str(&std::fs::read_to_string(fixture("truncated.json")).unwrap()).unwrap();
    let text = v["text"].as_str().unwrap();
    let ids = |k: &str| -> Vec<u32> {
        v[k].as_array()
            .unwrap()
            .iter()
            .map(|i| i.as_u64().unwrap() as u32)
            .collect()
    };
    for (kind, path, lower) in [
        ("wordpiece-cased", "wordpiece/vocab.txt", Some(false)),
        ("wordpiece-uncased", "wordpiece/tokenizer-uncased.json", None),
        ("clip", "clip/tokenizer.json", None),
    ] {
        let tok = TextTokenizer::from_file(&fixture(path), lower, Some(8)).unwrap();
        let e = tok.encode(text).unwrap();
        assert_eq!(e.ids.len(), 8, "{kind}");
        assert_eq!(e.ids, ids(kind), "{kind}");
    }
}

#[test]
fn a_vocab_txt_that_does_not_say_whether_it_is_cased_is_an_error() {
    let err = TextTokenizer::from_file(&fixture("wordpiece/vocab.txt"), None, Some(512))
        .err()
        .unwrap();
    assert!(err.contains("does not say whether it is cased"), "{err}");
    // With the tokenizer_config.json HF writes beside it, the file decides.
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(fixture("wordpiece/vocab.txt"), dir.path().join("vocab.txt")).unwrap();
    std::fs::write(dir.path().join("tokenizer_config.json"), r#"{"do_lower_case": true}"#).unwrap();
    let tok = TextTokenizer::from_file(&dir.path().join("vocab.txt"), None, Some(512)).unwrap();
    assert_eq!(tok.encode("Hello").unwrap().tokens, vec!["[CLS]", "hello", "[SEP]"]);
    let err = TextTokenizer::from_file(&fixture("texts.txt"), Some(true), Some(512))
        .err()
        .unwrap();
    assert!(err.contains("the vocabulary has no [CLS] token"), "{err}");
    let err = TextTokenizer::from_file(&fixture("expected.json"), None, Some(512))
        .err()
        .unwrap();
    assert!(err.contains("not a tokenizer.json or a vocab.json"), "{err}");
    let err = TextTokenizer::from_file(&fixture("nothing.json"), None, Some(512))
        .err()
        .unwrap();
    assert!(err.contains("cannot read") && err.contains("nothing.json"), "{err}");
}

#[test]
fn zoo_tokenize_writes_ids_and_tokens_and_truncates_clip_at_77_by_default() {
    let dir = tempfile::tempdir().unwrap();
    let long = "cat ".repeat(100);
    let lines = dir.path().join("texts.txt");
    std::fs::write(&lines, format!("{long}\nHello, World!\n")).unwrap();
    let out = dir.path().join("tokens.json");
    let o = common::zoo(&[
        "tokenize",
        "--tokenizer",
        fixture("clip/tokenizer.json").to_str().unwrap(),
        "--text",
        "a photo of a cat",
        "--text-file",
        lines.to_str().unwrap(),
        "--output",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", common::text(&o.stderr));
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let rows = v.as_array().unwrap();
    assert_eq!(rows.len(), 3);
    let (_, ids, tokens) = expected("clip")
        .into_iter()
        .find(|c| c.0 == "a photo of a cat")
        .unwrap();
    assert_eq!(rows[0]["text"], "a photo of a cat");
    assert_eq!(rows[0]["ids"], serde_json::json!(ids));
    assert_eq!(rows[0]["tokens"], serde_json::json!(tokens));
    // 100 words cut to CLIP's context of 77, <|endoftext|> kept last.
    let long_ids = rows[1]["ids"].as_array().unwrap();
    assert_eq!(long_ids.len(), 77);
    assert_eq!(long_ids[76], 913);
    assert_eq!(
        rows[2]["tokens"],
        serde_json::json!([
            "<|startoftext|>",
            "hello</w>",
            ",</w>",
            "world</w>",
            "!</w>",
            "<|endoftext|>"
        ])
    );
    // A vocab.txt without its casing is refused with the way out.
    let o = common::zoo(&[
        "tokenize",
        "--tokenizer",
        fixture("wordpiece/vocab.txt").to_str().unwrap(),
        "--text",
        "x",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(common::text(&o.stderr).contains("choose with --lowercase true|false"));
    let o = common::zoo(&[
        "tokenize",
        "--tokenizer",
        fixture("wordpiece/vocab.txt").to_str().unwrap(),
        "--lowercase",
        "true",
        "--text",
        "Hello, World!",
    ]);
    assert_eq!(o.status.code(), Some(0));
    assert!(common::text(&o.stdout).contains("tokens: [CLS] hello , world ! [SEP]"));
}
