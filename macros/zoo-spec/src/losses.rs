//! The non-architecture vocabulary of a NetsPresso `model:` document: loss criteria and the
//! tasks they serve. Shared by the config validator and the JSON Schema generator.

/// A loss criterion: its name, the tasks it serves and its fields (name, declared type, doc).
pub struct Criterion {
    pub name: &'static str,
    pub tasks: &'static [&'static str],
    pub fields: &'static [(&'static str, &'static str, &'static str)],
    /// Fields NetsPresso reads without a default (missing ones fail when training starts).
    pub required: &'static [&'static str],
    pub doc: &'static str,
}

const WEIGHT: (&str, &str, &str) = (
    "weight",
    "float?",
    "Multiplier of this loss in the total loss (null = 1.0).",
);

/// Loss fields whose values PyTorch restricts (it refuses others only when training starts).
pub const FIELD_RANGES: &[(&str, f64, f64)] = &[("label_smoothing", 0.0, 1.0)];

/// The allowed range of a loss field, if restricted.
pub fn field_range(name: &str) -> Option<(f64, f64)> {
    FIELD_RANGES
        .iter()
        .find(|(n, ..)| *n == name)
        .map(|(_, lo, hi)| (*lo, *hi))
}

pub const CRITERIA: &[Criterion] = &[
    Criterion {
        name: "cross_entropy",
        tasks: &["classification"],
        fields: &[
            WEIGHT,
            ("label_smoothing", "float", "Label smoothing factor in [0, 1]."),
        ],
        required: &["weight"],
        doc: "Cross-entropy over class logits.",
    },
    Criterion {
        name: "seg_cross_entropy",
        tasks: &["segmentation"],
        fields: &[
            WEIGHT,
            (
                "ignore_index",
                "int",
                "Label value excluded from the loss (255 in NetsPresso's configs).",
            ),
            ("label_smoothing", "float", "Label smoothing factor in [0, 1]."),
        ],
        required: &["weight"],
        doc: "Per-pixel cross-entropy.",
    },
    Criterion {
        name: "pidnet_loss",
        tasks: &["segmentation"],
        fields: &[WEIGHT, ("ignore_index", "int", "Label value excluded from the loss.")],
        required: &["weight"],
        doc: "PIDNet's cross-entropy + boundary losses.",
    },
    Criterion {
        name: "yolox_loss",
        tasks: &["detection"],
        fields: &[
            WEIGHT,
            ("l1_activate_epoch", "int?", "Epoch from which the L1 box loss is on."),
        ],
        required: &["weight", "l1_activate_epoch"],
        doc: "YOLOX loss.",
    },
    Criterion {
        name: "yolofastest_loss",
        tasks: &["detection"],
        fields: &[
            WEIGHT,
            ("anchors", "list<list<float>>", "Anchor sizes per level."),
            ("l1_activate_epoch", "int?", "Epoch from which the L1 box loss is on."),
        ],
        required: &["weight", "anchors"],
        doc: "YOLO-Fastest loss.",
    },
    Criterion {
        name: "yolov9_loss",
        tasks: &["detection"],
        fields: &[
            WEIGHT,
            ("l1_activate_epoch", "int?", "Epoch from which the L1 box loss is on."),
            ("reg_max", "int", "Distribution focal loss bins (default 16)."),
        ],
        required: &["weight", "l1_activate_epoch"],
        doc: "YOLOv9 loss.",
    },
    Criterion {
        name: "retinanet_loss",
        tasks: &["detection"],
        fields: &[WEIGHT],
        required: &["weight"],
        doc: "RetinaNet focal + L1 loss.",
    },
    Criterion {
        name: "detr_loss",
        tasks: &["detection"],
        fields: &[
            WEIGHT,
            ("weight_dict", "map", "Weights of the partial losses."),
            (
                "losses",
                "list<str>",
                "Partial losses: labels, boxes, cardinality, focal, vfl.",
            ),
            ("alpha", "float", "Focal alpha."),
            ("gamma", "float", "Focal gamma."),
            ("matcher", "map", "Hungarian matcher settings."),
        ],
        required: &["weight", "matcher", "weight_dict", "losses"],
        doc: "RT-DETR set-prediction loss.",
    },
    Criterion {
        name: "focal_loss",
        tasks: &["detection"],
        fields: &[
            WEIGHT,
            ("alpha", "float", "Focal alpha."),
            ("gamma", "float", "Focal gamma."),
        ],
        required: &["weight", "alpha", "gamma"],
        doc: "Sigmoid focal loss.",
    },
    Criterion {
        name: "rtmcc_loss",
        tasks: &["pose_estimation"],
        fields: &[WEIGHT],
        required: &["weight"],
        doc: "RTMCC SimCC loss.",
    },
];

pub fn criterion(name: &str) -> Option<&'static Criterion> {
    CRITERIA.iter().find(|c| c.name == name)
}
