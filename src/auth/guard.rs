//! Brute-force protection (SPEC §3): failed credential checks counted per userid and per
//! client address over `window_seconds`; past the limit, attempts answer 429 with
//! `Retry-After` until `lockout_seconds` pass — even with the right password.
//!
//! Userids are counted whether or not such a user exists, so a lockout never tells which
//! userids are real. State is in memory: a restart forgives, as in Keycloak's default
//! brute-force detector; the tables are bounded so a flood of invented userids cannot
//! exhaust memory.

use crate::config::LoginProtectionConfig;
use std::collections::{HashMap, VecDeque};
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::Mutex;
use time::{Duration, OffsetDateTime};

/// Entries kept per table before expired ones are swept, and the most kept at all.
const MAX_ENTRIES: usize = 100_000;

#[derive(Debug, Default)]
struct Strikes {
    failures: VecDeque<OffsetDateTime>,
    locked_until: Option<OffsetDateTime>,
}

impl Strikes {
    fn locked(&self, now: OffsetDateTime) -> Option<Duration> {
        self.locked_until.filter(|&t| t > now).map(|t| t - now)
    }

    fn is_stale(&self, now: OffsetDateTime, window: Duration) -> bool {
        self.locked(now).is_none() && self.failures.back().is_none_or(|&t| now - t >= window)
    }
}

struct Table<K> {
    entries: Mutex<HashMap<K, Strikes>>,
}

impl<K: Eq + Hash + Clone> Table<K> {
    fn new() -> Self {
        Self {
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn locked(&self, key: &K, now: OffsetDateTime) -> Option<Duration> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.get(key).and_then(|s| s.locked(now))
    }

    fn fail(&self, key: &K, limit: u32, window: Duration, lockout: Duration, now: OffsetDateTime) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= MAX_ENTRIES && !entries.contains_key(key) {
            entries.retain(|_, s| !s.is_stale(now, window));
            if entries.len() >= MAX_ENTRIES {
                // Still full of live entries: an attack on many names at once. The address
                // table still holds each attacker, so dropping this name loses little.
                return;
            }
        }
        let strikes = entries.entry(key.clone()).or_default();
        if strikes.locked_until.is_some_and(|t| t <= now) {
            *strikes = Strikes::default();
        }
        strikes.failures.push_back(now);
        while strikes.failures.front().is_some_and(|&t| now - t >= window) {
            strikes.failures.pop_front();
        }
        if strikes.failures.len() >= limit as usize {
            strikes.locked_until = Some(now + lockout);
            strikes.failures.clear();
        }
    }

    fn forget(&self, key: &K) {
        self.entries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(key);
    }
}

/// How long until an attempt may be made again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Locked {
    pub retry_after_seconds: u64,
}

pub struct LoginGuard {
    users: Table<String>,
    addresses: Table<IpAddr>,
}

impl Default for LoginGuard {
    fn default() -> Self {
        Self {
            users: Table::new(),
            addresses: Table::new(),
        }
    }
}

fn seconds(s: u64) -> Duration {
    Duration::seconds(i64::try_from(s).unwrap_or(i64::MAX / 2))
}

impl LoginGuard {
    /// Refuses an attempt while its userid or its address is locked out.
    pub fn check(
        &self,
        userid: Option<&str>,
        address: Option<IpAddr>,
        now: OffsetDateTime,
    ) -> Result<(), Locked> {
        let by_user = userid.and_then(|u| self.users.locked(&u.to_string(), now));
        let by_address = address.and_then(|a| self.addresses.locked(&a, now));
        match by_user.into_iter().chain(by_address).max() {
            Some(left) => Err(Locked {
                // Round up: a client that waits exactly this long gets in.
                retry_after_seconds: u64::try_from(left.whole_seconds()).unwrap_or(0)
                    + u64::from(left.subsec_nanoseconds() > 0),
            }),
            None => Ok(()),
        }
    }

    /// Counts a failed check against the userid (if one was given) and the address.
    pub fn fail(
        &self,
        config: &LoginProtectionConfig,
        userid: Option<&str>,
        address: Option<IpAddr>,
        now: OffsetDateTime,
    ) {
        let (window, lockout) = (
            seconds(config.window_seconds),
            seconds(config.lockout_seconds),
        );
        if let Some(userid) = userid {
            self.users.fail(
                &userid.to_string(),
                config.max_failures,
                window,
                lockout,
                now,
            );
        }
        if let Some(address) = address {
            self.addresses.fail(
                &address,
                config.max_failures_per_address,
                window,
                lockout,
                now,
            );
        }
    }

    /// A successful check clears the user's count (not the address's: one good account must
    /// not launder an address's guessing at others).
    pub fn succeed(&self, userid: &str) {
        self.users.forget(&userid.to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> LoginProtectionConfig {
        LoginProtectionConfig {
            max_failures: 3,
            max_failures_per_address: 5,
            window_seconds: 60,
            lockout_seconds: 120,
        }
    }

    fn t(s: i64) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(1_000_000 + s).expect("valid")
    }

    #[test]
    fn a_userid_locks_after_max_failures_in_the_window_and_unlocks_after_the_lockout() {
        let guard = LoginGuard::default();
        for s in 0..2 {
            guard.fail(&config(), Some("alice"), None, t(s));
            assert_eq!(guard.check(Some("alice"), None, t(s)), Ok(()));
        }
        guard.fail(&config(), Some("alice"), None, t(2));
        assert_eq!(
            guard.check(Some("alice"), None, t(2)),
            Err(Locked {
                retry_after_seconds: 120
            })
        );
        assert!(guard.check(Some("bob"), None, t(2)).is_ok(), "only alice");
        assert!(guard.check(Some("alice"), None, t(121)).is_err());
        assert_eq!(guard.check(Some("alice"), None, t(122)), Ok(()));
    }

    #[test]
    fn failures_outside_the_window_do_not_add_up() {
        let guard = LoginGuard::default();
        guard.fail(&config(), Some("alice"), None, t(0));
        guard.fail(&config(), Some("alice"), None, t(30));
        guard.fail(&config(), Some("alice"), None, t(61));
        assert_eq!(guard.check(Some("alice"), None, t(61)), Ok(()));
    }

    #[test]
    fn an_address_locks_across_userids_and_success_does_not_clear_it() {
        let guard = LoginGuard::default();
        let addr: IpAddr = "192.0.2.7".parse().expect("ip");
        for (s, user) in ["a", "b", "c", "d", "e"].iter().enumerate() {
            guard.fail(&config(), Some(user), Some(addr), t(s as i64));
            guard.succeed(user);
        }
        assert!(guard.check(Some("zed"), Some(addr), t(5)).is_err());
        assert!(guard.check(Some("zed"), None, t(5)).is_ok());
    }

    #[test]
    fn success_clears_a_users_count() {
        let guard = LoginGuard::default();
        guard.fail(&config(), Some("alice"), None, t(0));
        guard.fail(&config(), Some("alice"), None, t(1));
        guard.succeed("alice");
        guard.fail(&config(), Some("alice"), None, t(2));
        assert_eq!(guard.check(Some("alice"), None, t(2)), Ok(()));
    }
}
