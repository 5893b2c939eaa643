//! The JSON Schemas of NetsPresso Trainer 1.4.1's data, augmentation, training, logging and
//! environment files (REPORT §4.3–4.8): what the editor completes and hovers, and what
//! `zoo validate` checks (`walk`). Written to `schemas/<kind>.schema.json`.

use serde_json::{Value as J, json};

fn doc(mut s: J, d: &str) -> J {
    s["description"] = J::String(d.to_string());
    s
}

fn int(d: &str) -> J {
    doc(json!({"type": "integer"}), d)
}

fn int_min(min: i64, d: &str) -> J {
    doc(json!({"type": "integer", "minimum": min}), d)
}

fn num(d: &str) -> J {
    doc(json!({"type": "number"}), d)
}

fn num_range(min: f64, max: f64, d: &str) -> J {
    doc(json!({"type": "number", "minimum": min, "maximum": max}), d)
}

fn boolean(d: &str) -> J {
    doc(json!({"type": "boolean"}), d)
}

fn string(d: &str) -> J {
    doc(json!({"type": "string"}), d)
}

fn opt(mut s: J) -> J {
    let t = s["type"].clone();
    s["type"] = match t {
        J::String(t) => json!([t, "null"]),
        J::Array(mut a) => {
            a.push(json!("null"));
            J::Array(a)
        }
        _ => json!("null"),
    };
    s
}

fn pair(item: &str, d: &str) -> J {
    doc(
        json!({"type": "array", "items": {"type": item}, "minItems": 2, "maxItems": 2}),
        d,
    )
}

fn size(d: &str) -> J {
    doc(
        json!({"anyOf": [
            {"type": "integer", "minimum": 1},
            {"type": "array", "items": {"type": "integer", "minimum": 1}, "minItems": 2, "maxItems": 2}
        ]}),
        d,
    )
}

fn object(props: J, required: &[&str]) -> J {
    let mut o = json!({"type": "object", "properties": props, "additionalProperties": false});
    if !required.is_empty() {
        o["required"] = json!(required);
    }
    o
}

/// One of `names` in any letter case (NetsPresso lower-cases these names): the editor gets the
/// names to complete and a case-insensitive pattern, `walk` the list (`x-enum`).
fn names_any_case(names: &[&str], what: &str, d: &str) -> J {
    let ci = |n: &str| -> String {
        n.chars()
            .map(|c| {
                if c.is_ascii_alphabetic() {
                    format!("[{}{}]", c.to_ascii_lowercase(), c.to_ascii_uppercase())
                } else {
                    regex::escape(&c.to_string())
                }
            })
            .collect()
    };
    let pattern = format!("^({})$", names.iter().map(|n| ci(n)).collect::<Vec<_>>().join("|"));
    json!({"type": "string", "anyOf": [{"type": "string", "enum": names}, {"type": "string", "pattern": pattern}], "x-enum": names, "x-what": what, "description": d})
}

/// A mapping chosen by `name`: the name (and the settings every name shares) in the base, and
/// per name an `if`/`then` whose `then` lists all that name's keys with
/// `additionalProperties: false`, so the editor completes and accepts only the chosen name's
/// settings (draft-07 judges `additionalProperties` per subschema).
fn by_name(what: &str, variants: &[(&str, &str, J)], common: J) -> J {
    let names: Vec<&str> = variants.iter().map(|v| v.0).collect();
    let mut props = common.clone();
    props["name"] = names_any_case(&names, what, &format!("The {what}."));
    let branches: Vec<J> = variants
        .iter()
        .map(|(n, d, p)| {
            let mut then_props = common.clone();
            for (k, v) in p.as_object().cloned().unwrap_or_default() {
                then_props[k] = v;
            }
            then_props["name"] = json!({"description": d});
            json!({
                "if": {"properties": {"name": {"const": n}}, "required": ["name"]},
                "then": {"properties": then_props, "additionalProperties": false}
            })
        })
        .collect();
    json!({"type": "object", "properties": props, "required": ["name"], "allOf": branches})
}

