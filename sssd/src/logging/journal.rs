//! `--logger=journald`: each line as one datagram in the journal's native protocol, with
//! SSSD's fields (`SSSD_PRG_NAME`, `SSSD_DOMAIN`, `SSSD_DEBUG_LEVEL`) beside the standard
//! ones.

pub use sss_proto::debug::JOURNAL_SOCKET;
use sss_proto::debug::JournalEntry;
use std::os::unix::net::UnixDatagram;

/// One line's worth of fields.
pub struct Entry<'a> {
    /// The message, with its chain ids.
    pub message: &'a str,
    /// SSSD's debug class.
    pub class: u32,
    /// `be[LDAP]`, `nss`, ...
    pub program: &'a str,
    /// The domain of a backend or helper, else empty.
    pub domain: &'a str,
    /// `CODE_FUNC`.
    pub function: &'a str,
    /// `CODE_FILE`.
    pub file: &'a str,
    /// `CODE_LINE`.
    pub line: u32,
}

/// An unbound datagram socket that sends to [`JOURNAL_SOCKET`].
pub struct Journal {
    socket: Option<UnixDatagram>,
    identifier: String,
}

impl Default for Journal {
    fn default() -> Journal {
        Journal::new()
    }
}

impl Journal {
    /// A sender; `SYSLOG_IDENTIFIER` is this program's file name, as `sd_journal_send`
    /// gives it.
    pub fn new() -> Journal {
        let identifier = std::env::args_os()
            .next()
            .and_then(|a| {
                std::path::Path::new(&a)
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
            })
            .unwrap_or_else(|| "sssd".to_string());
        Journal {
            socket: UnixDatagram::unbound().ok(),
            identifier,
        }
    }

    /// The datagram for `e`.
    pub fn encode(&self, e: &Entry<'_>) -> Vec<u8> {
        JournalEntry {
            message: e.message,
            class: e.class,
            identifier: &self.identifier,
            program: e.program,
            domain: e.domain,
            function: e.function,
            file: e.file,
            line: e.line,
        }
        .encode()
    }

    /// Sends `e`; an error when there is no journal (the caller writes to stderr then).
    pub fn send(&self, e: &Entry<'_>) -> std::io::Result<()> {
        let Some(socket) = &self.socket else {
            return Err(std::io::Error::other("no socket"));
        };
        socket.send_to(&self.encode(e), JOURNAL_SOCKET).map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_encodes_sssd_fields() {
        let j = Journal {
            socket: None,
            identifier: "sssd_be".into(),
        };
        let d = j.encode(&Entry {
            message: "two\nlines",
            class: 0x0040,
            program: "be[LDAP]",
            domain: "LDAP",
            function: "backend::x",
            file: "a.rs",
            line: 7,
        });
        let text = String::from_utf8_lossy(&d);
        assert!(text.starts_with("MESSAGE\n"), "{text}");
        assert!(text.contains("\nPRIORITY=3\nSYSLOG_IDENTIFIER=sssd_be\n"));
        assert!(text.contains("SSSD_PRG_NAME=sssd[be[LDAP]]\nSSSD_DOMAIN=LDAP\n"));
        assert!(text.contains("SSSD_DEBUG_LEVEL=40\nCODE_FUNC=backend::x\n"));
        assert!(text.ends_with("CODE_LINE=7\n"));
        assert!(
            j.send(&Entry {
                message: "",
                class: 0,
                program: "",
                domain: "",
                function: "",
                file: "",
                line: 0
            })
            .is_err()
        );
    }
}
