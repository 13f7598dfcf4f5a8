//! `proxy_pam_target`: PAM requests run through libpam in a `proxy_child` each (at most
//! `proxy_max_children` at once), the password handed over its stdin and wiped here after
//! use. With cached credentials a successful password is kept (hashed) and checked when
//! the helper cannot run. Used by proxy domains and by files domains with
//! `auth_provider = proxy`.

use crate::backend::pam::offline::{self, OfflinePolicy};
use crate::backend::pam::verdict_result;
use crate::backend::store::Store;
use crate::sbus::{PamForward, PamResult};
use sss_proto::pam::{authtok, status};
use sss_proto::proxy::{PamOp, PamReply, PamRequest};
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::process::Command as Process;
use zeroize::Zeroizing;

/// How long one PAM transaction in the helper may take.
pub const PAM_DEADLINE: Duration = Duration::from_secs(30);

/// Largest reply read from a PAM helper.
const MAX_PAM_REPLY: u64 = 64 * 1024;

/// Why the helper gave no PAM answer.
#[derive(Debug, thiserror::Error)]
pub enum PamChildError {
    /// It could not be started or its pipes failed.
    #[error("proxy_child for PAM target {target}: {detail}")]
    Io {
        /// `proxy_pam_target`.
        target: String,
        /// What failed.
        detail: String,
    },
    /// It did not answer in time and was killed.
    #[error("proxy_child for PAM target {target} did not answer within {secs} s and was killed")]
    Timeout {
        /// `proxy_pam_target`.
        target: String,
        /// The deadline.
        secs: u64,
    },
}

fn password(req: &PamForward) -> Option<Zeroizing<Vec<u8>>> {
    (req.authtok_type == authtok::PASSWORD && !req.authtok.is_empty()).then(|| req.authtok.clone())
}

/// The PAM service one domain's PAM requests go through.
pub struct PamTarget {
    target: String,
    helper: PathBuf,
    slots: tokio::sync::Semaphore,
    store: Arc<dyn Store>,
    /// `Some` when `cache_credentials = true`: the limits of offline logins.
    offline: Option<OfflinePolicy>,
    creds_lock: tokio::sync::Mutex<()>,
}

impl PamTarget {
    /// PAM service `target` run by `helper`, at most `max_children` at once; passwords
    /// cached in `store` when `offline` is given.
    pub fn new(
        target: String,
        max_children: u32,
        helper: PathBuf,
        store: Arc<dyn Store>,
        offline: Option<OfflinePolicy>,
    ) -> PamTarget {
        PamTarget {
            target,
            helper,
            slots: tokio::sync::Semaphore::new(usize::try_from(max_children).unwrap_or(1)),
            store,
            offline,
            creds_lock: tokio::sync::Mutex::new(()),
        }
    }

    /// The PAM service name.
    pub fn target(&self) -> &str {
        &self.target
    }

    fn request(req: &PamForward, op: PamOp, user: &str) -> PamRequest {
        PamRequest {
            op,
            user: user.to_string(),
            rhost: req.rhost.clone(),
            tty: req.tty.clone(),
            ruser: req.ruser.clone(),
            authtok: password(req).unwrap_or_default(),
            new_authtok: if req.new_authtok_type == authtok::PASSWORD {
                req.new_authtok.clone()
            } else {
                Zeroizing::default()
            },
        }
    }

    /// One transaction whose PAM status is the answer (account management, password
    /// change steps); `user` is the name the target sees.
    pub async fn simple(&self, req: &PamForward, op: PamOp, user: &str) -> PamResult {
        match self.run_child(&Self::request(req, op, user)).await {
            Ok(r) => PamResult::status(r.status),
            Err(e) => {
                tracing::error!("{e}");
                PamResult::status(status::SYSTEM_ERR)
            }
        }
    }

    /// Authenticates `user` with the request's password (offline from the cached hash
    /// when the helper fails and credentials are cached).
    pub async fn authenticate(&self, req: &PamForward, user: &str) -> PamResult {
        let Some(pw) = password(req) else {
            return PamResult::status(status::AUTH_ERR);
        };
        match self
            .run_child(&Self::request(req, PamOp::Authenticate, user))
            .await
        {
            Ok(r) => {
                if r.status == status::SUCCESS {
                    self.remember_password(user, &pw).await;
                } else {
                    tracing::info!("{user} through {:?}: {}", self.target, r.message);
                }
                PamResult::status(r.status)
            }
            Err(e) => {
                tracing::error!("{e}");
                if self.offline.is_some() {
                    self.offline_authenticate(user, &pw).await
                } else {
                    PamResult::status(status::AUTHINFO_UNAVAIL)
                }
            }
        }
    }