const INTERPOLATION: [&str; 3] = ["nearest", "bilinear", "bicubic"];

fn interpolation() -> J {
    doc(
        json!({"type": "string", "enum": INTERPOLATION, "x-what": "interpolation"}),
        "Resampling of the image (masks are always resized nearest-neighbour).",
    )
}

fn fill(d: &str) -> J {
    doc(
        json!({"anyOf": [
            {"type": "integer", "minimum": 0, "maximum": 255},
            {"type": "array", "items": {"type": "integer", "minimum": 0, "maximum": 255}, "minItems": 3, "maxItems": 3},
            {"type": "null"}
        ]}),
        d,
    )
}

fn jitter(d: &str) -> J {
    doc(
        json!({"anyOf": [{"type": "number", "minimum": 0}, {"type": "array", "items": {"type": "number"}, "minItems": 2, "maxItems": 2}]}),
        d,
    )
}

fn probability(d: &str) -> J {
    num_range(0.0, 1.0, d)
}

fn transform() -> J {
    let v = |n: &'static str, d: &'static str, p: J| (n, d, p);
    let variants = [
        v(
            "centercrop",
            "Crops the center to `size` (zoo crops masks too; NetsPresso 1.4.1 leaves them uncropped).",
            json!({"size": size("Crop size: an int or [height, width].")}),
        ),
        v(
            "colorjitter",
            "Random brightness, contrast, saturation and hue in random order, applied with probability `p`.",
            json!({
            "brightness": jitter("Factor range [max(0, 1 - x), 1 + x], or [min, max]."),
            "contrast": jitter("Factor range [max(0, 1 - x), 1 + x], or [min, max]."),
            "saturation": jitter("Factor range [max(0, 1 - x), 1 + x], or [min, max]."),
            "hue": jitter("Hue shift range [-x, x] (x ≤ 0.5), or [min, max]."),
            "p": probability("Probability of applying the jitter.")}),
        ),
        v(
            "pad",
            "Pads at the bottom and right up to `size` (masks with 255).",
            json!({"size": size("Minimum size: an int or [height, width]."), "fill": fill("Pixel value of the padding: 0..255 or [r, g, b].")}),
        ),
        v(
            "randomcrop",
            "Pads up to `size` if needed, then crops `size` at a random place.",
            json!({"size": size("Crop size: an int or [height, width]."), "fill": fill("Pixel value of the padding.")}),
        ),
        v(
            "randomresizedcrop",
            "A random area and aspect ratio, resized to `size` (torchvision's RandomResizedCrop).",
            json!({
            "size": size("Output size: an int or [height, width]."),
            "scale": pair("number", "Range of the cropped area's share of the image, e.g. [0.08, 1.0]."),
            "ratio": pair("number", "Range of the crop's aspect ratio, e.g. [0.75, 1.33]."),
            "interpolation": interpolation()}),
        ),
        v(
            "randomhorizontalflip",
            "Flips left-right with probability `p`.",
            json!({"p": probability("Probability of flipping.")}),
        ),
        v(
            "randomverticalflip",
            "Flips upside down with probability `p`.",
            json!({"p": probability("Probability of flipping.")}),
        ),
        v(
            "randomresize",
            "Detection: resizes each batch to a random multiple of `stride` around `base_size`.",
            json!({
            "base_size": pair("integer", "[height, width] at the middle of the range."),
            "stride": int_min(1, "Sizes are multiples of this."),
            "random_range": int_min(0, "How many strides the size may move."),
            "interpolation": interpolation()}),
        ),
        v(
            "randomresize2",
            "Detection: resizes to a random size around `base_size`.",
            json!({
            "base_size": pair("integer", "[height, width] at the middle of the range."),
            "random_range": int_min(0, "How far the size may move."),
            "interpolation": interpolation()}),
        ),
        v(
            "randomerasing",
            "Erases a random rectangle with probability `p`.",
            json!({
            "p": probability("Probability of erasing."),
            "scale": pair("number", "Range of the erased area's share of the image."),
            "ratio": pair("number", "Range of the erased rectangle's aspect ratio."),
            "value": opt(doc(json!({"type": "integer", "minimum": 0, "maximum": 255}), "Pixel value of the erased area; ~ for random noise.")),
            "inplace": boolean("Erase in place.")}),
        ),
        v(
            "randomioucrop",
            "Detection: SSD-style crop keeping boxes by IoU.",
            json!({
            "min_scale": num("Smallest crop scale."), "max_scale": num("Largest crop scale."),
            "min_aspect_ratio": num("Smallest aspect ratio."), "max_aspect_ratio": num("Largest aspect ratio."),
            "p": probability("Probability of cropping."), "sampler_options": opt(doc(json!({"type": "array", "items": {"type": "number"}}), "IoU thresholds to sample from.")),
            "trials": int_min(1, "Tries per sample (default 40).")}),
        ),
        v(
            "randomzoomout",
            "Detection: places the image on a larger canvas.",
            json!({
            "fill": fill("Canvas colour."), "side_range": pair("number", "Range of the canvas side relative to the image."), "p": probability("Probability of zooming out.")}),
        ),
        v(
            "resize",
            "Resizes to `size` ([h, w]), or the `resize_criteria` side to an int `size`.",
            json!({
            "size": size("[height, width], or one side's length with `resize_criteria`."),
            "interpolation": interpolation(),
            "max_size": opt(int_min(1, "Cap on the long side after resizing.")),
            "resize_criteria": doc(json!({"type": ["string", "null"], "enum": ["short", "long", null], "x-what": "resize criteria"}), "Which side an int `size` sets: `short` or `long`.")}),
        ),
        v(
            "mixing",
            "MixUp / CutMix (must be last; NetsPresso 1.4.1 drops it without applying it).",
            json!({
            "num_classes": opt(int_min(1, "Classes of the one-hot targets.")),
            "cutmix": opt(pair("number", "[alpha, p] of CutMix, or ~.")),
            "mixup": opt(pair("number", "[alpha, p] of MixUp, or ~.")),
            "inplace": boolean("Mix in place.")}),
        ),
        v(
            "mosaicdetection",
            "Detection: YOLOX mosaic and mixup.",
            json!({
            "size": size("Output size."), "affine_scale": pair("number", "Scale range."), "mixup_scale": pair("number", "MixUp scale range."),
            "degrees": num("Rotation range in degrees."), "translate": num("Translation share."), "shear": num("Shear in degrees."),
            "enable_mixup": boolean("MixUp on mosaics."), "mosaic_prob": probability("Probability of a mosaic."), "mixup_prob": probability("Probability of MixUp."),
            "fill": fill("Canvas colour."), "mosaic_off_duration": int_min(0, "Last epochs without mosaic.")}),
        ),
        v(
            "trivialaugmentwide",
            "TrivialAugment Wide (one random op per image).",
            json!({
            "num_magnitude_bins": int_min(2, "Magnitude bins."), "interpolation": interpolation(), "fill": fill("Fill of uncovered pixels.")}),
        ),
        v(
            "autoaugment",
            "AutoAugment with a learned policy.",
            json!({
            "policy": doc(json!({"type": "string", "enum": ["imagenet", "cifar10", "svhn"], "x-what": "policy"}), "torchvision's AutoAugmentPolicy."),
            "interpolation": interpolation(), "fill": fill("Fill of uncovered pixels.")}),
        ),
        v(
            "hsvjitter",
            "Detection: random HSV gains.",
            json!({"h_mag": num("Hue gain."), "s_mag": num("Saturation gain."), "v_mag": num("Value gain.")}),
        ),
        v(
            "posetopdownaffine",
            "Pose: random scale, shift and rotation around the person box, to `size`.",
            json!({
            "scale": pair("number", "Scale range."), "scale_prob": probability("Probability of scaling."),
            "translate": num("Translation share."), "translate_prob": probability("Probability of translating."),
            "rotation": num("Rotation range in degrees."), "rotation_prob": probability("Probability of rotating."),
            "size": size("Output size.")}),
        ),
        v(
            "totensor",
            "Pixels to floats in [0, pixel_range].",
            json!({"pixel_range": doc(json!({"type": "number", "exclusiveMinimum": 0}), "The value of a white pixel (1.0 or 255).")}),
        ),
        v(
            "normalize",
            "(x - mean) / std per channel.",
            json!({
            "mean": doc(json!({"type": "array", "items": {"type": "number"}, "minItems": 3, "maxItems": 3}), "Per-channel mean (RGB)."),
            "std": doc(json!({"type": "array", "items": {"type": "number", "exclusiveMinimum": 0}, "minItems": 3, "maxItems": 3}), "Per-channel standard deviation (RGB).")}),
        ),
    ];
    by_name("transform", &variants, json!({}))
}

