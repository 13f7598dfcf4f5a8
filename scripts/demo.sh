#!/bin/bash
# The demo: install packages, build, start a small slapd on 127.0.0.1, stage the product with
# install.sh into a temporary root, run `sssd -i` in a private mount namespace and resolve
# LDAP users and groups with the real getent and id. The host is not changed.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if [ "$(id -u)" -ne 0 ]; then
    echo "scripts/demo.sh: run as root (sudo ./scripts/demo.sh): it uses a mount namespace" >&2
    exit 1
fi

bash scripts/deps.sh
cargo build --release --workspace
exec target/release/sssd-demo "$@"
