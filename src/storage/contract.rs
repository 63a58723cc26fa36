//! The contract every storage backend passes (STYLE habit 5). A backend's test module calls
//! [`run_all`] with a way to open a fresh store and to reopen it after a drop.

use super::{Rotation, Store, StoreError};
use crate::domain::{
    AccessPair, ApiKey, AppId, Application, ClientId, KeyId, Name, OAuthClient, PairId,
    RefreshTokenRecord, Role, Scope, Session, SessionId, StoredSigningKey, User, UserId,
};
use std::sync::Arc;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

pub(crate) fn t0() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_750_000_000).expect("valid timestamp")
}

pub(crate) fn user(id: &str) -> User {
    User {
        userid: UserId::parse(id).expect("valid userid"),
        email: None,
        firstname: Some("First".into()),
        lastname: None,
        roles: vec![Role::parse("Supervisor").expect("valid role")],
        provider: None,
        domain: None,
        disabled: false,
        password_hash: "$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaA".into(),
        created_at: t0(),
        updated_at: t0(),
        // As a create stores it, so that what is read back compares equal.
        version: 1,
    }
}

pub(crate) fn session(userid: &str, now: OffsetDateTime) -> Session {
    Session {
        id: SessionId(Uuid::new_v4()),
        userid: UserId::parse(userid).expect("valid userid"),
        provider: None,
        domain: None,
        created_at: now,
        expires_at: now + Duration::days(30),
        revoked_at: None,
    }
}

pub(crate) fn token(session: &Session, now: OffsetDateTime) -> RefreshTokenRecord {
    RefreshTokenRecord {
        id: Uuid::new_v4(),
        session: session.id,
        userid: session.userid.clone(),
        hash: [7; 32],
        issued_at: now,
        expires_at: now + Duration::days(14),
        spent_at: None,
        spent_ticket: None,
    }
}

/// Runs every contract check. `open` opens the backend over the same data each time it is
/// called; it is called again after the previous handle is dropped, to check persistence.
pub(crate) async fn run_all<S: Store, F: std::future::Future<Output = S>>(open: impl Fn() -> F) {
    let store = Arc::new(open().await);
    users(&*store).await;
    sessions_and_rotation(&*store).await;
    concurrent_rotation_has_one_winner(store.clone()).await;
    revocation_and_meta(&*store).await;
    signing_keys(&*store).await;
    apps_and_keys(&*store).await;
    clients_and_pairs(&*store).await;
    ephemeral_state(&*store).await;
    let kept = user("persisted");
    store.create_user(&kept).await.expect("create");
    drop(store);
    let reopened = open().await;
    assert_eq!(
        reopened.get_user(&kept.userid).await.expect("get"),
        Some(kept)
    );
    reopened.ping().await.expect("ping");
}

