//! libFuzzer entry for `sssd_fuzz::targets::autofs` (see fuzz/README.md).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| sssd_fuzz::targets::autofs(data));
