#!/usr/bin/env bash
# Records the media fixtures that MediaFixtureTests read: JPEG, WebP, PNG, MP4, MOV, WebM and Matroska files
# written by the tools and libraries the generators use, each convention of docs/ingest-protocol.md once,
# and broken copies of them. Run it from anywhere; it rewrites this folder's files (not pngsuite/).
#
#   values.json       what each tool was given, by name (the texts, as exact strings)
#   big-workflow.json.zz  a 2.6 MB ComfyUI workflow (zlib-compressed; the tests inflate it)
#   manifest.json     one entry a file: what it must read as (width, height, duration, which value each
#                     text must equal, keyword -> value name), what exiftool / ffprobe read from it, and
#                     whether a decoder refuses it (and its words)
#   good/ broken/     the files; *.zz are zlib-compressed copies of the big ones
#   pngsuite/         PngSuite's basn0g01, basn0g04, basn0g08 and basn2c08 (PngSuite-2017jul19, as pypng
#                     0.20220715.0 ships them in code/pngsuite.py). The suite's corrupted files (x*.png) are
#                     not shipped by any package this machine reaches, so this script makes each from the base
#                     file it was made from, with the one fault its name and the suite's README give.
#
# Needs (Debian 12): imagemagick (convert), webp (cwebp, webpmux), libimage-exiftool-perl (exiftool), ffmpeg
# (ffmpeg, ffprobe), python3-pil and python3-piexif (the libraries A1111/Forge and ComfyUI save with),
# pngcheck and libjpeg-turbo-progs (djpeg) as the decoders that judge the broken files. Takes a minute.
#
# Every value a tool wrote is read back with exiftool (images) or ffprobe (video) here, and the recording stops
# when one differs from what was given: the fixtures hold what the manifest says.
set -euo pipefail
export LC_ALL=C.UTF-8

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PY=/usr/bin/python3          # Debian's, where python3-pil and python3-piexif live
CONVERT=/usr/bin/convert     # ImageMagick's (a stand-in may come first on PATH)
W="$(mktemp -d /tmp/mediasync-media-fixtures.XXXXXX)"
trap 'rm -rf "$W"' EXIT
cd "$HERE"
rm -rf good broken manifest.json values.json big-workflow.json.zz
mkdir -p good broken

exec "$PY" - "$HERE" "$W" "$CONVERT" <<'PYTHON'
import hashlib, io, json, os, random, shutil, struct, subprocess, sys, zlib
from PIL import Image
import piexif, piexif.helper

HERE, W, CONVERT = sys.argv[1], sys.argv[2], sys.argv[3]
manifest = []

def run(*args, input=None, check=True):
    p = subprocess.run(args, input=input, capture_output=True)
    if check and p.returncode != 0:
        sys.exit(f"{args[0]} failed ({p.returncode}): {p.stderr.decode(errors='replace')}")
    return p

# ---------------------------------------------------------------------------------------------------
# What the generators write.
def forge(prompt, negative, seed, size):
    return (f"{prompt}\nNegative prompt: {negative}\nSteps: 20, Sampler: DPM++ 2M, Schedule type: Karras, "
            f"CFG scale: 7, Seed: {seed}, Size: {size}, Model hash: 31e35c80fc, Model: sd_xl_base_1.0, "
            f"Version: f2.0.1v1.10.1-previous-313-g0b5ec4a3")

def comfy_prompt(text, seed):
    return {"3": {"inputs": {"seed": seed, "steps": 20, "cfg": 7.0, "sampler_name": "euler", "scheduler": "normal",
                             "denoise": 1.0, "model": ["4", 0], "positive": ["6", 0], "negative": ["7", 0],
                             "latent_image": ["5", 0]}, "class_type": "KSampler"},
            "4": {"inputs": {"ckpt_name": "sd_xl_base_1.0.safetensors"}, "class_type": "CheckpointLoaderSimple"},
            "6": {"inputs": {"text": text, "clip": ["4", 1]}, "class_type": "CLIPTextEncode"},
            "7": {"inputs": {"text": "ぼやけた, low quality", "clip": ["4", 1]}, "class_type": "CLIPTextEncode"}}

