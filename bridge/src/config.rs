//! The bridge's configuration: command-line flags, `VMM_*` environment variables and an optional
//! TOML file, merged with the precedence flag > environment > file > default.
//!
//! The flags are declared with clap's derive on [`Config`]; their doc comments are the `--help`
//! text. The file's keys are the fields' names (`mqtt_url`, `max_payload`, …). clap knows where
//! each value came from ([`ArgMatches::value_source`]): a value clap took from its default is
//! replaced by the file's, if the file has one. Every value is then checked once, in
//! [`Config::load_from`], so the rest of the bridge can trust it.
//!
//! The MQTT login (user name, password, TLS) is [`login`]; values that must not be logged are
//! [`secret`] types.

use std::collections::HashMap;
use std::ffi::OsString;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use clap::parser::ValueSource;
use clap::{ArgMatches, CommandFactory, FromArgMatches, Parser};
use serde::Deserialize;
use vmm_protocol::topic::{check_client, check_collection, Topics};
use vmm_protocol::Limits;

/// For each option named: where its value came from (into `$origins`), and the file's value in
/// place of one clap took from its default. Shared by the bridge's and the mirror's
/// configurations (`$file`'s fields are the options' names).
macro_rules! merge_file {
    ($matches:expr, $origins:expr, $file:expr, $path:expr, $target:expr; $($field:ident),* $(,)?) => {$(
        let name = stringify!($field);
        let origin = match $matches.value_source(name) {
            Some(ValueSource::CommandLine) => Origin::Flag,
            Some(ValueSource::EnvVariable) => Origin::Env,
            _ => Origin::Default,
        };
        let origin = match (origin, $file.$field) {
            (Origin::Default, Some(value)) => {
                $target.$field = FileValue::into_value(value)
                    .map_err(|message| invalid(name, Origin::File($path.clone()), message))?;
                Origin::File($path.clone())
            }
            (origin, _) => origin,
        };
        $origins.insert(name, origin);
    )*};
}

mod bounds;
pub use bounds::Bounds;
pub mod login;
pub mod mirror;
pub mod secret;

pub use login::MqttLogin;
pub use secret::{MongoUri, Secret};

/// The largest payload MQTT can carry (its "remaining length" field tops out at 256 MiB − 1).
const MQTT_MAX_PACKET: usize = 268_435_455;

/// Collection names that are never served: the bridge's own bookkeeping and MongoDB's.
const RESERVED_PREFIXES: [&str; 2] = ["vmm_", "system."];

const AFTER_HELP: &str = "\
The bridge is the only writer to the database: it applies the requests clients publish over MQTT \
and publishes the resulting events. Do not let other programs write to the collections it serves.

