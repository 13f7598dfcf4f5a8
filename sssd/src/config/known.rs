//! Option names SSSD knows, per kind of section, so unknown (usually misspelt) options can be
//! reported. Each list is one whitespace-separated string, sorted by name.

use std::collections::HashSet;
use std::sync::OnceLock;

/// The option names of one kind of section: a whitespace-separated list, turned into a
/// lowercase set on first use.
struct Known {
    names: &'static str,
    set: OnceLock<HashSet<String>>,
}

impl Known {
    const fn new(names: &'static str) -> Known {
        Known {
            names,
            set: OnceLock::new(),
        }
    }

    /// Whether `option` is in the list (ASCII case-insensitive).
    fn contains(&self, option: &str) -> bool {
        self.set
            .get_or_init(|| {
                self.names
                    .split_whitespace()
                    .map(str::to_ascii_lowercase)
                    .collect()
            })
            .contains(&option.to_ascii_lowercase())
    }
}

/// `[sssd]` (plus the legacy `config_file_version`, still common and harmless).
static SSSD: Known = Known::new(
    "\
    certificate_verification client_idle_timeout command config_file_version core_dumpable debug \
    debug_backtrace_enabled debug_level debug_microseconds debug_timestamps \
    default_domain_suffix description disable_netlink domain_resolution_order domains \
    enable_files_domain fd_limit \
    full_name_format implicit_pac_responder krb5_rcache_dir monitor_resolv_conf override_space \
    passkey_verification re_expression services timeout try_inotify user",
);

/// `[nss]`.
static NSS: Known = Known::new(
    "\
    allowed_shells cache_first client_idle_timeout command debug debug_backtrace_enabled \
    debug_level debug_microseconds debug_timestamps default_shell description \
    entry_cache_nowait_percentage entry_negative_timeout enum_cache_timeout fallback_homedir \
    fd_limit filter_groups filter_users filter_users_in_groups get_domains_timeout \
    homedir_substring memcache_size_group memcache_size_initgroups memcache_size_passwd \
    memcache_size_sid memcache_timeout override_homedir override_shell pwfield \
    responder_idle_timeout shell_fallback timeout user_attributes vetoed_shells",
);

/// `[pam]`.
static PAM: Known = Known::new(
    "\
    cache_first client_idle_timeout command debug debug_backtrace_enabled debug_level \
    debug_microseconds debug_timestamps description fd_limit get_domains_timeout \
    offline_credentials_expiration offline_failed_login_attempts offline_failed_login_delay \
    p11_child_timeout p11_uri p11_wait_for_card_timeout pam_account_expired_message \
    pam_account_locked_message pam_app_services pam_cert_auth pam_cert_db_path \
    pam_cert_verification pam_gssapi_check_upn pam_gssapi_indicators_apply \
    pam_gssapi_indicators_map pam_gssapi_services pam_id_timeout pam_initgroups_scheme \
    pam_json_services pam_p11_allowed_services pam_passkey_auth pam_public_domains \
    pam_pwd_expiration_warning pam_response_filter pam_trusted_users pam_verbosity \
    passkey_child_timeout passkey_debug_libfido2 responder_idle_timeout timeout",
);

/// `[sudo]`.
static SUDO: Known = Known::new(
    "\
    cache_first client_idle_timeout command debug debug_backtrace_enabled debug_level \
    debug_microseconds debug_timestamps description fd_limit responder_idle_timeout \
    sudo_inverse_order sudo_threshold sudo_timed timeout",
);

/// `[autofs]`.
static AUTOFS: Known = Known::new(
    "\
    autofs_negative_timeout cache_first client_idle_timeout command debug \
    debug_backtrace_enabled debug_level debug_microseconds debug_timestamps description fd_limit \
    responder_idle_timeout timeout",
);

/// `[ssh]`.
static SSH: Known = Known::new(
    "\
    ca_db cache_first client_idle_timeout command debug debug_backtrace_enabled debug_level \
    debug_microseconds debug_timestamps description fd_limit responder_idle_timeout \
    ssh_hash_known_hosts ssh_known_hosts_timeout ssh_use_certificate_keys \
    ssh_use_certificate_matching_rules timeout",
);

