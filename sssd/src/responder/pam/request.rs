//! One PAM request, server side (spec 2.7): decode, resolve `name[@domain]` through the
//! lookup engine with the `pam_id_timeout` window, apply the trust rules, forward to the
//! backend, filter the answer.

use super::PamCtx;
use super::filter::{account_expired_item, client_items};
use super::session::uid_is_active;
use super::settings::InitgroupsScheme;
use super::trust::{self, DomainCheck, Trust};
use crate::model::User;
use crate::responder::common::ClientInfo;
use crate::responder::common::cache_req::Mode;
use crate::responder::common::names::parse_name;
use crate::sbus::PamForward;
use sss_proto::Command;
use sss_proto::pam::{PamReply, PamRequest, ResponseItem, decode_request, status};
use zeroize::Zeroizing;

/// `PAM_CLI_FLAGS_ALLOW_CHAUTHTOK_BY_ROOT`: only honoured for root clients.
pub use sss_proto::pam::cli_flag::ALLOW_CHAUTHTOK_BY_ROOT as CLI_FLAG_ALLOW_CHAUTHTOK_BY_ROOT;

/// A reply with `status`, no items.
fn bare(st: i32) -> PamReply {
    PamReply {
        status: st,
        items: Vec::new(),
    }
}

/// A reply with `status` and, when known, the DOMAIN_NAME item.
fn with_domain(st: i32, domain: Option<&str>) -> PamReply {
    PamReply {
        status: st,
        items: client_items(Vec::new(), domain, None, 0, &[])
            .into_iter()
            .map(|(kind, data)| ResponseItem { kind, data })
            .collect(),
    }
}

/// The status reported when the backend could not be asked: AUTHINFO_UNAVAIL for
/// authentication and password changes (pam_sss's `ignore_authinfo_unavail` applies),
/// SYSTEM_ERR for the other commands.
pub fn backend_failure_status(cmd: u32) -> i32 {
    match Command::from_u32(cmd) {
        Some(
            Command::PamAuthenticate
            | Command::PamChAuthTok
            | Command::PamChAuthTokPrelim
            | Command::PamPreAuth,
        ) => status::AUTHINFO_UNAVAIL,
        _ => status::SYSTEM_ERR,
    }
}

/// Handles one PAM command; never fails: every problem becomes a PAM status.
pub async fn process(ctx: &PamCtx, client: &ClientInfo, cmd: u32, body: &[u8]) -> PamReply {
    if client.version < 2 {
        tracing::warn!(
            client = client.id,
            version = client.version,
            "PAM protocol version 1 requests are not supported"
        );
        return bare(status::SYSTEM_ERR);
    }
    let mut req = match decode_request(body, client.version) {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!(
                client = client.id,
                uid = client.peer.uid,
                "malformed PAM request: {e}"
            );
            return bare(status::SYSTEM_ERR);
        }
    };
    let Some(logon) = req.user.clone().filter(|u| !u.is_empty()) else {
        tracing::info!(client = client.id, "PAM request without a user name");
        return bare(status::CRED_INSUFFICIENT);
    };
    let reply = resolve_and_forward(ctx, client, cmd, &logon, &mut req).await;
    tracing::debug!(
        client = client.id,
        uid = client.peer.uid,
        cmd = format_args!("{cmd:#x}"),
        user = %logon,
        service = req.service.as_deref().unwrap_or(""),
        status = reply.status,
        "PAM request done"
    );
    reply
}

/// How far the client is trusted; names in `pam_trusted_users` are matched through the
/// cache by the client's uid.
async fn client_trust(ctx: &PamCtx, uid: u32) -> Trust {
    let listed = ctx.settings.trusted.as_ref();
    if let Some(t) = trust::trust_by_uid(uid, listed) {
        return t;
    }
    let names = listed.map(|t| t.names.as_slice()).unwrap_or_default();
    let hit = match ctx.cr.user_by_uid(uid, Mode::CacheOnly).await {
        Ok(Some((d, u))) => trust::name_listed(names, &u.name, d, &ctx.cr.settings.domains),
        Ok(None) => false,
        Err(e) => {
            tracing::warn!("pam_trusted_users: looking up uid {uid}: {e}");
            false
        }
    };
    Trust {
        trusted: hit,
        explicit: hit,
    }
}

/// Finds the user: cache first; the backend is asked (initgroups) unless the name was
/// refreshed within `pam_id_timeout`, the user has a session (`no_session`) or the
/// scheme is `never`. The time of a backend refresh starts a new `pam_id_timeout`
/// window for `logon`.
async fn lookup(
    ctx: &PamCtx,
    logon: &str,
    only: Option<&[usize]>,
) -> Result<Option<(usize, User)>, String> {
    let cr = &ctx.cr;
    let now = cr.clock.now();
    // Only the user is needed here; its group memberships are refreshed with it below.
    let cached = cr
        .user_by_name_in(logon, Mode::CacheOnly, only)
        .await
        .map_err(|e| e.to_string())?;
    if let Some((d, user)) = &cached {
        let skip = ctx.id_fresh(logon, now)
            || match ctx.settings.pam.pam_initgroups_scheme {
                InitgroupsScheme::Never => true,
                InitgroupsScheme::NoSession => {
                    let s = &ctx.settings;
                    uid_is_active(s.session_dir.clone(), s.proc_dir.clone(), user.uid).await
                }
                InitgroupsScheme::Always => false,
            };
        if skip {
            return Ok(Some((*d, user.clone())));
        }
    }
    let found = cr
        .initgroups_in(logon, Mode::NoCache, only)
        .await
        .map_err(|e| e.to_string())?;
    if found.is_some() {
        ctx.id_refreshed(logon, now);
    }
    Ok(found.map(|(d, u, _)| (d, u)))
}

