//! Users: entry → [`User`] mapping and the lookups by name and by uid.

use super::connection::Connection;
use super::search::{Entry, SearchError};
use super::{MapCtx, filter};
use crate::backend::store::CacheOp;
use crate::model::User;

/// Maps a user entry; `None` when a required attribute is missing or malformed, or the uid
/// is outside `min_id`..`max_id`. `wanted` picks among several name values.
pub fn user_from_entry(ctx: &MapCtx, e: &Entry, wanted: Option<&str>) -> Option<User> {
    let o = &ctx.opts;
    let names = e.values(&o.user_name);
    let name = wanted
        .and_then(|w| names.iter().find(|n| ctx.same_name(n, w)))
        .or_else(|| names.first())?;
    let (uid, gid) = ctx.user_ids(e)?;
    if !ctx.id_in_range(uid) {
        tracing::debug!("user {name:?} uid {uid} is outside min_id/max_id: ignored");
        return None;
    }
    let gecos = e
        .first(&o.user_gecos)
        .or_else(|| e.first(&o.user_fullname))
        .unwrap_or("");
    let user = User {
        name: ctx.name(name),
        uid,
        gid,
        gecos: gecos.to_string(),
        home: e.first(&o.user_home_directory).unwrap_or("").to_string(),
        shell: e.first(&o.user_shell).unwrap_or("").to_string(),
        dn: e.dn.clone(),
        upn: e
            .first(&o.user_principal)
            .map(|p| principal(p, o.force_upper_case_realm)),
        modify_timestamp: e.first("modifyTimestamp").map(str::to_string),
        emails: e
            .values(&o.user_email)
            .iter()
            .filter(|m| !m.is_empty() && !m.contains('\0'))
            .cloned()
            .collect(),
    };
    let fields = [&user.name, &user.gecos, &user.home, &user.shell];
    if user.name.is_empty() || fields.iter().any(|f| f.contains('\0')) {
        tracing::warn!(
            "user entry {:?} has an empty name or a NUL byte: ignored",
            e.dn
        );
        return None;
    }
    Some(user)
}

/// A principal as read from the directory; with `ldap_force_upper_case_realm` the realm
/// (after the last `@`) is upper-cased.
pub fn principal(value: &str, upper_realm: bool) -> String {
    match value.rsplit_once('@') {
        Some((name, realm)) if upper_realm => format!("{name}@{}", realm.to_uppercase()),
        _ => value.to_string(),
    }
}

/// The SSH public keys of a user entry (`ldap_user_ssh_public_key` values, as the directory
/// holds them, text or binary blobs; empty values dropped).
pub fn ssh_keys_from_entry(ctx: &MapCtx, e: &Entry) -> Vec<Vec<u8>> {
    e.raw_values(&ctx.opts.user_ssh_public_key)
        .into_iter()
        .filter(|k| !k.is_empty())
        .map(<[u8]>::to_vec)
        .collect()
}

/// The cache operations storing `user` mapped from entry `e`: the user, fresh until
/// `expire`, and its SSH public keys.
pub fn put_user_ops(ctx: &MapCtx, e: &Entry, user: User, expire: i64, ops: &mut Vec<CacheOp>) {
    let keys = ssh_keys_from_entry(ctx, e);
    let name = user.name.clone();
    ops.push(CacheOp::PutUser(user, expire));
    ops.push(CacheOp::PutSshKeys(name, keys));
}

/// Parses a decimal id; rejects negatives, junk and 0-padding tricks beyond u32.
pub fn parse_id(s: &str) -> Option<u32> {
    s.trim().parse::<u32>().ok()
}

/// Searches users matching `inner` (an escaped filter component).
pub async fn search_users(
    ctx: &MapCtx,
    conn: &Connection,
    inner: &str,
) -> Result<Vec<Entry>, SearchError> {
    let f = filter::user(&ctx.opts, inner);
    ctx.search_users(conn, &f, filter::user_attrs(&ctx.opts), None)
        .await
}

