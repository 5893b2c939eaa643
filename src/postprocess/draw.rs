//! Pictures of results, for people: boxes with class names and scores, keypoints with a
//! skeleton, mask overlays — drawn on the original image with a built-in 5x7 pixel font, so
//! no font file is needed.

use image::{Rgb, RgbImage};

/// A distinct colour per class (golden-angle hues).
pub fn palette(i: usize) -> [u8; 3] {
    let h = (i as f32 * 137.508) % 360.0;
    let (s, v) = (0.85f32, 0.95f32);
    let c = v * s;
    let x = c * (1.0 - ((h / 60.0) % 2.0 - 1.0).abs());
    let (r, g, b) = match (h / 60.0) as u32 {
        0 => (c, x, 0.0),
        1 => (x, c, 0.0),
        2 => (0.0, c, x),
        3 => (0.0, x, c),
        4 => (x, 0.0, c),
        _ => (c, 0.0, x),
    };
    let m = v - c;
    [
        ((r + m) * 255.0) as u8,
        ((g + m) * 255.0) as u8,
        ((b + m) * 255.0) as u8,
    ]
}

/// 5x7 glyphs (rows top to bottom, bit 4 = leftmost column); lower case draws as upper case.
fn glyph(c: char) -> [u8; 7] {
    match c.to_ascii_uppercase() {
        '0' => [14, 17, 19, 21, 25, 17, 14],
        '1' => [4, 12, 4, 4, 4, 4, 14],
        '2' => [14, 17, 1, 2, 4, 8, 31],
        '3' => [31, 2, 4, 2, 1, 17, 14],
        '4' => [2, 6, 10, 18, 31, 2, 2],
        '5' => [31, 16, 30, 1, 1, 17, 14],
        '6' => [6, 8, 16, 30, 17, 17, 14],
        '7' => [31, 1, 2, 4, 8, 8, 8],
        '8' => [14, 17, 17, 14, 17, 17, 14],
        '9' => [14, 17, 17, 15, 1, 2, 12],
        'A' => [14, 17, 17, 31, 17, 17, 17],
        'B' => [30, 17, 17, 30, 17, 17, 30],
        'C' => [14, 17, 16, 16, 16, 17, 14],
        'D' => [28, 18, 17, 17, 17, 18, 28],
        'E' => [31, 16, 16, 30, 16, 16, 31],
        'F' => [31, 16, 16, 30, 16, 16, 16],
        'G' => [14, 17, 16, 23, 17, 17, 15],
        'H' => [17, 17, 17, 31, 17, 17, 17],
        'I' => [14, 4, 4, 4, 4, 4, 14],
        'J' => [7, 2, 2, 2, 2, 18, 12],
        'K' => [17, 18, 20, 24, 20, 18, 17],
        'L' => [16, 16, 16, 16, 16, 16, 31],
        'M' => [17, 27, 21, 21, 17, 17, 17],
        'N' => [17, 17, 25, 21, 19, 17, 17],
        'O' => [14, 17, 17, 17, 17, 17, 14],
        'P' => [30, 17, 17, 30, 16, 16, 16],
        'Q' => [14, 17, 17, 17, 21, 18, 13],
        'R' => [30, 17, 17, 30, 20, 18, 17],
        'S' => [15, 16, 16, 14, 1, 1, 30],
        'T' => [31, 4, 4, 4, 4, 4, 4],
        'U' => [17, 17, 17, 17, 17, 17, 14],
        'V' => [17, 17, 17, 17, 17, 10, 4],
        'W' => [17, 17, 17, 21, 21, 21, 10],
        'X' => [17, 17, 10, 4, 10, 17, 17],
        'Y' => [17, 17, 17, 10, 4, 4, 4],
        'Z' => [31, 1, 2, 4, 8, 16, 31],
        '.' => [0, 0, 0, 0, 0, 12, 12],
        ':' => [0, 12, 12, 0, 12, 12, 0],
        '-' => [0, 0, 0, 31, 0, 0, 0],
        '_' => [0, 0, 0, 0, 0, 0, 31],
        '%' => [24, 25, 2, 4, 8, 19, 3],
        '/' => [0, 1, 2, 4, 8, 16, 0],
        '(' => [2, 4, 8, 8, 8, 4, 2],
        ')' => [8, 4, 2, 2, 2, 4, 8],
        ' ' => [0; 7],
        _ => [31, 17, 17, 17, 17, 17, 31],
    }
}

fn put(img: &mut RgbImage, x: i64, y: i64, c: [u8; 3]) {
    if x >= 0 && y >= 0 && (x as u32) < img.width() && (y as u32) < img.height() {
        img.put_pixel(x as u32, y as u32, Rgb(c));
    }
}

fn fill(img: &mut RgbImage, x1: i64, y1: i64, x2: i64, y2: i64, c: [u8; 3]) {
    for y in y1.max(0)..y2.min(img.height() as i64) {
        for x in x1.max(0)..x2.min(img.width() as i64) {
            img.put_pixel(x as u32, y as u32, Rgb(c));
        }
    }
}

