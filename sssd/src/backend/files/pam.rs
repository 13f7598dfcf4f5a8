//! PAM for a files domain, as SSSD 2.8: the files provider does not check passwords
//! (`auth_provider = files` answers every authentication `PAM_AUTHINFO_UNAVAIL`, so
//! pam_unix, next in the stack, does it), cannot change them, and access is decided by
//! `access_provider` (`permit`, `deny` or `simple`).

use super::FilesBackend;
use super::options::{FilesAccess, FilesAuth};
use crate::sbus::{PamForward, PamResult};
use sss_proto::Command;
use sss_proto::pam::status;

impl FilesBackend {
    /// Handles one PAM request for a user of this domain.
    pub async fn pam(&self, req: PamForward) -> PamResult {
        let i = &self.inner;
        if !req.domain.is_empty() && !req.domain.eq_ignore_ascii_case(&i.domain) {
            tracing::error!(
                "PAM request for domain {:?} sent to the backend of {:?}",
                req.domain,
                i.domain
            );
            return PamResult::status(status::SYSTEM_ERR);
        }
        let st = match Command::from_u32(u32::from(req.cmd)) {
            Some(Command::PamSetCred | Command::PamOpenSession | Command::PamCloseSession) => {
                status::SUCCESS
            }
            Some(Command::PamPreAuth) => status::SUCCESS,
            Some(Command::PamAuthenticate) => match i.opts.auth {
                FilesAuth::Files => status::AUTHINFO_UNAVAIL,
                FilesAuth::None => status::MODULE_UNKNOWN,
            },
            Some(Command::PamChAuthTok | Command::PamChAuthTokPrelim) => status::MODULE_UNKNOWN,
            Some(Command::PamAcctMgmt) => self.acct_mgmt(&req.user).await,
            _ => {
                tracing::error!("unsupported PAM command {:#x}", req.cmd);
                status::SYSTEM_ERR
            }
        };
        tracing::debug!(
            "PAM {:#x} for {}@{}: status {st}",
            req.cmd,
            req.user,
            i.domain
        );
        PamResult::status(st)
    }

    /// `access_provider` for user `name` (as cached).
    async fn acct_mgmt(&self, name: &str) -> i32 {
        let i = &self.inner;
        let short = match name.rsplit_once('@') {
            Some((s, d)) if !s.is_empty() && d.eq_ignore_ascii_case(&i.domain) => s,
            _ => name,
        };
        let short = if i.case_sensitive {
            short.to_string()
        } else {
            short.to_lowercase()
        };
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
