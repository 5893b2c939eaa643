//! `training.optimizer` as burn optimizers with PyTorch's semantics: every field burn
//! defaults differently (eps 1e-5, SGD dampening 0.1, RMSprop momentum 0.9, AdamW decay 1e-4)
//! is set to what NetsPresso's torch optimizer gets; and its parameter groups
//! (`no_bias_decay`, `no_norm_weight_decay`, `overwrite` per backbone / neck / head), chosen by
//! NetsPresso's substring rules on the state-dict names.

use super::config::OptimizerConfig;
use burn::module::{Module, ModuleVisitor, Param, ParamGroup, ParamId};
use burn::optim::decay::WeightDecayConfig;
use burn::optim::momentum::MomentumConfig;
use burn::optim::{AdaGradConfig, AdamConfig, AdamWConfig, ModuleOptimizer, Optimizer, RmsPropConfig, SgdConfig};
use burn::tensor::Tensor;
use serde_json::Value;

fn decay(wd: f64) -> Option<WeightDecayConfig> {
    (wd != 0.0).then_some(WeightDecayConfig { penalty: wd as f32 })
}

/// `opt` as the optimizer of every parameter (`base` is none yet) or of `group`.
fn attach<O: Optimizer + 'static>(base: Option<ModuleOptimizer>, group: ParamGroup, opt: O) -> ModuleOptimizer {
    match base {
        None => ModuleOptimizer::from(opt),
        Some(m) => m.with_group(group, opt, None),
    }
}

/// Adds the optimizer of `o` (its weight decay) for `group` to `base`, or makes it the
/// optimizer of every parameter.
fn add(base: Option<ModuleOptimizer>, group: ParamGroup, o: &OptimizerConfig) -> Result<ModuleOptimizer, String> {
    let (b1, b2) = (o.betas.0 as f32, o.betas.1 as f32);
    Ok(match o.name.as_str() {
        "adamw" => attach(
            base,
            group,
            AdamWConfig::new()
                .with_beta_1(b1)
                .with_beta_2(b2)
                .with_epsilon(o.eps as f32)
                .with_weight_decay(o.weight_decay as f32)
                .build(),
        ),
        "adam" => attach(
            base,
            group,
            AdamConfig::new()
                .with_beta_1(b1)
                .with_beta_2(b2)
                .with_epsilon(o.eps as f32)
                .with_weight_decay(decay(o.weight_decay))
                .build(),
        ),
        "sgd" => attach(
            base,
            group,
            SgdConfig::new()
                .with_weight_decay(decay(o.weight_decay))
                .with_momentum((o.momentum != 0.0 || o.nesterov).then(|| {
                    MomentumConfig::new()
                        .with_momentum(o.momentum)
                        .with_dampening(0.0)
                        .with_nesterov(o.nesterov)
                }))
                .build(),
        ),
        "rmsprop" => attach(
            base,
            group,
            RmsPropConfig::new()
                .with_alpha(o.alpha as f32)
                .with_momentum(o.momentum as f32)
                .with_epsilon(o.eps as f32)
                .with_weight_decay(decay(o.weight_decay))
                .build(),
        ),
        "adagrad" => attach(
            base,
            group,
            AdaGradConfig::new()
                .with_lr_decay(o.lr_decay)
                .with_epsilon(o.eps as f32)
                .with_weight_decay(decay(o.weight_decay))
                .build(),
        ),
        "adamax" => attach(
            base,
            group,
            super::torch_optim::Adamax {
                beta_1: o.betas.0,
                beta_2: o.betas.1,
                epsilon: o.eps,
                weight_decay: o.weight_decay,
            },
        ),
        "adadelta" => attach(
            base,
            group,
            super::torch_optim::Adadelta {
                rho: o.rho,
                epsilon: o.eps,
                weight_decay: o.weight_decay,
            },
        ),
        other => {
            return Err(format!(
                "unknown optimizer `{other}`; expected adamw, adam, adamax, sgd, rmsprop, adadelta or adagrad"
            ));
        }
    })
}

