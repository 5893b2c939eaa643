//! JSON Schemas (draft-07) for editors: `model.schema.json` for user configs and
//! `spec.schema.json` for spec authors.
//!
//! Component choices use one `if`/`then` rule per name (measured with yaml-language-server:
//! completes names, completes only the chosen component's params, exact diagnostics), never
//! `oneOf` + `const`.

use crate::losses::CRITERIA;
use crate::registry::{ComponentDesc, ParamDesc};
use crate::spec::TASKS;
use crate::types::Ty;
use serde_json::{Map, Value, json};

fn ty_schema(ty: &Ty) -> Value {
    match ty {
        Ty::Int => json!({"type": "integer"}),
        Ty::Float => json!({"type": "number"}),
        Ty::Bool => json!({"type": "boolean"}),
        Ty::Str => json!({"type": "string"}),
        Ty::List(t) => json!({"type": "array", "items": ty_schema(t)}),
        Ty::Opt(t) => {
            let mut s = ty_schema(t);
            if let Some(Value::String(base)) = s.get("type").cloned() {
                s["type"] = json!([base, "null"]);
            }
            s
        }
        _ => json!({}),
    }
}

/// A regex matching any of `names` in any case (`[cC][oO][nN][vV]`; draft-07 regexes have no
/// case-insensitive flag).
fn any_case(names: &[&str]) -> String {
    let alts: Vec<String> = names
        .iter()
        .map(|n| {
            n.chars()
                .map(|c| {
                    if c.is_ascii_alphabetic() {
                        format!("[{}{}]", c.to_ascii_lowercase(), c.to_ascii_uppercase())
                    } else {
                        regex_escape(c)
                    }
                })
                .collect()
        })
        .collect();
    format!("^({})$", alts.join("|"))
}

fn regex_escape(c: char) -> String {
    if "\\^$.|?*+()[]{}".contains(c) {
        format!("\\{c}")
    } else {
        c.to_string()
    }
}

/// `enum: values`, or for case-insensitive choices `anyOf` the values (which the editor
/// completes) and a pattern accepting any case.
fn set_choices(s: &mut Value, values: Vec<Value>, choices: &[String], ignore_case: bool) {
    if !ignore_case {
        s["enum"] = Value::Array(values);
        return;
    }
    let names: Vec<&str> = choices.iter().map(String::as_str).collect();
    s["anyOf"] = json!([{"enum": values}, {"type": "string", "pattern": any_case(&names)}]);
}

/// A choice as a JSON value: the choices `true`/`false` of a string parameter (FPN's
/// `add_extra_convs: False | on_input | ...`) are written as YAML booleans.
fn choice_value(c: &str) -> Value {
    match c {
        "true" => json!(true),
        "false" => json!(false),
        _ => json!(c),
    }
}

fn param_schema(p: &ParamDesc) -> Value {
    let ty = crate::registry::parse_ty(&p.ty);
    let mut s = ty_schema(&ty);
    if p.choices.iter().any(|c| c == "true" || c == "false") {
        let nullable = matches!(ty, Ty::Opt(_));
        s["type"] = if nullable {
            json!(["string", "boolean", "null"])
        } else {
            json!(["string", "boolean"])
        };
    }
    if !p.choices.is_empty() {
        // Choices constrain the strings themselves: the items of a list of strings.
        fn place(s: &mut Value, ty: &Ty, choices: &[String], ignore_case: bool) {
            match ty {
                Ty::Opt(inner) => {
                    if let Ty::List(_) = **inner {
                        place(s, inner, choices, ignore_case)
                    } else {
                        let mut values: Vec<Value> = choices.iter().map(|c| choice_value(c)).collect();
                        values.push(Value::Null);
                        set_choices(s, values, choices, ignore_case);
                    }
                }
                Ty::List(item) => place(&mut s["items"], item, choices, ignore_case),
                _ => set_choices(
                    s,
                    choices.iter().map(|c| choice_value(c)).collect(),
                    choices,
                    ignore_case,
                ),
            }
        }
        place(&mut s, &ty, &p.choices, p.ignore_case);
    }
    if let Some(m) = p.min {
        s["minimum"] = json!(m);
    }
    if let Some(m) = p.max {
        s["maximum"] = json!(m);
    }
    let mut doc = p.doc.clone();
    doc.push_str(&format!("\n\nType: `{}`", p.ty));
    if !p.required {
        doc.push_str(&format!(" · default: `{}`", p.default));
        if !p.default.is_null() {
            s["default"] = p.default.clone();
        }
    } else {
        doc.push_str(" · required");
    }
    s["markdownDescription"] = json!(doc.trim());
    s
}

