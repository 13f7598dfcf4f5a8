//! What the GPO check reads from the directory: the computer object, the scopes' links,
//! the GPO objects (with their DACL, through the SD flags control) and the user's SIDs.

use std::time::Duration;

use ldap3::Scope;
use ldap3::controls::RawControl;

use super::GpoError;
use super::links::{self, Link};
use crate::backend::ldap::MapCtx;
use crate::backend::ldap::connection::Connection;
use crate::backend::ldap::filter;
use crate::backend::ldap::idmap::Sid;
use crate::backend::ldap::search::{Entry, SearchError, decode_entry};

/// `LDAP_SERVER_SD_FLAGS_OID`.
const SD_FLAGS_OID: &str = "1.2.840.113556.1.4.801";
/// Its value asking for the DACL only: SEQUENCE { INTEGER 4 }.
const SD_FLAGS_DACL: [u8; 5] = [0x30, 0x03, 0x02, 0x01, 0x04];
/// userAccountControl: workstation or server trust account.
const UAC_COMPUTER: u32 = 0x1000 | 0x2000;

/// The computer the policy is evaluated for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Computer {
    /// Its DN.
    pub dn: String,
    /// Its SID.
    pub sid: Sid,
}

/// A linked GPO as read from its container.
#[derive(Debug, Clone)]
pub struct GpoEntry {
    /// Its DN.
    pub dn: String,
    /// `cn`: the GUID in braces.
    pub guid: String,
    /// `gPCFileSysPath`.
    pub file_sys_path: String,
    /// `gPCFunctionalityVersion`.
    pub functionality_version: i32,
    /// `flags` (2: computer settings disabled).
    pub flags: i32,
    /// `nTSecurityDescriptor` (the DACL part).
    pub security_descriptor: Vec<u8>,
    /// The client-side extension GUIDs of `gPCMachineExtensionNames`.
    pub machine_cses: Vec<String>,
}

/// The DN of AD domain `domain` (`corp.example.com` → `DC=corp,DC=example,DC=com`).
pub fn domain_dn(domain: &str) -> String {
    domain
        .split('.')
        .filter(|p| !p.is_empty())
        .map(|p| format!("DC={p}"))
        .collect::<Vec<_>>()
        .join(",")
}

async fn base_read(
    ctx: &MapCtx,
    conn: &Connection,
    dn: &str,
    attrs: &[&str],
) -> Result<Option<Entry>, SearchError> {
    let attrs = attrs.iter().map(|a| a.to_string()).collect();
    let entries = ctx
        .search_with(
            conn,
            dn,
            Scope::Base,
            "(objectClass=*)",
            attrs,
            ctx.search_timeout(),
        )
        .await?;
    Ok(entries.into_iter().next())
}

/// The computer object of `account` (`SHORT$`) under `domain`.
pub async fn computer(
    ctx: &MapCtx,
    conn: &Connection,
    domain: &str,
    account: &str,
) -> Result<Computer, GpoError> {
    let f = format!(
        "(&(objectClass=user)(sAMAccountName={}))",
        filter::escape(account)
    );
    let entries = ctx
        .search_with(
            conn,
            &domain_dn(domain),
            Scope::Subtree,
            &f,
            vec!["userAccountControl".into(), "objectSid".into()],
            ctx.search_timeout(),
        )
        .await?;
    let [e] = entries.as_slice() else {
        return Err(GpoError::Computer(format!(
            "{} entries for sAMAccountName={account}",
            entries.len()
        )));
    };
    let uac: u32 = e
        .first("userAccountControl")
        .and_then(|v| v.trim().parse::<i64>().ok())
        .and_then(|v| u32::try_from(v & 0xffff_ffff).ok())
        .ok_or_else(|| GpoError::Computer(format!("{}: no valid userAccountControl", e.dn)))?;
    if uac & UAC_COMPUTER == 0 {
        return Err(GpoError::Computer(format!(
            "{}: userAccountControl {uac:#x} is not a computer account",
            e.dn
        )));
    }
    let sid = e
        .raw_values("objectSid")
        .first()
        .ok_or_else(|| GpoError::Computer(format!("{}: no objectSid", e.dn)))
        .and_then(|b| {
            Sid::from_bytes(b).map_err(|err| GpoError::Computer(format!("{}: {err}", e.dn)))
        })?;
    Ok(Computer {
        dn: e.dn.clone(),
        sid,
    })
}

/// The DN of site `site`'s object (under the configuration naming context).
pub async fn site_dn(ctx: &MapCtx, conn: &Connection, site: &str) -> Result<String, GpoError> {
    let root = base_read(ctx, conn, "", &["configurationNamingContext"]).await?;
    let config = root
        .as_ref()
        .and_then(|r| r.first("configurationNamingContext"))
        .ok_or_else(|| GpoError::Site("the rootDSE has no configurationNamingContext".into()))?;
    Ok(format!("CN={site},CN=Sites,{config}"))
}

/// The links of each scope in `scopes` (nearest first), with inheritance blocking applied.
pub async fn scope_links(
    ctx: &MapCtx,
    conn: &Connection,
    scopes: &[String],
) -> Result<Vec<Vec<Link>>, GpoError> {
    let mut out = Vec::new();
    let mut enforced_only = false;
    for som in scopes {
        let Some(e) = base_read(ctx, conn, som, &["gPLink", "gPOptions"]).await? else {
            continue;
        };
        let Some(raw) = e.first("gPLink") else {
            continue;
        };
        out.push(links::parse_gplink(som, raw, enforced_only)?);
        if links::blocks_inheritance(som, e.first("gPOptions"))? {
            enforced_only = true;
        }
    }
    Ok(out)
}

