//! 10,000 random single-bit flips of a genuine claims token sent to introspection: every one
//! is inactive and none is a 5xx. The flips are drawn from a fixed seed, so a failure can be
//! replayed.

use super::Victim;
use crate::helpers::ADMIN_PASSWORD;
use base64::alphabet::URL_SAFE;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine;
use futures_util::StreamExt;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const FLIPS: usize = 10_000;
const CONCURRENCY: usize = 32;
const SEED: u64 = 0x7e55_e7a7;

/// base64url that ignores the unused low bits of a final character, so that two spellings of
/// the same bytes compare equal.
const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &URL_SAFE,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// Each dot-separated segment decoded, or `None` if any segment does not decode.
fn decoded_segments(token: &[u8]) -> Option<Vec<Vec<u8>>> {
    token
        .split(|&b| b == b'.')
        .map(|segment| LENIENT.decode(segment).ok())
        .collect()
}

/// `application/x-www-form-urlencoded` with every byte percent-encoded, so that any byte the
/// flip produced (a control byte, a lone 0x80) reaches the server as sent.
fn form_body(token: &[u8]) -> String {
    let mut body = String::from("token=");
    for b in token {
        body.push_str(&format!("%{b:02X}"));
    }
    body
}

struct Flip {
    byte: usize,
    bit: u8,
    token: Vec<u8>,
    /// The flip left every segment decoding to the same bytes (a padding bit of a final
    /// character): the server may call it active.
    same_bytes: bool,
}

#[actix_rt::test]
async fn ten_thousand_single_bit_flips_of_a_claims_token_are_all_inactive_and_none_is_a_5xx() {
    let victim = Victim::new().await;
    let original = victim.claims.as_bytes().to_vec();
    let original_segments = decoded_segments(&original).expect("a genuine token decodes");
    let mut rng = StdRng::seed_from_u64(SEED);
    let flips: Vec<Flip> = (0..FLIPS)
        .map(|_| {
            let (byte, bit) = (rng.gen_range(0..original.len()), rng.gen_range(0..8u8));
            let mut token = original.clone();
            token[byte] ^= 1 << bit;
            let same_bytes = decoded_segments(&token).as_ref() == Some(&original_segments);
            Flip {
                byte,
                bit,
                token,
                same_bytes,
            }
        })
        .collect();
    let url = format!("{}/oauth2/introspect", victim.app.intranet);

    let failures: Vec<String> = futures_util::stream::iter(flips)
        .map(|flip| {
            let request = victim
                .app
                .client
                .post(&url)
                .basic_auth("admin", Some(ADMIN_PASSWORD))
                .header("Content-Type", "application/x-www-form-urlencoded")
                .body(form_body(&flip.token));
            async move {
                let res = request.send().await.expect("request");
                let status = res.status().as_u16();
                let body = res.text().await.expect("body");
                let inactive = status == 200
                    && serde_json::from_str::<serde_json::Value>(&body).ok()
                        == Some(serde_json::json!({"active": false}));
                let allowed = inactive || (flip.same_bytes && status == 200);
                (!allowed).then(|| {
                    format!(
                        "byte {} bit {} (same bytes: {}) → {status} {body}",
                        flip.byte, flip.bit, flip.same_bytes
                    )
                })
            }
        })
        .buffer_unordered(CONCURRENCY)
        .filter_map(|failure| async move { failure })
        .collect()
        .await;

    assert!(
        failures.is_empty(),
        "{} of {FLIPS} flips were not refused; the first: {:#?}",
        failures.len(),
        &failures[..failures.len().min(10)]
    );
    assert_eq!(
        victim.app.introspect(&victim.claims).await["active"],
        true,
        "the genuine token is still live, so the refusals were the flips'"
    );
}
