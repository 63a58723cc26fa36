//! decisions-5 "CORS" (SPEC §8, `[cors]` in §2): allowed origins, exact and wildcard, get their
//! origin echoed on both listeners; look-alikes get no CORS header at all; preflights; a reload
//! changes the list; `*` with credentials and malformed patterns are refused at load.

use crate::admin_helpers::{admin_request, expect_json, header};
use crate::config_helpers::{rewrite, spawn_from_file, write_config};
use crate::helpers::TestApp;

const CONSOLE: &str = "https://console.example.com";

const CORS: &str = r#"
[cors]
allowed_origins = ["https://console.example.com", "https://*.example.org"]
"#;

const CORS_PLUS_ONE: &str = r#"
[cors]
allowed_origins = ["https://console.example.com", "https://*.example.org", "https://new.example.net"]
"#;

const LOOK_ALIKES: &[&str] = &[
    "https://example.org",
    "https://evil-example.org",
    "https://example.org.evil.com",
    "http://a.example.org",
    "https://a.example.org:8443",
    "https://console.example.com.evil.net",
];

/// `GET /health` on `base` from `origin`.
async fn health_from(app: &TestApp, base: &str, origin: &str) -> reqwest::Response {
    let res = app
        .client
        .get(format!("{base}/health"))
        .header("Origin", origin)
        .send()
        .await
        .expect("request");
    assert_eq!(res.status(), 200, "{base} from {origin}");
    res
}

/// A CORS preflight for `POST /oauth2/introspect` with an `authorization` header.
async fn preflight(app: &TestApp, base: &str, origin: &str) -> reqwest::Response {
    app.client
        .request(
            reqwest::Method::OPTIONS,
            format!("{base}/oauth2/introspect"),
        )
        .header("Origin", origin)
        .header("Access-Control-Request-Method", "POST")
        .header("Access-Control-Request-Headers", "authorization")
        .send()
        .await
        .expect("request")
}

/// The names of the response's `Access-Control-*` headers.
fn cors_headers(res: &reqwest::Response) -> Vec<String> {
    res.headers()
        .keys()
        .map(|n| n.as_str().to_string())
        .filter(|n| n.starts_with("access-control-"))
        .collect()
}

/// The comma-separated items of a header, trimmed.
fn items(res: &reqwest::Response, name: &str) -> Vec<String> {
    header(res, name)
        .unwrap_or_else(|| panic!("no {name}"))
        .split(',')
        .map(|s| s.trim().to_string())
        .collect()
}

fn assert_allowed(res: &reqwest::Response, origin: &str) {
    assert_eq!(
        header(res, "access-control-allow-origin").as_deref(),
        Some(origin),
        "{origin}"
    );
    assert_eq!(
        header(res, "access-control-allow-credentials").as_deref(),
        Some("true"),
        "{origin}"
    );
}

async fn post_reload(app: &TestApp) -> reqwest::Response {
    admin_request(app, reqwest::Method::POST, "/api/v1/admin/reload")
        .send()
        .await
        .expect("request")
}

#[actix_rt::test]
async fn an_allowed_origin_is_echoed_with_credentials_and_exposed_headers_on_both_listeners() {
    let (app, _path) = spawn_from_file(CORS).await;

    for base in [&app.public, &app.intranet] {
        let res = health_from(&app, base, CONSOLE).await;

        assert_allowed(&res, CONSOLE);
        let exposed = items(&res, "access-control-expose-headers");
        let exposes = |name: &str| exposed.iter().any(|h| h.eq_ignore_ascii_case(name));
        assert!(exposes("X-CSRF-TOKEN"), "{base}: {exposed:?}");
        assert!(exposes("X-Request-Id"), "{base}: {exposed:?}");
        let vary = res
            .headers()
            .get_all("vary")
            .iter()
            .map(|v| v.to_str().expect("ascii").to_ascii_lowercase())
            .collect::<Vec<_>>()
            .join(",");
        assert!(vary.contains("origin"), "{base}: Vary {vary}");
    }
}

#[actix_rt::test]
async fn a_wildcard_allows_one_or_more_labels_before_its_domain() {
    let (app, _path) = spawn_from_file(CORS).await;

    for origin in ["https://a.example.org", "https://a.b.example.org"] {
        for base in [&app.public, &app.intranet] {
            let res = health_from(&app, base, origin).await;

            assert_allowed(&res, origin);
        }
    }
}

