//! erf in f32 as a rational function: x·P(x²)/Q(x²) on x clamped to [−4, 4], beyond which erf is
//! ±1 in single precision. The coefficients are the minimax fit used by Eigen and XLA for their
//! vectorised `erf`; no branches, no `exp`, so it vectorises. Error ≤ 5e-7 (tested against
//! the C library's double-precision erf).

#[inline(always)]
pub fn erf(x: f32) -> f32 {
    let x = x.clamp(-4.0, 4.0);
    let x2 = x * x;
    let mut p = -2.726_142_3e-10_f32;
    p = p.mul_add(x2, 2.770_681_4e-8);
    p = p.mul_add(x2, -2.101_024e-6);
    p = p.mul_add(x2, -5.692_506_4e-5);
    p = p.mul_add(x2, -7.349_906_3e-4);
    p = p.mul_add(x2, -2.954_600_3e-3);
    p = p.mul_add(x2, -1.609_603_4e-2);
    let mut q = -1.456_607_2e-5_f32;
    q = q.mul_add(x2, -2.133_740_6e-4);
    q = q.mul_add(x2, -1.682_827e-3);
    q = q.mul_add(x2, -7.373_329e-3);
    q = q.mul_add(x2, -1.426_473_9e-2);
    x * p / q
}

#[cfg(test)]
mod tests {
    unsafe extern "C" {
        #[link_name = "erf"]
        fn c_erf(x: f64) -> f64;
    }

    #[test]
    fn within_5e_7_of_the_c_library() {
        let mut worst = 0f64;
        for i in -600_000..=600_000 {
            let x = i as f64 * 1e-5;
            let want = unsafe { c_erf(x) };
            worst = worst.max((super::erf(x as f32) as f64 - want).abs());
        }
        assert!(worst < 5e-7, "worst error {worst:e}");
        assert_eq!(super::erf(0.0), 0.0);
        assert_eq!(super::erf(9.0), 1.0);
        assert_eq!(super::erf(-9.0), -1.0);
    }
}
