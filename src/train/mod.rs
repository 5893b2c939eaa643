//! Training: NetsPresso Trainer's configuration semantics on burn's autodiff (issue 10).

pub mod schedule;
