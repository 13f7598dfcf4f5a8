//! What `krb5_child` does with one request: authenticate, check the old password, or
//! change it, and write the user's ccache as the user.

use sss_proto::child::{Krb5Cmd, Krb5Reply, Krb5Request, TgtTimes};
use sss_proto::pam::{response, status};

use crate::ccache::{self, CcName};
use crate::krb5::{Context, Krb5Error, Principal, code, parse_deltat};
use crate::profile::PrivateProfile;

/// USER_INFO subtype CHPASS_ERROR.
pub use sss_proto::pam::user_info::CHPASS_ERROR as USER_INFO_CHPASS_ERROR;

/// Maps a libkrb5 error to a Linux-PAM status.
pub fn pam_status_for(err: &Krb5Error) -> i32 {
    match err.code {
        code::PREAUTH_FAILED | code::BAD_INTEGRITY | code::LIB_PREAUTH_FAILED => status::AUTH_ERR,
        // As SSSD 2.8: a principal the KDC does not know is an internal error there, not
        // an unknown user (the user is known: the identity provider found it).
        code::C_PRINCIPAL_UNKNOWN => status::SYSTEM_ERR,
        code::KDC_UNREACH | code::REALM_CANT_RESOLVE => status::AUTHINFO_UNAVAIL,
        c if c == libc::ETIMEDOUT || c == libc::ECONNREFUSED => status::AUTHINFO_UNAVAIL,
        code::KEY_EXP => status::NEW_AUTHTOK_REQD,
        code::CLIENT_REVOKED => status::PERM_DENIED,
        _ => status::SYSTEM_ERR,
    }
}

fn fail(status: i32, msg: impl std::fmt::Display) -> Krb5Reply {
    crate::log::op_failure("run", msg);
    Krb5Reply {
        status,
        messages: Vec::new(),
    }
}

fn krb5_fail(err: &Krb5Error) -> Krb5Reply {
    fail(pam_status_for(err), err)
}

/// `USER_INFO` CHPASS_ERROR payload: subtype, message length (no NUL), message.
pub fn chpass_error_item(message: &str) -> (u32, Vec<u8>) {
    sss_proto::pam::ResponseItem::user_info_message(USER_INFO_CHPASS_ERROR, message).into()
}

/// The message shown when the old password is refused during a change.
pub const OLD_PASSWORD_REFUSED: &str = "Old password not accepted.";

fn old_password_fail(err: &Krb5Error) -> Krb5Reply {
    let mut reply = krb5_fail(err);
    if reply.status == status::AUTH_ERR {
        reply.messages.push(chpass_error_item(OLD_PASSWORD_REFUSED));
    }
    reply
}

/// The `KRB5CCNAME=<name>` item (a NUL-terminated `pam_putenv` item, as SSSD sends it).
pub fn ccname_item(name: &str) -> (u32, Vec<u8>) {
    let mut d = format!("KRB5CCNAME={name}").into_bytes();
    d.push(0);
    (response::PAM_ENV_ITEM, d)
}

/// Runs one request. `profile` (the private krb5.conf, if any) is removed before the
/// privileges are dropped.
pub fn run(req: &Krb5Request, profile: Option<PrivateProfile>) -> Krb5Reply {
    crate::log::trace(
        "run",
        format!(
            "{:?} for principal {} (uid {}) in realm {}",
            req.cmd, req.principal, req.uid, req.realm
        ),
    );
    let ccname = match CcName::parse(&req.ccname) {
        Ok(c) => Some(c),
        Err(_) if req.cmd == Krb5Cmd::ChpassPrelim => None,
        Err(e) => return fail(status::SYSTEM_ERR, e),
    };
    let ctx = match Context::new() {
        Ok(c) => c,
        Err(e) => return krb5_fail(&e),
    };
    if req.cmd == Krb5Cmd::Renew {
        return renew(&ctx, req, profile);
    }
    let parsed = if req.enterprise {
        ctx.parse_enterprise_name(&req.principal)
    } else {
        ctx.parse_name(&req.principal)
    };
    let client = match parsed {
        Ok(p) => p,
        Err(e) => return fail(status::USER_UNKNOWN, e),
    };
    match req.cmd {
        Krb5Cmd::Renew => fail(status::SYSTEM_ERR, "renew handled above"),
        Krb5Cmd::Authenticate => authenticate(&ctx, req, &client, &req.password, profile, ccname),
        Krb5Cmd::ChpassPrelim => match changepw_creds(&ctx, &client, &req.password) {
            Ok(_) => Krb5Reply::default(),
            Err(e) => old_password_fail(&e),
        },
        Krb5Cmd::Chpass => {
            let mut creds = match changepw_creds(&ctx, &client, &req.password) {
                Ok(c) => c,
                Err(e) => return old_password_fail(&e),
            };
            match ctx.change_password(&mut creds, &req.new_password) {
                Ok((0, _)) => {}
                Ok((rc, msg)) => {
                    crate::log::op_failure(
                        "change_password",
                        format!("password change refused (result {rc}): {msg}"),
                    );
                    return Krb5Reply {
                        status: status::AUTHTOK_ERR,
                        messages: vec![chpass_error_item(&msg)],
                    };
                }
                Err(e) => {
                    crate::log::op_failure("change_password", &e);
                    let st = match pam_status_for(&e) {
                        status::AUTHINFO_UNAVAIL => status::AUTHINFO_UNAVAIL,
                        _ => status::AUTHTOK_ERR,
                    };
                    return Krb5Reply {
                        status: st,
                        messages: Vec::new(),
                    };
                }
            }
            drop(creds);
            authenticate(&ctx, req, &client, &req.new_password, profile, ccname)
        }
    }
}

