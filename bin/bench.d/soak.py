#!/usr/bin/env python3
"""The soak of `bin/bench soak [minutes]` (issue 10), python3 standard library only.

`mediasync serve` (interval 10s, settle 2s, purge on with min_age 3m) runs for N minutes against three
sources: `local` (a folder on this machine), `gpu` (ssh to a loopback sshd, restarted every 5 minutes: at
the next moment a gpu job runs, the listener and every session under it are killed and a new one starts on
the same port with the same host key after 3 s, or 20 s every other time, which outlasts the retries) and
`forge` (docker, played by the tests' bubblewrap shim). Per source, a generator writes a PNG-like file
about every 200 ms, in place, named as ComfyUI or Forge name them (highest number present + 1), and a person
deletes now and then: an older file, the one just made, the newest one after the GPU idled for 15-30 s, or a
whole folder every 10 minutes (sources in turn); the last three make the generator reuse names the library
already holds. Everything written and deleted is recorded. One client is attached throughout (`mediasync
attach --json`, every line to events.jsonl); half way it is killed on purpose and comes back with `--since`,
as it would after any cut. serve's VmRSS, open fds, CPU and zombie children are sampled every 10 s
(7-13 s, jittered, so the samples do not lock onto one phase of the 10 s cycles).

At the end serve gets SIGTERM and must exit 0; then every file written must be in the library byte for byte,
or still at the source, or have been deleted by the person before it was synced; every `file_purged` must
have an identical library copy; no library file may hold bytes the generator never wrote; RSS (all samples)
and open fds (samples between cycles) over the last 10 minutes within 10% of minutes 5-10, compared by
median (runs under 20 minutes: last third against second third); no zombie left unreaped for a second; the
client saw every seq; nothing of the run left 5 s after serve exited. Prints PASS or FAIL with the figures
(also in summary.txt); exit 1 on FAIL.

Called by bin/bench.d/soak.sh, which builds the binary and starts the first sshd (sshd_start).
"""
import argparse
import collections
import datetime
import hashlib
import json
import os
import random
import re
import signal
import socket
import statistics
import struct
import subprocess
import sys
import threading
import time
import zlib

TICK = os.sysconf("SC_CLK_TCK")


def log(msg):
    print(f"[soak {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# --- PNG-like files ---------------------------------------------------------------------------------

def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_bytes(rng, size, prompt):
    """A PNG with the signature, IHDR, a Forge-style `parameters` tEXt chunk, random IDAT bytes and IEND,
    `size` bytes long in all (random, so every file's SHA-256 is its own)."""
    head = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 512, 512, 8, 2, 0, 0, 0))
    head += chunk(b"tEXt", b"parameters\0" + prompt.encode())
    tail = chunk(b"IEND", b"")
    body = max(0, size - len(head) - len(tail) - 12)
    return head + chunk(b"IDAT", rng.randbytes(body)) + tail


# --- /proc helpers ------------------------------------------------------------------------------------

