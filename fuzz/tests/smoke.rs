//! Smoke run of every fuzz target: the committed seed corpus plus deterministic mutations
//! (see `src/smoke.rs`). Runs on stable in `cargo test`; the long runs use cargo-fuzz.

use sssd_fuzz::{TARGETS, seeds, smoke, target};

/// Mutants per target: a few seconds for all targets together in release.
const MUTATIONS: usize = 20_000;

fn smoke_target(name: &str) {
    let t = target(name).unwrap_or_else(|| panic!("no target {name}"));
    let seeds =
        smoke::load_seeds(name).unwrap_or_else(|e| panic!("seed corpus of {name} unreadable: {e}"));
    assert!(!seeds.is_empty(), "seed corpus of {name} is empty");
    let ran = smoke::run(t, &seeds, MUTATIONS, 0x5eed_0000 ^ name.len() as u64);
    assert_eq!(ran, seeds.len() + MUTATIONS);
}

macro_rules! smoke_tests {
    ($($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                smoke_target(stringify!($name));
            }
        )*
        /// Every target has a smoke test above.
        #[test]
        fn every_target_is_smoked() {
            let listed = [$(stringify!($name)),*];
            for t in TARGETS {
                assert!(listed.contains(&t.name), "target {} has no smoke test", t.name);
            }
        }
    };
}

smoke_tests!(
    nss_request,
    pam_request,
    krb5_child_request,
    ldap_child_request,
    child_reply,
    proxy_child,
    cache_record,
    memcache,
    config,
    nss_reply,
    pam_reply,
    netgroup_reply,
    sudo_request,
    sudo_reply,
    autofs,
    ssh,
);

/// The committed seeds are exactly what the encoders make today
/// (`cargo run -p sssd-fuzz --bin fuzz-seeds` rewrites them).
#[test]
fn committed_seeds_match_the_generator() {
    let made = seeds::all();
    for t in TARGETS {
        let mine: Vec<_> = made.iter().filter(|s| s.target == t.name).collect();
        assert!(!mine.is_empty(), "no seeds made for {}", t.name);
        let dir = seeds::corpus_dir().join(t.name);
        let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        on_disk.sort();
        let mut names: Vec<String> = mine.iter().map(|s| s.name.clone()).collect();
        names.sort();
        assert_eq!(on_disk, names, "seed files of {} differ", t.name);
        for s in mine {
            let got = std::fs::read(dir.join(&s.name)).unwrap();
            assert_eq!(got, s.bytes, "{}/{} is stale", t.name, s.name);
        }
    }
}

/// Each seed is a valid input: the decoder it was made for accepts it.
#[test]
fn seeds_are_accepted() {
    use sss_proto::{child, nss, pam};
    for s in seeds::all() {
        let b = s.bytes.as_slice();
        let ok = match s.target {
            "nss_request" => {
                nss::decode_name_request(b, false).is_ok()
                    || nss::decode_name_request(b, true).is_ok()
                    || nss::decode_id_request(b, false).is_ok()
                    || nss::decode_id_request(b, true).is_ok()
                    || sss_proto::Header::decode(b).is_ok()
            }
            "pam_request" => pam::decode_request(b, 3).is_ok(),
            "krb5_child_request" => child::decode_krb5_request(b).is_ok(),
            "ldap_child_request" => child::decode_ldap_request(b).is_ok(),
            "child_reply" => {
                child::decode_krb5_reply(b).is_ok() || child::decode_ldap_reply(b).is_ok()
            }
            "proxy_child" => {
                use sss_proto::proxy as p;
                p::NssReply::decode(b).is_ok()
                    || p::NssRequest::decode(b).is_ok()
                    || p::PamReply::decode(b).is_ok()
                    || p::PamRequest::decode(b).is_ok()
            }
            "cache_record" => {
                use sssd::cache::fuzzing as c;
                c::decode_user(b).is_some()
                    || c::decode_group(b).is_some()
                    || c::decode_gids(b).is_some()
                    || c::decode_stamp(b).is_some()
                    || c::decode_credentials(b).is_some()
                    || c::decode_access(b).is_some()
            }
            "memcache" => {
                let r = sss_proto::memcache::BytesRegion::from_bytes(b.to_vec());
                sss_proto::memcache::Header::read(&r).is_some_and(|h| h.usable())
            }
            "config" => sssd::config::Config::parse(&String::from_utf8_lossy(b), "seed").is_ok(),
            "nss_reply" => nss::decode_reply_prefix(b).is_ok(),
            "pam_reply" => pam::decode_reply(b).is_ok(),
            "netgroup_reply" => sss_proto::netgroup::decode_setnetgrent_reply(b).is_ok(),
            "sudo_request" => sss_proto::sudo::decode_request(b).is_ok(),
            "sudo_reply" => sss_proto::sudo::decode_reply(b).is_ok(),
            "autofs" => {
                use sss_proto::autofs as a;
                let (first, body) = b.split_first().unwrap_or((&0, b));
                let cmd = a::SETAUTOMNTENT + u32::from(first % 4);
                a::decode_request(cmd, body).is_ok()
                    || (cmd == a::SETAUTOMNTENT && a::decode_setent_reply(body).is_ok())
                    || (cmd == a::GETAUTOMNTENT
                        && a::decode_getent_reply(body).is_ok_and(|e| !e.is_empty()))
                    || (cmd == a::GETAUTOMNTBYNAME
                        && a::decode_byname_reply(body).is_ok_and(|v| v.is_some()))
            }
            "ssh" => {
                sss_proto::ssh::decode_request(b).is_ok()
                    || sss_proto::ssh::decode_reply(b).is_ok()
                    || sssd::cache::ssh::fuzzing::decode_ssh_keys(b).is_some()
            }
            other => panic!("unknown target {other}"),
        };
        assert!(
            ok,
            "seed {}/{} is not accepted by its decoder",
            s.target, s.name
        );
    }
}
