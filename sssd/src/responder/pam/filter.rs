//! What of a backend's answer reaches the client: server-internal items are dropped,
//! USER_INFO follows `pam_verbosity`, environment items follow `pam_response_filter`,
//! and the resolved domain is added as DOMAIN_NAME.

use sss_proto::pam::response;

/// `pam_verbosity` levels.
const VERBOSITY_IMPORTANT: u32 = 1;
const VERBOSITY_INFO: u32 = 2;

/// USER_INFO subtype OFFLINE_AUTH (payload: `int64` expiry of the cached password).
pub use sss_proto::pam::user_info::OFFLINE_AUTH as USER_INFO_OFFLINE_AUTH;

/// Whether a USER_INFO item (`data` = `uint32 subtype` + payload) is sent at `verbosity`.
/// Malformed items are dropped.
pub fn user_info_sent(data: &[u8], verbosity: u32) -> bool {
    if verbosity == 0 {
        return false;
    }
    let Some(subtype) = data
        .get(..4)
        .and_then(|b| <[u8; 4]>::try_from(b).ok())
        .map(u32::from_ne_bytes)
    else {
        return false;
    };
    if subtype != USER_INFO_OFFLINE_AUTH {
        return true;
    }
    let Some(expiry) = data
        .get(4..)
        .and_then(|b| <[u8; 8]>::try_from(b).ok())
        .map(i64::from_ne_bytes)
    else {
        return false;
    };
    if expiry == 0 {
        verbosity >= VERBOSITY_INFO
    } else {
        verbosity >= VERBOSITY_IMPORTANT
    }
}

/// USER_INFO subtype ACCOUNT_EXPIRED (payload: `uint32` length + message, no NUL).
pub use sss_proto::pam::user_info::ACCOUNT_EXPIRED as USER_INFO_ACCOUNT_EXPIRED;

/// The USER_INFO ACCOUNT_EXPIRED item SSSD adds to an ACCT_EXPIRED answer for `sshd`,
/// or for every service from `pam_verbosity` 2 (`pam_account_expired_message`).
pub fn account_expired_item(
    pam_status: i32,
    service: Option<&str>,
    verbosity: u32,
    message: &str,
) -> Option<(u32, Vec<u8>)> {
    let sshd = service.is_some_and(|s| s.eq_ignore_ascii_case("sshd"));
    if pam_status != sss_proto::pam::status::ACCT_EXPIRED || !(sshd || verbosity >= VERBOSITY_INFO)
    {
        return None;
    }
    Some(sss_proto::pam::ResponseItem::user_info_message(USER_INFO_ACCOUNT_EXPIRED, message).into())
}

/// One parsed `pam_response_filter` entry that concerns environment items.
#[derive(Debug, Clone, PartialEq, Eq)]
struct EnvFilter<'a> {
    /// Variable name; `None` = every variable.
    var: Option<&'a str>,
    /// Service the entry is limited to; `None` = every service.
    service: Option<&'a str>,
}

/// Parses `ENV`, `ENV:NAME`, `ENV:NAME:SERVICE` (empty parts mean "any"); other entries
/// are not about the environment and give `None`.
fn env_filter(entry: &str) -> Option<EnvFilter<'_>> {
    let rest = entry.strip_prefix("ENV")?;
    if rest.is_empty() {
        return Some(EnvFilter {
            var: None,
            service: None,
        });
    }
    let rest = rest.strip_prefix(':')?;
    let (var, service) = match rest.split_once(':') {
        Some((v, s)) => (v, Some(s)),
        None => (rest, None),
    };
    Some(EnvFilter {
        var: Some(var).filter(|v| !v.is_empty()),
        service: service.filter(|s| !s.is_empty()),
    })
}

/// Whether an environment item (`NAME=VALUE\0`) is dropped for `service` by `filters`.
pub fn env_filtered(data: &[u8], service: Option<&str>, filters: &[String]) -> bool {
    filters.iter().filter_map(|f| env_filter(f)).any(|f| {
        if let (Some(want), Some(svc)) = (f.service, service)
            && want != svc
        {
            return false;
        }
        match f.var {
            None => true,
            Some(var) => {
                let v = var.as_bytes();
                data.len() > v.len() && data.starts_with(v) && data.get(v.len()) == Some(&b'=')
            }
        }
    })
}