async fn users(store: &dyn Store) {
    let alice = user("alice");
    store.create_user(&alice).await.expect("create");
    assert!(matches!(
        store.create_user(&alice).await,
        Err(StoreError::Conflict)
    ));
    assert_eq!(
        store.get_user(&alice.userid).await.expect("get"),
        Some(alice.clone())
    );
    assert_eq!(
        store
            .get_user(&UserId::parse("nobody").expect("valid"))
            .await
            .expect("get"),
        None
    );

    let mut changed = alice.clone();
    changed.disabled = true;
    store.update_user(&changed).await.expect("update");
    let stored = store
        .get_user(&alice.userid)
        .await
        .expect("get")
        .expect("exists");
    assert!(stored.disabled);
    assert_eq!(stored.version, 2, "an update stores the next version");
    // An edit made from a copy read before that update is refused, and changes nothing.
    let mut stale = alice.clone();
    stale.firstname = Some("Stale".into());
    assert!(matches!(
        store.update_user(&stale).await,
        Err(StoreError::Stale)
    ));
    assert_eq!(
        store.get_user(&alice.userid).await.expect("get"),
        Some(stored),
        "a stale update leaves the record as it was"
    );
    // A create stores version 1 whatever the value said.
    let fresh = User {
        version: 0,
        ..user("fresh")
    };
    store.create_user(&fresh).await.expect("create");
    assert_eq!(
        store
            .get_user(&fresh.userid)
            .await
            .expect("get")
            .map(|u| u.version),
        Some(1)
    );
    assert!(store.delete_user(&fresh.userid).await.expect("delete"));
    assert!(matches!(
        store.update_user(&user("ghost")).await,
        Err(StoreError::NotFound)
    ));

    for id in ["bob", "carol", "dave"] {
        store.create_user(&user(id)).await.expect("create");
    }
    let first = store.list_users(None, 2).await.expect("list");
    let names: Vec<_> = first.iter().map(|u| u.userid.as_str()).collect();
    assert_eq!(names, ["alice", "bob"]);
    let next = store
        .list_users(Some(&first[1].userid), 10)
        .await
        .expect("list");
    let names: Vec<_> = next.iter().map(|u| u.userid.as_str()).collect();
    assert_eq!(names, ["carol", "dave"]);
    assert_eq!(store.count_users().await.expect("count"), 4);

    assert!(store
        .delete_user(&UserId::parse("dave").expect("valid"))
        .await
        .expect("delete"));
    assert!(!store
        .delete_user(&UserId::parse("dave").expect("valid"))
        .await
        .expect("delete"));
    assert_eq!(store.count_users().await.expect("count"), 3);
}

async fn sessions_and_rotation(store: &dyn Store) {
    let now = t0();
    let s = session("alice", now);
    let first = token(&s, now);
    store
        .create_session(&s, &first)
        .await
        .expect("create session");
    assert_eq!(store.get_session(s.id).await.expect("get"), Some(s.clone()));
    assert_eq!(
        store.get_refresh_token(first.id).await.expect("get"),
        Some(first.clone())
    );
    // The two first steps of an exchange, as one: the same token, a ticket no older.
    let before = store.rotation_ticket().await.expect("ticket");
    let (ticket, found) = store
        .ticket_and_refresh_token(first.id)
        .await
        .expect("ticket and token");
    assert_eq!(found, Some(first.clone()));
    assert!(ticket >= before, "{ticket} < {before}");
    let (_, missing) = store
        .ticket_and_refresh_token(Uuid::new_v4())
        .await
        .expect("ticket and token");
    assert_eq!(missing, None);

    let second = token(&s, now);
    assert_eq!(
        store
            .rotate_refresh_token(
                first.id,
                &second,
                now,
                store.rotation_ticket().await.expect("ticket")
            )
            .await
            .expect("rotate"),
        Rotation::Rotated(s.clone())
    );
    let spent = store
        .get_refresh_token(first.id)
        .await
        .expect("get")
        .expect("kept");
    assert_eq!(spent.spent_at, Some(now));
    assert!(store
        .get_refresh_token(second.id)
        .await
        .expect("get")
        .is_some());

    // Presenting the spent token again revokes the session, and with it `second`.
    let third = token(&s, now);
    assert_eq!(
        store
            .rotate_refresh_token(
                first.id,
                &third,
                now,
                store.rotation_ticket().await.expect("ticket")
            )
            .await
            .expect("rotate"),
        Rotation::Reused(s.id)
    );
    assert!(store
        .get_refresh_token(third.id)
        .await
        .expect("get")
        .is_none());
    assert!(!store
        .get_session(s.id)
        .await
        .expect("get")
        .expect("kept")
        .is_live(now));
    assert_eq!(
        store
            .rotate_refresh_token(
                second.id,
                &third,
                now,
                store.rotation_ticket().await.expect("ticket")
            )
            .await
            .expect("rotate"),
        Rotation::Inactive
    );
    assert_eq!(
        store
            .rotate_refresh_token(
                Uuid::new_v4(),
                &third,
                now,
                store.rotation_ticket().await.expect("ticket")
            )
            .await
            .expect("rotate"),
        Rotation::NotFound
    );

    // An expired token does not rotate, and does not revoke its session.
    let s2 = session("alice", now);
    let old = token(&s2, now);
    store.create_session(&s2, &old).await.expect("create");
    let later = now + Duration::days(15);
    assert_eq!(
        store
            .rotate_refresh_token(
                old.id,
                &token(&s2, later),
                later,
                store.rotation_ticket().await.expect("ticket")
            )
            .await
            .expect("rotate"),
        Rotation::Inactive
    );
    assert!(store
        .get_session(s2.id)
        .await
        .expect("get")
        .expect("kept")
        .is_live(later));

    // Revoking one user's sessions leaves other users' alone.
    let bob = session("bob", now);
    store
        .create_session(&bob, &token(&bob, now))
        .await
        .expect("create");
    let alice = UserId::parse("alice").expect("valid");
    assert_eq!(
        store
            .revoke_user_sessions(&alice, now)
            .await
            .expect("revoke"),
        1
    );
    assert!(!store
        .get_session(s2.id)
        .await
        .expect("get")
        .expect("kept")
        .is_live(now));
    assert!(store
        .get_session(bob.id)
        .await
        .expect("get")
        .expect("kept")
        .is_live(now));
    let live = store.count_live_sessions(now).await.expect("count");
    assert!(store.revoke_session(bob.id, now).await.expect("revoke"));
    assert_eq!(
        store.count_live_sessions(now).await.expect("count"),
        live - 1
    );
    assert!(!store.revoke_session(bob.id, now).await.expect("revoke"));
}