Every option can be given as a flag, as an environment variable, or as a key of the TOML file \
named by --config (the option's name in snake_case, e.g. max_payload = 131072). A flag beats the \
environment, which beats the file, which beats the default. Unknown keys in the file are an error.

Environment variables:
  VMM_CONFIG, VMM_MQTT_URL, VMM_MQTT_USERNAME, VMM_MQTT_PASSWORD_FILE, VMM_MQTT_PASSWORD (the
  password itself: environment only), VMM_MQTT_CA_FILE, VMM_MQTT_CERT_FILE, VMM_MQTT_KEY_FILE,
  VMM_MONGODB_URI, VMM_DATABASE, VMM_PREFIX, VMM_COLLECTIONS, VMM_BRIDGE_ID, VMM_SHARE_GROUP,
  VMM_HTTP_ADDR, VMM_LOG_FORMAT, VMM_LOG, VMM_MAX_PAYLOAD, VMM_WORKERS, VMM_RETAIN_EVENTS_DAYS,
  VMM_PERMISSIONS, and those of the limits (VMM_INTAKE_MAX_MESSAGES, …)

The limits (--intake-*, --client-*, --http-*) go in the file's [limits] table, e.g.
[limits] client_reads_per_second = 50. See docs/BRIDGE.md \"Limits\".

SIGINT or SIGTERM stops the bridge gracefully; a second one exits at once.
See docs/BRIDGE.md for the operator's guide and docs/PROTOCOL.md for the protocol.";

/// The bridge's configuration. Build it with [`Config::load`].
#[derive(Clone, Debug, PartialEq, Eq, Parser)]
#[command(name = "vmm-bridge", version, about, after_help = AFTER_HELP)]
pub struct Config {
    /// The MQTT broker, as `mqtt://host[:port]` (plain TCP; port 1883 if omitted; tcp:// is
    /// accepted too) or `mqtts://host[:port]` (TLS; port 8883 if omitted; ssl:// is accepted
    /// too). The bridge connects with MQTT 3.1.1 under the client id --bridge-id.
    #[arg(long, env = "VMM_MQTT_URL", default_value = "mqtt://127.0.0.1:1883", value_name = "URL")]
    pub mqtt_url: String,

    /// How the bridge logs in to the broker: user name, password, TLS files.
    #[command(flatten)]
    pub login: MqttLogin,

    /// The MongoDB connection string (mongodb:// or mongodb+srv://, with any driver options in
    /// its query string: credentials as mongodb://user:password@host/?authSource=admin, TLS as
    /// ?tls=true&tlsCAFile=/path/ca.crt). Its password is never logged.
    // hide_env_values: --help would print the variable's value, password included.
    #[arg(
        long,
        env = "VMM_MONGODB_URI",
        hide_env_values = true,
        default_value = "mongodb://127.0.0.1:27017",
        value_name = "URI"
    )]
    pub mongodb_uri: MongoUri,

    /// The database that holds the served collections and the bridge's own (vmm_events,
    /// vmm_rejects, vmm_tombstones).
    #[arg(long, env = "VMM_DATABASE", default_value = "vmm", value_name = "NAME")]
    pub database: String,

    /// The topic prefix {p} of every vmm topic ({p}/v1/req/..., {p}/v1/evt/...). It may contain
    /// '/', must not contain '+' or '#', and must match the clients' and the broker ACL's.
    #[arg(long, env = "VMM_PREFIX", default_value = Topics::DEFAULT_PREFIX, value_name = "PREFIX")]
    pub prefix: String,

    /// The collections clients may touch, comma-separated (e.g. tasks,notes). Empty (the
    /// default): every collection except reserved names (starting with vmm_ or system.).
    /// Requests for any other collection are rejected with `forbidden`.
    #[arg(long, env = "VMM_COLLECTIONS", value_delimiter = ',', value_name = "NAMES")]
    pub collections: Vec<String>,

    /// The bridge's MQTT client id (1 to 128 characters of [A-Za-z0-9._:~-]). Each running
    /// bridge needs its own: two bridges with one id disconnect each other. The bridge connects
    /// with a clean session. Default: `vmm-bridge-<hostname>`, or `<user>:<hostname>` with
    /// --mqtt-username.
    #[arg(long, env = "VMM_BRIDGE_ID", default_value_t = default_bridge_id(), value_name = "ID")]
    pub bridge_id: String,

    /// The shared-subscription group: bridges in the same group split the requests between them
    /// (`$share/<group>/...`). Empty: no shared subscription, so every bridge receives every
    /// request (still correct, but redundant work).
    #[arg(long, env = "VMM_SHARE_GROUP", default_value = "vmm-bridges", value_name = "GROUP")]
    pub share_group: String,

    /// The address of the HTTP endpoint serving /healthz and /metrics, as ip:port; "off"
    /// disables it.
    #[arg(
        long,
        env = "VMM_HTTP_ADDR",
        default_value = "127.0.0.1:9464",
        value_parser = parse_http_addr,
        value_name = "ADDR|off"
    )]
    pub http_addr: ::std::option::Option<SocketAddr>,

    /// The log format on stderr: text (human-readable lines) or json (one JSON object per line).
    #[arg(long, env = "VMM_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text, value_name = "FORMAT")]
    pub log_format: LogFormat,

    /// Which logs to write: a tracing EnvFilter directive, e.g. "info", "debug" or
    /// "vmm_bridge=debug,info".
    #[arg(long, env = "VMM_LOG", default_value = "info", value_name = "FILTER")]
    pub log: String,

    /// The largest request, failure or load payload accepted, in bytes; larger ones are rejected
    /// with `too_large`. At least 65536 (PROTOCOL.md §13.1).
    #[arg(long, env = "VMM_MAX_PAYLOAD", default_value_t = Limits::default().max_payload, value_name = "BYTES")]
    pub max_payload: usize,

    /// How many requests, failures and loads are handled concurrently (at least 1).
    #[arg(long, env = "VMM_WORKERS", default_value_t = 32, value_name = "N")]
    pub workers: usize,

    /// How many days events and recorded request outcomes are kept (at least 1). Older ones may
    /// be deleted; a consumer that falls further behind is answered with a snapshot instead of
    /// the missing events, and a request repeated later than this is no longer recognised as a
    /// duplicate.
    #[arg(long, env = "VMM_RETAIN_EVENTS_DAYS", default_value_t = 7, value_name = "DAYS")]
    pub retain_events_days: u64,

    /// A TOML file with any of the options above, under their names in snake_case (e.g.
    /// mqtt_url = "mqtt://broker:1883"). Flags and environment variables override it.
    #[arg(long, env = "VMM_CONFIG", value_name = "PATH")]
    pub config: Option<PathBuf>,

    /// The limits on the bridge's resources (in the file: a `[limits]` table).
    #[command(flatten)]
    pub bounds: Bounds,
    /// A TOML file of permissions: which identities may insert, update, replace, delete and
    /// read in which collection, an owner field per collection, JSON Schemas (docs/BRIDGE.md
    /// "Permissions"). Without it, every identity may do everything.
    #[arg(long, env = "VMM_PERMISSIONS", value_name = "FILE")]
    pub permissions: Option<PathBuf>,
}

