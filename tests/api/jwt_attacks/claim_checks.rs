//! The claim checks a forger could only reach with a key in our ring, so they are shown on the
//! verifier itself: a ring of our own signs tokens with bad claims, and
//! `tokens::jwt::verify` refuses each (RFC 8725 §3.8–§3.10: `iss`, `aud`, times).

use serde::Deserialize;
use serde_json::{json, Value};
use tessera::config::SigningAlg;
use tessera::crypto::jwt::{generate, KeyRing};
use tessera::tokens::access::AccessToken;
use tessera::tokens::claims::{self, ClaimsToken};
use tessera::tokens::jwt::{verify, Expiry, TimedClaims};
use tessera::tokens::TokenError;
use time::OffsetDateTime;

const ISS: &str = "https://id.example";
const AUD: &str = "tessera";
const NOW: i64 = 1_700_000_000;

fn ring() -> KeyRing {
    let key = generate(SigningAlg::EdDSA, OffsetDateTime::UNIX_EPOCH).expect("key");
    KeyRing::new(&[key]).expect("ring")
}

fn at(t: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(t).expect("valid time")
}

/// The claims of a good claims token issued at [`NOW`].
fn good_claims() -> Value {
    json!({
        "iss": ISS,
        "sub": "alice",
        "aud": AUD,
        "iat": NOW,
        "exp": NOW + 900,
        "jti": "5d1c7a52-4b7e-4f50-9c55-3c1f1c1e0a11",
        "sid": "0b4c7f1e-8a55-4d0e-b6a1-2f3e4d5c6b7a",
        "roles": ["Administrator"],
    })
}

fn without(mut claims: Value, name: &str) -> Value {
    claims.as_object_mut().expect("object").remove(name);
    claims
}

fn with(mut claims: Value, name: &str, value: Value) -> Value {
    claims[name] = value;
    claims
}

fn verify_claims(keys: &KeyRing, token: &str, now: i64) -> Result<ClaimsToken, TokenError> {
    verify(keys, token, claims::TYP, ISS, AUD, at(now), Expiry::Enforce)
}

/// A claims type that tolerates any missing field: it shows the verifier itself demands
/// `exp`, `sub`, `iss` and `aud`, not merely the shape of [`ClaimsToken`].
#[derive(Debug, Deserialize)]
struct Lenient {
    #[serde(default)]
    exp: Option<i64>,
    #[serde(default)]
    nbf: Option<i64>,
}

impl TimedClaims for Lenient {
    fn exp(&self) -> i64 {
        self.exp.unwrap_or(i64::MAX)
    }
    fn nbf(&self) -> Option<i64> {
        self.nbf
    }
}

fn verify_lenient(keys: &KeyRing, token: &str, now: i64) -> Result<Lenient, TokenError> {
    verify(keys, token, claims::TYP, ISS, AUD, at(now), Expiry::Enforce)
}

#[test]
fn a_well_formed_claims_token_verifies_as_the_control() {
    let keys = ring();
    let token = keys.sign(claims::TYP, &good_claims()).expect("sign");

    let verified = verify_claims(&keys, &token, NOW);

    assert_eq!(verified.expect("verifies").sub, "alice");
    assert!(verify_lenient(&keys, &token, NOW).is_ok());
}

#[test]
fn a_claims_token_is_refused_from_the_second_of_its_exp_without_leeway() {
    let keys = ring();
    let token = keys.sign(claims::TYP, &good_claims()).expect("sign");
    let exp = NOW + 900;

    let before = verify_claims(&keys, &token, exp - 1);
    let at_exp = verify_claims(&keys, &token, exp);
    let after = verify_claims(&keys, &token, exp + 1);

    assert!(before.is_ok(), "{before:?}");
    assert_eq!(at_exp, Err(TokenError::Expired));
    assert_eq!(after, Err(TokenError::Expired));
}

#[test]
fn an_nbf_in_the_future_is_refused_until_it_arrives() {
    let keys = ring();
    let claims = with(good_claims(), "nbf", json!(NOW + 60));
    let token = keys.sign(claims::TYP, &claims).expect("sign");

    let now = verify_claims(&keys, &token, NOW);
    let a_second_early = verify_claims(&keys, &token, NOW + 59);
    let on_time = verify_claims(&keys, &token, NOW + 60);

    assert_eq!(now, Err(TokenError::NotYetValid));
    assert_eq!(a_second_early, Err(TokenError::NotYetValid));
    assert!(on_time.is_ok(), "{on_time:?}");
}

