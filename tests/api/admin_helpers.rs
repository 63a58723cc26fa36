//! Helpers for the admin REST API tests (decisions-3): admin calls on the intranet listener as
//! `admin` over Basic, and one-line set-ups for applications, keys, device tokens and clients.

use crate::helpers::{json, TestApp, ADMIN_PASSWORD};
use serde_json::Value;
use std::collections::BTreeSet;
use tessera::clock::Clock;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// An admin request on the intranet listener, `admin` over Basic.
pub fn admin_request(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
) -> reqwest::RequestBuilder {
    app.client
        .request(method, format!("{}{path}", app.intranet))
        .basic_auth("admin", Some(ADMIN_PASSWORD))
}

pub async fn admin_get(app: &TestApp, path: &str) -> reqwest::Response {
    admin_request(app, reqwest::Method::GET, path)
        .send()
        .await
        .expect("request")
}

pub async fn admin_post(app: &TestApp, path: &str, body: Value) -> reqwest::Response {
    admin_request(app, reqwest::Method::POST, path)
        .json(&body)
        .send()
        .await
        .expect("request")
}

pub async fn admin_patch(app: &TestApp, path: &str, body: Value) -> reqwest::Response {
    admin_request(app, reqwest::Method::PATCH, path)
        .json(&body)
        .send()
        .await
        .expect("request")
}

pub async fn admin_put(app: &TestApp, path: &str, body: Value) -> reqwest::Response {
    admin_request(app, reqwest::Method::PUT, path)
        .json(&body)
        .send()
        .await
        .expect("request")
}

pub async fn admin_delete(app: &TestApp, path: &str) -> reqwest::Response {
    admin_request(app, reqwest::Method::DELETE, path)
        .send()
        .await
        .expect("request")
}

/// Asserts a status and returns the JSON body, naming the request when it fails.
pub async fn expect_json(res: reqwest::Response, status: u16, what: &str) -> Value {
    let actual = res.status().as_u16();
    let text = res.text().await.expect("body");
    assert_eq!(actual, status, "{what}: {text}");
    serde_json::from_str(&text).unwrap_or_else(|_| panic!("{what}: not JSON: {text}"))
}

/// The names of a JSON object's fields.
pub fn fields(value: &Value) -> BTreeSet<String> {
    value
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {value}"))
        .keys()
        .cloned()
        .collect()
}

pub fn field_set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|n| n.to_string()).collect()
}

/// The server's current time (the test's fixed clock).
pub fn now(app: &TestApp) -> OffsetDateTime {
    app.clock.now()
}

pub fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).expect("format")
}

pub fn parse_time(value: &Value) -> OffsetDateTime {
    let text = value
        .as_str()
        .unwrap_or_else(|| panic!("not a timestamp: {value}"));
    assert!(text.ends_with('Z'), "not UTC: {text}");
    OffsetDateTime::parse(text, &Rfc3339).unwrap_or_else(|_| panic!("not RFC 3339: {text}"))
}

pub fn is_uuid(value: &Value) -> bool {
    value
        .as_str()
        .is_some_and(|s| uuid::Uuid::parse_str(s).is_ok())
}

/// Decodes the header (0) or claims (1) of a JWT without verifying it.
pub fn jwt_part(token: &str, index: usize) -> Value {
    use base64::Engine;
    let part = token.split('.').nth(index).expect("jwt part");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .expect("base64url");
    serde_json::from_slice(&bytes).expect("json")
}

pub fn str_of(value: &Value) -> String {
    value
        .as_str()
        .unwrap_or_else(|| panic!("not a string: {value}"))
        .to_string()
}

/// Creates an application; returns its app_id.
pub async fn create_app(app: &TestApp, name: &str) -> String {
    let body = expect_json(
        admin_post(
            app,
            "/api/v1/applications",
            serde_json::json!({"name": name}),
        )
        .await,
        201,
        "create application",
    )
    .await;
    str_of(&body["app_id"])
}

/// Creates an API key of `app_id`; returns (key id, secret).
pub async fn create_key(app: &TestApp, app_id: &str, name: &str) -> (String, String) {
    let body = expect_json(
        admin_post(
            app,
            &format!("/api/v1/applications/{app_id}/keys"),
            serde_json::json!({"name": name}),
        )
        .await,
        201,
        "create key",
    )
    .await;
    (str_of(&body["id"]), str_of(&body["key"]))
}

