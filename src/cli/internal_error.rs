//! What a user sees when zoo itself fails: one `error:` line naming the failure and where in
//! zoo it happened, a note asking for a bug report, exit code 1 — never Rust's panic message and
//! backtrace, which speak about zoo's source rather than the user's input.

use std::panic::{self, PanicHookInfo};

/// The message of a panic payload (`panic!` gives `&str` or `String`).
pub fn payload_text(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "an internal failure without a message".into())
}

/// The report printed for a panic with `text` at `location` (`file:line`).
pub fn report(text: &str, location: Option<&str>) -> String {
    let at = location.map(|l| format!(" (at {l})")).unwrap_or_default();
    format!(
        "error: internal error: {text}{at}\n\
         note: this is a bug in zoo, not a problem with your input; please report it with the \
         command line and the files it read"
    )
}

fn hook(info: &PanicHookInfo) {
    let location = info.location().map(|l| format!("{}:{}", l.file(), l.line()));
    eprintln!("{}", report(&payload_text(info.payload()), location.as_deref()));
}

/// Runs the CLI `main` with panics reported by [`report`]; a panic gives exit code 1.
/// `model::guarded` still swaps in its own hook where it turns a panic into an error message.
pub fn run(main: impl FnOnce() -> i32) -> i32 {
    panic::set_hook(Box::new(hook));
    panic::catch_unwind(panic::AssertUnwindSafe(main)).unwrap_or(super::INVALID)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_is_exit_code_1_with_a_report() {
        assert_eq!(run(|| 0), 0);
        assert_eq!(run(|| 2), 2);
        assert_eq!(run(|| panic!("index 7 out of range")), 1);
        let _ = panic::take_hook();
        let text = report("index 7 out of range", Some("src/cli/run.rs:12"));
        assert_eq!(
            text.lines().next(),
            Some("error: internal error: index 7 out of range (at src/cli/run.rs:12)")
        );
        assert!(text.lines().nth(1).unwrap().starts_with("note: this is a bug in zoo"));
        assert_eq!(payload_text(&"static"), "static");
        assert_eq!(payload_text(&String::from("owned")), "owned");
        assert_eq!(payload_text(&7u8), "an internal failure without a message");
    }
}
