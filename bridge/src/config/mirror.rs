//! The mirror's configuration (`vmm-mirror`): flags, `VMM_*` variables and an optional TOML
//! file, with the bridge's precedence (flag > environment > file > default) and the bridge's
//! checks for what the two share (broker, login, prefix, collections, logs).
//!
//! The target is named by its own options (`--target-uri`, `--target-database`), never by the
//! bridge's `VMM_MONGODB_URI` / `VMM_DATABASE`: a mirror started in the bridge's environment must
//! not write into the bridge's database.

use std::collections::HashMap;
use std::ffi::OsString;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use clap::parser::ValueSource;
use clap::{ArgMatches, CommandFactory, FromArgMatches, Parser};
use serde::Deserialize;
use vmm_protocol::replica::Resync;
use vmm_protocol::topic::{check_client, Topics};

use super::login::{self, MqttLogin};
use super::{
    check_collections, check_database, hostname, invalid, parse_http_addr, Collections, ConfigError, FileValue,
    HttpAddr, LogFormat, MongoUri, Origin,
};

const AFTER_HELP: &str = "\
The mirror keeps the chosen collections of a target MongoDB database equal to the bridge's, \
through the protocol only: it never reads the bridge's database. It stores each object's version \
in the field _vmm_v of the mirrored document, and deletions in the collection \
vmm_mirror_tombstones of the target database, so that a restart resumes where it stopped and \
fetches only what changed (docs/PROTOCOL.md §12.4). Any number of mirrors may write one target. \
Do not let other programs write to the mirrored collections of the target.

Every option can be given as a flag, as an environment variable, or as a key of the TOML file \
named by --config (the option's name in snake_case, e.g. target_database = \"copy\"). A flag beats \
the environment, which beats the file, which beats the default. Unknown keys are an error.

Environment variables:
  VMM_MIRROR_CONFIG, VMM_MQTT_URL, VMM_MQTT_USERNAME, VMM_MQTT_PASSWORD_FILE, VMM_MQTT_PASSWORD
  (the password itself: environment only), VMM_MQTT_CA_FILE, VMM_MQTT_CERT_FILE,
  VMM_MQTT_KEY_FILE, VMM_PREFIX, VMM_COLLECTIONS, VMM_TARGET_URI, VMM_TARGET_DATABASE,
  VMM_MIRROR_ID, VMM_MIRROR_HTTP_ADDR, VMM_RESYNC, VMM_LOG_FORMAT, VMM_LOG

SIGINT or SIGTERM stops the mirror after the writes in progress; a second one exits at once. \
Nothing is lost either way: the target holds versions, and the next start fetches what it lacks.
See docs/MIRROR.md.";

/// How a restarted mirror loads what it missed (`--resync`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ResyncMode {
    /// List the versions and fetch only the objects that differ (§12.4; bridges of draft 6).
    Versions,
    /// Load every document again (any v1 bridge).
    Documents,
}

impl From<ResyncMode> for Resync {
    fn from(mode: ResyncMode) -> Resync {
        match mode {
            ResyncMode::Versions => Resync::Versions,
            ResyncMode::Documents => Resync::Documents,
        }
    }
}

/// The mirror's configuration. Build it with [`MirrorConfig::load`].
#[derive(Clone, Debug, PartialEq, Eq, Parser)]
#[command(name = "vmm-mirror", version, about = "The vmm mirror: keeps collections of another MongoDB equal to the bridge's, over MQTT", after_help = AFTER_HELP)]
pub struct MirrorConfig {
    /// The MQTT broker, as mqtt://host[:port] or mqtts://host[:port] (as the bridge's).
    #[arg(long, env = "VMM_MQTT_URL", default_value = "mqtt://127.0.0.1:1883", value_name = "URL")]
    pub mqtt_url: String,

    /// How the mirror logs in to the broker: user name, password, TLS files (as the bridge's).
    /// It needs read access only: subscribe to the events and its reply topic, publish failures
    /// and loads.
    #[command(flatten)]
    pub login: MqttLogin,

    /// The topic prefix, as the bridge's.
    #[arg(long, env = "VMM_PREFIX", default_value = Topics::DEFAULT_PREFIX, value_name = "PREFIX")]
    pub prefix: String,

    /// The collections to mirror, comma-separated (required).
    #[arg(long, env = "VMM_COLLECTIONS", value_delimiter = ',', value_name = "NAMES")]
    pub collections: Vec<String>,