/// The items sent to the client: `items` filtered, with DOMAIN_NAME (`domain` + NUL)
/// first when a domain was resolved (SSSD sends its last-added item first).
pub fn client_items(
    items: Vec<(u32, Vec<u8>)>,
    domain: Option<&str>,
    service: Option<&str>,
    verbosity: u32,
    filters: &[String],
) -> Vec<(u32, Vec<u8>)> {
    let mut out = Vec::with_capacity(items.len() + 1);
    if let Some(d) = domain {
        let mut v = d.as_bytes().to_vec();
        v.push(0);
        out.push((response::DOMAIN_NAME, v));
    }
    out.extend(items.into_iter().filter(|(kind, data)| match *kind {
        k if k & response::SERVER_INFO_BIT != 0 => false,
        response::USER_INFO => user_info_sent(data, verbosity),
        response::PAM_ENV_ITEM | response::ENV_ITEM | response::ALL_ENV_ITEM => {
            !env_filtered(data, service, filters)
        }
        _ => true,
    }));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offline(expiry: i64) -> Vec<u8> {
        let mut v = USER_INFO_OFFLINE_AUTH.to_ne_bytes().to_vec();
        v.extend_from_slice(&expiry.to_ne_bytes());
        v
    }

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn verbosity_rules() {
        let grace = [6u32.to_ne_bytes(), 3u32.to_ne_bytes()].concat();
        assert!(!user_info_sent(&grace, 0));
        assert!(user_info_sent(&grace, 1));
        assert!(!user_info_sent(&offline(0), 1));
        assert!(user_info_sent(&offline(0), 2));
        assert!(user_info_sent(&offline(1_700_000_000), 1));
        assert!(!user_info_sent(&offline(1_700_000_000), 0));
        assert!(!user_info_sent(&[1, 0], 3), "too short");
        assert!(
            !user_info_sent(&USER_INFO_OFFLINE_AUTH.to_ne_bytes(), 3),
            "offline without expiry"
        );
    }

    #[test]
    fn account_expired_message() {
        let exp = sss_proto::pam::status::ACCT_EXPIRED;
        let (kind, data) = account_expired_item(exp, Some("sshd"), 1, "call x").unwrap();
        assert_eq!(kind, response::USER_INFO);
        assert_eq!(&data[..4], &8u32.to_ne_bytes());
        assert_eq!(&data[4..8], &6u32.to_ne_bytes());
        assert_eq!(&data[8..], b"call x");
        assert!(account_expired_item(exp, Some("login"), 1, "").is_none());
        assert!(account_expired_item(exp, Some("login"), 2, "").is_some());
        assert!(account_expired_item(0, Some("sshd"), 2, "").is_none());
    }

    #[test]
    fn env_filter_forms() {
        let default = strings(&["ENV:KRB5CCNAME:sudo", "ENV:KRB5CCNAME:sudo-i"]);
        let cc = b"KRB5CCNAME=FILE:/tmp/krb5cc_1\0";
        assert!(env_filtered(cc, Some("sudo"), &default));
        assert!(env_filtered(cc, Some("sudo-i"), &default));
        assert!(!env_filtered(cc, Some("login"), &default));
        assert!(!env_filtered(b"FOO=1\0", Some("sudo"), &default));
        // A prefix of the name is not the name.
        assert!(!env_filtered(b"KRB5CCNAMEX=1\0", Some("sudo"), &default));
        let all = strings(&["ENV"]);
        assert!(env_filtered(b"FOO=1\0", Some("login"), &all));
        assert!(env_filtered(b"FOO=1\0", None, &all));
        let named = strings(&["ENV:FOO"]);
        assert!(env_filtered(b"FOO=1\0", Some("x"), &named));
        assert!(!env_filtered(b"BAR=1\0", Some("x"), &named));
        let empty_parts = strings(&["ENV::sshd", "ENV:BAR:"]);
        assert!(env_filtered(b"ANY=1\0", Some("sshd"), &empty_parts));
        assert!(!env_filtered(b"ANY=1\0", Some("login"), &empty_parts));
        assert!(env_filtered(b"BAR=2\0", Some("login"), &empty_parts));
        // Entries that are not ENV filters are ignored.
        assert!(!env_filtered(b"FOO=1\0", None, &strings(&["ENVX", "FOO"])));
        // No service known: a service-limited entry applies.
        assert!(env_filtered(cc, None, &default));
    }

    #[test]
    fn client_items_filtering_and_domain() {
        let items = vec![
            (0xC000_0001, b"internal".to_vec()),
            (response::USER_INFO, offline(0)),
            (response::PAM_ENV_ITEM, b"KRB5CCNAME=FILE:/tmp/x\0".to_vec()),
            (response::ALL_ENV_ITEM, b"KEEP=1\0".to_vec()),
            (response::TEXT_MSG, b"hello\0".to_vec()),
        ];
        let filters = strings(&["ENV:KRB5CCNAME:sudo"]);
        let out = client_items(items.clone(), Some("LDAP"), Some("sudo"), 1, &filters);
        assert_eq!(
            out,
            vec![
                (response::DOMAIN_NAME, b"LDAP\0".to_vec()),
                (response::ALL_ENV_ITEM, b"KEEP=1\0".to_vec()),
                (response::TEXT_MSG, b"hello\0".to_vec()),
            ]
        );
        let out = client_items(items, None, Some("login"), 2, &filters);
        assert_eq!(out.len(), 4);
        assert!(out.iter().all(|(k, _)| k & response::SERVER_INFO_BIT == 0));
        assert!(out.iter().all(|(k, _)| *k != response::DOMAIN_NAME));
    }
}
