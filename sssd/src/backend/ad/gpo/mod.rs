//! GPO-based access control (`access_provider = ad`, `ad_gpo_access_control`): the logon
//! rights of the Group Policy Objects that apply to this computer decide whether a user may
//! log in through a PAM service, as SSSD 2.8 evaluates them.
//!
//! Online: the computer object, the scopes above it (OUs, the domain, the site) and their
//! links give the candidate GPOs in SSSD's order; security filtering (each GPO's DACL
//! against the user's, its groups', the computer's and Authenticated Users' SIDs) and the
//! Security Settings extension keep the applicable ones; `gpo_child` downloads their
//! templates from sysvol into the GPO cache (again only when `GPT.INI`'s version grew, and
//! not at all within `ad_gpo_cache_timeout`); their `[Privilege Rights]` merge into the
//! resultant settings, which are stored with the user's SIDs for offline decisions.

pub mod cache;
pub mod directory;
pub mod inf;
pub mod links;
pub mod rights;
pub mod security_descriptor;
pub mod sysvol;

use std::path::PathBuf;

use thiserror::Error;

use crate::backend::ldap::MapCtx;
use crate::backend::ldap::connection::Connection;
use crate::backend::ldap::idmap::Sid;
use crate::backend::ldap::search::SearchError;
use crate::config::ad_gpo::{GpoOptions, LogonRight};
use cache::{CachedGpo, GpoCache, GpoState};
use rights::Resultant;

/// The Security Settings client-side extension, the only one evaluated.
pub const SECURITY_CSE: &str = "{827D319E-6EAC-11D2-A4EA-00C04F79F83A}";
/// Authenticated Users, which every logged-in user is.
pub const AUTHENTICATED_USERS: &str = "S-1-5-11";

/// Why a GPO evaluation failed (in enforcing mode the login is refused).
#[derive(Debug, Error)]
pub enum GpoError {
    /// An LDAP search failed.
    #[error(transparent)]
    Search(#[from] SearchError),
    /// A malformed link value.
    #[error(transparent)]
    Link(#[from] links::LinkError),
    /// A policy file that cannot be used.
    #[error(transparent)]
    Inf(#[from] inf::InfError),
    /// The GPO cache failed.
    #[error(transparent)]
    Cache(#[from] cache::CacheError),
    /// The computer object is missing or unusable.
    #[error("GPO target computer: {0}")]
    Computer(String),
    /// The site is unknown.
    #[error("GPO site: {0}")]
    Site(String),
    /// A GPO container lacks an attribute (`ad_gpo_ignore_unreadable = false`).
    #[error(
        "Group Policy Container {dn} is unreadable or lacks {attr} (set ad_gpo_ignore_unreadable = true to skip it)"
    )]
    Unreadable {
        /// The GPO's DN.
        dn: String,
        /// The attribute.
        attr: &'static str,
    },
    /// A GPO's security descriptor cannot be read.
    #[error("GPO {gpo}: {source}")]
    SecurityDescriptor {
        /// The GPO's DN.
        gpo: String,
        /// The parse error.
        source: security_descriptor::SdError,
    },
    /// A GPO's `gPCFileSysPath` cannot be used.
    #[error("GPO {gpo}: unusable gPCFileSysPath {path:?}")]
    BadPath {
        /// The GPO's GUID.
        gpo: String,
        /// The value.
        path: String,
    },
    /// `gpo_child` failed.
    #[error("gpo_child: {0}")]
    Child(String),
    /// A sysvol file could not be read.
    #[error("GPO {gpo}: cannot read {file}: {message}")]
    Sysvol {
        /// The GPO's GUID.
        gpo: String,
        /// The URL.
        file: String,
        /// Why.
        message: String,
    },
    /// The user's SIDs are unknown (offline, never checked online).
    #[error("no SIDs known for {0}")]
    NoSids(String),
}

impl GpoError {
    /// Whether the server could not be reached (the offline rules apply then).
    pub fn is_transport(&self) -> bool {
        matches!(self, GpoError::Search(SearchError::Transport { .. }))
    }
}

/// What one domain's GPO checks need besides the options.
#[derive(Debug, Clone)]
pub struct GpoContext {
    /// The options.
    pub opts: GpoOptions,
    /// The SSSD domain (names the state file).
    pub domain: String,
    /// The GPO cache.
    pub cache: GpoCache,
    /// The machine account's ccache, for `gpo_child`.
    pub ccache: String,
    /// The `gpo_child` program.
    pub child: PathBuf,
}

/// The verdict of the logon right alone when it needs no policy (`ad_gpo_map_permit` /
/// `_deny`).
pub fn fixed_verdict(right: LogonRight) -> Option<bool> {
    match right {
        LogonRight::Permit => Some(true),
        LogonRight::Deny => Some(false),
        _ => None,
    }
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, cache::CacheError> + Send + 'static,
) -> Result<T, GpoError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| GpoError::Child(format!("cache task: {e}")))?
        .map_err(GpoError::from)
}

