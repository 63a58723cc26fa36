//! The PostgreSQL store against throwaway servers (testkit/postgres.rs): the contract every
//! backend passes, snapshots across backends, migrations, and what an operator sees when the
//! database is wrong, absent or gone. Without PostgreSQL installed these tests say SKIPPED
//! and pass; under TESSERA_REQUIRE_POSTGRES=1 they fail instead.

#[path = "../../../testkit/postgres.rs"]
mod throwaway;

use super::{exec, PgStore, SWEEP_LOCK};
use crate::config::{DatabaseTls, StoreBackend, StoreConfig};
use crate::storage::sled::SledStore;
use crate::storage::{
    contract, BackupStore, KeyStore, Maintenance, MetaStore, RevocationStore, Rotation,
    SessionStore, Store, StoreError, Topic, UserStore,
};
use std::sync::Arc;
use std::time::{Duration, Instant};
use throwaway::PgDatabase;

fn config(url: &str) -> StoreConfig {
    StoreConfig {
        backend: StoreBackend::Postgres,
        url: Some(url.into()),
        password: None,
        max_connections: 20,
        connect_timeout_seconds: 2,
        tls: DatabaseTls::Prefer,
        ca_cert: None,
    }
}

fn db_config(db: &PgDatabase) -> StoreConfig {
    config(&db.url())
}

async fn open(db: &PgDatabase) -> PgStore {
    PgStore::open(&db_config(db)).await.expect("open")
}

/// The error as an operator reads it, and as a log's `{:?}` would show it.
fn shown(e: &StoreError) -> String {
    format!("{} | {e:?}", crate::errors::chain(e))
}

#[actix_rt::test]
async fn postgres_passes_the_store_contract() {
    let Some(pg) = throwaway::server_or_skip("postgres_passes_the_store_contract") else {
        return;
    };
    let db = pg.fresh_database();
    let config = db_config(&db);
    contract::run_all(|| {
        let config = config.clone();
        async move { PgStore::open(&config).await.expect("open") }
    })
    .await;
    let store = open(&db).await;
    assert_eq!(store.check().await.expect("check"), Vec::<String>::new());
}

#[actix_rt::test]
async fn postgres_sweeps_and_counts_as_the_contract_says() {
    let Some(pg) = throwaway::server_or_skip("postgres_sweeps_and_counts") else {
        return;
    };
    contract::maintenance(&open(&pg.fresh_database()).await).await;
}

#[actix_rt::test]
async fn postgres_backups_round_trip() {
    let Some(pg) = throwaway::server_or_skip("postgres_backups_round_trip") else {
        return;
    };
    let (source, empty) = (pg.fresh_database(), pg.fresh_database());
    contract::backup_round_trip(&open(&source).await, &open(&empty).await).await;
}

#[actix_rt::test]
async fn a_sled_backup_restores_into_postgres_and_exports_the_same() {
    let Some(pg) = throwaway::server_or_skip("a_sled_backup_restores_into_postgres") else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let sled = SledStore::open(dir.path()).expect("open");
    contract::backup_round_trip(&sled, &open(&pg.fresh_database()).await).await;
}

#[actix_rt::test]
async fn a_postgres_backup_restores_into_sled_and_exports_the_same() {
    let Some(pg) = throwaway::server_or_skip("a_postgres_backup_restores_into_sled") else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let sled = SledStore::open(dir.path()).expect("open");
    contract::backup_round_trip(&open(&pg.fresh_database()).await, &sled).await;
}

