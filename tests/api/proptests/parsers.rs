//! Properties of the Basic header parser, the secret format, preamble tokens and config
//! parsing: they never panic on anything, and what tessera makes, they read back.

use actix_web::http::header::{HeaderMap, HeaderValue, AUTHORIZATION};
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE_NO_PAD};
use base64::Engine;
use proptest::prelude::*;
use tessera::http::extract::basic_credentials;
use tessera::tokens::preamble::{claimed_expiry, PreambleKey};
use tessera::tokens::secret::{self, GeneratedSecret, SecretKind};
use uuid::Uuid;

fn authorization(value: HeaderValue) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(AUTHORIZATION, value);
    headers
}

fn any_kind() -> impl Strategy<Value = SecretKind> {
    prop::sample::select(SecretKind::ALL.to_vec())
}

/// A header value that is `Basic`, in some letter case, then base64 (padded or not) of
/// arbitrary bytes, or arbitrary text: the shapes the parser has to tell apart.
fn basic_like() -> impl Strategy<Value = Vec<u8>> {
    let scheme = prop::sample::select(vec!["Basic", "basic", "BASIC", "bAsIc", "Bearer", ""]);
    prop_oneof![
        (
            scheme.clone(),
            prop::collection::vec(any::<u8>(), 0..64),
            any::<bool>()
        )
            .prop_map(|(scheme, bytes, padded)| {
                let encoded = if padded {
                    STANDARD.encode(bytes)
                } else {
                    STANDARD_NO_PAD.encode(bytes)
                };
                format!("{scheme} {encoded}").into_bytes()
            }),
        (scheme, "[ -~]{0,80}").prop_map(|(scheme, rest)| format!("{scheme} {rest}").into_bytes()),
        prop::collection::vec(any::<u8>(), 0..128),
    ]
}

/// The kind of value a config key takes, to generate mostly well-typed values.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Int,
    Text,
    Bool,
    Addr,
    List,
}

/// Every section of the config file and its keys (SPEC §2), plus one unknown key each.
const SECTIONS: &[(&str, &[(&str, Kind)])] = &[
    (
        "server",
        &[
            ("bind", Kind::Addr),
            ("admin_bind", Kind::Addr),
            ("external_url_base", Kind::Text),
            ("realm", Kind::Text),
            ("max_body_bytes", Kind::Int),
            ("username", Kind::Text),
            ("password", Kind::Text),
        ],
    ),
    (
        "service.admin",
        &[
            ("username", Kind::Text),
            ("password", Kind::Text),
            ("disable_authentication", Kind::Bool),
            ("roles", Kind::List),
        ],
    ),
    (
        "service.introspection",
        &[
            ("password", Kind::Text),
            ("disable_authentication", Kind::Bool),
            ("roles", Kind::List),
        ],
    ),
    (
        "service.statistics",
        &[
            ("disable_authentication", Kind::Bool),
            ("roles", Kind::List),
        ],
    ),
    (
        "tokens",
        &[
            ("audience", Kind::Text),
            ("signing_alg", Kind::Text),
            ("claims_ttl_seconds", Kind::Int),
            ("refresh_ttl_seconds", Kind::Int),
            ("session_max_age_seconds", Kind::Int),
            ("access_token_ttl_seconds", Kind::Int),
        ],
    ),
    (
        "passwords",
        &[
            ("argon2_memory_kib", Kind::Int),
            ("argon2_iterations", Kind::Int),
            ("argon2_parallelism", Kind::Int),
            ("max_concurrent_hashes", Kind::Int),
            ("min_length", Kind::Int),
        ],
    ),
    (
        "preamble",
        &[
            ("token_authentication_mode", Kind::Text),
            ("token_preambula", Kind::Text),
            ("token_uuid", Kind::Text),
            ("token_life_in_minutes", Kind::Int),
            ("token_ttl_minutes", Kind::Int),
            ("token_tolerance_seconds", Kind::Int),
        ],
    ),
    (
        "login_protection",
        &[
            ("max_failures", Kind::Int),
            ("max_failures_per_address", Kind::Int),
            ("window_seconds", Kind::Int),
            ("lockout_seconds", Kind::Int),
        ],
    ),
    (
        "tls",
        &[
            ("enable_ssl", Kind::Bool),
            ("cert", Kind::Text),
            ("key", Kind::Text),
            ("redirect_http_bind", Kind::Addr),
        ],
    ),
    (
        "cors",
        &[
            ("allowed_origins", Kind::List),
            ("allowed_methods", Kind::List),
            ("allowed_headers", Kind::List),
            ("exposed_headers", Kind::List),
            ("allow_credentials", Kind::Bool),
            ("max_age_seconds", Kind::Int),
        ],
    ),
    ("csrf", &[("enable", Kind::Bool)]),
    ("sessions", &[("idle_timeout_seconds", Kind::Int)]),
];

