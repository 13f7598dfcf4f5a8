//! Automount maps from LDAP (`autofs_provider = ldap`), as SSSD 2.8's `sdap_async_autofs.c`:
//! the map object is searched under `ldap_autofs_search_base` with
//! `(&(<map name attr>=NAME)(objectclass=<map class>))`, then its entries under the map's DN
//! with `(&(<key attr>=*)(objectclass=<entry class>))`.
//!
//! Defaults follow `ldap_schema`: rfc2307 uses `nisMap`/`nisMapName` and
//! `nisObject`/`cn`/`nisMapEntry`; rfc2307bis (and ipa, ad) `automountMap`/`automountMapName`
//! and `automount`/`automountKey`/`automountInformation`.

use super::connection::{Connection, SearchBase};
use super::search::SearchError;
use super::{MapCtx, filter};
use crate::backend::store::CacheOp;
use crate::cache::{AutofsMap, AutofsOp};
use crate::config::{Config, ConfigError};

/// The `ldap_autofs_*` options of a domain, and `entry_cache_autofs_timeout`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AutofsOptions {
    /// `ldap_autofs_search_base` (default `ldap_search_base`, else the discovered base).
    pub search_base: Option<String>,
    /// `ldap_autofs_map_object_class`.
    pub map_object_class: String,
    /// `ldap_autofs_map_name`.
    pub map_name: String,
    /// `ldap_autofs_entry_object_class`.
    pub entry_object_class: String,
    /// `ldap_autofs_entry_key`.
    pub entry_key: String,
    /// `ldap_autofs_entry_value`.
    pub entry_value: String,
    /// `ldap_autofs_map_master_name` (`auto.master`): refreshing it invalidates every map.
    pub master_name: String,
    /// `entry_cache_autofs_timeout` seconds (default `entry_cache_timeout`, 5400).
    pub timeout: u32,
}

impl AutofsOptions {
    /// SSSD's defaults for the schema (`rfc2307bis` true for rfc2307bis, ipa and ad).
    pub fn defaults(rfc2307bis: bool) -> AutofsOptions {
        let (moc, mname, eoc, key, value) = if rfc2307bis {
            (
                "automountMap",
                "automountMapName",
                "automount",
                "automountKey",
                "automountInformation",
            )
        } else {
            ("nisMap", "nisMapName", "nisObject", "cn", "nisMapEntry")
        };
        AutofsOptions {
            search_base: None,
            map_object_class: moc.into(),
            map_name: mname.into(),
            entry_object_class: eoc.into(),
            entry_key: key.into(),
            entry_value: value.into(),
            master_name: "auto.master".into(),
            timeout: 5400,
        }
    }

    /// Reads the options of `[domain/<domain>]`; `None` when `autofs_provider` (default:
    /// `id_provider`) is not `ldap` (`none` disables automount maps for the domain).
    pub fn from_config(cfg: &Config, domain: &str) -> Result<Option<AutofsOptions>, ConfigError> {
        let s = format!("domain/{domain}");
        let s = s.as_str();
        let explicit = cfg.get(s, "autofs_provider");
        match explicit.or_else(|| cfg.get(s, "id_provider")).unwrap_or("") {
            "ldap" => {}
            _ if explicit.is_none() => return Ok(None),
            "none" => return Ok(None),
            other => {
                return Err(ConfigError::bad_value(
                    s,
                    "autofs_provider",
                    other,
                    "only ldap and none are supported",
                ));
            }
        }
        let bis = match cfg.get(s, "ldap_schema").map(str::to_ascii_lowercase) {
            None => false,
            Some(v) => matches!(v.as_str(), "rfc2307bis" | "ad" | "ipa"),
        };
        let mut o = AutofsOptions::defaults(bis);
        let get = |opt: &str, field: &mut String| {
            if let Some(v) = cfg.get(s, opt).filter(|v| !v.is_empty()) {
                *field = v.to_string();
            }
        };
        get("ldap_autofs_map_object_class", &mut o.map_object_class);
        get("ldap_autofs_map_name", &mut o.map_name);
        get("ldap_autofs_entry_object_class", &mut o.entry_object_class);
        get("ldap_autofs_entry_key", &mut o.entry_key);
        get("ldap_autofs_entry_value", &mut o.entry_value);
        get("ldap_autofs_map_master_name", &mut o.master_name);
        o.search_base = cfg
            .get(s, "ldap_autofs_search_base")
            .or_else(|| cfg.get(s, "ldap_search_base"))
            .filter(|v| !v.is_empty())
            .map(str::to_string);
        let all = cfg.get_int(s, "entry_cache_timeout", 5400)?;
        let t = cfg.get_int(s, "entry_cache_autofs_timeout", all)?;
        o.timeout = u32::try_from(t).map_err(|_| {
            ConfigError::bad_value(
                s,
                "entry_cache_autofs_timeout",
                &t.to_string(),
                "expected a number of seconds",
            )
        })?;
        Ok(Some(o))
    }
}

