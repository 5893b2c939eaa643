//! Fuzzing of every input reader: configs (all six kinds), specs, `.safetensors`, PyTorch
//! pickles, `.npy`, images and tokenizer files. Each target mutates real seed files with
//! proptest strategies (byte flips, lying lengths, extreme numbers, deleted and duplicated
//! lines, truncation, …) and asserts the reader returns — an error or a value — instead of
//! panicking, for a bounded time: `ZOO_FUZZ_SECONDS` per target (default 6; the README's
//! long run sets 3600) from `ZOO_FUZZ_SEED` (default 0, so CI is reproducible).
//!
//! A failing input is shrunk by proptest and saved under `tests/fuzz-regressions/<target>/`;
//! every saved input is replayed first on each run, so a fixed crash stays fixed.

use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestRng, TestRunner};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

fn root(p: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(p)
}

/// One edit of a seed file.
#[derive(Debug, Clone)]
enum Mutation {
    /// Overwrites the byte at a position (a fraction of the length) with a value.
    SetByte(f64, u8),
    /// Overwrites 8 bytes with a little-endian integer (lengths and offsets that lie).
    SetU64(f64, u64),
    Insert(f64, Vec<u8>),
    Delete(f64, usize),
    Truncate(f64),
    /// Copies a span elsewhere (repeated keys, duplicated lines).
    Duplicate(f64, usize, f64),
    /// Replaces the k-th number in the text with an extreme value.
    Number(usize, String),
    /// Deletes, duplicates or re-indents a line.
    Line(usize, LineEdit),
}

#[derive(Debug, Clone)]
enum LineEdit {
    Delete,
    Duplicate,
    Indent(usize),
    Dedent,
}

fn at(len: usize, f: f64) -> usize {
    ((len as f64 * f) as usize).min(len)
}

const EXTREMES: &[&str] = &[
    "0",
    "-1",
    "1",
    "2",
    "7.0",
    "-0.0",
    "65536",
    "2147483648",
    "4294967296",
    "9223372036854775807",
    "-9223372036854775808",
    "18446744073709551616",
    "1e308",
    "1e-308",
    "nan",
    ".inf",
    "~",
    "[]",
    "{}",
    "''",
    "[[65536]]",
    "*a",
    "&a [1, 2]",
];

fn mutation() -> impl Strategy<Value = Mutation> {
    let frac = 0.0f64..1.0;
    prop_oneof![
        (
            frac.clone(),
            prop_oneof![Just(0u8), Just(0xff), Just(0x7f), Just(0x80), any::<u8>()]
        )
            .prop_map(|(p, b)| Mutation::SetByte(p, b)),
        (
            frac.clone(),
            prop_oneof![
                Just(0u64),
                Just(1),
                Just(u32::MAX as u64),
                Just(u64::MAX),
                Just(1 << 40),
                any::<u64>()
            ]
        )
            .prop_map(|(p, v)| Mutation::SetU64(p, v)),
        (frac.clone(), proptest::collection::vec(any::<u8>(), 1..16)).prop_map(|(p, b)| Mutation::Insert(p, b)),
        (frac.clone(), 1usize..64).prop_map(|(p, n)| Mutation::Delete(p, n)),
        frac.clone().prop_map(Mutation::Truncate),
        (frac.clone(), 1usize..256, frac.clone()).prop_map(|(p, n, q)| Mutation::Duplicate(p, n, q)),
        (0usize..200, proptest::sample::select(EXTREMES)).prop_map(|(k, v)| Mutation::Number(k, v.to_string())),
        (
            0usize..400,
            prop_oneof![
                Just(LineEdit::Delete),
                Just(LineEdit::Duplicate),
                (1usize..5).prop_map(LineEdit::Indent),
                Just(LineEdit::Dedent)
            ]
        )
            .prop_map(|(k, e)| Mutation::Line(k, e)),
    ]
}

fn apply(seed: &[u8], edits: &[Mutation]) -> Vec<u8> {
    let mut b = seed.to_vec();
    for m in edits {
        let len = b.len();
        match m {
            Mutation::SetByte(p, v) => {
                if len > 0 {
                    let i = at(len - 1, *p);
                    b[i] = *v;
                }
            }
            Mutation::SetU64(p, v) => {
                if len >= 8 {
                    let i = at(len - 8, *p);
                    b[i..i + 8].copy_from_slice(&v.to_le_bytes());
                }
            }
            Mutation::Insert(p, bytes) => {
                let i = at(len, *p);
                b.splice(i..i, bytes.iter().copied());
            }
            Mutation::Delete(p, n) => {
                let i = at(len, *p);
                b.drain(i..(i + n).min(len));
            }
            Mutation::Truncate(p) => b.truncate(at(len, *p)),
            Mutation::Duplicate(p, n, q) => {
                let i = at(len, *p);
                let span = b[i..(i + n).min(len)].to_vec();
                let j = at(len, *q);
                b.splice(j..j, span);
            }
            Mutation::Number(k, v) => {
                let text = String::from_utf8_lossy(&b).into_owned();
                let numbers: Vec<(usize, usize)> = number_spans(&text);
                if !numbers.is_empty() {
                    let (s, e) = numbers[k % numbers.len()];
                    b = format!("{}{v}{}", &text[..s], &text[e..]).into_bytes();
                }
            }
            Mutation::Line(k, edit) => {
                let text = String::from_utf8_lossy(&b).into_owned();
                let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
                if lines.is_empty() {
                    continue;
                }
                let i = k % lines.len();
                match edit {
                    LineEdit::Delete => {
                        lines.remove(i);
                    }
                    LineEdit::Duplicate => lines.insert(i, lines[i].clone()),
                    LineEdit::Indent(n) => lines[i] = format!("{}{}", " ".repeat(*n), lines[i]),
                    LineEdit::Dedent => lines[i] = lines[i].trim_start().to_string(),
                }
                b = lines.join("\n").into_bytes();
            }
        }
    }
    b
}

