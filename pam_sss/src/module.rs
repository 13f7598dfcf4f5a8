//! The module's behaviour for each PAM entry point, in plain Rust over [`PamHandler`].

use std::path::PathBuf;

use sss_proto::Command;
use sss_proto::pam::{AuthTok, PamRequest, authtok, decode_reply};
use zeroize::Zeroizing;

use crate::client::{ClientConfig, ClientError};
use crate::handler::{Item, Level, PamHandler, Secret, Tok};
use crate::options::{Options, flag};
use crate::pam::{self, code};
use crate::response;

/// Module data set when authentication reported an expired password.
pub const PWEXP_DATA: &str = "pam_sss:password_expired_flag";

/// Which PAM entry point is running.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Task {
    /// pam_sm_authenticate.
    Authenticate,
    /// pam_sm_setcred.
    SetCred,
    /// pam_sm_acct_mgmt.
    AcctMgmt,
    /// pam_sm_open_session.
    OpenSession,
    /// pam_sm_close_session.
    CloseSession,
    /// pam_sm_chauthtok.
    ChAuthTok,
}

/// Facts about the calling process the core needs.
#[derive(Debug, Clone)]
pub struct Context {
    /// How to reach the responder.
    pub client: ClientConfig,
    /// Real uid of the caller (root skips the old-password prompt on password change).
    pub uid: u32,
    /// Process id sent as CLI_PID.
    pub pid: u32,
    /// SSSD configuration directory (for `customize/<domain>/pam_sss_pw_reset_message.*`).
    pub conf_dir: PathBuf,
    /// File whose presence asks for a PREAUTH request before prompting.
    pub preauth_indicator: PathBuf,
}

/// SSSD's configuration directory.
pub const CONF_DIR: &str = "/etc/sssd";
/// Created by the backend when pre-authentication is available.
pub const PREAUTH_INDICATOR: &str = "/var/lib/sss/pubconf/pam_preauth_available";

impl Context {
    /// The context of a real PAM call in this process.
    pub fn from_process() -> Context {
        let (uid, _) = crate::sys::real_ids();
        Context {
            client: ClientConfig::from_env(),
            uid,
            pid: crate::sys::getpid(),
            conf_dir: PathBuf::from(CONF_DIR),
            preauth_indicator: PathBuf::from(PREAUTH_INDICATOR),
        }
    }
}

/// Request fields gathered from the PAM handle once per call.
struct Items {
    service: String,
    user: String,
    tty: String,
    ruser: String,
    rhost: String,
}

fn text(h: &mut dyn PamHandler, item: Item) -> Result<String, i32> {
    Ok(h.item(item)?
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default())
}

fn get_items(h: &mut dyn PamHandler, o: &Options) -> Result<Items, i32> {
    let service = text(h, Item::Service)?;
    let user = match h.item(Item::User) {
        Ok(Some(u)) => String::from_utf8(u).map_err(|_| code::USER_UNKNOWN)?,
        Ok(None) if o.has(flag::ALLOW_MISSING_NAME) => String::new(),
        Err(code::PERM_DENIED) if o.has(flag::ALLOW_MISSING_NAME) => String::new(),
        Ok(None) => return Err(code::BAD_ITEM),
        Err(e) => return Err(e),
    };
    if user == "root" {
        return Err(code::USER_UNKNOWN);
    }
    Ok(Items {
        service,
        user,
        tty: text(h, Item::Tty)?,
        ruser: text(h, Item::Ruser)?,
        rhost: text(h, Item::Rhost)?,
    })
}

fn ignore(o: &Options, status: i32) -> i32 {
    match status {
        code::USER_UNKNOWN if o.has(flag::IGNORE_UNKNOWN_USER) => code::IGNORE,
        code::AUTHINFO_UNAVAIL if o.has(flag::IGNORE_AUTHINFO_UNAVAIL) => code::IGNORE,
        s => s,
    }
}

fn password(bytes: &[u8]) -> AuthTok {
    AuthTok {
        kind: authtok::PASSWORD,
        data: bytes.to_vec(),
    }
}

/// The stacked token, or an empty password when there is none.
fn stacked(h: &mut dyn PamHandler, tok: Tok) -> Result<AuthTok, i32> {
    let t = h.authtok(tok)?;
    Ok(password(t.as_ref().map(Secret::bytes).unwrap_or_default()))
}

/// A prompted answer as a token: no answer is an empty token.
fn answered(ans: Option<Secret>) -> AuthTok {
    match ans {
        Some(a) => password(a.bytes()),
        None => AuthTok {
            kind: authtok::EMPTY,
            data: Vec::new(),
        },
    }
}

