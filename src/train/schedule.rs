//! NetsPresso Trainer 1.4.1's learning-rate schedulers, per epoch: epoch `k + 1` trains with
//! `lr[k]`. They are computed the way its schedulers step (each value from the previous one,
//! as PyTorch's `_LRScheduler.get_lr` does), so rounding and edge cases (no warmup, warmup
//! longer than the schedule, `end_epoch` beyond the run, SGDR's stretched last phase) agree
//! with it; `tests/fixtures/training/schedulers.json` holds its own sequences.

/// A scheduler of `training.scheduler`, with NetsPresso's parameter names.
#[derive(Debug, Clone, PartialEq)]
pub enum Scheduler {
    /// `cosine_no_sgdr`: linear warmup, then one cosine to `min_lr` at `end_epoch` (clamped to
    /// the run), then held.
    CosineNoSgdr {
        warmup_epochs: usize,
        warmup_bias_lr: f64,
        min_lr: f64,
        end_epoch: usize,
    },
    /// `cosine`: warmup, then cosine phases of `iters_per_phase` epochs (SGDR, T_mult 1), the
    /// last phase stretched to the end of the run.
    Cosine {
        warmup_epochs: usize,
        warmup_bias_lr: f64,
        min_lr: f64,
        iters_per_phase: i64,
    },
    /// `poly`: warmup, then `min_lr + (lr - min_lr) * (1 - t)^power` up to `end_epoch`.
    Poly {
        warmup_epochs: usize,
        warmup_bias_lr: f64,
        min_lr: f64,
        power: f64,
        end_epoch: usize,
    },
    /// `step`: times `gamma` every `iters_per_phase` epochs up to `end_epoch`.
    Step {
        iters_per_phase: usize,
        gamma: f64,
        end_epoch: usize,
    },
    /// `multi_step`: times `gamma` at each milestone (a repeated milestone applies twice).
    MultiStep { milestones: Vec<usize>, gamma: f64 },
}

fn warmup(k: usize, w: usize, wb: f64, base: f64) -> f64 {
    wb + ((k + 1) as f64 / w.max(1) as f64) * (base - wb)
}

impl Scheduler {
    /// The learning rate of every epoch of a run of `epochs` epochs starting at `base`.
    pub fn sequence(&self, base: f64, epochs: usize) -> Result<Vec<f64>, String> {
        use std::f64::consts::PI;
        let mut out: Vec<f64> = Vec::with_capacity(epochs);
        // The optimizer's current lr before scheduler step k (starts at the base lr).
        let mut lr = base;
        match self {
            Scheduler::CosineNoSgdr {
                warmup_epochs: w,
                warmup_bias_lr: wb,
                min_lr: eta,
                end_epoch,
            } => {
                let t = (*end_epoch).min(epochs);
                if t == 0 {
                    return Err("`end_epoch` must be at least 1".into());
                }
                let tf = t as f64;
                for k in 0..epochs {
                    lr = if k > t {
                        lr
                    } else if k < *w {
                        warmup(k, *w, *wb, base)
                    } else if (k as i64 - 1 - t as i64).rem_euclid(2 * t as i64) == 0 {
                        lr + (base - eta) * (1.0 - (PI / tf).cos()) / 2.0
                    } else {
                        (1.0 + (PI * k as f64 / tf).cos()) / (1.0 + (PI * (k as f64 - 1.0) / tf).cos()) * (lr - eta)
                            + eta
                    };
                    out.push(lr);
                }
            }
            Scheduler::Cosine {
                warmup_epochs: w,
                warmup_bias_lr: wb,
                min_lr: eta,
                iters_per_phase,
            } => {
                if epochs == 0 {
                    return Ok(out);
                }
                // An unusable phase length becomes a tenth of the run (or the run).
                let mut t0 = if *iters_per_phase <= 0 {
                    if epochs / 10 != 0 { epochs / 10 } else { epochs }
                } else {
                    *iters_per_phase as usize
                };
                t0 = t0.min(epochs);
                // The phase about to end at the last epoch takes the rest of the run.
                let reassign = |current: usize, next: usize, remain: usize| -> (usize, usize) {
                    if remain == 0 {
                        (current, 0)
                    } else if remain < current + next {
                        (remain, remain)
                    } else {
                        (current, remain)
                    }
                };
                let (mut ti, mut remain) = reassign(t0, t0, epochs);
                let mut t_cur = 0usize;
                for k in 0..epochs {
                    if k > 0 {
                        t_cur += 1;
                        if t_cur >= ti {
                            t_cur -= ti;
                            remain = remain.saturating_sub(ti);
                            (ti, remain) = reassign(ti, ti, remain);
                        }
                    }
                    lr = if k < *w {
                        warmup(k, *w, *wb, base)
                    } else {
                        eta + (base - eta) * (1.0 + (PI * t_cur as f64 / ti as f64).cos()) / 2.0
                    };
                    out.push(lr);
                }
            }
            Scheduler::Poly {
                warmup_epochs: w,
                warmup_bias_lr: wb,
                min_lr: eta,
                power,
                end_epoch,
            } => {
                if *end_epoch <= *w {
                    return Err(format!(
                        "`end_epoch` ({end_epoch}) must be larger than `warmup_epochs` ({w}): the decay has no epochs"
                    ));
                }
                let d = (*end_epoch - *w) as f64;
                for k in 0..epochs {
                    lr = if k > *end_epoch {
                        lr
                    } else if k < *w {
                        warmup(k, *w, *wb, base)
                    } else {
                        let c = k as f64 - *w as f64;
                        let factor = ((1.0 - c / d) / (1.0 - (c - 1.0) / d)).powf(*power);
                        eta + (lr - eta) * factor
                    };
                    out.push(lr);
                }
            }
            Scheduler::Step {
                iters_per_phase: s,
                gamma,
                end_epoch,
            } => {
                if *s == 0 {
                    return Err("`iters_per_phase` must be at least 1".into());
                }
                for k in 0..epochs {
                    if !(k > *end_epoch || k == 0 || k % s != 0) {
                        lr *= gamma;
                    }
                    out.push(lr);
                }
            }
            Scheduler::MultiStep { milestones, gamma } => {
                for k in 0..epochs {
                    let hits = milestones.iter().filter(|m| **m == k).count();
                    if hits > 0 {
                        lr *= gamma.powi(hits as i32);
                    }
                    out.push(lr);
                }
            }
        }
        Ok(out)
    }
}

