//! PAM through the real stack: a PAM service file using `pam_sss.so` inside a namespace, and
//! `pamtester` run as root or as an ordinary user (`setpriv`), its result mapped back to the
//! Linux-PAM status code by the `pam_strerror` text it prints.
//!
//! pamtester reads passwords from stdin (its conversation function does not need a tty) and
//! reports a failure as `pamtester: <pam_strerror text>` on stderr, exit status 1. The text is
//! English because every run sets `LC_ALL=C`.

use std::time::{Duration, Instant};

use crate::error::{HarnessError, Result};
use crate::kdc::{Kadmind, Kdc};
use crate::namespace::Namespace;
use crate::proc::{self, Output};

/// The service file tests install: every management group goes to pam_sss alone.
pub const SERVICE: &str = "sssd-tests";

/// The public PAM socket.
pub const PAM_SOCKET: &str = "/var/lib/sss/pipes/pam";

/// The privileged PAM socket of SSSD 2.8 (root clients).
pub const PRIVATE_PAM_SOCKET: &str = "/var/lib/sss/pipes/private/pam";

/// Directory for user credential caches in the tests (`krb5_ccachedir`), inside the namespace.
pub const CCACHE_DIR: &str = "/run/sssd-tests-cc";

/// Linux-PAM status codes the tests expect.
pub mod code {
    /// PAM_SUCCESS.
    pub const SUCCESS: i32 = 0;
    /// PAM_SYSTEM_ERR.
    pub const SYSTEM_ERR: i32 = 4;
    /// PAM_PERM_DENIED.
    pub const PERM_DENIED: i32 = 6;
    /// PAM_AUTH_ERR.
    pub const AUTH_ERR: i32 = 7;
    /// PAM_CRED_INSUFFICIENT.
    pub const CRED_INSUFFICIENT: i32 = 8;
    /// PAM_AUTHINFO_UNAVAIL.
    pub const AUTHINFO_UNAVAIL: i32 = 9;
    /// PAM_USER_UNKNOWN.
    pub const USER_UNKNOWN: i32 = 10;
    /// PAM_NEW_AUTHTOK_REQD.
    pub const NEW_AUTHTOK_REQD: i32 = 12;
    /// PAM_ACCT_EXPIRED.
    pub const ACCT_EXPIRED: i32 = 13;
    /// PAM_AUTHTOK_ERR.
    pub const AUTHTOK_ERR: i32 = 20;
}

/// Linux-PAM's `pam_strerror` texts (C locale) by status code.
const STRERROR: &[(i32, &str)] = &[
    (3, "Error in service module"),
    (4, "System error"),
    (5, "Memory buffer error"),
    (6, "Permission denied"),
    (7, "Authentication failure"),
    (8, "Insufficient credentials to access authentication data"),
    (
        9,
        "Authentication service cannot retrieve authentication info",
    ),
    (10, "User not known to the underlying authentication module"),
    (11, "Have exhausted maximum number of retries for service"),
    (
        12,
        "Authentication token is no longer valid; new one required",
    ),
    (13, "User account has expired"),
    (17, "Failure setting user credentials"),
    (20, "Authentication token manipulation error"),
    (21, "Authentication information cannot be recovered"),
    (22, "Authentication token lock busy"),
    (24, "Failed preliminary check by password service"),
    (25, "The return value should be ignored by PAM dispatch"),
    (26, "Critical error - immediate abort"),
    (28, "Module is unknown"),
];

/// The status code whose `pam_strerror` text `msg` is.
pub fn code_of_message(msg: &str) -> Option<i32> {
    STRERROR.iter().find(|(_, m)| *m == msg).map(|(c, _)| *c)
}

/// A PAM service file sending auth, account, password and session to `pam_sss.so` with
/// `args` (e.g. `"domains=LDAP"`), nothing else.
pub fn stack(args: &str) -> String {
    let mut s = String::new();
    for group in ["auth", "account", "password", "session"] {
        s.push_str(&format!("{group} required pam_sss.so {args}\n"));
    }
    s
}

