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
/// The wait answered while attempts under way already fill the limit (they end within seconds).
const BUSY: Duration = Duration::from_secs(60);

#[derive(Debug, Clone)]
struct Entry {
    window_start: Instant,
    failures: u32,
    locks: u32,
    locked_until: Option<Instant>,
    /// Attempts begun and not yet ended.
    in_flight: u32,
}

/// Failure counts per key.
impl Entry {
    fn new(now: Instant) -> Self {
        Self { window_start: now, failures: 0, locks: 0, locked_until: None, in_flight: 0 }
    }
}

/// An attempt under way, holding a slot of its limiter until it fails or is dropped.
pub struct Attempt<'a, K: Hash + Eq + Clone> {
    limiter: &'a Limiter<K>,
    key: Option<K>,
}

impl<K: Hash + Eq + Clone> Attempt<'_, K> {
    /// The attempt failed: counts it; returns the wait if this failure locks the key.
    pub fn fail(mut self, now: Instant) -> Option<Duration> {
        let key = self.key.take()?;
        self.limiter.fail(&key, now)
    }
}

impl<K: Hash + Eq + Clone> Drop for Attempt<'_, K> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            self.limiter.end(&key);
        }
    }
}

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

    /// Starts an attempt: `Err` with how long to wait while `key` is locked, or while the
    /// attempts already under way could reach the limit. Checked and counted in one step, so
    /// attempts made in parallel never see more than the limit through. End each attempt with
    /// [`Attempt::fail`]; an attempt dropped without it counts as a success.
    pub fn begin(&self, key: &K, now: Instant) -> Result<Attempt<'_, K>, Duration> {
        let mut map = self.lock();
        self.make_room(&mut map, key, now);
        let entry = map.entry(key.clone()).or_insert_with(|| Entry::new(now));
        if let Some(until) = entry.locked_until.filter(|u| *u > now) {
            return Err(until - now);
        }
        let counted = if now.duration_since(entry.window_start) >= self.rule.window { 0 } else { entry.failures };
        if counted + entry.in_flight >= self.rule.failures {
            return Err(BUSY);
        }
        entry.in_flight += 1;
        Ok(Attempt { limiter: self, key: Some(key.clone()) })
    }

    /// Ends an attempt that did not fail.
    fn end(&self, key: &K) {
        let mut map = self.lock();
        if let Some(entry) = map.get_mut(key) {
            entry.in_flight = entry.in_flight.saturating_sub(1);
            if entry.in_flight == 0 && entry.failures == 0 && entry.locked_until.is_none() {
                map.remove(key);
            }
        }
    }

    /// Keeps the table under [`MAX_KEYS`] before `key` is added.
    fn make_room(&self, map: &mut HashMap<K, Entry>, key: &K, now: Instant) {
        if map.len() >= MAX_KEYS && !map.contains_key(key) {
            let rule = self.rule;
            map.retain(|_, e| {
                now.duration_since(e.window_start) < rule.window
                    || e.locked_until.is_some_and(|u| u > now)
                    || e.in_flight > 0
            });
            if map.len() >= MAX_KEYS
                && let Some(stalest) = map.iter().min_by_key(|(_, e)| e.window_start).map(|(k, _)| k.clone())
            {
                map.remove(&stalest);
            }
        }
    }

    /// Counts a failure (ending an attempt begun, if there is one); returns the wait if this
    /// failure locks the key.
    pub fn fail(&self, key: &K, now: Instant) -> Option<Duration> {
        let mut map = self.lock();
        self.make_room(&mut map, key, now);
        let entry = map.entry(key.clone()).or_insert_with(|| Entry::new(now));
        entry.in_flight = entry.in_flight.saturating_sub(1);
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

    /// Found in review: parallel wrong codes all passed the check before any was counted.
    #[test]
    fn parallel_attempts_never_pass_the_limit() {
        let limiter = std::sync::Arc::new(Limiter::new(PER_TICKET));
        let t0 = Instant::now();
        let through: usize = std::thread::scope(|s| {
            let handles: Vec<_> = (0..200)
                .map(|_| {
                    let limiter = std::sync::Arc::clone(&limiter);
                    s.spawn(move || {
                        // Each holds its slot while "checking the code", then fails.
                        let attempt = limiter.begin(&"t", t0);
                        std::thread::sleep(Duration::from_millis(20));
                        attempt.map(|a| a.fail(t0)).is_ok()
                    })
                })
                .collect();
            handles.into_iter().map(|h| usize::from(h.join().expect("joins"))).sum()
        });
        assert!(through <= 5, "{through} parallel attempts got through a limit of 5");
        assert!(limiter.begin(&"t", t0).is_err(), "locked after the limit's failures");
        // A success ends its attempt and leaves nothing behind.
        drop(limiter.begin(&"u", t0).expect("a fresh key"));
        assert_eq!(limiter.lock().len(), 1, "only the locked key is kept");
    }

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
