#!/usr/bin/env bash
# bench.sh - run the allocation workloads under each allocator and print a
# table of wall time and peak RSS as ratios to glibc's (`make bench`).
#
#   bench.sh BENCH_DIR LIBMM_SO
#
# BENCH_DIR holds workloads, workloads2, runner and liballoc_like.so (built by
# bench.mk).
# Allocators: glibc (nothing preloaded), libmm (LIBMM_SO), mimalloc, tcmalloc
# and jemalloc when their Debian packages are installed (this script tries to
# install missing ones with apt-get; the bench runs without them otherwise),
# and liballoc-like, our own first-fit baseline.
# Environment: BENCH_RUNS (best of, default 3), BENCH_TIMEOUT (seconds a run,
# default 60), BENCH_SLOW_TIMEOUT (liballoc-like, run once, default 20),
# BENCH_WORKLOADS (names, default all), BENCH_ALLOCATORS (names to keep),
# BENCH_INSTALL=0 (never call apt-get).  Raw results: BENCH_DIR/results.txt.
# The table gives best wall time and peak RSS as ratios to glibc's, their
# geometric means, and the geometric mean of best CPU time (user + system),
# which other load on the machine disturbs less than wall time.
set -u
dir=$(cd "$1" && pwd)
libmm=$(realpath -m "$2")
runs=${BENCH_RUNS:-3}
timeout=${BENCH_TIMEOUT:-60}
slow_timeout=${BENCH_SLOW_TIMEOUT:-20}
workloads=${BENCH_WORKLOADS:-"small mixed large realloc xthread churn2 churn4 compiler larson bulk prodcons falseshr"}
# the workloads of workloads2.c; the others are in workloads.c
prog_of() { case $1 in bulk | prodcons | falseshr | burst) echo "$dir/workloads2" ;; *) echo "$dir/workloads" ;; esac; }

# ---- which allocators -------------------------------------------------------
LIBMM_SO=$libmm
. "$(dirname "$0")/allocators.sh"
names+=(liballoc-like)
libs+=("$dir/liballoc_like.so")
keep_allocators

# ---- run --------------------------------------------------------------------
out=$dir/results.txt
: >"$out"
echo "bench: $(nproc) cpus; best of $runs runs (liballoc-like: 1 run, ${slow_timeout}s cap); allocators: ${names[*]}" >&2
start=$(date +%s)
for w in $workloads; do
	for r in $(seq "$runs"); do
		for i in "${!names[@]}"; do
			n=${names[$i]}
			t=$timeout
			if [ "$n" = liballoc-like ]; then
				[ "$r" = 1 ] || continue
				t=$slow_timeout
			fi
			res=$("$dir/runner" "$t" "${libs[$i]}" "$(prog_of "$w")" "$w")
			echo "$w $n $res" >>"$out"
		done
	done
	printf 'bench: %-9s done (%ds)\n' "$w" $(($(date +%s) - start)) >&2
done

# ---- table ------------------------------------------------------------------
# results.txt lines: workload allocator status seconds maxrss_kb
table_awk() {
awk -v names="${names[*]}" -v slow="$slow_timeout" -v tmax="$timeout" '
BEGIN { na = split(names, an, " ") }
{
	k = $1 SUBSEP $2
	if (!($1 in seen)) { seen[$1] = 1; order[++nw] = $1 }
	if ($3 != "ok") { if (!(k in best)) bad[k] = $3; next }
	delete bad[k]
	if (!(k in best) || $4 < best[k]) { best[k] = $4; rss[k] = $5 }
	if (!(k in cpu) || $6 < cpu[k]) cpu[k] = $6
}
END {
	printf "%-9s %14s", "workload", "glibc"
	for (a = 2; a <= na; a++) printf " %15s", an[a]
	printf "\n%-9s %14s", "", "sec    MB"
	for (a = 2; a <= na; a++) printf " %15s", "time  rss"
	printf "\n"
	for (i = 1; i <= nw; i++) {
		w = order[i]; g = w SUBSEP "glibc"
		if (!(g in best)) { printf "%-9s glibc run failed\n", w; continue }
		printf "%-9s %6.2f %7.1f", w, best[g], rss[g] / 1024
		for (a = 2; a <= na; a++) {
			k = w SUBSEP an[a]
			if (k in best) {
				tr = best[k] / best[g]; mr = rss[k] / rss[g]
				printf " %6.2fx %6.2fx", tr, mr
				lt[a] += log(tr); lm[a] += log(mr); cnt[a]++
				if (cpu[g] > 0 && cpu[k] > 0) lc[a] += log(cpu[k] / cpu[g])
			} else if (bad[k] == "timeout") {
				printf " %15s", sprintf(">%.0fx timeout", (an[a] == "liballoc-like" ? slow : tmax) / best[g])
				tmo[a]++
			} else {
				printf " %15s", (k in bad) ? bad[k] : "-"
				tmo[a]++
			}
		}
		printf "\n"
	}
	printf "%-9s %14s", "geomean", ""
	for (a = 2; a <= na; a++) {
		if (cnt[a]) printf " %6.2fx %6.2fx", exp(lt[a] / cnt[a]), exp(lm[a] / cnt[a])
		else printf " %15s", "-"
	}
	printf "\n%-9s %14s", "cpu time", ""
	for (a = 2; a <= na; a++) {
		if (cnt[a]) printf " %6.2fx %7s", exp(lc[a] / cnt[a]), ""
		else printf " %15s", "-"
	}
	printf "\n"
	for (a = 2; a <= na; a++)
		if (tmo[a]) printf "note: %s geomean over %d workloads; %d timed out or failed\n", an[a], cnt[a], tmo[a]
}' "$out"
}
table_awk | tee "$dir/table.txt"

# ---- report.md and charts (not the liballoc-like baseline) --------------------
pairs=()
for i in "${!names[@]}"; do
	[ "${names[$i]}" = liballoc-like ] || pairs+=("${names[$i]}=${libs[$i]}")
done
bash "$(dirname "$0")/report.sh" "$dir" "$dir/table.txt" "${pairs[@]}"
echo "bench: total $(($(date +%s) - start))s; raw results in $out" >&2
