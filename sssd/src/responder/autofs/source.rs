//! Where the autofs responder gets its maps: a per-domain [`AutofsSource`] (reads of the
//! domain's cache plus backend refreshes), so the command logic can be tested against an
//! in-memory fake.

use crate::cache::{Cache, CachedMap};
use crate::model::Cached;
use crate::responder::common::source::{DpStatus, SourceError};
use crate::sbus::{
    AccountRequest, BoxFuture, DP_ERR_OFFLINE, DP_ERR_OK, DP_FAST_REPLY, DataProviderClient,
    EntryType, Filter,
};
use std::sync::Arc;
use std::time::Duration;

/// Reads and refreshes one domain's automount maps.
pub trait AutofsSource: Send + Sync + 'static {
    /// The domain's name.
    fn domain(&self) -> &str;
    /// The cached map `name` with every entry and the map's freshness stamps.
    fn map(&self, name: &str) -> Result<Option<CachedMap>, SourceError>;
    /// The value of `key` in the cached map `map` (inner `None`: map cached, key absent).
    fn entry(&self, map: &str, key: &str) -> Result<Option<Cached<Option<String>>>, SourceError>;
    /// Asks the backend to fetch map `name` (whole) into the cache.
    fn refresh(&self, name: &str) -> BoxFuture<DpStatus>;
}

/// The `getAccountInfo` request that refreshes automount map `map` of `domain`.
pub fn refresh_request(domain: &str, map: &str) -> AccountRequest {
    AccountRequest {
        dp_flags: DP_FAST_REPLY,
        entry_type: EntryType::Autofs,
        filter: Filter::Name(map.to_string()),
        domain: domain.to_string(),
        extra: String::new(),
        cli_id: crate::logging::current_request_id(),
    }
}

/// The production source: a domain's cache plus its backend on the private bus.
pub struct AutofsCacheSource {
    domain: String,
    cache: Arc<Cache>,
    dp: Option<DataProviderClient>,
    timeout: Duration,
}

impl AutofsCacheSource {
    /// Reads `cache`; refreshes through `dp` (None: every refresh is offline) waiting at
    /// most `timeout` for the backend.
    pub fn new(
        domain: &str,
        cache: Arc<Cache>,
        dp: Option<DataProviderClient>,
        timeout: Duration,
    ) -> AutofsCacheSource {
        AutofsCacheSource {
            domain: domain.to_string(),
            cache,
            dp,
            timeout,
        }
    }

    fn err(&self, e: crate::cache::CacheError) -> SourceError {
        SourceError {
            domain: self.domain.clone(),
            message: e.to_string(),
        }
    }
}

impl AutofsSource for AutofsCacheSource {
    fn domain(&self) -> &str {
        &self.domain
    }

    fn map(&self, name: &str) -> Result<Option<CachedMap>, SourceError> {
        self.cache.autofs_map(name).map_err(|e| self.err(e))
    }

    fn entry(&self, map: &str, key: &str) -> Result<Option<Cached<Option<String>>>, SourceError> {
        self.cache.autofs_entry(map, key).map_err(|e| self.err(e))
    }

    fn refresh(&self, name: &str) -> BoxFuture<DpStatus> {
        let req = refresh_request(&self.domain, name);
        let dp = self.dp.clone();
        let timeout = self.timeout;
        Box::pin(async move {
            let Some(dp) = dp else {
                return DpStatus::Offline;
            };
            match dp.get_account_info(&req, timeout).await {
                Ok(r) if r.dp_error == DP_ERR_OK => DpStatus::Ok,
                Ok(r) if r.dp_error == DP_ERR_OFFLINE => DpStatus::Offline,
                Ok(r) => DpStatus::Failed(format!(
                    "backend of {}: dp_error {} error {}: {}",
                    req.domain, r.dp_error, r.error, r.message
                )),
                Err(e) => DpStatus::Failed(e.to_string()),
            }
        })
    }
}
