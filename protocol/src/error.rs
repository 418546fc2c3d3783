//! What decoding or validating the shared vocabulary can refuse. Messages are fit to show the user.

/// A name, page or message that is not acceptable; the text names what was wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtocolError {
    /// A table or column name no engine accepts.
    #[error("invalid {kind} name {name:?}: {reason}")]
    InvalidIdentifier { kind: &'static str, name: String, reason: &'static str },
    /// A page could not be decoded; the text says where.
    #[error("malformed page: {0}")]
    MalformedPage(String),
}
