//! im2col: the patches of a convolution as the columns of a matrix, so that a convolution with
//! few input channels (a network's stem) becomes one matrix product. burn's CPU backend runs
//! such convolutions (three input channels) on a direct path at a few GFLOP/s.

use super::Window;
use rayon::prelude::*;

/// The patches of each image of `x` ([images, channels, h, w], contiguous) as a
/// [images, channels·kh·kw, oh·ow] matrix: row `(c, ky, kx)`, column `(oy, ox)`, zero where the
/// window reaches into the padding.
pub fn im2col(x: &[f32], images: usize, channels: usize, h: usize, w: usize, win: &Window) -> Option<Vec<f32>> {
    let [oh, ow] = win.output_size(h, w)?;
    if x.len() != images * channels * h * w {
        return None;
    }
    let ([kh, kw], [sh, sw], [ph, pw], [dh, dw]) = (win.kernel, win.stride, win.padding, win.dilation);
    let cols = oh * ow;
    let mut out = vec![0f32; images * channels * kh * kw * cols];
    if cols == 0 {
        return Some(out);
    }
    // One task per (image, row) of the matrix.
    out.par_chunks_mut(cols).enumerate().for_each(|(r, row)| {
        let (image, rem) = (r / (channels * kh * kw), r % (channels * kh * kw));
        let (c, k) = (rem / (kh * kw), rem % (kh * kw));
        let (ky, kx) = (k / kw, k % kw);
        let plane = &x[(image * channels + c) * h * w..][..h * w];
        for oy in 0..oh {
            let Some(iy) = (oy * sh + ky * dh).checked_sub(ph).filter(|&iy| iy < h) else {
                continue;
            };
            let input = &plane[iy * w..(iy + 1) * w];
            let dst = &mut row[oy * ow..(oy + 1) * ow];
            // Columns whose input x falls inside the row: ox·sw + kx·dw − pw ∈ [0, w).
            let first = (pw.saturating_sub(kx * dw)).div_ceil(sw);
            let end = ((w + pw).saturating_sub(kx * dw)).div_ceil(sw).min(ow);
            if sw == 1 {
                let start = first + kx * dw - pw;
                if first < end {
                    dst[first..end].copy_from_slice(&input[start..start + (end - first)]);
                }
            } else {
                for (ox, d) in dst.iter_mut().enumerate().take(end).skip(first) {
                    *d = input[ox * sw + kx * dw - pw];
                }
            }
        }
    });
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The convolution by definition, to check that `weight · im2col(x)` equals it.
    fn conv(x: &[f32], c: usize, h: usize, w: usize, weight: &[f32], co: usize, win: &Window) -> Vec<f32> {
        let [oh, ow] = win.output_size(h, w).unwrap();
        let [kh, kw] = win.kernel;
        let mut out = vec![0f32; co * oh * ow];
        for o in 0..co {
            for oy in 0..oh {
                for ox in 0..ow {
                    let mut s = 0f32;
                    for ci in 0..c {
                        for ky in 0..kh {
                            for kx in 0..kw {
                                let iy = (oy * win.stride[0] + ky * win.dilation[0]) as isize - win.padding[0] as isize;
                                let ix = (ox * win.stride[1] + kx * win.dilation[1]) as isize - win.padding[1] as isize;
                                if iy >= 0 && ix >= 0 && (iy as usize) < h && (ix as usize) < w {
                                    s += weight[((o * c + ci) * kh + ky) * kw + kx]
                                        * x[(ci * h + iy as usize) * w + ix as usize];
                                }
                            }
                        }
                    }
                    out[(o * oh + oy) * ow + ox] = s;
                }
            }
        }
        out
    }

    #[test]
    fn weight_times_patches_is_the_convolution() {
        let (images, c, h, w, co) = (2, 3, 13, 11, 4);
        let x: Vec<f32> = (0..images * c * h * w).map(|i| ((i * 31) % 17) as f32 - 8.0).collect();
        for win in [
            Window {
                kernel: [3, 3],
                stride: [2, 2],
                padding: [1, 1],
                dilation: [1, 1],
            },
            Window {
                kernel: [7, 7],
                stride: [2, 2],
                padding: [3, 3],
                dilation: [1, 1],
            },
            Window {
                kernel: [3, 2],
                stride: [1, 3],
                padding: [0, 2],
                dilation: [2, 1],
            },
            Window {
                kernel: [1, 1],
                stride: [1, 1],
                padding: [0, 0],
                dilation: [1, 1],
            },
        ] {
            let k = c * win.kernel[0] * win.kernel[1];
            let weight: Vec<f32> = (0..co * k).map(|i| ((i * 7) % 5) as f32 - 2.0).collect();
            let [oh, ow] = win.output_size(h, w).unwrap();
            let cols = im2col(&x, images, c, h, w, &win).unwrap();
            for i in 0..images {
                let patches = &cols[i * k * oh * ow..(i + 1) * k * oh * ow];
                let mut got = vec![0f32; co * oh * ow];
                for o in 0..co {
                    for r in 0..k {
                        for j in 0..oh * ow {
                            got[o * oh * ow + j] += weight[o * k + r] * patches[r * oh * ow + j];
                        }
                    }
                }
                let want = conv(&x[i * c * h * w..(i + 1) * c * h * w], c, h, w, &weight, co, &win);
                assert_eq!(got, want, "{win:?}, image {i}");
            }
        }
        let too_big = Window {
            kernel: [15, 3],
            stride: [1, 1],
            padding: [0, 0],
            dilation: [1, 1],
        };
        assert_eq!(im2col(&x, images, c, h, w, &too_big), None);
    }
}