/// Byte spans of the decimal numbers in a text.
fn number_spans(text: &str) -> Vec<(usize, usize)> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i].is_ascii_digit() && (i == 0 || !bytes[i - 1].is_ascii_alphanumeric()) {
            let s = i;
            while i < bytes.len() && (bytes[i].is_ascii_digit() || bytes[i] == b'.') {
                i += 1;
            }
            out.push((s, i));
        } else {
            i += 1;
        }
    }
    out
}

fn budget() -> Duration {
    let secs = std::env::var("ZOO_FUZZ_SECONDS")
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
        .unwrap_or(6.0);
    Duration::from_secs_f64(secs)
}

fn base_seed() -> u64 {
    std::env::var("ZOO_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

/// One reader's inputs must not take longer than this (a hang is a failure too); generous,
/// as the long run shares two cores among seven targets.
const CASE_LIMIT: Duration = Duration::from_secs(20);

/// Replays the saved regressions of `target`, then fuzzes it for the time budget. `read` gets
/// the mutated bytes and must return; a panic or a case slower than `CASE_LIMIT` fails.
fn fuzz(target: &str, seeds: &[PathBuf], read: impl Fn(&[u8])) {
    assert!(!seeds.is_empty(), "{target}: no seed files");
    let seeds: Vec<Vec<u8>> = seeds
        .iter()
        .map(|p| std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display())))
        .collect();
    let regressions = root("tests/fuzz-regressions").join(target);
    if let Ok(dir) = std::fs::read_dir(&regressions) {
        let mut files: Vec<PathBuf> = dir.filter_map(|e| e.ok()).map(|e| e.path()).collect();
        files.sort();
        for f in files {
            read(&std::fs::read(&f).unwrap());
        }
    }
    let strategy = (0..seeds.len(), proptest::collection::vec(mutation(), 1..6));
    let start = Instant::now();
    let mut round = 0u64;
    let mut cases = 0u64;
    while start.elapsed() < budget() || round == 0 {
        let mut key = [0u8; 32];
        key[..8].copy_from_slice(&base_seed().to_le_bytes());
        key[8..16].copy_from_slice(&round.to_le_bytes());
        key[16..16 + target.len().min(16)].copy_from_slice(&target.as_bytes()[..target.len().min(16)]);
        let config = Config {
            cases: 16,
            failure_persistence: None,
            ..Config::default()
        };
        let mut runner = TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &key));
        let result = runner.run(&strategy, |(k, edits)| {
            let input = apply(&seeds[k], &edits);
            let t = Instant::now();
            read(&input);
            if t.elapsed() > CASE_LIMIT {
                return Err(TestCaseError::fail(format!("took {:.1?}", t.elapsed())));
            }
            Ok(())
        });
        if let Err(e) = result {
            let shrunk = match &e {
                proptest::test_runner::TestError::Fail(_, (k, edits)) => Some(apply(&seeds[*k], edits)),
                _ => None,
            };
            if let Some(input) = shrunk {
                std::fs::create_dir_all(&regressions).unwrap();
                let name = format!("{:016x}", fnv(&input));
                std::fs::write(regressions.join(&name), &input).unwrap();
                panic!(
                    "{target}: {e}\nthe input is saved as tests/fuzz-regressions/{target}/{name}; it is replayed on every run"
                );
            }
            panic!("{target}: {e}");
        }
        round += 1;
        cases += 16;
    }
    eprintln!("{target}: {cases} inputs in {:.1?}, none failed", start.elapsed());
}

fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf29ce484222325u64, |h, b| {
        (h ^ *b as u64).wrapping_mul(0x100000001b3)
    })
}

