//! The limits that keep the bridge's resources bounded under abuse: its intake, each client's
//! share, and the HTTP endpoint (`docs/BRIDGE.md` "Limits"). Flags and `VMM_*` variables like
//! every option; in the TOML file they go in a `[limits]` table, under the same names.

use std::collections::HashMap;
use std::path::Path;

use clap::parser::ValueSource;
use clap::ArgMatches;
use serde::Deserialize;

use super::{invalid, ConfigError, Origin};
use crate::admission;

/// The limits. Every one must be at least 1.
#[derive(Clone, Debug, PartialEq, Eq, clap::Args)]
pub struct Bounds {
    /// How many incoming messages may wait to be handled, all clients together. Past it (or past
    /// --intake-max-bytes) a QoS 0 message is dropped and a QoS 1 message is held unacknowledged
    /// (which stops a broker with a smaller in-flight window); at twice either cap QoS 1 is
    /// dropped too.
    #[arg(long, env = "VMM_INTAKE_MAX_MESSAGES", default_value_t = 10_000, value_name = "N")]
    pub intake_max_messages: usize,

    /// How many bytes (payloads and topics) of incoming messages may wait, likewise.
    #[arg(long, env = "VMM_INTAKE_MAX_BYTES", default_value_t = 64 << 20, value_name = "BYTES")]
    pub intake_max_bytes: usize,

    /// How many messages of one client ({client} topic level) are handled at once; its others
    /// wait while the other clients take their turns.
    #[arg(long, env = "VMM_CLIENT_MAX_IN_FLIGHT", default_value_t = 8, value_name = "N")]
    pub client_max_in_flight: usize,

    /// How many messages of one client may wait; more are dropped (its requester sends them
    /// again, PROTOCOL.md §6.1).
    #[arg(long, env = "VMM_CLIENT_MAX_QUEUED", default_value_t = 1_000, value_name = "N")]
    pub client_max_queued: usize,

    /// How many failures and loads one client may send per second, on average; more are
    /// dropped (the consumer resends with its back-off, PROTOCOL.md §11, §12.3).
    #[arg(long, env = "VMM_CLIENT_READS_PER_SECOND", default_value_t = 20, value_name = "N")]
    pub client_reads_per_second: u32,

    /// How many failures and loads one client may send at once (the rate's burst).
    #[arg(long, env = "VMM_CLIENT_READS_BURST", default_value_t = 40, value_name = "N")]
    pub client_reads_burst: u32,

    /// How many bytes of replies (replays, snapshot pages) one client's failures and loads may
    /// cause per second; its next failure or load waits while its replies are over the budget.
    #[arg(long, env = "VMM_CLIENT_REPLY_BYTES_PER_SECOND", default_value_t = 2 << 20, value_name = "BYTES")]
    pub client_reply_bytes_per_second: u64,

    /// How many connections the HTTP endpoint keeps open. A new one past it closes the idle
    /// connection that has waited longest, or, when every one is answering, is closed at once.
    #[arg(long, env = "VMM_HTTP_MAX_CONNECTIONS", default_value_t = 256, value_name = "N")]
    pub http_max_connections: usize,

    /// How long an HTTP client has to send a request's headers (also between the requests of
    /// a kept-alive connection) before its connection is closed.
    #[arg(long, env = "VMM_HTTP_HEADER_TIMEOUT", default_value_t = 5, value_name = "SECONDS")]
    pub http_header_timeout: u64,

    /// How long an HTTP connection may make no progress (nothing read, nothing written) before
    /// it is closed, e.g. a client that does not read its response.
    #[arg(long, env = "VMM_HTTP_IDLE_TIMEOUT", default_value_t = 30, value_name = "SECONDS")]
    pub http_idle_timeout: u64,
}

/// The `[limits]` table of the configuration file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FileBounds {
    intake_max_messages: Option<usize>,
    intake_max_bytes: Option<usize>,
    client_max_in_flight: Option<usize>,
    client_max_queued: Option<usize>,
    client_reads_per_second: Option<u32>,
    client_reads_burst: Option<u32>,
    client_reply_bytes_per_second: Option<u64>,
    http_max_connections: Option<usize>,
    http_header_timeout: Option<u64>,
    http_idle_timeout: Option<u64>,
}

macro_rules! each_bound {
    ($m:ident) => {
        $m!(
            intake_max_messages,
            intake_max_bytes,
            client_max_in_flight,
            client_max_queued,
            client_reads_per_second,
            client_reads_burst,
            client_reply_bytes_per_second,
            http_max_connections,
            http_header_timeout,
            http_idle_timeout
        )
    };
}

impl Bounds {
    /// Replaces every value clap took from its default by the file's `[limits]` one, and
    /// records where each value came from.
    pub(super) fn merge(
        &mut self,
        matches: &ArgMatches,
        file: Option<FileBounds>,
        path: &Path,
        origins: &mut HashMap<&'static str, Origin>,
    ) {
        let file = file.unwrap_or_default();
        macro_rules! merge {
            ($($field:ident),*) => {$(
                let name = stringify!($field);
                let origin = match (matches.value_source(name), file.$field) {
                    (Some(ValueSource::CommandLine), _) => Origin::Flag,
                    (Some(ValueSource::EnvVariable), _) => Origin::Env,
                    (_, Some(value)) => {
                        self.$field = value;
                        Origin::File(path.to_path_buf())
                    }
                    (_, None) => Origin::Default,
                };
                origins.insert(name, origin);
            )*};
        }
        each_bound!(merge);
    }

