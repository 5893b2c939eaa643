//! Run-time support for generated code: build errors, context passed to components, component
//! outputs, and the small generic helpers that lowered spec expressions call.

use burn::tensor::Tensor;
use std::fmt;

mod detection;
pub mod fast;
mod fold;
pub mod memory;
pub mod primitives;
pub mod progress;
mod raw_tensor;
pub mod size;
pub mod trace;
pub use detection::*;
pub use fold::{Fold, fold_conv_norm, fold_pair, fold_sequence};
pub use raw_tensor::RawTensor;
pub use size::Size;

/// An error while resolving or building a component. `at` is a config path relative to the
/// component (`params.return_stage_idx`), when the spec names one, so the validator can point
/// at the offending key.
#[derive(Debug, Clone, PartialEq)]
pub struct BuildError {
    pub message: String,
    pub at: Option<String>,
    /// The submodule whose building failed (`stages.3.1.point_wise.conv`), when not the
    /// component itself.
    pub module: Vec<String>,
}

impl BuildError {
    pub fn new(message: impl Into<String>) -> Self {
        BuildError {
            message: message.into(),
            at: None,
            module: Vec::new(),
        }
    }
    pub fn at(at: &str, message: &str) -> Self {
        BuildError {
            message: message.to_string(),
            at: if at.is_empty() { None } else { Some(at.to_string()) },
            module: Vec::new(),
        }
    }

    /// The same error, raised inside the submodule `name`.
    pub fn within(mut self, name: impl fmt::Display) -> Self {
        self.module.insert(0, name.to_string());
        self
    }

    /// The error of a block as its parent sees it: the block's `at` names the block's own
    /// parameters, not the config's, so it is dropped.
    pub fn outside(mut self) -> Self {
        self.at = None;
        self
    }

    /// Points an error without a location at the config item (component-relative path) whose
    /// submodule failed; the innermost such item wins.
    pub fn located(mut self, at: &str) -> Self {
        if self.at.is_none() {
            self.at = Some(at.to_string());
        }
        self
    }
}

/// Runs `f`, turning a panic of a library it calls into an error message instead of a crash:
/// burn asserts, e.g., that a kernel fits its padded input (an image too small for the
/// model); the tokenizers crate indexes a malformed tokenizer.json's tables unchecked.
pub fn guarded<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    use std::sync::{Arc, Mutex};
    let message = Arc::new(Mutex::new(String::new()));
    let sink = message.clone();
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let text = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "the tensor library failed".into());
        *sink.lock().unwrap_or_else(|e| e.into_inner()) = text;
    }));
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    std::panic::set_hook(previous);
    result.map_err(|_| message.lock().unwrap_or_else(|e| e.into_inner()).clone())
}

/// Builds a submodule, naming it in any error.
pub fn scoped<T>(name: impl fmt::Display, f: impl FnOnce() -> Result<T, BuildError>) -> Result<T, BuildError> {
    f().map_err(|e| e.within(name))
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.module.is_empty() {
            write!(f, "in `{}`: ", self.module.join("."))?;
        }
        match &self.at {
            Some(at) => write!(f, "{} (at {at})", self.message),
            None => write!(f, "{}", self.message),
        }
    }
}

impl std::error::Error for BuildError {}

/// What a component learns from the model it is built into.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Context {
    pub task: String,
    pub num_classes: i64,
    pub feature_dim: i64,
    pub intermediate_features_dim: Vec<i64>,
    /// Strides of `intermediate_features_dim` (necks), when the backbone declares them.
    pub strides: Vec<i64>,
}

/// Feature metadata of a backbone or neck, computed from its parameters without building it.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Outputs {
    pub feature_dim: Option<i64>,
    pub intermediate_features_dim: Vec<i64>,
    pub strides: Vec<i64>,
    /// Text backbones: token ids must be below this.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vocab_size: Option<i64>,
    /// Text backbones: the most tokens one input may have (positions in the table).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<i64>,
    /// Models whose position table fixes the image side (CLIP's vision tower).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image_size: Option<i64>,
}