/// The format of the log lines on stderr.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// Why the configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The command line or an environment variable could not be parsed, or `--help` or
    /// `--version` was asked for ([`clap::Error::exit`] prints it and exits with the right code).
    #[error("{0}")]
    Args(#[from] clap::Error),
    /// The configuration file could not be read.
    #[error("cannot read the configuration file {}: {source}", path.display())]
    ReadFile {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        source: std::io::Error,
    },
    /// The configuration file is not valid TOML, has an unknown key or a value of the wrong type.
    #[error("configuration file {}: {message}", path.display())]
    ParseFile {
        /// The file.
        path: PathBuf,
        /// The parser's message, with the line and column.
        message: String,
    },
    /// The MQTT password file could not be read.
    #[error("cannot read the MQTT password file {}: {source}", path.display())]
    ReadPassword {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        source: std::io::Error,
    },
    /// A TLS file (CA, client certificate, key) could not be read or parsed.
    #[error("{option}: {source}")]
    Tls {
        /// The option that names the file, as its flag (`--mqtt-ca-file`).
        option: String,
        /// What is wrong, naming the file.
        source: vmm_engine::tls::TlsError,
    },
    /// An option has a value the bridge cannot use.
    #[error("{option} ({origin}): {message}")]
    Invalid {
        /// The option, as its flag (`--max-payload`).
        option: String,
        /// Where the value came from: the flag, the environment variable, the file or the default.
        origin: String,
        /// What is wrong with it.
        message: String,
    },
    /// The permissions file cannot be used.
    #[error(transparent)]
    Permissions(#[from] crate::permissions::PermissionsError),
}

impl Config {
    /// Loads the configuration from the process's arguments, environment and configuration file.
    pub fn load() -> Result<Config, ConfigError> {
        Self::load_from(std::env::args_os())
    }

    /// Loads the configuration from `args` (the first one is the program's name), the process's
    /// environment and the configuration file `--config` or `VMM_CONFIG` names.
    pub fn load_from<I, T>(args: I) -> Result<Config, ConfigError>
    where
        I: IntoIterator<Item = T>,
        T: Into<OsString> + Clone,
    {
        Self::load_with(args, std::env::var(login::PASSWORD_ENV).ok())
    }

    /// [`Config::load_from`] with the value of `VMM_MQTT_PASSWORD` given (tests do not share the
    /// process's environment).
    fn load_with<I, T>(args: I, env_password: Option<String>) -> Result<Config, ConfigError>
    where
        I: IntoIterator<Item = T>,
        T: Into<OsString> + Clone,
    {
        let matches = Config::command().try_get_matches_from(args)?;
        let mut config = Config::from_arg_matches(&matches)?;
        let file = match &config.config {
            Some(path) => Some((FileConfig::read(path)?, path.clone())),
            None => None,
        };
        let origins = config.merge(&matches, file)?;
        config.collections =
            config.collections.iter().map(|c| c.trim().to_string()).filter(|c| !c.is_empty()).collect();
        config.login.read_password(env_password, &origins)?;
        if let (Some(Origin::Default), Some(user)) = (origins.get("bridge_id"), &config.login.mqtt_username) {
            config.bridge_id = login::bridge_id_for_user(user, &hostname()).ok_or_else(|| {
                let message = format!("{user:?} cannot start a client id ([A-Za-z0-9._:~-]): give --bridge-id");
                invalid("mqtt_username", origins["mqtt_username"].clone(), message)
            })?;
        }
        config.check(&origins)?;
        // Read here to fail at start-up; the bridge reads it again when it starts serving.
        crate::permissions::load(config.permissions.as_deref())?;
        Ok(config)
    }

    /// The protocol limits this configuration sets: [`Limits::default`] with `max_payload`.
    pub fn limits(&self) -> Limits {
        Limits { max_payload: self.max_payload, ..Limits::default() }
    }

    /// Whether clients may touch `collection`: it is in `collections`, or `collections` is empty
    /// and the name is not reserved. The name itself is checked elsewhere (§3.4).
    pub fn collection_allowed(&self, collection: &str) -> bool {
        if self.collections.is_empty() {
            !is_reserved(collection)
        } else {
            self.collections.iter().any(|c| c == collection)
        }
    }

    /// The shared-subscription group, or `None` when `share_group` is empty.
    pub fn share_group(&self) -> Option<&str> {
        Some(self.share_group.as_str()).filter(|g| !g.is_empty())
    }

    /// Replaces every value clap took from its default by the file's, and says where each value
    /// came from.
    fn merge(
        &mut self,
        matches: &ArgMatches,
        file: Option<(FileConfig, PathBuf)>,
    ) -> Result<HashMap<&'static str, Origin>, ConfigError> {
        let mut origins = HashMap::new();
        let (file, path) = file.unwrap_or_default();
        merge_file!(matches, origins, file, path, self.login; mqtt_username, mqtt_password_file, mqtt_ca_file, mqtt_cert_file, mqtt_key_file);
        merge_file!(
            matches, origins, file, path, self;
            mqtt_url,
            mongodb_uri,
            database,
            prefix,
            collections,
            bridge_id,
            share_group,
            http_addr,
            log_format,
            log,
            max_payload,
            workers,
            retain_events_days,
            permissions,
        );
        self.bounds.merge(matches, file.limits, &path, &mut origins);
        Ok(origins)
    }

    /// Checks every value, naming the option and where its value came from on failure.
    fn check(&self, origins: &HashMap<&'static str, Origin>) -> Result<(), ConfigError> {
        let fail = |name: &'static str, message: String| {
            Err(invalid(name, origins.get(name).cloned().unwrap_or(Origin::Default), message))
        };
        match login::parse_broker_url(&self.mqtt_url) {
            Ok(url) => self.login.check(&url, origins)?,
            Err(message) => return fail("mqtt_url", message),
        }
        if !(self.mongodb_uri.starts_with("mongodb://") || self.mongodb_uri.starts_with("mongodb+srv://")) {
            return fail(
                "mongodb_uri",
                format!("{:?} must start with mongodb:// or mongodb+srv://", self.mongodb_uri.redacted()),
            );
        }
        if let Err(message) = check_database(&self.database) {
            return fail("database", message);
        }
        if Topics::new(&self.prefix).is_err() {
            return fail(
                "prefix",
                format!("{:?} must be non-empty, without '+', '#', NUL, empty levels or a leading '$'", self.prefix),
            );
        }
        if let Err(message) = check_collections(&self.collections) {
            return fail("collections", message);
        }
        if let Err(v) = check_client(&self.bridge_id) {
            return fail("bridge_id", v.to_string());
        }
        if self.share_group.contains(['/', '+', '#', '\0']) {
            return fail("share_group", format!("{:?} must not contain '/', '+', '#' or NUL", self.share_group));
        }
        if let Err(e) = tracing_subscriber::EnvFilter::try_new(&self.log) {
            return fail("log", format!("{:?} is not a valid filter: {e}", self.log));
        }
        if self.max_payload < Limits::MIN_PAYLOAD || self.max_payload > MQTT_MAX_PACKET {
            return fail(
                "max_payload",
                format!(
                    "{} bytes is out of range: it must be at least {} (PROTOCOL.md §13.1) and at most {}",
                    self.max_payload,
                    Limits::MIN_PAYLOAD,
                    MQTT_MAX_PACKET
                ),
            );
        }
        if self.workers == 0 {
            return fail("workers", "must be at least 1".to_string());
        }
        if self.retain_events_days == 0 {
            return fail("retain_events_days", "must be at least 1".to_string());
        }
        self.bounds.check(origins)
    }
}

