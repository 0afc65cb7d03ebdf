# Shared by bin/mediasync, bin/test and bin/bench: make sure the Debian packages mediasync needs are
# installed, then build. Sourced, not run.

# Packages the binary needs at run time and build time.
MEDIASYNC_RUNTIME_PACKAGES="libuv1-dev zlib1g-dev pkgconf libsqlite3-dev rsync openssh-client libssl-dev util-linux"
# What the tests need on top: a real sshd, bubblewrap for the docker shim (and the unit's sandbox), faketime for clock
# skew, PostgreSQL and psycopg 3 for the reference ingests in contrib/ingest, busybox for sources whose sh, find and
# stat are busybox applets (Alpine-based containers), systemd for `systemd-analyze` on contrib/systemd,
# prometheus for `promtool` (the metrics and the alert rules),
# jq for the examples in docs/events.md.
MEDIASYNC_TEST_PACKAGES="openssh-server bubblewrap faketime tmux postgresql python3 python3-psycopg e2fsprogs xfsprogs btrfs-progs exfatprogs exfat-fuse dosfstools fusefat sshfs busybox systemd prometheus jq"

mediasync_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# ensure_packages PKG...: installs what is missing when root, otherwise says exactly what to run.
ensure_packages() {
    local missing=()
    local pkg
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    if ! command -v apt-get >/dev/null 2>&1; then
        echo "mediasync: missing system packages: ${missing[*]} (install them with your package manager)" >&2
        exit 1
    fi
    if [ "$(id -u)" -ne 0 ]; then
        echo "mediasync: missing Debian packages: ${missing[*]}" >&2
        echo "Install them with:" >&2
        echo "  sudo apt-get install -y ${missing[*]}" >&2
        exit 1
    fi
    echo "mediasync: installing Debian packages: ${missing[*]}" >&2
    # A fresh machine has no package lists yet; update once when an install fails for that reason.
    if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/tmp/mediasync-apt.log 2>&1; then
        apt-get update -q >>/tmp/mediasync-apt.log 2>&1
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >>/tmp/mediasync-apt.log 2>&1 || {
            echo "mediasync: apt-get install failed; see /tmp/mediasync-apt.log" >&2
            tail -5 /tmp/mediasync-apt.log >&2
            exit 1
        }
    fi
}

ensure_swift() {
    command -v swift >/dev/null 2>&1 && return 0
    [ -x /opt/swift/usr/bin/swift ] && export PATH="/opt/swift/usr/bin:$PATH" && return 0
    echo "mediasync: Swift 6 is not on PATH; install it from https://swift.org/install/linux/ first" >&2
    exit 1
}

# needs_build BINARY: true when the binary is missing or older than any source file.
needs_build() {
    local bin="$1"
    [ -x "$bin" ] || return 0
    [ -n "$(find "$mediasync_root/Package.swift" "$mediasync_root/Sources" -newer "$bin" -print -quit 2>/dev/null)" ]
}