/// What a backbone returns: the pooled feature (classification) and the feature pyramid.
#[derive(Debug, Clone)]
pub struct BackboneOutput {
    pub last_feature: Option<Tensor<2>>,
    /// The map `last_feature` is pooled from, for heads that pool it themselves (embeddings).
    pub last_map: Option<Tensor<4>>,
    /// A text backbone's last hidden state [batch, tokens, channels].
    pub last_tokens: Option<Tensor<3>>,
    /// The attention mask of `last_tokens` [batch, tokens] (1.0 = real token), for pooling.
    pub token_mask: Option<Tensor<2>>,
    pub intermediate_features: Vec<Tensor<4>>,
}

/// A head's prediction (`pred` in NetsPresso): a tensor, or, for detection and pose heads, a
/// list or a record of predictions (RetinaNet's `{anchors, cls_logits: [...], ...}`).
#[derive(Debug, Clone)]
pub enum Pred {
    Rank1(Tensor<1>),
    Rank2(Tensor<2>),
    Rank3(Tensor<3>),
    Rank4(Tensor<4>),
    Rank5(Tensor<5>),
    List(Vec<Pred>),
    Map(Vec<(String, Pred)>),
}

macro_rules! pred_from {
    ($($rank:literal => $variant:ident),*) => {$(
        impl From<Tensor<$rank>> for Pred {
            fn from(t: Tensor<$rank>) -> Self {
                Pred::$variant(t)
            }
        }
    )*};
}
pred_from!(1 => Rank1, 2 => Rank2, 3 => Rank3, 4 => Rank4, 5 => Rank5);

impl Pred {
    /// The shape of a single-tensor prediction; of the first tensor of a list or record.
    pub fn dims(&self) -> Vec<usize> {
        match self {
            Pred::Rank1(t) => t.dims().to_vec(),
            Pred::Rank2(t) => t.dims().to_vec(),
            Pred::Rank3(t) => t.dims().to_vec(),
            Pred::Rank4(t) => t.dims().to_vec(),
            Pred::Rank5(t) => t.dims().to_vec(),
            Pred::List(xs) => xs.first().map(Pred::dims).unwrap_or_default(),
            Pred::Map(xs) => xs.first().map(|(_, p)| p.dims()).unwrap_or_default(),
        }
    }

    /// Every tensor of the prediction with its name: `pred` for a single tensor, `pred.0`,
    /// `pred.1`, ... for a list, `pred.<key>` for a record, nested as deep as needed.
    pub fn tensors(&self, name: &str) -> Vec<(String, RawTensor)> {
        let mut out = Vec::new();
        self.collect(name, &mut out);
        out
    }

    fn collect(&self, name: &str, out: &mut Vec<(String, RawTensor)>) {
        let raw = match self {
            Pred::Rank1(t) => RawTensor::from_tensor(t.clone()),
            Pred::Rank2(t) => RawTensor::from_tensor(t.clone()),
            Pred::Rank3(t) => RawTensor::from_tensor(t.clone()),
            Pred::Rank4(t) => RawTensor::from_tensor(t.clone()),
            Pred::Rank5(t) => RawTensor::from_tensor(t.clone()),
            Pred::List(xs) => {
                for (i, p) in xs.iter().enumerate() {
                    p.collect(&format!("{name}.{i}"), out);
                }
                return;
            }
            Pred::Map(xs) => {
                for (k, p) in xs {
                    p.collect(&format!("{name}.{k}"), out);
                }
                return;
            }
        };
        out.push((name.to_string(), raw.expect("predictions are float tensors")));
    }

    /// The entry `key` of a record prediction.
    pub fn get(&self, key: &str) -> Option<&Pred> {
        match self {
            Pred::Map(xs) => xs.iter().find(|(k, _)| k == key).map(|(_, p)| p),
            _ => None,
        }
    }
}

/// Deserialises validated parameters into a generated params type.
pub fn from_json<T: serde::de::DeserializeOwned>(v: &serde_json::Value) -> Result<T, BuildError> {
    serde_json::from_value(v.clone()).map_err(|e| BuildError::new(format!("invalid parameters: {e}")))
}

fn index(len: usize, i: i64) -> Result<usize, BuildError> {
    let j = if i < 0 { len as i64 + i } else { i };
    if j < 0 || j >= len as i64 {
        return Err(BuildError::new(format!(
            "index {i} is out of range for a list of {len} items"
        )));
    }
    Ok(j as usize)
}