/// Who runs pamtester.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caller {
    /// uid 0 (pam_sss 2.8 then talks to the private socket).
    Root,
    /// An ordinary uid/gid (public socket), set with `setpriv --clear-groups`.
    User(u32, u32),
}

/// What one pamtester run ended with.
#[derive(Debug, Clone)]
pub struct PamOutcome {
    /// 0 on success, else the status named by pamtester's message (-1: unrecognised).
    pub code: i32,
    /// How long it took.
    pub elapsed: Duration,
    /// The raw result.
    pub output: Output,
}

/// Runs `pamtester -v SERVICE user ops...` in `ns` as `caller`, feeding `input` (one
/// password per line, as pamtester's conversation asks for them).
pub fn pamtester(
    ns: &Namespace,
    caller: Caller,
    service: &str,
    user: &str,
    ops: &[&str],
    input: &str,
) -> Result<PamOutcome> {
    pamtester_items(ns, caller, service, user, &[], ops, input)
}

/// [`pamtester`] with PAM items set first (`-I item=value`, e.g. `("rhost", "192.0.2.1")`).
pub fn pamtester_items(
    ns: &Namespace,
    caller: Caller,
    service: &str,
    user: &str,
    items: &[(&str, &str)],
    ops: &[&str],
    input: &str,
) -> Result<PamOutcome> {
    let mut argv: Vec<String> = Vec::new();
    if let Caller::User(uid, gid) = caller {
        argv.extend([
            "setpriv".into(),
            format!("--reuid={uid}"),
            format!("--regid={gid}"),
            "--clear-groups".into(),
        ]);
    }
    argv.extend(["pamtester".into(), "-v".into()]);
    for (item, value) in items {
        argv.extend(["-I".into(), format!("{item}={value}")]);
    }
    argv.extend([service.into(), user.into()]);
    argv.extend(ops.iter().map(|s| (*s).to_owned()));
    let mut c = ns.command(&argv);
    c.env("LC_ALL", "C").env("LANG", "C");
    let start = Instant::now();
    let output = proc::run(&mut c, Some(input.as_bytes()), proc::COMMAND_TIMEOUT)?;
    let elapsed = start.elapsed();
    let code = if output.success() {
        code::SUCCESS
    } else {
        output
            .stderr
            .lines()
            // A prompt without newline may precede it: "Password: pamtester: ...".
            .filter_map(|l| l.rsplit_once("pamtester: ").map(|(_, m)| m))
            .find_map(|m| code_of_message(m.trim()))
            .unwrap_or(-1)
    };
    Ok(PamOutcome {
        code,
        elapsed,
        output,
    })
}

/// Installs `/etc/pam.d/<service>` = [`stack`]`(args)` in `ns`.
pub fn install_service(ns: &Namespace, service: &str, args: &str) -> Result<()> {
    ns.write_pam_service(service, &stack(args))
}

/// Salt of the hashes [`add_unix_user`] writes: a hash rewritten by a password change no
/// longer has it.
pub const UNIX_SALT: &str = "sssdtests";

/// Adds a local user to the private /etc/passwd of `ns` (`passwd_line`, an /etc/passwd
/// line without newline) and its SHA-512 hash of `password` to /etc/shadow, for pam_unix.
pub fn add_unix_user(ns: &Namespace, passwd_line: &str, password: &str) -> Result<()> {
    let name = passwd_line.split(':').next().unwrap_or_default();
    let mut passwd = ns.read_file("/etc/passwd")?;
    passwd.extend_from_slice(format!("{passwd_line}\n").as_bytes());
    ns.write_file("/etc/passwd", &passwd, 0o644)?;
    let hash = ns
        .run_ok(&["openssl", "passwd", "-6", "-salt", UNIX_SALT, password])?
        .stdout;
    let mut shadow = ns.read_file("/etc/shadow").unwrap_or_default();
    shadow.extend_from_slice(format!("{name}:{}:19000:0:99999:7:::\n", hash.trim()).as_bytes());
    ns.write_file("/etc/shadow", &shadow, 0o640)
}

