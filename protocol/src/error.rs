//! Reject codes and the typed error every check of this crate returns.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A machine-readable reason for refusing or rolling back a request (PROTOCOL.md §13.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Code {
    /// Not JSON, not an object, unknown type, wrong, missing or unknown fields.
    Malformed,
    /// The payload exceeds the size limit.
    TooLarge,
    /// A document or value breaks the document rules (key, depth, size, wrapper, `_id`).
    InvalidDocument,
    /// An operator outside the update language, a bad or conflicting path, or an update that
    /// cannot apply to the stored document.
    InvalidUpdate,
    /// The collection or operation is not allowed for this client.
    Forbidden,
    /// The request's base version differs from the stored version.
    Conflict,
    /// Update, replace or delete of an object that does not exist at the base version.
    NotFound,
    /// The database refused to store the result (a value or a constraint it does not accept);
    /// nothing was applied.
    Refused,
    /// The request id was used before for a different request (§9); nothing was applied.
    RidReused,
    /// The bridge could not decide; nothing was applied; retry with the same request id.
    Internal,
    /// Local only: the request waited behind one that was rejected.
    Aborted,
    /// Local only: the application gave up waiting for the outcome, which is unknown: the change
    /// stays pending (§6.4).
    Timeout,
    /// Local only: the application cancelled the change (§6.4).
    Cancelled,
}

impl Code {
    /// Every code, in the order of §13.2.
    pub const ALL: [Code; 13] = [
        Code::Malformed,
        Code::TooLarge,
        Code::InvalidDocument,
        Code::InvalidUpdate,
        Code::Forbidden,
        Code::Conflict,
        Code::NotFound,
        Code::Refused,
        Code::RidReused,
        Code::Internal,
        Code::Aborted,
        Code::Timeout,
        Code::Cancelled,
    ];

    /// Reads a code as it is written on the wire; `None` for any other text. The same as the
    /// serde form, without linking serde_json's `Value` deserializer into the browser's wasm.
    pub fn parse(text: &str) -> Option<Code> {
        Code::ALL.into_iter().find(|code| code.as_str() == text)
    }

    /// The code as it is written on the wire (`"invalid_update"`).
    pub fn as_str(self) -> &'static str {
        match self {
            Code::Malformed => "malformed",
            Code::TooLarge => "too_large",
            Code::InvalidDocument => "invalid_document",
            Code::InvalidUpdate => "invalid_update",
            Code::Forbidden => "forbidden",
            Code::Conflict => "conflict",
            Code::NotFound => "not_found",
            Code::Refused => "refused",
            Code::RidReused => "rid_reused",
            Code::Internal => "internal",
            Code::Aborted => "aborted",
            Code::Timeout => "timeout",
            Code::Cancelled => "cancelled",
        }
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a message, document, path or update was refused: a [`Code`], the dotted path of the
/// offending field when there is one, and a human-readable message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct Violation {
    code: Code,
    path: Option<String>,
    message: String,
}

impl Violation {
    /// A violation with a code and a message.
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        Violation { code, path: None, message: message.into() }
    }

    /// Shorthand for [`Code::Malformed`].
    pub fn malformed(message: impl Into<String>) -> Self {
        Self::new(Code::Malformed, message)
    }

    /// Shorthand for [`Code::InvalidDocument`].
    pub fn invalid_document(message: impl Into<String>) -> Self {
        Self::new(Code::InvalidDocument, message)
    }

    /// Shorthand for [`Code::InvalidUpdate`].
    pub fn invalid_update(message: impl Into<String>) -> Self {
        Self::new(Code::InvalidUpdate, message)
    }

    /// The same violation, located at a dotted path.
    pub fn at(mut self, path: impl Into<String>) -> Self {
        self.path = Some(path.into());
        self
    }

    /// The machine-readable code.
    pub fn code(&self) -> Code {
        self.code
    }

    /// The dotted path of the offending field, if any.
    pub fn path(&self) -> Option<&str> {
        self.path.as_deref()
    }

    /// The human-readable message.
    pub fn message(&self) -> &str {
        &self.message
    }
}

/// The result type of this crate.
pub type Result<T, E = Violation> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_reads_back_every_code_as_serde_writes_it() {
        for code in Code::ALL {
            let wire = serde_json::to_value(code).unwrap();
            assert_eq!(wire, code.as_str());
            assert_eq!(Code::parse(code.as_str()), Some(code));
            assert_eq!(serde_json::from_value::<Code>(wire).ok(), Some(code));
        }
    }

    #[test]
    fn parse_refuses_any_other_spelling() {
        for text in ["", "Malformed", "MALFORMED", "not-found", "notFound", " conflict", "conflict ", "timeouts"] {
            assert_eq!(Code::parse(text), None, "{text:?}");
        }
    }
}