/// `xs[i]`, negative indices counting from the end.
pub fn at<T: Clone>(xs: &[T], i: i64) -> Result<T, BuildError> {
    Ok(xs[index(xs.len(), i)?].clone())
}

/// `xs[i]` borrowed, for an item that is only read (`xs[i][j]`, `len(xs[i])`).
pub fn at_ref<T>(xs: &[T], i: i64) -> Result<&T, BuildError> {
    Ok(&xs[index(xs.len(), i)?])
}

/// `xs[[i, j, ...]]`: the items at several indices.
pub fn pick<T: Clone>(xs: &[T], idx: &[i64]) -> Result<Vec<T>, BuildError> {
    idx.iter().map(|i| at(xs, *i)).collect()
}

/// `xs[lo:hi]` with Python semantics (clamped, negative from the end).
pub fn slice<T: Clone>(xs: &[T], lo: Option<i64>, hi: Option<i64>) -> Vec<T> {
    let n = xs.len() as i64;
    let norm = |v: i64| if v < 0 { (n + v).max(0) } else { v.min(n) };
    let a = lo.map(norm).unwrap_or(0);
    let b = hi.map(norm).unwrap_or(n);
    if a >= b {
        Vec::new()
    } else {
        xs[a as usize..b as usize].to_vec()
    }
}

/// The longest `range` a spec may build: far beyond any real model (65 536 blocks are
/// fine), short enough that a config's absurd count is an error instead of an allocation.
pub const MAX_RANGE: i128 = 1 << 20;

/// Python's `range(a, b, step)`.
pub fn range_step(a: i64, b: i64, step: i64) -> Result<Vec<i64>, BuildError> {
    if step == 0 {
        return Err(BuildError::new("`range` with a step of 0"));
    }
    let (a, b, step) = (a as i128, b as i128, step as i128);
    let len = if step > 0 {
        (b - a + step - 1) / step
    } else {
        (a - b - step - 1) / -step
    }
    .max(0);
    if len > MAX_RANGE {
        return Err(BuildError::new(format!(
            "a range of {len} items (from {a} to {b}); zoo builds at most {MAX_RANGE} of anything"
        )));
    }
    Ok((0..len).map(|k| (a + k * step) as i64).collect())
}

fn overflow(op: &str, a: i64, b: i64) -> BuildError {
    BuildError::new(format!("{a} {op} {b} does not fit in a 64-bit integer"))
}

pub fn iadd(a: i64, b: i64) -> Result<i64, BuildError> {
    a.checked_add(b).ok_or_else(|| overflow("+", a, b))
}

pub fn isub(a: i64, b: i64) -> Result<i64, BuildError> {
    a.checked_sub(b).ok_or_else(|| overflow("-", a, b))
}

pub fn imul(a: i64, b: i64) -> Result<i64, BuildError> {
    a.checked_mul(b).ok_or_else(|| overflow("*", a, b))
}

/// `sum` of a list of ints, checked.
pub fn isum(xs: &[i64]) -> Result<i64, BuildError> {
    xs.iter().try_fold(0i64, |acc, x| iadd(acc, *x))
}

/// `prod` of a list of ints, checked.
pub fn iprod(xs: &[i64]) -> Result<i64, BuildError> {
    xs.iter().try_fold(1i64, |acc, x| imul(acc, *x))
}

pub fn concat<T>(mut a: Vec<T>, b: Vec<T>) -> Vec<T> {
    a.extend(b);
    a
}

/// The common length of zipped lists; unequal lengths are an error (Python's zip would
/// silently truncate).
pub fn same_len(lens: &[usize]) -> Result<usize, BuildError> {
    let first = lens.first().copied().unwrap_or(0);
    if lens.iter().any(|l| *l != first) {
        return Err(BuildError::new(format!("zipped lists have different lengths {lens:?}")));
    }
    Ok(first)
}

pub fn floordiv(a: i64, b: i64) -> Result<i64, BuildError> {
    if b == 0 {
        return Err(BuildError::new("division by zero"));
    }
    // Python's floor division; i64::MIN // -1 is the one quotient that does not fit.
    let (q, r) = (
        a.checked_div_euclid(b).ok_or_else(|| overflow("//", a, b))?,
        a.rem_euclid(b),
    );
    Ok(q - if r != 0 && b < 0 { 1 } else { 0 })
}

