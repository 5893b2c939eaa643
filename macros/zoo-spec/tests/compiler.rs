//! The spec compiler on in-memory specs: valid specs compile, broken specs fail with
//! `file:line:col: message`.

use std::path::Path;
use zoo_spec::diag::Src;

/// The shared blocks of the zoo, so test specs can use them.
fn blocks() -> Vec<Src> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../zoo/blocks");
    let mut out = Vec::new();
    for f in zoo_spec::discover(&dir) {
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        out.push(Src::new(
            format!("zoo/blocks/{name}"),
            std::fs::read_to_string(&f).unwrap(),
        ));
    }
    out
}

fn compile(path: &str, text: &str) -> Result<String, Vec<String>> {
    let mut sources = blocks();
    sources.push(Src::new(path, text));
    zoo_spec::compile_sources(&sources)
        .map(|c| c.rust)
        .map_err(|e| e.iter().map(|e| e.to_string()).collect())
}

const MYNET: &str = r#"name: mynet
kind: backbone
summary: One line shown by `zoo list`
tasks: [classification, segmentation]
params:
  width: {type: int, default: 32, min: 1, doc: "Channels of the first stage."}
  act_type: {type: str, enum: [relu, silu], default: relu}
stage_params:
  fields:
    num_blocks: {type: int, min: 1}
let:
  widths: "[width * 2 ** i for i, s in enumerate(stage_params)]"
checks:
  - {assert: "len(stage_params) <= 4", message: "at most 4 stages", at: stage_params}
children:
  stem: {block: conv_layer, in_channels: 3, out_channels: width, kernel_size: 3, stride: 2, act_type: act_type}
  stages:
    for: "i, s in enumerate(stage_params)"
    each:
      for: "j in range(s.num_blocks)"
      each: {block: conv_layer, in_channels: "j == 0 ? (i == 0 ? width : widths[i - 1]) : widths[i]", out_channels: "widths[i]", kernel_size: 3, stride: "j == 0 and i > 0 ? 2 : 1"}
forward: |
  feats = scan(stages, stem(input))
  return {last_feature: global_avg_pool(feats[-1]), intermediate_features: feats}
outputs:
  feature_dim: "widths[-1]"
  intermediate_features_dim: widths
  strides: "[2 ** (i + 1) for i in range(len(widths))]"
"#;

#[test]
fn the_readme_example_compiles() {
    let rust = compile("zoo/backbones/mynet.yaml", MYNET).unwrap();
    assert!(rust.contains("pub struct Mynet {"));
    assert!(rust.contains("pub stages: Vec<Vec<crate::architectures::generated::blocks::ConvLayer>>"));
    assert!(rust.contains("pub struct MynetParams {"));
}

fn error_of(text: &str) -> Vec<String> {
    compile("zoo/backbones/mynet.yaml", text).expect_err("the spec is broken")
}

#[test]
fn unknown_op_is_located_with_a_suggestion() {
    let e = error_of(&MYNET.replace(
        "  stem: {block: conv_layer,",
        "  stem: {op: conv2dd, in: 3, out: 8, kernel: 3}\n  stem2: {block: conv_layer,",
    ));
    assert_eq!(
        e,
        ["zoo/backbones/mynet.yaml:16:14: unknown op `conv2dd`; did you mean `conv2d`?"]
    );
}

#[test]
fn unknown_name_in_an_expression() {
    let e = error_of(&MYNET.replace("\"[width * 2 ** i", "\"[widht * 2 ** i"));
    assert_eq!(
        e,
        ["zoo/backbones/mynet.yaml:12:13: unknown name `widht`; did you mean `width`?"]
    );
}

#[test]
fn type_errors_in_let() {
    let e = error_of(&MYNET.replace("  widths: \"[", "  bad: \"act_type + 1\"\n  widths: \"["));
    assert_eq!(e, ["zoo/backbones/mynet.yaml:12:9: `+` cannot combine str and int"]);
}

#[test]
fn rank_errors_in_forward() {
    let e = error_of(&MYNET.replace(
        "global_avg_pool(feats[-1])",
        "global_avg_pool(global_avg_pool(feats[-1]))",
    ));
    assert_eq!(e.len(), 1, "{e:?}");
    // The `return` line (forward statements report their own line).
    assert!(e[0].starts_with("zoo/backbones/mynet.yaml:24:25:"), "{e:?}");
    assert!(
        e[0].contains("`global_avg_pool` needs a rank-4 tensor, found rank 2"),
        "{e:?}"
    );
}

#[test]
fn unknown_spec_key_and_bad_argument() {
    let e = error_of(&MYNET.replace("summary:", "sumary: x\nsummary:"));
    assert_eq!(
        e,
        ["zoo/backbones/mynet.yaml:3:1: unknown key `sumary` in a spec; did you mean `summary`?"]
    );
    let e = error_of(&MYNET.replace("kernel_size: 3, stride: 2", "kernel_size: 3, strid: 2"));
    assert_eq!(
        e,
        ["zoo/backbones/mynet.yaml:16:82: `conv_layer` has no argument `strid`; did you mean `stride`?"]
    );
}

