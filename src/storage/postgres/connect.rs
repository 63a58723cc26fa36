//! From `[store]` to a connection pool (SPEC §11): the URL with the configured password laid
//! over it, the timeouts that keep a vanished server from hanging a call, and TLS as libpq's
//! `sslmode` names it. Every error of an open names the host, port and database, and never
//! the password.

use crate::config::{DatabaseTls, StoreConfig};
use crate::storage::StoreError;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;
use tokio_postgres::config::{Host, SslMode};
use tokio_postgres_rustls::MakeRustlsConnect;

/// The longest a statement may run on the server before it cancels it. The store's calls are
/// point reads and writes of a few rows; this bounds one stuck on a lock, or on a server that
/// no longer answers.
pub(super) const STATEMENT_TIMEOUT: Duration = Duration::from_secs(15);
/// How long a session may sit idle inside a transaction: a node that died mid-transaction
/// does not hold its row locks longer than this.
const IDLE_IN_TRANSACTION_TIMEOUT: Duration = Duration::from_secs(60);

/// Where the store lives, as an error names it: `host:port, database name`.
#[derive(Debug, Clone)]
pub(super) struct Target(String);

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A failed open: where, and why, with every form of the password taken out of the why. It
/// keeps no source error: a driver's error is turned into text once, scrubbed, and dropped.
#[derive(Debug)]
pub(super) struct OpenError {
    pub(super) target: Target,
    pub(super) cause: String,
}

impl fmt::Display for OpenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PostgreSQL at {}: {}", self.target, self.cause)
    }
}

impl std::error::Error for OpenError {}

/// What an open needs: the driver's configuration, where it points, and the secrets an error
/// must never show.
pub(super) struct Settings {
    pub(super) pg: tokio_postgres::Config,
    pub(super) target: Target,
    secrets: Vec<String>,
    pub(super) tls: MakeRustlsConnect,
    max_connections: usize,
    pub(super) connect_timeout: Duration,
}

impl Settings {
    pub(super) fn new(config: &StoreConfig) -> Result<Self, StoreError> {
        let url = config
            .url
            .as_ref()
            .map(|u| u.expose().to_string())
            .unwrap_or_default();
        let mut secrets = Vec::new();
        if let Some(raw) = url_password(&url) {
            secrets.push(raw.to_string());
            if let Some(decoded) = percent_decode(raw) {
                secrets.push(decoded);
            }
        }
        if let Some(password) = &config.password {
            secrets.push(password.expose().to_string());
        }
        let early = |cause: String| {
            let mut cause = cause;
            scrub(&mut cause, &secrets);
            open_failed(
                Target("the configured URL (store.url or TESSERA_DATABASE_URL)".into()),
                cause,
            )
        };
        let mut pg: tokio_postgres::Config = url.parse().map_err(|e| {
            early(format!(
                "the URL cannot be read: {}",
                crate::errors::chain(&e)
            ))
        })?;
        if let Some(password) = &config.password {
            pg.password(password.expose());
        }
        let connect_timeout = Duration::from_secs(config.connect_timeout_seconds);
        pg.connect_timeout(connect_timeout)
            // Writes to a peer that vanished fail after this, instead of the kernel's minutes.
            .tcp_user_timeout(connect_timeout + STATEMENT_TIMEOUT)
            .keepalives(true)
            .keepalives_idle(Duration::from_secs(30))
            .application_name("tessera")
            .options(format!(
                "-c statement_timeout={} -c idle_in_transaction_session_timeout={}",
                STATEMENT_TIMEOUT.as_millis(),
                IDLE_IN_TRANSACTION_TIMEOUT.as_millis()
            ))
            // `store.tls` decides, whatever `sslmode` the URL carries.
            .ssl_mode(match config.tls {
                DatabaseTls::Disable => SslMode::Disable,
                DatabaseTls::Prefer => SslMode::Prefer,
                DatabaseTls::Require | DatabaseTls::VerifyFull => SslMode::Require,
            });
        let target = target(&pg);
        let tls = tls_config(config).map_err(|cause| {
            let mut cause = cause;
            scrub(&mut cause, &secrets);
            open_failed(target.clone(), cause)
        })?;
        Ok(Self {
            pg,
            target,
            secrets,
            tls: MakeRustlsConnect::new(tls),
            max_connections: config.max_connections,
            connect_timeout,
        })
    }

    /// The error of a failed open, its cause scrubbed of the password.
    pub(super) fn failed(&self, cause: impl fmt::Display) -> StoreError {
        let mut cause = cause.to_string();
        scrub(&mut cause, &self.secrets);
        open_failed(self.target.clone(), cause)
    }

    /// The pool. It connects lazily: the open's first `get` is the first connection.
    pub(super) fn pool(&self) -> Result<Pool, StoreError> {
        let manager = Manager::from_config(
            self.pg.clone(),
            self.tls.clone(),
            ManagerConfig {
                // A connection whose socket closed is replaced at checkout; one that fails
                // in use answers `Unavailable` and is dropped at its next checkout.
                recycling_method: RecyclingMethod::Fast,
            },
        );
        Pool::builder(manager)
            .max_size(self.max_connections)
            .runtime(Runtime::Tokio1)
            // Waiting for a free connection and making a new one: each within the connect
            // timeout, so a call on a vanished server answers instead of queueing forever.
            .wait_timeout(Some(self.connect_timeout))
            .create_timeout(Some(self.connect_timeout))
            .recycle_timeout(Some(self.connect_timeout))
            .build()
            .map_err(|e| self.failed(format!("the connection pool: {e}")))
    }
}

