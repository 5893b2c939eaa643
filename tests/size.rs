//! A model's size before it exists: the generated `size` functions must agree with the built
//! model to the parameter and the byte, and a model that would not fit in memory is refused
//! at the config value that makes it so — quickly, before anything is allocated.

mod common;
use common::{root, text, zoo};
use std::path::PathBuf;
use std::time::{Duration, Instant};

fn configs() -> Vec<PathBuf> {
    let mut out = Vec::new();
    for dir in ["configs", "tests/fixtures/parity"] {
        for e in std::fs::read_dir(root(dir)).unwrap().flatten() {
            let p = e.path();
            if p.extension().is_some_and(|x| x == "yaml") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

#[test]
fn size_from_the_config_equals_the_built_model_for_every_config() {
    let device = burn::tensor::Device::flex();
    let mut checked = 0;
    for p in configs() {
        let text = std::fs::read_to_string(&p).unwrap();
        let Some(cfg) = zoo::config::check_text(&text).config else {
            panic!("{} does not validate", p.display());
        };
        for classes in [1, 7] {
            let size = zoo::model::size(&cfg, classes).unwrap();
            let (model, blocks) = zoo::rt::progress::building(0, || {
                let m = zoo::model::build(&cfg, classes, &device).unwrap();
                (m, zoo::rt::progress::built())
            });
            assert_eq!(Some(size.blocks), blocks, "{}: blocks built", p.display());
            let built = (
                zoo::model::count_params(&model) as u64,
                zoo::model::buffer_bytes(&model),
            );
            assert_eq!(
                (size.params, size.buffer_bytes),
                built,
                "{} with {classes} classes",
                p.display()
            );
        }
        checked += 1;
    }
    assert!(checked >= 70, "{checked} configs");
}

#[test]
fn resnet50_size_is_netspresso_s_parameter_count() {
    let text = std::fs::read_to_string(root("configs/resnet50-classification.yaml")).unwrap();
    let cfg = zoo::config::check_text(&text).config.unwrap();
    let size = zoo::model::size(&cfg, 1000).unwrap();
    // torchvision's / NetsPresso's ResNet-50: 25 557 032 parameters; 53 BatchNorms with
    // 26 560 running statistics each way (mean and variance, f32).
    assert_eq!(size.params, 25_557_032);
    assert_eq!(size.buffer_bytes, 2 * 26_560 * 4);
}

/// Runs zoo and returns its output and wall time.
fn timed(args: &[&str]) -> (std::process::Output, Duration) {
    let t = Instant::now();
    let out = zoo(args);
    (out, t.elapsed())
}

/// The four configs of the issue that once hung or aborted: refused within 2 s, located.
#[test]
fn models_larger_than_memory_are_refused_within_two_seconds() {
    let cases = [
        ("too_large_mixnet_stem.yaml", "17:24", "params.stem_channels"),
        ("too_large_resnet50_blocks.yaml", "38:23", "stage_params[3].num_blocks"),
        ("too_large_mobilevit_blocks.yaml", "48:23", "stage_params[3].num_blocks"),
        (
            "too_large_mixnet_kernel.yaml",
            "26:27",
            "stage_params[0].kernel_sizes[0][0]",
        ),
    ];
    for (file, at, _) in cases {
        let path = root("tests/broken").join(file);
        let path = path.to_str().unwrap();
        for cmd in ["validate", "build"] {
            let (out, took) = timed(&[cmd, "--max-memory", "16G", path]);
            let err = text(&out.stderr);
            assert_eq!(out.status.code(), Some(1), "{cmd} {file}: {err}");
            assert!(took < Duration::from_secs(2), "{cmd} {file} took {took:?}");
            assert!(err.contains(&format!("{file}:{at}")), "{cmd} {file}: {err}");
            assert!(err.contains("the model would need"), "{cmd} {file}: {err}");
            assert!(err.contains("more than --max-memory (16.0 GiB)"), "{cmd} {file}: {err}");
            assert!(!err.contains("panicked"), "{err}");
        }
    }
    // The same without `--max-memory`: the machine's memory is the limit.
    let (out, took) = timed(&[
        "validate",
        root("tests/broken/too_large_mixnet_stem.yaml").to_str().unwrap(),
    ]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(took < Duration::from_secs(2), "took {took:?}");
    assert!(err.contains("more than this machine's memory"), "{err}");
    // 58.0 billion parameters: 2^31 stem channels × (3·3·3 conv + norms + the next layers).
    assert!(err.contains("billion parameters"), "{err}");
}

#[test]
fn max_memory_is_checked_against_every_model_and_located() {
    // ResNet-18's 11.7 million parameters (44.6 MiB) do not fit in 40M; the widest stage's
    // channels are what lowering shrinks most.
    let cfg = root("configs/resnet18-classification.yaml");
    let out = zoo(&["validate", "--max-memory", "40M", cfg.to_str().unwrap()]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains(
            "the model would need 11.7 million parameters (44.6 MiB of weights), more than --max-memory (40.0 MiB)"
        ),
        "{err}"
    );
    assert!(err.contains("resnet18-classification.yaml:36:21"), "{err}");
    assert!(err.contains("--max-memory"), "{err}");
    // 64M is enough.
    let out = zoo(&["validate", "--max-memory", "64M", cfg.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    // A size that is not one is a usage error naming the flag.
    let out = zoo(&["validate", "--max-memory", "lots", cfg.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("--max-memory"), "{}", text(&out.stderr));
}

#[test]
fn a_forward_pass_too_large_for_memory_is_refused_before_it_runs() {
    let cfg = root("configs/resnet18-classification.yaml");
    let (out, took) = timed(&[
        "build",
        "--max-memory",
        "8G",
        cfg.to_str().unwrap(),
        "--input-size",
        "20000",
        "20000",
    ]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("error: resnet18: a forward pass of 1x3x20000x20000 would need about"),
        "{err}"
    );
    assert!(
        err.contains("(measured at 128x128 and 256x256 and scaled), more than the"),
        "{err}"
    );
    assert!(err.contains("that --max-memory (8.0 GiB) leaves beside the"), "{err}");
    // Measured on two small inputs, not by running the 20000x20000 pass.
    assert!(took < Duration::from_secs(30), "took {took:?}");
    // The same pass fits a limit of 1 TiB: the estimate (tens of GiB) is below it, so the
    // refusal above comes from the estimate, not from a blanket rule.
    let need: f64 = err
        .split("would need about ")
        .nth(1)
        .and_then(|r| r.split(" GiB").next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no GiB figure in {err}"));
    assert!((8.0..1024.0).contains(&need), "{need} GiB");
}

/// An allocation that fails anyway (here under a 4 GB address-space limit) ends as one
/// `error: out of memory` line and exit 1, not as Rust's abort.
#[cfg(target_os = "linux")]
#[test]
fn an_allocation_that_fails_is_an_error_not_an_abort() {
    let script = format!(
        "ulimit -v 4000000; exec {} build {} --input-size 8000 8000 --max-memory 1T",
        env!("CARGO_BIN_EXE_zoo"),
        root("configs/resnet18-classification.yaml").display()
    );
    let out = std::process::Command::new("sh")
        .args(["-c", &script])
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{:?}: {err}", out.status);
    assert!(err.contains("error: out of memory: an allocation of "), "{err}");
    assert!(
        err.contains(" MiB in use; use a smaller input, batch or model"),
        "{err}"
    );
    assert!(
        !err.contains("panicked") && !err.contains("memory allocation of"),
        "{err}"
    );
}

/// Absurd but affordable: 65,536 small residual blocks (89 million parameters, 340 MiB)
/// validate and build; the size computed first equals the model built.
/// MixNet's stages read `group_of[i][j]` once per block; borrowing `group_of[i]` there (it was
/// cloned) keeps sizing 200 000 blocks linear. Before, this took about a minute to validate.
#[test]
fn a_mixnet_of_two_hundred_thousand_blocks_is_sized_in_seconds() {
    let yaml = std::fs::read_to_string(root("configs/mixnet-s-classification.yaml")).unwrap();
    let yaml = yaml.replacen("dep_mul: 1.0", "dep_mul: 65536", 1);
    assert!(yaml.contains("dep_mul: 65536"));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("deep.yaml");
    std::fs::write(&path, &yaml).unwrap();
    let (out, took) = timed(&["validate", "--max-memory", "1G", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    // "over N": sizing stops once the limit is passed, so N is where it stopped.
    assert!(err.starts_with("error: the model would need over "), "{err}");
    assert!(
        err.contains("GiB of weights), more than --max-memory (1.0 GiB)"),
        "{err}"
    );
    assert!(err.contains("deep.yaml:18:18"), "{err}");
    assert!(took < Duration::from_secs(10), "took {took:?}");
}

#[test]
fn sixty_five_thousand_small_blocks_validate_and_build() {
    let yaml = std::fs::read_to_string(root("configs/resnet18-classification.yaml")).unwrap();
    let yaml = yaml.replacen(
        "channels: 64\n          num_blocks: 2",
        "channels: 8\n          num_blocks: 65536",
        1,
    );
    assert!(yaml.contains("num_blocks: 65536"));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("deep.yaml");
    std::fs::write(&path, &yaml).unwrap();
    let (out, took) = timed(&["validate", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(took < Duration::from_secs(30), "took {took:?}");
    let cfg = zoo::config::check_text(&yaml).config.unwrap();
    let size = zoo::model::size(&cfg, 1000).unwrap();
    assert_eq!(size.params, 89_069_048);
    // Each residual block is three generated modules (the block and its two conv layers):
    // 65,536 × 3, and 25 for the rest of ResNet-18.
    assert_eq!(size.blocks, 65_536 * 3 + 25);
    let model = zoo::model::build(&cfg, 1000, &burn::tensor::Device::flex()).unwrap();
    assert_eq!(zoo::model::count_params(&model) as u64, size.params);
}