/// Where a value came from, for error messages.
#[derive(Clone, Debug)]
enum Origin {
    Flag,
    Env,
    File(PathBuf),
    Default,
}

fn invalid(name: &str, origin: Origin, message: String) -> ConfigError {
    let origin = match origin {
        Origin::Flag => "given as a flag".to_string(),
        Origin::Env => format!("from the environment variable {}", env_var(name)),
        Origin::File(path) => format!("from the key {name} in {}", path.display()),
        Origin::Default => "its default".to_string(),
    };
    ConfigError::Invalid { option: flag(name), origin, message }
}

fn flag(name: &str) -> String {
    format!("--{}", name.replace('_', "-"))
}

fn env_var(name: &str) -> String {
    format!("VMM_{}", name.to_ascii_uppercase())
}

/// A database name MongoDB accepts.
fn check_database(name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > 63 || name.contains(['/', '\\', '.', ' ', '"', '$', '\0']) {
        return Err(format!("{name:?} must be 1 to 63 bytes without / \\ . space \" $ or NUL (MongoDB's rule)"));
    }
    Ok(())
}

/// Collection names that are valid (§3.4) and not reserved.
fn check_collections(collections: &[String]) -> Result<(), String> {
    for collection in collections {
        check_collection(collection).map_err(|v| v.to_string())?;
        if is_reserved(collection) {
            return Err(format!("{collection:?} is reserved (names starting with vmm_ or system. are never served)"));
        }
    }
    Ok(())
}

