//! `sssctl`: SSSD's administration tool (see `sssd::tools::sssctl`).

fn main() {
    sssd::tools::sss_cache::process_main("sssctl", sssd::tools::sssctl::run);
}
