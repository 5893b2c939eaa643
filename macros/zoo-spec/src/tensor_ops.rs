//! Tensor functions of forward programs: their rank rules and the Rust they lower to.
//!
//! Each function here is a generic primitive implemented once in the runtime (`crate::rt`) or
//! directly with burn's tensor API; specs compose them by name.

use crate::expr::{Arg, Expr, ExprKind};
use crate::lower::{Binding, LowerError, Scope, error_at, int_plain, lower};
use crate::types::Ty;

/// Names of the tensor functions, for messages and did-you-mean.
pub const TENSOR_FUNCTIONS: &[&str] = &[
    "scan",
    "map",
    "chunk",
    "shape",
    "reshape",
    "permute",
    "matmul",
    "index_select",
    "resize",
    "reduce_sum",
    "interpolate",
    "upsample",
    "grid_anchors",
    "sqrt",
    "clamp_min",
    "rope",
    "toeplitz",
    "log",
    "reduce_max",
    "pow",
    "global_max_pool",
    "l2_normalize",
    "clamp",
    "level_shapes",
    "deformable_sample",
    "sincos_embed_2d",
    "cell_anchors",
    "cell_anchor_mask",
    "topk_rows",
    "global_avg_pool",
    "spatial_mean",
    "unsqueeze",
    "flatten",
    "transpose",
    "cat",
    "mean",
    "expand_batch",
    "attention",
    "position_ids",
    "ones_mask",
    "zero_ids",
    "masked_mean",
    "masked_max",
    "at_argmax",
    "sigmoid",
    "hard_sigmoid",
    "relu",
    "softmax",
];

fn tensor(e: &Expr, s: &mut Scope) -> Result<(String, usize), LowerError> {
    let (r, t) = lower(e, s)?;
    match t {
        Ty::Tensor(rank) => Ok((r, rank)),
        _ => Err(error_at(e, format!("expected a tensor, found {t}"))),
    }
}

/// A dimension argument that must be a literal (ranks are static), negative counting from the end.
fn dim(e: &Expr, rank: usize) -> Result<usize, LowerError> {
    let v = match &e.kind {
        ExprKind::Int(i) => *i,
        ExprKind::Unary("-", inner) => match inner.kind {
            ExprKind::Int(i) => -i,
            _ => return Err(error_at(e, "a dimension must be an integer literal")),
        },
        _ => return Err(error_at(e, "a dimension must be an integer literal")),
    };
    let d = if v < 0 { rank as i64 + v } else { v };
    if d < 0 || d >= rank as i64 {
        return Err(error_at(
            e,
            format!("dimension {v} is out of range for a tensor of rank {rank}"),
        ));
    }
    Ok(d as usize)
}

fn arity(e: &Expr, name: &str, args: &[Arg], lo: usize, hi: usize) -> Result<(), LowerError> {
    if args.len() < lo || args.len() > hi {
        let n = if lo == hi {
            lo.to_string()
        } else {
            format!("{lo} to {hi}")
        };
        return Err(error_at(e, format!("`{name}` takes {n} arguments")));
    }
    Ok(())
}

/// The first argument of `scan`/`map`: a list child; its receiver, element call and signature.
fn list_module(
    e: &Expr,
    fname: &str,
    arg: &Expr,
    s: &Scope,
) -> Result<(String, String, crate::types::Sig), LowerError> {
    let ExprKind::Name(m) = &arg.kind else {
        return Err(error_at(
            arg,
            format!("`{fname}` takes a list module first, e.g. `{fname}(stages, x)`"),
        ));
    };
    if let Some(Binding::Poisoned) = s.lookup(m) {
        return Err(error_at(e, ""));
    }
    match s.lookup(m).cloned() {
        Some(Binding::Module {
            recv,
            elem: Some((elem_call, sig)),
            optional: false,
            ..
        }) => {
            s.element_access.borrow_mut().insert(recv.clone());
            Ok((recv, elem_call, sig))
        }
        _ => Err(error_at(
            arg,
            format!("`{m}` is not a list of modules (a `for` or `list` child)"),
        )),
    }
}