/// Reads GPO `dn` with its DACL; `Ok(None)` when there is no such object.
pub async fn gpo(
    conn: &Connection,
    dn: &str,
    timeout: Duration,
) -> Result<Option<Entry>, GpoError> {
    let transport = |message: String| SearchError::Transport {
        uri: conn.uri.clone(),
        message,
    };
    let mut ldap = conn.ldap.clone();
    let attrs = vec![
        "nTSecurityDescriptor",
        "cn",
        "gPCFileSysPath",
        "gPCMachineExtensionNames",
        "gPCFunctionalityVersion",
        "flags",
    ];
    let search = ldap
        .with_controls(RawControl {
            ctype: SD_FLAGS_OID.to_string(),
            crit: true,
            val: Some(SD_FLAGS_DACL.to_vec()),
        })
        .with_timeout(timeout)
        .search(dn, Scope::Base, "(objectClass=*)", attrs);
    let res = match tokio::time::timeout(timeout, search).await {
        Err(_) => return Err(transport(format!("reading GPO {dn} timed out")).into()),
        Ok(Err(e)) => return Err(transport(e.to_string()).into()),
        Ok(Ok(r)) => r,
    };
    match res.1.rc {
        0 => Ok(res.0.into_iter().find_map(decode_entry)),
        32 => Ok(None),
        51 | 52 | 80 | 88 => Err(transport(format!("reading GPO {dn}: rc={}", res.1.rc)).into()),
        rc => Err(SearchError::Server {
            uri: conn.uri.clone(),
            base: dn.to_string(),
            rc,
            text: res.1.text,
        }
        .into()),
    }
}

/// The GPO fields of `e`; `Err(attribute)` names a missing or unreadable one, `Ok(None)` a
/// GPO without `gPCFunctionalityVersion` (skipped, as [MS-GPOL] says).
pub fn gpo_entry(e: &Entry) -> Result<Option<GpoEntry>, &'static str> {
    let text = |a: &'static str| e.first(a).map(str::to_string).ok_or(a);
    let guid = text("cn")?;
    let file_sys_path = text("gPCFileSysPath")?;
    let Some(functionality_version) = e
        .first("gPCFunctionalityVersion")
        .and_then(|v| v.trim().parse().ok())
    else {
        return Ok(None);
    };
    let flags = e
        .first("flags")
        .and_then(|v| v.trim().parse().ok())
        .ok_or("flags")?;
    let security_descriptor = e
        .raw_values("nTSecurityDescriptor")
        .first()
        .map(|b| b.to_vec())
        .ok_or("nTSecurityDescriptor")?;
    let machine_cses = e
        .first("gPCMachineExtensionNames")
        .map(machine_cses)
        .unwrap_or_default();
    Ok(Some(GpoEntry {
        dn: e.dn.clone(),
        guid,
        file_sys_path,
        functionality_version,
        flags,
        security_descriptor,
        machine_cses,
    }))
}

/// The CSE GUIDs of a `gPCMachineExtensionNames` value (`[{cse}{tool}...]...`): the first
/// GUID of each bracket.
pub fn machine_cses(raw: &str) -> Vec<String> {
    raw.split(']')
        .filter_map(|part| {
            let part = part.trim().strip_prefix('[')?;
            let end = part.find('}')?;
            part.starts_with('{').then(|| part[..=end].to_string())
        })
        .collect()
}

/// The SIDs of the user at `user_dn`: its objectSid, then its tokenGroups.
pub async fn user_sids(
    ctx: &MapCtx,
    conn: &Connection,
    user_dn: &str,
) -> Result<Vec<Sid>, GpoError> {
    let e = base_read(ctx, conn, user_dn, &["objectSid", "tokenGroups"])
        .await?
        .ok_or_else(|| GpoError::NoSids(user_dn.to_string()))?;
    let own = e
        .raw_values("objectSid")
        .first()
        .and_then(|b| Sid::from_bytes(b).ok())
        .ok_or_else(|| GpoError::NoSids(user_dn.to_string()))?;
    let mut sids = vec![own];
    for b in e.raw_values("tokenGroups") {
        match Sid::from_bytes(b) {
            Ok(s) => sids.push(s),
            Err(err) => tracing::warn!("{user_dn}: malformed tokenGroups value: {err}"),
        }
    }
    Ok(sids)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domain_dns_and_cse_lists() {
        assert_eq!(domain_dn("corp.example.com"), "DC=corp,DC=example,DC=com");
        assert_eq!(
            machine_cses(
                "[{35378EAC-683F-11D2-A89A-00C04FBBCFA2}{53D6AB1B-2488-11D1-A28C-00C04FB94F17}]\
                 [{827D319E-6EAC-11D2-A4EA-00C04F79F83A}{803E14A0-B4FB-11D0-A0D0-00A0C90F574B}]"
            ),
            [
                "{35378EAC-683F-11D2-A89A-00C04FBBCFA2}",
                "{827D319E-6EAC-11D2-A4EA-00C04F79F83A}"
            ]
        );
        assert!(machine_cses(" ").is_empty());
    }
}