/// The transforms NetsPresso's augmentation lists accept.
pub fn transform_names() -> Vec<String> {
    transform()["properties"]["name"]["x-enum"]
        .as_array()
        .map(|a| a.iter().filter_map(|x| x.as_str().map(str::to_string)).collect())
        .unwrap_or_default()
}

fn section(key: &str, title: &str, body: J) -> J {
    let mut s = json!({
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": title,
        "type": "object",
        "properties": {key: body},
        "required": [key],
        "additionalProperties": false,
    });
    s["properties"][key]["description"] = J::String(title.to_string());
    s
}

pub fn augmentation() -> J {
    let list = |d: &str| {
        doc(
            json!({"type": ["array", "null"], "items": {"$ref": "#/definitions/transform"}}),
            d,
        )
    };
    let mut s = section(
        "augmentation",
        "NetsPresso Trainer augmentation config",
        object(
            json!({
                "train": list("Transforms of training samples, in order (~: none)."),
                "inference": list("Transforms of validation, test and inference samples, in order (~: none)."),
            }),
            &[],
        ),
    );
    s["definitions"] = json!({"transform": transform()});
    s
}

fn split(d: &str) -> J {
    doc(
        object(
            json!({
                "image": opt(string("Image folder, relative to `root`.")),
                "label": opt(string("Labels: a CSV `image_id,class` (classification), a mask folder (segmentation), a YOLO-txt folder (detection), a label folder (pose).")),
            }),
            &[],
        ),
        d,
    )
}