def comfy_workflow(nodes, seed):
    rng = random.Random(seed)
    return {"last_node_id": nodes, "last_link_id": nodes, "nodes": [
        {"id": i, "type": rng.choice(["KSampler", "CLIPTextEncode", "VAEDecode", "SaveImage", "LoraLoader"]),
         "pos": [rng.randint(0, 4000), rng.randint(0, 4000)], "size": [315, 262], "flags": {}, "order": i,
         "mode": 0, "inputs": [{"name": "model", "type": "MODEL", "link": rng.randint(1, nodes)}],
         "outputs": [{"name": "LATENT", "type": "LATENT", "links": [rng.randint(1, nodes)], "slot_index": 0}],
         "properties": {"Node name for S&R": f"node {i}"},
         "widgets_values": [rng.randint(0, 2**48), "randomize", 20, 7, "euler", "normal", 1,
                            "".join(rng.choice("abcdefghijklmnopqrstuvwxyz 灯台猫") for _ in range(40))]}
        for i in range(1, nodes + 1)], "links": [], "groups": [], "config": {}, "extra": {"ds": {"scale": 1}},
        "version": 0.4}

values = {
    "forge_ja": forge("猫と帽子、夕暮れの灯台, masterpiece, 最高品質", "ぼやけた, 低品質", 3912345, "64x48"),
    "forge_ascii": forge("a lighthouse at dusk, (masterpiece:1.2)", "blurry, lowres", 1234, "64x48"),
    "forge_emoji": forge("a cat in a hat 🐱, café", "blurry", 77, "64x48"),
    "comfy_prompt": json.dumps(comfy_prompt("夕暮れの灯台 a lighthouse at dusk", 77)),
    "comfy_workflow": json.dumps(comfy_workflow(9, 77)),
    "comfy_prompt_utf8": json.dumps(comfy_prompt("夕暮れの灯台", 78), ensure_ascii=False),
    "comfy_workflow_utf8": json.dumps(comfy_workflow(5, 78), ensure_ascii=False),
    "software": "Forge f2.0.1 ✓",
    "jpeg_comment": "made by ImageMagick, コメント",
    "png_title": "a title",
}
big = json.dumps(comfy_workflow(5000, 1))
assert len(big) > 2_000_000, len(big)
open(os.path.join(HERE, "values.json"), "w").write(json.dumps(values, ensure_ascii=False, indent=1) + "\n")
open(os.path.join(HERE, "big-workflow.json.zz"), "wb").write(zlib.compress(big.encode(), 9))
values["big_workflow"] = big

def path(name):
    return os.path.join(HERE, name)

def tmp(name):
    return os.path.join(W, name)

def write_value(name, text):
    p = tmp(name)
    open(p, "w", encoding="utf-8").write(text)
    return p

# ---------------------------------------------------------------------------------------------------
# Cross-checks: what exiftool and ffprobe read.
def exiftool(file):
    out = run("exiftool", "-j", "-b", "-a", "-G1", "-charset", "exif=utf8", "-UserComment", "-Make", "-Model",
              "-ImageDescription", "-Software", "-Comment", "-ImageWidth", "-ImageHeight", "-ExifByteOrder", file)
    return json.loads(out.stdout)[0]

def ffprobe(file):
    out = run("ffprobe", "-v", "error", "-print_format", "json", "-show_format", "-show_streams", file)
    return json.loads(out.stdout)

def exif_value(info, tag):
    found = [v for k, v in info.items() if k.split(":")[-1] == tag]
    return str(found[0]) if found else None

def decoder_verdict(file, fmt):
    """(refuses, words) of the decoder a viewer would use."""
    if fmt == "png":
        p = run("pngcheck", "-q", file, check=False)
        return p.returncode != 0, (p.stdout + p.stderr).decode(errors="replace").replace(HERE + "/", "").strip()
    if fmt == "jpeg":
        p = run("djpeg", "-outfile", "/dev/null", file, check=False)
        return p.returncode != 0, p.stderr.decode(errors="replace").strip()
    if fmt == "webp":
        p = run(sys.executable, "-c", "import sys\nfrom PIL import Image\nim = Image.open(sys.argv[1])\n"
                "for i in range(getattr(im, 'n_frames', 1)):\n    im.seek(i); im.load()", file, check=False)
        return p.returncode != 0, p.stderr.decode(errors="replace").strip().split("\n")[-1]
    p = run("ffmpeg", "-nostdin", "-v", "error", "-xerror", "-i", file, "-f", "null", "-", check=False)
    words = p.stderr.decode(errors="replace").replace(HERE + "/", "").strip()
    return p.returncode != 0 or words != "", words

