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

#[actix_rt::test]
async fn a_locked_address_is_refused_even_with_the_right_static_credentials() {
    let (app, _path) = crate::config_helpers::spawn_from_file(
        "[server]\nusername = \"gateway\"\npassword = \"gateway-pass-1\"\n\n\
         [login_protection]\nmax_failures_per_address = 3\n",
    )
    .await;
    for user in ["a", "b", "c"] {
        assert_eq!(app.login(user, "guess").await.status(), 401);
    }

    let res = app
        .client
        .post(format!("{}/oauth2/introspect", app.intranet))
        .basic_auth("gateway", Some("gateway-pass-1"))
        .form(&[("token", "x")])
        .send()
        .await
        .expect("request");

    assert_eq!(res.status(), 429);
}

#[actix_rt::test]
async fn failed_client_authentication_at_the_token_endpoint_counts_for_the_address() {
    let app = spawn_app_with(|c| c.login_protection.max_failures_per_address = 3).await;
    let (client_id, secret) = crate::admin_helpers::create_client(&app, "svc", &[]).await;
    for _ in 0..3 {
        let res = app
            .client
            .post(format!("{}/oauth2/token", app.public))
            .basic_auth(&client_id, Some("tsc_wrong"))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .expect("request");
        assert_eq!(res.status(), 401);
    }

    let right = app
        .client
        .post(format!("{}/oauth2/token", app.public))
        .basic_auth(&client_id, Some(&secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .expect("request");

    assert_eq!(right.status(), 429);
}

#[actix_rt::test]
async fn the_browser_session_cookie_counts_only_on_the_intranet_listener() {
    let app = spawn_app().await;
    let signed_in = app
        .client
        .post(format!("{}/api/v1/session", app.intranet))
        .json(&serde_json::json!({"userid": "admin", "password": ADMIN_PASSWORD}))
        .send()
        .await
        .expect("request");
    assert_eq!(signed_in.status(), 200);
    let cookie = signed_in.headers()["set-cookie"]
        .to_str()
        .expect("ascii")
        .split(';')
        .next()
        .expect("name=value")
        .to_string();

    let introspect = |base: String| {
        let cookie = cookie.clone();
        let client = app.client.clone();
        async move {
            client
                .post(format!("{base}/oauth2/introspect"))
                .header("Cookie", cookie)
                .header("X-CSRF-TOKEN", "irrelevant")
                .form(&[("token", "x")])
                .send()
                .await
                .expect("request")
                .status()
        }
    };

    assert_eq!(introspect(app.public.clone()).await, 401);
    assert_ne!(
        introspect(app.intranet.clone()).await,
        401,
        "the cookie is a caller there"
    );
}

#[test]
fn zero_lockout_or_idle_timeout_is_refused_at_load() {
    for text in [
        "[login_protection]\nlockout_seconds = 0\n",
        "[sessions]\nidle_timeout_seconds = 0\n",
    ] {
        let err = tessera::config::parse_toml(text)
            .and_then(|mut c| c.validate().map(|_| c))
            .expect_err("refused");
        assert!(err.to_string().contains("config key"), "{err}");
    }
}
