//! Machine account password renewal, as SSSD's AD provider does it: every
//! `ad_machine_account_password_renewal_opts` period (first after its initial delay), while
//! online, `adcli update` is run with `--computer-password-lifetime` set to
//! `ad_maximum_machine_account_password_age` days; adcli changes the password (and the host
//! keytab) only when the account's password is older than that. Without
//! `/usr/sbin/adcli`, or with an age of 0, nothing is scheduled.

use crate::config::{Config, ConfigError, DOMAIN_PREFIX};
use std::path::Path;
use std::time::Duration;

/// The renewal program SSSD runs.
pub const ADCLI: &str = "/usr/sbin/adcli";

/// SSSD's default maximum password age, in days.
pub const DEFAULT_MAX_AGE_DAYS: u32 = 30;

/// SSSD's default schedule: once a day, the first time 750 s after start.
pub const DEFAULT_SCHEDULE: &str = "86400:750";

/// How long one adcli run may take before it is killed (SSSD's task timeout).
pub const RUN_TIMEOUT: Duration = Duration::from_secs(60);

/// What the renewal task of one AD domain does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenewalOptions {
    /// `ad_maximum_machine_account_password_age`, in days (never 0 here).
    pub max_age_days: u32,
    /// Time between runs (first field of `ad_machine_account_password_renewal_opts`).
    pub period: Duration,
    /// Time from start to the first run (second field).
    pub initial_delay: Duration,
    /// Up to this much random time is added to each wait (optional third field).
    pub random_offset: Duration,
    /// `ad_domain`.
    pub domain: String,
    /// This host's name (`ad_hostname` or the system's).
    pub hostname: String,
    /// `krb5_keytab`, when set.
    pub keytab: Option<String>,
    /// `ad_update_samba_machine_account_password`: also update Samba's copy.
    pub samba_data: bool,
}

impl RenewalOptions {
    /// The renewal settings of `[domain/NAME]`: `None` for a domain without
    /// `id_provider = ad` or with a maximum age of 0. A bad value is an error naming the
    /// option.
    pub fn from_config(cfg: &Config, name: &str) -> Result<Option<RenewalOptions>, ConfigError> {
        let s = format!("{DOMAIN_PREFIX}{name}");
        if cfg.get(&s, "id_provider").map(str::trim) != Some("ad") {
            return Ok(None);
        }
        let age_opt = "ad_maximum_machine_account_password_age";
        let max_age_days = match cfg.get(&s, age_opt) {
            None => DEFAULT_MAX_AGE_DAYS,
            Some(v) => v.trim().parse::<u32>().map_err(|_| {
                ConfigError::bad_value(&s, age_opt, v, "expected a number of days (0: off)")
            })?,
        };
        let sched_opt = "ad_machine_account_password_renewal_opts";
        let sched = cfg.get(&s, sched_opt).unwrap_or(DEFAULT_SCHEDULE);
        let (period, initial_delay, random_offset) = parse_schedule(sched).ok_or_else(|| {
            ConfigError::bad_value(
                &s,
                sched_opt,
                sched,
                "expected PERIOD:INITIAL_DELAY[:OFFSET] in seconds",
            )
        })?;
        let samba_data = cfg.get_bool(&s, "ad_update_samba_machine_account_password", false)?;
        if max_age_days == 0 {
            return Ok(None);
        }
        Ok(Some(RenewalOptions {
            max_age_days,
            period,
            initial_delay,
            random_offset,
            domain: cfg
                .get(&s, "ad_domain")
                .map_or_else(|| name.to_string(), |d| d.trim().to_string()),
            hostname: crate::config::ad::ad_hostname(cfg, &s),
            keytab: cfg.get(&s, "krb5_keytab").map(|k| k.trim().to_string()),
            samba_data,
        }))
    }

    /// adcli's arguments, with `dc` (the server in use) as the domain controller when known.
    pub fn adcli_args(&self, dc: Option<&str>) -> Vec<String> {
        let mut a = vec!["update".to_string()];
        if let Some(dc) = dc {
            a.push(format!("--domain-controller={dc}"));
        }
        a.push(format!(
            "--computer-password-lifetime={}",
            self.max_age_days
        ));
        if self.samba_data {
            a.push("--add-samba-data".into());
        }
        a.push(format!("--host-fqdn={}", self.hostname));
        if let Some(k) = &self.keytab {
            a.push(format!("--host-keytab={k}"));
        }
        a.push(format!("--domain={}", self.domain));
        a.push("--verbose".into());
        a
    }
}