/// `[pac]`.
static PAC: Known = Known::new(
    "\
    allowed_uids cache_first client_idle_timeout command debug debug_backtrace_enabled \
    debug_level debug_microseconds debug_timestamps description fd_limit pac_check pac_lifetime \
    responder_idle_timeout timeout",
);

/// `[ifp]`.
static IFP: Known = Known::new(
    "\
    allowed_uids cache_first client_idle_timeout command debug debug_backtrace_enabled \
    debug_level debug_microseconds debug_timestamps description fd_limit responder_idle_timeout \
    timeout user_attributes",
);

/// `[kcm]`.
static KCM: Known = Known::new(
    "\
    ccache_storage client_idle_timeout command debug debug_backtrace_enabled debug_level \
    debug_microseconds debug_timestamps description fd_limit krb5_auth_timeout krb5_canonicalize \
    krb5_lifetime krb5_renew_interval krb5_renewable_lifetime krb5_validate max_ccache_size \
    max_ccaches max_uid_ccaches responder_idle_timeout socket_path tgt_renewal \
    tgt_renewal_inherit timeout",
);

/// `[session_recording]`.
static SESSION_RECORDING: Known = Known::new(
    "\
    description exclude_groups exclude_users groups scope users",
);

/// `[domain/NAME]` and `[application/NAME]`: common, LDAP, Kerberos, AD, IPA, proxy and other provider options.
static DOMAIN: Known = Known::new(
    "\
    access_provider account_cache_expiration ad_access_filter ad_backup_server ad_domain \
    ad_enable_dns_sites ad_enable_gc ad_enabled_domains ad_gpo_access_control \
    ad_gpo_cache_timeout ad_gpo_default_right ad_gpo_ignore_unreadable ad_gpo_implicit_deny \
    ad_gpo_map_batch ad_gpo_map_deny ad_gpo_map_interactive ad_gpo_map_network ad_gpo_map_permit \
    ad_gpo_map_remote_interactive ad_gpo_map_service ad_hostname \
    ad_machine_account_password_renewal_opts ad_maximum_machine_account_password_age ad_server \
    ad_site ad_update_samba_machine_account_password ad_use_ldaps auth_provider \
    auto_private_groups autofs_provider avoid_by_id_lookups cache_credentials \
    cache_credentials_minimal_first_factor_length cached_auth_timeout case_sensitive \
    chpass_provider client_idle_timeout command debug debug_backtrace_enabled debug_level \
    debug_microseconds debug_timestamps default_shell description dns_discovery_domain \
    dns_resolver_op_timeout dns_resolver_server_timeout dns_resolver_timeout \
    dns_resolver_use_search_list domain_type dyndns_address dyndns_auth dyndns_auth_ptr \
    dyndns_dot_cacert dyndns_dot_cert dyndns_dot_key dyndns_force_tcp dyndns_iface \
    dyndns_refresh_interval dyndns_refresh_interval_offset dyndns_server dyndns_ttl \
    dyndns_update dyndns_update_per_family dyndns_update_ptr enabled entry_cache_autofs_timeout \
    entry_cache_computer_timeout entry_cache_group_timeout entry_cache_netgroup_timeout \
    entry_cache_resolver_timeout entry_cache_service_timeout entry_cache_ssh_host_timeout \
    entry_cache_sudo_timeout entry_cache_timeout entry_cache_user_timeout enumerate \
    fallback_to_nss group_files passwd_files \
    failover_primary_timeout fallback_homedir fd_limit filter_groups filter_users \
    full_name_format homedir_substring hostid_provider id_provider idmap_range_max \
    idmap_range_min idmap_range_size idp_auth_scope idp_auto_refresh idp_client_id \
    idp_client_secret idp_device_auth_endpoint idp_id_scope idp_request_timeout \
    idp_token_endpoint idp_type idp_userinfo_endpoint ignore_group_members inherit_from \
    ipa_access_order ipa_anchor_uuid ipa_automount_location ipa_backup_server \
    ipa_deskprofile_refresh ipa_deskprofile_request_interval ipa_deskprofile_search_base \
    ipa_domain ipa_group_override_object_class ipa_hbac_refresh ipa_hbac_search_base \
    ipa_hbac_support_srchost ipa_host_fqdn ipa_host_member_of ipa_host_name \
    ipa_host_object_class ipa_host_search_base ipa_host_serverhostname ipa_host_ssh_public_key \
    ipa_host_uuid ipa_hostgroup_member ipa_hostgroup_memberof ipa_hostgroup_name \
    ipa_hostgroup_objectclass ipa_hostgroup_uuid ipa_hostname ipa_master_domain_search_base \
    ipa_netgroup_domain ipa_netgroup_member ipa_netgroup_member_ext_host \
    ipa_netgroup_member_host ipa_netgroup_member_of ipa_netgroup_member_user ipa_netgroup_name \
    ipa_netgroup_object_class ipa_netgroup_uuid ipa_override_object_class ipa_ranges_search_base \
    ipa_selinux_refresh ipa_selinux_usermap_enabled ipa_selinux_usermap_host_category \
    ipa_selinux_usermap_member_host ipa_selinux_usermap_member_user ipa_selinux_usermap_name \
    ipa_selinux_usermap_object_class ipa_selinux_usermap_see_also \
    ipa_selinux_usermap_selinux_user ipa_selinux_usermap_user_category ipa_selinux_usermap_uuid \
    ipa_server ipa_server_mode ipa_subdomains_search_base ipa_subid_ranges_search_base \
    ipa_sudocmd_memberof ipa_sudocmd_object_class ipa_sudocmd_sudoCmd ipa_sudocmd_uuid \
    ipa_sudocmdgroup_entry_usn ipa_sudocmdgroup_member ipa_sudocmdgroup_name \
    ipa_sudocmdgroup_object_class ipa_sudocmdgroup_uuid ipa_sudorule_allowcmd \
    ipa_sudorule_cmdcategory ipa_sudorule_denycmd ipa_sudorule_enabled_flag \
    ipa_sudorule_entry_usn ipa_sudorule_externaluser ipa_sudorule_host ipa_sudorule_hostcategory \
    ipa_sudorule_name ipa_sudorule_notafter ipa_sudorule_notbefore ipa_sudorule_object_class \
    ipa_sudorule_option ipa_sudorule_runasextgroup ipa_sudorule_runasextuser \
    ipa_sudorule_runasextusergroup ipa_sudorule_runasgroup ipa_sudorule_runasgroupcategory \
    ipa_sudorule_runasusercategory ipa_sudorule_sudoorder ipa_sudorule_user \
    ipa_sudorule_usercategory ipa_sudorule_uuid ipa_user_override_object_class ipa_view_class \
    ipa_view_name ipa_views_search_base krb5_auth_timeout krb5_backup_kpasswd krb5_backup_server \
    krb5_canonicalize krb5_ccachedir krb5_ccname_template krb5_confd_path krb5_fast_principal \
    krb5_fast_use_anonymous_pkinit krb5_kdcinfo_lookahead krb5_kdcip krb5_keytab krb5_kpasswd \
    krb5_lifetime krb5_map_user krb5_realm krb5_renew_interval krb5_renewable_lifetime \
    krb5_server krb5_store_password_if_offline krb5_use_enterprise_principal krb5_use_fast \
    krb5_use_kdcinfo krb5_use_subdomain_realm krb5_validate ldap_access_filter ldap_access_order \
    ldap_account_expire_policy ldap_autofs_entry_key ldap_autofs_entry_object_class \
    ldap_autofs_entry_value ldap_autofs_map_master_name ldap_autofs_map_name \
    ldap_autofs_map_object_class ldap_autofs_search_base ldap_backup_uri ldap_chpass_backup_uri \
    ldap_chpass_dns_service_name ldap_chpass_update_last_change ldap_chpass_uri \
    ldap_connection_expire_offset ldap_connection_expire_timeout ldap_connection_idle_timeout \
    ldap_default_authtok ldap_default_authtok_type ldap_default_bind_dn ldap_deref \
    ldap_deref_threshold ldap_disable_paging ldap_disable_range_retrieval ldap_dns_service_name \
    ldap_entry_usn ldap_enumeration_refresh_offset ldap_enumeration_refresh_timeout \
    ldap_enumeration_search_timeout ldap_force_upper_case_realm ldap_group_entry_usn \
    ldap_group_external_member ldap_group_gid_number ldap_group_member \
    ldap_group_modify_timestamp ldap_group_name ldap_group_nesting_level ldap_group_object_class \
    ldap_group_objectsid ldap_group_search_base ldap_group_search_filter ldap_group_search_scope \
    ldap_group_type ldap_group_uuid ldap_host_fqdn ldap_host_member_of ldap_host_name \
    ldap_host_object_class ldap_host_search_base ldap_host_serverhostname \
    ldap_host_ssh_public_key ldap_host_uuid ldap_id_mapping ldap_id_use_start_tls \
    ldap_idmap_autorid_compat ldap_idmap_default_domain ldap_idmap_default_domain_sid \
    ldap_idmap_helper_table_size ldap_idmap_range_max ldap_idmap_range_min ldap_idmap_range_size \
    ldap_ignore_unreadable_references ldap_iphost_entry_usn ldap_iphost_name ldap_iphost_number \
    ldap_iphost_object_class ldap_iphost_search_base ldap_ipnetwork_entry_usn \
    ldap_ipnetwork_name ldap_ipnetwork_number ldap_ipnetwork_object_class \
    ldap_ipnetwork_search_base ldap_krb5_init_creds ldap_krb5_keytab ldap_krb5_ticket_lifetime \
    ldap_library_debug_level ldap_max_id ldap_min_id ldap_netgroup_member \
    ldap_netgroup_modify_timestamp ldap_netgroup_name ldap_netgroup_object_class \
    ldap_netgroup_search_base ldap_netgroup_triple ldap_network_timeout ldap_ns_account_lock \
    ldap_offline_timeout ldap_opt_timeout ldap_page_size ldap_ppolicy_pwd_change_threshold \
    ldap_purge_cache_offset ldap_purge_cache_timeout ldap_pwd_attribute ldap_pwd_policy \
    ldap_pwdlockout_dn ldap_pwmodify_mode ldap_read_rootdse ldap_referrals \
    ldap_rfc2307_fallback_to_local_users ldap_rootdse_last_usn ldap_sasl_authid \
    ldap_sasl_canonicalize ldap_sasl_maxssf ldap_sasl_mech ldap_sasl_minssf ldap_sasl_realm \
    ldap_schema ldap_search_base ldap_search_timeout ldap_service_entry_usn ldap_service_name \
    ldap_service_object_class ldap_service_port ldap_service_proto ldap_service_search_base \
    ldap_subgid_count ldap_subgid_number ldap_subid_range_owner ldap_subid_ranges_search_base \
    ldap_subuid_count ldap_subuid_number ldap_subuid_object_class \
    ldap_sudo_full_refresh_interval ldap_sudo_hostnames ldap_sudo_include_netgroups \
    ldap_sudo_include_regexp ldap_sudo_ip ldap_sudo_random_offset ldap_sudo_search_base \
    ldap_sudo_smart_refresh_interval ldap_sudo_use_host_filter ldap_sudorule_command \
    ldap_sudorule_host ldap_sudorule_name ldap_sudorule_notafter ldap_sudorule_notbefore \
    ldap_sudorule_object_class ldap_sudorule_object_class_attr ldap_sudorule_option ldap_sudorule_order ldap_sudorule_runas \
    ldap_sudorule_runasgroup ldap_sudorule_runasuser ldap_sudorule_user ldap_tls_cacert \
    ldap_tls_cacertdir ldap_tls_cert ldap_tls_cipher_suite ldap_tls_key ldap_tls_reqcert \
    ldap_uri ldap_use_ppolicy ldap_use_tokengroups ldap_user_ad_account_expires \
    ldap_user_ad_user_account_control ldap_user_auth_type ldap_user_authorized_host \
    ldap_user_authorized_rhost ldap_user_authorized_service ldap_user_certificate \
    ldap_user_email ldap_user_entry_usn ldap_user_extra_attrs ldap_user_fullname ldap_user_gecos \
    ldap_user_gid_number ldap_user_home_directory ldap_user_krb_last_pwd_change \
    ldap_user_krb_password_expiration ldap_user_member_of ldap_user_modify_timestamp \
    ldap_user_name ldap_user_nds_login_allowed_time_map ldap_user_nds_login_disabled \
    ldap_user_nds_login_expiration_time ldap_user_object_class ldap_user_objectsid \
    ldap_user_passkey ldap_user_primary_group ldap_user_principal ldap_user_search_base \
    ldap_user_search_filter ldap_user_search_scope ldap_user_shadow_expire ldap_user_shadow_flag \
    ldap_user_shadow_inactive ldap_user_shadow_last_change ldap_user_shadow_max \
    ldap_user_shadow_min ldap_user_shadow_warning ldap_user_shell ldap_user_ssh_public_key \
    ldap_user_uid_number ldap_user_uuid local_auth_policy lookup_family_order max_id min_id \
    offline_timeout offline_timeout_max offline_timeout_random_offset override_gid \
    override_homedir override_shell pam_gssapi_check_upn pam_gssapi_indicators_apply \
    pam_gssapi_indicators_map pam_gssapi_services proxy_fast_alias proxy_lib_name \
    proxy_max_children proxy_pam_target proxy_resolver_lib_name pwd_expiration_warning pwfield \
    re_expression realmd_tags refresh_expired_interval refresh_expired_interval_offset \
    resolver_provider selinux_provider session_provider simple_allow_groups simple_allow_users \
    simple_deny_groups simple_deny_users subdomain_homedir subdomain_inherit \
    subdomain_refresh_interval subdomain_refresh_interval_offset subdomains_provider \
    sudo_provider timeout use_fully_qualified_names wildcard_limit",
);

