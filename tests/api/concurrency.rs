//! Issue 7, concurrency: 50 refreshes of one token at once (SPEC §3: exactly one succeeds, no
//! forked session), and three changes made while requests keep coming — an API key rotated
//! with grace, the configuration reloaded, the signing key rotated — none of which may fail a
//! single request.

use crate::admin_helpers::{
    admin_post, admin_request, check, create_app, create_key, expect_json, jwt_part, str_of,
};
use crate::config_helpers::{rewrite, spawn_from_file};
use crate::helpers::{json, spawn_app, TestApp, ADMIN_PASSWORD, PASSWORD};
use serde_json::json;
use std::cell::{Cell, RefCell};
use std::time::{Duration, Instant};

/// Requests each load task makes at most; the load also stops when told or after 10 s.
const MAX_REQUESTS: usize = 5_000;
const LOAD_TASKS: usize = 4;

/// What the load saw: requests made, and a description of each that failed.
#[derive(Default)]
struct Tally {
    requests: Cell<usize>,
    failures: RefCell<Vec<String>>,
}

impl Tally {
    fn fail(&self, what: String) {
        self.failures.borrow_mut().push(what);
    }

    fn assert_none_failed(&self, what: &str) {
        let failures = self.failures.borrow();
        assert!(
            failures.is_empty(),
            "{what}: {} of {} requests failed, first ones:\n{}",
            failures.len(),
            self.requests.get(),
            failures[..failures.len().min(10)].join("\n")
        );
        assert!(self.requests.get() > 0, "{what}: the load made no request");
        println!("{what}: {} requests, none failed", self.requests.get());
    }
}

/// Runs `request` in a loop until `stop` is set (bounded in time and count).
async fn keep_calling<F, Fut>(stop: &Cell<bool>, tally: &Tally, mut request: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let deadline = Instant::now() + Duration::from_secs(10);
    for _ in 0..MAX_REQUESTS {
        if stop.get() || Instant::now() >= deadline {
            return;
        }
        request().await;
        tally.requests.set(tally.requests.get() + 1);
    }
}

async fn pause(ms: u64) {
    actix_rt::time::sleep(Duration::from_millis(ms)).await;
}

#[actix_rt::test]
async fn fifty_concurrent_refreshes_of_one_token_have_one_winner_and_no_fork() {
    let app = spawn_app().await;
    app.add_user("alice", &[]).await;
    let (token, claims) = app.login_ok("alice").await;

    let responses = futures_util::future::join_all((0..50).map(|_| app.refresh(&token))).await;

    let mut successors = Vec::new();
    let mut statuses = Vec::new();
    for res in responses {
        statuses.push(res.status().as_u16());
        if res.status() == 200 {
            successors.push(str_of(&json(res).await["refresh_token"]));
        }
    }
    crate::helpers::assert_one_winner_no_fork(&app, &statuses, &successors, &claims).await;
}

#[actix_rt::test]
async fn an_api_key_rotated_with_grace_under_load_fails_no_request() {
    let app = spawn_app().await;
    let app_id = create_app(&app, "load").await;
    let (key_id, first) = create_key(&app, &app_id, "hammered").await;
    // The secret a client holds: the newest it has been handed.
    let current = RefCell::new(first);
    let (stop, tally) = (Cell::new(false), Tally::default());

    let hammer = || {
        keep_calling(&stop, &tally, || async {
            let secret = current.borrow().clone();
            let res = check(&app, &[("X-VoltMX-App-API-Key", &secret)]).await;
            if res.status() != 200 {
                tally.fail(format!("a key check answered {}", res.status()));
            }
        })
    };
    let rotate = async {
        for _ in 0..4 {
            pause(400).await;
            let path = format!("/api/v1/applications/{app_id}/keys/{key_id}/refresh");
            let body = admin_post(&app, &path, json!({"grace_seconds": 60})).await;
            let new = str_of(&expect_json(body, 200, "rotate the key").await["key"]);
            let old = current.replace(new);
            // Deterministically, a client that has not picked up the new secret yet.
            let res = check(&app, &[("X-VoltMX-App-API-Key", &old)]).await;
            if res.status() != 200 {
                tally.fail(format!(
                    "the replaced secret, in its grace, answered {}",
                    res.status()
                ));
            }
        }
        pause(400).await;
        stop.set(true);
    };
    futures_util::future::join(
        futures_util::future::join_all((0..LOAD_TASKS).map(|_| hammer())),
        rotate,
    )
    .await;

    tally.assert_none_failed("key checks while the key was rotated with grace");
}