fn is_reserved(collection: &str) -> bool {
    RESERVED_PREFIXES.iter().any(|p| collection.starts_with(p))
}

/// The keys of the configuration file: the options, in snake_case, all optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    mqtt_url: Option<String>,
    mqtt_username: Option<String>,
    mqtt_password_file: Option<PathBuf>,
    mqtt_ca_file: Option<PathBuf>,
    mqtt_cert_file: Option<PathBuf>,
    mqtt_key_file: Option<PathBuf>,
    mongodb_uri: Option<MongoUri>,
    database: Option<String>,
    prefix: Option<String>,
    collections: Option<Collections>,
    bridge_id: Option<String>,
    share_group: Option<String>,
    http_addr: Option<HttpAddr>,
    log_format: Option<LogFormat>,
    log: Option<String>,
    max_payload: Option<usize>,
    workers: Option<usize>,
    retain_events_days: Option<u64>,
    limits: Option<bounds::FileBounds>,
    permissions: Option<PathBuf>,
}

impl FileConfig {
    fn read(path: &Path) -> Result<FileConfig, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| ConfigError::ReadFile { path: path.to_path_buf(), source })?;
        toml::from_str(&text).map_err(|e| ConfigError::ParseFile {
            path: path.to_path_buf(),
            message: e.to_string().trim_end().to_string(),
        })
    }
}

/// `collections` in the file: an array of names, or one comma-separated string like the flag.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Collections {
    List(Vec<String>),
    Text(String),
}

/// `http_addr` in the file: "ip:port" or "off".
#[derive(Debug, Deserialize)]
#[serde(transparent)]
struct HttpAddr(String);

/// A value of the file, turned into the type of the option it sets.
trait FileValue<T> {
    fn into_value(self) -> Result<T, String>;
}

impl<T> FileValue<T> for T {
    fn into_value(self) -> Result<T, String> {
        Ok(self)
    }
}

/// An optional option's value.
impl<T> FileValue<Option<T>> for T {
    fn into_value(self) -> Result<Option<T>, String> {
        Ok(Some(self))
    }
}

impl FileValue<Vec<String>> for Collections {
    fn into_value(self) -> Result<Vec<String>, String> {
        Ok(match self {
            Collections::List(list) => list,
            Collections::Text(text) => text.split(',').map(str::to_string).collect(),
        })
    }
}

impl FileValue<Option<SocketAddr>> for HttpAddr {
    fn into_value(self) -> Result<Option<SocketAddr>, String> {
        parse_http_addr(&self.0)
    }
}

/// `--http-addr`: an `ip:port`, or `off`.
fn parse_http_addr(s: &str) -> Result<Option<SocketAddr>, String> {
    if s.eq_ignore_ascii_case("off") {
        return Ok(None);
    }
    s.parse().map(Some).map_err(|_| format!("{s:?} is neither ip:port (e.g. 127.0.0.1:9464) nor \"off\""))
}

/// `vmm-bridge-<hostname>` (see [`bridge_id_for`]).
fn default_bridge_id() -> String {
    bridge_id_for(&hostname())
}

/// The hostname from /etc/hostname or `HOSTNAME`, else `local`.
fn hostname() -> String {
    std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok().map(|h| h.trim().to_string()).filter(|h| !h.is_empty()))
        .unwrap_or_else(|| "local".to_string())
}

/// `vmm-bridge-<hostname>`, with every character outside `[A-Za-z0-9._:~-]` replaced by `-` and
/// cut to fit 128 characters.
fn bridge_id_for(hostname: &str) -> String {
    const PREFIX: &str = "vmm-bridge-";
    let host: String = hostname
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | ':' | '~' | '-') { c } else { '-' })
        .take(Limits::MAX_CLIENT - PREFIX.len())
        .collect();
    format!("{PREFIX}{}", if host.is_empty() { "local" } else { &host })
}

#[cfg(test)]
mod tests;
