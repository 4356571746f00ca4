#!/usr/bin/env bash
# scripts/bench.sh: gaplog side by side with the tools people know, on the same files.
#
# Usage: scripts/bench.sh [--size 1G] [--seed 1] [--runs 3] [--corpus DIR]
#                         [--out docs/benchmarks.md] [--no-install] [--no-build]
#
# 1. Installs what is missing: ripgrep, lnav, jq, hyperfine and GNU time (apt-get), and
#    drain3 (pip) for the template-mining row (skipped with --no-install).
# 2. Builds the release binary (`cargo build --release`; skipped with --no-build).
# 3. Generates a corpus of --size bytes with `scripts/gen-corpus --size S --seed N --out DIR`
#    (~40% journal JSON, 25% short-iso, 15% dmesg with OOM blocks, 10% atticd, 10% GitLab
#    traces) into --corpus (default target/bench-corpus-SIZE-SEED; reused when complete).
#    GEN_CORPUS=PATH uses another generator with the same interface.
# 4. Warms the page cache (every file read twice), then runs, alternating, --runs times
#    each (default 3), every row below under GNU `/usr/bin/time -v`, output to /dev/null:
#      rg -j1 -c KW      a ~10-keyword alternation on one thread (single-thread scan yardstick)
#      rg -c KW          the same, default threads
#      lnav headless     lnav -n -c ':rebuild' ... -c ';SELECT log_format, count(*) FROM all_logs GROUP BY 1'
#                        (rebuilds calibrated first until lnav indexes every line of every file)
#      jq -c .MESSAGE    on the journal JSON part
#      gaplog -j1 / -j2 / default threads: gaplog analyze --format json
#      gaplog json -j1   gaplog analyze --format json -j1 on the journal JSON part only
#      template mining vs drain3 with masking: only when gaplog has a template miner
#      (`gaplog templates`); otherwise the row is skipped with a note.
# 5. Prints a table of median wall time, MB/s and peak RSS (median of the runs) and the
#    ratios the performance issue asks for, and writes both, with the machine's
#    description, between the `bench:begin`/`bench:end` markers of --out (default
#    docs/benchmarks.md).
#
# Nothing here asserts timings: the script reports, the reader judges.
set -euo pipefail

SIZE=1G
SEED=1
RUNS=3
CORPUS=
OUT=docs/benchmarks.md
INSTALL=1
BUILD=1
while [ $# -gt 0 ]; do
    case "$1" in
        --size) SIZE=$2; shift 2 ;;
        --seed) SEED=$2; shift 2 ;;
        --runs) RUNS=$2; shift 2 ;;
        --corpus) CORPUS=$2; shift 2 ;;
        --out) OUT=$2; shift 2 ;;
        --no-install) INSTALL=0; shift ;;
        --no-build) BUILD=0; shift ;;
        -h|--help) sed -n '2,29p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "bench.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
done

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
GEN=${GEN_CORPUS:-$ROOT/scripts/gen-corpus}
CORPUS=${CORPUS:-$ROOT/target/bench-corpus-$SIZE-$SEED}
GAPLOG=$ROOT/target/release/gaplog
KW='error|fail|oom|killed|timeout|refused|denied|panic|segfault|unreachable'
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

note() { echo "bench.sh: $*" >&2; }

