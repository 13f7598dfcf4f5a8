//! The private D-Bus between the monitor, the backends and the responders.
//!
//! The monitor hosts the bus (embedded busd) at `Paths::bus_address()`. Every process
//! connects and owns a well-known name: `sssd.monitor`, `sssd.nss`, `sssd.pam`,
//! `sssd.domain_<escaped name>`. All objects live at `/sssd`.
//!
//! API contract (implementations must keep these signatures):
//! - [`connect`] joins the bus and owns a name;
//! - a backend calls [`serve_data_provider`] with its [`AccountInfoHandler`];
//! - a responder calls [`DataProviderClient::get_account_info`] (NSS, PAM) and
//!   [`DataProviderClient::pam_handler`] (PAM);
//! - every process calls [`serve_service`] with its [`ServiceHandler`] so the monitor can
//!   relay signals (SIGUSR1 → `goOffline`, SIGHUP → `clearNegcache`, ...);
//! - once it serves its interfaces, every child calls [`register_service`] with its domain
//!   name (backends) or responder name (`nss`, `pam`); the monitor starts the responders only
//!   after every backend is ready (owning the bus name also counts, as a fallback);
//! - the NSS responder serves [`MemoryCacheHandler`] ([`serve_memcache`]); backends call
//!   [`memcache::update_initgroups`] and [`memcache::invalidate_group_by_id`] on it;
//! - the monitor hosts the broker ([`BusHost`]), serves `sssd.monitor` ([`serve_monitor`])
//!   and relays signals with [`call_service`].

mod client;
pub mod failover;
mod host;
mod interfaces;
pub mod memcache;
mod p2p;
pub mod pam;

pub use client::{
    ServiceMethod, call_service, get_debug_level, name_has_owner, register_service, set_debug_level,
};
pub use host::{BusHost, BusHostError};
pub use interfaces::{MonitorHandler, serve_monitor};
pub use memcache::{MEMCACHE_INTERFACE, MemoryCacheHandler, serve_memcache};
pub use p2p::{DirectServer, dp_socket_path, serve_data_provider_direct};
pub use pam::{PamForward, PamResult};

use crate::paths::Paths;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use thiserror::Error;

/// Object path of every sssd object on the bus.
pub const OBJECT_PATH: &str = "/sssd";
/// Well-known name of the monitor.
pub const MONITOR_NAME: &str = "sssd.monitor";
/// Well-known name of the NSS responder.
pub const NSS_NAME: &str = "sssd.nss";
/// Well-known name of the PAM responder.
pub const PAM_NAME: &str = "sssd.pam";
/// Interface every process serves (signal relay from the monitor).
pub const SERVICE_INTERFACE: &str = "sssd.service";
/// Interface backends serve.
pub const DATA_PROVIDER_INTERFACE: &str = "sssd.dataprovider";
/// Interface the monitor serves (registration).
pub const MONITOR_INTERFACE: &str = "sssd.monitor";
/// Version the monitor returns from `RegisterService`.
pub const MONITOR_VERSION: u16 = 1;

/// `dp_error`: the request completed (the cache holds the answer, or nothing exists).
pub const DP_ERR_OK: u16 = 0;
/// `dp_error`: the backend is offline; serve what is cached.
pub const DP_ERR_OFFLINE: u16 = 1;
/// `dp_error`: the request timed out.
pub const DP_ERR_TIMEOUT: u16 = 2;
/// `dp_error`: the request failed.
pub const DP_ERR_FATAL: u16 = 3;

/// `dp_flags`: do not wait for a reconnection when offline.
pub const DP_FAST_REPLY: u32 = 1;

/// Bus name of a domain's backend: `sssd.domain_<name>` with every byte that is not
/// `[A-Za-z0-9]` written as `_XX` (lowercase hex), as SSSD escapes object names.
pub fn domain_bus_name(domain: &str) -> String {
    let mut s = String::from("sssd.domain_");
    for b in domain.bytes() {
        if b.is_ascii_alphanumeric() {
            s.push(b as char);
        } else {
            s.push_str(&format!("_{b:02x}"));
        }
    }
    s
}

