//! decisions-5 "Browser sessions + CSRF" (SPEC §8): the `tessera_session` cookie, the CSRF
//! token it comes with, the idle timeout, and everything that ends a session. The shared client
//! keeps no cookies, so each test carries the cookie itself.

use crate::admin_helpers::{admin_patch, admin_put, header};
use crate::helpers::{json, spawn_app, spawn_app_with, TestApp, ADMIN_PASSWORD, PASSWORD};
use serde_json::json;
use time::Duration;

/// A signed-in browser: the `Cookie` header value to send back, and the CSRF token.
struct Browser {
    cookie: String,
    csrf: String,
}

async fn sign_in(app: &TestApp, userid: &str, password: &str) -> reqwest::Response {
    app.client
        .post(format!("{}/api/v1/session", app.intranet))
        .json(&json!({"userid": userid, "password": password}))
        .send()
        .await
        .expect("request")
}

/// The `Set-Cookie` header that sets `tessera_session`.
fn session_set_cookie(res: &reqwest::Response) -> String {
    res.headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().expect("ascii set-cookie").to_string())
        .find(|v| v.starts_with("tessera_session="))
        .unwrap_or_else(|| panic!("no tessera_session cookie in {:?}", res.headers()))
}

/// `tessera_session=<value>` of a `Set-Cookie` header: what a browser sends back.
fn cookie_pair(set_cookie: &str) -> String {
    set_cookie
        .split(';')
        .next()
        .expect("name=value")
        .trim()
        .to_string()
}

/// The attributes of a `Set-Cookie` header after `name=value`, trimmed.
fn attributes(set_cookie: &str) -> Vec<String> {
    set_cookie
        .split(';')
        .skip(1)
        .map(|a| a.trim().to_string())
        .collect()
}

async fn signed_in(app: &TestApp, userid: &str, password: &str) -> Browser {
    let res = sign_in(app, userid, password).await;
    assert_eq!(res.status(), 200, "sign-in of {userid}");
    let cookie = cookie_pair(&session_set_cookie(&res));
    let csrf = header(&res, "x-csrf-token").expect("X-CSRF-TOKEN");
    Browser { cookie, csrf }
}

/// A request on the intranet listener carrying only the browser's cookie.
fn with_cookie(
    app: &TestApp,
    browser: &Browser,
    method: reqwest::Method,
    path: &str,
) -> reqwest::RequestBuilder {
    app.client
        .request(method, format!("{}{path}", app.intranet))
        .header("Cookie", &browser.cookie)
}

async fn who(app: &TestApp, browser: &Browser) -> reqwest::Response {
    with_cookie(app, browser, reqwest::Method::GET, "/api/v1/session")
        .send()
        .await
        .expect("request")
}

/// `POST /api/v1/applications` with the cookie and, if given, this X-CSRF-TOKEN.
async fn create_app_by_cookie(
    app: &TestApp,
    browser: &Browser,
    csrf: Option<&str>,
) -> reqwest::Response {
    let mut req = with_cookie(app, browser, reqwest::Method::POST, "/api/v1/applications")
        .json(&json!({"name": "x"}));
    if let Some(token) = csrf {
        req = req.header("X-CSRF-TOKEN", token);
    }
    req.send().await.expect("request")
}

async fn assert_csrf_refused(res: reqwest::Response, what: &str) {
    assert_eq!(res.status(), 403, "{what}");
    assert_eq!(json(res).await["error"], "csrf_token_invalid", "{what}");
}

// --- signing in ---------------------------------------------------------------------------