fn params_object(title: &str, params: &[ParamDesc], ignored: &[String], nullable: bool) -> Value {
    let mut props = Map::new();
    for p in params {
        props.insert(p.name.clone(), param_schema(p));
    }
    for i in ignored {
        props.insert(
            i.clone(),
            json!({"markdownDescription": "Accepted for compatibility and ignored."}),
        );
    }
    let required: Vec<&str> = params.iter().filter(|p| p.required).map(|p| p.name.as_str()).collect();
    let mut s = json!({
        "title": title,
        "type": if nullable { json!(["object", "null"]) } else { json!("object") },
        "properties": props,
        "additionalProperties": false,
    });
    if !required.is_empty() {
        s["required"] = json!(required);
    }
    s
}

/// One block of tagged stages: `[tag, value, ...]`, the values checked per tag (draft-07
/// tuple `items`, chosen by `if` on the tag).
fn tagged_block(component: &str, tags: &[crate::registry::TagDesc], ignore_case: bool) -> Value {
    let names: Vec<&str> = tags.iter().map(|t| t.name.as_str()).collect();
    let docs: Vec<String> = tags
        .iter()
        .map(|t| {
            let fields: Vec<&str> = t.fields.iter().map(|f| f.name.as_str()).collect();
            format!("**{}** — {} `[{}, {}]`", t.name, t.doc, t.name, fields.join(", "))
        })
        .collect();
    let rules: Vec<Value> = tags
        .iter()
        .map(|t| {
            let mut items = vec![json!({"const": t.name})];
            items.extend(t.fields.iter().map(param_schema));
            let n = items.len();
            json!({"if": {"items": [{"const": t.name}]},
                   "then": {"items": items, "minItems": n, "maxItems": n}})
        })
        .collect();
    let mut tag = json!({"type": "string", "enum": names, "markdownEnumDescriptions": docs, "markdownDescription": "The block's kind."});
    if ignore_case {
        // Completion offers the spelled tags; any case validates.
        tag = json!({"anyOf": [tag, {"type": "string", "pattern": any_case(&names)}], "markdownDescription": "The block's kind (any case)."});
    }
    json!({
        "title": format!("{component} block"),
        "type": "array",
        "minItems": 1,
        "items": [tag],
        "allOf": rules,
    })
}

