//! Registry descriptors: the data of every component that the runtime needs without Rust types
//! (names, kinds, tasks, parameter declarations, presets). Serialised to JSON at build time and
//! embedded in the binary; the config validator and the JSON Schemas are driven by it.

use crate::spec::{ParamDecl, Spec};
use crate::types::Ty;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ParamDesc {
    pub name: String,
    /// Declared type: `int`, `float`, `bool`, `str`, `list<T>`, `T?`.
    pub ty: String,
    pub required: bool,
    #[serde(default)]
    pub default: serde_json::Value,
    #[serde(default)]
    pub choices: Vec<String>,
    pub min: Option<f64>,
    pub max: Option<f64>,
    #[serde(default)]
    pub doc: String,
    /// `choices` match in any case.
    #[serde(default)]
    pub ignore_case: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct StageDesc {
    pub doc: String,
    pub min_items: usize,
    pub fields: Vec<ParamDesc>,
    pub parallel: Vec<String>,
    /// Tagged stages (`[tag, value, ...]` blocks); empty for mapping stages.
    #[serde(default)]
    pub tags: Vec<TagDesc>,
    #[serde(default)]
    pub ignore_tag_case: bool,
}

/// A block kind of tagged stages: the values after its tag, in order.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TagDesc {
    pub name: String,
    pub doc: String,
    pub fields: Vec<ParamDesc>,
}

/// A registered pretrained weights file (key: `model.name`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PretrainedDesc {
    /// Path under the weights base URL, e.g. `checkpoint/resnet/resnet18_imagenet1k.safetensors`.
    pub file: String,
    /// Storage version (`?versionId=`), if pinned.
    #[serde(default)]
    pub version: Option<String>,
    /// Expected sha256 (hex), verified when present.
    #[serde(default)]
    pub sha256: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PresetDesc {
    pub name: String,
    pub body: serde_json::Value,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ComponentDesc {
    pub name: String,
    pub kind: String,
    pub summary: String,
    pub reference: String,
    pub tasks: Vec<String>,
    pub file: String,
    pub params: Vec<ParamDesc>,
    pub stage_params: Option<StageDesc>,
    pub ignored_params: Vec<String>,
    pub presets: Vec<PresetDesc>,
    /// Rust type name of the generated module.
    pub rust: String,
    /// Forward signature, e.g. `tensor2 -> tensor2` for classification heads.
    pub signature: String,
    /// The spec's `example` (for conformance tests), if any.
    #[serde(default)]
    pub example: serde_json::Value,
    /// Key-remap rules per weight source (e.g. `torchvision`).
    #[serde(default)]
    pub remap: Vec<(String, Vec<(String, String)>)>,
    /// Pretrained files by model name.
    #[serde(default)]
    pub pretrained: Vec<(String, PretrainedDesc)>,
    /// The head's (or full model's) postprocessor: its decoder and `postprocessor.params`.
    #[serde(default)]
    pub postprocessor: Option<PostprocessorDesc>,
    /// What the component reads: `image`, `tokens`, or `image+tokens` (two-tower models).
    #[serde(default)]
    pub input: String,
    /// Image preparation other than the ImageNet default.
    #[serde(default)]
    pub preprocess: Option<PreprocessDesc>,
    /// Whether the spec declares `outputs` (an `outputs()` method exists).
    #[serde(default)]
    pub has_outputs: bool,
    /// Whether the full model has a `forward_train` program (training-only outputs).
    #[serde(default)]
    pub has_forward_train: bool,
}

/// How a model's images are prepared: resized to its image size exactly or by the short side
/// (then center-cropped), with its own normalisation.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PreprocessDesc {
    pub resize: String,
    pub crop: bool,
    pub interpolation: String,
    pub mean: [f64; 3],
    pub std: [f64; 3],
}

impl Default for PreprocessDesc {
    /// ImageNet's: exact resize, bilinear, ImageNet mean and std.
    fn default() -> Self {
        PreprocessDesc {
            resize: "exact".into(),
            crop: false,
            interpolation: "bilinear".into(),
            mean: [0.485, 0.456, 0.406],
            std: [0.229, 0.224, 0.225],
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PostprocessorDesc {
    pub decode: String,
    pub params: Vec<ParamDesc>,
}

impl ComponentDesc {
    pub fn param(&self, name: &str) -> Option<&ParamDesc> {
        self.params.iter().find(|p| p.name == name)
    }
}

pub fn param_desc(p: &ParamDecl) -> ParamDesc {
    ParamDesc {
        name: p.name.clone(),
        ty: p.ty.to_string(),
        required: p.default.is_none(),
        default: p
            .default
            .as_ref()
            .map(|d| d.to_json())
            .unwrap_or(serde_json::Value::Null),
        choices: p.choices.clone(),
        min: p.min,
        max: p.max,
        doc: p.doc.clone(),
        ignore_case: p.ignore_case,
    }
}

pub fn describe(spec: &Spec, rust: &str) -> ComponentDesc {
    ComponentDesc {
        name: spec.name.clone(),
        kind: spec.kind.as_str().to_string(),
        summary: spec.summary.clone(),
        reference: spec.reference.clone(),
        tasks: spec.tasks.clone(),
        file: spec.src.path.clone(),
        params: spec.params.iter().map(param_desc).collect(),
        stage_params: spec.stage_params.as_ref().map(|sp| StageDesc {
            doc: sp.doc.clone(),
            min_items: sp.min_items,
            fields: sp.fields.iter().map(param_desc).collect(),
            parallel: sp.parallel.clone(),
            tags: sp
                .tags
                .iter()
                .map(|t| TagDesc {
                    name: t.name.clone(),
                    doc: t.doc.clone(),
                    fields: t.fields.iter().map(param_desc).collect(),
                })
                .collect(),
            ignore_tag_case: sp.ignore_tag_case,
        }),
        ignored_params: spec.ignored_params.clone(),
        presets: spec
            .presets
            .iter()
            .map(|p| PresetDesc {
                name: p.name.clone(),
                body: p.body.to_json(),
            })
            .collect(),
        rust: rust.to_string(),
        signature: spec.signature.to_string(),
        remap: spec.remap.clone(),
        pretrained: spec.pretrained.clone(),
        postprocessor: spec.postprocessor.as_ref().map(|(d, _, ps)| PostprocessorDesc {
            decode: d.clone(),
            params: ps.iter().map(param_desc).collect(),
        }),
        has_outputs: !spec.outputs.is_empty(),
        has_forward_train: spec.forward_train.is_some(),
        preprocess: spec.preprocess.clone(),
        input: if spec.forward_tokens.is_some() {
            "image+tokens".to_string()
        } else {
            spec.input.as_str().to_string()
        },
        example: spec
            .example
            .as_ref()
            .map(|e| e.to_json())
            .unwrap_or(serde_json::Value::Null),
    }
}

/// Parses a declared type string back (for the runtime validator).
pub fn parse_ty(s: &str) -> Ty {
    Ty::parse_decl(s).unwrap_or(Ty::Str)
}