#[actix_rt::test]
async fn signing_in_sets_an_httponly_strict_cookie_and_hands_out_a_csrf_token() {
    let app = spawn_app().await;
    app.add_user("alice", &[]).await;

    let res = sign_in(&app, "alice", PASSWORD).await;

    assert_eq!(res.status(), 200);
    let set_cookie = session_set_cookie(&res);
    let attrs = attributes(&set_cookie);
    let has = |name: &str| attrs.iter().any(|a| a.eq_ignore_ascii_case(name));
    assert!(has("HttpOnly"), "{set_cookie}");
    assert!(has("SameSite=Strict"), "{set_cookie}");
    assert!(has("Path=/"), "{set_cookie}");
    assert!(!has("Secure"), "plain http gets no Secure: {set_cookie}");
    assert!(cookie_pair(&set_cookie).len() > "tessera_session=".len());
    assert_eq!(
        header(&res, "x-csrf-header").as_deref(),
        Some("X-CSRF-TOKEN")
    );
    let token = header(&res, "x-csrf-token").expect("X-CSRF-TOKEN");
    assert!(!token.is_empty());
    assert_eq!(header(&res, "cache-control").as_deref(), Some("no-store"));
    let body = json(res).await;
    assert_eq!(body["userid"], "alice");
    assert_eq!(body["email"], "alice@example.com");
    assert_eq!(body["firstname"], "Test");
    assert_eq!(body["lastname"], "User");
    assert_eq!(body["roles"], json!([]));
}

#[actix_rt::test]
async fn signing_in_by_form_works_like_json() {
    let app = spawn_app().await;
    app.add_user("alice", &[]).await;

    let res = app
        .client
        .post(format!("{}/api/v1/session", app.intranet))
        .form(&[("userid", "alice"), ("password", PASSWORD)])
        .send()
        .await
        .expect("request");

    assert_eq!(res.status(), 200);
    session_set_cookie(&res);
}

#[actix_rt::test]
async fn the_session_answers_its_user_and_the_same_csrf_token() {
    let app = spawn_app().await;
    app.add_user("alice", &["Supervisor"]).await;
    let browser = signed_in(&app, "alice", PASSWORD).await;

    let res = who(&app, &browser).await;

    assert_eq!(res.status(), 200);
    assert_eq!(
        header(&res, "x-csrf-header").as_deref(),
        Some("X-CSRF-TOKEN")
    );
    assert_eq!(
        header(&res, "x-csrf-token").as_deref(),
        Some(browser.csrf.as_str())
    );
    let body = json(res).await;
    assert_eq!(body["userid"], "alice");
    assert_eq!(body["roles"], json!(["Supervisor"]));
}

#[actix_rt::test]
async fn a_wrong_password_signs_nobody_in() {
    let app = spawn_app().await;
    app.add_user("alice", &[]).await;

    let res = sign_in(&app, "alice", "wrong password").await;

    assert_eq!(res.status(), 401);
    assert!(res.headers().get("set-cookie").is_none());
    assert_eq!(json(res).await["error"], "invalid_credentials");
}

#[actix_rt::test]
async fn without_a_cookie_there_is_no_session_and_no_basic_challenge() {
    let app = spawn_app().await;

    let res = app
        .client
        .get(format!("{}/api/v1/session", app.intranet))
        .send()
        .await
        .expect("request");

    assert_eq!(res.status(), 401);
    assert!(res.headers().get("www-authenticate").is_none());
    assert_eq!(json(res).await["error"], "unauthorized");
}

#[actix_rt::test]
async fn an_unknown_cookie_is_no_session() {
    let app = spawn_app().await;
    let browser = Browser {
        cookie: "tessera_session=made-up-value".into(),
        csrf: "made-up".into(),
    };

    let res = who(&app, &browser).await;

    assert_eq!(res.status(), 401);
}

// --- the cookie on admin routes and CSRF -------------------------------------------------

#[actix_rt::test]
async fn an_admin_cookie_reads_admin_routes_without_a_csrf_token() {
    let app = spawn_app().await;
    let browser = signed_in(&app, "admin", ADMIN_PASSWORD).await;

    let res = with_cookie(&app, &browser, reqwest::Method::GET, "/api/v1/applications")
        .send()
        .await
        .expect("request");

    assert_eq!(res.status(), 200);
}