/// The optimizer of `o` for every parameter (one group).
pub fn build(o: &OptimizerConfig) -> Result<ModuleOptimizer, String> {
    add(None, ParamGroup::all(), o)
}

/// Every trainable parameter with its state-dict name (NetsPresso's `named_parameters`).
struct Names {
    path: Vec<String>,
    out: Named,
}

impl ModuleVisitor for Names {
    fn enter_module(&mut self, name: &str, container_type: &str) {
        // Enum variants are no part of the state-dict names (as in `weights::save`).
        if !container_type.starts_with("Enum:") {
            self.path.push(name.to_string());
        }
    }

    fn exit_module(&mut self, _name: &str, container_type: &str) {
        if !container_type.starts_with("Enum:") {
            self.path.pop();
        }
    }

    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let name = crate::io::weights::state_dict_name(&self.path.join("."));
        // BatchNorm's running statistics are buffers in PyTorch, no parameters.
        if !name.ends_with(".running_mean") && !name.ends_with(".running_var") {
            self.out.push((param.id, name));
        }
    }
}

/// The model's parameters by state-dict name, in module order.
pub fn parameter_names<M: Module>(model: &M) -> Named {
    let mut n = Names {
        path: Vec::new(),
        out: Vec::new(),
    };
    model.visit(&mut n);
    n.out
}

/// Parameters with their state-dict names.
pub type Named = Vec<(ParamId, String)>;

/// One of NetsPresso's parameter groups.
#[derive(Debug, Clone)]
pub struct Group {
    /// `backbone_group`, `head_no_decay_group`, ... (NetsPresso's names; `no_decay` without
    /// `overwrite`).
    pub name: String,
    pub params: Named,
    pub lr: f64,
    pub weight_decay: f64,
}

/// The optimizer over NetsPresso's groups, and each group's base learning rate (the
/// scheduler runs per group from it).
pub struct Grouped {
    pub optim: ModuleOptimizer,
    /// The groups after the first, which is every other parameter's (its lr: the config's).
    pub groups: Vec<Group>,
    /// NetsPresso's groups, all of them (what the summary and the logged mean lr read).
    pub all: Vec<Group>,
}

/// NetsPresso's no-decay split of a set of names: names containing `bias` (when `no_bias`) or
/// `norm.weight` (when `no_norm`) go to the no-decay side.
fn split_no_decay(params: Named, no_bias: bool, no_norm: bool) -> (Named, Named) {
    params
        .into_iter()
        .partition(|(_, n)| !((no_bias && n.contains("bias")) || (no_norm && n.contains("norm.weight"))))
}

fn opt_f64(v: &Value, key: &str, at: &str) -> Result<Option<f64>, String> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(x) => x
            .as_f64()
            .map(Some)
            .ok_or_else(|| format!("`{at}.{key}` must be a number")),
    }
}

fn opt_bool(v: &Value, key: &str, at: &str) -> Result<Option<bool>, String> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(x) => x
            .as_bool()
            .map(Some)
            .ok_or_else(|| format!("`{at}.{key}` must be true or false")),
    }
}

