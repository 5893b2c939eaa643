// Counts heap bytes so a forward pass too large for memory is measured and refused
// (`rt::memory`) rather than aborting the process when an allocation fails.
#[global_allocator]
static ALLOC: zoo::rt::memory::CountingAlloc = zoo::rt::memory::CountingAlloc;

fn main() {
    // Behave like other Unix tools when the reader goes away (`zoo list | head`): exit quietly
    // instead of panicking on a broken pipe.
    #[cfg(unix)]
    // SAFETY: restoring the default disposition of SIGPIPE before any thread is started.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    // A forward pass allocates and frees hundreds of activation buffers. glibc serves the big
    // ones with fresh mmaps and unmaps them when freed, so every pass page-faults its
    // activations in again (≈15% of inference time under `perf`). Serving them from the heap
    // up to glibc's limit (32 MiB) and keeping freed memory there lets each pass reuse the
    // last one's pages; peak memory is unchanged (README "Speed").
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc tuning before any thread is started or any allocation is shared.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 1 << 30);
    }
    let code = zoo::cli::internal_error::run(zoo::cli::main);
    if zoo::cli::gpu_driver_loaded() {
        // Mesa's Vulkan driver tears LLVM down in exit handlers while the GPU runtime's
        // compiler threads may still be running, which crashes the process after it has done
        // its work (README "GPU"). Nothing of ours needs those handlers: flush and leave.
        use std::io::Write;
        let _ = std::io::stdout().flush();
        let _ = std::io::stderr().flush();
        // SAFETY: ends the process; every file zoo writes is closed or flushed by now.
        unsafe { libc::_exit(code) }
    }
    std::process::exit(code);
}
