//! Which bus calls the monitor makes for each UNIX signal it receives.

use super::children::ChildKind;
use crate::sbus::ServiceMethod;

/// A signal the monitor acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MonitorSignal {
    /// SIGTERM or SIGINT: stop everything.
    Terminate,
    /// SIGHUP: rotate logs, clear NSS caches.
    Hangup,
    /// SIGUSR1: backends go offline.
    GoOffline,
    /// SIGUSR2: backends try to go online.
    ResetOffline,
}

/// The `sssd.service` calls (bus name, method) to relay `signal` to `children`.
pub fn relay_plan(signal: MonitorSignal, children: &[ChildKind]) -> Vec<(String, ServiceMethod)> {
    let mut plan = Vec::new();
    for child in children {
        let name = child.bus_name();
        match signal {
            MonitorSignal::Terminate => {}
            MonitorSignal::Hangup => {
                plan.push((name.clone(), ServiceMethod::RotateLogs));
                if matches!(child, ChildKind::Responder(r) if r == "nss") {
                    plan.push((name.clone(), ServiceMethod::ClearNegcache));
                    plan.push((name.clone(), ServiceMethod::ClearMemcache));
                    plan.push((name, ServiceMethod::ClearEnumCache));
                }
            }
            MonitorSignal::GoOffline | MonitorSignal::ResetOffline => {
                if let ChildKind::Backend(_) = child {
                    let method = if signal == MonitorSignal::GoOffline {
                        ServiceMethod::GoOffline
                    } else {
                        ServiceMethod::ResetOffline
                    };
                    plan.push((name, method));
                }
            }
        }
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kids() -> Vec<ChildKind> {
        vec![
            ChildKind::Backend("LDAP".into()),
            ChildKind::Responder("nss".into()),
            ChildKind::Responder("pam".into()),
        ]
    }

    #[test]
    fn hangup_rotates_everyone_and_clears_nss() {
        let plan = relay_plan(MonitorSignal::Hangup, &kids());
        let rotated: Vec<_> = plan
            .iter()
            .filter(|(_, m)| *m == ServiceMethod::RotateLogs)
            .map(|(n, _)| n.as_str())
            .collect();
        assert_eq!(rotated, ["sssd.domain_LDAP", "sssd.nss", "sssd.pam"]);
        for m in [
            ServiceMethod::ClearNegcache,
            ServiceMethod::ClearMemcache,
            ServiceMethod::ClearEnumCache,
        ] {
            let to: Vec<_> = plan.iter().filter(|(_, x)| *x == m).collect();
            assert_eq!(to.len(), 1);
            assert_eq!(to[0].0, "sssd.nss");
        }
        assert_eq!(plan.len(), 6);
    }

    #[test]
    fn usr_signals_go_to_backends_only() {
        assert_eq!(
            relay_plan(MonitorSignal::GoOffline, &kids()),
            vec![("sssd.domain_LDAP".to_string(), ServiceMethod::GoOffline)]
        );
        assert_eq!(
            relay_plan(MonitorSignal::ResetOffline, &kids()),
            vec![("sssd.domain_LDAP".to_string(), ServiceMethod::ResetOffline)]
        );
        assert!(relay_plan(MonitorSignal::Terminate, &kids()).is_empty());
    }
}