/// The chooser for one component slot (`backbone`, `head`, ...): name enum + if/then rules.
fn slot(title: &str, comps: &[&ComponentDesc], defs: &mut Map<String, Value>, flat: bool) -> Value {
    if comps.is_empty() {
        // Draft-07 forbids an empty `enum`/`allOf`: an empty slot only takes null
        // (`full: {name: ~}` is how NetsPresso's configs say "no full model").
        let doc = format!("The zoo has no {title} yet.");
        return if flat {
            json!({"title": title, "type": ["object", "null"], "properties": {"name": {"type": "null", "markdownDescription": doc}}, "additionalProperties": false})
        } else {
            json!({"title": title, "type": "null", "markdownDescription": doc})
        };
    }
    let names: Vec<&str> = comps.iter().map(|c| c.name.as_str()).collect();
    let docs: Vec<String> = comps
        .iter()
        .map(|c| format!("**{}** — {} (tasks: {})", c.name, c.summary, c.tasks.join(", ")))
        .collect();
    let mut rules = Vec::new();
    for c in comps {
        let def = format!("{}Params", crate::codegen::camel(&c.name));
        defs.insert(
            def.clone(),
            params_object(&format!("{} params", c.name), &c.params, &c.ignored_params, !flat),
        );
        let mut then_props = Map::new();
        if flat {
            // Full models take their fields directly under `full`, next to `name`.
            let mut s = params_object(&c.name, &c.params, &c.ignored_params, false);
            s["properties"]["name"] = json!({"const": c.name});
            rules.push(json!({"if": {"type": "object", "properties": {"name": {"const": c.name}}, "required": ["name"]}, "then": s}));
            continue;
        }
        then_props.insert("params".into(), json!({"$ref": format!("#/definitions/{def}")}));
        match &c.stage_params {
            Some(sp) if !sp.tags.is_empty() => {
                let bdef = format!("{}Block", crate::codegen::camel(&c.name));
                defs.insert(bdef.clone(), tagged_block(&c.name, &sp.tags, sp.ignore_tag_case));
                then_props.insert(
                    "stage_params".into(),
                    json!({"type": "array", "minItems": sp.min_items, "markdownDescription": sp.doc,
                           "items": {"type": "array", "markdownDescription": "One stage: a list of blocks `[tag, value, ...]`.",
                                     "items": {"$ref": format!("#/definitions/{bdef}")}}}),
                );
            }
            Some(sp) => {
                let sdef = format!("{}StageParams", crate::codegen::camel(&c.name));
                defs.insert(
                    sdef.clone(),
                    params_object(&format!("{} stage", c.name), &sp.fields, &[], false),
                );
                then_props.insert(
                    "stage_params".into(),
                    json!({"type": "array", "minItems": sp.min_items, "items": {"$ref": format!("#/definitions/{sdef}")}, "markdownDescription": sp.doc}),
                );
            }
            None => {
                if c.kind == "backbone" {
                    then_props.insert(
                        "stage_params".into(),
                        json!({"type": "null", "markdownDescription": format!("`{}` takes no stage_params.", c.name)}),
                    );
                }
            }
        }
        rules.push(json!({"if": {"type": "object", "properties": {"name": {"const": c.name}}, "required": ["name"]}, "then": {"properties": then_props}}));
    }
    let mut props = Map::new();
    // Backbone and head names depend on the task: `model_schema` adds their enum per task.
    let name = if matches!(title, "backbone" | "head") {
        json!({"type": "string", "markdownDescription": format!("Which {title} to use.")})
    } else {
        {
            // `full: {name: ~}` is how NetsPresso's configs say "no full model".
            let mut names: Vec<Value> = names.iter().map(|n| json!(n)).collect();
            let mut docs = docs.clone();
            if flat {
                names.push(Value::Null);
                docs.push("no full model: use `backbone` and `head`".into());
            }
            json!({"type": if flat { json!(["string", "null"]) } else { json!("string") }, "enum": names, "markdownEnumDescriptions": docs, "markdownDescription": format!("Which {title} to use.")})
        }
    };
    props.insert("name".into(), name);
    if !flat {
        props.insert(
            "params".into(),
            json!({"markdownDescription": "Parameters of the chosen component."}),
        );
        if title == "backbone" {
            props.insert(
                "stage_params".into(),
                json!({"markdownDescription": "Per-stage parameters of the chosen backbone."}),
            );
        }
    }
    let mut s = json!({
        "title": title,
        "type": ["object", "null"],
        "properties": props,
        "allOf": rules,
    });
    if !flat {
        s["additionalProperties"] = json!(false);
        s["required"] = json!(["name"]);
    }
    s
}

