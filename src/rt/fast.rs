//! Inference fast paths on the CPU backend. An f32 tensor on flex, outside autodiff, is handed
//! to `zoo-kernels` as a slice (burn moves a uniquely owned buffer out and back without
//! copying); every other tensor takes burn's own op. Measured in the README ("Speed"): burn's
//! exact GELU calls a scalar `erff` per element (30× PyTorch's time), its sigmoid and SiLU a
//! scalar `expf`, its max pooling also
//! computes the argmax indices only training needs, and it convolves few input channels on a
//! direct path several times slower than a matrix product.

use burn::nn::PaddingConfig2d;
use burn::nn::conv::Conv2d;
use burn::nn::pool::MaxPool2d;
use burn::tensor::{DType, Device, Tensor};

fn on_flex<const D: usize>(x: &Tensor<D>) -> bool {
    let device = x.device();
    x.dtype() == DType::F32 && !device.is_autodiff() && device == Device::flex()
}

/// `kernel` over every value of `x` on flex, else burn's `op`.
fn elementwise<const D: usize>(x: Tensor<D>, kernel: fn(&mut [f32]), op: fn(Tensor<D>) -> Tensor<D>) -> Tensor<D> {
    if !on_flex(&x) {
        return op(x);
    }
    let device = x.device();
    let mut data = x.into_data();
    match data.as_mut_slice::<f32>() {
        Ok(values) => kernel(values),
        Err(_) => return op(Tensor::from_data(data, &device)),
    }
    Tensor::from_data(data, &device)
}

/// Exact GELU (`x·Φ(x)`).
pub fn gelu<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    elementwise(x, zoo_kernels::gelu_in_place, burn::tensor::activation::gelu)
}

/// SiLU (`x·σ(x)`).
pub fn silu<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    elementwise(x, zoo_kernels::silu_in_place, burn::tensor::activation::silu)
}

/// The logistic sigmoid.
pub fn sigmoid<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    elementwise(x, zoo_kernels::sigmoid_in_place, burn::tensor::activation::sigmoid)
}

/// `layer`'s max pooling of `x` [batch, channels, h, w].
pub fn max_pool2d(layer: &MaxPool2d, x: Tensor<4>) -> Tensor<4> {
    let PaddingConfig2d::Explicit(top, left, bottom, right) = layer.padding else {
        return layer.forward(x);
    };
    if top != bottom || left != right || !on_flex(&x) {
        return layer.forward(x);
    }
    let geometry = zoo_kernels::Pool2d {
        window: zoo_kernels::Window {
            kernel: layer.kernel_size,
            stride: layer.stride,
            padding: [top, left],
            dilation: layer.dilation,
        },
        ceil_mode: layer.ceil_mode,
    };
    let [n, c, h, w] = x.dims();
    let Some([oh, ow]) = geometry.output_size(h, w) else {
        return layer.forward(x);
    };
    let device = x.device();
    let data = x.into_data();
    let pooled = match data.as_slice::<f32>() {
        Ok(values) => zoo_kernels::max_pool2d(values, n * c, h, w, &geometry),
        Err(_) => None,
    };
    match pooled {
        Some(values) => Tensor::from_data(burn::tensor::TensorData::new(values, [n, c, oh, ow]), &device),
        None => layer.forward(Tensor::from_data(data, &device)),
    }
}

/// Input channels up to which a convolution takes the im2col path: burn's direct path for
/// these (a network's stem) reaches a few GFLOP/s.
const FEW_CHANNELS: usize = 4;

/// Output maps up to which a depth-wise convolution runs on zoo-kernels (14×14).
const SMALL_MAP: usize = 196;

/// `layer`'s convolution of `x`; a depth-wise one (small output map) runs on zoo-kernels' direct kernel, one with
/// at most [`FEW_CHANNELS`] input channels (a kernel larger than 1×1, ungrouped) as patches
/// (im2col) times the weight.
pub fn conv2d(layer: &Conv2d, x: Tensor<4>) -> Tensor<4> {
    layer.forward_fast(x)
}

/// [`conv2d`] as a method, which generated code calls on a layer or a reference to one.
pub trait FastConv {
    fn forward_fast(&self, x: Tensor<4>) -> Tensor<4>;
}

impl FastConv for Conv2d {
    fn forward_fast(&self, x: Tensor<4>) -> Tensor<4> {
        convolve(self, x)
    }
}

fn convolve(layer: &Conv2d, x: Tensor<4>) -> Tensor<4> {
    let [n, c, h, w] = x.dims();
    let [co, _, kh, kw] = layer.weight.dims();
    let PaddingConfig2d::Explicit(top, left, bottom, right) = layer.padding else {
        return layer.forward(x);
    };
    let per_channel = layer.groups == c && co == c && kh * kw > 1;
    let few = c <= FEW_CHANNELS && layer.groups == 1 && kh * kw > 1;
    if !(per_channel || few) || top != bottom || left != right || !on_flex(&x) {
        return layer.forward(x);
    }
    let window = zoo_kernels::Window {
        kernel: [kh, kw],
        stride: layer.stride,
        padding: [top, left],
        dilation: layer.dilation,
    };
    let Some([oh, ow]) = window.output_size(h, w) else {
        return layer.forward(x);
    };
    if per_channel {
        // Channels-last pays two transposes; it wins where burn's per-plane kernel drowns in
        // loop overhead, on small maps (measured: 3-4× at 7×7 and 14×14, slower at 56×56).
        if oh * ow > SMALL_MAP {
            return layer.forward(x);
        }
        return depthwise(layer, x, &window);
    }
    let device = x.device();
    let data = x.into_data();
    let Some(patches) = data
        .as_slice::<f32>()
        .ok()
        .and_then(|v| zoo_kernels::im2col(v, n, c, h, w, &window))
    else {
        return layer.forward(Tensor::from_data(data, &device));
    };
    let k = c * kh * kw;
    let patches = Tensor::<3>::from_data(burn::tensor::TensorData::new(patches, [n, k, oh * ow]), &device);
    let mut y = layer.weight.val().reshape([1, co, k]).matmul(patches);
    if let Some(b) = &layer.bias {
        y = y + b.val().reshape([1, co, 1]);
    }
    y.reshape([n, co, oh, ow])
}

/// A depth-wise convolution (one filter per channel) by zoo-kernels.
fn depthwise(layer: &Conv2d, x: Tensor<4>, window: &zoo_kernels::Window) -> Tensor<4> {
    let [n, c, h, w] = x.dims();
    let Some([oh, ow]) = window.output_size(h, w) else {
        return layer.forward(x);
    };
    let device = x.device();
    let data = x.into_data();
    let weight = layer.weight.val().into_data();
    let bias = layer.bias.as_ref().map(|b| b.val().into_data());
    let out = match (data.as_slice::<f32>(), weight.as_slice::<f32>()) {
        (Ok(values), Ok(weight)) => {
            let bias = bias.as_ref().and_then(|b| b.as_slice::<f32>().ok());
            zoo_kernels::depthwise_conv2d(values, n, c, [h, w], weight, bias, window)
        }
        _ => None,
    };
    match out {
        Some(values) => Tensor::from_data(burn::tensor::TensorData::new(values, [n, c, oh, ow]), &device),
        None => layer.forward(Tensor::from_data(data, &device)),
    }
}
