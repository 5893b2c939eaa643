//! The corpus of broken configs in `tests/broken/`: each file ends with `# expect: L:C
//! severity: message` lines, and validation must report exactly those diagnostics.

use std::path::Path;
use zoo::config::diagnostics::Severity;

fn expectations(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| l.strip_prefix("# expect: "))
        .map(str::to_string)
        .collect()
}

fn actual(text: &str) -> Vec<String> {
    zoo::config::check_any_text(text)
        .diagnostics
        .iter()
        .map(|d| {
            let sev = match d.severity {
                Severity::Error => "error",
                Severity::Warning => "warning",
            };
            format!("{}:{} {sev}: {}", d.line(), d.column(), d.message)
        })
        .collect()
}

#[test]
fn every_broken_config_reports_exactly_its_expected_errors() {
    // A fixed memory limit: the `too_large_*` files' messages name it.
    zoo::config::limits::set_max_memory(Some(16 << 30));
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/broken");
    let mut files: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    assert!(files.len() >= 30, "the corpus has {} files", files.len());
    let mut failures = Vec::new();
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        let want = expectations(&text);
        assert!(!want.is_empty(), "{} has no `# expect:` line", f.display());
        let got = actual(&text);
        if got != want {
            failures.push(format!("{}:\n  expected {want:#?}\n  got {got:#?}", f.display()));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn hostile_yaml_is_refused_quickly() {
    let start = std::time::Instant::now();
    let deep = "- ".repeat(200_000) + "x";
    let v = zoo::config::check_text(&deep);
    assert!(v.has_errors());
    assert!(
        v.diagnostics[0].message.contains("nesting is deeper than 64"),
        "{:?}",
        v.diagnostics
    );
    let bomb =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/broken/alias_bomb.yaml")).unwrap();
    assert!(
        zoo::config::check_text(&bomb).diagnostics[0]
            .message
            .contains("alias bomb")
    );
    assert!(start.elapsed().as_secs() < 5, "took {:?}", start.elapsed());
}