/// Installs `/etc/pam.d/<service>` running pam_unix for every management group (the
/// `proxy_pam_target` of the proxy and files tests).
pub fn install_unix_service(ns: &Namespace, service: &str) -> Result<()> {
    ns.write_pam_service(
        service,
        "auth required pam_unix.so\naccount required pam_unix.so\n\
         password required pam_unix.so sha512\nsession required pam_permit.so\n",
    )
}

/// Changes `user`'s password from `old` to `new` with pamtester run as `caller` through
/// [`SERVICE`]; on success, checks that pam_unix rewrote the hash [`add_unix_user`] wrote.
pub fn change_unix_password(
    ns: &Namespace,
    caller: Caller,
    user: &str,
    old: &str,
    new: &str,
) -> Result<PamOutcome> {
    let out = pamtester(
        ns,
        caller,
        SERVICE,
        user,
        &["chauthtok"],
        &format!("{old}\n{new}\n{new}\n"),
    )?;
    if out.code == code::SUCCESS {
        let shadow = String::from_utf8_lossy(&ns.read_file("/etc/shadow")?).into_owned();
        let line = shadow
            .lines()
            .find(|l| l.starts_with(&format!("{user}:")))
            .unwrap_or_default();
        if line.contains(&format!("$6${UNIX_SALT}$")) {
            return Err(HarnessError::Setup(format!(
                "chauthtok of {user} succeeded but pam_unix did not rewrite its hash"
            )));
        }
    }
    Ok(out)
}

/// Waits until the PAM responder's public socket exists.
pub fn wait_for_socket(ns: &Namespace) -> Result<()> {
    ns.wait_for_path(PAM_SOCKET, Duration::from_secs(30))
        .map_err(|e| HarnessError::Setup(format!("{PAM_SOCKET}: {e} (is sssd_pam installed?)")))
}

/// Prepares `ns` for Kerberos: /etc/krb5.conf pointing at `kdc` (and `kadmind` for
/// kpasswd), the credential-cache directory [`CCACHE_DIR`] (mode 1777) and, when `keytab`
/// is set, /etc/krb5.keytab holding `host/localhost` (for `krb5_validate`; the principal
/// must exist).
pub fn setup_krb5(
    ns: &Namespace,
    kdc: &Kdc,
    kadmind: Option<&Kadmind>,
    keytab: bool,
) -> Result<()> {
    let conf = match kadmind {
        Some(k) => kdc.krb5_conf_text_with(k),
        None => kdc.krb5_conf_text(),
    };
    ns.write_file("/etc/krb5.conf", conf.as_bytes(), 0o644)?;
    prepare_ccache_dir(ns)?;
    if keytab {
        let tmp = tempfile::tempdir()
            .map_err(|e| HarnessError::io("create temporary directory", "/tmp", e))?;
        let kt = tmp.path().join("krb5.keytab");
        kdc.ktadd("host/localhost", &kt, true)?;
        let data = std::fs::read(&kt).map_err(|e| HarnessError::io("read", &kt, e))?;
        ns.write_file("/etc/krb5.keytab", &data, 0o600)?;
    }
    Ok(())
}

/// Creates [`CCACHE_DIR`] with mode 1777 inside `ns`.
pub fn prepare_ccache_dir(ns: &Namespace) -> Result<()> {
    ns.run_ok(&["install", "-d", "-m", "1777", CCACHE_DIR])
        .map(|_| ())
}

/// The KDC password every test principal gets: `Kerberos<uid>` (LDAP has `Password<uid>`).
pub fn krb5_password(uid: u32) -> String {
    format!("Kerberos{uid}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_map_to_codes() {
        assert_eq!(
            code_of_message("Authentication failure"),
            Some(code::AUTH_ERR)
        );
        assert_eq!(
            code_of_message("User not known to the underlying authentication module"),
            Some(code::USER_UNKNOWN)
        );
        assert_eq!(
            code_of_message("Permission denied"),
            Some(code::PERM_DENIED)
        );
        assert_eq!(code_of_message("no such text"), None);
    }

    #[test]
    fn stack_covers_every_group() {
        let s = stack("domains=LDAP");
        assert_eq!(s.lines().count(), 4);
        assert!(s.contains("password required pam_sss.so domains=LDAP\n"));
    }
}
