# Sourced by bin/bench: the `supervisor` section. `mediasync serve` with 100 clients attached: progress
# latency (rsync record -> publish -> client), the supervisor's CPU while idle between cycles, and its
# peak RSS after a 20,000-file cycle (bin/bench.d/supervisor-bench.py does the measuring); then 192 jobs and 100
# C clients (bin/bench.d/supervisor-jobs.sh).
#
# Knobs (environment): MEDIASYNC_BENCH_DIR (cache, default /tmp/mediasync-bench), MEDIASYNC_BENCH_BINARY
# (a mediasync to measure instead of building the release one), MEDIASYNC_BENCH_CLIENTS (default 100),
# MEDIASYNC_BENCH_IDLE (seconds of idle measurement, default 30).

bench_supervisor() {
    # The 20,000-file tree of the sync section (generated once into the cache) and the release binary.
    local saved_trees=("${TREES[@]}")
    TREES=("small 20000 1500 2500 20k-small")
    sync_prepare
    TREES=("${saved_trees[@]}")
    local work="$BENCH_DIR/supervisor-$$"
    rm -rf "$work"
    mkdir -p "$work"
    python3 bin/bench.d/supervisor-bench.py "$MEDIASYNC" "$work" "$BENCH_DIR/trees/small" "${MEDIASYNC_BENCH_CLIENTS:-100}"
    mv "$work" "$BENCH_DIR/trash/"
    bench_supervisor_jobs
}

# 192 jobs, 3,840 files, 100 C clients: JSON per cycle, progress rate, lag, peak RSS, idle CPU.
source bin/bench.d/supervisor-jobs.sh
