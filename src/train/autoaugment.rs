//! The two augmentation policies NetsPresso takes from torchvision: `trivialaugmentwide` (one
//! random operation at a random strength per image) and `autoaugment` (a random pair of the
//! learned ImageNet / CIFAR-10 / SVHN sub-policies), with torchvision's operations, magnitude
//! tables and policies. Geometric operations move a segmentation mask too (nearest-neighbour,
//! uncovered pixels 255), where NetsPresso leaves it behind.

use super::augment::{MASK_FILL, adjust_brightness, adjust_contrast, adjust_saturation, blend};
use super::rng::Rng;
use image::{GrayImage, Luma, Rgb, RgbImage};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Identity,
    ShearX,
    ShearY,
    TranslateX,
    TranslateY,
    Rotate,
    Brightness,
    Color,
    Contrast,
    Sharpness,
    Posterize,
    Solarize,
    AutoContrast,
    Equalize,
    Invert,
}

/// torchvision's `torch.linspace(a, b, n)[i]`.
fn linspace(a: f64, b: f64, n: usize, i: usize) -> f64 {
    if n <= 1 {
        a
    } else {
        a + (b - a) * i as f64 / (n - 1) as f64
    }
}

/// TrivialAugmentWide's operations in torchvision's order, with (magnitude of bin i of n, signed).
const WIDE: [Op; 14] = [
    Op::Identity,
    Op::ShearX,
    Op::ShearY,
    Op::TranslateX,
    Op::TranslateY,
    Op::Rotate,
    Op::Brightness,
    Op::Color,
    Op::Contrast,
    Op::Sharpness,
    Op::Posterize,
    Op::Solarize,
    Op::AutoContrast,
    Op::Equalize,
];

fn wide_magnitude(op: Op, n: usize, i: usize) -> Option<(f64, bool)> {
    Some(match op {
        Op::ShearX | Op::ShearY => (linspace(0.0, 0.99, n, i), true),
        Op::TranslateX | Op::TranslateY => (linspace(0.0, 32.0, n, i), true),
        Op::Rotate => (linspace(0.0, 135.0, n, i), true),
        Op::Brightness | Op::Color | Op::Contrast | Op::Sharpness => (linspace(0.0, 0.99, n, i), true),
        Op::Posterize => (8.0 - (i as f64 / ((n - 1) as f64 / 6.0)).round(), false),
        Op::Solarize => (linspace(255.0, 0.0, n, i), false),
        _ => return None,
    })
}

/// AutoAugment's magnitude of bin `i` of 10 for an image of (height, width).
fn auto_magnitude(op: Op, i: usize, (h, w): (u32, u32)) -> (f64, bool) {
    let n = 10;
    match op {
        Op::ShearX | Op::ShearY => (linspace(0.0, 0.3, n, i), true),
        Op::TranslateX => (linspace(0.0, 150.0 / 331.0 * w as f64, n, i), true),
        Op::TranslateY => (linspace(0.0, 150.0 / 331.0 * h as f64, n, i), true),
        Op::Rotate => (linspace(0.0, 30.0, n, i), true),
        Op::Brightness | Op::Color | Op::Contrast | Op::Sharpness => (linspace(0.0, 0.9, n, i), true),
        Op::Posterize => (8.0 - (i as f64 / ((n - 1) as f64 / 4.0)).round(), false),
        Op::Solarize => (linspace(255.0, 0.0, n, i), false),
        _ => (0.0, false),
    }
}

type SubPolicy = [(Op, f64, Option<usize>); 2];

use Op::*;

