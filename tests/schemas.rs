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
        &zoo_spec::schema::model_schema(zoo::registry::components()),
    );
}

#[test]
fn spec_schema_is_fresh() {
    ensure_fresh("spec.schema.json", &zoo_spec::schema::spec_schema());
}

#[test]
fn model_schema_chooses_components_with_if_then() {
    let s = zoo_spec::schema::model_schema(zoo::registry::components());
    assert_eq!(s["$schema"], "http://json-schema.org/draft-07/schema#");
    let backbone = &s["definitions"]["Backbone"];
    let names: Vec<&str> = backbone["properties"]["name"]["enum"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(names, ["mobilenetv3", "resnet", "vit"]);
    let rules = backbone["allOf"].as_array().unwrap();
    assert_eq!(rules.len(), 3);
    assert_eq!(rules[1]["if"]["properties"]["name"]["const"], "resnet");
    assert_eq!(
        rules[1]["then"]["properties"]["params"]["$ref"],
        "#/definitions/ResnetParams"
    );
    assert!(
        s.to_string().find("oneOf").is_none(),
        "component choice must not use oneOf"
    );
    let resnet = &s["definitions"]["ResnetParams"];
    assert_eq!(resnet["additionalProperties"], false);
    assert_eq!(
        resnet["properties"]["block_type"]["enum"],
        serde_json::json!(["basicblock", "bottleneck"])
    );
}
