//! Kerberos authentication and password change through the `krb5_child` helper.
//!
//! API contract (the backend's PAM dispatch calls [`run_child`]; keep the signature): the
//! backend never calls libkrb5 itself. It runs `krb5_child` (from the libexec directory,
//! `$SSSD_LIBEXEC_DIR` when set), writes the request to its stdin, reads the reply from its
//! stdout, and kills it after `krb5_auth_timeout`. One spare `krb5_child` is kept started
//! and waiting, so a login does not pay for starting the program.

pub mod child;
pub mod discovery;
pub mod ldap_child;
pub mod template;
pub mod tickets;

use std::path::{Path, PathBuf};
use std::time::Duration;

use sss_proto::child::{
    KRB5_TGT_TIMES, Krb5Cmd, Krb5Request, TgtTimes, decode_krb5_reply, encode_krb5_request,
};
use sss_proto::pam::{response, status};
use zeroize::Zeroizing;

use crate::config::Krb5Options;
use template::{TemplateVars, expand};

/// What krb5_child is asked to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Krb5Op {
    /// Get a TGT with the password and store it in the user's ccache.
    Authenticate,
    /// Check the old password before a change (kpasswd service ticket only).
    ChpassPrelim,
    /// Change the password with kpasswd (then get a TGT with the new one).
    Chpass,
    /// Renew the TGT in an existing ccache (no password).
    Renew,
}

/// The user the child works for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Krb5User<'a> {
    /// Login name (as cached).
    pub name: &'a str,
    /// uid the ccache is written as.
    pub uid: u32,
    /// gid the ccache is written as.
    pub gid: u32,
    /// The principal: the entry's krbPrincipalName, else `name@REALM`.
    pub principal: &'a str,
    /// The domain (for logs).
    pub domain: &'a str,
    /// The home directory, for `%h` in `krb5_ccname_template` (None when unknown).
    pub home: Option<&'a str>,
    /// The PAM client's process id, for `%P` (0 when unknown).
    pub pid: u32,
}

/// What the child answered.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Krb5Outcome {
    /// Linux-PAM status: SUCCESS, AUTH_ERR (wrong password), USER_UNKNOWN (no such
    /// principal), AUTHINFO_UNAVAIL (KDC unreachable, child failed or timed out),
    /// NEW_AUTHTOK_REQD (password expired), AUTHTOK_ERR (change refused), ...
    pub pam_status: i32,
    /// Response items for the client: ENV `KRB5CCNAME=...`, USER_INFO (e.g. CHPASS_ERROR).
    pub items: Vec<(u32, Vec<u8>)>,
    /// The ccache written (Authenticate / Chpass success).
    pub ccname: Option<String>,
    /// True when the KDC could not be reached (the caller may treat the domain as offline
    /// for authentication and fall back to cached credentials).
    pub kdc_unreachable: bool,
    /// The times of the TGT written (success only).
    pub tgt: Option<TgtTimes>,
}

/// The `krb5_child` program in the libexec directory (`$SSSD_LIBEXEC_DIR` when set).
pub fn krb5_child_path() -> PathBuf {
    crate::service::paths_from_env().libexec.join("krb5_child")
}

/// Runs krb5_child for `op`; never blocks the caller's thread and never waits longer than
/// `opts.auth_timeout` seconds (plus a short grace to reap the killed child).
pub async fn run_child(
    opts: &Krb5Options,
    user: &Krb5User<'_>,
    op: Krb5Op,
    password: &[u8],
    new_password: &[u8],
) -> Krb5Outcome {
    let program = krb5_child_path();
    run_child_via(&program, true, opts, user, op, password, new_password).await
}

fn unavailable(kdc_unreachable: bool) -> Krb5Outcome {
    Krb5Outcome {
        pam_status: status::AUTHINFO_UNAVAIL,
        kdc_unreachable,
        ..Krb5Outcome::default()
    }
}

fn system_error() -> Krb5Outcome {
    Krb5Outcome {
        pam_status: status::SYSTEM_ERR,
        ..Krb5Outcome::default()
    }
}

/// The realm of a principal (after the last unescaped `@`), else `opts.realm`.
fn realm_of<'a>(principal: &'a str, opts: &'a Krb5Options) -> &'a str {
    match (principal.rsplit_once('@'), opts.realm.as_deref()) {
        (Some((_, r)), _) if !r.is_empty() => r,
        (_, Some(r)) => r,
        _ => "",
    }
}

/// Builds the child's request (the ccache template is expanded here).
pub fn build_request(
    opts: &Krb5Options,
    user: &Krb5User<'_>,
    op: Krb5Op,
    password: &[u8],
    new_password: &[u8],
) -> Result<Krb5Request, template::TemplateError> {
    let realm = realm_of(user.principal, opts);
    let ccname = expand(
        &opts.ccname_template,
        &TemplateVars {
            login: user.name,
            uid: user.uid,
            principal: user.principal,
            realm,
            home: user.home,
            ccachedir: &opts.ccachedir,
            pid: user.pid,
        },
    )?;
    Ok(request_for(opts, user, op, ccname, password, new_password))
}