/// Fetches the user named `name`: stores it, or deletes it from the cache when the
/// directory has no such (in-range) user. Returns the user found and its name exactly as the
/// directory spells it (for case-sensitive matches such as `memberUid`).
pub async fn by_name(
    ctx: &MapCtx,
    conn: &Connection,
    name: &str,
    ops: &mut Vec<CacheOp>,
) -> Result<Option<(User, String)>, SearchError> {
    let entries = search_users(ctx, conn, &filter::eq(&ctx.opts.user_name, name)).await?;
    let found = entries.iter().find_map(|e| {
        let u = user_from_entry(ctx, e, Some(name))?;
        let raw = e
            .values(&ctx.opts.user_name)
            .iter()
            .find(|n| ctx.same_name(n, name))?;
        Some((u, raw.clone(), e))
    });
    match found {
        Some((u, raw, e)) => {
            put_user_ops(ctx, e, u.clone(), ctx.user_expire(), ops);
            Ok(Some((u, raw)))
        }
        None => {
            ops.push(CacheOp::DeleteUser(ctx.name(name)));
            Ok(None)
        }
    }
}

/// Fetches the users whose `ldap_user_email` or `ldap_user_principal` is `alias` (as
/// SSSD's lookup by UPN) and stores them. Other cached users stop being found by the alias
/// (their own refresh updates the rest of their records).
pub async fn by_alias(
    ctx: &MapCtx,
    conn: &Connection,
    alias: &str,
    ops: &mut Vec<CacheOp>,
) -> Result<usize, SearchError> {
    let o = &ctx.opts;
    let inner = filter::or(&[
        filter::eq(&o.user_principal, alias),
        filter::eq(&o.user_email, alias),
    ]);
    let entries = search_users(ctx, conn, &inner).await?;
    let mut keep = Vec::new();
    for e in &entries {
        if let Some(u) = user_from_entry(ctx, e, None) {
            keep.push(u.name.clone());
            put_user_ops(ctx, e, u, ctx.user_expire(), ops);
        }
    }
    let stored = keep.len();
    ops.push(CacheOp::ForgetAlias {
        alias: alias.to_string(),
        keep,
    });
    Ok(stored)
}

