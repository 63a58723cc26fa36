//! Browser origins and the patterns of `cors.allowed_origins` (SPEC §2, §8): exact origins
//! and wildcards where `*` stands for one or more DNS labels. Parsed at config load, so a
//! bad pattern is refused by name instead of silently allowing nothing.

/// A serialized origin, `scheme "://" host [ ":" port ]` (RFC 6454 §6.2), scheme and host
/// lower-cased and the port made explicit where the scheme has a default, so that
/// `https://a.example` and `https://a.example:443` are the same origin (RFC 6454 §5).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Origin {
    scheme: String,
    host: Host,
    port: Option<u16>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Host {
    /// Dot-separated labels of `[a-z0-9-]+` (an IPv4 address is such a name too).
    Name(String),
    /// A bracketed IPv6 literal, brackets included.
    Ipv6(String),
}

fn is_label(label: &str) -> bool {
    !label.is_empty()
        && label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

fn is_dns_name(host: &str) -> bool {
    host.split('.').all(is_label)
}

fn default_port(scheme: &str) -> Option<u16> {
    match scheme {
        "http" | "ws" => Some(80),
        "https" | "wss" => Some(443),
        _ => None,
    }
}

/// Splits `scheme://authority` and checks the scheme (RFC 3986 §3.1).
fn split_scheme(text: &str) -> Option<(String, &str)> {
    let (scheme, rest) = text.split_once("://")?;
    let mut bytes = scheme.bytes();
    let first_ok = bytes.next().is_some_and(|b| b.is_ascii_alphabetic());
    let rest_ok = bytes.all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b));
    (first_ok && rest_ok).then(|| (scheme.to_ascii_lowercase(), rest))
}

/// Splits `host[:port]`; the port, when present, is 1–5 digits.
fn split_port(authority: &str) -> Option<(&str, Option<u16>)> {
    let (host, port) = match authority.rfind(':') {
        // A colon inside an IPv6 literal is not a port separator.
        Some(i) if !authority[i..].contains(']') => (&authority[..i], Some(&authority[i + 1..])),
        _ => (authority, None),
    };
    let port = match port {
        None => None,
        Some(p) if (1..=5).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit()) => {
            Some(p.parse::<u16>().ok()?)
        }
        Some(_) => return None,
    };
    Some((host, port))
}

impl Origin {
    /// Parses what a browser sends in `Origin`. Anything else — a path, user info, an empty
    /// label, a list of origins, `null` — is not an origin and matches no pattern.
    fn parse(text: &str) -> Option<Self> {
        let (scheme, authority) = split_scheme(text)?;
        let (host, port) = split_port(authority)?;
        let host = if let Some(inner) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
            let ok = !inner.is_empty()
                && inner
                    .bytes()
                    .all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.');
            if !ok {
                return None;
            }
            Host::Ipv6(host.to_ascii_lowercase())
        } else if is_dns_name(host) {
            Host::Name(host.to_ascii_lowercase())
        } else {
            return None;
        };
        let port = port.or_else(|| default_port(&scheme));
        Some(Self { scheme, host, port })
    }
}

/// `scheme://*.suffix[:port]`: `*` stands for one or more whole DNS labels.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Wildcard {
    scheme: String,
    /// Lower-case, without the leading dot.
    suffix: String,
    port: Option<u16>,
}

impl Wildcard {
    fn parse(text: &str) -> Option<Self> {
        let (scheme, authority) = split_scheme(text)?;
        let rest = authority.strip_prefix("*.")?;
        let (suffix, port) = split_port(rest)?;
        if !is_dns_name(suffix) {
            return None;
        }
        let port = port.or_else(|| default_port(&scheme));
        Some(Self {
            scheme,
            suffix: suffix.to_ascii_lowercase(),
            port,
        })
    }

    fn matches(&self, origin: &Origin) -> bool {
        let Host::Name(host) = &origin.host else {
            return false;
        };
        // `host` is already known to be non-empty labels, so a non-empty prefix that ends at
        // a dot is one or more whole labels: `evil-example.com` and `example.com.evil.com`
        // do not end in `.example.com`.
        origin.scheme == self.scheme
            && origin.port == self.port
            && host
                .strip_suffix(self.suffix.as_str())
                .and_then(|prefix| prefix.strip_suffix('.'))
                .is_some_and(|labels| !labels.is_empty())
    }
}

/// An entry of `cors.allowed_origins` that is neither `*`, `null`, an origin nor a wildcard.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not an origin (scheme://host[:port]), a wildcard (scheme://*.host[:port]), \"*\" or \"null\"")]
pub struct InvalidOriginPattern(pub String);

/// `cors.allowed_origins`, compiled once per config load (config::CorsPolicy).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OriginMatcher {
    any: bool,
    null: bool,
    exact: Vec<Origin>,
    wildcards: Vec<Wildcard>,
}

impl OriginMatcher {
    /// Compiles the patterns, refusing the first that is not one (for config validation).
    pub fn try_new<S: AsRef<str>>(patterns: &[S]) -> Result<Self, InvalidOriginPattern> {
        let mut matcher = Self::default();
        for pattern in patterns {
            let pattern = pattern.as_ref().trim();
            if pattern == "*" {
                matcher.any = true;
            } else if pattern.eq_ignore_ascii_case("null") {
                matcher.null = true;
            } else if let Some(wildcard) = Wildcard::parse(pattern) {
                matcher.wildcards.push(wildcard);
            } else if let Some(origin) = Origin::parse(pattern) {
                matcher.exact.push(origin);
            } else {
                return Err(InvalidOriginPattern(pattern.to_string()));
            }
        }
        Ok(matcher)
    }