/// The text scale for an image: 2 pixels per font pixel from 400 px up.
fn scale(img: &RgbImage) -> i64 {
    if img.width().max(img.height()) >= 400 { 2 } else { 1 }
}

/// White text on a `background` label whose top-left corner is (x, y).
fn label(img: &mut RgbImage, x: i64, y: i64, text: &str, background: [u8; 3]) {
    let s = scale(img);
    let (w, h) = (text.chars().count() as i64 * 6 * s + 2 * s, 9 * s);
    fill(img, x, y, x + w, y + h, background);
    for (k, ch) in text.chars().enumerate() {
        let g = glyph(ch);
        for (row, bits) in g.iter().enumerate() {
            for col in 0..5 {
                if bits & (16 >> col) != 0 {
                    let (px, py) = (x + s + (k as i64 * 6 + col) * s, y + s + row as i64 * s);
                    fill(img, px, py, px + s, py + s, [255, 255, 255]);
                }
            }
        }
    }
}

fn rect(img: &mut RgbImage, b: [f32; 4], c: [u8; 3], t: i64) {
    let [x1, y1, x2, y2] = b.map(|v| v.round() as i64);
    fill(img, x1, y1, x2 + 1, y1 + t, c);
    fill(img, x1, y2 + 1 - t, x2 + 1, y2 + 1, c);
    fill(img, x1, y1, x1 + t, y2 + 1, c);
    fill(img, x2 + 1 - t, y1, x2 + 1, y2 + 1, c);
}

fn line(img: &mut RgbImage, (x0, y0): (f32, f32), (x1, y1): (f32, f32), c: [u8; 3], t: i64) {
    let steps = ((x1 - x0).abs().max((y1 - y0).abs()).ceil() as i64).max(1);
    for k in 0..=steps {
        let f = k as f32 / steps as f32;
        let (x, y) = ((x0 + (x1 - x0) * f).round() as i64, (y0 + (y1 - y0) * f).round() as i64);
        fill(img, x - t / 2, y - t / 2, x - t / 2 + t, y - t / 2 + t, c);
    }
}

fn disc(img: &mut RgbImage, (cx, cy): (f32, f32), r: i64, c: [u8; 3]) {
    let (cx, cy) = (cx.round() as i64, cy.round() as i64);
    for y in -r..=r {
        for x in -r..=r {
            if x * x + y * y <= r * r {
                put(img, cx + x, cy + y, c);
            }
        }
    }
}

/// Boxes in image pixels with their caption ("car 0.91").
pub fn detections(img: &mut RgbImage, boxes: &[([f32; 4], usize, String)]) {
    let s = scale(img);
    // Lowest score first, so the best boxes end on top.
    for (b, class, caption) in boxes.iter().rev() {
        let c = palette(*class);
        rect(img, *b, c, s + 1);
        let y = (b[1].round() as i64 - 9 * s).max(0);
        label(img, b[0].round() as i64, y, caption, c);
    }
}

/// COCO's 17-keypoint skeleton (keypoint index pairs).
pub const COCO_SKELETON: [(usize, usize); 19] = [
    (15, 13),
    (13, 11),
    (16, 14),
    (14, 12),
    (11, 12),
    (5, 11),
    (6, 12),
    (5, 6),
    (5, 7),
    (6, 8),
    (7, 9),
    (8, 10),
    (1, 2),
    (0, 1),
    (0, 2),
    (1, 3),
    (2, 4),
    (3, 5),
    (4, 6),
];

/// Keypoints in image pixels (those with a positive score), joined by COCO's skeleton when
/// there are 17.
pub fn keypoints(img: &mut RgbImage, points: &[(f32, f32, f32)]) {
    let s = scale(img);
    let visible = |k: usize| points.get(k).is_some_and(|p| p.2 > 0.0);
    if points.len() == 17 {
        for (i, (a, b)) in COCO_SKELETON.iter().enumerate() {
            if visible(*a) && visible(*b) {
                let (p, q) = (points[*a], points[*b]);
                line(img, (p.0, p.1), (q.0, q.1), palette(i), s + 1);
            }
        }
    }
    for (k, p) in points.iter().enumerate() {
        if p.2 > 0.0 {
            disc(img, (p.0, p.1), 2 * s + 1, [255, 255, 255]);
            disc(img, (p.0, p.1), 2 * s, palette(k));
        }
    }
}

/// Blends a class colour over every pixel (half opacity); `labels` is row-major at the image's
/// size.
pub fn mask_overlay(img: &mut RgbImage, labels: &[u32]) {
    for (px, l) in img.pixels_mut().zip(labels) {
        let c = palette(*l as usize);
        for k in 0..3 {
            px[k] = ((px[k] as u16 + c[k] as u16) / 2) as u8;
        }
    }
}