#[actix_rt::test]
async fn tickets_restored_from_sled_still_tell_a_replay_from_a_race() {
    let Some(pg) = throwaway::server_or_skip("tickets_restored_from_sled") else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let sled = SledStore::open(dir.path()).expect("open");
    let now = time::OffsetDateTime::from_unix_timestamp(1_750_000_000).expect("valid");
    let session = crate::domain::Session {
        id: crate::domain::SessionId(uuid::Uuid::new_v4()),
        userid: crate::domain::UserId::parse("alice").expect("valid"),
        provider: None,
        domain: None,
        created_at: now,
        expires_at: now + time::Duration::days(1),
        revoked_at: None,
    };
    let first = contract::token(&session, now);
    sled.create_session(&session, &first).await.expect("create");
    let ticket = sled.rotation_ticket().await.expect("ticket");
    let second = contract::token(&session, now);
    let rotated = sled.rotate_refresh_token(first.id, &second, now, ticket);
    assert!(matches!(
        rotated.await.expect("rotate"),
        Rotation::Rotated(_)
    ));
    let (_, snapshot) = contract::export(&sled).await;

    let store = open(&pg.fresh_database()).await;
    store
        .import(contract::reader(&snapshot))
        .await
        .expect("import");

    // sled's tickets are nanoseconds: the spent token's is far above a fresh sequence.
    let ticket = store.rotation_ticket().await.expect("ticket");
    let third = contract::token(&session, now);
    let replay = store.rotate_refresh_token(first.id, &third, now, ticket);
    assert_eq!(replay.await.expect("rotate"), Rotation::Reused(session.id));
}

#[actix_rt::test]
async fn four_nodes_starting_together_apply_each_migration_once() {
    let Some(pg) = throwaway::server_or_skip("four_nodes_starting_together") else {
        return;
    };
    let db = pg.fresh_database();
    let config = db_config(&db);
    let opens = (0..4).map(|_| PgStore::open(&config));
    let stores = futures_util::future::join_all(opens).await;
    for store in &stores {
        assert!(store.is_ok(), "{:?}", store.as_ref().err());
    }
    assert_eq!(
        pg.psql(
            db.name(),
            "SELECT count(*), max(version) FROM tessera_schema"
        )
        .trim(),
        format!("{0}|{0}", super::migrate::KNOWN),
        "every migration applied once"
    );
}

#[actix_rt::test]
async fn a_schema_newer_than_this_build_is_refused() {
    let Some(pg) = throwaway::server_or_skip("a_schema_newer_than_this_build") else {
        return;
    };
    let db = pg.fresh_database();
    drop(open(&db).await);
    pg.psql(
        db.name(),
        "INSERT INTO tessera_schema (version) VALUES (99)",
    );

    let err = PgStore::open(&db_config(&db)).await.err().expect("refused");

    let text = shown(&err);
    assert!(
        text.contains(&format!(
            "the database schema is version 99; this tessera knows up to {}: upgrade tessera",
            super::migrate::KNOWN
        )),
        "{text}"
    );
    assert!(text.contains(db.name()), "{text}");
}

#[actix_rt::test]
async fn a_refused_login_names_the_database_and_never_the_password() {
    let Some(pg) = throwaway::server_or_skip("a_refused_login_names_the_database") else {
        return;
    };
    let db = pg.fresh_database();
    let password = "Zq9-not-the-password-7Kx";
    let url = format!(
        "postgres://{}:{password}@{}:{}/{}",
        db.user(),
        db.host(),
        db.port(),
        db.name()
    );
    let in_url = PgStore::open(&config(&url)).await.err().expect("refused");
    let overridden = PgStore::open(&StoreConfig {
        password: Some(password.into()),
        ..db_config(&db)
    })
    .await
    .err()
    .expect("refused");

    for err in [in_url, overridden] {
        let text = shown(&err);
        assert!(!text.contains(password), "{text}");
        assert!(!text.contains(db.password()), "{text}");
        assert!(
            text.contains(&format!("{}:{}", db.host(), db.port())),
            "{text}"
        );
        assert!(text.contains(db.name()), "{text}");
        assert!(text.contains("password authentication failed"), "{text}");
    }
}

#[actix_rt::test]
async fn a_missing_database_is_named() {
    let Some(pg) = throwaway::server_or_skip("a_missing_database_is_named") else {
        return;
    };
    let db = pg.fresh_database();
    let url = db.url().replace(db.name(), "no_such_database");
    let err = PgStore::open(&config(&url)).await.err().expect("refused");
    let text = shown(&err);
    assert!(text.contains("no_such_database"), "{text}");
    assert!(!text.contains(db.password()), "{text}");
}

