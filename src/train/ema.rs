//! `training.ema`: an exponential moving average of the weights (parameters and BatchNorm
//! statistics), updated after every optimizer step, used for validation and saved weights, as
//! NetsPresso's `ModelEMA`: `constant_decay` (ema = d·ema + (1 − d)·θ) and `exp_decay`
//! (d_t = decay·(1 − exp(−t / beta)), t counting updates from 0, so the first copies θ).

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param, ParamId};
use burn::tensor::Tensor;
use std::collections::HashMap;

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct EmaConfig {
    pub decay: f64,
    /// `exp_decay`'s ramp; `None` for `constant_decay`.
    pub beta: Option<f64>,
}

impl EmaConfig {
    /// `training.ema` (`~` = none).
    pub fn from_config(v: Option<&serde_json::Value>) -> Result<Option<EmaConfig>, String> {
        let Some(v) = v.filter(|v| !v.is_null()) else {
            return Ok(None);
        };
        let name = v
            .get("name")
            .and_then(|n| n.as_str())
            .ok_or("`training.ema` needs a `name`")?;
        let decay = v
            .get("decay")
            .and_then(|d| d.as_f64())
            .ok_or("`training.ema.decay` must be a number")?;
        if !(0.0..=1.0).contains(&decay) {
            return Err(format!("`training.ema.decay` must be in [0, 1], found {decay}"));
        }
        let beta = match name {
            "constant_decay" => None,
            "exp_decay" => match v.get("beta").and_then(|b| b.as_f64()) {
                Some(b) if b > 0.0 => Some(b),
                _ => return Err("`training.ema.beta` must be a number above 0 for `exp_decay`".into()),
            },
            other => {
                return Err(format!(
                    "unknown `training.ema.name` `{other}`; expected constant_decay or exp_decay"
                ));
            }
        };
        Ok(Some(EmaConfig { decay, beta }))
    }

    /// The decay of update number `t` (from 0).
    pub fn decay_at(&self, t: u64) -> f64 {
        match self.beta {
            None => self.decay,
            Some(b) => self.decay * (1.0 - (-(t as f64) / b).exp()),
        }
    }
}

/// The current weights by parameter, flattened.
struct Collect(HashMap<ParamId, Tensor<1>>);

impl ModuleVisitor for Collect {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        self.0.insert(param.id, param.val().flatten::<1>(0, D - 1));
    }
}

struct Blend<'a> {
    current: &'a HashMap<ParamId, Tensor<1>>,
    decay: f64,
}

impl ModuleMapper for Blend<'_> {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let Some(cur) = self.current.get(&param.id) else {
            return param;
        };
        let cur = cur.clone();
        let d = self.decay;
        param.map(|ema| {
            let dims = ema.dims();
            ema.mul_scalar(d) + cur.reshape(dims).mul_scalar(1.0 - d)
        })
    }
}

/// The averaged copy of a model (on a device without autodiff).
pub struct Ema {
    pub config: EmaConfig,
    pub model: crate::TaskModel,
    pub updates: u64,
}

impl Ema {
    pub fn new(config: EmaConfig, model: &crate::TaskModel) -> Ema {
        Ema {
            config,
            model: model.valid(),
            updates: 0,
        }
    }

    /// One update towards `model`'s current weights.
    pub fn update(&mut self, model: &crate::TaskModel) {
        let mut c = Collect(HashMap::new());
        model.valid().visit(&mut c);
        let decay = self.config.decay_at(self.updates);
        self.updates += 1;
        let m = std::mem::replace(&mut self.model, model.valid());
        self.model = m.map(&mut Blend { current: &c.0, decay });
    }
}
