//! Issue 14 (SPEC §11): three tessera nodes on one PostgreSQL database. Each node is a real
//! server on its own ports, with its own store handle (its own pool and notification
//! connection); they share nothing but the database and the master key. The database is a
//! throwaway server the tests start themselves (testkit/postgres.rs).

use crate::helpers::{json, spawn_on, test_config, TestApp, ADMIN_PASSWORD, PASSWORD};
use crate::postgres::{self, PgDatabase};
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use tessera::config::{Config, StoreBackend};

/// The master key every node shares (TESSERA_MASTER_KEY).
const MASTER_KEY: &str = "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=";

/// How long a change made through one node may take to reach the others (SPEC §11).
const BOUND: Duration = Duration::from_secs(1);

pub fn node_config(db: &PgDatabase, data_dir: &std::path::Path) -> Config {
    let mut config = test_config(data_dir);
    config.store.backend = StoreBackend::Postgres;
    config.store.url = Some(db.url().as_str().into());
    config.store.connect_timeout_seconds = 2;
    config.master_key = Some(MASTER_KEY.into());
    config
}

/// `n` nodes on a fresh database, started at the same time.
async fn cluster(test: &str, n: usize) -> Option<(PgDatabase, Vec<TestApp>)> {
    let pg = postgres::server_or_skip(test)?;
    let db = pg.fresh_database();
    let nodes = futures_util::future::join_all((0..n).map(|_| {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = node_config(&db, dir.path());
        async move {
            let mut config = config;
            config.validate().expect("valid node config");
            spawn_on(config, dir).await
        }
    }))
    .await;
    Some((db, nodes))
}

/// Waits until `check` holds on every node, and says how long that took; fails past `BOUND`
/// (plus a grace for a loaded test machine, reported separately so a real miss shows).
async fn within_bound<F, Fut>(nodes: usize, what: &str, check: F) -> Duration
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    for node in 0..nodes {
        loop {
            if check(node).await {
                break;
            }
            assert!(
                start.elapsed() < BOUND * 3,
                "{what}: not seen on node {node} after {:?}",
                start.elapsed()
            );
            actix_rt::time::sleep(Duration::from_millis(20)).await;
        }
    }
    let took = start.elapsed();
    assert!(took < BOUND, "{what}: took {took:?}, more than {BOUND:?}");
    took
}

