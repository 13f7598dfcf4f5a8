//! The sudo responder (`sssd_sudo`, socket `/var/lib/sss/pipes/sudo`): answers
//! `SSS_SUDO_GET_SUDORULES` (0xC1) and `SSS_SUDO_GET_DEFAULTS` (0xC2) from the sudo rules
//! the backend cached, as SSSD 2.8 does. The user is resolved first (initgroups, so that
//! nested groups count); an unknown user gets `ENOENT`. When some of the user's rules
//! expired, the backend is asked to refresh them (all rules when more than
//! `sudo_threshold` expired) and the cache is served whatever it answers (offline too).

pub mod select;

use crate::cache::{Cache, SudoRuleRecord};
use crate::config::{Config, ConfigError, schema};
use crate::responder::common::cache_req::{CacheReq, Mode};
use crate::responder::common::{Action, ClientInfo, CommandHandler};
use crate::sbus::{AccountRequest, DataProviderClient, EntryType, Filter};
use sss_proto::sudo::{
    SUDO_GET_DEFAULTS, SUDO_GET_SUDORULES, decode_request, encode_error, encode_rules, encoded_len,
};
use std::sync::Arc;
use std::time::Duration;

/// Largest reply body sent (32 MiB). A user whose rules do not fit gets `EIO` instead of a
/// partial set (dropping a rule could drop a negation).
pub const MAX_REPLY_BODY: usize = 32 * 1024 * 1024;

/// `[sudo]` options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SudoSettings {
    /// `sudo_timed` (false): drop rules outside `sudoNotBefore`/`sudoNotAfter`.
    pub timed: bool,
    /// `sudo_threshold` (50): more expired rules than this ask for a full refresh.
    pub threshold: usize,
    /// `sudo_inverse_order` (false): the lowest `sudoOrder` first.
    pub inverse_order: bool,
    /// `[sudo] client_idle_timeout` seconds.
    pub client_idle_timeout: u32,
    /// `[sudo] allowed_uids` (names or numbers); empty = everyone the socket lets in.
    pub allowed_uids: Vec<String>,
    /// `[sudo] cache_first`.
    pub cache_first: bool,
}

impl SudoSettings {
    /// The `[sudo]` options of `cfg`.
    pub fn from_config(cfg: &Config) -> Result<SudoSettings, ConfigError> {
        const S: &str = "sudo";
        Ok(SudoSettings {
            timed: schema::SUDO_TIMED.read(cfg, S)?,
            threshold: schema::SUDO_THRESHOLD.read(cfg, S)? as usize,
            inverse_order: schema::SUDO_INVERSE_ORDER.read(cfg, S)?,
            client_idle_timeout: schema::CLIENT_IDLE_TIMEOUT.read(cfg, S)?,
            allowed_uids: schema::ALLOWED_UIDS.read(cfg, S),
            cache_first: schema::CACHE_FIRST.read(cfg, S)?,
        })
    }
}

/// One domain as the sudo responder sees it.
pub struct SudoDomain {
    /// The domain's name.
    pub name: String,
    /// Its cache (the rules are in its sudo databases).
    pub cache: Arc<Cache>,
}

/// The sudo command handler.
pub struct SudoResponder {
    cr: CacheReq,
    domains: Vec<SudoDomain>,
    dp: Option<DataProviderClient>,
    dp_timeout: Duration,
    settings: SudoSettings,
}

fn now() -> i64 {
    crate::backend::ldap::now()
}

impl SudoResponder {
    /// A responder over `cr` (user lookups), the domains' caches (same order as
    /// `cr.settings.domains`) and the backends behind `dp`.
    pub fn new(
        cr: CacheReq,
        domains: Vec<SudoDomain>,
        dp: Option<DataProviderClient>,
        dp_timeout: Duration,
        settings: SudoSettings,
    ) -> SudoResponder {
        SudoResponder {
            cr,
            domains,
            dp,
            dp_timeout,
            settings,
        }
    }

    async fn refresh(&self, domain: &str, entry_type: EntryType, user: &str) {
        let Some(dp) = &self.dp else { return };
        let req = AccountRequest {
            dp_flags: crate::sbus::DP_FAST_REPLY,
            entry_type,
            filter: Filter::Name(user.to_string()),
            domain: domain.to_string(),
            extra: String::new(),
            cli_id: crate::logging::current_request_id(),
        };
        match dp.get_account_info(&req, self.dp_timeout).await {
            Ok(r) if r.dp_error == crate::sbus::DP_ERR_OK => {}
            Ok(r) => tracing::info!("sudo refresh for {user}: {}; serving the cache", r.message),
            Err(e) => tracing::info!("sudo refresh for {user}: {e}; serving the cache"),
        }
    }

