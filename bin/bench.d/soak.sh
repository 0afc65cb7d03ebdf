# Sourced by bin/bench: the `soak` section, run only by name (`bin/bench soak [minutes]`, default 30): not part
# of a plain `bin/bench`, not in CI. `mediasync serve` for that long against three sources (local, ssh to a
# loopback sshd restarted every 5 minutes, docker through the tests' bubblewrap shim) while a generator per
# source writes a PNG about every 200 ms and deletes an older one now and then, with the purge on (min_age 3m)
# and one `attach --json` client throughout; then the checks of issue 10 (bin/bench.d/soak.py does the work).
# Prints PASS or FAIL with the figures; bin/bench exits 1 on FAIL. The run's files stay in $BENCH_DIR/soak
# (summary.txt, events.jsonl, written.jsonl, deleted.jsonl, samples.tsv, serve.stderr) until the next soak.
#
# Knobs: the minutes argument (fractions allowed), MEDIASYNC_BENCH_DIR (use another one when someone else runs
# bin/bench at the same time: sshd_start owns $BENCH_DIR/sshd), MEDIASYNC_BENCH_BINARY, and
# MEDIASYNC_BENCH_SOAK_ARGS: extra options for soak.py (e.g. "--sshd-every 120 --min-age 2m --seed 7").

SOAK_MINUTES="${SOAK_MINUTES:-30}"

bench_soak() {
    bench_binary
    local work="$BENCH_DIR/soak" rc=0
    rm -rf "$work"
    mkdir -p "$work"
    sshd_start
    trap 'sshd_stop' EXIT
    echo "soak: $SOAK_MINUTES minutes, $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
    # shellcheck disable=SC2086 # the extra options are words
    python3 bin/bench.d/soak.py --mediasync "$MEDIASYNC" --work "$work" --minutes "$SOAK_MINUTES" \
        --sshd-dir "$BENCH_DIR/sshd" --sshd-pid "$SSHD_PID" --ssh-port "$SSH_PORT" --ssh-key "$SSH_KEY" \
        --docker-shim "$(pwd)/Tests/MediaSyncEngineTests/Shims/docker" ${MEDIASYNC_BENCH_SOAK_ARGS:-} || rc=$?
    sshd_stop
    trap - EXIT
    echo "(load at the end: $(cut -d' ' -f1-3 /proc/loadavg))"
    return "$rc"
}