/// Fetches the user with `uid` likewise.
pub async fn by_uid(
    ctx: &MapCtx,
    conn: &Connection,
    uid: u32,
    ops: &mut Vec<CacheOp>,
) -> Result<Option<User>, SearchError> {
    let entries = match ctx.id_filter(conn, &ctx.opts.user_uid_number, uid).await? {
        Some(inner) => search_users(ctx, conn, &inner).await?,
        None => Vec::new(),
    };
    let found = entries
        .iter()
        .filter_map(|e| user_from_entry(ctx, e, None).map(|u| (u, e)))
        .find(|(u, _)| u.uid == uid);
    match found {
        Some((u, e)) => {
            put_user_ops(ctx, e, u.clone(), ctx.user_expire(), ops);
            Ok(Some(u))
        }
        None => {
            ops.push(CacheOp::DeleteUserByUid(uid));
            Ok(None)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::ldap::test_ctx;

    #[test]
    fn realm_is_upper_cased_on_request() {
        assert_eq!(principal("bob@example.com", true), "bob@EXAMPLE.COM");
        assert_eq!(principal("bob@example.com", false), "bob@example.com");
        assert_eq!(principal("a@b@sub.example", true), "a@b@SUB.EXAMPLE");
        assert_eq!(principal("norealm", true), "norealm");
    }

    fn alice() -> Entry {
        Entry::new(
            "uid=Alice,ou=People,dc=x",
            &[
                ("objectClass", &["posixAccount"]),
                ("uid", &["Alice"]),
                ("uidNumber", &["1001"]),
                ("gidNumber", &["100"]),
                ("cn", &["Alice Liddell"]),
                ("homeDirectory", &["/home/alice"]),
                ("loginShell", &["/bin/bash"]),
            ],
        )
    }

    #[test]
    fn ssh_keys_keep_text_and_binary_values_and_drop_empty_ones() {
        let ctx = test_ctx(true);
        let mut e = alice();
        assert!(ssh_keys_from_entry(&ctx, &e).is_empty());
        let blob = vec![0, 0, 0, 11, b's', b's', b'h', 0xff, 0x80];
        e.add_value("sshPublicKey", b"ssh-ed25519 AAAA alice".to_vec());
        e.add_value("SSHPUBLICKEY", blob.clone());
        e.add_value("sshPublicKey", Vec::new());
        assert_eq!(
            ssh_keys_from_entry(&ctx, &e),
            vec![b"ssh-ed25519 AAAA alice".to_vec(), blob]
        );
    }

    #[test]
    fn maps_entries_with_gecos_fallback() {
        let ctx = test_ctx(true);
        let u = user_from_entry(&ctx, &alice(), None).unwrap();
        assert_eq!(u.name, "Alice");
        assert_eq!((u.uid, u.gid), (1001, 100));
        assert_eq!(u.gecos, "Alice Liddell");
        assert_eq!(u.home, "/home/alice");
        assert_eq!(u.dn, "uid=Alice,ou=People,dc=x");
        let mut e = alice();
        e = Entry::new(
            &e.dn.clone(),
            &[
                ("uid", &["Alice"]),
                ("uidNumber", &["1001"]),
                ("gidNumber", &["100"]),
                ("gecos", &["The Alice"]),
                ("cn", &["ignored"]),
            ],
        );
        assert_eq!(user_from_entry(&ctx, &e, None).unwrap().gecos, "The Alice");
    }

    #[test]
    fn case_insensitive_domains_lowercase_names() {
        let ctx = test_ctx(false);
        assert_eq!(user_from_entry(&ctx, &alice(), None).unwrap().name, "alice");
    }

    #[test]
    fn bad_or_out_of_range_ids_are_ignored() {
        let mut ctx = test_ctx(true);
        let bad = Entry::new(
            "uid=b,dc=x",
            &[
                ("uid", &["b"]),
                ("uidNumber", &["-1"]),
                ("gidNumber", &["1"]),
            ],
        );
        assert!(user_from_entry(&ctx, &bad, None).is_none());
        let nogid = Entry::new("uid=b,dc=x", &[("uid", &["b"]), ("uidNumber", &["5"])]);
        assert!(user_from_entry(&ctx, &nogid, None).is_none());
        ctx.min_id = 2000;
        assert!(user_from_entry(&ctx, &alice(), None).is_none());
        ctx.min_id = 1;
        ctx.max_id = 1000;
        assert!(user_from_entry(&ctx, &alice(), None).is_none());
        ctx.max_id = 1001;
        assert!(user_from_entry(&ctx, &alice(), None).is_some());
        let nul = Entry::new(
            "uid=n,dc=x",
            &[
                ("uid", &["n"]),
                ("uidNumber", &["1005"]),
                ("gidNumber", &["1"]),
                ("loginShell", &["/bin/sh\0x"]),
            ],
        );
        assert!(user_from_entry(&ctx, &nul, None).is_none());
        let empty = Entry::new(
            "uid=,dc=x",
            &[
                ("uid", &[""]),
                ("uidNumber", &["1005"]),
                ("gidNumber", &["1"]),
            ],
        );
        assert!(user_from_entry(&ctx, &empty, None).is_none());
    }

    #[test]
    fn wanted_name_picks_among_values() {
        let ctx = test_ctx(true);
        let e = Entry::new(
            "uid=a,dc=x",
            &[
                ("uid", &["a", "alias"]),
                ("uidNumber", &["5"]),
                ("gidNumber", &["5"]),
            ],
        );
        assert_eq!(
            user_from_entry(&ctx, &e, Some("alias")).unwrap().name,
            "alias"
        );
        assert_eq!(user_from_entry(&ctx, &e, None).unwrap().name, "a");
    }
}
