//! The statistics service (SPEC §6): the store's counts, and logins and failed credential
//! checks in the last hour, kept in one-minute buckets.

use super::{AuthError, Context};
use std::sync::Mutex;
use time::OffsetDateTime;

/// What `GET /api/v1/statistics` answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Statistics {
    pub users: u64,
    pub applications: u64,
    pub api_keys: u64,
    pub live_sessions: u64,
    pub last_hour: LastHour,
}

/// Counts what the store holds. The counts may scan (sled's `len` walks a tree; live sessions
/// are decoded one by one); the store runs them off the HTTP workers, so the intranet
/// listener goes on answering introspection and admin calls meanwhile.
pub async fn statistics(ctx: &Context) -> Result<Statistics, AuthError> {
    let (store, now) = (&ctx.store, ctx.now());
    let users = store.count_users().await?;
    let applications = store.count_apps().await?;
    let api_keys = store.count_api_keys().await?;
    let live_sessions = store.count_live_sessions(now).await?;
    Ok(Statistics {
        users,
        applications,
        api_keys,
        live_sessions,
        last_hour: ctx.stats.last_hour(now),
    })
}

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
    use crate::storage::sled::hooks::Point;
    use crate::storage::sled::SledStore;
    use std::sync::Arc;

    #[actix_rt::test]
    async fn the_counts_run_off_the_worker_that_asked_for_them() {
        // actix's test runtime is single-threaded, like one HTTP worker: if the count ran on
        // it, the release below could never be sent and the count would time out.
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Arc::new(SledStore::open(dir.path()).expect("open"));
        let (started, counting) = tokio::sync::oneshot::channel::<()>();
        let (release, released) = std::sync::mpsc::channel::<()>();
        store.engine().set_hook(Point::BeforeCount, move |_| {
            let _ = started.send(());
            released
                .recv_timeout(std::time::Duration::from_secs(20))
                .expect("the worker stayed free to answer while the store counted");
        });
        let ctx = Arc::new(crate::auth::testing::context(store).await);

        let asked = actix_rt::spawn({
            let ctx = ctx.clone();
            async move { statistics(&ctx).await }
        });
        counting.await.expect("the count started");
        release.send(()).expect("release");
        let answer = asked.await.expect("joined").expect("counted");

        assert_eq!(answer.users, 1, "the bootstrap admin");
        assert_eq!(answer.live_sessions, 0);
    }

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