fn open_failed(target: Target, cause: String) -> StoreError {
    StoreError::Backend {
        context: "opening the PostgreSQL store",
        source: Box::new(OpenError { target, cause }),
    }
}

/// Removes every non-empty secret from `text`.
fn scrub(text: &mut String, secrets: &[String]) {
    for secret in secrets.iter().filter(|s| !s.is_empty()) {
        if text.contains(secret.as_str()) {
            *text = text.replace(secret.as_str(), "***");
        }
    }
}

/// The password part of `scheme://user:password@host/…`, as written (percent-encoded).
fn url_password(url: &str) -> Option<&str> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split(['/', '?']).next()?;
    let userinfo = authority.rsplit_once('@')?.0;
    Some(userinfo.split_once(':')?.1)
}

fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&byte) = bytes.get(i) {
        if byte == b'%' {
            out.push(u8::from_str_radix(text.get(i + 1..i + 3)?, 16).ok()?);
            i += 3;
        } else {
            out.push(byte);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

fn target(pg: &tokio_postgres::Config) -> Target {
    let host = match pg.get_hosts().first() {
        Some(Host::Tcp(host)) => host.clone(),
        #[cfg(unix)]
        Some(Host::Unix(path)) => path.display().to_string(),
        None => "(no host)".to_string(),
    };
    let port = pg.get_ports().first().copied().unwrap_or(5432);
    let database = pg.get_dbname().or(pg.get_user()).unwrap_or("(none)");
    Target(format!("{host}:{port}, database {database}"))
}

/// The rustls client configuration `store.tls` asks for.
fn tls_config(config: &StoreConfig) -> Result<ClientConfig, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS: {e}"))?;
    Ok(match config.tls {
        // `prefer` and `require` encrypt without checking who answers, as libpq's
        // sslmode=prefer and sslmode=require do; `disable` never gets this far.
        DatabaseTls::Disable | DatabaseTls::Prefer | DatabaseTls::Require => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AnyCertificate(provider)))
            .with_no_client_auth(),
        DatabaseTls::VerifyFull => builder
            .with_root_certificates(roots(config)?)
            .with_no_client_auth(),
    })
}

/// The CAs `verify-full` trusts: `ca_cert`, or else the system's trust store.
fn roots(config: &StoreConfig) -> Result<RootCertStore, String> {
    let mut roots = RootCertStore::empty();
    match &config.ca_cert {
        Some(path) => {
            let named = |why: String| format!("store.ca_cert {}: {why}", path.display());
            let file = std::fs::File::open(path).map_err(|e| named(e.to_string()))?;
            let certs: Vec<CertificateDer<'static>> =
                rustls_pemfile::certs(&mut std::io::BufReader::new(file))
                    .collect::<Result<_, _>>()
                    .map_err(|e| named(format!("not PEM: {e}")))?;
            if certs.is_empty() {
                return Err(named("no CERTIFICATE block in the file".into()));
            }
            for cert in certs {
                roots
                    .add(cert)
                    .map_err(|e| named(format!("not a CA certificate: {e}")))?;
            }
        }
        None => {
            let found = rustls_native_certs::load_native_certs();
            roots.add_parsable_certificates(found.certs);
            if roots.is_empty() {
                return Err(
                    "tls = \"verify-full\" without store.ca_cert found no CA certificate in \
                     the system's trust store"
                        .into(),
                );
            }
        }
    }
    Ok(roots)
}

/// Accepts any certificate, still checking that the server holds its key (the handshake's
/// signatures): encryption against eavesdropping, without authentication of the server.
#[derive(Debug)]
struct AnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_url_password_is_found_as_written() {
        assert_eq!(
            url_password("postgres://u:p%40ss@h:1/db?sslmode=disable"),
            Some("p%40ss")
        );
        assert_eq!(url_password("postgres://u@h/db"), None);
        assert_eq!(percent_decode("p%40ss").as_deref(), Some("p@ss"));
    }

    #[test]
    fn a_cause_loses_every_form_of_the_password() {
        let mut text = "auth failed for p%40ss and p@ss".to_string();
        scrub(&mut text, &["p%40ss".into(), "p@ss".into(), String::new()]);
        assert_eq!(text, "auth failed for *** and ***");
    }

    #[test]
    fn an_unreadable_url_is_refused_without_showing_it() {
        let config = StoreConfig {
            url: Some("postgres://u:Sekr1t-Pw@h:notaport/db".into()),
            ..StoreConfig::default()
        };
        let err = Settings::new(&config).err().expect("refused");
        let shown = format!("{} {:?}", crate::errors::chain(&err), err);
        assert!(!shown.contains("Sekr1t-Pw"), "{shown}");
        assert!(shown.contains("URL"), "{shown}");
    }
}