pub fn modulo(a: i64, b: i64) -> Result<i64, BuildError> {
    if b == 0 {
        return Err(BuildError::new("division by zero"));
    }
    // Python's sign rule (the result takes the divisor's sign), without overflowing.
    let r = a.checked_rem(b).unwrap_or(0);
    Ok(if r != 0 && ((r < 0) != (b < 0)) { r + b } else { r })
}

pub fn ipow(a: i64, b: i64) -> Result<i64, BuildError> {
    if b < 0 {
        return Err(BuildError::new("negative integer exponent"));
    }
    u32::try_from(b)
        .ok()
        .and_then(|b| a.checked_pow(b))
        .ok_or_else(|| overflow("**", a, b))
}

/// Python's `round`: half to even.
pub fn round(x: f64) -> i64 {
    let r = x.round();
    if (x - x.trunc()).abs() == 0.5 && (r as i64) % 2 != 0 {
        (r - x.signum()) as i64
    } else {
        r as i64
    }
}
pub fn ceil(x: f64) -> i64 {
    x.ceil() as i64
}
pub fn floor(x: f64) -> i64 {
    x.floor() as i64
}
pub fn int(x: f64) -> i64 {
    x.trunc() as i64
}

/// The TensorFlow/NetsPresso `make_divisible`.
pub fn make_divisible(v: f64, divisor: i64, min_value: Option<i64>) -> Result<i64, BuildError> {
    if divisor <= 0 {
        return Err(BuildError::new(format!("make_divisible by {divisor}")));
    }
    if !v.is_finite() || v.abs() >= i64::MAX as f64 {
        return Err(BuildError::new(format!("{v} channels do not fit in a 64-bit integer")));
    }
    let min_value = min_value.unwrap_or(divisor);
    let d = divisor as f64;
    // Float to int saturates; a config's absurd width is an error, not a wrapped channel count.
    let rounded = imul(((v + d / 2.0) as i64).div_euclid(divisor), divisor)?;
    let mut new_v = min_value.max(rounded);
    if (new_v as f64) < 0.9 * v {
        new_v = iadd(new_v, divisor)?;
    }
    Ok(new_v)
}

pub fn unwrap<T>(v: Option<T>, what: &str) -> Result<T, BuildError> {
    v.ok_or_else(|| BuildError::new(format!("`{what}` is null but a value is needed here")))
}

pub fn min_list(xs: &[i64]) -> Result<i64, BuildError> {
    xs.iter()
        .copied()
        .min()
        .ok_or_else(|| BuildError::new("`min` of an empty list"))
}
pub fn max_list(xs: &[i64]) -> Result<i64, BuildError> {
    xs.iter()
        .copied()
        .max()
        .ok_or_else(|| BuildError::new("`max` of an empty list"))
}
pub fn min_listf(xs: &[f64]) -> Result<f64, BuildError> {
    xs.iter()
        .copied()
        .reduce(f64::min)
        .ok_or_else(|| BuildError::new("`min` of an empty list"))
}
pub fn max_listf(xs: &[f64]) -> Result<f64, BuildError> {
    xs.iter()
        .copied()
        .reduce(f64::max)
        .ok_or_else(|| BuildError::new("`max` of an empty list"))
}

/// One subscript of a tensor index expression.
pub enum Sub {
    At(i64),
    /// `lo:hi:step` (step >= 1).
    Range(Option<i64>, Option<i64>, usize),
}

