//! Connecting to the directory: failover over `ldap_uri` then `ldap_backup_uri` (back to a
//! primary after `failover_primary_timeout`), StartTLS, TLS verification policy, the bind,
//! and search-base discovery.

use super::rootdse;
use super::sasl::{GssapiBinder, SaslConfigError};
use super::servers::ServerList;
pub use super::tls::TlsPolicy;
use super::tls::TlsSetup;
use crate::config::LdapOptions;
use ldap3::{Ldap, LdapConnAsync, LdapConnSettings, Scope};
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use thiserror::Error;
use zeroize::Zeroizing;

/// Why no server could be used.
#[derive(Debug, Error)]
pub enum ConnectError {
    /// No `ldap_uri` is configured.
    #[error("no ldap_uri configured")]
    NoUri,
    /// Every server failed; one message per server, in the order tried.
    #[error("no LDAP server reachable: {}", .0.join("; "))]
    AllFailed(Vec<String>),
    /// The server list is only `_srv_` (or `ldap_uri` is unset) and DNS found no server.
    #[error("no LDAP server: {0}")]
    NotDiscovered(String),
}

/// Search bases in effect on a connection.
#[derive(Debug, Clone, PartialEq)]
pub struct Bases {
    /// `ldap_search_base` (configured or discovered): the default of the other bases.
    pub base: String,
    /// Where users are searched.
    pub user: String,
    /// Scope of user searches.
    pub user_scope: Scope,
    /// Extra filter of user searches (from `base?scope?filter`).
    pub user_filter: Option<String>,
    /// Where groups are searched.
    pub group: String,
    /// Scope of group searches.
    pub group_scope: Scope,
    /// Extra filter of group searches.
    pub group_filter: Option<String>,
    /// Where netgroups are searched (`ldap_netgroup_search_base`).
    pub netgroup: SearchBase,
}

/// A search base option in SSSD's `base[?scope?[filter]]` form.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchBase {
    /// The base DN.
    pub dn: String,
    /// `base`, `one`(`level`) or `sub`(`tree`); subtree when empty.
    pub scope: Scope,
    /// An extra filter, when given.
    pub filter: Option<String>,
}

impl SearchBase {
    /// Parses `base[?scope?[filter]]`; only the first base of a list is used, and an unknown
    /// scope is reported and treated as subtree.
    pub fn parse(opt: &str) -> SearchBase {
        let mut parts = opt.split('?');
        let dn = parts.next().unwrap_or("").trim().to_string();
        let scope = match parts
            .next()
            .map(|s| s.trim().to_ascii_lowercase())
            .as_deref()
        {
            None | Some("") | Some("sub") | Some("subtree") => Scope::Subtree,
            Some("one") | Some("onelevel") => Scope::OneLevel,
            Some("base") => Scope::Base,
            Some(other) => {
                tracing::warn!("search base {opt:?}: unknown scope {other:?}, using subtree");
                Scope::Subtree
            }
        };
        let filter = parts
            .next()
            .map(str::trim)
            .filter(|f| !f.is_empty())
            .map(|f| {
                if f.starts_with('(') {
                    f.to_string()
                } else {
                    format!("({f})")
                }
            });
        if parts.next().is_some() {
            tracing::warn!("search base {opt:?}: only the first base is used");
        }
        SearchBase { dn, scope, filter }
    }
}

/// An established, bound connection.
#[derive(Clone)]
pub struct Connection {
    /// The operation handle (cheap to clone; operations run concurrently).
    pub ldap: Ldap,
    /// The server's URI.
    pub uri: String,
    /// Search bases (configured or discovered).
    pub bases: Bases,
    /// Distinguishes successive connections.
    pub id: u64,
}

/// How the identity connection binds.
#[derive(Debug)]
enum BindMode {
    /// Simple bind as `ldap_default_bind_dn` (anonymous without it).
    Simple,
    /// SASL GSSAPI (`ldap_sasl_mech = GSSAPI`).
    Gssapi(Arc<GssapiBinder>),
    /// The SASL configuration is unusable: every connection fails with this.
    Invalid(SaslConfigError),
}

