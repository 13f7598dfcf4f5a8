//! PAM requests in the backend (`pamHandler`): authentication against LDAP or Kerberos,
//! cached credentials and offline authentication, access control, password change.
//!
//! Unlike SSSD, where the PAM responder checks cached passwords itself, the backend does the
//! offline check here: it is the only writer of the domain cache, and the credentials never
//! leave it.

pub mod chpass;
pub mod krb5_tasks;
pub mod ldap_auth;
pub mod offline;

use super::Backend;
use super::krb5::{self, Krb5Op, Krb5User};
use crate::cache::{AccessRecord, Credentials};
use crate::model::User;
use crate::sbus::{PamForward, PamResult};
use ldap_auth::{BindCtx, BindOutcome};
use offline::{OfflinePolicy, Verdict};
use sss_proto::Command;
use sss_proto::pam::{ResponseItem, authtok, status};
use std::time::Instant;
use zeroize::Zeroizing;

/// Linux-PAM's `PAM_MODULE_UNKNOWN` (the provider is `none`).
pub use sss_proto::pam::status::MODULE_UNKNOWN as PAM_MODULE_UNKNOWN;

/// USER_INFO subtypes (`enum user_info_type`).
pub use sss_proto::pam::user_info;

/// A USER_INFO item with `subtype` and `data`.
pub fn user_info_item(subtype: u32, data: &[u8]) -> (u32, Vec<u8>) {
    ResponseItem::user_info(subtype, data).into()
}

/// The CHPASS_ERROR item carrying `msg` for the user.
pub fn chpass_error_item(msg: &str) -> (u32, Vec<u8>) {
    ResponseItem::user_info_message(user_info::CHPASS_ERROR, msg).into()
}

/// The answer to a password change attempted while offline.
pub fn offline_chpass() -> PamResult {
    PamResult {
        pam_status: status::AUTHTOK_ERR,
        items: vec![user_info_item(user_info::OFFLINE_CHPASS, &[])],
    }
}

/// The PAM result of an offline verdict.
pub fn verdict_result(v: Verdict) -> PamResult {
    match v {
        Verdict::Success { expires } => PamResult {
            pam_status: status::SUCCESS,
            items: vec![user_info_item(
                user_info::OFFLINE_AUTH,
                &expires.to_ne_bytes(),
            )],
        },
        Verdict::AuthErr => PamResult::status(status::AUTH_ERR),
        Verdict::PermDenied => PamResult::status(status::PERM_DENIED),
        Verdict::Delayed { until } => PamResult {
            pam_status: status::PERM_DENIED,
            items: vec![user_info_item(
                user_info::OFFLINE_AUTH_DELAYED,
                &until.to_ne_bytes(),
            )],
        },
        Verdict::NoCachedPassword => PamResult::status(status::PERM_DENIED),
    }
}

/// A password from an authtok: PASSWORD with data, else None.
fn password(kind: u32, tok: &Zeroizing<Vec<u8>>) -> Option<&[u8]> {
    (kind == authtok::PASSWORD && !tok.is_empty()).then_some(tok.as_slice())
}

/// How an online attempt ended for the offline logic.
enum Online {
    /// A final answer.
    Done(PamResult),
    /// The server (LDAP or KDC) is unreachable.
    Unreachable,
}