/// `x[:, 0]`-style indexing: ranges keep a dimension, integers drop it.
pub fn index_tensor<const D: usize, const O: usize>(x: Tensor<D>, subs: &[Sub]) -> Tensor<O> {
    let dims = x.dims();
    let mut x = x;
    let mut keep = Vec::new();
    for (d, s) in subs.iter().enumerate() {
        let n = dims[d] as i64;
        let norm = |v: i64| if v < 0 { (n + v).max(0) } else { v.min(n) };
        match s {
            Sub::At(i) => {
                let i = norm(*i) as usize;
                x = x.narrow(d, i, 1);
            }
            Sub::Range(lo, hi, step) => {
                let a = lo.map(norm).unwrap_or(0) as usize;
                let b = hi.map(norm).unwrap_or(n) as usize;
                x = x.narrow(d, a, b.saturating_sub(a));
                if *step > 1 {
                    let picked: Vec<i64> = (0..b.saturating_sub(a)).step_by(*step).map(|i| i as i64).collect();
                    let device = x.device();
                    x = x.select(d, Tensor::<1, burn::tensor::Int>::from_data(picked.as_slice(), &device));
                }
                keep.push(d);
            }
        }
    }
    let cur = x.dims();
    let mut shape = Vec::with_capacity(O);
    for (d, size) in cur.iter().enumerate() {
        if d >= subs.len() || keep.contains(&d) {
            shape.push(*size as i64);
        }
    }
    let shape: [i64; O] = shape.try_into().expect("rank checked by the spec compiler");
    x.reshape(shape)
}

/// Nearest-neighbour resize as PyTorch's `F.interpolate(mode="nearest")`: output pixel `i`
/// takes input pixel `floor(i * in / out)`.
pub fn nearest_to(x: Tensor<4>, size: [usize; 2]) -> Tensor<4> {
    let [_, _, h, w] = x.dims();
    if [h, w] == size {
        return x;
    }
    let device = x.device();
    let pick = |inp: usize, out: usize| -> Tensor<1, burn::tensor::Int> {
        let idx: Vec<i64> = (0..out)
            .map(|i| (((i as f64) * (inp as f64 / out as f64)).floor() as i64).min(inp as i64 - 1))
            .collect();
        Tensor::from_data(idx.as_slice(), &device)
    };
    x.select(2, pick(h, size[0])).select(3, pick(w, size[1]))
}

/// Anchors `[x1, y1, x2, y2]` of every cell of every feature map, level by level, row-major
/// over cells and by base anchor within a cell: `cells[k]` are level k's zero-centred base
/// anchors, shifted by the cell's top-left corner; cells are `image // grid` pixels apart.
pub fn grid_anchors(feats: &[Tensor<4>], cells: &[Vec<Vec<i64>>], image: [i64; 2]) -> Tensor<2> {
    let mut out: Vec<f32> = Vec::new();
    for (f, base) in feats.iter().zip(cells) {
        let [_, _, gh, gw] = f.dims();
        let (sh, sw) = (image[0] / gh.max(1) as i64, image[1] / gw.max(1) as i64);
        for y in 0..gh as i64 {
            for x in 0..gw as i64 {
                for a in base {
                    let shift = [x * sw, y * sh, x * sw, y * sh];
                    out.extend((0..4).map(|k| (shift[k] + a.get(k).copied().unwrap_or(0)) as f32));
                }
            }
        }
    }
    let n = out.len() / 4;
    let device = feats.first().map(|f| f.device()).unwrap_or_default();
    Tensor::<1>::from_data(out.as_slice(), &device).reshape([n, 4])
}

/// Rotary position embedding (RoFormer) over positions along dimension 1, as mmpose's
/// `rope(x, dim=1)`: channels split in halves rotated by angle `p * 10000^(i / half)`.
pub fn rope<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    let dims = x.dims();
    let (k, c) = (dims[1], dims[D - 1]);
    let half = c / 2;
    let device = x.device();
    let mut sin = Vec::with_capacity(k * half);
    let mut cos = Vec::with_capacity(k * half);
    // In f32 as mmpose computes it (freq = -arange(half) / half; inv_freq = 10000 ** -freq):
    // the angles reach 10^4 * positions, where f64 would round differently.
    for p in 0..k {
        for i in 0..half {
            let inv = 10000f32.powf(i as f32 / half as f32);
            let a = p as f32 * inv;
            sin.push(a.sin());
            cos.push(a.cos());
        }
    }
    let mut shape = [1usize; D];
    shape[1] = k;
    shape[D - 1] = half;
    let sin = Tensor::<1>::from_data(sin.as_slice(), &device).reshape(shape);
    let cos = Tensor::<1>::from_data(cos.as_slice(), &device).reshape(shape);
    let parts = x.chunk(2, D - 1);
    let (x1, x2) = (parts[0].clone(), parts[1].clone());
    Tensor::cat(
        vec![x1.clone() * cos.clone() - x2.clone() * sin.clone(), x2 * cos + x1 * sin],
        D - 1,
    )
}

