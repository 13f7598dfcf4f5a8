//! Pieces the administration tools share: popt's brief usage layout and the "reload"
//! signal to a running monitor.

use crate::paths::Paths;
use std::path::Path;

/// popt's `--usage` text: `head` (`Usage: prog ...`) followed by `items`, wrapped as popt
/// wraps them (a new line indented by seven spaces before an item that would pass column
/// 78), ending with a newline.
pub fn popt_usage(head: &str, items: &[String]) -> String {
    let mut out = String::from(head);
    let mut line_len = out.len();
    for item in items {
        if line_len + 1 + item.len() > 78 {
            out.push_str("\n       ");
            line_len = 7;
        }
        out.push(' ');
        out.push_str(item);
        line_len += 1 + item.len();
    }
    out.push('\n');
    out
}

/// Sends SIGHUP to the running sssd monitor, if there is one (it reopens its children's
/// logs and relays the signal to `sssd_nss`, which drops its negative cache); whether a
/// monitor was signalled.
pub fn hup_monitor(paths: &Paths, proc_root: &Path) -> bool {
    match super::sss_cache::memcache::monitor_pid(&paths.pidfile, proc_root) {
        // SAFETY: kill(2) with a pid read from the pidfile and checked to be a live sssd.
        Ok(pid) => unsafe { libc::kill(pid, libc::SIGHUP) == 0 },
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_wraps_before_column_78() {
        let items: Vec<String> = (0..12).map(|i| format!("[--option{i}]")).collect();
        let text = popt_usage("Usage: prog", &items);
        assert!(text.lines().all(|l| l.len() <= 78), "{text}");
        assert!(text.lines().skip(1).all(|l| l.starts_with("        [")));
        assert!(text.ends_with("[--option11]\n"));
    }
}