impl Backend {
    /// Handles one PAM request for a user of this domain.
    pub async fn pam(&self, req: PamForward) -> PamResult {
        let i = &self.inner;
        if !req.domain.is_empty() && !req.domain.eq_ignore_ascii_case(&i.domain) {
            tracing::error!(
                "PAM request for domain {:?} sent to the backend of {:?}",
                req.domain,
                i.domain
            );
            return PamResult::status(status::SYSTEM_ERR);
        }
        tracing::debug!("pamHandler {req:?}");
        let cmd = Command::from_u32(u32::from(req.cmd));
        let res = match cmd {
            Some(Command::PamSetCred | Command::PamOpenSession | Command::PamCloseSession) => {
                PamResult::status(status::SUCCESS)
            }
            Some(Command::PamPreAuth) => PamResult::status(status::SUCCESS),
            Some(c @ (Command::PamAuthenticate | Command::PamAcctMgmt)) => {
                match self.cached_user(&req.user).await {
                    Err(r) => r,
                    Ok(user) if c == Command::PamAuthenticate => {
                        self.authenticate(&req, &user).await
                    }
                    Ok(user) => self.acct_mgmt(&req, &user).await,
                }
            }
            Some(c @ (Command::PamChAuthTok | Command::PamChAuthTokPrelim)) => {
                match self.cached_user(&req.user).await {
                    Err(r) => r,
                    Ok(user) => {
                        self.chauthtok(&req, &user, c == Command::PamChAuthTokPrelim)
                            .await
                    }
                }
            }
            _ => {
                tracing::error!("unsupported PAM command {:#x}", req.cmd);
                PamResult::status(status::SYSTEM_ERR)
            }
        };
        tracing::debug!(
            "PAM {:#x} for {}@{}: status {}",
            req.cmd,
            req.user,
            i.domain,
            res.pam_status
        );
        res
    }

    /// The user as cached (the responder refreshed it just before).
    async fn cached_user(&self, name: &str) -> Result<User, PamResult> {
        let name = self.short_name(name);
        let store = self.inner.store.clone();
        match tokio::task::spawn_blocking(move || store.user(&name)).await {
            Ok(Ok(Some(u))) => Ok(u),
            Ok(Ok(None)) => Err(PamResult::status(status::USER_UNKNOWN)),
            Ok(Err(e)) => {
                tracing::error!("{e}");
                Err(PamResult::status(status::SYSTEM_ERR))
            }
            Err(e) => {
                tracing::error!("cache reader task failed: {e}");
                Err(PamResult::status(status::SYSTEM_ERR))
            }
        }
    }

    /// Reads the cached credentials of `name`.
    async fn load_credentials(&self, name: &str) -> Option<Credentials> {
        let store = self.inner.store.clone();
        let name = name.to_string();
        match tokio::task::spawn_blocking(move || store.credentials(&name)).await {
            Ok(Ok(c)) => c,
            Ok(Err(e)) => {
                tracing::error!("{e}");
                None
            }
            Err(e) => {
                tracing::error!("cache reader task failed: {e}");
                None
            }
        }
    }

    /// Writes the cached credentials of `name`.
    async fn save_credentials(&self, name: &str, creds: Credentials) {
        let store = self.inner.store.clone();
        let name = name.to_string();
        let res =
            tokio::task::spawn_blocking(move || store.put_credentials(&name, Some(&creds))).await;
        match res {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::error!("cannot store cached credentials: {e}"),
            Err(e) => tracing::error!("cache writer task failed: {e}"),
        }
    }

    /// After an online password success: stores the hash (`cache_credentials = true`).
    pub(super) async fn remember_password(&self, name: &str, pw: &[u8], fresh: bool) {
        let i = &self.inner;
        if !i.auth.cache_credentials {
            return;
        }
        let pw = Zeroizing::new(pw.to_vec());
        let hash = match tokio::task::spawn_blocking(move || offline::hash_password(&pw)).await {
            Ok(Ok(h)) => h,
            Ok(Err(e)) => {
                tracing::error!("{e}");
                return;
            }
            Err(e) => {
                tracing::error!("hashing task failed: {e}");
                return;
            }
        };
        let _guard = i.creds_lock.lock().await;
        let old = self.load_credentials(name).await;
        let fresh = fresh && i.auth.cached_auth_timeout > 0;
        let c = offline::after_online_success(old.as_ref(), hash, super::ldap::now(), fresh);
        self.save_credentials(name, c).await;
    }

