//! How the bridge logs in to a secured broker: the MQTT user name and password, TLS
//! (`mqtts://`) with a CA bundle or the OS roots, and a client certificate. See docs/BRIDGE.md,
//! "Connecting to secured services".
//!
//! The password never comes from a flag (command lines are visible to every local user): from a
//! file (`--mqtt-password-file`) or the environment variable `VMM_MQTT_PASSWORD`, never both. It
//! is held in a [`Secret`], whose `Debug` prints `***`. Every TLS file is read and parsed at
//! start-up, so a bad path is a configuration error naming the file, not a handshake failure
//! on every reconnection.

use super::{invalid, ConfigError, Origin, Secret};
use clap::Args;
use std::collections::HashMap;
use std::path::PathBuf;
use vmm_engine::tls::{TlsError, TlsFiles};
use vmm_protocol::Limits;

/// The environment variable that may hold the MQTT password (there is no flag).
pub const PASSWORD_ENV: &str = "VMM_MQTT_PASSWORD";

/// The bridge's MQTT login: credentials and TLS. Part of [`super::Config`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Args)]
pub struct MqttLogin {
    /// The MQTT user name the bridge logs in with (e.g. vmm-bridge). The bridge's client id then
    /// defaults to `<user>:<hostname>`: a broker that namespaces client ids by identity
    /// (docs/PROTOCOL.md §2.3) accepts only the user name itself or ids starting with `<user>:`,
    /// so an explicit --bridge-id must follow that rule too. On a listener that takes the identity from
    /// the client certificate (Mosquitto's use_identity_as_username), give the certificate's
    /// common name here, for the client id.
    #[arg(long, env = "VMM_MQTT_USERNAME", value_name = "USER")]
    pub mqtt_username: Option<String>,

    /// A file holding the MQTT password (its trailing newline is ignored); needs --mqtt-username.
    /// Alternatively the environment variable VMM_MQTT_PASSWORD holds the password itself (not
    /// both; there is no flag, as a command line is visible to every user of the machine). The
    /// password is never logged.
    #[arg(long, env = "VMM_MQTT_PASSWORD_FILE", value_name = "PATH")]
    pub mqtt_password_file: Option<PathBuf>,

    /// For an mqtts:// URL: a PEM file of the certificate authorities to trust. Default: the
    /// operating system's trusted roots.
    #[arg(long, env = "VMM_MQTT_CA_FILE", value_name = "PATH")]
    pub mqtt_ca_file: Option<PathBuf>,

    /// For an mqtts:// URL: a client certificate to present (PEM, the certificate first, then
    /// any intermediates); needs --mqtt-key-file.
    #[arg(long, env = "VMM_MQTT_CERT_FILE", value_name = "PATH")]
    pub mqtt_cert_file: Option<PathBuf>,

    /// The private key of --mqtt-cert-file (PEM: PKCS#8, PKCS#1 or SEC1); needs --mqtt-cert-file.
    #[arg(long, env = "VMM_MQTT_KEY_FILE", value_name = "PATH")]
    pub mqtt_key_file: Option<PathBuf>,

    /// The password, read from --mqtt-password-file or VMM_MQTT_PASSWORD when the configuration
    /// is loaded.
    #[arg(skip)]
    pub mqtt_password: Option<Secret>,
}

impl MqttLogin {
    /// The CA file and client certificate, for [`vmm_engine::tls::client_config`].
    pub fn tls_files(&self) -> TlsFiles {
        let mut files = TlsFiles::new();
        files.ca_file = self.mqtt_ca_file.clone();
        if let (Some(cert), Some(key)) = (&self.mqtt_cert_file, &self.mqtt_key_file) {
            files = files.with_client_cert(cert, key);
        }
        files
    }

