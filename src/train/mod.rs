//! Training: NetsPresso Trainer's configuration semantics on burn's autodiff (issue 10).

pub mod augment;
pub mod autoaugment;
pub mod clip;
pub mod config;
pub mod data;
pub mod ema;
pub mod fit;
pub mod loss;
pub mod metrics;
pub mod optim;
pub mod parallel;
pub mod plot;
pub mod rng;
pub mod schedule;
pub mod tensorboard;
pub mod torch_optim;
