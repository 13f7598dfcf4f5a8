//! Tests for the typed options: defaults, overrides, inheritance and bad values.

use super::options::{
    DEFAULT_FULL_NAME_FORMAT, DEFAULT_RE_EXPRESSION, debug_level, refresh_interval,
};
use super::*;

fn cfg(text: &str) -> Config {
    Config::parse(text, "test.conf").unwrap()
}

const MINIMAL: &str = "[sssd]\ndomains = LDAP\n[domain/LDAP]\nid_provider = ldap\n";

fn bad_value(err: ConfigError) -> (String, String, String, String) {
    match err {
        ConfigError::BadValue {
            section,
            option,
            value,
            message,
        } => (section, option, value, message),
        other => panic!("expected BadValue, got {other:?}"),
    }
}

#[test]
fn sssd_defaults() {
    let o = SssdOptions::from_config(&cfg(MINIMAL)).unwrap();
    assert_eq!(o.domains, vec!["LDAP"]);
    assert!(o.services.is_empty());
    assert_eq!(o.re_expression.as_deref(), Some(DEFAULT_RE_EXPRESSION));
    assert_eq!(o.full_name_format, DEFAULT_FULL_NAME_FORMAT);
    assert_eq!(o.full_name_format, "%1$s@%2$s");
    assert_eq!(o.debug_level, 0);
}

#[test]
fn sssd_overrides_and_debug_alias() {
    let text = "[sssd]\ndomains = LDAP\nservices = nss, pam\nre_expression = ^(?P<name>.+)$\n\
                full_name_format = %1$s\ndebug = 6\n[domain/LDAP]\nid_provider = ldap\n";
    let o = SssdOptions::from_config(&cfg(text)).unwrap();
    assert_eq!(o.services, vec!["nss", "pam"]);
    assert_eq!(o.re_expression.as_deref(), Some("^(?P<name>.+)$"));
    assert_eq!(o.full_name_format, "%1$s");
    assert_eq!(o.debug_level, 6);
    // debug_level wins over debug; hex bitmasks are accepted.
    let c = cfg("[nss]\ndebug = 2\ndebug_level = 0x0270\n");
    assert_eq!(debug_level(&c, "nss").unwrap(), 0x270);
    let (s, o, v, _) = bad_value(debug_level(&cfg("[nss]\ndebug = high\n"), "nss").unwrap_err());
    assert_eq!(
        (s.as_str(), o.as_str(), v.as_str()),
        ("nss", "debug", "high")
    );
}

#[test]
fn sssd_without_domains_fails() {
    assert!(matches!(
        SssdOptions::from_config(&cfg("[sssd]\nservices = nss\n")).unwrap_err(),
        ConfigError::Missing(_)
    ));
}

#[test]
fn nss_defaults() {
    let o = NssOptions::from_config(&cfg(MINIMAL)).unwrap();
    assert_eq!(o.enum_cache_timeout, 120);
    assert_eq!(o.entry_cache_nowait_percentage, 50);
    assert_eq!(o.entry_negative_timeout, 15);
    assert_eq!(o.filter_users, vec!["root"]);
    assert_eq!(o.filter_groups, vec!["root"]);
    assert!(o.filter_users_in_groups);
    assert_eq!(o.pwfield, "*");
    assert_eq!(o.override_homedir, None);
    assert_eq!(o.fallback_homedir, None);
    assert_eq!(o.homedir_substring, "/home");
    assert_eq!(o.override_shell, None);
    assert!(o.allowed_shells.is_empty() && o.vetoed_shells.is_empty());
    assert_eq!(o.shell_fallback, "/bin/sh");
    assert_eq!(o.default_shell, None);
    assert_eq!(o.memcache_timeout, 300);
    assert_eq!(
        (
            o.memcache_size_passwd,
            o.memcache_size_group,
            o.memcache_size_initgroups,
            o.memcache_size_sid
        ),
        (8, 6, 10, 6)
    );
    assert_eq!(o.client_idle_timeout, 60);
}

