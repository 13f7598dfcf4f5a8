#!/bin/bash
# Install the built SSSD reimplementation.
#
#   ./install.sh [DESTDIR=DIR | --destdir DIR] [--no-build] [--force] [--target-dir DIR]
#                [--man-src DIR] [--user NAME | --helper-group GROUP] [--nsswitch|--no-nsswitch]
#   ./install.sh [DESTDIR=DIR] --uninstall
#
# Installs from target/release (or --target-dir):
#   libnss_sss.so   -> /usr/lib/<multiarch>/libnss_sss.so.2
#   libsss_sudo.so  -> /usr/lib/<multiarch>/libsss_sudo.so (if built; sudoers: sss)
#   libpam_sss.so   -> /lib/<multiarch>/security/pam_sss.so, 0644 (if built; on a merged-/usr
#                      system /lib is /usr/lib, so it goes to /usr/lib/<multiarch>/security)
#   sssd, sss_cache -> /usr/sbin/, 0755 (sssctl and sss_override too, if built)
#   sssd_be sssd_nss sssd_pam sssd_sudo krb5_child ldap_child gpo_child proxy_child ->
#                      /usr/libexec/sssd/, 0755, owned by
#                      root when run as root (those built)
#   sssd_autofs     -> /usr/libexec/sssd/sssd_autofs, 0755 (if built)
#   libsss_autofs.so -> /usr/lib/<multiarch>/sssd/modules/libsss_autofs.so, 0644 (if built;
#                      where autofs's lookup_sss.so looks for it)
#   sss_ssh_authorizedkeys -> /usr/bin/, 0755 (if built; sshd's AuthorizedKeysCommand)
#   sss_ssh_knownhostsproxy -> /usr/bin/, 0755 (if built; ssh's ProxyCommand)
#   sssd_ssh        -> /usr/libexec/sssd/, 0755 (if built; services = ssh)
#   sssd_check_socket_activated_responders -> /usr/libexec/sssd/, 0755 (if built; the
#                      socket units' ExecStartPre)
#   man/*.[1-8]     -> /usr/share/man/manN/*.N.gz
#   dist/pam-configs/sss -> /usr/share/pam-configs/sss (pam-auth-update --enable sss)
#   dist/logrotate/sssd -> /etc/logrotate.d/sssd (weekly, SIGHUP to the monitor after)
#   dist/sssd.service -> /usr/lib/systemd/system/sssd.service (Type=notify; not enabled)
#   dist/systemd/sssd-{nss,pam,pam-priv}.socket, sssd-{nss,pam}.service -> the same
#                      directory (socket-activated responders, as SSSD ships them; not enabled)
# By default krb5_child and ldap_child get no setuid bit and no file capabilities: a daemon
# running as root (no `[sssd] user`) passes them what they need.
# --user NAME prepares for `[sssd] user = NAME` in sssd.conf: it creates the system user and
#   group NAME when missing (useradd --system; never inside DESTDIR, where NAME must exist),
#   gives /var/lib/sss/{db,pipes,pipes/private,mc,pubconf} and /var/log/sssd to NAME, and does what
#   --helper-group does with NAME's group.
# --helper-group GROUP (a name or a number) makes krb5_child and ldap_child root:GROUP 0750
#   with file capabilities (setcap, from libcap2-bin): krb5_child
#   cap_dac_read_search,cap_setuid,cap_setgid=ep (read a keytab, become the user whose ccache
#   it writes), ldap_child cap_dac_read_search=ep (read the host keytab). Only GROUP (and
#   root) can run them. --uninstall never removes the user.
# --nsswitch adds `sss` to the passwd, group and (if present) initgroups lines of
#   /etc/nsswitch.conf; --no-nsswitch leaves the file alone. With neither, an interactive run
#   asks (default: no) and a non-interactive one leaves it alone. --uninstall restores each line
#   it changed (or, if the line was edited since, removes only the `sss` it added).
# It also creates /etc/sssd, /var/lib/sss/{db,pipes/private,mc,pubconf}, /var/log/sssd with
# SSSD modes.
# Every file and directory it creates is listed in a manifest so --uninstall removes exactly
# those. It refuses to overwrite a file owned by an installed Debian package (dpkg -S), e.g.
# libnss-sss, unless --force. Builds with `cargo build --release` when artifacts are missing,
# unless --no-build.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
DESTDIR=${DESTDIR:-}
target_dir=""
man_src=""
build=1
force=0
uninstall=0
user=""
helper_group=""
nsswitch=ask

