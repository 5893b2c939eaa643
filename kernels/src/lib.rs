//! CPU kernels on plain `f32` slices, for inference fast paths where burn's CPU backend spends
//! far more than the arithmetic needs (measured in zoo's README, "Speed"): exact GELU, sigmoid
//! and SiLU, whose backend ops call a scalar `erff`/`expf` per element, and max pooling, whose backend op also
//! computes the argmax indices that only training needs, and convolutions with few input
//! channels, which it runs on a direct path (im2col turns them into one matrix product), and
//! depth-wise convolutions on small feature maps.
//!
//! Each kernel is written as plain loops that LLVM vectorises, compiled a second time with
//! AVX-512 and with AVX2+FMA enabled and chosen at run time, so one binary runs everywhere.
//! Work is split over rayon's pool (the one burn's kernels use).

/// An in-place element-wise kernel `$name` from the slice loop `$body`: compiled for AVX-512
/// and AVX2+FMA besides the baseline, chosen at run time, split over rayon's pool in chunks.
macro_rules! dispatched {
    ($name:ident, $body:ident, $avx512:ident, $avx2:ident, $doc:literal) => {
        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = "avx512f,fma")]
        fn $avx512(xs: &mut [f32]) {
            $body(xs)
        }

        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = "avx2,fma")]
        fn $avx2(xs: &mut [f32]) {
            $body(xs)
        }

        #[doc = $doc]
        pub fn $name(xs: &mut [f32]) {
            let isa = $crate::isa();
            let chunk = |c: &mut [f32]| match isa {
                // SAFETY: `isa()` detected the features these functions are compiled for.
                #[cfg(target_arch = "x86_64")]
                $crate::Isa::Avx512 => unsafe { $avx512(c) },
                #[cfg(target_arch = "x86_64")]
                $crate::Isa::Avx2 => unsafe { $avx2(c) },
                _ => $body(c),
            };
            if xs.len() <= $crate::CHUNK {
                chunk(xs);
            } else {
                rayon::iter::ParallelIterator::for_each(
                    rayon::slice::ParallelSliceMut::par_chunks_mut(xs, $crate::CHUNK),
                    chunk,
                );
            }
        }
    };
}
pub(crate) use dispatched;

mod depthwise;
mod erf;
mod gelu;
mod im2col;
mod pool;
mod sigmoid;
mod window;

pub use depthwise::depthwise_conv2d;
pub use erf::erf;
pub use gelu::gelu_in_place;
pub use im2col::im2col;
pub use pool::{Pool2d, max_pool2d};
pub use sigmoid::{exp, sigmoid_in_place, silu_in_place};
pub use window::Window;

/// The widest instruction set this CPU offers, detected once.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Isa {
    Avx512,
    Avx2,
    Baseline,
}

fn isa() -> Isa {
    #[cfg(target_arch = "x86_64")]
    {
        static ISA: std::sync::OnceLock<Isa> = std::sync::OnceLock::new();
        *ISA.get_or_init(|| {
            if std::arch::is_x86_feature_detected!("avx512f") {
                Isa::Avx512
            } else if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
                Isa::Avx2
            } else {
                Isa::Baseline
            }
        })
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        Isa::Baseline
    }
}

/// Elements per parallel task: big enough that a task outweighs rayon's scheduling.
const CHUNK: usize = 1 << 15;
