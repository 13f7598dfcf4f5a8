//! `sssd_nss` binary.

fn main() {}