#[test]
fn memcache_sizes() {
    let o = NssOptions::from_config(&cfg(
        "[nss]\nmemcache_size_passwd = 0\nmemcache_size_group = 1\n\
         memcache_size_initgroups = 3713\nmemcache_size_sid = 0\n",
    ))
    .unwrap();
    assert_eq!(
        (
            o.memcache_size_passwd,
            o.memcache_size_group,
            o.memcache_size_initgroups,
            o.memcache_size_sid
        ),
        (0, 1, 3713, 0)
    );
    assert!(sss_proto::memcache::Geometry::for_mib(super::options::MAX_MEMCACHE_MIB).is_some());
    assert!(sss_proto::memcache::Geometry::for_mib(super::options::MAX_MEMCACHE_MIB + 1).is_none());
    for (opt, v) in [
        ("memcache_size_passwd", "-1"),
        ("memcache_size_group", "3714"),
        ("memcache_size_initgroups", "ten"),
        ("memcache_size_sid", "-6"),
    ] {
        let e = NssOptions::from_config(&cfg(&format!("[nss]\n{opt} = {v}\n"))).unwrap_err();
        let (section, option, value, _) = bad_value(e);
        assert_eq!(
            (section.as_str(), option.as_str(), value.as_str()),
            ("nss", opt, v)
        );
    }
}

#[test]
fn nss_overrides() {
    let text = "[nss]\nenum_cache_timeout = 5\nentry_cache_nowait_percentage = 0\n\
                entry_negative_timeout = 0\nfilter_users = alice, bob\nfilter_groups = ,\n\
                filter_users_in_groups = false\npwfield = x\noverride_homedir = /home/%u\n\
                fallback_homedir = /home/%d/%u\nhomedir_substring = /srv\n\
                override_shell = /bin/zsh\nallowed_shells = /bin/bash,/bin/zsh\n\
                vetoed_shells = /bin/csh\nshell_fallback = /bin/bash\ndefault_shell = /bin/ksh\n\
                memcache_timeout = 0\nclient_idle_timeout = 3\n";
    let o = NssOptions::from_config(&cfg(text)).unwrap();
    assert_eq!(o.enum_cache_timeout, 5);
    assert_eq!(o.entry_cache_nowait_percentage, 0);
    assert_eq!(o.entry_negative_timeout, 0);
    assert_eq!(o.filter_users, vec!["root", "alice", "bob"], "root always");
    assert_eq!(o.filter_groups, vec!["root"]);
    assert!(!o.filter_users_in_groups);
    assert_eq!(o.pwfield, "x");
    assert_eq!(o.override_homedir.as_deref(), Some("/home/%u"));
    assert_eq!(o.fallback_homedir.as_deref(), Some("/home/%d/%u"));
    assert_eq!(o.homedir_substring, "/srv");
    assert_eq!(o.override_shell.as_deref(), Some("/bin/zsh"));
    assert_eq!(o.allowed_shells, vec!["/bin/bash", "/bin/zsh"]);
    assert_eq!(o.vetoed_shells, vec!["/bin/csh"]);
    assert_eq!(o.shell_fallback, "/bin/bash");
    assert_eq!(o.default_shell.as_deref(), Some("/bin/ksh"));
    assert_eq!(o.memcache_timeout, 0);
    assert_eq!(o.client_idle_timeout, 10, "raised to the minimum");
    let o = NssOptions::from_config(&cfg("[nss]\nclient_idle_timeout = -5\n")).unwrap();
    assert_eq!(o.client_idle_timeout, 10);
    let o = NssOptions::from_config(&cfg("[nss]\nclient_idle_timeout = 0x20\n")).unwrap();
    assert_eq!(o.client_idle_timeout, 32);
}

#[test]
fn empty_values_mean_default() {
    let text = "[nss]\nfilter_users =\nenum_cache_timeout =\nfilter_users_in_groups =\n\
                pwfield =\n";
    let o = NssOptions::from_config(&cfg(text)).unwrap();
    assert_eq!(o.filter_users, vec!["root"]);
    assert_eq!(o.enum_cache_timeout, 120);
    assert!(o.filter_users_in_groups);
    assert_eq!(o.pwfield, "*");
}

