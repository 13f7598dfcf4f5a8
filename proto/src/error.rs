//! Errors produced while decoding protocol bytes.

use thiserror::Error;

/// Why a byte string is not a valid protocol message.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ProtoError {
    /// Fewer bytes than the structure needs.
    #[error("message truncated: needed {needed} bytes at offset {offset}, {available} available")]
    Truncated {
        /// Offset where the read started.
        offset: usize,
        /// Bytes the read needed.
        needed: usize,
        /// Bytes that were left.
        available: usize,
    },
    /// A string was not terminated by NUL before the end of the body.
    #[error("string at offset {0} is not NUL-terminated")]
    Unterminated(usize),
    /// A string is not valid UTF-8.
    #[error("string at offset {0} is not valid UTF-8")]
    InvalidUtf8(usize),
    /// A name is empty where a name is required.
    #[error("empty name")]
    EmptyName,
    /// The length field in a header is impossible or over the limit.
    #[error("bad packet length {0}")]
    BadLength(u32),
    /// Bytes were left over after a fixed-size body.
    #[error("{0} trailing bytes after the body")]
    Trailing(usize),
    /// A value is outside its allowed set.
    #[error("invalid value {value} for {field}")]
    InvalidValue {
        /// Field name.
        field: &'static str,
        /// Value received.
        value: u32,
    },
}