def proc_stat(pid):
    """(state, ppid, utime+stime ticks) of a process, or None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            raw = f.read().decode(errors="replace")
    except OSError:
        return None
    rest = raw[raw.rindex(")") + 2:].split()
    return rest[0], int(rest[1]), int(rest[11]) + int(rest[12])


def all_pids():
    return [int(p) for p in os.listdir("/proc") if p.isdigit()]


def children_of(pid):
    out = []
    for p in all_pids():
        st = proc_stat(p)
        if st and st[1] == pid:
            out.append((p, st[0]))
    return out


def descendants(pid):
    table = collections.defaultdict(list)
    for p in all_pids():
        st = proc_stat(p)
        if st:
            table[st[1]].append(p)
    out, todo = [], [pid]
    while todo:
        for c in table.get(todo.pop(), []):
            out.append(c)
            todo.append(c)
    return out


def cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


def vm_rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


# --- the world --------------------------------------------------------------------------------------

class Source:
    def __init__(self, name, style, host_root, folders):
        self.name, self.style, self.host_root, self.folders = name, style, host_root, folders

    def folder_path(self, folder):
        return os.path.join(self.host_root, folder)


class Recorder:
    """Append-only JSON lines, shared by the generator threads."""

    def __init__(self, path):
        self.f = open(path, "w")
        self.lock = threading.Lock()
        self.rows = []

    def add(self, row):
        with self.lock:
            self.rows.append(row)
            self.f.write(json.dumps(row) + "\n")
            self.f.flush()


NUM = {"comfy": re.compile(r"^ComfyUI_(\d+)_\.png$"), "forge": re.compile(r"^(\d+)-\d+\.png$")}


def source_files(src):
    """(folder, path relative to it, mtime) of every file at the source now."""
    out = []
    for folder in src.folders:
        base = src.folder_path(folder)
        for dirpath, _, files in os.walk(base):
            for n in files:
                p = os.path.join(dirpath, n)
                try:
                    out.append((folder, os.path.relpath(p, base), os.stat(p).st_mtime))
                except FileNotFoundError:
                    pass
    return out


def remove(src, deleted, folder, rel, why):
    try:
        os.remove(os.path.join(src.folder_path(folder), rel))
    except FileNotFoundError:
        return False  # the purge was quicker
    deleted.add({"source": src.name, "folder": folder, "path": rel, "time": time.time(), "why": why})
    return True


def generator(src, stop, written, deleted, rng, period, deleter_every, pause_every, clear_at):
    """One source's generator and its person with the delete key, in one thread (never deletes a file that
    is being written). Writes in place, as ComfyUI and Forge do; about 1 file in 20 is written slowly, in 4
    pieces over about a second, so `settle` has work to do.

    The person: about one deletion every `deleter_every` seconds, mostly of a file older than 20 s, one time
    in five the image just made (its name comes again: highest number + 1). The GPU idles now and then
    (about every `pause_every` seconds, 15-30 s; then, one time in two, the person deletes the newest image,
    which is home by then, so the next one reuses a name the library holds). At `clear_at` seconds (a list)
    the person empties one folder: numbering starts again at 1, over names the library already holds."""
    day = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")
    t_start = time.monotonic()
    clears = sorted(clear_at)
    next_at = time.monotonic()
    while not stop.is_set():
        if clears and time.monotonic() - t_start >= clears[0]:
            clears.pop(0)
            folder = rng.choice(src.folders)
            gone = sum(remove(src, deleted, f, rel, "clear") for f, rel, _ in source_files(src) if f == folder)
            log(f"{src.name}: the person emptied {folder} ({gone} files)")
        if rng.random() < period / pause_every:
            stop.wait(rng.uniform(15, 30))
            if stop.is_set():
                break
            if rng.random() < 0.5:
                present = [(f, rel) for f, rel, _ in source_files(src)]
                if present:
                    def number(item):
                        m = NUM[src.style].match(os.path.basename(item[1]))
                        return int(m.group(1)) if m else 0
                    f, rel = max(present, key=number)
                    remove(src, deleted, f, rel, "newest-after-pause")
            next_at = time.monotonic()
        folder = rng.choice(src.folders)
        sub = day if src.style == "forge" else ""
        where = os.path.join(src.folder_path(folder), sub)
        os.makedirs(where, exist_ok=True)
        try:
            names = os.listdir(where)
        except FileNotFoundError:
            names = []
        top = 0
        for n in names:
            m = NUM[src.style].match(n)
            if m:
                top = max(top, int(m.group(1)))
        seed = rng.randrange(10**9, 10**10)
        name = f"ComfyUI_{top + 1:05d}_.png" if src.style == "comfy" else f"{top + 1:05d}-{seed}.png"
        rel = os.path.join(sub, name) if sub else name
        data = png_bytes(rng, rng.randrange(4_000, 96_000), f"a soak test image, seed {seed}")
        slow = rng.random() < 0.05
        start = time.time()
        with open(os.path.join(where, name), "wb") as f:
            if slow:
                piece = len(data) // 4 + 1
                for i in range(0, len(data), piece):
                    f.write(data[i:i + piece])
                    f.flush()
                    time.sleep(0.3)
            else:
                f.write(data)
        st = os.stat(os.path.join(where, name))
        written.add({"i": len(written.rows), "source": src.name, "folder": folder, "path": rel, "size": len(data),
                     "sha256": hashlib.sha256(data).hexdigest(), "start": start, "end": time.time(),
                     "mtime": st.st_mtime, "slow": slow})
        if rng.random() < period / deleter_every:
            if rng.random() < 0.2:
                remove(src, deleted, folder, rel, "newest")
            else:
                now = time.time()
                candidates = [(f, r) for f, r, m in source_files(src) if now - m > 20]
                if candidates:
                    remove(src, deleted, *rng.choice(candidates), "older")
        next_at += period
        delay = next_at - time.monotonic()
        if delay > 0:
            stop.wait(delay)
        else:
            next_at = time.monotonic()


class SSHD:
    """Restarts the loopback sshd that sshd_start (bin/bench.d/sync.sh) started: same config, so same port
    and host key. A restart kills the listener and every session below it (what a reboot does to them)."""

    def __init__(self, config, first_pid, port, logfile, down_s):
        self.config, self.pid, self.port, self.logfile, self.down_s = config, first_pid, port, logfile, down_s
        self.proc = None  # ours, once restarted
        self.restarts = []

    def stop(self):
        victims = descendants(self.pid)
        try:
            os.kill(self.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        for v in victims:
            try:
                os.kill(v, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if self.proc:
            self.proc.wait()
        else:  # sshd_start's: a child of bin/bench, which reaps it in sshd_stop
            for _ in range(100):
                st = proc_stat(self.pid)
                if st is None or st[0] == "Z":
                    break
                time.sleep(0.05)
        return len(victims)

    def start(self):
        with open(self.logfile, "ab") as err:
            self.proc = subprocess.Popen(["/usr/sbin/sshd", "-D", "-e", "-f", self.config], stderr=err,
                                         stdin=subprocess.DEVNULL)
        self.pid = self.proc.pid
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return True
            except OSError:
                if self.proc.poll() is not None:
                    return False
                time.sleep(0.05)
        return False

    def restart(self, t, busy=None, wait_s=0):
        """Waits up to `wait_s` for `busy()` (the ssh source's job is running) and a session on this sshd, so
        that the reboot cuts a job's connection, not just its next one."""
        deadline = time.monotonic() + wait_s
        while busy and not (busy() and descendants(self.pid)) and time.monotonic() < deadline:
            time.sleep(0.02)
        hit = bool(busy and busy())
        down = self.down_s[len(self.restarts) % len(self.down_s)]
        killed = self.stop()
        time.sleep(down)
        ok = self.start()
        self.restarts.append({"t": t, "sessions_killed": killed, "ok": ok, "down": down, "mid_job": hit})
        log(f"sshd restarted on port {self.port} ({'during' if hit else 'not during'} a gpu job, {killed} session "
            f"processes killed, down {down:g} s)"
            + ("" if ok else ": THE NEW SSHD DID NOT START"))

    def close(self):
        if self.proc and self.proc.poll() is None:
            self.stop()


class Client(threading.Thread):
    """`mediasync attach --json`, every line written to a file; reconnects with `--since` (noted) when cut off."""

    def __init__(self, mediasync, config, out_path, note_path, stderr_path):
        super().__init__(daemon=True)
        self.mediasync, self.config = mediasync, config
        self.out = open(out_path, "wb")
        self.notes = open(note_path, "w")
        self.stderr_path = stderr_path
        self.stopping = threading.Event()
        self.last_seq = 0
        self.connects = 0
        self.reconnects = []
        self.gaps = []
        self.overflows = []
        self.errors = []
        self.proc = None
        self.holes = []       # (first, last) seqs skipped on one connection
        self.filled = {}      # seq -> type, as a replay (`attach --since`) gave it afterwards
        self.hole_queue = collections.deque()
        self.filler = threading.Thread(target=self.fill_holes, daemon=True)
        self.running = set()  # jobs between job_started and job_finished
        self.in_cycle = False  # between cycle_started and cycle_finished
        self.dropped = []     # times we cut the client off on purpose

    def drop(self):
        """Cuts the attach client off (SIGKILL), as a crashed or killed front end would be; it comes back with
        --since."""
        if self.proc and self.proc.poll() is None:
            self.dropped.append({"time": time.time(), "seq": self.last_seq})
            self.note(f"cutting the client off on purpose at seq {self.last_seq}")
            self.proc.kill()

    def note(self, text):
        self.notes.write(f"{time.time():.3f} {text}\n")
        self.notes.flush()

    def fill_holes(self):
        """A jump in seq on a live connection is allowed for `progress` only (coalesced for a client that is
        behind, docs/events.md). Which events the jump skipped is asked at once from the replay ring with a
        second client, `attach --since first-1`, while the ring still holds them."""
        while not (self.stopping.is_set() and not self.hole_queue):
            if not self.hole_queue:
                time.sleep(0.1)
                continue
            lo, hi = self.hole_queue.popleft()
            argv = [self.mediasync, "attach", "--json", "--config", self.config, "--since", str(lo - 1)]
            proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
            timer = threading.Timer(20, proc.kill)
            timer.start()
            for line in proc.stdout:
                try:
                    ev = json.loads(line)
                except ValueError:
                    continue
                seq = ev.get("seq") if "ok" not in ev else None
                if isinstance(seq, int):
                    if lo <= seq <= hi:
                        self.filled[seq] = ev.get("type")
                    if seq >= hi:
                        break
            proc.kill()
            proc.wait()
            timer.cancel()
            self.note(f"seqs {lo}..{hi} skipped on the live connection; the replay gave "
                      + ", ".join(f"{q} {self.filled.get(q, 'nothing')}" for q in range(lo, hi + 1)))

    def run(self):
        self.filler.start()
        attached_once = False
        while not self.stopping.is_set():
            argv = [self.mediasync, "attach", "--json", "--config", self.config, "--since", str(self.last_seq)]
            with open(self.stderr_path, "ab") as err:
                self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=err, stdin=subprocess.DEVNULL)
            hello = False
            prev = self.last_seq  # the next event of this connection is prev + 1
            for line in self.proc.stdout:
                self.out.write(line)
                self.out.flush()
                try:
                    ev = json.loads(line)
                except ValueError:
                    self.errors.append(f"not JSON: {line[:200]!r}")
                    continue
                if "ok" in ev:
                    if ev.get("type") == "hello":
                        hello = True
                        self.connects += 1
                        self.note(f"attached (--since {self.last_seq}), supervisor pid {ev.get('pid')}")
                    elif ev.get("ok") is False:
                        self.errors.append(ev.get("error"))
                    continue
                kind = ev.get("type")
                if kind == "gap":
                    self.gaps.append(ev)
                    self.note(f"gap: {line.decode().strip()}")
                elif kind == "overflow":
                    self.overflows.append(ev)
                    self.note(f"overflow: {line.decode().strip()}")
                if kind == "cycle_started":
                    self.in_cycle = True
                elif kind == "cycle_finished":
                    self.in_cycle = False
                elif kind == "job_started":
                    self.running.add(ev["job"])
                elif kind == "job_finished":
                    self.running.discard(ev["job"])
                if isinstance(ev.get("seq"), int):
                    if ev["seq"] > prev + 1:
                        self.holes.append((prev + 1, ev["seq"] - 1))
                        self.hole_queue.append((prev + 1, ev["seq"] - 1))
                    prev = max(prev, ev["seq"])
                    self.last_seq = max(self.last_seq, ev["seq"])
            rc = self.proc.wait()
            if self.stopping.is_set():
                self.note(f"attach ended with exit {rc} as serve stopped")
                break
            if hello:
                attached_once = True
                self.reconnects.append({"time": time.time(), "exit": rc, "since": self.last_seq})
                self.note(f"cut off (attach exit {rc}); reconnecting with --since {self.last_seq}")
            elif attached_once:
                self.note(f"attach exit {rc} before hello; retrying")
            time.sleep(0.2)


