//! The bridge's error type.

/// Why the bridge could not start or go on.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The configuration is unusable.
    #[error("configuration: {0}")]
    Config(String),
    /// MongoDB refused or failed an operation.
    #[error("MongoDB: {0}")]
    Mongo(#[from] mongodb::error::Error),
    /// The storage failed an operation.
    #[error("storage: {0}")]
    Storage(#[from] vmm_protocol::bridge::StorageError),
    /// The MQTT connection failed an operation.
    #[error("MQTT: {0}")]
    Mqtt(String),
    /// A socket could not be opened.
    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),
}

/// The result type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