pub fn data() -> J {
    let id_mapping = doc(
        json!({"anyOf": [
            {"type": "array", "items": {"type": ["string", "integer"]}},
            {"type": "object", "additionalProperties": {"type": ["string", "integer"]}},
            {"type": "string"}
        ]}),
        "Class names: a list (index = class), a map {label value: name} (segmentation; a colour is \"(r, g, b)\"), or a JSON file of either relative to `root`.",
    );
    section(
        "data",
        "NetsPresso Trainer data config",
        object(
            json!({
                "name": string("The dataset's name (logging only)."),
                "task": doc(json!({"type": "string", "enum": ["classification", "segmentation", "detection", "pose_estimation"], "x-what": "task"}), "The task; it must be the model config's `model.task`."),
                "format": doc(json!({"type": "string", "enum": ["local", "huggingface"], "x-what": "format"}), "`local` folders, or a `huggingface` dataset (downloaded; zoo reads local copies only)."),
                "path": object(json!({
                    "root": string("Dataset root; the splits are relative to it."),
                    "train": split("The training split (required to train)."),
                    "valid": split("The validation split (~: 10% of train)."),
                    "test": split("The test split."),
                    "pattern": doc(object(json!({
                        "image": opt(string("Regex whose first group is the image's id.")),
                        "label": opt(string("Regex whose first group is the label's id.")),
                    }), &[]), "Pairs images and labels by id (~: sorted lists zipped)."),
                }), &[]),
                "id_mapping": id_mapping,
                "label_image_mode": doc(
                    json!({"anyOf": [names_any_case(&["RGB", "L", "P"], "label image mode", "Mask mode (upper-cased by NetsPresso)."), {"type": "null"}]}),
                    "Segmentation masks: `L` grey levels (or palette indices) are classes; `RGB`/`P` colours are mapped by `id_mapping` (~: `L`).",
                ),
                "pallete": opt(doc(json!({"type": "array", "items": {"type": "array", "items": {"type": "integer", "minimum": 0, "maximum": 255}, "minItems": 3, "maxItems": 3}}), "Visualisation colour [r, g, b] per class (NetsPresso spells it `pallete`).")),
                "metadata": doc(object(json!({
                    "custom_cache_dir": opt(string("Hugging Face cache folder.")),
                    "repo": string("Hugging Face dataset repository."),
                    "subset": opt(string("Dataset subset (config name).")),
                    "features": object(json!({"image": string("Image column."), "label": string("Label column.")}), &[]),
                    "id_mapping": opt(doc(json!({"type": "array"}), "Class names (segmentation datasets).")),
                }), &[]), "Hugging Face dataset (format `huggingface`)."),
            }),
            &["task", "format"],
        ),
    )
}

