//! `sss_ssh_authorizedkeys [-d DOMAIN] USER`: prints USER's SSH public keys from SSSD, one
//! `authorized_keys` line per key, for sshd's `AuthorizedKeysCommand`.
//!
//! As SSSD 2.8's tool: the request goes to the ssh responder (`pipes/ssh`, protocol version
//! 0) with `REQ_DOMAIN` always set; text keys are printed as stored, binary key blobs as
//! `type base64`; a malformed key is skipped; a user SSSD does not serve (`root`, a local
//! user) prints nothing and exits 0; any other failure prints "Error looking up public keys"
//! and exits 1.

use sss_proto::{HEADER_LEN, Header, packet, ssh};
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;
use thiserror::Error;

/// Deadline for each socket read or write (SSSD's client allows 300 s per poll; sshd gives
/// the command far less, so ours stays short).
pub const IO_TIMEOUT: Duration = Duration::from_secs(60);

/// Largest reply accepted (a user with thousands of keys fits).
pub const MAX_REPLY: usize = 64 << 20;

/// Why keys could not be fetched.
#[derive(Debug, Error)]
pub enum ClientError {
    /// The socket could not be reached or broke.
    #[error("{path}: {source}")]
    Io {
        /// The socket.
        path: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The responder answered with an error status.
    #[error("the ssh responder answered status {0}")]
    Status(u32),
    /// The reply was malformed.
    #[error("malformed reply: {0}")]
    Reply(String),
}

/// Asks the ssh responder at `socket` for the keys of user `name` (in `domain`, when given).
/// `Ok(None)`: SSSD does not serve this user (`ERR_NON_SSSD_USER`).
pub fn fetch_user_keys(
    socket: &Path,
    name: &str,
    domain: Option<&str>,
) -> Result<Option<ssh::KeyReply>, ClientError> {
    fetch_keys(socket, ssh::GET_USER_PUBKEYS, name, None, domain)
}

/// Sends one key request (`cmd`: [`ssh::GET_USER_PUBKEYS`] or [`ssh::GET_HOST_PUBKEYS`])
/// for `name` (with `alias` and `domain` when given) to the ssh responder at `socket`, as
/// SSSD's `sss_ssh_get_ent`. `Ok(None)`: the answer was `ERR_NON_SSSD_USER`.
pub fn fetch_keys(
    socket: &Path,
    cmd: u32,
    name: &str,
    alias: Option<&str>,
    domain: Option<&str>,
) -> Result<Option<ssh::KeyReply>, ClientError> {
    let io = |source| ClientError::Io {
        path: socket.display().to_string(),
        source,
    };
    let mut s = UnixStream::connect(socket).map_err(io)?;
    s.set_read_timeout(Some(IO_TIMEOUT)).map_err(io)?;
    s.set_write_timeout(Some(IO_TIMEOUT)).map_err(io)?;
    let version = exchange(&mut s, 0x0001, &ssh::SSH_PROTOCOL_VERSION.to_ne_bytes()).map_err(io)?;
    if version.0 != 0 || version.1 != ssh::SSH_PROTOCOL_VERSION.to_ne_bytes() {
        return Err(ClientError::Reply("protocol version mismatch".into()));
    }
    let body = ssh::encode_request(name, alias, domain);
    let (status, reply) = exchange(&mut s, cmd, &body).map_err(io)?;
    match status {
        0 => ssh::decode_reply(&reply)
            .map(Some)
            .map_err(|e| ClientError::Reply(e.to_string())),
        ssh::ERR_NON_SSSD_USER => Ok(None),
        s => Err(ClientError::Status(s)),
    }
}

/// Sends one request and reads its reply: (status, body).
fn exchange(s: &mut UnixStream, cmd: u32, body: &[u8]) -> std::io::Result<(u32, Vec<u8>)> {
    s.write_all(&packet(cmd, 0, body))?;
    let mut h = [0u8; HEADER_LEN];
    s.read_exact(&mut h)?;
    let bad = |m: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, m.to_string());
    let h = Header::decode(&h).map_err(|e| bad(&e.to_string()))?;
    if h.cmd != cmd || h.body_len() > MAX_REPLY {
        return Err(bad("unexpected reply header"));
    }
    let mut b = vec![0u8; h.body_len()];
    s.read_exact(&mut b)?;
    Ok((h.status, b))
}