#[test]
fn nss_bad_values() {
    let (s, o, v, _) =
        bad_value(NssOptions::from_config(&cfg("[nss]\nenum_cache_timeout = -1\n")).unwrap_err());
    assert_eq!(
        (s.as_str(), o.as_str(), v.as_str()),
        ("nss", "enum_cache_timeout", "-1")
    );
    let (_, o, v, _) = bad_value(
        NssOptions::from_config(&cfg("[nss]\nentry_cache_nowait_percentage = 100\n")).unwrap_err(),
    );
    assert_eq!(
        (o.as_str(), v.as_str()),
        ("entry_cache_nowait_percentage", "100")
    );
    let (_, o, _, _) = bad_value(
        NssOptions::from_config(&cfg("[nss]\nfilter_users_in_groups = yes\n")).unwrap_err(),
    );
    assert_eq!(o, "filter_users_in_groups");
    let (_, o, _, _) =
        bad_value(NssOptions::from_config(&cfg("[nss]\nmemcache_timeout = 5m\n")).unwrap_err());
    assert_eq!(o, "memcache_timeout");
}

#[test]
fn domain_defaults() {
    let o = DomainOptions::from_config(&cfg(MINIMAL), "LDAP").unwrap();
    assert_eq!(o.name, "LDAP");
    assert_eq!(o.id_provider, "ldap");
    assert_eq!(o.auth_provider, "ldap");
    assert_eq!(o.access_provider, "permit");
    assert!(!o.enumerate);
    assert_eq!((o.min_id, o.max_id), (1, 0));
    assert!(o.case_sensitive);
    assert!(!o.use_fully_qualified_names);
    assert_eq!(o.full_name_format, "%1$s@%2$s");
    assert_eq!(o.entry_cache_timeout, 5400);
    assert_eq!(o.entry_cache_user_timeout, 5400);
    assert_eq!(o.entry_cache_group_timeout, 5400);
    assert!(!o.cache_credentials);
    assert!(o.filter_users.is_empty() && o.filter_groups.is_empty());
    assert_eq!(o.override_homedir, None);
    assert_eq!(o.fallback_homedir, None);
    assert_eq!(o.override_shell, None);
    assert_eq!(o.default_shell, None);
    assert!(!o.ignore_group_members);
    assert_eq!(o.offline_timeout, 60);
    assert_eq!(o.offline_timeout_max, 3600);
    assert_eq!(o.offline_timeout_random_offset, 30);
    assert_eq!(o.refresh_expired_interval, 0);
    assert_eq!(o.refresh_expired_interval_offset, 0);
}

#[test]
fn offline_and_refresh_options() {
    let text = "[sssd]\ndomains = D\n[domain/D]\nid_provider = ldap\n\
                offline_timeout_max = 0\noffline_timeout_random_offset = 5\n\
                entry_cache_timeout = 100\nrefresh_expired_interval = 60\n\
                refresh_expired_interval_offset = 10\n";
    let o = DomainOptions::from_config(&cfg(text), "D").unwrap();
    assert_eq!(o.offline_timeout_max, 0);
    assert_eq!(o.offline_timeout_random_offset, 5);
    assert_eq!(
        (
            o.refresh_expired_interval,
            o.refresh_expired_interval_offset
        ),
        (60, 10)
    );
    // Over entry_cache_timeout: SSSD's correction to 70% and 10% of that.
    let c = cfg(&text.replace("offset = 10", "offset = 41"));
    let o = DomainOptions::from_config(&c, "D").unwrap();
    assert_eq!(
        (
            o.refresh_expired_interval,
            o.refresh_expired_interval_offset
        ),
        (70, 7)
    );
    assert_eq!(refresh_interval("d", 100, 0, 100), (100, 0));
    assert_eq!(refresh_interval("d", u32::MAX, u32::MAX, 5400), (3780, 378));
    let bad = cfg(&text.replace("max = 0", "max = -1"));
    assert!(DomainOptions::from_config(&bad, "D").is_err());
}