if [ "$INSTALL" = 1 ]; then
    missing=()
    command -v rg >/dev/null || missing+=(ripgrep)
    command -v lnav >/dev/null || missing+=(lnav)
    command -v jq >/dev/null || missing+=(jq)
    command -v hyperfine >/dev/null || missing+=(hyperfine)
    [ -x /usr/bin/time ] || missing+=(time)
    if [ ${#missing[@]} -gt 0 ]; then
        note "installing ${missing[*]}"
        SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo
        $SUDO apt-get install -y "${missing[@]}" >&2
    fi
    python3 -c 'import drain3' 2>/dev/null || pip install drain3 >&2 || note "pip install drain3 failed"
fi
for t in rg lnav jq; do command -v $t >/dev/null || { note "$t is missing"; exit 1; }; done
[ -x /usr/bin/time ] || { note "GNU time (/usr/bin/time) is missing"; exit 1; }

if [ "$BUILD" = 1 ]; then
    cargo build --release >&2
fi
[ -x "$GAPLOG" ] || { note "$GAPLOG not built"; exit 1; }

[ -x "$GEN" ] || { note "no corpus generator at $GEN (set GEN_CORPUS)"; exit 1; }
# A corpus is reused only when it was completed by this very generator (its checksum is
# kept in .complete): a changed generator means other bytes.
GEN_SUM=$(sha256sum "$GEN" | cut -d' ' -f1)
if [ "$(cat "$CORPUS/.complete" 2>/dev/null)" != "$GEN_SUM" ]; then
    rm -rf "$CORPUS"
    note "generating a $SIZE corpus (seed $SEED) in $CORPUS"
    "$GEN" --size "$SIZE" --seed "$SEED" --out "$CORPUS"
    echo "$GEN_SUM" >"$CORPUS/.complete"
fi
mapfile -t FILES < <(find "$CORPUS" -type f ! -name '.*' ! -name MANIFEST.json | sort)
[ ${#FILES[@]} -gt 0 ] || { note "empty corpus $CORPUS"; exit 1; }
# The journal JSON part: files whose first line is a journal JSON object.
JSON=()
for f in "${FILES[@]}"; do
    head -c 4096 "$f" | head -n 1 | grep -q '^{.*"__REALTIME_TIMESTAMP"' && JSON+=("$f")
done
bytes() { du -cb "$@" | tail -n 1 | cut -f 1; }
ALL_BYTES=$(bytes "${FILES[@]}")
JSON_BYTES=$( [ ${#JSON[@]} -gt 0 ] && bytes "${JSON[@]}" || echo 0)
note "corpus: ${#FILES[@]} files, $ALL_BYTES bytes ($JSON_BYTES of journal JSON)"

note "warming the page cache"
cat "${FILES[@]}" >/dev/null
cat "${FILES[@]}" >/dev/null

# Rows: name|input bytes|command (run by bash, stdout to /dev/null).
ROWS=()
q() { printf '%q ' "$@"; }
ROWS+=("rg -j1 -c KW|$ALL_BYTES|rg -j1 -c -e '$KW' $(q "${FILES[@]}")")
ROWS+=("rg -c KW (default threads)|$ALL_BYTES|rg -c -e '$KW' $(q "${FILES[@]}")")
# lnav opens many files gradually: headless, it runs the query after its first scan, which
# (lnav 0.11, 1711 files) had indexed only 108 of them. Each `:rebuild` command indexes
# another batch, so the row is calibrated: enough rebuilds that lnav_file lists every file
# with every line, checked before timing (an unchecked lnav row measured 0.69 s for
# 6 % of the corpus).
ALL_LINES=$(cat "${FILES[@]}" | wc -l)
LNAV_REBUILDS=$(( ${#FILES[@]} / 200 + 2 ))
while :; do
    LNAV_ARGS=""
    for _ in $(seq "$LNAV_REBUILDS"); do LNAV_ARGS+="-c ':rebuild' "; done
    got=$(bash -c "lnav -n $LNAV_ARGS -c ';SELECT count(*), sum(lines) FROM lnav_file' $(q "${FILES[@]}")" 2>/dev/null | tail -n 1 | awk '{print $1, $2}')
    [ "$got" = "${#FILES[@]} $ALL_LINES" ] && break
    if [ "$LNAV_REBUILDS" -ge 256 ]; then
        note "lnav indexed only '$got' (files lines) of ${#FILES[@]} $ALL_LINES even with $LNAV_REBUILDS rebuilds"
        exit 1
    fi
    note "lnav with $LNAV_REBUILDS rebuilds indexed '$got' of '${#FILES[@]} $ALL_LINES' (files lines); doubling"
    LNAV_REBUILDS=$(( LNAV_REBUILDS * 2 ))
done
note "lnav indexes all ${#FILES[@]} files ($ALL_LINES lines) with $LNAV_REBUILDS :rebuild commands"
ROWS+=("lnav headless|$ALL_BYTES|lnav -n $LNAV_ARGS -c ';SELECT log_format, count(*) FROM all_logs GROUP BY 1' $(q "${FILES[@]}")")
if [ ${#JSON[@]} -gt 0 ]; then
    ROWS+=("jq -c .MESSAGE (journal JSON)|$JSON_BYTES|jq -c .MESSAGE $(q "${JSON[@]}")")
    ROWS+=("gaplog -j1 (journal JSON)|$JSON_BYTES|$(q "$GAPLOG") analyze --format json -j1 $(q "${JSON[@]}")")
fi
ROWS+=("gaplog -j1|$ALL_BYTES|$(q "$GAPLOG") analyze --format json -j1 $(q "${FILES[@]}")")
ROWS+=("gaplog -j2|$ALL_BYTES|$(q "$GAPLOG") analyze --format json -j2 $(q "${FILES[@]}")")
ROWS+=("gaplog (default threads)|$ALL_BYTES|$(q "$GAPLOG") analyze --format json $(q "${FILES[@]}")")

MINER_NOTE=
if "$GAPLOG" --help 2>/dev/null | grep -qE '^\s+templates\b'; then
    LINES_TXT=$WORK/messages.txt
    # String messages only: jq prints a byte-array MESSAGE (ANSI-coloured output) as one
    # number per line, which is no log text to mine.
    jq -r '.MESSAGE | strings' "${JSON[@]}" >"$LINES_TXT"
    # Not drain3.py: a script of that name would shadow the package it imports.
    cat >"$WORK/run_drain3.py" <<'PY'
import sys
from drain3 import TemplateMiner
from drain3.template_miner_config import TemplateMinerConfig
from drain3.masking import MaskingInstruction
cfg = TemplateMinerConfig()
cfg.masking_instructions = [
    MaskingInstruction(r"((?<=[^A-Za-z0-9])|^)(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})((?=[^A-Za-z0-9])|$)", "IP"),
    MaskingInstruction(r"((?<=[^A-Za-z0-9])|^)([\-\+]?\d+)((?=[^A-Za-z0-9])|$)", "NUM"),
    MaskingInstruction(r"((?<=[^A-Za-z0-9])|^)(0x[a-f0-9A-F]+)((?=[^A-Za-z0-9])|$)", "HEX"),
]
m = TemplateMiner(config=cfg)
for line in open(sys.argv[1], encoding="utf-8", errors="replace"):
    m.add_log_message(line.rstrip("\n"))
print(len(m.drain.clusters))
PY
    MSG_BYTES=$(bytes "$LINES_TXT")
    ROWS+=("drain3 with masking|$MSG_BYTES|python3 $(q "$WORK/run_drain3.py" "$LINES_TXT")")
    ROWS+=("gaplog templates -j1|$MSG_BYTES|$(q "$GAPLOG") templates -j1 $(q "$LINES_TXT")")
else
    MINER_NOTE="template mining vs drain3: skipped, this gaplog has no template miner (\`gaplog templates\`) yet"
    note "$MINER_NOTE"
fi

# Alternating runs: run r of every row before run r+1 of any.
for r in $(seq 1 "$RUNS"); do
    for i in "${!ROWS[@]}"; do
        IFS='|' read -r name _ cmd <<<"${ROWS[$i]}"
        note "run $r/$RUNS: $name"
        if ! /usr/bin/time -v -o "$WORK/t.$i.$r" bash -c "$cmd" >/dev/null 2>"$WORK/err.$i.$r"; then
            note "$name failed (run $r): $(tail -n 3 "$WORK/err.$i.$r")"
            touch "$WORK/failed.$i"
        fi
    done
done

median() { sort -g | awk '{a[NR]=$1} END {if (NR == 0) print "nan"; else if (NR % 2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
wall_of() { # seconds from "Elapsed (wall clock) time (h:mm:ss or m:ss): 0:01.23"
    awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,p,":"); s=0; for (i=1;i<=n;i++) s=s*60+p[i]; print s}' "$1"
}
rss_of() { awk -F': ' '/Maximum resident set size/ {print $2}' "$1"; }

declare -A WALL RSS MBS
# The range beside the median: a short row (rg's 0.2 s) moves by a third between sessions
# on a shared machine, and its ratios should be read with that spread in mind.
TABLE="| Row | Input MB | Median wall (s) | Wall range (s) | MB/s | Peak RSS (MiB) |
|---|---:|---:|---:|---:|---:|"
for i in "${!ROWS[@]}"; do
    IFS='|' read -r name in_bytes _ <<<"${ROWS[$i]}"
    w=$(for r in $(seq 1 "$RUNS"); do wall_of "$WORK/t.$i.$r"; done | median)
    range=$(for r in $(seq 1 "$RUNS"); do wall_of "$WORK/t.$i.$r"; done | sort -g | awk 'NR == 1 {lo=$1} {hi=$1} END {if (NR) printf "%s–%s", lo, hi; else print "n/a"}')
    # A row that failed in any run has no figure (its ratios read n/a), not a fast one.
    [ -e "$WORK/failed.$i" ] && { w=n/a; range=n/a; name="$name (FAILED, see stderr)"; }
    m=$(for r in $(seq 1 "$RUNS"); do rss_of "$WORK/t.$i.$r"; done | median)
    WALL[$name]=$w
    RSS[$name]=$(awk -v k="$m" 'BEGIN {printf "%.1f", k/1024}')
    MBS[$name]=$(awk -v b="$in_bytes" -v w="$w" 'BEGIN {if (w != "n/a" && w + 0 > 0) printf "%.0f", b/1e6/w; else print "n/a"}')
    TABLE+=$'\n'"| $name | $(awk -v b="$in_bytes" 'BEGIN {printf "%.0f", b/1e6}') | $w | $range | ${MBS[$name]} | ${RSS[$name]} |"
done

x() { [ "$1" = n/a ] && echo n/a || echo "$1×"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (a == "" || b == "" || a == "n/a" || b == "n/a" || b == 0) print "n/a"; else printf "%.2f", a/b}'; }
verdict() { # value, must, goal, direction (le|ge)
    awk -v v="$1" -v m="$2" -v g="$3" -v d="$4" 'BEGIN {
        if (v == "n/a") { print "n/a"; exit }
        if (d == "le") { if (v <= g) print "goal met"; else if (v <= m) print "must met"; else print "**missed**" }
        else { if (v >= g) print "goal met"; else if (v >= m) print "must met"; else print "**missed**" } }'
}
R1=$(ratio "${WALL[gaplog -j1]}" "${WALL[rg -j1 -c KW]}")
R2=$(ratio "${WALL[gaplog (default threads)]}" "${WALL[lnav headless]}")
R3=$(ratio "${RSS[gaplog (default threads)]}" "${RSS[lnav headless]}")
R4=$(ratio "${WALL[gaplog -j2]}" "${WALL[gaplog -j1]}")
R5=n/a
if [ ${#JSON[@]} -gt 0 ]; then
    R5=$(ratio "${MBS[gaplog -j1 (journal JSON)]}" "${MBS[jq -c .MESSAGE (journal JSON)]}")
fi
R6=n/a
[ -z "$MINER_NOTE" ] && R6=$(ratio "${MBS[gaplog templates -j1]}" "${MBS[drain3 with masking]}")
RATIOS="| Ratio | Measured | Must | Goal | Verdict |
|---|---:|---:|---:|---|
| gaplog 1 thread ÷ rg -j1 -c KW (wall) | $(x "$R1") | ≤ 10× | ≤ 5× | $(verdict "$R1" 10 5 le) |
| gaplog default threads ÷ lnav headless (wall) | $(x "$R2") | ≤ 0.25× | ≤ 0.10× | $(verdict "$R2" 0.25 0.10 le) |
| gaplog peak RSS ÷ lnav peak RSS | $(x "$R3") | ≤ 0.5× | ≤ 0.25× | $(verdict "$R3" 0.5 0.25 le) |
| gaplog 2 threads ÷ gaplog 1 thread (wall) | $(x "$R4") | ≤ 0.8× | ≤ 0.65× | $(verdict "$R4" 0.8 0.65 le) |
| journal json parse MB/s ÷ jq -c .MESSAGE | $(x "$R5") | ≥ 6× | ≥ 12× | $(verdict "$R5" 6 12 ge) |
| template mining lines/s ÷ drain3 with masking | $(x "$R6") | ≥ 30× | ≥ 100× | $(verdict "$R6" 30 100 ge) |"

CPU=$(lscpu 2>/dev/null | awk -F': *' '/^Model name/ {print $2; exit}')
MACHINE="$(date -u +%Y-%m-%d) on ${CPU:-unknown CPU}, $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GB", $2/1048576}' /proc/meminfo) RAM, Linux $(uname -r); $(rg --version | head -n 1), $(lnav -V 2>&1 | head -n 1), $(jq --version), $("$GAPLOG" --version). Corpus: $SIZE (seed $SEED, $((ALL_BYTES / 1000000)) MB in ${#FILES[@]} files), $RUNS alternating runs per row, warm page cache; RSS and wall are medians."
REPORT="$MACHINE

$TABLE

$RATIOS"
[ -n "$MINER_NOTE" ] && REPORT+=$'\n\n'"Note: $MINER_NOTE."

echo "$REPORT"
if [ -f "$OUT" ] && grep -q '<!-- bench:begin -->' "$OUT"; then
    printf '%s\n' "$REPORT" >"$WORK/report.md"
    awk -v f="$WORK/report.md" '
        /<!-- bench:begin -->/ {print; while ((getline l < f) > 0) print l; skip=1; next}
        /<!-- bench:end -->/ {skip=0}
        !skip {print}' "$OUT" >"$WORK/out.md"
    cp "$WORK/out.md" "$OUT"
else
    mkdir -p "$(dirname "$OUT")"
    printf '# Benchmarks\n\n<!-- bench:begin -->\n%s\n<!-- bench:end -->\n' "$REPORT" >"$OUT"
fi
note "written to $OUT"
