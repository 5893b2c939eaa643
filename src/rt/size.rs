//! The size of a model before it exists: generated `size` functions mirror `init` and call
//! these instead of the primitives' constructors, so an absurd config (a 2³¹-channel stem,
//! 65 536 blocks) is measured in microseconds instead of being allocated.
//!
//! Arguments are the constructors' own (unchecked: `init` still validates them); arithmetic
//! saturates, so a size never wraps around to something small.

use std::cell::Cell;
use std::ops::{Add, AddAssign};
use std::time::{Duration, Instant};

/// A size pass with caps: once it has counted more than `hard` bytes, or more than `soft`
/// and run for `grace`, its loops stop (the total is then a lower bound). Millions of blocks
/// of a model far beyond memory are not worth counting to the last one.
#[derive(Clone, Copy)]
struct Cap {
    soft: u64,
    hard: u64,
    counted: u64,
    until: Instant,
}

thread_local! {
    static CAP: Cell<Option<Cap>> = const { Cell::new(None) };
}

/// Runs a size pass under caps; returns its result and whether a cap cut it short.
pub fn capped<T>(soft: u64, hard: u64, grace: Duration, pass: impl FnOnce() -> T) -> (T, bool) {
    let outer = CAP.get();
    CAP.set(Some(Cap {
        soft,
        hard,
        counted: 0,
        until: Instant::now() + grace,
    }));
    let out = pass();
    let cut = over();
    CAP.set(outer);
    (out, cut)
}

/// Whether the current capped pass should stop counting (generated loops ask each turn).
pub fn over() -> bool {
    CAP.get()
        .is_some_and(|c| c.counted > c.hard || (c.counted > c.soft && Instant::now() >= c.until))
}

/// Every primitive's size passes through here on its way out.
fn counted(s: Size) -> Size {
    if let Some(mut c) = CAP.get() {
        c.counted = c.counted.saturating_add(s.bytes());
        CAP.set(Some(c));
    }
    s
}

/// Learnable parameters, the bytes of persistent buffers (running statistics, tables) and the
/// number of generated modules (blocks) building creates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Size {
    pub params: u64,
    pub buffer_bytes: u64,
    pub blocks: u64,
}

impl Size {
    pub const ZERO: Size = Size {
        params: 0,
        buffer_bytes: 0,
        blocks: 0,
    };

    /// One generated module, before its children.
    pub const BLOCK: Size = Size {
        params: 0,
        buffer_bytes: 0,
        blocks: 1,
    };

    /// Bytes of the weights in memory: f32 parameters plus buffers.
    pub fn bytes(&self) -> u64 {
        self.params.saturating_mul(4).saturating_add(self.buffer_bytes)
    }

    fn params(n: u64) -> Size {
        Size {
            params: n,
            ..Size::ZERO
        }
    }

    fn f32_buffer(n: u64) -> Size {
        Size {
            buffer_bytes: n.saturating_mul(4),
            ..Size::ZERO
        }
    }
}

impl Add for Size {
    type Output = Size;
    fn add(self, o: Size) -> Size {
        Size {
            params: self.params.saturating_add(o.params),
            buffer_bytes: self.buffer_bytes.saturating_add(o.buffer_bytes),
            blocks: self.blocks.saturating_add(o.blocks),
        }
    }
}

impl AddAssign for Size {
    fn add_assign(&mut self, o: Size) {
        *self = *self + o;
    }
}

fn n(v: i64) -> u64 {
    v.max(0) as u64
}

fn product(dims: &[i64]) -> u64 {
    dims.iter().fold(1u64, |acc, d| acc.saturating_mul(n(*d)))
}

#[allow(clippy::too_many_arguments)]
pub fn conv2d(
    cin: i64,
    cout: i64,
    kernel: i64,
    _stride: i64,
    _padding: i64,
    _dilation: i64,
    groups: i64,
    bias: bool,
) -> Size {
    let per_group = n(cin) / n(groups).max(1);
    let weight = product(&[cout, kernel, kernel]).saturating_mul(per_group);
    counted(Size::params(weight.saturating_add(if bias { n(cout) } else { 0 })))
}

