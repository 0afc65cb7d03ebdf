# Sourced by bin/bench (after sync.sh: it uses sshd_start/sshd_stop, bench_binary, bench_tools, SSH_OPTS, ratio):
# the `far` section. A far link on loopback: the loopback sshd behind bin/bench.d/latency-proxy.c (50 ms each
# way, a 4 MiB TCP window per connection). On it:
#   - one folder of 160 incompressible images, 240 MB: one `rsync -a -e ssh` stream; the hand splits a script
#     would do (the remote listing `ssh HOST find`, then 4 or 8 rsyncs with `--files-from`, each over its own
#     connection, timed from start to all done); the same 4-way split as 4 channels of ONE ssh ControlMaster
#     connection (the master's login timed too); `mediasync sync` of that folder;
#   - the same 240 MB as four folders of 60 MB: mediasync against one rsync per folder started together;
#   - the one folder beside three empty ones (Forge on a usual day: only txt2img has new images): mediasync;
#   - the single folder on a near link (5 ms each way): one rsync against mediasync;
#   - how long one ssh login through each link takes.
# Each figure is the best of MEDIASYNC_BENCH_ROUNDS (order rotated each round); the destination is new for
# every run (page cache warm, nothing else dropped). ~4 minutes with 3 rounds and no streams values, ~7 with four.
#
# The proxy gives a window back one round trip after the bytes left, as TCP's acks do, so all ssh channels of one
# connection share WINDOW / (2 x DELAY) = 42 MB/s; LATENCY_PROXY_FREE_ON_DELIVERY=1 (passed on to the proxy) gives
# the shared tool's old behaviour (the window back on delivery: twice that). One stream is bound below both by
# ssh's own channel window (2 MiB per round trip, ~18 MB/s here).
#
# Knobs: MEDIASYNC_FAR_STREAMS (default "none": the config has no `streams` key, i.e. `auto`; e.g.
# "1 auto 4 8": one mediasync run per value, written as the source's `streams:`; `concurrency` is the default
# (8), or N for `streams: N` above 8), MEDIASYNC_BENCH_ROUNDS,
# MEDIASYNC_BENCH_DIR, MEDIASYNC_BENCH_BINARY, CC.

FAR_STREAMS="${MEDIASYNC_FAR_STREAMS:-none}"
FAR_DELAY_MS=50      # each way, the far link
FAR_NEAR_DELAY_MS=5  # each way, the near link
FAR_WINDOW_KB=4096   # TCP window per connection and direction
FAR_FILES=160 FAR_MIN=1000000 FAR_MAX=2000000 FAR_SEED=13  # 160 files, 240 MB

far_prepare() {
    bench_binary
    bench_tools gentree latency-proxy
    local stamp="$BENCH_DIR/trees/far.done-$FAR_FILES-$FAR_MIN-$FAR_MAX-$FAR_SEED"
    if [[ ! -e "$stamp" ]]; then
        rm -rf "$BENCH_DIR/trees/far" "$BENCH_DIR/trees/far".done-*
        # gentree spreads the files over four sub-folders with date folders: `output` (one folder, like
        # ComfyUI's) holds all of them, and the four sub-folders are the four-folder source.
        "$BENCH_DIR/tools/gentree" "$BENCH_DIR/trees/far/output" "$FAR_FILES" "$FAR_MIN" "$FAR_MAX" "$FAR_SEED" >&2
        touch "$stamp"
    fi
    FAR_SRC="$BENCH_DIR/trees/far/output"
    FAR_BYTES=$(find "$FAR_SRC" -type f -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }')
    FAR_WORK="$BENCH_DIR/far"
    rm -rf "$FAR_WORK"
    mkdir -p "$FAR_WORK"
}

# --- the links: one latency proxy per delay, in front of the loopback sshd ------------------------------
declare -A FAR_PORT FAR_PROXY_PID
far_proxy_start() { # name delay-ms
    local name=$1 delay=$2 try port pid
    for try in 1 2 3 4 5 6 7 8 9 10; do
        port=$((20000 + RANDOM % 40000))
        "$BENCH_DIR/tools/latency-proxy" "$port" "$SSH_PORT" "$delay" "$FAR_WINDOW_KB" 2>>"$FAR_WORK/proxy-$name.log" &
        pid=$!
        sleep 0.2
        if kill -0 "$pid" 2>/dev/null && ssh "${SSH_OPTS[@]}" -p "$port" -i "$SSH_KEY" root@127.0.0.1 true 2>/dev/null; then
            FAR_PORT[$name]=$port FAR_PROXY_PID[$name]=$pid
            echo "$name link: latency-proxy 127.0.0.1:$port -> sshd, $delay ms each way, $FAR_WINDOW_KB KB window" >&2
            return 0
        fi
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    echo "bin/bench: the latency proxy did not start; see $FAR_WORK/proxy-$name.log" >&2
    return 1
}
far_stop() {
    local name
    for name in "${!FAR_PROXY_PID[@]}"; do
        kill "${FAR_PROXY_PID[$name]}" 2>/dev/null || true
        wait "${FAR_PROXY_PID[$name]}" 2>/dev/null || true
    done
    FAR_PROXY_PID=()
    sshd_stop
}

