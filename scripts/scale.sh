#!/usr/bin/env bash
# scripts/scale.sh: how gaplog's time and memory grow with the input (the scale test of the
# performance issue). For each size it generates a corpus with scripts/gen-corpus (reused
# when the same generator already wrote it), warms the page cache, and runs once each
#   gaplog analyze --format json FILES
#   gaplog timeline --export parquet -o OUT.parquet FILES
# under GNU time, printing a markdown table: input MB, events, wall seconds, MB/s, peak RSS
# and peak RSS bytes per event (RSS ÷ events), so linear time and the memory slope can be
# read off. Sizes whose estimated peak (1.5 GB per GB of input for the export, measured) exceeds the free
# memory are skipped with a note rather than swapping the machine to death.
#
# Usage: scripts/scale.sh [--sizes "512M 1G 2G 4G"] [--dir DIR] [--seed N] [--no-build]
# Nothing here asserts timings: the script reports, the reader judges.
set -euo pipefail

SIZES="512M 1G 2G 4G"
DIR=
SEED=1
BUILD=1
while [ $# -gt 0 ]; do
    case "$1" in
        --sizes) SIZES=$2; shift 2 ;;
        --dir) DIR=$2; shift 2 ;;
        --seed) SEED=$2; shift 2 ;;
        --no-build) BUILD=0; shift ;;
        -h|--help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "scale.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
done
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
DIR=${DIR:-$ROOT/target/scale}
GEN=$ROOT/scripts/gen-corpus
GAPLOG=$ROOT/target/release/gaplog
note() { echo "scale.sh: $*" >&2; }
[ -x /usr/bin/time ] || { note "GNU time (/usr/bin/time) is missing (apt-get install time)"; exit 1; }
[ "$BUILD" = 1 ] && cargo build --release >&2
[ -x "$GAPLOG" ] || { note "$GAPLOG not built"; exit 1; }
mkdir -p "$DIR"
GEN_SUM=$(sha256sum "$GEN" | cut -d' ' -f1)
bytes_of() { # 512M, 1G, 1.5G -> bytes
    awk -v s="$1" 'BEGIN { n = s + 0; u = toupper(substr(s, length(s)));
        m = (u == "G") ? 2^30 : (u == "M") ? 2^20 : (u == "K") ? 2^10 : 1; printf "%.0f", n * m }'
}
wall_of() { awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,p,":"); s=0; for (i=1;i<=n;i++) s=s*60+p[i]; print s}' "$1"; }
rss_of() { awk -F': ' '/Maximum resident set size/ {print $2}' "$1"; }

echo "| Command | Input MB | Events | Wall (s) | MB/s | Peak RSS (MiB) | RSS bytes per event |"
echo "|---|---:|---:|---:|---:|---:|---:|"
for size in $SIZES; do
    want=$(bytes_of "$size")
    avail=$(awk '/MemAvailable/ {print $2 * 1024}' /proc/meminfo)
    if [ "$(awk -v w="$want" -v a="$avail" 'BEGIN {print (w * 1.5 > a) ? 1 : 0}')" = 1 ]; then
        note "skipping $size: about $((want * 15 / 10 / 1000000)) MB of peak memory expected, $((avail / 1000000)) MB available"
        echo "| (skipped: $size needs about $((want * 15 / 10 / 1000000)) MB, $((avail / 1000000)) MB available) | | | | | | |"
        continue
    fi
    c=$DIR/corpus-$size-$SEED
    if [ "$(cat "$c/.complete" 2>/dev/null)" != "$GEN_SUM" ]; then
        rm -rf "$c"
        note "generating $size in $c"
        "$GEN" --size "$size" --seed "$SEED" --out "$c" >&2
        echo "$GEN_SUM" >"$c/.complete"
    fi
    mapfile -t FILES < <(find "$c" -type f ! -name '.*' ! -name MANIFEST.json | sort)
    in_bytes=$(du -cb "${FILES[@]}" | tail -n 1 | cut -f 1)
    cat "${FILES[@]}" >/dev/null
    t=$(mktemp)
    /usr/bin/time -v -o "$t" "$GAPLOG" analyze --format json "${FILES[@]}" >"$DIR/report-$size.json"
    events=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["stats"]["events"])' "$DIR/report-$size.json")
    row() { # name time-file
        local w r
        w=$(wall_of "$2"); r=$(rss_of "$2")
        awk -v n="$1" -v b="$in_bytes" -v e="$events" -v w="$w" -v r="$r" 'BEGIN {
            printf "| %s | %.0f | %d | %.2f | %.0f | %.0f | %.0f |\n", n, b/1e6, e, w, b/1e6/w, r/1024, r*1024/e }'
    }
    row "analyze $size" "$t"
    /usr/bin/time -v -o "$t" "$GAPLOG" timeline --export parquet -o "$DIR/timeline-$size.parquet" "${FILES[@]}"
    row "timeline --export parquet $size" "$t"
    rm -f "$t" "$DIR/timeline-$size.parquet"
done
