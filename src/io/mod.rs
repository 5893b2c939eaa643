//! Files in and out of a built model: plain tensors (`.npy`, `.safetensors`), weights and
//! checkpoints (safetensors, PyTorch pickles, hub layouts) and pretrained downloads.

pub mod download;
pub mod hub;
pub mod tensor_files;
pub mod weights;
