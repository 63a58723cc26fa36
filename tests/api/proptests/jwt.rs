//! Properties of JWT verification (`tokens::jwt::verify`): header and claims decoding never
//! panic, and nothing but a token the ring signed verifies.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use proptest::prelude::*;
use serde_json::{json, Map, Value};
use std::sync::OnceLock;
use tessera::config::SigningAlg;
use tessera::crypto::jwt::{generate, KeyRing};
use tessera::tokens::access::{self, AccessToken};
use tessera::tokens::claims::{self, ClaimsToken};
use tessera::tokens::jwt::{verify, Expiry};
use time::OffsetDateTime;

const ISS: &str = "https://id.example";
const AUD: &str = "tessera";
const NOW: i64 = 1_700_000_000;

/// One ring for every case, with a key of each family so that a guessed `kid` can reach each
/// verifier; the EdDSA key is the active one.
struct Ring {
    keys: KeyRing,
    kids: Vec<String>,
}

fn ring() -> &'static Ring {
    static RING: OnceLock<Ring> = OnceLock::new();
    RING.get_or_init(|| {
        let t0 = OffsetDateTime::UNIX_EPOCH;
        let stored: Vec<_> = [SigningAlg::HS256, SigningAlg::ES256, SigningAlg::EdDSA]
            .into_iter()
            .enumerate()
            .map(|(i, alg)| {
                let mut key = generate(alg, t0 + time::Duration::seconds(i as i64)).expect("key");
                key.active = alg == SigningAlg::EdDSA;
                key
            })
            .collect();
        let kids = stored.iter().map(|k| k.kid.clone()).collect();
        Ring {
            keys: KeyRing::new(&stored).expect("ring"),
            kids,
        }
    })
}

fn now() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(NOW).expect("valid")
}

/// Verifies `token` as each JWT kind, with and without the expiry check: all must refuse
/// (and none may panic).
fn refused_as_every_kind(token: &str) -> bool {
    let keys = &ring().keys;
    let as_claims =
        |expiry| verify::<ClaimsToken>(keys, token, claims::TYP, ISS, AUD, now(), expiry).is_err();
    let as_access =
        verify::<AccessToken>(keys, token, access::TYP, ISS, AUD, now(), Expiry::Enforce).is_err();
    as_claims(Expiry::Enforce) && as_claims(Expiry::Ignore) && as_access
}

/// JSON of any shape, a few levels deep.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|f| json!(f)),
        any::<String>().prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(any::<String>(), inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A JOSE header: the members a verifier reads, each either sensible or arbitrary, with the
/// ring's real `kid`s often enough to reach signature verification.
fn header() -> impl Strategy<Value = Value> {
    let alg = prop_oneof![
        prop::sample::select(vec![
            "EdDSA", "ES256", "RS256", "HS256", "none", "None", "NONE", "PS256", "ES384"
        ])
        .prop_map(|s| json!(s)),
        any_json(),
    ];
    let typ = prop_oneof![
        prop::sample::select(vec!["JWT", "jwt", "at+jwt", "application/at+jwt", "JOSE"])
            .prop_map(|s| json!(s)),
        any_json(),
    ];
    let kid = prop_oneof![
        2 => prop::sample::select(ring().kids.clone()).prop_map(|s| json!(s)),
        1 => any_json(),
    ];
    let extra = prop::sample::select(vec!["jku", "jwk", "x5u", "x5c", "crit", "cty", "b64"]);
    (
        prop::option::of(alg),
        prop::option::of(typ),
        prop::option::of(kid),
        prop::option::of((extra, any_json())),
    )
        .prop_map(|(alg, typ, kid, extra)| {
            let mut header = Map::new();
            for (name, value) in [("alg", alg), ("typ", typ), ("kid", kid)] {
                if let Some(value) = value {
                    header.insert(name.into(), value);
                }
            }
            if let Some((name, value)) = extra {
                header.insert(name.into(), value);
            }
            Value::Object(header)
        })
}

/// Claims close to a real claims or access token's, with members dropped, retyped or added.
fn claims() -> impl Strategy<Value = Value> {
    let base = json!({
        "iss": ISS, "sub": "alice", "aud": AUD, "iat": NOW, "exp": NOW + 900,
        "jti": "j", "sid": "s", "roles": [], "client_id": "c", "scope": "",
    });
    let names = prop::sample::select(vec![
        "iss",
        "sub",
        "aud",
        "iat",
        "exp",
        "nbf",
        "jti",
        "sid",
        "roles",
        "client_id",
        "scope",
    ]);
    prop::collection::vec((names, prop::option::of(any_json())), 0..4).prop_map(move |edits| {
        let mut claims = base.clone();
        for (name, value) in edits {
            match value {
                Some(value) => claims[name] = value,
                None => {
                    claims.as_object_mut().expect("object").remove(name);
                }
            }
        }
        claims
    })
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

proptest! {
    #![proptest_config(super::config())]

    #[test]
    fn verify_never_panics_on_arbitrary_text(token in any::<String>()) {
        prop_assert!(refused_as_every_kind(&token));
    }

    #[test]
    fn verify_never_panics_on_three_dotted_printable_segments(
        token in "[ -~]{0,60}\\.[ -~]{0,200}\\.[ -~]{0,100}",
    ) {
        prop_assert!(refused_as_every_kind(&token));
    }

    #[test]
    fn verify_never_panics_on_arbitrary_base64url_segments(
        segments in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..200), 1..5),
    ) {
        let token = segments.iter().map(|s| b64(s)).collect::<Vec<_>>().join(".");

        prop_assert!(refused_as_every_kind(&token));
    }

    #[test]
    fn verify_refuses_any_header_and_claims_under_a_signature_it_did_not_make(
        header in header(),
        claims in claims(),
        signature in prop::collection::vec(any::<u8>(), 0..300),
    ) {
        let token = format!(
            "{}.{}.{}",
            b64(header.to_string().as_bytes()),
            b64(claims.to_string().as_bytes()),
            b64(&signature)
        );

        prop_assert!(refused_as_every_kind(&token));
    }

    #[test]
    fn a_token_the_ring_signed_verifies_only_when_its_claims_are_right(claims in claims()) {
        let keys = &ring().keys;
        let token = keys.sign(tessera::tokens::claims::TYP, &claims).expect("sign");

        let verified =
            verify::<ClaimsToken>(keys, &token, claims::TYP, ISS, AUD, now(), Expiry::Enforce);

        // Whatever the edits, a token that verifies carries our issuer and audience, is
        // inside its times, and has the claims of a claims token.
        if let Ok(verified) = verified {
            prop_assert_eq!(verified.iss.as_str(), ISS);
            prop_assert_eq!(verified.aud.as_str(), AUD);
            prop_assert!(verified.exp > NOW);
            prop_assert!(verified.nbf.is_none_or(|nbf| nbf <= NOW));
        }
    }
}
