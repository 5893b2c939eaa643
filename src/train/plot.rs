//! `results.png`: the losses (left) and the metrics (right) per epoch, drawn with the image
//! crate and a built-in 5×7 pixel font, so no plotting library or font file is needed.

use image::{Rgb, RgbImage};

/// One line of a panel: a label and a value per epoch (`None` where the epoch has none).
pub struct Series {
    pub label: String,
    pub points: Vec<(usize, f64)>,
}

const WHITE: Rgb<u8> = Rgb([255, 255, 255]);
const INK: Rgb<u8> = Rgb([40, 40, 40]);
const GRID: Rgb<u8> = Rgb([225, 225, 225]);
const COLOURS: [Rgb<u8>; 6] = [
    Rgb([31, 119, 180]),
    Rgb([255, 127, 14]),
    Rgb([44, 160, 44]),
    Rgb([214, 39, 40]),
    Rgb([148, 103, 189]),
    Rgb([140, 86, 75]),
];

/// 5×7 glyphs, one string of 35 cells ('#' ink) per character.
fn glyph(c: char) -> Option<&'static str> {
    Some(match c {
        '0' => ".###.#...##..###.#.###..##...#.###.",
        '1' => "..#...##....#....#....#....#...###.",
        '2' => ".###.#...#....#...#...#...#...#####",
        '3' => "#####...#...#.....#.....##...#.###.",
        '4' => "...#...##..#.#.#..#.#####...#....#.",
        '5' => "######....####.....#....##...#.###.",
        '6' => "..##..#...#....####.#...##...#.###.",
        '7' => "#####....#...#...#...#....#....#...",
        '8' => ".###.#...##...#.###.#...##...#.###.",
        '9' => ".###.#...##...#.####....#...#..##..",
        '.' => "..........................##...##..",
        '-' => "...............#####...............",
        '+' => ".......#....#..#####..#....#.......",
        '_' => "..............................#####",
        ':' => "......##...##........##...##.......",
        '/' => ".........#...#...#...#...#.........",
        '@' => ".###.#...#....#.##.##.#.##.#.#.###.",
        'a' => "...........###.....#.#####...#.####",
        'b' => "#....#....#.##.##..##...##...#####.",
        'c' => "...........###.#....#....#...#.###.",
        'd' => "....#....#.##.##..###...##...#.####",
        'e' => "...........###.#...#######.....###.",
        'f' => "..##..#..#.#...###...#....#....#...",
        'g' => "......#####...##...#.####....#.###.",
        'h' => "#....#....#.##.##..##...##...##...#",
        'i' => "..#........##....#....#....#...###.",
        'j' => "...#........##....#....#.#..#..##..",
        'k' => "#....#....#..#.#.#..##...#.#..#..#.",
        'l' => ".##....#....#....#....#....#...###.",
        'm' => "..........##.#.#.#.##.#.##...##...#",
        'n' => "..........#.##.##..##...##...##...#",
        'o' => "...........###.#...##...##...#.###.",
        'p' => "..........####.#...#####.#....#....",
        'q' => "...........##.##..##.####....#....#",
        'r' => "..........#.##.##..##....#....#....",
        's' => "...........###.#.....###.....#####.",
        't' => ".#....#...###...#....#....#..#..##.",
        'u' => "..........#...##...##...##..##.##.#",
        'v' => "..........#...##...##...#.#.#...#..",
        'w' => "..........#...##...##.#.##.#.#.#.#.",
        'x' => "..........#...#.#.#...#...#.#.#...#",
        'y' => "..........#...##...#.####....#.###.",
        'z' => "..........#####...#...#...#...#####",
        ' ' => "...................................",

        _ => return None,
    })
}

