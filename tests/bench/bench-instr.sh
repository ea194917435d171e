#!/usr/bin/env bash
# bench-instr.sh - instructions per malloc+free pair on a cache hit, counted by
# callgrind (deterministic), for libmm and each peer (`make bench-instr`).
#
#   bench-instr.sh BENCH_DIR LIBMM_SO
#
# BENCH_DIR holds ring (malloc/free), ring-mm (mm_malloc/mm_free linked with
# libmm.a) and ring-noop (empty functions), built by bench.mk from ring.c.
# For each size and allocator: Ir(2N steps) - Ir(N steps) cancels start-up and
# warm-up; dividing by N and subtracting ring-noop's per-step figure (the
# caller's loop) leaves the allocator's instructions per pair, PLT jump
# included.  A second table splits each pair: callgrind's inclusive count
# of malloc (mm_malloc) and of free (mm_free) a call.  Prints both tables and
# writes them to BENCH_DIR/instr.txt.
# Environment: INSTR_SIZES (default "16 64 256 1024"), INSTR_STEPS (N,
# default 20000), BENCH_ALLOCATORS, BENCH_INSTALL as for bench.sh.
set -u
dir=$(cd "$1" && pwd)
LIBMM_SO=$(realpath -m "$2")
sizes=${INSTR_SIZES:-"16 64 256 1024"}
n=${INSTR_STEPS:-20000}
. "$(dirname "$0")/allocators.sh"
keep_allocators
command -v valgrind >/dev/null || { echo "bench-instr: valgrind is not installed (apt-get install valgrind)" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# ir PRELOAD PROGRAM SIZE STEPS: run it under callgrind (profile in $tmp/cg);
# prints the instructions counted, then the inclusive counts of malloc and
# free (mm_malloc and mm_free for ring-mm; "-" when not found).
ir() {
	local pre=$1 prog=$2 out
	shift 2
	if [ "$pre" = - ]; then
		out=$(valgrind --tool=callgrind --callgrind-out-file="$tmp/cg" "$prog" "$@" 2>&1 >/dev/null)
	else
		# LD_PRELOAD on valgrind itself: valgrind hands it to the program it runs
		out=$(LD_PRELOAD=$pre valgrind --tool=callgrind --callgrind-out-file="$tmp/cg" "$prog" "$@" 2>&1 >/dev/null)
	fi
	echo "$out" | sed -n 's/.*Collected : *\([0-9]*\).*/\1/p' | tail -1 | tr '\n' ' '
	callgrind_annotate --inclusive=yes "$tmp/cg" 2>/dev/null | awk '
		$3 !~ /=>/ && $1 ~ /^[0-9,]+$/ {
			f = $3; sub(/.*:/, "", f); gsub(/,/, "", $1)
			if ((f == "malloc" || f == "mm_malloc" || f == "tc_malloc") && !m) m = $1
			if ((f == "free" || f == "mm_free" || f == "tc_free") && !fr) fr = $1
		}
		END { printf "%s %s\n", m ? m : "-", fr ? fr : "-" }'
}

# per_step PRELOAD PROGRAM SIZE: "step malloc free": instructions per step
# (loop included) and inclusive per malloc and per free, 1 decimal, or NA.
per_step() {
	local a b
	a=$(ir "$1" "$2" "$3" "$n")
	b=$(ir "$1" "$2" "$3" $((2 * n)))
	set -- $a $b
	if [ $# -ne 6 ] || [ "$1" = "" ]; then
		echo "bench-instr: callgrind gave no count for one run" >&2
		echo "NA - -"
		return
	fi
	awk -v a="$1" -v b="$4" -v ma="$2" -v mb="$5" -v fa="$3" -v fb="$6" -v n="$n" 'BEGIN {
		printf "%.1f", (b - a) / n
		if (ma != "-" && mb != "-") printf " %.1f", (mb - ma) / n; else printf " -"
		if (fa != "-" && fb != "-") printf " %.1f\n", (fb - fa) / n; else printf " -\n"
	}'
}

cols=("${names[@]}")
progs=()
pres=()
for i in "${!names[@]}"; do
	progs+=("$dir/ring")
	pres+=("${libs[$i]}")
done
if [ -f "$dir/ring-mm" ]; then
	cols+=("libmm-static")
	progs+=("$dir/ring-mm")
	pres+=(-)
fi

echo "bench-instr: callgrind, ring of 256 objects, sizes SIZE-7..SIZE, N=$n and 2N steps, loop subtracted" >&2
out=$dir/instr.txt
split=$tmp/split
{
	printf '%-6s %7s' size loop
	for c in "${cols[@]}"; do printf ' %13s' "$c"; done
	printf '\n'
	for s in $sizes; do
		read -r loop _ <<<"$(per_step - "$dir/ring-noop" "$s")"
		printf '%-6s %7s' "$s" "$loop"
		printf '%-6s %7s' "$s" "" >>"$split"
		for i in "${!cols[@]}"; do
			read -r v m f <<<"$(per_step "${pres[$i]}" "${progs[$i]}" "$s")"
			if [ "$v" = NA ]; then
				printf ' %13s' NA
			else
				awk -v v="$v" -v l="$loop" 'BEGIN { printf " %13.1f", v - l }'
			fi
			printf ' %13s' "$m / $f" >>"$split"
		done
		printf '\n'
		printf '\n' >>"$split"
	done
	printf '\nmalloc / free: instructions inside each call (callgrind, inclusive, no PLT jump)\n'
	cat "$split"
} | tee "$out"
echo "bench-instr: instructions per malloc+free pair (callgrind Ir, loop column subtracted); table in $out" >&2
