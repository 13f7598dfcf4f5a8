//! SSH host keys (`hostid_provider = ldap`), as SSSD 2.8's `sdap_hostid.c`: the host is
//! searched by its fully qualified name, `(&(objectClass=<ldap_host_object_class>)
//! (<ldap_host_fqdn>=NAME))` under `ldap_host_search_base` (the domain's search base when
//! unset), and only its `ldap_host_ssh_public_key` values are kept, stored under the
//! requested name with the requested alias, fresh for `entry_cache_ssh_host_timeout`.
//! No entry removes the cached host; with more than one the cache is left alone (logged).
//! Unlike SSSD the name is escaped in the filter.

use super::connection::{Connection, SearchBase};
use super::search::{Entry, SearchError};
use super::{MapCtx, filter};
use crate::backend::store::CacheOp;
use crate::cache::maps::MapOp;

/// The search filter for host `name`.
pub fn search_filter(ctx: &MapCtx, name: &str) -> String {
    let m = &ctx.opts.maps;
    format!(
        "(&(objectClass={}){})",
        m.host_object_class,
        filter::eq(&m.host_fqdn, name)
    )
}

/// What the search result means for the cache.
pub fn ops_for(ctx: &MapCtx, name: &str, alias: Option<&str>, entries: &[Entry]) -> Vec<CacheOp> {
    let m = &ctx.opts.maps;
    match entries {
        [] => vec![CacheOp::Map(MapOp::SshHostGone(name.to_string()))],
        [e] => {
            let keys: Vec<Vec<u8>> = e
                .raw_values(&m.host_ssh_public_key)
                .into_iter()
                .map(<[u8]>::to_vec)
                .collect();
            vec![CacheOp::Map(MapOp::SshHostPut {
                name: name.to_string(),
                alias: alias.map(str::to_string),
                keys,
                expire: super::now() + i64::from(m.ssh_host_timeout),
            })]
        }
        more => {
            tracing::error!(
                "{} entries have {}={name:?}; SSH host keys need exactly one",
                more.len(),
                m.host_fqdn
            );
            Vec::new()
        }
    }
}

/// Fetches the SSH keys of host `name` (requested with `alias`), appending cache ops.
pub async fn by_name(
    ctx: &MapCtx,
    conn: &Connection,
    name: &str,
    alias: Option<&str>,
    ops: &mut Vec<CacheOp>,
) -> Result<(), SearchError> {
    let m = &ctx.opts.maps;
    let b = SearchBase::parse(m.host_search_base.as_deref().unwrap_or(&conn.bases.base));
    let f = search_filter(ctx, name);
    let f = match &b.filter {
        Some(extra) => format!("(&{f}{extra})"),
        None => f,
    };
    let attrs = vec![
        "objectClass".to_string(),
        m.host_name.clone(),
        m.host_fqdn.clone(),
        m.host_ssh_public_key.clone(),
    ];
    let entries = ctx
        .search_with(conn, &b.dn, b.scope, &f, attrs, ctx.search_timeout())
        .await?;
    ops.extend(ops_for(ctx, name, alias, &entries));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::ldap::test_ctx;

    #[test]
    fn filter_is_sssds_and_escaped() {
        let ctx = test_ctx(false);
        assert_eq!(
            search_filter(&ctx, "h.example.com"),
            "(&(objectClass=ipHost)(fqdn=h.example.com))"
        );
        assert_eq!(
            search_filter(&ctx, "a*)(b"),
            "(&(objectClass=ipHost)(fqdn=a\\2a\\29\\28b))"
        );
    }

    #[test]
    fn no_entry_forgets_the_host_and_two_are_an_error() {
        let ctx = test_ctx(false);
        let ops = ops_for(&ctx, "h", None, &[]);
        assert_eq!(ops, vec![CacheOp::Map(MapOp::SshHostGone("h".into()))]);
        let e = Entry::new("cn=h", &[("sshPublicKey", &["ssh-ed25519 AAAA"])]);
        assert!(ops_for(&ctx, "h", None, &[e.clone(), e.clone()]).is_empty());
        match ops_for(&ctx, "h", Some("a"), &[e]).as_slice() {
            [
                CacheOp::Map(MapOp::SshHostPut {
                    name, alias, keys, ..
                }),
            ] => {
                assert_eq!(name, "h");
                assert_eq!(alias.as_deref(), Some("a"));
                assert_eq!(keys, &vec![b"ssh-ed25519 AAAA".to_vec()]);
            }
            o => panic!("{o:?}"),
        }
    }
}