#[actix_rt::test]
async fn a_cookie_borne_post_without_the_csrf_token_is_refused() {
    let app = spawn_app().await;
    let browser = signed_in(&app, "admin", ADMIN_PASSWORD).await;

    let res = create_app_by_cookie(&app, &browser, None).await;

    assert_csrf_refused(res, "no token").await;
}

#[actix_rt::test]
async fn a_cookie_borne_post_with_a_wrong_csrf_token_is_refused() {
    let app = spawn_app().await;
    let browser = signed_in(&app, "admin", ADMIN_PASSWORD).await;
    let other = signed_in(&app, "admin", ADMIN_PASSWORD).await;

    let wrong = create_app_by_cookie(&app, &browser, Some("not-the-token")).await;
    let anothers = create_app_by_cookie(&app, &browser, Some(&other.csrf)).await;

    assert_csrf_refused(wrong, "a made-up token").await;
    assert_csrf_refused(anothers, "another session's token").await;
}

#[actix_rt::test]
async fn a_cookie_borne_post_with_the_right_csrf_token_is_done() {
    let app = spawn_app().await;
    let browser = signed_in(&app, "admin", ADMIN_PASSWORD).await;

    let res = create_app_by_cookie(&app, &browser, Some(&browser.csrf)).await;

    assert_eq!(res.status(), 201);
    assert_eq!(json(res).await["name"], "x");
}

#[actix_rt::test]
async fn basic_credentials_need_no_csrf_token_even_beside_a_cookie() {
    let app = spawn_app().await;
    let browser = signed_in(&app, "admin", ADMIN_PASSWORD).await;

    let res = with_cookie(
        &app,
        &browser,
        reqwest::Method::POST,
        "/api/v1/applications",
    )
    .basic_auth("admin", Some(ADMIN_PASSWORD))
    .json(&json!({"name": "x"}))
    .send()
    .await
    .expect("request");

    assert_eq!(res.status(), 201);
}

#[actix_rt::test]
async fn with_csrf_disabled_a_cookie_borne_post_needs_no_token() {
    let app = spawn_app_with(|c| c.csrf.enable = false).await;
    let browser = signed_in(&app, "admin", ADMIN_PASSWORD).await;

    let res = create_app_by_cookie(&app, &browser, None).await;

    assert_eq!(res.status(), 201);
}

#[actix_rt::test]
async fn a_non_admin_cookie_is_forbidden_on_admin_routes() {
    let app = spawn_app().await;
    app.add_user("alice", &["Supervisor"]).await;
    let browser = signed_in(&app, "alice", PASSWORD).await;

    let read = with_cookie(&app, &browser, reqwest::Method::GET, "/api/v1/applications")
        .send()
        .await
        .expect("request");
    let write = create_app_by_cookie(&app, &browser, Some(&browser.csrf)).await;

    assert_eq!(read.status(), 403);
    assert_eq!(write.status(), 403);
}

// --- the idle timeout --------------------------------------------------------------------

#[actix_rt::test]
async fn a_session_idle_for_the_timeout_stops_working() {
    let app = spawn_app_with(|c| c.sessions.idle_timeout_seconds = 60).await;
    let browser = signed_in(&app, "admin", ADMIN_PASSWORD).await;

    app.clock.advance(Duration::seconds(60));

    assert_eq!(who(&app, &browser).await.status(), 401);
    let admin = with_cookie(&app, &browser, reqwest::Method::GET, "/api/v1/applications")
        .send()
        .await
        .expect("request");
    assert_eq!(admin.status(), 401);
}

#[actix_rt::test]
async fn each_request_restarts_the_idle_clock() {
    let app = spawn_app_with(|c| c.sessions.idle_timeout_seconds = 60).await;
    let browser = signed_in(&app, "admin", ADMIN_PASSWORD).await;

    app.clock.advance(Duration::seconds(50));
    assert_eq!(who(&app, &browser).await.status(), 200);
    app.clock.advance(Duration::seconds(50));
    let admin = with_cookie(&app, &browser, reqwest::Method::GET, "/api/v1/applications")
        .send()
        .await
        .expect("request");
    app.clock.advance(Duration::seconds(50));

    assert_eq!(admin.status(), 200, "an admin route restarts it too");
    assert_eq!(who(&app, &browser).await.status(), 200);
}

