//! decisions-3 "Admin caller": who may call the `/api/v1/…` admin routes (SPEC §6 `admin`), and
//! that they answer on the intranet listener only.

use crate::admin_helpers::{admin_get, create_app, header};
use crate::helpers::{json, spawn_app, spawn_app_with, TestApp, ADMIN_PASSWORD, PASSWORD};
use tessera::http::{Access, Listener, ROUTES};

async fn list_apps(
    app: &TestApp,
    with: impl FnOnce(reqwest::RequestBuilder) -> reqwest::RequestBuilder,
) -> reqwest::Response {
    with(
        app.client
            .get(format!("{}/api/v1/applications", app.intranet)),
    )
    .send()
    .await
    .expect("request")
}

async fn claims_of(app: &TestApp, userid: &str, password: &str) -> (String, String) {
    let res = app.login(userid, password).await;
    assert_eq!(res.status(), 200);
    let body = json(res).await;
    (
        body["refresh_token"].as_str().expect("refresh").to_string(),
        body["claims_token"]["value"]
            .as_str()
            .expect("claims")
            .to_string(),
    )
}

#[actix_rt::test]
async fn the_admin_over_basic_may_call_admin_routes() {
    let app = spawn_app().await;

    let res = admin_get(&app, "/api/v1/applications").await;

    assert_eq!(res.status(), 200);
}

#[actix_rt::test]
async fn any_directory_user_with_the_administrator_role_may_call_admin_routes() {
    let app = spawn_app().await;
    app.add_user("ops", &["Administrator"]).await;

    let res = list_apps(&app, |r| r.basic_auth("ops", Some(PASSWORD))).await;

    assert_eq!(res.status(), 200);
}

#[actix_rt::test]
async fn a_directory_user_without_the_admin_role_is_403_forbidden() {
    let app = spawn_app().await;
    app.add_user("agent", &["Supervisor"]).await;

    let res = list_apps(&app, |r| r.basic_auth("agent", Some(PASSWORD))).await;

    assert_eq!(res.status(), 403);
    assert_eq!(json(res).await["error"], "forbidden");
}