impl Scheduler {
    /// Reads `training.scheduler` (`name` and that scheduler's parameters, as JSON).
    pub fn from_config(v: &serde_json::Value) -> Result<Scheduler, String> {
        let name = v
            .get("name")
            .and_then(|n| n.as_str())
            .ok_or("the scheduler needs a `name`")?;
        let num = |k: &str| -> Result<f64, String> {
            v.get(k)
                .and_then(|x| x.as_f64())
                .ok_or(format!("scheduler `{name}` needs `{k}` (a number)"))
        };
        let count = |k: &str| -> Result<usize, String> {
            v.get(k)
                .and_then(|x| x.as_u64())
                .map(|x| x as usize)
                .ok_or(format!("scheduler `{name}` needs `{k}` (a whole number >= 0)"))
        };
        Ok(match name {
            "cosine_no_sgdr" => Scheduler::CosineNoSgdr {
                warmup_epochs: count("warmup_epochs")?,
                warmup_bias_lr: num("warmup_bias_lr")?,
                min_lr: num("min_lr")?,
                end_epoch: count("end_epoch")?,
            },
            "cosine" => Scheduler::Cosine {
                warmup_epochs: count("warmup_epochs")?,
                warmup_bias_lr: num("warmup_bias_lr")?,
                min_lr: num("min_lr")?,
                iters_per_phase: v
                    .get("iters_per_phase")
                    .and_then(|x| x.as_i64())
                    .ok_or("scheduler `cosine` needs `iters_per_phase` (an int; <= 0 = a tenth of the run)")?,
            },
            "poly" => Scheduler::Poly {
                warmup_epochs: count("warmup_epochs")?,
                warmup_bias_lr: num("warmup_bias_lr")?,
                min_lr: num("min_lr")?,
                power: num("power")?,
                end_epoch: count("end_epoch")?,
            },
            "step" => Scheduler::Step {
                iters_per_phase: count("iters_per_phase")?,
                gamma: num("gamma")?,
                end_epoch: count("end_epoch")?,
            },
            "multi_step" => Scheduler::MultiStep {
                milestones: v
                    .get("milestones")
                    .and_then(|m| m.as_array())
                    .and_then(|m| m.iter().map(|x| x.as_u64().map(|x| x as usize)).collect())
                    .ok_or("scheduler `multi_step` needs `milestones` (a list of epochs)")?,
                gamma: num("gamma")?,
            },
            other => {
                return Err(format!(
                    "unknown scheduler `{other}`; expected cosine_no_sgdr, cosine, poly, step or multi_step"
                ));
            }
        })
    }
}
