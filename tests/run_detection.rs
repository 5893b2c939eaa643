//! `zoo run` on detection and pose models: the human table, `--json` in the original image's
//! pixels, `--draw`, and `--output` naming of prediction trees.

mod common;

use common::{root, text, zoo};
use std::path::Path;

fn f(p: &str) -> String {
    root(p).display().to_string()
}

/// A bundled config with `use_pretrained: False` (no download in tests), written to `dir`.
fn offline_copy(config: &str, dir: &Path) -> String {
    let text = std::fs::read_to_string(root(config)).unwrap();
    let text = text.replacen("use_pretrained: True", "use_pretrained: False", 1);
    let text = text.replacen("use_pretrained: true", "use_pretrained: false", 1);
    assert!(text.contains("use_pretrained: False") || text.contains("use_pretrained: false"));
    let path = dir.join(Path::new(config).file_name().unwrap());
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn detection_run_draws_boxes_and_writes_json_in_image_pixels() {
    let dir = tempfile::tempdir().unwrap();
    let config = offline_copy("configs/yolox-nano-detection.yaml", dir.path());
    let (json_path, draw) = (dir.path().join("det.json"), dir.path().join("det.png"));
    let o = zoo(&[
        "run",
        &config,
        "--num-classes",
        "80",
        "--data",
        &f("tests/fixtures/data/coco2017.yaml"),
        "--input",
        &f("tests/fixtures/images/sample.jpg"),
        "--json",
        json_path.to_str().unwrap(),
        "--draw",
        draw.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    // The sample is 64x48: drawn at its own size, boxes within it.
    let img = image::open(&draw).unwrap();
    assert_eq!((img.width(), img.height()), (64, 48));
    let results = json(&json_path);
    let images = results.as_array().unwrap();
    assert_eq!(images.len(), 1);
    let dets = images[0]["detections"].as_array().unwrap();
    assert!(
        !dets.is_empty(),
        "random weights above YOLOX's 0.01 threshold detect something"
    );
    let names = ["person", "bicycle", "car"];
    for d in dets {
        let b: Vec<f64> = d["box"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        assert_eq!(b.len(), 4);
        assert!(
            b[0] >= 0.0 && b[2] <= 64.0 && b[1] >= 0.0 && b[3] <= 48.0 && b[0] < b[2] && b[1] < b[3],
            "{d}"
        );
        let label = d["label"].as_u64().unwrap() as usize;
        assert!(label < 80);
        if label < 3 {
            assert_eq!(d["class"], names[label]);
        }
        let s = d["score"].as_f64().unwrap();
        assert!((0.01..=1.0).contains(&s), "{d}");
    }
    // Best first, as NetsPresso's NMS returns them.
    let scores: Vec<f64> = dets.iter().map(|d| d["score"].as_f64().unwrap()).collect();
    assert!(scores.windows(2).all(|w| w[0] >= w[1]));
    let out = text(&o.stdout);
    assert!(out.starts_with(&format!("image 0: {} detection", dets.len())), "{out}");
    assert!(out.contains("score  box (x1, y1, x2, y2)"), "{out}");
}

#[test]
fn pose_run_writes_keypoints_and_a_skeleton() {
    let dir = tempfile::tempdir().unwrap();
    let config = offline_copy("configs/rtmpose-pose_estimation.yaml", dir.path());
    let (json_path, draw) = (dir.path().join("pose.json"), dir.path().join("pose.png"));
    let o = zoo(&[
        "run",
        &config,
        "--num-classes",
        "17",
        "--input",
        &f("tests/fixtures/images/sample.png"),
        "--json",
        json_path.to_str().unwrap(),
        "--draw",
        draw.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let results = json(&json_path);
    let kps = results[0]["keypoints"].as_array().unwrap();
    let scores = results[0]["scores"].as_array().unwrap();
    assert_eq!((kps.len(), scores.len()), (17, 17));
    let (w, h) = image::image_dimensions(root("tests/fixtures/images/sample.png")).unwrap();
    for (k, s) in kps.iter().zip(scores) {
        let (x, y) = (k[0].as_f64().unwrap(), k[1].as_f64().unwrap());
        if s.as_f64().unwrap() > 0.0 {
            assert!((0.0..=w as f64).contains(&x) && (0.0..=h as f64).contains(&y), "{k}");
        } else {
            // NetsPresso's marker for a missing keypoint: -1 / simcc_split_ratio.
            assert_eq!((x, y), (-0.5, -0.5));
        }
    }
    assert!(draw.exists());
    assert!(text(&o.stdout).starts_with("image 0: 17 keypoints"));
}

#[test]
fn prediction_trees_are_saved_under_their_names() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("pred.safetensors");
    let args = |o: &str| {
        vec![
            "run".to_string(),
            f("tests/fixtures/parity/retinanet_fpn_on_input.yaml"),
            "--num-classes".into(),
            "10".into(),
            "--input".into(),
            f("tests/fixtures/images/sample.png"),
            "--output".into(),
            o.to_string(),
        ]
    };
    let a = args(out.to_str().unwrap());
    let o = zoo(&a.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let bytes = std::fs::read(&out).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let mut names: Vec<String> = st.names().into_iter().map(String::from).collect();
    names.sort();
    let mut want = vec!["pred.anchors".to_string()];
    for k in 0..5 {
        want.push(format!("pred.bbox_regression.{k}"));
        want.push(format!("pred.cls_logits.{k}"));
    }
    want.sort();
    assert_eq!(names, want);
    assert_eq!(st.tensor("pred.cls_logits.0").unwrap().shape()[2], 10);
    // One .npy cannot hold a tree.
    let npy = dir.path().join("pred.npy");
    let a = args(npy.to_str().unwrap());
    let o = zoo(&a.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("a .npy file holds one tensor, but retinanet_tiny predicts 11"),
        "{}",
        text(&o.stderr)
    );
    assert!(!npy.exists());
}

#[test]
fn classification_and_segmentation_json() {
    let dir = tempfile::tempdir().unwrap();
    let cls = dir.path().join("cls.json");
    let o = zoo(&[
        "run",
        &f("tests/fixtures/parity/resnet_basic.yaml"),
        "--checkpoint",
        &f("tests/fixtures/parity/resnet_basic.safetensors"),
        "--input",
        &f("tests/fixtures/images/sample.png"),
        "--json",
        cls.to_str().unwrap(),
        "--top-k",
        "3",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let top = json(&cls)[0]["top"].as_array().unwrap().clone();
    assert_eq!(top.len(), 3);
    assert!(top[0]["score"].as_f64().unwrap() >= top[1]["score"].as_f64().unwrap());
    assert!(top[0]["class"].is_null());
    let seg = dir.path().join("seg.json");
    let (mask, draw) = (dir.path().join("mask.png"), dir.path().join("overlay.png"));
    let o = zoo(&[
        "run",
        &f("tests/fixtures/parity/resnet_seg.yaml"),
        "--checkpoint",
        &f("tests/fixtures/parity/resnet_seg.safetensors"),
        "--input",
        &f("tests/fixtures/images/sample.png"),
        "--json",
        seg.to_str().unwrap(),
        "--mask",
        mask.to_str().unwrap(),
        "--draw",
        draw.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let r = json(&seg);
    assert_eq!(r[0]["mask"], mask.display().to_string());
    let present = r[0]["classes_present"].as_array().unwrap();
    let total: f64 = present.iter().map(|c| c["fraction"].as_f64().unwrap()).sum();
    assert!((total - 1.0).abs() < 1e-3, "{total}");
    let (w, h) = image::image_dimensions(root("tests/fixtures/images/sample.png")).unwrap();
    assert_eq!(image::image_dimensions(&draw).unwrap(), (w, h));
    // --draw needs an image and a task with something to draw.
    let o = zoo(&[
        "run",
        &f("tests/fixtures/parity/resnet_basic.yaml"),
        "--checkpoint",
        &f("tests/fixtures/parity/resnet_basic.safetensors"),
        "--input",
        &f("tests/fixtures/images/sample.png"),
        "--draw",
        draw.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("--draw is for detection, pose estimation and segmentation"));
}

/// Serves `body` once over HTTP on 127.0.0.1, whatever the path.
fn serve_once(body: Vec<u8>) -> String {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        if let Some(Ok(mut stream)) = listener.incoming().next() {
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            loop {
                let mut h = String::new();
                if reader.read_line(&mut h).unwrap() == 0 || h == "\r\n" {
                    break;
                }
            }
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(&body);
        }
    });
    format!("http://{addr}")
}

#[test]
fn a_detector_named_after_a_classifier_says_its_registered_weights_lack_the_neck() {
    // NetsPresso downloads `mobilenet_v3_small`'s ImageNet weights for this RetinaNet config.
    let dir = tempfile::tempdir().unwrap();
    let classifier = offline_copy("configs/mobilenetv3-small-classification.yaml", dir.path());
    let weights = dir.path().join("imagenet.safetensors");
    let o = zoo(&[
        "save",
        &classifier,
        "--num-classes",
        "1000",
        "--output",
        weights.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let url = serve_once(std::fs::read(&weights).unwrap());
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_zoo"))
        .args([
            "run",
            &f("configs/mobilenetv3-small-detection.yaml"),
            "--num-classes",
            "80",
            "--input",
            &f("tests/fixtures/images/sample.jpg"),
            "--weights-url",
            &url,
        ])
        .env("ZOO_CACHE_DIR", dir.path().join("cache"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    let err = text(&o.stderr);
    assert!(
        err.contains("the checkpoint lacks 16 tensor(s) of the model: neck.fpn_convs.0.bias"),
        "{err}"
    );
    assert!(
        err.contains("note: the weights registered for `mobilenet_v3_small` are its ImageNet classification weights"),
        "{err}"
    );
}

#[test]
fn build_uses_the_input_size_zoo_run_gives_the_model() {
    // The pose head's MLP is built for its 256x256 target size; detection runs at 640x640.
    let o = zoo(&[
        "build",
        &f("configs/rtmpose-pose_estimation.yaml"),
        "--num-classes",
        "17",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let out = text(&o.stdout);
    assert!(
        out.contains("input 1x3x256x256") && out.contains("output shape: [1, 17, 1024]"),
        "{out}"
    );
    let o = zoo(&[
        "build",
        &f("configs/rtmpose-pose_estimation.yaml"),
        "--num-classes",
        "17",
        "--input-size",
        "224",
        "224",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o.stderr).contains("or 256x256 as `zoo run` uses"),
        "{}",
        text(&o.stderr)
    );
    let o = zoo(&["build", &f("configs/yolox-nano-detection.yaml"), "--num-classes", "80"]);
    let out = text(&o.stdout);
    assert!(
        out.contains("input 1x3x640x640") && out.contains("output pred.2: [1, 85, 20, 20]"),
        "{out}"
    );
}