/// `[domain/NAME/SUBDOMAIN]`.
static SUBDOMAIN: Known = Known::new(
    "\
    ad_backup_server ad_server ad_site auto_private_groups krb5_keytab ldap_group_search_base \
    ldap_krb5_keytab ldap_netgroup_search_base ldap_sasl_authid ldap_sasl_mech ldap_search_base \
    ldap_service_search_base ldap_user_search_base pam_gssapi_check_upn \
    pam_gssapi_indicators_apply pam_gssapi_indicators_map pam_gssapi_services \
    use_fully_qualified_names",
);

/// The known options of `section`'s kind, or `None` when its kind is not covered.
fn list_for(section: &str) -> Option<&'static Known> {
    let list = match section {
        "sssd" => &SSSD,
        "nss" => &NSS,
        "pam" => &PAM,
        "sudo" => &SUDO,
        "autofs" => &AUTOFS,
        "ssh" => &SSH,
        "pac" => &PAC,
        "ifp" => &IFP,
        "kcm" => &KCM,
        "session_recording" => &SESSION_RECORDING,
        _ => {
            let rest = section
                .strip_prefix(super::DOMAIN_PREFIX)
                .or_else(|| section.strip_prefix("application/"))?;
            match rest.split_once('/') {
                None if !rest.is_empty() => &DOMAIN,
                Some((d, sub))
                    if !d.is_empty()
                        && !sub.is_empty()
                        && !sub.contains('/')
                        && section.starts_with(super::DOMAIN_PREFIX) =>
                {
                    &SUBDOMAIN
                }
                _ => return None,
            }
        }
    };
    Some(list)
}

