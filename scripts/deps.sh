#!/bin/bash
# Install the system packages the build, the tests and the demo need (Debian 12, as root).
#
# Idempotent: installs only what is missing, runs `apt-get update` only then. Never leaves a
# system slapd/krb5kdc/kadmind/smbd/nmbd/samba running (stopped by the PID in their pidfile)
# and never changes /etc/nsswitch.conf or the existing files of /etc/pam.d: both are
# checksummed before, backed up, and restored if a package maintainer script touched them.
set -euo pipefail

PACKAGES=(
    slapd ldap-utils                    # throwaway LDAP server + ldapsearch/ldapmodify
    krb5-kdc krb5-admin-server krb5-user libkrb5-dev   # MIT KDC for auth tests, krb5_child FFI
    libsasl2-modules-gssapi-mit libclang-dev   # slapd SASL GSSAPI in tests; bindgen for ldap3's gssapi
    pamtester libpam0g-dev              # PAM tests, pam_sss FFI
    util-linux                          # unshare, nsenter, mount
    man-db                              # man page checks
    openssl                             # test CA and server certificates for StartTLS
    gcc libc6-dev pkg-config            # linking, `gcc -print-multiarch`, the proxy tests' NSS module
    libpam-modules                      # pam_unix, pam_exec: the proxy tests' proxy_pam_target
    procps psmisc                       # ps for diagnostics
    libcap2-bin                         # setcap: install.sh --user (helpers' file capabilities)
    gzip dpkg-dev                       # man page install, dpkg-architecture
    sudo openssh-server openssh-client  # sudo rules from LDAP (libsss_sudo), AuthorizedKeysCommand
    autofs                              # automount with `automount: sss` (lookup_sss.so)
    dnsmasq-base                        # DNS SRV records for service discovery tests (_srv_)
    logrotate                           # the installed /etc/logrotate.d/sssd, run in a test
    systemd                             # systemd-socket-activate, systemd-analyze: socket-activated responders
    # Samba 4 AD DC for id_provider = ad tests (tests/src/samba.rs). Not samba-ad-dc: in
    # bookworm an empty metapackage that pulls in winbind. samba-ad-provision (schema files)
    # is only a Recommends of samba. The install adds /etc/pam.d/samba (a new file; allowed
    # below) and /etc/samba/smb.conf, which the tests never read.
    samba samba-dsdb-modules samba-vfs-modules samba-ad-provision
    ldb-tools smbclient dnsutils        # ldbadd/ldbsearch for bulk fixtures; dig for DNS SRV checks
    adcli                               # AD machine account password renewal (adcli update)
    # ad_gpo_access_control: gpo_child dlopens libsmbclient.so.0; the DC serves sysvol with
    # smbd, which maps Kerberos users to ids through the DC's winbindd.
    libsmbclient winbind
)

log() { printf 'deps.sh: %s\n' "$*" >&2; }

if [ "$(id -u)" -ne 0 ]; then
    log "must run as root (apt-get install)"
    exit 1
fi

installed() {
    [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" = "install ok installed" ]
}

missing=()
for p in "${PACKAGES[@]}"; do
    installed "$p" || missing+=("$p")
done

if [ "${#missing[@]}" -eq 0 ]; then
    log "all ${#PACKAGES[@]} packages present"
else
    log "installing: ${missing[*]}"
    # Packages may add their own files to /etc/pam.d (sudo, sshd): that is fine. What must not
    # change is nsswitch.conf and every file that was there before (pam-auth-update edits).
    # digest ROOT: one hash over the files of the backup, as found under ROOT.
    digest() {
        (cd "$backup" && find . -type f -print0 | sort -z) \
            | (cd "$1" && xargs -0 -r sha256sum 2>/dev/null) | sha256sum | cut -d' ' -f1
    }
    backup=$(mktemp -d /tmp/sssd-deps-backup.XXXXXX)
    cp -a /etc/nsswitch.conf "$backup/nsswitch.conf"
    cp -a /etc/pam.d "$backup/pam.d"
    before=$(digest "$backup")

    # Keep maintainer scripts from starting daemons (invoke-rc.d honours policy-rc.d).
    policy_added=0
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
        chmod 0755 /usr/sbin/policy-rc.d
        policy_added=1
    fi
    cleanup_policy() { [ "$policy_added" = 1 ] && rm -f /usr/sbin/policy-rc.d; return 0; }
    trap cleanup_policy EXIT

    export DEBIAN_FRONTEND=noninteractive
    apt_opts=(-o DPkg::Lock::Timeout=900 -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)
    apt-get "${apt_opts[@]}" update -qq
    apt-get "${apt_opts[@]}" install -y -qq --no-install-recommends "${missing[@]}"

    cleanup_policy
    trap - EXIT

    if [ "$(digest /etc)" != "$before" ]; then
        log "a package changed /etc/nsswitch.conf or /etc/pam.d: restoring from $backup"
        cp -a "$backup/nsswitch.conf" /etc/nsswitch.conf
        cp -a "$backup/pam.d/." /etc/pam.d/
        if [ "$(digest /etc)" != "$before" ]; then
            log "restore failed; backup kept in $backup"
            exit 1
        fi
    fi
    rm -rf "$backup"
fi

# Stop system daemons our install may have started (policy-rc.d should have prevented it):
# by the PID in their pidfile, and only if that PID really is the daemon (comm matches).
stop_pidfile() {
    local pidfile=$1 comm=$2 pid
    [ -r "$pidfile" ] || return 0
    pid=$(tr -dc '0-9' < "$pidfile")
    [ -n "$pid" ] || return 0
    if [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$comm" ]; then
        log "stopping system $comm (pid $pid from $pidfile)"
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 50); do
            [ -d "/proc/$pid" ] || break
            sleep 0.1
        done
        [ -d "/proc/$pid" ] && kill -KILL "$pid" 2>/dev/null
    fi
    return 0
}
if [ "${#missing[@]}" -gt 0 ]; then
    stop_pidfile /run/slapd/slapd.pid slapd
    stop_pidfile /run/krb5kdc.pid krb5kdc
    stop_pidfile /run/kadmind.pid kadmind
    stop_pidfile /run/sshd.pid sshd
    stop_pidfile /run/autofs.pid automount
    stop_pidfile /run/samba/smbd.pid smbd
    stop_pidfile /run/samba/nmbd.pid nmbd
    stop_pidfile /run/samba/samba.pid samba
    stop_pidfile /run/samba/winbindd.pid winbindd
fi

command -v cargo >/dev/null 2>&1 || log "warning: cargo not found in PATH (needed to build)"
exit 0
