//! Pretrained downloads against an HTTP server this test starts on 127.0.0.1: cached,
//! sha256-verified, atomic; partial and corrupt files are never kept.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::Command;
use zoo::io::download::{DownloadError, Pretrained, fetch};

const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/parity/resnet_basic.safetensors"
);

/// Serves `count` requests: `/short/…` promises more bytes than it sends, `/corrupt/…` sends
/// other bytes, `/missing/…` is a 404, anything else is the fixture.
fn serve(count: usize) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let body = std::fs::read(FIXTURE).unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(count) {
            let mut stream = stream.unwrap();
            let mut line = String::new();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            reader.read_line(&mut line).unwrap();
            loop {
                let mut h = String::new();
                if reader.read_line(&mut h).unwrap() == 0 || h == "\r\n" {
                    break;
                }
            }
            let path = line.split_whitespace().nth(1).unwrap_or("/").to_string();
            let (status, payload, claimed) = if path.starts_with("/missing/") {
                ("404 Not Found", b"no".to_vec(), 2)
            } else if path.starts_with("/short/") {
                ("200 OK", body[..body.len() / 3].to_vec(), body.len())
            } else if path.starts_with("/corrupt/") {
                ("200 OK", vec![7u8; body.len()], body.len())
            } else {
                ("200 OK", body.clone(), body.len())
            };
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\nContent-Length: {claimed}\r\nConnection: close\r\n\r\n"
            );
            let _ = stream.write_all(&payload);
        }
    });
    format!("http://{addr}")
}

fn sha256(path: &str) -> String {
    use sha2::Digest;
    let bytes = std::fs::read(path).unwrap();
    sha2::Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn entry(file: &str, sha: Option<String>) -> Pretrained {
    Pretrained {
        file: file.to_string(),
        version: Some("v1".into()),
        sha256: sha,
    }
}

fn files_in(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|d| {
            d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn downloads_once_and_verifies() {
    let base = serve(1);
    let cache = tempfile::tempdir().unwrap();
    let p = entry("ok/weights.safetensors", Some(sha256(FIXTURE)));
    let path = fetch("tiny", &p, &base, cache.path(), false).unwrap();
    assert_eq!(path, cache.path().join("tiny/weights.safetensors"));
    assert_eq!(std::fs::read(&path).unwrap(), std::fs::read(FIXTURE).unwrap());
    // The second call uses the cache (the server answers only one request).
    assert_eq!(fetch("tiny", &p, &base, cache.path(), false).unwrap(), path);
}

#[test]
fn a_corrupt_download_is_discarded() {
    let base = serve(1);
    let cache = tempfile::tempdir().unwrap();
    let p = entry("corrupt/weights.safetensors", Some(sha256(FIXTURE)));
    match fetch("tiny", &p, &base, cache.path(), false) {
        Err(DownloadError::Checksum { .. }) => {}
        other => panic!("expected a checksum error, got {other:?}"),
    }
    assert_eq!(files_in(&cache.path().join("tiny")), Vec::<String>::new());
}

#[test]
fn a_partial_download_is_discarded() {
    let base = serve(1);
    let cache = tempfile::tempdir().unwrap();
    let e = fetch(
        "tiny",
        &entry("short/weights.safetensors", None),
        &base,
        cache.path(),
        false,
    )
    .unwrap_err();
    assert!(e.to_string().contains("nothing was kept"), "{e}");
    assert_eq!(files_in(&cache.path().join("tiny")), Vec::<String>::new());
}

#[test]
fn http_errors_are_reported() {
    let base = serve(1);
    let cache = tempfile::tempdir().unwrap();
    let e = fetch(
        "tiny",
        &entry("missing/weights.safetensors", None),
        &base,
        cache.path(),
        false,
    )
    .unwrap_err();
    assert!(matches!(e, DownloadError::Http(..)), "{e}");
    assert!(
        e.to_string().contains("/missing/weights.safetensors?versionId=v1"),
        "{e}"
    );
}

#[test]
fn a_cached_file_failing_its_checksum_is_downloaded_again() {
    let base = serve(1);
    let cache = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(cache.path().join("tiny")).unwrap();
    std::fs::write(cache.path().join("tiny/weights.safetensors"), b"stale").unwrap();
    let p = entry("ok/weights.safetensors", Some(sha256(FIXTURE)));
    let path = fetch("tiny", &p, &base, cache.path(), false).unwrap();
    assert_eq!(sha256(path.to_str().unwrap()), sha256(FIXTURE));
}

#[test]
fn zoo_run_downloads_the_registered_weights_of_model_name() {
    // A config named `resnet18` with a null checkpoint path: its registered file is fetched
    // from the configured base URL (here the test's server, serving a small resnet).
    let base = serve(1);
    let cache = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/parity/resnet_basic.yaml"
    ))
    .unwrap()
    .replace("name: resnet_basic", "name: resnet18")
    .replace("use_pretrained: false", "use_pretrained: true");
    let cfg = cache.path().join("cfg.yaml");
    std::fs::write(&cfg, text).unwrap();
    let image = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/images/sample.png");
    let o = Command::new(env!("CARGO_BIN_EXE_zoo"))
        .args(["run", cfg.to_str().unwrap(), "--input", image])
        .env("ZOO_WEIGHTS_URL", &base)
        .env("ZOO_CACHE_DIR", cache.path())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(err.contains("pretrained weights of `resnet18`"), "{err}");
    assert!(cache.path().join("resnet18/resnet18_imagenet1k.safetensors").exists());
    assert!(String::from_utf8_lossy(&o.stdout).contains("top-5"));
}
