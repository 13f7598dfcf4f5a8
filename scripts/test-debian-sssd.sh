#!/bin/bash
# Runs the end-to-end identity, PAM and memory-cache tests against Debian's sssd 2.8
# (unpacked, not installed, by scripts/debian-sssd.sh) instead of our build: checks the tests'
# expectations against the reference implementation. Needs root (mount namespaces). The host
# is not changed.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/deps.sh
root=$(bash scripts/debian-sssd.sh)
SSSD_TESTS_STAGE_ROOT=$root cargo test -p sssd-tests --test identity -- --ignored "$@"
SSSD_TESTS_STAGE_ROOT=$root cargo test -p sssd-tests --test pam --test pam_robustness \
    --test pam_interop -- "$@"
SSSD_TESTS_STAGE_ROOT=$root cargo test -p sssd-tests --test memcache \
    --test memcache_interop -- "$@"