async fn admin(
    node: &TestApp,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> reqwest::Response {
    let mut req = node
        .client
        .request(method, format!("{}{path}", node.intranet))
        .basic_auth("admin", Some(ADMIN_PASSWORD));
    if let Some(body) = body {
        req = req.json(&body);
    }
    req.send().await.expect("request")
}

#[actix_rt::test]
async fn nodes_starting_together_make_one_admin_one_signing_key_and_one_token_uuid() {
    let Some((_db, nodes)) = cluster("cluster: concurrent bootstrap", 3).await else {
        return;
    };
    for node in &nodes {
        let users = json(admin(node, reqwest::Method::GET, "/api/v1/users", None).await).await;
        let users = users["users"].as_array().expect("users").clone();
        assert_eq!(users.len(), 1, "one admin: {users:?}");
        let keys = node.ctx.store.signing_keys().await.expect("keys");
        assert_eq!(keys.len(), 1, "one signing key");
        assert_eq!(
            node.ctx.generated_token_uuid, nodes[0].ctx.generated_token_uuid,
            "one token_uuid"
        );
    }
    // Each node signs with the one key: a token from one verifies on the others.
    let (_, claims) = login(&nodes[0], "admin", ADMIN_PASSWORD).await;
    for node in &nodes[1..] {
        assert_eq!(node.introspect(&claims).await["active"], true);
    }
}

/// Logs in on `node`; returns (refresh_token, claims JWT).
async fn login(node: &TestApp, userid: &str, password: &str) -> (String, String) {
    let res = node.login(userid, password).await;
    assert_eq!(res.status(), 200, "login of {userid}");
    let body = json(res).await;
    (
        body["refresh_token"].as_str().expect("refresh").to_string(),
        body["claims_token"]["value"]
            .as_str()
            .expect("claims")
            .to_string(),
    )
}

async fn active(node: &TestApp, token: &str) -> bool {
    node.introspect(token).await["active"] == true
}

#[actix_rt::test]
async fn a_logout_through_one_node_is_honoured_by_every_node_within_a_second() {
    let Some((_db, nodes)) = cluster("cluster: logout", 3).await else {
        return;
    };
    nodes[0].add_user("alice", &["Supervisor"]).await;
    let (refresh, claims) = login(&nodes[1], "alice", PASSWORD).await;
    for node in &nodes {
        assert!(active(node, &claims).await, "live everywhere first");
    }
    let res = nodes[2]
        .client
        .post(format!("{}/authService/accounts/logout", nodes[2].public))
        .form(&[("refresh_token", refresh.as_str())])
        .send()
        .await
        .expect("request");
    assert!(res.status().is_success(), "logout: {}", res.status());
    let took = within_bound(nodes.len(), "logout", |i| {
        let node = &nodes[i];
        let claims = claims.clone();
        async move { !active(node, &claims).await }
    })
    .await;
    eprintln!("logout seen on every node after {took:?}");
    assert_eq!(nodes[0].refresh(&refresh).await.status(), 401);
}

#[actix_rt::test]
async fn deleting_an_api_key_or_disabling_a_user_through_one_node_holds_on_every_node() {
    let Some((_db, nodes)) = cluster("cluster: key delete and disable", 3).await else {
        return;
    };
    let app = json(
        admin(
            &nodes[0],
            reqwest::Method::POST,
            "/api/v1/applications",
            Some(json!({"name": "mobile"})),
        )
        .await,
    )
    .await;
    let app_id = app["app_id"].as_str().expect("app id").to_string();
    let key = json(
        admin(
            &nodes[1],
            reqwest::Method::POST,
            &format!("/api/v1/applications/{app_id}/keys"),
            Some(json!({"name": "field"})),
        )
        .await,
    )
    .await;
    let (key_id, secret) = (
        key["id"].as_str().expect("key id").to_string(),
        key["key"].as_str().expect("key secret").to_string(),
    );
    let checks = |node: &TestApp, secret: String| {
        let req = node
            .client
            .get(format!("{}/api/v1/check", node.public))
            .header("X-VoltMX-App-API-Key", secret);
        async move { req.send().await.expect("request").status().as_u16() }
    };
    for node in &nodes {
        assert_eq!(
            checks(node, secret.clone()).await,
            200,
            "the key works everywhere"
        );
    }
    let res = admin(
        &nodes[2],
        reqwest::Method::DELETE,
        &format!("/api/v1/applications/{app_id}/keys/{key_id}"),
        None,
    )
    .await;
    assert!(res.status().is_success());
    within_bound(nodes.len(), "key delete", |i| {
        let node = &nodes[i];
        let secret = secret.clone();
        async move { checks(node, secret).await == 401 }
    })
    .await;

    nodes[0].add_user("bob", &["Supervisor"]).await;
    let (_, claims) = login(&nodes[0], "bob", PASSWORD).await;
    let res = admin(
        &nodes[1],
        reqwest::Method::PATCH,
        "/api/v1/users/bob",
        Some(json!({"disabled": true})),
    )
    .await;
    assert!(res.status().is_success());
    within_bound(nodes.len(), "user disabled", |i| {
        let node = &nodes[i];
        let claims = claims.clone();
        async move { !active(node, &claims).await }
    })
    .await;
    for node in &nodes {
        assert_eq!(node.login("bob", PASSWORD).await.status(), 401);
    }
}

#[actix_rt::test]
async fn a_signing_key_rotated_through_one_node_signs_and_verifies_on_every_node() {
    let Some((_db, nodes)) = cluster("cluster: key rotation", 3).await else {
        return;
    };
    let rotated = json(
        admin(
            &nodes[0],
            reqwest::Method::POST,
            "/api/v1/signing-keys/rotate",
            None,
        )
        .await,
    )
    .await;
    let kid = rotated["kid"].as_str().expect("kid").to_string();
    within_bound(nodes.len(), "new signing key", |i| {
        let node = &nodes[i];
        let kid = kid.clone();
        async move {
            let jwks = json(
                node.client
                    .get(format!("{}/.well-known/jwks.json", node.public))
                    .send()
                    .await
                    .expect("request"),
            )
            .await;
            jwks["keys"]
                .as_array()
                .is_some_and(|keys| keys.iter().any(|k| k["kid"] == kid.as_str()))
        }
    })
    .await;
    // A token signed on another node with the new key verifies everywhere.
    let (_, claims) = login(&nodes[2], "admin", ADMIN_PASSWORD).await;
    for node in &nodes {
        assert!(active(node, &claims).await);
    }
}

#[actix_rt::test]
async fn a_user_locked_out_through_one_node_is_locked_out_on_every_node() {
    let Some((_db, nodes)) = cluster("cluster: shared lockout", 3).await else {
        return;
    };
    nodes[0].add_user("carol", &["Supervisor"]).await;
    let limit = nodes[0].ctx.config().login_protection.max_failures;
    for i in 0..limit {
        let node = &nodes[i as usize % nodes.len()];
        assert_eq!(node.login("carol", "wrong password").await.status(), 401);
    }
    for node in &nodes {
        let res = node.login("carol", PASSWORD).await;
        assert_eq!(res.status(), 429, "locked on {}", node.public);
        assert!(res.headers().contains_key("retry-after"));
    }
}

#[actix_rt::test]
async fn a_browser_session_made_on_one_node_works_on_another() {
    let Some((_db, nodes)) = cluster("cluster: browser session", 2).await else {
        return;
    };
    let res = nodes[0]
        .client
        .post(format!("{}/api/v1/session", nodes[0].intranet))
        .json(&json!({"userid": "admin", "password": ADMIN_PASSWORD}))
        .send()
        .await
        .expect("request");
    assert_eq!(res.status(), 200);
    let cookie = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("tessera_session="))
        .and_then(|v| v.split(';').next())
        .expect("session cookie")
        .to_string();
    let csrf = res
        .headers()
        .get("x-csrf-token")
        .and_then(|v| v.to_str().ok())
        .expect("csrf token")
        .to_string();
    let res = nodes[1]
        .client
        .get(format!("{}/api/v1/users", nodes[1].intranet))
        .header("cookie", &cookie)
        .send()
        .await
        .expect("request");
    assert_eq!(res.status(), 200, "the other node knows the session");
    // Signed out on the second node: gone on the first.
    let res = nodes[1]
        .client
        .delete(format!("{}/api/v1/session", nodes[1].intranet))
        .header("cookie", &cookie)
        .header("X-CSRF-TOKEN", &csrf)
        .send()
        .await
        .expect("request");
    assert_eq!(res.status(), 204);
    let res = nodes[0]
        .client
        .get(format!("{}/api/v1/session", nodes[0].intranet))
        .header("cookie", &cookie)
        .send()
        .await
        .expect("request");
    assert_eq!(res.status(), 401);
}