/// Connects to the configured servers in order, starting with the last one that worked;
/// backups only when no primary answers.
pub struct Connector {
    opts: Arc<LdapOptions>,
    authtok: Option<Zeroizing<String>>,
    /// Primaries (`ldap_uri`) then backups (`ldap_backup_uri`), `_srv_` expanded.
    servers: ServerList,
    /// Index in the servers last expanded of the one tried first.
    preferred: AtomicUsize,
    next_id: AtomicU64,
    bind: BindMode,
    /// Since when the primaries are known not to answer (while a backup is in use).
    primaries_down_since: Mutex<Option<Instant>>,
    /// Whether a refused StartTLS was already logged as an error.
    starttls_reported: std::sync::atomic::AtomicBool,
}

/// The order in which servers are tried: `primaries` primaries then the backups up to
/// `total`, starting with `preferred` within its kind. When `preferred` is a backup, the
/// backups come first unless `primaries_due` (time to try the primaries again).
pub fn attempt_order(
    primaries: usize,
    total: usize,
    preferred: usize,
    primaries_due: bool,
) -> Vec<usize> {
    let rotated = |from: usize, to: usize, start: usize| -> Vec<usize> {
        let n = to - from;
        let offset = if (from..to).contains(&start) {
            start - from
        } else {
            0
        };
        (0..n).map(|k| from + (offset + k) % n).collect()
    };
    let primary = rotated(0, primaries, preferred);
    let backup = rotated(primaries, total, preferred);
    if preferred < primaries || primaries_due {
        primary.into_iter().chain(backup).collect()
    } else {
        backup.into_iter().chain(primary).collect()
    }
}

impl Connector {
    /// A connector for `opts`; the bind password is moved out of `opts` into zeroizing storage.
    pub fn new(mut opts: LdapOptions) -> (Connector, Arc<LdapOptions>) {
        let authtok = opts.default_authtok.take().map(Zeroizing::new);
        let servers = ServerList::new(&opts);
        let opts = Arc::new(opts);
        let c = Connector {
            opts: opts.clone(),
            authtok,
            servers,
            preferred: AtomicUsize::new(0),
            next_id: AtomicU64::new(1),
            bind: BindMode::Simple,
            primaries_down_since: Mutex::new(None),
            starttls_reported: std::sync::atomic::AtomicBool::new(false),
        };
        (c, opts)
    }

    /// Binds with SASL GSSAPI when `sasl` holds a binder (`ldap_sasl_mech = GSSAPI`); keeps
    /// the simple bind when it holds `None`; an invalid SASL configuration makes every
    /// connection attempt fail with that configuration error.
    pub fn with_sasl(mut self, sasl: Result<Option<GssapiBinder>, SaslConfigError>) -> Connector {
        self.bind = match sasl {
            Ok(None) => BindMode::Simple,
            Ok(Some(b)) => BindMode::Gssapi(Arc::new(b)),
            Err(e) => BindMode::Invalid(e),
        };
        self
    }

    /// Index in [`LdapOptions::servers`] of the server tried first (the last one that
    /// worked).
    pub fn preferred(&self) -> usize {
        self.preferred.load(Ordering::Relaxed)
    }

    fn down_since(&self) -> std::sync::MutexGuard<'_, Option<Instant>> {
        self.primaries_down_since
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    fn primary_retry_period(&self) -> Duration {
        Duration::from_secs(u64::from(self.opts.failover_primary_timeout.max(1)))
    }

    /// True (once per `failover_primary_timeout`) when a backup server is in use and the
    /// primaries are due to be tried again; the caller then calls
    /// [`Connector::connect_primary`].
    pub fn take_primary_retry(&self) -> bool {
        if self.preferred() < self.servers.primaries_now() {
            return false;
        }
        let mut since = self.down_since();
        match *since {
            Some(t) if t.elapsed() < self.primary_retry_period() => false,
            _ => {
                *since = Some(Instant::now());
                true
            }
        }
    }

    /// Whether server `uri` failed within the last [`super::servers::RETRY_AFTER`].
    pub fn failed_lately(&self, uri: &str) -> bool {
        self.servers.failed_lately(uri)
    }

