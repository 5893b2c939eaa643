//! Inference-time folding: a BatchNorm right after a convolution becomes part of the
//! convolution's weight and bias, so a forward pass skips one full pass over the activation.
//!
//! The spec compiler knows which convolution feeds which norm (adjacent `op: conv2d` and
//! `op: norm2d` children of a `seq`); it emits a [`Fold`] impl per generated module that folds
//! its children first and then those pairs. Folding is for inference only: a folded model has
//! no BatchNorm statistics left to train, and its state dict lacks the norms' keys.

use crate::rt::primitives::{Identity, Norm2d};
use burn::module::Param;
use burn::nn::conv::Conv2d;
use burn::tensor::Tensor;

/// Rewrites a module for inference without changing what it computes (beyond float rounding).
pub trait Fold {
    /// Returns how many norms were folded.
    fn fold(&mut self) -> usize {
        0
    }
    /// The convolution this module is, if it is one (through `Option` and list-item enums).
    fn as_conv(&mut self) -> Option<&mut Conv2d> {
        None
    }
    /// The norm this module is, if it is one.
    fn as_norm(&mut self) -> Option<&mut Norm2d> {
        None
    }
}

impl<T: Fold> Fold for Option<T> {
    fn fold(&mut self) -> usize {
        self.as_mut().map_or(0, Fold::fold)
    }
    fn as_conv(&mut self) -> Option<&mut Conv2d> {
        self.as_mut()?.as_conv()
    }
    fn as_norm(&mut self) -> Option<&mut Norm2d> {
        self.as_mut()?.as_norm()
    }
}

/// A list whose elements are not known to run one after another (a forward program may index
/// it or `scan` it): only the elements fold.
impl<T: Fold> Fold for Vec<T> {
    fn fold(&mut self) -> usize {
        self.iter_mut().map(Fold::fold).sum()
    }
}

impl Fold for Conv2d {
    fn as_conv(&mut self) -> Option<&mut Conv2d> {
        Some(self)
    }
}

impl Fold for Norm2d {
    fn as_norm(&mut self) -> Option<&mut Norm2d> {
        Some(self)
    }
}

/// Folds `b` into `a` when `a` is a convolution and `b` the norm applied to its output.
pub fn fold_pair(a: &mut impl Fold, b: &mut impl Fold) -> usize {
    match (a.as_conv(), b.as_norm()) {
        (Some(conv), Some(norm)) => usize::from(fold_conv_norm(conv, norm)),
        _ => 0,
    }
}

/// A list applied whole, element after element: its elements fold, then each convolution
/// followed by a norm.
pub fn fold_sequence<T: Fold>(list: &mut [T]) -> usize {
    let mut n: usize = list.iter_mut().map(Fold::fold).sum();
    for k in 1..list.len() {
        let (before, after) = list.split_at_mut(k);
        n += fold_pair(&mut before[k - 1], &mut after[0]);
    }
    n
}

impl<const D: usize> Fold for Param<Tensor<D>> {}
impl<const D: usize> Fold for Param<Tensor<D, burn::tensor::Int>> {}

macro_rules! leaves {
    ($($t:ty),* $(,)?) => { $(impl Fold for $t {})* };
}

leaves!(
    burn::nn::BatchNorm,
    burn::nn::Linear,
    burn::nn::LayerNorm,
    burn::nn::Dropout,
    burn::nn::Embedding,
    crate::rt::primitives::Activation,
    crate::rt::primitives::Pool2d,
    crate::rt::primitives::Identity,
    crate::rt::primitives::SinusoidalPositionalEncoding,
);

/// Folds an inference BatchNorm into the convolution before it:
/// `w' = w · γ/√(σ²+ε)` per output channel, `b' = (b − μ) · γ/√(σ²+ε) + β`; the norm becomes
/// the identity. Instance and group norms depend on the input and stay as they are.
pub fn fold_conv_norm(conv: &mut Conv2d, norm: &mut Norm2d) -> bool {
    let Norm2d::BatchNorm(bn) = norm else { return false };
    if bn.gamma.dims()[0] != conv.weight.dims()[0] {
        return false;
    }
    let var = bn.running_var.value();
    let mean = bn.running_mean.value();
    let scale = bn.gamma.val() / (var + bn.epsilon).sqrt();
    let out = scale.dims()[0];
    let weight = conv.weight.val() * scale.clone().reshape([out, 1, 1, 1]);
    let bias = match &conv.bias {
        Some(b) => b.val(),
        None => Tensor::zeros([out], &scale.device()),
    };
    let bias = (bias - mean) * scale + bn.beta.val();
    conv.weight = Param::from_tensor(weight);
    conv.bias = Some(Param::from_tensor(bias));
    *norm = Norm2d::Folded(Identity);
    true
}
