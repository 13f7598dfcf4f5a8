//! The D-Bus interfaces served on the private bus: `sssd.dataprovider` (backends),
//! `sssd.service` (every process) and `sssd.monitor` (the monitor).

use super::pam::{PamForward, PamWireReply};
use super::{
    AccountInfoHandler, AccountRequest, Bus, DP_ERR_FATAL, DpReply, EntryType, Filter, SbusError,
    ServiceHandler,
};
use std::os::fd::AsFd;
use std::sync::Arc;

/// errno value sent back for malformed requests.
const EINVAL: u32 = libc::EINVAL as u32;

/// Validates the wire arguments of `getAccountInfo`.
pub(crate) fn parse_account_request(
    dp_flags: u32,
    entry_type: u32,
    filter: &str,
    domain: &str,
    extra: &str,
    cli_id: u32,
) -> Result<AccountRequest, DpReply> {
    let fatal = |message: String| DpReply {
        dp_error: DP_ERR_FATAL,
        error: EINVAL,
        message,
    };
    let entry_type = EntryType::from_u32(entry_type)
        .ok_or_else(|| fatal(format!("unsupported entry type {entry_type:#x}")))?;
    let filter =
        Filter::parse(filter).ok_or_else(|| fatal(format!("invalid filter {filter:?}")))?;
    if domain.is_empty() {
        return Err(fatal("empty domain name".to_string()));
    }
    Ok(AccountRequest {
        dp_flags,
        entry_type,
        filter,
        domain: domain.to_string(),
        extra: extra.to_string(),
        cli_id,
    })
}

/// `sssd.dataprovider` backed by an [`AccountInfoHandler`].
pub(crate) struct DataProvider {
    handler: Arc<dyn AccountInfoHandler>,
}

impl DataProvider {
    pub(crate) fn new(handler: Arc<dyn AccountInfoHandler>) -> Self {
        DataProvider { handler }
    }
}

#[zbus::interface(name = "sssd.dataprovider")]
impl DataProvider {
    /// Fetches objects into the cache; replies with a status only.
    #[zbus(
        name = "getAccountInfo",
        out_args("dp_error", "error", "error_message")
    )]
    async fn get_account_info(
        &self,
        dp_flags: u32,
        entry_type: u32,
        filter: String,
        domain: String,
        extra: String,
        cli_id: u32,
    ) -> (u16, u32, String) {
        let work = async {
            match parse_account_request(dp_flags, entry_type, &filter, &domain, &extra, cli_id) {
                Ok(req) => {
                    tracing::debug!(
                        "getAccountInfo {:?} {} in {} (client {})",
                        req.entry_type,
                        filter,
                        domain,
                        cli_id
                    );
                    self.handler.get_account_info(req).await
                }
                Err(reply) => {
                    tracing::warn!("getAccountInfo rejected: {}", reply.message);
                    reply
                }
            }
        };
        // Our responders send their request id as `cli_id`: the lines for this call carry
        // the `[RID#n]` of the client request that caused it.
        let reply = if cli_id != 0 {
            use tracing::Instrument;
            work.instrument(tracing::error_span!("dp_request", rid = u64::from(cli_id)))
                .await
        } else {
            work.await
        };
        (reply.dp_error, reply.error, reply.message)
    }

    /// Reads what the domain's servers say about the domain itself into the cache (the
    /// flat name of an AD domain); replies with a status only.
    #[zbus(name = "getDomains", out_args("dp_error", "error", "error_message"))]
    async fn get_domains(&self, domain_hint: String) -> (u16, u32, String) {
        tracing::debug!("getDomains {domain_hint}");
        let reply = self.handler.get_domains().await;
        (reply.dp_error, reply.error, reply.message)
    }

    /// Runs one PAM command for one user; replies with a PAM status and response items.
    #[zbus(name = "pamHandler", out_args("pam_status", "items"))]
    #[allow(clippy::too_many_arguments)]
    async fn pam_handler(
        &self,
        cmd: u16,
        domain: String,
        user: String,
        service: String,
        tty: String,
        ruser: String,
        rhost: String,
        authtok_type: u32,
        new_authtok_type: u32,
        tokens: zbus::OwnedFd,
        cli_pid: u32,
        cli_flags: u32,
        cli_id: u32,
    ) -> PamWireReply {
        let (authtok, new_authtok) = match super::pam::read_tokens(tokens.as_fd()) {
            Ok(t) => t,
            Err(e) => {
                tracing::warn!("pamHandler for {user}@{domain} rejected: {e}");
                return (sss_proto::pam::status::SYSTEM_ERR, Vec::new());
            }
        };
        drop(tokens);
        let req = PamForward {
            cmd,
            domain,
            user,
            service,
            tty,
            ruser,
            rhost,
            authtok_type,
            authtok,
            new_authtok_type,
            new_authtok,
            cli_pid,
            cli_flags,
            cli_id,
        };
        if req.domain.is_empty() || req.user.is_empty() {
            tracing::warn!("pamHandler rejected: empty domain or user in {req:?}");
            return (sss_proto::pam::status::SYSTEM_ERR, Vec::new());
        }
        let work = async {
            tracing::debug!("pamHandler {req:?}");
            self.handler.pam_handler(req).await
        };
        // The lines for this call carry the `[RID#n]` of the PAM request that caused it.
        let result = if cli_id != 0 {
            use tracing::Instrument;
            work.instrument(tracing::error_span!("dp_request", rid = u64::from(cli_id)))
                .await
        } else {
            work.await
        };
        (result.pam_status, result.items)
    }
}