/// Creates (or rotates) the device auth token of `app_id`; returns it.
pub async fn create_device_token(app: &TestApp, app_id: &str) -> String {
    let body = expect_json(
        admin_post(
            app,
            &format!("/api/v1/applications/{app_id}/device-token"),
            serde_json::json!({}),
        )
        .await,
        201,
        "create device token",
    )
    .await;
    str_of(&body["device_auth_token"])
}

/// Creates an OAuth client; returns (client_id, client_secret).
pub async fn create_client(app: &TestApp, name: &str, scopes: &[&str]) -> (String, String) {
    let body = expect_json(
        admin_post(
            app,
            "/api/v1/oauth/clients",
            serde_json::json!({"name": name, "scopes": scopes}),
        )
        .await,
        201,
        "create client",
    )
    .await;
    (str_of(&body["client_id"]), str_of(&body["client_secret"]))
}

/// `GET /api/v1/oauth/accesstoken` on the public listener with Basic client credentials.
pub async fn request_pair(app: &TestApp, client_id: &str, secret: &str) -> reqwest::Response {
    app.client
        .get(format!("{}/api/v1/oauth/accesstoken", app.public))
        .basic_auth(client_id, Some(secret))
        .send()
        .await
        .expect("request")
}

/// An AccessToken/AccessSecret pair: (AccessToken, AccessSecret).
pub async fn pair(app: &TestApp, client_id: &str, secret: &str) -> (String, String) {
    let body = expect_json(
        request_pair(app, client_id, secret).await,
        200,
        "accesstoken",
    )
    .await;
    (str_of(&body["AccessToken"]), str_of(&body["AccessSecret"]))
}

/// The client_credentials grant with client_secret_basic.
pub async fn client_credentials(
    app: &TestApp,
    client_id: &str,
    secret: &str,
    scope: Option<&str>,
) -> reqwest::Response {
    let mut form = vec![("grant_type", "client_credentials")];
    if let Some(scope) = scope {
        form.push(("scope", scope));
    }
    app.client
        .post(format!("{}/oauth2/token", app.public))
        .basic_auth(client_id, Some(secret))
        .form(&form)
        .send()
        .await
        .expect("request")
}

/// An access JWT for the client, all its scopes.
pub async fn access_jwt(app: &TestApp, client_id: &str, secret: &str) -> String {
    let body = expect_json(
        client_credentials(app, client_id, secret, None).await,
        200,
        "client_credentials",
    )
    .await;
    str_of(&body["access_token"])
}

/// `GET /api/v1/check` on the public listener with these headers.
pub async fn check(app: &TestApp, headers: &[(&str, &str)]) -> reqwest::Response {
    let mut req = app.client.get(format!("{}/api/v1/check", app.public));
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    req.send().await.expect("request")
}

/// The application-side `GET /api/v1/applications/{app_id}` on the public listener.
pub async fn app_side_get(app: &TestApp, app_id: &str, key: Option<&str>) -> reqwest::Response {
    let mut req = app
        .client
        .get(format!("{}/api/v1/applications/{app_id}", app.public));
    if let Some(key) = key {
        req = req.header("X-VoltMX-App-API-Key", key);
    }
    req.send().await.expect("request")
}

/// Introspects as `admin` with any form (e.g. `access_secret`).
pub async fn introspect_form(app: &TestApp, form: &[(&str, &str)]) -> Value {
    let res = app
        .client
        .post(format!("{}/oauth2/introspect", app.intranet))
        .basic_auth("admin", Some(ADMIN_PASSWORD))
        .form(form)
        .send()
        .await
        .expect("request");
    assert_eq!(res.status(), 200);
    json(res).await
}

/// Revokes as `admin`.
pub async fn revoke(app: &TestApp, token: &str) -> reqwest::Response {
    app.client
        .post(format!("{}/oauth2/revoke", app.intranet))
        .basic_auth("admin", Some(ADMIN_PASSWORD))
        .form(&[("token", token)])
        .send()
        .await
        .expect("request")
}

/// The value of a response header as text, if present.
pub fn header(res: &reqwest::Response, name: &str) -> Option<String> {
    res.headers()
        .get(name)
        .map(|v| v.to_str().expect("ascii header").to_string())
}

/// `secret` with one character changed to another of the same alphabet.
pub fn mistyped(secret: &str) -> String {
    let mut chars: Vec<char> = secret.chars().collect();
    let i = chars.len() / 2;
    chars[i] = if chars[i] == 'a' { 'b' } else { 'a' };
    chars.into_iter().collect()
}

/// `secret` without its last character.
pub fn truncated(secret: &str) -> String {
    secret[..secret.len() - 1].to_string()
}