/// The [`TgtTimes`] message of `t`.
fn times_item(t: &crate::krb5::ffi::krb5_ticket_times) -> (u32, Vec<u8>) {
    // krb5_timestamp is an unsigned 32-bit time in disguise (valid past 2038).
    let at = |v: i32| i64::from(v as u32);
    TgtTimes {
        start: at(if t.starttime != 0 {
            t.starttime
        } else {
            t.authtime
        }),
        end: at(t.endtime),
        renew_till: at(t.renew_till),
    }
    .to_message()
}

/// SSS_CMD_RENEW: as the user, renews the TGT in the ccache `req.ccname` and writes it
/// back (the ccache's own principal is used).
fn renew(ctx: &Context, req: &Krb5Request, profile: Option<PrivateProfile>) -> Krb5Reply {
    drop(profile);
    if let Err(e) = ccache::become_user(req.uid, req.gid) {
        return fail(status::SYSTEM_ERR, e);
    }
    match ctx.renew(&req.ccname) {
        Ok(times) => Krb5Reply {
            status: status::SUCCESS,
            messages: vec![ccname_item(&req.ccname), times_item(&times)],
        },
        Err(e) => krb5_fail(&e),
    }
}

fn changepw_creds<'c>(
    ctx: &'c Context,
    client: &Principal<'_>,
    password: &[u8],
) -> Result<crate::krb5::Creds<'c>, Krb5Error> {
    let mut opts = ctx.init_opts()?;
    opts.set_changepw();
    ctx.init_creds_password(client, password, Some("kadmin/changepw"), &opts)
}

fn authenticate(
    ctx: &Context,
    req: &Krb5Request,
    client: &Principal<'_>,
    password: &[u8],
    profile: Option<PrivateProfile>,
    ccname: Option<CcName>,
) -> Krb5Reply {
    let Some(ccname) = ccname else {
        return fail(status::SYSTEM_ERR, "no ccache name given");
    };
    let mut opts = match ctx.init_opts() {
        Ok(o) => o,
        Err(e) => return krb5_fail(&e),
    };
    for (value, what, set) in [
        (&req.lifetime, "krb5_lifetime", 0),
        (&req.renewable_lifetime, "krb5_renewable_lifetime", 1),
    ] {
        if value.is_empty() {
            continue;
        }
        match parse_deltat(value) {
            Some(secs) if set == 0 => opts.set_lifetime(secs),
            Some(secs) => opts.set_renew_life(secs),
            None => return fail(status::SYSTEM_ERR, format!("bad {what} {value:?}")),
        }
    }
    opts.set_canonicalize(req.canonicalize);
    let mut creds = match ctx.init_creds_password(client, password, None, &opts) {
        Ok(c) => c,
        Err(e) => return krb5_fail(&e),
    };
    if req.validate {
        let verified = ctx
            .keytab(&req.keytab)
            .and_then(|kt| ctx.verify_creds(&mut creds, &kt));
        if let Err(e) = verified {
            return fail(
                status::SYSTEM_ERR,
                format!("TGT validation with keytab {:?} failed: {e}", req.keytab),
            );
        }
    }
    // Everything below runs as the user; libkrb5 has read its profile already.
    drop(profile);
    if let Err(e) = ccache::become_user(req.uid, req.gid) {
        return fail(status::SYSTEM_ERR, e);
    }
    let name = match ccache::prepare(&ccname) {
        Ok(n) => n,
        Err(e) => return fail(status::SYSTEM_ERR, e),
    };
    if let Err(e) = ctx.store(&name, client, &mut creds) {
        return fail(status::SYSTEM_ERR, e);
    }
    crate::log::trace(
        "authenticate",
        format!("TGT of {} stored in {name}", req.principal),
    );
    Krb5Reply {
        status: status::SUCCESS,
        messages: vec![ccname_item(&name), times_item(&creds.times())],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(code: i32) -> Krb5Error {
        Krb5Error {
            what: String::new(),
            code,
            message: String::new(),
        }
    }

    #[test]
    fn errors_map_to_pam_codes() {
        assert_eq!(pam_status_for(&err(code::PREAUTH_FAILED)), status::AUTH_ERR);
        assert_eq!(pam_status_for(&err(code::BAD_INTEGRITY)), status::AUTH_ERR);
        assert_eq!(
            pam_status_for(&err(code::C_PRINCIPAL_UNKNOWN)),
            status::SYSTEM_ERR
        );
        assert_eq!(
            pam_status_for(&err(code::KDC_UNREACH)),
            status::AUTHINFO_UNAVAIL
        );
        assert_eq!(
            pam_status_for(&err(code::KEY_EXP)),
            status::NEW_AUTHTOK_REQD
        );
        assert_eq!(pam_status_for(&err(12345)), status::SYSTEM_ERR);
    }

    #[test]
    fn chpass_error_item_layout() {
        let (t, d) = chpass_error_item("too short");
        assert_eq!(t, response::USER_INFO);
        assert_eq!(&d[0..4], &5u32.to_ne_bytes());
        assert_eq!(&d[4..8], &9u32.to_ne_bytes());
        assert_eq!(&d[8..], b"too short");
        let (t, d) = ccname_item("FILE:/tmp/x");
        assert_eq!(t, response::PAM_ENV_ITEM);
        assert_eq!(d, b"KRB5CCNAME=FILE:/tmp/x\0");
    }
}