fn files(dir: &str, ext: &[&str]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root(dir)];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if ext.iter().any(|x| p.to_string_lossy().ends_with(x)) {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// Writes fuzzed bytes to a file named like the real thing (readers go by extension).
fn as_file(dir: &tempfile::TempDir, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.path().join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

#[test]
fn fuzz_configs_of_all_six_kinds() {
    // Small limit: a fuzzed size that fits would otherwise be built in full by the checks.
    zoo::config::limits::set_max_memory(Some(256 << 20));
    let mut seeds = files("configs", &[".yaml"]);
    seeds.extend(files("tests/fixtures/netspresso-configs", &[".yaml"]));
    seeds.extend(files("tests/broken", &[".yaml"]));
    fuzz("config", &seeds, |bytes| {
        let text = String::from_utf8_lossy(bytes);
        let v = zoo::config::check_any_text(&text);
        for d in &v.diagnostics {
            assert!(!d.message.is_empty());
        }
    });
}

#[test]
fn fuzz_specs() {
    let blocks: Vec<zoo_spec::diag::Src> = files("zoo/blocks", &[".yaml"])
        .iter()
        .map(|p| zoo_spec::diag::Src::new(p.display().to_string(), std::fs::read_to_string(p).unwrap()))
        .collect();
    let seeds: Vec<PathBuf> = ["backbones", "necks", "heads", "full"]
        .iter()
        .flat_map(|d| files(&format!("zoo/{d}"), &[".yaml"]))
        .chain(files("zoo/blocks", &[".yaml"]))
        .collect();
    fuzz("spec", &seeds, |bytes| {
        let mut sources = blocks.clone();
        sources.push(zoo_spec::diag::Src::new(
            "fuzzed.yaml",
            String::from_utf8_lossy(bytes).into_owned(),
        ));
        let _ = zoo_spec::compile_sources(&sources);
    });
}

fn weights_target(ext: &'static str) -> impl Fn(&[u8]) {
    let text = std::fs::read_to_string(root("tests/fixtures/parity/resnet_basic.yaml")).unwrap();
    let cfg = zoo::config::check_text(&text).config.expect("fixture config");
    let model = std::cell::RefCell::new(zoo::model::build(&cfg, 7, &burn::tensor::Device::flex()).unwrap());
    let dir = tempfile::tempdir().unwrap();
    move |bytes| {
        let p = as_file(&dir, &format!("model.{ext}"), bytes);
        let opts = zoo::io::weights::LoadOptions {
            load_head: true,
            remap: Vec::new(),
        };
        let _ = zoo::io::weights::load(&mut model.borrow_mut(), &p, &opts);
        let _ = zoo::io::hub::checkpoint_keys(&p);
        if ext == "safetensors" {
            let _ = zoo::io::tensor_files::read_safetensors(&p, "input");
            let _ = zoo::io::tensor_files::read_tensor_file(&p);
        }
    }
}

#[test]
fn fuzz_safetensors() {
    let mut seeds = files(
        "tests/fixtures/parity",
        &["resnet_basic.safetensors", "resnet_seg.safetensors"],
    );
    seeds.extend(files("tests/fixtures/parity", &["resnet_basic.io.safetensors"]));
    fuzz("safetensors", &seeds, weights_target("safetensors"));
}

#[test]
fn fuzz_pytorch_pickles() {
    let seeds = files("tests/fixtures/parity", &[".pt", ".pth"]);
    fuzz("pickle", &seeds, weights_target("pth"));
}

#[test]
fn fuzz_npy() {
    let dir = tempfile::tempdir().unwrap();
    let floats = dir.path().join("floats.npy");
    let ints = dir.path().join("ints.npy");
    let t = zoo::rt::RawTensor {
        shape: vec![2, 3],
        values: vec![0.5, -1.0, 2.0, 3.5, 1e-3, 7.0],
    };
    zoo::io::tensor_files::write_npy(&floats, &t).unwrap();
    zoo::io::tensor_files::write_npy_ints(&ints, &[3], &[101, 2023, 102]).unwrap();
    let work = tempfile::tempdir().unwrap();
    fuzz("npy", &[floats, ints], |bytes| {
        let p = as_file(&work, "input.npy", bytes);
        let _ = zoo::io::tensor_files::read_npy(&p);
        let _ = zoo::io::tensor_files::read_npy_ints(&p);
        let _ = zoo::io::tensor_files::npy_is_integer(&p);
    });
}

#[test]
fn fuzz_images() {
    let seeds = files("tests/fixtures/images", &[".jpg", ".png"]);
    let pipeline = zoo::preprocess::image::Pipeline::for_task("classification", Some([64, 64]));
    let work = tempfile::tempdir().unwrap();
    fuzz("image", &seeds, |bytes| {
        // Decoders go by content; both names are tried so the extension cannot hide a case.
        for name in ["input.png", "input.jpg"] {
            let p = as_file(&work, name, bytes);
            let _ = pipeline.load(&p);
        }
    });
}

#[test]
fn fuzz_tokenizer_files() {
    let seeds = files("tests/fixtures/tokenizers", &[".json", ".txt"]);
    let work = tempfile::tempdir().unwrap();
    fuzz("tokenizer", &seeds, |bytes| {
        for name in ["tokenizer.json", "vocab.txt", "vocab.json"] {
            let p = as_file(&work, name, bytes);
            if let Ok(t) = zoo::preprocess::text::TextTokenizer::from_file(&p, Some(true), Some(16)) {
                let _ = t.encode("Hello, wörld! 12 tokens");
            }
        }
    });
}
