//! A progress line while a model with very many blocks is built (a config may ask for
//! 65 536 of them). Silent for the ordinary build that takes well under a second.

use std::cell::RefCell;
use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

/// Building takes this long before the first progress line appears.
const QUIET_FOR: Duration = Duration::from_secs(2);

struct Progress {
    quiet: Duration,
    total: u64,
    done: u64,
    start: Instant,
    last: Option<Instant>,
    terminal: bool,
}

thread_local! {
    static PROGRESS: RefCell<Option<Progress>> = const { RefCell::new(None) };
}

/// Runs `build`, showing progress over `total` blocks on stderr once it takes long. Inside
/// another `building`, the outer one counts.
pub fn building<T>(total: u64, build: impl FnOnce() -> T) -> T {
    building_after(QUIET_FOR, total, build).0
}

/// `building` with the quiet time given; also says whether a progress line was shown.
fn building_after<T>(quiet: Duration, total: u64, build: impl FnOnce() -> T) -> (T, bool) {
    if built().is_some() {
        return (build(), false);
    }
    PROGRESS.with(|p| {
        *p.borrow_mut() = Some(Progress {
            quiet,
            total,
            done: 0,
            start: Instant::now(),
            last: None,
            terminal: std::io::stderr().is_terminal(),
        })
    });
    let out = build();
    let mut shown = false;
    if let Some(p) = PROGRESS.with(|p| p.borrow_mut().take())
        && p.last.is_some()
    {
        shown = true;
        let line = format!("built the model: {} blocks in {:.1?}", p.done, p.start.elapsed());
        if p.terminal {
            eprintln!("\r{line}\x1b[K");
        } else {
            eprintln!("{line}");
        }
    }
    (out, shown)
}

/// One block built (generated `init` calls this first).
pub fn tick() {
    PROGRESS.with(|p| {
        let mut p = p.borrow_mut();
        let Some(p) = p.as_mut() else { return };
        p.done += 1;
        // Reading the clock every block would cost more than the block.
        if !p.done.is_multiple_of(64) || p.start.elapsed() < p.quiet {
            return;
        }
        let every = if p.terminal {
            Duration::from_millis(250)
        } else {
            Duration::from_secs(5)
        };
        if p.last.is_some_and(|l| l.elapsed() < every) {
            return;
        }
        p.last = Some(Instant::now());
        let line = format!(
            "building the model: {} of {} blocks ({:.0}%)",
            p.done,
            p.total,
            100.0 * p.done as f64 / p.total.max(1) as f64
        );
        let mut err = std::io::stderr();
        let _ = if p.terminal {
            write!(err, "\r{line}\x1b[K")
        } else {
            writeln!(err, "{line}")
        };
        let _ = err.flush();
    });
}

/// Blocks built so far in the current `building` (for tests).
pub fn built() -> Option<u64> {
    PROGRESS.with(|p| p.borrow().as_ref().map(|p| p.done))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_build_shows_progress_and_a_short_one_does_not() {
        let ticks = |n: u64| {
            for _ in 0..n {
                tick();
            }
            built()
        };
        assert_eq!(building_after(Duration::ZERO, 128, || ticks(128)), (Some(128), true));
        assert_eq!(building_after(QUIET_FOR, 128, || ticks(128)), (Some(128), false));
        // Nested builds count in the outer one; outside any build nothing is counted.
        let nested = building_after(QUIET_FOR, 3, || {
            tick();
            building(2, || ticks(2))
        });
        assert_eq!(nested, (Some(3), false));
        tick();
        assert_eq!(built(), None);
    }
}