    /// Reads the password from the file or `env_password`, refusing both at once and a password
    /// without a user name.
    pub(super) fn read_password(
        &mut self,
        env_password: Option<String>,
        origins: &HashMap<&'static str, Origin>,
    ) -> Result<(), ConfigError> {
        let origin = |name: &str| origins.get(name).cloned().unwrap_or(Origin::Default);
        self.mqtt_password = match (&self.mqtt_password_file, env_password) {
            (Some(_), Some(_)) => {
                return Err(invalid(
                    "mqtt_password_file",
                    origin("mqtt_password_file"),
                    format!("{PASSWORD_ENV} is set too: give the password one way only"),
                ))
            }
            (Some(path), None) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|source| ConfigError::ReadPassword { path: path.clone(), source })?;
                let password = text.trim_end_matches(['\n', '\r']);
                if password.is_empty() {
                    let message = format!("{} is empty", path.display());
                    return Err(invalid("mqtt_password_file", origin("mqtt_password_file"), message));
                }
                Some(Secret::new(password))
            }
            (None, Some(password)) => Some(Secret::new(password)),
            (None, None) => None,
        };
        if self.mqtt_password.is_some() && self.mqtt_username.is_none() {
            let name = if self.mqtt_password_file.is_some() { "mqtt_password_file" } else { "mqtt_username" };
            let message = "a password needs a user name (--mqtt-username): MQTT 3.1.1 sends none without one";
            return Err(invalid(name, origin(name), message.to_string()));
        }
        Ok(())
    }

    /// Checks the login against the broker URL: the client certificate comes with its key, TLS
    /// files only with `mqtts://`, and every TLS file reads and parses.
    pub(super) fn check(&self, url: &BrokerUrl, origins: &HashMap<&'static str, Origin>) -> Result<(), ConfigError> {
        let origin = |name: &str| origins.get(name).cloned().unwrap_or(Origin::Default);
        if let Some(user) = &self.mqtt_username {
            if user.is_empty() || user.contains('\0') {
                return Err(invalid("mqtt_username", origin("mqtt_username"), "must be non-empty, without NUL".into()));
            }
        }
        match (&self.mqtt_cert_file, &self.mqtt_key_file) {
            (Some(_), None) => {
                return Err(invalid("mqtt_cert_file", origin("mqtt_cert_file"), "needs --mqtt-key-file too".into()))
            }
            (None, Some(_)) => {
                return Err(invalid("mqtt_key_file", origin("mqtt_key_file"), "needs --mqtt-cert-file too".into()))
            }
            _ => {}
        }
        if !url.tls {
            for name in ["mqtt_ca_file", "mqtt_cert_file"] {
                if origins.get(name).is_some_and(|o| !matches!(o, Origin::Default)) {
                    let message = "applies only to an mqtts:// URL (TLS); --mqtt-url is plain TCP".to_string();
                    return Err(invalid(name, origin(name), message));
                }
            }
            return Ok(());
        }
        vmm_engine::tls::check_files(&self.tls_files()).map_err(|source| self.tls_error(source))
    }

    /// A TLS error, attributed to the option that names its file.
    fn tls_error(&self, source: TlsError) -> ConfigError {
        let path = match &source {
            TlsError::Read { path, .. } | TlsError::Parse { path, .. } => Some(path),
            TlsError::ClientCert { cert, .. } => Some(cert),
            _ => None,
        };
        let option = if path.is_some() && path == self.mqtt_ca_file.as_ref() {
            "--mqtt-ca-file"
        } else if path.is_some() && path == self.mqtt_cert_file.as_ref() {
            "--mqtt-cert-file"
        } else if path.is_some() && path == self.mqtt_key_file.as_ref() {
            "--mqtt-key-file"
        } else {
            "--mqtt-url"
        };
        ConfigError::Tls { option: option.to_string(), source }
    }
}

/// Where the MQTT broker is, from `--mqtt-url`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct BrokerUrl {
    pub(crate) host: String,
    pub(crate) port: u16,
    /// `mqtts://` or `ssl://`.
    pub(crate) tls: bool,
}

/// `mqtt://host[:port]` or `tcp://…` (port 1883), or `mqtts://host[:port]` or `ssl://…` (TLS,
/// port 8883), nothing after but an optional `/` or query.
pub(crate) fn parse_broker_url(url: &str) -> Result<BrokerUrl, String> {
    let bad = |why: &str| format!("{url:?} {why}; expected mqtt://host[:port] or mqtts://host[:port]");
    let (rest, tls) = if let Some(rest) = url.strip_prefix("mqtt://").or_else(|| url.strip_prefix("tcp://")) {
        (rest, false)
    } else if let Some(rest) = url.strip_prefix("mqtts://").or_else(|| url.strip_prefix("ssl://")) {
        (rest, true)
    } else {
        return Err(bad("has an unsupported scheme (mqtt:// or tcp:// for TCP, mqtts:// or ssl:// for TLS)"));
    };
    let authority = rest.split(['/', '?']).next().unwrap_or_default();
    if authority.contains('@') {
        // Not echoed: the URL may hold a password.
        return Err(format!(
            "the URL has credentials, which are not supported there; use --mqtt-username and \
             --mqtt-password-file (expected {}://host[:port])",
            if tls { "mqtts" } else { "mqtt" }
        ));
    }
    let (host, port) = match authority.rsplit_once(':') {
        // A bare IPv6 address ("[::1]") has colons but no port after its closing bracket.
        Some((host, port)) if !port.contains(']') => {
            (host, port.parse::<u16>().ok().filter(|p| *p != 0).ok_or_else(|| bad("has a bad port"))?)
        }
        _ => (authority, if tls { 8883 } else { 1883 }),
    };
    let host = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host);
    if host.is_empty() {
        return Err(bad("has no host"));
    }
    Ok(BrokerUrl { host: host.to_string(), port, tls })
}

/// `<user>:<hostname>`, the hostname's characters outside `[A-Za-z0-9._:~-]` replaced by `-`,
/// cut to fit 128 characters; `None` if the user name itself cannot start a client id.
pub(super) fn bridge_id_for_user(user: &str, hostname: &str) -> Option<String> {
    let valid = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | ':' | '~' | '-');
    if user.is_empty() || !user.chars().all(valid) || user.len() + 2 > Limits::MAX_CLIENT {
        return None;
    }
    let host: String =
        hostname.chars().map(|c| if valid(c) { c } else { '-' }).take(Limits::MAX_CLIENT - user.len() - 1).collect();
    Some(format!("{user}:{}", if host.is_empty() { "local" } else { &host }))
}

#[cfg(test)]
mod tests;
