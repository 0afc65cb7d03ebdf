# Sourced by bin/bench: the `scale` section.
#
# scale: one folder of N files (default 200,000, ComfyUI's single `output/` after months on a box), local:
# mediasync's first sync, its no-change cycle and its purge, each beside what a user would run instead:
# `rsync -a` (first copy and no-change run) and `find -mmin +1440 -delete`. Wall time of each, and peak RSS:
# mediasync's own process, and the whole process tree (rsync runs as two or three processes), measured by
# bin/bench.d/peakrss.c from /proc. Goals (issue 10): the no-change cycle within 1.5x rsync's, mediasync's
# peak RSS under 100 MiB.
#
# Knobs: MEDIASYNC_BENCH_SCALE_FILES (default 200000), MEDIASYNC_BENCH_DIR, MEDIASYNC_BENCH_BINARY, CC.

SCALE_FILES="${MEDIASYNC_BENCH_SCALE_FILES:-200000}"

scale_run() { # label cmd... -> prints one result line; fields in SCALE_WALL SCALE_SELF SCALE_TREE
    local label=$1; shift
    local out
    out=$("$BENCH_DIR/tools/peakrss" -- "$@" 3>&1 >/dev/null 2>"$SCALE_WORK/$label.err") || {
        echo "bin/bench scale: $label failed: $(tail -3 "$SCALE_WORK/$label.err")" >&2; exit 1; }
    SCALE_WALL=$(sed -n 's/.*wall=\([0-9.]*\).*/\1/p' <<<"$out")
    SCALE_SELF=$(sed -n 's/.*self_kib=\([0-9]*\).*/\1/p' <<<"$out")
    SCALE_TREE=$(sed -n 's/.*tree_kib=\([0-9]*\).*/\1/p' <<<"$out")
}

bench_scale() {
    bench_binary
    bench_tools peakrss
    SCALE_WORK="$BENCH_DIR/scale"
    rm -rf "$SCALE_WORK"
    mkdir -p "$SCALE_WORK/src/output" "$SCALE_WORK/lib" "$SCALE_WORK/rsync-copy"
    echo "scale: $SCALE_FILES files in one folder, $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
    python3 - "$SCALE_WORK/src/output" "$SCALE_FILES" <<'PY'
import os, sys, time
folder, count = sys.argv[1], int(sys.argv[2])
old = time.time() - 2 * 86400
for i in range(count):
    path = f"{folder}/ComfyUI_{i:06d}_.png"
    with open(path, "wb") as f:
        f.write(os.urandom(256 + i % 1792))
    os.utime(path, (old, old))
PY
    cat >"$SCALE_WORK/config.yaml" <<YAML
library: $SCALE_WORK/lib
state_dir: $SCALE_WORK/state
socket: $SCALE_WORK/state/mediasync.sock
settle: 0s
stall_timeout: 5m
purge: {enabled: true, min_age: 24h}
sources:
  - {name: comfy, transport: local, root: $SCALE_WORK/src, folders: [output]}
YAML
    sync; echo 3 >/proc/sys/vm/drop_caches 2>/dev/null || true
    local m1 m1s m1t r1 r1t m2 m2s m2t r2 r2t mp mps mpt fd synced
    scale_run rsync-first rsync -a "$SCALE_WORK/src/output/" "$SCALE_WORK/rsync-copy/"
    r1=$SCALE_WALL; r1t=$SCALE_TREE
    scale_run ms-first "$MEDIASYNC" sync --config "$SCALE_WORK/config.yaml" --no-purge --json
    m1=$SCALE_WALL; m1s=$SCALE_SELF; m1t=$SCALE_TREE

    synced=$(find "$SCALE_WORK/lib/comfy/output" -type f | wc -l)
    [[ $synced == "$SCALE_FILES" ]] || { echo "bin/bench scale: the library holds $synced of $SCALE_FILES files" >&2; exit 1; }
    scale_run rsync-again rsync -a "$SCALE_WORK/src/output/" "$SCALE_WORK/rsync-copy/"
    r2=$SCALE_WALL; r2t=$SCALE_TREE
    scale_run ms-again "$MEDIASYNC" sync --config "$SCALE_WORK/config.yaml" --no-purge --json
    m2=$SCALE_WALL; m2s=$SCALE_SELF; m2t=$SCALE_TREE
    cp -a "$SCALE_WORK/src" "$SCALE_WORK/find-tree"
    scale_run ms-purge "$MEDIASYNC" purge --config "$SCALE_WORK/config.yaml" --json
    mp=$SCALE_WALL; mps=$SCALE_SELF; mpt=$SCALE_TREE
    local left; left=$(find "$SCALE_WORK/src/output" -type f | wc -l)
    [[ $left == 0 ]] || { echo "bin/bench scale: the purge left $left files" >&2; exit 1; }
    scale_run find-delete find "$SCALE_WORK/find-tree" -type f -mmin +1440 -delete
    fd=$SCALE_WALL
    mib() { echo "scale=1; $1 / 1024" | bc; }
    printf 'scale, %d files in one folder (wall s; peak RSS MiB: mediasync own / whole tree)\n' "$SCALE_FILES"
    printf '  first sync:  mediasync %.2fs (%s / %s MiB); rsync -a %.2fs (tree %s MiB); ratio %.2fx\n' \
        "$m1" "$(mib "$m1s")" "$(mib "$m1t")" "$r1" "$(mib "$r1t")" "$(echo "$m1 / $r1" | bc -l)"
    printf '  no change:   mediasync %.2fs (%s / %s MiB); rsync -a %.2fs (tree %s MiB); ratio %.2fx (goal <= 1.5x)\n' \
        "$m2" "$(mib "$m2s")" "$(mib "$m2t")" "$r2" "$(mib "$r2t")" "$(echo "$m2 / $r2" | bc -l)"
    printf '  purge:       mediasync %.2fs (%s / %s MiB); find -delete %.2fs; ratio %.2fx\n' \
        "$mp" "$(mib "$mps")" "$(mib "$mpt")" "$fd" "$(echo "$mp / $fd" | bc -l)"
    rm -rf "$SCALE_WORK"
}