fn text(img: &mut RgbImage, x: i32, y: i32, s: &str, colour: Rgb<u8>) {
    for (k, c) in s.chars().enumerate() {
        let Some(g) = glyph(c.to_ascii_lowercase()) else {
            continue;
        };
        for (i, cell) in g.bytes().enumerate().take(35) {
            if cell == b'#' {
                put(img, x + k as i32 * 6 + (i % 5) as i32, y + (i / 5) as i32, colour);
            }
        }
    }
}

fn text_width(s: &str) -> i32 {
    s.chars().count() as i32 * 6
}

fn put(img: &mut RgbImage, x: i32, y: i32, c: Rgb<u8>) {
    if x >= 0 && y >= 0 && (x as u32) < img.width() && (y as u32) < img.height() {
        img.put_pixel(x as u32, y as u32, c);
    }
}

/// A line two pixels wide (Bresenham).
fn line(img: &mut RgbImage, (x0, y0): (i32, i32), (x1, y1): (i32, i32), c: Rgb<u8>) {
    let (dx, dy) = ((x1 - x0).abs(), -(y1 - y0).abs());
    let (sx, sy) = (if x0 < x1 { 1 } else { -1 }, if y0 < y1 { 1 } else { -1 });
    let (mut x, mut y, mut err) = (x0, y0, dx + dy);
    loop {
        put(img, x, y, c);
        put(img, x + 1, y, c);
        put(img, x, y + 1, c);
        if x == x1 && y == y1 {
            break;
        }
        let e2 = 2 * err;
        if e2 >= dy {
            err += dy;
            x += sx;
        }
        if e2 <= dx {
            err += dx;
            y += sy;
        }
    }
}

/// A short number for an axis label.
fn label(v: f64) -> String {
    let a = v.abs();
    if a != 0.0 && !(1e-3..1e4).contains(&a) {
        format!("{v:.1e}")
    } else if a >= 100.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.3}")
    }
}

/// One panel in the box (x, y, w, h).
fn panel(img: &mut RgbImage, (px, py, pw, ph): (i32, i32, i32, i32), title: &str, series: &[Series], epochs: usize) {
    let (left, top, right, bottom) = (px + 56, py + 22, px + pw - 12, py + ph - 60);
    text(img, px + (pw - text_width(title)) / 2, py + 6, title, INK);
    let values: Vec<f64> = series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.1))
        .filter(|v| v.is_finite())
        .collect();
    let (mut lo, mut hi) = values
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| (a.min(*v), b.max(*v)));
    if !lo.is_finite() {
        (lo, hi) = (0.0, 1.0);
    }
    if hi - lo < 1e-12 {
        (lo, hi) = (lo - 0.5, hi + 0.5);
    }
    let pad = (hi - lo) * 0.05;
    (lo, hi) = (lo - pad, hi + pad);
    let epochs = epochs.max(2);
    let sx = |e: usize| left + ((e - 1) as f64 / (epochs - 1) as f64 * (right - left) as f64).round() as i32;
    let sy = |v: f64| bottom - ((v - lo) / (hi - lo) * (bottom - top) as f64).round() as i32;
    for k in 0..=4 {
        let v = lo + (hi - lo) * k as f64 / 4.0;
        let y = sy(v);
        for x in left..=right {
            put(img, x, y, GRID);
        }
        let l = label(v);
        text(img, left - 4 - text_width(&l), y - 3, &l, INK);
    }
    let step = epochs.div_ceil(8).max(1);
    for e in (1..=epochs).filter(|e| (e - 1) % step == 0 || *e == epochs) {
        let x = sx(e);
        for y in top..=bottom {
            put(img, x, y, GRID);
        }
        let l = e.to_string();
        text(img, x - text_width(&l) / 2, bottom + 5, &l, INK);
    }
    text(img, (left + right - text_width("epoch")) / 2, bottom + 16, "epoch", INK);
    for x in left..=right {
        put(img, x, bottom, INK);
    }
    for y in top..=bottom {
        put(img, left, y, INK);
    }
    for (k, s) in series.iter().enumerate() {
        let c = COLOURS[k % COLOURS.len()];
        let pts: Vec<(i32, i32)> = s
            .points
            .iter()
            .filter(|p| p.1.is_finite())
            .map(|(e, v)| (sx(*e), sy(*v)))
            .collect();
        for w in pts.windows(2) {
            line(img, w[0], w[1], c);
        }
        for p in &pts {
            for d in -2..=2 {
                put(img, p.0 + d, p.1, c);
                put(img, p.0, p.1 + d, c);
            }
        }
        // Legend below the axis label.
        let (lx, ly) = (left + (k as i32 % 3) * 120, bottom + 30 + (k as i32 / 3) * 12);
        line(img, (lx, ly + 3), (lx + 14, ly + 3), c);
        text(img, lx + 18, ly, &s.label, INK);
    }
}

