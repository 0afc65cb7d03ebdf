#!/usr/bin/env python3
"""bin/bench supervisor: `mediasync serve` with many clients attached.

  supervisor-bench.py MEDIASYNC WORKDIR SMALL_TREE [CLIENTS]

1. Starts `mediasync serve` (release binary) on a config with two local sources: `slow` (a folder of
   2,000 x 20 KB files, bwlimit 4000 KB/s: about 10 s of progress) and `small` (SMALL_TREE, the
   20,000-file tree of bin/bench sync). rsync is reached through a PATH wrapper (rsync-stamp.py) that
   stamps each progress2 record when it leaves rsync.
2. Attaches CLIENTS (100) clients, triggers `slow`, and records for every progress event each client
   gets: receive time minus the event's `time` (publish -> receive), and the event's time minus the
   time the matching rsync record (same byte count) left rsync (rsync -> publish), over the events that
   first told a byte count (a later event repeating it, such as the cycle's last state, is not news).
3. Triggers `small` (20,000 files) with the clients attached and reads VmHWM (peak RSS).
4. Leaves the clients attached and idle for 30 s; reports serve's utime+stime and context switches.
All times are wall clock of this machine (same clock for every party). Prints a report on stdout.
"""
import json, os, selectors, signal, socket, subprocess, sys, time
from datetime import datetime, timezone

mediasync, work, small_tree = sys.argv[1], sys.argv[2], sys.argv[3]
CLIENTS = int(sys.argv[4]) if len(sys.argv) > 4 else 100
IDLE_SECONDS = float(os.environ.get("MEDIASYNC_BENCH_IDLE", "30"))
here = os.path.dirname(os.path.abspath(__file__))
CLK_TCK = os.sysconf("SC_CLK_TCK")


def ms_of(rfc3339):
    return datetime.strptime(rfc3339, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc).timestamp() * 1000


def pct(values, p):
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]


