#!/usr/bin/env bash
# Records the rsync output fixtures that RsyncOutputParser's tests read.
#
# Every run writes into Fixtures/<run>/:
#   stdout, stderr   rsync's two streams, byte for byte, recorded separately
#   exit             rsync's exit code
#   names            (runs that copy a tree) the tree's regular files, relative paths, NUL-separated,
#                    from `find -type f -printf '%P\0'`: the names the parser must give back exactly
#   bytes            (runs that copy a tree) the sum of the regular files' sizes
#   command          the exact rsync command line of the run
#
# Needs: rsync, openssh-server/client (sshd on a high loopback port, started and killed here),
# localedef and the de_DE locale source (for the `.` thousands separator run), python3 (a port that
# never answers). Run as root (sshd wants /run/sshd and root logs in with the test key; the noisy-shell
# run creates the user `msnoisy` with `useradd` if it is missing). Takes about half a minute.
#
# `record.sh NAME...` records only the named runs (the trees are still made); without names, all.
set -euo pipefail
ONLY=" $* "

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
W="$(mktemp -d /tmp/mediasync-fixtures.XXXXXX)"
SSHD_PID=""
cleanup() {
    if [[ -n "$SSHD_PID" ]]; then kill "$SSHD_PID" 2>/dev/null || true; fi
    rm -rf "$W"
}
trap cleanup EXIT

OUTFMT='mediasync|%i|%l|%n'   # must equal RsyncOutputParser.outFormat

# ---------------------------------------------------------------------------------------------
# Source trees.
# "media": 8 folders (two of them nested), 240 files, ~24 MB; sizes are fixed so that the byte
# total is the same on every recording; the content is random so that nothing compresses.
make_media_tree() {
    local root="$1" i d size
    mkdir -p "$root"
    local dirs=(txt2img-images/2026-11-24 txt2img-images/2026-11-25 img2img-images/2026-11-25
                extras-images txt2img-grids ComfyUI/output ComfyUI/output/sub "outputs with space")
    for d in "${dirs[@]}"; do mkdir -p "$root/$d"; done
    for i in $(seq 1 240); do
        d="${dirs[$((i % ${#dirs[@]}))]}"
        size=$(( 20000 + (i * 7919) % 180000 ))
        head -c "$size" /dev/urandom > "$root/$d/$(printf '%05d-%d.png' "$i" $((i * 31337)))"
    done
}

