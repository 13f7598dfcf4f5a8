//! Per-domain backend: providers, online/offline state, cache writes.
