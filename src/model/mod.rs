//! A task model (backbone → optional neck → head) built from a validated config, and
//! ([`conformance`]) the checks that every spec builds and keeps its declared contract.

pub mod conformance;

use crate::architectures::generated::{AnyBackbone, AnyFull, AnyHead, AnyNeck};
use crate::config::{Architecture, ModelConfig};
use crate::rt::{BuildError, Context, Pred};
use burn::module::Module;
use burn::tensor::{Device, Tensor};

/// A model as NetsPresso names its state dict: a backbone and a head (`backbone.…`, `head.…`),
/// or a full model whose modules sit at the top level (`conv1.…`).
// Built once per run and moved rarely; boxing would only add indirection.
#[allow(clippy::large_enum_variant)]
#[derive(Module, Debug)]
pub enum TaskModel {
    Parts(PartsModel),
    Full(AnyFull),
}

/// A backbone (→ optional neck) → head model.
#[derive(Module, Debug)]
pub struct PartsModel {
    pub backbone: AnyBackbone,
    pub neck: Option<AnyNeck>,
    pub head: AnyHead,
}

impl TaskModel {
    /// Folds every BatchNorm that directly follows a convolution into it (`rt::fold`): the
    /// same outputs (within float rounding), one pass less per pair. Inference only: the
    /// folded model no longer has those norms' parameters, so it cannot be trained or saved
    /// as a checkpoint of the architecture.
    /// Returns how many norms were folded.
    pub fn fold_for_inference(&mut self) -> usize {
        use crate::rt::Fold;
        match self {
            TaskModel::Parts(m) => m.backbone.fold() + m.neck.fold() + m.head.fold(),
            TaskModel::Full(m) => m.fold(),
        }
    }

    /// The raw prediction (`pred` in NetsPresso), before any postprocessing.
    pub fn forward(&self, x: Tensor<4>) -> Pred {
        match self {
            TaskModel::Parts(m) => {
                let mut features = m.backbone.forward(x);
                if let Some(neck) = &m.neck {
                    features.intermediate_features = neck.forward(features.intermediate_features);
                }
                m.head.forward(features)
            }
            TaskModel::Full(m) => m.forward(x),
        }
    }

    /// What the model reads: `image`, `tokens`, or `image+tokens` (two towers).
    pub fn input_kind(&self) -> &'static str {
        match self {
            TaskModel::Parts(m) => m.backbone.input_kind(),
            TaskModel::Full(m) => m.input_kind(),
        }
    }

    pub fn reads_images(&self) -> bool {
        self.input_kind().contains("image")
    }

    pub fn reads_tokens(&self) -> bool {
        self.input_kind().contains("tokens")
    }

    /// The outputs of a training step: the prediction, then what only the loss reads (a list,
    /// when the spec has a `forward_train` program; the prediction alone otherwise).
    pub fn forward_train(&self, x: Tensor<4>) -> Pred {
        match self {
            TaskModel::Parts(_) => self.forward(x),
            TaskModel::Full(m) => m.forward_train(x),
        }
    }

    /// The raw prediction of a text model for token ids [batch, tokens] and their attention
    /// mask (1.0 = real token, 0.0 = padding). Callers check [`TaskModel::input_kind`].
    pub fn forward_tokens(&self, ids: Tensor<2, burn::tensor::Int>, mask: Tensor<2>) -> Pred {
        match self {
            TaskModel::Parts(m) => m.head.forward(m.backbone.forward_tokens(ids, mask)),
            TaskModel::Full(m) => m.forward_tokens(ids, mask),
        }
    }
}