#[actix_rt::test]
async fn missing_or_wrong_credentials_are_401_with_the_basic_challenge_and_an_empty_body() {
    let app = spawn_app().await;

    let anonymous = list_apps(&app, |r| r).await;
    let wrong = list_apps(&app, |r| r.basic_auth("admin", Some("wrong password"))).await;
    let unknown = list_apps(&app, |r| r.basic_auth("ghost", Some(PASSWORD))).await;
    let forged = list_apps(&app, |r| r.header("X-VoltMX-Authorization", "a.b.c")).await;

    for (what, res) in [
        ("anonymous", anonymous),
        ("wrong", wrong),
        ("unknown", unknown),
        ("forged", forged),
    ] {
        assert_eq!(res.status(), 401, "{what}");
        assert_eq!(
            header(&res, "www-authenticate").as_deref(),
            Some(r#"Basic realm="tessera""#),
            "{what}"
        );
        assert!(res.text().await.expect("body").is_empty(), "{what}");
    }
}

#[actix_rt::test]
async fn a_malformed_basic_header_is_400() {
    let app = spawn_app().await;

    let res = list_apps(&app, |r| r.header("Authorization", "Basic !!!not-base64")).await;

    assert_eq!(res.status(), 400);
    assert_eq!(json(res).await["error"], "invalid_request");
}

#[actix_rt::test]
async fn the_admins_claims_token_works_in_every_header() {
    let app = spawn_app().await;
    let (_, claims) = claims_of(&app, "admin", ADMIN_PASSWORD).await;

    for (name, value) in [
        ("X-VoltMX-Authorization", claims.clone()),
        ("X-Kony-Authorization", claims.clone()),
        ("Authorization", format!("Bearer {claims}")),
    ] {
        let res = list_apps(&app, |r| r.header(name, value)).await;

        assert_eq!(res.status(), 200, "{name}");
    }
}

#[actix_rt::test]
async fn a_claims_token_without_the_admin_role_is_403() {
    let app = spawn_app().await;
    app.add_user("agent", &["Supervisor"]).await;
    let (_, claims) = app.login_ok("agent").await;

    let res = list_apps(&app, |r| r.header("X-VoltMX-Authorization", claims)).await;

    assert_eq!(res.status(), 403);
    assert_eq!(json(res).await["error"], "forbidden");
}

#[actix_rt::test]
async fn a_logged_out_claims_token_is_refused() {
    let app = spawn_app().await;
    let (refresh, claims) = claims_of(&app, "admin", ADMIN_PASSWORD).await;
    let logout = app
        .client
        .post(format!("{}/authService/accounts/logout", app.public))
        .form(&[("refresh_token", refresh.as_str())])
        .send()
        .await
        .expect("request");
    assert_eq!(logout.status(), 200);

    let res = list_apps(&app, |r| r.header("X-VoltMX-Authorization", claims)).await;

    assert_eq!(res.status(), 401);
    assert_eq!(
        header(&res, "www-authenticate").as_deref(),
        Some(r#"Basic realm="tessera""#)
    );
}

#[actix_rt::test]
async fn an_expired_claims_token_is_refused() {
    let app = spawn_app().await;
    let (_, claims) = claims_of(&app, "admin", ADMIN_PASSWORD).await;
    app.clock.advance(time::Duration::seconds(901));

    let res = list_apps(&app, |r| r.header("X-VoltMX-Authorization", claims)).await;

    assert_eq!(res.status(), 401);
}

#[actix_rt::test]
async fn configured_admin_roles_decide_who_is_an_administrator() {
    let app = spawn_app_with(|c| c.service.admin.roles = Some(vec!["Ops".into()])).await;
    app.add_user("operator", &["Ops"]).await;

    let operator = list_apps(&app, |r| r.basic_auth("operator", Some(PASSWORD))).await;
    let admin = list_apps(&app, |r| r.basic_auth("admin", Some(ADMIN_PASSWORD))).await;

    assert_eq!(operator.status(), 200);
    assert_eq!(admin.status(), 403);
}

/// Every route of a protected service (SPEC §6) on the intranet listener, taken from the
/// router's own table so that a route is swept the day it is added, with `id` standing in for
/// each path parameter (`admin` for a userid).
fn protected_routes(id: &str) -> Vec<(&'static str, String)> {
    ROUTES
        .iter()
        .filter(|r| {
            matches!(r.on, Listener::Intranet | Listener::Both)
                && matches!(
                    r.access,
                    Access::Admin | Access::Introspection | Access::Statistics
                )
        })
        .map(|r| {
            let path = r
                .path
                .replace("{userid}", "admin")
                .replace("{app_id}", id)
                .replace("{client_id}", id)
                .replace("{id}", id);
            assert!(
                !path.contains('{'),
                "a parameter this sweep cannot fill: {path}"
            );
            (r.method.as_str(), path)
        })
        .collect()
}

#[test]
fn the_sweep_covers_the_routes_the_review_found_missing() {
    let routes = protected_routes("x");
    for (method, path) in [
        ("POST", "/api/v1/admin/reload"),
        ("GET", "/api/v1/admin/backup"),
        ("GET", "/api/v1/statistics"),
        ("POST", "/api/v1/tokens/preamble"),
    ] {
        assert!(
            routes.iter().any(|(m, p)| *m == method && p == path),
            "{method} {path}"
        );
    }
}

async fn call(
    app: &TestApp,
    base: &str,
    method: &str,
    path: &str,
    with: impl Fn(reqwest::RequestBuilder) -> reqwest::RequestBuilder,
) -> reqwest::Response {
    let req = app
        .client
        .request(
            reqwest::Method::from_bytes(method.as_bytes()).expect("method"),
            format!("{base}{path}"),
        )
        .json(&serde_json::json!({}));
    with(req).send().await.expect("request")
}

/// Calls every admin route on the intranet listener as `with` says; returns the routes that
/// did not answer `status` (with what they answered), so one run names them all.
async fn routes_not_answering(
    app: &TestApp,
    status: u16,
    with: impl Fn(reqwest::RequestBuilder) -> reqwest::RequestBuilder,
) -> Vec<String> {
    let id = uuid::Uuid::new_v4().to_string();
    let routes = protected_routes(&id);
    let mut wrong = Vec::new();
    for (method, path) in routes {
        let res = call(app, &app.intranet, method, &path, &with).await;
        let challenge = header(&res, "www-authenticate");
        if res.status().as_u16() != status
            || (status == 401 && challenge.as_deref() != Some(r#"Basic realm="tessera""#))
        {
            wrong.push(format!("{method} {path}: {} {challenge:?}", res.status()));
        }
    }
    wrong
}

#[actix_rt::test]
async fn every_protected_route_refuses_an_anonymous_caller_with_the_challenge() {
    let app = spawn_app().await;

    let wrong = routes_not_answering(&app, 401, |r| r).await;

    assert!(wrong.is_empty(), "{wrong:#?}");
}

#[actix_rt::test]
async fn every_protected_route_refuses_a_wrong_password_before_looking_at_the_body() {
    // Many deliberate failures from one address: lift the lockout this test is not about.
    let app = spawn_app_with(|c| {
        c.login_protection.max_failures = 1000;
        c.login_protection.max_failures_per_address = 1000;
    })
    .await;

    let wrong = routes_not_answering(&app, 401, |r| r.basic_auth("admin", Some("wrong"))).await;

    assert!(wrong.is_empty(), "{wrong:#?}");
}

#[actix_rt::test]
async fn every_protected_route_is_403_for_a_user_without_the_role() {
    let app = spawn_app().await;
    app.add_user("agent", &["Agent"]).await;

    let wrong = routes_not_answering(&app, 403, |r| r.basic_auth("agent", Some(PASSWORD))).await;

    assert!(wrong.is_empty(), "{wrong:#?}");
    assert_eq!(admin_get(&app, "/api/v1/users/admin").await.status(), 200);
}

#[actix_rt::test]
async fn intranet_only_routes_are_not_served_on_the_public_listener() {
    let app = spawn_app().await;
    let id = uuid::Uuid::new_v4().to_string();
    let public: Vec<_> = ROUTES
        .iter()
        .filter(|r| r.on != Listener::Intranet)
        .collect();
    let public_paths: Vec<&str> = public.iter().map(|r| r.path).collect();
    // The routes whose method and path the public listener does not serve at all.
    let intranet_only = ROUTES.iter().filter(|r| {
        r.on == Listener::Intranet
            && !public
                .iter()
                .any(|p| p.path == r.path && p.method == r.method)
    });

    for r in intranet_only {
        let path = r
            .path
            .replace("{userid}", "admin")
            .replace("{app_id}", &id)
            .replace("{client_id}", &id)
            .replace("{id}", &id);
        let res = call(&app, &app.public, r.method.as_str(), &path, |r| {
            r.basic_auth("admin", Some(ADMIN_PASSWORD))
        })
        .await;

        // 405 where the public listener serves the path with another method, else 404.
        let expected = if public_paths.contains(&r.path) {
            405
        } else {
            404
        };
        assert_eq!(res.status(), expected, "{} {path}", r.method);
    }
}

#[actix_rt::test]
async fn an_application_cannot_be_deleted_through_the_public_listener() {
    // The path is served on the public listener for the app-side GET, so another method there is
    // the JSON 405 of SPEC §9 rather than a 404; either way nothing is deleted.
    let app = spawn_app().await;
    let app_id = create_app(&app, "kept").await;

    let res = app
        .client
        .delete(format!("{}/api/v1/applications/{app_id}", app.public))
        .basic_auth("admin", Some(ADMIN_PASSWORD))
        .send()
        .await
        .expect("request");

    assert!(
        [404, 405].contains(&res.status().as_u16()),
        "{}",
        res.status()
    );
    assert_eq!(
        admin_get(&app, &format!("/api/v1/applications/{app_id}"))
            .await
            .status(),
        200
    );
}

#[actix_rt::test]
async fn the_admin_routes_answer_on_the_intranet_listener() {
    let app = spawn_app().await;

    for path in [
        "/api/v1/users",
        "/api/v1/applications",
        "/api/v1/oauth/clients",
        "/api/v1/signing-keys",
    ] {
        assert_eq!(admin_get(&app, path).await.status(), 200, "{path}");
    }
}