def record(name, fmt, expect, width=None, height=None, duration=None, tool=None, compress=False):
    """Adds a good file: checks the decoder takes it, notes what the tools read."""
    file = path(name)
    refuses, words = decoder_verdict(file, fmt)
    if refuses:
        sys.exit(f"{name}: the decoder refuses a file meant to be good: {words}")
    if fmt in ("jpeg", "webp", "png"):
        info = json.loads(run("exiftool", "-j", "-ImageWidth", "-ImageHeight", file).stdout)[0]
        if (info.get("ImageWidth"), info.get("ImageHeight")) != (width, height):
            sys.exit(f"{name}: exiftool reads {info.get('ImageWidth')}x{info.get('ImageHeight')}, not {width}x{height}")
    entry = {"file": name + (".zz" if compress else ""), "format": fmt, "texts": expect, "width": width,
             "height": height, "decoder_refuses": False}
    if duration is not None:
        entry["duration"] = duration
    if tool:
        entry["tool"] = tool
    if compress:
        data = open(file, "rb").read()
        open(file + ".zz", "wb").write(zlib.compress(data, 9))
        os.remove(file)
        entry["bytes"] = len(data)
        entry["sha256"] = hashlib.sha256(data).hexdigest()
    manifest.append(entry)

def check_exif(name, **expected):
    info = exiftool(path(name))
    for tag, value_name in expected.items():
        got = exif_value(info, tag)
        want = values[value_name] if value_name in values else value_name
        if got != want:
            sys.exit(f"{name}: exiftool reads {tag} as {got!r:.200}, not {want!r:.200}")
    return {"ExifByteOrder": exif_value(info, "ExifByteOrder"), "width": info.get("File:ImageWidth"),
            "height": info.get("File:ImageHeight")}

def check_video(name, comment=None, tags=None):
    probe = ffprobe(path(name))
    ftags = {k.lower(): v for k, v in probe["format"].get("tags", {}).items()}
    if comment is not None and ftags.get("comment") != comment:
        sys.exit(f"{name}: ffprobe reads comment as {ftags.get('comment')!r:.200}")
    for key, value in (tags or {}).items():
        if ftags.get(key) != value:
            sys.exit(f"{name}: ffprobe reads {key} as {ftags.get(key)!r:.200}")
    video = next(s for s in probe["streams"] if s["codec_type"] == "video")
    duration = probe["format"].get("duration")
    return video["width"], video["height"], float(duration) if duration else None

# ---------------------------------------------------------------------------------------------------
# JPEG
run(CONVERT, "-size", "64x48", "gradient:#c02020-#2020c0", "-quality", "85", tmp("base.jpg"))
for order in ("MM", "II"):
    name = f"good/forge-utf16{'be' if order == 'MM' else 'le'}.jpg"
    shutil.copy(tmp("base.jpg"), path(name))
    run("exiftool", "-q", "-overwrite_original", f"-ExifByteOrder={order}", "-charset", "exif=utf8",
        f"-UserComment<={write_value('forge_ja.txt', values['forge_ja'])}", f"-Software={values['software']}", path(name))
    seen = check_exif(name, UserComment="forge_ja", Software="software")
    assert seen["ExifByteOrder"].startswith("Big" if order == "MM" else "Little"), seen
    record(name, "jpeg", {"parameters": "forge_ja", "Software": "software"}, 64, 48, tool=f"exiftool, {order}")

# ASCII\0\0\0 UserComment, and a COM segment written by ImageMagick.
run(CONVERT, "-size", "64x48", "gradient:#20c020-#2020c0", "-set", "comment", values["jpeg_comment"], "-quality", "85",
    path("good/forge-ascii.jpg"))
run("exiftool", "-q", "-overwrite_original", f"-UserComment={values['forge_ascii']}", path("good/forge-ascii.jpg"))
check_exif("good/forge-ascii.jpg", UserComment="forge_ascii", Comment="jpeg_comment")
record("good/forge-ascii.jpg", "jpeg", {"parameters": "forge_ascii", "Comment": "jpeg_comment"}, 64, 48,
       tool="ImageMagick -set comment, exiftool (ASCII code)")

