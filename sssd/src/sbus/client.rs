//! Outgoing calls on the private bus: one generic method call with a deadline, and the
//! helpers built on it (registration with the monitor, `sssd.service` relays).

use super::{
    Bus, DATA_PROVIDER_INTERFACE, MONITOR_INTERFACE, MONITOR_NAME, OBJECT_PATH, SERVICE_INTERFACE,
    SbusError,
};
use std::time::Duration;
use zbus::export::serde::Serialize;
use zbus::zvariant::{DynamicDeserialize, DynamicType};

/// How long [`register_service`] waits for the monitor.
const REGISTER_TIMEOUT: Duration = Duration::from_secs(5);

/// Calls `interface.method(body)` on `dest` at `/sssd` and decodes the reply, within
/// `timeout`. The connection is shared: no per-call setup.
pub(crate) async fn call<B, R>(
    bus: &Bus,
    dest: &str,
    interface: &str,
    method: &str,
    body: &B,
    timeout: Duration,
) -> Result<R, SbusError>
where
    B: Serialize + DynamicType,
    R: for<'d> DynamicDeserialize<'d>,
{
    let what = || format!("{dest} {interface}.{method}");
    let wrap = |source| SbusError::Bus {
        address: what(),
        source,
    };
    let call = async {
        invoke(&bus.conn, Some(dest), interface, method, body)
            .await
            .map_err(wrap)
    };
    // The broker silently drops calls to a name nobody owns, so ask in parallel whether the
    // name has an owner, and fail at once when it has none (no extra latency otherwise).
    let owner_gone = async {
        if let Ok(false) = name_has_owner(bus, dest).await {
            return Err(wrap(zbus::Error::Failure(format!(
                "no process owns {dest} (not running or not registered yet)"
            ))));
        }
        std::future::pending().await
    };
    let result = tokio::time::timeout(timeout, async {
        tokio::select! {
            r = call => r,
            r = owner_gone => r,
        }
    })
    .await;
    result.map_err(|_| timed_out(what(), timeout))?
}

/// Calls `sssd.dataprovider.<method>(body)` at `/sssd` on a direct (peer-to-peer)
/// connection to a backend, within `timeout`.
pub(crate) async fn call_direct<B, R>(
    conn: &zbus::Connection,
    method: &str,
    body: &B,
    timeout: Duration,
) -> Result<R, SbusError>
where
    B: Serialize + DynamicType,
    R: for<'d> DynamicDeserialize<'d>,
{
    let what = || format!("direct {DATA_PROVIDER_INTERFACE}.{method}");
    let call = invoke(conn, None, DATA_PROVIDER_INTERFACE, method, body);
    match tokio::time::timeout(timeout, call).await {
        Ok(r) => r.map_err(|source| SbusError::Bus {
            address: what(),
            source,
        }),
        Err(_) => Err(timed_out(what(), timeout)),
    }
}

/// One method call at `/sssd` on `conn` (to `dest`, or the peer of a direct connection),
/// with its reply decoded.
async fn invoke<B, R>(
    conn: &zbus::Connection,
    dest: Option<&str>,
    interface: &str,
    method: &str,
    body: &B,
) -> Result<R, zbus::Error>
where
    B: Serialize + DynamicType,
    R: for<'d> DynamicDeserialize<'d>,
{
    let reply = conn
        .call_method(dest, OBJECT_PATH, Some(interface), method, body)
        .await?;
    reply.body().deserialize::<R>()
}

/// The error for a call to `address` that did not answer within `timeout`.
fn timed_out(address: String, timeout: Duration) -> SbusError {
    SbusError::Timeout {
        address,
        seconds: timeout.as_secs() + u64::from(timeout.subsec_nanos() > 0),
    }
}

/// Whether some process owns `name` on the bus (`NameHasOwner`).
pub async fn name_has_owner(bus: &Bus, name: &str) -> Result<bool, SbusError> {
    let wrap = |source| SbusError::Bus {
        address: format!("org.freedesktop.DBus NameHasOwner({name})"),
        source,
    };
    let reply = bus
        .conn
        .call_method(
            Some("org.freedesktop.DBus"),
            "/org/freedesktop/DBus",
            Some("org.freedesktop.DBus"),
            "NameHasOwner",
            &(name,),
        )
        .await
        .map_err(wrap)?;
    reply.body().deserialize::<bool>().map_err(wrap)
}

/// Tells the monitor that this process is ready; returns the monitor's version.
/// Children call this once they serve their interfaces.
pub async fn register_service(bus: &Bus, name: &str) -> Result<u16, SbusError> {
    call(
        bus,
        MONITOR_NAME,
        MONITOR_INTERFACE,
        "RegisterService",
        &(name, super::MONITOR_VERSION, 0u16),
        REGISTER_TIMEOUT,
    )
    .await
}

/// The `sssd.service` methods the monitor relays from UNIX signals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ServiceMethod {
    /// `goOffline` (SIGUSR1).
    GoOffline,
    /// `resetOffline` (SIGUSR2).
    ResetOffline,
    /// `rotateLogs` (SIGHUP).
    RotateLogs,
    /// `clearMemcache` (SIGHUP, NSS).
    ClearMemcache,
    /// `clearNegcache` (SIGHUP, NSS).
    ClearNegcache,
    /// `clearEnumCache` (SIGHUP, NSS).
    ClearEnumCache,
}

impl ServiceMethod {
    /// The D-Bus member name.
    pub fn member(self) -> &'static str {
        match self {
            ServiceMethod::GoOffline => "goOffline",
            ServiceMethod::ResetOffline => "resetOffline",
            ServiceMethod::RotateLogs => "rotateLogs",
            ServiceMethod::ClearMemcache => "clearMemcache",
            ServiceMethod::ClearNegcache => "clearNegcache",
            ServiceMethod::ClearEnumCache => "clearEnumCache",
        }
    }
}

/// Calls `sssd.service.<method>` on the peer owning `dest` (for example `sssd.nss`).
pub async fn call_service(
    bus: &Bus,
    dest: &str,
    method: ServiceMethod,
    timeout: Duration,
) -> Result<(), SbusError> {
    call::<(), ()>(bus, dest, SERVICE_INTERFACE, method.member(), &(), timeout).await
}

/// Asks the process owning `dest` for its debug level (`sssd.service.getDebugLevel`).
pub async fn get_debug_level(bus: &Bus, dest: &str, timeout: Duration) -> Result<u32, SbusError> {
    call::<(), u32>(bus, dest, SERVICE_INTERFACE, "getDebugLevel", &(), timeout).await
}

/// Sets the debug level of the process owning `dest` (`sssd.service.setDebugLevel`);
/// `Ok(false)` when its logging cannot change.
pub async fn set_debug_level(
    bus: &Bus,
    dest: &str,
    level: u32,
    timeout: Duration,
) -> Result<bool, SbusError> {
    call::<(u32,), bool>(
        bus,
        dest,
        SERVICE_INTERFACE,
        "setDebugLevel",
        &(level,),
        timeout,
    )
    .await
}