const IMAGENET: [SubPolicy; 25] = [
    [(Posterize, 0.4, Some(8)), (Rotate, 0.6, Some(9))],
    [(Solarize, 0.6, Some(5)), (AutoContrast, 0.6, None)],
    [(Equalize, 0.8, None), (Equalize, 0.6, None)],
    [(Posterize, 0.6, Some(7)), (Posterize, 0.6, Some(6))],
    [(Equalize, 0.4, None), (Solarize, 0.2, Some(4))],
    [(Equalize, 0.4, None), (Rotate, 0.8, Some(8))],
    [(Solarize, 0.6, Some(3)), (Equalize, 0.6, None)],
    [(Posterize, 0.8, Some(5)), (Equalize, 1.0, None)],
    [(Rotate, 0.2, Some(3)), (Solarize, 0.6, Some(8))],
    [(Equalize, 0.6, None), (Posterize, 0.4, Some(6))],
    [(Rotate, 0.8, Some(8)), (Color, 0.4, Some(0))],
    [(Rotate, 0.4, Some(9)), (Equalize, 0.6, None)],
    [(Equalize, 0.0, None), (Equalize, 0.8, None)],
    [(Invert, 0.6, None), (Equalize, 1.0, None)],
    [(Color, 0.6, Some(4)), (Contrast, 1.0, Some(8))],
    [(Rotate, 0.8, Some(8)), (Color, 1.0, Some(2))],
    [(Color, 0.8, Some(8)), (Solarize, 0.8, Some(7))],
    [(Sharpness, 0.4, Some(7)), (Invert, 0.6, None)],
    [(ShearX, 0.6, Some(5)), (Equalize, 1.0, None)],
    [(Color, 0.4, Some(0)), (Equalize, 0.6, None)],
    [(Equalize, 0.4, None), (Solarize, 0.2, Some(4))],
    [(Solarize, 0.6, Some(5)), (AutoContrast, 0.6, None)],
    [(Invert, 0.6, None), (Equalize, 1.0, None)],
    [(Color, 0.6, Some(4)), (Contrast, 1.0, Some(8))],
    [(Equalize, 0.8, None), (Equalize, 0.6, None)],
];

const CIFAR10: [SubPolicy; 25] = [
    [(Invert, 0.1, None), (Contrast, 0.2, Some(6))],
    [(Rotate, 0.7, Some(2)), (TranslateX, 0.3, Some(9))],
    [(Sharpness, 0.8, Some(1)), (Sharpness, 0.9, Some(3))],
    [(ShearY, 0.5, Some(8)), (TranslateY, 0.7, Some(9))],
    [(AutoContrast, 0.5, None), (Equalize, 0.9, None)],
    [(ShearY, 0.2, Some(7)), (Posterize, 0.3, Some(7))],
    [(Color, 0.4, Some(3)), (Brightness, 0.6, Some(7))],
    [(Sharpness, 0.3, Some(9)), (Brightness, 0.7, Some(9))],
    [(Equalize, 0.6, None), (Equalize, 0.5, None)],
    [(Contrast, 0.6, Some(7)), (Sharpness, 0.6, Some(5))],
    [(Color, 0.7, Some(7)), (TranslateX, 0.5, Some(8))],
    [(Equalize, 0.3, None), (AutoContrast, 0.4, None)],
    [(TranslateY, 0.4, Some(3)), (Sharpness, 0.2, Some(6))],
    [(Brightness, 0.9, Some(6)), (Color, 0.2, Some(8))],
    [(Solarize, 0.5, Some(2)), (Invert, 0.0, None)],
    [(Equalize, 0.2, None), (AutoContrast, 0.6, None)],
    [(Equalize, 0.2, None), (Equalize, 0.6, None)],
    [(Color, 0.9, Some(9)), (Equalize, 0.6, None)],
    [(AutoContrast, 0.8, None), (Solarize, 0.2, Some(8))],
    [(Brightness, 0.1, Some(3)), (Color, 0.7, Some(0))],
    [(Solarize, 0.4, Some(5)), (AutoContrast, 0.9, None)],
    [(TranslateY, 0.9, Some(9)), (TranslateY, 0.7, Some(9))],
    [(AutoContrast, 0.9, None), (Solarize, 0.8, Some(3))],
    [(Equalize, 0.8, None), (Invert, 0.1, None)],
    [(TranslateY, 0.7, Some(9)), (AutoContrast, 0.9, None)],
];

