//! Which keytab principal `ldap_child` gets its TGT for.
//!
//! As SSSD does with `ldap_sasl_authid`: the wanted principal when the keytab holds it, else
//! the closest key the keytab has, so a host whose name changed after the join, or a
//! keytab written by another join tool, still binds. The order, first match wins:
//!
//! 1. the wanted name in the wanted realm;
//! 2. `SHORT$` (the wanted host's short name, upper case, at most 15 characters: AD's
//!    machine account) in the wanted realm;
//! 3. `host/<wanted>` in the wanted realm;
//! 4. any `...$` (a machine account) in the wanted realm;
//! 5. any `host/...` in the wanted realm;
//! 6. any `host/...` in any realm;
//! 7. the keytab's first principal.
//!
//! Names compare case-sensitively, as Kerberos does.

/// The longest NetBIOS name, the length AD truncates machine account names to.
const NETBIOS_MAX: usize = 15;

/// One principal split into its name (without realm) and realm.
fn split(principal: &str) -> (&str, &str) {
    principal.rsplit_once('@').unwrap_or((principal, ""))
}

/// The machine account name of the host `wanted` names (`host/a.b.c`, `a.b.c` or `a`):
/// `A$`; `None` when `wanted` already is a machine account.
fn machine_account(wanted: &str) -> Option<String> {
    if wanted.ends_with('$') {
        return None;
    }
    let host = wanted.strip_prefix("host/").unwrap_or(wanted);
    let short = host.split('.').next().unwrap_or(host);
    if short.is_empty() || short.contains('/') {
        return None;
    }
    let upper: String = short.to_uppercase().chars().take(NETBIOS_MAX).collect();
    Some(format!("{upper}$"))
}

/// The principal of `keytab` (full names, keytab order) to use for `wanted` (a name
/// without realm) in `realm` (`None`: any realm); `None` only for an empty keytab.
pub fn choose<'k>(keytab: &'k [String], wanted: &str, realm: Option<&str>) -> Option<&'k str> {
    let in_realm = |r: &str| realm.is_none_or(|want| want == r);
    let find = |name_ok: &dyn Fn(&str) -> bool, any_realm: bool| {
        keytab.iter().find(|p| {
            let (name, r) = split(p);
            name_ok(name) && (any_realm || in_realm(r))
        })
    };
    let machine = machine_account(wanted);
    let host = (!wanted.contains('/')).then(|| format!("host/{wanted}"));
    find(&|n| n == wanted, false)
        .or_else(|| find(&|n| machine.as_deref() == Some(n), false))
        .or_else(|| find(&|n| host.as_deref() == Some(n), false))
        .or_else(|| find(&|n| n.len() > 1 && n.ends_with('$'), false))
        .or_else(|| find(&|n| n.starts_with("host/"), false))
        .or_else(|| find(&|n| n.starts_with("host/"), true))
        .or_else(|| keytab.first())
        .map(String::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kt(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn the_wanted_principal_wins_when_present() {
        let k = kt(&["host/c1.corp@CORP", "C1$@CORP", "other$@CORP"]);
        assert_eq!(choose(&k, "other$", Some("CORP")), Some("other$@CORP"));
        assert_eq!(
            choose(&k, "host/c1.corp", Some("CORP")),
            Some("host/c1.corp@CORP")
        );
    }

    #[test]
    fn a_renamed_host_falls_back_to_the_machine_account_of_the_realm() {
        // Joined as CLIENT1, now called renamed: RENAMED$ is not in the keytab.
        let k = kt(&[
            "host/client1.corp.example.com@CORP.EXAMPLE.COM",
            "CLIENT1$@CORP.EXAMPLE.COM",
            "host/CLIENT1@CORP.EXAMPLE.COM",
        ]);
        assert_eq!(
            choose(&k, "RENAMED$", Some("CORP.EXAMPLE.COM")),
            Some("CLIENT1$@CORP.EXAMPLE.COM")
        );
    }

    #[test]
    fn the_host_name_gives_the_machine_account_before_host_principals() {
        let k = kt(&[
            "host/web01.corp.example.com@CORP",
            "WEB01$@CORP",
            "AVERYLONGHOSTNA$@CORP",
        ]);
        assert_eq!(
            choose(&k, "host/web01.corp.example.com", Some("CORP")),
            Some("host/web01.corp.example.com@CORP")
        );
        assert_eq!(
            choose(&k, "web01.corp.example.com", Some("CORP")),
            Some("WEB01$@CORP")
        );
        // 15 characters at most, as AD's sAMAccountName of a computer.
        assert_eq!(
            choose(&k, "averylonghostname.corp", Some("CORP")),
            Some("AVERYLONGHOSTNA$@CORP")
        );
        let k = kt(&["host/web01@CORP", "host/web01.corp.example.com@CORP"]);
        assert_eq!(choose(&k, "web01", Some("CORP")), Some("host/web01@CORP"));
    }

    #[test]
    fn other_realms_come_after_the_wanted_one() {
        let k = kt(&["host/a@OTHER", "svc/x@CORP", "host/b@CORP", "M$@OTHER"]);
        assert_eq!(choose(&k, "host/c", Some("CORP")), Some("host/b@CORP"));
        let k = kt(&["svc/x@CORP", "host/a@OTHER"]);
        assert_eq!(choose(&k, "host/c", Some("CORP")), Some("host/a@OTHER"));
        let k = kt(&["svc/x@OTHER", "svc/y@CORP"]);
        assert_eq!(choose(&k, "host/c", Some("CORP")), Some("svc/x@OTHER"));
        assert_eq!(choose(&[], "host/c", Some("CORP")), None);
    }

    #[test]
    fn names_compare_case_sensitively_and_any_realm_matches_without_one() {
        let k = kt(&["client1$@CORP", "CLIENT1$@CORP"]);
        assert_eq!(choose(&k, "CLIENT1$", Some("CORP")), Some("CLIENT1$@CORP"));
        let k = kt(&["x/y@A", "CLIENT1$@B"]);
        assert_eq!(choose(&k, "CLIENT1$", None), Some("CLIENT1$@B"));
        assert_eq!(choose(&k, "CLIENT1$", Some("corp")), Some("x/y@A"));
    }
}
