//! The CORS filter (SPEC §8, `[cors]` in §2): which browser origins may call us, preflight
//! answers, and the headers an allowed origin's responses carry (the Fetch standard's "CORS
//! protocol" section; it is a living standard, so it is cited by section name).

use crate::config::{CorsPolicy, LiveCors};
use actix_web::body::BoxBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderMap, HeaderName, HeaderValue};
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::web::Data;
use actix_web::HttpResponse;

/// Always exposed to scripts, so a browser client can quote it when reporting an error.
const REQUEST_ID_HEADER: &str = "X-Request-Id";

/// What the filter does with one request: pure, so it can be tested without a server.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Decision {
    /// Answer 204 here, without calling the application (an allowed preflight).
    pub answer_preflight: bool,
    /// Headers to set on the response, replacing any the application set.
    pub headers: Vec<(HeaderName, String)>,
    /// Append `Vary: Origin`: the answer depends on the origin whenever CORS is on, so a
    /// cache must not hand one origin's answer — or a no-`Origin` answer — to another
    /// (Fetch, "CORS protocol and HTTP caches").
    pub vary_origin: bool,
}

impl Decision {
    /// The value decided for a header, if any.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.as_str().eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Decides the CORS answer for a request with this `method`, `Origin` and
/// `Access-Control-Request-Method`.
pub fn decide(
    cors: &CorsPolicy,
    method: &Method,
    origin: Option<&str>,
    request_method: Option<&str>,
) -> Decision {
    if !cors.enabled {
        // CORS is off: the response does not depend on the origin at all.
        return Decision::default();
    }
    let untouched = Decision {
        vary_origin: true,
        ..Decision::default()
    };
    let Some(origin) = origin else {
        return untouched;
    };
    if !cors.origins.matches(origin) {
        return untouched;
    }
    let any = cors.origins.allows_any() && origin != "null";
    if any && cors.allow_credentials {
        // Refused at config load; should it ever get here, fail closed: a browser would
        // refuse `*` with credentials anyway (Fetch, "CORS check").
        return untouched;
    }
    let allow_origin = if any { "*" } else { origin };
    let mut headers = vec![(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        allow_origin.to_string(),
    )];
    if cors.allow_credentials {
        headers.push((header::ACCESS_CONTROL_ALLOW_CREDENTIALS, "true".into()));
    }

    // A CORS-preflight request is an OPTIONS request carrying Access-Control-Request-Method
    // (Fetch, "CORS-preflight fetch"); an OPTIONS without it is an ordinary request.
    if let (true, Some(requested)) = (method == Method::OPTIONS, request_method) {
        // Methods are case-sensitive (RFC 9110 §9.1), and the browser compares the list it
        // gets byte for byte too; an unknown method gets no CORS headers, so it is refused.
        let requested = requested.trim();
        if !cors.methods.iter().any(|m| m == requested) {
            return untouched;
        }
        headers.push((
            header::ACCESS_CONTROL_ALLOW_METHODS,
            cors.allow_methods.clone(),
        ));
        if !cors.allow_headers.is_empty() {
            headers.push((
                header::ACCESS_CONTROL_ALLOW_HEADERS,
                cors.allow_headers.clone(),
            ));
        }
        headers.push((header::ACCESS_CONTROL_MAX_AGE, cors.max_age.clone()));
        return Decision {
            answer_preflight: true,
            headers,
            vary_origin: true,
        };
    }

    // Scripts see only CORS-safelisted response headers unless others are exposed
    // (Fetch, "HTTP responses": `Access-Control-Expose-Headers`).
    let mut exposed: Vec<&str> = cors.exposed_headers.iter().map(String::as_str).collect();
    if !exposed
        .iter()
        .any(|h| h.eq_ignore_ascii_case(REQUEST_ID_HEADER))
    {
        exposed.push(REQUEST_ID_HEADER);
    }
    headers.push((header::ACCESS_CONTROL_EXPOSE_HEADERS, exposed.join(", ")));
    Decision {
        answer_preflight: false,
        headers,
        vary_origin: true,
    }
}

/// Sets the decided headers. A configured value that is not a valid header value (a control
/// character in a header name list, say) is left out rather than failing the request.
fn apply(headers: &mut HeaderMap, decision: &Decision) {
    for (name, value) in &decision.headers {
        match HeaderValue::from_str(value) {
            Ok(value) => {
                headers.insert(name.clone(), value);
            }
            Err(_) => log::warn!("cors: the configured {name} is not a valid header value"),
        }
    }
    if decision.vary_origin {
        let already = headers.get_all(header::VARY).any(|v| {
            v.to_str().is_ok_and(|v| {
                v.split(',')
                    .any(|item| item.trim() == "*" || item.trim().eq_ignore_ascii_case("origin"))
            })
        });
        if !already {
            headers.append(header::VARY, HeaderValue::from_static("Origin"));
        }
    }
}

/// The one `Origin` of a request. Several, or one that is not text, is not a browser's
/// request: treated as no origin, so it gets no CORS headers.
fn origin_of(req: &ServiceRequest) -> Option<&str> {
    let mut values = req.headers().get_all(header::ORIGIN);
    let first = values.next()?;
    if values.next().is_some() {
        return None;
    }
    first.to_str().ok()
}

/// The CORS filter. Reads the CORS policy in force (parsed at config load) on every request,
/// so a reload applies to the next request (SPEC §2). It needs the policy and nothing else.
pub async fn cors(
    policy: Data<LiveCors>,
    req: ServiceRequest,
    next: Next<BoxBody>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let policy = policy.current();
    let decision = decide(
        &policy,
        req.method(),
        origin_of(&req),
        req.headers()
            .get(header::ACCESS_CONTROL_REQUEST_METHOD)
            .and_then(|v| v.to_str().ok()),
    );
    if decision.answer_preflight {
        let mut res = HttpResponse::NoContent().finish();
        apply(res.headers_mut(), &decision);
        return Ok(req.into_response(res));
    }
    let mut res = next.call(req).await?;
    apply(res.headers_mut(), &decision);
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::config::CorsConfig;

    fn config(origins: &[&str]) -> CorsConfig {
        CorsConfig {
            allowed_origins: origins.iter().map(|s| s.to_string()).collect(),
            ..CorsConfig::default()
        }
    }

    fn policy(cors: &CorsConfig) -> CorsPolicy {
        CorsPolicy::new(cors).expect("valid [cors]")
    }

    const ORIGIN: &str = "https://app.example.com";

    #[test]
    fn no_cors_config_decides_nothing() {
        let d = decide(&policy(&config(&[])), &Method::GET, Some(ORIGIN), None);
        assert_eq!(d, Decision::default());
    }

    #[test]
    fn missing_or_unknown_origin_gets_no_cors_headers() {
        let cors = config(&["https://*.example.com"]);
        for origin in [None, Some("https://evil.test"), Some("null")] {
            let d = decide(&policy(&cors), &Method::GET, origin, None);
            assert!(!d.answer_preflight);
            assert!(d.headers.is_empty(), "{origin:?}");
            assert!(d.vary_origin);
            let p = decide(&policy(&cors), &Method::OPTIONS, origin, Some("POST"));
            assert!(!p.answer_preflight && p.headers.is_empty(), "{origin:?}");
        }
    }

    #[test]
    fn allowed_preflight_is_answered_with_the_configured_lists() {
        let d = decide(
            &policy(&config(&["https://*.example.com"])),
            &Method::OPTIONS,
            Some(ORIGIN),
            Some("PATCH"),
        );
        assert!(d.answer_preflight);
        assert!(d.vary_origin);
        assert_eq!(d.header("access-control-allow-origin"), Some(ORIGIN));
        assert_eq!(
            d.header("access-control-allow-methods"),
            Some("GET, POST, PUT, PATCH, DELETE, OPTIONS")
        );
        let allow_headers = d.header("access-control-allow-headers").expect("headers");
        assert!(allow_headers.starts_with("Authorization, Content-Type, X-VoltMX-Authorization"));
        assert_eq!(d.header("access-control-max-age"), Some("120"));
        assert_eq!(d.header("access-control-allow-credentials"), Some("true"));
        assert_eq!(d.header("access-control-expose-headers"), None);
    }

    #[test]
    fn preflight_for_an_unlisted_method_gets_no_cors_headers() {
        let mut cors = config(&[ORIGIN]);
        cors.allowed_methods = vec!["GET".into(), "POST".into()];
        for method in ["DELETE", "post", "TRACE"] {
            let d = decide(&policy(&cors), &Method::OPTIONS, Some(ORIGIN), Some(method));
            assert!(!d.answer_preflight, "{method}");
            assert!(d.headers.is_empty(), "{method}");
        }
    }

    #[test]
    fn options_without_a_requested_method_is_an_ordinary_request() {
        let d = decide(
            &policy(&config(&[ORIGIN])),
            &Method::OPTIONS,
            Some(ORIGIN),
            None,
        );
        assert!(!d.answer_preflight);
        assert_eq!(d.header("access-control-allow-origin"), Some(ORIGIN));
    }

    #[test]
    fn allowed_request_gets_origin_credentials_and_exposed_headers() {
        let d = decide(
            &policy(&config(&[ORIGIN])),
            &Method::POST,
            Some(ORIGIN),
            None,
        );
        assert!(!d.answer_preflight);
        assert!(d.vary_origin);
        assert_eq!(d.header("access-control-allow-origin"), Some(ORIGIN));
        assert_eq!(d.header("access-control-allow-credentials"), Some("true"));
        assert_eq!(
            d.header("access-control-expose-headers"),
            Some("X-CSRF-HEADER, X-CSRF-TOKEN, X-Request-Id")
        );
        assert_eq!(d.header("access-control-allow-methods"), None);
        assert_eq!(d.header("access-control-max-age"), None);
    }

    #[test]
    fn request_id_is_exposed_once_and_credentials_only_when_configured() {
        let mut cors = config(&[ORIGIN]);
        cors.allow_credentials = false;
        cors.exposed_headers = vec!["x-request-id".into()];
        let d = decide(&policy(&cors), &Method::GET, Some(ORIGIN), None);
        assert_eq!(
            d.header("access-control-expose-headers"),
            Some("x-request-id")
        );
        assert_eq!(d.header("access-control-allow-credentials"), None);
        let p = decide(&policy(&cors), &Method::OPTIONS, Some(ORIGIN), Some("GET"));
        assert_eq!(p.header("access-control-allow-credentials"), None);
    }

    #[test]
    fn star_answers_star_and_never_with_credentials() {
        let mut cors = config(&["*"]);
        cors.allow_credentials = false;
        let d = decide(&policy(&cors), &Method::GET, Some("https://x.test"), None);
        assert_eq!(d.header("access-control-allow-origin"), Some("*"));
        let p = decide(
            &policy(&cors),
            &Method::OPTIONS,
            Some("https://x.test"),
            Some("GET"),
        );
        assert_eq!(p.header("access-control-allow-origin"), Some("*"));
        assert!(p.answer_preflight);
        // Refused at config load; if it ever got here it must fail closed.
        cors.allow_credentials = true;
        let d = decide(&policy(&cors), &Method::GET, Some("https://x.test"), None);
        assert!(d.headers.is_empty());
    }

    #[test]
    fn literal_null_is_echoed() {
        let d = decide(
            &policy(&config(&["null", "*"])),
            &Method::GET,
            Some("null"),
            None,
        );
        assert_eq!(d.header("access-control-allow-origin"), Some("null"));
    }

    #[test]
    fn vary_origin_is_appended_once() {
        let mut headers = HeaderMap::new();
        headers.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
        let d = decide(
            &policy(&config(&[ORIGIN])),
            &Method::GET,
            Some(ORIGIN),
            None,
        );
        apply(&mut headers, &d);
        apply(&mut headers, &d);
        let vary: Vec<_> = headers.get_all(header::VARY).collect();
        assert_eq!(vary, ["Accept-Encoding", "Origin"]);
    }

    mod middleware {
        use super::super::cors;
        use crate::config::{CorsConfig, CorsPolicy, LiveCors};
        use actix_web::http::{header, Method, StatusCode};
        use actix_web::middleware::from_fn;
        use actix_web::web::{self, Data};
        use actix_web::{test, App, HttpResponse};
        use std::sync::Arc;

        const ORIGIN: &str = "https://app.example.com";

        fn policy(origins: &[&str]) -> Arc<CorsPolicy> {
            let cors = CorsConfig {
                allowed_origins: origins.iter().map(|s| s.to_string()).collect(),
                ..CorsConfig::default()
            };
            Arc::new(CorsPolicy::new(&cors).expect("valid [cors]"))
        }

        /// The filter needs the live CORS policy and nothing else: no store, keys or context.
        fn live(origins: &[&str]) -> LiveCors {
            LiveCors::new(policy(origins))
        }

        macro_rules! service {
            ($ctx:expr) => {
                test::init_service(
                    App::new()
                        .app_data(Data::new($ctx.clone()))
                        .wrap(from_fn(cors))
                        .route(
                            "/thing",
                            web::get().to(|| async {
                                HttpResponse::Ok()
                                    .insert_header(("x-handler", "ran"))
                                    .finish()
                            }),
                        )
                        .default_service(web::to(|| async {
                            HttpResponse::MethodNotAllowed()
                                .insert_header(("x-handler", "ran"))
                                .finish()
                        })),
                )
                .await
            };
        }

        fn preflight(origin: &str, method: &str) -> test::TestRequest {
            test::TestRequest::default()
                .method(Method::OPTIONS)
                .uri("/thing")
                .insert_header((header::ORIGIN, origin))
                .insert_header((header::ACCESS_CONTROL_REQUEST_METHOD, method))
                .insert_header((header::ACCESS_CONTROL_REQUEST_HEADERS, "authorization"))
        }

        fn get(name: &str, res: &actix_web::dev::ServiceResponse) -> Option<String> {
            res.headers()
                .get(name)
                .map(|v| v.to_str().expect("text").to_string())
        }

        #[actix_web::test]
        async fn allowed_preflight_is_answered_without_the_app() {
            let ctx = live(&["https://*.example.com"]);
            let app = service!(ctx);
            let res = test::call_service(&app, preflight(ORIGIN, "DELETE").to_request()).await;
            assert_eq!(res.status(), StatusCode::NO_CONTENT);
            assert_eq!(get("x-handler", &res), None);
            assert_eq!(
                get("access-control-allow-origin", &res).as_deref(),
                Some(ORIGIN)
            );
            assert_eq!(get("access-control-max-age", &res).as_deref(), Some("120"));
            assert_eq!(
                get("access-control-allow-credentials", &res).as_deref(),
                Some("true")
            );
            assert!(get("access-control-allow-methods", &res)
                .expect("methods")
                .contains("DELETE"));
            assert_eq!(get("vary", &res).as_deref(), Some("Origin"));
        }

        #[actix_web::test]
        async fn unknown_origin_passes_through_without_cors_headers() {
            let ctx = live(&["https://*.example.com"]);
            let app = service!(ctx);
            let res = test::call_service(
                &app,
                preflight("https://example.com.evil.com", "GET").to_request(),
            )
            .await;
            assert_eq!(get("x-handler", &res).as_deref(), Some("ran"));
            assert_eq!(get("access-control-allow-origin", &res), None);
            let req = test::TestRequest::get()
                .uri("/thing")
                .insert_header((header::ORIGIN, "https://evil.test"))
                .to_request();
            let res = test::call_service(&app, req).await;
            assert_eq!(res.status(), StatusCode::OK);
            assert!(res
                .headers()
                .keys()
                .all(|n| !n.as_str().starts_with("access-control-")));
        }

        #[actix_web::test]
        async fn allowed_request_reaches_the_app_and_gets_cors_headers() {
            let ctx = live(&[ORIGIN]);
            let app = service!(ctx);
            let req = test::TestRequest::get()
                .uri("/thing")
                .insert_header((header::ORIGIN, ORIGIN))
                .to_request();
            let res = test::call_service(&app, req).await;
            assert_eq!(res.status(), StatusCode::OK);
            assert_eq!(get("x-handler", &res).as_deref(), Some("ran"));
            assert_eq!(
                get("access-control-allow-origin", &res).as_deref(),
                Some(ORIGIN)
            );
            assert!(get("access-control-expose-headers", &res)
                .expect("exposed")
                .ends_with("X-Request-Id"));
        }

        #[actix_web::test]
        async fn without_cors_configured_nothing_is_added() {
            let ctx = live(&[]);
            let app = service!(ctx);
            let res = test::call_service(&app, preflight(ORIGIN, "GET").to_request()).await;
            assert_eq!(get("x-handler", &res).as_deref(), Some("ran"));
            assert_eq!(get("access-control-allow-origin", &res), None);
            assert_eq!(get("vary", &res), None);
        }

        #[actix_web::test]
        async fn a_reloaded_config_applies_to_the_next_request() {
            let ctx = live(&[ORIGIN]);
            let app = service!(ctx);
            let res = test::call_service(&app, preflight(ORIGIN, "GET").to_request()).await;
            assert_eq!(res.status(), StatusCode::NO_CONTENT);

            ctx.replace(policy(&["https://other.example.com"]));
            let res = test::call_service(&app, preflight(ORIGIN, "GET").to_request()).await;
            assert_eq!(get("x-handler", &res).as_deref(), Some("ran"));
            assert_eq!(get("access-control-allow-origin", &res), None);
        }
    }
}
