//! Reading and writing plain tensors (model inputs and outputs) as `.safetensors` and `.npy`.

use crate::rt::RawTensor;
use std::path::Path;

/// Reads the named float32 tensor of a `.safetensors` file.
pub fn read_safetensors(path: &Path, name: &str) -> Result<RawTensor, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let st = safetensors::SafeTensors::deserialize(&bytes)
        .map_err(|e| format!("{} is not a valid .safetensors file: {e}", path.display()))?;
    let names: Vec<String> = st.names().into_iter().map(String::from).collect();
    let view = st.tensor(name).map_err(|_| {
        format!(
            "{} has no tensor `{name}` (it has: {})",
            path.display(),
            names.join(", ")
        )
    })?;
    if view.dtype() != safetensors::Dtype::F32 {
        return Err(format!(
            "tensor `{name}` of {} is {:?}, expected F32",
            path.display(),
            view.dtype()
        ));
    }
    let values = view
        .data()
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    Ok(RawTensor {
        shape: view.shape().to_vec(),
        values,
    })
}

/// A `.npy` file's dtype descriptor (`<f4`, `<i8`, ...), shape and data bytes.
struct Npy {
    descr: String,
    shape: Vec<usize>,
    data: Vec<u8>,
}

fn npy_parts(path: &Path) -> Result<Npy, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let bad = |m: &str| format!("{} is not a supported .npy file: {m}", path.display());
    if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" {
        return Err(bad("missing the NUMPY magic"));
    }
    let (header_len, start) = match bytes[6] {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        2 | 3 if bytes.len() >= 12 => (
            u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
            12,
        ),
        _ => return Err(bad("unknown version")),
    };
    let header = bytes
        .get(start..start + header_len)
        .ok_or_else(|| bad("truncated header"))?;
    let header = std::str::from_utf8(header).map_err(|_| bad("header is not text"))?;
    let field = |name: &str| -> Option<&str> {
        let at = header.find(&format!("'{name}'"))?;
        Some(
            header[at + name.len() + 2..]
                .trim_start()
                .trim_start_matches(':')
                .trim_start(),
        )
    };
    let descr = field("descr").ok_or_else(|| bad("no descr"))?;
    let descr = descr
        .strip_prefix('\'')
        .and_then(|d| d.split('\'').next())
        .ok_or_else(|| bad("bad descr"))?
        .to_string();
    if field("fortran_order").is_some_and(|f| f.starts_with("True")) {
        return Err(bad("Fortran order"));
    }
    let shape_text = field("shape").ok_or_else(|| bad("no shape"))?;
    let inner = shape_text.trim_start_matches('(');
    let inner = &inner[..inner.find(')').ok_or_else(|| bad("bad shape"))?];
    let shape: Vec<usize> = inner
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().map_err(|_| bad("bad shape")))
        .collect::<Result<_, _>>()?;
    let width = match descr.as_str() {
        "<f4" | "<i4" => 4,
        "<f8" | "<i8" => 8,
        "|b1" | "|u1" | "|i1" => 1,
        other => {
            return Err(bad(&format!(
                "dtype {other} (expected little-endian floats or integers)"
            )));
        }
    };
    let n = shape
        .iter()
        .try_fold(1usize, |a, d| a.checked_mul(*d))
        .ok_or_else(|| bad("shape overflows"))?;
    let data = bytes[start + header_len..].to_vec();
    if Some(data.len()) != n.checked_mul(width) {
        return Err(bad(&format!("{} data bytes for shape {shape:?}", data.len())));
    }
    Ok(Npy { descr, shape, data })
}

/// Reads a little-endian float32 (or float64, converted) C-order `.npy` array.
pub fn read_npy(path: &Path) -> Result<RawTensor, String> {
    let npy = npy_parts(path)?;
    let values = match npy.descr.as_str() {
        "<f4" => npy
            .data
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect(),
        "<f8" => npy
            .data
            .chunks_exact(8)
            .map(|c| f64::from_le_bytes(c.try_into().unwrap()) as f32)
            .collect(),
        other => {
            return Err(format!(
                "{} is not a supported .npy file: dtype {other} (expected little-endian float32 or float64)",
                path.display()
            ));
        }
    };
    Ok(RawTensor {
        shape: npy.shape,
        values,
    })
}

