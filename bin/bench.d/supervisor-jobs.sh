# Sourced by bin/bench: the second half of the `supervisor` section (also alone: `bin/bench supervisor-jobs`).
# Many jobs and many clients: 64 local sources x 3 folders (192 jobs), 3,840 new files of 20 KB in one cycle.
#   1. `mediasync sync --json` of it: JSON bytes per cycle, of which progress; progress events per second
#      (most in any one-second window; docs/events.md promises at most 10).
#   2. `mediasync serve` with 100 clients attached through bin/bench.d/attach-lag.c (C, epoll; a python reader
#      of 100 sockets measures mostly itself): delivery lag p50/p99/max (receive - the event's `time`), the
#      supervisor's peak RSS (VmHWM) and its CPU while idle afterwards.
# Knobs: MEDIASYNC_BENCH_BINARY, MEDIASYNC_BENCH_CLIENTS (default 100), MEDIASYNC_BENCH_IDLE (default 30 s).

supervisor_jobs_tree() { # DIR: 64 sources x 3 folders x 20 files of 20,000 bytes, mtimes an hour old
    [[ -f "$1/.complete" ]] && return
    rm -rf "$1"
    python3 - "$1" <<'PY'
import os, sys, time
root = sys.argv[1]
old = time.time() - 3600
for s in range(64):
    for folder in ("txt2img", "img2img", "extras"):
        d = f"{root}/src{s:02d}/{folder}"
        os.makedirs(d)
        for i in range(20):
            p = f"{d}/{i:05d}-{s}.png"
            with open(p, "wb") as f:
                f.write(os.urandom(20_000))
            os.utime(p, (old, old))
open(f"{root}/.complete", "w").close()
PY
}

supervisor_jobs_config() { # CONFIG WORK SOURCES
    {
        echo "library: $2/lib"
        echo "state_dir: $2/state"
        echo "socket: $2/ms.sock"
        echo "interval: 1h"
        echo "settle: 0s"
        echo "sources:"
        local s
        for ((s = 0; s < 64; s++)); do
            printf '  - {name: src%02d, transport: local, root: %s/src%02d, folders: [txt2img, img2img, extras]}\n' "$s" "$3" "$s"
        done
    } >"$1"
}

supervisor_jobs_request() { # SOCKET JSON: one request, its reply on stdout
    python3 -c 'import socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall((sys.argv[2] + "\n").encode())
r = b""
while not r.endswith(b"\n"):
    c = s.recv(65536)
    if not c: break
    r += c
sys.stdout.write(r.decode())' "$1" "$2"
}