async fn concurrent_rotation_has_one_winner<S: Store>(store: Arc<S>) {
    let now = t0();
    let s = session("carol", now);
    let first = token(&s, now);
    store.create_session(&s, &first).await.expect("create");
    // Every request took its ticket before any exchange committed: they all raced.
    let ticket = store.rotation_ticket().await.expect("ticket");
    let outcomes = futures_util::future::join_all((0..16).map(|_| {
        let (store, s) = (store.clone(), s.clone());
        async move {
            let next = token(&s, now);
            store
                .rotate_refresh_token(first.id, &next, now, ticket)
                .await
                .expect("rotate")
        }
    }))
    .await;
    let winners = outcomes
        .iter()
        .filter(|o| matches!(o, Rotation::Rotated(_)))
        .count();
    assert_eq!(winners, 1, "{outcomes:?}");
    let losers = outcomes
        .iter()
        .filter(|o| **o == Rotation::LostRace)
        .count();
    assert_eq!(
        losers, 15,
        "the losers raced; none is a replay: {outcomes:?}"
    );
    assert!(store
        .get_session(s.id)
        .await
        .expect("get")
        .expect("kept")
        .is_live(now));

    // A request that begins after the exchange is a replay, and ends the session.
    let replay = store
        .rotate_refresh_token(
            first.id,
            &token(&s, now),
            now,
            store.rotation_ticket().await.expect("ticket"),
        )
        .await
        .expect("rotate");
    assert_eq!(replay, Rotation::Reused(s.id));
}

async fn revocation_and_meta(store: &dyn Store) {
    assert!(!store.is_token_id_revoked("jti-1").await.expect("read"));
    store.revoke_token_id("jti-1", t0()).await.expect("revoke");
    assert!(store.is_token_id_revoked("jti-1").await.expect("read"));

    assert_eq!(store.get_meta("token_uuid").await.expect("get"), None);
    store.put_meta("token_uuid", b"abc").await.expect("put");
    assert_eq!(
        store.get_meta("token_uuid").await.expect("get"),
        Some(b"abc".to_vec())
    );
    // The first value stored wins; later ones read it back.
    assert_eq!(
        store
            .put_meta_if_absent("generated", b"first")
            .await
            .expect("put"),
        b"first".to_vec()
    );
    assert_eq!(
        store
            .put_meta_if_absent("generated", b"second")
            .await
            .expect("put"),
        b"first".to_vec()
    );
    assert_eq!(
        store.get_meta("generated").await.expect("get"),
        Some(b"first".to_vec())
    );
}