/// Whether a `.npy` file holds integers (token ids) rather than floats.
pub fn npy_is_integer(path: &Path) -> Result<bool, String> {
    Ok(matches!(
        npy_parts(path)?.descr.as_str(),
        "<i8" | "<i4" | "|u1" | "|i1" | "|b1"
    ))
}

/// Reads an integer (int64, int32, uint8, bool) `.npy` array as i64; float files are refused.
pub fn read_npy_ints(path: &Path) -> Result<(Vec<usize>, Vec<i64>), String> {
    let npy = npy_parts(path)?;
    let values: Vec<i64> = match npy.descr.as_str() {
        "<i8" => npy
            .data
            .chunks_exact(8)
            .map(|c| i64::from_le_bytes(c.try_into().unwrap()))
            .collect(),
        "<i4" => npy
            .data
            .chunks_exact(4)
            .map(|c| i32::from_le_bytes(c.try_into().unwrap()) as i64)
            .collect(),
        "|u1" | "|b1" => npy.data.iter().map(|b| *b as i64).collect(),
        "|i1" => npy.data.iter().map(|b| *b as i8 as i64).collect(),
        other => {
            return Err(format!(
                "{}: dtype {other}; token ids and masks are integer arrays (int64 as numpy writes them)",
                path.display()
            ));
        }
    };
    Ok((npy.shape, values))
}

/// Writes an int64 `.npy` array.
pub fn write_npy_ints(path: &Path, shape: &[usize], values: &[i64]) -> std::io::Result<()> {
    let data: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    std::fs::write(path, npy_bytes("<i8", shape, &data))
}

/// Writes a float32 `.npy` array.
pub fn write_npy(path: &Path, t: &RawTensor) -> std::io::Result<()> {
    let data: Vec<u8> = t.values.iter().flat_map(|v| v.to_le_bytes()).collect();
    std::fs::write(path, npy_bytes("<f4", &t.shape, &data))
}

/// A version-1 `.npy` file: header (padded to 64 bytes) and little-endian data.
fn npy_bytes(descr: &str, shape: &[usize], data: &[u8]) -> Vec<u8> {
    let shape = match shape {
        [n] => format!("({n},)"),
        dims => format!(
            "({})",
            dims.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(", ")
        ),
    };
    let mut header = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(data);
    out
}

/// Writes float32 tensors as a `.safetensors` file.
pub fn write_safetensors(path: &Path, tensors: &[(&str, &RawTensor)]) -> Result<(), String> {
    let bytes: Vec<Vec<u8>> = tensors
        .iter()
        .map(|(_, t)| t.values.iter().flat_map(|v| v.to_le_bytes()).collect())
        .collect();
    let views: Vec<(String, safetensors::tensor::TensorView)> = tensors
        .iter()
        .zip(&bytes)
        .map(|((n, t), b)| {
            safetensors::tensor::TensorView::new(safetensors::Dtype::F32, t.shape.clone(), b)
                .map(|v| (n.to_string(), v))
        })
        .collect::<Result<_, _>>()
        .map_err(|e| e.to_string())?;
    safetensors::serialize_to_file(views, None, path).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// Reads a tensor file: `.npy`, or `.safetensors` (the tensor `input`, or the only one).
pub fn read_tensor_file(path: &Path) -> Result<RawTensor, String> {
    match path.extension().and_then(|e| e.to_str()) {
        Some("npy") => read_npy(path),
        Some("safetensors") => {
            let bytes = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            let st = safetensors::SafeTensors::deserialize(&bytes)
                .map_err(|e| format!("{} is not a valid .safetensors file: {e}", path.display()))?;
            let names = st.names();
            let name = if names.contains(&"input") {
                "input".to_string()
            } else if names.len() == 1 {
                names[0].to_string()
            } else {
                return Err(format!(
                    "{} holds several tensors and none is named `input`",
                    path.display()
                ));
            };
            read_safetensors(path, &name)
        }
        _ => Err(format!("{}: expected a .npy or .safetensors tensor", path.display())),
    }
}
