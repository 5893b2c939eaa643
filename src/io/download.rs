//! Pretrained weights: downloaded once into a cache, verified, written atomically.
//!
//! NetsPresso's documented behaviour for a checkpoint that is not on disk is to download the
//! registered file of `model.name`. Here the download streams into a temporary file next to
//! the target, checks the length and (when registered) the sha256, and only then renames it
//! into place: a partial or corrupt file is never used.

use sha2::{Digest, Sha256};
use std::fmt;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// NetsPresso Trainer's public weight storage.
pub const DEFAULT_BASE_URL: &str = "https://netspresso-trainer-public.s3.ap-northeast-2.amazonaws.com";

pub use zoo_spec::registry::PretrainedDesc as Pretrained;

/// The base URL: `--weights-url`, else `ZOO_WEIGHTS_URL`, else NetsPresso's storage.
pub fn base_url(flag: Option<&str>) -> String {
    flag.map(String::from)
        .or_else(|| std::env::var("ZOO_WEIGHTS_URL").ok().filter(|s| !s.is_empty()))
        .unwrap_or_else(|| DEFAULT_BASE_URL.to_string())
}

/// The cache: `ZOO_CACHE_DIR`, else `~/.cache/zoo`.
pub fn cache_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("ZOO_CACHE_DIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(d);
    }
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    home.join(".cache").join("zoo")
}

#[derive(Debug)]
pub enum DownloadError {
    Http(String, String),
    Io(PathBuf, std::io::Error),
    Length { url: String, expected: u64, got: u64 },
    Checksum { url: String, expected: String, got: String },
}

impl fmt::Display for DownloadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DownloadError::Http(url, e) => write!(f, "cannot download {url}: {e}"),
            DownloadError::Io(p, e) => write!(f, "cannot write {}: {e}", p.display()),
            DownloadError::Length { url, expected, got } => {
                write!(
                    f,
                    "download of {url} stopped after {got} of {expected} bytes; nothing was kept"
                )
            }
            DownloadError::Checksum { url, expected, got } => {
                write!(f, "{url} has sha256 {got}, expected {expected}; the file was discarded")
            }
        }
    }
}

impl std::error::Error for DownloadError {}

fn sha256_of(path: &Path) -> std::io::Result<String> {
    let mut h = Sha256::new();
    let mut f = std::fs::File::open(path)?;
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex(&h.finalize()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Returns the cached file of `p` for model `name`, downloading it first when it is missing or
/// fails its checksum. `progress` draws a bar on stderr.
pub fn fetch(name: &str, p: &Pretrained, base: &str, cache: &Path, progress: bool) -> Result<PathBuf, DownloadError> {
    let file_name = p.file.rsplit('/').next().unwrap_or(&p.file);
    let dir = cache.join(name);
    let target = dir.join(file_name);
    if target.exists() {
        match &p.sha256 {
            None => return Ok(target),
            Some(want) => match sha256_of(&target) {
                Ok(got) if got.eq_ignore_ascii_case(want) => return Ok(target),
                _ => eprintln!("cached {} fails its checksum; downloading it again", target.display()),
            },
        }
    }
    std::fs::create_dir_all(&dir).map_err(|e| DownloadError::Io(dir.clone(), e))?;
    let mut url = format!("{}/{}", base.trim_end_matches('/'), p.file.trim_start_matches('/'));
    if let Some(v) = &p.version {
        url.push_str(&format!("?versionId={v}"));
    }
    let partial = dir.join(format!(".{file_name}.partial-{}", std::process::id()));
    let result = download(&url, &partial, progress).and_then(|(len, got)| {
        if let Some(want) = &p.sha256 {
            if !got.eq_ignore_ascii_case(want) {
                return Err(DownloadError::Checksum {
                    url: url.clone(),
                    expected: want.clone(),
                    got,
                });
            }
        } else {
            eprintln!("downloaded {len} bytes (sha256 {got}; no checksum is registered for {name})");
        }
        std::fs::rename(&partial, &target).map_err(|e| DownloadError::Io(target.clone(), e))
    });
    if result.is_err() {
        let _ = std::fs::remove_file(&partial);
    }
    result.map(|_| target)
}

/// Streams `url` into `path`; returns the length and the sha256.
fn download(url: &str, path: &Path, progress: bool) -> Result<(u64, String), DownloadError> {
    let http = |e: String| DownloadError::Http(url.to_string(), e);
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_connect(Some(std::time::Duration::from_secs(30)))
        .timeout_recv_body(Some(std::time::Duration::from_secs(600)))
        .build()
        .into();
    let resp = agent.get(url).call().map_err(|e| http(e.to_string()))?;
    let expected: Option<u64> = resp
        .headers()
        .get("content-length")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    let mut body = resp.into_body();
    let mut reader = body.with_config().limit(u64::MAX).reader();
    let mut out = std::fs::File::create(path).map_err(|e| DownloadError::Io(path.to_path_buf(), e))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut got: u64 = 0;
    let mut last_shown = std::time::Instant::now();
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) => {
                if let Some(exp) = expected {
                    return Err(DownloadError::Length {
                        url: url.to_string(),
                        expected: exp,
                        got,
                    });
                }
                return Err(http(e.to_string()));
            }
        };
        hasher.update(&buf[..n]);
        out.write_all(&buf[..n])
            .map_err(|e| DownloadError::Io(path.to_path_buf(), e))?;
        got += n as u64;
        if progress && last_shown.elapsed().as_millis() > 200 {
            last_shown = std::time::Instant::now();
            bar(got, expected);
        }
    }
    if progress {
        bar(got, expected);
        eprintln!();
    }
    if let Some(exp) = expected
        && got != exp
    {
        return Err(DownloadError::Length {
            url: url.to_string(),
            expected: exp,
            got,
        });
    }
    out.sync_all().map_err(|e| DownloadError::Io(path.to_path_buf(), e))?;
    Ok((got, hex(&hasher.finalize())))
}

fn bar(got: u64, total: Option<u64>) {
    let mb = |b: u64| b as f64 / 1_048_576.0;
    match total {
        Some(t) if t > 0 => {
            let frac = got as f64 / t as f64;
            let filled = (frac * 30.0) as usize;
            eprint!(
                "\r[{}{}] {:5.1}% {:.1}/{:.1} MiB",
                "#".repeat(filled),
                " ".repeat(30 - filled.min(30)),
                frac * 100.0,
                mb(got),
                mb(t)
            );
        }
        _ => eprint!("\r{:.1} MiB", mb(got)),
    }
    let _ = std::io::stderr().flush();
}
