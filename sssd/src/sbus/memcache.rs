//! `sssd.nss.MemoryCache` (SSSD's `nss_iface`): how backends tell the NSS responder that
//! memory-cache records went stale. Served by `sssd_nss` at `/sssd`; called by `sssd_be`
//! fire-and-forget.

use super::{Bus, NSS_NAME, SbusError, client};
use std::sync::Arc;
use std::time::Duration;

/// The interface name.
pub const MEMCACHE_INTERFACE: &str = "sssd.nss.MemoryCache";

/// Reacts to `sssd.nss.MemoryCache` calls.
pub trait MemoryCacheHandler: Send + Sync + 'static {
    /// The group memberships of `user` (its internal `name@domain` or short name) in
    /// `domain` were refreshed; `groups` are its gids from before the refresh.
    fn update_initgroups(&self, user: &str, domain: &str, groups: &[u32]);
    /// Every passwd record is stale.
    fn invalidate_all_users(&self);
    /// Every group record is stale.
    fn invalidate_all_groups(&self);
    /// Every initgroups record is stale.
    fn invalidate_all_initgroups(&self);
    /// The group record of `gid` is stale.
    fn invalidate_group_by_id(&self, gid: u32);
}

struct MemoryCache {
    handler: Arc<dyn MemoryCacheHandler>,
}

#[zbus::interface(name = "sssd.nss.MemoryCache")]
impl MemoryCache {
    /// A user's group memberships were refreshed (`groups`: the gids before).
    #[zbus(name = "UpdateInitgroups")]
    fn update_initgroups(&self, user: String, domain: String, groups: Vec<u32>) {
        tracing::debug!("UpdateInitgroups {user}@{domain} ({} gids)", groups.len());
        if user.is_empty() || domain.is_empty() {
            tracing::warn!("UpdateInitgroups with an empty user or domain ignored");
            return;
        }
        self.handler.update_initgroups(&user, &domain, &groups);
    }

    /// Drop every passwd record.
    #[zbus(name = "InvalidateAllUsers")]
    fn invalidate_all_users(&self) {
        tracing::debug!("InvalidateAllUsers");
        self.handler.invalidate_all_users();
    }

    /// Drop every group record.
    #[zbus(name = "InvalidateAllGroups")]
    fn invalidate_all_groups(&self) {
        tracing::debug!("InvalidateAllGroups");
        self.handler.invalidate_all_groups();
    }

    /// Drop every initgroups record.
    #[zbus(name = "InvalidateAllInitgroups")]
    fn invalidate_all_initgroups(&self) {
        tracing::debug!("InvalidateAllInitgroups");
        self.handler.invalidate_all_initgroups();
    }

    /// Drop the group record of `gid`.
    #[zbus(name = "InvalidateGroupById")]
    fn invalidate_group_by_id(&self, gid: u32) {
        tracing::debug!("InvalidateGroupById {gid}");
        self.handler.invalidate_group_by_id(gid);
    }
}

/// Serves `sssd.nss.MemoryCache` at `/sssd` on `bus` (the NSS responder's connection).
pub async fn serve_memcache(
    bus: &Bus,
    handler: Arc<dyn MemoryCacheHandler>,
) -> Result<(), SbusError> {
    bus.serve(MemoryCache { handler }).await
}

/// Calls `UpdateInitgroups(user, domain, groups)` on `sssd.nss`, waiting at most
/// `timeout` (an error at once when `sssd.nss` is not on the bus).
pub async fn update_initgroups(
    bus: &Bus,
    user: &str,
    domain: &str,
    groups: &[u32],
    timeout: Duration,
) -> Result<(), SbusError> {
    client::call::<_, ()>(
        bus,
        NSS_NAME,
        MEMCACHE_INTERFACE,
        "UpdateInitgroups",
        &(user, domain, groups),
        timeout,
    )
    .await
}

/// Calls `InvalidateGroupById(gid)` on `sssd.nss`, as [`update_initgroups`].
pub async fn invalidate_group_by_id(
    bus: &Bus,
    gid: u32,
    timeout: Duration,
) -> Result<(), SbusError> {
    client::call::<_, ()>(
        bus,
        NSS_NAME,
        MEMCACHE_INTERFACE,
        "InvalidateGroupById",
        &(gid,),
        timeout,
    )
    .await
}

/// Which `InvalidateAll*` call of `sssd.nss.MemoryCache`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvalidateAll {
    /// `InvalidateAllUsers`.
    Users,
    /// `InvalidateAllGroups`.
    Groups,
    /// `InvalidateAllInitgroups`.
    Initgroups,
}

/// Calls `InvalidateAllUsers`, `InvalidateAllGroups` or `InvalidateAllInitgroups` on
/// `sssd.nss`, as [`update_initgroups`].
pub async fn invalidate_all(
    bus: &Bus,
    what: InvalidateAll,
    timeout: Duration,
) -> Result<(), SbusError> {
    let member = match what {
        InvalidateAll::Users => "InvalidateAllUsers",
        InvalidateAll::Groups => "InvalidateAllGroups",
        InvalidateAll::Initgroups => "InvalidateAllInitgroups",
    };
    client::call::<_, ()>(bus, NSS_NAME, MEMCACHE_INTERFACE, member, &(), timeout).await
}