#[test]
fn a_spec_in_the_wrong_folder() {
    let e = compile("zoo/heads/mynet.yaml", MYNET).unwrap_err();
    assert_eq!(
        e,
        ["zoo/heads/mynet.yaml:1:7: a backbone spec belongs in `backbones/`, not `heads/`"]
    );
}

#[test]
fn forward_must_return() {
    let e = error_of(&MYNET.replace(
        "  return {last_feature: global_avg_pool(feats[-1]), intermediate_features: feats}",
        "  y = global_avg_pool(feats[-1])",
    ));
    assert_eq!(e, ["zoo/backbones/mynet.yaml:22:1: the forward program never returns"]);
}

#[test]
fn tensor_function_arguments_are_checked_where_written() {
    let e = error_of(&MYNET.replace(
        "  feats = scan(stages, stem(input))",
        "  n = 4\n  x = reshape(stem(input), n)\n  feats = scan(stages, stem(input))",
    ));
    assert_eq!(
        e,
        ["zoo/backbones/mynet.yaml:24:28: `reshape` takes the new shape as a list literal, e.g. `[b, c, h * w]`"]
    );
    let e = error_of(&MYNET.replace(
        "  feats = scan(stages, stem(input))",
        "  feats = map(stem, [stem(input)])",
    ));
    assert_eq!(
        e,
        ["zoo/backbones/mynet.yaml:23:15: `stem` is not a list of modules (a `for` or `list` child)"]
    );
}

const TWO_INPUTS: &str = r#"name: mynet
kind: backbone
summary: Two-input blocks
tasks: [classification]
blocks:
  blend:
    signature: "(x: tensor4, y: tensor4) -> tensor4"
    params: {channels: int}
    children:
      conv: {op: conv2d, in: channels, out: channels, kernel: 1}
    forward: |
      return conv(x) + y
children:
  stem: {op: conv2d, in: 3, out: 8, kernel: 3}
  mix: {block: blend, channels: 8}
forward: |
  x = stem(input)
  return {last_feature: global_avg_pool(mix(x, x))}
outputs:
  feature_dim: 8
"#;

#[test]
fn several_input_blocks() {
    let rust = compile("zoo/backbones/mynet.yaml", TWO_INPUTS).unwrap();
    assert!(rust.contains("v_x: Tensor<4>, v_y: Tensor<4>"), "{rust}");
    let e = error_of(&TWO_INPUTS.replace("mix(x, x)", "mix(x)"));
    assert_eq!(e, ["zoo/backbones/mynet.yaml:18:41: module `mix` takes 2 tensors"]);
    let e = error_of(&TWO_INPUTS.replace("(x: tensor4, y: tensor4)", "(x: tensor4, y: tensor3)"));
    assert_eq!(
        e,
        [
            "zoo/backbones/mynet.yaml:7:16: bad signature `(x: tensor4, y: tensor3) -> tensor4`: several inputs must be two or more tensors of one rank"
        ]
    );
}

#[test]
fn tagged_stage_fields_shared_by_tags_have_one_type() {
    let text = MYNET.replace(
        "stage_params:\n  fields:\n    num_blocks: {type: int, min: 1}\n",
        "stage_params:\n  tagged:\n    a: {fields: {out: int}}\n    b: {fields: {out: float}}\n",
    );
    let e = error_of(&text);
    assert!(
        e.iter().any(|m| m == "zoo/backbones/mynet.yaml:11:18: `out` is float in another tag, here int; a shared field has one type"
            || m == "zoo/backbones/mynet.yaml:11:18: `out` is int in another tag, here float; a shared field has one type"),
        "{e:?}"
    );
}

/// A neck with a top-down loop over its levels (the forward program is on lines 13..).
const LOOP_NECK: &str = r#"name: topdown
kind: neck
summary: test neck
tasks: [detection]
params:
  width: {type: int, default: 8}
children:
  lateral:
    for: "c in intermediate_features_dim"
    each: {op: conv2d, in: c, out: width, kernel: 1}
  smooth:
    group:
      convs: {for: "c in intermediate_features_dim", each: {op: conv2d, in: width, out: width, kernel: 3, padding: 1}}
forward: |
  lat = map(lateral, input)
  td = [lat[-1]]
  for i in range(len(intermediate_features_dim) - 2, -1, -1):
    td = [lat[i] + interpolate(td[0], lat[i], 'nearest')] + td
  outs = []
  for i in range(len(intermediate_features_dim)):
    outs = outs + [smooth.convs[i](td[i][:, :, ::1, ::1])]
  return outs
outputs:
  intermediate_features_dim: "[width for c in intermediate_features_dim]"
  strides: strides
"#;

#[test]
fn loops_groups_and_step_slices_compile() {
    let rust = compile("zoo/necks/topdown.yaml", LOOP_NECK).unwrap();
    assert!(
        rust.contains("pub smooth: Topdown_smooth"),
        "a group is a struct of its members"
    );
    assert!(rust.contains("for __it"), "loops become Rust loops");
    assert!(rust.contains("crate::rt::range_step("));
    assert!(rust.contains("crate::rt::Sub::Range(None, None, 1)"));
}