# --- the run ----------------------------------------------------------------------------------------

def write_config(a, work, sources):
    known_hosts = os.path.join(work, "known_hosts")
    with open(os.path.join(a.sshd_dir, "host_key.pub")) as f:
        kind, key = f.read().split()[:2]
    with open(known_hosts, "w") as f:
        f.write(f"[127.0.0.1]:{a.ssh_port} {kind} {key}\n")
    local, gpu, forge = sources
    text = f"""\
library: {work}/lib
state_dir: {work}/state
socket: {work}/state/mediasync.sock
interval: {a.interval}s
settle: 2s
stall_timeout: 60s
io_timeout: 30s
retry: {{attempts: 3, backoff: 2s, max_backoff: 20s}}
purge: {{enabled: true, min_age: {a.min_age}}}
sources:
  - {{name: {local.name}, transport: local, root: {local.host_root}, folders: [{', '.join(local.folders)}]}}
  - {{name: {gpu.name}, transport: ssh, host: 127.0.0.1, port: {a.ssh_port}, user: root, identity: {a.ssh_key},
     root: {gpu.host_root}, folders: [{', '.join(gpu.folders)}],
     ssh_options: [StrictHostKeyChecking=yes, UserKnownHostsFile={known_hosts}, LogLevel=ERROR]}}
  - {{name: {forge.name}, transport: docker, container: forge-1, docker_command: {a.docker_shim},
     root: /app/outputs, folders: [{', '.join(forge.folders)}]}}
"""
    path = os.path.join(work, "config.yaml")
    with open(path, "w") as f:
        f.write(text)
    return path


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mediasync", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--minutes", type=float, default=30)
    ap.add_argument("--sshd-dir", required=True)
    ap.add_argument("--sshd-pid", type=int, required=True)
    ap.add_argument("--ssh-port", type=int, required=True)
    ap.add_argument("--ssh-key", required=True)
    ap.add_argument("--docker-shim", required=True)
    ap.add_argument("--interval", type=int, default=10)
    ap.add_argument("--min-age", default=None, help="purge min_age (default 3m; a quarter of a run under 12 minutes)")
    ap.add_argument("--sshd-every", type=float, default=None,
                    help="seconds between sshd restarts (default 300; a third of a run under 15 minutes)")
    ap.add_argument("--sshd-down", default="3,20",
                    help="seconds the sshd stays down, per restart in turn (20 s outlasts the retries: a failed job)")
    ap.add_argument("--period", type=float, default=0.2, help="seconds between files, per source")
    ap.add_argument("--deleter-every", type=float, default=5, help="seconds between deletions, per source (mean)")
    ap.add_argument("--pause-every", type=float, default=150, help="mean seconds between idle spells of a generator")
    ap.add_argument("--clear-every", type=float, default=None,
                    help="seconds between the person emptying a folder, sources in turn "
                         "(default 600; a third of a run under 30 minutes)")
    ap.add_argument("--client-drop-at", type=float, default=None,
                    help="seconds into the run when the attach client is killed and reconnects with --since "
                         "(default: half way; negative: never)")
    ap.add_argument("--seed", type=int, default=None)
    a = ap.parse_args()

    work = a.work
    duration = a.minutes * 60
    # A short run (`bin/bench soak 3`) gets the same events, compressed: files old enough to purge, a few sshd
    # restarts and folder clears.
    if a.min_age is None:
        a.min_age = "3m" if duration >= 12 * 60 else f"{max(30, int(duration / 4))}s"
    if a.sshd_every is None:
        a.sshd_every = 300 if duration >= 15 * 60 else max(30, duration / 3)
    if a.clear_every is None:
        a.clear_every = 600 if duration >= 30 * 60 else max(40, duration / 3)
    seed = a.seed if a.seed is not None else random.randrange(1 << 30)
    os.makedirs(os.path.join(work, "lib"), exist_ok=True)
    boxes = os.path.join(work, "boxes")
    sources = [
        Source("local", "comfy", os.path.join(work, "src/local/ComfyUI"), ["output", "output-video"]),
        Source("gpu", "comfy", os.path.join(work, "src/gpu/workspace/ComfyUI"), ["output"]),
        Source("forge", "forge", os.path.join(boxes, "forge-1/root/app/outputs"), ["txt2img-images", "img2img-images"]),
    ]
    for s in sources:
        for f in s.folders:
            os.makedirs(s.folder_path(f), exist_ok=True)
    config = write_config(a, work, sources)
    env = dict(os.environ, MEDIASYNC_DOCKER_SHIM_ROOT=boxes)
    log(f"work dir {work}; {a.minutes:g} minutes; seed {seed}; sshd on port {a.ssh_port}; purge min_age {a.min_age}, "
        f"sshd restart every {a.sshd_every:g} s, a folder emptied every {a.clear_every:g} s")

    written = Recorder(os.path.join(work, "written.jsonl"))
    deleted = Recorder(os.path.join(work, "deleted.jsonl"))
    sshd = SSHD(os.path.join(a.sshd_dir, "sshd_config"), a.sshd_pid, a.ssh_port,
                os.path.join(a.sshd_dir, "sshd.log"), [float(x) for x in a.sshd_down.split(",")])

    serve_err = open(os.path.join(work, "serve.stderr"), "wb")
    t0 = time.time()
    serve = subprocess.Popen([a.mediasync, "serve", "--config", config], env=env, stdout=serve_err,
                             stderr=serve_err, stdin=subprocess.DEVNULL)
    client = Client(a.mediasync, config, os.path.join(work, "events.jsonl"), os.path.join(work, "client.log"),
                    os.path.join(work, "client.stderr"))
    client.start()
    stop = threading.Event()
    # The folder clears: every --clear-every seconds, the sources in turn, never in the last 2 minutes.
    clear_at = collections.defaultdict(list)
    k, t = 0, a.clear_every / 2
    while t < duration - 120:
        clear_at[k % len(sources)].append(t)
        k, t = k + 1, t + a.clear_every
    gens = [threading.Thread(target=generator, daemon=True,
                             args=(s, stop, written, deleted, random.Random(seed + i), a.period, a.deleter_every,
                                   a.pause_every, clear_at[i]))
            for i, s in enumerate(sources)]
    for g in gens:
        g.start()

    samples = []  # (t, rss_kib, fds, cpu_s, zombies, children, busy)
    sample_file = open(os.path.join(work, "samples.tsv"), "w")
    sample_file.write("t_s\trss_kib\tfds\tcpu_s\tzombies\tchildren\tin_cycle\n")
    zombies_seen, zombies_kept = 0, []  # zombie children seen; those still there a second later
    next_sample = 10.0
    jitter = random.Random(seed - 1)
    next_restart = a.sshd_every
    restarters = []
    drop_at = a.client_drop_at if a.client_drop_at is not None else duration / 2
    if drop_at < 0:
        drop_at = None
    next_report = 60.0
    died = None

    def interrupted(signum, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, interrupted)
    try:
        while True:
            t = time.time() - t0
            if serve.poll() is not None:
                died = serve.returncode
                break
            if t >= duration:
                break
            if t >= next_sample:
                try:
                    busy = client.in_cycle
                    st = proc_stat(serve.pid)
                    kids = children_of(serve.pid)
                    zombies = [p for p, state in kids if state == "Z"]
                    row = (round(t, 1), vm_rss_kib(serve.pid), len(os.listdir(f"/proc/{serve.pid}/fd")), st[2] / TICK,
                           len(zombies), len(kids), int(busy))
                    samples.append(row)
                    sample_file.write("\t".join(str(x) for x in row) + "\n")
                    sample_file.flush()
                    if zombies:  # one not reaped yet is normal for a moment; one still there a second later is not
                        zombies_seen += len(zombies)
                        time.sleep(1)
                        zombies_kept += [(round(t), p, cmdline(p)) for p, state in children_of(serve.pid)
                                         if state == "Z" and p in zombies]
                except (OSError, TypeError):
                    pass
                # 10 s on average, jittered: serve's cycles come every 10 s too, and a fixed step locks onto
                # one phase of them (every sample inside a cycle, or none).
                next_sample += jitter.uniform(7, 13)
            if t >= next_restart:
                gpu_busy = (lambda: any(j.startswith("gpu/") for j in client.running))
                restarters.append(threading.Thread(target=sshd.restart, args=(round(t), gpu_busy, 3 * a.interval),
                                                   daemon=True))
                restarters[-1].start()
                next_restart += a.sshd_every
            if drop_at is not None and t >= drop_at:
                client.drop()
                drop_at = None
            if t >= next_report:
                s = samples[-1] if samples else None
                log(f"{t / 60:.0f} min: {len(written.rows)} written, {len(deleted.rows)} deleted by the person, "
                    f"client at seq {client.last_seq}" + (f", serve RSS {s[1] / 1024:.1f} MiB, {s[2]} fds" if s else ""))
                next_report += 60
            time.sleep(0.2)
    except KeyboardInterrupt:
        log("interrupted: stopping serve and the generators; no verdict")
        stop.set()
        client.stopping.set()
        if serve.poll() is None:
            serve.send_signal(signal.SIGTERM)
            serve.wait(timeout=30)
        sshd.close()
        sys.exit(130)
    stop.set()
    for g in gens:
        g.join()
    # Zombies right before the stop, too.
    final_kids = children_of(serve.pid) if died is None else []
    final_zombies = [p for p, state in final_kids if state == "Z"]
    if final_zombies:
        zombies_seen += len(final_zombies)
        time.sleep(1)
        zombies_kept += [("end", p, cmdline(p)) for p, state in children_of(serve.pid)
                         if state == "Z" and p in final_zombies]
    client.stopping.set()
    exit_code, stop_s = died, None
    if died is None:
        t_stop = time.time()
        serve.send_signal(signal.SIGTERM)
        try:
            exit_code = serve.wait(timeout=30)
        except subprocess.TimeoutExpired:
            serve.kill()
            exit_code = "timeout (killed after 30 s)"
        stop_s = time.time() - t_stop
    client.join(timeout=15)
    if client.proc and client.proc.poll() is None:
        client.proc.kill()
    client.filler.join(timeout=60)
    time.sleep(5)
    leftovers = [(p, cmdline(p)) for p in all_pids() if p != os.getpid() and work in cmdline(p)]
    for r in restarters:
        r.join(timeout=30)  # a restart in flight
    sshd.close()
    log(f"serve stopped (exit {exit_code}); checking")
    ok = verify(a, work, config, env, sources, written.rows, deleted.rows, client, samples, duration, exit_code,
                stop_s, (zombies_seen, zombies_kept), leftovers, sshd, died, seed)
    sys.exit(0 if ok else 1)