/// The contexts the backbone, the neck (if any) and the head of a parts model are built in:
/// feature dims flow from the backbone through the neck to the head.
pub fn contexts(
    task: &str,
    backbone: &crate::config::Component,
    neck: Option<&crate::config::Component>,
    num_classes: usize,
) -> Result<(Context, Option<Context>, Context), BuildError> {
    let bctx = Context {
        task: task.to_string(),
        ..Default::default()
    };
    let mut outputs = AnyBackbone::outputs(&backbone.name, &backbone.params, &bctx)?;
    let nctx = match neck {
        Some(n) => {
            let nctx = Context {
                task: task.to_string(),
                intermediate_features_dim: outputs.intermediate_features_dim.clone(),
                strides: outputs.strides.clone(),
                ..Default::default()
            };
            let nout = AnyNeck::outputs(&n.name, &n.params, &nctx)?;
            outputs.intermediate_features_dim = nout.intermediate_features_dim;
            outputs.strides = nout.strides;
            Some(nctx)
        }
        None => None,
    };
    let hctx = Context {
        task: task.to_string(),
        num_classes: num_classes as i64,
        feature_dim: outputs.feature_dim.unwrap_or(0),
        intermediate_features_dim: outputs.intermediate_features_dim,
        strides: outputs.strides,
    };
    Ok((bctx, nctx, hctx))
}

/// A text model's limits: token ids must be below `vocab_size`, inputs at most `max_tokens`
/// long. `None` for image models.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TextLimits {
    pub vocab_size: usize,
    pub max_tokens: usize,
}

pub fn text_limits(cfg: &ModelConfig) -> Result<Option<TextLimits>, BuildError> {
    let out = model_outputs(cfg)?;
    Ok(match (out.vocab_size, out.max_tokens) {
        (Some(v), Some(m)) => Some(TextLimits {
            vocab_size: v.max(0) as usize,
            max_tokens: m.max(0) as usize,
        }),
        _ => None,
    })
}

/// What the model's backbone (or full model) declares about itself, from its params alone.
pub fn model_outputs(cfg: &ModelConfig) -> Result<crate::rt::Outputs, BuildError> {
    let ctx = Context {
        task: cfg.task.clone(),
        ..Default::default()
    };
    match &cfg.architecture {
        Architecture::Parts { backbone, .. } => AnyBackbone::outputs(&backbone.name, &backbone.params, &ctx),
        Architecture::Full(f) => AnyFull::outputs(&f.name, &f.params, &ctx),
    }
}

impl TextLimits {
    /// Checks token ids [batch, tokens] against the limits; the message names the first offence.
    pub fn check(&self, ids: &[i64], tokens: usize) -> Result<(), String> {
        if tokens > self.max_tokens {
            return Err(format!(
                "{tokens} tokens per input, the model takes at most {} (its position table)",
                self.max_tokens
            ));
        }
        if let Some((k, id)) = ids
            .iter()
            .enumerate()
            .find(|(_, id)| **id < 0 || **id as usize >= self.vocab_size)
        {
            return Err(format!(
                "token id {id} (row {}, position {}) is outside the vocabulary of {} ids",
                k / tokens.max(1),
                k % tokens.max(1),
                self.vocab_size
            ));
        }
        Ok(())
    }
}

fn full_context(cfg: &ModelConfig, num_classes: usize) -> Context {
    Context {
        task: cfg.task.clone(),
        num_classes: num_classes as i64,
        ..Default::default()
    }
}

/// Parameters and buffer bytes the model of a validated config would have, computed from the
/// config alone (the specs' generated `size`), without building anything.
pub fn size(cfg: &ModelConfig, num_classes: usize) -> Result<crate::rt::Size, BuildError> {
    match &cfg.architecture {
        Architecture::Parts { backbone, neck, head } => {
            let (bctx, nctx, hctx) = contexts(&cfg.task, backbone, neck.as_ref(), num_classes)?;
            let mut total = AnyBackbone::size(&backbone.name, &backbone.params, &bctx)?;
            if let (Some(n), Some(nctx)) = (neck, &nctx) {
                total += AnyNeck::size(&n.name, &n.params, nctx)?;
            }
            Ok(total + AnyHead::size(&head.name, &head.params, &hctx)?)
        }
        Architecture::Full(f) => AnyFull::size(&f.name, &f.params, &full_context(cfg, num_classes)),
    }
}

