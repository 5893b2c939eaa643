//! Heap accounting: a global allocator that counts live and peak bytes, so zoo can measure
//! what a forward pass allocates (and refuse one that would not fit) instead of aborting when
//! an allocation fails. The `zoo` binary installs it; a library user who does not gets no
//! measurements ([`measure`] returns `None`).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU64, Ordering};

static LIVE: AtomicU64 = AtomicU64::new(0);
static PEAK: AtomicU64 = AtomicU64::new(0);

/// The system allocator, counting.
pub struct CountingAlloc;

/// An allocation failed: Rust would abort with a signal. Says so like every other zoo error
/// and exits 1 instead, without allocating (the heap just refused).
fn out_of_memory(bytes: usize) -> ! {
    let mut msg = [0u8; 256];
    let mut n = 0;
    let mut put = |s: &[u8]| {
        let k = s.len().min(msg.len() - n);
        msg[n..n + k].copy_from_slice(&s[..k]);
        n += k;
    };
    put(b"error: out of memory: an allocation of ");
    let (digits, len) = mib(bytes as u64);
    put(&digits[..len]);
    put(b" MiB failed with ");
    let (digits, len) = mib(LIVE.load(Ordering::Relaxed));
    put(&digits[..len]);
    put(b" MiB in use; use a smaller input, batch or model\n");
    // SAFETY: writing a stack buffer to stderr and ending the process; no Rust state is used
    // after this point.
    unsafe {
        libc::write(2, msg.as_ptr().cast(), n);
        libc::_exit(1)
    }
}

/// `bytes` in whole MiB as decimal digits (and how many), without allocating.
fn mib(bytes: u64) -> ([u8; 20], usize) {
    let mut v = bytes >> 20;
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 || i == 0 {
            break;
        }
    }
    let mut out = [0u8; 20];
    out[..20 - i].copy_from_slice(&digits[i..]);
    (out, 20 - i)
}

fn grew(bytes: usize) {
    let now = LIVE.fetch_add(bytes as u64, Ordering::Relaxed) + bytes as u64;
    PEAK.fetch_max(now, Ordering::Relaxed);
}

fn shrank(bytes: usize) {
    LIVE.fetch_sub(bytes as u64, Ordering::Relaxed);
}

// SAFETY: every call is forwarded to `System` unchanged; the counters only observe sizes.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract is System's.
        let p = unsafe { System.alloc(layout) };
        if p.is_null() {
            out_of_memory(layout.size());
        }
        grew(layout.size());
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as above.
        let p = unsafe { System.alloc_zeroed(layout) };
        if p.is_null() {
            out_of_memory(layout.size());
        }
        grew(layout.size());
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) };
        shrank(layout.size());
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as above.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if p.is_null() {
            out_of_memory(new_size);
        }
        shrank(layout.size());
        grew(new_size);
        p
    }
}

/// Runs `f` and returns the most heap it held at once beyond what was live before; `None`
/// when the counting allocator is not installed.
pub fn measure<T>(f: impl FnOnce() -> T) -> (T, Option<u64>) {
    let before = LIVE.load(Ordering::Relaxed);
    PEAK.store(before, Ordering::Relaxed);
    let out = f();
    let peak = PEAK.load(Ordering::Relaxed);
    let installed = before > 0 || peak > 0;
    (out, installed.then(|| peak.saturating_sub(before)))
}

/// Heap bytes live now.
pub fn live() -> u64 {
    LIVE.load(Ordering::Relaxed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mebibytes_print_without_allocating() {
        let (d, n) = mib(57 << 30);
        assert_eq!(&d[..n], b"58368");
        let (d, n) = mib(1000);
        assert_eq!(&d[..n], b"0");
    }
}
