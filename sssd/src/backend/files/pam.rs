//! PAM for a files domain, as SSSD 2.8: the files provider does not check passwords
//! (`auth_provider = files` answers every authentication `PAM_AUTHINFO_UNAVAIL`, so
//! pam_unix, next in the stack, does it), cannot change them, and access is decided by
//! `access_provider` (`permit`, `deny` or `simple`). With `auth_provider`,
//! `chpass_provider` or `access_provider = proxy` that role goes through
//! `proxy_pam_target` (see [`crate::backend::proxy::pam_target`]).

use super::FilesBackend;
use super::options::{FilesAccess, FilesAuth};
use crate::sbus::{PamForward, PamResult};
use sss_proto::Command;
use sss_proto::pam::status;
use sss_proto::proxy::PamOp;

impl FilesBackend {
    /// Handles one PAM request for a user of this domain.
    pub async fn pam(&self, req: PamForward) -> PamResult {
        let i = &self.inner;
        if let Some(e) = crate::backend::misrouted(&req.domain, &i.domain) {
            tracing::error!("PAM {e}");
            return PamResult::status(status::SYSTEM_ERR);
        }
        let target = i.pam_target.as_ref();
        let user = self.short_name(&req.user);
        let res = match Command::from_u32(u32::from(req.cmd)) {
            Some(Command::PamSetCred | Command::PamOpenSession | Command::PamCloseSession) => {
                PamResult::status(status::SUCCESS)
            }
            Some(Command::PamPreAuth) => PamResult::status(status::SUCCESS),
            Some(Command::PamAuthenticate) => match (i.opts.auth, target) {
                (FilesAuth::Files, _) => PamResult::status(status::AUTHINFO_UNAVAIL),
                (FilesAuth::Proxy, Some(t)) => t.authenticate(&req, &user).await,
                (FilesAuth::None | FilesAuth::Proxy, _) => {
                    PamResult::status(status::MODULE_UNKNOWN)
                }
            },
            Some(c @ (Command::PamChAuthTok | Command::PamChAuthTokPrelim)) => {
                match target.filter(|_| i.opts.chpass_proxy) {
                    Some(t) => {
                        t.chauthtok(&req, c == Command::PamChAuthTokPrelim, &user)
                            .await
                    }
                    None => PamResult::status(status::MODULE_UNKNOWN),
                }
            }
            Some(Command::PamAcctMgmt) => match (&i.opts.access, target) {
                (FilesAccess::Proxy, Some(t)) => t.simple(&req, PamOp::AcctMgmt, &user).await,
                _ => PamResult::status(self.acct_mgmt(&user).await),
            },
            _ => {
                tracing::error!("unsupported PAM command {:#x}", req.cmd);
                PamResult::status(status::SYSTEM_ERR)
            }
        };
        tracing::debug!(
            "PAM {:#x} for {}@{}: status {}",
            req.cmd,
            req.user,
            i.domain,
            res.pam_status
        );
        res
    }

    /// `name` without this domain's suffix, lowercased in a case-insensitive domain.
    fn short_name(&self, name: &str) -> String {
        let i = &self.inner;
        let short = match name.rsplit_once('@') {
            Some((s, d)) if !s.is_empty() && d.eq_ignore_ascii_case(&i.domain) => s,
            _ => name,
        };
        if i.case_sensitive {
            short.to_string()
        } else {
            short.to_lowercase()
        }
    }

    /// `access_provider` for user `short` (as cached).
    async fn acct_mgmt(&self, short: &str) -> i32 {
        let i = &self.inner;
        let short = short.to_string();
        let store = i.store.clone();
        let read = tokio::task::spawn_blocking(move || {
            let Some(user) = store.user(&short)? else {
                return Ok(None);
            };
            let groups = store.group_names(&user)?;
            Ok::<_, crate::cache::CacheError>(Some((user, groups.names)))
        })
        .await;
        let (user, groups) = match read {
            Ok(Ok(Some(x))) => x,
            Ok(Ok(None)) => return status::USER_UNKNOWN,
            Ok(Err(e)) => {
                tracing::error!("{e}");
                return status::SYSTEM_ERR;
            }
            Err(e) => {
                tracing::error!("cache reader task failed: {e}");
                return status::SYSTEM_ERR;
            }
        };
        match &i.opts.access {
            FilesAccess::Permit => status::SUCCESS,
            FilesAccess::Deny => status::PERM_DENIED,
            // (no target: refused at start; not reached)
            FilesAccess::Proxy => status::SYSTEM_ERR,
            FilesAccess::Simple(o) => crate::backend::access::simple_in_domain(
                o,
                &i.domain,
                &user.name,
                &groups,
                i.case_sensitive,
            ),
        }
    }
}
