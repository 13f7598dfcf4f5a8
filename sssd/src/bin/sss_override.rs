//! `sss_override`: local overrides of user and group attributes (see
//! `sssd::tools::sss_override`).

fn main() {
    sssd::tools::sss_cache::process_main("sss_override", sssd::tools::sss_override::run);
}