/// The known option of `section`'s kind closest to `option` when it is a near miss (a few
/// letters apart), for "did you mean" hints.
pub fn suggest_option(section: &str, option: &str) -> Option<&'static str> {
    let list = list_for(section)?;
    closest(list.names.split_whitespace(), option)
}

/// The section name SSSD accepts closest to `section` when it is a near miss
/// (`[domian/X]` → `domain/X`).
pub fn suggest_section(section: &str) -> Option<String> {
    let (kind, rest) = match section.split_once('/') {
        Some((k, r)) => (k, Some(r)),
        None => (section, None),
    };
    let kinds = PLAIN_SECTIONS.iter().chain(PATH_SECTIONS).copied();
    let best = closest(kinds, kind)?;
    let candidate = match rest {
        Some(r) => format!("{best}/{r}"),
        None => best.to_string(),
    };
    is_known_section(&candidate).then_some(candidate)
}

/// The candidate nearest to `word` (case-insensitively) if within a small edit distance
/// (1 for short words, 2 from 6 letters, 3 from 12).
fn closest<'a>(candidates: impl Iterator<Item = &'a str>, word: &str) -> Option<&'a str> {
    let word = word.to_ascii_lowercase();
    let limit = match word.len() {
        0..=5 => 1,
        6..=11 => 2,
        _ => 3,
    };
    candidates
        .map(|c| (edit_distance(&c.to_ascii_lowercase(), &word), c))
        .filter(|(d, _)| *d > 0 && *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Levenshtein distance, with a swap of two neighbouring letters counting as one edit.
fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = best;
        }
    }
    d[a.len()][b.len()]
}

