//! Acting on reply items: messages for the user, environment variables, the domain name and
//! log lines. Malformed items are skipped (and logged), never trusted.

use sss_proto::pam::{PamReply, response};

use crate::handler::{Level, PamHandler};

pub use sss_proto::pam::user_info;

/// Module data name under which the responding domain is stored.
pub const DOMAIN_DATA: &str = "pam_sss:domain_name";

fn u32_at(d: &[u8], off: usize) -> Option<u32> {
    let b = d.get(off..off.checked_add(4)?)?;
    Some(u32::from_ne_bytes(<[u8; 4]>::try_from(b).ok()?))
}

fn i64_at(d: &[u8], off: usize) -> Option<i64> {
    let b = d.get(off..off.checked_add(8)?)?;
    Some(i64::from_ne_bytes(<[u8; 8]>::try_from(b).ok()?))
}

/// Local time in the C library's `%c` format, or None.
pub fn local_time(t: i64) -> Option<String> {
    let t = libc::time_t::try_from(t).ok()?;
    // SAFETY: tm is plain data; all-zero is valid.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    // SAFETY: both pointers are valid for the call.
    if unsafe { libc::localtime_r(&t, &mut tm) }.is_null() {
        return None;
    }
    let mut buf = [0u8; 128];
    // SAFETY: buf is writable for its length; the format is NUL-terminated; tm is filled.
    let n = unsafe {
        libc::strftime(
            buf.as_mut_ptr().cast::<libc::c_char>(),
            buf.len(),
            c"%c".as_ptr(),
            &tm,
        )
    };
    let s = buf.get(..n)?;
    (!s.is_empty()).then(|| String::from_utf8_lossy(s).into_owned())
}

/// The `u32 len` + text message of CHPASS_ERROR / ACCOUNT_EXPIRED, if well formed.
fn len_prefixed(d: &[u8]) -> Option<String> {
    let len = usize::try_from(u32_at(d, 4)?).ok()?;
    if d.len() != 8usize.checked_add(len)? {
        return None;
    }
    let text = d.get(8..)?;
    let text = text.split(|b| *b == 0).next().unwrap_or_default();
    Some(String::from_utf8_lossy(text).into_owned())
}

/// The message to show for a USER_INFO payload, or None when it is malformed or unknown.
pub fn user_info_text(d: &[u8]) -> Option<String> {
    let sub = u32_at(d, 0)?;
    let exact = |n: usize| d.len() == n;
    match sub {
        user_info::OFFLINE_AUTH if exact(12) => {
            let exp = i64_at(d, 4)?;
            Some(match (exp > 0).then(|| local_time(exp)).flatten() {
                Some(t) => format!(
                    "Authenticated with cached credentials, your cached password will expire at: {t}."
                ),
                None => "Authenticated with cached credentials.".to_string(),
            })
        }
        user_info::OFFLINE_AUTH_DELAYED if exact(12) => {
            let until = i64_at(d, 4).filter(|t| *t > 0)?;
            Some(format!(
                "Authentication is denied until: {}.",
                local_time(until).unwrap_or_default()
            ))
        }
        user_info::OFFLINE_CHPASS => {
            Some("System is offline, password change not possible".to_string())
        }
        user_info::OTP_CHPASS => Some(
            "After changing the OTP password, you need to log out and back in order to acquire a ticket"
                .to_string(),
        ),
        user_info::CHPASS_ERROR => {
            let m = len_prefixed(d)?;
            Some(if m.is_empty() {
                "Password change failed. ".to_string()
            } else {
                format!("Password change failed. Server message: {m}")
            })
        }
        user_info::GRACE_LOGIN if exact(8) => Some(format!(
            "Your password has expired. You have {} grace login(s) remaining.",
            u32_at(d, 4)?
        )),
        user_info::EXPIRE_WARN if exact(8) => {
            let secs = u32_at(d, 4)?;
            let (n, unit) = match secs {
                s if s >= 86_400 => (s / 86_400, "day(s)"),
                s if s >= 3_600 => (s / 3_600, "hour(s)"),
                s if s >= 60 => (s / 60, "minute(s)"),
                s => (s, "second(s)"),
            };
            Some(format!("Your password will expire in {n} {unit}."))
        }
        user_info::ACCOUNT_EXPIRED => {
            let m = len_prefixed(d)?;
            Some(if m.is_empty() {
                "Permission denied. ".to_string()
            } else {
                format!("Permission denied. Server message: {m}")
            })
        }
        user_info::PIN_LOCKED => Some("PIN locked".to_string()),
        user_info::NO_KRB_TGT => Some(
            "No Kerberos TGT was granted because the server does not support this method; \
             single sign-on will not work in this session."
                .to_string(),
        ),
        _ => None,
    }
}