/// The `[n, n]` Toeplitz matrix whose element `(i, j)` is `w[j - i + n - 1]` (a relative
/// position bias from its `2n - 1` diagonals).
pub fn toeplitz(w: Tensor<1>, n: usize) -> Tensor<2> {
    let device = w.device();
    let idx: Vec<i64> = (0..n)
        .flat_map(|i| (0..n).map(move |j| (j + n - 1 - i) as i64))
        .collect();
    w.select(0, Tensor::<1, burn::tensor::Int>::from_data(idx.as_slice(), &device))
        .reshape([n, n])
}

/// Global average pooling to `[batch, channels]`.
pub fn global_avg_pool(x: Tensor<4>) -> Tensor<2> {
    let [b, c, _, _] = x.dims();
    x.mean_dim(3).mean_dim(2).reshape([b, c])
}

/// Matrix product over the last two dimensions; leading dimensions of size 1 broadcast (as
/// in `torch.matmul`).
pub fn matmul<const D: usize>(a: Tensor<D>, b: Tensor<D>) -> Tensor<D> {
    let (da, db) = (a.dims(), b.dims());
    let mut sa = da;
    let mut sb = db;
    for k in 0..D.saturating_sub(2) {
        let n = da[k].max(db[k]);
        sa[k] = n;
        sb[k] = n;
    }
    let a = if sa != da { a.expand(sa) } else { a };
    let b = if sb != db { b.expand(sb) } else { b };
    a.matmul(b)
}

/// `x` indexed along `dim` by every entry of `idx` (PyTorch's `x[:, idx]` for `dim` 1): the
/// result has `idx`'s dimensions in place of `dim`.
pub fn index_select<const R: usize, const RI: usize, const RO: usize>(
    x: Tensor<R>,
    dim: usize,
    idx: Tensor<RI, burn::tensor::Int>,
) -> Tensor<RO> {
    let (xd, id) = (x.dims(), idx.dims());
    let picked = x.select(dim, idx.flatten::<1>(0, RI - 1));
    let mut shape = [0usize; RO];
    shape[..dim].copy_from_slice(&xd[..dim]);
    shape[dim..dim + RI].copy_from_slice(&id);
    shape[dim + RI..].copy_from_slice(&xd[dim + 1..]);
    picked.reshape(shape)
}

/// Bilinear resize to `[height, width]` with PyTorch's `align_corners=False` sampling.
pub fn interpolate_to(x: Tensor<4>, size: [usize; 2]) -> Tensor<4> {
    use burn::tensor::module::interpolate;
    use burn::tensor::ops::{InterpolateMode, InterpolateOptions};
    if x.dims()[2..] == size {
        return x;
    }
    interpolate(
        x,
        InterpolateOptions::new(InterpolateMode::Bilinear)
            .with_output_size(size)
            .with_align_corners(false),
    )
}

/// Bilinear resize to the spatial size of `like`.
pub fn interpolate_like(x: Tensor<4>, like: &Tensor<4>) -> Tensor<4> {
    let [_, _, h, w] = like.dims();
    interpolate_to(x, [h, w])
}

/// Repeats a `[1, ...]` tensor along the batch dimension of `like`.
pub fn expand_batch<const D: usize, const E: usize>(t: Tensor<D>, like: &Tensor<E>) -> Tensor<D> {
    let b = like.dims()[0];
    let mut reps = [1usize; D];
    reps[0] = b;
    t.repeat(&reps)
}

/// Multi-head scaled dot-product attention on `[batch, tokens, channels]` projections.
pub fn attention(q: Tensor<3>, k: Tensor<3>, v: Tensor<3>, heads: i64) -> Tensor<3> {
    let heads = heads as usize;
    let [b, nq, c] = q.dims();
    let nk = k.dims()[1];
    let cv = v.dims()[2];
    let hd = c / heads;
    let q = q.reshape([b, nq, heads, hd]).swap_dims(1, 2);
    let k = k.reshape([b, nk, heads, hd]).swap_dims(1, 2);
    let v = v.reshape([b, nk, heads, cv / heads]).swap_dims(1, 2);
    // burn's fused attention (scale 1/√head_dim): flex runs it without materialising the
    // transposed keys or a separate softmax pass; under autodiff burn composes it from ops.
    burn::tensor::module::attention(q, k, v, None, None, Default::default())
        .swap_dims(1, 2)
        .reshape([b, nq, cv])
}

