//! How much memory a model may need before zoo refuses to build it: `--max-memory`, or by
//! default the memory of the machine (or of the container's cgroup, when that is smaller).

use std::sync::atomic::{AtomicU64, Ordering};

/// Set by `--max-memory`; 0 = the machine's memory.
static MAX_MEMORY: AtomicU64 = AtomicU64::new(0);

/// A memory limit and where it comes from (for messages).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    pub bytes: u64,
    pub source: &'static str,
}

/// Sets the limit for this process (`None`: the machine's memory).
pub fn set_max_memory(bytes: Option<u64>) {
    MAX_MEMORY.store(bytes.unwrap_or(0), Ordering::Relaxed);
}

/// The limit in force; `None` when none is set and the machine's memory cannot be read.
pub fn limit() -> Option<Limit> {
    match MAX_MEMORY.load(Ordering::Relaxed) {
        0 => machine_memory().map(|bytes| Limit {
            bytes,
            source: "this machine's memory",
        }),
        bytes => Some(Limit {
            bytes,
            source: "--max-memory",
        }),
    }
}

/// Physical memory, lowered to a cgroup's limit (containers, CI runners) when it has one.
fn machine_memory() -> Option<u64> {
    let total = std::fs::read_to_string("/proc/meminfo").ok().and_then(|t| {
        t.lines()
            .find_map(|l| l.strip_prefix("MemTotal:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .map(|kb| kb.saturating_mul(1024))
    })?;
    let cgroup = [
        "/sys/fs/cgroup/memory.max",
        "/sys/fs/cgroup/memory/memory.limit_in_bytes",
    ]
    .iter()
    .filter_map(|p| std::fs::read_to_string(p).ok())
    .filter_map(|t| t.trim().parse::<u64>().ok())
    .min();
    Some(cgroup.map_or(total, |c| c.min(total)))
}

/// Parses a byte count: `1073741824`, `512M`, `16G`, `1.5T`, `16GiB` (powers of 1024) or
/// `16GB` (powers of 1000).
pub fn parse_bytes(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let split = t.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let value: f64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a size; write e.g. `16G`, `512M` or a number of bytes"))?;
    let scale: f64 = match unit.trim().to_ascii_uppercase().as_str() {
        "" | "B" => 1.0,
        "K" | "KIB" => 1024.0,
        "M" | "MIB" => 1024f64.powi(2),
        "G" | "GIB" => 1024f64.powi(3),
        "T" | "TIB" => 1024f64.powi(4),
        "KB" => 1e3,
        "MB" => 1e6,
        "GB" => 1e9,
        "TB" => 1e12,
        other => {
            return Err(format!(
                "unknown unit `{other}` in `{text}`; use K, M, G, T (powers of 1024) or KB, MB, GB, TB"
            ));
        }
    };
    let bytes = value * scale;
    if !bytes.is_finite() || bytes < 1.0 || bytes >= u64::MAX as f64 {
        return Err(format!("`{text}` is not a usable memory size"));
    }
    Ok(bytes as u64)
}

/// A byte count for people: `216.0 GiB`, `512.0 MiB`, `900 B`.
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 6] = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut v = bytes as f64;
    let mut unit = "B";
    for u in UNITS {
        if v < 1024.0 {
            break;
        }
        v /= 1024.0;
        unit = u;
    }
    format!("{v:.1} {unit}")
}

/// A count with thousands separators: `11,689,512`.
pub fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A count for people: `58.0 billion`, `25.6 million`, `1,024`.
pub fn human_count(n: u64) -> String {
    let f = n as f64;
    match n {
        0..=999_999 => thousands(n),
        1_000_000..=999_999_999 => format!("{:.1} million", f / 1e6),
        1_000_000_000..=999_999_999_999 => format!("{:.1} billion", f / 1e9),
        _ => format!("{:.1} trillion", f / 1e12),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_with_binary_and_decimal_units() {
        assert_eq!(parse_bytes("1048576"), Ok(1 << 20));
        assert_eq!(parse_bytes("512M"), Ok(512 << 20));
        assert_eq!(parse_bytes("16GiB"), Ok(16 << 30));
        assert_eq!(parse_bytes("1.5g"), Ok(3 << 29));
        assert_eq!(parse_bytes("2GB"), Ok(2_000_000_000));
        assert!(parse_bytes("lots").unwrap_err().contains("not a size"));
        assert!(parse_bytes("3 parsecs").unwrap_err().contains("unknown unit `PARSECS`"));
        assert!(parse_bytes("0").is_err());
        assert!(parse_bytes("1e30").is_err());
    }

    #[test]
    fn sizes_and_counts_print_for_people() {
        assert_eq!(human_bytes(900), "900 B");
        assert_eq!(human_bytes(3 << 29), "1.5 GiB");
        assert_eq!(human_count(11_689_512), "11.7 million");
        assert_eq!(human_count(58_000_000_000), "58.0 billion");
        assert_eq!(human_count(25_557), "25,557");
    }

    #[test]
    fn the_machine_memory_is_the_default_limit() {
        set_max_memory(None);
        if let Some(l) = limit() {
            assert_eq!(l.source, "this machine's memory");
            assert!(l.bytes > 64 << 20, "{l:?}");
        }
    }
}