/// What kind of object a `getAccountInfo` call asks about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u32)]
pub enum EntryType {
    /// A user.
    User = 0x1,
    /// A group.
    Group = 0x2,
    /// A user's group memberships.
    Initgroups = 0x3,
    /// A netgroup (`BE_REQ_NETGROUP`).
    Netgroup = 0x4,
    /// A service from `services` (`BE_REQ_SERVICES`).
    Services = 0x5,
    /// Every sudo rule of the domain (`BE_REQ_SUDO_FULL`).
    SudoFull = 0x6,
    /// The sudo rules of one user (`BE_REQ_SUDO_RULES`).
    SudoRules = 0x7,
    /// A host (`BE_REQ_HOST`): hosts map and SSH host keys.
    Host = 0x8,
    /// An IP network (`BE_REQ_IP_NETWORK`).
    IpNetwork = 0x9,
    /// An automount map with its entries, by name (not an SSSD `BE_REQ_*` value: SSSD 2.8
    /// has a separate `Autofs` D-Bus interface; here it is one more entry type).
    Autofs = 0xA1,
    /// A host's SSH public keys (`hostid_provider`), by name; the alias the client gave
    /// travels in `extra`. Not an SSSD `BE_REQ_*` value: SSSD 2.8 has a separate
    /// `hostHandler` D-Bus method; here it is one more entry type.
    SshHost = 0xA2,
}

impl EntryType {
    /// The entry type for a wire value.
    pub fn from_u32(v: u32) -> Option<EntryType> {
        match v {
            0x1 => Some(EntryType::User),
            0x2 => Some(EntryType::Group),
            0x3 => Some(EntryType::Initgroups),
            0x4 => Some(EntryType::Netgroup),
            0x5 => Some(EntryType::Services),
            0x6 => Some(EntryType::SudoFull),
            0x7 => Some(EntryType::SudoRules),
            0x8 => Some(EntryType::Host),
            0x9 => Some(EntryType::IpNetwork),
            0xA1 => Some(EntryType::Autofs),
            0xA2 => Some(EntryType::SshHost),
            _ => None,
        }
    }
}

/// Which objects a `getAccountInfo` call names.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Filter {
    /// `name=<name>`.
    Name(String),
    /// `idnumber=<id>`.
    IdNumber(u32),
    /// `*`: enumerate everything.
    Enumerate,
}

impl Filter {
    /// The wire form: `name=alice`, `idnumber=1001`, `*`.
    pub fn to_wire(&self) -> String {
        match self {
            Filter::Name(n) => format!("name={n}"),
            Filter::IdNumber(id) => format!("idnumber={id}"),
            Filter::Enumerate => "*".to_string(),
        }
    }

    /// Parses the wire form.
    pub fn parse(s: &str) -> Option<Filter> {
        if s == "*" {
            Some(Filter::Enumerate)
        } else if let Some(n) = s.strip_prefix("name=") {
            (!n.is_empty()).then(|| Filter::Name(n.to_string()))
        } else if let Some(id) = s.strip_prefix("idnumber=") {
            id.parse().ok().map(Filter::IdNumber)
        } else {
            None
        }
    }
}

/// A `getAccountInfo` request.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AccountRequest {
    /// `DP_FAST_REPLY` and friends.
    pub dp_flags: u32,
    /// What to fetch.
    pub entry_type: EntryType,
    /// Which objects.
    pub filter: Filter,
    /// Domain name.
    pub domain: String,
    /// Extra qualifier (unused so far, empty).
    pub extra: String,
    /// Client id, for logs: our responders send the id of the client request that asks
    /// (`[RID#n]` in both processes' lines); 0 when there is none.
    pub cli_id: u32,
}

/// A `getAccountInfo` reply: a status only; the data is in the cache.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DpReply {
    /// `DP_ERR_*`.
    pub dp_error: u16,
    /// errno-style detail (0 on success).
    pub error: u32,
    /// Human-readable detail.
    pub message: String,
}

impl DpReply {
    /// A success reply.
    pub fn ok() -> DpReply {
        DpReply {
            dp_error: DP_ERR_OK,
            error: 0,
            message: "Success".into(),
        }
    }
}

