//! Primitive layers that specs instantiate with `op:`. Each wraps burn's layer config in one
//! constructor so generated code has a single pattern to emit; state-dict names match PyTorch
//! (`weight`, `bias`, BatchNorm running stats) after burn-store's PyTorch adapter.

use crate::rt::BuildError;
use burn::module::{Module, Param};
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::pool::{AvgPool2d, AvgPool2dConfig, MaxPool2d, MaxPool2dConfig};
use burn::nn::{
    BatchNorm, BatchNormConfig, Dropout, DropoutConfig, GroupNorm, GroupNormConfig, InstanceNorm, InstanceNormConfig,
    LayerNorm, LayerNormConfig, Linear, LinearConfig, PaddingConfig2d,
};
use burn::tensor::{Device, Distribution, Tensor};

fn u(v: i64) -> usize {
    v.max(0) as usize
}

/// burn's layer configs panic on impossible shapes; specs get an error instead.
fn at_least(what: &str, name: &str, v: i64, min: i64) -> Result<(), BuildError> {
    if v < min {
        return Err(BuildError::new(format!(
            "{what}: {name} must be at least {min}, found {v}"
        )));
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
pub fn conv2d(
    cin: i64,
    cout: i64,
    kernel: i64,
    stride: i64,
    padding: i64,
    dilation: i64,
    groups: i64,
    bias: bool,
    device: &Device,
) -> Result<Conv2d, BuildError> {
    for (name, v, min) in [
        ("in_channels", cin, 1),
        ("out_channels", cout, 1),
        ("kernel_size", kernel, 1),
        ("stride", stride, 1),
        ("padding", padding, 0),
        ("dilation", dilation, 1),
        ("groups", groups, 1),
    ] {
        at_least("conv2d", name, v, min)?;
    }
    if cin % groups != 0 || cout % groups != 0 {
        return Err(BuildError::new(format!(
            "conv2d: in_channels {cin} and out_channels {cout} must both be divisible by groups {groups}"
        )));
    }
    let p = u(padding);
    Ok(Conv2dConfig::new([u(cin), u(cout)], [u(kernel), u(kernel)])
        .with_stride([u(stride), u(stride)])
        .with_padding(PaddingConfig2d::Explicit(p, p, p, p))
        .with_dilation([u(dilation), u(dilation)])
        .with_groups(u(groups))
        .with_bias(bias)
        .init(device))
}

pub fn linear(cin: i64, cout: i64, bias: bool, device: &Device) -> Result<Linear, BuildError> {
    at_least("linear", "in", cin, 1)?;
    at_least("linear", "out", cout, 1)?;
    Ok(LinearConfig::new(u(cin), u(cout)).with_bias(bias).init(device))
}

pub fn layer_norm(channels: i64, eps: f64, device: &Device) -> Result<LayerNorm, BuildError> {
    at_least("layer_norm", "channels", channels, 1)?;
    Ok(LayerNormConfig::new(u(channels)).with_epsilon(eps).init(device))
}

pub fn embedding(num: i64, dim: i64, device: &Device) -> Result<burn::nn::Embedding, BuildError> {
    at_least("embedding", "num", num, 1)?;
    at_least("embedding", "dim", dim, 1)?;
    Ok(burn::nn::EmbeddingConfig::new(u(num), u(dim)).init(device))
}

pub fn dropout(p: f64, _device: &Device) -> Result<Dropout, BuildError> {
    // burn's dropout takes [0, 1) and panics otherwise; p = 1 would zero every activation.
    if !(0.0..1.0).contains(&p) {
        return Err(BuildError::new(format!(
            "dropout probability must be at least 0 and below 1, found {p}"
        )));
    }
    Ok(DropoutConfig::new(p).init())
}

/// A learnable tensor (e.g. ViT's class token).
pub fn param<const D: usize>(
    shape: Vec<i64>,
    init: String,
    std: f64,
    value: f64,
    device: &Device,
) -> Result<Param<Tensor<D>>, BuildError> {
    let dims: [usize; D] = shape
        .iter()
        .map(|d| u(*d))
        .collect::<Vec<_>>()
        .try_into()
        .map_err(|_| BuildError::new(format!("param shape {shape:?} does not have {D} dimensions")))?;
    let t = match init.as_str() {
        "zeros" => Tensor::zeros(dims, device),
        "trunc_normal" | "normal" => Tensor::random(dims, Distribution::Normal(0.0, std), device),
        "constant" => Tensor::full(dims, value, device),
        // 0, 1, 2, ... over the flat layout (e.g. the fixed projection of a distribution
        // over box offsets).
        "arange" => {
            let n: usize = dims.iter().product();
            let values: Vec<f32> = (0..n).map(|i| i as f32).collect();
            Tensor::<1>::from_data(values.as_slice(), device).reshape(dims)
        }
        other => {
            return Err(BuildError::new(format!(
                "unknown param init `{other}`; expected zeros, constant (of `value`), arange or trunc_normal"
            )));
        }
    };
    Ok(Param::from_tensor(t))
}

/// An integer buffer filled with `value` (PyTorch's `register_buffer` of a long tensor):
/// loaded and saved with the weights, never trained, not counted as parameters.
pub fn index_buffer<const D: usize>(
    shape: Vec<i64>,
    value: i64,
    device: &Device,
) -> Result<Param<Tensor<D, burn::tensor::Int>>, BuildError> {
    let dims: [usize; D] = shape
        .iter()
        .map(|d| u(*d))
        .collect::<Vec<_>>()
        .try_into()
        .map_err(|_| BuildError::new(format!("index_buffer shape {shape:?} does not have {D} dimensions")))?;
    Ok(Param::initialized(
        burn::module::ParamId::new(),
        Tensor::<D, burn::tensor::Int>::full(dims, value, device),
    ))
}

/// Batch normalisation of `[batch, channels]` (PyTorch's `BatchNorm1d`).
pub fn batch_norm1d(channels: i64, eps: f64, momentum: f64, device: &Device) -> Result<BatchNorm, BuildError> {
    at_least("batch_norm1d", "channels", channels, 1)?;
    Ok(BatchNormConfig::new(u(channels))
        .with_epsilon(eps)
        .with_momentum(momentum)
        .init(device))
}

/// 2-D normalisation chosen by name, as NetsPresso's `NORM_REGISTRY`.
#[derive(Module, Debug)]
pub enum Norm2d {
    BatchNorm(BatchNorm),
    InstanceNorm(InstanceNorm),
    /// `nn.GroupNorm(1, channels)`: normalises over channels and space together.
    GroupNorm(GroupNorm),
    /// A BatchNorm folded into the convolution before it (`rt::fold`, inference only).
    Folded(Identity),
}

impl Norm2d {
    pub fn new(kind: String, channels: i64, eps: f64, momentum: f64, device: &Device) -> Result<Self, BuildError> {
        at_least(&kind, "channels", channels, 1)?;
        match kind.to_lowercase().as_str() {
            "batch_norm" => Ok(Norm2d::BatchNorm(
                BatchNormConfig::new(u(channels))
                    .with_epsilon(eps)
                    .with_momentum(momentum)
                    .init(device),
            )),
            // PyTorch's InstanceNorm2d defaults to affine=False: no parameters.
            "instance_norm" => Ok(Norm2d::InstanceNorm(
                InstanceNormConfig::new(u(channels))
                    .with_epsilon(eps)
                    .with_affine(false)
                    .init(device),
            )),
            "group_norm" => Ok(Norm2d::GroupNorm(
                GroupNormConfig::new(1, u(channels)).with_epsilon(eps).init(device),
            )),
            other => Err(BuildError::new(format!(
                "unknown norm `{other}`; expected batch_norm, instance_norm or group_norm"
            ))),
        }
    }

    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        match self {
            Norm2d::BatchNorm(m) => m.forward(x),
            Norm2d::InstanceNorm(m) => m.forward(x),
            Norm2d::GroupNorm(m) => m.forward(x),
            Norm2d::Folded(_) => x,
        }
    }
}

/// Names accepted by [`Activation`], as NetsPresso's `ACTIVATION_REGISTRY` plus the gates.
pub const ACTIVATIONS: &[&str] = &[
    "relu",
    "relu6",
    "leaky_relu",
    "gelu",
    "quick_gelu",
    "silu",
    "swish",
    "hard_swish",
    "hard_sigmoid",
    "sigmoid",
    "tanh",
    "identity",
];

/// An activation chosen by name. It has no parameters.
#[derive(Module, Debug)]
pub struct Activation {
    #[module(skip)]
    pub kind: ActivationKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActivationKind {
    Relu,
    Relu6,
    LeakyRelu,
    Gelu,
    /// CLIP's `x * sigmoid(1.702 x)`.
    QuickGelu,
    Silu,
    HardSwish,
    HardSigmoid,
    Sigmoid,
    Tanh,
    Identity,
}

impl burn::module::ModuleDisplayDefault for ActivationKind {
    fn content(&self, content: burn::module::Content) -> Option<burn::module::Content> {
        content.add_formatted(&format!("{self:?}")).optional()
    }
}
impl burn::module::ModuleDisplay for ActivationKind {}

impl Activation {
    pub fn new(kind: String, _device: &Device) -> Result<Self, BuildError> {
        let k = match kind.to_lowercase().as_str() {
            "relu" => ActivationKind::Relu,
            "relu6" => ActivationKind::Relu6,
            "leaky_relu" => ActivationKind::LeakyRelu,
            "gelu" => ActivationKind::Gelu,
            "quick_gelu" => ActivationKind::QuickGelu,
            "silu" | "swish" => ActivationKind::Silu,
            "hard_swish" => ActivationKind::HardSwish,
            "hard_sigmoid" => ActivationKind::HardSigmoid,
            "sigmoid" => ActivationKind::Sigmoid,
            "tanh" => ActivationKind::Tanh,
            "identity" => ActivationKind::Identity,
            other => {
                return Err(BuildError::new(format!(
                    "unknown activation `{other}`; expected one of {}",
                    ACTIVATIONS.join(", ")
                )));
            }
        };
        Ok(Activation { kind: k })
    }

    pub fn forward<const D: usize>(&self, x: Tensor<D>) -> Tensor<D> {
        use burn::tensor::activation as a;
        match self.kind {
            ActivationKind::Relu => a::relu(x),
            ActivationKind::Relu6 => a::relu6(x),
            ActivationKind::LeakyRelu => a::leaky_relu(x, 0.01),
            ActivationKind::Gelu => crate::rt::fast::gelu(x),
            ActivationKind::QuickGelu => x.clone() * a::sigmoid(x.mul_scalar(1.702)),
            ActivationKind::Silu => crate::rt::fast::silu(x),
            ActivationKind::HardSwish => a::hard_swish(x),
            ActivationKind::HardSigmoid => a::hard_sigmoid(x, 1.0 / 6.0, 0.5),
            ActivationKind::Sigmoid => crate::rt::fast::sigmoid(x),
            ActivationKind::Tanh => a::tanh(x),
            ActivationKind::Identity => x,
        }
    }
}

/// Max or average pooling chosen by name, as NetsPresso's `Pool2d`.
#[derive(Module, Debug)]
pub enum Pool2d {
    Max(MaxPool2d),
    Avg(AvgPool2d),
}

impl Pool2d {
    pub fn new(
        kind: String,
        kernel: i64,
        stride: Option<i64>,
        padding: i64,
        ceil_mode: bool,
        count_include_pad: bool,
        _device: &Device,
    ) -> Result<Self, BuildError> {
        at_least("pool2d", "kernel_size", kernel, 1)?;
        at_least("pool2d", "stride", stride.unwrap_or(1), 1)?;
        at_least("pool2d", "padding", padding, 0)?;
        let k = [u(kernel), u(kernel)];
        let s = stride.map(|s| [u(s), u(s)]).unwrap_or(k);
        let p = PaddingConfig2d::Explicit(u(padding), u(padding), u(padding), u(padding));
        match kind.to_lowercase().as_str() {
            "max" => Ok(Pool2d::Max(
                MaxPool2dConfig::new(k)
                    .with_strides(s)
                    .with_padding(p)
                    .with_ceil_mode(ceil_mode)
                    .init(),
            )),
            "avg" => Ok(Pool2d::Avg(
                AvgPool2dConfig::new(k)
                    .with_strides(s)
                    .with_padding(p)
                    .with_ceil_mode(ceil_mode)
                    .with_count_include_pad(count_include_pad)
                    .init(),
            )),
            other => Err(BuildError::new(format!(
                "unknown pooling `{other}`; expected max or avg"
            ))),
        }
    }

    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        match self {
            Pool2d::Max(m) => crate::rt::fast::max_pool2d(m, x),
            Pool2d::Avg(m) => m.forward(x),
        }
    }
}

/// Passes its input through (a placeholder that keeps state-dict indices aligned).
#[derive(Module, Debug, Default)]
pub struct Identity;

impl Identity {
    pub fn new(_device: &Device) -> Self {
        Identity
    }
    pub fn forward<const D: usize>(&self, x: Tensor<D>) -> Tensor<D> {
        x
    }
}

/// Fixed sinusoidal positions added to `[batch, tokens, channels]`. The table is the buffer
/// `pe` ([1, max_len, channels]) of NetsPresso's `SinusoidalPositionalEncoding`; it is
/// recomputed, never learned.
#[derive(Module, Debug)]
pub struct SinusoidalPositionalEncoding {
    pub pe: burn::module::RunningState<Tensor<3>>,
}

impl SinusoidalPositionalEncoding {
    pub fn new(channels: i64, max_len: i64, device: &Device) -> Self {
        let (c, n) = (u(channels), u(max_len));
        let mut table = vec![0f32; n * c];
        for pos in 0..n {
            for i in (0..c).step_by(2) {
                let div = (-(i as f64) * (10000f64).ln() / c as f64).exp();
                let angle = pos as f64 * div;
                table[pos * c + i] = angle.sin() as f32;
                if i + 1 < c {
                    table[pos * c + i + 1] = angle.cos() as f32;
                }
            }
        }
        let pe = Tensor::<1>::from_floats(table.as_slice(), device).reshape([1, n, c]);
        SinusoidalPositionalEncoding {
            pe: burn::module::RunningState::new(pe),
        }
    }

    pub fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let tokens = x.dims()[1];
        let pe = self.pe.value().narrow(1, 0, tokens);
        x + pe
    }
}