far_ssh() { # link -> the ssh command line rsync's -e gets
    echo "ssh -p ${FAR_PORT[$1]} -i $SSH_KEY ${SSH_OPTS[*]}"
}

# --- what is measured ------------------------------------------------------------------------------------
far_rsync() { # link src dst: one rsync -a -e ssh stream
    rsync -a -e "$(far_ssh "$1")" "root@127.0.0.1:$2/" "$3/"
}

far_split() { # link n src dst [extra ssh options...]: what a script does: list, split by bytes, n rsyncs at once
    local link=$1 n=$2 src=$3 dst=$4; shift 4
    local ssh; ssh="$(far_ssh "$link") $*"
    local lists="$dst.lists" i pids=() failed=0 pid
    mkdir -p "$lists"
    # The remote listing; names dealt biggest first to the list with the fewest bytes so far.
    $ssh root@127.0.0.1 "cd '$src' && find . -type f -printf '%s %P\n'" | sort -rn |
        awk -v n="$n" -v dir="$lists" '{
            best = 0; for (i = 1; i < n; i++) if (load[i] < load[best]) best = i
            load[best] += $1; sub(/^[0-9]+ /, ""); print > (dir "/" best) }'
    for ((i = 0; i < n; i++)); do
        [[ -s "$lists/$i" ]] || continue
        rsync -a -e "$ssh" --files-from="$lists/$i" "root@127.0.0.1:$src/" "$dst/" &
        pids+=($!)
    done
    for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
    rm -rf "$lists"
    return $failed
}

far_split_channels() { # link n src dst: the split over channels of ONE connection, the master opened first
    local link=$1 n=$2 src=$3 dst=$4 control="$FAR_WORK/cm.sock" status=0
    rm -f "$control"
    $(far_ssh "$link") -o ControlMaster=yes -o ControlPath="$control" -o ControlPersist=60 -fN root@127.0.0.1 || return 1
    far_split "$link" "$n" "$src" "$dst" -o ControlMaster=no -o ControlPath="$control" || status=1
    $(far_ssh "$link") -o ControlPath="$control" -O exit root@127.0.0.1 2>/dev/null || true
    return $status
}

far_per_folder() { # link src dst: one rsync per folder of the four, started together
    local link=$1 src=$2 dst=$3 folder pids=() failed=0 pid
    for folder in "${SYNC_FOLDERS[@]}"; do
        rsync -a -e "$(far_ssh "$link")" "root@127.0.0.1:$src/$folder/" "$dst/$folder/" &
        pids+=($!)
    done
    for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
    return $failed
}

far_mediasync() { # link streams shape dst: shape "one" (root trees/far, folder output), "four" (the four
    # sub-folders) or "busy" (output beside three empty folders: Forge's txt2img on a usual day)
    local link=$1 streams=$2 shape=$3 dst=$4 root folders
    if [[ $shape == one ]]; then root=$(dirname "$FAR_SRC") folders=output
    elif [[ $shape == busy ]]; then
        root=$(dirname "$FAR_SRC") folders=output,idle-1,idle-2,idle-3
        mkdir -p "$root/idle-1" "$root/idle-2" "$root/idle-3"
    else root=$FAR_SRC folders=$(IFS=,; echo "${SYNC_FOLDERS[*]}"); fi
    {
        echo "library: $dst"
        echo "state_dir: $dst.state"
        echo "socket: $dst.state/mediasync.sock"
        local concurrency; concurrency=$(far_concurrency "$streams")
        [[ -n $concurrency ]] && echo "concurrency: $concurrency"
        echo "sources:"
        echo "  - {name: far, transport: ssh, host: 127.0.0.1, port: ${FAR_PORT[$link]}, user: root,"
        echo "     identity: $SSH_KEY, root: $root, folders: [$folders],"
        [[ $streams != none ]] && echo "     streams: $streams,"
        echo "     ssh_options: [StrictHostKeyChecking=no, UserKnownHostsFile=/dev/null, LogLevel=ERROR]}"
    } >"$dst.yaml"
    "$MEDIASYNC" sync --config "$dst.yaml"
}

far_concurrency() { # streams value -> the config's concurrency: none (the default, 8), or N for `streams: N` above 8
    # (concurrency counts rsync children: with 8, `streams: 16` would run 8)
    if [[ $1 =~ ^[0-9]+$ && $1 -gt 8 ]]; then echo "$1"; fi
}

