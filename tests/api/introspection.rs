//! SPEC §7 introspection (RFC 7662) and revocation (RFC 7009), and who may call them (§6).

use crate::helpers::{json, spawn_app, spawn_app_with, ADMIN_PASSWORD, PASSWORD};
use time::Duration;

#[actix_rt::test]
async fn claims_token_introspects_with_its_claims() {
    let app = spawn_app().await;
    app.add_user("alice", &["Supervisor"]).await;
    let (_, claims) = app.login_ok("alice").await;

    let body = app.introspect(&claims).await;

    assert_eq!(body["active"], true);
    assert_eq!(body["token_type"], "claims_token");
    assert_eq!(body["sub"], "alice");
    assert_eq!(body["username"], "alice");
    assert_eq!(body["roles"], serde_json::json!(["Supervisor"]));
    assert_eq!(body["iss"], "http://127.0.0.1:8080");
    assert_eq!(body["aud"], "tessera");
    for field in ["exp", "iat", "jti", "sid"] {
        assert!(!body[field].is_null(), "{field}");
    }
}

#[actix_rt::test]
async fn refresh_token_introspects_with_its_session() {
    let app = spawn_app().await;
    app.add_user("alice", &[]).await;
    let (refresh, _) = app.login_ok("alice").await;

    let body = app.introspect(&refresh).await;

    assert_eq!(body["active"], true);
    assert_eq!(body["token_type"], "refresh_token");
    assert_eq!(body["sub"], "alice");
    assert!(body["exp"].as_i64().expect("exp") > body["iat"].as_i64().expect("iat"));
}

#[actix_rt::test]
async fn anything_not_live_is_just_inactive() {
    let app = spawn_app().await;
    app.add_user("alice", &[]).await;
    let (_, claims) = app.login_ok("alice").await;

    for token in ["", "garbage", "a.b.c", "tsr_abc"] {
        assert_eq!(
            app.introspect(token).await,
            serde_json::json!({"active": false}),
            "{token}"
        );
    }
    app.clock.advance(Duration::seconds(900));
    assert_eq!(
        app.introspect(&claims).await,
        serde_json::json!({"active": false})
    );
}

#[actix_rt::test]
async fn introspection_answers_on_both_listeners() {
    let app = spawn_app().await;
    app.add_user("alice", &[]).await;
    let (_, claims) = app.login_ok("alice").await;

    let res = app
        .client
        .post(format!("{}/oauth2/introspect", app.public))
        .basic_auth("admin", Some(ADMIN_PASSWORD))
        .form(&[("token", claims.as_str())])
        .send()
        .await
        .expect("request");

    assert_eq!(res.status(), 200);
    assert_eq!(json(res).await["active"], true);
}

#[actix_rt::test]
async fn failed_caller_auth_is_401_with_the_realm_and_an_empty_body() {
    let app = spawn_app_with(|c| c.server.realm = "contact-centre".into()).await;
    let url = format!("{}/oauth2/introspect", app.intranet);

    let anonymous = app
        .client
        .post(&url)
        .form(&[("token", "x")])
        .send()
        .await
        .expect("request");
    let wrong = app
        .client
        .post(&url)
        .basic_auth("admin", Some("wrong"))
        .form(&[("token", "x")])
        .send()
        .await
        .expect("request");
    let unknown = app
        .client
        .post(&url)
        .basic_auth("ghost", Some("wrong"))
        .form(&[("token", "x")])
        .send()
        .await
        .expect("request");

    for res in [anonymous, wrong, unknown] {
        assert_eq!(res.status(), 401);
        assert_eq!(
            res.headers()["www-authenticate"],
            r#"Basic realm="contact-centre""#
        );
        assert!(res.text().await.expect("body").is_empty());
    }
}

#[actix_rt::test]
async fn a_user_without_the_role_is_403_and_a_malformed_basic_header_400() {
    let app = spawn_app().await;
    app.add_user("agent", &["Supervisor"]).await;
    let url = format!("{}/oauth2/introspect", app.intranet);

    let forbidden = app
        .client
        .post(&url)
        .basic_auth("agent", Some(PASSWORD))
        .form(&[("token", "x")])
        .send()
        .await
        .expect("request");
    let malformed = app
        .client
        .post(&url)
        .header("Authorization", "Basic !!!not-base64")
        .form(&[("token", "x")])
        .send()
        .await
        .expect("request");

    assert_eq!(forbidden.status(), 403);
    assert_eq!(json(forbidden).await["error"], "forbidden");
    assert_eq!(malformed.status(), 400);
    assert_eq!(json(malformed).await["error"], "invalid_request");
}

