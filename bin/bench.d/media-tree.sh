#!/usr/bin/env bash
# Makes the folders `mediasync-bench metadata` is run on (docs/benchmarks.md, "Metadata of each format"):
#   DIR/png    200 PNGs of 832x1216 as Forge and ComfyUI write them (noisy pixels, ~1.5 MB each: the chunk walk
#              and CRC run over every byte), tEXt `parameters` or tEXt `prompt` + zTXt `workflow`
#   DIR/mixed  100 of those PNGs, 100 JPEGs and 100 WebPs of 832x1216 with A1111's EXIF UserComment,
#              10 MP4s (H.264, moov last) and 10 WebMs (VP9) of 832x1216, 4 s, with VideoHelperSuite's comment
# Usage: bin/bench.d/media-tree.sh DIR   (needs python3, imagemagick, webp, libimage-exiftool-perl, ffmpeg;
# a few minutes on 2 cores; does nothing when DIR/done exists)
set -euo pipefail
DIR="${1:?usage: media-tree.sh DIR}"
[[ -e "$DIR/done" ]] && exit 0
rm -rf "$DIR"
mkdir -p "$DIR/png" "$DIR/mixed" "$DIR/work"

python3 - "$DIR" <<'PYTHON'
import json, os, random, struct, sys, zlib
dir = sys.argv[1]
rng = random.Random(15)
def chunk(t, body):
    return struct.pack(">I", len(body)) + t + body + struct.pack(">I", zlib.crc32(t + body) & 0xffffffff)
w, h = 832, 1216
noise = bytes(rng.randrange(256) for _ in range(w * 3 * 64))
for i in range(200):
    # Every other row repeats the one before: about half the raw size after deflate, like a real picture.
    rows = b"".join(b"\0" + noise[((y // 2) * 97 + i) % 60 * w * 3:][:w * 3].ljust(w * 3, b"\x40") for y in range(h))
    texts = chunk(b"tEXt", b"parameters\0" + f"a lighthouse {i}\nSteps: 20, Seed: {i}, Size: 832x1216".encode())
    if i % 2:
        prompt = json.dumps({"3": {"inputs": {"seed": i, "text": "a lighthouse " * 20}, "class_type": "KSampler"}})
        workflow = json.dumps({"nodes": [{"id": n, "widgets_values": [n, "euler", "x" * 40]} for n in range(200)]})
        texts = chunk(b"tEXt", b"prompt\0" + prompt.encode()) + chunk(b"zTXt", b"workflow\0\0" + zlib.compress(workflow.encode()))
    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)) + texts
           + chunk(b"IDAT", zlib.compress(rows, 1)) + chunk(b"IEND", b""))
    open(os.path.join(dir, "png", f"{i:05d}-{i * 31337}.png"), "wb").write(png)
PYTHON

cp "$DIR"/png/000[0-9]*.png "$DIR/mixed/"
infotext="a lighthouse at dusk, 夕暮れの灯台
Negative prompt: blurry
Steps: 20, Sampler: DPM++ 2M, CFG scale: 7, Seed: 1234, Size: 832x1216, Model: sd_xl_base_1.0"
for i in $(seq 0 99); do
    src="$(printf '%s/png/%05d-%d.png' "$DIR" "$i" $((i * 31337)))"
    /usr/bin/convert "$src" -quality 90 "$DIR/mixed/$(printf '%05d' "$i").jpg"
    cwebp -quiet -q 85 "$src" -o "$DIR/mixed/$(printf '%05d' "$i").webp"
done
exiftool -q -overwrite_original -ExifByteOrder=MM -charset exif=utf8 "-UserComment=$infotext" \
    "$DIR"/mixed/*.jpg "$DIR"/mixed/*.webp
comment='{"prompt": {"3": {"inputs": {"seed": 77}, "class_type": "KSampler"}}, "workflow": {"nodes": []}}'
for i in $(seq 0 9); do
    ffmpeg -nostdin -v error -y -f lavfi -i "testsrc=size=832x1216:rate=16" -t 4 -c:v libx264 -preset veryfast \
        -pix_fmt yuv420p -metadata "comment=$comment" "$DIR/mixed/$(printf 'vhs_%05d' "$i").mp4"
    ffmpeg -nostdin -v error -y -f lavfi -i "testsrc=size=832x1216:rate=16" -t 4 -c:v libvpx-vp9 -b:v 1M \
        -deadline realtime -cpu-used 8 -metadata "comment=$comment" "$DIR/mixed/$(printf 'vhs_%05d' "$i").webm"
done
rm -rf "$DIR/work"
touch "$DIR/done"
du -sh "$DIR/png" "$DIR/mixed"