    /// The bind options of a user bind.
    pub(super) fn bind_ctx(&self) -> BindCtx<'_> {
        let i = &self.inner;
        BindCtx {
            opts: &i.provider.ctx().opts,
            servers: i.provider.current_servers(),
            start: i.provider.preferred_uri(),
            allow_insecure: i.auth.ldap_auth_disable_tls,
            modify_mode: i.auth.ldap_pwmodify_mode == "ldap_modify",
        }
    }

    /// Whether the backend is offline and not due to retry the server now (when due, the
    /// caller's attempt is the probe and must report with [`Backend::reached_server`] or
    /// `mark_offline`).
    pub(super) fn offline_now(&self) -> bool {
        use super::state::Decision;
        let s = &self.inner.state;
        s.is_offline() && matches!(s.check(Instant::now()), Decision::Offline | Decision::Wait)
    }

    /// A server answered: the backend is online again if it was offline.
    pub(super) fn reached_server(&self) {
        if self.inner.state.is_offline() {
            self.inner.state.mark_online();
        }
    }

    /// SSS_PAM_AUTHENTICATE.
    async fn authenticate(&self, req: &PamForward, user: &User) -> PamResult {
        let i = &self.inner;
        if i.auth.auth_provider == "none" {
            return PamResult::status(PAM_MODULE_UNKNOWN);
        }
        let Some(pw) = password(req.authtok_type, &req.authtok) else {
            // Only passwords are supported; an empty one is never sent to the server.
            return PamResult::status(status::AUTH_ERR);
        };
        if i.auth.cache_credentials
            && i.auth.cached_auth_timeout > 0
            && self.cached_auth(&user.name, pw).await
        {
            tracing::debug!("{}: cached_auth_timeout applies, cache accepted", user.name);
            return PamResult::status(status::SUCCESS);
        }
        let krb5 = i.auth.auth_provider == "krb5";
        let online = if krb5 {
            self.krb5_auth(user, pw, req.cli_pid).await
        } else {
            self.ldap_auth(user, pw).await
        };
        match online {
            Online::Done(r) => {
                if r.pam_status == status::SUCCESS {
                    self.remember_password(&user.name, pw, true).await;
                }
                r
            }
            Online::Unreachable => {
                let r = self.offline_auth(user, pw).await;
                if krb5 && r.pam_status == status::SUCCESS && i.auth.krb5.store_password_if_offline
                {
                    self.store_for_later(user, pw, req.cli_pid);
                }
                r
            }
        }
    }

    /// The `cached_auth_timeout` short-cut: true when a recent online login makes the cache
    /// authoritative and `pw` matches it (a mismatch goes to the server).
    async fn cached_auth(&self, name: &str, pw: &[u8]) -> bool {
        let creds = self.load_credentials(name).await;
        let now = super::ldap::now();
        let timeout = self.inner.auth.cached_auth_timeout;
        if !offline::cached_auth_applies(creds.as_ref(), timeout, now) {
            return false;
        }
        let Some(c) = creds else { return false };
        let pw = Zeroizing::new(pw.to_vec());
        tokio::task::spawn_blocking(move || offline::verify_password(&pw, &c.hash))
            .await
            .unwrap_or(false)
    }

    /// auth_provider = ldap.
    async fn ldap_auth(&self, user: &User, pw: &[u8]) -> Online {
        if user.dn.is_empty() {
            tracing::error!("{}: no DN cached, cannot bind as the user", user.name);
            return Online::Done(PamResult::status(status::AUTH_ERR));
        }
        if self.offline_now() {
            return Online::Unreachable;
        }
        // ldap_pwd_policy: the password's expiry attributes, read before the bind (as SSSD
        // reads them before it binds; missing ones fail the login).
        let policy_attrs = match self.password_policy_attrs(user).await {
            Ok(a) => a,
            Err(r) => return r,
        };
        let outcome = ldap_auth::check_password(&self.bind_ctx(), &user.dn, pw).await;
        if !matches!(outcome, BindOutcome::Unreachable(_)) {
            self.reached_server();
        }
        match outcome {
            BindOutcome::Ok => Online::Done(self.password_policy_result(policy_attrs.as_deref())),
            BindOutcome::InvalidCredentials => Online::Done(PamResult::status(status::AUTH_ERR)),
            BindOutcome::Unreachable(e) => {
                tracing::warn!("authentication of {}: {e}; going offline", user.name);
                self.inner.state.mark_offline(Instant::now());
                Online::Unreachable
            }
            BindOutcome::Insecure(e) => {
                tracing::error!("authentication of {}: {e}", user.name);
                Online::Done(PamResult::status(status::SYSTEM_ERR))
            }
            BindOutcome::Refused(e) => {
                tracing::warn!("authentication of {}: {e}", user.name);
                Online::Done(PamResult::status(status::AUTH_ERR))
            }
        }
    }

    /// The attributes `ldap_pwd_policy` reads, from the user's entry (`None`: policy
    /// `none`); a missing entry or attribute, or an unreachable server, ends the login.
    async fn password_policy_attrs(
        &self,
        user: &User,
    ) -> Result<Option<Vec<crate::cache::AccessAttr>>, Online> {
        use super::access::ldap as access_ldap;
        let i = &self.inner;
        let attrs = access_ldap::password_attrs(&i.auth);
        if attrs.is_empty() {
            return Ok(None);
        }
        let conn = match i.provider.connection().await {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!("authentication of {}: {e}; going offline", user.name);
                i.state.mark_offline(Instant::now());
                return Err(Online::Unreachable);
            }
        };
        let read = access_ldap::read_attrs(i.provider.ctx(), &conn, user, attrs).await;
        let snapshot = match read {
            Ok(Some(s)) => s,
            Ok(None) => return Err(Online::Done(PamResult::status(status::SYSTEM_ERR))),
            Err(e @ super::ldap::search::SearchError::Transport { .. }) => {
                tracing::warn!("authentication of {}: {e}; going offline", user.name);
                i.provider.disconnect_broken(conn.id).await;
                i.state.mark_offline(Instant::now());
                return Err(Online::Unreachable);
            }
            Err(e) => {
                tracing::error!("authentication of {}: {e}", user.name);
                return Err(Online::Done(PamResult::status(status::SYSTEM_ERR)));
            }
        };
        // Unreadable attributes fail before the bind; the rest is decided after it.
        let mut scratch = Vec::new();
        let state = super::access::rules::password_state(
            &i.auth.ldap_access.pwd_policy,
            &i.auth.ldap_access.attrs,
            super::access::rules::Snapshot(&snapshot),
            super::ldap::now(),
            i.auth.ldap_access.pwd_expiration_warning,
            &mut scratch,
        );
        if state == super::access::rules::PwdState::Unreadable {
            return Err(Online::Done(PamResult::status(status::SYSTEM_ERR)));
        }
        Ok(Some(snapshot))
    }

    /// The result of a successful bind under `ldap_pwd_policy`: an expired password asks
    /// for a new one, an expired account is refused, a password about to expire is
    /// accepted (without a warning, as SSSD 2.8).
    fn password_policy_result(&self, snapshot: Option<&[crate::cache::AccessAttr]>) -> PamResult {
        use super::access::rules::{PwdState, Snapshot, password_state};
        let Some(snapshot) = snapshot else {
            return PamResult::status(status::SUCCESS);
        };
        let a = &self.inner.auth.ldap_access;
        let mut items = Vec::new();
        let st = match password_state(
            &a.pwd_policy,
            &a.attrs,
            Snapshot(snapshot),
            super::ldap::now(),
            a.pwd_expiration_warning,
            &mut items,
        ) {
            PwdState::Valid => status::SUCCESS,
            PwdState::PasswordExpired => status::NEW_AUTHTOK_REQD,
            PwdState::AccountExpired => status::ACCT_EXPIRED,
            PwdState::Unreadable => status::SYSTEM_ERR,
        };
        // SSSD 2.8 shows no expiry warning at authentication (measured side by side: only
        // the access check's pwd_expire_policy_* rules warn), so none is sent here.
        drop(items);
        PamResult::status(st)
    }

    /// The krb5_child view of `user`, or None without a principal.
    pub(super) fn krb5_principal(&self, user: &User) -> Option<String> {
        let realm = self.inner.auth.krb5.realm.as_deref();
        match (&user.upn, realm) {
            (Some(p), _) if !p.is_empty() => Some(p.clone()),
            (_, Some(r)) => Some(format!("{}@{r}", user.name)),
            _ => None,
        }
    }

    /// Runs krb5_child for `op` (`pid`: the PAM client's, for `%P`); None when there is
    /// no principal.
    pub(super) async fn krb5_run(
        &self,
        user: &User,
        op: Krb5Op,
        pw: &[u8],
        new_pw: &[u8],
        pid: u32,
    ) -> Option<krb5::Krb5Outcome> {
        let Some(principal) = self.krb5_principal(user) else {
            tracing::error!(
                "{}: no krbPrincipalName and no krb5_realm in [domain/{}]",
                user.name,
                self.inner.domain
            );
            return None;
        };
        let ku = Krb5User {
            name: &user.name,
            uid: user.uid,
            gid: user.gid,
            principal: &principal,
            domain: &self.inner.domain,
            home: (!user.home.is_empty()).then_some(user.home.as_str()),
            pid,
        };
        let krb5 = krb5::discovery::with_discovered_servers(
            &self.inner.auth.krb5,
            &self.inner.provider.ctx().opts.dns,
        )
        .await;
        let out = krb5::run_child(&krb5, &ku, op, pw, new_pw).await;
        if out.pam_status == status::SUCCESS {
            self.watch_for_renewal(user, &principal, &out);
        }
        Some(out)
    }

    /// auth_provider = krb5.
    async fn krb5_auth(&self, user: &User, pw: &[u8], pid: u32) -> Online {
        let Some(out) = self
            .krb5_run(user, Krb5Op::Authenticate, pw, &[], pid)
            .await
        else {
            return Online::Done(PamResult::status(status::SYSTEM_ERR));
        };
        if out.kdc_unreachable {
            tracing::warn!("authentication of {}: KDC unreachable", user.name);
            return Online::Unreachable;
        }
        Online::Done(PamResult {
            pam_status: out.pam_status,
            items: out.items,
        })
    }

    /// Offline AUTHENTICATE: the cached password, when `cache_credentials = true`.
    async fn offline_auth(&self, user: &User, pw: &[u8]) -> PamResult {
        let i = &self.inner;
        if !i.auth.cache_credentials {
            return PamResult::status(status::AUTHINFO_UNAVAIL);
        }
        let _guard = i.creds_lock.lock().await;
        let creds = self.load_credentials(&user.name).await;
        let policy = OfflinePolicy::from_pam(&i.pam);
        let now = super::ldap::now();
        let pw = Zeroizing::new(pw.to_vec());
        let decided = tokio::task::spawn_blocking(move || {
            offline::offline_auth(creds.as_ref(), &pw, policy, now)
        })
        .await;
        let (verdict, next) = match decided {
            Ok(d) => d,
            Err(e) => {
                tracing::error!("offline check task failed: {e}");
                return PamResult::status(status::SYSTEM_ERR);
            }
        };
        if let Some(c) = next {
            self.save_credentials(&user.name, c).await;
        }
        tracing::info!("offline authentication of {}: {verdict:?}", user.name);
        verdict_result(verdict)
    }

    /// SSS_PAM_ACCT_MGMT.
    async fn acct_mgmt(&self, req: &PamForward, user: &User) -> PamResult {
        let i = &self.inner;
        let st = match i.auth.access_provider.as_str() {
            "permit" => status::SUCCESS,
            "deny" => status::PERM_DENIED,
            "simple" => match self.user_group_names(user).await {
                Ok(Ok(groups)) => {
                    super::access::simple(&i.auth.simple, &user.name, &groups, i.case_sensitive)
                }
                Ok(Err(e)) => {
                    tracing::error!("{e}");
                    status::SYSTEM_ERR
                }
                Err(e) => {
                    tracing::error!("cache reader task failed: {e}");
                    status::SYSTEM_ERR
                }
            },
            "ldap" => {
                let d = self.ldap_access(req, user).await;
                // access_provider = ad: the Group Policy logon rights once the rules allowed.
                if d.status == status::SUCCESS
                    && let Some(opts) = &i.auth.gpo
                {
                    let st = self.gpo_access(req, user, opts).await;
                    if st != status::SUCCESS {
                        return PamResult::status(st);
                    }
                }
                return PamResult {
                    pam_status: d.status,
                    items: d.items,
                };
            }
            other => {
                tracing::error!("access_provider {other:?} is not supported");
                status::SYSTEM_ERR
            }
        };
        PamResult::status(st)
    }

    /// The names of `user`'s groups for the simple access provider. Groups not cached yet
    /// (typically the primary group, which rfc2307 initgroups does not return) are fetched
    /// by gid first, as SSSD's simple provider does; offline, the cached ones are used.
    async fn user_group_names(
        &self,
        user: &User,
    ) -> Result<Result<Vec<String>, crate::cache::CacheError>, tokio::task::JoinError> {
        let read = || {
            let store = self.inner.store.clone();
            let u = user.clone();
            tokio::task::spawn_blocking(move || store.group_names(&u))
        };
        let groups = match read().await? {
            Ok(g) => g,
            Err(e) => return Ok(Err(e)),
        };
        if groups.missing.is_empty() || self.offline_now() {
            return Ok(Ok(groups.names));
        }
        for gid in &groups.missing {
            let job = super::Job::Account(
                crate::sbus::EntryType::Group,
                crate::sbus::Filter::IdNumber(*gid),
            );
            let r = self.run(job).await;
            if r.dp_error != 0 {
                tracing::info!("group {gid} of {} not fetched: {}", user.name, r.message);
            }
        }
        Ok(read().await?.map(|g| g.names))
    }

    /// access_provider = ldap on the identity connection. What the check learned is cached;
    /// while offline the same rules decide on that (a user never checked online is denied),
    /// as SSSD does with its cached access results.
    async fn ldap_access(&self, req: &PamForward, user: &User) -> super::access::Decision {
        let i = &self.inner;
        // This host's names, only when the `host` rule needs them (the lookup may block).
        let host = if i.auth.ldap_access_order.iter().any(|r| r == "host") {
            tokio::task::spawn_blocking(super::access::host::this_host)
                .await
                .unwrap_or_default()
        } else {
            None
        };
        let areq = super::access::AccessRequest {
            service: &req.service,
            rhost: &req.rhost,
            host: host.as_ref(),
        };
        if self.offline_now() {
            return self.ldap_access_offline(&areq, user).await;
        }
        let conn = match i.provider.connection().await {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!("access check of {}: {e}; offline", user.name);
                i.state.mark_offline(Instant::now());
                return self.ldap_access_offline(&areq, user).await;
            }
        };
        i.state.mark_online();
        match super::access::ldap(i.provider.ctx(), &conn, &i.auth, user, &areq).await {
            Ok((d, learned)) => {
                self.remember_access(&user.name, learned).await;
                d
            }
            Err(e @ super::ldap::search::SearchError::Transport { .. }) => {
                tracing::warn!("access check of {}: {e}; offline", user.name);
                i.provider.disconnect_broken(conn.id).await;
                i.state.mark_offline(Instant::now());
                self.ldap_access_offline(&areq, user).await
            }
            Err(e) => {
                tracing::error!("access check of {}: {e}", user.name);
                super::access::Decision {
                    status: status::SYSTEM_ERR,
                    items: Vec::new(),
                }
            }
        }
    }

    /// GPO-based access control of `user` for `req`'s PAM service: enforcing denies what
    /// the policy denies (`PAM_PERM_DENIED`) and fails closed on errors
    /// (`PAM_SYSTEM_ERR`); permissive only logs. Offline (or when the DC cannot be reached)
    /// the stored resultant settings and SIDs of the last online check decide.
    async fn gpo_access(
        &self,
        req: &PamForward,
        user: &User,
        opts: &crate::config::ad_gpo::GpoOptions,
    ) -> i32 {
        use super::ad::gpo::{self, GpoContext};
        use crate::config::ad_gpo::GpoMode;
        let i = &self.inner;
        let right = opts.right_of(&req.service);
        let verdict = match gpo::fixed_verdict(right) {
            Some(v) => Ok(v),
            None => {
                let paths = crate::service::paths_from_env();
                let realm = i.auth.sasl.realm.clone().unwrap_or_default();
                let g = GpoContext {
                    opts: opts.clone(),
                    domain: i.domain.clone(),
                    cache: gpo::cache::GpoCache::new(
                        paths.db.parent().unwrap_or(&paths.db).join("gpo_cache"),
                    ),
                    ccache: std::env::var("KRB5CCNAME")
                        .ok()
                        .filter(|c| !c.is_empty())
                        .unwrap_or_else(|| {
                            super::krb5::ldap_child::default_ccache(&paths.db, &realm)
                        }),
                    child: gpo::sysvol::gpo_child_path(),
                };
                self.gpo_verdict(&g, user, right).await
            }
        };
        let who = format!("{} ({} via {:?})", user.name, req.service, right);
        match (verdict, opts.mode) {
            (Ok(true), _) => status::SUCCESS,
            (Ok(false), GpoMode::Enforcing) => {
                tracing::info!("GPO-based access control denied {who}");
                status::PERM_DENIED
            }
            (Ok(false), GpoMode::Permissive) => {
                tracing::warn!(
                    "{who} would have been denied GPO-based logon access if \
                     ad_gpo_access_control were enforcing"
                );
                status::SUCCESS
            }
            (Err(e), GpoMode::Enforcing) => {
                tracing::error!("GPO-based access control of {who} failed: {e}");
                status::SYSTEM_ERR
            }
            (Err(e), GpoMode::Permissive) => {
                tracing::warn!(
                    "GPO-based access control of {who} failed: {e}; ignored, not enforcing"
                );
                status::SUCCESS
            }
        }
    }

    /// The GPO verdict, online when possible.
    async fn gpo_verdict(
        &self,
        g: &super::ad::gpo::GpoContext,
        user: &User,
        right: crate::config::ad_gpo::LogonRight,
    ) -> Result<bool, super::ad::gpo::GpoError> {
        use super::ad::gpo;
        let i = &self.inner;
        if self.offline_now() {
            return gpo::check_offline(g, &user.name, right).await;
        }
        let conn = match i.provider.connection().await {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!("GPO check of {}: {e}; offline", user.name);
                i.state.mark_offline(Instant::now());
                return gpo::check_offline(g, &user.name, right).await;
            }
        };
        match gpo::check_online(i.provider.ctx(), &conn, g, &user.name, &user.dn, right).await {
            Err(e) if e.is_transport() => {
                tracing::warn!("GPO check of {}: {e}; offline", user.name);
                i.provider.disconnect_broken(conn.id).await;
                i.state.mark_offline(Instant::now());
                gpo::check_offline(g, &user.name, right).await
            }
            r => r,
        }
    }

    /// The ldap access rules on the cached facts of the last online check.
    async fn ldap_access_offline(
        &self,
        areq: &super::access::AccessRequest<'_>,
        user: &User,
    ) -> super::access::Decision {
        let store = self.inner.store.clone();
        let name = user.name.clone();
        let learned = match tokio::task::spawn_blocking(move || store.access_record(&name)).await {
            Ok(Ok(r)) => r,
            Ok(Err(e)) => {
                tracing::error!("cannot read the cached access facts of {}: {e}", user.name);
                None
            }
            Err(e) => {
                tracing::error!("cache reader task failed: {e}");
                None
            }
        };
        super::access::ldap_offline(
            &self.inner.auth,
            &user.name,
            areq,
            learned.as_ref(),
            super::ldap::now(),
        )
    }

    /// Caches what an online ldap access check of `name` learned (written only when it
    /// changed, so a routine login costs no cache write).
    async fn remember_access(&self, name: &str, learned: AccessRecord) {
        let store = self.inner.store.clone();
        let name = name.to_owned();
        let written = tokio::task::spawn_blocking(move || {
            if store.access_record(&name)?.as_ref() == Some(&learned) {
                return Ok(());
            }
            store.put_access_record(&name, &learned)
        })
        .await;
        match written {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::error!("cannot cache the access facts: {e}"),
            Err(e) => tracing::error!("cache writer task failed: {e}"),
        }
    }
}

#[cfg(test)]
mod tests;
