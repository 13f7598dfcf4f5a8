//! `sssd_be` binary.

fn main() {}