/// Fetches map `name` with its entries: a `PutMap` when the directory has it (plus
/// `InvalidateAll` first when it is the master map), a `DeleteMap` when it does not.
pub async fn fetch_map(
    ctx: &MapCtx,
    conn: &Connection,
    o: &AutofsOptions,
    name: &str,
    ops: &mut Vec<CacheOp>,
) -> Result<(), SearchError> {
    let base = match &o.search_base {
        Some(b) => SearchBase::parse(b),
        None => SearchBase {
            dn: conn.bases.user.clone(),
            scope: ldap3::Scope::Subtree,
            filter: None,
        },
    };
    let mut f = format!(
        "(&{}(objectclass={}))",
        filter::eq(&o.map_name, name),
        filter::escape(&o.map_object_class)
    );
    if let Some(extra) = &base.filter {
        f = format!("(&{f}{extra})");
    }
    let t = ctx.search_timeout();
    let found = ctx
        .search_with(conn, &base.dn, base.scope, &f, vec![o.map_name.clone()], t)
        .await?;
    // As SSSD: the first map found (one search base).
    let Some(map) = found
        .into_iter()
        .find(|e| e.values(&o.map_name).iter().any(|v| v == name))
    else {
        tracing::debug!("automount map {name:?} not found under {:?}", base.dn);
        ops.push(CacheOp::Autofs(AutofsOp::DeleteMap(name.to_string())));
        return Ok(());
    };
    let mut ef = format!(
        "(&({}=*)(objectclass={}))",
        filter::escape(&o.entry_key),
        filter::escape(&o.entry_object_class)
    );
    if let Some(extra) = &base.filter {
        ef = format!("(&{ef}{extra})");
    }
    let attrs = vec![o.entry_key.clone(), o.entry_value.clone()];
    let entries = ctx
        .search_with(conn, &map.dn, base.scope, &ef, attrs, t)
        .await?;
    let mut out = AutofsMap {
        name: name.to_string(),
        entries: Vec::with_capacity(entries.len()),
    };
    for e in entries {
        match (e.first(&o.entry_key), e.first(&o.entry_value)) {
            (Some(k), Some(v)) => out.entries.push((k.to_string(), v.to_string())),
            _ => tracing::debug!(
                "automount entry {} lacks {} or {}; skipped",
                e.dn,
                o.entry_key,
                o.entry_value
            ),
        }
    }
    tracing::debug!(
        "automount map {name:?}: {} entries from {}",
        out.entries.len(),
        map.dn
    );
    if name == o.master_name {
        ops.push(CacheOp::Autofs(AutofsOp::InvalidateAll));
    }
    let expire = super::now() + i64::from(o.timeout);
    ops.push(CacheOp::Autofs(AutofsOp::PutMap(out, expire)));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(text: &str) -> Config {
        Config::parse(text, "test").unwrap()
    }

    #[test]
    fn defaults_follow_the_schema() {
        let c = cfg("[domain/d]\nid_provider = ldap\n");
        let o = AutofsOptions::from_config(&c, "d").unwrap().unwrap();
        assert_eq!(o, AutofsOptions::defaults(false));
        assert_eq!(o.map_object_class, "nisMap");
        assert_eq!(o.entry_value, "nisMapEntry");
        let c = cfg("[domain/d]\nid_provider = ldap\nldap_schema = rfc2307bis\n\
                     ldap_search_base = dc=x\nentry_cache_timeout = 60\n");
        let o = AutofsOptions::from_config(&c, "d").unwrap().unwrap();
        assert_eq!(o.map_object_class, "automountMap");
        assert_eq!(o.entry_key, "automountKey");
        assert_eq!(o.search_base.as_deref(), Some("dc=x"));
        assert_eq!(o.timeout, 60);
    }

    #[test]
    fn options_override_and_provider_none_disables() {
        let c = cfg("[domain/d]\nid_provider = ldap\nautofs_provider = ldap\n\
                     ldap_autofs_search_base = ou=automount,dc=x\n\
                     ldap_autofs_map_object_class = automountMap\n\
                     ldap_autofs_map_name = ou\nldap_autofs_entry_key = automountKey\n\
                     ldap_autofs_map_master_name = auto_master\n\
                     entry_cache_autofs_timeout = 30\n");
        let o = AutofsOptions::from_config(&c, "d").unwrap().unwrap();
        assert_eq!(o.search_base.as_deref(), Some("ou=automount,dc=x"));
        assert_eq!(o.map_name, "ou");
        assert_eq!(o.entry_key, "automountKey");
        assert_eq!(o.entry_object_class, "nisObject");
        assert_eq!(o.master_name, "auto_master");
        assert_eq!(o.timeout, 30);
        let c = cfg("[domain/d]\nid_provider = ldap\nautofs_provider = none\n");
        assert_eq!(AutofsOptions::from_config(&c, "d").unwrap(), None);
        let c = cfg("[domain/d]\nid_provider = ldap\nautofs_provider = ipa\n");
        assert!(AutofsOptions::from_config(&c, "d").is_err());
    }
}
