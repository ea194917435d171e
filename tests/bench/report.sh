#!/usr/bin/env bash
# report.sh - build/bench/report.md for `make bench`: the table bench.sh printed,
# and PNG charts drawn with gnuplot: time and peak RSS as ratios to glibc per
# workload and allocator, and RSS over time in a burst-then-idle run.
#
#   report.sh BENCH_DIR TABLE_FILE NAME=LIB...
#
# Reads BENCH_DIR/results.txt (bench.sh's raw lines), runs `workloads2 burst`
# once under each NAME=LIB (LIB "-": glibc; libmm also as libmm-nobound, with
# MM_RETAIN=0 MM_RETAIN_PCT=0: the idle limit alone) and writes BENCH_DIR/report.md,
# time.png, rss.png, burst.png and the data files behind them.  Without
# gnuplot the report has the tables and no pictures.
set -u
dir=$1
table=$2
shift 2
burst_mb=${BENCH_BURST_MB:-256}

# ---- ratios per workload: time.dat, rss.dat (liballoc-like left out: 10-50x) --
cols=()
for nl in "$@"; do cols+=("${nl%%=*}"); done
awk -v names="${cols[*]}" -v dir="$dir" '
BEGIN { na = split(names, an, " ") }
$3 == "ok" {
	k = $1 SUBSEP $2
	if (!($1 in seen)) { seen[$1] = 1; order[++nw] = $1 }
	if (!(k in best) || $4 < best[k]) { best[k] = $4; rss[k] = $5 }
}
END {
	for (f = 1; f <= 2; f++) {
		file = dir "/" (f == 1 ? "time.dat" : "rss.dat")
		printf "workload" > file
		for (a = 2; a <= na; a++) printf " %s", an[a] > file
		printf "\n" > file
		for (i = 1; i <= nw; i++) {
			w = order[i]; g = w SUBSEP "glibc"
			if (!(g in best)) continue
			printf "%s", w > file
			for (a = 2; a <= na; a++) {
				k = w SUBSEP an[a]
				if (k in best) printf " %.3f", f == 1 ? best[k] / best[g] : rss[k] / rss[g] > file
				else printf " NaN" > file
			}
			printf "\n" > file
		}
		close(file)
	}
}' "$dir/results.txt"

# ---- burst then idle: RSS over time ------------------------------------------
for nl in "$@"; do
	n=${nl%%=*} l=${nl#*=}
	if [ "$l" = - ]; then
		timeout 60 "$dir/workloads2" burst "$burst_mb" >"$dir/burst-$n.dat" 2>/dev/null
	else
		LD_PRELOAD=$l timeout 60 "$dir/workloads2" burst "$burst_mb" >"$dir/burst-$n.dat" 2>/dev/null
	fi || echo "report: burst run under $n failed" >&2
done
# libmm once more with the idle bound off (idle limit only): what the bound gives back
for nl in "$@"; do
	if [ "${nl%%=*}" = libmm ]; then
		MM_RETAIN=0 MM_RETAIN_PCT=0 LD_PRELOAD=${nl#*=} timeout 60 "$dir/workloads2" burst "$burst_mb" \
			>"$dir/burst-libmm-nobound.dat" 2>/dev/null || echo "report: burst run under libmm (no bound) failed" >&2
		set -- "$@" "libmm-nobound=${nl#*=}"
		break
	fi
done

# RSS right after the frees (the first sample of the idle phase) and at the end.
burst_table() {
	printf '| allocator | peak MiB | right after the frees MiB | after 3 s of small churn MiB |\n|---|---|---|---|\n'
	for nl in "$@"; do
		n=${nl%%=*}
		awk -v n="$n" '{ if ($2 > peak) peak = $2 } $3 == "idle" && !freed { freed = $2 }
			END { printf "| %s | %.0f | %.0f | %.0f |\n", n, peak / 1024, freed / 1024, $2 / 1024 }' "$dir/burst-$n.dat"
	done
}

# ---- pictures ----------------------------------------------------------------
pics=0
if command -v gnuplot >/dev/null; then
	ncol=$((${#cols[@]}))
	for what in time rss; do
		title="wall time"
		[ $what = rss ] && title="peak RSS"
		gnuplot <<GP && pics=1
set terminal pngcairo size 1100,480 font ",10"
set output "$dir/$what.png"
set title "$title as a ratio to glibc's (below 1: better than glibc)"
set style data histogram
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set xtics rotate by -30 nomirror
set ytics nomirror
set grid ytics
set key outside top center horizontal
set yrange [0:*]
set arrow from graph 0, first 1 to graph 1, first 1 nohead dt 2 lw 1.5 lc rgb "black"
plot for [c=2:$ncol] "$dir/$what.dat" using c:xtic(1) title columnheader(c)
GP
	done
	plots=""
	for nl in "$@"; do
		n=${nl%%=*}
		[ -s "$dir/burst-$n.dat" ] || continue
		dash=1
		[ "$n" = libmm-nobound ] && dash=2
		plots="$plots${plots:+, }\"$dir/burst-$n.dat\" using (\$1/1000):(\$2/1024) with lines lw 2 dt $dash title \"$n\""
	done
	gnuplot <<GP || pics=0
set terminal pngcairo size 1100,480 font ",10"
set output "$dir/burst.png"
set title "RSS over time: allocate $burst_mb MiB in 64 KiB - 4 MiB blocks, free them all, then a small churn for 3 s"
set xlabel "seconds"
set ylabel "RSS (MiB)"
set grid
set key outside right top
set yrange [0:*]
plot $plots
GP
else
	echo "report: gnuplot not installed (apt-get install gnuplot-nox): report without pictures" >&2
fi

# ---- report.md ---------------------------------------------------------------
{
	echo "# libmm benchmark report"
	echo
	echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cpus, load average $(cut -d' ' -f1-3 /proc/loadavg)."
	echo "Each workload under each allocator through LD_PRELOAD (tests/bench/workloads.c, workloads2.c);"
	echo "time is the best wall time, rss the peak RSS, both as ratios to glibc's."
	echo
	echo '```'
	cat "$table"
	echo '```'
	if [ $pics = 1 ]; then
		echo
		echo "![time](time.png)"
		echo
		echo "![rss](rss.png)"
		echo
		echo "The liballoc-like baseline is left out of the charts (10-50x glibc's time)."
	fi
	echo
	echo "## Burst then idle"
	echo
	echo "\`workloads2 burst $burst_mb\`: RSS sampled every 50 ms (the process never calls malloc_trim)."
	echo "libmm-nobound is libmm with its idle bound off (\`MM_RETAIN=0 MM_RETAIN_PCT=0\`): the idle limit alone."
	echo
	burst_table "$@"
	if [ $pics = 1 ]; then
		echo
		echo "![burst](burst.png)"
	fi
	if [ -s "$dir/instr.txt" ]; then
		echo
		echo "## Instructions per malloc+free pair (\`make bench-instr\`)"
		echo
		echo '```'
		cat "$dir/instr.txt"
		echo '```'
	fi
} >"$dir/report.md"
echo "bench: report in $dir/report.md" >&2
