//! decisions-4 "Statistics": `GET /api/v1/statistics` (SPEC §6) — who may read it, its six
//! counts, and that they follow what happens.

use crate::admin_helpers::{
    admin_delete, admin_get, create_app, create_key, expect_json, field_set, fields,
};
use crate::helpers::{json, spawn_app, TestApp, PASSWORD};
use serde_json::Value;

const FIELDS: [&str; 6] = [
    "users",
    "applications",
    "api_keys",
    "live_sessions",
    "logins_last_hour",
    "failed_logins_last_hour",
];

async fn statistics_as(app: &TestApp, userid: &str, password: &str) -> reqwest::Response {
    app.client
        .get(format!("{}/api/v1/statistics", app.intranet))
        .basic_auth(userid, Some(password))
        .send()
        .await
        .expect("request")
}

/// The counts, read as `admin`.
async fn counts(app: &TestApp) -> Value {
    expect_json(
        admin_get(app, "/api/v1/statistics").await,
        200,
        "statistics",
    )
    .await
}

fn count(body: &Value, name: &str) -> u64 {
    body[name]
        .as_u64()
        .unwrap_or_else(|| panic!("{name} is not a count: {body}"))
}

async fn logout(app: &TestApp, refresh_token: &str) {
    let res = app
        .client
        .post(format!("{}/authService/accounts/logout", app.public))
        .form(&[("refresh_token", refresh_token)])
        .send()
        .await
        .expect("request");
    assert_eq!(res.status(), 200);
}

#[actix_rt::test]
async fn a_supervisor_gets_the_six_counts() {
    let app = spawn_app().await;
    app.add_user("watcher", &["Supervisor"]).await;

    let res = statistics_as(&app, "watcher", PASSWORD).await;

    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["cache-control"], "no-store");
    let body = json(res).await;
    assert_eq!(fields(&body), field_set(&FIELDS));
    for name in FIELDS {
        count(&body, name);
    }
}

#[actix_rt::test]
async fn an_administrator_gets_the_counts() {
    let app = spawn_app().await;
    app.add_user("ops", &["Administrator"]).await;

    let res = statistics_as(&app, "ops", PASSWORD).await;

    assert_eq!(res.status(), 200);
    assert_eq!(fields(&json(res).await), field_set(&FIELDS));
}

#[actix_rt::test]
async fn a_user_without_a_role_is_403() {
    let app = spawn_app().await;
    app.add_user("plain", &[]).await;

    let res = statistics_as(&app, "plain", PASSWORD).await;

    assert_eq!(res.status(), 403);
    assert_eq!(json(res).await["error"], "forbidden");
}

#[actix_rt::test]
async fn logins_and_failed_credential_checks_of_the_last_hour_are_counted() {
    let app = spawn_app().await;
    app.add_user("alice", &[]).await;
    let before = counts(&app).await;

    for _ in 0..3 {
        app.login_ok("alice").await;
    }
    assert_eq!(app.login("alice", "wrong password").await.status(), 401);
    assert_eq!(app.login("nobody", PASSWORD).await.status(), 401);
    assert_eq!(
        statistics_as(&app, "alice", "wrong password")
            .await
            .status(),
        401,
        "a failed Basic check"
    );

    let after = counts(&app).await;
    assert_eq!(
        count(&after, "logins_last_hour") - count(&before, "logins_last_hour"),
        3
    );
    assert_eq!(
        count(&after, "failed_logins_last_hour") - count(&before, "failed_logins_last_hour"),
        3
    );
}

#[actix_rt::test]
async fn logins_older_than_an_hour_are_no_longer_counted() {
    let app = spawn_app().await;
    app.add_user("alice", &[]).await;
    app.login_ok("alice").await;
    assert_eq!(app.login("alice", "wrong password").await.status(), 401);
    let now = counts(&app).await;
    assert_eq!(count(&now, "logins_last_hour"), 1);
    assert_eq!(count(&now, "failed_logins_last_hour"), 1);

    app.clock.advance(time::Duration::minutes(61));

    let later = counts(&app).await;
    assert_eq!(count(&later, "logins_last_hour"), 0);
    assert_eq!(count(&later, "failed_logins_last_hour"), 0);
}

#[actix_rt::test]
async fn users_applications_keys_and_live_sessions_follow_what_happens() {
    let app = spawn_app().await;
    let start = counts(&app).await;
    let delta = |now: &Value, name: &str| count(now, name) as i64 - count(&start, name) as i64;

    app.add_user("alice", &[]).await;
    app.add_user("bob", &[]).await;
    let app_id = create_app(&app, "web").await;
    create_key(&app, &app_id, "one").await;
    create_key(&app, &app_id, "two").await;
    let (first, _) = app.login_ok("alice").await;
    app.login_ok("bob").await;
    let grown = counts(&app).await;

    assert_eq!(delta(&grown, "users"), 2);
    assert_eq!(delta(&grown, "applications"), 1);
    assert_eq!(delta(&grown, "api_keys"), 2);
    assert_eq!(delta(&grown, "live_sessions"), 2);

    logout(&app, &first).await;
    let logged_out = counts(&app).await;

    assert_eq!(
        delta(&logged_out, "live_sessions"),
        1,
        "logout ends a live session"
    );

    assert_eq!(admin_delete(&app, "/api/v1/users/bob").await.status(), 204);
    let deleted = counts(&app).await;

    assert_eq!(delta(&deleted, "users"), 1);
    assert_eq!(
        delta(&deleted, "live_sessions"),
        0,
        "deleting a user ends their sessions"
    );
}
