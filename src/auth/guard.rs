//! Brute-force protection (SPEC §3): failed credential checks counted per userid and per
//! client address over `window_seconds`; past the limit, attempts answer 429 with
//! `Retry-After` until `lockout_seconds` pass — even with the right password.
//!
//! Userids are counted whether or not such a user exists, so a lockout never tells which
//! userids are real. The counts live in the store ([`crate::storage::LockoutStore`]): in
//! memory on one sled node (a restart forgives, as in Keycloak's default brute-force
//! detector), in the database on a cluster, where a lockout through one node holds on all.

use super::{AuthError, Context};
use crate::config::LoginProtectionConfig;
use crate::storage::LockoutRule;
use std::net::IpAddr;
use time::{Duration, OffsetDateTime};

/// How long until an attempt may be made again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Locked {
    pub retry_after_seconds: u64,
}

fn seconds(s: u64) -> Duration {
    Duration::seconds(i64::try_from(s).unwrap_or(i64::MAX / 2))
}

/// The store's key for a userid's count. Userids have no colon-free rule, so the kind comes
/// first and the two kinds never meet.
fn user_key(userid: &str) -> String {
    format!("user:{userid}")
}

fn address_key(address: IpAddr) -> String {
    format!("address:{address}")
}

fn keys(userid: Option<&str>, address: Option<IpAddr>) -> Vec<String> {
    userid
        .map(user_key)
        .into_iter()
        .chain(address.map(address_key))
        .collect()
}

/// Refuses an attempt while its userid or its address is locked out: `Locked` with the
/// seconds to wait, rounded up (a client that waits exactly this long gets in).
pub async fn check(
    ctx: &Context,
    userid: Option<&str>,
    address: Option<IpAddr>,
    now: OffsetDateTime,
) -> Result<(), AuthError> {
    match ctx.store.locked_until(&keys(userid, address), now).await? {
        Some(until) => {
            let left = until - now;
            Err(AuthError::Locked {
                retry_after_seconds: u64::try_from(left.whole_seconds()).unwrap_or(0)
                    + u64::from(left.subsec_nanoseconds() > 0),
            })
        }
        None => Ok(()),
    }
}

/// Counts a failed check against the userid (if one was given) and the address.
pub async fn fail(
    ctx: &Context,
    config: &LoginProtectionConfig,
    userid: Option<&str>,
    address: Option<IpAddr>,
    now: OffsetDateTime,
) -> Result<(), AuthError> {
    let (window, lockout) = (
        seconds(config.window_seconds),
        seconds(config.lockout_seconds),
    );
    if let Some(userid) = userid {
        let rule = LockoutRule {
            limit: config.max_failures,
            window,
            lockout,
        };
        ctx.store
            .record_failure(&user_key(userid), rule, now)
            .await?;
    }
    if let Some(address) = address {
        let rule = LockoutRule {
            limit: config.max_failures_per_address,
            window,
            lockout,
        };
        ctx.store
            .record_failure(&address_key(address), rule, now)
            .await?;
    }
    Ok(())
}

/// A successful check clears the user's count (not the address's: one good account must
/// not launder an address's guessing at others).
pub async fn succeed(ctx: &Context, userid: &str) -> Result<(), AuthError> {
    Ok(ctx.store.clear_failures(&user_key(userid)).await?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::sled::SledStore;
    use std::sync::Arc;

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

    async fn context() -> (tempfile::TempDir, Context) {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Arc::new(SledStore::open(dir.path()).expect("open"));
        let ctx = crate::auth::testing::context(store).await;
        (dir, ctx)
    }

    fn locked(result: Result<(), AuthError>) -> Option<u64> {
        match result {
            Ok(()) => None,
            Err(AuthError::Locked {
                retry_after_seconds,
            }) => Some(retry_after_seconds),
            Err(e) => panic!("{e}"),
        }
    }

    #[actix_rt::test]
    async fn a_userid_locks_after_max_failures_in_the_window_and_unlocks_after_the_lockout() {
        let (_dir, ctx) = context().await;
        for s in 0..2 {
            fail(&ctx, &config(), Some("alice"), None, t(s))
                .await
                .expect("count");
            assert_eq!(locked(check(&ctx, Some("alice"), None, t(s)).await), None);
        }
        fail(&ctx, &config(), Some("alice"), None, t(2))
            .await
            .expect("count");
        assert_eq!(
            locked(check(&ctx, Some("alice"), None, t(2)).await),
            Some(120)
        );
        assert_eq!(
            locked(check(&ctx, Some("bob"), None, t(2)).await),
            None,
            "only alice"
        );
        assert!(locked(check(&ctx, Some("alice"), None, t(121)).await).is_some());
        assert_eq!(locked(check(&ctx, Some("alice"), None, t(122)).await), None);
    }

    #[actix_rt::test]
    async fn failures_outside_the_window_do_not_add_up() {
        let (_dir, ctx) = context().await;
        for s in [0, 30, 61] {
            fail(&ctx, &config(), Some("alice"), None, t(s))
                .await
                .expect("count");
        }
        assert_eq!(locked(check(&ctx, Some("alice"), None, t(61)).await), None);
    }

    #[actix_rt::test]
    async fn an_address_locks_across_userids_and_success_does_not_clear_it() {
        let (_dir, ctx) = context().await;
        let addr: IpAddr = "192.0.2.7".parse().expect("ip");
        for (s, user) in ["a", "b", "c", "d", "e"].iter().enumerate() {
            fail(&ctx, &config(), Some(user), Some(addr), t(s as i64))
                .await
                .expect("count");
            succeed(&ctx, user).await.expect("clear");
        }
        assert!(locked(check(&ctx, Some("zed"), Some(addr), t(5)).await).is_some());
        assert_eq!(locked(check(&ctx, Some("zed"), None, t(5)).await), None);
    }

    #[actix_rt::test]
    async fn success_clears_a_users_count() {
        let (_dir, ctx) = context().await;
        fail(&ctx, &config(), Some("alice"), None, t(0))
            .await
            .expect("count");
        fail(&ctx, &config(), Some("alice"), None, t(1))
            .await
            .expect("count");
        succeed(&ctx, "alice").await.expect("clear");
        fail(&ctx, &config(), Some("alice"), None, t(2))
            .await
            .expect("count");
        assert_eq!(locked(check(&ctx, Some("alice"), None, t(2)).await), None);
    }
}
