//! Tensor functions of detection transformers (DETR family): multi-scale deformable sampling,
//! 2-D sine position embeddings, per-cell anchors, top-k row selection. Each follows the
//! PyTorch reference implementation's arithmetic (f32, the same order of operations).

use burn::tensor::{Int, Tensor};

/// `[1, levels, 2]`: the (height, width) of every feature map, as a tensor (the form
/// deformable attention takes its "value spatial shapes" in).
pub fn level_shapes(feats: &[Tensor<4>]) -> Tensor<3> {
    let device = feats.first().map(|f| f.device()).unwrap_or_default();
    let values: Vec<f32> = feats
        .iter()
        .flat_map(|f| {
            let [_, _, h, w] = f.dims();
            [h as f32, w as f32]
        })
        .collect();
    Tensor::<1>::from_data(values.as_slice(), &device).reshape([1, feats.len(), 2])
}

fn shapes_of(shapes: Tensor<3>) -> Vec<(usize, usize)> {
    let v: Vec<f32> = shapes
        .into_data()
        .convert::<f32>()
        .try_to_vec::<f32>()
        .unwrap_or_default();
    v.chunks(2).map(|c| (c[0] as usize, c[1] as usize)).collect()
}

/// Bilinear samples of `v` `[n, channels, h * w]` at pixel coordinates `ix`, `iy` `[n, m]`
/// (PyTorch's `grid_sample` with zero padding, align_corners false, after unnormalising):
/// `[n, channels, m]`.
fn bilinear(v: Tensor<3>, ix: Tensor<2>, iy: Tensor<2>, h: usize, w: usize) -> Tensor<3> {
    let [n, c, _] = v.dims();
    let m = ix.dims()[1];
    let x0 = ix.clone().floor();
    let y0 = iy.clone().floor();
    let fx = ix - x0.clone();
    let fy = iy - y0.clone();
    let mut out: Option<Tensor<3>> = None;
    for (dx, dy) in [(0.0f32, 0.0f32), (1.0, 0.0), (0.0, 1.0), (1.0, 1.0)] {
        let xc = x0.clone().add_scalar(dx);
        let yc = y0.clone().add_scalar(dy);
        let wx = if dx == 0.0 {
            fx.clone().neg().add_scalar(1.0)
        } else {
            fx.clone()
        };
        let wy = if dy == 0.0 {
            fy.clone().neg().add_scalar(1.0)
        } else {
            fy.clone()
        };
        // Corners outside the map contribute zeros.
        let xs = xc.clone().clamp(0.0, (w - 1) as f32);
        let ys = yc.clone().clamp(0.0, (h - 1) as f32);
        let inside = (xc - xs.clone()).abs().lower_elem(0.5).float() * (yc - ys.clone()).abs().lower_elem(0.5).float();
        let idx: Tensor<2, Int> = (ys.mul_scalar(w as f32) + xs).int();
        let idx = idx.unsqueeze_dim::<3>(1).expand([n, c, m]);
        let picked = v.clone().gather(2, idx) * (wx * wy * inside).unsqueeze_dim::<3>(1);
        out = Some(match out {
            Some(acc) => acc + picked,
            None => picked,
        });
    }
    out.expect("four corners")
}

/// Multi-scale deformable attention's sampling and weighting (Deformable DETR's
/// `ms_deform_attn_core`): `value` `[batch, len, heads, head_dim]` (the levels of `shapes`
/// flattened one after another), `locations` `[batch, queries, heads, levels, points, 2]`
/// (x, y in [0, 1]), `weights` `[batch, queries, heads, levels, points]`; returns
/// `[batch, queries, heads * head_dim]`.
pub fn deformable_sample(value: Tensor<4>, shapes: Tensor<3>, locations: Tensor<6>, weights: Tensor<5>) -> Tensor<3> {
    let [b, _, nh, d] = value.dims();
    let [_, q, _, nl, np, _] = locations.dims();
    let shapes = shapes_of(shapes);
    let mut sampled = Vec::with_capacity(nl);
    let mut start = 0;
    for (l, (h, w)) in shapes.iter().copied().enumerate().take(nl) {
        let v = value
            .clone()
            .narrow(1, start, h * w)
            .permute([0, 2, 3, 1])
            .reshape([b * nh, d, h * w]);
        start += h * w;
        let g: Tensor<3> = locations
            .clone()
            .narrow(3, l, 1)
            .reshape([b, q, nh, np, 2])
            .permute([0, 2, 1, 3, 4])
            .reshape([b * nh, q * np, 2]);
        // grid_sample's unnormalisation of grid = 2 * loc - 1: ((grid + 1) * size - 1) / 2.
        let gx = g
            .clone()
            .narrow(2, 0, 1)
            .reshape([b * nh, q * np])
            .mul_scalar(2.0)
            .sub_scalar(1.0);
        let gy = g
            .narrow(2, 1, 1)
            .reshape([b * nh, q * np])
            .mul_scalar(2.0)
            .sub_scalar(1.0);
        let ix = gx.add_scalar(1.0).mul_scalar(w as f32).sub_scalar(1.0).div_scalar(2.0);
        let iy = gy.add_scalar(1.0).mul_scalar(h as f32).sub_scalar(1.0).div_scalar(2.0);
        sampled.push(bilinear(v, ix, iy, h, w).reshape([b * nh, d, q, np]));
    }
    let stacked: Tensor<5> = Tensor::stack(sampled, 3);
    let stacked = stacked.reshape([b * nh, d, q, nl * np]);
    let aw = weights.permute([0, 2, 1, 3, 4]).reshape([b * nh, 1, q, nl * np]);
    (stacked * aw).sum_dim(3).reshape([b, nh * d, q]).swap_dims(1, 2)
}