/// `PERIOD:DELAY[:OFFSET]` in seconds; `None` when malformed or the period is 0.
fn parse_schedule(v: &str) -> Option<(Duration, Duration, Duration)> {
    let parts: Vec<&str> = v.trim().split(':').map(str::trim).collect();
    if !(2..=3).contains(&parts.len()) {
        return None;
    }
    let secs = |p: &str| {
        p.parse::<u32>()
            .ok()
            .map(|n| Duration::from_secs(u64::from(n)))
    };
    let period = secs(parts[0]).filter(|d| !d.is_zero())?;
    let delay = secs(parts[1])?;
    let offset = match parts.get(2) {
        Some(p) => secs(p)?,
        None => Duration::ZERO,
    };
    Some((period, delay, offset))
}

/// The host of an LDAP URI (`ldap://dc1.example.com:389` → `dc1.example.com`).
pub fn uri_host(uri: &str) -> Option<&str> {
    let rest = uri.split_once("://").map_or(uri, |(_, r)| r);
    let hostport = rest.split('/').next()?;
    let host = match hostport.strip_prefix('[') {
        Some(v6) => v6.split(']').next()?,
        None => hostport.rsplit_once(':').map_or(hostport, |(h, _)| h),
    };
    (!host.is_empty()).then_some(host)
}

/// Whether the renewal program is there to run.
pub fn adcli_available() -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(Path::new(ADCLI))
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// What one adcli run ended with.
#[derive(Debug)]
pub enum RunOutcome {
    /// adcli exited 0 (the password was renewed, or was young enough).
    Done,
    /// adcli exited with this status (its output is logged).
    Failed(Option<i32>),
    /// adcli did not finish within [`RUN_TIMEOUT`] and was killed.
    TimedOut,
    /// adcli could not be started.
    NotStarted(std::io::Error),
}

/// Runs `adcli` with `args` once, killing it (by its PID, through the handle) after
/// [`RUN_TIMEOUT`]; logs its output at debug level.
pub async fn run_adcli(args: &[String]) -> RunOutcome {
    let mut cmd = tokio::process::Command::new(ADCLI);
    cmd.args(args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true);
    let child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => return RunOutcome::NotStarted(e),
    };
    match tokio::time::timeout(RUN_TIMEOUT, child.wait_with_output()).await {
        Err(_) => RunOutcome::TimedOut,
        Ok(Err(e)) => RunOutcome::NotStarted(e),
        Ok(Ok(out)) => {
            tracing::debug!(
                "adcli output:\n{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            if out.status.success() {
                RunOutcome::Done
            } else {
                RunOutcome::Failed(out.status.code())
            }
        }
    }
}