#[test]
fn domain_overrides_and_inheritance() {
    let text = "[sssd]\ndomains = D\nfull_name_format = %2$s\\%1$s\n[domain/D]\n\
                id_provider = ldap\nauth_provider = krb5\naccess_provider = simple\n\
                enumerate = True\nmin_id = 1000\nmax_id = 2000\ncase_sensitive = Preserving\n\
                use_fully_qualified_names = true\nentry_cache_timeout = 100\n\
                entry_cache_group_timeout = 7\ncache_credentials = true\nfilter_users = a,b\n\
                filter_groups = g\noverride_homedir = /h/%u\nfallback_homedir = /f/%u\n\
                override_shell = /bin/zsh\ndefault_shell = /bin/bash\n\
                ignore_group_members = true\noffline_timeout = 30\n";
    let o = DomainOptions::from_config(&cfg(text), "D").unwrap();
    assert_eq!(o.auth_provider, "krb5");
    assert_eq!(o.access_provider, "simple");
    assert!(o.enumerate);
    assert_eq!((o.min_id, o.max_id), (1000, 2000));
    assert!(!o.case_sensitive, "preserving compares case-insensitively");
    assert!(o.use_fully_qualified_names);
    assert_eq!(o.full_name_format, "%2$s\\%1$s", "inherited from [sssd]");
    assert_eq!(o.entry_cache_timeout, 100);
    assert_eq!(
        o.entry_cache_user_timeout, 100,
        "defaults to entry_cache_timeout"
    );
    assert_eq!(o.entry_cache_group_timeout, 7);
    assert!(o.cache_credentials);
    assert_eq!(o.filter_users, vec!["a", "b"]);
    assert_eq!(o.filter_groups, vec!["g"]);
    assert_eq!(o.override_homedir.as_deref(), Some("/h/%u"));
    assert_eq!(o.fallback_homedir.as_deref(), Some("/f/%u"));
    assert_eq!(o.override_shell.as_deref(), Some("/bin/zsh"));
    assert_eq!(o.default_shell.as_deref(), Some("/bin/bash"));
    assert!(o.ignore_group_members);
    assert_eq!(o.offline_timeout, 30);
    // The domain's own full_name_format beats [sssd]'s.
    let c = cfg(&format!("{text}full_name_format = %1$s\n"));
    assert_eq!(
        DomainOptions::from_config(&c, "D")
            .unwrap()
            .full_name_format,
        "%1$s"
    );
    // case_sensitive = false.
    let c = cfg(&format!("{text}case_sensitive = FALSE\n"));
    assert!(!DomainOptions::from_config(&c, "D").unwrap().case_sensitive);
}

#[test]
fn domain_errors() {
    let no_provider = cfg("[domain/D]\nenumerate = true\n");
    let err = DomainOptions::from_config(&no_provider, "D").unwrap_err();
    assert!(err.to_string().contains("id_provider"), "{err}");
    let err = DomainOptions::from_config(&cfg(MINIMAL), "OTHER").unwrap_err();
    assert!(err.to_string().contains("[domain/OTHER]"), "{err}");
    let bad = |extra: &str| {
        bad_value(
            DomainOptions::from_config(&cfg(&format!("{MINIMAL}{extra}\n")), "LDAP").unwrap_err(),
        )
    };
    let (s, o, v, _) = bad("case_sensitive = maybe");
    assert_eq!(
        (s.as_str(), o.as_str(), v.as_str()),
        ("domain/LDAP", "case_sensitive", "maybe")
    );
    assert_eq!(bad("min_id = 10\nmax_id = 5").1, "min_id");
    assert_eq!(bad("max_id = 99999999999").1, "max_id");
    assert_eq!(bad("enumerate = 1").1, "enumerate");
    assert_eq!(
        bad("entry_cache_user_timeout = soon").1,
        "entry_cache_user_timeout"
    );
}

const LDAP: &str = "[sssd]\ndomains = LDAP\n[domain/LDAP]\nid_provider = ldap\n\
                    ldap_uri = ldap://127.0.0.1:3890, ldaps://backup.example:6360\n";