const RELOADED: &str = r#"
[server]
username = "gateway"
password = "gateway-password-1"

[tokens]
claims_ttl_seconds = TTL
"#;

fn with_ttl(ttl: u64) -> String {
    RELOADED.replace("TTL", &ttl.to_string())
}

async fn claims_lifetime(app: &TestApp) -> i64 {
    let res = app.login("admin", ADMIN_PASSWORD).await;
    let claims = str_of(&json(res).await["claims_token"]["value"]);
    let body = jwt_part(&claims, 1);
    body["exp"].as_i64().expect("exp") - body["iat"].as_i64().expect("iat")
}

#[actix_rt::test]
async fn config_reloads_under_load_fail_no_request() {
    let (app, path) = spawn_from_file(&with_ttl(900)).await;
    let (_, claims) = {
        app.add_user("alice", &[]).await;
        app.login_ok("alice").await
    };
    let (stop, tally) = (Cell::new(false), Tally::default());

    let introspect = || {
        keep_calling(&stop, &tally, || async {
            let res = app
                .client
                .post(format!("{}/oauth2/introspect", app.intranet))
                .basic_auth("gateway", Some("gateway-password-1"))
                .form(&[("token", claims.as_str())])
                .send()
                .await
                .expect("request");
            let status = res.status();
            let active = status == 200 && json(res).await["active"] == true;
            if !active {
                tally.fail(format!(
                    "an introspection as the static caller answered {status}"
                ));
            }
        })
    };
    let reload = async {
        for n in 1..=5u64 {
            pause(300).await;
            rewrite(&path, &with_ttl(900 + 60 * n));
            let res = admin_request(&app, reqwest::Method::POST, "/api/v1/admin/reload")
                .send()
                .await
                .expect("request");
            expect_json(res, 200, "reload").await;
        }
        pause(300).await;
        stop.set(true);
    };
    futures_util::future::join(
        futures_util::future::join_all((0..LOAD_TASKS).map(|_| introspect())),
        reload,
    )
    .await;

    tally.assert_none_failed("introspections while the config was reloaded");
    assert_eq!(
        claims_lifetime(&app).await,
        1200,
        "the last reload took effect"
    );
}

#[actix_rt::test]
async fn signing_key_rotations_under_load_fail_no_login_or_introspection() {
    let app = spawn_app().await;
    app.add_user("alice", &[]).await;
    let kids = RefCell::new(std::collections::BTreeSet::new());
    let (stop, tally) = (Cell::new(false), Tally::default());

    let log_in_and_look = || {
        keep_calling(&stop, &tally, || async {
            let res = app.login("alice", PASSWORD).await;
            if res.status() != 200 {
                tally.fail(format!("a login answered {}", res.status()));
                return;
            }
            let claims = str_of(&json(res).await["claims_token"]["value"]);
            kids.borrow_mut()
                .insert(str_of(&jwt_part(&claims, 0)["kid"]));
            let answer = app.introspect(&claims).await;
            if answer["active"] != true {
                tally.fail(format!(
                    "a just-issued claims token introspected as {answer}"
                ));
            }
        })
    };
    let rotate = async {
        for _ in 0..4 {
            pause(400).await;
            let res = admin_post(&app, "/api/v1/signing-keys/rotate", json!({})).await;
            expect_json(res, 201, "rotate the signing key").await;
        }
        pause(400).await;
        stop.set(true);
    };
    futures_util::future::join(
        futures_util::future::join_all((0..LOAD_TASKS).map(|_| log_in_and_look())),
        rotate,
    )
    .await;

    tally.assert_none_failed("logins and introspections while the signing key was rotated");
    assert!(
        kids.borrow().len() >= 2,
        "tokens were signed by more than one key: {:?}",
        kids.borrow()
    );
}
