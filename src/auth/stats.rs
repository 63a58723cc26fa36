//! The statistics service (SPEC §6): the store's counts, and logins and failed credential
//! checks in the last hour, kept in one-minute buckets.

use super::{AuthError, Context};
use crate::storage::Counts;
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
    let last_hour = store
        .counts_since(now - time::Duration::minutes(59))
        .await?;
    Ok(Statistics {
        users,
        applications,
        api_keys,
        live_sessions,
        last_hour: LastHour {
            logins: last_hour.logins,
            failures: last_hour.failures,
        },
    })
}

/// What happened in the last hour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LastHour {
    pub logins: u64,
    pub failures: u64,
}

/// Counts a successful login (a session opened). Bookkeeping: a store that cannot take the
/// count does not fail the login; the failure is logged.
pub async fn login(ctx: &Context, now: OffsetDateTime) {
    count(
        ctx,
        now,
        Counts {
            logins: 1,
            failures: 0,
        },
    )
    .await;
}

/// Counts a failed credential check: login, Basic or token.
pub async fn failure(ctx: &Context, now: OffsetDateTime) {
    count(
        ctx,
        now,
        Counts {
            logins: 0,
            failures: 1,
        },
    )
    .await;
}

async fn count(ctx: &Context, now: OffsetDateTime, counts: Counts) {
    if let Err(e) = ctx.store.add_counts(now, counts).await {
        log::warn!("counting for the statistics failed: {e}");
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

    #[actix_rt::test]
    async fn counts_age_out_after_an_hour() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Arc::new(SledStore::open(dir.path()).expect("open"));
        let ctx = crate::auth::testing::context(store).await;
        let t0 = OffsetDateTime::from_unix_timestamp(1_000_000_020).expect("valid");
        login(&ctx, t0).await;
        failure(&ctx, t0).await;
        failure(&ctx, t0 + time::Duration::minutes(30)).await;
        let last_hour = |at: OffsetDateTime| {
            let store = ctx.store.clone();
            async move { store.counts_since(at - time::Duration::minutes(59)).await }
        };
        assert_eq!(
            last_hour(t0 + time::Duration::minutes(30))
                .await
                .expect("read"),
            Counts {
                logins: 1,
                failures: 2
            }
        );
        assert_eq!(
            last_hour(t0 + time::Duration::minutes(61))
                .await
                .expect("read"),
            Counts {
                logins: 0,
                failures: 1
            }
        );
    }
}
