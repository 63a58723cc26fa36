//! SPEC §3 logout: by refresh token or by the claims token in any of its headers.

use crate::helpers::{json, spawn_app, TestApp};

async fn logout_with(
    app: &TestApp,
    header: Option<(&str, String)>,
    form: &[(&str, &str)],
) -> reqwest::Response {
    let mut req = app
        .client
        .post(format!("{}/authService/accounts/logout", app.public))
        .form(form);
    if let Some((name, value)) = header {
        req = req.header(name, value);
    }
    req.send().await.expect("request")
}

#[actix_rt::test]
async fn logout_by_refresh_token_ends_the_session() {
    let app = spawn_app().await;
    app.add_user("alice", &[]).await;
    let (refresh, claims) = app.login_ok("alice").await;

    let res = logout_with(&app, None, &[("refresh_token", &refresh)]).await;

    assert_eq!(res.status(), 200);
    assert_eq!(app.refresh(&refresh).await.status(), 401);
    assert_eq!(app.introspect(&claims).await["active"], false);
    assert_eq!(app.introspect(&refresh).await["active"], false);
}

#[actix_rt::test]
async fn logout_by_claims_token_in_each_header_ends_the_session() {
    let app = spawn_app().await;
    app.add_user("alice", &[]).await;
    for header in [
        "X-VoltMX-Authorization",
        "x-kony-authorization",
        "Authorization",
    ] {
        let (refresh, claims) = app.login_ok("alice").await;
        let value = if header == "Authorization" {
            format!("Bearer {claims}")
        } else {
            claims.clone()
        };

        let res = logout_with(&app, Some((header, value)), &[]).await;

        assert_eq!(res.status(), 200, "{header}");
        assert_eq!(app.refresh(&refresh).await.status(), 401, "{header}");
        assert_eq!(app.introspect(&claims).await["active"], false, "{header}");
    }
}

#[actix_rt::test]
async fn logout_of_one_session_leaves_the_others() {
    let app = spawn_app().await;
    app.add_user("alice", &[]).await;
    let (first, _) = app.login_ok("alice").await;
    let (second, claims) = app.login_ok("alice").await;

    logout_with(&app, None, &[("refresh_token", &first)]).await;

    assert_eq!(app.introspect(&claims).await["active"], true);
    assert_eq!(app.refresh(&second).await.status(), 200);
}

#[actix_rt::test]
async fn logout_twice_succeeds_and_bad_or_missing_tokens_do_not() {
    let app = spawn_app().await;
    app.add_user("alice", &[]).await;
    let (refresh, _) = app.login_ok("alice").await;

    assert_eq!(
        logout_with(&app, None, &[("refresh_token", &refresh)])
            .await
            .status(),
        200
    );
    assert_eq!(
        logout_with(&app, None, &[("refresh_token", &refresh)])
            .await
            .status(),
        200
    );
    let garbage = logout_with(&app, None, &[("refresh_token", "tsr_nope")]).await;
    assert_eq!(garbage.status(), 401);
    assert_eq!(json(garbage).await["error"], "invalid_grant");
    let forged = logout_with(&app, Some(("X-VoltMX-Authorization", "a.b.c".into())), &[]).await;
    assert_eq!(forged.status(), 401);
    assert_eq!(logout_with(&app, None, &[]).await.status(), 400);
}
