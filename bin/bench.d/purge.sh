# Sourced by bin/bench: the `purge` and `purge-ssh` sections.
#
# purge: `mediasync purge` deleting N aged files (mtime two days back, all synced: library copies and
# manifest rows made by a real `mediasync sync --no-purge` first) against `find DIR -type f -mmin +1440
# -delete` on an identical copy of the tree. Target: within 2x of find.
# purge-ssh: the same purge over ssh to a loopback sshd; counts the connections sshd accepted while it ran
# ("Accepted publickey" lines in its log), per folder. Target: a handful.
#
# Knobs: MEDIASYNC_BENCH_PURGE_FILES (default 20000; the issue's 100000 takes ~4 minutes here for `purge` alone, because the
# delete script forks per file, see docs/benchmarks.md), MEDIASYNC_BENCH_DIR, MEDIASYNC_BENCH_BINARY, CC.

PURGE_FILES="${MEDIASYNC_BENCH_PURGE_FILES:-20000}"
PURGE_FOLDERS=(txt2img-images img2img-images extras-images txt2img-grids)

purge_prepare() {
    bench_binary
    bench_tools gentree
    PURGE_WORK="$BENCH_DIR/purge"
    rm -rf "$PURGE_WORK"
    mkdir -p "$PURGE_WORK"
}

purge_config() { # mode -> $PURGE_WORK/config.yaml
    local folders; folders=$(IFS=,; echo "${PURGE_FOLDERS[*]}")
    {
        echo "library: $PURGE_WORK/lib"
        echo "state_dir: $PURGE_WORK/state"
        echo "socket: $PURGE_WORK/state/mediasync.sock"
        echo "concurrency: 4"
        echo "settle: 0s"
        echo "purge: {enabled: true, min_age: 24h}"
        echo "sources:"
        if [[ $1 == local ]]; then
            echo "  - {name: bench, transport: local, root: $PURGE_WORK/src, folders: [$folders]}"
        else
            echo "  - {name: bench, transport: ssh, host: 127.0.0.1, port: $SSH_PORT, user: root,"
            echo "     identity: $SSH_KEY, root: $PURGE_WORK/src, folders: [$folders],"
            echo "     ssh_options: [StrictHostKeyChecking=no, UserKnownHostsFile=/dev/null, LogLevel=ERROR]}"
        fi
    } >"$PURGE_WORK/config.yaml"
}

now_s() { date +%s.%N; }

bench_purge_mode() { # mode
    local mode=$1
    purge_prepare
    if [[ $mode == ssh ]]; then
        sshd_start
        trap 'sshd_stop' EXIT
    fi
    echo "purge ($mode), $PURGE_FILES aged files in ${#PURGE_FOLDERS[@]} folders, $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
    "$BENCH_DIR/tools/gentree" "$PURGE_WORK/src" "$PURGE_FILES" 100 400 7 >&2
    mkdir -p "$PURGE_WORK/lib"
    purge_config "$mode"
    local t0 t1 sync_s purge_s find_s before after left audit
    t0=$(now_s)
    "$MEDIASYNC" sync --config "$PURGE_WORK/config.yaml" --no-purge --json >/dev/null 2>"$PURGE_WORK/sync.err"
    t1=$(now_s); sync_s=$(echo "$t1 - $t0" | bc)
    cp -a "$PURGE_WORK/src" "$PURGE_WORK/find-tree"
    sync; echo 3 >/proc/sys/vm/drop_caches 2>/dev/null || true

    before=0
    [[ $mode == ssh ]] && before=$(grep -c "Accepted publickey" "$BENCH_DIR/sshd/sshd.log" || true)
    t0=$(now_s)
    "$MEDIASYNC" purge --config "$PURGE_WORK/config.yaml" --json >"$PURGE_WORK/purge.jsonl"
    t1=$(now_s); purge_s=$(echo "$t1 - $t0" | bc)
    [[ $mode == ssh ]] && after=$(grep -c "Accepted publickey" "$BENCH_DIR/sshd/sshd.log" || true)
    left=$(find "$PURGE_WORK/src" -type f | wc -l)
    audit=$("$MEDIASYNC" purge --config "$PURGE_WORK/config.yaml" --history --json | wc -l)
    if [[ $left != 0 || $audit != "$PURGE_FILES" ]]; then
        echo "bin/bench: mediasync purge left $left files and audited $audit of $PURGE_FILES" >&2
        exit 1
    fi

    t0=$(now_s)
    find "$PURGE_WORK/find-tree" -type f -mmin +1440 -delete
    t1=$(now_s); find_s=$(echo "$t1 - $t0" | bc)
    [[ $(find "$PURGE_WORK/find-tree" -type f | wc -l) == 0 ]] || { echo "bin/bench: find left files" >&2; exit 1; }

    printf 'purge (%s), %d files: sync (setup) %.2fs; mediasync purge %.2fs; find -delete %.2fs; ratio %.1fx (target <= 2x)\n' \
        "$mode" "$PURGE_FILES" "$sync_s" "$purge_s" "$find_s" "$(echo "$purge_s / $find_s" | bc -l)"
    if [[ $mode == ssh ]]; then
        local conns=$((after - before))
        printf 'purge-ssh: %d ssh connections accepted during the purge of %d folders (%.1f per folder; target: a handful)\n' \
            "$conns" "${#PURGE_FOLDERS[@]}" "$(echo "$conns / ${#PURGE_FOLDERS[@]}" | bc -l)"
        sshd_stop; trap - EXIT
    fi
    rm -rf "$PURGE_WORK"
}
