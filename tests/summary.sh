#!/usr/bin/env bash
# tests/summary.sh - run test suites and end with one line "N passed, N failed".
#
#   tests/summary.sh 'TARGET [VAR=VALUE...]' ...
#
# Each argument is one suite: a make target of the root Makefile and its
# variables.  A suite whose target does not exist is skipped with a message.
# Existence is read from make's rule database (make -pq): `make -n TARGET`
# would do, except that make runs recipe lines containing $(MAKE) even under
# -n, so for a recursive suite it would run the whole suite.  Counts come from the suite's output:
#   - its last line "N passed, N failed" if it prints one, else
#   - the sum of Check's summaries "NN%: Checks: N, Failures: F, Errors: E";
#   - a line starting "SKIP:" with no counts: the suite skipped itself.
# A suite that exits non-zero without reporting a failure counts as 1 failed,
# and so does one that exits 0 having reported nothing.
# Exit status: 0 only when nothing failed.
set -u
MAKE=${MAKE:-make}
passed=0 failed=0 skipped=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT
rules=$($MAKE -pq --no-print-directory __summary_probe__ 2>/dev/null)

# Is there a rule for target $1 (from the Makefile or a fragment it includes)?
has_target() {
	grep -qE "^$1:" <<<"$rules"
}

for spec in "$@"; do
	read -r -a words <<<"$spec"
	if ! has_target "${words[0]}"; then
		echo "summary: $spec: no such make target here; skipped"
		skipped=$((skipped + 1))
		continue
	fi
	echo "summary: running make $spec"
	$MAKE --no-print-directory "${words[@]}" 2>&1 | tee "$log"
	rc=${PIPESTATUS[0]}

	p=0 f=0 how=""
	line=$(grep -E '(^|[^0-9])[0-9]+ passed, [0-9]+ failed' "$log" | grep -v '^summary:' | tail -n 1)
	if [ -n "$line" ]; then
		p=$(sed -E 's/.*(^|[^0-9])([0-9]+) passed, ([0-9]+) failed.*/\2/' <<<"$line")
		f=$(sed -E 's/.*(^|[^0-9])([0-9]+) passed, ([0-9]+) failed.*/\3/' <<<"$line")
		how=counted
	else
		while read -r n fl er; do
			p=$((p + n - fl - er))
			f=$((f + fl + er))
			how=counted
		done < <(sed -nE 's/^[0-9]+%: Checks: ([0-9]+), Failures: ([0-9]+), Errors: ([0-9]+).*/\1 \2 \3/p' "$log")
	fi
	if [ -z "$how" ] && grep -q '^SKIP:' "$log" && [ "$rc" -eq 0 ]; then
		echo "summary: $spec: skipped ($(grep -m1 '^SKIP:' "$log" | cut -c7-))"
		skipped=$((skipped + 1))
		continue
	fi
	if [ -z "$how" ]; then
		echo "summary: $spec: exit status $rc and no test counts: counted as 1 failed"
		f=1
	elif [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "summary: $spec: exit status $rc though no test failed: counted as 1 failed"
		f=1
	fi
	echo "summary: $spec: $p passed, $f failed (exit $rc)"
	passed=$((passed + p))
	failed=$((failed + f))
done

[ "$skipped" -gt 0 ] && echo "summary: $skipped suite(s) skipped"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
