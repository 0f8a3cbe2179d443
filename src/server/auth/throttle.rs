//! Sign-in throttling, per account and per client address: five failures are free, then each
//! further one doubles the wait before the next attempt (1 s, 2 s, 4 s ... at most 15 min).
//! A success clears the account's count; the address keeps its own, so one attacker spraying
//! many accounts still slows down. Kept in memory: a restart forgives, which is acceptable
//! because the delays are short and argon2 already makes each guess expensive.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failures allowed before any delay.
pub const FREE_FAILURES: u32 = 5;
/// The longest wait imposed.
pub const MAX_DELAY: Duration = Duration::from_secs(15 * 60);
/// A key untouched this long is forgotten.
const FORGET_AFTER: Duration = Duration::from_secs(24 * 3600);

#[derive(Debug, Default)]
pub struct Throttle {
    entries: Mutex<HashMap<String, Entry>>,
}

#[derive(Clone, Copy, Debug)]
struct Entry {
    failures: u32,
    last: Instant,
}

/// The wait imposed after `failures` consecutive failures.
pub fn delay_after(failures: u32) -> Duration {
    if failures < FREE_FAILURES {
        return Duration::ZERO;
    }
    let exponent = (failures - FREE_FAILURES).min(20);
    Duration::from_secs(1u64 << exponent).min(MAX_DELAY)
}

/// The throttle keys of an attempt: the account (whatever was typed, existing or not) and the
/// client address.
pub fn keys(email: &str, ip: Option<std::net::IpAddr>) -> Vec<String> {
    let mut keys = vec![format!("account:{}", email.trim().to_lowercase())];
    if let Some(ip) = ip {
        keys.push(format!("ip:{ip}"));
    }
    keys
}

impl Throttle {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        self.entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// How long the caller must still wait before an attempt with these keys is examined.
    pub fn wait(&self, keys: &[String], now: Instant) -> Option<Duration> {
        let entries = self.lock();
        keys.iter()
            .filter_map(|k| entries.get(k))
            .map(|e| (e.last + delay_after(e.failures)).saturating_duration_since(now))
            .filter(|d| !d.is_zero())
            .max()
    }

    pub fn failed(&self, keys: &[String], now: Instant) {
        let mut entries = self.lock();
        if entries.len() > 100_000 {
            entries.retain(|_, e| now.saturating_duration_since(e.last) < FORGET_AFTER);
        }
        for key in keys {
            let entry = entries.entry(key.clone()).or_insert(Entry {
                failures: 0,
                last: now,
            });
            if now.saturating_duration_since(entry.last) >= FORGET_AFTER {
                entry.failures = 0;
            }
            entry.failures = entry.failures.saturating_add(1);
            entry.last = now;
        }
    }

    /// A successful sign-in clears the account's failures (not the address's).
    pub fn succeeded(&self, account_key: &str) {
        self.lock().remove(account_key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_failures_are_free_then_the_wait_doubles() {
        assert_eq!(delay_after(4), Duration::ZERO);
        assert_eq!(delay_after(5), Duration::from_secs(1));
        assert_eq!(delay_after(6), Duration::from_secs(2));
        assert_eq!(delay_after(9), Duration::from_secs(16));
        assert_eq!(delay_after(40), MAX_DELAY);
    }

    #[test]
    fn an_account_is_slowed_down_and_released_by_time_or_success() {
        let throttle = Throttle::default();
        let t0 = Instant::now();
        let keys = keys("Ada@Example.com ", None);
        for _ in 0..5 {
            assert_eq!(throttle.wait(&keys, t0), None);
            throttle.failed(&keys, t0);
        }
        assert_eq!(throttle.wait(&keys, t0), Some(Duration::from_secs(1)));
        assert_eq!(throttle.wait(&keys, t0 + Duration::from_secs(1)), None);
        // The same account typed differently is the same key.
        assert!(
            throttle
                .wait(&super::keys("ada@example.com", None), t0)
                .is_some()
        );
        throttle.succeeded(&keys[0]);
        assert_eq!(throttle.wait(&keys, t0), None);
    }

    #[test]
    fn an_address_spraying_accounts_is_slowed_down() {
        let throttle = Throttle::default();
        let t0 = Instant::now();
        let ip = Some(std::net::IpAddr::from([10, 0, 0, 7]));
        for n in 0..6 {
            throttle.failed(&keys(&format!("user{n}@x.it"), ip), t0);
        }
        let fresh_account = keys("someone.else@x.it", ip);
        assert_eq!(
            throttle.wait(&fresh_account, t0),
            Some(Duration::from_secs(2))
        );
    }
}