    /// Checks that every limit is at least 1.
    pub(super) fn check(&self, origins: &HashMap<&'static str, Origin>) -> Result<(), ConfigError> {
        macro_rules! check {
            ($($field:ident),*) => {$(
                if self.$field == 0 {
                    let name = stringify!($field);
                    let origin = origins.get(name).cloned().unwrap_or(Origin::Default);
                    return Err(invalid(name, origin, "must be at least 1".to_string()));
                }
            )*};
        }
        each_bound!(check);
        Ok(())
    }

    /// The admission settings of these limits.
    pub(crate) fn admission(&self) -> admission::Settings {
        admission::Settings {
            max_messages: self.intake_max_messages,
            max_bytes: self.intake_max_bytes,
            client_in_flight: self.client_max_in_flight,
            client_queued: self.client_max_queued,
            reads_per_second: f64::from(self.client_reads_per_second),
            reads_burst: f64::from(self.client_reads_burst),
            reply_bytes_per_second: self.client_reply_bytes_per_second as f64,
        }
    }

    /// The HTTP endpoint's limits.
    pub fn http(&self) -> crate::http::HttpLimits {
        crate::http::HttpLimits {
            max_connections: self.http_max_connections,
            header_timeout: std::time::Duration::from_secs(self.http_header_timeout),
            idle_timeout: std::time::Duration::from_secs(self.http_idle_timeout),
        }
    }

    /// The names of the limits' options, for the tests of `--help`.
    #[cfg(test)]
    pub(super) fn names() -> Vec<&'static str> {
        macro_rules! names {
            ($($field:ident),*) => { vec![$(stringify!($field)),*] };
        }
        each_bound!(names)
    }
}

#[cfg(test)]
mod tests {
    use super::super::{env_var, flag, Config};
    use super::*;
    use clap::CommandFactory;

    fn load(args: &[&str]) -> Result<Config, ConfigError> {
        Config::load_from(std::iter::once("vmm-bridge").chain(args.iter().copied()))
    }

    fn file(text: &str) -> (tempfile_path::Path, String) {
        let path = tempfile_path::Path::new(text);
        let arg = format!("--config={}", path.0.display());
        (path, arg)
    }

    /// A temporary file removed on drop (each test its own).
    mod tempfile_path {
        pub struct Path(pub std::path::PathBuf);
        impl Path {
            pub fn new(text: &str) -> Path {
                use std::sync::atomic::{AtomicUsize, Ordering};
                static N: AtomicUsize = AtomicUsize::new(0);
                let n = N.fetch_add(1, Ordering::Relaxed);
                let path = std::env::temp_dir().join(format!("vmm-bounds-{}-{n}.toml", std::process::id()));
                std::fs::write(&path, text).expect("write the temp file");
                Path(path)
            }
        }
        impl Drop for Path {
            fn drop(&mut self) {
                let _ = std::fs::remove_file(&self.0);
            }
        }
    }

    #[test]
    fn the_limits_have_sane_defaults() {
        let b = load(&[]).unwrap().bounds;
        assert_eq!((b.intake_max_messages, b.intake_max_bytes), (10_000, 64 << 20));
        assert_eq!((b.client_max_in_flight, b.client_max_queued), (8, 1_000));
        assert_eq!((b.client_reads_per_second, b.client_reads_burst), (20, 40));
        assert_eq!(b.client_reply_bytes_per_second, 2 << 20);
        assert_eq!((b.http_max_connections, b.http_header_timeout, b.http_idle_timeout), (256, 5, 30));
    }

    #[test]
    fn limits_come_from_flags_and_from_the_files_limits_table() {
        let (_f, arg) = file("workers = 4\n[limits]\nclient_reads_per_second = 7\nhttp_max_connections = 9\n");
        let config = load(&[&arg, "--http-max-connections", "11"]).unwrap();
        assert_eq!(config.workers, 4);
        assert_eq!(config.bounds.client_reads_per_second, 7);
        assert_eq!(config.bounds.http_max_connections, 11, "the flag beats the file");
        assert_eq!(config.bounds.admission().reads_per_second, 7.0);
    }

    #[test]
    fn an_unknown_key_in_the_limits_table_is_refused() {
        let (_f, arg) = file("[limits]\nclient_reads_per_secnd = 7\n");
        let message = load(&[&arg]).unwrap_err().to_string();
        assert!(message.contains("client_reads_per_secnd"), "{message}");
    }

    #[test]
    fn a_zero_limit_is_refused_naming_its_flag_and_origin() {
        let err = load(&["--client-max-in-flight", "0"]).unwrap_err();
        assert!(
            matches!(err, ConfigError::Invalid { ref option, .. } if option == "--client-max-in-flight"),
            "{err:?}"
        );
        let (f, arg) = file("[limits]\nintake_max_bytes = 0\n");
        let message = load(&[&arg]).unwrap_err().to_string();
        assert!(message.contains("--intake-max-bytes") && message.contains(&f.0.display().to_string()), "{message}");
    }

    #[test]
    fn the_help_documents_every_limit() {
        let help = Config::command().render_long_help().to_string();
        for name in Bounds::names() {
            assert!(help.contains(&flag(name)), "{name} has no flag");
            assert!(help.contains(&env_var(name)), "{name} has no environment variable");
        }
        assert!(help.contains("[limits]"));
    }
}
