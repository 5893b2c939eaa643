//! Tokenisers against the Hugging Face fast tokenisers' ids (tests/fixtures/tokenizers, from
//! tests/reference/tokenizer_fixtures.py): cased and uncased WordPiece and CLIP's byte-level
//! BPE, each from its tokenizer.json and from its vocabulary files.

mod common;

use common::root;
use serde_json::Value;
use zoo::tokenize::TextTokenizer;

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
        assert_matches(&TextTokenizer::from_file(&fixture(file), None, 512).unwrap(), kind);
        let from_vocab = TextTokenizer::from_file(&fixture("wordpiece/vocab.txt"), Some(lower), 512).unwrap();
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
    let json = TextTokenizer::from_file(&fixture("clip/tokenizer.json"), None, 512).unwrap();
    assert_matches(&json, "clip");
    let files = TextTokenizer::from_file(&fixture("clip/vocab.json"), None, 512).unwrap();
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
        let tok = TextTokenizer::from_file(&fixture(path), lower, 8).unwrap();
        let e = tok.encode(text).unwrap();
        assert_eq!(e.ids.len(), 8, "{kind}");
        assert_eq!(e.ids, ids(kind), "{kind}");
    }
}

#[test]
fn a_vocab_txt_that_does_not_say_whether_it_is_cased_is_an_error() {
    let err = TextTokenizer::from_file(&fixture("wordpiece/vocab.txt"), None, 512)
        .err()
        .unwrap();
    assert!(err.contains("does not say whether it is cased"), "{err}");
    // With the tokenizer_config.json HF writes beside it, the file decides.
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(fixture("wordpiece/vocab.txt"), dir.path().join("vocab.txt")).unwrap();
    std::fs::write(dir.path().join("tokenizer_config.json"), r#"{"do_lower_case": true}"#).unwrap();
    let tok = TextTokenizer::from_file(&dir.path().join("vocab.txt"), None, 512).unwrap();
    assert_eq!(tok.encode("Hello").unwrap().tokens, vec!["[CLS]", "hello", "[SEP]"]);
    let err = TextTokenizer::from_file(&fixture("texts.txt"), Some(true), 512)
        .err()
        .unwrap();
    assert!(err.contains("the vocabulary has no [CLS] token"), "{err}");
    let err = TextTokenizer::from_file(&fixture("expected.json"), None, 512)
        .err()
        .unwrap();
    assert!(err.contains("not a tokenizer.json or a vocab.json"), "{err}");
    let err = TextTokenizer::from_file(&fixture("nothing.json"), None, 512)
        .err()
        .unwrap();
    assert!(err.contains("cannot read") && err.contains("nothing.json"), "{err}");
}