/// Whether `option` is known in `section`, or `None` when the section's kind is not covered.
pub(super) fn is_known(section: &str, option: &str) -> Option<bool> {
    list_for(section).map(|list| list.contains(option))
}

/// Sections named by one word.
const PLAIN_SECTIONS: &[&str] = &[
    "sssd",
    "nss",
    "pam",
    "sudo",
    "autofs",
    "ssh",
    "pac",
    "ifp",
    "kcm",
    "session_recording",
];

/// The first component of sections named by a path (`domain/NAME`, ...).
const PATH_SECTIONS: &[&str] = &["domain", "application", "prompting", "certmap"];

/// Whether `section` is a section name SSSD accepts.
pub(super) fn is_known_section(section: &str) -> bool {
    // A path component: at least one character, no '/' or '@'.
    let part = |p: &str| !p.is_empty() && !p.contains(['/', '@']);
    let parts: Vec<&str> = section.split('/').collect();
    match parts.as_slice() {
        [one] => PLAIN_SECTIONS.iter().any(|p| p.eq_ignore_ascii_case(one)),
        [kind, rest @ ..] => {
            let kind = kind.to_ascii_lowercase();
            match (kind.as_str(), rest) {
                ("prompting", [p]) => ["password", "2fa", "passkey", "oauth2"]
                    .iter()
                    .any(|k| k.eq_ignore_ascii_case(p)),
                ("prompting", [p, svc]) => {
                    ["password", "2fa", "passkey", "oauth2"]
                        .iter()
                        .any(|k| k.eq_ignore_ascii_case(p))
                        && part(svc)
                }
                ("domain", [d]) | ("application", [d]) => part(d),
                ("domain", [d, sub]) | ("certmap", [d, sub]) => part(d) && part(sub),
                _ => false,
            }
        }
        [] => false,
    }
}

#[cfg(test)]
mod suggestion_tests {
    use super::*;

    #[test]
    fn near_misses_get_a_suggestion() {
        assert_eq!(
            suggest_option("domain/LDAP", "ldap_search_bsae"),
            Some("ldap_search_base")
        );
        assert_eq!(suggest_option("nss", "filter_user"), Some("filter_users"));
        assert_eq!(suggest_option("domain/LDAP", "completely_different"), None);
        assert_eq!(
            suggest_section("domian/LDAP").as_deref(),
            Some("domain/LDAP")
        );
        assert_eq!(suggest_section("nsss").as_deref(), Some("nss"));
        assert_eq!(suggest_section("whatever"), None);
        assert_eq!(edit_distance("abc", "acb"), 1);
        assert_eq!(edit_distance("", "ab"), 2);
    }
}