async fn signing_keys(store: &dyn Store) {
    let key = |kid: &str, active: bool| StoredSigningKey {
        kid: kid.into(),
        alg: "EdDSA".into(),
        private: vec![1, 2, 3],
        created_at: t0(),
        active,
        retired_at: None,
        sealed: true,
    };
    store
        .save_signing_keys(&[key("k1", true)])
        .await
        .expect("save");
    let mut retired = key("k1", false);
    retired.retired_at = Some(t0());
    store
        .save_signing_keys(&[retired.clone(), key("k2", true)])
        .await
        .expect("rotate");
    let mut keys = store.signing_keys().await.expect("list");
    keys.sort_by(|a, b| a.kid.cmp(&b.kid));
    assert_eq!(keys, vec![retired.clone(), key("k2", true)]);

    // A rotation names the active key it read: a stale one changes nothing.
    let later = t0() + Duration::hours(1);
    assert!(!store
        .rotate_signing_key(Some("k1"), &key("k3", true), later)
        .await
        .expect("rotate"));
    assert!(!store
        .rotate_signing_key(None, &key("k3", true), later)
        .await
        .expect("rotate"));
    assert!(store
        .rotate_signing_key(Some("k2"), &key("k3", true), later)
        .await
        .expect("rotate"));
    let mut keys = store.signing_keys().await.expect("list");
    keys.sort_by(|a, b| a.kid.cmp(&b.kid));
    let mut k2 = key("k2", false);
    k2.retired_at = Some(later);
    assert_eq!(keys, vec![retired, k2, key("k3", true)]);
}

/// Browser sessions, lockouts and counts: short-lived, but shared like everything else.
async fn ephemeral_state(store: &dyn Store) {
    use super::{BrowserSession, Counts, LockoutRule};
    let now = t0();
    let idle = Duration::minutes(30);
    let session = BrowserSession {
        id: [9; 32],
        userid: UserId::parse("alice").expect("valid"),
        csrf: "csrf".into(),
        password_hash: "$argon2id$hash".into(),
        expires_at: now + idle,
    };
    store
        .create_browser_session(&session)
        .await
        .expect("create");
    let later = now + Duration::minutes(10);
    let touched = store
        .touch_browser_session(&session.id, later, idle)
        .await
        .expect("touch")
        .expect("live");
    assert_eq!(touched.expires_at, later + idle, "the idle clock restarted");
    assert_eq!(touched.csrf, "csrf");
    assert_eq!(
        store
            .touch_browser_session(&[8; 32], later, idle)
            .await
            .expect("touch"),
        None
    );
    // Idle past its end: gone, and gone for good.
    assert_eq!(
        store
            .touch_browser_session(&session.id, later + idle, idle)
            .await
            .expect("touch"),
        None
    );
    assert!(!store
        .delete_browser_session(&session.id)
        .await
        .expect("delete"));
    store
        .create_browser_session(&session)
        .await
        .expect("create");
    assert!(store
        .delete_browser_session(&session.id)
        .await
        .expect("delete"));

    let rule = LockoutRule {
        limit: 3,
        window: Duration::seconds(60),
        lockout: Duration::seconds(120),
    };
    let (user, address) = ("user:alice".to_string(), "address:192.0.2.1".to_string());
    let keys = [user.clone(), address.clone()];
    for s in [0, 30] {
        store
            .record_failure(&user, rule, now + Duration::seconds(s))
            .await
            .expect("fail");
    }
    assert_eq!(store.locked_until(&keys, now).await.expect("read"), None);
    // The first failure is out of the window by now: two count, no lockout.
    store
        .record_failure(&user, rule, now + Duration::seconds(61))
        .await
        .expect("fail");
    assert_eq!(
        store
            .locked_until(&keys, now + Duration::seconds(61))
            .await
            .expect("read"),
        None
    );
    let third = now + Duration::seconds(62);
    store
        .record_failure(&user, rule, third)
        .await
        .expect("fail");
    assert_eq!(
        store.locked_until(&keys, third).await.expect("read"),
        Some(third + rule.lockout)
    );
    assert_eq!(
        store
            .locked_until(std::slice::from_ref(&address), third)
            .await
            .expect("read"),
        None,
        "only the key that failed"
    );
    let over = third + rule.lockout;
    assert_eq!(store.locked_until(&keys, over).await.expect("read"), None);
    // A lockout that ended starts a fresh count.
    store.record_failure(&user, rule, over).await.expect("fail");
    assert_eq!(store.locked_until(&keys, over).await.expect("read"), None);
    store.clear_failures(&user).await.expect("clear");
    for s in 0..2 {
        store
            .record_failure(&user, rule, over + Duration::seconds(s))
            .await
            .expect("fail");
    }
    assert_eq!(
        store
            .locked_until(&keys, over + Duration::seconds(2))
            .await
            .expect("read"),
        None,
        "the cleared failure no longer counts"
    );

    let minute = OffsetDateTime::from_unix_timestamp(1_750_000_020).expect("valid");
    store
        .add_counts(
            minute,
            Counts {
                logins: 2,
                failures: 1,
            },
        )
        .await
        .expect("add");
    store
        .add_counts(
            minute + Duration::seconds(5),
            Counts {
                logins: 1,
                failures: 0,
            },
        )
        .await
        .expect("add");
    store
        .add_counts(
            minute + Duration::minutes(30),
            Counts {
                logins: 0,
                failures: 4,
            },
        )
        .await
        .expect("add");
    assert_eq!(
        store.counts_since(minute).await.expect("read"),
        Counts {
            logins: 3,
            failures: 5
        }
    );
    assert_eq!(
        store
            .counts_since(minute + Duration::minutes(1))
            .await
            .expect("read"),
        Counts {
            logins: 0,
            failures: 4
        }
    );
}