/// Persistent buffer bytes of a built model (BatchNorm statistics, tables; integer buffers
/// as i64), to check [`size`] against.
pub fn buffer_bytes<M: Module>(module: &M) -> u64 {
    tally(module).1
}

/// Builds the model of a validated config for `num_classes` classes (with a progress line
/// on stderr when a config of very many blocks takes long).
pub fn build(cfg: &ModelConfig, num_classes: usize, device: &Device) -> Result<TaskModel, BuildError> {
    let blocks = size(cfg, num_classes)?.blocks;
    crate::rt::progress::building(blocks, || build_now(cfg, num_classes, device))
}

fn build_now(cfg: &ModelConfig, num_classes: usize, device: &Device) -> Result<TaskModel, BuildError> {
    match &cfg.architecture {
        Architecture::Parts { backbone, neck, head } => {
            let (bctx, nctx, hctx) = contexts(&cfg.task, backbone, neck.as_ref(), num_classes)?;
            let b = AnyBackbone::init(&backbone.name, &backbone.params, &bctx, device)?;
            let n = match (neck, &nctx) {
                (Some(n), Some(nctx)) => Some(AnyNeck::init(&n.name, &n.params, nctx, device)?),
                _ => None,
            };
            let h = AnyHead::init(&head.name, &head.params, &hctx, device)?;
            // NetsPresso's `freeze_backbone`: backbone parameters get no gradients, so no updates.
            let b = if cfg.freeze_backbone { b.no_grad() } else { b };
            Ok(TaskModel::Parts(PartsModel {
                backbone: b,
                neck: n,
                head: h,
            }))
        }
        Architecture::Full(f) => Ok(TaskModel::Full(AnyFull::init(
            &f.name,
            &f.params,
            &full_context(cfg, num_classes),
            device,
        )?)),
    }
}

/// The tensors whose shape follows the number of classes (the head's, or a full model's
/// classifiers), found by building for 1 and for 2 classes.
pub fn class_dependent_keys(cfg: &ModelConfig, device: &Device) -> Result<Vec<String>, BuildError> {
    let (one, two, prefix) = match &cfg.architecture {
        Architecture::Parts { backbone, neck, head } => {
            let keys = |classes: usize| -> Result<Vec<(String, Vec<usize>)>, BuildError> {
                let (_, _, hctx) = contexts(&cfg.task, backbone, neck.as_ref(), classes)?;
                Ok(state_dict(&AnyHead::init(&head.name, &head.params, &hctx, device)?))
            };
            (keys(1)?, keys(2)?, "head.")
        }
        Architecture::Full(f) => {
            let keys = |classes: usize| -> Result<Vec<(String, Vec<usize>)>, BuildError> {
                Ok(state_dict(&AnyFull::init(
                    &f.name,
                    &f.params,
                    &full_context(cfg, classes),
                    device,
                )?))
            };
            (keys(1)?, keys(2)?, "")
        }
    };
    Ok(one
        .into_iter()
        .zip(two)
        .filter(|(a, b)| a.1 != b.1)
        .map(|(a, _)| format!("{prefix}{}", a.0))
        .collect())
}

pub use crate::rt::guarded;

/// The one input side a model takes, when its position tables fix it (CLIP's image tower).
pub fn fixed_image_size(cfg: &ModelConfig) -> Option<usize> {
    model_outputs(cfg)
        .ok()
        .and_then(|o| o.image_size)
        .map(|s| s.max(1) as usize)
}

/// Side lengths of the square inputs the forward-memory estimate measures (below 128, fixed
/// workspace hides the growth).
const PROBE_SIDES: [usize; 2] = [128, 256];

/// Passes up to this many pixels (batch × H × W) are not measured first: every zoo model runs
/// them in well under a few GiB.
pub const UNMEASURED_PIXELS: usize = 1 << 20;

