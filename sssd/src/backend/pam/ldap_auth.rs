//! `auth_provider = ldap` and `chpass_provider = ldap`: a simple bind as the user on a new
//! short-lived connection, and the Password Modify extended operation (RFC 3062).

use crate::backend::ldap::connection::{AuthConnection, connect_for_auth};
use crate::config::LdapOptions;
use ldap3::exop::PasswordModify;
use std::time::Duration;

/// LDAP result code `invalidCredentials`.
const INVALID_CREDENTIALS: u32 = 49;

/// How a user bind (or a password change) ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BindOutcome {
    /// The server accepted the password (and the change, for [`change_password`]).
    Ok,
    /// Wrong password, unknown DN, or a password that cannot be sent (empty, not UTF-8).
    InvalidCredentials,
    /// No server could be reached: the domain is offline for authentication.
    Unreachable(String),
    /// The connection is not encrypted and the insecure override is not set.
    Insecure(String),
    /// The server refused for another reason (message for the log and the user).
    Refused(String),
}

/// Options of one user bind.
pub struct BindCtx<'a> {
    /// LDAP options (URIs, TLS, timeouts).
    pub opts: &'a LdapOptions,
    /// The servers to try (`ldap_uri` then `ldap_backup_uri`, `_srv_` expanded).
    pub servers: Vec<String>,
    /// Index in `servers` to try first.
    pub start: usize,
    /// `ldap_auth_disable_tls_never_use_in_production`.
    pub allow_insecure: bool,
    /// `ldap_pwmodify_mode = ldap_modify`: replace `userPassword` with a modify operation
    /// instead of the Password Modify extended operation.
    pub modify_mode: bool,
}

impl BindCtx<'_> {
    fn op_timeout(&self) -> Duration {
        Duration::from_secs(u64::from(self.opts.opt_timeout.max(1)))
    }

    /// Connects and binds as `dn` with `password`; returns the bound connection.
    async fn bind(&self, dn: &str, password: &[u8]) -> Result<AuthConnection, BindOutcome> {
        // An empty simple bind is an anonymous bind: never send one.
        let Ok(pw) = std::str::from_utf8(password) else {
            return Err(BindOutcome::InvalidCredentials);
        };
        if pw.is_empty() || dn.is_empty() {
            return Err(BindOutcome::InvalidCredentials);
        }
        let mut conn = connect_for_auth(self.opts, &self.servers, self.start, self.allow_insecure)
            .await
            .map_err(|e| BindOutcome::Unreachable(e.to_string()))?;
        if !conn.encrypted && !self.allow_insecure {
            let uri = conn.uri.clone();
            close(conn);
            return Err(BindOutcome::Insecure(format!(
                "refusing to send a password to {uri} over an unencrypted connection"
            )));
        }
        let res = tokio::time::timeout(self.op_timeout(), conn.ldap.simple_bind(dn, pw)).await;
        match res {
            Err(_) => {
                let uri = conn.uri.clone();
                close(conn);
                Err(BindOutcome::Unreachable(format!("bind on {uri} timed out")))
            }
            Ok(Err(e)) => {
                let uri = conn.uri.clone();
                close(conn);
                Err(BindOutcome::Unreachable(format!("bind on {uri}: {e}")))
            }
            Ok(Ok(r)) if r.rc == 0 => Ok(conn),
            Ok(Ok(r)) => {
                close(conn);
                if r.rc == INVALID_CREDENTIALS {
                    Err(BindOutcome::InvalidCredentials)
                } else {
                    Err(BindOutcome::Refused(format!(
                        "bind refused: rc={} {}",
                        r.rc, r.text
                    )))
                }
            }
        }
    }
}

/// Unbinds in the background (the answer does not matter).
fn close(mut conn: AuthConnection) {
    tokio::spawn(async move {
        let _ = conn.ldap.unbind().await;
    });
}

/// Checks `password` for `dn` with a simple bind on a new connection.
pub async fn check_password(ctx: &BindCtx<'_>, dn: &str, password: &[u8]) -> BindOutcome {
    match ctx.bind(dn, password).await {
        Ok(conn) => {
            close(conn);
            BindOutcome::Ok
        }
        Err(o) => o,
    }
}

/// Binds as `dn` with `old` and sets `new` with the Password Modify extended operation (or a
/// modify of `userPassword` with `ldap_pwmodify_mode = ldap_modify`).
pub async fn change_password(ctx: &BindCtx<'_>, dn: &str, old: &[u8], new: &[u8]) -> BindOutcome {
    let (Ok(old_s), Ok(new_s)) = (std::str::from_utf8(old), std::str::from_utf8(new)) else {
        return BindOutcome::Refused("the password is not valid UTF-8".into());
    };
    if new_s.is_empty() {
        return BindOutcome::Refused("the new password is empty".into());
    }
    let mut conn = match ctx.bind(dn, old).await {
        Ok(c) => c,
        Err(o) => return o,
    };
    let res = if ctx.modify_mode {
        let values = std::collections::HashSet::from([new_s]);
        let mods = vec![ldap3::Mod::Replace("userPassword", values)];
        tokio::time::timeout(ctx.op_timeout(), conn.ldap.modify(dn, mods)).await
    } else {
        let op = PasswordModify {
            user_id: Some(dn),
            old_pass: Some(old_s),
            new_pass: Some(new_s),
        };
        tokio::time::timeout(ctx.op_timeout(), conn.ldap.extended(op))
            .await
            .map(|r| r.map(|x| x.1))
    };
    let uri = conn.uri.clone();
    close(conn);
    match res {
        Err(_) => BindOutcome::Unreachable(format!("password change on {uri} timed out")),
        Ok(Err(e)) => BindOutcome::Unreachable(format!("password change on {uri}: {e}")),
        Ok(Ok(r)) if r.rc == 0 => BindOutcome::Ok,
        Ok(Ok(r)) => BindOutcome::Refused(if r.text.is_empty() {
            format!("password change refused (rc={})", r.rc)
        } else {
            r.text
        }),
    }
}
