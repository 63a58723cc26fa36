//! Counters for the statistics service (SPEC §6): logins and failed credential checks in the
//! last hour, in one-minute buckets.

use std::sync::Mutex;
use time::OffsetDateTime;

const BUCKETS: usize = 60;

#[derive(Debug, Default, Clone, Copy)]
struct Bucket {
    minute: i64,
    logins: u64,
    failures: u64,
}

#[derive(Debug)]
pub struct Stats {
    buckets: Mutex<[Bucket; BUCKETS]>,
}

impl Default for Stats {
    fn default() -> Self {
        Self {
            buckets: Mutex::new([Bucket::default(); BUCKETS]),
        }
    }
}

/// What happened in the last hour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LastHour {
    pub logins: u64,
    pub failures: u64,
}

impl Stats {
    fn record(&self, now: OffsetDateTime, login: bool) {
        let minute = now.unix_timestamp().div_euclid(60);
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        let slot = &mut buckets[minute.rem_euclid(BUCKETS as i64) as usize];
        if slot.minute != minute {
            *slot = Bucket {
                minute,
                ..Bucket::default()
            };
        }
        if login {
            slot.logins += 1;
        } else {
            slot.failures += 1;
        }
    }

    /// A successful login (a session opened).
    pub fn login(&self, now: OffsetDateTime) {
        self.record(now, true);
    }

    /// A failed credential check: login, Basic or token.
    pub fn failure(&self, now: OffsetDateTime) {
        self.record(now, false);
    }

    pub fn last_hour(&self, now: OffsetDateTime) -> LastHour {
        let minute = now.unix_timestamp().div_euclid(60);
        let buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        let live = buckets
            .iter()
            .filter(|b| minute - b.minute < BUCKETS as i64 && b.minute <= minute);
        let (logins, failures) = live.fold((0, 0), |(l, f), b| (l + b.logins, f + b.failures));
        LastHour { logins, failures }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_age_out_after_an_hour() {
        let stats = Stats::default();
        let t0 = OffsetDateTime::from_unix_timestamp(1_000_000_020).expect("valid");
        stats.login(t0);
        stats.failure(t0);
        stats.failure(t0 + time::Duration::minutes(30));
        assert_eq!(
            stats.last_hour(t0 + time::Duration::minutes(30)),
            LastHour {
                logins: 1,
                failures: 2
            }
        );
        assert_eq!(
            stats.last_hour(t0 + time::Duration::minutes(61)),
            LastHour {
                logins: 0,
                failures: 1
            }
        );
    }
}
