//! Helpers shared by the tests that run the `zoo` binary.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Runs `zoo` with `args`, without colours.
pub fn zoo(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_zoo"))
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("run zoo")
}

/// A path inside the repository.
pub fn root(p: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(p)
}

pub fn text(o: &[u8]) -> String {
    String::from_utf8_lossy(o).into_owned()
}

/// Writes `(name, dtype, shape, little-endian bytes)` tensors as a `.safetensors` file.
pub fn write_safetensors(path: &Path, tensors: &[(String, safetensors::Dtype, Vec<usize>, Vec<u8>)]) {
    let views: Vec<(String, safetensors::tensor::TensorView)> = tensors
        .iter()
        .map(|(n, d, s, b)| {
            (
                n.clone(),
                safetensors::tensor::TensorView::new(*d, s.clone(), b).unwrap(),
            )
        })
        .collect();
    safetensors::serialize_to_file(views, None, path).unwrap();
}

/// A zero-filled `.safetensors` file in `dir` with exactly the keys and shapes of a reference
/// facts file (`tests/fixtures/reference/<facts>`; first line: header). BatchNorm's
/// `num_batches_tracked` and index tables are int64, as in PyTorch.
pub fn state_dict_from_facts(facts: &str, dir: &Path) -> PathBuf {
    let facts = std::fs::read_to_string(root("tests/fixtures/reference").join(facts)).unwrap();
    let tensors: Vec<(String, safetensors::Dtype, Vec<usize>, Vec<u8>)> = facts
        .lines()
        .skip(1)
        .map(|line| {
            let (k, shape) = line.split_once(' ').unwrap();
            let shape: Vec<usize> = serde_json::from_str(shape).unwrap();
            let n: usize = shape.iter().product::<usize>().max(1);
            if k.ends_with("num_batches_tracked") || k.ends_with("attention_bias_idxs") {
                (k.into(), safetensors::Dtype::I64, shape, vec![0u8; 8 * n])
            } else {
                (k.into(), safetensors::Dtype::F32, shape, vec![0u8; 4 * n])
            }
        })
        .collect();
    let path = dir.join("state.safetensors");
    write_safetensors(&path, &tensors);
    path
}