/// The outcome of one run: what to print and the exit code.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Outcome {
    /// Standard output (the key lines).
    pub stdout: Vec<u8>,
    /// Standard error.
    pub stderr: String,
    /// Exit code.
    pub code: i32,
}

const USAGE: &str = "Usage: sss_ssh_authorizedkeys [-?] [-d|--domain=STRING] USER\n";

/// Parsed command line.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Args {
    Run {
        user: String,
        domain: Option<String>,
    },
    Help,
    Bad(String),
}

fn parse(args: &[String]) -> Args {
    let mut user = None;
    let mut domain = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "-?" | "--help" | "--usage" => return Args::Help,
            "-d" | "--domain" => match it.next() {
                Some(d) => domain = Some(d.clone()),
                None => return Args::Bad(format!("{a}: missing argument")),
            },
            "--debug" => {
                if it.next().is_none() {
                    return Args::Bad("--debug: missing argument".into());
                }
            }
            s if s.starts_with("--domain=") => domain = Some(s["--domain=".len()..].to_string()),
            s if s.starts_with("--debug=") => {}
            s if s.starts_with("-d") && s.len() > 2 => domain = Some(s[2..].to_string()),
            s if s.starts_with('-') && s.len() > 1 => {
                return Args::Bad(format!("{s}: unknown option"));
            }
            s => {
                if user.is_none() {
                    user = Some(s.to_string());
                }
            }
        }
    }
    match user {
        Some(user) => Args::Run { user, domain },
        None => Args::Bad("User not specified".into()),
    }
}

/// Runs the tool with `args` (without the program name) against the socket `socket`.
pub fn run(socket: &Path, args: &[String]) -> Outcome {
    let (user, domain) = match parse(args) {
        Args::Run { user, domain } => (user, domain),
        Args::Help => {
            return Outcome {
                stdout: USAGE.as_bytes().to_vec(),
                ..Outcome::default()
            };
        }
        Args::Bad(m) => {
            return Outcome {
                stderr: format!("{USAGE}{m}\n"),
                code: 1,
                ..Outcome::default()
            };
        }
    };
    match fetch_user_keys(socket, &user, domain.as_deref()) {
        Ok(None) => Outcome::default(),
        Ok(Some(reply)) => {
            let mut out = Outcome::default();
            for k in &reply.keys {
                match ssh::format_key(k) {
                    Ok(line) => {
                        out.stdout.extend_from_slice(&line);
                        out.stdout.push(b'\n');
                    }
                    Err(e) => out.stderr.push_str(&format!("SSH key is malformed: {e}\n")),
                }
            }
            out
        }
        Err(e) => Outcome {
            stderr: format!("Error looking up public keys\n({e})\n"),
            code: 1,
            ..Outcome::default()
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn options_as_sssds_tool() {
        assert_eq!(
            parse(&s(&["alice"])),
            Args::Run {
                user: "alice".into(),
                domain: None
            }
        );
        for args in [
            &["-d", "LDAP", "alice"][..],
            &["--domain", "LDAP", "alice"],
            &["--domain=LDAP", "alice"],
            &["-dLDAP", "alice"],
        ] {
            assert_eq!(
                parse(&s(args)),
                Args::Run {
                    user: "alice".into(),
                    domain: Some("LDAP".into())
                },
                "{args:?}"
            );
        }
        assert_eq!(parse(&s(&[])), Args::Bad("User not specified".into()));
        assert!(matches!(parse(&s(&["-x", "a"])), Args::Bad(_)));
        assert_eq!(parse(&s(&["-?"])), Args::Help);
    }

    #[test]
    fn no_responder_is_an_error_exit() {
        let out = run(Path::new("/nonexistent/ssh"), &s(&["alice"]));
        assert_eq!(out.code, 1);
        assert!(out.stderr.starts_with("Error looking up public keys"));
        assert!(out.stdout.is_empty());
    }
}