#[actix_rt::test]
async fn look_alike_origins_get_no_cors_headers_at_all() {
    let (app, _path) = spawn_from_file(CORS).await;

    for origin in LOOK_ALIKES {
        for base in [&app.public, &app.intranet] {
            let res = health_from(&app, base, origin).await;

            assert!(
                header(&res, "access-control-allow-origin").is_none(),
                "{origin} on {base}"
            );
            assert_eq!(
                cors_headers(&res),
                Vec::<String>::new(),
                "{origin} on {base}"
            );
        }
    }
}

#[actix_rt::test]
async fn a_preflight_from_an_allowed_origin_is_answered_204_with_max_age_and_methods() {
    let (app, _path) = spawn_from_file(CORS).await;

    for base in [&app.public, &app.intranet] {
        let res = preflight(&app, base, CONSOLE).await;

        assert_eq!(res.status(), 204, "{base}");
        assert_allowed(&res, CONSOLE);
        assert_eq!(
            header(&res, "access-control-max-age").as_deref(),
            Some("120"),
            "{base}"
        );
        assert!(
            items(&res, "access-control-allow-methods").contains(&"POST".to_string()),
            "{base}"
        );
        let allowed_headers = items(&res, "access-control-allow-headers");
        assert!(
            allowed_headers
                .iter()
                .any(|h| h.eq_ignore_ascii_case("authorization")),
            "{base}: {allowed_headers:?}"
        );
        assert!(header(&res, "x-request-id").is_some(), "{base}");
    }
}

#[actix_rt::test]
async fn a_preflight_from_a_refused_origin_gets_no_cors_headers() {
    let (app, _path) = spawn_from_file(CORS).await;

    for origin in LOOK_ALIKES.iter().chain(&["https://evil.test"]) {
        for base in [&app.public, &app.intranet] {
            let res = preflight(&app, base, origin).await;

            assert_eq!(
                cors_headers(&res),
                Vec::<String>::new(),
                "{origin} on {base}"
            );
        }
    }
}

#[actix_rt::test]
async fn a_reload_that_adds_an_origin_allows_it() {
    let (app, path) = spawn_from_file(CORS).await;
    let newcomer = "https://new.example.net";
    let before = health_from(&app, &app.public, newcomer).await;
    assert!(header(&before, "access-control-allow-origin").is_none());

    rewrite(&path, CORS_PLUS_ONE);
    let reloaded = post_reload(&app).await;

    let body = expect_json(reloaded, 200, "reload").await;
    assert_eq!(body["status"], "reloaded");
    for base in [&app.public, &app.intranet] {
        let res = health_from(&app, base, newcomer).await;
        assert_allowed(&res, newcomer);
    }
    let still = health_from(&app, &app.public, CONSOLE).await;
    assert_allowed(&still, CONSOLE);
}

/// Loads `toml` (plus the test settings) the way the binary does; returns the error text.
fn load_error(toml: &str) -> String {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write_config(dir.path(), toml);
    match tessera::config::load(&path) {
        Ok(_) => panic!("loaded, but should be refused:\n{toml}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn a_star_origin_with_credentials_is_refused_at_load_by_name() {
    let error = load_error("[cors]\nallowed_origins = [\"*\"]\n");

    assert!(error.contains("cors.allowed_origins"), "{error}");
}

#[test]
fn a_star_origin_with_credentials_said_explicitly_is_refused_too() {
    let error = load_error("[cors]\nallowed_origins = [\"*\"]\nallow_credentials = true\n");

    assert!(error.contains("cors.allowed_origins"), "{error}");
}

#[test]
fn a_malformed_origin_pattern_is_refused_at_load_by_name() {
    for pattern in [
        "https://*foo.example.com",
        "*.example.com",
        "https://*.*.example.com",
        "https://console.example.com/",
    ] {
        let error = load_error(&format!(
            "[cors]\nallowed_origins = [\"https://ok.example.com\", \"{pattern}\"]\n"
        ));

        assert!(error.contains("cors.allowed_origins"), "{pattern}: {error}");
    }
}

#[test]
fn a_star_origin_without_credentials_loads() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write_config(
        dir.path(),
        "[cors]\nallowed_origins = [\"*\"]\nallow_credentials = false\n",
    );

    let loaded = tessera::config::load(&path);

    assert!(loaded.is_ok(), "{:?}", loaded.err().map(|e| e.to_string()));
}