usage() { sed -n '4,6p' "$0" | sed 's/^# *//' >&2; exit 2; }

while [ $# -gt 0 ]; do
    case "$1" in
        DESTDIR=*) DESTDIR=${1#DESTDIR=} ;;
        --destdir) DESTDIR=${2:?--destdir needs a directory}; shift ;;
        --destdir=*) DESTDIR=${1#--destdir=} ;;
        --target-dir) target_dir=${2:?--target-dir needs a directory}; shift ;;
        --target-dir=*) target_dir=${1#--target-dir=} ;;
        --man-src) man_src=${2:?--man-src needs a directory}; shift ;;
        --user) user=${2:?--user needs a user name}; shift ;;
        --user=*) user=${1#--user=} ;;
        --helper-group) helper_group=${2:?--helper-group needs a group}; shift ;;
        --helper-group=*) helper_group=${1#--helper-group=} ;;
        --no-build) build=0 ;;
        --force) force=1 ;;
        --uninstall) uninstall=1 ;;
        --nsswitch) nsswitch=yes ;;
        --no-nsswitch) nsswitch=no ;;
        -h|--help) usage ;;
        *) echo "install.sh: unknown argument: $1" >&2; usage ;;
    esac
    shift
done

DESTDIR=${DESTDIR%/}
[ -n "$target_dir" ] || target_dir="$here/target/release"
[ -n "$man_src" ] || man_src="$here/man"
manifest_rel=/usr/share/sssd-rs/install.manifest
manifest="$DESTDIR$manifest_rel"

