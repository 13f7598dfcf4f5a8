//! Where the PAM responder forwards a resolved request: the domain's backend
//! (`pamHandler`), behind a trait so tests can script the answers.

use crate::sbus::{BoxFuture, DataProviderClient, PamForward, PamResult};
use std::time::Duration;

/// Answers `pamHandler` for a resolved user.
pub trait PamBackend: Send + Sync + 'static {
    /// Forwards `req` to the backend of `req.domain`, waiting at most `timeout`. An
    /// error means the backend could not be asked or did not answer.
    fn pam_handler(
        &self,
        req: PamForward,
        timeout: Duration,
    ) -> BoxFuture<Result<PamResult, String>>;
}

impl PamBackend for DataProviderClient {
    fn pam_handler(
        &self,
        req: PamForward,
        timeout: Duration,
    ) -> BoxFuture<Result<PamResult, String>> {
        let dp = self.clone();
        Box::pin(async move {
            DataProviderClient::pam_handler(&dp, &req, timeout)
                .await
                .map_err(|e| format!("pamHandler to the backend of {}: {e}", req.domain))
        })
    }
}