/// A boxed future, as handler traits return them.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// Answers the `sssd.dataprovider` calls in a backend: `getAccountInfo` and `pamHandler`.
pub trait AccountInfoHandler: Send + Sync + 'static {
    /// Fetches the objects, writes them into the cache and returns a status.
    fn get_account_info(&self, req: AccountRequest) -> BoxFuture<DpReply>;

    /// Runs one PAM command (authenticate, access, password change, ...) for a user already
    /// in the cache. The default answers `PAM_MODULE_UNKNOWN` (no PAM support).
    fn pam_handler(&self, req: PamForward) -> BoxFuture<PamResult> {
        let _ = req;
        Box::pin(async { PamResult::status(sss_proto::pam::status::MODULE_UNKNOWN) })
    }

    /// Makes sure what the domain's servers say about the domain itself (an AD flat name)
    /// has been read and recorded in the cache. The default has nothing to learn.
    fn get_domains(&self) -> BoxFuture<DpReply> {
        Box::pin(async { DpReply::ok() })
    }
}

/// Reacts to the `sssd.service` calls the monitor relays from UNIX signals.
pub trait ServiceHandler: Send + Sync + 'static {
    /// SIGUSR1: go offline.
    fn go_offline(&self) {}
    /// SIGUSR2: check whether we can go online now.
    fn reset_offline(&self) {}
    /// SIGHUP: reopen log files.
    fn rotate_logs(&self) {}
    /// SIGHUP (NSS): drop the negative cache.
    fn clear_negcache(&self) {}
    /// SIGHUP (NSS): drop enumeration snapshots.
    fn clear_enum_cache(&self) {}
    /// SIGHUP (NSS): recreate the memory cache if the clear flag exists.
    fn clear_memcache(&self) {}
}

/// Why a bus operation failed.
#[derive(Debug, Error)]
pub enum SbusError {
    /// D-Bus level failure.
    #[error("private bus {address}: {source}")]
    Bus {
        /// The bus address.
        address: String,
        /// The underlying error.
        source: zbus::Error,
    },
    /// The bus did not answer in time.
    #[error("private bus {address}: no answer within {seconds} s")]
    Timeout {
        /// The bus address.
        address: String,
        /// How long we waited.
        seconds: u64,
    },
}

/// A connection to the private bus.
#[derive(Clone)]
pub struct Bus {
    /// The zbus connection.
    pub conn: zbus::Connection,
}

/// Connects to the private bus at `paths` (EXTERNAL authentication, as a normal bus
/// client) and owns the well-known `name`.
pub async fn connect(paths: &Paths, name: &str) -> Result<Bus, SbusError> {
    let address = paths.bus_address();
    let bus_err = |source| SbusError::Bus {
        address: address.clone(),
        source,
    };
    let conn = zbus::connection::Builder::address(address.as_str())
        .build()
        .await
        .map_err(bus_err)?;
    conn.request_name(name).await.map_err(bus_err)?;
    Ok(Bus { conn })
}

/// Serves `sssd.dataprovider` at `/sssd` on `bus`.
pub async fn serve_data_provider(
    bus: &Bus,
    handler: Arc<dyn AccountInfoHandler>,
) -> Result<(), SbusError> {
    bus.serve(interfaces::DataProvider::new(handler)).await
}

/// Serves `sssd.service` at `/sssd` on `bus`. `rotateLogs` also reopens this process's log
/// file (see [`crate::logging::reopen`]) before the handler runs.
pub async fn serve_service(bus: &Bus, handler: Arc<dyn ServiceHandler>) -> Result<(), SbusError> {
    bus.serve(interfaces::Service::new(handler)).await
}

impl Bus {
    /// Exports `iface` at [`OBJECT_PATH`].
    pub(crate) async fn serve<I: zbus::object_server::Interface>(
        &self,
        iface: I,
    ) -> Result<(), SbusError> {
        let name = I::name().to_string();
        let wrap = |source| SbusError::Bus {
            address: format!("object {OBJECT_PATH} interface {name}"),
            source,
        };
        match self.conn.object_server().at(OBJECT_PATH, iface).await {
            Ok(None) => Ok(()),
            Ok(Some(_)) => Err(wrap(zbus::Error::Failure(format!(
                "interface {name} is already served at {OBJECT_PATH}"
            )))),
            Err(e) => Err(wrap(e)),
        }
    }
}

/// Calls a backend's `getAccountInfo`: directly on the backend's own socket when one is
/// configured and present (see [`serve_data_provider_direct`]), over the bus otherwise.
#[derive(Clone)]
pub struct DataProviderClient {
    bus: Bus,
    direct: Option<Arc<p2p::DirectClients>>,
}

impl DataProviderClient {
    /// A client using `bus` only.
    pub fn new(bus: Bus) -> Self {
        DataProviderClient { bus, direct: None }
    }

