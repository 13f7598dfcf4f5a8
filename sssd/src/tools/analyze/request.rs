//! `request list` and `request show`, over the text of the log files.
//!
//! A responder writes `Client [cmd PROGRAM][uid N]... connected!` with `[CID#c]` when a
//! client connects, and every line about a request of that client with `[CID#c] [RID#r]`;
//! the backend's lines for the work it does for request `r` carry `[RID#r]`. Request ids
//! are counted per responder, so the backend's lines for `r` are taken only between the
//! responder's first and last line of `r` (to the second): `sssd_nss` and `sssd_pam` may
//! both have a request `r`, at other times.

use super::line::{ClientConnected, LogLine};
use std::collections::HashMap;

/// The time of a line to the second (`2026-12-06 19:55:01`), the precision every process
/// writes, so that lines of processes with and without `debug_microseconds` compare.
fn second(stamp: &str) -> &str {
    stamp.get(..19).unwrap_or(stamp)
}

/// `request list`: one line per client connection of the responder whose log is `text`:
/// `TIME: [uid N] CID #c: PROGRAM`; with `verbose`, the commands of each connection under
/// it (`   - GetPwNam`) with what they asked the backend for (`       - User name=user1`).
pub fn list(text: &str, verbose: bool) -> String {
    let mut out = String::new();
    let mut clients: Vec<Client<'_>> = Vec::new();
    // The entry of each CID's latest connection (a restarted responder counts anew).
    let mut current: HashMap<u64, usize> = HashMap::new();
    for raw in text.lines() {
        let Some(line) = LogLine::parse(raw) else {
            continue;
        };
        let Some(cid) = line.cid else { continue };
        if let Some(c) = ClientConnected::parse(line.message) {
            current.insert(cid, clients.len());
            clients.push(Client {
                stamp: line.stamp,
                cid,
                connected: c,
                requests: Vec::new(),
            });
        } else if let (Some(rid), Some(&at)) = (line.rid, current.get(&cid))
            && let Some(client) = clients.get_mut(at)
        {
            client.note(rid, line.message);
        }
    }
    for c in &clients {
        if let Some(stamp) = c.stamp {
            out.push_str(stamp);
            out.push_str(": ");
        }
        out.push_str(&format!(
            "[uid {}] CID #{}: {}\n",
            c.connected.uid, c.cid, c.connected.cmd
        ));
        if verbose {
            for r in &c.requests {
                out.push_str(&format!("   - {}\n", r.command));
                for input in &r.inputs {
                    out.push_str(&format!("       - {input}\n"));
                }
            }
        }
    }
    out
}

/// One client connection in `request list`.
struct Client<'a> {
    stamp: Option<&'a str>,
    cid: u64,
    connected: ClientConnected<'a>,
    requests: Vec<Request>,
}

/// One request of a connection in `request list --verbose`.
struct Request {
    rid: u64,
    command: String,
    inputs: Vec<String>,
}

impl Client<'_> {
    /// Takes what `message` (a line of request `rid`) says about the request.
    fn note(&mut self, rid: u64, message: &str) {
        if let Some(code) = command_code(message) {
            let command = match sss_proto::Command::from_u32(code) {
                Some(c) => format!("{c:?}"),
                None => format!("command {code:#06x}"),
            };
            self.requests.push(Request {
                rid,
                command,
                inputs: Vec::new(),
            });
            return;
        }
        let Some(request) = self.requests.iter_mut().rev().find(|r| r.rid == rid) else {
            return;
        };
        if let Some(input) = input_of(message)
            && !request.inputs.iter().any(|i| i == input)
        {
            request.inputs.push(input.to_string());
        }
    }
}

/// The command of the responder's `command 0x0011 from uid 0 pid Some(7)` line.
fn command_code(message: &str) -> Option<u32> {
    let rest = message.strip_prefix("command 0x")?;
    let (hex, _) = rest.split_once(" from ")?;
    u32::from_str_radix(hex, 16).ok()
}

/// What a request looked up: `User name=user1` of the NSS responder's `asking the backend
/// of LDAP: User name=user1`, `user1` of the PAM responder's `PAM request done ...
/// user=user1 ...`.
fn input_of(message: &str) -> Option<&str> {
    if let Some(rest) = message.strip_prefix("asking the backend of ") {
        return rest.split_once(": ").map(|(_, what)| what);
    }
    if message.starts_with("PAM request done") {
        let (_, rest) = message.split_once(" user=")?;
        return Some(rest.split_once(' ').map_or(rest, |(user, _)| user));
    }
    None
}

/// The time of `line` as written, or "" (sorted first) when it has none.
fn stamp_of(line: &str) -> &str {
    LogLine::parse(line).and_then(|p| p.stamp).unwrap_or("")
}

