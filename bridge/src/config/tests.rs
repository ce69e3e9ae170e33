//! Tests of the configuration: flags, variables, the file, and what --help says.

use super::*;
use std::io::Write;

/// A TOML file that lives as long as the value (tests run in parallel: each has its own).
struct TempToml(PathBuf);

impl TempToml {
    fn new(text: &str) -> TempToml {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static N: AtomicUsize = AtomicUsize::new(0);
        let path = std::env::temp_dir().join(format!(
            "vmm-bridge-config-{}-{}.toml",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::File::create(&path).and_then(|mut f| f.write_all(text.as_bytes())).expect("write the temp file");
        TempToml(path)
    }

    fn arg(&self) -> String {
        format!("--config={}", self.0.display())
    }
}

impl Drop for TempToml {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn load(args: &[&str]) -> Result<Config, ConfigError> {
    Config::load_from(std::iter::once("vmm-bridge").chain(args.iter().copied()))
}

// These tests only read options whose environment variables no other test sets, and which a
// developer's shell is unlikely to set (the services script reads VMM_MQTT_URL and
// VMM_MONGODB_URI, so they are avoided).

#[test]
fn a_flag_beats_the_file_and_the_file_beats_the_default() {
    let file = TempToml::new("prefix = \"from-file\"\nworkers = 5\ncollections = [\"a\", \"b\"]\n");
    let config = load(&[&file.arg(), "--prefix", "from-flag"]).unwrap();
    assert_eq!(config.prefix, "from-flag");
    assert_eq!(config.workers, 5);
    assert_eq!(config.collections, ["a", "b"]);
    assert_eq!(config.database, "vmm", "an option in neither keeps its default");
    assert_eq!(config.config.as_deref(), Some(file.0.as_path()));
}

#[test]
fn an_environment_variable_beats_the_file_and_loses_to_the_flag() {
    // The only test that touches VMM_RETAIN_EVENTS_DAYS.
    std::env::set_var("VMM_RETAIN_EVENTS_DAYS", "11");
    let file = TempToml::new("retain_events_days = 5\n");
    let from_env = load(&[&file.arg()]);
    let from_flag = load(&[&file.arg(), "--retain-events-days", "13"]);
    std::env::remove_var("VMM_RETAIN_EVENTS_DAYS");
    let from_file = load(&[&file.arg()]);
    assert_eq!(from_env.unwrap().retain_events_days, 11);
    assert_eq!(from_flag.unwrap().retain_events_days, 13);
    assert_eq!(from_file.unwrap().retain_events_days, 5);
    assert_eq!(load(&[]).unwrap().retain_events_days, 7);
}

#[test]
fn the_defaults_are_the_documented_ones() {
    let config = load(&[]).unwrap();
    assert_eq!(config.database, "vmm");
    assert_eq!(config.prefix, "vmm");
    assert_eq!(config.share_group, "vmm-bridges");
    assert_eq!(config.share_group(), Some("vmm-bridges"));
    assert_eq!(config.log_format, LogFormat::Text);
    assert_eq!(config.max_payload, 262_144);
    assert_eq!(config.workers, 32);
    assert!(config.bridge_id.starts_with("vmm-bridge-"));
    assert_eq!(config.limits(), Limits::default());
}

#[test]
fn an_unknown_key_in_the_file_is_refused_naming_the_file() {
    let file = TempToml::new("workers = 4\nmax_paylod = 100000\n");
    let err = load(&[&file.arg()]).unwrap_err();
    assert!(matches!(err, ConfigError::ParseFile { .. }), "{err:?}");
    let message = err.to_string();
    assert!(message.contains(&file.0.display().to_string()), "{message}");
    assert!(message.contains("max_paylod"), "{message}");
}

#[test]
fn a_missing_file_is_refused_naming_it() {
    let err = load(&["--config", "/nonexistent/vmm.toml"]).unwrap_err();
    assert!(matches!(err, ConfigError::ReadFile { .. }), "{err:?}");
    assert!(err.to_string().contains("/nonexistent/vmm.toml"), "{err}");
}

#[test]
fn a_max_payload_below_64_kib_is_refused() {
    let err = load(&["--max-payload", "65535"]).unwrap_err();
    assert!(matches!(err, ConfigError::Invalid { ref option, .. } if option == "--max-payload"), "{err:?}");
    assert!(err.to_string().contains("65536"), "{err}");
    assert_eq!(load(&["--max-payload", "65536"]).unwrap().limits().max_payload, 65_536);
}

#[test]
fn a_bad_value_in_the_file_is_refused_naming_the_file_and_key() {
    let file = TempToml::new("max_payload = 1000\n");
    let message = load(&[&file.arg()]).unwrap_err().to_string();
    assert!(message.contains("max_payload") && message.contains(&file.0.display().to_string()), "{message}");
}

#[test]
fn http_addr_off_disables_the_endpoint() {
    assert_eq!(load(&[]).unwrap().http_addr, Some("127.0.0.1:9464".parse().unwrap()));
    assert_eq!(load(&["--http-addr", "off"]).unwrap().http_addr, None);
    assert_eq!(load(&["--http-addr", "0.0.0.0:80"]).unwrap().http_addr, Some("0.0.0.0:80".parse().unwrap()));
    let file = TempToml::new("http_addr = \"off\"\n");
    assert_eq!(load(&[&file.arg()]).unwrap().http_addr, None);
    assert!(load(&["--http-addr", "localhost"]).is_err());
}

#[test]
fn collections_are_comma_separated_and_reserved_names_are_refused() {
    let config = load(&["--collections", "tasks, notes,"]).unwrap();
    assert_eq!(config.collections, ["tasks", "notes"]);
    assert!(config.collection_allowed("tasks") && !config.collection_allowed("other"));
    let all = load(&[]).unwrap();
    assert!(all.collection_allowed("anything"));
    assert!(!all.collection_allowed("vmm_events") && !all.collection_allowed("system.users"));
    assert!(load(&["--collections", "tasks,vmm_events"]).is_err());
    let file = TempToml::new("collections = \"a,b\"\n");
    assert_eq!(load(&[&file.arg()]).unwrap().collections, ["a", "b"]);
}

#[test]
fn mqtt_urls_are_tcp_or_tls_with_an_optional_port() {
    use login::{parse_broker_url, BrokerUrl};
    let url = |host: &str, port, tls| Ok(BrokerUrl { host: host.into(), port, tls });
    assert_eq!(parse_broker_url("mqtt://127.0.0.1:1883"), url("127.0.0.1", 1883, false));
    assert_eq!(parse_broker_url("mqtt://broker"), url("broker", 1883, false));
    assert_eq!(parse_broker_url("tcp://broker:2883/"), url("broker", 2883, false));
    assert_eq!(parse_broker_url("mqtt://[::1]:1884"), url("::1", 1884, false));
    assert_eq!(parse_broker_url("mqtt://[::1]"), url("::1", 1883, false));
    assert_eq!(parse_broker_url("mqtts://broker"), url("broker", 8883, true));
    assert_eq!(parse_broker_url("ssl://127.0.0.1:8884"), url("127.0.0.1", 8884, true));
    assert!(parse_broker_url("ws://broker:9001").is_err());
    assert!(parse_broker_url("mqtt://:1883").is_err());
    assert!(parse_broker_url("mqtt://broker:x").is_err());
    let e = parse_broker_url("mqtt://bridge:hunter2@broker").unwrap_err();
    assert!(!e.contains("hunter2") && e.contains("--mqtt-username"), "{e}");
}

#[test]
fn the_default_bridge_id_is_a_valid_client_id() {
    assert_eq!(bridge_id_for("web 1.example/x"), "vmm-bridge-web-1.example-x");
    assert_eq!(bridge_id_for(""), "vmm-bridge-local");
    assert_eq!(bridge_id_for(&"h".repeat(300)).len(), 128);
    assert!(check_client(&default_bridge_id()).is_ok());
}

#[test]
fn the_help_documents_every_option() {
    let help = Config::command().render_long_help().to_string();
    for name in [
        "mqtt_url",
        "mqtt_username",
        "mqtt_password_file",
        "mqtt_ca_file",
        "mqtt_cert_file",
        "mqtt_key_file",
        "mongodb_uri",
        "database",
        "prefix",
        "collections",
        "bridge_id",
        "share_group",
        "http_addr",
        "log_format",
        "log",
        "max_payload",
        "workers",
        "retain_events_days",
        "config",
    ] {
        assert!(help.contains(&flag(name)), "{name} has no flag");
        assert!(help.contains(&env_var(name)), "{name} has no environment variable");
    }
    assert!(help.contains("docs/BRIDGE.md") && help.contains("only writer"));
}

#[test]
fn help_and_version_are_reported_as_clap_errors() {
    let err = load(&["--help"]).unwrap_err();
    assert!(matches!(err, ConfigError::Args(ref e) if e.kind() == clap::error::ErrorKind::DisplayHelp));
}
