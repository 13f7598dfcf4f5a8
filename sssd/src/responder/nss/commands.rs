//! NSS command dispatch and reply formatting.

use super::NssCtx;
use super::enumerate::{Cursor, Db, snapshot};
use super::memcache::Key;
use super::templates::{self, TemplateVars};
use crate::model::{Group, User};
use crate::responder::common::Action;
use crate::responder::common::ratelimit::client_warning;
use sss_proto::Command;
use sss_proto::nss::{
    GroupEntry, PasswdEntry, decode_enum_request, decode_id_request, decode_name_request,
    encode_initgr_reply, not_found_body,
};
use std::sync::Arc;

/// `EINVAL`: malformed request body.
pub const EINVAL: u32 = 22;
/// `EIO`: the cache could not be read.
pub const EIO: u32 = 5;

/// Per-connection state: enumeration cursors.
#[derive(Debug, Default)]
pub struct NssConn {
    pw: Cursor,
    gr: Cursor,
    svc: super::services::ServiceCursor,
    resolver: super::resolver::ResolverCursors,
}

/// A passwd record ready for the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PwOut {
    /// pw_uid.
    pub uid: u32,
    /// pw_gid.
    pub gid: u32,
    /// pw_name.
    pub name: String,
    /// pw_passwd.
    pub passwd: String,
    /// pw_gecos.
    pub gecos: String,
    /// pw_dir.
    pub dir: String,
    /// pw_shell.
    pub shell: String,
}

impl PwOut {
    /// Appends the wire record.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        PasswdEntry {
            uid: self.uid,
            gid: self.gid,
            name: self.name.as_bytes(),
            passwd: self.passwd.as_bytes(),
            gecos: self.gecos.as_bytes(),
            dir: self.dir.as_bytes(),
            shell: self.shell.as_bytes(),
        }
        .encode_into(out);
    }
}

/// A group record ready for the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrOut {
    /// gr_gid.
    pub gid: u32,
    /// gr_name.
    pub name: String,
    /// gr_passwd.
    pub passwd: String,
    /// gr_mem.
    pub members: Vec<String>,
}

impl GrOut {
    /// Appends the wire record.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        GroupEntry {
            gid: self.gid,
            name: self.name.as_bytes(),
            passwd: self.passwd.as_bytes(),
            members: self.members.iter().map(|m| m.as_bytes()).collect(),
        }
        .encode_into(out);
    }
}

fn one(mut body: Vec<u8>, enc: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    enc(&mut body);
    body
}

impl NssCtx {
    /// The reply body for a single passwd lookup of `key`: one record, or "not found".
    /// The memory cache gets the same record (or loses the key).
    fn passwd_reply(&self, found: Option<(usize, User)>, key: Key<'_>, flags: u32) -> Vec<u8> {
        let out = found.map(|(d, u)| self.format_user(d, &u));
        self.memcache_passwd(key, flags, out.as_ref());
        match out {
            Some(pw) => one(sss_proto::nss::reply_prefix(1), |b| pw.encode_into(b)),
            None => not_found_body(),
        }
    }

    /// The reply body for a single group lookup of `key`: one record, or "not found".
    /// The memory cache gets the same record (or loses the key).
    fn group_reply(&self, found: Option<(usize, Group)>, key: Key<'_>, flags: u32) -> Vec<u8> {
        let out = found.map(|(d, g)| self.format_group(d, &g));
        self.memcache_group(key, flags, out.as_ref());
        match out {
            Some(gr) => one(sss_proto::nss::reply_prefix(1), |b| gr.encode_into(b)),
            None => not_found_body(),
        }
    }

    /// The reply body for an initgroups lookup of `input`; the memory cache gets the same
    /// gids (or loses the name).
    fn initgr_reply(
        &self,
        found: Option<(usize, User, Vec<u32>)>,
        input: &str,
        flags: u32,
    ) -> Vec<u8> {
        self.memcache_initgroups(
            input,
            flags,
            found.as_ref().map(|(d, u, g)| (*d, u, g.as_slice())),
        );
        match found {
            Some((_, _, gids)) => encode_initgr_reply(&gids),
            None => not_found_body(),
        }
    }

