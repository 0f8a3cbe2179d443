//! Fault points: named places inside the write paths where the fault tests (tests/faults.rs)
//! kill the process with SIGKILL, so that "kill -9 during rollup maintenance" happens at the
//! same instant on every run instead of after a guessed delay.
//!
//! A point does nothing unless `OMNIKPI_FAULT_AT` names it; no configuration file or setting
//! reaches it. It is meant for tests and for an operator who wants to see for themselves that
//! a crash at that moment loses nothing (docs/soak.md lists the points).

/// `kill -9` of this process when `OMNIKPI_FAULT_AT` is `name`; otherwise nothing.
pub fn point(name: &str) {
    if std::env::var_os("OMNIKPI_FAULT_AT").is_some_and(|at| at == name) {
        tracing::warn!(point = name, "OMNIKPI_FAULT_AT: killing the process");
        let _ = std::process::Command::new("kill")
            .args(["-KILL", &std::process::id().to_string()])
            .status();
        // The signal is delivered before `kill` returns; abort in case `kill` is missing.
        std::process::abort();
    }
}
