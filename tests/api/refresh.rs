//! SPEC §3 refresh: rotation, reuse detection scoped to one session, the `claims` variant, the
//! race of concurrent refreshes, expiry, and the RFC 6749 token endpoint.

use crate::helpers::{json, spawn_app, spawn_app_with};
use time::Duration;

#[actix_rt::test]
async fn refresh_answers_like_login_and_spends_the_old_token() {
    let app = spawn_app().await;
    app.add_user("alice", &[]).await;
    let (first, _) = app.login_ok("alice").await;

    let res = app.refresh(&first).await;

    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["cache-control"], "no-store");
    let body = json(res).await;
    let second = body["refresh_token"].as_str().expect("token");
    assert_ne!(second, first);
    assert_eq!(body["profile"]["userid"], "alice");
    assert!(body["claims_token"]["value"].is_string());
    assert_eq!(app.introspect(&first).await["active"], false);
    assert_eq!(app.introspect(second).await["active"], true);
}

#[actix_rt::test]
async fn spent_refresh_token_revokes_its_session_and_no_other() {
    let app = spawn_app().await;
    app.add_user("alice", &[]).await;
    let (stolen, claims_a) = app.login_ok("alice").await;
    let (other_session, claims_b) = app.login_ok("alice").await;
    let legit = json(app.refresh(&stolen).await).await["refresh_token"]
        .as_str()
        .expect("token")
        .to_string();

    let replay = app.refresh(&stolen).await;

    assert_eq!(replay.status(), 401);
    assert_eq!(json(replay).await["error"], "invalid_grant");
    assert_eq!(
        app.refresh(&legit).await.status(),
        401,
        "the whole session is revoked"
    );
    assert_eq!(app.introspect(&claims_a).await["active"], false);
    assert_eq!(app.introspect(&claims_b).await["active"], true);
    assert_eq!(app.refresh(&other_session).await.status(), 200);
}

#[actix_rt::test]
async fn claims_route_takes_the_raw_refresh_token_in_authorization() {
    let app = spawn_app().await;
    app.add_user("alice", &[]).await;
    let (first, _) = app.login_ok("alice").await;

    let raw = app
        .client
        .post(format!("{}/authService/accounts/claims", app.public))
        .header("Authorization", &first)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .send()
        .await
        .expect("request");
    assert_eq!(raw.status(), 200);
    let second = json(raw).await["refresh_token"]
        .as_str()
        .expect("token")
        .to_string();

    let bearer = app
        .client
        .post(format!("{}/authService/accounts/claims", app.public))
        .bearer_auth(&second)
        .send()
        .await
        .expect("request");
    assert_eq!(bearer.status(), 200);

    let missing = app
        .client
        .post(format!("{}/authService/accounts/claims", app.public))
        .send()
        .await
        .expect("request");
    assert_eq!(missing.status(), 400);
}

#[actix_rt::test]
async fn concurrent_refreshes_of_one_token_have_exactly_one_winner_and_no_fork() {
    let app = spawn_app().await;
    app.add_user("alice", &[]).await;
    let (token, claims) = app.login_ok("alice").await;

    let attempts = (0..20).map(|_| app.refresh(&token));
    let responses = futures_util::future::join_all(attempts).await;
    let mut successors = Vec::new();
    let mut statuses = Vec::new();
    for res in responses {
        statuses.push(res.status().as_u16());
        if res.status() == 200 {
            successors.push(
                json(res).await["refresh_token"]
                    .as_str()
                    .expect("token")
                    .to_string(),
            );
        }
    }

    crate::helpers::assert_one_winner_no_fork(&app, &statuses, &successors, &claims).await;
}

#[actix_rt::test]
async fn a_replay_after_a_race_still_ends_the_session() {
    let app = spawn_app().await;
    app.add_user("alice", &[]).await;
    let (token, claims) = app.login_ok("alice").await;
    let _ = futures_util::future::join_all((0..5).map(|_| app.refresh(&token))).await;

    let replay = app.refresh(&token).await;

    assert_eq!(replay.status(), 401);
    assert_eq!(app.introspect(&claims).await["active"], false);
}