/// The losses and the metrics of a run, side by side.
pub fn results_png(losses: &[Series], metrics: &[Series], epochs: usize) -> RgbImage {
    let (w, h) = (1000, 420);
    let mut img = RgbImage::from_pixel(w, h, WHITE);
    panel(&mut img, (0, 0, w as i32 / 2, h as i32), "loss", losses, epochs);
    panel(
        &mut img,
        (w as i32 / 2, 0, w as i32 / 2, h as i32),
        "metrics",
        metrics,
        epochs,
    );
    img
}

/// The series of `results.csv` (its header names them): losses and metrics.
pub fn series_of_csv(rows: &[String]) -> (Vec<Series>, Vec<Series>, usize) {
    let header: Vec<&str> = rows.first().map(|h| h.split(',').collect()).unwrap_or_default();
    let mut losses = Vec::new();
    let mut metrics = Vec::new();
    let mut epochs = 0;
    for (col, name) in header.iter().enumerate() {
        if matches!(*name, "epoch" | "lr" | "seconds") {
            continue;
        }
        let points: Vec<(usize, f64)> = rows[1..]
            .iter()
            .filter_map(|r| {
                let cells: Vec<&str> = r.split(',').collect();
                let e: usize = cells.first()?.parse().ok()?;
                let v: f64 = cells.get(col)?.parse().ok()?;
                Some((e, v))
            })
            .collect();
        epochs = epochs.max(points.iter().map(|p| p.0).max().unwrap_or(0));
        let s = Series {
            label: name.to_string(),
            points,
        };
        if name.ends_with("_loss") {
            losses.push(s);
        } else {
            metrics.push(s);
        }
    }
    (losses, metrics, epochs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_glyph_is_five_by_seven() {
        for c in "0123456789.-+_:/@abcdefghijklmnopqrstuvwxyz ".chars() {
            assert_eq!(glyph(c).unwrap().len(), 35, "{c:?}");
        }
    }

    #[test]
    fn the_plot_draws_every_series_in_its_colour() {
        let rows: Vec<String> = [
            "epoch,lr,train_loss,train_acc1,valid_loss,valid_acc1,valid_acc5,seconds",
            "1,1e-2,2.0,0.1,1.9,0.2,0.5,1.0",
            "2,1e-2,1.0,0.5,,,,1.0",
            "3,1e-2,0.5,0.8,0.6,0.9,1.0,1.0",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let (losses, metrics, epochs) = series_of_csv(&rows);
        assert_eq!(epochs, 3);
        let labels: Vec<&str> = losses.iter().chain(&metrics).map(|s| s.label.as_str()).collect();
        assert_eq!(
            labels,
            ["train_loss", "valid_loss", "train_acc1", "valid_acc1", "valid_acc5"]
        );
        // Validation only where it ran.
        assert_eq!(losses[1].points, vec![(1, 1.9), (3, 0.6)]);
        let img = results_png(&losses, &metrics, epochs);
        for c in &COLOURS[..3] {
            assert!(img.pixels().any(|p| p == c), "{c:?}");
        }
    }
}
