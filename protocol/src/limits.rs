//! The limits of PROTOCOL.md §13.1.

/// Size and shape limits. [`Limits::default`] gives the protocol's defaults; a bridge may raise
/// or lower `max_payload` (not below [`Limits::MIN_PAYLOAD`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Largest accepted message payload, in bytes.
    pub max_payload: usize,
    /// Largest canonical serialisation of a document, in bytes.
    pub max_document: usize,
    /// Deepest nesting of documents and arrays (the top-level document counts 1).
    pub max_depth: usize,
}

impl Limits {
    /// The smallest `max_payload` a bridge may be configured with.
    pub const MIN_PAYLOAD: usize = 64 * 1024;
    /// Longest field name, in UTF-8 bytes.
    pub const MAX_FIELD_NAME: usize = 255;
    /// Most segments in a path.
    pub const MAX_PATH_SEGMENTS: usize = 32;
    /// Most paths in one update.
    pub const MAX_UPDATE_PATHS: usize = 256;
    /// Longest string `_id`, in UTF-8 bytes.
    pub const MAX_STRING_ID: usize = 255;
    /// Longest `rid` or `lid`.
    pub const MAX_TOKEN: usize = 64;
    /// Longest client identity.
    pub const MAX_CLIENT: usize = 128;
    /// Longest snapshot cursor.
    pub const MAX_CURSOR: usize = 512;
    /// Most ids in one `load`.
    pub const MAX_LOAD_IDS: usize = 100;
    /// Largest `limit` of one `load`.
    pub const MAX_LOAD_LIMIT: u32 = 1000;
    /// Longest `message` of a reject the bridge sends, in UTF-8 bytes: a longer one is cut, so
    /// that a reject never echoes unbounded input (a 250 KB field name).
    pub const MAX_REJECT_MESSAGE: usize = 1024;
    /// Longest `path` of a reject the bridge sends, in UTF-8 bytes (cut like the message).
    pub const MAX_REJECT_PATH: usize = 256;
    /// Largest version (2^53 − 1, exact in JavaScript).
    pub const MAX_VERSION: u64 = (1 << 53) - 1;
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_payload: 256 * 1024, max_document: 240 * 1024, max_depth: 32 }
    }
}