/// Heap bytes one forward pass of `batch` images of `h`×`w` holds at its peak (the input and
/// the activations), measured on two small inputs and extrapolated as `a + b·p` in the pixel
/// count `p`, the `p` term times the batch. That is the growth of convolutions; attention over
/// all positions grows faster at sizes these probes cannot show, so this is a floor there (an
/// allocation that still fails ends as `rt::memory`'s out-of-memory error). A model with a
/// fixed input size is measured at that size. `None` when it cannot be measured: no counting
/// allocator, a text model, or a model that cannot run on the probe inputs.
pub fn forward_bytes(
    model: &TaskModel,
    batch: usize,
    h: usize,
    w: usize,
    fixed: Option<usize>,
    device: &Device,
) -> Option<u64> {
    if !model.reads_images() || model.reads_tokens() {
        return None;
    }
    let pass = |s: usize| {
        crate::rt::memory::measure(|| {
            guarded(|| {
                let _ = model.forward(Tensor::<4>::zeros([1, 3, s, s], device));
            })
        })
    };
    let sides: Vec<usize> = match fixed {
        Some(s) => vec![s],
        None => PROBE_SIDES.to_vec(),
    };
    // The first pass initialises lazily created parameters; it is not measured.
    pass(sides[0]).0.ok()?;
    let mut points = Vec::new();
    for s in &sides {
        let (ran, peak) = pass(*s);
        ran.ok()?;
        points.push((*s as f64 * *s as f64, peak? as f64));
    }
    let p = h as f64 * w as f64;
    let bytes = match points.as_slice() {
        [(_, m)] => *m * batch as f64,
        [(p1, m1), (p2, m2)] => {
            let b = ((m2 - m1) / (p2 - p1)).max(0.0);
            let a = (m2 - b * p2).max(0.0);
            a + b * p * batch as f64
        }
        _ => return None,
    };
    Some(bytes.min(u64::MAX as f64) as u64)
}

/// Refuses a forward pass that would not fit in what the memory limit leaves beside what is
/// already held (the weights). Passes up to [`UNMEASURED_PIXELS`] are not measured.
pub fn check_forward(
    model: &TaskModel,
    batch: usize,
    h: usize,
    w: usize,
    fixed: Option<usize>,
    device: &Device,
) -> Result<(), String> {
    if batch.saturating_mul(h).saturating_mul(w) <= UNMEASURED_PIXELS {
        return Ok(());
    }
    let Some(limit) = crate::config::limits::limit() else {
        return Ok(());
    };
    let Some(need) = forward_bytes(model, batch, h, w, fixed, device) else {
        return Ok(());
    };
    let held = crate::rt::memory::live();
    let left = limit.bytes.saturating_sub(held);
    if need <= left {
        return Ok(());
    }
    use crate::config::limits::human_bytes;
    let probes = match fixed {
        Some(s) => format!("measured at {s}x{s}"),
        None => format!(
            "measured at {0}x{0} and {1}x{1} and scaled",
            PROBE_SIDES[0], PROBE_SIDES[1]
        ),
    };
    Err(format!(
        "a forward pass of {batch}x3x{h}x{w} would need about {} ({probes}), more than the {} that {} ({}) leaves beside the {} the model holds; use a smaller input size or batch, or raise the limit with `--max-memory`",
        human_bytes(need),
        human_bytes(left),
        limit.source,
        human_bytes(limit.bytes),
        human_bytes(held)
    ))
}

/// Names of the persisted buffers of our primitives (BatchNorm's running statistics, the
/// positional table): burn visits them like parameters, PyTorch keeps them as buffers.
pub const BUFFERS: &[&str] = &["running_mean", "running_var", "pe"];

/// Counts learnable parameters as PyTorch does (buffers excluded).
pub fn count_params<M: Module>(module: &M) -> usize {
    tally(module).0 as usize
}