/// A NUL-terminated string item as text, or None if it is not terminated or not UTF-8.
fn c_string(d: &[u8]) -> Option<&str> {
    let (last, body) = d.split_last()?;
    if *last != 0 || body.contains(&0) {
        return None;
    }
    std::str::from_utf8(body).ok()
}

/// What the items said that the caller needs later.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// DOMAIN_NAME, if sent.
    pub domain: Option<String>,
}

/// Applies every item of `reply` through `h`.
pub fn apply(h: &mut dyn PamHandler, reply: &PamReply) -> Outcome {
    let mut out = Outcome::default();
    for it in &reply.items {
        let d = it.data.as_slice();
        match it.kind {
            response::SYSTEM_INFO => match c_string(d) {
                Some(s) => h.syslog(Level::Info, &format!("system info: [{s}]")),
                None => h.syslog(Level::Err, "malformed SYSTEM_INFO item ignored"),
            },
            response::DOMAIN_NAME => match c_string(d) {
                Some(s) => {
                    if h.set_data(DOMAIN_DATA, s.as_bytes()).is_err() {
                        h.syslog(Level::Err, "could not store the domain name");
                    }
                    out.domain = Some(s.to_string());
                }
                None => h.syslog(Level::Err, "malformed DOMAIN_NAME item ignored"),
            },
            response::PAM_ENV_ITEM | response::ENV_ITEM | response::ALL_ENV_ITEM => {
                let Some(kv) = c_string(d).filter(|s| s.contains('=')) else {
                    h.syslog(Level::Err, "malformed environment item ignored");
                    continue;
                };
                if it.kind != response::ENV_ITEM && h.putenv(kv).is_err() {
                    h.syslog(Level::Err, "pam_putenv failed");
                }
                if it.kind != response::PAM_ENV_ITEM && h.process_putenv(kv).is_err() {
                    h.syslog(Level::Err, "putenv failed");
                }
            }
            response::USER_INFO => match user_info_text(d) {
                Some(m) => {
                    let _ = h.info(&m);
                }
                None => h.syslog(Level::Err, "unknown or malformed USER_INFO item ignored"),
            },
            response::TEXT_MSG => match c_string(d) {
                Some(s) => {
                    let _ = h.info(s);
                }
                None => h.syslog(Level::Err, "malformed TEXT_MSG item ignored"),
            },
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ui(sub: u32, rest: &[u8]) -> Vec<u8> {
        let mut v = sub.to_ne_bytes().to_vec();
        v.extend_from_slice(rest);
        v
    }

    #[test]
    fn user_info_messages() {
        assert_eq!(
            user_info_text(&ui(1, &0i64.to_ne_bytes())).unwrap(),
            "Authenticated with cached credentials."
        );
        let t = user_info_text(&ui(1, &1_900_000_000i64.to_ne_bytes())).unwrap();
        assert!(t.starts_with("Authenticated with cached credentials, your cached password"));
        assert_eq!(
            user_info_text(&ui(6, &3u32.to_ne_bytes())).unwrap(),
            "Your password has expired. You have 3 grace login(s) remaining."
        );
        assert_eq!(
            user_info_text(&ui(7, &(2 * 86_400u32).to_ne_bytes())).unwrap(),
            "Your password will expire in 2 day(s)."
        );
        assert_eq!(
            user_info_text(&ui(7, &90u32.to_ne_bytes())).unwrap(),
            "Your password will expire in 1 minute(s)."
        );
        let mut m = 4u32.to_ne_bytes().to_vec();
        m.extend_from_slice(b"weak");
        assert_eq!(
            user_info_text(&ui(5, &m)).unwrap(),
            "Password change failed. Server message: weak"
        );
        assert_eq!(
            user_info_text(&ui(8, &0u32.to_ne_bytes())).unwrap(),
            "Permission denied. "
        );
        assert!(user_info_text(&ui(3, &[])).unwrap().contains("offline"));
        assert!(user_info_text(&ui(10, &[])).unwrap().contains("TGT"));
    }

    #[test]
    fn malformed_user_info_is_none() {
        assert_eq!(user_info_text(&[1, 0]), None);
        assert_eq!(user_info_text(&ui(1, &[0; 4])), None);
        assert_eq!(user_info_text(&ui(6, &[])), None);
        let mut m = 100u32.to_ne_bytes().to_vec();
        m.extend_from_slice(b"short");
        assert_eq!(user_info_text(&ui(5, &m)), None);
        assert_eq!(user_info_text(&ui(2, &0i64.to_ne_bytes())), None);
        assert_eq!(user_info_text(&ui(99, &[])), None);
    }

    #[test]
    fn c_strings_must_be_terminated() {
        assert_eq!(c_string(b"a=b\0"), Some("a=b"));
        assert_eq!(c_string(b"a=b"), None);
        assert_eq!(c_string(b""), None);
        assert_eq!(c_string(b"a\0b\0"), None);
    }
}
