//! The time each step of one computation took, logged at debug level: the profile of a slow
//! page or rebuild on a customer's own data, without a profiler
//! (`OMNIKPI_LOG=omnikpi=debug,info`).

use std::time::{Duration, Instant};

/// Laps of one computation, in the order they ran.
pub struct Laps {
    what: &'static str,
    clock: Instant,
    last: Duration,
    laps: Vec<(String, Duration)>,
}

impl Laps {
    pub fn start(what: &'static str) -> Self {
        Self {
            what,
            clock: Instant::now(),
            last: Duration::ZERO,
            laps: Vec::new(),
        }
    }

    /// Ends the step `name` now.
    pub fn lap(&mut self, name: impl Into<String>) {
        let now = self.clock.elapsed();
        self.laps.push((name.into(), now - self.last));
        self.last = now;
    }

    /// `name 12 ms, other 3 ms` in the order they ran.
    pub fn summary(&self) -> String {
        self.laps
            .iter()
            .map(|(name, d)| format!("{name} {} ms", d.as_millis()))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

impl Drop for Laps {
    fn drop(&mut self) {
        if !self.laps.is_empty() {
            tracing::debug!(
                total_ms = self.clock.elapsed().as_millis() as u64,
                laps = %self.summary(),
                "{} profile",
                self.what
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn laps_are_named_in_order_and_add_up() {
        let mut laps = Laps::start("test");
        laps.lap("first");
        std::thread::sleep(Duration::from_millis(5));
        laps.lap("second");
        let summary = laps.summary();
        assert!(summary.starts_with("first "), "{summary}");
        assert!(summary.contains(", second "), "{summary}");
        let total: Duration = laps.laps.iter().map(|(_, d)| *d).sum();
        assert_eq!(total, laps.last);
        assert!(laps.laps[1].1 >= Duration::from_millis(5));
    }
}
