# Sourced by bin/bench: the `ingest` section. What the ingest door costs a sync: `mediasync sync` with the
# SQLite reference ingest (contrib/ingest/sqlite: every file_synced stored in the outbox in the manifest's
# transaction, its metadata read (SHA-256 of the whole file), sent, committed by python3 into SQLite, acked,
# deleted) against the same sync without an ingest and against `rsync -a`. The run with the ingest ends
# only when the ingest has acknowledged every event (sync waits for it), so its time is "files home and in
# the database". Trees, rounds and knobs as in sync.sh (MEDIASYNC_BENCH_TREES, MEDIASYNC_BENCH_ROUNDS).

ingest_config() { # dst state src with-ingest
    local dst=$1 state=$2 src=$3 with=$4
    write_config "$dst" "$state" "$src" local
    if [[ $with == yes ]]; then
        {
            echo "ingest:"
            echo "  command: [/usr/bin/python3, $HERE/contrib/ingest/sqlite/mediasync_ingest_sqlite.py, $dst.sqlite]"
            echo "  verify_before_purge: false"
        } >>"$dst.yaml"
    fi
}

ingest_check() { # dst state files
    python3 - "$1.sqlite" "$2/manifest.sqlite" "$3" <<'PY'
import sqlite3, sys
rows = sqlite3.connect(sys.argv[1]).execute("select count(*), count(distinct library_path), count(sha256) from media_files").fetchone()
left = sqlite3.connect(sys.argv[2]).execute("select count(*) from ingest_outbox").fetchone()[0]
want = int(sys.argv[3])
if rows != (want, want, want) or left != 0:
    sys.exit(f"bin/bench: the ingest database has {rows} (rows, distinct paths, hashed), want {want}; {left} events left in the outbox")
PY
}

bench_ingest() {
    HERE="$(pwd)"
    sync_prepare
    local spec name files lo hi label round i who
    local order=(rsync-a mediasync ingest)
    declare -gA IBEST ISELF
    for spec in "${TREES[@]}"; do
        read -r name files lo hi label <<<"$spec"
        local src="$BENCH_DIR/trees/$name"
        for ((round = 0; round < ROUNDS; round++)); do
            for ((i = 0; i < 3; i++)); do
                who=${order[(i + round) % 3]}
                local dst="$WORK/$who" state="$WORK/$who-state"
                [[ -e "$dst" ]] && mv "$dst" "$BENCH_DIR/trash/$RANDOM$RANDOM"
                rm -rf "$state" "$dst.yaml" "$dst.sqlite"*
                mkdir -p "$dst"
                case $who in
                    rsync-a) CMD=(rsync -a "$src/" "$dst/") ;;
                    mediasync) ingest_config "$dst" "$state" "$src" no; CMD=("$MEDIASYNC" sync --config "$dst.yaml") ;;
                    ingest) ingest_config "$dst" "$state" "$src" yes; CMD=("$MEDIASYNC" sync --config "$dst.yaml") ;;
                esac
                sync
                measure "$WORK/$who.log" "${CMD[@]}"
                [[ $who == ingest ]] && ingest_check "$dst" "$state" "$files"
                printf '  %s round %d %-9s %6.2fs  mediasync cpu %.2fs, all cpu %.2fs\n' "$label" "$((round + 1))" "$who" \
                    "$RUN_WALL" "$RUN_SELF" "$RUN_TOTAL" >&2
                local k="$label $who"
                if [[ -z "${IBEST[$k]:-}" ]] || awk -v a="$RUN_WALL" -v b="${IBEST[$k]}" 'BEGIN { exit !(a < b) }'; then
                    IBEST[$k]=$RUN_WALL
                    ISELF[$k]="$RUN_SELF $RUN_TOTAL"
                fi
            done
        done
        mv "$WORK" "$BENCH_DIR/trash/$RANDOM$RANDOM"
        mkdir -p "$WORK"
    done
    echo
    echo "ingest: best of $ROUNDS rounds, wall seconds until every file is home (and, with the ingest, acknowledged by it)."
    echo "| tree | rsync -a | mediasync | mediasync + SQLite ingest | ingest / mediasync | ingest / rsync -a | events/s through the door | mediasync CPU (with ingest) |"
    echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    for spec in "${TREES[@]}"; do
        read -r name files lo hi label <<<"$spec"
        local r=${IBEST[$label rsync-a]} m=${IBEST[$label mediasync]} g=${IBEST[$label ingest]} self total
        read -r self total <<<"${ISELF[$label ingest]}"
        printf '| %s | %.2f | %.2f | %.2f | %s | %s | %s | %.2fs of %.2fs |\n' "$label" "$r" "$m" "$g" "$(ratio "$g" "$m")" \
            "$(ratio "$g" "$r")" "$(awk -v n="$files" -v t="$g" 'BEGIN { printf "%.0f", n / t }')" "$self" "$total"
    done
}
