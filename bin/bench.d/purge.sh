# Sourced by bin/bench: the `purge` and `purge-ssh` sections.
#
# purge: `mediasync purge` deleting N aged files (mtime two days back, all synced: library copies and
# manifest rows made by a real `mediasync sync --no-purge` first) against `find DIR -type f -mmin +1440
# -delete` on an identical copy of the tree, for each N in MEDIASYNC_BENCH_PURGE_FILES. Target: within 2x of find.
# Both run on a warm cache: the trees are restored from a snapshot (`cp -a`), then `sync` (dirty pages
# written, nothing dropped) before each timed run. Each count runs MEDIASYNC_BENCH_PURGE_REPS times with the
# order alternating (odd repetitions mediasync first, even ones find first); the ratio is per repetition.
# purge-ssh: the same purge over ssh to a loopback sshd; counts the connections sshd accepted while it ran
# ("Accepted publickey" lines in its log), per folder. Target: a handful.
#
# Knobs: MEDIASYNC_BENCH_PURGE_FILES (space-separated counts; default "20000 100000" for purge, "20000" for
# purge-ssh), MEDIASYNC_BENCH_PURGE_REPS (default 2), MEDIASYNC_BENCH_DIR, MEDIASYNC_BENCH_BINARY, CC.

PURGE_REPS="${MEDIASYNC_BENCH_PURGE_REPS:-2}"
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

purge_time_mediasync() { # -> PURGE_MS seconds; checks nothing was left and the audit is whole
    local t0 t1 left audit
    sync
    t0=$(now_s)
    "$MEDIASYNC" purge --config "$PURGE_WORK/config.yaml" --json >"$PURGE_WORK/purge.jsonl"
    t1=$(now_s); PURGE_MS=$(echo "$t1 - $t0" | bc)
    left=$(find "$PURGE_WORK/src" -type f | wc -l)
    audit=$("$MEDIASYNC" purge --config "$PURGE_WORK/config.yaml" --history --json | wc -l)
    if [[ $left != 0 || $audit != "$PURGE_COUNT" ]]; then
        echo "bin/bench: mediasync purge left $left files and audited $audit of $PURGE_COUNT" >&2
        exit 1
    fi
}

purge_time_find() { # -> PURGE_FIND seconds
    local t0 t1
    sync
    t0=$(now_s)
    find "$PURGE_WORK/find-tree" -type f -mmin +1440 -delete
    t1=$(now_s); PURGE_FIND=$(echo "$t1 - $t0" | bc)
    [[ $(find "$PURGE_WORK/find-tree" -type f | wc -l) == 0 ]] || { echo "bin/bench: find left files" >&2; exit 1; }
}

bench_purge_mode() { # mode
    local mode=$1 counts
    if [[ $mode == ssh ]]; then counts=${MEDIASYNC_BENCH_PURGE_FILES:-20000}; else counts=${MEDIASYNC_BENCH_PURGE_FILES:-20000 100000}; fi
    if [[ $mode == ssh ]]; then
        sshd_start
        trap 'sshd_stop' EXIT
    fi
    local t0 t1 sync_s before after rep ratio
    for PURGE_COUNT in $counts; do
        purge_prepare
        echo "purge ($mode), $PURGE_COUNT aged files in ${#PURGE_FOLDERS[@]} folders, $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
        "$BENCH_DIR/tools/gentree" "$PURGE_WORK/src" "$PURGE_COUNT" 100 400 7 >&2
        mkdir -p "$PURGE_WORK/lib"
        purge_config "$mode"
        t0=$(now_s)
        "$MEDIASYNC" sync --config "$PURGE_WORK/config.yaml" --no-purge --json >/dev/null 2>"$PURGE_WORK/sync.err"
        t1=$(now_s); sync_s=$(echo "$t1 - $t0" | bc)
        # The snapshot every repetition starts from: the source tree and the state (manifest) before any purge.
        mv "$PURGE_WORK/src" "$PURGE_WORK/src.orig"
        cp -a "$PURGE_WORK/state" "$PURGE_WORK/state.orig"
        for ((rep = 1; rep <= PURGE_REPS; rep++)); do
            rm -rf "$PURGE_WORK/src" "$PURGE_WORK/find-tree" "$PURGE_WORK/state"
            cp -a "$PURGE_WORK/src.orig" "$PURGE_WORK/src"
            cp -a "$PURGE_WORK/src.orig" "$PURGE_WORK/find-tree"
            cp -a "$PURGE_WORK/state.orig" "$PURGE_WORK/state"
            before=0
            [[ $mode == ssh ]] && before=$(grep -c "Accepted publickey" "$BENCH_DIR/sshd/sshd.log" || true)
            if ((rep % 2 == 1)); then
                purge_time_mediasync; [[ $mode == ssh ]] && after=$(grep -c "Accepted publickey" "$BENCH_DIR/sshd/sshd.log" || true)
                purge_time_find
            else
                purge_time_find
                purge_time_mediasync; [[ $mode == ssh ]] && after=$(grep -c "Accepted publickey" "$BENCH_DIR/sshd/sshd.log" || true)
            fi
            ratio=$(echo "$PURGE_MS / $PURGE_FIND" | bc -l)
            printf 'purge (%s), %d files, rep %d (%s first, warm cache): sync (setup) %.2fs; mediasync purge %.2fs; find -delete %.2fs; ratio %.2fx (target <= 2x); load %s\n' \
                "$mode" "$PURGE_COUNT" "$rep" "$( ((rep % 2 == 1)) && echo mediasync || echo find)" "$sync_s" "$PURGE_MS" "$PURGE_FIND" \
                "$ratio" "$(cut -d' ' -f1-3 /proc/loadavg)"
            if [[ $mode == ssh ]]; then
                local conns=$((after - before))
                printf 'purge-ssh: %d ssh connections accepted during the purge of %d folders (%.1f per folder; target: a handful)\n' \
                    "$conns" "${#PURGE_FOLDERS[@]}" "$(echo "$conns / ${#PURGE_FOLDERS[@]}" | bc -l)"
            fi
        done
        rm -rf "$PURGE_WORK"
    done
    if [[ $mode == ssh ]]; then sshd_stop; trap - EXIT; fi
}
