//! What the access log may say about a request's parameters (SPEC §9): names starting with
//! `XXX` are left out, names starting with `MMM` are logged as `MMM`, credential fields as
//! `***`, everything else shortened.

use serde_json::Value;

/// Request parameters as they may appear in a log line.
#[derive(Debug, Clone, Default)]
pub struct LoggedParams(pub String);

const CREDENTIAL_WORDS: [&str; 9] = [
    "pass",
    "secret",
    "token",
    "key",
    "auth",
    "credential",
    "assertion",
    "code",
    "cookie",
];
const MAX_VALUE_CHARS: usize = 64;

/// How one parameter is logged; `None` to leave it out.
fn masked(name: &str, value: &str) -> Option<String> {
    if name.starts_with("XXX") {
        return None;
    }
    if name.starts_with("MMM") {
        return Some("MMM".into());
    }
    let lower = name.to_ascii_lowercase();
    if CREDENTIAL_WORDS.iter().any(|w| lower.contains(w)) {
        return Some("***".into());
    }
    let mut shown: String = value
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(MAX_VALUE_CHARS)
        .collect();
    if value.chars().count() > MAX_VALUE_CHARS {
        shown.push('…');
    }
    Some(shown)
}

fn name_shown(name: &str) -> String {
    name.chars()
        .filter(|c| !c.is_control())
        .take(MAX_VALUE_CHARS)
        .collect()
}

/// Describes name/value pairs (a query string or a form body).
pub fn describe_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    pairs
        .into_iter()
        .filter_map(|(n, v)| masked(n, v).map(|v| format!("{}={v}", name_shown(n))))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Describes the top-level fields of a JSON body; nested values are summarised, not shown.
pub fn describe_json(body: &Value) -> String {
    let Value::Object(map) = body else {
        return String::new();
    };
    map.iter()
        .filter_map(|(name, value)| {
            let text = match value {
                Value::String(s) => s.clone(),
                Value::Object(_) => "{…}".into(),
                Value::Array(_) => "[…]".into(),
                other => other.to_string(),
            };
            masked(name, &text).map(|v| format!("{}={v}", name_shown(name)))
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn masking_rules() {
        let line = describe_pairs([
            ("userid", "alice"),
            ("password", "hunter2"),
            ("XXX_card", "4111111111111111"),
            ("MMM_phone", "+15551234567"),
            ("refresh_token", "tsr_abc"),
            ("client_secret", "tsc_abc"),
        ]);
        assert_eq!(
            line,
            "userid=alice password=*** MMM_phone=MMM refresh_token=*** client_secret=***"
        );
    }

    #[test]
    fn json_bodies_show_top_level_fields_only() {
        let line = describe_json(&json!({
            "userid": "bob", "password": "pw", "XXX_ssn": "123", "nested": {"password": "x"}, "n": 3
        }));
        assert!(line.contains("userid=bob"));
        assert!(line.contains("password=***"));
        assert!(line.contains("nested={…}"));
        assert!(line.contains("n=3"));
        assert!(!line.contains("XXX") && !line.contains("123") && !line.contains("pw "));
    }

    #[test]
    fn long_values_are_shortened() {
        let line = describe_pairs([("q", "a".repeat(100).as_str())]);
        assert_eq!(line.chars().count(), 2 + MAX_VALUE_CHARS + 1);
    }
}