declare -A FAR_BEST
far_run() { # key command... : a new destination, then the command timed; keeps the best wall time under key
    local key=$1; shift
    local dst="$FAR_WORK/dst" log="$FAR_WORK/run.log"
    rm -rf "$dst" "$dst.state" "$dst.yaml" "$dst.lists"
    mkdir -p "$dst"
    sync  # earlier runs' dirty pages are not this run's bill
    local t0=$EPOCHREALTIME
    if ! "$@" "$dst" >"$log" 2>&1; then
        echo "bin/bench: far run '$key' ($*) failed; its output:" >&2
        tail -5 "$log" >&2
        exit 1
    fi
    local wall; wall=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.3f", b - a }')
    local files bytes
    files=$(find "$dst" -path "$dst/.mediasync" -prune -o -type f -print | wc -l)
    bytes=$(find "$dst" -path "$dst/.mediasync" -prune -o -type f -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }')
    if [[ $files != "$FAR_FILES" || $bytes != "$FAR_BYTES" ]]; then
        echo "bin/bench: far run '$key' left $files files, $bytes bytes; want $FAR_FILES files, $FAR_BYTES bytes" >&2
        exit 1
    fi
    printf '  %-28s %7.2f s  %6.1f MB/s\n' "$key" "$wall" "$(awk -v b="$bytes" -v t="$wall" 'BEGIN { print b / t / 1e6 }')" >&2
    if [[ -z "${FAR_BEST[$key]:-}" ]] || awk -v a="$wall" -v b="${FAR_BEST[$key]}" 'BEGIN { exit !(a < b) }'; then
        FAR_BEST[$key]=$wall
    fi
}

far_login_time() { # link -> median of 3 `ssh HOST true`, seconds
    local i t0 times=()
    for i in 1 2 3; do
        t0=$EPOCHREALTIME
        $(far_ssh "$1") root@127.0.0.1 true
        times+=("$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.3f", b - a }')")
    done
    printf '%s\n' "${times[@]}" | sort -n | sed -n 2p
}

bench_far() {
    far_prepare
    sshd_start
    trap 'far_stop' EXIT
    far_proxy_start far "$FAR_DELAY_MS"
    far_proxy_start near "$FAR_NEAR_DELAY_MS"
    local load_start; load_start=$(cut -d' ' -f1-3 /proc/loadavg)
    echo "far on $(nproc) cores, load $load_start; $FAR_FILES files, $FAR_BYTES bytes; streams: $FAR_STREAMS; $(rsync --version | head -1); $(ssh -V 2>&1)" >&2
    local login_far login_near
    login_far=$(far_login_time far) login_near=$(far_login_time near)
    echo "one ssh login: far link $login_far s, near link $login_near s" >&2

    local runs=("far rsync" "far split4" "far split8" "far channels4" "four per-folder" "near rsync") s
    for s in $FAR_STREAMS; do runs+=("far mediasync:$s" "four mediasync:$s" "busy mediasync:$s" "near mediasync:$s"); done
    local round i n=${#runs[@]} key link what
    for ((round = 0; round < ROUNDS; round++)); do
        echo "round $((round + 1)) of $ROUNDS (load $(cut -d' ' -f1-3 /proc/loadavg)):" >&2
        for ((i = 0; i < n; i++)); do
            key=${runs[(i + round * 3) % n]}
            read -r link what <<<"$key"
            [[ $link == four || $link == busy ]] && link=far
            case $key in
                "far rsync" | "near rsync") far_run "$key" far_rsync "$link" "$FAR_SRC" ;;
                "far split4") far_run "$key" far_split far 4 "$FAR_SRC" ;;
                "far split8") far_run "$key" far_split far 8 "$FAR_SRC" ;;
                "far channels4") far_run "$key" far_split_channels far 4 "$FAR_SRC" ;;
                "four per-folder") far_run "$key" far_per_folder far "$FAR_SRC" ;;
                "far mediasync:"*) far_run "$key" far_mediasync far "${what#mediasync:}" one ;;
                "four mediasync:"*) far_run "$key" far_mediasync far "${what#mediasync:}" four ;;
                "busy mediasync:"*) far_run "$key" far_mediasync far "${what#mediasync:}" busy ;;
                "near mediasync:"*) far_run "$key" far_mediasync near "${what#mediasync:}" one ;;
            esac
        done
    done
    far_stop
    trap - EXIT
    far_report "$load_start" "$login_far" "$login_near"
}

far_ms_label() { # streams value -> how the table names that mediasync run
    local c; c=$(far_concurrency "$1")
    if [[ $1 == none ]]; then echo "mediasync sync (no streams key)"
    elif [[ -n $c ]]; then echo "mediasync sync, streams: $1, concurrency: $c"
    else echo "mediasync sync, streams: $1"; fi
}