fn optimizer() -> J {
    let lr = || {
        doc(
            json!({"type": "number", "exclusiveMinimum": 0}),
            "Base learning rate (the scheduler runs from it).",
        )
    };
    let wd = || {
        doc(
            json!({"type": "number", "minimum": 0}),
            "L2 weight decay (decoupled for adamw).",
        )
    };
    let betas = || {
        doc(
            json!({"type": "array", "items": {"type": "number", "minimum": 0, "exclusiveMaximum": 1}, "minItems": 2, "maxItems": 2}),
            "Coefficients of the running averages, e.g. [0.9, 0.999].",
        )
    };
    let adam = || json!({"lr": lr(), "betas": betas(), "weight_decay": wd()});
    let variants = [
        ("adamw", "AdamW (torch.optim.AdamW).", adam()),
        ("adam", "Adam (torch.optim.Adam).", adam()),
        ("adamax", "Adamax (torch.optim.Adamax).", adam()),
        (
            "sgd",
            "SGD with momentum (torch.optim.SGD).",
            json!({"lr": lr(), "momentum": num_range(0.0, 1.0, "Momentum factor."), "weight_decay": wd(), "nesterov": boolean("Nesterov momentum.")}),
        ),
        (
            "rmsprop",
            "RMSprop (torch.optim.RMSprop).",
            json!({"lr": lr(), "alpha": num_range(0.0, 1.0, "Smoothing constant."), "momentum": num_range(0.0, 1.0, "Momentum factor."), "weight_decay": wd(), "eps": doc(json!({"type": "number", "exclusiveMinimum": 0}), "Term added to the denominator.")}),
        ),
        (
            "adadelta",
            "Adadelta (torch.optim.Adadelta).",
            json!({"lr": lr(), "rho": num_range(0.0, 1.0, "Running-average coefficient."), "weight_decay": wd()}),
        ),
        (
            "adagrad",
            "Adagrad (torch.optim.Adagrad).",
            json!({"lr": lr(), "lr_decay": doc(json!({"type": "number", "minimum": 0}), "Learning-rate decay."), "weight_decay": wd()}),
        ),
    ];
    let common = json!({
        "no_bias_decay": boolean("Parameters whose name contains `bias` get no weight decay."),
        "no_norm_weight_decay": boolean("Parameters whose name contains `norm.weight` get no weight decay."),
        "overwrite": opt(doc(json!({"type": "array", "items": object(json!({
            "param_group": doc(json!({"type": "string", "enum": ["backbone", "neck", "head"], "x-what": "parameter group"}), "The module this group overrides."),
            "lr": doc(json!({"type": "number", "exclusiveMinimum": 0}), "The module's learning rate."),
            "weight_decay": doc(json!({"type": "number", "minimum": 0}), "The module's weight decay."),
            "no_bias_decay": boolean("The module's `no_bias_decay`."),
            "no_norm_weight_decay": boolean("The module's `no_norm_weight_decay`."),
        }), &["param_group"])}), "Per-module settings (backbone / neck / head); not for full models.")),
    });
    by_name("optimizer", &variants, common)
}