pub fn model_schema(components: &[ComponentDesc]) -> Value {
    let mut defs = Map::new();
    let of = |k: &str| components.iter().filter(|c| c.kind == k).collect::<Vec<_>>();
    let backbone = slot("backbone", &of("backbone"), &mut defs, false);
    let neck = slot("neck", &of("neck"), &mut defs, false);
    let head = slot("head", &of("head"), &mut defs, false);
    let full = slot("full", &of("full"), &mut defs, true);
    defs.insert("Backbone".into(), backbone);
    defs.insert("Neck".into(), neck);
    defs.insert("Head".into(), head);
    defs.insert("Full".into(), full);

    let mut loss_rules = Vec::new();
    for c in CRITERIA {
        let mut props = Map::new();
        props.insert("criterion".into(), json!({"const": c.name}));
        for (name, ty, doc) in c.fields {
            let s = match *ty {
                "map" => json!({"type": "object", "markdownDescription": doc}),
                "list<list<float>>" => {
                    json!({"type": "array", "items": {"type": "array", "items": {"type": "number"}}, "markdownDescription": doc})
                }
                t => {
                    let mut s = ty_schema(&Ty::parse_decl(t).unwrap_or(Ty::Str));
                    s["markdownDescription"] = json!(doc);
                    if let Some((lo, hi)) = crate::losses::field_range(name) {
                        s["minimum"] = json!(lo);
                        s["maximum"] = json!(hi);
                    }
                    s
                }
            };
            props.insert(name.to_string(), s);
        }
        loss_rules.push(json!({
            "if": {"properties": {"criterion": {"const": c.name}}, "required": ["criterion"]},
            "then": {"properties": props, "required": c.required, "additionalProperties": false}
        }));
    }
    let criteria: Vec<&str> = CRITERIA.iter().map(|c| c.name).collect();
    let criteria_docs: Vec<String> = CRITERIA
        .iter()
        .map(|c| format!("{} (tasks: {})", c.doc, c.tasks.join(", ")))
        .collect();
    defs.insert(
        "Loss".into(),
        json!({
            "title": "loss",
            "type": "object",
            "properties": {"criterion": {"type": "string", "enum": criteria, "markdownEnumDescriptions": criteria_docs, "markdownDescription": "Loss criterion."}},
            "required": ["criterion"],
            "allOf": loss_rules,
        }),
    );
    defs.insert(
        "Checkpoint".into(),
        json!({
            "title": "checkpoint",
            "markdownDescription": "Weights to start from: a path (documented dialect) or the 1.x mapping.",
            "anyOf": [
                {"type": ["string", "null"]},
                {
                    "type": "object",
                    "properties": {
                        "use_pretrained": {"type": "boolean", "default": true, "markdownDescription": "Load weights (from `path`, or the registered pretrained file of `model.name`)."},
                        "load_head": {"type": "boolean", "default": false, "markdownDescription": "Also load the head's weights."},
                        "path": {"type": ["string", "null"], "markdownDescription": "`.safetensors` weights, or a `.pt` torch.fx model."},
                        "optimizer_path": {"type": ["string", "null"], "markdownDescription": "Optimizer state to resume from."}
                    },
                    "additionalProperties": false
                }
            ]
        }),
    );
    // The backbone and head names a task accepts, as a chain of if/then/else on `task` (the
    // editor then completes only those); without a known task, every name.
    let names_for = |task: Option<&str>| -> Value {
        let mut arch = Map::new();
        for k in ["backbone", "neck", "head"] {
            let comps: Vec<&ComponentDesc> = components
                .iter()
                .filter(|c| c.kind == k && task.is_none_or(|t| c.tasks.iter().any(|x| x == t)))
                .collect();
            let names: Vec<&str> = comps.iter().map(|c| c.name.as_str()).collect();
            let docs: Vec<String> = comps
                .iter()
                .map(|c| format!("**{}** — {} (tasks: {})", c.name, c.summary, c.tasks.join(", ")))
                .collect();
            let name = if names.is_empty() {
                json!({"not": {}, "markdownDescription": format!("No {k} supports this task yet.")})
            } else {
                json!({"enum": names, "markdownEnumDescriptions": docs})
            };
            arch.insert(k.into(), json!({"properties": {"name": name}}));
        }
        json!({"properties": {"architecture": {"properties": arch}}})
    };
    // `postprocessor.params` typed by the head (or full model) that produces the prediction.
    let mut post_rules = Vec::new();
    for c in components.iter().filter(|c| c.kind == "head" || c.kind == "full") {
        let Some(post) = c.postprocessor.as_ref().filter(|p| !p.params.is_empty()) else {
            continue;
        };
        let mut props = Map::new();
        for p in &post.params {
            props.insert(p.name.clone(), param_schema(p));
        }
        let required: Vec<&str> = post
            .params
            .iter()
            .filter(|p| p.required)
            .map(|p| p.name.as_str())
            .collect();
        let slot = if c.kind == "head" { "head" } else { "full" };
        post_rules.push(json!({
            "if": {"properties": {"architecture": {"type": "object", "properties": {slot: {"type": "object", "properties": {"name": {"const": c.name}}, "required": ["name"]}}, "required": [slot]}}, "required": ["architecture"]},
            "then": {
                "properties": {"postprocessor": {
                    "type": "object",
                    "markdownDescription": format!("Decoding of `{}`'s prediction ({}).", c.name, post.decode),
                    "properties": {"params": {"type": "object", "properties": props, "required": required, "additionalProperties": false}},
                    "required": ["params"]
                }},
                "required": ["postprocessor"]
            }
        }));
    }
    let mut task_rule = names_for(None);
    for task in TASKS.iter().rev() {
        task_rule = json!({
            "if": {"properties": {"task": {"const": task}}, "required": ["task"]},
            "then": names_for(Some(task)),
            "else": task_rule
        });
    }
    defs.insert(
        "Model".into(),
        json!({
            "title": "model",
            "type": "object",
            "properties": {
                "task": {"type": "string", "enum": TASKS, "markdownDescription": "The task the model solves."},
                "name": {"type": "string", "markdownDescription": "Model name (also the key of its pretrained weights)."},
                "checkpoint": {"$ref": "#/definitions/Checkpoint"},
                "fx_model_checkpoint": {"type": ["string", "null"], "markdownDescription": "A torch.fx model file (documented dialect); excludes `checkpoint`."},
                "resume_optimizer_checkpoint": {"type": ["string", "null"], "markdownDescription": "Optimizer state to resume from (documented dialect)."},
                "freeze_backbone": {"type": "boolean", "default": false, "markdownDescription": "Train only the neck and head."},
                "architecture": {
                    "title": "architecture",
                    "type": "object",
                    "properties": {
                        "full": {"$ref": "#/definitions/Full"},
                        "backbone": {"$ref": "#/definitions/Backbone"},
                        "neck": {"$ref": "#/definitions/Neck"},
                        "head": {"$ref": "#/definitions/Head"}
                    },
                    "additionalProperties": false
                },
                "postprocessor": {"type": ["object", "null"], "properties": {"params": {"type": ["object", "null"]}}, "additionalProperties": false},
                "losses": {"type": "array", "items": {"$ref": "#/definitions/Loss"}}
            },
            "required": ["task", "name", "architecture"],
            "additionalProperties": false,
            "allOf": std::iter::once(task_rule).chain(post_rules).collect::<Vec<_>>()
        }),
    );
    json!({
        "$schema": "http://json-schema.org/draft-07/schema#",
        "$id": "https://zoo.invalid/schemas/model.schema.json",
        "title": "zoo model config (NetsPresso Trainer `model:` document)",
        "type": "object",
        "properties": {"model": {"$ref": "#/definitions/Model"}},
        "required": ["model"],
        "additionalProperties": false,
        "definitions": defs,
    })
}