# A1111 / Forge's own path: Pillow saves, piexif inserts UserComment as UNICODE + UTF-16BE in an MM block.
def a1111_exif(text):
    return piexif.dump({"Exif": {piexif.ExifIFD.UserComment: piexif.helper.UserComment.dump(text, encoding="unicode")}})
Image.open(tmp("base.jpg")).save(path("good/a1111-piexif.jpg"), quality=80)
piexif.insert(a1111_exif(values["forge_emoji"]), path("good/a1111-piexif.jpg"))
check_exif("good/a1111-piexif.jpg", UserComment="forge_emoji")
record("good/a1111-piexif.jpg", "jpeg", {"parameters": "forge_emoji"}, 64, 48, tool="Pillow + piexif (A1111)")

# Progressive JPEG (many scans, so the entropy scan finds markers between them), UserComment in IFD0 with
# no character code (Pillow writes a str tag as it is).
run(CONVERT, "-size", "80x60", "plasma:fractal", "-seed", "5", "-interlace", "Plane", "-quality", "80",
    tmp("progressive.jpg"))
exif = Image.Exif()
exif[0x9286] = values["forge_ascii"]
Image.open(tmp("progressive.jpg")).save(path("good/ifd0-progressive.jpg"), exif=exif, progressive=True, quality=80)
check_exif("good/ifd0-progressive.jpg", UserComment="forge_ascii")
record("good/ifd0-progressive.jpg", "jpeg", {"parameters": "forge_ascii"}, 80, 60, tool="Pillow, IFD0 UserComment")

# ---------------------------------------------------------------------------------------------------
# WebP
run(CONVERT, "-size", "64x48", "gradient:#c0c020-#2020c0", tmp("base.png"))
run("cwebp", "-quiet", "-q", "80", tmp("base.png"), "-o", path("good/plain-lossy.webp"))
record("good/plain-lossy.webp", "webp", {}, 64, 48, tool="cwebp (VP8)")

Image.open(tmp("base.png")).save(path("good/a1111-pillow.webp"), "WEBP", quality=80, exif=a1111_exif(values["forge_ja"]))
check_exif("good/a1111-pillow.webp", UserComment="forge_ja")
record("good/a1111-pillow.webp", "webp", {"parameters": "forge_ja"}, 64, 48, tool="Pillow + piexif (A1111)")

run("cwebp", "-quiet", "-lossless", tmp("base.png"), "-o", tmp("lossless.webp"))
open(tmp("a1111.exif"), "wb").write(a1111_exif(values["forge_ascii"]))  # with its Exif\0\0 header
run("webpmux", "-set", "exif", tmp("a1111.exif"), tmp("lossless.webp"), "-o", path("good/webpmux-exif-header.webp"))
check_exif("good/webpmux-exif-header.webp", UserComment="forge_ascii")
record("good/webpmux-exif-header.webp", "webp", {"parameters": "forge_ascii"}, 64, 48,
       tool="cwebp -lossless (VP8L), webpmux -set exif with an Exif\\0\\0 header")

shutil.copy(tmp("lossless.webp"), path("good/forge-utf16le.webp"))
run("exiftool", "-q", "-overwrite_original", "-ExifByteOrder=II", "-charset", "exif=utf8",
    f"-UserComment<={write_value('forge_ja.txt', values['forge_ja'])}", path("good/forge-utf16le.webp"))
assert check_exif("good/forge-utf16le.webp", UserComment="forge_ja")["ExifByteOrder"].startswith("Little")
record("good/forge-utf16le.webp", "webp", {"parameters": "forge_ja"}, 64, 48, tool="exiftool, II")

# ComfyUI SaveAnimatedWEBP, as its code does it: Model = "prompt:" + JSON, Make = "workflow:" + JSON.
def comfy_webp(name, prompt, workflow, frames=3):
    images = [Image.new("RGB", (48, 32), (40 * i, 90, 200 - 40 * i)) for i in range(frames)]
    metadata = images[0].getexif()
    metadata[0x0110] = "prompt:{}".format(prompt)
    metadata[0x010F] = "workflow:{}".format(workflow)
    images[0].save(path(name), save_all=True, duration=100, append_images=images[1:], exif=metadata,
                   lossless=False, quality=80, method=4)
comfy_webp("good/comfy-animated.webp", values["comfy_prompt"], values["comfy_workflow"])
check_exif("good/comfy-animated.webp", Model="prompt:" + values["comfy_prompt"], Make="workflow:" + values["comfy_workflow"])
record("good/comfy-animated.webp", "webp", {"prompt": "comfy_prompt", "workflow": "comfy_workflow"}, 48, 32,
       tool="Pillow (ComfyUI SaveAnimatedWEBP)")
