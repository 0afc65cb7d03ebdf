#!/usr/bin/env bash
# One hand-started `rsync -a SRC/f/ DST/f/` per folder, all at once; waits for all and fails if any did.
# Usage: parallel-rsync.sh SRC DST [rsync options...] -- FOLDER...
set -uo pipefail
src=$1 dst=$2
shift 2
opts=()
while [[ $# -gt 0 && $1 != -- ]]; do opts+=("$1"); shift; done
shift
pids=()
for folder in "$@"; do
    rsync -a "${opts[@]}" "$src/$folder/" "$dst/$folder/" &
    pids+=($!)
done
failed=0
for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
exit $failed