    /// The MongoDB the mirror writes to (mongodb:// or mongodb+srv://). Its password is never
    /// logged.
    #[arg(
        long,
        env = "VMM_TARGET_URI",
        hide_env_values = true,
        default_value = "mongodb://127.0.0.1:27017",
        value_name = "URI"
    )]
    pub target_uri: MongoUri,

    /// The database of the target that receives the collections (required).
    #[arg(long, env = "VMM_TARGET_DATABASE", default_value = "", hide_default_value = true, value_name = "NAME")]
    pub target_database: String,

    /// The mirror's MQTT client id, which is also its identity in topics without a user name.
    /// Each running mirror needs its own. Default: vmm-mirror-<hostname>, or
    /// <user>:mirror-<hostname> with --mqtt-username.
    #[arg(long, env = "VMM_MIRROR_ID", default_value_t = default_mirror_id(), value_name = "ID")]
    pub mirror_id: String,

    /// The address of the HTTP endpoint serving /healthz (with the lag) and /metrics, as
    /// ip:port; "off" disables it.
    #[arg(
        long,
        env = "VMM_MIRROR_HTTP_ADDR",
        default_value = "127.0.0.1:9465",
        value_parser = parse_http_addr,
        value_name = "ADDR|off"
    )]
    pub mirror_http_addr: ::std::option::Option<SocketAddr>,

    /// How a restart loads what it missed: versions (fetch only the objects that differ; needs
    /// bridges of protocol draft 6) or documents (everything again).
    #[arg(long, env = "VMM_RESYNC", value_enum, default_value_t = ResyncMode::Versions, value_name = "MODE")]
    pub resync: ResyncMode,

    /// The log format on stderr: text or json.
    #[arg(long, env = "VMM_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text, value_name = "FORMAT")]
    pub log_format: LogFormat,

    /// Which logs to write: a tracing EnvFilter directive ("vmm_bridge::mirror=debug" logs every
    /// write).
    #[arg(long, env = "VMM_LOG", default_value = "info", value_name = "FILTER")]
    pub log: String,

    /// A TOML file with any of the options above, under their names in snake_case.
    #[arg(long, env = "VMM_MIRROR_CONFIG", value_name = "PATH")]
    pub config: Option<PathBuf>,
}

/// The keys of the mirror's configuration file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct MirrorFile {
    mqtt_url: Option<String>,
    mqtt_username: Option<String>,
    mqtt_password_file: Option<PathBuf>,
    mqtt_ca_file: Option<PathBuf>,
    mqtt_cert_file: Option<PathBuf>,
    mqtt_key_file: Option<PathBuf>,
    prefix: Option<String>,
    collections: Option<Collections>,
    target_uri: Option<MongoUri>,
    target_database: Option<String>,
    mirror_id: Option<String>,
    mirror_http_addr: Option<HttpAddr>,
    resync: Option<ResyncMode>,
    log_format: Option<LogFormat>,
    log: Option<String>,
}

impl MirrorConfig {
    /// Loads the configuration from the process's arguments, environment and file.
    pub fn load() -> Result<MirrorConfig, ConfigError> {
        Self::load_with(std::env::args_os(), std::env::var(login::PASSWORD_ENV).ok())
    }

    /// Loads the configuration from `args` (the first is the program's name), the process's
    /// environment, the file, and `env_password` as the value of `VMM_MQTT_PASSWORD`.
    pub fn load_with<I, T>(args: I, env_password: Option<String>) -> Result<MirrorConfig, ConfigError>
    where
        I: IntoIterator<Item = T>,
        T: Into<OsString> + Clone,
    {
        let matches = MirrorConfig::command().try_get_matches_from(args)?;
        let mut config = MirrorConfig::from_arg_matches(&matches)?;
        let file = match &config.config {
            Some(path) => Some((read_file(path)?, path.clone())),
            None => None,
        };
        let origins = config.merge(&matches, file)?;
        config.collections =
            config.collections.iter().map(|c| c.trim().to_string()).filter(|c| !c.is_empty()).collect();
        config.login.read_password(env_password, &origins)?;
        if let (Some(Origin::Default), Some(user)) = (origins.get("mirror_id"), &config.login.mqtt_username) {
            config.mirror_id = login::bridge_id_for_user(user, &format!("mirror-{}", hostname())).ok_or_else(|| {
                let message = format!("{user:?} cannot start a client id ([A-Za-z0-9._:~-]): give --mirror-id");
                invalid("mqtt_username", origins["mqtt_username"].clone(), message)
            })?;
        }
        config.check(&origins)?;
        Ok(config)
    }

