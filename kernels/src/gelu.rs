//! Exact GELU, `x·Φ(x) = x/2·(1 + erf(x/√2))` (PyTorch's `approximate='none'`).

use super::erf::erf;

#[inline(always)]
fn gelu_slice(xs: &mut [f32]) {
    for x in xs {
        *x = 0.5 * *x * (1.0 + erf(*x * std::f32::consts::FRAC_1_SQRT_2));
    }
}

crate::dispatched!(
    gelu_in_place,
    gelu_slice,
    gelu_avx512,
    gelu_avx2,
    "Replaces every value by its GELU."
);

#[cfg(test)]
mod tests {
    #[test]
    fn matches_the_definition() {
        let mut xs: Vec<f32> = (-1000..=1000).map(|i| i as f32 * 0.01).collect();
        xs.extend([f32::INFINITY, f32::NEG_INFINITY, 50.0, -50.0]);
        let want: Vec<f64> = xs
            .iter()
            .map(|&x| {
                let x = x as f64;
                0.5 * x * (1.0 + libm_erf(x / std::f64::consts::SQRT_2))
            })
            .collect();
        let mut got = xs.clone();
        super::gelu_in_place(&mut got);
        for ((x, g), w) in xs.iter().zip(&got).zip(&want) {
            if w.is_nan() {
                // −∞ · 0: PyTorch's GELU(−∞) is NaN too.
                assert!(g.is_nan(), "gelu({x})");
            } else if w.is_infinite() {
                assert_eq!(*g as f64, *w, "gelu({x})");
            } else {
                assert!(
                    (*g as f64 - w).abs() <= 1e-6 * (1.0 + w.abs()),
                    "gelu({x}) = {g}, want {w}"
                );
            }
        }
        // A long slice takes the parallel path and agrees with the short one.
        let mut long: Vec<f32> = (0..200_003).map(|i| (i as f32 * 0.37).sin() * 6.0).collect();
        let mut short = long.clone();
        super::gelu_in_place(&mut long);
        short.chunks_mut(1000).for_each(super::gelu_in_place);
        assert_eq!(long, short);
    }

    fn libm_erf(x: f64) -> f64 {
        unsafe extern "C" {
            fn erf(x: f64) -> f64;
        }
        unsafe { erf(x) }
    }
}