impl crate::backend::Backend {
    /// Renews the machine account password on `opts`' schedule, forever: each run happens
    /// only while online, against the server in use. Returns at once without `opts` or
    /// without adcli (logged, as SSSD does).
    pub async fn run_machine_password_renewal(self, opts: Option<RenewalOptions>) {
        let Some(opts) = opts else {
            return;
        };
        if !adcli_available() {
            tracing::info!("{ADCLI} is not there: machine account password renewal is off");
            return;
        }
        let wait = |base: Duration| {
            base + opts
                .random_offset
                .mul_f64(crate::backend::state::unit_random())
        };
        tokio::time::sleep(wait(opts.initial_delay)).await;
        loop {
            if self.is_offline() {
                tracing::debug!("machine account password renewal skipped: offline");
            } else {
                let server = crate::sbus::failover::FailoverHandler::active_server(&self, "LDAP");
                let args = opts.adcli_args(uri_host(&server));
                tracing::debug!("running {ADCLI} {}", args.join(" "));
                match run_adcli(&args).await {
                    RunOutcome::Done => {
                        tracing::info!("machine account password renewal check done")
                    }
                    RunOutcome::Failed(code) => tracing::error!(
                        "machine account password renewal: adcli failed (exit {code:?}); see the \
                         debug log for its output"
                    ),
                    RunOutcome::TimedOut => tracing::error!(
                        "machine account password renewal: adcli killed after {} s",
                        RUN_TIMEOUT.as_secs()
                    ),
                    RunOutcome::NotStarted(e) => {
                        tracing::error!("machine account password renewal: cannot run {ADCLI}: {e}")
                    }
                }
            }
            tokio::time::sleep(wait(opts.period)).await;
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn opts(text: &str) -> Result<Option<RenewalOptions>, ConfigError> {
        let c = Config::parse(text, "t").unwrap();
        RenewalOptions::from_config(&c, "A")
    }

    #[test]
    fn defaults_are_sssd_s_and_zero_turns_renewal_off() {
        let o = opts("[domain/A]\nid_provider = ad\nad_domain = corp.example.com\nad_hostname = h1.corp.example.com\n")
            .unwrap()
            .unwrap();
        assert_eq!(o.max_age_days, 30);
        assert_eq!(o.period, Duration::from_secs(86400));
        assert_eq!(o.initial_delay, Duration::from_secs(750));
        assert_eq!(o.random_offset, Duration::ZERO);
        assert_eq!(
            o.adcli_args(Some("dc1.corp.example.com")),
            [
                "update",
                "--domain-controller=dc1.corp.example.com",
                "--computer-password-lifetime=30",
                "--host-fqdn=h1.corp.example.com",
                "--domain=corp.example.com",
                "--verbose"
            ]
        );
        let off = "[domain/A]\nid_provider = ad\nad_maximum_machine_account_password_age = 0\n";
        assert_eq!(opts(off).unwrap(), None);
        assert_eq!(opts("[domain/A]\nid_provider = ldap\n").unwrap(), None);
    }

    #[test]
    fn schedule_keytab_and_samba_options_are_honoured() {
        let o = opts(
            "[domain/A]\nid_provider = ad\nad_domain = c.example\n\
             ad_maximum_machine_account_password_age = 7\n\
             ad_machine_account_password_renewal_opts = 3600:5:60\n\
             krb5_keytab = /etc/other.keytab\nad_update_samba_machine_account_password = true\n",
        )
        .unwrap()
        .unwrap();
        assert_eq!(
            (o.period, o.initial_delay, o.random_offset),
            (
                Duration::from_secs(3600),
                Duration::from_secs(5),
                Duration::from_secs(60)
            )
        );
        let args = o.adcli_args(None);
        assert!(args.contains(&"--computer-password-lifetime=7".to_string()));
        assert!(args.contains(&"--add-samba-data".to_string()));
        assert!(args.contains(&"--host-keytab=/etc/other.keytab".to_string()));
        assert!(!args.iter().any(|a| a.starts_with("--domain-controller")));
    }

    #[test]
    fn bad_values_name_the_option() {
        for (text, option) in [
            (
                "ad_maximum_machine_account_password_age = -1",
                "ad_maximum_machine_account_password_age",
            ),
            (
                "ad_machine_account_password_renewal_opts = 86400",
                "ad_machine_account_password_renewal_opts",
            ),
            (
                "ad_machine_account_password_renewal_opts = 0:10",
                "ad_machine_account_password_renewal_opts",
            ),
            (
                "ad_machine_account_password_renewal_opts = a:b",
                "ad_machine_account_password_renewal_opts",
            ),
            (
                "ad_update_samba_machine_account_password = maybe",
                "ad_update_samba_machine_account_password",
            ),
        ] {
            let e = opts(&format!("[domain/A]\nid_provider = ad\n{text}\n"))
                .unwrap_err()
                .to_string();
            assert!(e.contains(option), "{text}: {e}");
        }
    }

    #[test]
    fn uri_hosts() {
        assert_eq!(uri_host("ldap://dc1.example.com"), Some("dc1.example.com"));
        assert_eq!(
            uri_host("ldaps://dc1.example.com:636/"),
            Some("dc1.example.com")
        );
        assert_eq!(uri_host("ldap://[::1]:389"), Some("::1"));
        assert_eq!(uri_host("ldap://"), None);
    }
}
