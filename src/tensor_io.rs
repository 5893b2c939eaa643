//! Reading and writing plain tensors (model inputs and outputs) as `.safetensors` and `.npy`.

use burn::tensor::{Device, Tensor, TensorData};
use std::path::Path;

/// A float32 tensor as raw data: shape and values.
#[derive(Debug, Clone, PartialEq)]
pub struct RawTensor {
    pub shape: Vec<usize>,
    pub values: Vec<f32>,
}

impl RawTensor {
    pub fn to_tensor<const D: usize>(&self, device: &Device) -> Result<Tensor<D>, String> {
        if self.shape.len() != D {
            return Err(format!("expected a tensor of rank {D}, found shape {:?}", self.shape));
        }
        Ok(Tensor::from_data(
            TensorData::new(self.values.clone(), self.shape.clone()),
            device,
        ))
    }

    pub fn from_tensor<const D: usize>(t: Tensor<D>) -> Result<Self, String> {
        let shape = t.dims().to_vec();
        let values = t.into_data().try_to_vec::<f32>().map_err(|e| format!("{e:?}"))?;
        Ok(RawTensor { shape, values })
    }
}

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