    /// Formats `u` of domain `d` as clients see it (names, templates, pwfield).
    pub fn format_user(&self, d: usize, u: &User) -> PwOut {
        let s = &self.cr.settings;
        let Some(dom) = s.domains.get(d) else {
            return PwOut {
                uid: u.uid,
                gid: u.gid,
                name: u.name.clone(),
                passwd: s.nss.pwfield.clone(),
                gecos: u.gecos.clone(),
                dir: u.home.clone(),
                shell: u.shell.clone(),
            };
        };
        let short = dom.short_output(&u.name);
        let fq = dom.internal_fq(&u.name);
        let vars = TemplateVars {
            name: &short,
            uid: u.uid,
            domain: &dom.name,
            fq_name: &fq,
            upn: u.upn.as_deref().unwrap_or(""),
            orig_home: &u.home,
            homedir_substring: templates::homedir_substring(s, dom),
        };
        PwOut {
            uid: u.uid,
            gid: dom.user_gid(u),
            name: dom.output_name(&u.name),
            passwd: templates::pwfield(s, dom),
            gecos: u.gecos.clone(),
            dir: templates::home_dir(s, dom, &vars),
            shell: templates::shell(s, dom, &u.shell),
        }
    }

    /// Formats `g` of domain `d` as clients see it (names, member filtering).
    pub fn format_group(&self, d: usize, g: &Group) -> GrOut {
        let s = &self.cr.settings;
        let dom = s.domains.get(d);
        let name = dom
            .map(|x| x.output_name(&g.name))
            .unwrap_or_else(|| g.name.clone());
        let members = match dom {
            Some(x) if x.ignore_group_members => Vec::new(),
            Some(x) => g
                .members
                .iter()
                .filter(|m| !m.is_empty() && !self.cr.member_hidden(d, m))
                .map(|m| x.output_name(m))
                .collect(),
            None => g.members.clone(),
        };
        GrOut {
            gid: g.gid,
            name,
            passwd: dom.map_or_else(|| s.nss.pwfield.clone(), |x| templates::pwfield(s, x)),
            members,
        }
    }
}