#[test]
fn a_token_without_exp_is_refused_even_where_the_claims_type_would_allow_it() {
    let keys = ring();
    let token = keys
        .sign(claims::TYP, &without(good_claims(), "exp"))
        .expect("sign");

    assert!(verify_claims(&keys, &token, NOW).is_err());
    assert!(verify_lenient(&keys, &token, NOW).is_err());
    assert!(verify::<Lenient>(
        &keys,
        &token,
        claims::TYP,
        ISS,
        AUD,
        at(NOW),
        Expiry::Ignore
    )
    .is_err());
}

#[test]
fn a_token_without_sub_iss_or_aud_is_refused() {
    let keys = ring();
    for name in ["sub", "iss", "aud"] {
        let token = keys
            .sign(claims::TYP, &without(good_claims(), name))
            .expect("sign");

        assert!(verify_claims(&keys, &token, NOW).is_err(), "without {name}");
        assert!(
            verify_lenient(&keys, &token, NOW).is_err(),
            "without {name}"
        );
    }
}

#[test]
fn a_wrong_issuer_is_refused() {
    let keys = ring();
    for iss in [
        json!("https://evil.example"),
        json!("https://id.example/"),
        json!("HTTPS://ID.EXAMPLE"),
        json!(""),
        json!(null),
        json!(42),
    ] {
        let token = keys
            .sign(claims::TYP, &with(good_claims(), "iss", iss.clone()))
            .expect("sign");

        assert!(verify_claims(&keys, &token, NOW).is_err(), "iss {iss}");
        assert!(verify_lenient(&keys, &token, NOW).is_err(), "iss {iss}");
    }
}

#[test]
fn an_issuer_given_as_an_array_is_refused_by_the_verifier_itself() {
    // RFC 7519 §4.1.1: `iss` is one StringOrURI, never an array (unlike `aud`). The two token
    // kinds refuse an array by their shape (`iss: String`); the shared verifier must too, or
    // the next kind with a looser shape inherits the gap.
    let keys = ring();
    for iss in [json!([ISS]), json!([ISS, "https://evil.example"])] {
        let token = keys
            .sign(claims::TYP, &with(good_claims(), "iss", iss.clone()))
            .expect("sign");

        assert!(verify_claims(&keys, &token, NOW).is_err(), "iss {iss}");
        assert!(
            verify_lenient(&keys, &token, NOW).is_err(),
            "tokens::jwt::verify accepted iss {iss}"
        );
    }
}

#[test]
fn a_wrong_audience_is_refused() {
    let keys = ring();
    for aud in [
        json!("other"),
        json!("Tessera"),
        json!(""),
        json!(["other"]),
        json!([]),
        json!(null),
    ] {
        let token = keys
            .sign(claims::TYP, &with(good_claims(), "aud", aud.clone()))
            .expect("sign");

        assert!(verify_claims(&keys, &token, NOW).is_err(), "aud {aud}");
        assert!(verify_lenient(&keys, &token, NOW).is_err(), "aud {aud}");
    }
}

#[test]
fn times_of_the_wrong_type_are_refused() {
    let keys = ring();
    for (name, value) in [
        ("exp", json!((NOW + 900).to_string())),
        ("exp", json!(null)),
        ("exp", json!(1e300)),
        ("nbf", json!("later")),
    ] {
        let token = keys
            .sign(claims::TYP, &with(good_claims(), name, value.clone()))
            .expect("sign");

        assert!(
            verify_claims(&keys, &token, NOW).is_err(),
            "{name} = {value}"
        );
    }
}

#[test]
fn a_claims_token_is_not_an_access_token_and_back() {
    let keys = ring();
    let claims_token = keys.sign(claims::TYP, &good_claims()).expect("sign");
    let access_claims = with(
        with(
            good_claims(),
            "client_id",
            json!("0b4c7f1e-8a55-4d0e-b6a1-2f3e4d5c6b7a"),
        ),
        "scope",
        json!("Administrator"),
    );
    let access_token = keys
        .sign(tessera::tokens::access::TYP, &access_claims)
        .expect("sign");

    let claims_as_access = AccessToken::verify(&keys, &claims_token, ISS, AUD, at(NOW));
    let access_as_claims = verify_claims(&keys, &access_token, NOW);

    assert_eq!(claims_as_access, Err(TokenError::WrongKind));
    assert_eq!(access_as_claims, Err(TokenError::WrongKind));
    assert!(AccessToken::verify(&keys, &access_token, ISS, AUD, at(NOW)).is_ok());
}
