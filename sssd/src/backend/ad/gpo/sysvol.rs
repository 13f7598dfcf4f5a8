//! The GPO files on the DC's sysvol share, fetched through `gpo_child`, and their cached
//! copies: `GPT.INI` gives the version; the Security Settings template is downloaded again
//! only when that version is newer than the cached one (a missing template removes the
//! cached copy, as Windows treats it as empty).

use std::path::{Path, PathBuf};
use std::time::Duration;

use sss_proto::gpo_child::{GpoChildRequest, GpoFile, decode_gpo_reply, encode_gpo_request};

use super::GpoError;
use super::cache::GpoCache;
use crate::backend::krb5::child;

/// The Security Settings template below a GPO's folder.
pub const SECURITY_TEMPLATE: &str = "/Machine/Microsoft/Windows NT/SecEdit/GptTmpl.inf";
/// The GPO's version file.
pub const GPT_INI: &str = "/GPT.INI";
/// How long one `gpo_child` run may take.
const CHILD_TIMEOUT: Duration = Duration::from_secs(30);

/// Where a GPO's files are: `gPCFileSysPath` `\\domain\SysVol\domain\Policies\{GUID}` read
/// on the DC the LDAP connection uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SysvolPath {
    /// `smb://<dc>/<share>`.
    pub share_url: String,
    /// `/domain/Policies/{GUID}` (the cache path too).
    pub path: String,
}

/// Splits `file_sys_path` of GPO `guid`, served by `server`.
pub fn sysvol_path(guid: &str, server: &str, file_sys_path: &str) -> Result<SysvolPath, GpoError> {
    let parts: Vec<&str> = file_sys_path.split('\\').collect();
    let bad = || GpoError::BadPath {
        gpo: guid.to_string(),
        path: file_sys_path.to_string(),
    };
    if parts.len() < 5 || parts[3].is_empty() {
        return Err(bad());
    }
    let rest: Vec<&str> = parts[4..].to_vec();
    if rest
        .iter()
        .any(|c| *c == ".." || *c == "." || c.contains('/'))
    {
        return Err(bad());
    }
    Ok(SysvolPath {
        share_url: format!("smb://{server}/{}", parts[3]),
        path: format!("/{}", rest.join("/")),
    })
}

/// The host name in LDAP URI `uri`.
pub fn uri_host(uri: &str) -> Option<String> {
    let rest = uri.split_once("://").map_or(uri, |(_, r)| r);
    let hostport = rest.split('/').next()?;
    let host = match hostport.strip_prefix('[') {
        Some(v6) => v6.split(']').next()?,
        None => hostport.rsplit_once(':').map_or(hostport, |(h, _)| h),
    };
    (!host.is_empty()).then(|| host.to_string())
}

/// Runs `program` for `urls` with `ccache`.
async fn fetch(program: &Path, ccache: &str, urls: Vec<String>) -> Result<Vec<GpoFile>, GpoError> {
    let n = urls.len();
    let req = GpoChildRequest {
        ccache: ccache.to_string(),
        urls,
    };
    let out = child::run(program, &encode_gpo_request(&req), CHILD_TIMEOUT)
        .await
        .map_err(|e| GpoError::Child(e.to_string()))?;
    let files = decode_gpo_reply(&out).map_err(|e| GpoError::Child(format!("bad reply: {e}")))?;
    if files.len() != n {
        return Err(GpoError::Child(format!(
            "{} files in the reply to a request for {n}",
            files.len()
        )));
    }
    Ok(files)
}

/// Reads GPO `guid`'s version from sysvol and, when newer than `cached_version`, downloads
/// its Security Settings template into `cache`; returns the sysvol version.
pub async fn refresh(
    program: &Path,
    ccache: &str,
    cache: &GpoCache,
    guid: &str,
    at: &SysvolPath,
    cached_version: Option<i32>,
) -> Result<i32, GpoError> {
    let url = |suffix: &str| format!("{}{}{suffix}", at.share_url, at.path);
    let files = fetch(program, ccache, vec![url(GPT_INI)]).await?;
    let gpt = match files.into_iter().next() {
        Some(GpoFile::Data(d)) => d,
        Some(GpoFile::Error(e)) => {
            return Err(GpoError::Sysvol {
                gpo: guid.to_string(),
                file: url(GPT_INI),
                message: std::io::Error::from_raw_os_error(i32::try_from(e).unwrap_or(5))
                    .to_string(),
            });
        }
        None => return Err(GpoError::Child("empty reply".into())),
    };
    let version = super::inf::gpt_version(&url(GPT_INI), &gpt)?;
    let store = |p: String, d: Option<Vec<u8>>| {
        let c = cache.clone();
        async move {
            tokio::task::spawn_blocking(move || c.store(&p, d.as_deref()))
                .await
                .map_err(|e| GpoError::Child(format!("cache writer task: {e}")))?
                .map_err(GpoError::from)
        }
    };
    store(format!("{}{GPT_INI}", at.path), Some(gpt)).await?;
    if cached_version.is_some_and(|c| version <= c) {
        return Ok(version);
    }
    let files = fetch(program, ccache, vec![url(SECURITY_TEMPLATE)]).await?;
    let template = match files.into_iter().next() {
        Some(GpoFile::Data(d)) => Some(d),
        Some(GpoFile::Error(e)) if e == libc::ENOENT as u32 => None,
        Some(GpoFile::Error(e)) => {
            return Err(GpoError::Sysvol {
                gpo: guid.to_string(),
                file: url(SECURITY_TEMPLATE),
                message: std::io::Error::from_raw_os_error(i32::try_from(e).unwrap_or(5))
                    .to_string(),
            });
        }
        None => return Err(GpoError::Child("empty reply".into())),
    };
    store(format!("{}{SECURITY_TEMPLATE}", at.path), template).await?;
    Ok(version)
}

/// The `gpo_child` program in the libexec directory.
pub fn gpo_child_path() -> PathBuf {
    crate::service::paths_from_env().libexec.join("gpo_child")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn sysvol_paths_and_hosts() {
        let p = sysvol_path(
            "{A}",
            "dc1.corp.example.com",
            "\\\\corp.example.com\\sysvol\\corp.example.com\\Policies\\{A}",
        )
        .unwrap();
        assert_eq!(p.share_url, "smb://dc1.corp.example.com/sysvol");
        assert_eq!(p.path, "/corp.example.com/Policies/{A}");
        assert!(sysvol_path("{A}", "dc", "\\\\corp\\sysvol").is_err());
        assert!(sysvol_path("{A}", "dc", "\\\\corp\\sysvol\\..\\x").is_err());
        assert_eq!(uri_host("ldap://dc1.x:389").as_deref(), Some("dc1.x"));
        assert_eq!(uri_host("ldaps://[::1]:636").as_deref(), Some("::1"));
        assert_eq!(uri_host("ldap://"), None);
    }
}
