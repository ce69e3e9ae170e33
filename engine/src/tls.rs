//! TLS for native MQTT clients (feature `tls`): a rustls client configuration built from PEM
//! files, shared by the native client ([`crate::native`]) and the bridge, so both trust and
//! present certificates the same way.
//!
//! The crypto provider is rustls' `ring`: the workspace already builds it for the MongoDB driver,
//! and aws-lc-rs (rustls' default) would need cmake and NASM on every machine.
//!
//! Every file problem is reported at once, naming the file: a typo in a path should stop a
//! program at start-up, not show up as a handshake failure on every reconnection.

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::{ClientConfig, RootCertStore};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Where a TLS client finds the certificates it trusts and the one it presents.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct TlsFiles {
    /// A PEM bundle of the certificate authorities to trust. `None`: the operating system's
    /// roots (rustls-native-certs).
    pub ca_file: Option<PathBuf>,
    /// A client certificate: its PEM chain (the certificate first) and its PEM private key
    /// (PKCS#8, PKCS#1 or SEC1).
    pub client_cert: Option<(PathBuf, PathBuf)>,
}

impl TlsFiles {
    /// Trust the OS roots and present no certificate.
    pub fn new() -> TlsFiles {
        TlsFiles::default()
    }

    /// Trust the CAs of this PEM bundle instead of the OS roots.
    pub fn with_ca_file(mut self, path: impl Into<PathBuf>) -> TlsFiles {
        self.ca_file = Some(path.into());
        self
    }

    /// Present this client certificate (PEM chain) with its private key (PEM).
    pub fn with_client_cert(mut self, cert: impl Into<PathBuf>, key: impl Into<PathBuf>) -> TlsFiles {
        self.client_cert = Some((cert.into(), key.into()));
        self
    }
}

/// Why a TLS configuration could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    /// A file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        source: std::io::Error,
    },
    /// A file holds no usable PEM item of the kind expected.
    #[error("{}: {message}", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
    /// The operating system's certificate store has no usable root.
    #[error("no trusted root certificates in the operating system's store ({0}); give a CA file")]
    NoNativeRoots(String),
    /// The client certificate and the key do not go together, or rustls refused them.
    #[error("the client certificate {} with the key {}: {message}", cert.display(), key.display())]
    ClientCert {
        /// The certificate file.
        cert: PathBuf,
        /// The key file.
        key: PathBuf,
        /// rustls' reason.
        message: String,
    },
}

/// A rustls client configuration (TLS 1.2 and 1.3, the `ring` provider) that trusts
/// `files.ca_file` (else the OS roots) and presents `files.client_cert` if given.
pub fn client_config(files: &TlsFiles) -> Result<Arc<ClientConfig>, TlsError> {
    let roots = match &files.ca_file {
        Some(path) => roots_from_file(path)?,
        None => native_roots()?,
    };
    let builder = ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .expect("ring supports the default protocol versions")
        .with_root_certificates(roots);
    let config = match &files.client_cert {
        None => builder.with_no_client_auth(),
        Some((cert, key)) => {
            let chain = certificates(cert)?;
            let private_key = private_key(key)?;
            builder.with_client_auth_cert(chain, private_key).map_err(|e| TlsError::ClientCert {
                cert: cert.clone(),
                key: key.clone(),
                message: e.to_string(),
            })?
        }
    };
    Ok(Arc::new(config))
}

/// Checks that every file can be read and parsed, without building a configuration that may go
/// unused: for configuration checks at start-up.
pub fn check_files(files: &TlsFiles) -> Result<(), TlsError> {
    client_config(files).map(drop)
}

fn read(path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Read { path: path.to_path_buf(), source })
}

fn parse_error(path: &Path, message: impl Into<String>) -> TlsError {
    TlsError::Parse { path: path.to_path_buf(), message: message.into() }
}

/// Every certificate of a PEM file, in order; at least one.
fn certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let pem = read(path)?;
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| parse_error(path, format!("not valid PEM: {e}")))?;
    if certs.is_empty() {
        return Err(parse_error(path, "no PEM certificate (-----BEGIN CERTIFICATE-----) in it"));
    }
    Ok(certs)
}

fn roots_from_file(path: &Path) -> Result<RootCertStore, TlsError> {
    let mut roots = RootCertStore::empty();
    for cert in certificates(path)? {
        roots.add(cert).map_err(|e| parse_error(path, format!("a certificate cannot be a trust anchor: {e}")))?;
    }
    Ok(roots)
}

fn private_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    let pem = read(path)?;
    PrivateKeyDer::from_pem_slice(&pem).map_err(|e| match e {
        rustls::pki_types::pem::Error::NoItemsFound => {
            parse_error(path, "no PEM private key (PKCS#8, PKCS#1 or SEC1) in it")
        }
        e => parse_error(path, format!("not a valid PEM private key: {e}")),
    })
}

fn native_roots() -> Result<RootCertStore, TlsError> {
    let found = rustls_native_certs::load_native_certs();
    let mut roots = RootCertStore::empty();
    let (added, _ignored) = roots.add_parsable_certificates(found.certs);
    if added == 0 {
        let why = found.errors.first().map_or_else(|| "none found".to_string(), ToString::to_string);
        return Err(TlsError::NoNativeRoots(why));
    }
    Ok(roots)
}

#[cfg(test)]
mod tests;