/// The child's request with `ccname` as given.
fn request_for(
    opts: &Krb5Options,
    user: &Krb5User<'_>,
    op: Krb5Op,
    ccname: String,
    password: &[u8],
    new_password: &[u8],
) -> Krb5Request {
    let realm = realm_of(user.principal, opts);
    Krb5Request {
        cmd: match op {
            Krb5Op::Authenticate => Krb5Cmd::Authenticate,
            Krb5Op::ChpassPrelim => Krb5Cmd::ChpassPrelim,
            Krb5Op::Chpass => Krb5Cmd::Chpass,
            Krb5Op::Renew => Krb5Cmd::Renew,
        },
        uid: user.uid,
        gid: user.gid,
        validate: opts.validate,
        canonicalize: opts.canonicalize,
        enterprise: opts.use_enterprise_principal,
        principal: user.principal.to_string(),
        realm: realm.to_string(),
        ccname,
        keytab: opts.keytab.clone(),
        lifetime: opts.lifetime.clone().unwrap_or_default(),
        renewable_lifetime: opts.renewable_lifetime.clone().unwrap_or_default(),
        kdcs: opts.servers.clone(),
        kpasswd: opts.kpasswd.clone(),
        password: Zeroizing::new(password.to_vec()),
        new_password: Zeroizing::new(new_password.to_vec()),
    }
}

/// Renews the TGT in the ccache `ccname` of `user` through krb5_child (same timeout and
/// outcome as [`run_child`]).
pub async fn renew(opts: &Krb5Options, user: &Krb5User<'_>, ccname: &str) -> Krb5Outcome {
    let req = request_for(opts, user, Krb5Op::Renew, ccname.to_string(), &[], &[]);
    exchange(&krb5_child_path(), true, opts, user, Krb5Op::Renew, req).await
}

/// The ccache name in a `KRB5CCNAME=...` ENV item (NUL-terminated or not).
pub fn ccname_of(kind: u32, data: &[u8]) -> Option<String> {
    if !matches!(
        kind,
        response::PAM_ENV_ITEM | response::ENV_ITEM | response::ALL_ENV_ITEM
    ) {
        return None;
    }
    let data = data.strip_suffix(&[0]).unwrap_or(data);
    std::str::from_utf8(data)
        .ok()?
        .strip_prefix("KRB5CCNAME=")
        .filter(|s| !s.is_empty())
        .map(String::from)
}

/// [`run_child`] with an explicit program path (tests, other layouts), always started
/// for this request (no spare helper).
pub async fn run_child_at(
    program: &Path,
    opts: &Krb5Options,
    user: &Krb5User<'_>,
    op: Krb5Op,
    password: &[u8],
    new_password: &[u8],
) -> Krb5Outcome {
    run_child_via(program, false, opts, user, op, password, new_password).await
}

/// Runs `program` for `op`, through a spare helper started ahead of time when `warm`.
async fn run_child_via(
    program: &Path,
    warm: bool,
    opts: &Krb5Options,
    user: &Krb5User<'_>,
    op: Krb5Op,
    password: &[u8],
    new_password: &[u8],
) -> Krb5Outcome {
    let req = match build_request(opts, user, op, password, new_password) {
        Ok(r) => r,
        Err(e) => {
            tracing::error!("krb5 auth for {}: {e}", user.name);
            return system_error();
        }
    };
    exchange(program, warm, opts, user, op, req).await
}

