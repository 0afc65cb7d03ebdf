#!/usr/bin/env python3
"""How engine-four-folders.tsv was recorded: the rsync children of a real `mediasync sync`, as the engine spawns
and reads them (its argv, its pipes, its loop).

1. As `rsync` first on PATH, this passes everything through to /usr/bin/rsync and logs each chunk of its stdout
   with the monotonic time, into $RSYNC_TEE_DIR/log-PID.tsv:
       mkdir -p /tmp/tee && cp rsync-tee.py /tmp/tee/rsync
       RSYNC_TEE_DIR=/tmp/tee PATH=/tmp/tee:$PATH mediasync sync --config four-folders.yaml --json
   (four-folders.yaml: one local source, folders 10 20 30 60 of 2.5 MB files, `bwlimit: 7812.5K`, `concurrency: 4`)
2. `rsync-tee.py --convert DIR FOLDER... > engine-four-folders.tsv` turns the logs into record.py's format: rsync
   N is the N-th FOLDER; each chunk split into lines at its time; `#plan` (the folder's files) and `#spawn` 5 ms
   before its first chunk, `#exit 0` 1 ms after its last."""
import ast, os, re, subprocess, sys, time
if len(sys.argv) > 1 and sys.argv[1] == "--convert":
    logdir, folders = sys.argv[2], sys.argv[3:]
    rows, first, last, argv = [], {}, {}, {}
    for name in sorted(os.listdir(logdir)):
        if not name.startswith("log-"): continue
        lines = open(os.path.join(logdir, name)).read().splitlines()
        source = lines[0].split()[-2]
        i = [n for n, f in enumerate(folders) if source.rstrip("/").endswith("/" + f)][0]
        argv[i] = source
        for line in lines[1:]:
            t, chunk = line.split("\t", 1)
            t = float(t); first.setdefault(i, t); last[i] = t
            for part in re.split(rb"[\r\n]", ast.literal_eval(chunk)):
                if part.strip(): rows.append((t, i, part.decode()))
    t0 = min(first.values()) - 0.005
    for i, source in argv.items():
        names = os.listdir(source)
        size = sum(os.path.getsize(os.path.join(source, n)) for n in names)
        rows += [(first[i] - 0.005, i, "#plan %d %d" % (len(names), size)), (first[i] - 0.005, i, "#spawn"),
                 (last[i] + 0.001, i, "#exit 0")]
    for t, i, text in sorted(rows, key=lambda r: r[0]):
        print("%.4f\t%d\t%s" % (t - t0, i, text))
    sys.exit(0)
log = open(os.path.join(os.environ.get("RSYNC_TEE_DIR", "/tmp"), "log-%d.tsv" % os.getpid()), "w")
log.write("#argv\t%s\n" % " ".join(sys.argv[1:]))
child = subprocess.Popen(["/usr/bin/rsync"] + sys.argv[1:], stdout=subprocess.PIPE)
while True:
    chunk = os.read(child.stdout.fileno(), 65536)
    if not chunk: break
    log.write("%.4f\t%r\n" % (time.monotonic(), chunk)); log.flush()
    os.write(1, chunk)
sys.exit(child.wait())