    /// The servers as last expanded (primaries then backups); what a user bind tries.
    pub fn current_servers(&self) -> Vec<String> {
        self.servers.current()
    }

    /// Tries the servers once in [`attempt_order`], skipping those that failed within the
    /// last [`super::servers::RETRY_AFTER`] unless every one did; the first that connects,
    /// negotiates TLS as configured and binds wins and becomes preferred.
    pub async fn connect(&self) -> Result<Connection, ConnectError> {
        let (servers, primaries) = self.expanded().await?;
        let due = {
            let since = self.down_since();
            since.is_none_or(|t| t.elapsed() >= self.primary_retry_period())
        };
        let order = attempt_order(primaries, servers.len(), self.preferred(), due);
        let order = self.servers.skip_recently_failed(&servers, order);
        let res = self.connect_in(&servers, primaries, &order).await;
        if res.is_err() {
            // Perhaps DNS now names other servers: ask again next time.
            self.servers.forget_discovery();
        }
        res
    }

    /// Tries only the primary servers (`ldap_uri`), in order.
    pub async fn connect_primary(&self) -> Result<Connection, ConnectError> {
        let (servers, primaries) = self.expanded().await?;
        let order: Vec<usize> = (0..primaries).collect();
        self.connect_in(&servers, primaries, &order).await
    }

    /// Connects to `uri` alone (bound and with search bases as any connection), outside the
    /// failover list: the Global Catalog of the DC in use.
    pub async fn connect_to(&self, uri: &str) -> Result<Connection, String> {
        self.connect_one(uri).await
    }

    /// The expanded server list and its number of primaries; the preferred index follows
    /// its server when the list changed.
    async fn expanded(&self) -> Result<(Vec<String>, usize), ConnectError> {
        let before = self.servers.current();
        let (servers, primaries) = self.servers.expand().await?;
        if before != servers {
            let old = before.get(self.preferred());
            let index = old
                .and_then(|u| servers.iter().position(|s| s == u))
                .unwrap_or(0);
            self.preferred.store(index, Ordering::Relaxed);
        }
        Ok((servers, primaries))
    }

    async fn connect_in(
        &self,
        servers: &[String],
        primaries: usize,
        order: &[usize],
    ) -> Result<Connection, ConnectError> {
        if order.is_empty() {
            return Err(ConnectError::NoUri);
        }
        let mut errors = Vec::new();
        for &i in order {
            let uri = &servers[i];
            match self.connect_one(uri).await {
                Ok(c) => {
                    self.servers.succeeded(uri);
                    self.preferred.store(i, Ordering::Relaxed);
                    let mut since = self.down_since();
                    if i < primaries {
                        *since = None;
                        tracing::info!("connected to LDAP server {uri}");
                    } else {
                        if since.is_none() || order.first().is_some_and(|&f| f < primaries) {
                            *since = Some(Instant::now());
                        }
                        tracing::warn!(
                            "connected to backup LDAP server {uri}; the primary servers are \
                             tried again every {} s",
                            self.primary_retry_period().as_secs()
                        );
                    }
                    return Ok(c);
                }
                Err(e) => {
                    self.servers.failed(uri);
                    tracing::warn!("LDAP server {uri}: {e}");
                    errors.push(format!("{uri}: {e}"));
                }
            }
        }
        Err(ConnectError::AllFailed(errors))
    }