    fn merge(
        &mut self,
        matches: &ArgMatches,
        file: Option<(MirrorFile, PathBuf)>,
    ) -> Result<HashMap<&'static str, Origin>, ConfigError> {
        let mut origins = HashMap::new();
        let (file, path) = file.unwrap_or_default();
        merge_file!(matches, origins, file, path, self.login; mqtt_username, mqtt_password_file, mqtt_ca_file, mqtt_cert_file, mqtt_key_file);
        merge_file!(
            matches, origins, file, path, self;
            mqtt_url, prefix, collections, target_uri, target_database, mirror_id, mirror_http_addr, resync,
            log_format, log,
        );
        Ok(origins)
    }

    fn check(&self, origins: &HashMap<&'static str, Origin>) -> Result<(), ConfigError> {
        let fail = |name: &'static str, message: String| {
            Err(invalid(name, origins.get(name).cloned().unwrap_or(Origin::Default), message))
        };
        match login::parse_broker_url(&self.mqtt_url) {
            Ok(url) => self.login.check(&url, origins)?,
            Err(message) => return fail("mqtt_url", message),
        }
        if Topics::new(&self.prefix).is_err() {
            return fail("prefix", format!("{:?} is not a valid topic prefix", self.prefix));
        }
        if self.collections.is_empty() {
            return fail("collections", "name at least one collection to mirror".to_string());
        }
        if let Err(message) = check_collections(&self.collections) {
            return fail("collections", message);
        }
        if !(self.target_uri.starts_with("mongodb://") || self.target_uri.starts_with("mongodb+srv://")) {
            let message = format!("{:?} must start with mongodb:// or mongodb+srv://", self.target_uri.redacted());
            return fail("target_uri", message);
        }
        if self.target_database.is_empty() {
            return fail("target_database", "name the database the mirror writes to".to_string());
        }
        if let Err(message) = check_database(&self.target_database) {
            return fail("target_database", message);
        }
        if let Err(v) = check_client(&self.mirror_id) {
            return fail("mirror_id", v.to_string());
        }
        if let Err(e) = tracing_subscriber::EnvFilter::try_new(&self.log) {
            return fail("log", format!("{:?} is not a valid filter: {e}", self.log));
        }
        Ok(())
    }
}

fn read_file(path: &Path) -> Result<MirrorFile, ConfigError> {
    let text =
        std::fs::read_to_string(path).map_err(|source| ConfigError::ReadFile { path: path.to_path_buf(), source })?;
    toml::from_str(&text)
        .map_err(|e| ConfigError::ParseFile { path: path.to_path_buf(), message: e.to_string().trim_end().to_string() })
}

/// `vmm-mirror-<hostname>`, with what a client id cannot hold replaced by `-`.
fn default_mirror_id() -> String {
    let host: String = hostname()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | ':' | '~' | '-') { c } else { '-' })
        .take(100)
        .collect();
    format!("vmm-mirror-{host}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(args: &[&str]) -> Result<MirrorConfig, ConfigError> {
        let mut all = vec!["vmm-mirror"];
        all.extend_from_slice(args);
        MirrorConfig::load_with(all, None)
    }

    #[test]
    fn a_mirror_needs_its_collections_and_its_target_database() {
        let e = load(&["--target-database", "copy"]).unwrap_err().to_string();
        assert!(e.contains("--collections") && e.contains("at least one"), "{e}");
        let e = load(&["--collections", "tasks"]).unwrap_err().to_string();
        assert!(e.contains("--target-database"), "{e}");
        let c = load(&["--collections", "tasks, notes", "--target-database", "copy"]).unwrap();
        assert_eq!(c.collections, ["tasks", "notes"]);
        assert_eq!(c.resync, ResyncMode::Versions);
    }

    #[test]
    fn reserved_collections_and_bad_database_names_are_refused_naming_the_option() {
        let e = load(&["--collections", "vmm_events", "--target-database", "copy"]).unwrap_err().to_string();
        assert!(e.contains("--collections") && e.contains("vmm_"), "{e}");
        let e = load(&["--collections", "tasks", "--target-database", "a.b"]).unwrap_err().to_string();
        assert!(e.contains("--target-database") && e.contains("given as a flag"), "{e}");
    }

    #[test]
    fn the_file_fills_what_flags_leave_and_flags_win() {
        let dir = std::env::temp_dir().join(format!("vmm-mirror-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("mirror.toml");
        std::fs::write(&path, "collections = [\"tasks\"]\ntarget_database = \"copy\"\nresync = \"documents\"\n")
            .unwrap();
        let file = path.to_str().unwrap();
        let c = load(&["--config", file]).unwrap();
        assert_eq!((c.collections.as_slice(), c.target_database.as_str()), (&["tasks".to_string()][..], "copy"));
        assert_eq!(c.resync, ResyncMode::Documents);
        let c = load(&["--config", file, "--resync", "versions"]).unwrap();
        assert_eq!(c.resync, ResyncMode::Versions);
        std::fs::write(&path, "collections = [\"tasks\"]\ntarget_db = \"copy\"\n").unwrap();
        let e = load(&["--config", file]).unwrap_err().to_string();
        assert!(e.contains("unknown field") && e.contains("target_db"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn with_a_user_name_the_default_id_is_namespaced_by_it() {
        let c = load(&["--collections", "tasks", "--target-database", "copy", "--mqtt-username", "mirror"]).unwrap();
        assert!(c.mirror_id.starts_with("mirror:mirror-"), "{}", c.mirror_id);
    }
}