/// Sends `req` to `program` and reads its outcome.
async fn exchange(
    program: &Path,
    warm: bool,
    opts: &Krb5Options,
    user: &Krb5User<'_>,
    op: Krb5Op,
    req: Krb5Request,
) -> Krb5Outcome {
    let bytes = encode_krb5_request(&req);
    drop(req);
    let timeout = Duration::from_secs(u64::from(opts.auth_timeout.max(1)));
    let ran = if warm {
        child::run_warm(program, &bytes, timeout).await
    } else {
        child::run(program, &bytes, timeout).await
    };
    let out = match ran {
        Ok(out) => out,
        Err(e @ child::ChildError::Timeout { .. }) => {
            tracing::warn!(
                "krb5 auth for {}: {e}; treating the KDC as unreachable",
                user.name
            );
            return unavailable(true);
        }
        Err(e) => {
            tracing::error!("krb5 auth for {}: {e}", user.name);
            return unavailable(false);
        }
    };
    let reply = match decode_krb5_reply(&out) {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(
                "krb5 auth for {}: bad reply from {}: {e}",
                user.name,
                program.display()
            );
            return system_error();
        }
    };
    let ccname = reply.messages.iter().find_map(|(t, d)| ccname_of(*t, d));
    tracing::debug!(
        "krb5_child answered {} for {} ({:?})",
        reply.status,
        user.name,
        op
    );
    // The TGT times are for the backend only, never for the PAM client.
    let (times, items): (Vec<_>, Vec<_>) = reply
        .messages
        .into_iter()
        .partition(|(t, _)| *t == KRB5_TGT_TIMES);
    let tgt = times.iter().find_map(|(_, d)| TgtTimes::from_data(d));
    Krb5Outcome {
        pam_status: reply.status,
        kdc_unreachable: reply.status == status::AUTHINFO_UNAVAIL,
        items,
        ccname,
        tgt,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts() -> Krb5Options {
        Krb5Options {
            servers: vec!["127.0.0.1:88".into()],
            kpasswd: vec![],
            realm: Some("EXAMPLE.COM".into()),
            auth_timeout: 6,
            validate: false,
            keytab: "/etc/krb5.keytab".into(),
            ccachedir: "/tmp".into(),
            ccname_template: "FILE:%d/krb5cc_%U_XXXXXX".into(),
            lifetime: Some("1h".into()),
            renewable_lifetime: None,
            canonicalize: false,
            use_enterprise_principal: false,
            store_password_if_offline: false,
            renew_interval: 0,
        }
    }

    fn user() -> Krb5User<'static> {
        Krb5User {
            name: "alice",
            uid: 1000,
            gid: 100,
            principal: "alice@EXAMPLE.COM",
            domain: "D",
            home: Some("/home/alice"),
            pid: 77,
        }
    }

    #[test]
    fn request_carries_options_and_expanded_ccname() {
        let r = build_request(&opts(), &user(), Krb5Op::Chpass, b"old", b"new")
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.cmd, Krb5Cmd::Chpass);
        assert_eq!(r.ccname, "FILE:/tmp/krb5cc_1000_XXXXXX");
        assert_eq!(r.realm, "EXAMPLE.COM");
        assert_eq!(r.lifetime, "1h");
        assert_eq!(&r.password[..], b"old");
        assert_eq!(&r.new_password[..], b"new");
        assert_eq!(r.kdcs, vec!["127.0.0.1:88".to_string()]);
    }

    #[test]
    fn ccname_items_are_recognised() {
        assert_eq!(
            ccname_of(response::PAM_ENV_ITEM, b"KRB5CCNAME=FILE:/tmp/a\0").as_deref(),
            Some("FILE:/tmp/a")
        );
        assert_eq!(ccname_of(response::USER_INFO, b"KRB5CCNAME=x"), None);
        assert_eq!(ccname_of(response::PAM_ENV_ITEM, b"OTHER=x\0"), None);
    }

    #[tokio::test]
    async fn missing_program_is_unavailable() {
        let out = run_child_at(
            Path::new("/nonexistent/krb5_child"),
            &opts(),
            &user(),
            Krb5Op::Authenticate,
            b"pw",
            b"",
        )
        .await;
        assert_eq!(out.pam_status, status::AUTHINFO_UNAVAIL);
    }

    fn script(dir: &Path, body: &str) -> PathBuf {
        let path = dir.join("child");
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap_or_else(|e| panic!("{e}"));
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
            .unwrap_or_else(|e| panic!("{e}"));
        path
    }

    #[tokio::test]
    async fn crashed_child_is_unavailable_not_unreachable() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let prog = script(dir.path(), "cat >/dev/null; echo dying >&2; kill -KILL $$");
        let out = run_child_at(&prog, &opts(), &user(), Krb5Op::Authenticate, b"pw", b"").await;
        assert_eq!(out.pam_status, status::AUTHINFO_UNAVAIL);
        assert!(!out.kdc_unreachable);
    }

    #[tokio::test]
    async fn request_reaches_the_child_and_reply_comes_back() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let seen = dir.path().join("seen");
        // Replies AUTH_ERR (7) after saving the request it was given.
        let prog = script(
            dir.path(),
            &format!("cat > {}; printf '\\007\\000\\000\\000'", seen.display()),
        );
        let out = run_child_at(&prog, &opts(), &user(), Krb5Op::Authenticate, b"pw", b"").await;
        assert_eq!(out.pam_status, status::AUTH_ERR);
        let got = std::fs::read(&seen).unwrap_or_else(|e| panic!("{e}"));
        let req = sss_proto::child::decode_krb5_request(&got).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(req.principal, "alice@EXAMPLE.COM");
        assert_eq!(&req.password[..], b"pw");
    }

    #[tokio::test]
    async fn garbage_reply_is_a_system_error() {
        let out = run_child_at(
            Path::new("/bin/echo"),
            &opts(),
            &user(),
            Krb5Op::Authenticate,
            b"pw",
            b"",
        )
        .await;
        assert_eq!(out.pam_status, status::SYSTEM_ERR);
    }

    #[tokio::test]
    async fn hung_child_is_killed_on_time() {
        let mut o = opts();
        o.auth_timeout = 1;
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let script = script(dir.path(), "exec sleep 30");
        let start2 = std::time::Instant::now();
        let out = run_child_at(&script, &o, &user(), Krb5Op::Authenticate, b"pw", b"").await;
        assert_eq!(out.pam_status, status::AUTHINFO_UNAVAIL);
        assert!(out.kdc_unreachable);
        assert!(start2.elapsed() < Duration::from_secs(3));
    }
}