/// Attention with padded keys and/or future keys left out: `mask` [batch, keys] is 1.0 for keys
/// to attend, 0.0 for padding; `causal` hides key j from query i < j. Hidden keys get the
/// lowest finite score, as transformers does, so a row with every key hidden stays finite.
pub fn masked_attention(
    q: Tensor<3>,
    k: Tensor<3>,
    v: Tensor<3>,
    heads: i64,
    mask: Option<Tensor<2>>,
    causal: bool,
) -> Tensor<3> {
    let heads = heads as usize;
    let [b, nq, c] = q.dims();
    let nk = k.dims()[1];
    let cv = v.dims()[2];
    let hd = c / heads;
    let device = q.device();
    let q = q.reshape([b, nq, heads, hd]).swap_dims(1, 2);
    let k = k.reshape([b, nk, heads, hd]).swap_dims(1, 2);
    let v = v.reshape([b, nk, heads, cv / heads]).swap_dims(1, 2);
    let mut scores = q.matmul(k.swap_dims(2, 3)).div_scalar((hd as f64).sqrt());
    if let Some(m) = mask {
        let hidden = m.lower_elem(0.5).reshape([b, 1, 1, nk]).expand([b, heads, nq, nk]);
        scores = scores.mask_fill(hidden, f32::MIN);
    }
    if causal {
        let i = Tensor::<1, burn::tensor::Int>::arange(0..nq as i64, &device).reshape([nq, 1]);
        let j = Tensor::<1, burn::tensor::Int>::arange(0..nk as i64, &device).reshape([1, nk]);
        let future = j.greater(i).reshape([1, 1, nq, nk]).expand([b, heads, nq, nk]);
        scores = scores.mask_fill(future, f32::MIN);
    }
    let probs = burn::tensor::activation::softmax(scores, 3);
    probs.matmul(v).swap_dims(1, 2).reshape([b, nq, cv])
}

/// Positions `0..tokens` of token ids [batch, tokens], as [1, tokens].
pub fn position_ids(ids: &Tensor<2, burn::tensor::Int>) -> Tensor<2, burn::tensor::Int> {
    let n = ids.dims()[1];
    Tensor::<1, burn::tensor::Int>::arange(0..n as i64, &ids.device()).reshape([1, n])
}

/// Positions `0..tokens` of token states [batch, tokens, channels], as [1, tokens].
pub fn token_positions(x: &Tensor<3>) -> Tensor<2, burn::tensor::Int> {
    let n = x.dims()[1];
    Tensor::<1, burn::tensor::Int>::arange(0..n as i64, &x.device()).reshape([1, n])
}

/// A mask keeping every token of [batch, tokens, channels], as [batch, tokens, 1].
pub fn ones_mask(x: &Tensor<3>) -> Tensor<3> {
    let [b, n, _] = x.dims();
    Tensor::ones([b, n, 1], &x.device())
}

/// Zeros shaped like token ids (BERT's token types when none are given).
pub fn zero_ids(ids: &Tensor<2, burn::tensor::Int>) -> Tensor<2, burn::tensor::Int> {
    ids.zeros_like()
}

/// Mean of the tokens a mask [batch, tokens, 1] keeps (sentence-transformers' mean pooling:
/// the mask sum is clamped at 1e-9).
pub fn masked_mean(x: Tensor<3>, mask: Tensor<3>) -> Tensor<2> {
    let summed = (x * mask.clone()).sum_dim(1).squeeze_dim::<2>(1);
    let count = mask.sum_dim(1).squeeze_dim::<2>(1).clamp_min(1e-9);
    summed / count
}