/// Runs one NSS command.
///
/// `uid` is the client's: it decides whether `EX_FLAG_NO_CACHE` is honoured
/// ([`super::no_cache`]).
pub async fn dispatch(
    ctx: &Arc<NssCtx>,
    conn: &mut NssConn,
    uid: u32,
    cmd: u32,
    body: &[u8],
) -> Action {
    let Some(c) = Command::from_u32(cmd) else {
        client_warning(|n| {
            tracing::warn!(
                cmd,
                uid,
                "unknown command; closing the connection ({n} more client warnings held back)"
            )
        });
        return Action::Close;
    };
    let cr = &ctx.cr;
    let ex = matches!(
        c,
        Command::GetPwNamEx
            | Command::GetPwUidEx
            | Command::GetGrNamEx
            | Command::GetGrGidEx
            | Command::InitGrEx
    );
    let result = match c {
        Command::GetPwNam | Command::GetPwNamEx => match decode_name_request(body, ex) {
            Ok((name, flags)) => cr
                .user_by_name(name, ctx.no_cache.mode(uid, flags))
                .await
                .map(|r| ctx.passwd_reply(r, Key::Name(name), flags)),
            Err(_) => return Action::error(EINVAL),
        },
        Command::GetPwUid | Command::GetPwUidEx => match decode_id_request(body, ex) {
            Ok((uid, flags)) => cr
                .user_by_uid(uid, ctx.no_cache.mode(uid, flags))
                .await
                .map(|r| ctx.passwd_reply(r, Key::Id(uid), flags)),
            Err(_) => return Action::error(EINVAL),
        },
        Command::GetGrNam | Command::GetGrNamEx => match decode_name_request(body, ex) {
            Ok((name, flags)) => cr
                .group_by_name(name, ctx.no_cache.mode(uid, flags))
                .await
                .map(|r| ctx.group_reply(r, Key::Name(name), flags)),
            Err(_) => return Action::error(EINVAL),
        },
        Command::GetGrGid | Command::GetGrGidEx => match decode_id_request(body, ex) {
            Ok((gid, flags)) => cr
                .group_by_gid(gid, ctx.no_cache.mode(uid, flags))
                .await
                .map(|r| ctx.group_reply(r, Key::Id(gid), flags)),
            Err(_) => return Action::error(EINVAL),
        },
        Command::InitGr | Command::InitGrEx => match decode_name_request(body, ex) {
            Ok((name, flags)) => cr
                .initgroups(name, ctx.no_cache.mode(uid, flags))
                .await
                .map(|r| ctx.initgr_reply(r, name, flags)),
            Err(_) => return Action::error(EINVAL),
        },
        Command::SetPwEnt => {
            conn.pw.reset(snapshot(ctx, Db::Passwd).await);
            Ok(not_found_body())
        }
        Command::SetGrEnt => {
            conn.gr.reset(snapshot(ctx, Db::Group).await);
            Ok(not_found_body())
        }
        Command::GetPwEnt | Command::GetGrEnt => {
            let Ok(max) = decode_enum_request(body) else {
                return Action::error(EINVAL);
            };
            let (cur, db) = if c == Command::GetPwEnt {
                (&mut conn.pw, Db::Passwd)
            } else {
                (&mut conn.gr, Db::Group)
            };
            if !cur.started() {
                cur.reset(snapshot(ctx, db).await);
            }
            Ok(cur.next_batch(max))
        }
        Command::EndPwEnt => {
            conn.pw.end();
            Ok(not_found_body())
        }
        Command::EndGrEnt => {
            conn.gr.end();
            Ok(not_found_body())
        }
        Command::SetNetgrent => {
            let Ok(name) = sss_proto::netgroup::decode_setnetgrent_request(body) else {
                return Action::error(EINVAL);
            };
            return match super::netgroup::setnetgrent(ctx, name).await {
                Ok(body) => Action::ok(body),
                Err(e) => {
                    tracing::error!("{e}");
                    Action::error(EIO)
                }
            };
        }
        Command::GetServByName
        | Command::GetServByPort
        | Command::SetServEnt
        | Command::GetServEnt
        | Command::EndServEnt => {
            match super::services::dispatch(ctx, &mut conn.svc, c, body).await {
                Some(Ok(b)) => Ok(b),
                Some(Err(super::services::ServiceError::Source(e))) => Err(e),
                Some(Err(super::services::ServiceError::BadRequest)) | None => {
                    return Action::error(EINVAL);
                }
            }
        }
        Command::GetHostByName
        | Command::GetHostByName2
        | Command::GetHostByAddr
        | Command::SetHostEnt
        | Command::GetHostEnt
        | Command::EndHostEnt
        | Command::GetNetByName
        | Command::GetNetByAddr
        | Command::SetNetEnt
        | Command::GetNetEnt
        | Command::EndNetEnt => {
            match super::resolver::dispatch(ctx, &mut conn.resolver, c, body).await {
                Some(Ok(b)) => Ok(b),
                Some(Err(super::resolver::ResolverError::Source(e))) => Err(e),
                Some(Err(super::resolver::ResolverError::BadRequest)) | None => {
                    return Action::error(EINVAL);
                }
            }
        }
        _ => {
            client_warning(|n| {
                tracing::warn!(
                    cmd,
                    uid,
                    "command not served by the NSS responder; closing the connection ({n} \
                     more client warnings held back)"
                )
            });
            return Action::Close;
        }
    };
    match result {
        Ok(body) => Action::ok(body),
        Err(e) => {
            tracing::error!("{e}");
            Action::error(EIO)
        }
    }
}