bench_supervisor_jobs() {
    bench_binary
    bench_tools attach-lag
    local tree="$BENCH_DIR/trees/jobs192" work="$BENCH_DIR/supervisor-jobs-$$" clients="${MEDIASYNC_BENCH_CLIENTS:-100}"
    local idle="${MEDIASYNC_BENCH_IDLE:-30}"
    supervisor_jobs_tree "$tree"
    rm -rf "$work"
    mkdir -p "$work/one/lib" "$work/serve/lib" "$work/serve/src" "$BENCH_DIR/trash"

    # 1. sync --json: the stream one cycle writes.
    supervisor_jobs_config "$work/one.yaml" "$work/one" "$tree"
    local t0 t1
    t0=$(date +%s.%N)
    "$MEDIASYNC" sync --json --config "$work/one.yaml" >"$work/sync.jsonl" 2>"$work/sync.err" || true
    t1=$(date +%s.%N)
    python3 - "$work/sync.jsonl" "$t0" "$t1" <<'PY'
import json, sys
from datetime import datetime
path, t0, t1 = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
total = prog_bytes = 0
times = []
files = jobs_max = 0
for raw in open(path, "rb"):
    total += len(raw)
    e = json.loads(raw)
    if e["type"] == "progress":
        prog_bytes += len(raw)
        times.append(datetime.strptime(e["time"], "%Y-%m-%dT%H:%M:%S.%fZ").timestamp())
        jobs_max = max(jobs_max, len(e["jobs"]))
    elif e["type"] == "file_synced":
        files += 1
worst = max((sum(1 for u in times[i:] if u < t + 1) for i, t in enumerate(times)), default=0)
later = [0] if len(times) < 2 else []
print(f"supervisor-jobs: 192 jobs (64 sources x 3 folders), {files} files of 20 KB")
print(f"  sync --json: {total / 1e6:.2f} MB of JSON in {t1 - t0:.1f} s; progress {len(times)} events, {prog_bytes / 1e6:.2f} MB "
      f"({100 * prog_bytes / max(total, 1):.0f}%), at most {worst} in any second, the largest with {jobs_max} jobs")
PY

    # 2. serve, 100 C clients attached for one cycle of the same tree.
    local s
    for ((s = 0; s < 64; s++)); do mkdir -p "$work/serve/src/src$(printf %02d "$s")"/{txt2img,img2img,extras}; done
    supervisor_jobs_config "$work/serve.yaml" "$work/serve" "$work/serve/src"
    "$MEDIASYNC" serve --config "$work/serve.yaml" >"$work/serve.log" 2>&1 &
    local pid=$! i
    for ((i = 0; i < 200; i++)); do
        supervisor_jobs_request "$work/serve/ms.sock" '{"cmd":"status"}' 2>/dev/null | grep -q '"state":"idle"' && break
        sleep 0.1
    done
    if ! kill -0 "$pid" 2>/dev/null; then
        echo "supervisor-jobs: mediasync serve did not start:" >&2
        cat "$work/serve.log" >&2
        return 1
    fi
    cp -a "$tree/." "$work/serve/src/"
    "$BENCH_DIR/tools/attach-lag" "$work/serve/ms.sock" "$clients" "$work/ready" "$work/lag.json" &
    local lag=$!
    for ((i = 0; i < 100; i++)); do [[ -e "$work/ready" ]] && break; sleep 0.1; done
    sleep 0.5
    local rss_attached
    rss_attached=$(awk '/^VmRSS/ { print $2 }' "/proc/$pid/status")
    t0=$(date +%s.%N)
    supervisor_jobs_request "$work/serve/ms.sock" '{"cmd":"trigger"}' >/dev/null
    wait "$lag" || true
    t1=$(date +%s.%N)
    sleep 1
    local hwm cpu0 cpu1
    hwm=$(awk '/^VmHWM/ { print $2 }' "/proc/$pid/status")
    cpu0=$(awk '{ print $14 + $15 }' "/proc/$pid/stat")
    sleep "$idle"
    cpu1=$(awk '{ print $14 + $15 }' "/proc/$pid/stat")
    kill -TERM "$pid"
    wait "$pid" || true
    python3 - "$work/lag.json" "$clients" "$t0" "$t1" "$rss_attached" "$hwm" "$cpu0" "$cpu1" "$idle" "$(getconf CLK_TCK)" <<'PY'
import json, sys
lag = json.load(open(sys.argv[1]))
clients, t0, t1, rss, hwm, c0, c1, idle, tck = sys.argv[2:]
print(f"  serve, {clients} clients through attach-lag.c: cycle {float(t1) - float(t0):.1f} s, {lag['done']} clients saw cycle_finished, "
      f"{lag['n']} lines timed")
print(f"    delivery lag (receive - event time)  p50 {lag['p50'] * 1000:.0f} ms  p99 {lag['p99'] * 1000:.0f} ms  max {lag['max'] * 1000:.0f} ms")
print(f"    serve RSS {int(rss) / 1024:.1f} MiB with the clients attached, peak (VmHWM) {int(hwm) / 1024:.1f} MiB")
print(f"    idle {idle} s after the cycle: serve CPU {(int(c1) - int(c0)) * 1000 / int(tck):.0f} ms")
PY
    mv "$work" "$BENCH_DIR/trash/" 2>/dev/null || rm -rf "$work"
}