#[actix_rt::test]
async fn configured_roles_decide_who_may_introspect() {
    let app =
        spawn_app_with(|c| c.service.introspection.roles = Some(vec!["Auditor".into()])).await;
    app.add_user("auditor", &["Auditor"]).await;

    let res = app
        .client
        .post(format!("{}/oauth2/introspect", app.intranet))
        .basic_auth("auditor", Some(PASSWORD))
        .form(&[("token", "x")])
        .send()
        .await
        .expect("request");
    let admin = app
        .client
        .post(format!("{}/oauth2/introspect", app.intranet))
        .basic_auth("admin", Some(ADMIN_PASSWORD))
        .form(&[("token", "x")])
        .send()
        .await
        .expect("request");

    assert_eq!(res.status(), 200);
    assert_eq!(admin.status(), 403);
}

async fn revoke(app: &crate::helpers::TestApp, token: &str) -> reqwest::Response {
    app.client
        .post(format!("{}/oauth2/revoke", app.intranet))
        .basic_auth("admin", Some(ADMIN_PASSWORD))
        .form(&[("token", token)])
        .send()
        .await
        .expect("request")
}

#[actix_rt::test]
async fn revoking_a_claims_token_makes_it_inactive_and_leaves_its_session() {
    let app = spawn_app().await;
    app.add_user("alice", &[]).await;
    let (refresh, claims) = app.login_ok("alice").await;

    assert_eq!(revoke(&app, &claims).await.status(), 200);

    assert_eq!(app.introspect(&claims).await["active"], false);
    assert_eq!(app.refresh(&refresh).await.status(), 200);
}

#[actix_rt::test]
async fn revoking_a_refresh_token_ends_its_session() {
    let app = spawn_app().await;
    app.add_user("alice", &[]).await;
    let (refresh, claims) = app.login_ok("alice").await;

    assert_eq!(revoke(&app, &refresh).await.status(), 200);

    assert_eq!(app.introspect(&claims).await["active"], false);
    assert_eq!(app.refresh(&refresh).await.status(), 401);
}

#[actix_rt::test]
async fn revoking_an_unknown_token_is_200_and_a_missing_one_400() {
    let app = spawn_app().await;
    assert_eq!(revoke(&app, "whatever").await.status(), 200);
    let missing = app
        .client
        .post(format!("{}/oauth2/revoke", app.intranet))
        .basic_auth("admin", Some(ADMIN_PASSWORD))
        .form(&[("nothing", "here")])
        .send()
        .await
        .expect("request");
    assert_eq!(missing.status(), 400);
}

async fn introspect_as(app: &crate::helpers::TestApp, user: &str, password: &str) -> u16 {
    app.client
        .post(format!("{}/oauth2/introspect", app.intranet))
        .basic_auth(user, Some(password))
        .form(&[("token", "x")])
        .send()
        .await
        .expect("request")
        .status()
        .as_u16()
}

#[actix_rt::test]
async fn a_recently_verified_basic_password_stops_working_at_once_when_changed() {
    let app = spawn_app().await;
    app.add_user("auditor", &["Administrator"]).await;
    assert_eq!(introspect_as(&app, "auditor", PASSWORD).await, 200);
    assert_eq!(
        introspect_as(&app, "auditor", PASSWORD).await,
        200,
        "remembered"
    );

    let changed = app
        .client
        .put(format!("{}/api/v1/users/auditor/password", app.intranet))
        .basic_auth("admin", Some(ADMIN_PASSWORD))
        .json(&serde_json::json!({"password": "a brand new password"}))
        .send()
        .await
        .expect("request");
    assert_eq!(changed.status(), 204);

    assert_eq!(introspect_as(&app, "auditor", PASSWORD).await, 401);
    assert_eq!(
        introspect_as(&app, "auditor", "a brand new password").await,
        200
    );
}

#[actix_rt::test]
async fn a_recently_verified_basic_caller_is_refused_once_disabled_or_expired() {
    let app = spawn_app().await;
    app.add_user("auditor", &["Administrator"]).await;
    app.add_user("other", &["Administrator"]).await;
    assert_eq!(introspect_as(&app, "auditor", PASSWORD).await, 200);
    assert_eq!(introspect_as(&app, "other", PASSWORD).await, 200);

    let disabled = app
        .client
        .patch(format!("{}/api/v1/users/auditor", app.intranet))
        .basic_auth("admin", Some(ADMIN_PASSWORD))
        .json(&serde_json::json!({"disabled": true}))
        .send()
        .await
        .expect("request");
    assert_eq!(disabled.status(), 200);
    assert_eq!(introspect_as(&app, "auditor", PASSWORD).await, 401);

    // Past the minute a credential is remembered, it is checked in full again (and still good).
    app.clock.advance(Duration::seconds(61));
    assert_eq!(introspect_as(&app, "other", PASSWORD).await, 200);
    assert_eq!(introspect_as(&app, "other", "wrong").await, 401);
}