fn scheduler() -> J {
    let warm = || {
        json!({
            "warmup_epochs": int_min(0, "Linear warmup epochs (0: none)."),
            "warmup_bias_lr": doc(json!({"type": "number", "minimum": 0}), "The learning rate warmup starts from (every group's)."),
            "min_lr": doc(json!({"type": "number", "minimum": 0}), "The floor of the decay."),
        })
    };
    let with = |mut base: J, extra: J| {
        for (k, v) in extra.as_object().cloned().unwrap_or_default() {
            base[k] = v;
        }
        base
    };
    let variants = [
        (
            "cosine_no_sgdr",
            "Cosine decay after warmup, to `min_lr` at `end_epoch` (clamped to `training.epochs`).",
            with(warm(), json!({"end_epoch": int_min(1, "The epoch the decay ends at.")})),
        ),
        (
            "cosine",
            "Cosine with warm restarts every `iters_per_phase` epochs (the last phase stretched).",
            with(
                warm(),
                json!({"iters_per_phase": int("Epochs per phase (≤ 0: a tenth of the run).")}),
            ),
        ),
        (
            "poly",
            "Polynomial decay after warmup.",
            with(
                warm(),
                json!({"power": doc(json!({"type": "number", "exclusiveMinimum": 0}), "The decay's exponent."), "end_epoch": int_min(1, "The epoch the decay ends at.")}),
            ),
        ),
        (
            "step",
            "Multiplies by `gamma` every `iters_per_phase` epochs until `end_epoch`.",
            json!({"iters_per_phase": int_min(1, "Epochs per step."), "gamma": doc(json!({"type": "number", "exclusiveMinimum": 0}), "The factor per step."), "end_epoch": int_min(1, "The last epoch that steps.")}),
        ),
        (
            "multi_step",
            "Multiplies by `gamma` at each milestone epoch.",
            json!({"milestones": doc(json!({"type": "array", "items": {"type": "integer", "minimum": 0}}), "Epochs after which the rate drops."), "gamma": doc(json!({"type": "number", "exclusiveMinimum": 0}), "The factor per milestone.")}),
        ),
    ];
    by_name("scheduler", &variants, json!({}))
}

fn ema() -> J {
    let variants = [
        (
            "constant_decay",
            "ema ← d·ema + (1 − d)·θ after every step.",
            json!({"decay": num_range(0.0, 1.0, "The decay d.")}),
        ),
        (
            "exp_decay",
            "The decay ramps up as d·(1 − exp(−t / beta)).",
            json!({"decay": num_range(0.0, 1.0, "The final decay d."), "beta": doc(json!({"type": "number", "exclusiveMinimum": 0}), "The ramp's time constant in steps.")}),
        ),
    ];
    let mut e = by_name("EMA", &variants, json!({}));
    e["type"] = json!(["object", "null"]);
    doc(
        e,
        "Exponential moving average of the weights, used for validation and saved checkpoints (~: none).",
    )
}

