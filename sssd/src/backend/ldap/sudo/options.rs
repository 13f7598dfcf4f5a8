//! `sudo_provider = ldap` options of a domain, with SSSD 2.8's names and defaults.

use crate::config::{Config, ConfigError};

/// The `ldap_sudorule_*` attribute map.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SudoAttrMap {
    /// `ldap_sudorule_object_class` (`sudoRole`).
    pub object_class: String,
    /// `ldap_sudorule_object_class_attr`: the attribute the class is matched on
    /// (`objectClass`; the AD provider uses the indexed `objectCategory`).
    pub object_class_attr: String,
    /// `ldap_sudorule_name` (`cn`).
    pub name: String,
    /// `ldap_sudorule_command` (`sudoCommand`).
    pub command: String,
    /// `ldap_sudorule_host` (`sudoHost`).
    pub host: String,
    /// `ldap_sudorule_user` (`sudoUser`).
    pub user: String,
    /// `ldap_sudorule_option` (`sudoOption`).
    pub option: String,
    /// `ldap_sudorule_runas` (`sudoRunAs`).
    pub runas: String,
    /// `ldap_sudorule_runasuser` (`sudoRunAsUser`).
    pub runasuser: String,
    /// `ldap_sudorule_runasgroup` (`sudoRunAsGroup`).
    pub runasgroup: String,
    /// `ldap_sudorule_notbefore` (`sudoNotBefore`).
    pub notbefore: String,
    /// `ldap_sudorule_notafter` (`sudoNotAfter`).
    pub notafter: String,
    /// `ldap_sudorule_order` (`sudoOrder`).
    pub order: String,
}

impl SudoAttrMap {
    /// (LDAP attribute, name the rule is cached and sent to sudo under) for every
    /// attribute a rule carries besides its name.
    pub fn pairs(&self) -> [(&str, &'static str); 10] {
        [
            (&self.user, "sudoUser"),
            (&self.host, "sudoHost"),
            (&self.command, "sudoCommand"),
            (&self.option, "sudoOption"),
            (&self.runas, "sudoRunAs"),
            (&self.runasuser, "sudoRunAsUser"),
            (&self.runasgroup, "sudoRunAsGroup"),
            (&self.notbefore, "sudoNotBefore"),
            (&self.notafter, "sudoNotAfter"),
            (&self.order, "sudoOrder"),
        ]
    }
}

/// What the sudo part of the LDAP provider does for one domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SudoOptions {
    /// `sudo_provider` is `ldap` (it defaults to `id_provider`).
    pub enabled: bool,
    /// `ldap_sudo_search_base`, else `ldap_search_base` (`None`: the discovered base).
    pub search_base: Option<String>,
    /// The attribute map.
    pub map: SudoAttrMap,
    /// `ldap_sudo_full_refresh_interval` seconds (21600; 0 disables).
    pub full_refresh_interval: u32,
    /// `ldap_sudo_smart_refresh_interval` seconds (900; 0 disables).
    pub smart_refresh_interval: u32,
    /// `ldap_sudo_random_offset` seconds (0): up to this much is added to each delay.
    pub random_offset: u32,
    /// `ldap_sudo_use_host_filter` (true).
    pub use_host_filter: bool,
    /// `ldap_sudo_hostnames` (empty: this host's names).
    pub hostnames: Vec<String>,
    /// `ldap_sudo_ip` (empty: this host's addresses and networks).
    pub ips: Vec<String>,
    /// `ldap_sudo_include_netgroups` (true): `+netgroup` hosts pass the host filter.
    pub include_netgroups: bool,
    /// `ldap_sudo_include_regexp` (false): wildcard hosts pass the host filter.
    pub include_regexp: bool,
    /// `entry_cache_sudo_timeout` seconds (`entry_cache_timeout`, 5400).
    pub cache_timeout: u32,
}

