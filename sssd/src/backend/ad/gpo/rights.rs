//! The resultant logon rights of the applicable GPOs and the access decision on them.
//!
//! Each GPO's `[Privilege Rights]` keys overwrite those of the GPOs processed before it
//! (later GPOs win). A key present with an empty value stays present (its list matches no
//! SID), as SSSD stores it.

use std::collections::BTreeMap;

use super::inf;
use crate::config::ad_gpo::LogonRight;

/// What SSSD stores for a key present without SIDs.
const NO_SID: &str = "NO_SID";

/// The resultant `[Privilege Rights]` settings: key → raw value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Resultant {
    /// The settings, by key.
    pub settings: BTreeMap<String, String>,
}

impl Resultant {
    /// Merges one GPO's template text (decoded `GptTmpl.inf`): every logon-right key it has
    /// replaces the earlier value.
    pub fn merge(&mut self, template: &str) {
        for key in LogonRight::all_keys() {
            if let Some(v) = inf::value(template, "Privilege Rights", key) {
                let v = if v.is_empty() { NO_SID } else { v };
                self.settings.insert(key.to_string(), v.to_string());
            }
        }
    }

    /// The SIDs listed for `key` (none when absent): comma-separated, each with its first
    /// character (the `*` of `*S-1-...`) removed.
    pub fn sids(&self, key: &str) -> Vec<String> {
        self.settings
            .get(key)
            .map(|v| {
                v.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(|s| s.chars().skip(1).collect())
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// Whether a user holding `sids` (its own, its groups' and Authenticated Users) has logon
/// right `right` under `r`: listed in the allow list (or the list is empty and
/// `implicit_deny` is off) and not in the deny list.
pub fn allowed(r: &Resultant, right: LogonRight, sids: &[String], implicit_deny: bool) -> bool {
    let Some((allow_key, deny_key)) = right.keys() else {
        return right == LogonRight::Permit;
    };
    let allow = r.sids(allow_key);
    let deny = r.sids(deny_key);
    let granted = if allow.is_empty() && !implicit_deny {
        true
    } else {
        allow.iter().any(|a| sids.contains(a))
    };
    granted && !deny.iter().any(|d| sids.contains(d))
}

/// Whether `r` has an allow or deny list for `right` (then the user's SIDs decide).
pub fn has_lists(r: &Resultant, right: LogonRight) -> bool {
    right
        .keys()
        .is_some_and(|(a, d)| r.settings.contains_key(a) || r.settings.contains_key(d))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn later_gpos_win_and_deny_beats_allow() {
        let mut r = Resultant::default();
        r.merge("[Privilege Rights]\nSeInteractiveLogonRight = *S-1-5-32-544\n");
        r.merge(
            "[Privilege Rights]\nSeInteractiveLogonRight = *S-1-5-21-9-513, *S-1-5-21-9-1106\n\
             SeDenyInteractiveLogonRight = *S-1-5-21-9-1107\nSeDenyRemoteInteractiveLogonRight =\n",
        );
        let user = |rid: &str| vec![format!("S-1-5-21-9-{rid}"), "S-1-5-11".to_string()];
        assert!(allowed(&r, LogonRight::Interactive, &user("1106"), false));
        assert!(!allowed(&r, LogonRight::Interactive, &user("1108"), false));
        let mut in_group = user("1107");
        in_group.push("S-1-5-21-9-513".into());
        assert!(!allowed(&r, LogonRight::Interactive, &in_group, false));
        // An empty deny list present: matches nobody; no allow list: everyone.
        assert!(allowed(
            &r,
            LogonRight::RemoteInteractive,
            &user("1107"),
            false
        ));
        assert!(!allowed(
            &r,
            LogonRight::RemoteInteractive,
            &user("1107"),
            true
        ));
        assert!(allowed(&r, LogonRight::Permit, &[], true));
        assert!(!allowed(&r, LogonRight::Deny, &[], false));
        assert!(has_lists(&r, LogonRight::Interactive));
        assert!(!has_lists(&r, LogonRight::Batch));
    }
}