comfy_webp("good/comfy-big-workflow.webp", values["comfy_prompt"], values["big_workflow"])
check_exif("good/comfy-big-workflow.webp", Make="workflow:" + values["big_workflow"])
record("good/comfy-big-workflow.webp", "webp", {"prompt": "comfy_prompt", "workflow": "big_workflow"}, 48, 32,
       tool="Pillow (ComfyUI SaveAnimatedWEBP), 2.6 MB workflow", compress=True)

# Other save nodes: "Workflow: " in ImageDescription, "Prompt: " in Make, UTF-8 JSON, written by exiftool.
shutil.copy(path("good/plain-lossy.webp"), path("good/description-prefix.webp"))
run("exiftool", "-q", "-overwrite_original", "-charset", "exif=utf8",
    f"-ImageDescription<={write_value('wf.txt', 'Workflow: ' + values['comfy_workflow_utf8'])}",
    f"-Make<={write_value('pr.txt', 'Prompt: ' + values['comfy_prompt_utf8'])}", path("good/description-prefix.webp"))
check_exif("good/description-prefix.webp", ImageDescription="Workflow: " + values["comfy_workflow_utf8"],
           Make="Prompt: " + values["comfy_prompt_utf8"])
record("good/description-prefix.webp", "webp", {"prompt": "comfy_prompt_utf8", "workflow": "comfy_workflow_utf8"},
       64, 48, tool="exiftool, ImageDescription/Make prefixes")

# ---------------------------------------------------------------------------------------------------
# PNG with an eXIf chunk (exiftool writes EXIF into PNG as eXIf) beside a tEXt chunk.
run(CONVERT, tmp("base.png"), "-set", "Title", values["png_title"], path("good/exif-chunk.png"))
run("exiftool", "-q", "-overwrite_original", "-charset", "exif=utf8", "-ExifByteOrder=II",
    f"-UserComment<={write_value('forge_ja.txt', values['forge_ja'])}", path("good/exif-chunk.png"))
check_exif("good/exif-chunk.png", UserComment="forge_ja")
if b"eXIf" not in open(path("good/exif-chunk.png"), "rb").read():
    sys.exit("exiftool did not write an eXIf chunk")
record("good/exif-chunk.png", "png", {"parameters": "forge_ja", "Title": "png_title"}, 64, 48, tool="exiftool eXIf")

# ---------------------------------------------------------------------------------------------------
# Video: VideoHelperSuite's Video Combine writes an ffmetadata file with comment = JSON, as here.
def ffmeta(entries):
    def esc(v):
        for ch, rpl in [("\\", "\\\\"), (";", "\\;"), ("#", "\\#"), ("=", "\\="), ("\n", "\\\n")]:
            v = v.replace(ch, rpl)
        return v
    p = tmp("meta.txt")
    open(p, "w", encoding="utf-8").write(";FFMETADATA1\n" + "".join(f"{k}={esc(v)}\n" for k, v in entries))
    return p

def ffmpeg_video(name, size, seconds, codec_args, entries=(), extra=(), to_pipe=False):
    args = ["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i", f"testsrc=size={size}:rate=10",
            "-i", ffmeta(entries), "-map", "0:v", "-map_metadata", "1", "-t", str(seconds), *codec_args, *extra]
    if to_pipe:
        out = run(*args, "-f", "webm", "pipe:1").stdout
        open(path(name), "wb").write(out)
    else:
        run(*args, path(name))

x264 = ["-c:v", "libx264", "-pix_fmt", "yuv420p", "-preset", "veryfast", "-crf", "30"]
vp9 = ["-c:v", "libvpx-vp9", "-b:v", "0", "-crf", "50", "-deadline", "realtime", "-cpu-used", "8"]
vhs_object = json.dumps({"prompt": json.loads(values["comfy_prompt"]), "workflow": json.loads(values["comfy_workflow"])})
values_for_objects = {"comfy_prompt_object": json.dumps(json.loads(values["comfy_prompt"])),
                      "comfy_workflow_object": json.dumps(json.loads(values["comfy_workflow"]))}