/// `sssd.service` backed by a [`ServiceHandler`].
pub(crate) struct Service {
    handler: Arc<dyn ServiceHandler>,
}

impl Service {
    pub(crate) fn new(handler: Arc<dyn ServiceHandler>) -> Self {
        Service { handler }
    }
}

#[zbus::interface(name = "sssd.service")]
impl Service {
    /// Go offline (SIGUSR1 at the monitor).
    #[zbus(name = "goOffline")]
    fn go_offline(&self) {
        tracing::info!("goOffline requested by the monitor");
        self.handler.go_offline();
    }

    /// Try to go online now (SIGUSR2 at the monitor).
    #[zbus(name = "resetOffline")]
    fn reset_offline(&self) {
        tracing::info!("resetOffline requested by the monitor");
        self.handler.reset_offline();
    }

    /// Reopen log files (SIGHUP at the monitor).
    #[zbus(name = "rotateLogs")]
    fn rotate_logs(&self) {
        crate::logging::reopen();
        self.handler.rotate_logs();
    }

    /// Recreate the memory cache if asked to (SIGHUP at the monitor).
    #[zbus(name = "clearMemcache")]
    fn clear_memcache(&self) {
        self.handler.clear_memcache();
    }

    /// Drop the negative cache (SIGHUP at the monitor).
    #[zbus(name = "clearNegcache")]
    fn clear_negcache(&self) {
        self.handler.clear_negcache();
    }

    /// Drop enumeration snapshots (SIGHUP at the monitor).
    #[zbus(name = "clearEnumCache")]
    fn clear_enum_cache(&self) {
        self.handler.clear_enum_cache();
    }

    /// The debug level this process logs at, as a bit mask (`sssctl debug-level`).
    #[zbus(name = "getDebugLevel")]
    fn get_debug_level(&self) -> u32 {
        crate::logging::current_debug_level()
    }

    /// Log at `level` (0-10 or a bit mask) from now on (`sssctl debug-level LEVEL`);
    /// false when this process's logging cannot change.
    #[zbus(name = "setDebugLevel")]
    fn set_debug_level(&self, level: u32) -> bool {
        crate::logging::set_debug_level(level)
    }
}

/// Learns which children have registered with the monitor.
pub trait MonitorHandler: Send + Sync + 'static {
    /// `name` (a domain name for a backend, `nss`/`pam` for a responder) is ready.
    fn service_registered(&self, name: &str, version: u16);
}

/// `sssd.monitor` backed by a [`MonitorHandler`].
struct Monitor {
    handler: Arc<dyn MonitorHandler>,
}

#[zbus::interface(name = "sssd.monitor")]
impl Monitor {
    /// A child announces that it is ready; returns the monitor's version.
    #[zbus(name = "RegisterService")]
    fn register_service(&self, name: String, version: u16, service_type: u16) -> u16 {
        tracing::debug!("RegisterService {name:?} version {version} type {service_type}");
        self.handler.service_registered(&name, version);
        super::MONITOR_VERSION
    }
}

/// The part of `sssd.service` the monitor serves: its own debug level.
struct MonitorLogLevel;

#[zbus::interface(name = "sssd.service")]
impl MonitorLogLevel {
    /// The monitor's current debug level.
    #[zbus(name = "getDebugLevel")]
    fn get_debug_level(&self) -> u32 {
        crate::logging::current_debug_level()
    }

    /// Changes the monitor's debug level; false when its logging cannot change.
    #[zbus(name = "setDebugLevel")]
    fn set_debug_level(&self, level: u32) -> bool {
        crate::logging::set_debug_level(level)
    }
}

/// Serves `sssd.monitor` at `/sssd` on `bus` (the monitor's own connection), and the debug
/// level methods of `sssd.service` so that `sssctl debug-level --sssd` reaches the monitor.
pub async fn serve_monitor(bus: &Bus, handler: Arc<dyn MonitorHandler>) -> Result<(), SbusError> {
    bus.serve(Monitor { handler }).await?;
    bus.serve(MonitorLogLevel).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_requests_are_fatal_einval() {
        for (et, filter, dom) in [(0x77, "name=a", "D"), (1, "bogus", "D"), (1, "name=a", "")] {
            let Err(reply) = parse_account_request(0, et, filter, dom, "", 1) else {
                panic!("accepted {et} {filter} {dom}");
            };
            assert_eq!(reply.dp_error, DP_ERR_FATAL);
            assert_eq!(reply.error, EINVAL);
        }
    }

    #[test]
    fn good_request_parses() {
        let Ok(req) = parse_account_request(1, 3, "idnumber=5", "LDAP", "", 9) else {
            panic!("rejected");
        };
        assert_eq!(req.entry_type, EntryType::Initgroups);
        assert_eq!(req.filter, Filter::IdNumber(5));
        assert_eq!(req.cli_id, 9);
    }
}