// --- ending a session --------------------------------------------------------------------

#[actix_rt::test]
async fn signing_out_with_the_csrf_token_removes_the_cookie_and_ends_the_session() {
    let app = spawn_app().await;
    let browser = signed_in(&app, "admin", ADMIN_PASSWORD).await;

    let res = with_cookie(&app, &browser, reqwest::Method::DELETE, "/api/v1/session")
        .header("X-CSRF-TOKEN", &browser.csrf)
        .send()
        .await
        .expect("request");

    assert_eq!(res.status(), 204);
    let removal = session_set_cookie(&res);
    let attrs = attributes(&removal);
    assert!(
        attrs
            .iter()
            .any(|a| a.eq_ignore_ascii_case("Max-Age=0") || a.starts_with("Expires=")),
        "the cookie is removed: {removal}"
    );
    assert_eq!(who(&app, &browser).await.status(), 401);
    let admin = with_cookie(&app, &browser, reqwest::Method::GET, "/api/v1/applications")
        .send()
        .await
        .expect("request");
    assert_eq!(admin.status(), 401);
}

#[actix_rt::test]
async fn signing_out_without_the_csrf_token_is_refused_and_the_session_goes_on() {
    let app = spawn_app().await;
    let browser = signed_in(&app, "admin", ADMIN_PASSWORD).await;

    let res = with_cookie(&app, &browser, reqwest::Method::DELETE, "/api/v1/session")
        .send()
        .await
        .expect("request");

    assert_csrf_refused(res, "sign-out without a token").await;
    assert_eq!(who(&app, &browser).await.status(), 200);
}

#[actix_rt::test]
async fn disabling_the_user_ends_the_session() {
    let app = spawn_app().await;
    app.add_user("alice", &[]).await;
    let browser = signed_in(&app, "alice", PASSWORD).await;
    assert_eq!(who(&app, &browser).await.status(), 200);

    let res = admin_patch(&app, "/api/v1/users/alice", json!({"disabled": true})).await;

    assert_eq!(res.status(), 200);
    assert_eq!(who(&app, &browser).await.status(), 401);
}

#[actix_rt::test]
async fn a_new_password_ends_the_session() {
    let app = spawn_app().await;
    app.add_user("alice", &[]).await;
    let browser = signed_in(&app, "alice", PASSWORD).await;
    assert_eq!(who(&app, &browser).await.status(), 200);

    let res = admin_put(
        &app,
        "/api/v1/users/alice/password",
        json!({"password": "a brand new password"}),
    )
    .await;

    assert!(res.status().is_success(), "{}", res.status());
    assert_eq!(who(&app, &browser).await.status(), 401);
    signed_in(&app, "alice", "a brand new password").await;
}

#[actix_rt::test]
async fn deleting_the_user_ends_the_session() {
    let app = spawn_app().await;
    app.add_user("alice", &[]).await;
    let browser = signed_in(&app, "alice", PASSWORD).await;

    let res = crate::admin_helpers::admin_delete(&app, "/api/v1/users/alice").await;

    assert_eq!(res.status(), 204);
    assert_eq!(who(&app, &browser).await.status(), 401);
}

#[actix_rt::test]
async fn failed_session_sign_ins_count_for_the_login_lockout() {
    let app = spawn_app().await;
    app.add_user("alice", &[]).await;
    for _ in 0..5 {
        assert_eq!(sign_in(&app, "alice", "wrong password").await.status(), 401);
    }

    let login = app.login("alice", PASSWORD).await;
    let session = sign_in(&app, "alice", PASSWORD).await;

    assert_eq!(login.status(), 429);
    assert_eq!(session.status(), 429);
}