const SVHN: [SubPolicy; 25] = [
    [(ShearX, 0.9, Some(4)), (Invert, 0.2, None)],
    [(ShearY, 0.9, Some(8)), (Invert, 0.7, None)],
    [(Equalize, 0.6, None), (Solarize, 0.6, Some(6))],
    [(Invert, 0.9, None), (Equalize, 0.6, None)],
    [(Equalize, 0.6, None), (Rotate, 0.9, Some(3))],
    [(ShearX, 0.9, Some(4)), (AutoContrast, 0.8, None)],
    [(ShearY, 0.9, Some(8)), (Invert, 0.4, None)],
    [(ShearY, 0.9, Some(5)), (Solarize, 0.2, Some(6))],
    [(Invert, 0.9, None), (AutoContrast, 0.8, None)],
    [(Equalize, 0.6, None), (Rotate, 0.9, Some(3))],
    [(ShearX, 0.9, Some(4)), (Solarize, 0.3, Some(3))],
    [(ShearY, 0.8, Some(8)), (Invert, 0.7, None)],
    [(Equalize, 0.9, None), (TranslateY, 0.6, Some(6))],
    [(Invert, 0.9, None), (Equalize, 0.6, None)],
    [(Contrast, 0.3, Some(3)), (Rotate, 0.8, Some(4))],
    [(Invert, 0.8, None), (TranslateY, 0.0, Some(2))],
    [(ShearY, 0.7, Some(6)), (Solarize, 0.4, Some(8))],
    [(Invert, 0.6, None), (Rotate, 0.8, Some(4))],
    [(ShearY, 0.3, Some(7)), (TranslateX, 0.9, Some(3))],
    [(ShearX, 0.1, Some(6)), (Invert, 0.6, None)],
    [(Solarize, 0.7, Some(2)), (TranslateY, 0.6, Some(7))],
    [(ShearY, 0.8, Some(4)), (Invert, 0.8, None)],
    [(ShearX, 0.7, Some(9)), (TranslateY, 0.8, Some(3))],
    [(ShearY, 0.8, Some(5)), (AutoContrast, 0.7, None)],
    [(ShearX, 0.7, Some(2)), (Invert, 0.1, None)],
];

/// How resampled pixels are read.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Warp {
    pub bilinear: bool,
    pub fill: [u8; 3],
}

/// TrivialAugmentWide on an image and its mask.
pub fn trivial_augment_wide(
    img: RgbImage,
    mask: Option<GrayImage>,
    bins: usize,
    warp: Warp,
    rng: &mut Rng,
) -> (RgbImage, Option<GrayImage>) {
    let op = WIDE[rng.below(WIDE.len() as u64) as usize];
    let mut magnitude = match wide_magnitude(op, bins.max(2), 0) {
        Some(_) => wide_magnitude(op, bins.max(2), rng.below(bins.max(2) as u64) as usize).map_or(0.0, |m| m.0),
        None => 0.0,
    };
    if wide_magnitude(op, bins.max(2), 0).is_some_and(|m| m.1) && rng.below(2) == 1 {
        magnitude = -magnitude;
    }
    apply(img, mask, op, magnitude, warp)
}

/// AutoAugment with `policy` (`imagenet`, `cifar10`, `svhn`) on an image and its mask.
pub fn auto_augment(
    mut img: RgbImage,
    mut mask: Option<GrayImage>,
    policy: &str,
    warp: Warp,
    rng: &mut Rng,
) -> (RgbImage, Option<GrayImage>) {
    let table: &[SubPolicy] = match policy {
        "cifar10" => &CIFAR10,
        "svhn" => &SVHN,
        _ => &IMAGENET,
    };
    let sub = table[rng.below(table.len() as u64) as usize];
    let probs = [rng.uniform(), rng.uniform()];
    let signs = [rng.below(2), rng.below(2)];
    for (k, (op, p, bin)) in sub.iter().enumerate() {
        if probs[k] <= *p {
            let (mut m, signed) = match bin {
                Some(i) => auto_magnitude(*op, *i, (img.height(), img.width())),
                None => (0.0, false),
            };
            if signed && signs[k] == 0 {
                m = -m;
            }
            (img, mask) = apply(img, mask, *op, m, warp);
        }
    }
    (img, mask)
}

