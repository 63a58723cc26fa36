//! Forged and mangled claims tokens (RFC 8725 §2.1–§2.2, §3.1): `alg: none`, algorithm
//! confusion with our public key as an HMAC secret, stripped signatures, key-bearing headers
//! and hostile `kid`s. None gets through anywhere, and none makes the server fetch a key.

use super::{assert_refused_everywhere, b64, forge, hs256, unb64, Attacker, Victim};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::{json, Value};
use std::net::TcpListener;
use tessera::config::SigningAlg;

/// `der` in PEM armour with `label`, lines of 64 characters (RFC 7468), ending in a newline.
fn pem(label: &str, der: &[u8]) -> String {
    let body = STANDARD.encode(der);
    let lines: Vec<&str> = body
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).expect("base64 is ASCII"))
        .collect();
    format!(
        "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
        lines.join("\n")
    )
}

/// Every spelling of the public key that a confused verifier might use as an HMAC secret:
/// the JWK itself, its members as text and as bytes, DER and PEM (with and without the final
/// newline).
fn public_key_spellings(jwk: &Value, der_forms: &[(&str, Vec<u8>)]) -> Vec<(String, Vec<u8>)> {
    let mut secrets = vec![("the JWK as JSON".to_string(), jwk.to_string().into_bytes())];
    for member in ["x", "y", "n", "e"] {
        if let Some(text) = jwk[member].as_str() {
            secrets.push((format!("jwk.{member} as text"), text.as_bytes().to_vec()));
            secrets.push((format!("jwk.{member} decoded"), unb64(text)));
        }
    }
    for (label, der) in der_forms {
        let armoured = pem(label, der);
        secrets.push((format!("{label} DER"), der.clone()));
        secrets.push((
            format!("{label} PEM without the final newline"),
            armoured.trim_end().as_bytes().to_vec(),
        ));
        secrets.push((format!("{label} PEM"), armoured.into_bytes()));
    }
    secrets
}

/// Signs the genuine claims with HS256 under each secret, with and without the server's
/// `kid`, and asserts every route refuses each forgery.
async fn hs256_with_public_key_is_refused(victim: &Victim, secrets: &[(String, Vec<u8>)]) {
    let claims = victim.payload();
    let headers = [
        json!({"alg": "HS256", "typ": "JWT", "kid": victim.kid()}),
        json!({"alg": "HS256", "typ": "JWT"}),
    ];
    for (name, secret) in secrets {
        for header in &headers {
            let token = forge(header, &claims, hs256(secret));

            assert_refused_everywhere(
                &victim.app,
                &token,
                &format!("HS256 keyed with {name}, header {header}"),
            )
            .await;
        }
    }
}

#[actix_rt::test]
async fn alg_none_in_any_letter_case_with_an_empty_signature_is_refused_everywhere() {
    let victim = Victim::new().await;
    let claims = victim.payload();
    let genuine_signature = victim.claims.rsplit('.').next().expect("signature");

    for alg in ["none", "None", "NONE", "nOnE"] {
        for header in [
            json!({"alg": alg, "typ": "JWT", "kid": victim.kid()}),
            json!({"alg": alg, "typ": "JWT"}),
            json!({"alg": alg}),
        ] {
            let unsigned = forge(&header, &claims, |_| Vec::new());
            let with_old_signature = format!("{unsigned}{genuine_signature}");

            assert_refused_everywhere(&victim.app, &unsigned, &format!("unsigned, {header}")).await;
            assert_refused_everywhere(
                &victim.app,
                &with_old_signature,
                &format!("{header} with the genuine signature"),
            )
            .await;
        }
    }
}

#[actix_rt::test]
async fn hs256_signed_with_the_eddsa_public_key_is_refused_everywhere() {
    let victim = Victim::new().await;
    let jwk = victim.public_jwk().await;
    let x = unb64(jwk["x"].as_str().expect("x"));
    let key = ed25519_dalek::VerifyingKey::from_bytes(&x.clone().try_into().expect("32 bytes"))
        .expect("an Ed25519 point");
    let spki = {
        use ed25519_dalek::pkcs8::EncodePublicKey;
        key.to_public_key_der().expect("SPKI").as_bytes().to_vec()
    };

    let secrets = public_key_spellings(&jwk, &[("PUBLIC KEY", spki)]);

    assert_eq!(jwk["kty"], "OKP");
    hs256_with_public_key_is_refused(&victim, &secrets).await;
}

#[actix_rt::test]
async fn hs256_signed_with_the_es256_public_key_is_refused_everywhere() {
    let victim = Victim::with(|c| c.tokens.signing_alg = SigningAlg::ES256).await;
    let jwk = victim.public_jwk().await;
    let mut sec1 = vec![0x04];
    sec1.extend(unb64(jwk["x"].as_str().expect("x")));
    sec1.extend(unb64(jwk["y"].as_str().expect("y")));
    let key = p256::PublicKey::from_sec1_bytes(&sec1).expect("a P-256 point");
    let spki = {
        use p256::pkcs8::EncodePublicKey;
        key.to_public_key_der().expect("SPKI").as_bytes().to_vec()
    };

    let mut secrets = public_key_spellings(&jwk, &[("PUBLIC KEY", spki)]);
    secrets.push(("the uncompressed SEC1 point".into(), sec1));

    assert_eq!(jwk["kty"], "EC");
    hs256_with_public_key_is_refused(&victim, &secrets).await;
}

