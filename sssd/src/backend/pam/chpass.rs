//! SSS_PAM_CHAUTHTOK_PRELIM and SSS_PAM_CHAUTHTOK: password change through LDAP (Password
//! Modify extended operation as the user) or Kerberos (kpasswd through krb5_child).

use super::ldap_auth::{self, BindOutcome};
use super::{PAM_MODULE_UNKNOWN, chpass_error_item, offline_chpass, password};
use crate::backend::Backend;
use crate::backend::krb5::Krb5Op;
use crate::model::User;
use crate::sbus::{PamForward, PamResult};
use sss_proto::pam::status;
use std::time::Instant;

impl Backend {
    /// Password change: `prelim` checks the old password, otherwise the change is made.
    pub(super) async fn chauthtok(&self, req: &PamForward, user: &User, prelim: bool) -> PamResult {
        let i = &self.inner;
        let provider = i.auth.chpass_provider.as_str();
        if provider == "none" {
            return PamResult::status(PAM_MODULE_UNKNOWN);
        }
        let Some(old) = password(req.authtok_type, &req.authtok) else {
            // pam_sss sends no old password when root resets another user's password; as
            // SSSD's LDAP and Kerberos providers, refuse that.
            tracing::warn!(
                "{}: password reset without the old password is not supported",
                user.name
            );
            return PamResult::status(status::PERM_DENIED);
        };
        let new = if prelim {
            None
        } else {
            match password(req.new_authtok_type, &req.new_authtok) {
                Some(n) => Some(n),
                None => {
                    return PamResult {
                        pam_status: status::AUTHTOK_ERR,
                        items: vec![chpass_error_item("The new password is empty")],
                    };
                }
            }
        };
        let res = match provider {
            "krb5" => self.krb5_chpass(user, old, new, req.cli_pid).await,
            _ => self.ldap_chpass(user, old, new).await,
        };
        if res.pam_status == status::SUCCESS
            && let Some(n) = new
        {
            // The new password is cached, and cached_auth_timeout must see an online login
            // with it before it applies again.
            self.remember_password(&user.name, n, false).await;
        }
        res
    }

    async fn ldap_chpass(&self, user: &User, old: &[u8], new: Option<&[u8]>) -> PamResult {
        if user.dn.is_empty() {
            tracing::error!("{}: no DN cached, cannot bind as the user", user.name);
            return PamResult::status(status::AUTH_ERR);
        }
        if self.offline_now() {
            return offline_chpass();
        }
        let ctx = self.bind_ctx();
        let outcome = match new {
            None => ldap_auth::check_password(&ctx, &user.dn, old).await,
            Some(n) => ldap_auth::change_password(&ctx, &user.dn, old, n).await,
        };
        if !matches!(outcome, BindOutcome::Unreachable(_)) {
            self.reached_server();
        }
        match outcome {
            BindOutcome::Ok => PamResult::status(status::SUCCESS),
            BindOutcome::InvalidCredentials => PamResult::status(status::AUTH_ERR),
            BindOutcome::Unreachable(e) => {
                tracing::warn!("password change of {}: {e}; going offline", user.name);
                self.inner.state.mark_offline(Instant::now());
                offline_chpass()
            }
            BindOutcome::Insecure(e) => {
                tracing::error!("password change of {}: {e}", user.name);
                PamResult::status(status::SYSTEM_ERR)
            }
            BindOutcome::Refused(e) => {
                tracing::warn!("password change of {}: {e}", user.name);
                PamResult {
                    pam_status: status::AUTHTOK_ERR,
                    items: vec![chpass_error_item(&e)],
                }
            }
        }
    }

    async fn krb5_chpass(
        &self,
        user: &User,
        old: &[u8],
        new: Option<&[u8]>,
        pid: u32,
    ) -> PamResult {
        let (op, new) = match new {
            None => (Krb5Op::ChpassPrelim, &[][..]),
            Some(n) => (Krb5Op::Chpass, n),
        };
        let Some(out) = self.krb5_run(user, op, old, new, pid).await else {
            return PamResult::status(status::SYSTEM_ERR);
        };
        if out.kdc_unreachable {
            return offline_chpass();
        }
        PamResult {
            pam_status: out.pam_status,
            items: out.items,
        }
    }
}