    async fn connect_one(&self, uri: &str) -> Result<Connection, String> {
        check_uri(uri)?;
        if let BindMode::Invalid(e) = &self.bind {
            return Err(e.to_string());
        }
        let o = &self.opts;
        let timeout = Duration::from_secs(u64::from(o.network_timeout.max(1)));
        let settings = self.settings(uri, timeout).await?;
        let starttls = settings.starttls();
        let (conn, mut ldap) = LdapConnAsync::with_settings(settings, uri)
            .await
            .map_err(|e| self.describe_connect_error(uri, starttls, e))?;
        ldap3::drive!(conn);
        let op_timeout = Duration::from_secs(u64::from(o.opt_timeout.max(1)));
        if let BindMode::Gssapi(b) = &self.bind {
            b.bind(&ldap, uri, op_timeout)
                .await
                .map_err(|e| e.to_string())?;
        } else if let Some(dn) = &o.default_bind_dn {
            let pw = self.authtok.as_ref().map(|p| p.as_str()).unwrap_or("");
            let res = tokio::time::timeout(op_timeout, ldap.simple_bind(dn, pw))
                .await
                .map_err(|_| format!("bind as {dn:?} timed out"))?
                .map_err(|e| format!("bind as {dn:?}: {e}"))?;
            if res.rc != 0 {
                return Err(format!(
                    "bind as {dn:?} refused: rc={} {}",
                    res.rc, res.text
                ));
            }
        }
        let base = match &o.search_base {
            Some(b) => SearchBase::parse(b).dn,
            None => rootdse::discover_base(&ldap, uri, op_timeout)
                .await
                .map_err(|e| e.to_string())?,
        };
        let user = SearchBase::parse(o.user_search_base.as_deref().unwrap_or(&base));
        let group = SearchBase::parse(o.group_search_base.as_deref().unwrap_or(&base));
        let bases = Bases {
            base: base.clone(),
            user: user.dn,
            user_scope: user.scope,
            user_filter: user.filter,
            group: group.dn,
            group_scope: group.scope,
            group_filter: group.filter,
            netgroup: SearchBase::parse(o.netgroup.search_base.as_deref().unwrap_or(&base)),
        };
        Ok(Connection {
            ldap,
            uri: uri.to_string(),
            bases,
            id: self.next_id.fetch_add(1, Ordering::Relaxed),
        })
    }

    /// The text of a failed connection to `uri`. A refused StartTLS (`starttls` asked)
    /// is logged once as an error naming `ldap_id_use_start_tls` and the ways out.
    fn describe_connect_error(&self, uri: &str, starttls: bool, e: ldap3::LdapError) -> String {
        let Some(text) = starttls_refusal(uri, starttls, &e) else {
            return e.to_string();
        };
        if !self.starttls_reported.swap(true, Ordering::Relaxed) {
            tracing::error!("{text}");
        }
        text
    }

    async fn settings(&self, uri: &str, timeout: Duration) -> Result<LdapConnSettings, String> {
        tls_settings(&self.opts, uri, timeout).await
    }
}

/// Connection settings for `uri` under `opts`: timeout, StartTLS on `ldap://` when
/// `ldap_id_use_start_tls`, and the certificate policy.
async fn tls_settings(
    o: &LdapOptions,
    uri: &str,
    timeout: Duration,
) -> Result<LdapConnSettings, String> {
    tls_settings_with(o, uri, timeout, o.id_use_start_tls).await
}

/// [`tls_settings`] with StartTLS on `ldap://` decided by `starttls`. The TLS files are only
/// read when the connection uses TLS (`ldaps://`, or StartTLS on `ldap://`); `ldapi://`
/// (a local UNIX socket) never does.
async fn tls_settings_with(
    o: &LdapOptions,
    uri: &str,
    timeout: Duration,
    starttls: bool,
) -> Result<LdapConnSettings, String> {
    let lower = uri.to_ascii_lowercase();
    let plain = lower.starts_with("ldap://");
    let tls = lower.starts_with("ldaps://") || (plain && starttls);
    let mut s = LdapConnSettings::new()
        .set_conn_timeout(timeout)
        .set_starttls(plain && starttls);
    if tls {
        let setup = TlsSetup::new(o);
        s = s.set_config(setup.client_config().await.map_err(|e| e.to_string())?);
    }
    Ok(s)
}

/// A fresh, unbound connection for one authentication (never the shared identity one).
pub struct AuthConnection {
    /// The operation handle; unbind it when done.
    pub ldap: Ldap,
    /// The server's URI.
    pub uri: String,
    /// Whether the traffic is encrypted (`ldaps://`, or StartTLS succeeded).
    pub encrypted: bool,
}