/// torchvision's `_apply_op`.
pub fn apply(img: RgbImage, mask: Option<GrayImage>, op: Op, m: f64, warp: Warp) -> (RgbImage, Option<GrayImage>) {
    let (w, h) = (img.width() as f64, img.height() as f64);
    let centre = [w * 0.5, h * 0.5];
    let affine = |angle: f64, translate: [f64; 2], shear: [f64; 2], centre: [f64; 2]| {
        let inv = inverse_affine(centre, angle, translate, shear);
        let img = warp_rgb(&img, &inv, warp);
        let mask = mask.as_ref().map(|m| warp_mask(m, &inv));
        (img, mask)
    };
    let mut img = match op {
        ShearX => return affine(0.0, [0.0, 0.0], [m.atan().to_degrees(), 0.0], [0.0, 0.0]),
        ShearY => return affine(0.0, [0.0, 0.0], [0.0, m.atan().to_degrees()], [0.0, 0.0]),
        TranslateX => return affine(0.0, [m.trunc(), 0.0], [0.0, 0.0], centre),
        TranslateY => return affine(0.0, [0.0, m.trunc()], [0.0, 0.0], centre),
        // PIL rotates counter-clockwise by the angle.
        Rotate => return affine(-m, [0.0, 0.0], [0.0, 0.0], centre),
        _ => img,
    };
    match op {
        Brightness => adjust_brightness(&mut img, 1.0 + m),
        Color => adjust_saturation(&mut img, 1.0 + m),
        Contrast => adjust_contrast(&mut img, 1.0 + m),
        Sharpness => adjust_sharpness(&mut img, 1.0 + m),
        Posterize => {
            let bits = (m as i64).clamp(0, 8) as u32;
            let keep = if bits == 0 { 0u8 } else { (0xFFu16 << (8 - bits)) as u8 };
            img.pixels_mut().for_each(|p| p.0 = p.0.map(|v| v & keep));
        }
        Solarize => img
            .pixels_mut()
            .for_each(|p| p.0 = p.0.map(|v| if v as f64 >= m { 255 - v } else { v })),
        AutoContrast => autocontrast(&mut img),
        Equalize => equalize(&mut img),
        Invert => img.pixels_mut().for_each(|p| p.0 = p.0.map(|v| 255 - v)),
        _ => {}
    }
    (img, mask)
}

/// torchvision's `_get_inverse_affine_matrix`: output pixel → input pixel.
fn inverse_affine(centre: [f64; 2], angle: f64, translate: [f64; 2], shear: [f64; 2]) -> [f64; 6] {
    let rot = angle.to_radians();
    let (sx, sy) = (shear[0].to_radians(), shear[1].to_radians());
    let [cx, cy] = centre;
    let [tx, ty] = translate;
    let a = (rot - sy).cos() / sy.cos();
    let b = -(rot - sy).cos() * sx.tan() / sy.cos() - rot.sin();
    let c = (rot - sy).sin() / sy.cos();
    let d = -(rot - sy).sin() * sx.tan() / sy.cos() + rot.cos();
    let mut m = [d, -b, 0.0, -c, a, 0.0];
    m[2] += m[0] * (-cx - tx) + m[1] * (-cy - ty);
    m[5] += m[3] * (-cx - tx) + m[4] * (-cy - ty);
    m[2] += cx;
    m[5] += cy;
    m
}

/// The input position of output pixel (x, y), pixel centres at +0.5 as PIL samples.
fn source(m: &[f64; 6], x: u32, y: u32) -> (f64, f64) {
    let (u, v) = (x as f64 + 0.5, y as f64 + 0.5);
    (m[0] * u + m[1] * v + m[2] - 0.5, m[3] * u + m[4] * v + m[5] - 0.5)
}

