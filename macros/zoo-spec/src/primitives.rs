//! The primitive ops specs can instantiate with `op:`. Each is implemented once in Rust
//! (burn's layers or `zoo::primitives`); this table is the compiler's view of them.

use crate::types::{Sig, Ty};

pub struct PrimArg {
    pub name: &'static str,
    pub ty: Ty,
    /// Default as Rust code; `None` = required.
    pub default: Option<&'static str>,
}

pub struct Prim {
    pub name: &'static str,
    pub doc: &'static str,
    /// Rust type of the module field.
    pub rust_type: &'static str,
    /// Constructor path; called with the arguments in order, then `device`.
    pub ctor: &'static str,
    pub args: Vec<PrimArg>,
    pub sig: Sig,
    /// Whether the constructor returns a `Result`.
    pub fallible: bool,
}

impl Prim {
    /// How generated code applies the primitive `{m}` to `{x}`. A convolution goes through
    /// zoo's CPU fast path (`rt::fast`), which falls back to burn's layer.
    pub fn call(&self) -> &'static str {
        match self.name {
            "conv2d" => "{m}.forward_fast({x})",
            _ => "{m}.forward({x})",
        }
    }
}

fn a(name: &'static str, ty: Ty, default: Option<&'static str>) -> PrimArg {
    PrimArg { name, ty, default }
}

pub fn primitives() -> Vec<Prim> {
    use Ty::*;
    vec![
        Prim {
            name: "conv2d",
            doc: "2-D convolution (weight [out, in/groups, k, k], optional bias)",
            rust_type: "burn::nn::conv::Conv2d",
            ctor: "crate::rt::primitives::conv2d",
            args: vec![
                a("in", Int, None),
                a("out", Int, None),
                a("kernel", Int, None),
                a("stride", Int, Some("1i64")),
                a("padding", Int, Some("0i64")),
                a("dilation", Int, Some("1i64")),
                a("groups", Int, Some("1i64")),
                a("bias", Bool, Some("true")),
            ],
            sig: Sig::Fixed(4, 4),
            fallible: true,
        },
        Prim {
            name: "norm2d",
            doc: "2-D normalisation chosen by name: batch_norm or instance_norm",
            rust_type: "crate::rt::primitives::Norm2d",
            ctor: "crate::rt::primitives::Norm2d::new",
            args: vec![
                a("kind", Str, None),
                a("channels", Int, None),
                a("eps", Float, Some("1e-5f64")),
                a("momentum", Float, Some("0.1f64")),
            ],
            sig: Sig::Fixed(4, 4),
            fallible: true,
        },
        Prim {
            name: "batch_norm1d",
            doc: "batch normalisation of [batch, channels] (PyTorch's BatchNorm1d)",
            rust_type: "burn::nn::BatchNorm",
            ctor: "crate::rt::primitives::batch_norm1d",
            args: vec![
                a("channels", Int, None),
                a("eps", Float, Some("1e-5f64")),
                a("momentum", Float, Some("0.1f64")),
            ],
            sig: Sig::Fixed(2, 2),
            fallible: true,
        },
        Prim {
            name: "activation",
            doc: "activation chosen by name (relu, relu6, leaky_relu, gelu, silu, swish, hard_swish, hard_sigmoid, sigmoid, identity)",
            rust_type: "crate::rt::primitives::Activation",
            ctor: "crate::rt::primitives::Activation::new",
            args: vec![a("kind", Str, None)],
            sig: Sig::Poly,
            fallible: true,
        },
        Prim {
            name: "linear",
            doc: "fully connected layer over the last dimension",
            rust_type: "burn::nn::Linear",
            ctor: "crate::rt::primitives::linear",
            args: vec![a("in", Int, None), a("out", Int, None), a("bias", Bool, Some("true"))],
            sig: Sig::Poly,
            fallible: true,
        },
        Prim {
            name: "layer_norm",
            doc: "layer normalisation over the last dimension",
            rust_type: "burn::nn::LayerNorm",
            ctor: "crate::rt::primitives::layer_norm",
            args: vec![a("channels", Int, None), a("eps", Float, Some("1e-5f64"))],
            sig: Sig::Poly,
            fallible: true,
        },
        Prim {
            name: "dropout",
            doc: "dropout (active only in training)",
            rust_type: "burn::nn::Dropout",
            ctor: "crate::rt::primitives::dropout",
            args: vec![a("p", Float, Some("0.0f64"))],
            sig: Sig::Poly,
            fallible: true,
        },
        Prim {
            name: "pool2d",
            doc: "2-D max or average pooling",
            rust_type: "crate::rt::primitives::Pool2d",
            ctor: "crate::rt::primitives::Pool2d::new",
            args: vec![
                a("kind", Str, None),
                a("kernel", Int, None),
                a("stride", Ty::opt(Int), Some("None")),
                a("padding", Int, Some("0i64")),
                a("ceil_mode", Bool, Some("false")),
                a("count_include_pad", Bool, Some("true")),
            ],
            sig: Sig::Fixed(4, 4),
            fallible: true,
        },
        Prim {
            name: "embedding",
            doc: "lookup table: token ids [batch, tokens] to vectors [batch, tokens, dim] (weight [num, dim])",
            rust_type: "burn::nn::Embedding",
            ctor: "crate::rt::primitives::embedding",
            args: vec![a("num", Int, None), a("dim", Int, None)],
            sig: Sig::Lookup(2, 3),
            fallible: true,
        },
        Prim {
            name: "identity",
            doc: "passes its input through",
            rust_type: "crate::rt::primitives::Identity",
            ctor: "crate::rt::primitives::Identity::new",
            args: vec![],
            sig: Sig::Poly,
            fallible: false,
        },
        Prim {
            name: "positional_encoding",
            doc: "adds fixed sinusoidal positions to [batch, tokens, channels] (buffer `pe`)",
            rust_type: "crate::rt::primitives::SinusoidalPositionalEncoding",
            ctor: "crate::rt::primitives::SinusoidalPositionalEncoding::new",
            args: vec![a("channels", Int, None), a("max_len", Int, None)],
            sig: Sig::Fixed(3, 3),
            fallible: false,
        },
    ]
}

/// `param` is special: a learnable tensor used as a value, not called.
pub const PARAM_OP: &str = "param";
/// An integer buffer child (`index_buffer`), e.g. gather indices loaded with the weights.
pub const INDEX_BUFFER_OP: &str = "index_buffer";
