//! The Global Catalog (`ad_enable_gc`, on by default as in SSSD): group lookups go first to
//! the catalog of the DC in use (port 3268, 3269 with `ad_use_ldaps`), which holds the
//! universal groups of the whole forest; what it cannot answer (not found, an error, no
//! catalog reachable) goes to the domain's LDAP connection as without it.
//!
//! As SSSD, the catalog serves domains with `ldap_id_mapping` always, and POSIX domains only
//! when the schema replicates the uid and gid attributes to it (`isMemberOfPartialAttributeSet`),
//! since the catalog returns only replicated attributes.

use crate::backend::ldap::connection::{Connection, Connector};
use crate::backend::ldap::search::{self, SearchSpec};
use crate::backend::ldap::{MapCtx, filter};
use ldap3::Scope;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

/// How long the catalog is left alone after it failed to connect or answer.
pub const RETRY_AFTER: Duration = Duration::from_secs(60);

/// The catalog URI of the DC that `ldap_uri` names: same scheme and host, port 3268
/// (`ldap`) or 3269 (`ldaps`). `None` for a URI of another shape.
pub fn uri_for(ldap_uri: &str) -> Option<String> {
    let (scheme, rest) = ldap_uri.split_once("://")?;
    let port = match scheme.to_ascii_lowercase().as_str() {
        "ldap" => 3268,
        "ldaps" => 3269,
        _ => return None,
    };
    let authority = rest.split('/').next().unwrap_or_default();
    let host = if let Some(v6) = authority.strip_prefix('[') {
        format!("[{}]", v6.split(']').next()?)
    } else {
        authority.split(':').next().unwrap_or_default().to_string()
    };
    (!host.is_empty() && host != "[]").then(|| format!("{scheme}://{host}:{port}"))
}

/// The catalog connection of one domain and what is known about the catalog.
#[derive(Default)]
pub struct GlobalCatalog {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    conn: Option<Connection>,
    /// Until then the catalog is not tried (it failed lately).
    resting_until: Option<Instant>,
    /// Whether the catalog can serve this domain, once checked.
    usable: Option<bool>,
}

impl GlobalCatalog {
    /// The catalog connection next to `ldap` (the domain's connection): reused while open
    /// and to the same DC, else made. `None` while the catalog rests after a failure, when
    /// it cannot serve the domain, or when connecting fails (it then rests).
    pub async fn connection(
        &self,
        connector: &Connector,
        ctx: &MapCtx,
        ldap: &Connection,
    ) -> Option<Connection> {
        let uri = uri_for(&ldap.uri)?;
        let mut st = self.state.lock().await;
        if st.usable == Some(false) || st.resting_until.is_some_and(|t| Instant::now() < t) {
            return None;
        }
        if let Some(c) = st.conn.as_mut()
            && c.uri == uri
            && !c.ldap.is_closed()
        {
            return Some(c.clone());
        }
        if st.usable.is_none() {
            let usable = match serves_domain(ctx, ldap).await {
                Ok(u) => u,
                Err(e) => {
                    tracing::info!("cannot tell whether the Global Catalog has POSIX ids: {e}");
                    st.resting_until = Some(Instant::now() + RETRY_AFTER);
                    return None;
                }
            };
            st.usable = Some(usable);
            if !usable {
                tracing::info!(
                    "the Global Catalog lacks {} or {}: lookups use LDAP only",
                    ctx.opts.user_uid_number,
                    ctx.opts.group_gid_number
                );
                return None;
            }
        }
        match connector.connect_to(&uri).await {
            Ok(c) => {
                tracing::info!("connected to the Global Catalog {uri}");
                st.resting_until = None;
                st.conn = Some(c.clone());
                Some(c)
            }
            Err(e) => {
                tracing::warn!(
                    "Global Catalog {uri}: {e}; using LDAP only for {} s",
                    RETRY_AFTER.as_secs()
                );
                st.conn = None;
                st.resting_until = Some(Instant::now() + RETRY_AFTER);
                None
            }
        }
    }

    /// Records that `conn` failed a search: it is dropped and the catalog rests.
    pub async fn failed(&self, conn: &Connection) {
        let mut st = self.state.lock().await;
        if st.conn.as_ref().is_some_and(|c| c.id == conn.id) {
            st.conn = None;
        }
        st.resting_until = Some(Instant::now() + RETRY_AFTER);
    }
}

/// Whether the catalog can answer for this domain: always with id mapping; else only when
/// the schema (read over `ldap`) replicates both the uid and gid attributes to it.
async fn serves_domain(ctx: &MapCtx, ldap: &Connection) -> Result<bool, search::SearchError> {
    if ctx.opts.id_mapping.is_some() {
        return Ok(true);
    }
    let t = ctx.search_timeout();
    let root = search::search(
        &ldap.ldap,
        &ldap.uri,
        SearchSpec::unpaged(
            "",
            Scope::Base,
            "(objectClass=*)",
            vec!["schemaNamingContext".into()],
            t,
        ),
    )
    .await?;
    let Some(schema) = root.first().and_then(|e| e.first("schemaNamingContext")) else {
        return Ok(false);
    };
    let (uid, gid) = (&ctx.opts.user_uid_number, &ctx.opts.group_gid_number);
    let f = format!(
        "(&(objectClass=attributeSchema)(|{}{})(isMemberOfPartialAttributeSet=TRUE))",
        filter::eq("lDAPDisplayName", uid),
        filter::eq("lDAPDisplayName", gid)
    );
    let found = search::search(
        &ldap.ldap,
        &ldap.uri,
        SearchSpec::unpaged(
            schema,
            Scope::Subtree,
            &f,
            vec!["lDAPDisplayName".into()],
            t,
        ),
    )
    .await?;
    let has = |a: &str| {
        found.iter().any(|e| {
            e.first("lDAPDisplayName")
                .is_some_and(|n| n.eq_ignore_ascii_case(a))
        })
    };
    Ok(has(uid) && has(gid))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_catalog_is_the_same_host_on_the_catalog_port() {
        assert_eq!(
            uri_for("ldap://dc1.corp.example.com").as_deref(),
            Some("ldap://dc1.corp.example.com:3268")
        );
        assert_eq!(
            uri_for("ldap://dc1.corp.example.com:389/").as_deref(),
            Some("ldap://dc1.corp.example.com:3268")
        );
        assert_eq!(
            uri_for("ldaps://10.0.0.1:636").as_deref(),
            Some("ldaps://10.0.0.1:3269")
        );
        assert_eq!(
            uri_for("ldap://[fd00::1]:389").as_deref(),
            Some("ldap://[fd00::1]:3268")
        );
        assert_eq!(uri_for("ldapi://%2Frun%2Fslapd"), None);
        assert_eq!(uri_for("ldap://"), None);
        assert_eq!(uri_for("garbage"), None);
    }
}
