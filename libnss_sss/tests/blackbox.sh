#!/bin/sh
# Black-box check of libnss_sss.so.2 through the real glibc tools (getent, id).
# Runs as root inside a private mount namespace: the built module is overlaid into
# /lib/x86_64-linux-gnu, a private nsswitch.conf is bind-mounted, /var/lib/sss is a tmpfs and
# a fake responder (examples/fake_responder.rs) serves /var/lib/sss/pipes/nss.
# The host's files are never changed. Prints a transcript; exits non-zero on a mismatch.
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
cargo build -q -p libnss_sss --lib --example fake_responder
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
SO=$TARGET/debug/libnss_sss.so
FAKE=$TARGET/debug/examples/fake_responder

exec unshare --mount --propagation private --fork sh -ec '
SO=$1 FAKE=$2
S=$(mktemp -d)
mount -t tmpfs tmpfs "$S"
mkdir "$S/up" "$S/work" "$S/vup" "$S/vwork"
cp "$SO" "$S/up/libnss_sss.so.2"
mount -t overlay overlay -o lowerdir=/lib/x86_64-linux-gnu,upperdir="$S/up",workdir="$S/work" /lib/x86_64-linux-gnu
printf "passwd: files sss\ngroup: files sss\nshadow: files\nhosts: files\n" > "$S/nsswitch.conf"
mount --bind "$S/nsswitch.conf" /etc/nsswitch.conf
# /var/lib/sss may not exist on the host: create it in an overlay upper layer only.
mount -t overlay overlay -o lowerdir=/var/lib,upperdir="$S/vup",workdir="$S/vwork" /var/lib
mkdir -p /var/lib/sss
mount -t tmpfs tmpfs /var/lib/sss
mkdir -p /var/lib/sss/pipes

FAIL=0
check() { # check "description" "expected output" command...
    d=$1 want=$2; shift 2
    got=$("$@" 2>&1) && rc=0 || rc=$?
    printf "$ %s\n%s\n[exit %s]\n" "$*" "$got" "$rc"
    if [ "$got" != "$want" ]; then echo "MISMATCH ($d): expected: $want"; FAIL=1; fi
}
check "daemon absent" "" getent passwd alice

"$FAKE" /var/lib/sss/pipes/nss 2>"$S/fake.log" &
PID=$!
i=0; while [ ! -S /var/lib/sss/pipes/nss ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i+1)); done

check "by name" "alice:*:10001:10000:Alice Liddell:/home/alice:/bin/bash" getent passwd alice
check "by uid" "bob:*:10002:10000:Bob Builder:/home/bob:/bin/sh" getent passwd 10002
check "unknown" "" getent passwd nosuchuser
check "group by name" "devs:*:20001:alice,bob" getent group devs
check "group by gid" "ops:*:20002:alice" getent group 20002
check "initgroups (getent passes no primary gid)" "alice                 20001 20002" getent initgroups alice
check "id" "uid=10001(alice) gid=10000(sssusers) groups=10000(sssusers),20001(devs),20002(ops)" id alice
check "id bob" "uid=10002(bob) gid=10000(sssusers) groups=10000(sssusers),20001(devs)" id bob
check "enumerate passwd" "alice:*:10001:10000:Alice Liddell:/home/alice:/bin/bash
bob:*:10002:10000:Bob Builder:/home/bob:/bin/sh" sh -c "getent passwd | grep -E \"^(alice|bob):\""
check "enumerate group" "sssusers:*:10000:
devs:*:20001:alice,bob
ops:*:20002:alice" sh -c "getent group | grep -E \"^(sssusers|devs|ops):\""
check "ERANGE retry passwd (6000-byte gecos)" "6000" sh -c "getent passwd longgecos | cut -d: -f5 | tr -d \"\\n\" | wc -c"
check "ERANGE retry group (500 members)" "500" sh -c "getent group biggroup | cut -d: -f4 | tr , \"\\n\" | wc -l"
check "group fetched once despite ERANGE" "1" grep -c "GetGrNam biggroup" "$S/fake.log"
check "_SSS_LOOPS=NO" "" env _SSS_LOOPS=NO getent passwd alice
check "files still first" "root:x:0:0:root:/root:/bin/bash" getent passwd root

kill "$PID"; wait "$PID" 2>/dev/null || true
echo "--- fake responder log (request kinds seen):"
sed "s/ [a-z0-9]* ->/ ->/" "$S/fake.log" | sort | uniq -c
exit $FAIL
' sh "$SO" "$FAKE"