#[actix_rt::test]
async fn a_refresh_token_presented_to_two_nodes_at_once_has_exactly_one_winner() {
    let Some((_db, nodes)) = cluster("cluster: refresh race", 2).await else {
        return;
    };
    nodes[0].add_user("dave", &["Supervisor"]).await;
    for _ in 0..5 {
        let (refresh, claims) = login(&nodes[0], "dave", PASSWORD).await;
        let answers =
            futures_util::future::join_all((0..8).map(|i| nodes[i % 2].refresh(&refresh))).await;
        let mut statuses = Vec::new();
        let mut successors = Vec::new();
        for res in answers {
            statuses.push(res.status().as_u16());
            if res.status() == 200 {
                let body = json(res).await;
                successors.push(body["refresh_token"].as_str().expect("token").to_string());
            }
        }
        crate::helpers::assert_one_winner_no_fork(&nodes[1], &statuses, &successors, &claims).await;
    }
}

#[actix_rt::test]
async fn statistics_count_what_every_node_saw() {
    let Some((_db, nodes)) = cluster("cluster: statistics", 2).await else {
        return;
    };
    login(&nodes[0], "admin", ADMIN_PASSWORD).await;
    login(&nodes[1], "admin", ADMIN_PASSWORD).await;
    assert_eq!(nodes[1].login("admin", "wrong").await.status(), 401);
    for node in &nodes {
        let stats = json(admin(node, reqwest::Method::GET, "/api/v1/statistics", None).await).await;
        assert_eq!(stats["logins_last_hour"], 2, "{stats}");
        assert_eq!(stats["failed_logins_last_hour"], 1, "{stats}");
    }
}