/// Opens a new connection for a user bind, trying `uris` (the identity connection's servers:
/// `ldap_uri` then `ldap_backup_uri`, `_srv_` expanded) in order starting at index `start`,
/// with the certificate settings of the identity connection. As SSSD, an
/// `ldap://` server is always asked for StartTLS, whatever `ldap_id_use_start_tls` says,
/// unless `insecure` (`ldap_auth_disable_tls_never_use_in_production`). No bind is done.
pub async fn connect_for_auth(
    opts: &LdapOptions,
    uris: &[String],
    start: usize,
    insecure: bool,
) -> Result<AuthConnection, ConnectError> {
    if uris.is_empty() {
        return Err(ConnectError::NoUri);
    }
    let timeout = Duration::from_secs(u64::from(opts.network_timeout.max(1)));
    let mut errors = Vec::new();
    for k in 0..uris.len() {
        let uri = &uris[(start + k) % uris.len()];
        let attempt = async {
            check_uri(uri)?;
            let settings = tls_settings_with(opts, uri, timeout, !insecure).await?;
            let (conn, ldap) = LdapConnAsync::with_settings(settings, uri)
                .await
                .map_err(|e| e.to_string())?;
            ldap3::drive!(conn);
            Ok::<_, String>(ldap)
        };
        match attempt.await {
            Ok(ldap) => {
                let lower = uri.to_ascii_lowercase();
                // A UNIX socket never leaves the host: as confidential as TLS.
                let encrypted =
                    lower.starts_with("ldaps://") || lower.starts_with("ldapi://") || !insecure;
                return Ok(AuthConnection {
                    ldap,
                    uri: uri.to_string(),
                    encrypted,
                });
            }
            Err(e) => {
                tracing::warn!("LDAP server {uri} (authentication connection): {e}");
                errors.push(format!("{uri}: {e}"));
            }
        }
    }
    Err(ConnectError::AllFailed(errors))
}

/// When `e` is the server's refusal of StartTLS (asked when `starttls`), the message that
/// names `ldap_id_use_start_tls` and the ways out; `None` for other failures.
pub fn starttls_refusal(uri: &str, starttls: bool, e: &ldap3::LdapError) -> Option<String> {
    let ldap3::LdapError::LdapResult { result } = e else {
        return None;
    };
    if !starttls || result.rc == 0 {
        return None;
    }
    Some(format!(
        "{uri} refused StartTLS (rc={} {}), which ldap_id_use_start_tls = true (the default) \
         requires: configure TLS on the server, use an ldaps:// URI, or set \
         ldap_id_use_start_tls = false",
        result.rc,
        result.text.trim()
    ))
}