# "incremental": the media tree plus 3,000 empty files in 40 later folders that are already at
# the destination. rsync sends the file list of a folder only ~1,000 files ahead of the transfer,
# so with this many entries the media files go out while the list is still growing (`ir-chk`);
# the unchanged files print nothing, which keeps the fixture small.
make_incremental_tree() {
    local root="$1" dst="$2" d f
    mkdir -p "$root"
    cp -a "$W/media/." "$root/"
    for d in $(seq -w 1 40); do
        mkdir -p "$root/zz-archive/$d"
        for f in $(seq -w 1 75); do : > "$root/zz-archive/$d/old-$f.png"; done
    done
    touch -d '2026-01-01 00:00:00' "$root"/zz-archive/*/* "$root"/zz-archive/* "$root/zz-archive"
    mkdir -p "$dst"
    rsync -a "$root/zz-archive" "$dst/"
}

# "names": every kind of name that rsync escapes or that could fool a line parser.
make_names_tree() {
    local root="$1"
    mkdir -p "$root/sub dir"
    local names=(
        $'new\nline.png'
        $'tab\there.png'
        $'carriage\rreturn.png'
        'back\#012slash.png'
        'back\slash.png'
        '-leading-dash.png'
        '  two leading spaces and trailing .png '
        $'\xf0\x9f\x8e\xa8 emoji.png'
        $'invalid-\xff\xfe-utf8.png'
        'mediasync|>f+++++++++|1|fake.png'
        '     1,000 100%  1.00MBps    0:00:00 (xfr#1, to-chk=0 of 1)'
        $'sub dir/\xc3\xbcn\xc3\xafc\xc3\xb6d\xc3\xa9.png'
        $'sub dir/esc\x1b[31mred.png'
    )
    local n k=0
    for n in "${names[@]}"; do
        k=$((k + 1))
        head -c $((1000 * k)) /dev/urandom > "$root/$n"
    done
}

write_expected() {   # tree-root fixture-dir
    (cd "$1" && find . -type f -printf '%P\0') > "$2/names"
    (cd "$1" && find . -type f -printf '%s\n') | awk '{s += $1} END {print s}' > "$2/bytes"
}

# run NAME ENV-LOCALE rsync-args...   (records one rsync run; never fails the script)
run() {
    local name="$1" loc="$2"; shift 2
    if [[ "$ONLY" != "  " && "$ONLY" != *" $name "* ]]; then return 0; fi
    local out="$HERE/$name"
    rm -rf "$out"; mkdir -p "$out"
    printf '%q ' env LC_ALL="$loc" rsync "$@" | sed "s|$W|\$W|g" > "$out/command"
    echo >> "$out/command"
    local rc=0
    env LOCPATH="$W/locale" LC_ALL="$loc" rsync "$@" > "$out/stdout" 2> "$out/stderr" || rc=$?
    echo "$rc" > "$out/exit"
    # Paths of this machine's temp folder are not part of what the parser must understand.
    sed -i "s|$W|/tmp/W|g" "$out/stderr"
    echo "recorded $name: exit $rc, stdout $(wc -c < "$out/stdout") B, stderr $(wc -c < "$out/stderr") B"
}

make_media_tree "$W/media"
make_names_tree "$W/names"

# A locale whose thousands separator is `.` (decimal point `,`), compiled into $W only.
mkdir -p "$W/locale"
localedef -i de_DE -f UTF-8 "$W/locale/de_DE.UTF-8" 2>/dev/null || true

# ---------------------------------------------------------------------------------------------
# Local runs. --bwlimit (KiB/s) slows the copy so that in-flight progress records appear.
make_incremental_tree "$W/inc" "$W/dst-incremental"
run incremental C.UTF-8 -a --info=progress2 --out-format="$OUTFMT" --bwlimit=12000 \
    "$W/inc/" "$W/dst-incremental/"
write_expected "$W/media" "$HERE/incremental"

run no-inc-recursive C.UTF-8 -a --no-inc-recursive --info=progress2 --out-format="$OUTFMT" \
    --bwlimit=12000 "$W/media/" "$W/dst-no-inc/"
write_expected "$W/media" "$HERE/no-inc-recursive"

if [[ -d "$W/locale/de_DE.UTF-8" ]]; then
    run locale-de de_DE.UTF-8 -a --info=progress2 --out-format="$OUTFMT" --bwlimit=12000 \
        "$W/media/" "$W/dst-de/"
    write_expected "$W/media" "$HERE/locale-de"
fi

run no-separators C.UTF-8 -a --no-h --info=progress2 --out-format="$OUTFMT" --bwlimit=12000 \
    "$W/media/" "$W/dst-no-h/"
write_expected "$W/media" "$HERE/no-separators"

run names-utf8 C.UTF-8 -a --info=progress2 --out-format="$OUTFMT" "$W/names/" "$W/dst-names-utf8/"
write_expected "$W/names" "$HERE/names-utf8"

run names-c C -a --info=progress2 --out-format="$OUTFMT" "$W/names/" "$W/dst-names-c/"
write_expected "$W/names" "$HERE/names-c"

# Second run over an identical destination: nothing to send, files are skipped.
run unchanged C.UTF-8 -a --info=progress2 --out-format="$OUTFMT" -i "$W/names/" "$W/dst-names-utf8/"

# One source folder that exists and one that does not: exit 23 with rsync's own complaint.
run missing-source C.UTF-8 -a --info=progress2 --out-format="$OUTFMT" \
    "$W/names/sub dir" "$W/does-not-exist" "$W/dst-missing/"

# ---------------------------------------------------------------------------------------------
# ssh to a loopback sshd with its own host key and authorized key.
mkdir -p /run/sshd
ssh-keygen -q -t ed25519 -N '' -f "$W/hostkey"
ssh-keygen -q -t ed25519 -N '' -f "$W/clientkey"
ssh-keygen -q -t ed25519 -N '' -f "$W/wrongkey"
cp "$W/clientkey.pub" "$W/authorized_keys"
PORT=""
for try in 1 2 3 4 5 6 7 8 9 10; do
    p=$(( 30000 + RANDOM % 20000 ))
    cat > "$W/sshd_config" <<EOF
Port $p
ListenAddress 127.0.0.1
HostKey $W/hostkey
AuthorizedKeysFile $W/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PidFile $W/sshd.pid
EOF
    /usr/sbin/sshd -D -e -f "$W/sshd_config" 2> "$W/sshd.log" &
    SSHD_PID=$!
    for _ in $(seq 1 50); do
        if ssh -p "$p" -i "$W/clientkey" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
            -o BatchMode=yes -o LogLevel=ERROR root@127.0.0.1 true 2>/dev/null; then PORT=$p; break; fi
        kill -0 "$SSHD_PID" 2>/dev/null || break
        sleep 0.1
    done
    [[ -n "$PORT" ]] && break
    kill "$SSHD_PID" 2>/dev/null || true; SSHD_PID=""
done
[[ -n "$PORT" ]] || { echo "sshd did not start: $(cat "$W/sshd.log")" >&2; exit 1; }

SSH="ssh -p $PORT -i $W/clientkey -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o BatchMode=yes"
run ssh C.UTF-8 -a --info=progress2 --out-format="$OUTFMT" --bwlimit=12000 -e "$SSH" \
    "root@127.0.0.1:$W/media/" "$W/dst-ssh/"
write_expected "$W/media" "$HERE/ssh"

run ssh-names C.UTF-8 -a --info=progress2 --out-format="$OUTFMT" -s -e "$SSH" \
    "root@127.0.0.1:$W/names/" "$W/dst-ssh-names/"
write_expected "$W/names" "$HERE/ssh-names"

# The remote side has no rsync: the remote shell says so, rsync exits 127.
run ssh-no-rsync C.UTF-8 -a --info=progress2 --out-format="$OUTFMT" -e "$SSH" \
    --rsync-path=rsync-not-installed "root@127.0.0.1:$W/names/" "$W/dst-no-rsync/"

# A key the box does not accept: "Permission denied (publickey)", exit 255.
run ssh-denied C.UTF-8 -a --info=progress2 --out-format="$OUTFMT" \
    -e "ssh -p $PORT -i $W/wrongkey -o IdentitiesOnly=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o BatchMode=yes" \
    "root@127.0.0.1:$W/names/" "$W/dst-denied/"

# A host key nobody accepted: "Host key verification failed.", exit 255.
: > "$W/empty_known_hosts"
run ssh-hostkey C.UTF-8 -a --info=progress2 --out-format="$OUTFMT" \
    -e "ssh -p $PORT -i $W/clientkey -o StrictHostKeyChecking=yes -o UserKnownHostsFile=$W/empty_known_hosts -o BatchMode=yes" \
    "root@127.0.0.1:$W/names/" "$W/dst-hostkey/"

# A box recreated at the same address: known_hosts holds another key for it. mediasync's own
# StrictHostKeyChecking=accept-new refuses, with ssh's banner and its `ssh-keygen -R` line, exit 255.
ssh-keygen -q -t ed25519 -N '' -f "$W/oldhostkey"
echo "[127.0.0.1]:$PORT $(cut -d' ' -f1,2 "$W/oldhostkey.pub")" > "$W/known_hosts"
run ssh-hostkey-changed C.UTF-8 -a --info=progress2 --out-format="$OUTFMT" \
    -e "ssh -p $PORT -i $W/clientkey -o StrictHostKeyChecking=accept-new -o UserKnownHostsFile=$W/known_hosts -o BatchMode=yes" \
    "root@127.0.0.1:$W/names/" "$W/dst-hostkey-changed/"

# A host name that does not exist (an alias missing from ~/.ssh/config looks the same), exit 255.
run ssh-unknown-host C.UTF-8 -a --info=progress2 --out-format="$OUTFMT" -e "$SSH" \
    "root@no-such-box.invalid:$W/names/" "$W/dst-unknown-host/"

# A box whose ~/.bashrc prints a banner even for non-interactive shells: rsync's protocol breaks.
if ! id msnoisy >/dev/null 2>&1; then useradd -m -s /bin/bash -p '*' msnoisy; fi
NOISY_HOME="$(getent passwd msnoisy | cut -d: -f6)"
printf 'echo "Welcome to your GPU box!"\n' > "$NOISY_HOME/.bashrc"
chmod 755 "$W" "$W/names" "$W/names/sub dir"
run ssh-noisy-shell C.UTF-8 -a --info=progress2 --out-format="$OUTFMT" -e "$SSH" \
    "msnoisy@127.0.0.1:$W/names/" "$W/dst-noisy/"

kill "$SSHD_PID"; wait "$SSHD_PID" 2>/dev/null || true; SSHD_PID=""

# A port whose listen queue is full drops the SYN: a genuine connect timeout (ConnectTimeout=2).
python3 -c '
import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(0)
fill = [socket.socket() for _ in range(4)]
for c in fill:
    c.setblocking(False)
    try: c.connect(s.getsockname())
    except BlockingIOError: pass
print(s.getsockname()[1], flush=True); time.sleep(60)' > "$W/blackhole.port" &
BLACKHOLE_PID=$!
for _ in $(seq 1 50); do [[ -s "$W/blackhole.port" ]] && break; sleep 0.1; done
run ssh-timeout C.UTF-8 -a --info=progress2 --out-format="$OUTFMT" \
    -e "ssh -p $(cat "$W/blackhole.port") -o ConnectTimeout=2 -o BatchMode=yes" \
    "root@127.0.0.1:$W/names/" "$W/dst-timeout/"
kill "$BLACKHOLE_PID" 2>/dev/null || true

# The sshd is gone: the port refuses connections, exit 255.
run ssh-refused C.UTF-8 -a --info=progress2 --out-format="$OUTFMT" -e "$SSH" \
    "root@127.0.0.1:$W/names/" "$W/dst-refused/"

du -sh "$HERE"
