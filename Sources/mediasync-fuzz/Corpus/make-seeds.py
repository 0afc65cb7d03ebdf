#!/usr/bin/env python3
"""Writes the seed corpora of bin/fuzz's targets from the tests' fixtures and docs' examples.

Run from the repository root: python3 Sources/mediasync-fuzz/Corpus/make-seeds.py
Seeds are small on purpose (libFuzzer's -max_len is set per target in bin/fuzz).
"""
import hashlib, os, re, struct, zlib, glob, random

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.abspath(os.path.join(here, "..", "..", ".."))
fixtures = os.path.join(root, "Tests/MediaSyncCoreTests/Fixtures")

def put(target, data, name=None):
    if isinstance(data, str):
        data = data.encode()
    d = os.path.join(here, target)
    os.makedirs(d, exist_ok=True)
    name = name or hashlib.sha1(data).hexdigest()[:16]
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)

# rsync-output: the recorded stdout and stderr of real rsync runs (Tests/MediaSyncCoreTests/Fixtures).
for path in sorted(glob.glob(os.path.join(fixtures, "*", "std*"))):
    data = open(path, "rb").read()
    case, stream = path.split(os.sep)[-2:]
    # 4 KiB pieces (bin/fuzz's -max_len): the start (headers, first files) and the middle (progress lines).
    put("rsync-output", data[:4096], f"{case}-{stream}")
    if len(data) > 8192:
        middle = data.index(b"\n", len(data) // 2) + 1
        put("rsync-output", data[middle:middle + 4096], f"{case}-{stream}-middle")

# listing: the script's output in both formats (as SyncListingParserTests has them) and purge output.
put("listing", b"1795168900\nfind\n1795168800.9999999990 3000000 sub/a b.png\0-0.5000000000 1 old\0", "find")
put("listing", b"1795168900\n1795168800.9999999990 3000000 sub/a b.png\0-0.5000000000 1 old\0", "find-no-format")
put("listing", b"100\nrsync\n"
    b"drwxr-xr-x          4,096 2026/11/20 10:00:00 .\n"
    b"-rw-r--r--      3,000,000 2026/11/20 10:00:00 sub/a.png\n"
    b"-rw-r--r--      3.000.000 2000/02/29 23:59:59 b.png\n"
    b"-rwxr-xr-x        3000000 1969/12/31 00:00:00 c\\#012d.png\n"
    b"lrwxrwxrwx              7 2026/11/20 10:00:00 link\n\n", "rsync")
put("listing", b"100\nrsync\n-rw-r--r--  1 2026/11/20 10:00:00 back\\#134#012 \\#377\\x \\#9z.png\r\n", "rsync-escapes")
put("listing", b"deleted 2026-11-24/00054.png\0kept young 00055.png\0kept changed a b.png\0rmdir 2026-11-24\0done\0", "purge")
put("listing", b"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08 a.png\0error b.png\0done\0", "purge-checksums")

# config: contrib's example and the tests' configs.
put("config", open(os.path.join(root, "contrib/example-config.yaml"), "rb").read(), "example-config")
for path in sorted(glob.glob(os.path.join(root, "Tests/MediaSyncCoreTests/Config*.swift"))):
    text = open(path, encoding="utf-8").read()
    for i, block in enumerate(re.findall(r'"""\n(.*?)\n\s*"""', text, re.S)):
        lines = block.split("\n")
        indent = min((len(l) - len(l.lstrip()) for l in lines if l.strip()), default=0)
        yaml = "\n".join(l[indent:] for l in lines) + "\n"
        if "\\(" in yaml:  # Swift interpolation: not a literal config
            continue
        put("config", yaml.replace("\\\\", "\\"))

# control: the requests of docs/protocol.md, some on one connection.
requests = [b'{"cmd":"attach"}', b'{"cmd":"attach","since":4200}', b'{"cmd":"status"}', b'{"cmd":"trigger"}',
            b'{"cmd":"trigger","sources":["forge"],"wait":true}', b'{"cmd":"pause"}', b'{"cmd":"resume"}',
            b'{"cmd":"reload"}', b'{"cmd":"attach","since":-1}', b'{"cmd":7}', b'{"cmd":"nope"}', b'[1,2]']
for r in requests:
    put("control", r + b"\n")
put("control", b"\r\n".join(requests) + b"\n", "pipelined")

# ingest-reply: the child's lines of docs/ingest-protocol.md and IngestWireTests.
for line in [b'{"type":"ready","protocol":1,"capabilities":["metadata","verify"]}', b'{"ack":1042}',
             b'{"ack":[7,8,9]}', b'{"id":17,"committed":true}', b'{"committed":false,"id":3,"extra":{"x":1}}',
             b'{"type":"error","message":"this ingest speaks protocol 2 or later"}', b'{"type":"stats","rows":5}',
             b'Traceback (most recent call last):', b'{"ack":"x"}', b'{"id":1.5,"committed":true}']:
    put("ingest-reply", line + b"\n")

# media: PNGs as Forge and ComfyUI write them (tEXt parameters, zTXt, iTXt prompt/workflow), a cut one, a JPEG head.
def chunk(kind, body):
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xffffffff)

def png(texts, width=8, height=8, cut=None):
    out = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
    out += b"".join(texts)
    raw = b"".join(b"\0" + b"\x10\x20\x30" * width for _ in range(height))
    out += chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")
    return out[:cut] if cut else out

params = b"a lighthouse at dusk\nSteps: 20, Sampler: Euler a, CFG scale: 7, Seed: 3912387, Size: 832x1216"
put("media", png([chunk(b"tEXt", b"parameters\0" + params)]), "forge-tEXt.png")
put("media", png([chunk(b"zTXt", b"parameters\0\0" + zlib.compress(params))]), "zTXt.png")
put("media", png([chunk(b"iTXt", b"prompt\0\0\0\0\0" + b'{"3":{"inputs":{"seed":77}}}'),
                  chunk(b"iTXt", b"workflow\0\1\0en\0Workflow\0" + zlib.compress(b'{"last_node_id":9}'))]), "comfy-iTXt.png")
put("media", png([chunk(b"tEXt", b"Software\0caf\xe9")], cut=60), "cut.png")
put("media", b"\xff\xd8\xff\xe0\0\x10JFIF\0\1\1\0\0\1\0\1\0\0", "head.jpg")
put("media", b"\0\0\0\x18ftypmp42\0\0\0\0mp42isom", "head.mp4")
# ... and the small recorded fixtures of every format the reader knows (Fixtures/media, record.sh there):
# JPEG and WebP with EXIF, MP4/MOV with ilst, keys and udta strings, WebM/Matroska with tags, PNG with eXIf.
for name in ["forge-utf16be.jpg", "ifd0-progressive.jpg", "forge-utf16le.webp", "comfy-animated.webp", "plain-lossy.webp",
             "webpmux-exif-header.webp", "exif-chunk.png", "vhs-string-faststart.mp4", "comfy-native.mp4", "vhs.mov",
             "vhs.webm", "vhs-live.webm", "vhs.mkv"]:
    put("media", open(os.path.join(fixtures, "media", "good", name), "rb").read(), name)

# event-json: any bytes build events (FuzzInput); a few random starts of different lengths.
rng = random.Random(10)
for n in [0, 16, 64, 200, 600, 1500]:
    put("event-json", bytes(rng.randrange(256) for _ in range(n)), f"random-{n}")
