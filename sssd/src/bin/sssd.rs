//! `sssd` binary.

fn main() {}