#[test]
fn a_loop_cannot_change_a_type_or_return() {
    let e = compile(
        "zoo/necks/topdown.yaml",
        &LOOP_NECK.replace("    td = [lat[i] +", "    td = lat[i]\n    td = [lat[i] +"),
    )
    .expect_err("broken");
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(
        e[0].starts_with("zoo/necks/topdown.yaml:18:10:")
            && e[0].contains("`td` is list<tensor4> before the loop; it cannot become tensor4 in it"),
        "{e:?}"
    );
    let e = compile(
        "zoo/necks/topdown.yaml",
        &LOOP_NECK.replace("    td = [lat[i] +", "    return td\n    td = [lat[i] +"),
    )
    .expect_err("broken");
    assert!(e.iter().any(|m| m.contains("a loop body cannot `return`")), "{e:?}");
}

#[test]
fn predictions_are_for_heads_and_steps_for_tensors() {
    let head = r#"name: boxes
kind: head
summary: test head
tasks: [detection]
signature: list<tensor4> -> pred
children:
  cls:
    for: "c in intermediate_features_dim"
    each: {op: conv2d, in: c, out: num_classes, kernel: 1}
forward: |
  return {logits: map(cls, input), first: input[0], n: 3}
"#;
    let e = compile("zoo/heads/boxes.yaml", head).expect_err("broken");
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(
        e[0].contains("a prediction is a tensor, a list of tensors or a record of those, found int"),
        "{e:?}"
    );
    let ok = head.replace(", n: 3}", "}");
    let rust = compile("zoo/heads/boxes.yaml", &ok).unwrap();
    assert!(rust.contains("crate::rt::Pred::Map("), "a record of tensors");
    let block = ok
        .replace("kind: head", "kind: block")
        .replace("tasks: [detection]\n", "");
    let e = compile("zoo/blocks/boxes.yaml", &block).expect_err("broken");
    assert!(e.iter().any(|m| m.contains("only heads return a prediction")), "{e:?}");
    let e = error_of(&MYNET.replace("global_avg_pool(feats[-1])", "global_avg_pool(feats[-1][:, :, ::0])"));
    assert!(e[0].contains("a slice step is a positive integer literal"), "{e:?}");
}

#[test]
fn a_postprocessor_names_a_decoder_of_the_zoo() {
    let head = r#"name: boxes
kind: head
summary: test head
tasks: [detection]
signature: list<tensor4> -> pred
children:
  cls:
    for: "c in intermediate_features_dim"
    each: {op: conv2d, in: c, out: num_classes, kernel: 1}
forward: |
  return map(cls, input)
postprocessor:
  decode: gridexp
  params:
    score_thresh: {type: float, min: 0.0, max: 1.0}
"#;
    let e = compile("zoo/heads/boxes.yaml", head).expect_err("broken");
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(
        e[0].starts_with("zoo/heads/boxes.yaml:13:11: unknown decoder `gridexp`; did you mean `grid_exp`?"),
        "{e:?}"
    );
    let c = zoo_spec::compile_sources(
        &[
            blocks(),
            vec![Src::new("zoo/heads/boxes.yaml", head.replace("gridexp", "grid_exp"))],
        ]
        .concat(),
    )
    .unwrap();
    let desc = c.components.iter().find(|c| c.name == "boxes").unwrap();
    let post = desc.postprocessor.as_ref().unwrap();
    assert_eq!(
        (post.decode.as_str(), post.params[0].name.as_str()),
        ("grid_exp", "score_thresh")
    );
}

/// A full model with a training program.
const TRAINED: &str = r#"name: twohead
kind: full
summary: A full model whose training adds an auxiliary head
tasks: [segmentation]
signature: "tensor4 -> tensor4"
params:
  width: {type: int, default: 8}
children:
  stem: {block: conv_layer, in_channels: 3, out_channels: width, kernel_size: 3}
  main: {op: conv2d, in: width, out: num_classes, kernel: 1}
  aux: {op: conv2d, in: width, out: num_classes, kernel: 1}
forward: |
  return main(stem(input))
forward_train: |
  x = stem(input)
  return [main(x), aux(x)]
"#;

#[test]
fn forward_train_returns_the_prediction_and_the_extras() {
    let rust = compile("zoo/full/twohead.yaml", TRAINED).unwrap();
    assert!(rust.contains("pub fn forward_train(&self, v_input: Tensor<4>) -> Vec<Tensor<4>>"));
    let e = compile(
        "zoo/full/twohead.yaml",
        &TRAINED.replace("return [main(x), aux(x)]", "return main(x)"),
    )
    .unwrap_err();
    assert_eq!(
        e,
        [
            "zoo/full/twohead.yaml:16:10: `forward_train` returns a list `[prediction, extras...]` (list<tensor4>), found tensor4"
        ]
    );
    let e = compile(
        "zoo/backbones/mynet.yaml",
        &format!("{MYNET}forward_train: |\n  return stem(input)\n"),
    )
    .unwrap_err();
    assert_eq!(
        e,
        ["zoo/backbones/mynet.yaml:29:1: only a full model has a training-time program (`forward_train`)"]
    );
}