fn warp_rgb(img: &RgbImage, m: &[f64; 6], warp: Warp) -> RgbImage {
    let (w, h) = img.dimensions();
    RgbImage::from_fn(w, h, |x, y| {
        let (sx, sy) = source(m, x, y);
        if !warp.bilinear {
            let (ix, iy) = (sx.round(), sy.round());
            if ix < 0.0 || iy < 0.0 || ix >= w as f64 || iy >= h as f64 {
                return Rgb(warp.fill);
            }
            return *img.get_pixel(ix as u32, iy as u32);
        }
        if sx < -0.5 || sy < -0.5 || sx > w as f64 - 0.5 || sy > h as f64 - 0.5 {
            return Rgb(warp.fill);
        }
        let (x0, y0) = (sx.floor(), sy.floor());
        let (fx, fy) = (sx - x0, sy - y0);
        let at = |xx: f64, yy: f64| -> [f64; 3] {
            let cx = xx.clamp(0.0, w as f64 - 1.0) as u32;
            let cy = yy.clamp(0.0, h as f64 - 1.0) as u32;
            img.get_pixel(cx, cy).0.map(|v| v as f64)
        };
        let (p00, p10, p01, p11) = (at(x0, y0), at(x0 + 1.0, y0), at(x0, y0 + 1.0), at(x0 + 1.0, y0 + 1.0));
        Rgb(std::array::from_fn(|c| {
            let top = p00[c] * (1.0 - fx) + p10[c] * fx;
            let bottom = p01[c] * (1.0 - fx) + p11[c] * fx;
            (top * (1.0 - fy) + bottom * fy).round().clamp(0.0, 255.0) as u8
        }))
    })
}

fn warp_mask(mask: &GrayImage, m: &[f64; 6]) -> GrayImage {
    let (w, h) = mask.dimensions();
    GrayImage::from_fn(w, h, |x, y| {
        let (sx, sy) = source(m, x, y);
        let (ix, iy) = (sx.round(), sy.round());
        if ix < 0.0 || iy < 0.0 || ix >= w as f64 || iy >= h as f64 {
            Luma([MASK_FILL])
        } else {
            *mask.get_pixel(ix as u32, iy as u32)
        }
    })
}

/// PIL's `ImageEnhance.Sharpness`: a blend with the image smoothed by [[1,1,1],[1,5,1],[1,1,1]]/13
/// (the border kept).
fn adjust_sharpness(img: &mut RgbImage, f: f64) {
    let src = img.clone();
    let (w, h) = src.dimensions();
    if w < 3 || h < 3 {
        return;
    }
    for y in 1..h - 1 {
        for x in 1..w - 1 {
            let mut sum = [0.0f64; 3];
            for dy in 0..3 {
                for dx in 0..3 {
                    let k = if dx == 1 && dy == 1 { 5.0 } else { 1.0 };
                    let p = src.get_pixel(x + dx - 1, y + dy - 1);
                    for c in 0..3 {
                        sum[c] += k * p[c] as f64;
                    }
                }
            }
            let p = src.get_pixel(x, y).0;
            img.put_pixel(
                x,
                y,
                Rgb(std::array::from_fn(|c| blend(p[c] as f64, (sum[c] / 13.0).round(), f))),
            );
        }
    }
}

/// PIL's `ImageOps.autocontrast` (no cutoff): each channel stretched to 0..255.
fn autocontrast(img: &mut RgbImage) {
    for c in 0..3 {
        let (lo, hi) = img
            .pixels()
            .fold((255u8, 0u8), |(lo, hi), p| (lo.min(p[c]), hi.max(p[c])));
        if hi <= lo {
            continue;
        }
        let scale = 255.0 / (hi - lo) as f64;
        for p in img.pixels_mut() {
            p.0[c] = ((p.0[c] - lo) as f64 * scale).round().clamp(0.0, 255.0) as u8;
        }
    }
}

