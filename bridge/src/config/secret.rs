//! Values that must never reach a log line: the MQTT password, and the password inside a MongoDB
//! connection string. Their `Debug` and `Display` hide it, so neither a `tracing` field nor a
//! `{:?}` of the whole configuration can leak it.

use std::fmt;
use std::str::FromStr;

/// A password. `Debug` and `Display` print `***`; [`Secret::expose`] gives the text to whoever
/// needs it (the MQTT CONNECT).
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a password.
    pub fn new(text: impl Into<String>) -> Secret {
        Secret(text.into())
    }

    /// The password itself.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// A MongoDB connection string. It dereferences to the full text (for the driver); `Debug` and
/// `Display` print it with the password replaced by `***` (`mongodb://user:***@host`).
#[derive(Clone, PartialEq, Eq)]
pub struct MongoUri(String);

impl MongoUri {
    /// The connection string, password included: for the driver only.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The connection string with its password replaced by `***`.
    pub fn redacted(&self) -> String {
        redact_uri(&self.0)
    }

    /// `text` with every occurrence of this URI's password (as written, and percent-decoded)
    /// replaced by `***`: for messages that may quote it, such as the driver's errors.
    pub fn scrub(&self, text: &str) -> String {
        let Some(password) = password_of(&self.0) else { return text.to_string() };
        let mut out = text.replace(&self.0, &self.redacted());
        for form in [password.to_string(), percent_decode(password)] {
            if !form.is_empty() {
                out = out.replace(&form, "***");
            }
        }
        out
    }
}

impl std::ops::Deref for MongoUri {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for MongoUri {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl FromStr for MongoUri {
    type Err = std::convert::Infallible;

    fn from_str(s: &str) -> Result<MongoUri, Self::Err> {
        Ok(MongoUri(s.to_string()))
    }
}

impl From<String> for MongoUri {
    fn from(s: String) -> MongoUri {
        MongoUri(s)
    }
}

impl<'de> serde::Deserialize<'de> for MongoUri {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<MongoUri, D::Error> {
        String::deserialize(d).map(MongoUri)
    }
}

impl fmt::Debug for MongoUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.redacted(), f)
    }
}

impl fmt::Display for MongoUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

/// The `user:password@` part of a URI's authority: the password's byte range, if any.
fn password_range(uri: &str) -> Option<std::ops::Range<usize>> {
    let start = uri.find("://")? + 3;
    // The authority ends at the first '/', '?' or '#'; its user info at its last '@' (a
    // password with an unencoded '@' is invalid, but must not leak either).
    let end = uri[start..].find(['/', '?', '#']).map_or(uri.len(), |i| start + i);
    let at = start + uri[start..end].rfind('@')?;
    let colon = start + uri[start..at].find(':')?;
    Some(colon + 1..at)
}

fn password_of(uri: &str) -> Option<&str> {
    password_range(uri).map(|r| &uri[r])
}

/// `uri` with the password of its user info replaced by `***` (unchanged if it has none).
pub fn redact_uri(uri: &str) -> String {
    match password_range(uri) {
        Some(range) => format!("{}***{}", &uri[..range.start], &uri[range.end..]),
        None => uri.to_string(),
    }
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (bytes[i], bytes.get(i + 1).and_then(|b| hex(*b)), bytes.get(i + 2).and_then(|b| hex(*b))) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_never_prints_itself() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s} {s:?}"), "*** ***");
        assert_eq!(s.expose(), "hunter2");
    }

    #[test]
    fn the_password_of_a_mongodb_uri_is_redacted() {
        assert_eq!(
            redact_uri("mongodb://bridge:s3cret@db:27017/vmm?tls=true"),
            "mongodb://bridge:***@db:27017/vmm?tls=true"
        );
        assert_eq!(redact_uri("mongodb+srv://u:p%40ss@cluster.example/"), "mongodb+srv://u:***@cluster.example/");
        assert_eq!(redact_uri("mongodb://u:p@ss@db/"), "mongodb://u:***@db/", "an unencoded @ leaks nothing");
        assert_eq!(redact_uri("mongodb://user@db/"), "mongodb://user@db/", "no password, nothing to hide");
        assert_eq!(redact_uri("mongodb://db:27017/?tlsCAFile=/a@b"), "mongodb://db:27017/?tlsCAFile=/a@b");
        let uri: MongoUri = "mongodb://bridge:p%40ss@db/".parse().unwrap();
        assert_eq!(format!("{uri} {uri:?}"), "mongodb://bridge:***@db/ \"mongodb://bridge:***@db/\"");
        assert_eq!(&*uri, "mongodb://bridge:p%40ss@db/");
    }

    #[test]
    fn a_message_quoting_the_password_is_scrubbed() {
        let uri: MongoUri = "mongodb://bridge:p%40ss@db/".parse().unwrap();
        let scrubbed = uri.scrub("failed for mongodb://bridge:p%40ss@db/: password p@ss rejected");
        assert_eq!(scrubbed, "failed for mongodb://bridge:***@db/: password *** rejected");
    }
}