#[test]
fn backup_servers_follow_the_primaries() {
    let text =
        format!("{LDAP}ldap_backup_uri = ldap://b1:389,ldaps://b2\nfailover_primary_timeout = 5\n");
    let o = LdapOptions::from_config(&cfg(&text), "LDAP").unwrap();
    assert_eq!(o.backup_uris, vec!["ldap://b1:389", "ldaps://b2"]);
    assert_eq!(o.failover_primary_timeout, 5);
    assert_eq!(
        o.servers(),
        vec![
            "ldap://127.0.0.1:3890",
            "ldaps://backup.example:6360",
            "ldap://b1:389",
            "ldaps://b2"
        ]
    );
}

#[test]
fn ldap_defaults() {
    let o = LdapOptions::from_config(&cfg(LDAP), "LDAP").unwrap();
    assert_eq!(
        o.uris,
        vec!["ldap://127.0.0.1:3890", "ldaps://backup.example:6360"]
    );
    assert!(o.backup_uris.is_empty());
    assert_eq!(o.failover_primary_timeout, 31);
    assert_eq!(o.search_base, None);
    assert_eq!(o.user_search_base, None);
    assert_eq!(o.group_search_base, None);
    assert!(!o.rfc2307bis);
    assert_eq!(o.group_nesting_level, 2);
    assert_eq!(o.default_bind_dn, None);
    assert_eq!(o.default_authtok, None);
    assert!(o.id_use_start_tls);
    assert_eq!(o.tls_reqcert, "hard");
    assert_eq!(o.tls_cacert, None);
    assert_eq!(o.page_size, 1000);
    assert_eq!(
        (o.search_timeout, o.network_timeout, o.opt_timeout),
        (6, 6, 8)
    );
    assert_eq!(o.enumeration_refresh_timeout, 300);
    assert_eq!(o.enumeration_search_timeout, 60);
    assert_eq!(o.user_object_class, "posixAccount");
    assert_eq!(o.user_name, "uid");
    assert_eq!(o.user_uid_number, "uidNumber");
    assert_eq!(o.user_gid_number, "gidNumber");
    assert_eq!(o.user_gecos, "gecos");
    assert_eq!(o.user_fullname, "cn");
    assert_eq!(o.user_home_directory, "homeDirectory");
    assert_eq!(o.user_shell, "loginShell");
    assert_eq!(o.user_principal, "krbPrincipalName");
    assert_eq!(o.user_extra_filter, None);
    assert_eq!(o.group_object_class, "posixGroup");
    assert_eq!(o.group_name, "cn");
    assert_eq!(o.group_gid_number, "gidNumber");
    assert_eq!(o.group_member, "memberUid");
    assert_eq!(o.group_extra_filter, None);
}

#[test]
fn ldap_overrides() {
    let text = format!(
        "{LDAP}ldap_search_base = dc=example,dc=com\nldap_group_search_base = ou=g,dc=example,dc=com\n\
         ldap_schema = rfc2307bis\nldap_group_nesting_level = 0\n\
         ldap_default_bind_dn = cn=admin,dc=example,dc=com\nldap_default_authtok_type = password\n\
         ldap_default_authtok = p@ss;word#1\nldap_id_use_start_tls = false\n\
         ldap_tls_reqcert = Never\nldap_tls_cacert = /etc/ssl/ca.pem\nldap_page_size = 0\n\
         ldap_search_timeout = 1\nldap_network_timeout = 2\nldap_opt_timeout = 3\n\
         ldap_enumeration_refresh_timeout = 4\nldap_enumeration_search_timeout = 5\n\
         ldap_user_object_class = inetOrgPerson\nldap_user_name = cn\n\
         ldap_user_search_filter = (employeeType=staff)\nldap_group_object_class = groupOfNames\n\
         ldap_group_search_filter = (!(cn=hidden))\nldap_group_member = uniqueMember\n"
    );
    let o = LdapOptions::from_config(&cfg(&text), "LDAP").unwrap();
    assert_eq!(o.search_base.as_deref(), Some("dc=example,dc=com"));
    assert_eq!(
        o.user_search_base.as_deref(),
        Some("dc=example,dc=com"),
        "from search_base"
    );
    assert_eq!(
        o.group_search_base.as_deref(),
        Some("ou=g,dc=example,dc=com")
    );
    assert!(o.rfc2307bis);
    assert_eq!(o.group_nesting_level, 0);
    assert_eq!(
        o.default_bind_dn.as_deref(),
        Some("cn=admin,dc=example,dc=com")
    );
    assert_eq!(o.default_authtok.as_deref(), Some("p@ss;word#1"));
    assert!(!o.id_use_start_tls);
    assert_eq!(o.tls_reqcert, "never");
    assert_eq!(o.tls_cacert.as_deref(), Some("/etc/ssl/ca.pem"));
    assert_eq!(o.page_size, 0);
    assert_eq!(
        (o.search_timeout, o.network_timeout, o.opt_timeout),
        (1, 2, 3)
    );
    assert_eq!(
        (o.enumeration_refresh_timeout, o.enumeration_search_timeout),
        (4, 5)
    );
    assert_eq!(o.user_object_class, "inetOrgPerson");
    assert_eq!(o.user_name, "cn");
    assert_eq!(o.user_extra_filter.as_deref(), Some("(employeeType=staff)"));
    assert_eq!(o.group_object_class, "groupOfNames");
    assert_eq!(o.group_extra_filter.as_deref(), Some("(!(cn=hidden))"));
    assert_eq!(o.group_member, "uniqueMember");
    let shown = format!("{o:?}");
    assert!(!shown.contains("p@ss"), "{shown}");
}