far_report() { # load-at-start login-far login-near
    local base=${FAR_BEST[far rsync]} near_base=${FAR_BEST[near rsync]} per=${FAR_BEST[four per-folder]}
    local mb; mb=$(awk -v b="$FAR_BYTES" 'BEGIN { printf "%.1f", b / 1e6 }')
    row() { # label seconds base
        printf '| %s | %.2f | %.1f | %s |\n' "$1" "$2" "$(awk -v b="$FAR_BYTES" -v t="$2" 'BEGIN { print b / t / 1e6 }')" \
            "$(awk -v a="$3" -v b="$2" 'BEGIN { printf "%.2fx", a / b }')"
    }
    echo
    echo "far: $FAR_FILES incompressible files, $mb MB, loopback sshd behind latency-proxy ($FAR_WINDOW_KB KB window);"
    echo "best of $ROUNDS rounds (order rotated), wall seconds; speed = one rsync's time / this run's time."
    echo "One ssh login: $2 s on the far link, $3 s on the near link. Load at start: $1."
    echo
    echo "| run ($FAR_DELAY_MS ms each way) | s | MB/s | speed vs one rsync |"
    echo "| --- | ---: | ---: | ---: |"
    row "one rsync -a -e ssh" "$base" "$base"
    row "4 rsyncs --files-from, 4 connections, with the remote listing" "${FAR_BEST[far split4]}" "$base"
    row "8 rsyncs --files-from, 8 connections, with the remote listing" "${FAR_BEST[far split8]}" "$base"
    row "4 rsyncs as 4 channels of one ControlMaster (master + listing included)" "${FAR_BEST[far channels4]}" "$base"
    local s best_split
    best_split=$(printf '%s\n' "${FAR_BEST[far split4]}" "${FAR_BEST[far split8]}" | sort -n | head -1)
    for s in $FAR_STREAMS; do
        row "$(far_ms_label "$s")" "${FAR_BEST[far mediasync:$s]}" "$base"
    done
    echo "| four folders of ~60 MB: one rsync per folder, together | $(printf '%.2f' "$per") | $(awk -v b="$FAR_BYTES" -v t="$per" 'BEGIN { printf "%.1f", b / t / 1e6 }') | $(ratio "$base" "$per") |"
    for s in $FAR_STREAMS; do
        row "four folders: $(far_ms_label "$s")" "${FAR_BEST[four mediasync:$s]}" "$base"
    done
    for s in $FAR_STREAMS; do
        row "the one folder beside three empty ones: $(far_ms_label "$s")" "${FAR_BEST[busy mediasync:$s]}" "$base"
    done
    echo
    echo "| run ($FAR_NEAR_DELAY_MS ms each way) | s | MB/s | speed vs one rsync |"
    echo "| --- | ---: | ---: | ---: |"
    row "one rsync -a -e ssh" "$near_base" "$near_base"
    for s in $FAR_STREAMS; do
        row "$(far_ms_label "$s")" "${FAR_BEST[near mediasync:$s]}" "$near_base"
    done
    echo
    echo "Targets (issue 13):"
    for s in $FAR_STREAMS; do
        local ms=${FAR_BEST[far mediasync:$s]} four=${FAR_BEST[four mediasync:$s]} near=${FAR_BEST[near mediasync:$s]}
        printf -- '- %s: one folder %s of one rsync (>= 2.5x: %s), %s of the best hand split (<= 1.00: %s);' \
            "$(far_ms_label "$s")" "$(ratio "$base" "$ms")" "$(verdict 2.5 "$(awk -v a="$base" -v b="$ms" 'BEGIN { print a / b }')")" \
            "$(ratio "$ms" "$best_split")" "$(verdict "$(awk -v a="$ms" -v b="$best_split" 'BEGIN { print a / b }')" 1.0)"
        printf ' four folders %s of per-folder rsyncs; near link %s of one rsync (<= 1.00: %s)\n' \
            "$(ratio "$four" "$per")" "$(ratio "$near" "$near_base")" \
            "$(verdict "$(awk -v a="$near" -v b="$near_base" 'BEGIN { print a / b }')" 1.0)"
    done
    local rate; rate=$(awk -v b="$FAR_BYTES" -v t="$base" 'BEGIN { printf "%.1f", b / t / 1e6 }')
    if awk -v r="$rate" 'BEGIN { exit !(r > 25) }'; then
        echo "WARNING: one rsync stream moved $rate MB/s: the proxy does not limit as it should (~18 MB/s)."
    else
        echo "The link limits: one rsync stream moved $rate MB/s (ssh's 2 MiB channel window per 100 ms round trip, ~18-21 MB/s)."
    fi
    echo "(load at the end: $(cut -d' ' -f1-3 /proc/loadavg))"
}