pub fn training() -> J {
    let mut s = section(
        "training",
        "NetsPresso Trainer training config",
        object(
            json!({
                "epochs": int_min(1, "Epochs to train."),
                "mixed_precision": boolean("Automatic mixed precision (CUDA only in NetsPresso; zoo trains in f32)."),
                "max_norm": opt(doc(json!({"type": "number", "exclusiveMinimum": 0}), "Clips the global gradient norm (~: off).")),
                "ema": {"$ref": "#/definitions/ema"},
                "optimizer": {"$ref": "#/definitions/optimizer"},
                "scheduler": {"$ref": "#/definitions/scheduler"},
            }),
            &["epochs", "optimizer", "scheduler"],
        ),
    );
    s["definitions"] = json!({"optimizer": optimizer(), "scheduler": scheduler(), "ema": ema()});
    s
}

/// Every metric name NetsPresso knows, by task.
pub const METRICS: [(&str, &[&str]); 4] = [
    ("classification", &["top1_accuracy", "top5_accuracy"]),
    ("segmentation", &["miou", "pixel_accuracy"]),
    ("detection", &["precision50", "recall50", "map50", "map75", "map50_95"]),
    ("pose_estimation", &["pck"]),
];

pub fn logging() -> J {
    let all: Vec<&str> = METRICS.iter().flat_map(|m| m.1.iter().copied()).collect();
    let mut body = object(
        json!({
            "project_id": opt(string("Run folder name under `output_dir` (~: `<task>_<model name>`).")),
            "output_dir": string("Where run folders are made."),
            "tensorboard": boolean("Write TensorBoard scalars (`<run>/tensorboard/`)."),
            "mlflow": boolean("Log to MLflow (NetsPresso; zoo does not)."),
            "stdout": boolean("Print the per-epoch table."),
            "num_save_samples": opt(int_min(0, "Validation images to save (~: all, 0: none).")),
            "model_save_options": object(json!({
                "save_optimizer_state": boolean("Keep the optimizer state with the checkpoints."),
                "save_best_only": boolean("Only `best` and `last` weights (no `epoch_<n>`)."),
                "best_model_criterion": doc(json!({"type": "string", "enum": ["loss", "metric"], "x-what": "criterion"}), "`best` by the lowest validation loss or the highest primary metric."),
                "sample_input_size": pair("integer", "[height, width] of the dummy input for export."),
                "onnx_export_opset": int_min(7, "ONNX opset for export (13–17 recommended)."),
                "validation_epoch": int_min(1, "Validate at epochs 1, 1 + n, 1 + 2n, … and the last."),
                "save_checkpoint_epoch": opt(int_min(1, "Checkpoint cadence: a multiple of `validation_epoch` (~: the same).")),
            }), &[]),
            "metrics": object(json!({
                "classwise_analysis": boolean("Per-class validation metrics (`classwise.csv`)."),
                "metric_names": opt(doc(json!({"type": "array", "items": {"type": "string", "enum": all, "x-what": "metric"}, "minItems": 1}), "Metrics to compute, the first primary (~: the task's).")),
            }), &[]),
        }),
        &[],
    );
    body["x-ignored"] = json!({
        "image": "the pre-1.4 switch for saving images; use `num_save_samples`",
        "csv": "a pre-1.0 option; zoo always writes results.csv",
    });
    section("logging", "NetsPresso Trainer logging config", body)
}

pub fn environment() -> J {
    section(
        "environment",
        "NetsPresso Trainer environment config",
        object(
            json!({
                "seed": opt(int_min(0, "Seeds initialisation, data order and augmentation.")),
                "num_workers": int_min(0, "Threads loading samples."),
                "gpus": doc(json!({"type": ["integer", "string", "null"]}), "GPU ids: an int or \"0, 1\" (zoo uses `--device`)."),
                "batch_size": int_min(1, "Samples per step."),
                "cache_data": boolean("Keep decoded samples in memory."),
            }),
            &[],
        ),
    )
}

/// The sections besides `model`, in NetsPresso's merge order, with their schemas.
pub fn all() -> Vec<(&'static str, J)> {
    vec![
        ("data", data()),
        ("augmentation", augmentation()),
        ("training", training()),
        ("logging", logging()),
        ("environment", environment()),
    ]
}
