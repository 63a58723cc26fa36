//! The `tessera` binary: parse the command line and dispatch (SPEC §1).

/// jemalloc, not glibc's malloc: see Cargo.toml. Only the binary; the library leaves the choice
/// to whoever links it.
#[cfg(target_os = "linux")]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> std::process::ExitCode {
    tessera::cli::run()
}
