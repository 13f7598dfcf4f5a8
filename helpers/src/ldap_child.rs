//! What `ldap_child` does: get a TGT for the host principal from a keytab into a ccache.
//! The principal is the configured one, or the keytab's closest (see [`crate::keytab_choice`]).

use sss_proto::child::{LdapChildReply, LdapChildRequest};
use sss_proto::debug::class;

use crate::keytab_choice;
use crate::krb5::{Context, Keytab, Krb5Error};

/// The principal `ldap_child` gets a TGT for: the request's, qualified with its realm when it
/// names none; `None` when the request leaves it empty (the host principal is used).
pub fn principal_name(req: &LdapChildRequest) -> Option<String> {
    let p = req.principal.trim();
    if p.is_empty() {
        return None;
    }
    if p.contains('@') || req.realm.is_empty() {
        Some(p.to_string())
    } else {
        Some(format!("{p}@{}", req.realm))
    }
}

/// Runs one request.
pub fn run(req: &LdapChildRequest) -> LdapChildReply {
    crate::log::trace(
        "run",
        format!(
            "TGT for {} from keytab {:?} into {}",
            principal_name(req)
                .as_deref()
                .unwrap_or("the host principal"),
            req.keytab,
            req.ccache
        ),
    );
    match get_tgt(req) {
        Ok(expire_time) => LdapChildReply {
            result: 0,
            krb5_error: 0,
            ccache: req.ccache.clone(),
            expire_time,
        },
        Err(e) => {
            crate::log::op_failure("run", &e);
            LdapChildReply {
                result: libc::EIO as u32,
                krb5_error: e.code,
                ccache: String::new(),
                expire_time: 0,
            }
        }
    }
}

fn get_tgt(req: &LdapChildRequest) -> Result<i64, Krb5Error> {
    let ctx = Context::new()?;
    let wanted = match principal_name(req) {
        Some(name) => name,
        None => {
            // host/<fqdn> in the default realm, or in the requested one.
            let host = ctx.host_principal()?.name()?;
            let base = host.split('@').next().unwrap_or(&host).to_string();
            if req.realm.is_empty() {
                host
            } else {
                format!("{base}@{}", req.realm)
            }
        }
    };
    let keytab = ctx.keytab(&req.keytab)?;
    let chosen = from_keytab(&keytab, &wanted, &req.keytab);
    let client = ctx.parse_name(&chosen)?;
    let mut opts = ctx.init_opts()?;
    if req.lifetime > 0 {
        opts.set_lifetime(i32::try_from(req.lifetime).unwrap_or(i32::MAX));
    }
    let mut creds = ctx.init_creds_keytab(&client, &keytab, &opts)?;
    let ccache = if req.ccache.contains(':') {
        req.ccache.clone()
    } else {
        format!("FILE:{}", req.ccache)
    };
    ctx.store(&ccache, &client, &mut creds)?;
    Ok(creds.endtime())
}

/// The principal of `keytab` to use for `wanted` (see [`crate::keytab_choice`]): `wanted`
/// itself when the keytab cannot be listed (getting the TGT then reports the keytab's
/// error) or holds it.
fn from_keytab(keytab: &Keytab<'_>, wanted: &str, keytab_name: &str) -> String {
    let shown = if keytab_name.is_empty() {
        "the default keytab"
    } else {
        keytab_name
    };
    let names = match keytab.principals() {
        Ok(n) => n,
        Err(e) => {
            crate::log::op_failure("from_keytab", format!("{shown}: {e}"));
            return wanted.to_string();
        }
    };
    let (name, realm) = match wanted.rsplit_once('@') {
        Some((n, r)) => (n, Some(r)),
        None => (wanted, None),
    };
    match keytab_choice::choose(&names, name, realm) {
        Some(c) if c != wanted => {
            crate::log::log(
                "from_keytab",
                class::MINOR,
                &format!("{wanted} is not in {shown}; using {c} instead"),
            );
            c.to_string()
        }
        _ => wanted.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn principal_gets_the_realm() {
        let mut r = LdapChildRequest {
            realm: "R.TEST".into(),
            principal: "host/a.example".into(),
            keytab: String::new(),
            lifetime: 0,
            ccache: "/x".into(),
            kdcs: vec![],
        };
        assert_eq!(principal_name(&r).as_deref(), Some("host/a.example@R.TEST"));
        r.principal = "p@OTHER".into();
        assert_eq!(principal_name(&r).as_deref(), Some("p@OTHER"));
        r.principal = String::new();
        assert_eq!(principal_name(&r), None);
    }
}
