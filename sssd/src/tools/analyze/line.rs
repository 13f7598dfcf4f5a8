//! One SSSD debug-log line taken apart:
//!
//! ```text
//! (2026-12-06 19:55:01): [be[LDAP]] [function] (0x0400): [CID#3] [RID#7] message
//! ```
//!
//! The time is there with `debug_timestamps` (the default), with `:123456` after the
//! seconds with `debug_microseconds`; `[CID#n]` marks the lines about one client
//! connection of a responder, `[RID#n]` the lines about one request (in the responder and
//! in the backend that works for it).

/// The parts of a log line the analyzer looks at; borrowed from the line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogLine<'a> {
    /// The time as written, without the parentheses (`2026-12-06 19:55:01`), if any.
    pub stamp: Option<&'a str>,
    /// The program (`nss`, `be[LDAP]`, `krb5_child[1234]`).
    pub program: &'a str,
    /// The function or module that wrote the line.
    pub function: &'a str,
    /// The client connection (`[CID#n]`), if the line is about one.
    pub cid: Option<u64>,
    /// The request (`[RID#n]`), if the line is about one.
    pub rid: Option<u64>,
    /// The message after the ids.
    pub message: &'a str,
}

impl<'a> LogLine<'a> {
    /// Takes `line` (without its newline) apart; `None` when it does not have the layout
    /// (a continuation line of a multi-line message, a backtrace, another program's text).
    pub fn parse(line: &'a str) -> Option<LogLine<'a>> {
        let (stamp, rest) = match line.strip_prefix('(') {
            Some(r) => {
                let (stamp, rest) = r.split_once("): ")?;
                (Some(stamp), rest)
            }
            None => (None, line),
        };
        let rest = rest.strip_prefix('[')?;
        // The program may hold brackets itself (`be[LDAP]`): it ends at the first `] [`.
        let (program, rest) = rest.split_once("] [")?;
        let (function, rest) = rest.split_once("] (0x")?;
        let (class, mut message) = rest.split_once("): ")?;
        if class.is_empty() || !class.chars().all(|c| c.is_ascii_hexdigit()) {
            return None;
        }
        let mut cid = None;
        let mut rid = None;
        if let Some((n, m)) = id_prefix(message, "[CID#") {
            cid = Some(n);
            message = m;
        }
        if let Some((n, m)) = id_prefix(message, "[RID#") {
            rid = Some(n);
            message = m;
        }
        Some(LogLine {
            stamp,
            program,
            function,
            cid,
            rid,
            message,
        })
    }
}

/// `[CID#12] rest` with `tag` `[CID#`: `(12, "rest")`.
fn id_prefix<'a>(text: &'a str, tag: &str) -> Option<(u64, &'a str)> {
    let rest = text.strip_prefix(tag)?;
    let (digits, rest) = rest.split_once(']')?;
    let n = digits.parse().ok()?;
    Some((n, rest.strip_prefix(' ').unwrap_or(rest)))
}

/// What the responder's "client connected" line says:
/// `Client [cmd getent][uid 0][pid 1234][fd 14] connected!`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientConnected<'a> {
    /// The client's program (`argv[0]`), empty when it could not be read.
    pub cmd: &'a str,
    /// The client's uid.
    pub uid: &'a str,
}

impl<'a> ClientConnected<'a> {
    /// The client's program and uid from the message of a "client connected" line.
    pub fn parse(message: &'a str) -> Option<ClientConnected<'a>> {
        let rest = message.strip_prefix("Client [cmd ")?;
        let (cmd, rest) = rest.split_once("][uid ")?;
        let (uid, _) = rest.split_once(']')?;
        Some(ClientConnected { cmd, uid })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backend_line_with_request_id() {
        let l = LogLine::parse(
            "(2026-12-06 19:55:01): [be[LDAP]] [sbus::interfaces] (0x0400): [RID#7] \
             getAccountInfo User name=user1 in LDAP (client 7)",
        )
        .unwrap();
        assert_eq!(l.stamp, Some("2026-12-06 19:55:01"));
        assert_eq!(l.program, "be[LDAP]");
        assert_eq!(l.function, "sbus::interfaces");
        assert_eq!(l.cid, None);
        assert_eq!(l.rid, Some(7));
        assert_eq!(
            l.message,
            "getAccountInfo User name=user1 in LDAP (client 7)"
        );
    }

    #[test]
    fn responder_line_with_both_ids_and_microseconds() {
        let l = LogLine::parse(
            "(2026-12-06  9:55:01:123456): [nss] [responder::nss] (0x0400): [CID#2] \
             [RID#5] asking the backend of LDAP: User name=user1",
        )
        .unwrap();
        assert_eq!(l.stamp, Some("2026-12-06  9:55:01:123456"));
        assert_eq!(l.program, "nss");
        assert_eq!(l.cid, Some(2));
        assert_eq!(l.rid, Some(5));
        assert_eq!(l.message, "asking the backend of LDAP: User name=user1");
    }

    #[test]
    fn line_without_time_and_without_ids() {
        let l = LogLine::parse("[krb5_child[1234]] [main] (0x0400): [LDAP] TGT of user1").unwrap();
        assert_eq!(l.stamp, None);
        assert_eq!(l.program, "krb5_child[1234]");
        assert_eq!(l.function, "main");
        assert_eq!((l.cid, l.rid), (None, None));
        assert_eq!(l.message, "[LDAP] TGT of user1");
    }

    #[test]
    fn other_text_is_not_a_line() {
        for text in [
            "",
            "   *  (2026-12-06 19:55:01): backtrace",
            "(2026-12-06 19:55:01) no separator",
            "(2026-12-06 19:55:01): [nss] [f] (0xzz): x",
            "(2026-12-06 19:55:01): [nss] no function",
        ] {
            assert_eq!(LogLine::parse(text), None, "{text:?}");
        }
    }

    #[test]
    fn malformed_ids_stay_in_the_message() {
        let l = LogLine::parse("[nss] [f] (0x0400): [CID#x] hello").unwrap();
        assert_eq!(l.cid, None);
        assert_eq!(l.message, "[CID#x] hello");
    }

    #[test]
    fn client_connected() {
        let c =
            ClientConnected::parse("Client [cmd getent][uid 0][pid 77][fd 14] connected!").unwrap();
        assert_eq!(c.cmd, "getent");
        assert_eq!(c.uid, "0");
        let c = ClientConnected::parse("Client [cmd ][uid 1001][pid 9][fd 3] connected!").unwrap();
        assert_eq!(c.cmd, "");
        assert_eq!(
            ClientConnected::parse("serving /var/lib/sss/pipes/nss"),
            None
        );
    }
}