/// Arbitrary text as a TOML basic string. Never a `CRYPT:` value, which would make the loader
/// create a master key in the (default, relative) data dir.
fn toml_text() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(vec![
            "", "*", "EdDSA", "HS256", "RS384", "enable", "disable", "{PXZ}", ":", "a:b",
            "Administrator", "Supervisor", "no such role", "https://*.example.com", "https://",
            "http://x", "https://id.example.com/", "6f9619ff-8b86-d011-b42d-00c04fc964ff",
            "not-a-uuid", "GET", "tessera", "realm\"with\"quotes",
        ])
        .prop_map(str::to_string),
        2 => any::<String>(),
    ]
    .prop_filter("no CRYPT: values", |s| !s.contains("CRYPT:"))
    .prop_map(|s| serde_json::to_string(&s).expect("a JSON string is a TOML basic string"))
}

fn toml_value(kind: Kind) -> BoxedStrategy<String> {
    let int = prop_oneof![
        prop::sample::select(vec![
            0i64,
            1,
            59,
            60,
            1023,
            1024,
            86_400,
            525_600,
            525_601,
            315_360_000,
            315_360_001,
            i64::from(u32::MAX),
            i64::MAX,
            -1,
            i64::MIN,
        ]),
        any::<i64>(),
    ]
    .prop_map(|n| n.to_string());
    let typed = match kind {
        Kind::Int => int.boxed(),
        Kind::Text => toml_text().boxed(),
        Kind::Bool => any::<bool>().prop_map(|b| b.to_string()).boxed(),
        Kind::Addr => prop_oneof![
            prop::sample::select(vec![
                "\"127.0.0.1:0\"",
                "\"127.0.0.1:8080\"",
                "\"127.0.0.1:8081\"",
                "\"[::1]:8080\"",
                "\"0.0.0.0:65535\"",
                "\"localhost:80\"",
            ])
            .prop_map(str::to_string),
            toml_text(),
        ]
        .boxed(),
        Kind::List => prop::collection::vec(toml_text(), 0..4)
            .prop_map(|items| format!("[{}]", items.join(", ")))
            .boxed(),
    };
    let anything = prop_oneof![
        any::<f64>().prop_map(|f| format!("{f:?}")),
        Just("18446744073709551616".to_string()),
        Just("{}".to_string()),
        toml_text(),
    ];
    prop_oneof![8 => typed, 1 => anything].boxed()
}

/// Section `i`: its header and some of its keys, each once, with values; sometimes an
/// unknown key.
fn toml_section(i: usize) -> impl Strategy<Value = String> {
    let (name, keys) = SECTIONS[i];
    let known = prop::sample::subsequence(keys.to_vec(), 0..=keys.len()).prop_flat_map(|keys| {
        keys.into_iter()
            .map(|(key, kind)| toml_value(kind).prop_map(move |v| format!("{key} = {v}")))
            .collect::<Vec<_>>()
    });
    let unknown = prop::option::weighted(
        0.05,
        toml_value(Kind::Text).prop_map(|v| format!("no_such_key = {v}")),
    );
    (known, unknown).prop_map(move |(mut lines, unknown)| {
        lines.extend(unknown);
        format!("[{name}]\n{}\n", lines.join("\n"))
    })
}

/// A config file: known sections with mostly well-typed values (to reach validation), now and
/// then a line of garbage (to reach the TOML parser's errors).
fn config_text() -> impl Strategy<Value = String> {
    let garbage = any::<String>().prop_filter("no CRYPT: values", |s| !s.contains("CRYPT:"));
    (
        prop::sample::subsequence((0..SECTIONS.len()).collect::<Vec<_>>(), 0..5)
            .prop_flat_map(|sections| sections.into_iter().map(toml_section).collect::<Vec<_>>()),
        prop::option::weighted(0.1, garbage),
    )
        .prop_map(|(sections, garbage)| {
            let mut text = sections.concat();
            if let Some(garbage) = garbage {
                text.push_str(&garbage);
            }
            text
        })
}

