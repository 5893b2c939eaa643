//! Turning raw predictions into answers: segmentation masks (NetsPresso's
//! SegmentationPostprocessor: bilinear upsampling of the logits to the original image size,
//! then the arg-max class of every pixel).

use burn::tensor::Tensor;
use std::path::{Path, PathBuf};

/// The class index of every pixel of one image, row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct Mask {
    pub height: usize,
    pub width: usize,
    pub labels: Vec<u32>,
}

impl Mask {
    /// How many pixels each class has, most frequent first (ties by class index).
    pub fn histogram(&self) -> Vec<(u32, usize)> {
        let mut counts = std::collections::BTreeMap::new();
        for l in &self.labels {
            *counts.entry(*l).or_insert(0usize) += 1;
        }
        let mut out: Vec<(u32, usize)> = counts.into_iter().collect();
        out.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        out
    }
}

/// Upsamples `[batch, classes, h, w]` logits to `size` (bilinear, `align_corners=False`) and
/// takes the arg-max over classes (the first maximum on ties, as PyTorch's CPU `max`).
pub fn segmentation_masks(pred: Tensor<4>, size: [usize; 2]) -> Result<Vec<Mask>, String> {
    let up = crate::rt::interpolate_to(pred, size);
    let [batch, classes, height, width] = up.dims();
    let values = up.into_data().try_to_vec::<f32>().map_err(|e| format!("{e:?}"))?;
    let plane = height * width;
    let mut masks = Vec::with_capacity(batch);
    for b in 0..batch {
        let logits = &values[b * classes * plane..(b + 1) * classes * plane];
        let labels = (0..plane)
            .map(|p| {
                let mut best = 0;
                for c in 1..classes {
                    if logits[c * plane + p] > logits[best * plane + p] {
                        best = c;
                    }
                }
                best as u32
            })
            .collect();
        masks.push(Mask { height, width, labels });
    }
    Ok(masks)
}

/// Writes a mask as a grayscale PNG whose pixel values are class indices (8-bit up to 256
/// classes, else 16-bit).
pub fn write_mask_png(mask: &Mask, classes: usize, path: &Path) -> Result<(), String> {
    let (w, h) = (mask.width as u32, mask.height as u32);
    let written = if classes <= 256 {
        let px: Vec<u8> = mask.labels.iter().map(|l| *l as u8).collect();
        image::GrayImage::from_raw(w, h, px).map(|img| img.save(path))
    } else {
        let px: Vec<u16> = mask.labels.iter().map(|l| *l as u16).collect();
        image::ImageBuffer::<image::Luma<u16>, _>::from_raw(w, h, px).map(|img| img.save(path))
    };
    match written {
        Some(Ok(())) => Ok(()),
        Some(Err(e)) => Err(format!("cannot write {}: {e}", path.display())),
        None => Err("mask size does not match its pixels".into()),
    }
}

/// The file of image `i` of `n`: the path itself for one image, `stem_i.ext` for several.
pub fn numbered(path: &Path, i: usize, n: usize) -> PathBuf {
    if n == 1 {
        return path.to_path_buf();
    }
    let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("mask");
    let ext = path.extension().and_then(|s| s.to_str()).unwrap_or("png");
    path.with_file_name(format!("{stem}_{i}.{ext}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Device, TensorData};

    #[test]
    fn argmax_after_upsampling() {
        // Two classes on a 1x2 map: class 1 wins on the left, class 0 on the right.
        let d = Device::flex();
        let pred = Tensor::<4>::from_data(TensorData::new(vec![0.0f32, 1.0, 1.0, 0.0], [1, 2, 1, 2]), &d);
        let masks = segmentation_masks(pred, [2, 4]).unwrap();
        assert_eq!(masks.len(), 1);
        assert_eq!((masks[0].height, masks[0].width), (2, 4));
        // Bilinear (align_corners=False) keeps the outer columns; the middle two are 0.25/0.75 mixes.
        assert_eq!(masks[0].labels, [1, 1, 0, 0, 1, 1, 0, 0]);
        assert_eq!(masks[0].histogram(), [(0, 4), (1, 4)]);
    }

    #[test]
    fn numbered_files_for_batches() {
        assert_eq!(numbered(Path::new("out/m.png"), 0, 1), Path::new("out/m.png"));
        assert_eq!(numbered(Path::new("out/m.png"), 1, 3), Path::new("out/m_1.png"));
    }
}