    /// A password change step (`prelim`: the check of the old password); a changed
    /// password replaces the cached one.
    pub async fn chauthtok(&self, req: &PamForward, prelim: bool, user: &str) -> PamResult {
        let op = if prelim {
            PamOp::ChauthtokPrelim
        } else {
            PamOp::Chauthtok
        };
        let r = self.simple(req, op, user).await;
        if !prelim && r.pam_status == status::SUCCESS && req.new_authtok_type == authtok::PASSWORD {
            self.remember_password(user, &req.new_authtok).await;
        }
        r
    }

    /// Runs one PAM transaction in a new helper (waiting for a free slot).
    async fn run_child(&self, req: &PamRequest) -> Result<PamReply, PamChildError> {
        let target = self.target.clone();
        let io = |detail: String| PamChildError::Io {
            target: target.clone(),
            detail,
        };
        let _slot = self.slots.acquire().await.map_err(|e| io(e.to_string()))?;
        let program = &self.helper;
        let mut child = Process::new(program)
            .arg("--pam-target")
            .arg(&target)
            .args(crate::backend::krb5::child::helper_log_args())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(crate::backend::krb5::child::helper_stderr(program))
            .kill_on_drop(true)
            // A group of its own: a hung transaction is killed with the processes its
            // modules started in that group (pam_exec starts its own sessions: not those).
            .process_group(0)
            .spawn()
            .map_err(|e| io(format!("cannot start {}: {e}", program.display())))?;
        let pid = child.id().and_then(|p| i32::try_from(p).ok());
        if let Some(err) = child.stderr.take() {
            tokio::spawn(async move {
                use tokio::io::AsyncBufReadExt;
                let mut lines = tokio::io::BufReader::new(err).lines();
                while let Ok(Some(l)) = lines.next_line().await {
                    tracing::info!("proxy_child: {l}");
                }
            });
        }
        let body = req.encode();
        let (Some(mut stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            return Err(io("no pipes".into()));
        };
        let exchange = async {
            stdin.write_all(&body).await?;
            stdin.shutdown().await?;
            drop(stdin);
            let mut out = Vec::new();
            stdout.take(MAX_PAM_REPLY).read_to_end(&mut out).await?;
            Ok::<_, std::io::Error>(out)
        };
        let out = match tokio::time::timeout(PAM_DEADLINE, exchange).await {
            Ok(Ok(out)) => out,
            Ok(Err(e)) => {
                let _ = child.start_kill();
                return Err(io(e.to_string()));
            }
            Err(_) => {
                if let Some(pid) = pid {
                    // SAFETY: plain syscall; the group is the child's own (process_group(0)).
                    unsafe { libc::kill(-pid, libc::SIGKILL) };
                }
                let _ = child.start_kill();
                let _ = child.wait().await;
                return Err(PamChildError::Timeout {
                    target,
                    secs: PAM_DEADLINE.as_secs(),
                });
            }
        };
        drop(body);
        let status = child
            .wait()
            .await
            .map(|s| s.to_string())
            .unwrap_or_default();
        PamReply::decode(&out).map_err(|e| io(format!("no valid answer (exit: {status}): {e}")))
    }

    async fn remember_password(&self, name: &str, pw: &[u8]) {
        if self.offline.is_none() {
            return;
        }
        let _guard = self.creds_lock.lock().await;
        let pw = Zeroizing::new(pw.to_vec());
        let store = self.store.clone();
        let who = name.to_string();
        let name = name.to_string();
        let res = tokio::task::spawn_blocking(move || -> Result<(), String> {
            let hash = offline::hash_password(&pw)?;
            let old = store.credentials(&name).map_err(|e| e.to_string())?;
            let c = offline::after_online_success(old.as_ref(), hash, super::now(), false);
            store
                .put_credentials(&name, Some(&c))
                .map_err(|e| e.to_string())
        })
        .await;
        match res {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::error!("cannot cache the password of {who}: {e}"),
            Err(e) => tracing::error!("credential cache task failed: {e}"),
        }
    }

    async fn offline_authenticate(&self, name: &str, pw: &[u8]) -> PamResult {
        let Some(policy) = self.offline else {
            return PamResult::status(status::AUTHINFO_UNAVAIL);
        };
        let _guard = self.creds_lock.lock().await;
        let pw = Zeroizing::new(pw.to_vec());
        let store = self.store.clone();
        let name = name.to_string();
        let res = tokio::task::spawn_blocking(move || {
            let creds = store.credentials(&name).ok().flatten();
            let (verdict, update) =
                offline::offline_auth(creds.as_ref(), &pw, policy, super::now());
            if let Some(c) = update {
                let _ = store.put_credentials(&name, Some(&c));
            }
            verdict
        })
        .await;
        match res {
            Ok(v) => verdict_result(v),
            Err(e) => {
                tracing::error!("offline authentication task failed: {e}");
                PamResult::status(status::SYSTEM_ERR)
            }
        }
    }
}