/// Online evaluation for user `name` (entry `user_dn`) and logon right `right` on `conn`.
/// Returns whether the policy allows the login; stores what offline checks need.
pub async fn check_online(
    ctx: &MapCtx,
    conn: &Connection,
    g: &GpoContext,
    name: &str,
    user_dn: &str,
    right: LogonRight,
) -> Result<bool, GpoError> {
    let computer = directory::computer(ctx, conn, &g.opts.ad_domain, &g.opts.host_account).await?;
    let mut scopes = links::scopes(&computer.dn);
    let site = match &g.opts.site {
        Some(s) => s.clone(),
        None => site_of(conn, &g.opts.ad_domain).await?,
    };
    scopes.push(directory::site_dn(ctx, conn, &site).await?);
    let linked = directory::scope_links(ctx, conn, &scopes).await?;
    let candidates = links::candidates(&linked);
    tracing::debug!("GPO candidates for {}: {candidates:?}", computer.dn);

    let mut user_sids: Vec<String> = directory::user_sids(ctx, conn, user_dn)
        .await?
        .iter()
        .map(Sid::to_string)
        .collect();
    user_sids.push(AUTHENTICATED_USERS.to_string());
    let mut state = {
        let (c, d) = (g.cache.clone(), g.domain.clone());
        blocking(move || c.state(&d)).await?
    };
    state.users.insert(name.to_string(), user_sids.clone());

    let mut gpos = Vec::new();
    let mut all_found = true;
    for dn in &candidates {
        let Some(e) = directory::gpo(conn, dn, ctx.search_timeout()).await? else {
            // SSSD ends the search for GPOs here and treats it as "none apply".
            tracing::warn!("GPO {dn} not found");
            all_found = false;
            break;
        };
        match directory::gpo_entry(&e) {
            Ok(Some(gpo)) => gpos.push(gpo),
            Ok(None) => tracing::info!("GPO {dn} has no gPCFunctionalityVersion: skipped"),
            Err(attr) if g.opts.ignore_unreadable => {
                tracing::info!("GPO {dn} lacks {attr}: skipped (ad_gpo_ignore_unreadable)")
            }
            Err(attr) => {
                return Err(GpoError::Unreadable {
                    dn: dn.clone(),
                    attr,
                });
            }
        }
    }
    if !all_found {
        gpos.clear();
    }
    let client: Vec<Sid> = user_sids
        .iter()
        .filter_map(|s| Sid::parse(s).ok())
        .chain(std::iter::once(computer.sid.clone()))
        .collect();
    let mut applicable = Vec::new();
    for gpo in gpos {
        if gpo.functionality_version != 2 || gpo.flags == 2 {
            continue;
        }
        let sd = security_descriptor::parse(&gpo.security_descriptor).map_err(|source| {
            GpoError::SecurityDescriptor {
                gpo: gpo.dn.clone(),
                source,
            }
        })?;
        if security_descriptor::applies(&sd, &client) {
            applicable.push(gpo);
        } else {
            tracing::debug!("GPO {} does not apply (security filtering)", gpo.dn);
        }
    }
    if applicable.is_empty() {
        tracing::info!("no applicable GPOs for {}", computer.dn);
        state.result = None;
        save(g, state).await?;
        return Ok(!g.opts.implicit_deny);
    }
    applicable.retain(|gpo| gpo.machine_cses.iter().any(|c| c == SECURITY_CSE));
    if applicable.is_empty() {
        tracing::info!("no applicable GPO has Security Settings");
        save(g, state).await?;
        return Ok(!g.opts.implicit_deny);
    }
    let server = sysvol::uri_host(&conn.uri)
        .ok_or_else(|| GpoError::Child(format!("no host in {}", conn.uri)))?;
    let now = crate::backend::ldap::now();
    let mut result = Resultant::default();
    for gpo in &applicable {
        let at = sysvol::sysvol_path(&gpo.guid, &server, &gpo.file_sys_path)?;
        let cached = state.gpos.get(&gpo.guid).copied();
        if cached.is_none_or(|c| c.valid_until < now) {
            let version = sysvol::refresh(
                &g.child,
                &g.ccache,
                &g.cache,
                &gpo.guid,
                &at,
                cached.map(|c| c.version),
            )
            .await?;
            state.gpos.insert(
                gpo.guid.clone(),
                CachedGpo {
                    version,
                    valid_until: now + i64::from(g.opts.cache_timeout),
                },
            );
        }
        let file = format!("{}{}", at.path, sysvol::SECURITY_TEMPLATE);
        let data = {
            let (c, f) = (g.cache.clone(), file.clone());
            blocking(move || c.load(&f)).await?
        };
        if let Some(d) = data {
            let text = inf::decode(&file, &d)?;
            result.merge(&text);
        }
    }
    tracing::debug!("GPO resultant settings: {:?}", result.settings);
    let allowed = rights::allowed(&result, right, &user_sids, g.opts.implicit_deny);
    state.result = Some(result);
    save(g, state).await?;
    Ok(allowed)
}

