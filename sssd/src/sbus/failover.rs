//! `sssd.DataProvider.Failover` (after SSSD's interface of that name): what a backend tells
//! `sssctl domain-status` about its domain, whether it is online, the server it uses per
//! service (`LDAP`, `KERBEROS`) and the servers it knows. Served by `sssd_be` at `/sssd`.

use super::{Bus, SbusError, client};
use std::sync::Arc;
use std::time::Duration;

/// The interface name.
pub const FAILOVER_INTERFACE: &str = "sssd.DataProvider.Failover";

/// Answers `sssd.DataProvider.Failover` calls.
pub trait FailoverHandler: Send + Sync + 'static {
    /// Whether the backend is online.
    fn is_online(&self) -> bool;
    /// The server `service` (`LDAP` or `KERBEROS`) uses now, empty when none.
    fn active_server(&self, service: &str) -> String;
    /// The servers of `service` in the order they are tried, each followed by a state
    /// (`working`, `not working` for one that failed lately, `not tried`).
    fn list_servers(&self, service: &str) -> Vec<(String, String)>;
}

struct Failover {
    handler: Arc<dyn FailoverHandler>,
}

#[zbus::interface(name = "sssd.DataProvider.Failover")]
impl Failover {
    /// Whether the domain is online.
    #[zbus(name = "IsOnline")]
    fn is_online(&self) -> bool {
        self.handler.is_online()
    }

    /// The server in use for `service`.
    #[zbus(name = "ActiveServer")]
    fn active_server(&self, service: String) -> String {
        self.handler.active_server(&service)
    }

    /// The servers of `service` with their states.
    #[zbus(name = "ListServers")]
    fn list_servers(&self, service: String) -> Vec<(String, String)> {
        self.handler.list_servers(&service)
    }
}

/// Serves the interface at `/sssd` on `bus` (a backend's connection).
pub async fn serve_failover(bus: &Bus, handler: Arc<dyn FailoverHandler>) -> Result<(), SbusError> {
    bus.serve(Failover { handler }).await
}

/// Asks the backend owning `dest` whether it is online.
pub async fn is_online(bus: &Bus, dest: &str, timeout: Duration) -> Result<bool, SbusError> {
    client::call::<_, bool>(bus, dest, FAILOVER_INTERFACE, "IsOnline", &(), timeout).await
}

/// Asks the backend owning `dest` for the server `service` uses.
pub async fn active_server(
    bus: &Bus,
    dest: &str,
    service: &str,
    timeout: Duration,
) -> Result<String, SbusError> {
    client::call::<_, String>(
        bus,
        dest,
        FAILOVER_INTERFACE,
        "ActiveServer",
        &(service,),
        timeout,
    )
    .await
}

/// Asks the backend owning `dest` for the servers of `service`.
pub async fn list_servers(
    bus: &Bus,
    dest: &str,
    service: &str,
    timeout: Duration,
) -> Result<Vec<(String, String)>, SbusError> {
    client::call::<_, Vec<(String, String)>>(
        bus,
        dest,
        FAILOVER_INTERFACE,
        "ListServers",
        &(service,),
        timeout,
    )
    .await
}