#[actix_rt::test]
async fn an_unreachable_server_is_named_within_the_connect_timeout() {
    // Nothing listens on a port that was just free: refused at once.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let refused_port = closed.local_addr().expect("addr").port();
    drop(closed);
    // One that accepts and never answers: only the timeout ends the wait.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let silent_port = silent.local_addr().expect("addr").port();

    for port in [refused_port, silent_port] {
        let url = format!("postgres://tessera:Secret-Pw-123@127.0.0.1:{port}/tessera");
        let started = Instant::now();
        let err = PgStore::open(&StoreConfig {
            connect_timeout_seconds: 1,
            ..config(&url)
        })
        .await
        .err()
        .expect("refused");
        let took = started.elapsed();
        let text = shown(&err);
        assert!(took < Duration::from_secs(5), "{took:?}: {text}");
        assert!(text.contains(&format!("127.0.0.1:{port}")), "{text}");
        assert!(text.contains("database tessera"), "{text}");
        assert!(!text.contains("Secret-Pw-123"), "{text}");
    }
    drop(silent);
}

#[actix_rt::test]
async fn a_killed_server_is_unavailable_and_the_store_recovers_when_it_returns() {
    let Some(pg) = throwaway::dedicated_or_skip("a_killed_server_is_unavailable") else {
        return;
    };
    let db = pg.fresh_database();
    let store = open(&db).await;
    let alice = contract::user("alice");
    store.create_user(&alice).await.expect("create");

    pg.kill();
    let started = Instant::now();
    let answer = store.get_user(&alice.userid).await;
    assert!(matches!(answer, Err(StoreError::Unavailable)), "{answer:?}");
    assert!(matches!(store.ping().await, Err(StoreError::Unavailable)));
    // Nothing can announce a change now: waiters are woken anyway, to read again.
    let woken = tokio::time::timeout(Duration::from_secs(3), store.changed(Topic::SigningKeys));
    assert!(woken.await.is_ok(), "a waiter slept through the outage");
    // Within the connect timeout (2 s here) and a margin, not a statement's 15 s.
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );

    pg.start();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match store.get_user(&alice.userid).await {
            Ok(found) => {
                assert_eq!(found, Some(alice));
                break;
            }
            Err(StoreError::Unavailable) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => panic!("the store did not recover: {e:?}"),
        }
    }
    store.ping().await.expect("ping");
}

#[actix_rt::test]
async fn one_node_sweeps_at_a_time() {
    let Some(pg) = throwaway::server_or_skip("one_node_sweeps_at_a_time") else {
        return;
    };
    let db = pg.fresh_database();
    let (a, b) = (open(&db).await, open(&db).await);
    a.revoke_token_id("old", time::OffsetDateTime::UNIX_EPOCH)
        .await
        .expect("revoke");
    let now = time::OffsetDateTime::from_unix_timestamp(1_750_000_000).expect("valid");

    // Node B is sweeping: it holds the lock (here, for as long as the test likes).
    let held = b
        .with_client(|c| async move {
            exec(&c, "SELECT pg_advisory_lock($1)", &[&SWEEP_LOCK]).await?;
            Ok(c)
        })
        .await
        .expect("lock");
    let swept = a.sweep(now, time::Duration::hours(1)).await.expect("sweep");
    assert_eq!(
        swept,
        Default::default(),
        "A does not wait, and sweeps nothing"
    );

    b.run(move |_| async move {
        exec(&held, "SELECT pg_advisory_unlock($1)", &[&SWEEP_LOCK]).await?;
        Ok(())
    })
    .await
    .expect("unlock");
    let swept = a.sweep(now, time::Duration::hours(1)).await.expect("sweep");
    assert_eq!(swept.revocations, 1);
}