#[actix_rt::test]
async fn hs256_signed_with_the_rs256_public_key_is_refused_everywhere() {
    let victim = Victim::with(|c| c.tokens.signing_alg = SigningAlg::RS256).await;
    let jwk = victim.public_jwk().await;
    let key = rsa::RsaPublicKey::new(
        rsa::BigUint::from_bytes_be(&unb64(jwk["n"].as_str().expect("n"))),
        rsa::BigUint::from_bytes_be(&unb64(jwk["e"].as_str().expect("e"))),
    )
    .expect("an RSA public key");
    let spki = {
        use rsa::pkcs8::EncodePublicKey;
        key.to_public_key_der().expect("SPKI").as_bytes().to_vec()
    };
    let pkcs1 = {
        use rsa::pkcs1::EncodeRsaPublicKey;
        key.to_pkcs1_der().expect("PKCS#1").as_bytes().to_vec()
    };

    let secrets = public_key_spellings(&jwk, &[("PUBLIC KEY", spki), ("RSA PUBLIC KEY", pkcs1)]);

    assert_eq!(jwk["kty"], "RSA");
    hs256_with_public_key_is_refused(&victim, &secrets).await;
}

#[actix_rt::test]
async fn a_genuine_token_with_its_signature_removed_or_zeroed_is_refused_everywhere() {
    let victim = Victim::new().await;
    let mut parts = victim.claims.split('.');
    let (header, claims) = (parts.next().expect("header"), parts.next().expect("claims"));

    for token in [
        format!("{header}.{claims}."),
        format!("{header}.{claims}"),
        format!("{header}.{claims}.{}", b64(&[0u8; 64])),
        format!("{header}.{claims}.{}", b64(&[0u8; 1])),
    ] {
        assert_refused_everywhere(&victim.app, &token, &format!("signature mangled: {token}"))
            .await;
    }
}

#[actix_rt::test]
async fn an_embedded_jwk_or_x5c_is_never_trusted() {
    let victim = Victim::new().await;
    let attacker = Attacker::new();
    let claims = victim.payload();

    for header in [
        json!({"alg": "EdDSA", "typ": "JWT", "kid": "attacker", "jwk": attacker.jwk()}),
        json!({"alg": "EdDSA", "typ": "JWT", "kid": victim.kid(), "jwk": attacker.jwk()}),
        json!({"alg": "EdDSA", "typ": "JWT", "jwk": attacker.jwk()}),
        json!({"alg": "EdDSA", "typ": "JWT", "kid": victim.kid(), "x5c": [STANDARD.encode(b"not a certificate")]}),
    ] {
        let token = forge(&header, &claims, attacker.sign());

        assert_refused_everywhere(&victim.app, &token, &format!("header {header}")).await;
    }
}

#[actix_rt::test]
async fn jku_and_x5u_headers_are_refused_and_never_fetched() {
    let victim = Victim::new().await;
    let attacker = Attacker::new();
    let claims = victim.payload();
    // A port nobody serves: if the server fetched the URL, the connection would wait here.
    let trap = TcpListener::bind("127.0.0.1:0").expect("bind");
    trap.set_nonblocking(true).expect("non-blocking");
    let url = format!(
        "http://127.0.0.1:{}/keys",
        trap.local_addr().expect("addr").port()
    );

    for member in ["jku", "x5u"] {
        for kid in ["attacker".to_string(), victim.kid()] {
            let mut header = json!({"alg": "EdDSA", "typ": "JWT", "kid": kid});
            header[member] = json!(url);
            let token = forge(&header, &claims, attacker.sign());

            assert_refused_everywhere(&victim.app, &token, &format!("header {header}")).await;
        }
    }

    match trap.accept() {
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
        Err(e) => panic!("the trap listener failed: {e}"),
        Ok((_, peer)) => panic!("the server fetched the jku/x5u URL (a connection from {peer})"),
    }
}

#[actix_rt::test]
async fn hostile_kid_values_are_refused_everywhere() {
    let victim = Victim::new().await;
    let attacker = Attacker::new();
    let claims = victim.payload();
    let long = "A".repeat(10 * 1024);

    for kid in [
        json!("unknown-key"),
        json!("../../etc/passwd"),
        json!("/dev/zero"),
        json!(long),
        json!(""),
        json!("\u{0000}"),
        json!("' OR '1'='1"),
        json!(format!("{}\u{0000}", victim.kid())),
        json!(42),
        json!(null),
        json!([victim.kid()]),
        json!({"kid": victim.kid()}),
    ] {
        let what = format!(
            "kid {}",
            kid.to_string().chars().take(60).collect::<String>()
        );
        for token in [
            forge(
                &json!({"alg": "EdDSA", "typ": "JWT", "kid": kid}),
                &claims,
                attacker.sign(),
            ),
            forge(
                &json!({"alg": "HS256", "typ": "JWT", "kid": kid}),
                &claims,
                hs256(b"guess"),
            ),
        ] {
            assert_refused_everywhere(&victim.app, &token, &what).await;
        }
    }
}

#[actix_rt::test]
async fn the_servers_own_kid_on_a_foreign_signature_is_refused_everywhere() {
    let victim = Victim::new().await;
    let attacker = Attacker::new();
    let header = json!({"alg": "EdDSA", "typ": "JWT", "kid": victim.kid()});

    let token = forge(&header, &victim.payload(), attacker.sign());

    assert_refused_everywhere(
        &victim.app,
        &token,
        "the real kid, the attacker's signature",
    )
    .await;
}
