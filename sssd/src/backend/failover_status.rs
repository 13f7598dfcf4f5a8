//! What the backend tells `sssctl domain-status` (`sssd.DataProvider.Failover`).

use super::Backend;
use crate::sbus::failover::FailoverHandler;

impl FailoverHandler for Backend {
    fn is_online(&self) -> bool {
        !self.is_offline()
    }

    fn active_server(&self, service: &str) -> String {
        match service {
            "LDAP" if !self.is_offline() => self.inner.provider.active_uri().unwrap_or_default(),
            _ => String::new(),
        }
    }

    fn list_servers(&self, service: &str) -> Vec<(String, String)> {
        match service {
            "LDAP" => self.inner.provider.server_states(),
            // krb5_child picks among these itself (see krb5::discovery); their order is
            // what it is given.
            "KERBEROS" if self.inner.auth.auth_provider == "krb5" => self
                .inner
                .auth
                .krb5
                .servers
                .iter()
                .map(|s| (s.clone(), "configured".to_string()))
                .collect(),
            _ => Vec::new(),
        }
    }
}
