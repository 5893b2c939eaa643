//! The plain tensor that crosses from the runtime to files and back: shape and float32 values.
//! It lives here, at the bottom of the data flow, so that the runtime can hand out parameters
//! without depending on the file formats that read and write them.

use burn::tensor::{Device, Tensor, TensorData};

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