/// Maximum over the tokens a mask [batch, tokens, 1] keeps; padding counts as -1e9, as
/// sentence-transformers sets it.
pub fn masked_max(x: Tensor<3>, mask: Tensor<3>) -> Tensor<2> {
    let [b, n, c] = x.dims();
    let hidden = mask.lower_elem(0.5).expand([b, n, c]);
    x.mask_fill(hidden, -1e9).max_dim(1).squeeze_dim::<2>(1)
}

/// The token at the position of each row's largest id (CLIP's end-of-text pooling: the
/// end-of-text token has the largest id; the first maximum wins, as `torch.argmax`).
pub fn at_argmax(x: Tensor<3>, ids: Tensor<2, burn::tensor::Int>) -> Tensor<2> {
    let [b, _, c] = x.dims();
    let n = ids.dims()[1];
    // argmax with the first maximum: the smallest position among the maxima.
    let max = ids.clone().max_dim(1);
    let positions = Tensor::<1, burn::tensor::Int>::arange(0..n as i64, &ids.device())
        .reshape([1, n])
        .expand([b, n]);
    let first = positions
        .mask_fill(ids.equal(max.expand([b, n])).bool_not(), n as i64)
        .min_dim(1);
    x.gather(1, first.reshape([b, 1, 1]).expand([b, 1, c])).reshape([b, c])
}

pub fn sigmoid<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    fast::sigmoid(x)
}
/// PyTorch's Hardsigmoid: relu6(x + 3) / 6.
pub fn hard_sigmoid<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    burn::tensor::activation::hard_sigmoid(x, 1.0 / 6.0, 0.5)
}
pub fn relu<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    burn::tensor::activation::relu(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_semantics() {
        assert_eq!(floordiv(-7, 2).unwrap(), -4);
        assert_eq!(modulo(-7, 2).unwrap(), 1);
        assert_eq!(round(2.5), 2);
        assert_eq!(round(3.5), 4);
        assert_eq!(make_divisible(72.0 / 4.0, 8, None), Ok(24));
        assert_eq!(make_divisible(16.0 / 4.0, 8, None), Ok(8));
        assert_eq!(slice(&[1, 2, 3, 4], Some(1), None), vec![2, 3, 4]);
        assert_eq!(slice(&[1, 2, 3, 4], Some(-2), None), vec![3, 4]);
        assert_eq!(at(&[1, 2, 3], -1).unwrap(), 3);
        assert!(at(&[1, 2, 3], 3).is_err());
        assert_eq!(floordiv(7, -2).unwrap(), -4);
        assert_eq!(modulo(7, -2).unwrap(), -1);
        assert_eq!(modulo(-6, 3).unwrap(), 0);
        assert_eq!(range_step(0, 5, 2).unwrap(), vec![0, 2, 4]);
        assert_eq!(range_step(5, 0, -2).unwrap(), vec![5, 3, 1]);
        assert_eq!(range_step(3, 1, 1).unwrap(), Vec::<i64>::new());
    }

    #[test]
    fn config_arithmetic_never_overflows_or_allocates_without_bound() {
        assert_eq!(imul(1 << 31, 1 << 31).unwrap(), 1 << 62);
        assert_eq!(
            imul(i64::MAX, 16).unwrap_err().message,
            "9223372036854775807 * 16 does not fit in a 64-bit integer"
        );
        assert!(iadd(i64::MAX, 1).is_err());
        assert!(make_divisible(9.3e18, 8, None).is_err());
        assert!(make_divisible(f64::NAN, 8, None).is_err());
        assert!(make_divisible(16.0, 0, None).is_err());
        assert_eq!(iprod(&[2, 3, 4]), Ok(24));
        assert!(iprod(&[1 << 40, 1 << 40]).is_err());
        assert!(isum(&[i64::MAX, 1]).is_err());
        assert!(isub(0, i64::MIN).is_err());
        assert!(floordiv(i64::MIN, -1).is_err());
        assert_eq!(modulo(i64::MIN, -1).unwrap(), 0);
        assert_eq!(range_step(0, 65_536, 1).unwrap().len(), 65_536);
        let e = range_step(0, i64::MAX, 1).unwrap_err().message;
        assert!(e.starts_with("a range of 9223372036854775807 items"), "{e}");
        assert!(range_step(i64::MAX, i64::MIN, -1).is_err());
    }
}