pub(crate) fn app(name: &str) -> Application {
    Application {
        id: AppId(Uuid::new_v4()),
        name: Name::parse(name).expect("valid name"),
        created_at: t0(),
        device_token: None,
        version: 1,
    }
}

pub(crate) fn api_key(app: &Application) -> ApiKey {
    ApiKey {
        id: KeyId(Uuid::new_v4()),
        app_id: app.id,
        name: Name::parse("key").expect("valid name"),
        hash: [3; 32],
        previous: None,
        created_at: t0(),
        expires_at: None,
        enabled: true,
        last_used_at: None,
        version: 1,
    }
}

async fn apps_and_keys(store: &dyn Store) {
    let web = app("web");
    let mobile = app("mobile");
    store.create_app(&web).await.expect("create");
    store.create_app(&mobile).await.expect("create");
    assert!(matches!(
        store.create_app(&web).await,
        Err(StoreError::Conflict)
    ));
    assert_eq!(store.get_app(web.id).await.expect("get"), Some(web.clone()));
    assert_eq!(store.count_apps().await.expect("count"), 2);

    let mut with_device = web.clone();
    with_device.device_token = Some(crate::domain::DeviceToken {
        hash: [9; 32],
        created_at: t0(),
    });
    store.update_app(&with_device).await.expect("update");
    with_device.version = 2;
    assert_eq!(store.get_app(web.id).await.expect("get"), Some(with_device));
    assert!(matches!(
        store.update_app(&web).await,
        Err(StoreError::Stale)
    ));

    let k1 = api_key(&web);
    let k2 = api_key(&web);
    let k3 = api_key(&mobile);
    for key in [&k1, &k2, &k3] {
        store.create_api_key(key).await.expect("create key");
    }
    assert!(matches!(
        store.create_api_key(&api_key(&app("ghost"))).await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(store.list_api_keys(web.id).await.expect("list").len(), 2);
    assert_eq!(store.count_api_keys().await.expect("count"), 3);
    let mut listed: Vec<AppId> = store
        .list_apps()
        .await
        .expect("list")
        .iter()
        .map(|a| a.id)
        .collect();
    listed.sort();
    let mut created = vec![web.id, mobile.id];
    created.sort();
    assert_eq!(listed, created);

    store
        .record_api_key_use(k1.id, t0() + Duration::seconds(5))
        .await
        .expect("touch");
    let used = store
        .get_api_key(k1.id)
        .await
        .expect("get")
        .expect("exists");
    assert_eq!(used.last_used_at, Some(t0() + Duration::seconds(5)));
    assert_eq!(used.version, 1, "noting a use is not an edit");
    store
        .record_api_key_use(KeyId(Uuid::new_v4()), t0())
        .await
        .expect("an unknown key is no error");

    let mut disabled = k2.clone();
    disabled.enabled = false;
    store.update_api_key(&disabled).await.expect("update");
    assert!(
        !store
            .get_api_key(k2.id)
            .await
            .expect("get")
            .expect("exists")
            .enabled
    );
    // Re-enabling from the copy read before the disable is refused: no lost update.
    assert!(matches!(
        store.update_api_key(&k2).await,
        Err(StoreError::Stale)
    ));
    assert!(matches!(
        store.update_api_key(&api_key(&mobile)).await,
        Err(StoreError::NotFound)
    ));

    assert!(store.delete_api_key(k2.id).await.expect("delete"));
    assert!(!store.delete_api_key(k2.id).await.expect("delete"));
    assert_eq!(store.list_api_keys(web.id).await.expect("list").len(), 1);

    // Deleting an application takes its keys with it, and nobody else's.
    assert!(store.delete_app(web.id).await.expect("delete"));
    assert_eq!(store.get_app(web.id).await.expect("get"), None);
    assert_eq!(store.get_api_key(k1.id).await.expect("get"), None);
    assert!(store.get_api_key(k3.id).await.expect("get").is_some());
    assert!(!store.delete_app(web.id).await.expect("delete"));
}

async fn clients_and_pairs(store: &dyn Store) {
    let client = OAuthClient {
        id: ClientId(Uuid::new_v4()),
        name: Name::parse("backend").expect("valid"),
        scopes: vec![Scope::parse("read").expect("valid")],
        secret_hash: [5; 32],
        created_at: t0(),
        version: 1,
    };
    store.create_client(&client).await.expect("create");
    assert_eq!(
        store.get_client(client.id).await.expect("get"),
        Some(client.clone())
    );
    let mut rotated = client.clone();
    rotated.secret_hash = [6; 32];
    store.update_client(&rotated).await.expect("update");
    rotated.version = 2;
    assert_eq!(store.list_clients().await.expect("list"), vec![rotated]);
    assert!(matches!(
        store.update_client(&client).await,
        Err(StoreError::Stale)
    ));

    let pair = AccessPair {
        id: PairId(Uuid::new_v4()),
        client_id: client.id,
        secret_hash: [8; 32],
        scopes: client.scopes.clone(),
        issued_at: t0(),
        expires_at: t0() + Duration::hours(1),
    };
    store.create_pair(&pair).await.expect("create pair");
    assert_eq!(
        store.get_pair(pair.id).await.expect("get"),
        Some(pair.clone())
    );
    let second = AccessPair {
        id: PairId(Uuid::new_v4()),
        ..pair.clone()
    };
    store.create_pair(&second).await.expect("create pair");
    assert!(store.delete_pair(second.id).await.expect("delete"));
    assert_eq!(store.get_pair(second.id).await.expect("get"), None);

    assert!(store.delete_client(client.id).await.expect("delete"));
    assert_eq!(
        store.get_pair(pair.id).await.expect("get"),
        None,
        "pairs go with their client"
    );
    assert!(matches!(
        store.create_pair(&pair).await,
        Err(StoreError::NotFound)
    ));
}

/// Sweeps, checks and counts, on a fresh store: what has ended goes, what lives stays, and
/// the counts follow.
pub(crate) async fn maintenance(store: &dyn Store) {
    store.create_user(&user("alice")).await.expect("user");
    let t0 = OffsetDateTime::from_unix_timestamp(1_800_000_000).expect("valid");
    let lasting = |ttl: Duration| Session {
        expires_at: t0 + ttl,
        ..session("alice", t0)
    };
    let short = lasting(Duration::hours(1));
    let long = lasting(Duration::days(30));
    let revoked = lasting(Duration::days(30));
    let (short_token, long_token, revoked_token) =
        (token(&short, t0), token(&long, t0), token(&revoked, t0));
    store
        .create_session(&short, &short_token)
        .await
        .expect("create");
    store
        .create_session(&long, &long_token)
        .await
        .expect("create");
    store
        .create_session(&revoked, &revoked_token)
        .await
        .expect("create");
    store.revoke_session(revoked.id, t0).await.expect("revoke");
    store
        .revoke_token_id("old-jti", t0 + Duration::minutes(15))
        .await
        .expect("revoke");
    store
        .revoke_token_id("live-jti", t0 + Duration::days(1))
        .await
        .expect("revoke");
    let client = OAuthClient {
        id: ClientId(Uuid::new_v4()),
        name: Name::parse("backend").expect("valid"),
        scopes: vec![],
        secret_hash: [5; 32],
        created_at: t0,
        version: 1,
    };
    store.create_client(&client).await.expect("client");
    let pair = |ttl: Duration| AccessPair {
        id: PairId(Uuid::new_v4()),
        client_id: client.id,
        secret_hash: [8; 32],
        scopes: vec![],
        issued_at: t0,
        expires_at: t0 + ttl,
    };
    let (spent_pair, live_pair) = (pair(Duration::minutes(30)), pair(Duration::days(1)));
    store.create_pair(&spent_pair).await.expect("pair");
    store.create_pair(&live_pair).await.expect("pair");
    assert_eq!(store.count_live_sessions(t0).await.expect("count"), 2);
    assert_eq!(store.check().await.expect("check"), Vec::<String>::new());

    let later = t0 + Duration::hours(2);
    assert_eq!(
        store.count_live_sessions(later).await.expect("count"),
        1,
        "an expired session is not live, swept or not"
    );
    let swept = store.sweep(later, Duration::hours(1)).await.expect("sweep");

    assert_eq!(
        swept.sessions, 2,
        "the expired one and the one revoked over an hour ago"
    );
    assert_eq!(swept.refresh_tokens, 2);
    assert_eq!(swept.revocations, 1);
    assert_eq!(swept.pairs, 1);
    assert!(store.get_session(long.id).await.expect("get").is_some());
    assert!(store
        .get_refresh_token(long_token.id)
        .await
        .expect("get")
        .is_some());
    assert!(store.get_session(short.id).await.expect("get").is_none());
    assert!(store
        .get_refresh_token(short_token.id)
        .await
        .expect("get")
        .is_none());
    assert!(store.is_token_id_revoked("live-jti").await.expect("read"));
    assert!(!store.is_token_id_revoked("old-jti").await.expect("read"));
    assert!(store.get_pair(live_pair.id).await.expect("get").is_some());
    assert!(store.get_pair(spent_pair.id).await.expect("get").is_none());
    assert_eq!(store.count_live_sessions(later).await.expect("count"), 1);
    assert_eq!(store.check().await.expect("check"), Vec::<String>::new());
    assert_eq!(
        store.sweep(later, Duration::hours(1)).await.expect("sweep"),
        Default::default(),
        "a second sweep finds nothing"
    );
}

/// A snapshot of `source` loads into `empty` record for record, every kind of record and its
/// indexes included; a non-empty store refuses it, and so does a cut-off snapshot.
pub(crate) async fn backup_round_trip(source: &dyn Store, empty: &dyn Store) {
    let now = t0();
    let alice = user("backed-up");
    source.create_user(&alice).await.expect("create");
    let live = session("backed-up", now);
    let first = token(&live, now);
    source.create_session(&live, &first).await.expect("session");
    let web = app("web");
    source.create_app(&web).await.expect("app");
    let key = api_key(&web);
    source.create_api_key(&key).await.expect("key");
    let client = OAuthClient {
        id: ClientId(Uuid::new_v4()),
        name: Name::parse("backend").expect("valid"),
        scopes: vec![Scope::parse("read").expect("valid")],
        secret_hash: [5; 32],
        created_at: now,
        version: 1,
    };
    source.create_client(&client).await.expect("client");
    let pair = AccessPair {
        id: PairId(Uuid::new_v4()),
        client_id: client.id,
        secret_hash: [8; 32],
        scopes: client.scopes.clone(),
        issued_at: now,
        expires_at: now + Duration::hours(1),
    };
    source.create_pair(&pair).await.expect("pair");
    source
        .revoke_token_id("jti-1", now + Duration::hours(1))
        .await
        .expect("revoke");
    source
        .put_meta("token_uuid", &[1, 2, 3])
        .await
        .expect("meta");
    source
        .save_signing_keys(&[StoredSigningKey {
            kid: "k1".into(),
            alg: "EdDSA".into(),
            private: vec![1, 2, 3],
            created_at: now,
            active: true,
            retired_at: None,
            sealed: true,
        }])
        .await
        .expect("key");

    let (written, snapshot) = export(source).await;
    assert_eq!(written, 10, "one line per record, no index entries");
    assert!(!source.is_empty().await.expect("state"));
    assert!(matches!(
        source.import(reader(&snapshot)).await,
        Err(StoreError::Backup(_))
    ));
    assert_eq!(
        empty.import(reader(&snapshot)).await.expect("import"),
        written
    );

    assert_eq!(
        empty.get_user(&alice.userid).await.expect("get"),
        Some(alice)
    );
    assert_eq!(empty.get_session(live.id).await.expect("get"), Some(live));
    assert_eq!(
        empty.get_refresh_token(first.id).await.expect("get"),
        Some(first)
    );
    assert_eq!(
        empty.list_api_keys(web.id).await.expect("keys"),
        vec![key],
        "index rebuilt"
    );
    assert_eq!(
        empty.get_pair(pair.id).await.expect("get"),
        Some(pair.clone())
    );
    assert!(empty.is_token_id_revoked("jti-1").await.expect("read"));
    assert_eq!(
        empty.get_meta("token_uuid").await.expect("meta"),
        Some(vec![1, 2, 3])
    );
    assert_eq!(
        empty.signing_keys().await.expect("keys"),
        source.signing_keys().await.expect("keys")
    );
    let (_, again) = export(empty).await;
    assert_eq!(
        again, snapshot,
        "a restored store exports the same snapshot"
    );
    // The user's sessions index was rebuilt: revoking them finds the session.
    assert_eq!(
        empty
            .revoke_user_sessions(&UserId::parse("backed-up").expect("valid"), now)
            .await
            .expect("revoke"),
        1
    );
    // And the client's pairs index: deleting the client takes its pair.
    assert!(empty.delete_client(client.id).await.expect("delete"));
    assert_eq!(empty.get_pair(pair.id).await.expect("get"), None);
    assert_eq!(empty.check().await.expect("check"), Vec::<String>::new());
}

/// A writer into memory that the test keeps a handle on after the store took the writer.
#[derive(Clone, Default)]
struct Shared(Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Shared {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("lock").extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A snapshot of `store` in memory, and how many records it holds.
pub(crate) async fn export(store: &dyn Store) -> (u64, Vec<u8>) {
    let out = Shared::default();
    let written = store.export(Box::new(out.clone())).await.expect("export");
    let bytes = out.0.lock().expect("lock").clone();
    (written, bytes)
}

/// A snapshot in memory, to import.
pub(crate) fn reader(snapshot: &[u8]) -> Box<dyn std::io::BufRead + Send> {
    Box::new(std::io::Cursor::new(snapshot.to_vec()))
}
