//! Module arguments (`auth required pam_sss.so use_first_pass retry=3 ...`).

use crate::handler::{Level, PamHandler};

/// `PAM_CLI_FLAGS_*` bits sent to the responder in the FLAGS item.
pub use sss_proto::pam::cli_flag as flag;

/// Parsed module arguments.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Options {
    /// `PAM_CLI_FLAGS_*` bits.
    pub flags: u32,
    /// `retry=N`: extra attempts after a failed authentication or old-password check.
    pub retries: u32,
    /// `quiet`: do not log unknown users.
    pub quiet: bool,
    /// `domains=`: `Some("")` when given without a value (every request then fails).
    pub domains: Option<String>,
}

impl Options {
    /// True if `bit` is set.
    pub fn has(&self, bit: u32) -> bool {
        self.flags & bit != 0
    }

    /// Parses `args`, logging unknown or malformed ones through `h`.
    pub fn parse(args: &[String], h: &mut dyn PamHandler) -> Options {
        let mut o = Options::default();
        for a in args {
            let bit = match a.as_str() {
                "forward_pass" => flag::FORWARD_PASS,
                "use_first_pass" => flag::USE_FIRST_PASS,
                "use_authtok" => flag::USE_AUTHTOK,
                "ignore_unknown_user" => flag::IGNORE_UNKNOWN_USER,
                "ignore_authinfo_unavail" => flag::IGNORE_AUTHINFO_UNAVAIL,
                "use_2fa" => flag::USE_2FA,
                "allow_missing_name" => flag::ALLOW_MISSING_NAME,
                "prompt_always" => flag::PROMPT_ALWAYS,
                "try_cert_auth" => flag::TRY_CERT_AUTH,
                "require_cert_auth" => flag::REQUIRE_CERT_AUTH,
                "allow_chauthtok_by_root" => flag::ALLOW_CHAUTHTOK_BY_ROOT,
                _ => 0,
            };
            if bit != 0 {
                o.flags |= bit;
            } else if a == "quiet" {
                o.quiet = true;
            } else if let Some(d) = a.strip_prefix("domains=") {
                if d.is_empty() {
                    h.syslog(Level::Err, "Missing argument to option domains.");
                }
                o.domains = Some(d.to_string());
            } else if let Some(r) = a.strip_prefix("retry=") {
                o.retries = match r.parse::<i64>() {
                    Ok(n) if n >= 0 => u32::try_from(n).unwrap_or(u32::MAX),
                    Ok(_) => {
                        h.syslog(Level::Err, "Argument to option retry must not be negative.");
                        0
                    }
                    Err(_) => {
                        h.syslog(
                            Level::Err,
                            &format!("Invalid argument to option retry: {r}"),
                        );
                        0
                    }
                };
            } else {
                h.syslog(Level::Warning, &format!("unknown option: {a}"));
            }
        }
        o
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::Scripted;

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn options_set_flags_and_values() {
        let mut h = Scripted::new("alice");
        let o = Options::parse(
            &args(&[
                "use_first_pass",
                "forward_pass",
                "quiet",
                "retry=2",
                "domains=LDAP,KRB",
                "ignore_unknown_user",
                "allow_chauthtok_by_root",
                "bogus",
            ]),
            &mut h,
        );
        assert_eq!(
            o.flags,
            flag::USE_FIRST_PASS
                | flag::FORWARD_PASS
                | flag::IGNORE_UNKNOWN_USER
                | flag::ALLOW_CHAUTHTOK_BY_ROOT
        );
        assert!(o.quiet);
        assert_eq!(o.retries, 2);
        assert_eq!(o.domains.as_deref(), Some("LDAP,KRB"));
        assert!(h.log.iter().any(|l| l.contains("unknown option: bogus")));
    }

    #[test]
    fn bad_retry_is_zero_and_empty_domains_kept() {
        let mut h = Scripted::new("alice");
        let o = Options::parse(&args(&["retry=-1", "domains="]), &mut h);
        assert_eq!(o.retries, 0);
        assert_eq!(o.domains.as_deref(), Some(""));
        let o = Options::parse(&args(&["retry=3x"]), &mut h);
        assert_eq!(o.retries, 0);
    }
}