# json.dumps of the parsed object gives the same text back: the member as the JSON text the reader lifts out.
assert values_for_objects["comfy_prompt_object"] == values["comfy_prompt"]

def video(name, fmt, size, seconds, codec, entries, expect, tool, extra=(), comment=None, tags=None, **kw):
    ffmpeg_video(name, size, seconds, codec, entries, extra, **kw)
    w, h, duration = check_video(name, comment=comment, tags=tags)
    record(name, fmt, expect, w, h, duration=duration, tool=tool, compress=name.startswith("good/big"))

video("good/vhs-object.mp4", "mp4", "64x48", 1.5, x264, [("comment", vhs_object)],
      {"prompt": "comfy_prompt", "workflow": "comfy_workflow"}, "ffmpeg, VHS comment with objects, moov last",
      comment=vhs_object)
vhs_string = json.dumps({"prompt": values["comfy_prompt_utf8"], "workflow": json.loads(values["comfy_workflow_utf8"])},
                        ensure_ascii=False)
video("good/vhs-string-faststart.mp4", "mp4", "80x64", 1.2, x264, [("comment", vhs_string)],
      {"prompt": "comfy_prompt_utf8", "workflow": "comfy_workflow_utf8"},
      "ffmpeg +faststart, VHS comment with a prompt string (UTF-8)", extra=["-movflags", "+faststart"],
      comment=vhs_string)
video("good/comfy-native.mp4", "mp4", "64x48", 1.0, x264,
      [("prompt", values["comfy_prompt"]), ("workflow", values["comfy_workflow"])],
      {"prompt": "comfy_prompt", "workflow": "comfy_workflow"},
      "ffmpeg -movflags use_metadata_tags (ComfyUI SaveVideo: keys + ilst)", extra=["-movflags", "use_metadata_tags"],
      tags={"prompt": values["comfy_prompt"], "workflow": values["comfy_workflow"]})
video("good/vhs.mov", "mov", "64x48", 1.0, x264, [("comment", vhs_object)],
      {"prompt": "comfy_prompt", "workflow": "comfy_workflow"}, "ffmpeg MOV (QuickTime udta strings)",
      comment=vhs_object)
video("good/vhs.webm", "webm", "64x48", 1.5, vp9, [("comment", vhs_string)],
      {"prompt": "comfy_prompt_utf8", "workflow": "comfy_workflow_utf8"}, "ffmpeg WebM (VP9), COMMENT tag",
      comment=vhs_string)
video("good/vhs-live.webm", "webm", "64x48", 1.0, vp9, [("comment", vhs_object)],
      {"prompt": "comfy_prompt", "workflow": "comfy_workflow"},
      "ffmpeg WebM to a pipe (unknown-size Segment, no Duration)", comment=vhs_object, to_pipe=True)
video("good/vhs.mkv", "matroska", "96x64", 2.0, x264, [("comment", values["forge_ja"]), ("title", "灯台")],
      {"comment": "forge_ja", "title": "title_ja"}, "ffmpeg Matroska (H.264), plain comment and title",
      comment=values["forge_ja"])
values["title_ja"] = "灯台"
big_comment = json.dumps({"prompt": json.loads(values["comfy_prompt"]), "workflow": json.loads(values["big_workflow"])})
video("good/big-workflow.mp4", "mp4", "64x48", 1.0, x264, [("comment", big_comment)],
      {"prompt": "comfy_prompt", "workflow": "big_workflow"}, "ffmpeg, VHS comment with a 2.6 MB workflow",
      comment=big_comment)
video("good/big-workflow.webm", "webm", "64x48", 1.0, vp9, [("comment", big_comment)],
      {"prompt": "comfy_prompt", "workflow": "big_workflow"}, "ffmpeg WebM, VHS comment with a 2.6 MB workflow",
      comment=big_comment)
open(os.path.join(HERE, "values.json"), "w").write(
    json.dumps({k: v for k, v in values.items() if k != "big_workflow"}, ensure_ascii=False, indent=1) + "\n")

# ---------------------------------------------------------------------------------------------------
# Broken copies: each one a decoder refuses (or a text a reader cannot read), made from a good file.
def load(name):
    return bytearray(open(path(name), "rb").read())

def broken(name, fmt, data, what, keep_texts=()):
    open(path("broken/" + name), "wb").write(bytes(data))
    refuses, words = decoder_verdict(path("broken/" + name), fmt)
    manifest.append({"file": "broken/" + name, "format": fmt, "broken": what, "decoder_refuses": refuses,
                     "decoder_says": words[:300], "texts": {k: v for k, v in keep_texts}})