#[test]
fn ldap_schema_sets_member_default() {
    for (schema, bis, member) in [
        ("rfc2307", false, "memberUid"),
        ("RFC2307bis", true, "member"),
        ("ad", true, "member"),
        ("ipa", true, "member"),
    ] {
        let c = cfg(&format!("{LDAP}ldap_schema = {schema}\n"));
        let o = LdapOptions::from_config(&c, "LDAP").unwrap();
        assert_eq!(
            (o.rfc2307bis, o.group_member.as_str()),
            (bis, member),
            "{schema}"
        );
        let class = if schema == "ad" {
            "group"
        } else {
            "posixGroup"
        };
        assert_eq!(o.group_object_class, class, "{schema}");
    }
}

#[test]
fn ldap_schema_ad_uses_sssds_ad_attribute_map() {
    let o = LdapOptions::from_config(&cfg(&format!("{LDAP}ldap_schema = ad\n")), "LDAP").unwrap();
    assert_eq!(
        (
            o.user_object_class.as_str(),
            o.user_name.as_str(),
            o.user_home_directory.as_str(),
            o.user_principal.as_str(),
            o.user_fullname.as_str(),
        ),
        (
            "user",
            "sAMAccountName",
            "unixHomeDirectory",
            "userPrincipalName",
            "name"
        )
    );
    assert_eq!(
        (o.group_object_class.as_str(), o.group_name.as_str()),
        ("group", "sAMAccountName")
    );
    // An explicit map option still wins.
    let o = LdapOptions::from_config(
        &cfg(&format!("{LDAP}ldap_schema = ad\nldap_user_name = cn\n")),
        "LDAP",
    )
    .unwrap();
    assert_eq!(o.user_name, "cn");
}

#[test]
fn ldap_bad_values() {
    let bad = |extra: &str| {
        bad_value(LdapOptions::from_config(&cfg(&format!("{LDAP}{extra}\n")), "LDAP").unwrap_err())
    };
    let (s, o, v, _) = bad("ldap_schema = nis");
    assert_eq!(
        (s.as_str(), o.as_str(), v.as_str()),
        ("domain/LDAP", "ldap_schema", "nis")
    );
    let (_, o, _, m) = bad("ldap_default_authtok_type = obfuscated_password");
    assert_eq!(o, "ldap_default_authtok_type");
    assert!(m.contains("not supported yet"), "{m}");
    assert_eq!(
        bad("ldap_default_authtok_type = token").1,
        "ldap_default_authtok_type"
    );
    assert_eq!(bad("ldap_tls_reqcert = sometimes").1, "ldap_tls_reqcert");
    assert_eq!(bad("ldap_uri = http://x").1, "ldap_uri");
    assert_eq!(
        bad("ldap_backup_uri = ldap://a, ftp://b").1,
        "ldap_backup_uri"
    );
    assert_eq!(
        bad("failover_primary_timeout = soon").1,
        "failover_primary_timeout"
    );
    assert_eq!(bad("ldap_page_size = -5").1, "ldap_page_size");
    assert_eq!(bad("ldap_id_use_start_tls = on").1, "ldap_id_use_start_tls");
}