/// Rejects URIs ldap3 cannot use (it panics on some host-less forms). An `ldapi://` URI
/// needs the socket path, percent-encoded, as its host (`ldapi://%2Frun%2Fslapd%2Fldapi`).
pub fn check_uri(uri: &str) -> Result<(), String> {
    let lower = uri.to_ascii_lowercase();
    if let Some(rest) = lower.strip_prefix("ldapi://") {
        let path = rest.split(['/', '?']).next().unwrap_or("");
        if !path.starts_with("%2f") {
            return Err(format!(
                "malformed ldap_uri {uri:?}: an ldapi:// URI needs the socket path, \
                 percent-encoded (ldapi://%2Frun%2Fslapd%2Fldapi)"
            ));
        }
        if path.contains(':') {
            return Err(format!(
                "malformed ldap_uri {uri:?}: a port in an ldapi:// URI"
            ));
        }
        return Ok(());
    }
    let rest = lower
        .strip_prefix("ldap://")
        .or_else(|| lower.strip_prefix("ldaps://"))
        .ok_or_else(|| {
            format!("malformed ldap_uri {uri:?}: expected ldap://, ldaps:// or ldapi://")
        })?;
    let host = rest.split(['/', '?']).next().unwrap_or("");
    let host = host.rsplit_once('@').map_or(host, |(_, h)| h);
    if host.is_empty() || host.starts_with(':') {
        return Err(format!("malformed ldap_uri {uri:?}: no host"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::ldap::test_options;

    #[test]
    fn search_bases_parse_scope_and_filter() {
        let b = SearchBase::parse(" dc=x ");
        assert_eq!(
            (b.dn.as_str(), b.scope, b.filter),
            ("dc=x", Scope::Subtree, None)
        );
        let b = SearchBase::parse("ou=a,dc=x?onelevel?uid=a*");
        assert_eq!(b.dn, "ou=a,dc=x");
        assert_eq!(b.scope, Scope::OneLevel);
        assert_eq!(b.filter.as_deref(), Some("(uid=a*)"));
        let b = SearchBase::parse("ou=a,dc=x?base?");
        assert_eq!((b.scope, b.filter), (Scope::Base, None));
        assert_eq!(
            SearchBase::parse("dc=x?bogus?(a=b)?dc=y?sub?").scope,
            Scope::Subtree
        );
    }

    #[test]
    fn uris_are_validated() {
        assert!(check_uri("ldap://127.0.0.1:389").is_ok());
        assert!(check_uri("LDAPS://ldap.example.com/").is_ok());
        assert!(check_uri("ldap:///").is_err());
        assert!(check_uri("ldap://:389").is_err());
        assert!(check_uri("ldapi:///run/slapd").is_err());
        assert!(check_uri("ldapi://").is_err());
        assert!(check_uri("ldapi://%2Frun%2Fslapd%2Fldapi").is_ok());
        assert!(check_uri("LDAPI://%2frun%2Fldapi/").is_ok());
        assert!(check_uri("127.0.0.1").is_err());
    }

    #[test]
    fn authtok_is_moved_out_of_options() {
        let mut o = test_options();
        o.default_authtok = Some("secret".into());
        let (c, shared) = Connector::new(o);
        assert_eq!(shared.default_authtok, None);
        assert_eq!(c.authtok.as_deref().map(|s| s.as_str()), Some("secret"));
    }

    #[test]
    fn primaries_come_first_unless_a_backup_is_in_use_and_not_due() {
        // 2 primaries (0, 1) and 2 backups (2, 3).
        assert_eq!(attempt_order(2, 4, 0, false), [0, 1, 2, 3]);
        assert_eq!(attempt_order(2, 4, 1, false), [1, 0, 2, 3]);
        assert_eq!(attempt_order(2, 4, 1, true), [1, 0, 2, 3]);
        assert_eq!(attempt_order(2, 4, 3, false), [3, 2, 0, 1]);
        assert_eq!(attempt_order(2, 4, 3, true), [0, 1, 3, 2]);
        // Only primaries, only backups, nothing.
        assert_eq!(attempt_order(3, 3, 2, false), [2, 0, 1]);
        assert_eq!(attempt_order(0, 2, 1, false), [1, 0]);
        assert_eq!(attempt_order(0, 2, 1, true), [1, 0]);
        assert!(attempt_order(0, 0, 0, true).is_empty());
        // A stale preferred index past the end starts at the first of each kind.
        assert_eq!(attempt_order(1, 2, 7, false), [1, 0]);
    }

    #[tokio::test]
    async fn backups_are_tried_after_the_primaries() {
        let mut o = test_options();
        o.uris = vec!["ldap://127.0.0.1:1".into()];
        o.backup_uris = vec!["ldap://127.0.0.1:2".into()];
        o.id_use_start_tls = false;
        let (c, _) = Connector::new(o);
        match c.connect().await {
            Err(ConnectError::AllFailed(v)) => {
                assert_eq!(v.len(), 2);
                assert!(v[0].starts_with("ldap://127.0.0.1:1"), "{v:?}");
                assert!(v[1].starts_with("ldap://127.0.0.1:2"), "{v:?}");
            }
            Err(e) => panic!("unexpected {e}"),
            Ok(_) => panic!("connected to a closed port"),
        }
        // Not on a backup: no primary retry.
        assert!(!c.take_primary_retry());
    }

    #[tokio::test]
    async fn refused_servers_fail_over_and_report_each() {
        let mut o = test_options();
        o.uris = vec!["ldap://127.0.0.1:1".into(), "ldap://127.0.0.1:2".into()];
        o.id_use_start_tls = false;
        let (c, _) = Connector::new(o);
        match c.connect().await {
            Err(ConnectError::AllFailed(v)) => assert_eq!(v.len(), 2),
            Err(e) => panic!("unexpected {e}"),
            Ok(_) => panic!("connected to a closed port"),
        }
    }
}
