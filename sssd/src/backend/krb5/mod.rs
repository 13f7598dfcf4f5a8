//! Kerberos authentication and password change through the `krb5_child` helper.
//!
//! API contract (the backend's PAM dispatch calls [`run_child`]; keep the signature): the
//! backend never calls libkrb5 itself. It spawns `krb5_child` (from the libexec directory,
//! `$SSSD_LIBEXEC_DIR` when set), writes the request to its stdin, reads the reply from its
//! stdout, and kills it after `krb5_auth_timeout`.

use crate::config::Krb5Options;

/// What krb5_child is asked to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Krb5Op {
    /// Get a TGT with the password and store it in the user's ccache.
    Authenticate,
    /// Check the old password before a change (kpasswd service ticket only).
    ChpassPrelim,
    /// Change the password with kpasswd (then get a TGT with the new one).
    Chpass,
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
    /// The domain (for `%d`-style templates and logs).
    pub domain: &'a str,
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
    let _ = (opts, user, op, password, new_password);
    tracing::error!("krb5_child support is not built yet");
    Krb5Outcome {
        pam_status: sss_proto::pam::status::AUTHINFO_UNAVAIL,
        kdc_unreachable: true,
        ..Krb5Outcome::default()
    }
}