    /// A client that prefers each backend's direct socket under `paths` (connected on
    /// first use, reopened after a backend restart) and falls back to `bus`.
    pub fn with_direct(bus: Bus, paths: &Paths) -> Self {
        DataProviderClient {
            bus,
            direct: Some(Arc::new(p2p::DirectClients::new(paths.clone()))),
        }
    }

    /// Asks the backend of `req.domain`; `timeout` bounds the wait.
    pub async fn get_account_info(
        &self,
        req: &AccountRequest,
        timeout: std::time::Duration,
    ) -> Result<DpReply, SbusError> {
        let body = (
            req.dp_flags,
            req.entry_type as u32,
            req.filter.to_wire(),
            req.domain.as_str(),
            req.extra.as_str(),
            req.cli_id,
        );
        let (dp_error, error, message): (u16, u32, String) = self
            .call(&req.domain, "getAccountInfo", &body, timeout)
            .await?;
        Ok(DpReply {
            dp_error,
            error,
            message,
        })
    }

    /// Asks the backend of `domain` to read what its servers say about the domain (SSSD's
    /// `getDomains`); `timeout` bounds the wait.
    pub async fn get_domains(
        &self,
        domain: &str,
        timeout: std::time::Duration,
    ) -> Result<DpReply, SbusError> {
        let (dp_error, error, message): (u16, u32, String) =
            self.call(domain, "getDomains", &(domain,), timeout).await?;
        Ok(DpReply {
            dp_error,
            error,
            message,
        })
    }

    /// Forwards a PAM command to the backend of `req.domain` (direct socket first, as
    /// [`DataProviderClient::get_account_info`]); `timeout` bounds the wait. The tokens go
    /// in a memory file passed as a descriptor (see [`pam`]), never in the message.
    pub async fn pam_handler(
        &self,
        req: &PamForward,
        timeout: std::time::Duration,
    ) -> Result<PamResult, SbusError> {
        let tokens =
            pam::tokens_fd(&req.authtok, &req.new_authtok).map_err(|e| SbusError::Bus {
                address: format!("pamHandler to the backend of {}", req.domain),
                source: zbus::Error::Failure(e.to_string()),
            })?;
        let (pam_status, items): pam::PamWireReply = self
            .call(&req.domain, "pamHandler", &req.to_wire(&tokens), timeout)
            .await?;
        Ok(PamResult { pam_status, items })
    }

    /// Calls `sssd.dataprovider.<method>` on the backend of `domain`: on its direct socket
    /// when there is one, else (or when the direct call fails other than by timing out) on
    /// the bus, within what is left of `timeout`. A closed direct connection (backend
    /// restarted) is reopened once.
    async fn call<B, R>(
        &self,
        domain: &str,
        method: &str,
        body: &B,
        timeout: std::time::Duration,
    ) -> Result<R, SbusError>
    where
        B: zbus::export::serde::Serialize + zbus::zvariant::DynamicType,
        R: for<'d> zbus::zvariant::DynamicDeserialize<'d>,
    {
        let started = std::time::Instant::now();
        if let Some(direct) = &self.direct {
            for _ in 0..2 {
                let Some(conn) = direct.get(domain).await else {
                    break;
                };
                match client::call_direct(&conn, method, body, timeout).await {
                    Ok(reply) => return Ok(reply),
                    Err(e @ SbusError::Timeout { .. }) => return Err(e),
                    Err(e) => {
                        tracing::info!("direct {method} to the backend of {domain}: {e}");
                        direct.forget(domain, &conn).await;
                    }
                }
            }
        }
        let left = timeout.saturating_sub(started.elapsed());
        client::call(
            &self.bus,
            &domain_bus_name(domain),
            DATA_PROVIDER_INTERFACE,
            method,
            body,
            left,
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bus_names_are_escaped() {
        assert_eq!(domain_bus_name("LDAP"), "sssd.domain_LDAP");
        assert_eq!(domain_bus_name("example.com"), "sssd.domain_example_2ecom");
    }

    #[test]
    fn filters_round_trip() {
        for f in [
            Filter::Name("alice".into()),
            Filter::IdNumber(7),
            Filter::Enumerate,
        ] {
            assert_eq!(Filter::parse(&f.to_wire()), Some(f));
        }
        assert_eq!(Filter::parse("name="), None);
        assert_eq!(Filter::parse("idnumber=x"), None);
    }
}

#[cfg(test)]
mod tests_bus;