fn list(cfg: &Config, s: &str, o: &str) -> Vec<String> {
    cfg.get(s, o)
        .map(|v| {
            v.split([' ', ','])
                .filter(|x| !x.is_empty())
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

fn seconds(cfg: &Config, s: &str, o: &str, default: u32) -> Result<u32, ConfigError> {
    let v = cfg.get_int(s, o, i64::from(default))?;
    u32::try_from(v)
        .map_err(|_| ConfigError::bad_value(s, o, &v.to_string(), "expected 0 or more seconds"))
}

impl SudoOptions {
    /// The options of `[domain/NAME]`.
    pub fn from_config(cfg: &Config, domain: &str) -> Result<SudoOptions, ConfigError> {
        let s = format!("domain/{domain}");
        let s = s.as_str();
        let id = cfg.get(s, "id_provider").unwrap_or("");
        let provider = cfg.get(s, "sudo_provider").unwrap_or(id);
        let text = |o: &str, d: &str| cfg.get(s, o).unwrap_or(d).to_string();
        let entry = crate::config::schema::ENTRY_CACHE_TIMEOUT.read(cfg, s)?;
        Ok(SudoOptions {
            enabled: provider == "ldap",
            search_base: cfg
                .get(s, "ldap_sudo_search_base")
                .or_else(|| cfg.get(s, "ldap_search_base"))
                .map(str::to_string),
            map: SudoAttrMap {
                object_class: text("ldap_sudorule_object_class", "sudoRole"),
                object_class_attr: text("ldap_sudorule_object_class_attr", "objectClass"),
                name: text("ldap_sudorule_name", "cn"),
                command: text("ldap_sudorule_command", "sudoCommand"),
                host: text("ldap_sudorule_host", "sudoHost"),
                user: text("ldap_sudorule_user", "sudoUser"),
                option: text("ldap_sudorule_option", "sudoOption"),
                runas: text("ldap_sudorule_runas", "sudoRunAs"),
                runasuser: text("ldap_sudorule_runasuser", "sudoRunAsUser"),
                runasgroup: text("ldap_sudorule_runasgroup", "sudoRunAsGroup"),
                notbefore: text("ldap_sudorule_notbefore", "sudoNotBefore"),
                notafter: text("ldap_sudorule_notafter", "sudoNotAfter"),
                order: text("ldap_sudorule_order", "sudoOrder"),
            },
            full_refresh_interval: seconds(cfg, s, "ldap_sudo_full_refresh_interval", 21600)?,
            smart_refresh_interval: seconds(cfg, s, "ldap_sudo_smart_refresh_interval", 900)?,
            random_offset: seconds(cfg, s, "ldap_sudo_random_offset", 0)?,
            use_host_filter: cfg.get_bool(s, "ldap_sudo_use_host_filter", true)?,
            hostnames: list(cfg, s, "ldap_sudo_hostnames"),
            ips: list(cfg, s, "ldap_sudo_ip"),
            include_netgroups: cfg.get_bool(s, "ldap_sudo_include_netgroups", true)?,
            include_regexp: cfg.get_bool(s, "ldap_sudo_include_regexp", false)?,
            cache_timeout: seconds(cfg, s, "entry_cache_sudo_timeout", entry)?,
        })
    }
}

/// This host's names for the host filter: the name from `gethostname` and, when it is
/// qualified, its first label.
pub fn local_hostnames() -> Vec<String> {
    let mut buf = [0u8; 256];
    // SAFETY: buf is writable for its length; the result is NUL-terminated or truncated.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len() - 1) };
    if rc != 0 {
        return Vec::new();
    }
    let end = buf.iter().position(|b| *b == 0).unwrap_or(buf.len());
    let h = String::from_utf8_lossy(buf.get(..end).unwrap_or_default()).into_owned();
    let mut out = Vec::new();
    if !h.is_empty() {
        out.push(h.clone());
    }
    if let Some((short, _)) = h.split_once('.') {
        out.push(short.to_string());
    }
    out
}

/// This host's IPv4 addresses and their networks (`192.0.2.7`, `192.0.2.0/24`), loopback
/// excluded, for the host filter.
pub fn local_ips() -> Vec<String> {
    let mut out = Vec::new();
    let mut head: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: getifaddrs fills head with a list freed below.
    if unsafe { libc::getifaddrs(&mut head) } != 0 {
        return out;
    }
    let mut cur = head;
    while !cur.is_null() {
        // SAFETY: cur is an element of the list getifaddrs returned.
        let ifa = unsafe { &*cur };
        cur = ifa.ifa_next;
        if ifa.ifa_addr.is_null() || ifa.ifa_netmask.is_null() {
            continue;
        }
        // SAFETY: ifa_addr points to a sockaddr of at least its family's size.
        let family = i32::from(unsafe { (*ifa.ifa_addr).sa_family });
        if family != libc::AF_INET {
            continue;
        }
        // SAFETY: AF_INET addresses are sockaddr_in (address and mask alike).
        let (a, m) = unsafe {
            (
                (*ifa.ifa_addr.cast::<libc::sockaddr_in>()).sin_addr.s_addr,
                (*ifa.ifa_netmask.cast::<libc::sockaddr_in>())
                    .sin_addr
                    .s_addr,
            )
        };
        let ip = std::net::Ipv4Addr::from(u32::from_be(a));
        if ip.is_loopback() {
            continue;
        }
        let m = u32::from_be(m);
        let net = std::net::Ipv4Addr::from(u32::from(ip) & m);
        out.push(ip.to_string());
        out.push(format!("{net}/{}", m.count_ones()));
    }
    // SAFETY: head came from getifaddrs and is freed once.
    unsafe { libc::freeifaddrs(head) };
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_follow_sssd() {
        let cfg = Config::parse("[domain/d]\nid_provider = ldap\n", "t").unwrap();
        let o = SudoOptions::from_config(&cfg, "d").unwrap();
        assert!(o.enabled);
        assert_eq!(o.full_refresh_interval, 21600);
        assert_eq!(o.smart_refresh_interval, 900);
        assert_eq!(o.random_offset, 0);
        assert!(o.use_host_filter && o.include_netgroups && !o.include_regexp);
        assert_eq!(o.map.object_class, "sudoRole");
        assert_eq!(o.map.order, "sudoOrder");
        assert_eq!(o.cache_timeout, 5400);
        assert_eq!(o.search_base, None);
    }

    #[test]
    fn options_are_read() {
        let cfg = Config::parse(
            "[domain/d]\nid_provider = ldap\nsudo_provider = none\nldap_search_base = dc=x\n\
             ldap_sudo_search_base = ou=SUDOers,dc=x\nldap_sudo_smart_refresh_interval = 5\n\
             ldap_sudo_hostnames = a b.c\nldap_sudorule_user = myUser\n\
             entry_cache_timeout = 60\n",
            "t",
        )
        .unwrap();
        let o = SudoOptions::from_config(&cfg, "d").unwrap();
        assert!(!o.enabled);
        assert_eq!(o.search_base.as_deref(), Some("ou=SUDOers,dc=x"));
        assert_eq!(o.smart_refresh_interval, 5);
        assert_eq!(o.hostnames, ["a", "b.c"]);
        assert_eq!(o.map.user, "myUser");
        assert_eq!(o.cache_timeout, 60);
        let bad = Config::parse("[domain/d]\nldap_sudo_full_refresh_interval = -1\n", "t").unwrap();
        assert!(SudoOptions::from_config(&bad, "d").is_err());
    }
}