def proc_cpu(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1000 / CLK_TCK  # utime + stime, ms


def proc_status(pid, key):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return -1


def write_config(config, slow_root, small_root):
    folders = ", ".join(sorted(os.listdir(small_tree)))
    with open(config, "w") as f:
        f.write(f"""library: {work}/lib
state_dir: {work}/state
socket: {work}/ms.sock
interval: 1h
settle: 0s
sources:
  - {{name: slow, transport: local, root: {slow_root}, folders: [lat], bwlimit: 4000}}
  - {{name: small, transport: local, root: {small_root}, folders: [{folders}]}}
""")


def setup():
    """A config whose sources are empty (the start cycle has nothing to do), and the real sources."""
    empty = os.path.join(work, "empty")
    for folder in ["lat"] + os.listdir(small_tree):
        os.makedirs(os.path.join(empty, folder), exist_ok=True)
    src = os.path.join(work, "slow")
    os.makedirs(os.path.join(src, "lat"), exist_ok=True)
    old = time.time() - 7200
    block = os.urandom(20_000)
    for i in range(2000):
        path = os.path.join(src, "lat", f"{i:05d}-{i * 7919}.png")
        with open(path, "wb") as f:
            f.write(i.to_bytes(8, "little") + block[8:])
        os.utime(path, (old, old))
    os.makedirs(os.path.join(work, "lib"), exist_ok=True)
    os.makedirs(os.path.join(work, "wrap"), exist_ok=True)
    wrapper = os.path.join(work, "wrap", "rsync")
    if os.path.lexists(wrapper):
        os.unlink(wrapper)
    with open(wrapper, "w") as f:  # the interpreter itself, not a pyenv shim: one exec less per rsync
        f.write(f'#!/bin/sh\nexec {sys.executable} {os.path.join(here, "rsync-stamp.py")} "$@"\n')
    os.chmod(wrapper, 0o755)
    config = os.path.join(work, "config.yaml")
    write_config(config, empty, empty)
    return config, src


def request(sock_path, line):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(sock_path)
    s.sendall((line + "\n").encode())
    reply = b""
    while not reply.endswith(b"\n"):
        chunk = s.recv(65536)
        if not chunk:
            break
        reply += chunk
    s.close()
    return json.loads(reply.split(b"\n")[0])


class Clients:
    """CLIENTS attached connections read with one selector; progress lines are parsed, the rest counted."""

    def __init__(self, sock_path, n):
        self.sel = selectors.DefaultSelector()
        self.buf, self.done, self.dropped = {}, set(), set()
        self.samples = []  # (seq, event time ms, bytes_done, receive time ms)
        self.lines = 0
        self.per_client = {}
        for i in range(n):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(sock_path)
            s.sendall(b'{"cmd":"attach"}\n')
            s.setblocking(False)
            self.buf[s] = b""
            self.sel.register(s, selectors.EVENT_READ)
        # hello + snapshot on every connection
        if not self.pump(lambda: all(self.per_client.get(s, 0) >= 2 for s in self.buf), timeout=30):
            sys.exit("not every client got its hello and snapshot")

    def pump(self, until, timeout):
        deadline = time.time() + timeout
        while not until() and time.time() < deadline:
            for key, _ in self.sel.select(timeout=0.5):
                s = key.fileobj
                try:
                    chunk = s.recv(1 << 18)
                except BlockingIOError:
                    continue
                now = time.time() * 1000
                if not chunk:
                    self.dropped.add(s)
                    self.sel.unregister(s)
                    continue
                data = self.buf[s] + chunk
                if self.collecting:
                    lines = data.split(b"\n")
                    self.buf[s] = lines.pop()
                    self.lines += len(lines)
                    self.per_client[s] = self.per_client.get(s, 0) + len(lines)
                    for line in lines:
                        if b'"type":"progress"' in line:
                            e = json.loads(line)
                            self.samples.append((e["seq"], ms_of(e["time"]), e["overall"]["bytes_done"], now))
                        elif b'"type":"cycle_finished"' in line:
                            self.done.add(s)
                else:
                    # Draining a 20,000-file cycle: only look for its end (and keep a tail that may hold it).
                    self.lines += chunk.count(b"\n")
                    if b'"type":"cycle_finished"' in data:
                        self.done.add(s)
                    self.buf[s] = data[-200:]
        return until()

    collecting = True

    def run_cycle(self, sock_path, source, collect, timeout):
        self.done.clear()
        self.collecting = collect
        reply = request(sock_path, json.dumps({"cmd": "trigger", "sources": [source]}))
        assert reply.get("ok"), reply
        started = time.time()
        live = lambda: len(self.buf) - len(self.dropped)
        self.pump(lambda: len(self.done - self.dropped) >= live(), timeout)
        return time.time() - started


def main():
    config, slow_root = setup()
    stamps = os.path.join(work, "rsync-stamps.txt")
    env = dict(os.environ)
    for k in ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "MEDIASYNC_CONFIG"):
        env.pop(k, None)
    env["MSBENCH_REAL_RSYNC"] = subprocess.run(["sh", "-c", "command -v rsync"], capture_output=True, text=True).stdout.strip()
    env["MSBENCH_RSYNC_LOG"] = stamps
    env["PATH"] = os.path.join(work, "wrap") + ":" + env["PATH"]
    log = open(os.path.join(work, "serve.log"), "w")
    serve = subprocess.Popen([mediasync, "serve", "--config", config], env=env, stdout=log, stderr=log,
                             stdin=subprocess.DEVNULL)
    sock_path = os.path.join(work, "ms.sock")
    try:
        deadline = time.time() + 20
        while True:
            try:
                if request(sock_path, '{"cmd":"status"}')["state"] == "idle":
                    break
            except OSError:
                pass
            if time.time() > deadline or serve.poll() is not None:
                sys.exit("serve did not start; see " + os.path.join(work, "serve.log"))
            time.sleep(0.1)
        write_config(config, slow_root, small_tree)
        assert request(sock_path, '{"cmd":"reload"}').get("ok")
        rss_start = proc_status(serve.pid, "VmRSS")
        clients = Clients(sock_path, CLIENTS)
        rss_attached = proc_status(serve.pid, "VmRSS")

        # --- latency: one cycle of `slow` with every client attached
        if os.path.exists(stamps):
            os.unlink(stamps)
        cpu0 = proc_cpu(serve.pid)
        lat_seconds = clients.run_cycle(sock_path, "slow", True, 120)
        lat_cpu = proc_cpu(serve.pid) - cpu0
        records = {}  # bytes -> time the first record with that byte count left rsync
        for line in open(stamps):
            t, b = line.split()
            records.setdefault(int(b), float(t))
        pub_recv = [recv - t for _, t, _, recv in clients.samples]
        events = {seq: (t, b) for seq, t, b, _ in clients.samples}
        # The event that told a byte count is the first one carrying it; later ones (a job's end, the
        # cycle's last state) repeat it and are not news of that record.
        telling = {}
        for seq in sorted(events):
            telling.setdefault(events[seq][1], seq)
        told = set(telling.values())
        rsync_pub = [t - records[b] for seq, (t, b) in events.items() if b in records and seq in told]
        rsync_recv = [recv - records[b] for seq, _, b, recv in clients.samples if b in records and seq in told]
        lat_dropped = len(clients.dropped)
        with open(os.path.join(work, "progress-events.tsv"), "w") as out:  # for a closer look
            out.write("seq\tevent_ms\tbytes_done\trecord_ms\n")
            for seq in sorted(events):
                t, b = events[seq]
                out.write(f"{seq}\t{t:.0f}\t{b}\t{records.get(b, float('nan')):.1f}\n")

        # --- peak RSS: the 20,000-file cycle with every client attached
        cpu0 = proc_cpu(serve.pid)
        small_seconds = clients.run_cycle(sock_path, "small", False, 240)
        small_cpu = proc_cpu(serve.pid) - cpu0
        hwm = proc_status(serve.pid, "VmHWM")
        small_dropped = len(clients.dropped) - lat_dropped
        status = request(sock_path, '{"cmd":"status"}')
        small_files = status["last_cycle"]["files"]

        # --- idle: the clients stay attached, nothing runs
        time.sleep(1)
        cpu0 = proc_cpu(serve.pid)
        ctx0 = proc_status(serve.pid, "voluntary_ctxt_switches") + proc_status(serve.pid, "nonvoluntary_ctxt_switches")
        clients.collecting = True
        clients.pump(lambda: False, IDLE_SECONDS)
        idle_cpu = proc_cpu(serve.pid) - cpu0
        ctx = proc_status(serve.pid, "voluntary_ctxt_switches") + proc_status(serve.pid, "nonvoluntary_ctxt_switches") - ctx0
        attached_at_end = len(clients.buf) - len(clients.dropped)
    finally:
        serve.send_signal(signal.SIGTERM)
        serve.wait(timeout=20)

    f = lambda v: f"{v:.1f}"
    print(f"supervisor, {CLIENTS} clients attached (mediasync serve, release build)")
    print(f"  latency cycle: 2,000 x 20 KB at bwlimit 4000 KB/s, {lat_seconds:.1f} s, "
          f"{len(events)} progress events x {CLIENTS} clients = {len(pub_recv)} samples, serve CPU {lat_cpu / 1000:.2f} s")
    print(f"    publish -> client receive  p50 {f(pct(pub_recv, 50))} ms  p99 {f(pct(pub_recv, 99))} ms  max {f(max(pub_recv))} ms")
    print(f"    rsync record -> publish    p50 {f(pct(rsync_pub, 50))} ms  p99 {f(pct(rsync_pub, 99))} ms  max {f(max(rsync_pub))} ms"
          f"  ({len(rsync_pub)} of {len(events)} events told a new byte count and matched a record)")
    print(f"    rsync record -> client     p50 {f(pct(rsync_recv, 50))} ms  p99 {f(pct(rsync_recv, 99))} ms  max {f(max(rsync_recv))} ms"
          f"  (target p99 < 50 ms)")
    print(f"    clients dropped: {lat_dropped}")
    print(f"  20k cycle: {small_files} files in {small_seconds:.1f} s, {clients.lines} event lines read by all clients, "
          f"serve CPU {small_cpu / 1000:.2f} s, clients dropped: {small_dropped}")
    print(f"  RSS: {rss_start / 1024:.1f} MiB at start, {rss_attached / 1024:.1f} MiB with {CLIENTS} attached, "
          f"peak (VmHWM) {hwm / 1024:.1f} MiB after the 20k cycle (target < 50 MB)")
    print(f"  idle {IDLE_SECONDS:.0f} s with {attached_at_end} clients attached: serve CPU {idle_cpu:.0f} ms, "
          f"{ctx} context switches (target: no measurable use)")


if __name__ == "__main__":
    main()
