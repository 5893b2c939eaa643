//! Inputs made ready for a model: images resized, cropped and normalised as NetsPresso's
//! inference augmentation does ([`image`]), and texts tokenised as Finetuner's embedding models
//! expect ([`text`]).

pub mod image;
pub mod text;