pub fn norm2d(kind: String, channels: i64, _eps: f64, _momentum: f64) -> Size {
    let c = n(channels);
    counted(match kind.to_lowercase().as_str() {
        "batch_norm" => Size::params(c.saturating_mul(2)) + Size::f32_buffer(c.saturating_mul(2)),
        "group_norm" => Size::params(c.saturating_mul(2)),
        // Instance norm without affine parameters (PyTorch's default).
        _ => Size::ZERO,
    })
}

pub fn batch_norm1d(channels: i64, _eps: f64, _momentum: f64) -> Size {
    let c = n(channels).saturating_mul(2);
    counted(Size::params(c) + Size::f32_buffer(c))
}

pub fn activation(_kind: String) -> Size {
    Size::ZERO
}

pub fn linear(cin: i64, cout: i64, bias: bool) -> Size {
    counted(Size::params(product(&[cin, cout]).saturating_add(if bias {
        n(cout)
    } else {
        0
    })))
}

pub fn layer_norm(channels: i64, _eps: f64) -> Size {
    counted(Size::params(n(channels).saturating_mul(2)))
}

pub fn dropout(_p: f64) -> Size {
    Size::ZERO
}

pub fn pool2d(
    _kind: String,
    _kernel: i64,
    _stride: Option<i64>,
    _padding: i64,
    _ceil_mode: bool,
    _count_include_pad: bool,
) -> Size {
    Size::ZERO
}

pub fn embedding(num: i64, dim: i64) -> Size {
    counted(Size::params(product(&[num, dim])))
}

pub fn identity() -> Size {
    Size::ZERO
}

pub fn positional_encoding(channels: i64, max_len: i64) -> Size {
    counted(Size::f32_buffer(product(&[channels, max_len])))
}

pub fn param(shape: Vec<i64>) -> Size {
    counted(Size::params(product(&shape)))
}

/// Integer buffers hold i64.
pub fn index_buffer(shape: Vec<i64>) -> Size {
    counted(Size {
        buffer_bytes: product(&shape).saturating_mul(8),
        ..Size::ZERO
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conv_counts_weight_per_group_and_bias() {
        // 64 → 128, 3×3, groups 2, with bias: 128·32·9 + 128.
        assert_eq!(conv2d(64, 128, 3, 1, 1, 1, 2, true).params, 128 * 32 * 9 + 128);
        assert_eq!(conv2d(3, 64, 7, 2, 3, 1, 1, false).params, 64 * 3 * 49);
    }

    #[test]
    fn batch_norm_has_parameters_and_running_statistics() {
        let s = norm2d("Batch_Norm".into(), 256, 1e-5, 0.1);
        assert_eq!((s.params, s.buffer_bytes, s.bytes()), (512, 2048, 4096));
        assert_eq!(norm2d("instance_norm".into(), 256, 1e-5, 0.1), Size::ZERO);
    }

    #[test]
    fn a_capped_pass_stops_its_loops_once_over_the_cap() {
        let pass = || {
            let mut total = Size::ZERO;
            for _ in 0..1000 {
                if over() {
                    break;
                }
                total += linear(10, 10, false);
            }
            total
        };
        // 400 bytes per layer: over a 4000-byte cap after 11 layers, at once without grace.
        let (total, cut) = capped(4000, u64::MAX, Duration::ZERO, pass);
        assert_eq!((total.params, cut), (1100, true));
        // With time to spare the pass is exact, up to the hard cap.
        let (total, cut) = capped(4000, u64::MAX, Duration::from_secs(60), pass);
        assert_eq!((total.params, cut), (100_000, false));
        let (total, cut) = capped(4000, 40_000, Duration::from_secs(60), pass);
        assert_eq!((total.params, cut), (10_100, true));
        // Outside a capped pass nothing stops.
        assert!(!over());
        assert_eq!(pass().params, 100_000);
    }

    #[test]
    fn sizes_saturate_instead_of_wrapping() {
        let s = conv2d(i64::MAX, i64::MAX, i64::MAX, 1, 0, 1, 1, true);
        assert_eq!(s.params, u64::MAX);
        assert_eq!((s + s).bytes(), u64::MAX);
        assert_eq!(param(vec![-3, 5]).params, 0);
    }
}