def find(data, needle, start=0):
    at = bytes(data).find(needle, start)
    assert at >= 0, needle
    return at

jpeg = load("good/forge-utf16be.jpg")
sos = find(jpeg, b"\xff\xda")
broken("jpeg-cut-half.jpg", "jpeg", jpeg[:(sos + len(jpeg)) // 2], "cut halfway through the picture data",
       [("parameters", "forge_ja")])
broken("jpeg-no-eoi.jpg", "jpeg", jpeg[:-2], "last 2 bytes (the end-of-image marker) cut", [("parameters", "forge_ja")])
broken("jpeg-cut-in-exif.jpg", "jpeg", jpeg[:200], "cut inside the APP1 EXIF segment")
d = bytearray(jpeg); d[0:2] = b"\0\0"
broken("jpeg-no-soi.jpg", "jpeg", d, "start-of-image marker overwritten")
d = bytearray(jpeg); sof = find(d, b"\xff\xc0"); d[sof + 7:sof + 9] = b"\0\0"
broken("jpeg-sof-zero-width.jpg", "jpeg", d, "frame header width set to 0", [("parameters", "forge_ja")])
d = bytearray(jpeg); dqt = find(d, b"\xff\xdb"); d[dqt + 2:dqt + 4] = b"\0\1"
broken("jpeg-bad-length.jpg", "jpeg", d, "DQT segment length set to 1", [("parameters", "forge_ja")])
d = bytearray(jpeg); sos = find(d, b"\xff\xda"); del d[sof:sos]
broken("jpeg-no-sof.jpg", "jpeg", d, "frame header and tables removed", [("parameters", "forge_ja")])
d = bytearray(jpeg); uc = find(d, b"UNICODE\0"); d[find(d, b"\x92\x86") + 8:find(d, b"\x92\x86") + 12] = b"\x7f\0\0\0"
broken("jpeg-exif-offset.jpg", "jpeg", d, "UserComment's offset points past the EXIF block (the picture is fine)")

webp = load("good/a1111-pillow.webp")
exif_at = find(webp, b"EXIF")
exif_end = exif_at + 8 + struct.unpack("<I", webp[exif_at + 4:exif_at + 8])[0]
broken("webp-cut-half.webp", "webp", webp[:len(webp) // 2], "cut in half",
       [("parameters", "forge_ja")] if exif_end <= len(webp) // 2 else [])
d = bytearray(webp); struct.pack_into("<I", d, 4, len(webp) + 1000)
broken("webp-riff-size.webp", "webp", d, "RIFF size 1000 bytes past the end of the file")
d = bytearray(webp); at = find(d, b"\x9d\x01\x2a"); d[at] = 0
broken("webp-vp8-start-code.webp", "webp", d, "VP8 start code damaged")
d = load("good/webpmux-exif-header.webp"); at = find(d, b"VP8L"); d[at + 8] = 0x2e
broken("webp-vp8l-signature.webp", "webp", d, "VP8L signature byte damaged")
anim = load("good/comfy-animated.webp")
broken("webp-animated-cut.webp", "webp", anim[:len(anim) - 40], "last 40 bytes cut")

png = load("good/exif-chunk.png")
broken("png-cut.png", "png", png[:len(png) - 30], "last 30 bytes cut")

mp4 = load("good/vhs-object.mp4")
broken("mp4-cut-moov-last.mp4", "mp4", mp4[:1000], "cut inside the media data, before its index (moov comes last)")
fast = load("good/vhs-string-faststart.mp4")
broken("mp4-cut-mdat.mp4", "mp4", fast[:len(fast) - 500], "last 500 bytes of the media data cut",
       [("prompt", "comfy_prompt_utf8"), ("workflow", "comfy_workflow_utf8")])
d = bytearray(fast); at = find(d, b"moov") - 4; struct.pack_into(">I", d, at, 4)
broken("mp4-moov-size.mp4", "mp4", d, "moov declares 4 bytes, less than its header")

webm = load("good/vhs.webm")
broken("webm-cut.webm", "webm", webm[:len(webm) - 300], "last 300 bytes cut",
       [("prompt", "comfy_prompt_utf8"), ("workflow", "comfy_workflow_utf8")] if find(webm, b"\x12\x54\xc3\x67") < len(webm) - 300 else [])
d = bytearray(webm); at = find(d, b"webm"); d[at:at + 4] = b"wxbm"
broken("webm-doctype.webm", "webm", d, "DocType changed to wxbm")
d = bytearray(webm); at = find(d, b"\x1f\x43\xb6\x75"); d[at + 4] = 0x00
broken("webm-cluster-size.webm", "webm", d, "first Cluster's size byte zeroed (not a valid size)")
mkv = load("good/vhs.mkv")
broken("mkv-cut-half.mkv", "matroska", mkv[:len(mkv) // 2], "cut in half")

# PngSuite's corrupted files, each made from its base as the suite's README describes it.
def chunk(t, body):
    return struct.pack(">I", len(body)) + t + body + struct.pack(">I", zlib.crc32(t + body) & 0xffffffff)

def chunks(data):
    pos, out = 8, []
    while pos < len(data):
        n, t = struct.unpack(">I4s", data[pos:pos + 8])
        out.append((t, data[pos + 8:pos + 8 + n]))
        pos += 12 + n
    return out

def rebuild(parts):
    return b"\x89PNG\r\n\x1a\n" + b"".join(chunk(t, b) for t, b in parts)

def suite(name):
    return open(os.path.join(HERE, "pngsuite", name + ".png"), "rb").read()

def ihdr(base, colour=None, depth=None):
    parts = chunks(suite(base))
    t, b = parts[0]
    b = bytearray(b)
    if colour is not None: b[9] = colour
    if depth is not None: b[8] = depth
    return rebuild([(t, bytes(b))] + parts[1:])

g01, g04, g08 = suite("basn0g01"), suite("basn0g04"), suite("basn0g08")
xs = {
    "xs1n0g01": b"\x09" + g01[1:],                            # signature byte 1 MSBit reset to zero
    "xs2n0g01": g01[:1] + b"Q" + g01[2:],                     # signature byte 2 is a 'Q'
    "xs4n0g01": g01[:3] + b"g" + g01[4:],                     # signature byte 4 lowercase
    "xs7n0g01": g01[:6] + b" " + g01[7:],                     # 7th byte a space instead of control-Z
    "xcrn0g04": g04.replace(b"\n", b"\r\n"),                  # added cr bytes
    "xlfn0g04": g04.replace(b"\r", b"\r\n"),                  # added lf bytes
    "xhdn0g08": g08[:29] + bytes([g08[29] ^ 0xff]) + g08[30:],  # incorrect IHDR checksum
    "xc1n0g08": ihdr("basn0g08", colour=1),                   # color type 1
    "xc9n2c08": ihdr("basn2c08", colour=9),                   # color type 9
    "xd0n2c08": ihdr("basn2c08", depth=0),                    # bit-depth 0
    "xd3n2c08": ihdr("basn2c08", depth=3),                    # bit-depth 3
    "xd9n2c08": ihdr("basn2c08", depth=99),                   # bit-depth 99
    "xdtn0g01": rebuild([c for c in chunks(g01) if c[0] != b"IDAT"]),  # missing IDAT chunk
    "xcsn0g01": None,                                         # incorrect IDAT checksum
}
at = g01.find(b"IDAT") - 4
n = struct.unpack(">I", g01[at:at + 4])[0]
crc_at = at + 8 + n
xs["xcsn0g01"] = g01[:crc_at] + bytes([g01[crc_at] ^ 0x01]) + g01[crc_at + 1:]
for name, data in xs.items():
    broken(name + ".png", "png", data, "PngSuite " + name)

for entry in manifest:
    if entry.get("broken") and not entry["decoder_refuses"]:
        print(f"note: the decoder takes {entry['file']} ({entry['broken']}); mediasync still says what is wrong")
open(os.path.join(HERE, "values.json"), "w").write(
    json.dumps({k: v for k, v in values.items() if k != "big_workflow"}, ensure_ascii=False, indent=1) + "\n")
open(os.path.join(HERE, "manifest.json"), "w").write(json.dumps(manifest, ensure_ascii=False, indent=1) + "\n")
total = sum(os.path.getsize(os.path.join(dp, f)) for dp, _, fs in os.walk(HERE) for f in fs)
print(f"recorded {len(manifest)} files, {total / 1e6:.1f} MB in {HERE}")
PYTHON
