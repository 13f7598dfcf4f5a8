//! `sss_cache`: expires cached users and groups so that the next lookup asks the directory
//! again, and clears the memory cache (see `sssd::tools::sss_cache`).

fn main() {
    sssd::tools::sss_cache::process_main("sss_cache", sssd::tools::sss_cache::run);
}