/// RT-DETR's 2-D sine-cosine position embedding `[1, h * w, dim]` for an `h` x `w` map:
/// position `k` is (k / h, k % h) — width-major, as the reference builds its mesh grid —
/// with `[sin(i w), cos(i w), sin(j w), cos(j w)]` over `dim / 4` frequencies
/// `w = 1 / temperature^(f / (dim / 4))`.
pub fn sincos_embed_2d(h: i64, w: i64, dim: i64, temperature: f64, device: &burn::tensor::Device) -> Tensor<3> {
    let (h, w, dim) = (h.max(0) as usize, w.max(0) as usize, dim.max(0) as usize);
    let pos_dim = dim / 4;
    let omega: Vec<f32> = (0..pos_dim)
        .map(|f| 1.0 / (temperature as f32).powf(f as f32 / pos_dim as f32))
        .collect();
    let mut out = Vec::with_capacity(w * h * dim);
    for i in 0..w {
        for j in 0..h {
            let (a, b) = (i as f32, j as f32);
            out.extend(omega.iter().map(|o| (a * o).sin()));
            out.extend(omega.iter().map(|o| (a * o).cos()));
            out.extend(omega.iter().map(|o| (b * o).sin()));
            out.extend(omega.iter().map(|o| (b * o).cos()));
        }
    }
    Tensor::<1>::from_data(out.as_slice(), device).reshape([1, w * h, 4 * pos_dim])
}

/// Per-cell anchors of every feature map, level by level, `[1, cells, 4]` in logit space:
/// centre ((x + 0.5) / w, (y + 0.5) / h) and size `grid_size * 2^level`; an anchor with a
/// coordinate outside (eps, 1 - eps) is +inf (RT-DETR's encoder anchors).
pub fn cell_anchors(feats: &[Tensor<4>], grid_size: f64, eps: f64) -> Tensor<3> {
    let (values, _) = anchors_and_mask(feats, grid_size, eps);
    let device = feats.first().map(|f| f.device()).unwrap_or_default();
    let n = values.len() / 4;
    Tensor::<1>::from_data(values.as_slice(), &device).reshape([1, n, 4])
}

/// `[1, cells, 1]`: 1 where [`cell_anchors`] is finite, else 0.
pub fn cell_anchor_mask(feats: &[Tensor<4>], grid_size: f64, eps: f64) -> Tensor<3> {
    let (_, mask) = anchors_and_mask(feats, grid_size, eps);
    let device = feats.first().map(|f| f.device()).unwrap_or_default();
    let n = mask.len();
    Tensor::<1>::from_data(mask.as_slice(), &device).reshape([1, n, 1])
}

fn anchors_and_mask(feats: &[Tensor<4>], grid_size: f64, eps: f64) -> (Vec<f32>, Vec<f32>) {
    let (mut values, mut mask) = (Vec::new(), Vec::new());
    let eps = eps as f32;
    for (lvl, f) in feats.iter().enumerate() {
        let [_, _, h, w] = f.dims();
        let size = grid_size as f32 * 2f32.powi(lvl as i32);
        for y in 0..h {
            for x in 0..w {
                let a = [(x as f32 + 0.5) / w as f32, (y as f32 + 0.5) / h as f32, size, size];
                let valid = a.iter().all(|v| *v > eps && *v < 1.0 - eps);
                mask.push(if valid { 1.0 } else { 0.0 });
                values.extend(
                    a.iter()
                        .map(|v| if valid { (v / (1.0 - v)).ln() } else { f32::INFINITY }),
                );
            }
        }
    }
    (values, mask)
}

/// The `k` rows of `x` `[batch, len, channels]` with the highest `scores` `[batch, len]`,
/// best first (ties: the earlier row first): `[batch, k, channels]`.
pub fn topk_rows(x: Tensor<3>, scores: Tensor<2>, k: i64) -> Tensor<3> {
    let [b, len, c] = x.dims();
    let k = (k.max(0) as usize).min(len);
    let device = x.device();
    let s: Vec<f32> = scores
        .into_data()
        .convert::<f32>()
        .try_to_vec::<f32>()
        .unwrap_or_default();
    let mut idx: Vec<i64> = Vec::with_capacity(b * k);
    for row in s.chunks(len.max(1)).take(b) {
        let mut order: Vec<usize> = (0..row.len()).collect();
        order.sort_by(|&i, &j| row[j].total_cmp(&row[i]).then(i.cmp(&j)));
        idx.extend(order.into_iter().take(k).map(|i| i as i64));
    }
    let idx = Tensor::<1, Int>::from_data(idx.as_slice(), &device)
        .reshape([b, k, 1])
        .expand([b, k, c]);
    x.gather(1, idx)
}
