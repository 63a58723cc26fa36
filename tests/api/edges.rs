//! SPEC §9 edges: health, request ids, JSON errors, body limits, 404/405, security headers.

use crate::helpers::{json, spawn_app, spawn_app_with};

#[actix_rt::test]
async fn health_answers_ok_on_both_listeners() {
    let app = spawn_app().await;
    for base in [&app.public, &app.intranet] {
        let res = app
            .client
            .get(format!("{base}/health"))
            .send()
            .await
            .expect("request");
        assert_eq!(res.status(), 200);
        assert_eq!(json(res).await, serde_json::json!({"status": "ok"}));
    }
}

#[actix_rt::test]
async fn every_response_has_a_request_id_matching_its_error_body() {
    let app = spawn_app().await;

    let ok = app
        .client
        .get(format!("{}/health", app.public))
        .send()
        .await
        .expect("request");
    let err = app
        .client
        .get(format!("{}/nowhere", app.public))
        .send()
        .await
        .expect("request");

    assert!(ok.headers().contains_key("x-request-id"));
    assert_eq!(ok.headers()["x-content-type-options"], "nosniff");
    assert_eq!(err.status(), 404);
    let id = err.headers()["x-request-id"]
        .to_str()
        .expect("ascii")
        .to_string();
    let body = json(err).await;
    assert_eq!(body["error"], "not_found");
    assert_eq!(body["request_id"], id.as_str());
}

#[actix_rt::test]
async fn a_plain_incoming_request_id_is_kept_and_a_hostile_one_replaced() {
    let app = spawn_app().await;
    let send = |id: &'static str| {
        app.client
            .get(format!("{}/health", app.public))
            .header("X-Request-Id", id)
            .send()
    };

    let kept = send("abc-123").await.expect("request");
    let replaced = send("<script>alert(1)</script>").await.expect("request");

    assert_eq!(kept.headers()["x-request-id"], "abc-123");
    assert_ne!(
        replaced.headers()["x-request-id"],
        "<script>alert(1)</script>"
    );
}

#[actix_rt::test]
async fn bodies_over_max_body_bytes_are_413() {
    let app = spawn_app_with(|c| c.server.max_body_bytes = 2048).await;
    let big = format!(r#"{{"userid":"a","password":"{}"}}"#, "x".repeat(4096));

    let declared = app
        .client
        .post(format!("{}/login", app.public))
        .header("Content-Type", "application/json")
        .body(big.clone())
        .send()
        .await
        .expect("request");
    let streamed = app
        .client
        .post(format!("{}/login", app.public))
        .header("Content-Type", "application/json")
        .body(reqwest::Body::wrap_stream(futures_util::stream::iter(
            big.into_bytes()
                .chunks(512)
                .map(|c| Ok::<_, std::io::Error>(c.to_vec()))
                .collect::<Vec<_>>(),
        )))
        .send()
        .await
        .expect("request");

    for res in [declared, streamed] {
        assert_eq!(res.status(), 413);
        assert_eq!(json(res).await["error"], "payload_too_large");
    }
}

#[actix_rt::test]
async fn a_wrong_method_is_405_and_routes_of_the_other_listener_404() {
    let app = spawn_app().await;

    let wrong_method = app
        .client
        .get(format!("{}/login", app.public))
        .send()
        .await
        .expect("request");
    let login_on_intranet = app
        .client
        .post(format!("{}/login", app.intranet))
        .json(&serde_json::json!({}))
        .send()
        .await
        .expect("request");

    assert_eq!(wrong_method.status(), 405);
    assert_eq!(json(wrong_method).await["error"], "method_not_allowed");
    assert_eq!(login_on_intranet.status(), 404);
}

#[actix_rt::test]
async fn a_token_in_the_query_string_is_refused() {
    let app = spawn_app().await;
    app.add_user("alice", &[]).await;
    let (_, claims) = app.login_ok("alice").await;

    for (base, path) in [
        (&app.public, "/api/v1/check"),
        (&app.public, "/health"),
        (&app.intranet, "/api/v1/users"),
    ] {
        let res = app
            .client
            .get(format!("{base}{path}?access_token={claims}"))
            .send()
            .await
            .expect("request");
        assert_eq!(res.status(), 400, "{path}");
        let text = res.text().await.expect("body");
        assert!(text.contains("invalid_request"), "{text}");
        assert!(!text.contains(&claims), "the token is not echoed");
    }
}

#[actix_rt::test]
async fn no_response_names_the_server_software() {
    let app = spawn_app().await;
    for url in [
        format!("{}/health", app.public),
        format!("{}/nowhere", app.intranet),
    ] {
        let res = app.client.get(url).send().await.expect("request");
        assert!(!res.headers().contains_key("server"));
        assert_eq!(res.headers()["x-content-type-options"], "nosniff");
    }
}
