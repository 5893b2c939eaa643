fn main() {
    // Behave like other Unix tools when the reader goes away (`zoo list | head`): exit quietly
    // instead of panicking on a broken pipe.
    #[cfg(unix)]
    // SAFETY: restoring the default disposition of SIGPIPE before any thread is started.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    std::process::exit(zoo::cli::main());
}
