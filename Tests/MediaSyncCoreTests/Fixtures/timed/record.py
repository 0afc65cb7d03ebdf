#!/usr/bin/env python3
"""Records real rsync runs for the progress tests (TimedTraceTests): rsyncs run side by side with mediasync's
transfer options (TransportCommands.rsyncArgv) and a --bwlimit, at most CONCURRENCY at once (the next one starts
when one exits), and their stdout lines are written with the monotonic time they arrived:
    SECONDS <TAB> RSYNC <TAB> LINE
where RSYNC numbers the source folders from 0 and LINE is rsync's line, or one of the recorder's own:
    #plan FILES BYTES   the folder's exact totals (written when the rsync is spawned, as a listing would give them)
    #spawn              the rsync was started          #exit CODE   it ended
    #kill               it was sent SIGTERM (--kill)   #respawn     the same rsync started again, same names
usage: record.py OUT BWLIMIT CONCURRENCY [--kill RSYNC:SECONDS] SRC...
e.g.   record.py four-folders.tsv 7812.5K 4 /tmp/t/10 /tmp/t/20 /tmp/t/30 /tmp/t/60   (7812.5 KiB/s = 8 MB/s)
The copies go to a scratch folder under /tmp that is emptied first."""
import os, sys, time, signal, subprocess, selectors, shutil, tempfile
args = sys.argv[1:]
out, bw, conc = args[0], args[1], int(args[2])
kill = None
rest = args[3:]
if rest and rest[0] == "--kill":
    i, t = rest[1].split(":"); kill = (int(i), float(t)); rest = rest[2:]
srcs = rest
scratch = tempfile.mkdtemp(prefix="timed-trace-")
t0 = time.monotonic()
sel = selectors.DefaultSelector()
rec = open(out, "w")
def log(job, line): rec.write("%.4f\t%s\t%s\n" % (time.monotonic() - t0, job, line))
queue = list(range(len(srcs))); running = {}
def spawn(i, again=False):
    src, dst = srcs[i], os.path.join(scratch, str(i))
    names = sorted(os.listdir(src))
    if not again:
        os.makedirs(dst)
        log(i, "#plan %d %d" % (len(names), sum(os.path.getsize(os.path.join(src, n)) for n in names)))
    argv = ["rsync", "--files-from=-", "--from0", "--times", "--info=progress2",
            "--out-format=mediasync|%i|%l|%n", "--partial-dir=.mediasync-partial", "--timeout=60",
            "--bwlimit=" + bw, "--", src + "/", dst + "/"]
    log(i, "#respawn" if again else "#spawn")
    p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    p.stdin.write(b"".join(n.encode() + b"\0" for n in names)); p.stdin.close()
    os.set_blocking(p.stdout.fileno(), False)
    sel.register(p.stdout, selectors.EVENT_READ, (i, p, [b""]))
    running[i] = p
while queue and len(running) < conc: spawn(queue.pop(0))
killed = False
while running:
    timeout = None
    if kill and not killed:
        timeout = max(0, kill[1] - (time.monotonic() - t0))
        if timeout == 0 and kill[0] in running:
            log(kill[0], "#kill"); running[kill[0]].send_signal(signal.SIGTERM); killed = True; continue
    for key, _ in sel.select(timeout):
        i, p, buf = key.data
        chunk = os.read(key.fd, 65536)
        if chunk:
            buf[0] += chunk
            while True:
                cuts = [x for x in (buf[0].find(b"\r"), buf[0].find(b"\n")) if x >= 0]
                if not cuts: break
                line, buf[0] = buf[0][:min(cuts)], buf[0][min(cuts) + 1:]
                if line.strip(): log(i, line.decode(errors="replace"))
        else:
            sel.unregister(key.fileobj); p.wait(); log(i, "#exit %d" % p.returncode); del running[i]
            if kill and killed and i == kill[0] and p.returncode != 0 and kill[1] >= 0:
                kill = (kill[0], -1.0); spawn(i, again=True)
            elif queue: spawn(queue.pop(0))
rec.close()
shutil.rmtree(scratch)
