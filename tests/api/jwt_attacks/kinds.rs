//! A token of one kind presented as another (STYLE habit 8): each kind is refused where
//! another is expected, while the same token still works where it belongs.

use super::{assert_refused_on, Answer, Route, Victim, ROUTES};
use crate::admin_helpers::{
    access_jwt, app_side_get, check, create_app, create_client, create_key, introspect_form,
};
use crate::helpers::TestApp;
use serde_json::json;

/// The routes that take a JWT as the caller's credential (everything but introspection's
/// `token` field, which accepts every kind of token by design).
const CALLER_ROUTES: [Route; 9] = [
    Route::IntrospectCaller,
    Route::CheckVoltMx,
    Route::CheckKony,
    Route::CheckBearer,
    Route::AdminBearer,
    Route::AdminVoltMx,
    Route::StatisticsBearer,
    Route::LogoutVoltMx,
    Route::LogoutBearer,
];

/// The routes that want a claims token specifically (check also takes access JWTs).
const CLAIMS_ONLY_ROUTES: [Route; 6] = [
    Route::IntrospectCaller,
    Route::AdminBearer,
    Route::AdminVoltMx,
    Route::StatisticsBearer,
    Route::LogoutVoltMx,
    Route::LogoutBearer,
];

async fn refresh_with_authorization(app: &TestApp, value: &str) -> Answer {
    let res = app
        .client
        .post(format!("{}/authService/accounts/claims", app.public))
        .header("Authorization", value)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .send()
        .await
        .expect("request");
    Answer::read(res).await
}

async fn logout_with_refresh_token(app: &TestApp, token: &str) -> Answer {
    let res = app
        .client
        .post(format!("{}/authService/accounts/logout", app.public))
        .form(&[("refresh_token", token)])
        .send()
        .await
        .expect("request");
    Answer::read(res).await
}

fn assert_invalid_grant(answer: &Answer, what: &str) {
    assert_eq!(answer.status, 401, "{what}: {}", answer.body);
    assert_eq!(answer.json()["error"], "invalid_grant", "{what}");
}

#[actix_rt::test]
async fn a_refresh_token_is_not_an_api_key() {
    let victim = Victim::new().await;
    let app = &victim.app;
    let app_id = create_app(app, "mobile").await;
    let (_, key) = create_key(app, &app_id, "ios").await;

    let with_key = app_side_get(app, &app_id, Some(&key)).await;
    let with_refresh = app_side_get(app, &app_id, Some(&victim.refresh)).await;
    let checked =
        Answer::read(check(app, &[("X-VoltMX-App-API-Key", &victim.refresh)]).await).await;

    assert_eq!(with_key.status(), 200);
    assert_eq!(with_refresh.status(), 401);
    assert_eq!(checked.status, 401, "{}", checked.body);
}

#[actix_rt::test]
async fn an_api_key_is_not_a_refresh_token() {
    let victim = Victim::new().await;
    let app = &victim.app;
    let app_id = create_app(app, "mobile").await;
    let (_, key) = create_key(app, &app_id, "ios").await;

    let refreshed = Answer::read(app.refresh(&key).await).await;
    let claims_route = refresh_with_authorization(app, &key).await;
    let logout = logout_with_refresh_token(app, &key).await;

    assert_invalid_grant(&refreshed, "refresh with an API key");
    assert_invalid_grant(&claims_route, "claims route with an API key");
    assert_invalid_grant(&logout, "logout with an API key");
    assert_eq!(app_side_get(app, &app_id, Some(&key)).await.status(), 200);
}

#[actix_rt::test]
async fn an_access_jwt_is_not_a_claims_token() {
    let victim = Victim::new().await;
    let app = &victim.app;
    // Scopes named like roles: a server that read an access token as a claims token might
    // take them for the Administrator role.
    let (client_id, secret) = create_client(app, "robot", &["Administrator", "Supervisor"]).await;
    let token = access_jwt(app, &client_id, &secret).await;

    let checked = Route::CheckBearer.send(app, &token).await;

    assert_eq!(checked.status, 200, "{}", checked.body);
    assert_eq!(checked.auth_kind.as_deref(), Some("access_token"));
    assert_refused_on(app, &CLAIMS_ONLY_ROUTES, &token, "an access JWT").await;
}

#[actix_rt::test]
async fn check_reports_a_claims_token_as_a_claims_token_and_never_as_an_access_token() {
    let victim = Victim::new().await;
    let app = &victim.app;
    let (client_id, secret) = create_client(app, "robot", &["read"]).await;
    let access = access_jwt(app, &client_id, &secret).await;

    let claims_checked = Route::CheckBearer.send(app, &victim.claims).await;
    let access_checked = Route::CheckBearer.send(app, &access).await;
    let claims_introspected = introspect_form(app, &[("token", &victim.claims)]).await;
    let access_introspected = introspect_form(app, &[("token", &access)]).await;

    assert_eq!(claims_checked.auth_kind.as_deref(), Some("claims_token"));
    assert_eq!(access_checked.auth_kind.as_deref(), Some("access_token"));
    assert_eq!(claims_introspected["token_type"], "claims_token");
    assert_eq!(access_introspected["token_type"], "access_token");
}

#[actix_rt::test]
async fn a_refresh_token_is_not_a_claims_token_and_survives_being_tried_as_one() {
    let victim = Victim::new().await;
    let app = &victim.app;

    assert_refused_on(
        app,
        &CALLER_ROUTES,
        &victim.refresh,
        "a refresh token as a JWT",
    )
    .await;

    let refreshed = app.refresh(&victim.refresh).await;
    assert_eq!(refreshed.status(), 200, "the refresh token was not spent");
}

#[actix_rt::test]
async fn an_api_key_is_not_a_claims_token() {
    let victim = Victim::new().await;
    let app = &victim.app;
    let app_id = create_app(app, "mobile").await;
    let (_, key) = create_key(app, &app_id, "ios").await;

    assert_refused_on(app, &CALLER_ROUTES, &key, "an API key as a JWT").await;
}

#[actix_rt::test]
async fn a_claims_token_is_neither_a_refresh_token_nor_an_api_key() {
    let victim = Victim::new().await;
    let app = &victim.app;
    let app_id = create_app(app, "mobile").await;

    let refreshed = Answer::read(app.refresh(&victim.claims).await).await;
    let claims_route = refresh_with_authorization(app, &victim.claims).await;
    let as_key = app_side_get(app, &app_id, Some(&victim.claims)).await;
    let checked_as_key =
        Answer::read(check(app, &[("X-VoltMX-App-API-Key", &victim.claims)]).await).await;

    assert_invalid_grant(&refreshed, "refresh with a claims token");
    assert_invalid_grant(&claims_route, "claims route with a claims token");
    assert_eq!(as_key.status(), 401);
    assert_eq!(checked_as_key.status, 401, "{}", checked_as_key.body);
    for route in ROUTES {
        route.assert_accepted(&route.send(app, &victim.claims).await);
    }
}

#[actix_rt::test]
async fn an_introspected_refresh_token_is_reported_as_one_and_not_as_a_jwt() {
    let victim = Victim::new().await;

    let body = introspect_form(&victim.app, &[("token", &victim.refresh)]).await;

    assert_eq!(body["active"], json!(true));
    assert_eq!(body["token_type"], "refresh_token");
}