/// The groups NetsPresso's `build_optimizer` makes for `model` (`overwrite`: the
/// `training.optimizer.overwrite` list; `full`: a single-task model, which refuses it).
pub fn groups<M: Module>(
    o: &OptimizerConfig,
    model: &M,
    overwrite: Option<&Value>,
    full: bool,
) -> Result<Vec<Group>, String> {
    let names = parameter_names(model);
    let list = match overwrite {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(a)) => a.clone(),
        Some(_) => return Err("`training.optimizer.overwrite` must be a list of groups (or ~)".into()),
    };
    if list.is_empty() {
        let (decay, no_decay) = split_no_decay(names, o.no_bias_decay, o.no_norm_weight_decay);
        let mut out = vec![Group {
            name: "default".into(),
            params: decay,
            lr: o.lr,
            weight_decay: o.weight_decay,
        }];
        if !no_decay.is_empty() {
            out.push(Group {
                name: "no_decay".into(),
                params: no_decay,
                lr: o.lr,
                weight_decay: 0.0,
            });
        }
        return Ok(out);
    }
    if full {
        return Err(
            "`training.optimizer.overwrite` sets backbone / neck / head groups, which a full model (`architecture.full`) does not have (NetsPresso refuses it too)"
                .into(),
        );
    }
    const MODULES: [&str; 3] = ["backbone", "neck", "head"];
    // (lr, weight_decay, no_bias_decay, no_norm_weight_decay) per module.
    let mut conf = [(o.lr, o.weight_decay, o.no_bias_decay, o.no_norm_weight_decay); 3];
    for (k, entry) in list.iter().enumerate() {
        let at = format!("training.optimizer.overwrite[{k}]");
        let group = entry
            .get("param_group")
            .and_then(|g| g.as_str())
            .ok_or_else(|| format!("`{at}` needs `param_group` (backbone, neck or head)"))?;
        let m = MODULES
            .iter()
            .position(|x| *x == group)
            .ok_or_else(|| format!("`{at}.param_group` is `{group}`; it must be backbone, neck or head"))?;
        let c = &mut conf[m];
        if let Some(lr) = opt_f64(entry, "lr", &at)? {
            if lr.is_nan() || lr <= 0.0 {
                return Err(format!("`{at}.lr` must be above 0, found {lr}"));
            }
            c.0 = lr;
        }
        if let Some(wd) = opt_f64(entry, "weight_decay", &at)? {
            c.1 = wd;
        }
        if let Some(b) = opt_bool(entry, "no_bias_decay", &at)? {
            c.2 = b;
        }
        if let Some(b) = opt_bool(entry, "no_norm_weight_decay", &at)? {
            c.3 = b;
        }
    }
    let mut by_module: [Named; 3] = Default::default();
    for (id, n) in names {
        let m = MODULES
            .iter()
            .position(|x| n.starts_with(x))
            .ok_or_else(|| format!("parameter `{n}` is in none of backbone, neck, head"))?;
        by_module[m].push((id, n));
    }
    let mut out = Vec::new();
    for (m, params) in by_module.into_iter().enumerate() {
        let (lr, wd, nb, nn) = conf[m];
        let (decay, no_decay) = split_no_decay(params, nb, nn);
        for (suffix, params, wd) in [("group", decay, wd), ("no_decay_group", no_decay, 0.0)] {
            if !params.is_empty() {
                out.push(Group {
                    name: format!("{}_{suffix}", MODULES[m]),
                    params,
                    lr,
                    weight_decay: wd,
                });
            }
        }
    }
    Ok(out)
}

/// The optimizer over `groups`: the first group's optimizer is the fallback for every
/// parameter, each further group gets its own (its weight decay).
pub fn build_grouped(o: &OptimizerConfig, groups: Vec<Group>) -> Result<Grouped, String> {
    let first = groups.first().ok_or("the model has no trainable parameters")?;
    let with_decay = |wd: f64| OptimizerConfig {
        weight_decay: wd,
        ..o.clone()
    };
    let mut optim = build(&with_decay(first.weight_decay))?;
    for g in &groups[1..] {
        let ids: Vec<ParamId> = g.params.iter().map(|(id, _)| *id).collect();
        optim = add(Some(optim), ParamGroup::from_ids(ids), &with_decay(g.weight_decay))?;
    }
    Ok(Grouped {
        optim,
        groups: groups[1..].to_vec(),
        all: groups,
    })
}

/// The learning rate of every parameter: `lrs[0]` for all, `lrs[i]` for `groups[i]` (i > 0).
pub fn learning_rates(
    groups: &[ParamGroup],
    lrs: &[f64],
) -> burn::optim::lr_scheduler::module_lr_scheduler::ModuleLearningRate {
    let mut m =
        burn::optim::lr_scheduler::module_lr_scheduler::ModuleLrScheduler::new(lrs.first().copied().unwrap_or(0.0));
    for (g, lr) in groups.iter().zip(lrs).skip(1) {
        m = m.with_group(g.clone(), *lr);
    }
    m.step()
}
