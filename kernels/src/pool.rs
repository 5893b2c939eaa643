//! 2-D max pooling over NCHW planes with PyTorch's semantics (padding never wins, `ceil_mode`
//! windows must start inside the input or its left padding, NaN propagates), without the argmax
//! indices.

use super::Window;
use rayon::prelude::*;

/// A pooling layer's window and rounding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pool2d {
    pub window: Window,
    pub ceil_mode: bool,
}

impl Pool2d {
    /// Output height and width for an `h`×`w` input, or `None` when no window fits.
    pub fn output_size(&self, h: usize, w: usize) -> Option<[usize; 2]> {
        self.window.output_size_rounded(h, w, self.ceil_mode)
    }
}

/// Max pooling of `planes` contiguous `h`×`w` planes; returns the pooled planes.
pub fn max_pool2d(x: &[f32], planes: usize, h: usize, w: usize, geometry: &Pool2d) -> Option<Vec<f32>> {
    let [oh, ow] = geometry.output_size(h, w)?;
    if x.len() != planes * h * w {
        return None;
    }
    let mut out = vec![0f32; planes * oh * ow];
    if oh * ow == 0 {
        return Some(out);
    }
    // Planes per task: enough work per task for rayon.
    let per_task = (super::CHUNK / (oh * ow).max(1)).max(1);
    out.par_chunks_mut(oh * ow * per_task)
        .enumerate()
        .for_each(|(t, outs)| {
            for (j, o) in outs.chunks_mut(oh * ow).enumerate() {
                let p = t * per_task + j;
                plane(&x[p * h * w..(p + 1) * h * w], h, w, o, oh, ow, geometry);
            }
        });
    Some(out)
}

fn plane(x: &[f32], h: usize, w: usize, out: &mut [f32], oh: usize, ow: usize, g: &Pool2d) {
    let Window {
        kernel: [kh, kw],
        stride: [sh, sw],
        padding: [ph, pw],
        dilation: [dh, dw],
    } = g.window;
    for oy in 0..oh {
        let row = &mut out[oy * ow..(oy + 1) * ow];
        row.fill(f32::NEG_INFINITY);
        for ky in 0..kh {
            let Some(iy) = (oy * sh + ky * dh).checked_sub(ph).filter(|&iy| iy < h) else {
                continue;
            };
            let input = &x[iy * w..(iy + 1) * w];
            for kx in 0..kw {
                for (ox, m) in row.iter_mut().enumerate() {
                    if let Some(ix) = (ox * sw + kx * dw).checked_sub(pw).filter(|&ix| ix < w) {
                        let v = input[ix];
                        if v > *m || v.is_nan() {
                            *m = v;
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool(
        kernel: [usize; 2],
        stride: [usize; 2],
        padding: [usize; 2],
        dilation: [usize; 2],
        ceil_mode: bool,
    ) -> Pool2d {
        Pool2d {
            window: Window {
                kernel,
                stride,
                padding,
                dilation,
            },
            ceil_mode,
        }
    }

    fn naive(x: &[f32], h: usize, w: usize, p: &Pool2d) -> Vec<f32> {
        let [oh, ow] = p.output_size(h, w).unwrap();
        let g = &p.window;
        let mut out = Vec::new();
        for oy in 0..oh {
            for ox in 0..ow {
                let mut m = f32::NEG_INFINITY;
                for ky in 0..g.kernel[0] {
                    for kx in 0..g.kernel[1] {
                        let iy = (oy * g.stride[0] + ky * g.dilation[0]) as isize - g.padding[0] as isize;
                        let ix = (ox * g.stride[1] + kx * g.dilation[1]) as isize - g.padding[1] as isize;
                        if iy >= 0 && ix >= 0 && (iy as usize) < h && (ix as usize) < w {
                            m = m.max(x[iy as usize * w + ix as usize]);
                        }
                    }
                }
                out.push(m);
            }
        }
        out
    }

    #[test]
    fn output_sizes_follow_pytorch() {
        let g = |k, s, p, ceil| pool([k, k], [s, s], [p, p], [1, 1], ceil);
        // torch.nn.MaxPool2d(3, 2, 1)(torch.zeros(1, 1, 112, 112)).shape[-1] == 56, and so on.
        assert_eq!(g(3, 2, 1, false).output_size(112, 112), Some([56, 56]));
        assert_eq!(g(3, 2, 0, false).output_size(7, 8), Some([3, 3]));
        assert_eq!(g(3, 2, 0, true).output_size(7, 8), Some([3, 4]));
        assert_eq!(g(2, 2, 0, true).output_size(5, 5), Some([3, 3]));
        // ceil_mode's extra window would start in the right padding: dropped.
        assert_eq!(g(2, 2, 1, true).output_size(4, 4), Some([3, 3]));
        assert_eq!(g(5, 1, 0, false).output_size(4, 4), None);
    }

    #[test]
    fn equals_the_definition() {
        let (h, w, planes) = (23, 17, 5);
        let x: Vec<f32> = (0..planes * h * w)
            .map(|i| ((i * 7919) % 1013) as f32 - 500.0)
            .collect();
        for g in [
            pool([3, 3], [2, 2], [1, 1], [1, 1], false),
            pool([2, 3], [1, 2], [1, 0], [2, 1], true),
            pool([5, 5], [1, 1], [2, 2], [1, 1], false),
            pool([2, 2], [2, 2], [0, 0], [1, 1], true),
        ] {
            let got = max_pool2d(&x, planes, h, w, &g).unwrap();
            let want: Vec<f32> = (0..planes)
                .flat_map(|p| naive(&x[p * h * w..(p + 1) * h * w], h, w, &g))
                .collect();
            assert_eq!(got, want, "{g:?}");
        }
    }

    #[test]
    fn nan_propagates_and_bad_geometry_is_refused() {
        let mut x = vec![1f32; 16];
        x[5] = f32::NAN;
        let g = pool([2, 2], [2, 2], [0, 0], [1, 1], false);
        let out = max_pool2d(&x, 1, 4, 4, &g).unwrap();
        assert!(out[0].is_nan());
        assert_eq!(&out[1..], &[1.0, 1.0, 1.0]);
        assert_eq!(max_pool2d(&x, 2, 4, 4, &g), None);
    }
}