/// The schema of spec files themselves.
pub fn spec_schema() -> Value {
    let ops: Vec<&str> = crate::primitives::primitives()
        .iter()
        .map(|p| p.name)
        .chain([crate::primitives::PARAM_OP])
        .collect();
    let param = json!({
        "anyOf": [
            {"type": "string", "markdownDescription": "A type: int, float, bool, str, list<T>, T?"},
            {"type": "object", "properties": {
                "type": {"type": "string"}, "default": {}, "enum": {"type": "array", "items": {"type": "string"}},
                "ignore_case": {"type": "boolean", "markdownDescription": "`enum` values match in any case."},
                "min": {"type": "number"}, "max": {"type": "number"}, "doc": {"type": "string"}
            }, "required": ["type"], "additionalProperties": false}
        ]
    });
    json!({
        "$schema": "http://json-schema.org/draft-07/schema#",
        "$id": "https://zoo.invalid/schemas/spec.schema.json",
        "title": "zoo architecture spec",
        "type": "object",
        "definitions": {
            "Param": param,
            "Child": {
                "title": "child",
                "type": "object",
                "markdownDescription": "A child module: exactly one of `op`, `block`, `seq`, `list`, `for`, `switch`, `group`; optional `if`.",
                "properties": {
                    "op": {"type": "string", "enum": ops},
                    "block": {"type": "string"},
                    "seq": {"type": "object", "additionalProperties": {"$ref": "#/definitions/Child"}},
                    "list": {"type": "array", "items": {"$ref": "#/definitions/Child"}},
                    "for": {"type": "string", "markdownDescription": "`VAR in LIST` or `A, B in LIST`"},
                    "at": {"type": "string", "markdownDescription": "With `for`: the config path errors building an element point at, `{expr}` naming the element (e.g. `stage_params[{i}]`)."},
                    "each": {},
                    "switch": {"type": "string"},
                    "cases": {"type": "object", "additionalProperties": {"$ref": "#/definitions/Child"}},
                    "group": {"type": "object", "additionalProperties": {"$ref": "#/definitions/Child"}, "markdownDescription": "Named children sharing a key prefix, used as `group.member` in `forward`."},
                    "if": {"type": ["string", "boolean"]}
                }
            }
        },
        "properties": {
            "name": {"type": "string", "pattern": "^[a-z0-9_]+$"},
            "kind": {"enum": ["backbone", "neck", "head", "full", "block"]},
            "summary": {"type": "string"},
            "reference": {"type": "string"},
            "tasks": {"type": "array", "items": {"enum": TASKS}},
            "params": {"type": "object", "additionalProperties": {"$ref": "#/definitions/Param"}},
            "stage_params": {"type": "object", "properties": {
                "doc": {"type": "string"}, "min_items": {"type": "integer", "minimum": 0},
                "fields": {"type": "object", "additionalProperties": {"$ref": "#/definitions/Param"}},
                "parallel": {"type": "array", "items": {"type": "string"}},
                "tagged": {"type": "object", "markdownDescription": "Stages as lists of `[tag, value, ...]` blocks: per tag its `doc` and positional `fields`.",
                           "additionalProperties": {"type": "object", "properties": {
                               "doc": {"type": "string"},
                               "fields": {"type": "object", "additionalProperties": {"$ref": "#/definitions/Param"}}
                           }, "required": ["fields"], "additionalProperties": false}},
                "ignore_tag_case": {"type": "boolean", "markdownDescription": "Block tags match in any case."}
            }, "additionalProperties": false},
            "ignored_params": {"type": "array", "items": {"type": "string"}},
            "let": {"type": "object", "additionalProperties": {"type": ["string", "number", "boolean", "null"]}},
            "checks": {"type": "array", "items": {"type": "object", "properties": {
                "each": {"type": "string", "markdownDescription": "`VARS in LIST`: assert for every item; `{expr}` in `message`/`at` names it."},
                "assert": {"type": "string"}, "message": {"type": "string"}, "at": {"type": "string"}
            }, "required": ["assert", "message"], "additionalProperties": false}},
            "children": {"type": "object", "additionalProperties": {"$ref": "#/definitions/Child"}},
            "blocks": {"type": "object", "additionalProperties": {"type": "object"}},
            "signature": {"type": "string", "pattern": "^(tensor[0-9N]|list<tensor[0-9]>|\\(.+\\)) -> (tensor[0-9N]|list<tensor[0-9]>|pred)$", "markdownDescription": "`tensorN -> tensorM`, `list<tensorN> -> tensorM`, `tensorN -> list<tensorM>`, `list<tensorN> -> list<tensorM>`, `(x: tensorN, y: tensorN) -> tensorM`, or `list<tensorN> -> pred` (detection and pose heads)."},
            "forward": {"type": "string"},
            "outputs": {"type": "object", "properties": {
                "feature_dim": {"type": ["string", "integer"]},
                "intermediate_features_dim": {"type": "string"},
                "strides": {"type": "string"}
            }, "additionalProperties": false},
            "presets": {"type": "object", "additionalProperties": {"type": "object"}},
            "example": {"type": "object", "properties": {"input": {"type": "array", "items": {"type": "integer"}}, "params": {"type": "object"}}},
            "pretrained": {"type": "object", "markdownDescription": "Pretrained weights by model name: `{file, version, sha256}`.",
                           "additionalProperties": {"type": "object", "properties": {"file": {"type": "string"}, "version": {"type": ["string", "null"]}, "sha256": {"type": ["string", "null"], "pattern": "^[0-9a-fA-F]{64}$"}}, "required": ["file"], "additionalProperties": false}},
            "forward_tokens": {"type": "string", "markdownDescription": "A full model's text tower (two-tower models such as CLIP): a forward program over `ids` [B, L] (int) and `mask` [B, L], returning what `forward` returns for images."},
            "forward_train": {"type": "string", "markdownDescription": "A full model's training-time program: the same input as `forward`, returning a list `[prediction, extra outputs...]` that the loss reads (e.g. PIDNet's auxiliary heads)."},
            "preprocess": {"type": "object", "additionalProperties": false, "markdownDescription": "How images are prepared when not as ImageNet's 224x224 (the size is the `image_size` output, else 224).", "properties": {
                "resize": {"enum": ["exact", "short"]},
                "crop": {"type": "boolean"},
                "interpolation": {"enum": ["bilinear", "bicubic"]},
                "mean": {"type": "array", "items": {"type": "number"}, "minItems": 3, "maxItems": 3},
                "std": {"type": "array", "items": {"type": "number", "exclusiveMinimum": 0}, "minItems": 3, "maxItems": 3}
            }},
            "input": {"enum": ["image", "tokens"], "markdownDescription": "What a backbone reads: `image` (default; `input` [B, 3, H, W]) or `tokens` (`ids` [B, L] int and `mask` [B, L], 1.0 = real token)."},
            "remap": {"type": "object", "markdownDescription": "Key-remap rules per weight source: `[from_regex, to]`.",
                      "additionalProperties": {"type": "array", "items": {"type": "array", "items": {"type": "string"}, "minItems": 2, "maxItems": 2}}}
        },
        "required": ["name", "kind", "forward"],
        "additionalProperties": false
    })
}