#[actix_rt::test]
async fn refresh_token_expires_after_its_idle_lifetime() {
    let app = spawn_app_with(|c| c.tokens.refresh_ttl_seconds = 600).await;
    app.add_user("alice", &[]).await;
    let (first, _) = app.login_ok("alice").await;
    app.clock.advance(Duration::seconds(599));
    let second = json(app.refresh(&first).await).await["refresh_token"]
        .as_str()
        .expect("fresh token")
        .to_string();

    app.clock.advance(Duration::seconds(600));

    assert_eq!(app.refresh(&second).await.status(), 401);
}

#[actix_rt::test]
async fn a_session_ends_at_its_absolute_age_however_often_it_refreshes() {
    let app = spawn_app_with(|c| {
        c.tokens.refresh_ttl_seconds = 600;
        c.tokens.session_max_age_seconds = 1000;
    })
    .await;
    app.add_user("alice", &[]).await;
    let (mut token, _) = app.login_ok("alice").await;
    for _ in 0..3 {
        app.clock.advance(Duration::seconds(300));
        let res = app.refresh(&token).await;
        assert_eq!(res.status(), 200);
        token = json(res).await["refresh_token"]
            .as_str()
            .expect("token")
            .to_string();
    }

    app.clock.advance(Duration::seconds(101));

    assert_eq!(app.refresh(&token).await.status(), 401);
}

#[actix_rt::test]
async fn garbage_truncated_and_foreign_tokens_are_refused() {
    let app = spawn_app().await;
    app.add_user("alice", &[]).await;
    let (token, claims) = app.login_ok("alice").await;

    for bad in [
        "nonsense".to_string(),
        token[..token.len() - 1].to_string(),
        token.replace("tsr_", "tsk_"),
        claims,
        String::new(),
    ] {
        let res = app.refresh(&bad).await;
        assert!(res.status() == 401 || res.status() == 400, "{bad}");
    }
    assert_eq!(
        app.refresh(&token).await.status(),
        200,
        "the real one still works"
    );
}

#[actix_rt::test]
async fn a_disabled_users_refresh_token_stops_working() {
    let app = spawn_app().await;
    app.add_user("alice", &[]).await;
    let (token, _) = app.login_ok("alice").await;
    let userid = tessera::domain::UserId::parse("alice").expect("valid");
    let mut user = app
        .ctx
        .store
        .get_user(&userid)
        .await
        .expect("read")
        .expect("exists");
    user.disabled = true;
    app.ctx.store.update_user(&user).await.expect("update");

    assert_eq!(app.refresh(&token).await.status(), 401);
}

#[actix_rt::test]
async fn token_endpoint_refresh_grant_and_its_errors() {
    let app = spawn_app().await;
    app.add_user("alice", &[]).await;
    let (token, _) = app.login_ok("alice").await;
    let post = |form: Vec<(&'static str, String)>| {
        app.client
            .post(format!("{}/oauth2/token", app.public))
            .form(&form)
            .send()
    };

    let ok = post(vec![
        ("grant_type", "refresh_token".into()),
        ("refresh_token", token.clone()),
    ])
    .await
    .expect("request");
    assert_eq!(ok.status(), 200);
    assert_eq!(ok.headers()["cache-control"], "no-store");
    let body = json(ok).await;
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 900);
    assert!(body["access_token"].is_string());
    assert!(body["refresh_token"]
        .as_str()
        .expect("token")
        .starts_with("tsr_"));

    let spent = post(vec![
        ("grant_type", "refresh_token".into()),
        ("refresh_token", token),
    ])
    .await
    .expect("request");
    assert_eq!(spent.status(), 400);
    assert_eq!(json(spent).await["error"], "invalid_grant");

    let unsupported = post(vec![("grant_type", "password".into())])
        .await
        .expect("request");
    assert_eq!(unsupported.status(), 400);
    assert_eq!(json(unsupported).await["error"], "unsupported_grant_type");

    let missing = post(vec![]).await.expect("request");
    assert_eq!(missing.status(), 400);
    assert_eq!(json(missing).await["error"], "invalid_request");
}