proptest! {
    #![proptest_config(super::config())]

    #[test]
    fn the_basic_header_parser_never_panics(value in basic_like()) {
        if let Ok(value) = HeaderValue::from_bytes(&value) {
            let _ = basic_credentials(&authorization(value));
        }
    }

    #[test]
    fn a_basic_header_round_trips_a_userid_without_a_colon_and_any_password(
        userid in "[^:]{0,40}",
        password in any::<String>(),
        scheme in prop::sample::select(vec!["Basic", "basic", "BASIC"]),
    ) {
        let encoded = STANDARD.encode(format!("{userid}:{password}"));
        let value = HeaderValue::from_str(&format!("{scheme} {encoded}")).expect("ASCII");

        let parsed = basic_credentials(&authorization(value));

        let (got_userid, got_password) = parsed.ok().flatten().expect("parsed");
        prop_assert_eq!(got_userid, userid);
        prop_assert_eq!(got_password.expose(), password.as_str());
    }

    #[test]
    fn the_secret_parser_never_panics_and_refuses_text_it_did_not_make(
        kind in any_kind(),
        text in any::<String>(),
    ) {
        prop_assert!(secret::parse(kind, &text).is_none());
        let prefixed = format!("{}{text}", kind.prefix());
        prop_assert!(secret::parse(kind, &prefixed).is_none());
    }

    #[test]
    fn the_secret_parser_refuses_84_base32_characters_it_did_not_make(
        kind in any_kind(),
        body in "[a-z2-7]{84}",
    ) {
        // 2^-32 of these could pass the checksum by chance: never in 256 cases in practice.
        let text = format!("{}{body}", kind.prefix());

        prop_assert!(secret::parse(kind, &text).is_none());
    }

    #[test]
    fn a_generated_secret_always_parses_to_its_id(kind in any_kind(), id in any::<[u8; 16]>()) {
        let generated = GeneratedSecret::with_id(kind, Uuid::from_bytes(id));

        let parsed = secret::parse(kind, generated.expose()).expect("parses");

        prop_assert_eq!(parsed.id, generated.id);
        prop_assert!(parsed.matches(&generated.hash()));
    }

    #[test]
    fn any_single_character_change_of_a_generated_secret_is_refused(
        kind in any_kind(),
        position in any::<prop::sample::Index>(),
        replacement in any::<char>(),
    ) {
        let generated = GeneratedSecret::new(kind);
        let mut chars: Vec<char> = generated.expose().chars().collect();
        let i = position.index(chars.len());
        prop_assume!(chars[i] != replacement);
        chars[i] = replacement;
        let changed: String = chars.into_iter().collect();

        // A changed body character fails the 32-bit checksum except with probability 2^-32.
        prop_assert!(secret::parse(kind, &changed).is_none(), "{} accepted", i);
    }

    #[test]
    fn preamble_verify_never_panics_on_arbitrary_text(
        uuid in any::<[u8; 16]>(),
        preambula in "\\PC{0,16}",
        token in any::<String>(),
        userid in any::<String>(),
    ) {
        let key = PreambleKey::derive(&Uuid::from_bytes(uuid));

        let _ = key.verify(&preambula, &token, &userid);
        let _ = claimed_expiry(&preambula, &token);
    }

    #[test]
    fn preamble_verify_refuses_arbitrary_bytes_after_the_preamble(
        uuid in any::<[u8; 16]>(),
        raw in prop::collection::vec(any::<u8>(), 0..64),
        version_one in any::<bool>(),
        userid in any::<String>(),
    ) {
        let key = PreambleKey::derive(&Uuid::from_bytes(uuid));
        let mut raw = raw;
        if version_one && !raw.is_empty() {
            raw[0] = 0x01;
        }
        let token = format!("{{PXZ}}{}", URL_SAFE_NO_PAD.encode(&raw));

        // A 24-byte mac matches by chance with probability 2^-192.
        prop_assert_eq!(key.verify("{PXZ}", &token, &userid), None);
        let _ = claimed_expiry("{PXZ}", &token);
    }

    #[test]
    fn a_minted_preamble_token_verifies_for_its_userid_and_times_only(
        uuid in any::<[u8; 16]>(),
        preambula in "[!-9;-~]{1,16}",
        userid in any::<String>(),
        other in any::<String>(),
        start in any::<u32>(),
        exp in any::<u32>(),
    ) {
        let key = PreambleKey::derive(&Uuid::from_bytes(uuid));

        let token = key.mint(&preambula, &userid, start, exp);

        prop_assert_eq!(key.verify(&preambula, &token, &userid), Some((start, exp)));
        prop_assert_eq!(claimed_expiry(&preambula, &token), Some(exp));
        if other != userid {
            prop_assert_eq!(key.verify(&preambula, &token, &other), None);
        }
    }

    #[test]
    fn config_loading_never_panics_on_arbitrary_file_contents(text in config_text()) {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("tessera.toml");
        std::fs::write(&path, &text).expect("write");

        let _ = tessera::config::load(&path);
    }

    #[test]
    fn config_loading_never_panics_on_arbitrary_bytes(
        bytes in prop::collection::vec(any::<u8>(), 0..512),
    ) {
        prop_assume!(!String::from_utf8_lossy(&bytes).contains("CRYPT:"));
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("tessera.toml");
        std::fs::write(&path, &bytes).expect("write");

        let _ = tessera::config::load(&path);
    }
}
