//! The MQTT login options: where the password comes from, what is refused, and that the password
//! never shows.

use super::super::{Config, ConfigError};
use super::*;
use clap::CommandFactory;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

/// A directory of its own for a test's files, removed afterwards.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> TempDir {
        static N: AtomicUsize = AtomicUsize::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!("vmm-bridge-login-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&path).unwrap();
        TempDir(path)
    }

    fn file(&self, name: &str, text: &str) -> String {
        let path = self.0.join(name);
        std::fs::write(&path, text).unwrap();
        path.display().to_string()
    }

    /// A CA (ca.crt) and a client certificate it signed (client.crt, client.key), made by the
    /// openssl CLI.
    fn pki(&self) -> &Path {
        let run = |args: &[&str]| {
            let out = std::process::Command::new("openssl").args(args).current_dir(&self.0).output().expect("openssl");
            assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        };
        let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
        run(&[&["req", "-x509"][..], &ec, &["-keyout", "ca.key", "-out", "ca.crt", "-days", "2", "-subj", "/CN=ca"]]
            .concat());
        run(&[&["req"][..], &ec, &["-keyout", "client.key", "-out", "client.csr", "-subj", "/CN=vmm-bridge"]].concat());
        // With extensions: webpki refuses the version 1 certificate `x509 -req` makes without.
        std::fs::write(self.0.join("client.ext"), "basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n").unwrap();
        let sign = ["-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-extfile", "client.ext"];
        run(&[&["x509", "-req", "-in", "client.csr", "-out", "client.crt"][..], &sign].concat());
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn load(args: &[&str], env_password: Option<&str>) -> Result<Config, ConfigError> {
    Config::load_with(std::iter::once("vmm-bridge").chain(args.iter().copied()), env_password.map(str::to_string))
}

fn invalid_option(result: Result<Config, ConfigError>) -> (String, String) {
    match result {
        Err(ConfigError::Invalid { option, message, .. }) => (option, message),
        other => panic!("expected an invalid option, got {other:?}"),
    }
}

#[test]
fn the_password_file_loses_its_trailing_newline_and_never_shows() {
    let dir = TempDir::new();
    let file = dir.file("password", "correct horse\n");
    let config = load(&["--mqtt-username", "vmm-bridge", "--mqtt-password-file", &file], None).unwrap();
    assert_eq!(config.login.mqtt_password.as_ref().map(Secret::expose), Some("correct horse"));
    let debug = format!("{config:?} {config:#?}");
    assert!(!debug.contains("correct horse") && debug.contains("***"), "{debug}");
    assert!(config.bridge_id.starts_with("vmm-bridge:"), "{}", config.bridge_id);
    let crlf = dir.file("crlf", "p\r\n");
    let config = load(&["--mqtt-username", "u", "--mqtt-password-file", &crlf, "--bridge-id", "u:b1"], None).unwrap();
    assert_eq!(config.login.mqtt_password.unwrap().expose(), "p");
    assert_eq!(config.bridge_id, "u:b1", "an explicit bridge id stays");
}

#[test]
fn the_password_comes_from_the_environment_when_no_file_is_named() {
    let config = load(&["--mqtt-username", "alice"], Some("alice-secret")).unwrap();
    assert_eq!(config.login.mqtt_password.as_ref().map(Secret::expose), Some("alice-secret"));
    assert!(!format!("{config:?}").contains("alice-secret"));
}

#[test]
fn a_password_file_and_the_environment_variable_together_are_refused() {
    let dir = TempDir::new();
    let file = dir.file("password", "a\n");
    let (option, message) = invalid_option(load(&["--mqtt-username", "u", "--mqtt-password-file", &file], Some("b")));
    assert_eq!(option, "--mqtt-password-file");
    assert!(message.contains("VMM_MQTT_PASSWORD"), "{message}");
}

#[test]
fn a_password_without_a_user_name_is_refused() {
    let (option, message) = invalid_option(load(&[], Some("secret")));
    assert_eq!(option, "--mqtt-username");
    assert!(message.contains("user name") && !message.contains("secret"), "{message}");
}

#[test]
fn an_unreadable_or_empty_password_file_is_refused_naming_it() {
    let err = load(&["--mqtt-username", "u", "--mqtt-password-file", "/nonexistent/pw"], None).unwrap_err();
    assert!(matches!(err, ConfigError::ReadPassword { .. }), "{err:?}");
    assert!(err.to_string().contains("/nonexistent/pw"), "{err}");
    let dir = TempDir::new();
    let empty = dir.file("empty", "\n");
    let (option, message) = invalid_option(load(&["--mqtt-username", "u", "--mqtt-password-file", &empty], None));
    assert_eq!(option, "--mqtt-password-file");
    assert!(message.contains("empty"), "{message}");
}

#[test]
fn the_file_sets_the_login_under_the_options_names() {
    let dir = TempDir::new();
    let password = dir.file("password", "from-file\n");
    let toml = dir.file("vmm.toml", &format!("mqtt_username = \"bob\"\nmqtt_password_file = \"{password}\"\n"));
    let config = load(&["--config", &toml], None).unwrap();
    assert_eq!(config.login.mqtt_username.as_deref(), Some("bob"));
    assert_eq!(config.login.mqtt_password.unwrap().expose(), "from-file");
    assert!(config.bridge_id.starts_with("bob:"));
    let flagged = load(&["--config", &toml, "--mqtt-username", "carol"], None).unwrap();
    assert_eq!(flagged.login.mqtt_username.as_deref(), Some("carol"), "a flag beats the file");
}

#[test]
fn a_client_certificate_needs_its_key_and_the_key_its_certificate() {
    let (option, message) = invalid_option(load(&["--mqtt-url", "mqtts://b", "--mqtt-cert-file", "c.crt"], None));
    assert_eq!((option.as_str(), message.contains("--mqtt-key-file")), ("--mqtt-cert-file", true));
    let (option, _) = invalid_option(load(&["--mqtt-url", "mqtts://b", "--mqtt-key-file", "c.key"], None));
    assert_eq!(option, "--mqtt-key-file");
}

#[test]
fn tls_files_with_a_plain_tcp_url_are_refused() {
    let (option, message) = invalid_option(load(&["--mqtt-ca-file", "ca.crt"], None));
    assert_eq!(option, "--mqtt-ca-file");
    assert!(message.contains("mqtts://"), "{message}");
}

#[test]
fn a_tls_file_that_cannot_be_read_or_parsed_is_a_configuration_error_naming_it() {
    let err = load(&["--mqtt-url", "mqtts://127.0.0.1", "--mqtt-ca-file", "/nonexistent/ca.crt"], None).unwrap_err();
    assert!(matches!(&err, ConfigError::Tls { option, .. } if option == "--mqtt-ca-file"), "{err:?}");
    assert!(err.to_string().contains("/nonexistent/ca.crt"), "{err}");
    let dir = TempDir::new();
    dir.pki();
    let ca = dir.0.join("ca.crt").display().to_string();
    let cert = dir.0.join("client.crt").display().to_string();
    let key = dir.0.join("client.key").display().to_string();
    let ok = ["--mqtt-url", "mqtts://127.0.0.1:8884", "--mqtt-ca-file", &ca, "--mqtt-cert-file", &cert];
    let config = load(&[&ok[..], &["--mqtt-key-file", &key]].concat(), None).unwrap();
    assert_eq!(config.login.tls_files(), TlsFiles::new().with_ca_file(&ca).with_client_cert(&cert, &key));
    // A certificate given as the key: no private key in it.
    let not_a_key = dir.file("not-a-key.pem", &std::fs::read_to_string(&cert).unwrap());
    let err = load(&[&ok[..], &["--mqtt-key-file", &not_a_key]].concat(), None).unwrap_err();
    assert!(matches!(&err, ConfigError::Tls { option, .. } if option == "--mqtt-key-file"), "{err:?}");
    assert!(err.to_string().contains("not-a-key.pem") && err.to_string().contains("private key"), "{err}");
}

#[test]
fn the_default_bridge_id_of_a_user_is_namespaced_by_it() {
    assert_eq!(bridge_id_for_user("vmm-bridge", "web 1").as_deref(), Some("vmm-bridge:web-1"));
    assert_eq!(bridge_id_for_user("u", "").as_deref(), Some("u:local"));
    assert_eq!(bridge_id_for_user("u", &"h".repeat(300)).map(|id| id.len()), Some(128));
    assert_eq!(bridge_id_for_user("a b", "h"), None);
    let (option, _) = invalid_option(load(&["--mqtt-username", "a b"], None));
    assert_eq!(option, "--mqtt-username");
    assert!(
        load(&["--mqtt-username", "a b", "--bridge-id", "ab:1"], None).is_ok(),
        "an explicit id is the user's call"
    );
}

#[test]
fn the_mongodb_password_is_redacted_in_errors_and_debug() {
    let (option, message) = invalid_option(load(&["--mongodb-uri", "mongo://u:pw-123@db"], None));
    assert_eq!(option, "--mongodb-uri");
    assert!(!message.contains("pw-123") && message.contains("u:***@db"), "{message}");
    let config = load(&["--mongodb-uri", "mongodb://u:pw-123@db/?tls=true"], None).unwrap();
    assert_eq!(&*config.mongodb_uri, "mongodb://u:pw-123@db/?tls=true");
    assert!(!format!("{config:?}").contains("pw-123"));
}

#[test]
fn the_help_never_shows_the_mongodb_uri_from_the_environment() {
    let help = Config::command().render_long_help().to_string();
    let mongodb = help.split("--mongodb-uri").nth(1).unwrap_or_default();
    assert!(mongodb.contains("[env: VMM_MONGODB_URI]"), "{mongodb}");
}
