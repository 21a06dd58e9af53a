//! Limits on wrong access codes: per ticket (so nobody can guess one ticket's code from many
//! addresses) and per client address (so nobody can sweep many tickets from one). Failures
//! count in a sliding window; past the limit the key is locked for a wait that doubles with
//! each further lock, up to an hour. Only failures count, so a citizen who signs in is never
//! slowed down by it.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// One limit.
#[derive(Debug, Clone, Copy)]
pub struct Rule {
    /// Failures allowed in the window.
    pub failures: u32,
    /// The window.
    pub window: Duration,
    /// First lock-out; doubled for each lock after it.
    pub first_lock: Duration,
    /// Longest lock-out.
    pub max_lock: Duration,
}

/// Per ticket: 5 wrong codes in 15 minutes, then 5 minutes, doubling to an hour.
pub const PER_TICKET: Rule = Rule {
    failures: 5,
    window: Duration::from_secs(15 * 60),
    first_lock: Duration::from_secs(5 * 60),
    max_lock: Duration::from_secs(60 * 60),
};
/// Per client address: 20 failures in 15 minutes, then 15 minutes, doubling to an hour.
pub const PER_CLIENT: Rule = Rule {
    failures: 20,
    window: Duration::from_secs(15 * 60),
    first_lock: Duration::from_secs(15 * 60),
    max_lock: Duration::from_secs(60 * 60),
};
/// Most keys tracked per limiter; the stalest go first beyond it.
const MAX_KEYS: usize = 200_000;

#[derive(Debug, Clone)]
struct Entry {
    window_start: Instant,
    failures: u32,
    locks: u32,
    locked_until: Option<Instant>,
}

/// Failure counts per key.
pub struct Limiter<K> {
    rule: Rule,
    map: Mutex<HashMap<K, Entry>>,
}

impl<K: Hash + Eq + Clone> Limiter<K> {
    /// A limiter enforcing `rule`.
    pub fn new(rule: Rule) -> Self {
        Self { rule, map: Mutex::new(HashMap::new()) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<K, Entry>> {
        self.map.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// How long `key` must still wait, if it is locked.
    pub fn wait(&self, key: &K, now: Instant) -> Option<Duration> {
        let until = self.lock().get(key)?.locked_until?;
        (until > now).then(|| until - now)
    }

    /// Counts a failure; returns the wait if this failure locks the key.
    pub fn fail(&self, key: &K, now: Instant) -> Option<Duration> {
        let mut map = self.lock();
        if map.len() >= MAX_KEYS && !map.contains_key(key) {
            let rule = self.rule;
            map.retain(|_, e| {
                now.duration_since(e.window_start) < rule.window || e.locked_until.is_some_and(|u| u > now)
            });
            if map.len() >= MAX_KEYS
                && let Some(stalest) = map.iter().min_by_key(|(_, e)| e.window_start).map(|(k, _)| k.clone())
            {
                map.remove(&stalest);
            }
        }
        let entry =
            map.entry(key.clone()).or_insert(Entry { window_start: now, failures: 0, locks: 0, locked_until: None });
        if now.duration_since(entry.window_start) >= self.rule.window {
            entry.window_start = now;
            entry.failures = 0;
        }
        entry.failures += 1;
        if entry.failures < self.rule.failures {
            return None;
        }
        let factor = 1u32 << entry.locks.min(10);
        let wait = self.rule.first_lock.saturating_mul(factor).min(self.rule.max_lock);
        entry.locks += 1;
        entry.failures = 0;
        entry.window_start = now;
        entry.locked_until = Some(now + wait);
        Some(wait)
    }
}

/// Whole minutes to show for a wait (at least 1).
pub fn minutes(wait: Duration) -> u64 {
    wait.as_secs().div_ceil(60).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_after_the_limit_and_doubles() {
        let limiter = Limiter::new(PER_TICKET);
        let t0 = Instant::now();
        for _ in 0..4 {
            assert_eq!(limiter.fail(&"t", t0), None);
        }
        assert_eq!(limiter.wait(&"t", t0), None);
        assert_eq!(limiter.fail(&"t", t0), Some(Duration::from_secs(300)));
        assert_eq!(limiter.wait(&"t", t0 + Duration::from_secs(60)), Some(Duration::from_secs(240)));
        assert_eq!(limiter.wait(&"other", t0), None, "other keys are not affected");
        let later = t0 + Duration::from_secs(301);
        assert_eq!(limiter.wait(&"t", later), None);
        for _ in 0..4 {
            assert_eq!(limiter.fail(&"t", later), None);
        }
        assert_eq!(limiter.fail(&"t", later), Some(Duration::from_secs(600)), "the second lock is twice as long");
        assert_eq!(minutes(Duration::from_secs(61)), 2);
        assert_eq!(minutes(Duration::from_secs(1)), 1);
    }

    #[test]
    fn failures_outside_the_window_do_not_add_up() {
        let limiter = Limiter::new(PER_TICKET);
        let t0 = Instant::now();
        for i in 0..20u64 {
            assert_eq!(limiter.fail(&"t", t0 + Duration::from_secs(i * 16 * 60)), None);
        }
    }
}
