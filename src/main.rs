//! The `tessera` binary: parse the command line and dispatch (SPEC §1).

fn main() -> std::process::ExitCode {
    tessera::cli::run()
}