#[actix_rt::test]
async fn refreshes_of_one_token_on_two_nodes_have_one_winner() {
    let Some(pg) = throwaway::server_or_skip("refreshes_on_two_nodes") else {
        return;
    };
    let db = pg.fresh_database();
    let (a, b) = (Arc::new(open(&db).await), Arc::new(open(&db).await));
    let now = time::OffsetDateTime::from_unix_timestamp(1_750_000_000).expect("valid");
    let session = crate::domain::Session {
        id: crate::domain::SessionId(uuid::Uuid::new_v4()),
        userid: crate::domain::UserId::parse("carol").expect("valid"),
        provider: None,
        domain: None,
        created_at: now,
        expires_at: now + time::Duration::days(1),
        revoked_at: None,
    };
    let first = contract::token(&session, now);
    a.create_session(&session, &first).await.expect("create");
    let ticket = b.rotation_ticket().await.expect("ticket");
    let tries = (0..16).map(|i| {
        let node = if i % 2 == 0 { a.clone() } else { b.clone() };
        let next = contract::token(&session, now);
        async move {
            node.rotate_refresh_token(first.id, &next, now, ticket)
                .await
                .expect("rotate")
        }
    });
    let outcomes = futures_util::future::join_all(tries).await;
    let won = outcomes
        .iter()
        .filter(|o| matches!(o, Rotation::Rotated(_)))
        .count();
    let lost = outcomes
        .iter()
        .filter(|o| **o == Rotation::LostRace)
        .count();
    assert_eq!((won, lost), (1, 15), "{outcomes:?}");
    assert!(a.rotation_ticket().await.expect("ticket") > ticket);
}

