//! Helpers shared by the tests that run the `zoo` binary.
#![allow(dead_code)]

pub mod training_run;

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

/// The backend under test: flex, or the `--device` named by `ZOO_TEST_DEVICE` (`wgpu` in the GPU
/// job of `.ci/run`, `tch` through `scripts/parity-device.sh`).
pub fn device() -> burn::tensor::Device {
    device_of(&device_name())
}

/// The burn device of a `--device` name.
pub fn device_of(name: &str) -> burn::tensor::Device {
    let choice: zoo::cli::DeviceChoice = name.parse().unwrap_or_else(|e| panic!("device {name}: {e}"));
    zoo::cli::device(choice).unwrap_or_else(|e| panic!("device {name}: {e}"))
}

/// The `--device` name of [`device`].
pub fn device_name() -> String {
    std::env::var("ZOO_TEST_DEVICE").unwrap_or_else(|_| "flex".into())
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

/// CRC-32 (IEEE), as Python's `zlib.crc32`.
pub fn crc32(bytes: &[u8]) -> u32 {
    let mut c = !0u32;
    for b in bytes {
        c ^= *b as u32;
        for _ in 0..8 {
            c = if c & 1 != 0 { (c >> 1) ^ 0xEDB8_8320 } else { c >> 1 };
        }
    }
    !c
}

/// `synthetic` of `tests/reference/parity_fixtures.py`: the weights of the cases that store
/// none (conv/linear weights scaled by their fan-in, so the output depends on the input).
pub fn synthetic(name: &str, shape: &[usize]) -> Vec<f64> {
    let phase = (crc32(name.as_bytes()) % 10007) as f64 / 1000.0;
    let n: usize = shape.iter().product();
    let fan_in = if shape.is_empty() || shape[0] == 0 {
        1
    } else {
        n / shape[0]
    };
    // RT-DETR's box refinement starts at zero: its last layer stays small.
    let damp = if name.contains("bbox_head") && name.contains(".layers.2.") {
        0.1
    } else {
        1.0
    };
    (0..n)
        .map(|i| {
            let v = (i as f64 * 0.754_877_666_246_692_7 + phase).sin();
            if name.ends_with("attention_bias_idxs") {
                let k = *shape.last().unwrap() as f64;
                ((v + 1.0) / 2.0 * k).floor().clamp(0.0, k - 1.0)
            } else if name.ends_with("running_var") {
                0.75 + 0.25 * v
            } else if shape.len() == 1 && name.ends_with("weight") {
                1.0 + 0.2 * v
            } else if shape.len() >= 2 {
                damp * v * 2.0 / (fan_in as f64).sqrt()
            } else {
                damp * 0.2 * v
            }
        })
        .collect()
}

/// A parity case's weights: its `stored` file, or the synthetic weights written to `dir` (the
/// model's own computed buffers, such as positional tables, kept).
pub fn synthetic_weights(model: &zoo::TaskModel, stored: &Path, dir: &Path) -> PathBuf {
    if stored.exists() {
        return stored.to_path_buf();
    }
    let own = dir.join("own.safetensors");
    zoo::io::weights::save(model, &own).unwrap();
    let bytes = std::fs::read(&own).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let mut data: Vec<(String, safetensors::Dtype, Vec<usize>, Vec<u8>)> = Vec::new();
    for (name, view) in st.tensors() {
        let shape = view.shape().to_vec();
        let raw = if name.ends_with(".pe") {
            view.data().to_vec()
        } else {
            let v = synthetic(&name, &shape);
            match view.dtype() {
                safetensors::Dtype::F32 => v.iter().flat_map(|x| (*x as f32).to_le_bytes()).collect(),
                safetensors::Dtype::I64 => v.iter().flat_map(|x| (*x as i64).to_le_bytes()).collect(),
                safetensors::Dtype::I32 => v.iter().flat_map(|x| (*x as i32).to_le_bytes()).collect(),
                other => panic!("{name}: unexpected dtype {other:?}"),
            }
        };
        data.push((name, view.dtype(), shape, raw));
    }
    let path = dir.join("synthetic.safetensors");
    write_safetensors(&path, &data);
    path
}

/// Max |got - want| relative to max |want| (at least 1e-3): the parity measure.
pub fn max_relative_difference(got: &[f32], want: &[f32]) -> f32 {
    let scale = want.iter().fold(1e-3f32, |m, v| m.max(v.abs()));
    got.iter().zip(want).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max) / scale
}

/// A small image set: coloured squares with a gradient, one in a subfolder, plus a text file
/// (not an image) and a corrupt PNG (skipped with a warning).
pub fn image_set(dir: &std::path::Path) {
    std::fs::create_dir_all(dir.join("more")).unwrap();
    for (name, rgb) in [
        ("red.png", [220u8, 30, 30]),
        ("green.png", [30, 200, 40]),
        ("blue.jpg", [20, 40, 230]),
        ("more/yellow.png", [230, 220, 20]),
    ] {
        let img = image::RgbImage::from_fn(96, 64, |x, y| {
            image::Rgb([
                rgb[0].saturating_sub((x / 2) as u8),
                rgb[1].saturating_sub((y / 2) as u8),
                rgb[2],
            ])
        });
        img.save(dir.join(name)).unwrap();
    }
    std::fs::write(dir.join("notes.txt"), "not an image").unwrap();
    std::fs::write(dir.join("broken.png"), b"\x89PNG but not really").unwrap();
}

/// Every file below `dir`, sorted.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                files.push(p);
            }
        }
    }
    files.sort();
    files
}
