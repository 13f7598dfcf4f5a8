//! libFuzzer entry for `sssd_fuzz::targets::proxy_child` (see fuzz/README.md).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| sssd_fuzz::targets::proxy_child(data));
