//! TLS for both listeners (SPEC §2 `[tls]`): rustls from PEM files, with the ring provider.
//! A missing or unreadable certificate or key stops the start with a message naming the file.

use crate::config::TlsConfig;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::fs::File;
use std::io::BufReader;
use std::path::Path;
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("tls.cert {path}: {reason}")]
    Cert { path: String, reason: String },
    #[error("tls.key {path}: {reason}")]
    Key { path: String, reason: String },
    #[error("tls.cert and tls.key do not make a TLS configuration: {0}")]
    Config(String),
}

fn open(path: &Path) -> Result<BufReader<File>, String> {
    File::open(path)
        .map(BufReader::new)
        .map_err(|e| e.to_string())
}

fn certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let err = |reason: String| TlsError::Cert {
        path: path.display().to_string(),
        reason,
    };
    let certs = rustls_pemfile::certs(&mut open(path).map_err(err)?)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| err(format!("not PEM: {e}")))?;
    if certs.is_empty() {
        return Err(err("no CERTIFICATE block in the file".into()));
    }
    Ok(certs)
}

fn private_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    let err = |reason: String| TlsError::Key {
        path: path.display().to_string(),
        reason,
    };
    rustls_pemfile::private_key(&mut open(path).map_err(err)?)
        .map_err(|e| err(format!("not PEM: {e}")))?
        .ok_or_else(|| err("no PRIVATE KEY block in the file".into()))
}

/// The rustls server configuration for `[tls]`: TLS 1.2 and 1.3, no client certificates.
pub fn server_config(tls: &TlsConfig) -> Result<rustls::ServerConfig, TlsError> {
    let certs = certificates(&tls.cert)?;
    let key = private_key(&tls.key)?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Config(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| TlsError::Config(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tls(dir: &Path, cert: &str, key: &str) -> TlsConfig {
        std::fs::write(dir.join("cert.pem"), cert).expect("write");
        std::fs::write(dir.join("key.pem"), key).expect("write");
        TlsConfig {
            enable_ssl: true,
            cert: dir.join("cert.pem"),
            key: dir.join("key.pem"),
            redirect_http_bind: None,
        }
    }

    #[test]
    fn a_missing_certificate_is_named() {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = TlsConfig {
            enable_ssl: true,
            cert: dir.path().join("absent.pem"),
            key: dir.path().join("absent-key.pem"),
            redirect_http_bind: None,
        };
        let err = server_config(&config).expect_err("missing");
        assert!(err.to_string().starts_with("tls.cert"), "{err}");
        assert!(err.to_string().contains("absent.pem"), "{err}");
    }

    #[test]
    fn garbage_is_refused_by_name() {
        let dir = tempfile::tempdir().expect("tempdir");
        let err = server_config(&tls(dir.path(), "hello", "world")).expect_err("garbage");
        assert!(err.to_string().contains("no CERTIFICATE"), "{err}");
    }
}
