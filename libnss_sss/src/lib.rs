//! `libnss_sss.so.2`: the glibc NSS module. A thin `extern "C"` layer over a plain-Rust
//! client core.
