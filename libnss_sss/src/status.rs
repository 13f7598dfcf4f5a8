//! NSS status codes and the client's error type with its status/errno mapping.

use thiserror::Error;

/// `enum nss_status` from glibc's `<nss.h>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(i32)]
pub enum NssStatus {
    /// Temporary failure (also "buffer too small" with errno `ERANGE`).
    TryAgain = -2,
    /// The service is not available.
    Unavail = -1,
    /// No such entry.
    NotFound = 0,
    /// Entry found.
    Success = 1,
    /// Stop lookup here (unused by this module).
    Return = 2,
}

impl NssStatus {
    /// The C value glibc expects.
    pub fn code(self) -> libc::c_int {
        self as libc::c_int
    }
}

/// Why an NSS request did not produce an entry.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum NssError {
    /// The responder socket could not be reached or the transport failed (errno).
    #[error("SSSD NSS responder unreachable: {}", std::io::Error::from_raw_os_error(*.0))]
    Transport(i32),
    /// The responder answered with a non-zero status (an errno).
    #[error("SSSD NSS responder returned status {0}")]
    Server(u32),
    /// The reply could not be decoded.
    #[error("malformed reply from the SSSD NSS responder: {0}")]
    BadReply(String),
    /// GET_VERSION returned a version other than ours.
    #[error("SSSD NSS responder speaks protocol version {0}, expected 1")]
    Version(u32),
    /// The entry does not exist (SSSD leaves `*errnop` 0 for this).
    #[error("no such entry")]
    NotFound,
    /// The name is NULL or longer than LOGIN_NAME_MAX: NOTFOUND with `EINVAL`, as SSSD.
    #[error("name missing or longer than the limit")]
    BadName,
    /// `_SSS_LOOPS=NO`: NOTFOUND without asking the responder, `*errnop` left alone.
    #[error("lookups through SSSD disabled by _SSS_LOOPS=NO")]
    LoopsDisabled,
    /// A single-entry lookup returned several entries.
    #[error("{0} results for a single-entry lookup")]
    Ambiguous(u32),
    /// The caller's buffer is too small for the entry.
    #[error("caller buffer too small")]
    Range,
    /// Another thread is using the enumeration state right now.
    #[error("enumeration busy in another thread")]
    Busy,
    /// The caller passed an invalid argument (NULL pointer, inconsistent sizes).
    #[error("invalid argument")]
    Invalid,
    /// Memory allocation failed.
    #[error("out of memory")]
    NoMemory,
    /// A host or network exists but has no address of the family asked for (TRYAGAIN
    /// with `h_errno` NO_DATA, as SSSD).
    #[error("no address of the requested family")]
    NoData,
    /// An address family this map does not serve (UNAVAIL/`EAFNOSUPPORT`).
    #[error("address family not supported")]
    AddressFamily,
}

impl NssError {
    /// The NSS status glibc should see.
    pub fn status(&self) -> NssStatus {
        match self {
            NssError::Server(s) if *s == libc::EAGAIN as u32 => NssStatus::TryAgain,
            NssError::Ambiguous(_)
            | NssError::Range
            | NssError::Busy
            | NssError::NoMemory
            | NssError::NoData => NssStatus::TryAgain,
            NssError::NotFound | NssError::BadName | NssError::LoopsDisabled => NssStatus::NotFound,
            NssError::Transport(_)
            | NssError::Server(_)
            | NssError::BadReply(_)
            | NssError::Version(_)
            | NssError::Invalid
            | NssError::AddressFamily => NssStatus::Unavail,
        }
    }

    /// Whether `*errnop` is set at all ([`NssError::LoopsDisabled`] leaves it alone).
    pub fn sets_errno(&self) -> bool {
        !matches!(self, NssError::LoopsDisabled)
    }

    /// The errno glibc should see in `*errnop` (when [`NssError::sets_errno`]).
    pub fn errno(&self) -> libc::c_int {
        match self {
            NssError::Transport(e) => *e,
            NssError::Server(s) => match libc::c_int::try_from(*s) {
                Ok(e) if e > 0 => e,
                _ => libc::EIO,
            },
            NssError::BadReply(_) | NssError::Ambiguous(_) => libc::EBADMSG,
            NssError::Version(_) => libc::EFAULT,
            NssError::NotFound | NssError::LoopsDisabled | NssError::NoData => 0,
            NssError::BadName => libc::EINVAL,
            NssError::Range => libc::ERANGE,
            NssError::Busy => libc::EAGAIN,
            NssError::Invalid => libc::EINVAL,
            NssError::NoMemory => libc::ENOMEM,
            NssError::AddressFamily => libc::EAFNOSUPPORT,
        }
    }
}

impl From<sss_proto::ProtoError> for NssError {
    fn from(e: sss_proto::ProtoError) -> Self {
        NssError::BadReply(e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mapping_follows_the_spec() {
        let cases = [
            (
                NssError::Transport(libc::ENOENT),
                NssStatus::Unavail,
                libc::ENOENT,
            ),
            (
                NssError::Transport(libc::ECONNREFUSED),
                NssStatus::Unavail,
                libc::ECONNREFUSED,
            ),
            (
                NssError::Server(libc::EAGAIN as u32),
                NssStatus::TryAgain,
                libc::EAGAIN,
            ),
            (
                NssError::Server(libc::EINVAL as u32),
                NssStatus::Unavail,
                libc::EINVAL,
            ),
            (NssError::Server(u32::MAX), NssStatus::Unavail, libc::EIO),
            (NssError::NotFound, NssStatus::NotFound, 0),
            (NssError::BadName, NssStatus::NotFound, libc::EINVAL),
            (NssError::LoopsDisabled, NssStatus::NotFound, 0),
            (NssError::Ambiguous(2), NssStatus::TryAgain, libc::EBADMSG),
            (NssError::Range, NssStatus::TryAgain, libc::ERANGE),
            (
                NssError::BadReply("x".into()),
                NssStatus::Unavail,
                libc::EBADMSG,
            ),
            (NssError::Version(2), NssStatus::Unavail, libc::EFAULT),
            (NssError::NoMemory, NssStatus::TryAgain, libc::ENOMEM),
        ];
        for (err, status, errno) in cases {
            assert_eq!(err.status(), status, "{err:?}");
            assert_eq!(err.errno(), errno, "{err:?}");
        }
        assert!(!NssError::LoopsDisabled.sets_errno());
        assert!(NssError::NotFound.sets_errno());
        assert_eq!(NssStatus::TryAgain.code(), -2);
        assert_eq!(NssStatus::Success.code(), 1);
    }
}
