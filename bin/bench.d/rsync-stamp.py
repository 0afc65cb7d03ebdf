#!/usr/bin/env python3
"""An `rsync` on PATH for bin/bench supervisor: runs the real rsync ($MSBENCH_REAL_RSYNC) with the same
arguments, passes its stdout through unchanged, and appends "<wall ms> <bytes>" to $MSBENCH_RSYNC_LOG for
every --info=progress2 record at the moment it left rsync. stdin and stderr are rsync's own."""
import os, re, signal, subprocess, sys, time

child = subprocess.Popen([os.environ["MSBENCH_REAL_RSYNC"]] + sys.argv[1:], stdout=subprocess.PIPE)
for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
    signal.signal(signum, lambda n, _: child.send_signal(n))
record = re.compile(rb"\s*([\d,.]+)\s+\d+%")
log = open(os.environ["MSBENCH_RSYNC_LOG"], "a")
fd, pending = child.stdout.fileno(), b""
while True:
    try:
        chunk = os.read(fd, 65536)
    except InterruptedError:
        continue
    if not chunk:
        break
    now = time.time() * 1000
    view = memoryview(chunk)
    while view:
        view = view[os.write(1, view):]
    parts = re.split(rb"[\r\n]", pending + chunk)
    pending = parts.pop()
    for part in parts:
        m = record.match(part)
        if m:
            log.write(f"{now:.3f} {int(re.sub(rb'[,.]', b'', m.group(1)))}\n")
log.close()
code = child.wait()
if code < 0:
    signal.signal(-code, signal.SIG_DFL)
    os.kill(os.getpid(), -code)
sys.exit(code)
