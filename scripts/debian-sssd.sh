#!/usr/bin/env bash
# Unpacks Debian's sssd 2.8 (daemon, LDAP/krb5/AD providers, InfoPipe, NSS and PAM modules, tools) into a private
# root for interop tests and benchmarks, without installing it: the packages' maintainer
# scripts (which edit /etc/nsswitch.conf and /etc/pam.d) never run. Their shared-library
# dependencies are installed with apt (plain libraries only).
#
# Usage: scripts/debian-sssd.sh [ROOT]   (default: /var/cache/rsssd/debian-sssd)
# Prints ROOT on success. Idempotent.
set -euo pipefail
root=${1:-/var/cache/rsssd/debian-sssd}
pkgs=(sssd-common sssd-ldap sssd-krb5-common sssd-krb5 sssd-ad sssd-ad-common libnss-sss libpam-sss
      libsss-certmap0 libsss-idmap0 libsss-nss-idmap0 sssd-tools libsss-sudo sssd-dbus)
libs=(libc-ares2 libdhash1 libini-config5 libldb2 libnl-3-200 libnl-route-3-200
      libref-array1 libtalloc2 libtdb1 libtevent0 libsemanage2 libnfsidmap1 libpopt0
      libkeyutils1 libcollection4 libbasicobjects0 libpath-utils1 libjansson4 libcurl4
      libjose0 libunistring2 libdbus-1-3 libsmbclient samba-libs)
if [ -x "$root/usr/sbin/sssd" ] && [ -x "$root/usr/sbin/sss_cache" ] \
   && [ -x "$root/usr/libexec/sssd/sssd_ifp" ] && [ -f "$root/.complete" ] \
   && [ -f "$root/usr/lib/x86_64-linux-gnu/sssd/libsss_ad.so" ]; then
  echo "$root"; exit 0
fi
export DEBIAN_FRONTEND=noninteractive
missing=()
for l in "${libs[@]}"; do
  dpkg-query -W -f='${Status}' "$l" 2>/dev/null | grep -q 'install ok installed' || missing+=("$l")
done
if [ ${#missing[@]} -gt 0 ]; then
  apt-get update -qq >&2 || true
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi
dl=$(mktemp -d); chmod 755 "$dl"
trap 'rm -rf "$dl"' EXIT
(cd "$dl" && apt-get download -qq "${pkgs[@]}" >&2)
mkdir -p "$root"
for deb in "$dl"/*.deb; do dpkg -x "$deb" "$root"; done
touch "$root/.complete"
echo "$root"