/// Learnable parameters and persistent buffer bytes of a module, from its (possibly lazy)
/// shapes: nothing is initialised.
fn tally<M: Module>(module: &M) -> (u64, u64) {
    struct Counter {
        path: Vec<String>,
        params: u64,
        buffer_bytes: u64,
    }
    impl burn::module::ModuleVisitor for Counter {
        fn enter_module(&mut self, name: &str, _container_type: &str) {
            self.path.push(name.to_string());
        }
        fn exit_module(&mut self, _name: &str, _container_type: &str) {
            self.path.pop();
        }
        fn visit_float<const D: usize>(&mut self, param: &burn::module::Param<Tensor<D>>) {
            let n = param.lazy_shape().num_elements() as u64;
            if self.path.last().is_some_and(|n| BUFFERS.contains(&n.as_str())) {
                self.buffer_bytes += 4 * n;
            } else {
                self.params += n;
            }
        }
        fn visit_int<const D: usize>(&mut self, param: &burn::module::Param<Tensor<D, burn::tensor::Int>>) {
            self.buffer_bytes += 8 * param.lazy_shape().num_elements() as u64;
        }
    }
    let mut c = Counter {
        path: Vec::new(),
        params: 0,
        buffer_bytes: 0,
    };
    module.visit(&mut c);
    (c.params, c.buffer_bytes)
}

/// A field name as PyTorch names the module: a child named like a Rust keyword became the
/// field `self_`; its key segment is `self`.
fn torch_segment(field: &str) -> String {
    match field.strip_suffix('_') {
        Some(stem) if zoo_spec::codegen::KEYWORDS.contains(&stem) => stem.to_string(),
        _ => field.to_string(),
    }
}

/// The state dict of a module as PyTorch names it: dotted paths without enum variants, norm
/// `gamma`/`beta` as `weight`/`bias`, linear weights as `[out, in]`. BatchNorm's
/// `num_batches_tracked` has no counterpart here.
pub fn state_dict<M: Module>(module: &M) -> Vec<(String, Vec<usize>)> {
    struct Keys {
        path: Vec<(String, String)>,
        out: Vec<(String, Vec<usize>)>,
    }
    impl burn::module::ModuleVisitor for Keys {
        fn enter_module(&mut self, name: &str, container_type: &str) {
            self.path.push((name.to_string(), container_type.to_string()));
        }
        fn exit_module(&mut self, _name: &str, _container_type: &str) {
            self.path.pop();
        }
        fn visit_float<const D: usize>(&mut self, param: &burn::module::Param<Tensor<D>>) {
            let parent = self.path.last().map(|(_, t)| t.as_str()).unwrap_or("");
            let norm = matches!(
                parent,
                "Struct:BatchNorm" | "Struct:LayerNorm" | "Struct:GroupNorm" | "Struct:InstanceNorm"
            );
            let mut names: Vec<String> = self
                .path
                .iter()
                .filter(|(_, t)| !t.starts_with("Enum:"))
                .map(|(n, _)| torch_segment(n))
                .collect();
            if norm && let Some(last) = names.last_mut() {
                *last = match last.as_str() {
                    "gamma" => "weight".into(),
                    "beta" => "bias".into(),
                    other => other.into(),
                };
            }
            let mut shape = param.lazy_shape().as_slice().to_vec();
            if parent == "Struct:Linear" && names.last().is_some_and(|n| n == "weight") && shape.len() == 2 {
                shape.swap(0, 1);
            }
            self.out.push((names.join("."), shape));
        }
        fn visit_int<const D: usize>(&mut self, param: &burn::module::Param<Tensor<D, burn::tensor::Int>>) {
            // Integer buffers (gather indices) are in PyTorch's state dict, not its parameters.
            let names: Vec<String> = self
                .path
                .iter()
                .filter(|(_, t)| !t.starts_with("Enum:"))
                .map(|(n, _)| torch_segment(n))
                .collect();
            self.out.push((names.join("."), param.lazy_shape().as_slice().to_vec()));
        }
    }
    let mut k = Keys {
        path: Vec::new(),
        out: Vec::new(),
    };
    module.visit(&mut k);
    k.out
}
