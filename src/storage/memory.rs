//! Short-lived state kept in process memory: browser sessions, login-failure counters and
//! per-minute counts. The single-node sled backend keeps them here, as Keycloak's default
//! in-memory brute-force detector and sessions do: a restart signs browsers out and forgives
//! failures. A shared backend keeps the same state in its database instead (SPEC §11).
//!
//! Every table is bounded, so a flood of invented userids or addresses cannot exhaust memory.

use super::{BrowserSession, Counts, LockoutRule, COUNTS_KEPT};
use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard};
use time::{Duration, OffsetDateTime};

/// Entries kept per table before expired ones are swept, and the most kept at all.
const MAX_ENTRIES: usize = 100_000;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[derive(Default)]
pub(crate) struct Ephemeral {
    browser: Mutex<HashMap<[u8; 32], BrowserSession>>,
    lockouts: Mutex<HashMap<String, Strikes>>,
    counts: Mutex<Minutes>,
}

#[derive(Debug, Default)]
struct Strikes {
    failures: VecDeque<OffsetDateTime>,
    locked_until: Option<OffsetDateTime>,
}

impl Strikes {
    fn locked(&self, now: OffsetDateTime) -> Option<OffsetDateTime> {
        self.locked_until.filter(|&t| t > now)
    }

    fn is_stale(&self, now: OffsetDateTime, window: Duration) -> bool {
        self.locked(now).is_none() && self.failures.back().is_none_or(|&t| now - t >= window)
    }
}

/// One bucket a minute, for a day.
const MINUTES: usize = COUNTS_KEPT.whole_minutes() as usize;

struct Minutes([(i64, Counts); MINUTES]);

impl Default for Minutes {
    fn default() -> Self {
        Self([(i64::MIN, Counts::default()); MINUTES])
    }
}

fn minute_of(t: OffsetDateTime) -> i64 {
    t.unix_timestamp().div_euclid(60)
}

impl Ephemeral {
    pub(crate) fn create_browser_session(&self, session: &BrowserSession) {
        let mut sessions = lock(&self.browser);
        if sessions.len() >= MAX_ENTRIES {
            let now = session.expires_at;
            // The oldest idle ones first; a table still full of live sessions loses the one
            // closest to its end.
            sessions.retain(|_, s| s.expires_at > now - COUNTS_KEPT);
            if sessions.len() >= MAX_ENTRIES {
                if let Some(id) = sessions.values().min_by_key(|s| s.expires_at).map(|s| s.id) {
                    sessions.remove(&id);
                }
            }
        }
        sessions.insert(session.id, session.clone());
    }

    pub(crate) fn touch_browser_session(
        &self,
        id: &[u8; 32],
        now: OffsetDateTime,
        idle: Duration,
    ) -> Option<BrowserSession> {
        let mut sessions = lock(&self.browser);
        let session = sessions.get_mut(id)?;
        if session.expires_at <= now {
            sessions.remove(id);
            return None;
        }
        session.expires_at = now + idle;
        Some(session.clone())
    }

    pub(crate) fn delete_browser_session(&self, id: &[u8; 32]) -> bool {
        lock(&self.browser).remove(id).is_some()
    }

    pub(crate) fn locked_until(
        &self,
        keys: &[String],
        now: OffsetDateTime,
    ) -> Option<OffsetDateTime> {
        let entries = lock(&self.lockouts);
        keys.iter()
            .filter_map(|k| entries.get(k).and_then(|s| s.locked(now)))
            .max()
    }

    pub(crate) fn record_failure(&self, key: &str, rule: LockoutRule, now: OffsetDateTime) {
        let mut entries = lock(&self.lockouts);
        if entries.len() >= MAX_ENTRIES && !entries.contains_key(key) {
            entries.retain(|_, s| !s.is_stale(now, rule.window));
            if entries.len() >= MAX_ENTRIES {
                // Still full of live entries: an attack on many names at once. The address
                // table still holds each attacker, so dropping this name loses little.
                return;
            }
        }
        let strikes = entries.entry(key.to_string()).or_default();
        if strikes.locked_until.is_some_and(|t| t <= now) {
            *strikes = Strikes::default();
        }
        strikes.failures.push_back(now);
        while strikes
            .failures
            .front()
            .is_some_and(|&t| now - t >= rule.window)
        {
            strikes.failures.pop_front();
        }
        if strikes.failures.len() >= rule.limit as usize {
            strikes.locked_until = Some(now + rule.lockout);
            strikes.failures.clear();
        }
    }

    pub(crate) fn clear_failures(&self, key: &str) {
        lock(&self.lockouts).remove(key);
    }

    pub(crate) fn add_counts(&self, now: OffsetDateTime, counts: Counts) {
        let minute = minute_of(now);
        let mut minutes = lock(&self.counts);
        let slot = &mut minutes.0[minute.rem_euclid(MINUTES as i64) as usize];
        if slot.0 != minute {
            *slot = (minute, Counts::default());
        }
        slot.1.logins += counts.logins;
        slot.1.failures += counts.failures;
    }

    pub(crate) fn counts_since(&self, since: OffsetDateTime) -> Counts {
        let from = minute_of(since);
        let minutes = lock(&self.counts);
        // A slot holds the latest minute that fell in it: those from `from` on are current.
        minutes
            .0
            .iter()
            .filter(|(m, _)| *m >= from)
            .fold(Counts::default(), |sum, (_, c)| Counts {
                logins: sum.logins + c.logins,
                failures: sum.failures + c.failures,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: i64) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(1_000_000 + s).expect("valid")
    }

    #[test]
    fn a_full_lockout_table_drops_stale_entries_before_refusing_new_ones() {
        let state = Ephemeral::default();
        let rule = LockoutRule {
            limit: 3,
            window: Duration::seconds(60),
            lockout: Duration::seconds(120),
        };
        for i in 0..MAX_ENTRIES {
            state.record_failure(&format!("user:{i}"), rule, t(0));
        }
        // An hour later every entry is stale: a new key still gets counted.
        for s in 0..3 {
            state.record_failure("user:late", rule, t(3600 + s));
        }
        assert!(state.locked_until(&["user:late".into()], t(3603)).is_some());
        assert!(lock(&state.lockouts).len() < MAX_ENTRIES);
    }

    #[test]
    fn counts_older_than_a_day_fall_out() {
        let state = Ephemeral::default();
        let one = Counts {
            logins: 1,
            failures: 2,
        };
        state.add_counts(t(0), one);
        state.add_counts(t(86_400), one);
        assert_eq!(
            state.counts_since(t(0)),
            one,
            "the older minute's slot was reused"
        );
    }
}