    /// The reply body for `cmd` about `name` (asked by `cli_uid`).
    pub async fn answer(&self, cmd: u32, cli_uid: u32, name: &str) -> Vec<u8> {
        let found = match self.cr.initgroups(name, Mode::Normal).await {
            Ok(f) => f,
            Err(e) => {
                tracing::warn!("sudo: looking up {name:?}: {e}");
                return encode_error(libc::EIO as u32);
            }
        };
        let Some((d, user, gids)) = found else {
            return encode_error(libc::ENOENT as u32);
        };
        let Some(dom) = self.domains.get(d) else {
            return encode_error(libc::EIO as u32);
        };
        let cache = &dom.cache;
        let mut su = match crate::backend::ldap::sudo::cached_user(cache, &user.name) {
            Ok(Some(u)) => u,
            Ok(None) => crate::backend::ldap::sudo::SudoUser {
                name: user.name.clone(),
                uid: user.uid,
                groups: Vec::new(),
                gids: vec![user.gid],
            },
            Err(e) => {
                tracing::warn!("sudo: reading {}: {e}", user.name);
                return encode_error(libc::EIO as u32);
            }
        };
        for g in gids {
            if !su.gids.contains(&g) {
                su.gids.push(g);
            }
        }
        let values = su.user_values();
        let wanted = |r: &SudoRuleRecord| {
            r.name == "defaults" || select::names_user(r, &values) || select::names_netgroup(r)
        };
        // Expired rules of this user (and cn=defaults): refresh them first.
        let t = now();
        match cache.sudo_rules(|r| r.expire <= t && wanted(r)) {
            Ok(expired) if !expired.is_empty() => {
                let kind = if expired.len() > self.settings.threshold {
                    EntryType::SudoFull
                } else {
                    EntryType::SudoRules
                };
                self.refresh(&dom.name, kind, &su.name).await;
            }
            Ok(_) => {}
            Err(e) => tracing::warn!("sudo: reading the rules of {}: {e}", dom.name),
        }
        let rules = if cmd == SUDO_GET_DEFAULTS {
            cache.sudo_rules(|r| r.name == "defaults")
        } else {
            cache.sudo_rules(|r| {
                r.name != "defaults"
                    && (select::names_user(r, &values) || select::names_netgroup(r))
            })
        };
        let mut rules = match rules {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!("sudo: reading the rules of {}: {e}", dom.name);
                return encode_error(libc::EIO as u32);
            }
        };
        if self.settings.timed {
            let t = now();
            rules.retain(|r| select::in_time(r, t));
        }
        let body = if cmd == SUDO_GET_DEFAULTS {
            rules
                .iter()
                .map(|r| select::to_wire(r, None))
                .collect::<Vec<_>>()
        } else {
            // User rules first, netgroup-only rules after, then sorted as a whole.
            let (mut user_rules, ng): (Vec<_>, Vec<_>) = rules
                .into_iter()
                .partition(|r| select::names_user(r, &values));
            let n_user = user_rules.len();
            user_rules.extend(ng);
            let uid = format!("#{cli_uid}");
            let mut tagged: Vec<(SudoRuleRecord, bool)> = user_rules
                .into_iter()
                .enumerate()
                .map(|(i, r)| (r, i < n_user))
                .collect();
            let lower = self.settings.inverse_order;
            tagged.sort_by_key(|(r, _)| {
                let o = select::order(r);
                if lower { i64::from(o) } else { -i64::from(o) }
            });
            tagged
                .iter()
                .map(|(r, is_user)| select::to_wire(r, is_user.then_some(uid.as_str())))
                .collect::<Vec<_>>()
        };
        if encoded_len(&body) > MAX_REPLY_BODY {
            tracing::warn!(
                "sudo rules of {} exceed {MAX_REPLY_BODY} bytes; answering EIO",
                su.name
            );
            return encode_error(libc::EIO as u32);
        }
        encode_rules(&body)
    }
}

impl CommandHandler for SudoResponder {
    type Conn = ();

    async fn handle(&self, _conn: &mut (), client: &ClientInfo, cmd: u32, body: &[u8]) -> Action {
        if cmd != SUDO_GET_SUDORULES && cmd != SUDO_GET_DEFAULTS {
            return Action::Close;
        }
        match decode_request(body) {
            Ok(req) => {
                tracing::debug!(
                    "sudo {} for {:?} (uid {}) from uid {}",
                    if cmd == SUDO_GET_DEFAULTS {
                        "defaults"
                    } else {
                        "rules"
                    },
                    req.name,
                    req.uid,
                    client.peer.uid
                );
                Action::ok(self.answer(cmd, req.uid, &req.name).await)
            }
            Err(e) => {
                tracing::info!("sudo: bad request from uid {}: {e}", client.peer.uid);
                Action::ok(encode_error(libc::EINVAL as u32))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_defaults_and_values() {
        let c = Config::parse("[sssd]\n", "t").unwrap();
        assert_eq!(
            SudoSettings::from_config(&c).unwrap(),
            SudoSettings {
                timed: false,
                threshold: 50,
                inverse_order: false,
                client_idle_timeout: 60,
                allowed_uids: Vec::new(),
                cache_first: false,
            }
        );
        let c = Config::parse("[sudo]\nsudo_timed = true\nsudo_threshold = 3\n", "t").unwrap();
        let s = SudoSettings::from_config(&c).unwrap();
        assert!(s.timed);
        assert_eq!(s.threshold, 3);
        let bad = Config::parse("[sudo]\nsudo_threshold = -1\n", "t").unwrap();
        assert!(SudoSettings::from_config(&bad).is_err());
    }
}