/// PIL's `ImageOps.equalize`: each channel's histogram equalised.
fn equalize(img: &mut RgbImage) {
    for c in 0..3 {
        let mut hist = [0usize; 256];
        img.pixels().for_each(|p| hist[p[c] as usize] += 1);
        let last = hist.iter().rposition(|n| *n > 0).map_or(0, |i| hist[i]);
        let step = (hist.iter().sum::<usize>() - last) / 255;
        if step == 0 {
            continue;
        }
        let mut lut = [0u8; 256];
        let mut n = step / 2;
        for (i, h) in hist.iter().enumerate() {
            lut[i] = (n / step).min(255) as u8;
            n += h;
        }
        img.pixels_mut().for_each(|p| p.0[c] = lut[p.0[c] as usize]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ramp() -> RgbImage {
        RgbImage::from_fn(16, 8, |x, y| Rgb([(x * 16) as u8, (y * 32) as u8, 100]))
    }

    const NEAREST: Warp = Warp {
        bilinear: false,
        fill: [7, 7, 7],
    };

    #[test]
    fn translation_moves_image_and_mask_by_whole_pixels() {
        let mask = GrayImage::from_fn(16, 8, |x, _| Luma([x as u8]));
        let (img, m) = apply(ramp(), Some(mask), TranslateX, 3.7, NEAREST);
        let m = m.unwrap();
        // Content moves right by int(3.7) = 3; the uncovered columns are filled.
        assert_eq!(img.get_pixel(5, 2).0, ramp().get_pixel(2, 2).0);
        assert_eq!(img.get_pixel(1, 2).0, [7, 7, 7]);
        assert_eq!(m.get_pixel(5, 0).0, [2]);
        assert_eq!(m.get_pixel(0, 0).0, [MASK_FILL]);
    }

    #[test]
    fn a_quarter_turn_rotates_counter_clockwise_about_the_centre() {
        let img = RgbImage::from_fn(8, 8, |x, y| Rgb([x as u8, y as u8, 0]));
        let (r, _) = apply(img, None, Rotate, 90.0, NEAREST);
        // PIL: the top-right corner comes to the top-left.
        assert_eq!(r.get_pixel(0, 0).0, [7, 0, 0]);
        assert_eq!(r.get_pixel(7, 7).0, [0, 7, 0]);
    }

    #[test]
    fn pixel_operations_follow_pil() {
        let (p, _) = apply(ramp(), None, Posterize, 2.0, NEAREST);
        assert!(p.pixels().all(|q| q.0.iter().all(|v| v & 0x3F == 0)));
        let (s, _) = apply(ramp(), None, Solarize, 128.0, NEAREST);
        assert_eq!(s.get_pixel(15, 0).0, [255 - 240, 0, 100]);
        let dark = RgbImage::from_fn(4, 4, |x, _| Rgb([50 + x as u8 * 10, 60, 70]));
        let (a, _) = apply(dark, None, AutoContrast, 0.0, NEAREST);
        assert_eq!((a.get_pixel(0, 0)[0], a.get_pixel(3, 0)[0]), (0, 255));
        let (i, _) = apply(ramp(), None, Invert, 0.0, NEAREST);
        assert_eq!(i.get_pixel(1, 1).0, [255 - 16, 255 - 32, 155]);
    }

    #[test]
    fn policies_are_torchvisions() {
        assert_eq!(IMAGENET[0], [(Posterize, 0.4, Some(8)), (Rotate, 0.6, Some(9))]);
        assert_eq!(SVHN[24], [(ShearX, 0.7, Some(2)), (Invert, 0.1, None)]);
        // Posterize's bits for 31 bins: 8 down to 2.
        assert_eq!(wide_magnitude(Posterize, 31, 0), Some((8.0, false)));
        assert_eq!(wide_magnitude(Posterize, 31, 30), Some((2.0, false)));
        assert_eq!(auto_magnitude(TranslateX, 9, (331, 331)).0, 150.0);
    }
}
