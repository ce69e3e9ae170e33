//! How an engine connects and behaves.

use vmm_protocol::replica::{Config, Resync};
use vmm_protocol::topic::Topics;
use vmm_protocol::{Result, Violation};

/// How an engine connects and behaves. Times are milliseconds of the shell's monotonic clock.
/// Its `Debug` prints the password as `***`.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Options {
    /// The MQTT client id. Without a user name it is also the client's identity in topics; with
    /// one, a broker that namespaces client ids by identity (PROTOCOL §2.3) wants it to be the
    /// user name or to start with `<user name>:`.
    pub client_id: String,
    /// The identity in topics (the `{client}` level, §2.3): the authenticated user name. `None`:
    /// [`Options::username`] if given, else the client id. Set it when the broker takes the
    /// identity from elsewhere (a client certificate's common name).
    pub identity: Option<String>,
    /// A prefix that makes this session's request and load ids unique forever: random, chosen
    /// by the shell (at most 40 characters of `[A-Za-z0-9._:~-]`).
    pub id_prefix: String,
    /// The topic prefix (default `vmm`).
    pub prefix: String,
    /// The MQTT user name, if the broker wants one.
    pub username: Option<String>,
    /// The MQTT password; MQTT 3.1.1 allows it only with a user name.
    pub password: Option<Vec<u8>>,
    /// MQTT keep-alive in seconds (default 30).
    pub keep_alive_secs: u16,
    /// Publish a request again after this long without an outcome, doubling (default 10 s).
    pub resend_after: u64,
    /// Ask for a snapshot page again after this long (default 10 s).
    pub load_retry: u64,
    /// How a collection the replica holds objects of is loaded again (default
    /// [`Resync::Documents`]; [`Resync::Versions`] fetches only what differs, §12.4).
    pub resync: Resync,
}

impl std::fmt::Debug for Options {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Options")
            .field("client_id", &self.client_id)
            .field("identity", &self.identity)
            .field("id_prefix", &self.id_prefix)
            .field("prefix", &self.prefix)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .field("keep_alive_secs", &self.keep_alive_secs)
            .field("resend_after", &self.resend_after)
            .field("load_retry", &self.load_retry)
            .field("resync", &self.resync)
            .finish()
    }
}

impl Options {
    /// The protocol's defaults for a client id and an id prefix.
    pub fn new(client_id: &str, id_prefix: &str) -> Options {
        Options {
            client_id: client_id.to_string(),
            identity: None,
            id_prefix: id_prefix.to_string(),
            prefix: Topics::DEFAULT_PREFIX.to_string(),
            username: None,
            password: None,
            keep_alive_secs: 30,
            resend_after: 10_000,
            load_retry: 10_000,
            resync: Resync::Documents,
        }
    }

    /// The identity in topics: [`Options::identity`], else the user name, else the client id.
    pub fn identity(&self) -> &str {
        self.identity.as_deref().or(self.username.as_deref()).unwrap_or(&self.client_id)
    }

    pub(super) fn replica_config(&self) -> Result<Config> {
        let mut config = Config::new(self.identity(), &self.id_prefix)?;
        config.topics = Topics::new(&self.prefix)?;
        config.resend_after = self.resend_after;
        config.load_retry = self.load_retry;
        config.resync = self.resync;
        if self.resend_after == 0 || self.load_retry == 0 {
            return Err(Violation::malformed("resend and load retry intervals must be positive"));
        }
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::Options;

    #[test]
    fn the_debug_of_options_hides_the_password() {
        let mut options = Options::new("alice:tab", "s1");
        options.username = Some("alice".into());
        options.password = Some(b"alice-secret".to_vec());
        let debug = format!("{options:?}");
        assert!(!debug.contains("alice-secret") && !debug.contains("97, 108") && debug.contains("***"), "{debug}");
    }
}
