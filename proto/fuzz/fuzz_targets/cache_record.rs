//! libFuzzer entry for `sssd_fuzz::targets::cache_record` (see fuzz/README.md).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| sssd_fuzz::targets::cache_record(data));
