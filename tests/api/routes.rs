//! `openapi.yaml` documents every served route, and every documented route is served on the
//! listener it names (and 404s on the other).

use crate::helpers::spawn_app;
use tessera::http::{Listener, ROUTES};

/// Each served (method, path) once, with every listener that serves it (a path may have one
/// handler per listener: GET /api/v1/applications/{app_id}).
pub fn served() -> Vec<(&'static str, &'static str, Listener)> {
    let mut out: Vec<(&'static str, &'static str, Listener)> = Vec::new();
    for r in ROUTES {
        let method = r.method.as_str();
        match out
            .iter_mut()
            .find(|(m, p, _)| *m == method && *p == r.path)
        {
            Some((_, _, on)) if *on != r.on => *on = Listener::Both,
            Some(_) => {}
            None => out.push((method, r.path, r.on)),
        }
    }
    out
}

fn openapi() -> serde_yaml_ng::Value {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.yaml"))
        .expect("openapi.yaml");
    serde_yaml_ng::from_str(&text).expect("openapi.yaml parses")
}

#[test]
fn openapi_documents_exactly_the_served_routes() {
    let doc = openapi();
    assert!(doc["openapi"].as_str().expect("version").starts_with("3.1"));
    let paths = doc["paths"].as_mapping().expect("paths");
    let mut documented = Vec::new();
    for (path, item) in paths {
        let path = path.as_str().expect("path");
        for (method, _) in item.as_mapping().expect("path item") {
            let method = method.as_str().expect("key");
            if ["get", "post", "put", "patch", "delete"].contains(&method) {
                documented.push((method.to_uppercase(), path.to_string()));
            }
        }
    }
    let mut served: Vec<(String, String)> = served()
        .into_iter()
        .map(|(m, p, _)| (m.to_string(), p.to_string()))
        .collect();
    documented.sort();
    served.sort();
    assert_eq!(documented, served);
}

#[test]
fn openapi_names_the_listener_of_every_path() {
    let doc = openapi();
    for (method, path, listener) in served() {
        let expected = match listener {
            Listener::Public => "public",
            Listener::Intranet => "intranet",
            Listener::Both => "both",
        };
        // An operation may name its own listener where one path is served differently on the
        // two (GET /api/v1/applications/{app_id}); otherwise the path item names it.
        let item = &doc["paths"][path];
        let operation = &item[method.to_lowercase().as_str()];
        let found = operation["x-listener"]
            .as_str()
            .or(item["x-listener"].as_str());
        assert_eq!(found, Some(expected), "{method} {path}");
    }
}

#[actix_rt::test]
async fn every_route_is_served_on_its_listener_only() {
    let app = spawn_app().await;
    for (method, path, listener) in served() {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let on = |base: &str| {
            app.client
                .request(method.clone(), format!("{base}{path}"))
                .header("Content-Type", "application/x-www-form-urlencoded")
                .send()
        };
        let public = on(&app.public).await.expect("request").status();
        let intranet = on(&app.intranet).await.expect("request").status();
        let (served, absent) = match listener {
            Listener::Public => (vec![public], Some(intranet)),
            Listener::Intranet => (vec![intranet], Some(public)),
            Listener::Both => (vec![public, intranet], None),
        };
        for status in served {
            assert_ne!(status, 404, "{method} {path} not served on its listener");
            assert!(status.as_u16() < 500, "{method} {path}: {status}");
        }
        // Absent: 404, or 405 where the other listener serves the path with another method.
        if let Some(status) = absent {
            assert!(
                status == 404 || status == 405,
                "{method} {path} served on the wrong listener: {status}"
            );
        }
    }
}

#[actix_rt::test]
async fn the_served_openapi_document_is_the_file() {
    let app = spawn_app().await;
    let res = app
        .client
        .get(format!("{}/openapi.yaml", app.public))
        .send()
        .await
        .expect("request");
    assert_eq!(res.status(), 200);
    let served = res.text().await.expect("text");
    let file = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.yaml"))
        .expect("file");
    assert_eq!(served, file);
}