/// Offline evaluation on the stored resultant settings and the user's stored SIDs.
pub async fn check_offline(
    g: &GpoContext,
    name: &str,
    right: LogonRight,
) -> Result<bool, GpoError> {
    let state = {
        let (c, d) = (g.cache.clone(), g.domain.clone());
        blocking(move || c.state(&d)).await?
    };
    let result = state.result.unwrap_or_default();
    let Some(sids) = state.users.get(name) else {
        // Without lists for this right the user's SIDs do not matter.
        if !rights::has_lists(&result, right) {
            return Ok(rights::allowed(&result, right, &[], g.opts.implicit_deny));
        }
        return Err(GpoError::NoSids(name.to_string()));
    };
    Ok(rights::allowed(&result, right, sids, g.opts.implicit_deny))
}

async fn save(g: &GpoContext, state: GpoState) -> Result<(), GpoError> {
    let (c, d) = (g.cache.clone(), g.domain.clone());
    blocking(move || c.save_state(&d, &state)).await
}

/// The site the DC at `uri` reports for this host (CLDAP ping).
async fn site_of(conn: &Connection, domain: &str) -> Result<String, GpoError> {
    let host = sysvol::uri_host(&conn.uri)
        .ok_or_else(|| GpoError::Site(format!("no host in {}", conn.uri)))?;
    let addrs = tokio::net::lookup_host((host.as_str(), 389))
        .await
        .map_err(|e| GpoError::Site(format!("cannot resolve {host}: {e}")))?;
    let mut last = String::from("no address");
    for addr in addrs {
        match crate::backend::ad::cldap::ping(addr, domain, std::time::Duration::from_secs(5)).await
        {
            Ok(info) => {
                if let Some(site) = info.site() {
                    return Ok(site.to_string());
                }
                last = format!("{addr} reported no site");
            }
            Err(e) => last = e.to_string(),
        }
    }
    Err(GpoError::Site(format!(
        "the site of this host is unknown ({last}); set ad_site"
    )))
}
