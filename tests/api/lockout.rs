//! SPEC §3 login protection: per userid and per client address, shared by login and Basic;
//! 429 with Retry-After during a lockout, even for the right password; over after it.

use crate::helpers::{json, spawn_app, spawn_app_with, ADMIN_PASSWORD, PASSWORD};
use time::Duration;

#[actix_rt::test]
async fn a_userid_is_locked_after_max_failures_even_for_the_right_password() {
    let app = spawn_app().await;
    app.add_user("alice", &[]).await;
    for _ in 0..5 {
        assert_eq!(app.login("alice", "wrong password").await.status(), 401);
    }

    let locked = app.login("alice", PASSWORD).await;

    assert_eq!(locked.status(), 429);
    let retry: u64 = locked.headers()["retry-after"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("seconds");
    assert!(retry > 0 && retry <= 300, "{retry}");
    assert_eq!(json(locked).await["error"], "too_many_requests");
    app.add_user("bob", &[]).await;
    assert_eq!(
        app.login("bob", PASSWORD).await.status(),
        200,
        "other users go on"
    );
}

#[actix_rt::test]
async fn the_lockout_ends_after_lockout_seconds() {
    let app = spawn_app().await;
    app.add_user("alice", &[]).await;
    for _ in 0..5 {
        app.login("alice", "wrong password").await;
    }
    assert_eq!(app.login("alice", PASSWORD).await.status(), 429);

    app.clock.advance(Duration::seconds(301));

    assert_eq!(app.login("alice", PASSWORD).await.status(), 200);
}

#[actix_rt::test]
async fn unknown_userids_lock_like_real_ones() {
    let app = spawn_app().await;
    for _ in 0..5 {
        app.login("nobody", "guess").await;
    }
    assert_eq!(app.login("nobody", "guess").await.status(), 429);
}

#[actix_rt::test]
async fn failures_over_basic_and_login_share_one_count() {
    let app = spawn_app().await;
    for _ in 0..3 {
        let res = app
            .client
            .post(format!("{}/oauth2/introspect", app.intranet))
            .basic_auth("admin", Some("wrong"))
            .form(&[("token", "x")])
            .send()
            .await
            .expect("request");
        assert_eq!(res.status(), 401);
    }
    for _ in 0..2 {
        assert_eq!(app.login("admin", "wrong").await.status(), 401);
    }

    let basic = app
        .client
        .post(format!("{}/oauth2/introspect", app.intranet))
        .basic_auth("admin", Some(ADMIN_PASSWORD))
        .form(&[("token", "x")])
        .send()
        .await
        .expect("request");

    assert_eq!(basic.status(), 429);
    assert!(basic.headers().contains_key("retry-after"));
    assert_eq!(app.login("admin", ADMIN_PASSWORD).await.status(), 429);
}

#[actix_rt::test]
async fn an_address_with_too_many_failures_is_refused_for_every_userid() {
    let app = spawn_app_with(|c| c.login_protection.max_failures_per_address = 4).await;
    app.add_user("zed", &[]).await;
    for user in ["a", "b", "c", "d"] {
        assert_eq!(app.login(user, "guess").await.status(), 401);
    }

    assert_eq!(app.login("zed", PASSWORD).await.status(), 429);
}

#[actix_rt::test]
async fn a_success_clears_the_users_count() {
    let app = spawn_app().await;
    app.add_user("alice", &[]).await;
    for _ in 0..4 {
        app.login("alice", "wrong").await;
    }
    assert_eq!(app.login("alice", PASSWORD).await.status(), 200);
    for _ in 0..4 {
        app.login("alice", "wrong").await;
    }
    assert_eq!(app.login("alice", PASSWORD).await.status(), 200);
}