// --- the real binary: start-up failures, faults, moving from sled ------------------------

use crate::binary_helpers::{run_to_end, start, tessera, write_config};

/// The `[store]` section of a node's config file for `url`.
fn store_section(url: &str) -> String {
    format!("[store]\nbackend = \"postgres\"\nurl = \"{url}\"\nconnect_timeout_seconds = 2\n")
}

#[actix_rt::test]
async fn a_wrong_password_or_an_unreachable_database_stops_the_start_naming_the_host_not_the_password(
) {
    let Some(pg) = postgres::server_or_skip("cluster: bad database at start") else {
        return;
    };
    let db = pg.fresh_database();
    let secret = "Sekrit-pass-4711";
    let dir = tempfile::tempdir().expect("tempdir");
    for (what, url) in [
        (
            "a refused login",
            format!(
                "postgres://{}:{secret}@{}:{}/{}",
                db.user(),
                db.host(),
                db.port(),
                db.name()
            ),
        ),
        (
            "no server on the port",
            format!("postgres://tessera:{secret}@127.0.0.1:1/tessera"),
        ),
    ] {
        let config = write_config(dir.path(), "", &store_section(&url));
        let mut cmd = tessera(&config);
        cmd.arg("serve")
            .env("TESSERA_MASTER_KEY", MASTER_KEY)
            .env("TESSERA_ADMIN_PASSWORD", ADMIN_PASSWORD);
        let started = Instant::now();
        let run = run_to_end(cmd, dir.path());
        let said = format!("{}{}", run.stdout, run.stderr);
        assert_eq!(run.status.code(), Some(1), "{what}: {said}");
        assert!(
            !said.contains(secret),
            "{what}: the password leaked: {said}"
        );
        assert!(said.contains("127.0.0.1"), "{what}: names the host: {said}");
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "{what}: gave up in time"
        );
    }
}

#[actix_rt::test]
async fn a_sled_deployment_moves_to_postgres_through_backup_and_restore() {
    let Some(pg) = postgres::server_or_skip("cluster: sled to postgres") else {
        return;
    };
    let db = pg.fresh_database();
    let dir = tempfile::tempdir().expect("tempdir");
    let sled_dir = dir.path().join("sled");
    std::fs::create_dir_all(&sled_dir).expect("dir");
    let sled_config = write_config(&sled_dir, "", "");
    // A sled server with a user and a session, stopped.
    let mut cmd = tessera(&sled_config);
    cmd.arg("serve")
        .env("TESSERA_MASTER_KEY", MASTER_KEY)
        .env("TESSERA_ADMIN_PASSWORD", ADMIN_PASSWORD);
    let server = start(cmd, &sled_dir.join("serve.log"));
    let client = reqwest::Client::new();
    let res = client
        .post(format!("{}/api/v1/users", server.intranet))
        .basic_auth("admin", Some(ADMIN_PASSWORD))
        .json(&json!({"userid": "frank", "password": PASSWORD, "roles": ["Supervisor"]}))
        .send()
        .await
        .expect("request");
    assert_eq!(res.status(), 201);
    let login = json(
        client
            .post(format!("{}/login", server.public))
            .json(&json!({"userid": "frank", "password": PASSWORD}))
            .send()
            .await
            .expect("request"),
    )
    .await;
    let refresh = login["refresh_token"]
        .as_str()
        .expect("refresh")
        .to_string();
    server.stop();
    let file = dir.path().join("move.jsonl");
    let mut backup = tessera(&sled_config);
    backup
        .args(["backup", file.to_str().expect("utf-8")])
        .env("TESSERA_MASTER_KEY", MASTER_KEY);
    let backup = run_to_end(backup, dir.path());
    assert!(backup.status.success(), "{}", backup.stderr);

    let pg_dir = dir.path().join("pg");
    std::fs::create_dir_all(&pg_dir).expect("dir");
    let pg_config = write_config(&pg_dir, "", &store_section(&db.url()));
    let mut restore = tessera(&pg_config);
    restore
        .args(["restore", file.to_str().expect("utf-8")])
        .env("TESSERA_MASTER_KEY", MASTER_KEY);
    let restored = run_to_end(restore, dir.path());
    assert!(restored.status.success(), "{}", restored.stderr);
    // A second restore into the same database is refused and changes nothing.
    let mut again = tessera(&pg_config);
    again
        .args(["restore", file.to_str().expect("utf-8")])
        .env("TESSERA_MASTER_KEY", MASTER_KEY);
    let again = run_to_end(again, dir.path());
    assert!(!again.status.success(), "a second restore is refused");
    let mut check = tessera(&pg_config);
    check.arg("check").env("TESSERA_MASTER_KEY", MASTER_KEY);
    let check = run_to_end(check, dir.path());
    assert!(check.status.success(), "{}{}", check.stdout, check.stderr);

    // The PostgreSQL node knows the user, the session and the refresh token.
    let node = {
        let data = tempfile::tempdir().expect("tempdir");
        let mut config = node_config(&db, data.path());
        config.bootstrap_admin_password = None;
        config.validate().expect("valid");
        spawn_on(config, data).await
    };
    assert_eq!(
        node.refresh(&refresh).await.status(),
        200,
        "the session moved"
    );
    login_ok_as(&node, "frank").await;
}