#[actix_rt::test]
async fn a_signing_key_rotation_on_one_node_wakes_the_others() {
    let Some(pg) = throwaway::server_or_skip("a_signing_key_rotation_wakes") else {
        return;
    };
    let db = pg.fresh_database();
    let (a, b) = (open(&db).await, Arc::new(open(&db).await));
    // The first wake-up (B's listener connecting) may come or may have come.
    let _ = tokio::time::timeout(Duration::from_secs(3), b.changed(Topic::SigningKeys)).await;

    let waiting = {
        let b = b.clone();
        actix_rt::spawn(async move {
            tokio::time::timeout(Duration::from_secs(5), b.changed(Topic::SigningKeys))
                .await
                .is_ok()
        })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    let key = crate::domain::StoredSigningKey {
        kid: "k1".into(),
        alg: "EdDSA".into(),
        private: vec![1, 2, 3],
        created_at: time::OffsetDateTime::UNIX_EPOCH,
        active: true,
        retired_at: None,
        sealed: true,
    };
    let now = time::OffsetDateTime::UNIX_EPOCH;
    assert!(a.rotate_signing_key(None, &key, now).await.expect("rotate"));
    assert!(waiting.await.expect("joined"), "B was not told within 5 s");
    assert_eq!(b.signing_keys().await.expect("keys"), vec![key]);
}

#[actix_rt::test]
async fn nodes_starting_together_store_one_generated_value_and_one_first_key() {
    let Some(pg) = throwaway::server_or_skip("nodes_starting_together_store_one") else {
        return;
    };
    let db = pg.fresh_database();
    let mut nodes = Vec::new();
    for _ in 0..4 {
        nodes.push(open(&db).await);
    }
    let values = futures_util::future::join_all(nodes.iter().enumerate().map(|(i, n)| {
        let mine = format!("value-{i}").into_bytes();
        async move {
            n.put_meta_if_absent("token_uuid", &mine)
                .await
                .expect("put")
        }
    }))
    .await;
    assert!(values.iter().all(|v| *v == values[0]), "{values:?}");

    let firsts =
        futures_util::future::join_all(nodes.iter().enumerate().map(|(i, n)| async move {
            let key = crate::domain::StoredSigningKey {
                kid: format!("k{i}"),
                alg: "EdDSA".into(),
                private: vec![1],
                created_at: time::OffsetDateTime::UNIX_EPOCH,
                active: true,
                retired_at: None,
                sealed: true,
            };
            n.rotate_signing_key(None, &key, time::OffsetDateTime::UNIX_EPOCH)
                .await
                .expect("rotate")
        }))
        .await;
    assert_eq!(firsts.iter().filter(|won| **won).count(), 1, "{firsts:?}");
    assert_eq!(nodes[0].signing_keys().await.expect("keys").len(), 1);
}

#[actix_rt::test]
async fn check_finds_what_the_schema_cannot_prevent() {
    let Some(pg) = throwaway::server_or_skip("check_finds_what_the_schema") else {
        return;
    };
    let db = pg.fresh_database();
    let store = open(&db).await;
    for id in ["mallory", "trent"] {
        store
            .create_user(&contract::user(id))
            .await
            .expect("create");
    }
    assert_eq!(store.check().await.expect("check"), Vec::<String>::new());

    pg.psql(
        db.name(),
        "UPDATE users SET body = '{\"v\":\"9\"}' WHERE userid = 'mallory'; \
         UPDATE users SET version = 7 WHERE userid = 'trent'",
    );

    let problems = store.check().await.expect("check");
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert!(
        problems[0].starts_with("users mallory: cannot be decoded"),
        "{problems:?}"
    );
    assert!(
        problems[1].starts_with("users trent: a column disagrees"),
        "{problems:?}"
    );
    let err = store
        .export(Box::new(std::io::sink()))
        .await
        .expect_err("refused");
    assert!(
        matches!(&err, StoreError::Backup(why) if why.contains("mallory") && why.contains("tessera check")),
        "{err:?}"
    );
}

#[actix_rt::test]
async fn the_store_can_be_dropped_on_an_async_worker() {
    let Some(pg) = throwaway::server_or_skip("the_store_can_be_dropped") else {
        return;
    };
    let store = open(&pg.fresh_database()).await;
    store.ping().await.expect("ping");
    // Its runtime shuts down in the background instead of panicking here.
    drop(store);
}

/// Turns TLS on in a dedicated server, with a self-signed certificate for 127.0.0.1; returns
/// the certificate's PEM.
fn serve_tls(pg: &throwaway::PgServer) -> String {
    use std::os::unix::fs::{chown, PermissionsExt};
    let cert = rcgen::generate_simple_self_signed(vec!["127.0.0.1".into(), "localhost".into()])
        .expect("certificate");
    let data = pg.data_dir();
    let owner = std::fs::metadata(data).expect("stat");
    let owner = std::os::unix::fs::MetadataExt::uid(&owner);
    for (name, pem) in [
        ("tls.crt", cert.cert.pem()),
        ("tls.key", cert.signing_key.serialize_pem()),
    ] {
        let path = data.join(name);
        std::fs::write(&path, pem).expect("write");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        chown(&path, Some(owner), None).expect("chown");
    }
    // One statement per call: psql runs a multi-statement string as one transaction.
    for sql in [
        "ALTER SYSTEM SET ssl_cert_file = 'tls.crt'",
        "ALTER SYSTEM SET ssl_key_file = 'tls.key'",
        "ALTER SYSTEM SET ssl = on",
        "SELECT pg_reload_conf()",
    ] {
        pg.psql("postgres", sql);
    }
    cert.cert.pem()
}

#[actix_rt::test]
async fn tls_is_used_as_configured_and_verify_full_checks_the_server() {
    let Some(pg) = throwaway::dedicated_or_skip("tls_is_used_as_configured") else {
        return;
    };
    let pem = serve_tls(&pg);
    let db = pg.fresh_database();
    let dir = tempfile::tempdir().expect("tempdir");
    let (ca, other) = (dir.path().join("ca.pem"), dir.path().join("other.pem"));
    std::fs::write(&ca, pem).expect("write");
    let stranger = rcgen::generate_simple_self_signed(vec!["127.0.0.1".into()]).expect("cert");
    std::fs::write(&other, stranger.cert.pem()).expect("write");

    let encrypted = |store: PgStore| async move {
        store
            .with_client(|c| async move {
                super::one(
                    &c,
                    "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
                    &[],
                )
                .await?
                .try_get::<_, bool>(0)
                .map_err(super::db_error)
            })
            .await
            .expect("ask")
    };
    for (tls, ca_cert, expect_tls) in [
        (DatabaseTls::Disable, None, false),
        (DatabaseTls::Prefer, None, true),
        (DatabaseTls::Require, None, true),
        (DatabaseTls::VerifyFull, Some(ca.clone()), true),
    ] {
        let store = PgStore::open(&StoreConfig {
            tls,
            ca_cert,
            ..db_config(&db)
        })
        .await
        .unwrap_or_else(|e| panic!("{tls:?}: {}", shown(&e)));
        assert_eq!(encrypted(store).await, expect_tls, "{tls:?}");
    }

    // A server whose certificate the CA did not sign is refused, and named.
    let err = PgStore::open(&StoreConfig {
        tls: DatabaseTls::VerifyFull,
        ca_cert: Some(other),
        ..db_config(&db)
    })
    .await
    .err()
    .expect("refused");
    let text = shown(&err);
    assert!(text.contains(&format!("127.0.0.1:{}", db.port())), "{text}");
    assert!(!text.contains(db.password()), "{text}");
}

/// Opens a store and waits until its caches answer (its listening connection confirmed).
async fn open_listening(db: &PgDatabase) -> PgStore {
    let store = open(db).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while !store.caches().trusted() {
        assert!(Instant::now() < deadline, "the store never began to listen");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    store
}

/// Reads with `read` until it gives `want`, for at most the second SPEC §11 allows.
async fn within_a_second<T, F, Fut>(what: &str, want: T, read: F)
where
    T: PartialEq + std::fmt::Debug,
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = T>,
{
    let start = Instant::now();
    loop {
        let got = read().await;
        if got == want {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(1),
            "{what}: still {got:?} after {:?}",
            start.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

fn hits(store: &PgStore) -> u64 {
    store
        .caches()
        .hits
        .load(std::sync::atomic::Ordering::SeqCst)
}

/// Reads with `read` until one is answered from memory, within a second (the announcement of
/// a write just made may still evict what the first read kept).
async fn soon_a_hit<F, Fut>(store: &PgStore, what: &str, read: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let start = Instant::now();
    loop {
        let before = hits(store);
        read().await;
        if hits(store) > before {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(1),
            "{what}: never answered from memory"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[actix_rt::test]
async fn caches_answer_hot_reads_and_hear_of_every_change_within_a_second() {
    use crate::domain::{ClientId, Name, OAuthClient, Scope};
    use crate::storage::{ApiKeyStore, AppStore, ClientStore, LockoutRule, LockoutStore};
    let Some(pg) = throwaway::server_or_skip("caches_answer_hot_reads") else {
        return;
    };
    let db = pg.fresh_database();
    let (a, b) = (open_listening(&db).await, open_listening(&db).await);
    let now = contract::t0();

    // A user: read twice on A (the second from memory), disabled through B.
    let user = contract::user("cached");
    b.create_user(&user).await.expect("create");
    assert_eq!(
        a.get_user(&user.userid).await.expect("get"),
        Some(user.clone())
    );
    soon_a_hit(&a, "a user", || async {
        assert_eq!(
            a.get_user(&user.userid).await.expect("get"),
            Some(user.clone())
        );
    })
    .await;
    let mut disabled = user.clone();
    disabled.disabled = true;
    b.update_user(&disabled).await.expect("update");
    within_a_second("a user disabled on another node", true, || async {
        a.get_user(&user.userid)
            .await
            .expect("get")
            .is_some_and(|u| u.disabled)
    })
    .await;

    // A user deleted by an operator's SQL, not through any node.
    pg.psql(db.name(), "DELETE FROM users WHERE userid = 'cached'");
    within_a_second("a user deleted with psql", None, || async {
        a.get_user(&user.userid).await.expect("get")
    })
    .await;

    // A client: cached as present on A, deleted through B.
    let client = OAuthClient {
        id: ClientId(uuid::Uuid::new_v4()),
        name: Name::parse("cached").expect("valid"),
        scopes: vec![Scope::parse("read").expect("valid")],
        secret_hash: [5; 32],
        created_at: now,
        version: 1,
    };
    a.create_client(&client).await.expect("create");
    assert!(a.get_client(client.id).await.expect("get").is_some());
    assert!(a.get_client(client.id).await.expect("get").is_some());
    assert!(b.delete_client(client.id).await.expect("delete"));
    within_a_second("a client deleted on another node", None, || async {
        a.get_client(client.id).await.expect("get")
    })
    .await;

    // An API key disabled through B; then its application deleted through B.
    let app = contract::app("cached");
    let key = contract::api_key(&app);
    a.create_app(&app).await.expect("create");
    a.create_api_key(&key).await.expect("create");
    assert!(a
        .get_api_key(key.id)
        .await
        .expect("get")
        .is_some_and(|k| k.enabled));
    let mut off = key.clone();
    off.enabled = false;
    b.update_api_key(&off).await.expect("update");
    within_a_second("a key disabled on another node", Some(false), || async {
        a.get_api_key(key.id).await.expect("get").map(|k| k.enabled)
    })
    .await;
    assert!(a.get_app(app.id).await.expect("get").is_some());
    assert!(b.delete_app(app.id).await.expect("delete"));
    within_a_second(
        "an application deleted on another node",
        (false, false),
        || async {
            (
                a.get_app(app.id).await.expect("get").is_some(),
                a.get_api_key(key.id).await.expect("get").is_some(),
            )
        },
    )
    .await;

    // A session revoked through B.
    let session = contract::session("cached", now);
    a.create_session(&session, &contract::token(&session, now))
        .await
        .expect("create");
    assert!(a
        .get_session(session.id)
        .await
        .expect("get")
        .is_some_and(|s| s.is_live(now)));
    assert!(b.revoke_session(session.id, now).await.expect("revoke"));
    within_a_second("a session revoked on another node", Some(false), || async {
        a.get_session(session.id)
            .await
            .expect("get")
            .map(|s| s.is_live(now))
    })
    .await;

    // A JWT id revoked through B.
    assert!(!a.is_token_id_revoked("jti-1").await.expect("read"));
    assert!(!a.is_token_id_revoked("jti-1").await.expect("read"));
    b.revoke_token_id("jti-1", now + time::Duration::hours(1))
        .await
        .expect("revoke");
    within_a_second("a token revoked on another node", true, || async {
        a.is_token_id_revoked("jti-1").await.expect("read")
    })
    .await;

    // A lockout set through B, on a key A knew as unlocked.
    let keys = ["address:192.0.2.1".to_string()];
    let clock = now;
    assert_eq!(a.locked_until(&keys, clock).await.expect("read"), None);
    soon_a_hit(&a, "an unlocked key", || async {
        assert_eq!(a.locked_until(&keys, clock).await.expect("read"), None);
    })
    .await;
    let rule = LockoutRule {
        limit: 1,
        window: time::Duration::minutes(1),
        lockout: time::Duration::minutes(5),
    };
    b.record_failure(&keys[0], rule, clock).await.expect("fail");
    within_a_second("a lockout set on another node", true, || async {
        a.locked_until(&keys, clock).await.expect("read").is_some()
    })
    .await;
}

#[actix_rt::test]
async fn a_node_that_lost_its_notifications_stops_trusting_its_caches() {
    let Some(pg) = throwaway::server_or_skip("a_node_that_lost_its_notifications") else {
        return;
    };
    let db = pg.fresh_database();
    let store = open_listening(&db).await;
    let user = contract::user("unheard");
    store.create_user(&user).await.expect("create");
    assert!(store.get_user(&user.userid).await.expect("get").is_some());
    assert!(store.get_user(&user.userid).await.expect("get").is_some());

    // The listening connection goes; a change made now is announced to nobody.
    pg.psql(
        db.name(),
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE application_name = 'tessera changes' AND datname = current_database()",
    );
    pg.psql(db.name(), "DELETE FROM users WHERE userid = 'unheard'");
    within_a_second("a change nobody announced", None, || async {
        store.get_user(&user.userid).await.expect("get")
    })
    .await;

    // It stops trusting its caches, listens again on its own, and then answers from memory
    // again.
    let deadline = Instant::now() + Duration::from_secs(2);
    while store.caches().trusted() {
        assert!(
            Instant::now() < deadline,
            "it went on trusting a dead connection"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while !store.caches().trusted() {
        assert!(Instant::now() < deadline, "it never listened again");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    store.create_user(&user).await.expect("create");
    assert!(store.get_user(&user.userid).await.expect("get").is_some());
    soon_a_hit(&store, "a user read again", || async {
        assert!(store.get_user(&user.userid).await.expect("get").is_some());
    })
    .await;
}
