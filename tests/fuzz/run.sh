#!/usr/bin/env bash
# tests/fuzz/run.sh - one fuzz harness run, as `make fuzz-<name>` calls it.
#
#   tests/fuzz/run.sh NAME BINARY SECONDS BUILD_DIR
#
# 1. Replays every input in tests/fuzz/regress/NAME/ (inputs that once found a
#    bug): one test each.
# 2. Fuzzes for SECONDS with the working corpus BUILD_DIR/corpus/NAME/ (kept
#    between runs, seeded from tests/fuzz/corpus/NAME/); a crash is saved as
#    BUILD_DIR/crashes/NAME-crash-<sha1>.  One test.
# Prints the figures (runs, operations, time, peak RSS, corpus) and ends with
# "N passed, N failed".  FUZZ_FLAGS adds libFuzzer options.
set -u
name=$1 bin=$2 secs=$3 dir=$4
corpus=$dir/corpus/$name crashes=$dir/crashes seeds=tests/fuzz/corpus/$name
mkdir -p "$corpus" "$crashes"
passed=0 failed=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT

for f in tests/fuzz/regress/"$name"/*; do
	[ -f "$f" ] || continue
	if "$bin" -runs=1 "$f" >"$log" 2>&1; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
		echo "fuzz $name: regression input $f FAILED:"
		grep -E 'FAIL|ERROR|panic|runtime error' "$log" | head -5
	fi
done

dirs=("$corpus")
[ -d "$seeds" ] && dirs+=("$seeds")
echo "fuzz $name: fuzzing for $secs s ($bin ${dirs[*]})"
# shellcheck disable=SC2086
# Inputs up to 1 KiB from the start (-len_control=0): a program of 100-300 operations
# reaches states with many live blocks that short inputs never build.
"$bin" -max_total_time="$secs" -timeout=30 -max_len=1024 -len_control=0 -print_final_stats=1 \
	-artifact_prefix="$crashes/$name-" ${FUZZ_FLAGS:-} "${dirs[@]}" >"$log" 2>&1
rc=$?
runs=$(sed -nE 's/^stat::number_of_executed_units: *([0-9]+).*/\1/p' "$log" | tail -n 1)
ops=$(sed -nE "s/^fuzz: $name: ([0-9]+) ops.*/\\1/p; s/^fuzz: [a-z]+: ([0-9]+) ops.*/\\1/p" "$log" | tail -n 1)
took=$(sed -nE 's/^Done [0-9]+ runs in ([0-9]+) second.*/\1/p' "$log" | tail -n 1)
rss=$(sed -nE 's/^stat::peak_rss_mb: *([0-9]+).*/\1/p' "$log" | tail -n 1)
ncorp=$(find "$corpus" -type f | wc -l)
if [ "$rc" -eq 0 ]; then
	passed=$((passed + 1))
else
	failed=$((failed + 1))
	echo "fuzz $name: FAILED (exit $rc); the report:"
	grep -E -A 12 'FAIL|ERROR: |panic|runtime error|deadly signal' "$log" | head -40
	art=$(sed -nE 's/.*Test unit written to (.*)$/\1/p' "$log" | tail -n 1)
	[ -n "$art" ] && echo "fuzz $name: reproduce with: $bin $art"
fi
echo "fuzz $name: ${runs:-?} runs, ${ops:-?} operations in ${took:-?} s, peak RSS ${rss:-?} MB; corpus $ncorp inputs in $corpus"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