#[test]
fn re_expression_follows_domain_then_sssd_then_provider() {
    let text = "[sssd]\ndomains = L, A\n[domain/L]\nid_provider = ldap\n\
                [domain/A]\nid_provider = ad\nad_domain = corp.example.com\n";
    let pattern = |c: &Config, d: &str| {
        DomainOptions::from_config(c, d)
            .unwrap()
            .re_expression
            .map(|r| r.pattern().to_string())
    };
    let c = cfg(text);
    assert_eq!(pattern(&c, "L").as_deref(), Some(DEFAULT_RE_EXPRESSION));
    assert_eq!(
        pattern(&c, "A").as_deref(),
        Some(options::DEFAULT_AD_RE_EXPRESSION)
    );
    let a = DomainOptions::from_config(&c, "A").unwrap();
    assert_eq!(a.flat_name.as_deref(), Some("CORP"));
    // [sssd]'s beats the provider default; the domain's own beats both.
    let c = cfg(&text.replace("[domain/L]", "re_expression = ^(?P<name>.+)$\n[domain/L]"));
    assert_eq!(pattern(&c, "A").as_deref(), Some("^(?P<name>.+)$"));
    let c = cfg(&format!("{text}re_expression = ^(?P<name>x)$\n"));
    assert_eq!(pattern(&c, "A").as_deref(), Some("^(?P<name>x)$"));
    assert_eq!(pattern(&c, "L").as_deref(), Some(DEFAULT_RE_EXPRESSION));
}

#[test]
fn bad_re_expressions_and_formats_are_refused_by_name() {
    let c = cfg(&format!("{MINIMAL}re_expression = ^(?P<name>.+\n"));
    let (section, option, _, message) =
        bad_value(DomainOptions::from_config(&c, "LDAP").unwrap_err());
    assert_eq!(
        (section.as_str(), option.as_str()),
        ("domain/LDAP", "re_expression")
    );
    assert!(
        message.contains("not a valid regular expression"),
        "{message}"
    );
    let c = cfg(&MINIMAL.replace(
        "[domain/LDAP]",
        "re_expression = ^(?P<user>.+)$\n[domain/LDAP]",
    ));
    let (section, option, _, message) = bad_value(SssdOptions::from_config(&c).unwrap_err());
    assert_eq!(
        (section.as_str(), option.as_str()),
        ("sssd", "re_expression")
    );
    assert!(message.contains("no (?P<name>"), "{message}");
    let (section, ..) = bad_value(DomainOptions::from_config(&c, "LDAP").unwrap_err());
    assert_eq!(section, "sssd", "the domain inherits [sssd]'s");
    let c = cfg(&format!("{MINIMAL}full_name_format = %2$s\n"));
    let (_, option, ..) = bad_value(DomainOptions::from_config(&c, "LDAP").unwrap_err());
    assert_eq!(option, "full_name_format");
}

#[test]
fn default_domain_suffix_qualifies_every_domain() {
    let text = "[sssd]\ndomains = LDAP\ndefault_domain_suffix = LDAP\n\
                [domain/LDAP]\nid_provider = ldap\n";
    let c = cfg(text);
    let o = SssdOptions::from_config(&c).unwrap();
    assert_eq!(o.default_domain_suffix.as_deref(), Some("LDAP"));
    let d = DomainOptions::from_config(&c, "LDAP").unwrap();
    assert!(d.use_fully_qualified_names);
    assert_eq!(d.default_domain_suffix.as_deref(), Some("LDAP"));
    let c = cfg(&format!("{text}use_fully_qualified_names = false\n"));
    let (_, option, ..) = bad_value(DomainOptions::from_config(&c, "LDAP").unwrap_err());
    assert_eq!(option, "use_fully_qualified_names");
    assert!(
        !DomainOptions::from_config(&cfg(MINIMAL), "LDAP")
            .unwrap()
            .use_fully_qualified_names
    );
}