/// The lines `request show` prints.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Shown {
    /// The responder's lines of the client connection, in order.
    pub responder: Vec<String>,
    /// The backends' lines for the connection's requests, in order.
    pub backend: Vec<String>,
}

impl Shown {
    /// Whether nothing was found for the connection.
    pub fn is_empty(&self) -> bool {
        self.responder.is_empty() && self.backend.is_empty()
    }

    /// The text printed: the responder's lines then the backend's, or with `merge` all
    /// of them ordered by their time (lines of one time keep their order).
    pub fn render(&self, merge: bool) -> String {
        let mut lines: Vec<&String> = self.responder.iter().chain(&self.backend).collect();
        if merge {
            lines.sort_by(|a, b| stamp_of(a).cmp(stamp_of(b)));
        }
        let mut out = String::new();
        for l in lines {
            out.push_str(l);
            out.push('\n');
        }
        out
    }
}

/// `request show CID`, one log at a time: the responder's log first ([`Tracker::new`]),
/// then each backend's ([`Tracker::add_backend`]), so that only one file is held at once.
#[derive(Debug)]
pub struct Tracker {
    shown: Shown,
    /// Per request id: the first and last second the responder wrote about it.
    windows: HashMap<u64, (Option<String>, Option<String>)>,
}

impl Tracker {
    /// The lines of client connection `cid` in the responder's log `responder`.
    pub fn new(cid: u64, responder: &str) -> Tracker {
        let mut shown = Shown::default();
        let mut windows: HashMap<u64, (Option<String>, Option<String>)> = HashMap::new();
        for raw in responder.lines() {
            let Some(line) = LogLine::parse(raw) else {
                continue;
            };
            if line.cid != Some(cid) {
                continue;
            }
            shown.responder.push(raw.to_string());
            if let Some(rid) = line.rid {
                let at = line.stamp.map(|s| second(s).to_string());
                let w = windows
                    .entry(rid)
                    .or_insert_with(|| (at.clone(), at.clone()));
                if at.is_some() {
                    w.1 = at;
                }
            }
        }
        Tracker { shown, windows }
    }

    /// Adds the lines of the backend's log `text` for the connection's requests.
    pub fn add_backend(&mut self, text: &str) {
        for raw in text.lines() {
            let Some(line) = LogLine::parse(raw) else {
                continue;
            };
            let Some((first, last)) = line.rid.and_then(|r| self.windows.get(&r)) else {
                continue;
            };
            let inside = match (line.stamp.map(second), first, last) {
                (Some(at), Some(first), Some(last)) => first.as_str() <= at && at <= last.as_str(),
                _ => true,
            };
            if inside {
                self.shown.backend.push(raw.to_string());
            }
        }
    }

