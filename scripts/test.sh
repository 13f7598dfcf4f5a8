#!/bin/bash
# The test command (README, .ci/run): install system packages, build once in release, run
# every test of the workspace in the same profile (nothing builds twice).
#
# Needs root: the end-to-end tests create private mount namespaces (unshare --mount). The
# host is never changed: see tests/src/namespace.rs.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if [ "$(id -u)" -ne 0 ]; then
    echo "scripts/test.sh: run as root (sudo ./scripts/test.sh): tests use mount namespaces" >&2
    exit 1
fi

bash scripts/deps.sh
export CARGO_TERM_COLOR=${CARGO_TERM_COLOR:-never}
cargo build --release --workspace
cargo test --release --workspace --no-fail-fast
