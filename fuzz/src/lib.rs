//! The fuzz targets of the project, in one place: every decoder that reads bytes from another
//! process or from a file has a target here ([`targets`]), run both by the cargo-fuzz
//! binaries (`proto/fuzz`, libFuzzer) and by the smoke tests of this crate
//! (`tests/smoke.rs`: the committed seed corpus plus deterministic mutations, [`smoke`]).
//!
//! A target never fails on bad input; it panics only when a decoder breaks one of its own
//! promises (a panic inside, or a round trip that does not hold). See `README.md`.

pub mod mutate;
pub mod seeds;
pub mod smoke;
pub mod targets;

/// One fuzz target: its name (the cargo-fuzz binary and the seed folder) and its body.
#[derive(Debug, Clone, Copy)]
pub struct Target {
    /// Name of the cargo-fuzz binary and of its `corpus-seed/` folder.
    pub name: &'static str,
    /// The body: feeds `data` to the decoder(s).
    pub run: fn(&[u8]),
}

/// Every target, in the order the README lists them.
pub const TARGETS: &[Target] = &[
    Target {
        name: "nss_request",
        run: targets::nss_request,
    },
    Target {
        name: "pam_request",
        run: targets::pam_request,
    },
    Target {
        name: "krb5_child_request",
        run: targets::krb5_child_request,
    },
    Target {
        name: "ldap_child_request",
        run: targets::ldap_child_request,
    },
    Target {
        name: "child_reply",
        run: targets::child_reply,
    },
    Target {
        name: "proxy_child",
        run: targets::proxy_child,
    },
    Target {
        name: "cache_record",
        run: targets::cache_record,
    },
    Target {
        name: "memcache",
        run: targets::memcache,
    },
    Target {
        name: "config",
        run: targets::config,
    },
    Target {
        name: "nss_reply",
        run: targets::nss_reply,
    },
    Target {
        name: "pam_reply",
        run: targets::pam_reply,
    },
    Target {
        name: "netgroup_reply",
        run: targets::netgroup_reply,
    },
    Target {
        name: "sudo_request",
        run: targets::sudo_request,
    },
    Target {
        name: "sudo_reply",
        run: targets::sudo_reply,
    },
    Target {
        name: "autofs",
        run: targets::autofs,
    },
    Target {
        name: "ssh",
        run: targets::ssh,
    },
];

/// The target called `name`.
pub fn target(name: &str) -> Option<&'static Target> {
    TARGETS.iter().find(|t| t.name == name)
}