    /// The lines found.
    pub fn finish(self) -> Shown {
        self.shown
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `request show` over texts.
    fn show(cid: u64, responder: &str, backends: &[String]) -> Shown {
        let mut t = Tracker::new(cid, responder);
        for b in backends {
            t.add_backend(b);
        }
        t.finish()
    }

    const NSS: &str = "\
(2026-12-06 19:55:00): [nss] [responder::common::server] (0x0200): serving /var/lib/sss/pipes/nss
(2026-12-06 19:55:01): [nss] [responder::common::client] (0x0400): [CID#1] Client [cmd getent][uid 0][pid 700][fd 14] connected!
(2026-12-06 19:55:01): [nss] [responder::common::client] (0x0400): [CID#1] [RID#1] command 0x0011 from uid 0 pid Some(700)
(2026-12-06 19:55:01): [nss] [responder::common::source] (0x0400): [CID#1] [RID#1] asking the backend of LDAP: User name=user1
(2026-12-06 19:55:02): [nss] [responder::common::client] (0x0400): [CID#1] [RID#1] command 0x0011 done: status 0
(2026-12-06 19:55:03): [nss] [responder::common::client] (0x0400): [CID#2] Client [cmd id][uid 1001][pid 701][fd 15] connected!
(2026-12-06 19:55:03): [nss] [responder::common::client] (0x0400): [CID#2] [RID#2] command 0x0012 from uid 1001 pid Some(701)
(2026-12-06 19:55:03): [nss] [responder::common::client] (0x0400): [CID#2] [RID#2] command 0x0012 done: status 0
(2026-12-06 19:55:03): [nss] [responder::common::client] (0x0400): [CID#2] [RID#3] command 0x002e from uid 1001 pid Some(701)
(2026-12-06 19:55:03): [nss] [responder::common::source] (0x0400): [CID#2] [RID#3] asking the backend of LDAP: Initgroups name=user1
(2026-12-06 19:55:03): [nss] [responder::common::source] (0x0400): [CID#2] [RID#3] asking the backend of LDAP: Initgroups name=user1
(2026-12-06 19:55:04): [nss] [responder::common::client] (0x0400): [CID#2] [RID#3] command 0x002e done: status 0
";

    const BE: &str = "\
(2026-12-06 19:54:00): [be[LDAP]] [sbus::interfaces] (0x0400): [RID#1] pamHandler PamForward { cmd: 0xf1, user: \"user2\" } (another responder's request 1)
(2026-12-06 19:55:01): [be[LDAP]] [sbus::interfaces] (0x0400): [RID#1] getAccountInfo User name=user1 in LDAP (client 1)
(2026-12-06 19:55:01): [be[LDAP]] [backend] (0x0400): [RID#1] getAccountInfo type=User filter=name=user1 client=1
(2026-12-06 19:55:01): [be[LDAP]] [backend::ldap] (0x0400): unrelated
(2026-12-06 19:55:03): [be[LDAP]] [sbus::interfaces] (0x0400): [RID#3] getAccountInfo Initgroups name=user1
(2026-12-06 19:56:00): [be[LDAP]] [sbus::interfaces] (0x0400): [RID#1] pamHandler for user2 (another responder's request 1, later)
";

    #[test]
    fn lists_the_clients() {
        assert_eq!(
            list(NSS, false),
            "2026-12-06 19:55:01: [uid 0] CID #1: getent\n\
             2026-12-06 19:55:03: [uid 1001] CID #2: id\n"
        );
    }

    #[test]
    fn lists_the_commands_of_each_client_with_verbose() {
        assert_eq!(
            list(NSS, true),
            "2026-12-06 19:55:01: [uid 0] CID #1: getent\n   - GetPwNam\n       - User name=user1\n\
             2026-12-06 19:55:03: [uid 1001] CID #2: id\n   - GetPwUid\n   - InitGrEx\n       - \
             Initgroups name=user1\n"
        );
    }

    #[test]
    fn lists_without_timestamps_and_pam_inputs() {
        let pam = "\
[pam] [responder::common::client] (0x0400): [CID#4] Client [cmd pamtester][uid 0][pid 9][fd 3] connected!
[pam] [responder::common::client] (0x0400): [CID#4] [RID#1] command 0x00f1 from uid 0 pid Some(9)
[pam] [responder::pam::request] (0x0400): [CID#4] [RID#1] PAM request done client=4 uid=0 cmd=0xf1 user=user1 service=login status=0
";
        assert_eq!(
            list(pam, true),
            "[uid 0] CID #4: pamtester\n   - PamAuthenticate\n       - user1\n"
        );
    }

    #[test]
    fn a_restarted_responder_counts_its_clients_anew() {
        let text = format!("{NSS}{NSS}");
        assert_eq!(list(&text, false).lines().count(), 4);
        assert_eq!(list(&text, true).matches("GetPwNam").count(), 2);
    }

    #[test]
    fn shows_the_responder_and_backend_lines_of_a_client() {
        let shown = show(1, NSS, &[BE.to_string()]);
        assert_eq!(shown.responder.len(), 4);
        assert!(shown.responder.iter().all(|l| l.contains("[CID#1]")));
        assert_eq!(
            shown.backend,
            [
                "(2026-12-06 19:55:01): [be[LDAP]] [sbus::interfaces] (0x0400): [RID#1] \
                 getAccountInfo User name=user1 in LDAP (client 1)",
                "(2026-12-06 19:55:01): [be[LDAP]] [backend] (0x0400): [RID#1] \
                 getAccountInfo type=User filter=name=user1 client=1",
            ]
        );
        let text = shown.render(false);
        assert!(
            text.ends_with("getAccountInfo type=User filter=name=user1 client=1\n"),
            "{text}"
        );
    }

    #[test]
    fn merge_orders_by_time() {
        let shown = show(1, NSS, &[BE.to_string()]);
        let merged = shown.render(true);
        let lines: Vec<&str> = merged.lines().collect();
        assert_eq!(lines.len(), 6);
        assert!(
            lines[4].contains("getAccountInfo type=User filter=name=user1 client=1"),
            "{merged}"
        );
        assert!(lines[5].contains("done: status 0"), "{merged}");
    }

    #[test]
    fn microseconds_on_one_side_only() {
        let nss = "(2026-12-06 19:55:01:000100): [nss] [c] (0x0400): [CID#1] [RID#1] command 0x0011 from uid 0 pid None\n";
        let be = "(2026-12-06 19:55:01): [be[LDAP]] [i] (0x0400): [RID#1] getAccountInfo\n";
        assert_eq!(show(1, nss, &[be.to_string()]).backend.len(), 1);
    }

    #[test]
    fn an_unknown_client_shows_nothing() {
        assert!(show(9, NSS, &[BE.to_string()]).is_empty());
        assert!(show(1, "", &[]).is_empty());
    }
}
