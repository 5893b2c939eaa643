//! Depth-wise 2-D convolution (one filter per channel, `groups == channels`), the bulk of
//! MobileNet-style networks. It runs channels-last, as oneDNN does: every kernel tap is then a
//! multiply-add over a contiguous vector of channels, however small the feature map (burn's
//! per-plane kernel spends its time on loop overhead for 7×7 and 14×14 maps).

use super::{Isa, Window, isa};
use rayon::prelude::*;

/// `x` [images, channels, h, w] convolved per channel with `weight` [channels, kh, kw] (plus
/// `bias` [channels]); `None` when the shapes disagree or the kernel does not fit.
pub fn depthwise_conv2d(
    x: &[f32],
    images: usize,
    channels: usize,
    [h, w]: [usize; 2],
    weight: &[f32],
    bias: Option<&[f32]>,
    win: &Window,
) -> Option<Vec<f32>> {
    let [oh, ow] = win.output_size(h, w)?;
    let taps = win.kernel[0] * win.kernel[1];
    if x.len() != images * channels * h * w
        || weight.len() != channels * taps
        || bias.is_some_and(|b| b.len() != channels)
        || channels == 0
    {
        return None;
    }
    if images * oh * ow == 0 {
        return Some(Vec::new());
    }
    let input = transpose_planes(x, images, channels, h * w);
    let weight = transpose_planes(weight, 1, channels, taps);
    let zeros = vec![0f32; channels];
    let bias = bias.unwrap_or(&zeros);
    let mut out = vec![0f32; images * oh * ow * channels];
    let isa = isa();
    out.par_chunks_mut(ow * channels).enumerate().for_each(|(r, row)| {
        let (image, oy) = (r / oh, r % oh);
        let args = Row {
            input: &input[image * h * w * channels..(image + 1) * h * w * channels],
            h,
            w,
            channels,
            weight: &weight,
            bias,
            win,
            oy,
        };
        match isa {
            // SAFETY: `isa()` detected the features these functions are compiled for.
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => unsafe { row_avx512(&args, row) },
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => unsafe { row_avx2(&args, row) },
            _ => output_row(&args, row),
        }
    });
    Some(transpose_planes(&out, images, oh * ow, channels))
}

/// Swaps the last two axes of `x` [groups, rows, cols].
fn transpose_planes(x: &[f32], groups: usize, rows: usize, cols: usize) -> Vec<f32> {
    let mut out = vec![0f32; x.len()];
    out.par_chunks_mut(rows * cols)
        .zip(x.par_chunks(rows * cols))
        .take(groups)
        .for_each(|(o, i)| {
            // Blocks of 16×16 keep both sides in cache lines.
            const B: usize = 16;
            for r0 in (0..rows).step_by(B) {
                for c0 in (0..cols).step_by(B) {
                    for r in r0..(r0 + B).min(rows) {
                        for c in c0..(c0 + B).min(cols) {
                            o[c * rows + r] = i[r * cols + c];
                        }
                    }
                }
            }
        });
    out
}

struct Row<'a> {
    /// One image, channels last: [h, w, channels].
    input: &'a [f32],
    h: usize,
    w: usize,
    channels: usize,
    /// [taps, channels].
    weight: &'a [f32],
    bias: &'a [f32],
    win: &'a Window,
    oy: usize,
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,fma")]
fn row_avx512(a: &Row, out: &mut [f32]) {
    output_row(a, out)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn row_avx2(a: &Row, out: &mut [f32]) {
    output_row(a, out)
}

/// One output row, channels last: [ow, channels].
#[inline(always)]
fn output_row(a: &Row, out: &mut [f32]) {
    let ([kh, kw], [sh, sw], [ph, pw], [dh, dw]) = (a.win.kernel, a.win.stride, a.win.padding, a.win.dilation);
    let c = a.channels;
    for (ox, acc) in out.chunks_exact_mut(c).enumerate() {
        acc.copy_from_slice(a.bias);
        for ky in 0..kh {
            let Some(iy) = (a.oy * sh + ky * dh).checked_sub(ph).filter(|&iy| iy < a.h) else {
                continue;
            };
            for kx in 0..kw {
                let Some(ix) = (ox * sw + kx * dw).checked_sub(pw).filter(|&ix| ix < a.w) else {
                    continue;
                };
                let src = &a.input[(iy * a.w + ix) * c..][..c];
                let wv = &a.weight[(ky * kw + kx) * c..][..c];
                for ((o, &x), &k) in acc.iter_mut().zip(src).zip(wv) {
                    *o = k.mul_add(x, *o);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equals_the_definition() {
        let (images, channels, h, w) = (2, 5, 11, 9);
        let x: Vec<f32> = (0..images * channels * h * w)
            .map(|i| ((i * 37) % 23) as f32 - 11.0)
            .collect();
        for win in [
            Window {
                kernel: [3, 3],
                stride: [1, 1],
                padding: [1, 1],
                dilation: [1, 1],
            },
            Window {
                kernel: [5, 5],
                stride: [2, 2],
                padding: [2, 2],
                dilation: [1, 1],
            },
            Window {
                kernel: [3, 5],
                stride: [2, 1],
                padding: [0, 2],
                dilation: [2, 1],
            },
            Window {
                kernel: [7, 7],
                stride: [1, 1],
                padding: [3, 3],
                dilation: [1, 1],
            },
        ] {
            let taps = win.kernel[0] * win.kernel[1];
            let weight: Vec<f32> = (0..channels * taps).map(|i| ((i * 11) % 7) as f32 - 3.0).collect();
            let bias: Vec<f32> = (0..channels).map(|c| c as f32 * 0.5).collect();
            let [oh, ow] = win.output_size(h, w).unwrap();
            let got = depthwise_conv2d(&x, images, channels, [h, w], &weight, Some(&bias), &win).unwrap();
            for p in 0..images * channels {
                let c = p % channels;
                for oy in 0..oh {
                    for ox in 0..ow {
                        let mut s = bias[c];
                        for ky in 0..win.kernel[0] {
                            for kx in 0..win.kernel[1] {
                                let iy = (oy * win.stride[0] + ky * win.dilation[0]) as isize - win.padding[0] as isize;
                                let ix = (ox * win.stride[1] + kx * win.dilation[1]) as isize - win.padding[1] as isize;
                                if iy >= 0 && ix >= 0 && (iy as usize) < h && (ix as usize) < w {
                                    s += weight[c * taps + ky * win.kernel[1] + kx]
                                        * x[(p * h + iy as usize) * w + ix as usize];
                                }
                            }
                        }
                        // Small integers: every order of summation is exact.
                        assert_eq!(got[(p * oh + oy) * ow + ox], s, "{win:?}, plane {p}, ({oy}, {ox})");
                    }
                }
            }
        }
        let win = Window {
            kernel: [3, 3],
            stride: [1, 1],
            padding: [1, 1],
            dilation: [1, 1],
        };
        assert_eq!(
            depthwise_conv2d(&x, images, channels, [h, w], &[0.0; 3], None, &win),
            None
        );
    }
}
