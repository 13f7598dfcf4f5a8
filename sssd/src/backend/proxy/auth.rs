//! PAM requests of a proxy domain: authentication, password change and access go
//! through `proxy_pam_target` as each role's provider says (see [`super::pam_target`]).

use super::ProxyBackend;
use crate::sbus::{PamForward, PamResult};
use sss_proto::Command;
use sss_proto::pam::status;
use sss_proto::proxy::PamOp;

impl ProxyBackend {
    /// Handles one PAM request for a user of this domain.
    pub async fn pam(&self, req: PamForward) -> PamResult {
        let i = &self.inner;
        if let Some(e) = crate::backend::misrouted(&req.domain, &i.domain) {
            tracing::error!("PAM {e}");
            return PamResult::status(status::SYSTEM_ERR);
        }
        let o = &i.opts;
        let target = i.pam_target.as_ref();
        let user = self.short_name(&req.user);
        let res = match Command::from_u32(u32::from(req.cmd)) {
            Some(Command::PamSetCred | Command::PamOpenSession | Command::PamCloseSession) => {
                PamResult::status(status::SUCCESS)
            }
            Some(Command::PamPreAuth) => PamResult::status(status::SUCCESS),
            Some(Command::PamAuthenticate) if o.auth_provider == "proxy" => match target {
                Some(t) => t.authenticate(&req, &user).await,
                None => PamResult::status(status::SYSTEM_ERR),
            },
            Some(Command::PamAcctMgmt) => match o.access_provider.as_str() {
                "permit" => PamResult::status(status::SUCCESS),
                "proxy" => match target {
                    Some(t) => t.simple(&req, PamOp::AcctMgmt, &user).await,
                    None => PamResult::status(status::SYSTEM_ERR),
                },
                _ => PamResult::status(status::PERM_DENIED),
            },
            Some(c @ (Command::PamChAuthTok | Command::PamChAuthTokPrelim))
                if o.chpass_provider == "proxy" =>
            {
                match target {
                    Some(t) => {
                        t.chauthtok(&req, c == Command::PamChAuthTokPrelim, &user)
                            .await
                    }
                    None => PamResult::status(status::SYSTEM_ERR),
                }
            }
            Some(
                Command::PamAuthenticate | Command::PamChAuthTok | Command::PamChAuthTokPrelim,
            ) => PamResult::status(status::MODULE_UNKNOWN),
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
}