def verify(a, work, config, env, sources, written, deleted, client, samples, duration, exit_code, stop_s,
           zombies, leftovers, sshd, died, seed):
    fails = []
    lib = os.path.join(work, "lib")
    by_name = {s.name: s for s in sources}

    # The client's events.
    events, seqs, dup = [], set(), 0
    with open(os.path.join(work, "events.jsonl"), "rb") as f:
        for line in f:
            try:
                ev = json.loads(line)
            except ValueError:
                continue
            if "ok" in ev or not isinstance(ev.get("seq"), int):
                continue
            if ev["seq"] in seqs:
                dup += 1
                continue
            seqs.add(ev["seq"])
            events.append(ev)
    max_seq = max(seqs) if seqs else 0
    missing = sorted(set(range(1, max_seq + 1)) - seqs)
    kinds = collections.Counter(ev["type"] for ev in events)
    synced = collections.defaultdict(list)  # (source, folder, path) -> [event]
    for ev in events:
        if ev["type"] == "file_synced":
            synced[(ev["source"], ev["folder"], ev["path"])].append(ev)
    deferred = collections.Counter(ev["reason"] for ev in events if ev["type"] == "file_deferred")
    kept = collections.Counter(ev["reason"] for ev in events if ev["type"] == "file_kept")
    failed_jobs = [ev for ev in events if ev["type"] == "job_finished" and ev["state"] == "failed"]
    failed_by = collections.Counter((ev["job"], re.sub(r"\d+", "N", ev.get("error", ""))[:160]) for ev in failed_jobs)
    warnings = collections.Counter(re.sub(r"\d+", "N", ev["message"])[:160] for ev in events
                                   if ev["type"] == "log" and ev["level"] in ("warning", "error"))
    cycles = [ev for ev in events if ev["type"] == "cycle_finished"]

    # The library: every file's hash.
    lib_sha = {}
    for dirpath, dirnames, files in os.walk(lib):
        if os.path.basename(dirpath) == ".mediasync" or "/.mediasync" in dirpath:
            continue
        dirnames[:] = [d for d in dirnames if d != ".mediasync"]
        for n in files:
            p = os.path.join(dirpath, n)
            lib_sha[p] = sha256_file(p)
    generated_shas = {w["sha256"] for w in written}
    foreign = [p for p, h in lib_sha.items() if h not in generated_shas]
    lib_by_sha = collections.defaultdict(list)
    for p, h in lib_sha.items():
        lib_by_sha[h].append(p)

    deletes = {}
    for d in deleted:
        deletes.setdefault((d["source"], d["folder"], d["path"]), []).append(d["time"])
    versions = collections.defaultdict(list)
    for w in written:
        versions[(w["source"], w["folder"], w["path"])].append(w)

    home_via_event, home_via_walk, at_source, deleted_unsynced, lost, synced_bad = [], [], [], [], [], []
    home_ok = {}
    for w in written:
        key = (w["source"], w["folder"], w["path"])
        evs = synced[key]
        good = [e for e in evs if lib_sha.get(e["library_path"]) == w["sha256"]]
        if good:
            home_via_event.append(w)
            home_ok[w["i"]] = True
            continue
        mine = [e for e in evs if e["size"] == w["size"] and e["mtime"] == int(w["mtime"])]
        expected_dir = os.path.join(lib, w["source"], w["folder"])
        walk = [p for p in lib_by_sha.get(w["sha256"], []) if p.startswith(expected_dir + "/")]
        if walk:
            home_via_walk.append(w)  # home, but the client saw no file_synced for it
            home_ok[w["i"]] = True
            continue
        if mine:
            synced_bad.append((w, mine))
            continue
        src_path = os.path.join(by_name[w["source"]].folder_path(w["folder"]), w["path"])
        later = [v for v in versions[key] if v["i"] > w["i"]]
        if not later and os.path.exists(src_path) and sha256_file(src_path) == w["sha256"]:
            at_source.append(w)
            continue
        # Deleted by the person while this version was the one there (after it was written, before the next).
        nxt = min((v["start"] for v in later), default=float("inf"))
        if any(w["end"] <= t <= nxt for t in deletes.get(key, [])):
            deleted_unsynced.append(w)
            continue
        lost.append(w)

    # Every purge: the version there had an identical library copy.
    purged = [ev for ev in events if ev["type"] == "file_purged" and not ev.get("dry_run")]
    bad_purges = []
    for ev in purged:
        source, folder = ev["job"].split("/", 1)
        cands = [w for w in versions[(source, folder, ev["path"])] if w["size"] == ev["size"]]
        if not any(home_ok.get(w["i"]) for w in cands):
            bad_purges.append(ev)
    try:
        hist = subprocess.run([a.mediasync, "purge", "--history", "--json", "--config", config], env=env,
                              capture_output=True, timeout=120)
        history = len(hist.stdout.splitlines())
    except subprocess.SubprocessError:
        history = -1

    # Windows for RSS and fds.
    if duration >= 20 * 60:
        wa, wb, wnote = (300, 600), (duration - 600, duration + 1), "minutes 5-10 vs the last 10 minutes"
    else:
        wa, wb = (duration / 3, 2 * duration / 3), (2 * duration / 3, duration + 1)
        wnote = "short run: second third vs last third of the run"
    A = [s for s in samples if wa[0] <= s[0] < wa[1]]
    B = [s for s in samples if wb[0] <= s[0] < wb[1]]

    def figs(rows, k):
        vals = [r[k] for r in rows]
        if not vals:
            return None
        return min(vals), statistics.median(vals), statistics.mean(vals), max(vals)

    def within(k, rows_a, rows_b):
        fa, fb = figs(rows_a, k), figs(rows_b, k)
        if not fa or not fb:
            return None, fa, fb
        return abs(fb[1] - fa[1]) <= 0.10 * fa[1], fa, fb

    rss_ok, rss_a, rss_b = within(1, A, B)
    # Open fds: rsync, ssh and listing pipes come and go with the jobs, so a sample taken in a cycle says
    # how busy that moment was; the ones taken between cycles (idle) show a leak. Those are compared when
    # each window has at least 3; all samples otherwise.
    A_idle, B_idle = [s for s in A if not s[6]], [s for s in B if not s[6]]
    fd_basis = "samples between cycles" if len(A_idle) >= 3 and len(B_idle) >= 3 else "all samples"
    if fd_basis == "all samples":
        fd_ok, fd_a, fd_b = within(2, A, B)
    else:
        fd_ok, fd_a, fd_b = within(2, A_idle, B_idle)
    _, fd_all_a, fd_all_b = within(2, A, B)
    zombies_seen, zombies_kept = zombies

    # Verdicts.
    if died is not None:
        fails.append(f"serve died during the run (exit {died}); see serve.stderr")
    elif exit_code != 0:
        fails.append(f"serve exited {exit_code} after SIGTERM (want 0)")
    if lost:
        fails.append(f"{len(lost)} written files are neither in the library, nor at the source, nor deleted by the person")
    if synced_bad:
        fails.append(f"{len(synced_bad)} files have a file_synced event but no identical library copy")
    if foreign:
        fails.append(f"{len(foreign)} library files hold bytes the generator never wrote (torn copies)")
    if bad_purges:
        fails.append(f"{len(bad_purges)} purged files have no identical library copy")
    if not purged:
        fails.append("nothing was purged (min_age too long for the run?)")
    if rss_ok is False:
        fails.append("RSS moved more than 10% between the windows")
    if fd_ok is False:
        fails.append("open fds moved more than 10% between the windows")
    if rss_ok is None:
        fails.append("too few samples for the RSS/fd windows")
    if zombies_kept:
        fails.append(f"{len(zombies_kept)} zombie children of serve still unreaped a second after they were seen")
    coalesced = [q for q in missing if client.filled.get(q) == "progress"]
    lost_events = [(q, client.filled.get(q)) for q in missing if client.filled.get(q) != "progress"]
    if lost_events:
        fails.append(f"the client missed {len(lost_events)} seqs that were not coalesced progress events")
    if client.gaps or client.overflows:
        fails.append(f"{len(client.gaps)} gap and {len(client.overflows)} overflow lines")
    if history >= 0 and history != len(purged):
        fails.append(f"purge --history has {history} rows, the client saw {len(purged)} file_purged")
    if leftovers:
        fails.append(f"{len(leftovers)} processes of the run still there 5 s after serve exited")

    per_source = collections.Counter(w["source"] for w in written)
    out = []
    p = out.append
    p(f"soak: mediasync serve for {duration / 60:g} minutes (seed {seed}); 3 sources (local, gpu over ssh with the sshd "
      f"restarted every {a.sshd_every / 60:g} min, forge via the docker shim), a file every {a.period:g} s per source, "
      f"purge min_age {a.min_age}, a folder emptied every {a.clear_every / 60:g} min")
    p(f"  files written:            {len(written)} ({', '.join(f'{k} {v}' for k, v in sorted(per_source.items()))}), "
      f"{sum(w['size'] for w in written) / 1e6:.0f} MB, {sum(w['slow'] for w in written)} written slowly")
    p(f"  in the library, identical: {len(home_via_event) + len(home_via_walk)} "
      f"({len(home_via_walk)} of them found only by walking the library: no file_synced seen)")
    p(f"  still at the source:      {len(at_source)}")
    why = collections.Counter(d["why"] for d in deleted)
    p(f"  deleted by the person before synced: {len(deleted_unsynced)} (deletions in all: {len(deleted)}: "
      f"{', '.join(f'{k} {v}' for k, v in sorted(why.items()))})")
    p(f"  lost: {len(lost)}; synced but no identical copy: {len(synced_bad)}; torn library files: {len(foreign)}")
    renamed = sum(1 for ev in events if ev["type"] == "file_synced" and "renamed_from" in ev)
    p(f"  file_synced events: {kinds['file_synced']} ({renamed} renamed_from: a reused name); library files {len(lib_sha)}")
    p(f"  purged: {len(purged)} file_purged, {len(bad_purges)} without an identical library copy; "
      f"purge --history rows {history}")
    p(f"  file_kept: {dict(kept)}; file_deferred: {dict(deferred)}")
    downs = ", ".join(f"{r['down']:g}" for r in sshd.restarts)
    hits = sum(1 for r in sshd.restarts if r["mid_job"])
    p(f"  cycles: {len(cycles)}; jobs failed: {len(failed_jobs)}; sshd restarts: {len(sshd.restarts)} at "
      f"{', '.join(str(r['t']) + ' s' for r in sshd.restarts)}, down {downs} s, "
      f"{hits} during a gpu job, {sum(r['sessions_killed'] for r in sshd.restarts)} session processes killed, "
      f"{sum(1 for r in sshd.restarts if not r['ok'])} failed to start")
    for (job, err), n in failed_by.most_common(6):
        p(f"    {n} x {err}")
    if warnings:
        p(f"  warning/error log events: {sum(warnings.values())}; most common:")
        for msg, n in warnings.most_common(6):
            p(f"    {n} x {msg}")
    p(f"  client: seq 1..{max_seq}, {len(missing)} missing, {dup} duplicates, {len(client.reconnects)} reconnects "
      f"with --since ({len(client.dropped)} after cutting it off on purpose"
      + "".join(f" at seq {d['seq']}" for d in client.dropped) + f"), {len(client.gaps)} gaps, "
      f"{len(client.overflows)} overflows, {client.connects} attaches")
    if missing:
        p(f"    skipped on the live connection: {len(missing)} seqs in {len(client.holes)} jumps; asked from the replay "
          f"ring at once: {len(coalesced)} were `progress` (coalesced for a client behind, allowed by "
          f"docs/events.md), {len(lost_events)} were something else or not replayed"
          + "".join(f"; {q}: {t}" for q, t in lost_events[:10]))

    def fmt(f, scale, unit, nd):
        return (f"min {f[0] / scale:.{nd}f} / median {f[1] / scale:.{nd}f} / mean {f[2] / scale:.{nd}f} / "
                f"max {f[3] / scale:.{nd}f} {unit}") if f else "no samples"

    p(f"  windows ({wnote}): A = {wa[0] / 60:g}-{wa[1] / 60:g} min ({len(A)} samples), "
      f"B = {wb[0] / 60:g}-{min(wb[1], duration) / 60:g} min ({len(B)} samples); criterion: medians within 10%")
    p(f"    RSS A: {fmt(rss_a, 1024, 'MiB', 1)}")
    p(f"    RSS B: {fmt(rss_b, 1024, 'MiB', 1)}  -> "
      + (f"{100 * (rss_b[1] - rss_a[1]) / rss_a[1]:+.1f}% {'ok' if rss_ok else 'FAIL'}" if rss_ok is not None else "-"))
    p(f"    samples taken during a cycle: A {len(A) - len(A_idle)}, B {len(B) - len(B_idle)}; open fds compared on {fd_basis}:")
    p(f"    fds A: {fmt(fd_a, 1, '', 1)} ({len(A_idle)} between cycles; all {len(A)}: {fmt(fd_all_a, 1, '', 1)})")
    p(f"    fds B: {fmt(fd_b, 1, '', 1)} ({len(B_idle)} between cycles; all {len(B)}: {fmt(fd_all_b, 1, '', 1)})  -> "
      + (f"{100 * (fd_b[1] - fd_a[1]) / fd_a[1]:+.1f}% {'ok' if fd_ok else 'FAIL'}" if fd_ok is not None else "-"))
    if samples:
        p(f"    whole run: RSS {min(s[1] for s in samples) / 1024:.1f}-{max(s[1] for s in samples) / 1024:.1f} MiB, "
          f"fds {min(s[2] for s in samples)}-{max(s[2] for s in samples)}, serve CPU {samples[-1][3]:.1f} s "
          f"({100 * samples[-1][3] / max(samples[-1][0], 1):.1f}% of one core), children up to {max(s[5] for s in samples)}")
    p(f"  zombies: {zombies_seen} seen in {len(samples)} samples and at the end (not yet reaped at that instant), "
      f"{len(zombies_kept)} still there a second later" + "".join(f"; {z}" for z in zombies_kept[:5]))
    p(f"  stop: SIGTERM -> exit {exit_code}" + (f" in {stop_s:.2f} s" if stop_s is not None else "")
      + f"; processes left 5 s later: {len(leftovers)}")
    for pid, cl in leftovers[:5]:
        p(f"    {pid}: {cl[:200]}")
    for f in fails:
        p(f"  FAIL: {f}")
    p("soak: " + ("PASS" if not fails else "FAIL") + f" (details in {work})")
    text = "\n".join(out)
    print(text, flush=True)
    with open(os.path.join(work, "summary.txt"), "w") as f:
        f.write(text + "\n")
    with open(os.path.join(work, "problems.json"), "w") as f:
        json.dump({"lost": lost[:200], "synced_bad": [[w, m] for w, m in synced_bad[:200]], "foreign": foreign[:200],
                   "bad_purges": bad_purges[:200], "missing_seqs": missing[:1000]}, f, indent=1)
    return not fails


if __name__ == "__main__":
    main()
