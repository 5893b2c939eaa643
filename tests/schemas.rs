//! The committed JSON Schemas are what the specs generate (rust-analyzer-style freshness).

use std::path::Path;

fn ensure_fresh(name: &str, value: &serde_json::Value) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas").join(name);
    let want = serde_json::to_string_pretty(value).unwrap() + "\n";
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    if have != want {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &want).unwrap();
        panic!("schemas/{name} was stale; it has been updated, commit it");
    }
}

#[test]
fn model_schema_is_fresh() {
    ensure_fresh(
        "model.schema.json",
        &zoo_spec::schema::model_schema(zoo::architectures::registry::components()),
    );
}

#[test]
fn section_schemas_are_fresh() {
    for (key, schema) in zoo::config::sections::schemas::all() {
        ensure_fresh(&format!("{key}.schema.json"), &schema);
    }
}

#[test]
fn spec_schema_is_fresh() {
    ensure_fresh("spec.schema.json", &zoo_spec::schema::spec_schema());
}

/// The backbone and head names the model schema accepts for `task` (None: an unknown task).
fn names_for(s: &serde_json::Value, task: Option<&str>) -> [Vec<String>; 2] {
    let mut rule = &s["definitions"]["Model"]["allOf"][0];
    while rule.get("if").is_some() {
        if Some(rule["if"]["properties"]["task"]["const"].as_str().unwrap()) == task {
            rule = &rule["then"];
            break;
        }
        rule = &rule["else"];
    }
    let arch = &rule["properties"]["architecture"]["properties"];
    ["backbone", "head"].map(|k| {
        arch[k]["properties"]["name"]["enum"]
            .as_array()
            .map(|a| a.iter().map(|v| v.as_str().unwrap().to_string()).collect())
            .unwrap_or_default()
    })
}

#[test]
fn model_schema_chooses_components_with_if_then() {
    let s = zoo_spec::schema::model_schema(zoo::architectures::registry::components());
    assert_eq!(s["$schema"], "http://json-schema.org/draft-07/schema#");
    // Names depend on the task, so the editor only offers what the task supports.
    let supporting = |kind: &str, task: Option<&str>| -> Vec<String> {
        zoo::architectures::registry::components()
            .iter()
            .filter(|c| c.kind == kind && task.is_none_or(|t| c.tasks.iter().any(|x| x == t)))
            .map(|c| c.name.clone())
            .collect()
    };
    for task in [Some("classification"), Some("segmentation"), None] {
        assert_eq!(
            names_for(&s, task),
            [supporting("backbone", task), supporting("head", task)],
            "{task:?}"
        );
    }
    let [cls_backbones, cls_heads] = names_for(&s, Some("classification"));
    let [seg_backbones, seg_heads] = names_for(&s, Some("segmentation"));
    assert!(cls_backbones.contains(&"vit".to_string()) && !seg_backbones.contains(&"vit".to_string()));
    assert!(seg_backbones.contains(&"resnet".to_string()));
    assert_eq!(cls_heads, ["fc", "fc_conv"]);
    assert_eq!(seg_heads, ["all_mlp_decoder"]);
    let backbone = &s["definitions"]["Backbone"];
    let rules = backbone["allOf"].as_array().unwrap();
    let resnet = rules
        .iter()
        .find(|r| r["if"]["properties"]["name"]["const"] == "resnet")
        .unwrap();
    assert_eq!(
        resnet["then"]["properties"]["params"]["$ref"],
        "#/definitions/ResnetParams"
    );
    assert!(
        s.to_string().find("oneOf").is_none(),
        "component choice must not use oneOf"
    );
    let resnet = &s["definitions"]["ResnetParams"];
    assert_eq!(resnet["additionalProperties"], false);
    // NetsPresso lower-cases block_type: the editor completes the spelled values and accepts any case.
    let block_type = &resnet["properties"]["block_type"];
    assert_eq!(
        block_type["anyOf"][0]["enum"],
        serde_json::json!(["basicblock", "bottleneck"])
    );
    assert_eq!(
        block_type["anyOf"][1]["pattern"],
        "^([bB][aA][sS][iI][cC][bB][lL][oO][cC][kK]|[bB][oO][tT][tT][lL][eE][nN][eE][cC][kK])$"
    );
    // The fc head's activation is looked up as written.
    assert!(s["definitions"]["FcParams"]["properties"]["act_type"]["anyOf"].is_null());
}