log() { printf 'install.sh: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

# --- nsswitch.conf ---------------------------------------------------------------------------
# $manifest.nsswitch holds one record per changed line: DB<TAB>line before<TAB>line after.
nsswitch_conf="$DESTDIR/etc/nsswitch.conf"

# Prints LINE with `sss` appended to its sources (before a trailing comment).
with_sss() {
    local line=$1 body comment=""
    body=${line%%#*}
    [ "$body" != "$line" ] && comment=" #${line#*#}"
    body=${body%"${body##*[![:space:]]}"}
    printf '%s sss%s' "$body" "$comment"
}

nsswitch_add() {
    [ -f "$nsswitch_conf" ] || { log "no $nsswitch_conf: not adding sss"; return 0; }
    local db line new changed=0 tmp
    tmp=$(mktemp "$nsswitch_conf.XXXXXX")
    while IFS= read -r line || [ -n "$line" ]; do
        db=""
        if [[ $line =~ ^[[:space:]]*(passwd|group|initgroups)[[:space:]]*: ]]; then
            db=${BASH_REMATCH[1]}
        fi
        if [ -n "$db" ] && ! [[ " ${line%%#*} " =~ [[:space:]:]sss[[:space:]] ]]; then
            new=$(with_sss "$line")
            printf '%s\t%s\t%s\n' "$db" "$line" "$new" >> "$manifest.nsswitch"
            printf '%s\n' "$new" >> "$tmp"
            log "nsswitch.conf: $new"
            changed=1
        else
            printf '%s\n' "$line" >> "$tmp"
        fi
    done < "$nsswitch_conf"
    if [ "$changed" = 1 ]; then
        chmod --reference="$nsswitch_conf" -- "$tmp"
        mv -f -- "$tmp" "$nsswitch_conf"
    else
        rm -f -- "$tmp"
        log "nsswitch.conf: sss already on the passwd and group lines"
    fi
}

nsswitch_revert() {
    [ -f "$manifest.nsswitch" ] || return 0
    if [ ! -f "$nsswitch_conf" ]; then
        rm -f -- "$manifest.nsswitch"
        return 0
    fi
    local tmp line db before after found
    tmp=$(mktemp "$nsswitch_conf.XXXXXX")
    while IFS= read -r line || [ -n "$line" ]; do
        found=""
        while IFS=$'\t' read -r db before after; do
            if [ "$line" = "$after" ]; then
                found=$before
                break
            elif [[ $line =~ ^[[:space:]]*$db[[:space:]]*: ]] &&
                [[ $line =~ ^(.*[^[:space:]])[[:space:]]+sss([[:space:]].*)?$ ]]; then
                # Edited since: drop only the sss we added.
                found=${BASH_REMATCH[1]}${BASH_REMATCH[2]}
                break
            fi
        done < "$manifest.nsswitch"
        if [ -n "$found" ]; then
            printf '%s\n' "$found" >> "$tmp"
            log "nsswitch.conf: $found"
        else
            printf '%s\n' "$line" >> "$tmp"
        fi
    done < "$nsswitch_conf"
    chmod --reference="$nsswitch_conf" -- "$tmp"
    mv -f -- "$tmp" "$nsswitch_conf"
    rm -f -- "$manifest.nsswitch"
}

# --- uninstall -----------------------------------------------------------------------------
if [ "$uninstall" = 1 ]; then
    [ -f "$manifest" ] || die "no manifest at $manifest: nothing installed there"
    nsswitch_revert
    # Unwire pam_sss from common-* first if our profile is installed (as Debian's prerm does).
    if [ -z "$DESTDIR" ] && grep -qx 'f /usr/share/pam-configs/sss' "$manifest" &&
        command -v pam-auth-update >/dev/null 2>&1; then
        pam-auth-update --package --remove sss || log "pam-auth-update --remove sss failed"
    fi
    mapfile -t created_dirs < <(grep '^d ' "$manifest.dirs" 2>/dev/null | cut -d' ' -f2- | sort -r)
    while IFS=' ' read -r kind path; do
        [ "$kind" = f ] || continue
        rm -f -- "$DESTDIR$path"
    done < "$manifest"
    rm -f -- "$manifest" "$manifest.dirs"
    # Directories we created, deepest first, only if now empty.
    for path in "${created_dirs[@]}"; do
        rmdir -- "$DESTDIR$path" 2>/dev/null || true
    done
    log "uninstalled from ${DESTDIR:-/}"
    exit 0
fi

# --- build ---------------------------------------------------------------------------------
required=(libnss_sss.so sssd sssd_be sssd_nss sss_cache)
missing=()
for a in "${required[@]}"; do [ -f "$target_dir/$a" ] || missing+=("$a"); done
if [ "${#missing[@]}" -gt 0 ]; then
    if [ "$build" = 1 ]; then
        log "building (missing: ${missing[*]})"
        (cd "$here" && cargo build --release --workspace)
        target_dir="$here/target/release"
    else
        die "missing in $target_dir: ${missing[*]} (build with: cargo build --release --workspace)"
    fi
fi

multiarch=""
if command -v gcc >/dev/null 2>&1; then multiarch=$(gcc -print-multiarch 2>/dev/null || true); fi
if [ -z "$multiarch" ] && command -v dpkg-architecture >/dev/null 2>&1; then
    multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || true)
fi
multiarch=${multiarch:-x86_64-linux-gnu}
libdir=/usr/lib/$multiarch
# PAM modules live in /lib/<multiarch>/security (libpam's compiled-in path on Debian); with
# merged /usr (/lib -> usr/lib) that is /usr/lib/<multiarch>/security.
if [ -L /lib ] || [ ! -d /lib ]; then pamdir=$libdir/security; else pamdir=/lib/$multiarch/security; fi

# --- plan: "src dest mode" -----------------------------------------------------------------
plan=()
plan+=("$target_dir/libnss_sss.so $libdir/libnss_sss.so.2 0644")
[ -f "$target_dir/libpam_sss.so" ] && plan+=("$target_dir/libpam_sss.so $pamdir/pam_sss.so 0644")
# sudo dlopens <libdir>/libsss_sudo.so by that name (sudoers: sss).
[ -f "$target_dir/libsss_sudo.so" ] && plan+=("$target_dir/libsss_sudo.so $libdir/libsss_sudo.so 0644")
for b in sssd sss_cache sssctl sss_override; do
    [ -f "$target_dir/$b" ] && plan+=("$target_dir/$b /usr/sbin/$b 0755")
done
for b in sssd_be sssd_nss sssd_pam sssd_sudo krb5_child ldap_child gpo_child proxy_child; do
    [ -f "$target_dir/$b" ] && plan+=("$target_dir/$b /usr/libexec/sssd/$b 0755")
done
[ -f "$target_dir/sssd_autofs" ] && plan+=("$target_dir/sssd_autofs /usr/libexec/sssd/sssd_autofs 0755")
[ -f "$target_dir/libsss_autofs.so" ] && plan+=("$target_dir/libsss_autofs.so $libdir/sssd/modules/libsss_autofs.so 0644")
[ -f "$target_dir/sssd_ssh" ] && plan+=("$target_dir/sssd_ssh /usr/libexec/sssd/sssd_ssh 0755")
[ -f "$target_dir/sssd_check_socket_activated_responders" ] &&
    plan+=("$target_dir/sssd_check_socket_activated_responders /usr/libexec/sssd/sssd_check_socket_activated_responders 0755")
[ -f "$target_dir/sss_ssh_authorizedkeys" ] &&
    plan+=("$target_dir/sss_ssh_authorizedkeys /usr/bin/sss_ssh_authorizedkeys 0755")
[ -f "$target_dir/sss_ssh_knownhostsproxy" ] &&
    plan+=("$target_dir/sss_ssh_knownhostsproxy /usr/bin/sss_ssh_knownhostsproxy 0755")
[ -f "$here/dist/sssd.service" ] && plan+=("$here/dist/sssd.service /usr/lib/systemd/system/sssd.service 0644")
# Socket activation of the responders, as SSSD ships it (not enabled).
for unit in sssd-nss.socket sssd-nss.service sssd-pam.socket sssd-pam-priv.socket sssd-pam.service; do
    [ -f "$here/dist/systemd/$unit" ] && plan+=("$here/dist/systemd/$unit /usr/lib/systemd/system/$unit 0644")
done
# The pam-auth-update profile: `pam-auth-update --enable sss` wires pam_sss into common-*.
[ -f "$here/dist/pam-configs/sss" ] && plan+=("$here/dist/pam-configs/sss /usr/share/pam-configs/sss 0644")
[ -f "$here/dist/logrotate/sssd" ] && plan+=("$here/dist/logrotate/sssd /etc/logrotate.d/sssd 0644")
shopt -s nullglob
for m in "$man_src"/*.[1-8]; do
    sec=${m##*.}
    plan+=("$m /usr/share/man/man$sec/$(basename "$m").gz man")
done
shopt -u nullglob

# Directories with SSSD's modes.
dirs=(
    "/etc/sssd 0711" "/etc/sssd/conf.d 0711"
    "/var/lib/sss 0755" "/var/lib/sss/db 0700" "/var/lib/sss/pipes 0755"
    "/var/lib/sss/pipes/private 0700" "/var/lib/sss/mc 0755" "/var/lib/sss/pubconf 0755"
    "/var/log/sssd 0750"
)

# --- refuse to overwrite packaged files ----------------------------------------------------
owner() {
    # dpkg -S on the destination and, for merged-/usr, on its /lib, /bin, /sbin alias
    # (Debian 12's packages list /lib/<multiarch>/libnss_sss.so.2, not /usr/lib/...).
    local p=$1 alt=""
    case "$p" in /usr/lib/*|/usr/bin/*|/usr/sbin/*) alt=${p#/usr} ;; esac
    command -v dpkg >/dev/null 2>&1 || return 1
    dpkg -S "$DESTDIR$p" 2>/dev/null | head -n1 | grep . && return 0
    [ -n "$alt" ] && dpkg -S "$DESTDIR$alt" 2>/dev/null | head -n1 | grep . && return 0
    return 1
}
if [ "$force" = 0 ]; then
    conflicts=()
    for entry in "${plan[@]}"; do
        read -r _src dest _mode <<< "$entry"
        if o=$(owner "$dest"); then conflicts+=("$DESTDIR$dest ($o)"); fi
    done
    if [ "${#conflicts[@]}" -gt 0 ]; then
        for c in "${conflicts[@]}"; do log "refusing to overwrite packaged file: $c"; done
        die "remove the package or re-run with --force"
    fi
fi

# --- install -------------------------------------------------------------------------------
# Files are owned by root when we can say so (an unprivileged DESTDIR stage keeps the caller).
owner_args=()
[ "$(id -u)" = 0 ] && owner_args=(-o 0 -g 0)
manifest_parents=()
cur=$(dirname "$manifest_rel")
while [ "$cur" != / ] && [ ! -d "$DESTDIR$cur" ]; do
    manifest_parents=("$cur" "${manifest_parents[@]}")
    cur=$(dirname "$cur")
done
mkdir -p -- "$(dirname "$manifest")"
touch -- "$manifest" "$manifest.dirs"
record() { # kind path: append once
    local file=$manifest
    [ "$1" = d ] && file=$manifest.dirs
    grep -qxF -- "$1 $2" "$file" || echo "$1 $2" >> "$file"
}
mkdirs() { # path [mode]: create missing directories, record them; mode for a created $path
    local p=$1 mode=$2 parts=() cur
    cur=$p
    while [ "$cur" != / ] && [ ! -d "$DESTDIR$cur" ]; do
        parts=("$cur" "${parts[@]}")
        cur=$(dirname "$cur")
    done
    for cur in "${parts[@]}"; do
        mkdir -m 0755 -- "$DESTDIR$cur"
        record d "$cur"
        if [ "$cur" = "$p" ] && [ -n "$mode" ]; then chmod "$mode" -- "$DESTDIR$cur"; fi
    done
    return 0
}
for d in "${manifest_parents[@]}"; do record d "$d"; done
for entry in "${dirs[@]}"; do
    read -r d mode <<< "$entry"
    mkdirs "$d" "$mode"
done
for entry in "${plan[@]}"; do
    read -r src dest mode <<< "$entry"
    mkdirs "$(dirname "$dest")" ""
    if [ "$mode" = man ]; then
        gzip -9nc -- "$src" > "$DESTDIR$dest.tmp"
        chmod 0644 -- "$DESTDIR$dest.tmp"
        mv -f -- "$DESTDIR$dest.tmp" "$DESTDIR$dest"
    else
        install -m "$mode" "${owner_args[@]}" -- "$src" "$DESTDIR$dest.tmp"
        mv -f -- "$DESTDIR$dest.tmp" "$DESTDIR$dest"
    fi
    record f "$dest"
done
log "installed ${#plan[@]} files into ${DESTDIR:-/} (manifest $manifest_rel)"

# --- [sssd] user ---------------------------------------------------------------------------
if [ -n "$user" ]; then
    [ "$(id -u)" = 0 ] || die "--user needs root"
    if ! getent passwd "$user" >/dev/null; then
        [ -z "$DESTDIR" ] || die "--user $user: no such user (install.sh creates users only without DESTDIR)"
        nologin=/usr/sbin/nologin
        [ -x "$nologin" ] || nologin=/bin/false
        useradd --system --user-group --home-dir /var/lib/sss --no-create-home \
            --shell "$nologin" --comment "SSSD" -- "$user"
        log "created system user $user"
    fi
    uid=$(getent passwd "$user" | cut -d: -f3)
    gid=$(getent passwd "$user" | cut -d: -f4)
    for d in /var/lib/sss/db /var/lib/sss/pipes /var/lib/sss/pipes/private /var/lib/sss/mc \
        /var/lib/sss/pubconf /var/log/sssd; do
        chown -R -- "$uid:$gid" "$DESTDIR$d"
    done
    [ -n "$helper_group" ] || helper_group=$gid
    log "set [sssd] user = $user in /etc/sssd/sssd.conf to run the daemon's children as $user"
fi
if [ -n "$helper_group" ]; then
    [ "$(id -u)" = 0 ] || die "--helper-group needs root"
    command -v setcap >/dev/null 2>&1 || die "setcap not found: install libcap2-bin"
    caps_krb5_child=cap_dac_read_search,cap_setuid,cap_setgid=ep
    caps_ldap_child=cap_dac_read_search=ep
    for b in krb5_child ldap_child; do
        f=$DESTDIR/usr/libexec/sssd/$b
        [ -f "$f" ] || continue
        chown -- "root:$helper_group" "$f"
        chmod 0750 -- "$f"
        caps_var=caps_$b
        setcap "${!caps_var}" "$f"
        log "$b: root:$helper_group 0750, file capabilities ${!caps_var}"
    done
fi

# --- nsswitch.conf: only when asked -----------------------------------------------------------
if [ "$nsswitch" = ask ]; then
    nsswitch=no
    if [ -t 0 ] && [ -f "$nsswitch_conf" ]; then
        read -r -p "Add sss to the passwd and group lines of $nsswitch_conf? [y/N] " answer || answer=""
        case "$answer" in [yY]|[yY][eE][sS]) nsswitch=yes ;; esac
    fi
    [ "$nsswitch" = yes ] ||
        log "$nsswitch_conf left alone (install.sh --nsswitch adds sss to passwd, group, initgroups)"
fi
[ "$nsswitch" = yes ] && nsswitch_add
exit 0
