//! Convolution and pooling window geometry.

/// The window of a 2-D convolution or pooling: kernel, stride, padding (both sides), dilation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    pub kernel: [usize; 2],
    pub stride: [usize; 2],
    pub padding: [usize; 2],
    pub dilation: [usize; 2],
}

impl Window {
    /// Output height and width for an `h`×`w` input (floor, as convolutions count), or `None`
    /// when the kernel does not fit.
    pub fn output_size(&self, h: usize, w: usize) -> Option<[usize; 2]> {
        self.output_size_rounded(h, w, false)
    }

    /// Output size with PyTorch's pooling rule (`pooling_output_shape`): with `ceil_mode` a last
    /// partial window counts, as long as it starts inside the input or its left padding.
    pub fn output_size_rounded(&self, h: usize, w: usize, ceil_mode: bool) -> Option<[usize; 2]> {
        if self.kernel.contains(&0) || self.stride.contains(&0) || self.dilation.contains(&0) {
            return None;
        }
        let dim = |i: usize, n: usize| -> Option<usize> {
            let span = self.dilation[i] * (self.kernel[i] - 1) + 1;
            let room = (n + 2 * self.padding[i]).checked_sub(span)?;
            let s = self.stride[i];
            let mut out = if ceil_mode { room.div_ceil(s) } else { room / s } + 1;
            if ceil_mode && (out - 1) * s >= n + self.padding[i] {
                out -= 1;
            }
            Some(out)
        };
        Some([dim(0, h)?, dim(1, w)?])
    }
}