async fn resolve_and_forward(
    ctx: &PamCtx,
    client: &ClientInfo,
    cmd: u32,
    logon: &str,
    req: &mut PamRequest,
) -> PamReply {
    let settings = &ctx.settings;
    let domains = &ctx.cr.settings.domains;
    let trust = client_trust(ctx, client.peer.uid).await;
    let requested = trust::requested_domains(req.requested_domains.as_deref());
    if let Some(r) = &requested
        && !trust::may_request(trust, r, &settings.pam.pam_public_domains)
    {
        tracing::warn!(
            client = client.id,
            uid = client.peer.uid,
            "domains={} names a non-public domain and the client is not root or in \
             pam_trusted_users",
            r.join(",")
        );
        return bare(status::PERM_DENIED);
    }
    // As SSSD, the lookup is limited to the requested domains for every client.
    let only: Option<Vec<usize>> = requested.as_ref().map(|r| {
        (0..domains.len())
            .filter(|&i| r.iter().any(|x| x.eq_ignore_ascii_case(&domains[i].name)))
            .collect()
    });
    let named_domain = parse_name(logon, domains)
        .1
        .and_then(|i| domains.get(i))
        .map(|d| d.name.as_str());
    let (d, user) = match lookup(ctx, logon, only.as_deref()).await {
        Ok(Some(found)) => found,
        Ok(None) => return with_domain(status::USER_UNKNOWN, named_domain),
        Err(e) => {
            tracing::warn!(client = client.id, "looking up {logon:?}: {e}");
            return bare(status::SYSTEM_ERR);
        }
    };
    let Some(dom) = domains.get(d) else {
        return bare(status::SYSTEM_ERR);
    };
    match trust::check_domain(
        trust,
        &dom.name,
        requested.as_deref(),
        &settings.pam.pam_public_domains,
    ) {
        DomainCheck::Forward => {}
        DomainCheck::PermDenied => {
            tracing::warn!(
                client = client.id,
                uid = client.peer.uid,
                "untrusted uid cannot use the non-public domain {}",
                dom.name
            );
            return with_domain(status::PERM_DENIED, Some(&dom.name));
        }
        DomainCheck::NotRequested => {
            return with_domain(status::USER_UNKNOWN, Some(&dom.name));
        }
    }
    // A local override may have renamed the user: the backend knows the original name.
    let backend_name = ctx
        .cr
        .sources
        .get(d)
        .map_or_else(|| user.name.clone(), |s| s.original_user_name(&user.name));
    let mut fwd = forward_of(cmd, &dom.name, &backend_name, req);
    if !client.peer.privileged() {
        // The backend may rely on this flag meaning "a root client asked".
        fwd.cli_flags &= !CLI_FLAG_ALLOW_CHAUTHTOK_BY_ROOT;
    }
    let service = req.service.clone();
    let result = match ctx.backend.pam_handler(fwd, settings.pam_timeout).await {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!(client = client.id, "{e}");
            return with_domain(backend_failure_status(cmd), Some(&dom.name));
        }
    };
    let mut items = result.items;
    items.extend(account_expired_item(
        result.pam_status,
        service.as_deref(),
        settings.pam.pam_verbosity,
        settings
            .pam
            .pam_account_expired_message
            .as_deref()
            .unwrap_or_default(),
    ));
    PamReply {
        status: result.pam_status,
        items: client_items(
            items,
            Some(&dom.name),
            service.as_deref(),
            settings.pam.pam_verbosity,
            &settings.pam.pam_response_filter,
        )
        .into_iter()
        .map(|(kind, data)| ResponseItem { kind, data })
        .collect(),
    }
}

/// The backend request for `user` of `domain`; the tokens move out of `req` into
/// zeroizing buffers (the request's own copies are wiped when it drops).
pub fn forward_of(cmd: u32, domain: &str, user: &str, req: &mut PamRequest) -> PamForward {
    let take = |t: &mut Option<sss_proto::pam::AuthTok>| match t {
        Some(tok) => (tok.kind, Zeroizing::new(std::mem::take(&mut tok.data))),
        None => (sss_proto::pam::authtok::EMPTY, Zeroizing::new(Vec::new())),
    };
    let (authtok_type, authtok) = take(&mut req.authtok);
    let (new_authtok_type, new_authtok) = take(&mut req.newauthtok);
    PamForward {
        cmd: u16::try_from(cmd).unwrap_or_default(),
        domain: domain.to_string(),
        user: user.to_string(),
        service: req.service.clone().unwrap_or_default(),
        tty: req.tty.clone().unwrap_or_default(),
        ruser: req.ruser.clone().unwrap_or_default(),
        rhost: req.rhost.clone().unwrap_or_default(),
        authtok_type,
        authtok,
        new_authtok_type,
        new_authtok,
        cli_pid: req.cli_pid.unwrap_or_default(),
        cli_flags: req.flags.unwrap_or_default(),
        cli_id: crate::logging::current_request_id(),
    }
}