/// Runs `task` to completion and returns the PAM status for the caller.
pub fn run(
    h: &mut dyn PamHandler,
    task: Task,
    pam_flags: i32,
    args: &[String],
    cx: &Context,
) -> i32 {
    let mut o = Options::parse(args, h);
    // A misconfigured domains= restricts nothing safely: fail everything.
    if o.domains.as_deref() == Some("") {
        return code::SYSTEM_ERR;
    }
    let items = match get_items(h, &o) {
        Ok(i) => i,
        Err(e) => return ignore(&o, e),
    };
    let mut retries = o.retries;
    loop {
        let mut req = PamRequest {
            user: Some(items.user.clone()),
            service: Some(items.service.clone()),
            tty: Some(items.tty.clone()),
            ruser: Some(items.ruser.clone()),
            rhost: Some(items.rhost.clone()),
            requested_domains: o.domains.clone(),
            cli_pid: Some(cx.pid),
            flags: Some(o.flags),
            ..PamRequest::default()
        };
        let cmd = match task {
            Task::Authenticate => {
                if wants_preauth(h, &o, cx) {
                    // Only the items matter; the password is asked for regardless.
                    let _ = send_and_receive(h, cx, Command::PamPreAuth, &req, &items, o.quiet);
                }
                req.authtok = Some(match auth_token(h, &o) {
                    Ok(t) => t,
                    Err(e) => return e,
                });
                Command::PamAuthenticate
            }
            Task::ChAuthTok if pam_flags & pam::PRELIM_CHECK != 0 => {
                req.authtok = match prelim_token(h, &o, cx) {
                    Ok(t) => t,
                    Err(e) => return e,
                };
                Command::PamChAuthTokPrelim
            }
            Task::ChAuthTok => {
                match update_tokens(h, &o) {
                    Ok((old, new)) => {
                        req.authtok = Some(old);
                        req.newauthtok = Some(new);
                    }
                    Err(e) => return e,
                }
                Command::PamChAuthTok
            }
            Task::SetCred => Command::PamSetCred,
            Task::AcctMgmt => Command::PamAcctMgmt,
            Task::OpenSession => Command::PamOpenSession,
            Task::CloseSession => Command::PamCloseSession,
        };
        let (status, outcome) = send_and_receive(h, cx, cmd, &req, &items, o.quiet);
        let status = ignore(&o, status);
        let status = after(h, cmd, status, &req, cx, outcome.domain.as_deref());
        let retryable = matches!(cmd, Command::PamAuthenticate | Command::PamChAuthTokPrelim);
        if status == code::SUCCESS || !retryable || retries == 0 {
            return status;
        }
        retries -= 1;
        o.flags &= !flag::USE_FIRST_PASS;
        let _ = h.set_authtok(Tok::AuthTok, None);
        let _ = h.set_authtok(Tok::OldAuthTok, None);
    }
}

/// True when a PREAUTH request should precede the prompt: the backend announced it, no
/// stacked password will be used, and use_first_pass is off.
fn wants_preauth(h: &mut dyn PamHandler, o: &Options, cx: &Context) -> bool {
    if o.has(flag::USE_FIRST_PASS) || !cx.preauth_indicator.exists() {
        return false;
    }
    let stacked = h
        .authtok(Tok::AuthTok)
        .ok()
        .flatten()
        .is_some_and(|t| !t.bytes().is_empty());
    !stacked || o.has(flag::PROMPT_ALWAYS)
}

/// The password for authentication: the stacked one with use_first_pass (or when one is
/// there), else prompted; forward_pass puts a prompted one on the stack.
fn auth_token(h: &mut dyn PamHandler, o: &Options) -> Result<AuthTok, i32> {
    let have = h
        .authtok(Tok::AuthTok)?
        .is_some_and(|t| !t.bytes().is_empty());
    if o.has(flag::USE_FIRST_PASS) || (have && !o.has(flag::PROMPT_ALWAYS)) {
        return stacked(h, Tok::AuthTok);
    }
    let tok = answered(h.prompt_secret("Password: ")?);
    if o.has(flag::FORWARD_PASS) && tok.kind == authtok::PASSWORD {
        let _ = h.set_authtok(Tok::AuthTok, Some(&tok.data));
    }
    Ok(tok)
}

/// The current password for PAM_PRELIM_CHECK: asked (and put on the stack as
/// PAM_OLDAUTHTOK) unless root changes someone's password outside an expiry, or
/// use_first_pass takes the stacked one.
fn prelim_token(h: &mut dyn PamHandler, o: &Options, cx: &Context) -> Result<Option<AuthTok>, i32> {
    if o.has(flag::USE_FIRST_PASS) {
        return Ok(h.authtok(Tok::OldAuthTok)?.map(|t| password(t.bytes())));
    }
    if cx.uid == 0 && !h.has_data(PWEXP_DATA) {
        return Ok(None);
    }
    let tok = answered(h.prompt_secret("Current Password: ")?);
    let stack = (tok.kind == authtok::PASSWORD).then_some(tok.data.as_slice());
    h.set_authtok(Tok::OldAuthTok, stack)?;
    Ok(Some(tok))
}