async fn login_ok_as(node: &TestApp, userid: &str) {
    assert_eq!(node.login(userid, PASSWORD).await.status(), 200);
}

#[actix_rt::test]
async fn while_the_database_is_down_requests_answer_503_and_the_node_recovers_by_itself() {
    let Some(pg) = postgres::dedicated_or_skip("cluster: database down") else {
        return;
    };
    let db = pg.fresh_database();
    let data = tempfile::tempdir().expect("tempdir");
    let mut config = node_config(&db, data.path());
    config.validate().expect("valid");
    let node = spawn_on(config, data).await;
    node.add_user("grace", &["Supervisor"]).await;
    login_ok_as(&node, "grace").await;

    pg.kill();
    let asked = Instant::now();
    let res = node.login("grace", PASSWORD).await;
    let took = asked.elapsed();
    assert_eq!(res.status(), 503, "login while the database is down");
    assert!(res.headers().contains_key("retry-after"));
    let body = json(res).await;
    assert!(body.is_object(), "a JSON body: {body}");
    assert!(
        took < Duration::from_secs(6),
        "answered within the connect timeout: {took:?}"
    );
    let health = node
        .client
        .get(format!("{}/health", node.public))
        .send()
        .await
        .expect("request");
    assert_eq!(health.status(), 503);
    let res = admin(
        &node,
        reqwest::Method::POST,
        "/api/v1/users",
        Some(json!({"userid": "henry", "password": PASSWORD})),
    )
    .await;
    assert_eq!(res.status(), 503, "a write while the database is down");

    pg.start();
    let back = Instant::now();
    loop {
        let res = node.login("grace", PASSWORD).await;
        if res.status() == 200 {
            break;
        }
        assert!(
            back.elapsed() < Duration::from_secs(20),
            "the node did not recover by itself: {}",
            res.status()
        );
        actix_rt::time::sleep(Duration::from_millis(200)).await;
    }
    let health = node
        .client
        .get(format!("{}/health", node.public))
        .send()
        .await
        .expect("request");
    assert_eq!(health.status(), 200);
    // The write refused while the database was down left nothing behind.
    let res = admin(&node, reqwest::Method::GET, "/api/v1/users/henry", None).await;
    assert_eq!(res.status(), 404);
}

#[actix_rt::test]
async fn acknowledged_writes_survive_a_node_killed_with_sigkill() {
    let Some(pg) = postgres::server_or_skip("cluster: node killed") else {
        return;
    };
    let db = pg.fresh_database();
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write_config(
        dir.path(),
        "",
        &format!(
            "{}\n{}",
            crate::crash::CRASH_SETTINGS,
            store_section(&db.url())
        ),
    );
    crate::crash::kill_and_verify(&config, dir.path(), 2).await;
}
