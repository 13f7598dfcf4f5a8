//! Benchmarks of the identity path, run side by side against our daemon and Debian's sssd.
