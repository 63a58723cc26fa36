//! CPU cost of the token work on the hot paths (issue 6): claims-JWT sign and verify for each
//! signing algorithm but RS256, access-JWT sign, preamble mint and verify, and the parse of a
//! generated secret (base32, checksum and the SHA-256 that the store compares).
//!
//! `cargo bench --bench tokens`; BENCHMARKS.md has the figures and what they mean.

#![allow(
    clippy::expect_used,
    reason = "a benchmark with a broken setup should stop at once"
)]

use criterion::measurement::WallTime;
use criterion::{
    criterion_group, criterion_main, BenchmarkGroup, BenchmarkId, Criterion, Throughput,
};
use std::hint::black_box;
use std::time::Duration;
use tessera::clock::{Clock, SystemClock};
use tessera::config::SigningAlg;
use tessera::crypto::jwt::{generate, KeyRing};
use tessera::tokens::access::AccessToken;
use tessera::tokens::claims::ClaimsToken;
use tessera::tokens::jwt::Expiry;
use tessera::tokens::preamble::PreambleKey;
use tessera::tokens::secret::{parse, GeneratedSecret, SecretKind};
use time::OffsetDateTime;

const ISSUER: &str = "http://127.0.0.1:8080";
const AUDIENCE: &str = "tessera";

fn ring(alg: SigningAlg, now: OffsetDateTime) -> KeyRing {
    let key = generate(alg, now).expect("key generation");
    KeyRing::new(&[key]).expect("key ring")
}

/// A claims token like the ones login hands out (SPEC §3).
fn claims(now: OffsetDateTime) -> ClaimsToken {
    let iat = now.unix_timestamp();
    ClaimsToken {
        iss: ISSUER.into(),
        sub: "bench-user".into(),
        aud: AUDIENCE.into(),
        iat,
        exp: iat + 900,
        nbf: None,
        jti: uuid::Uuid::new_v4().to_string(),
        sid: uuid::Uuid::new_v4().to_string(),
        roles: vec!["Supervisor".into()],
        provider: None,
        domain: None,
    }
}

fn quick<'a>(c: &'a mut Criterion, name: &str) -> BenchmarkGroup<'a, WallTime> {
    let mut group = c.benchmark_group(name);
    group
        .sample_size(30)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .throughput(Throughput::Elements(1));
    group
}

fn claims_jwt(c: &mut Criterion) {
    let now = SystemClock.now();
    let mut group = quick(c, "claims_jwt");
    for (alg, name) in [
        (SigningAlg::EdDSA, "EdDSA"),
        (SigningAlg::ES256, "ES256"),
        (SigningAlg::HS256, "HS256"),
    ] {
        let keys = ring(alg, now);
        let token = claims(now);
        group.bench_with_input(BenchmarkId::new("sign", name), &token, |b, token| {
            b.iter(|| token.sign(&keys).expect("sign"))
        });
        let signed = token.sign(&keys).expect("sign");
        group.bench_with_input(BenchmarkId::new("verify", name), &signed, |b, signed| {
            b.iter(|| {
                ClaimsToken::verify(
                    &keys,
                    black_box(signed),
                    ISSUER,
                    AUDIENCE,
                    now,
                    Expiry::Enforce,
                )
                .expect("verifies")
            })
        });
    }
    group.finish();
}

fn access_jwt(c: &mut Criterion) {
    let now = SystemClock.now();
    let keys = ring(SigningAlg::EdDSA, now);
    let iat = now.unix_timestamp();
    let token = AccessToken {
        iss: ISSUER.into(),
        sub: "client".into(),
        aud: AUDIENCE.into(),
        client_id: uuid::Uuid::new_v4().to_string(),
        scope: "read write".into(),
        iat,
        exp: iat + 3600,
        nbf: None,
        jti: uuid::Uuid::new_v4().to_string(),
    };
    let mut group = quick(c, "access_jwt");
    group.bench_function("sign/EdDSA", |b| {
        b.iter(|| token.sign(&keys).expect("sign"))
    });
    group.finish();
}

fn preamble(c: &mut Criterion) {
    let key = PreambleKey::derive(&uuid::Uuid::new_v4());
    let start = u32::try_from(SystemClock.now().unix_timestamp()).unwrap_or(u32::MAX - 600);
    let token = key.mint("{PXZ}", "bench-user", start, start + 600);
    let mut group = quick(c, "preamble");
    group.bench_function("mint", |b| {
        b.iter(|| key.mint("{PXZ}", black_box("bench-user"), start, start + 600))
    });
    group.bench_function("verify", |b| {
        b.iter(|| {
            key.verify("{PXZ}", black_box(&token), "bench-user")
                .expect("verifies")
        })
    });
    group.finish();
}

fn secret(c: &mut Criterion) {
    let generated = GeneratedSecret::new(SecretKind::ApiKey);
    let text = generated.expose().to_string();
    let mut group = quick(c, "secret");
    // parse = prefix + base32 decode + checksum (SHA-256) + SHA-256 of the whole text.
    group.bench_function("parse_checksum_sha256", |b| {
        b.iter(|| parse(SecretKind::ApiKey, black_box(&text)).expect("parses"))
    });
    let mut typo = text.clone().into_bytes();
    let last = typo.len() - 1;
    typo[last] = if typo[last] == b'a' { b'b' } else { b'a' };
    let typo = String::from_utf8(typo).expect("ascii");
    group.bench_function("reject_bad_checksum", |b| {
        b.iter(|| parse(SecretKind::ApiKey, black_box(&typo)).is_none())
    });
    group.bench_function("generate", |b| {
        b.iter(|| GeneratedSecret::new(SecretKind::RefreshToken))
    });
    group.finish();
}

/// Reference points for the EdDSA figures above: ed25519-dalek itself, with the key parsed once
/// and kept, against parsing the PKCS#8 key before every signature as `jsonwebtoken::encode`
/// does (its rust_crypto signer is built from the DER on each call), over a message of a
/// claims token's size.
fn ed25519_reference(c: &mut Criterion) {
    use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey};
    use ed25519_dalek::{Signer, Verifier};
    let key = ed25519_dalek::SigningKey::generate(&mut rand::rngs::OsRng);
    let der = key.to_pkcs8_der().expect("pkcs8");
    let public = key.verifying_key();
    let message = vec![b'x'; 330];
    let signature = key.sign(&message);
    let mut group = quick(c, "ed25519_reference");
    group.bench_function("sign/key_kept", |b| {
        b.iter(|| key.sign(black_box(&message)))
    });
    group.bench_function("sign/key_parsed_each_time", |b| {
        b.iter(|| {
            ed25519_dalek::SigningKey::from_pkcs8_der(der.as_bytes())
                .expect("key")
                .sign(black_box(&message))
        })
    });
    group.bench_function("verify/key_kept", |b| {
        b.iter(|| {
            public
                .verify(black_box(&message), &signature)
                .expect("verifies")
        })
    });
    group.finish();
}

criterion_group!(
    benches,
    claims_jwt,
    access_jwt,
    preamble,
    secret,
    ed25519_reference
);
criterion_main!(benches);