    /// Whether `*` is among the patterns (answered with `Access-Control-Allow-Origin: *`).
    pub fn allows_any(&self) -> bool {
        self.any
    }

    /// Whether the value of an `Origin` header is allowed. `null` (opaque origins: sandboxed
    /// frames, `file:`, some redirects — Fetch, "`Origin` header") matches only a literal `null` entry,
    /// never `*`.
    pub fn matches(&self, origin: &str) -> bool {
        if origin == "null" {
            return self.null;
        }
        let Some(origin) = Origin::parse(origin) else {
            return false;
        };
        self.any
            || self.exact.contains(&origin)
            || self.wildcards.iter().any(|w| w.matches(&origin))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matcher(patterns: &[&str]) -> OriginMatcher {
        OriginMatcher::try_new(patterns).expect("valid patterns")
    }

    #[test]
    fn exact_origin_matches_itself_only() {
        let m = matcher(&["https://app.example.com"]);
        assert!(m.matches("https://app.example.com"));
        assert!(!m.matches("https://other.example.com"));
        assert!(!m.matches("https://a.app.example.com"));
        assert!(!m.matches("http://app.example.com"));
        assert!(!m.matches("https://app.example.com.evil.com"));
        assert!(!m.matches("https://app.example.com/"));
        assert!(!m.matches("https://user@app.example.com"));
        assert!(!m.matches(""));
    }

    #[test]
    fn scheme_and_host_compare_case_insensitively() {
        let m = matcher(&["HTTPS://App.Example.COM", "https://*.Corp.Example"]);
        assert!(m.matches("https://app.example.com"));
        assert!(m.matches("hTTps://APP.example.com"));
        assert!(m.matches("https://Team.CORP.example"));
    }

    #[test]
    fn ports_must_match_with_defaults_made_explicit() {
        let m = matcher(&["https://app.example.com", "http://localhost:3000"]);
        assert!(m.matches("https://app.example.com:443"));
        assert!(!m.matches("https://app.example.com:8443"));
        assert!(m.matches("http://localhost:3000"));
        assert!(!m.matches("http://localhost"));
        assert!(!m.matches("http://localhost:3001"));
        assert!(!m.matches("http://localhost:"));
        assert!(!m.matches("http://localhost:99999"));
    }

    #[test]
    fn wildcard_matches_one_label() {
        let m = matcher(&["https://*.example.com"]);
        assert!(m.matches("https://a.example.com"));
        assert!(m.matches("https://a-b.example.com"));
    }

    #[test]
    fn wildcard_matches_several_labels() {
        let m = matcher(&["https://*.example.com"]);
        assert!(m.matches("https://a.b.example.com"));
        assert!(m.matches("https://x.y.z.example.com"));
    }

    #[test]
    fn wildcard_refuses_look_alikes() {
        let m = matcher(&["https://*.example.com"]);
        for origin in [
            "https://example.com",
            "https://.example.com",
            "https://a..example.com",
            "https://evil-example.com",
            "https://evilexample.com",
            "https://example.com.evil.com",
            "https://a.example.com.evil.com",
            "http://a.example.com",
            "https://a.example.com:8443",
            "https://a_b.example.com",
            "https://a.example.com/path",
            "https://a.example.com.",
            "https://[::1]",
            "null",
        ] {
            assert!(!m.matches(origin), "{origin} must not match");
        }
    }

    #[test]
    fn wildcard_with_a_port_needs_that_port() {
        let m = matcher(&["https://*.example.com:8443"]);
        assert!(m.matches("https://a.example.com:8443"));
        assert!(!m.matches("https://a.example.com"));
        assert!(!m.matches("https://a.example.com:443"));
    }

    #[test]
    fn star_matches_any_origin_but_null() {
        let m = matcher(&["*"]);
        assert!(m.allows_any());
        assert!(m.matches("https://anything.test"));
        assert!(m.matches("http://127.0.0.1:8080"));
        assert!(m.matches("http://[::1]:8080"));
        assert!(!m.matches("null"));
        assert!(!m.matches("not an origin"));
    }

    #[test]
    fn null_matches_only_when_listed() {
        assert!(!matcher(&["https://*.example.com"]).matches("null"));
        assert!(matcher(&["null"]).matches("null"));
        assert!(!matcher(&["null"]).matches("https://a.example.com"));
    }

    #[test]
    fn malformed_patterns_are_refused_or_allow_nothing() {
        for bad in [
            "example.com",
            "*.example.com",
            "https://a*.example.com",
            "https://*example.com",
            "https://*.*.example.com",
            "https://*",
            "https://example.com/",
            "https://*.example.com:",
        ] {
            assert!(OriginMatcher::try_new(&[bad]).is_err(), "{bad} accepted");
        }
        // One bad entry refuses the whole list: nothing is skipped silently.
        assert!(
            OriginMatcher::try_new(&["https://a*.example.com", "https://ok.example.com"]).is_err()
        );
        assert!(!matcher(&[]).matches("https://a.example.com"));
    }
}