/// Old and new password for PAM_UPDATE_AUTHTOK: the old one from PAM_OLDAUTHTOK, the new one
/// from PAM_AUTHTOK with use_authtok, else asked twice.
fn update_tokens(h: &mut dyn PamHandler, o: &Options) -> Result<(AuthTok, AuthTok), i32> {
    let old = stacked(h, Tok::OldAuthTok)?;
    if o.has(flag::USE_AUTHTOK) {
        return Ok((old, stacked(h, Tok::AuthTok)?));
    }
    let first = h.prompt_secret("New Password: ")?;
    let again = h.prompt_secret("Reenter new Password: ")?;
    let same = match (&first, &again) {
        (Some(a), Some(b)) => a.bytes() == b.bytes(),
        (None, None) => true,
        _ => false,
    };
    drop(again);
    if !same {
        h.syslog(Level::Notice, "Passwords do not match.");
        if h.error("Passwords do not match").is_err() {
            return Err(code::SYSTEM_ERR);
        }
        return Err(code::CRED_ERR);
    }
    let new = answered(first);
    if o.has(flag::FORWARD_PASS) && new.kind == authtok::PASSWORD {
        let _ = h.set_authtok(Tok::AuthTok, Some(&new.data));
    }
    Ok((old, new))
}

/// Sends one request and evaluates the reply; returns the PAM status and what the items said.
fn send_and_receive(
    h: &mut dyn PamHandler,
    cx: &Context,
    cmd: Command,
    req: &PamRequest,
    items: &Items,
    quiet: bool,
) -> (i32, response::Outcome) {
    let body = Zeroizing::new(sss_proto::pam::encode_request(req));
    let reply = match cx.client.request(cmd, &body) {
        Ok(r) => r,
        Err(ClientError::Missing(_)) if cmd == Command::PamAcctMgmt => {
            // No PAM responder configured: don't deny access on its account.
            return (code::USER_UNKNOWN, response::Outcome::default());
        }
        Err(e) => {
            h.syslog(Level::Err, &format!("Request to sssd failed. {e}"));
            return (code::AUTHINFO_UNAVAIL, response::Outcome::default());
        }
    };
    drop(body);
    if reply.len() < 8 {
        h.syslog(Level::Err, "response from sssd is too short");
        return (code::SYSTEM_ERR, response::Outcome::default());
    }
    let reply = match decode_reply(&reply) {
        Ok(r) => r,
        Err(e) => {
            h.syslog(Level::Err, &format!("malformed response from sssd: {e}"));
            return (code::BUF_ERR, response::Outcome::default());
        }
    };
    let outcome = response::apply(h, &reply);
    let status = reply.status;
    log_result(h, cmd, status, items, cx.uid, quiet);
    (status, outcome)
}

fn log_result(
    h: &mut dyn PamHandler,
    cmd: Command,
    status: i32,
    items: &Items,
    uid: u32,
    quiet: bool,
) {
    let user = items.user.as_str();
    let hide_unknown = quiet && status == code::USER_UNKNOWN;
    let what = match cmd {
        Command::PamAuthenticate => {
            let (level, word) = if status == code::SUCCESS {
                (Level::Info, "success")
            } else {
                (Level::Notice, "failure")
            };
            h.syslog(
                level,
                &format!(
                    "authentication {word}; uid={uid} tty={} ruser={} rhost={} user={user}",
                    items.tty, items.ruser, items.rhost
                ),
            );
            "received for user"
        }
        Command::PamChAuthTokPrelim => "Authentication failed for user",
        Command::PamChAuthTok => "Password change failed for user",
        Command::PamAcctMgmt => "Access denied for user",
        _ => return,
    };
    if status != code::SUCCESS && (cmd == Command::PamChAuthTok || !hide_unknown) {
        h.syslog(
            Level::Notice,
            &format!("{what} {user}: {status} ({})", code::describe(status)),
        );
    }
}

/// Follow-up handling after the reply, per command (SSSD's pam_sss behaviour).
fn after(
    h: &mut dyn PamHandler,
    cmd: Command,
    status: i32,
    req: &PamRequest,
    cx: &Context,
    domain: Option<&str>,
) -> i32 {
    match cmd {
        Command::PamAuthenticate if status == code::NEW_AUTHTOK_REQD => {
            if h.set_data(PWEXP_DATA, &[1]).is_err() {
                return code::BUF_ERR;
            }
            status
        }
        Command::PamAcctMgmt if status == code::SUCCESS && h.has_data(PWEXP_DATA) => {
            let _ = h.info("Password expired. Change your password now.");
            code::NEW_AUTHTOK_REQD
        }
        Command::PamChAuthTok if status != code::SUCCESS && status != code::USER_UNKNOWN => {
            let _ = h.set_authtok(Tok::AuthTok, None);
            let _ = h.set_authtok(Tok::OldAuthTok, None);
            status
        }
        Command::PamChAuthTokPrelim
            if status == code::PERM_DENIED
                && req.authtok.as_ref().is_none_or(|t| t.data.is_empty())
                && cx.uid == 0
                && !h.has_data(PWEXP_DATA) =>
        {
            let msg = crate::reset_msg::message(&cx.conf_dir, domain);
            let _ = h.info(&msg);
            status
        }
        _ => status,
    }
}

#[cfg(test)]
#[path = "module_tests.rs"]
mod tests;