pub fn lower_tensor_call(e: &Expr, name: &str, args: &[Arg], s: &mut Scope) -> Result<(String, Ty), LowerError> {
    if !s.forward || !TENSOR_FUNCTIONS.contains(&name) {
        let mut known: Vec<String> = vec![
            "len",
            "range",
            "enumerate",
            "zip",
            "min",
            "max",
            "sum",
            "prod",
            "any",
            "all",
            "abs",
            "round",
            "ceil",
            "floor",
            "int",
            "float",
            "make_divisible",
            "unwrap",
            "lower",
            "chain",
        ]
        .into_iter()
        .map(String::from)
        .collect();
        if s.forward {
            known.extend(TENSOR_FUNCTIONS.iter().map(|x| x.to_string()));
        }
        let hint = known
            .iter()
            .map(|c| (strsim::jaro_winkler(name, c), c))
            .filter(|(x, _)| *x > 0.8)
            .max_by(|a, b| a.0.partial_cmp(&b.0).unwrap())
            .map(|(_, c)| format!("; did you mean `{c}`?"))
            .unwrap_or_default();
        let place = if TENSOR_FUNCTIONS.contains(&name) {
            " outside a forward program"
        } else {
            ""
        };
        return Err(error_at(e, format!("unknown function `{name}`{place}{hint}")));
    }
    match name {
        "scan" => {
            arity(e, name, args, 2, 2)?;
            let (recv, elem_call, sig) = list_module(e, name, &args[0].value, s)?;
            let ExprKind::Name(m) = &args[0].value.kind else {
                unreachable!("list_module checked a name")
            };
            let step = crate::lower::render_call(&elem_call, "__m", "__h");
            let (rx, r) = tensor(&args[1].value, s)?;
            let out = sig
                .apply(r)
                .map_err(|m| error_at(e, format!("elements of `scan` {m}")))?;
            if out != r {
                return Err(error_at(e, "`scan` needs elements that keep the tensor rank"));
            }
            Ok((
                format!(
                    "{{ let mut __h = {rx}; crate::rt::trace::call({m:?}, || {{ let mut __o = Vec::new(); for (__k, __m) in {recv}.iter().enumerate() {{ __h = crate::rt::trace::call_at(__k, || {step}); __o.push(__h.clone()); }} __o }}) }}"
                ),
                Ty::TensorList(r),
            ))
        }
        "map" => {
            arity(e, name, args, 2, 2)?;
            let (recv, elem_call, sig) = list_module(e, name, &args[0].value, s)?;
            let step = crate::lower::render_call(&elem_call, "__m", "__h");
            let (xs, t) = lower(&args[1].value, s)?;
            let Ty::TensorList(r) = t else {
                return Err(error_at(
                    &args[1].value,
                    format!("`map` applies module k to tensor k of a list of tensors, found {t}"),
                ));
            };
            let out = sig
                .apply(r)
                .map_err(|m| error_at(e, format!("elements of `map` {m}")))?;
            let m = match &args[0].value.kind {
                ExprKind::Name(m) => m.clone(),
                _ => unreachable!("list_module checked a name"),
            };
            Ok((
                format!(
                    "{{ let __xs = {xs}; crate::rt::trace::call({m:?}, || {recv}.iter().zip(__xs).enumerate().map(|(__k, (__m, __h))| crate::rt::trace::call_at(__k, || {step})).collect::<Vec<_>>()) }}"
                ),
                Ty::TensorList(out),
            ))
        }
        "chunk" => {
            arity(e, name, args, 3, 3)?;
            let (x, r) = tensor(&args[0].value, s)?;
            let n = int_plain(&args[1].value, s)?;
            let d = dim(&args[2].value, r)?;
            // Callers check divisibility at init (`checks:`); burn's chunk matches torch's.
            Ok((format!("({x}).chunk(({n}) as usize, {d})"), Ty::TensorList(r)))
        }
        "shape" => {
            arity(e, name, args, 2, 2)?;
            let (x, r) = tensor(&args[0].value, s)?;
            let d = dim(&args[1].value, r)?;
            Ok((format!("(({x}).dims()[{d}] as i64)"), Ty::Int))
        }
        "reshape" => {
            arity(e, name, args, 2, 2)?;
            let (x, _) = tensor(&args[0].value, s)?;
            // The new rank is the length of the literal list; sizes are ints (-1: inferred).
            let ExprKind::List(sizes) = &args[1].value.kind else {
                return Err(error_at(
                    &args[1].value,
                    "`reshape` takes the new shape as a list literal, e.g. `[b, c, h * w]`",
                ));
            };
            if sizes.is_empty() {
                return Err(error_at(&args[1].value, "`reshape` needs at least one dimension"));
            }
            let mut parts = Vec::new();
            for size in sizes {
                parts.push(int_plain(size, s)?);
            }
            Ok((
                format!(
                    "({x}).reshape([{}])",
                    parts
                        .iter()
                        .map(|p| format!("({p}) as i32"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                Ty::Tensor(sizes.len()),
            ))
        }
        "permute" => {
            arity(e, name, args, 2, 2)?;
            let (x, r) = tensor(&args[0].value, s)?;
            let ExprKind::List(order) = &args[1].value.kind else {
                return Err(error_at(
                    &args[1].value,
                    "`permute` takes the dimension order as a list literal, e.g. `[0, 2, 1]`",
                ));
            };
            let dims: Vec<usize> = order.iter().map(|d| dim(d, r)).collect::<Result<_, _>>()?;
            let mut sorted = dims.clone();
            sorted.sort();
            if sorted != (0..r).collect::<Vec<_>>() {
                return Err(error_at(
                    &args[1].value,
                    format!("`permute` needs each of the {r} dimensions exactly once"),
                ));
            }
            Ok((format!("({x}).permute({dims:?})"), Ty::Tensor(r)))
        }
        "matmul" => {
            arity(e, name, args, 2, 2)?;
            let (a, ra) = tensor(&args[0].value, s)?;
            let (b, rb) = tensor(&args[1].value, s)?;
            if ra != rb || ra < 2 {
                return Err(error_at(
                    e,
                    format!("`matmul` needs two tensors of one rank >= 2, found ranks {ra} and {rb}"),
                ));
            }
            Ok((format!("crate::rt::matmul({a}, {b})"), Ty::Tensor(ra)))
        }
        "index_select" => {
            arity(e, name, args, 3, 3)?;
            let (x, r) = tensor(&args[0].value, s)?;
            let d = dim(&args[1].value, r)?;
            let (idx, t) = lower(&args[2].value, s)?;
            let Ty::IndexTensor(ri) = t else {
                return Err(error_at(
                    &args[2].value,
                    format!("`index_select` takes an `index_buffer` as indices, found {t}"),
                ));
            };
            let out = r - 1 + ri;
            Ok((
                format!("crate::rt::index_select::<{r}, {ri}, {out}>({x}, {d}, {idx})"),
                Ty::Tensor(out),
            ))
        }
        "reduce_sum" => {
            arity(e, name, args, 2, 2)?;
            let (x, r) = tensor(&args[0].value, s)?;
            if r < 2 {
                return Err(error_at(e, "`reduce_sum` over a dimension needs rank >= 2"));
            }
            let d = dim(&args[1].value, r)?;
            Ok((
                format!("({x}).sum_dim({d}).squeeze_dim::<{}>({d})", r - 1),
                Ty::Tensor(r - 1),
            ))
        }
        "resize" => {
            arity(e, name, args, 3, 3)?;
            let (x, r) = tensor(&args[0].value, s)?;
            if r != 4 {
                return Err(error_at(e, "`resize(x, height, width)` needs a rank-4 tensor"));
            }
            let h = int_plain(&args[1].value, s)?;
            let w = int_plain(&args[2].value, s)?;
            Ok((
                format!("crate::rt::interpolate_to({x}, [({h}) as usize, ({w}) as usize])"),
                Ty::Tensor(4),
            ))
        }
        "interpolate" => {
            arity(e, name, args, 2, 3)?;
            let (x, r) = tensor(&args[0].value, s)?;
            let (like, rl) = tensor(&args[1].value, s)?;
            if (r, rl) != (4, 4) {
                return Err(error_at(
                    e,
                    "`interpolate(x, like)` resizes a rank-4 tensor to the size of another rank-4 tensor",
                ));
            }
            match args.get(2).map(|a| &a.value.kind) {
                None => Ok((format!("crate::rt::interpolate_like({x}, &{like})"), Ty::Tensor(4))),
                Some(ExprKind::Str(m)) if m == "bilinear" => {
                    Ok((format!("crate::rt::interpolate_like({x}, &{like})"), Ty::Tensor(4)))
                }
                Some(ExprKind::Str(m)) if m == "nearest" => Ok((
                    format!(
                        "{{ let __l = {like}; let __d = __l.dims(); crate::rt::nearest_to({x}, [__d[2], __d[3]]) }}"
                    ),
                    Ty::Tensor(4),
                )),
                _ => Err(error_at(
                    &args[2].value,
                    "the mode of `interpolate` is 'bilinear' (the default) or 'nearest'",
                )),
            }
        }
        "grid_anchors" => {
            // Anchors of every cell of every feature map ([sum of h * w * anchors, 4], xyxy):
            // level k's zero-centred base anchors `cells[k]` shifted to each cell's corner,
            // cells `image // grid` pixels apart (torchvision's AnchorGenerator).
            arity(e, name, args, 4, 4)?;
            let (xs, t) = lower(&args[0].value, s)?;
            if t != Ty::TensorList(4) {
                return Err(error_at(
                    &args[0].value,
                    format!("`grid_anchors` takes the feature maps first, found {t}"),
                ));
            }
            let (cells, ct) = lower(&args[1].value, s)?;
            if !ct.fits(&Ty::list(Ty::list(Ty::list(Ty::Int)))) {
                return Err(error_at(
                    &args[1].value,
                    format!("`grid_anchors` takes base anchors per level as list<list<list<int>>>, found {ct}"),
                ));
            }
            let h = int_plain(&args[2].value, s)?;
            let w = int_plain(&args[3].value, s)?;
            Ok((
                format!("crate::rt::grid_anchors(&{xs}, &{cells}, [{h}, {w}])"),
                Ty::Tensor(2),
            ))
        }
        "sqrt" => {
            arity(e, name, args, 1, 1)?;
            let (x, r) = tensor(&args[0].value, s)?;
            Ok((format!("({x}).sqrt()"), Ty::Tensor(r)))
        }
        "clamp_min" => {
            arity(e, name, args, 2, 2)?;
            let (x, r) = tensor(&args[0].value, s)?;
            let (v, t) = lower(&args[1].value, s)?;
            if !t.is_numeric() {
                return Err(error_at(
                    &args[1].value,
                    format!("`clamp_min` takes a number, found {t}"),
                ));
            }
            Ok((format!("({x}).clamp_min(({v}) as f32)"), Ty::Tensor(r)))
        }
        "rope" => {
            // Rotary position embedding with positions along dimension 1 (RoFormer).
            arity(e, name, args, 1, 1)?;
            let (x, r) = tensor(&args[0].value, s)?;
            if r < 3 {
                return Err(error_at(e, "`rope` needs [batch, positions, ..., channels]"));
            }
            Ok((format!("crate::rt::rope::<{r}>({x})"), Ty::Tensor(r)))
        }
        "toeplitz" => {
            // [n, n] with element (i, j) = w[j - i + n - 1] from the 2n - 1 diagonals `w`.
            arity(e, name, args, 2, 2)?;
            let (w, r) = tensor(&args[0].value, s)?;
            if r != 1 {
                return Err(error_at(e, "`toeplitz(w, n)` takes the diagonals as a rank-1 tensor"));
            }
            let n = int_plain(&args[1].value, s)?;
            Ok((format!("crate::rt::toeplitz({w}, ({n}) as usize)"), Ty::Tensor(2)))
        }
        "pow" => {
            arity(e, name, args, 2, 2)?;
            let (x, r) = tensor(&args[0].value, s)?;
            let (p, t) = lower(&args[1].value, s)?;
            if !t.is_numeric() {
                return Err(error_at(
                    &args[1].value,
                    format!("`pow` takes a number as exponent, found {t}"),
                ));
            }
            Ok((format!("({x}).powf_scalar(({p}) as f32)"), Ty::Tensor(r)))
        }
        "global_max_pool" => {
            arity(e, name, args, 1, 1)?;
            let (x, r) = tensor(&args[0].value, s)?;
            if r != 4 {
                return Err(error_at(
                    e,
                    format!("`global_max_pool` needs a rank-4 tensor, found rank {r}"),
                ));
            }
            Ok((
                format!(
                    "{{ let __x = {x}; let [__b, __c, _, _] = __x.dims(); __x.max_dim(3).max_dim(2).reshape([__b, __c]) }}"
                ),
                Ty::Tensor(2),
            ))
        }
        "l2_normalize" => {
            // x / max(||x||_2, 1e-12) over the last dimension (torch.nn.functional.normalize).
            arity(e, name, args, 1, 1)?;
            let (x, r) = tensor(&args[0].value, s)?;
            Ok((
                format!(
                    "{{ let __x = {x}; let __n = (__x.clone() * __x.clone()).sum_dim({}).sqrt().clamp_min(1e-12); __x / __n }}",
                    r - 1
                ),
                Ty::Tensor(r),
            ))
        }
        "reduce_max" => {
            arity(e, name, args, 2, 2)?;
            let (x, r) = tensor(&args[0].value, s)?;
            if r < 2 {
                return Err(error_at(e, "`reduce_max` over a dimension needs rank >= 2"));
            }
            let d = dim(&args[1].value, r)?;
            Ok((
                format!("({x}).max_dim({d}).squeeze_dim::<{}>({d})", r - 1),
                Ty::Tensor(r - 1),
            ))
        }
        "log" => {
            arity(e, name, args, 1, 1)?;
            let (x, r) = tensor(&args[0].value, s)?;
            Ok((format!("({x}).log()"), Ty::Tensor(r)))
        }
        "clamp" => {
            arity(e, name, args, 3, 3)?;
            let (x, r) = tensor(&args[0].value, s)?;
            let mut bounds = Vec::new();
            for a in &args[1..] {
                let (v, t) = lower(&a.value, s)?;
                if !t.is_numeric() {
                    return Err(error_at(
                        &a.value,
                        format!("`clamp` takes numbers as bounds, found {t}"),
                    ));
                }
                bounds.push(format!("(({v}) as f32)"));
            }
            Ok((format!("({x}).clamp({}, {})", bounds[0], bounds[1]), Ty::Tensor(r)))
        }
        "level_shapes" => {
            arity(e, name, args, 1, 1)?;
            let (xs, t) = lower(&args[0].value, s)?;
            if t != Ty::TensorList(4) {
                return Err(error_at(
                    &args[0].value,
                    format!("`level_shapes` takes feature maps, found {t}"),
                ));
            }
            Ok((format!("crate::rt::level_shapes(&{xs})"), Ty::Tensor(3)))
        }
        "deformable_sample" => {
            arity(e, name, args, 4, 4)?;
            let want = [4usize, 3, 6, 5];
            let mut parts = Vec::new();
            for (a, r) in args.iter().zip(want) {
                let (x, rx) = tensor(&a.value, s)?;
                if rx != r {
                    return Err(error_at(
                        &a.value,
                        format!(
                            "`deformable_sample(value: tensor4, shapes: tensor3, locations: tensor6, weights: tensor5)`: found a tensor of rank {rx}"
                        ),
                    ));
                }
                parts.push(x);
            }
            Ok((
                format!("crate::rt::deformable_sample({})", parts.join(", ")),
                Ty::Tensor(3),
            ))
        }
        "sincos_embed_2d" => {
            // sincos_embed_2d(like, dim, temperature): for the spatial size of `like`.
            arity(e, name, args, 3, 3)?;
            let (like, r) = tensor(&args[0].value, s)?;
            if r != 4 {
                return Err(error_at(
                    e,
                    "`sincos_embed_2d(like, dim, temperature)` takes a feature map first",
                ));
            }
            let dim = int_plain(&args[1].value, s)?;
            let (t, tt) = lower(&args[2].value, s)?;
            if !tt.is_numeric() {
                return Err(error_at(
                    &args[2].value,
                    format!("the temperature is a number, found {tt}"),
                ));
            }
            Ok((
                format!(
                    "{{ let __l = {like}; let __d = __l.dims(); crate::rt::sincos_embed_2d(__d[2] as i64, __d[3] as i64, {dim}, ({t}) as f64, &__l.device()) }}"
                ),
                Ty::Tensor(3),
            ))
        }
        "cell_anchors" | "cell_anchor_mask" => {
            arity(e, name, args, 3, 3)?;
            let (xs, t) = lower(&args[0].value, s)?;
            if t != Ty::TensorList(4) {
                return Err(error_at(
                    &args[0].value,
                    format!("`{name}` takes feature maps first, found {t}"),
                ));
            }
            let mut nums = Vec::new();
            for a in &args[1..] {
                let (v, t) = lower(&a.value, s)?;
                if !t.is_numeric() {
                    return Err(error_at(
                        &a.value,
                        format!("`{name}` takes numbers (grid size, eps), found {t}"),
                    ));
                }
                nums.push(format!("(({v}) as f64)"));
            }
            Ok((
                format!("crate::rt::{name}(&{xs}, {}, {})", nums[0], nums[1]),
                Ty::Tensor(3),
            ))
        }
        "topk_rows" => {
            arity(e, name, args, 3, 3)?;
            let (x, rx) = tensor(&args[0].value, s)?;
            let (sc, rs) = tensor(&args[1].value, s)?;
            if (rx, rs) != (3, 2) {
                return Err(error_at(e, "`topk_rows(x: tensor3, scores: tensor2, k)`"));
            }
            let k = int_plain(&args[2].value, s)?;
            Ok((format!("crate::rt::topk_rows({x}, {sc}, {k})"), Ty::Tensor(3)))
        }
        "upsample" => {
            // Nearest-neighbour upsampling by an integer factor (`nn.Upsample(scale_factor=s)`).
            arity(e, name, args, 2, 2)?;
            let (x, r) = tensor(&args[0].value, s)?;
            if r != 4 {
                return Err(error_at(e, "`upsample(x, factor)` needs a rank-4 tensor"));
            }
            let f = int_plain(&args[1].value, s)?;
            Ok((
                format!(
                    "{{ let __x = {x}; let __d = __x.dims(); let __f = ({f}) as usize; crate::rt::nearest_to(__x, [__d[2] * __f, __d[3] * __f]) }}"
                ),
                Ty::Tensor(4),
            ))
        }
        "global_avg_pool" => {
            arity(e, name, args, 1, 1)?;
            let (x, r) = tensor(&args[0].value, s)?;
            if r != 4 {
                return Err(error_at(
                    e,
                    format!("`global_avg_pool` needs a rank-4 tensor, found rank {r}"),
                ));
            }
            Ok((format!("crate::rt::global_avg_pool({x})"), Ty::Tensor(2)))
        }
        "spatial_mean" => {
            arity(e, name, args, 1, 1)?;
            let (x, r) = tensor(&args[0].value, s)?;
            if r != 4 {
                return Err(error_at(
                    e,
                    format!("`spatial_mean` needs a rank-4 tensor, found rank {r}"),
                ));
            }
            Ok((format!("({x}).mean_dim(3).mean_dim(2)"), Ty::Tensor(4)))
        }
        "unsqueeze" => {
            arity(e, name, args, 2, 2)?;
            let (x, r) = tensor(&args[0].value, s)?;
            // The new dimension's position in the result (rank + 1), negative from the end.
            let d = dim(&args[1].value, r + 1)?;
            Ok((format!("({x}).unsqueeze_dim::<{}>({d})", r + 1), Ty::Tensor(r + 1)))
        }
        "flatten" => {
            arity(e, name, args, 2, 3)?;
            let (x, r) = tensor(&args[0].value, s)?;
            let a = dim(&args[1].value, r)?;
            let b = match args.get(2) {
                Some(arg) => dim(&arg.value, r)?,
                None => r - 1,
            };
            if b < a {
                return Err(error_at(e, "`flatten` needs start <= end"));
            }
            let out = r - (b - a);
            Ok((format!("({x}).flatten::<{out}>({a}, {b})"), Ty::Tensor(out)))
        }
        "transpose" => {
            arity(e, name, args, 3, 3)?;
            let (x, r) = tensor(&args[0].value, s)?;
            let a = dim(&args[1].value, r)?;
            let b = dim(&args[2].value, r)?;
            Ok((format!("({x}).swap_dims({a}, {b})"), Ty::Tensor(r)))
        }
        "cat" => {
            arity(e, name, args, 2, 2)?;
            let (l, t) = lower(&args[0].value, s)?;
            let Ty::TensorList(r) = t else {
                return Err(error_at(
                    &args[0].value,
                    format!("`cat` needs a list of tensors, found {t}"),
                ));
            };
            let d = dim(&args[1].value, r)?;
            Ok((format!("Tensor::cat({l}, {d})"), Ty::Tensor(r)))
        }
        "mean" => {
            arity(e, name, args, 2, 2)?;
            let (x, r) = tensor(&args[0].value, s)?;
            if r < 2 {
                return Err(error_at(e, "`mean` over a dimension needs rank >= 2"));
            }
            let d = dim(&args[1].value, r)?;
            Ok((
                format!("({x}).mean_dim({d}).squeeze_dim::<{}>({d})", r - 1),
                Ty::Tensor(r - 1),
            ))
        }
        "expand_batch" => {
            arity(e, name, args, 2, 2)?;
            let (t, r) = tensor(&args[0].value, s)?;
            let (like, _) = tensor(&args[1].value, s)?;
            Ok((format!("crate::rt::expand_batch({t}, &{like})"), Ty::Tensor(r)))
        }
        "attention" => {
            // attention(q, k, v, heads[, mask: [batch, keys] with 1 = attend][, causal: bool])
            let params = ["query", "key", "value", "heads", "mask", "causal"];
            let got = crate::lower::bind_args(e, name, &params, 4, args)?;
            let mut qkv = Vec::new();
            for a in &got[..3] {
                let a = a.expect("required");
                let (x, r) = tensor(a, s)?;
                if r != 3 {
                    return Err(error_at(
                        a,
                        "`attention` takes query, key and value of rank 3 ([batch, tokens, channels])",
                    ));
                }
                qkv.push(x);
            }
            let heads = int_plain(got[3].expect("required"), s)?;
            let (q, k, v) = (&qkv[0], &qkv[1], &qkv[2]);
            if got[4].is_none() && got[5].is_none() {
                return Ok((format!("crate::rt::attention({q}, {k}, {v}, {heads})"), Ty::Tensor(3)));
            }
            let mask = match got[4] {
                Some(m) => {
                    // [batch, keys], or in token layout [batch, keys, 1] as blocks pass it.
                    match tensor(m, s)? {
                        (x, 2) => format!("Some({x})"),
                        (x, 3) => format!("Some(({x}).squeeze_dim::<2>(2))"),
                        _ => {
                            return Err(error_at(m, "an attention `mask` is [batch, keys] or [batch, keys, 1]"));
                        }
                    }
                }
                None => "None".into(),
            };
            let causal = match got[5] {
                Some(c) => crate::lower::lower_expect(c, s, &Ty::Bool)?,
                None => "false".into(),
            };
            Ok((
                format!("crate::rt::masked_attention({q}, {k}, {v}, {heads}, {mask}, {causal})"),
                Ty::Tensor(3),
            ))
        }
        "position_ids" if matches!(lower(&args[0].value, s), Ok((_, Ty::Tensor(3)))) => {
            // Positions of tokens [batch, tokens, channels] (a vision transformer's patches).
            arity(e, name, args, 1, 1)?;
            let (x, _) = tensor(&args[0].value, s)?;
            Ok((format!("crate::rt::token_positions(&{x})"), Ty::IndexTensor(2)))
        }
        "ones_mask" => {
            arity(e, name, args, 1, 1)?;
            let (x, r) = tensor(&args[0].value, s)?;
            if r != 3 {
                return Err(error_at(
                    e,
                    "`ones_mask(tokens)` takes tokens [batch, tokens, channels]",
                ));
            }
            Ok((format!("crate::rt::ones_mask(&{x})"), Ty::Tensor(3)))
        }
        "position_ids" | "zero_ids" => {
            arity(e, name, args, 1, 1)?;
            let (ids, t) = lower(&args[0].value, s)?;
            if t != Ty::IndexTensor(2) {
                return Err(error_at(
                    &args[0].value,
                    format!(
                        "`{name}` takes token ids [batch, tokens] (position_ids: or tokens [batch, tokens, channels]), found {t}"
                    ),
                ));
            }
            Ok((format!("crate::rt::{name}(&{ids})"), Ty::IndexTensor(2)))
        }
        "masked_mean" | "masked_max" => {
            arity(e, name, args, 2, 2)?;
            let (x, r) = tensor(&args[0].value, s)?;
            let (m, rm) = tensor(&args[1].value, s)?;
            if (r, rm) != (3, 3) {
                return Err(error_at(
                    e,
                    format!(
                        "`{name}(tokens, mask)` takes tokens [batch, tokens, channels] and a mask [batch, tokens, 1]"
                    ),
                ));
            }
            Ok((format!("crate::rt::{name}({x}, {m})"), Ty::Tensor(2)))
        }
        "at_argmax" => {
            arity(e, name, args, 2, 2)?;
            let (x, r) = tensor(&args[0].value, s)?;
            let (ids, t) = lower(&args[1].value, s)?;
            if r != 3 || t != Ty::IndexTensor(2) {
                return Err(error_at(
                    e,
                    "`at_argmax(tokens, ids)` takes tokens [batch, tokens, channels] and ids [batch, tokens]",
                ));
            }
            Ok((format!("crate::rt::at_argmax({x}, {ids})"), Ty::Tensor(2)))
        }
        "sigmoid" | "hard_sigmoid" | "relu" => {
            arity(e, name, args, 1, 1)?;
            let (x, r) = tensor(&args[0].value, s)?;
            Ok((format!("crate::rt::{name}({x})"), Ty::Tensor(r)))
        }
        "softmax" => {
            arity(e, name, args, 2, 2)?;
            let (x, r) = tensor(&args[0].value, s)?;
            let d = dim(&args[1].value, r)?;
            Ok((format!("burn::tensor::activation::softmax({x}, {d})"), Ty::Tensor(r)))
        }
        _ => Err(error_at(e, format!("unknown function `{name}`"))),
    }
}
