//! Kerberos work the backend does on its own, off any request's path:
//!
//! - `krb5_store_password_if_offline`: after an offline login with cached credentials the
//!   password waits in [`PendingLogins`](crate::backend::krb5::tickets::PendingLogins); every
//!   `offline_timeout` seconds (and when the backend comes back online) the TGT is requested
//!   for each user who still has processes running, as SSSD does.
//! - `krb5_renew_interval`: every interval, the renewable TGTs written for users that are
//!   half-way through their lifetime are renewed by `krb5_child` in their ccache.
//!
//! Every step awaits a helper process; the event loop is never blocked.

use std::time::{Duration, Instant};

use super::super::Backend;
use super::super::krb5::tickets::{Pending, Renewable, uid_has_processes};
use super::super::krb5::{self, Krb5Op, Krb5Outcome, Krb5User};
use crate::model::User;
use sss_proto::pam::status;

/// A long time (no deadline).
const FAR: Duration = Duration::from_secs(365 * 86400);

impl Backend {
    /// Keeps `pw` for `user` until the KDC answers (`krb5_store_password_if_offline`).
    pub(super) fn store_for_later(&self, user: &User, pw: &[u8], pid: u32) {
        tracing::info!(
            "{}: offline login; the TGT will be requested when the KDC is back",
            user.name
        );
        self.inner.krb5_pending.insert(user.clone(), pw, pid);
    }

    /// After a krb5_child success: watches the TGT for renewal when `krb5_renew_interval`
    /// is set and the ticket is renewable.
    pub(super) fn watch_for_renewal(&self, user: &User, principal: &str, out: &Krb5Outcome) {
        if self.inner.auth.krb5.renew_interval == 0 {
            return;
        }
        let (Some(times), Some(ccname)) = (out.tgt, out.ccname.as_ref()) else {
            return;
        };
        let added = self.inner.krb5_renew.add(Renewable {
            user: user.clone(),
            principal: principal.to_string(),
            ccname: ccname.clone(),
            times,
        });
        if added {
            tracing::debug!("TGT of {principal} in {ccname} watched for renewal");
        } else {
            tracing::debug!("TGT of {principal} is not renewable: not watched");
        }
    }

    /// The background task of the krb5 provider; returns at once when neither option is
    /// in use, else runs forever.
    pub async fn run_krb5_tasks(self) {
        let i = &self.inner;
        let k = &i.auth.krb5;
        let uses_krb5 = i.auth.auth_provider == "krb5";
        if !uses_krb5 || (k.renew_interval == 0 && !k.store_password_if_offline) {
            return;
        }
        let renew_every = match k.renew_interval {
            0 => FAR,
            s => Duration::from_secs(u64::from(s)),
        };
        let retry_every = i.krb5_retry;
        let mut changes = i.state.subscribe();
        let mut next_renew = Instant::now() + renew_every;
        let mut next_retry = Instant::now() + retry_every;
        loop {
            let wake = next_renew.min(next_retry);
            tokio::select! {
                _ = tokio::time::sleep_until(wake.into()) => {}
                changed = changes.changed() => {
                    if changed.is_err() {
                        return;
                    }
                    // Back online: the stored logins are tried at once.
                    if !i.state.is_offline() {
                        next_retry = Instant::now();
                    }
                }
            }
            let now = Instant::now();
            if now >= next_renew {
                self.renew_due().await;
                next_renew = Instant::now() + renew_every;
            }
            if now >= next_retry {
                self.retry_pending().await;
                next_retry = Instant::now() + retry_every;
            }
        }
    }

    /// Requests the TGT of each stored offline login whose user is still logged in.
    async fn retry_pending(&self) {
        let pending = self.inner.krb5_pending.take_all();
        for p in pending {
            self.retry_one(p).await;
        }
    }

    async fn retry_one(&self, p: Pending) {
        let uid = p.user.uid;
        let active = tokio::task::spawn_blocking(move || uid_has_processes(uid))
            .await
            .unwrap_or(false);
        if !active {
            tracing::info!(
                "{} is not logged in any more: stored password discarded",
                p.user.name
            );
            return;
        }
        let Some(out) = self
            .krb5_run(&p.user, Krb5Op::Authenticate, &p.password, &[], p.pid)
            .await
        else {
            return;
        };
        match out.pam_status {
            status::SUCCESS => {
                tracing::info!(
                    "{}: TGT obtained after the offline login ({})",
                    p.user.name,
                    out.ccname.as_deref().unwrap_or("?")
                );
                self.remember_password(&p.user.name, &p.password, false)
                    .await;
            }
            _ if out.kdc_unreachable => {
                tracing::debug!("{}: KDC still unreachable", p.user.name);
                self.inner.krb5_pending.put_back(p);
            }
            st => tracing::warn!(
                "{}: the stored password was refused (PAM status {st}); discarded",
                p.user.name
            ),
        }
    }

    /// Renews every watched TGT that is half-way through its lifetime.
    async fn renew_due(&self) {
        let now = super::super::ldap::now();
        for r in self.inner.krb5_renew.take_due(now) {
            let ku = Krb5User {
                name: &r.user.name,
                uid: r.user.uid,
                gid: r.user.gid,
                principal: &r.principal,
                domain: &self.inner.domain,
                home: (!r.user.home.is_empty()).then_some(r.user.home.as_str()),
                pid: 0,
            };
            let k = krb5::discovery::with_discovered_servers(
                &self.inner.auth.krb5,
                &self.inner.provider.ctx().opts.dns,
            )
            .await;
            let out = krb5::renew(&k, &ku, &r.ccname).await;
            match (out.pam_status, out.tgt) {
                (status::SUCCESS, Some(times)) => {
                    tracing::info!("TGT of {} in {} renewed", r.principal, r.ccname);
                    self.inner.krb5_renew.add(Renewable { times, ..r });
                }
                _ if out.kdc_unreachable => {
                    tracing::info!("TGT of {}: KDC unreachable, retried later", r.principal);
                    self.inner.krb5_renew.put_back(r);
                }
                (st, _) => tracing::warn!(
                    "TGT of {} in {} not renewed (PAM status {st}); no longer watched",
                    r.principal,
                    r.ccname
                ),
            }
        }
    }
}
