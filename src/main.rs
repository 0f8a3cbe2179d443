//! The `omnikpi` binary: parses the command line and hands over to [`omnikpi::server::cli`].

fn main() -> std::process::ExitCode {
    omnikpi::server::cli::run()
}
