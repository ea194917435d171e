# allocators.sh - sourced by bench.sh and bench-instr.sh: which allocators to
# compare.  Sets the arrays `names` and `libs` (the LD_PRELOAD library of each,
# "-" for glibc: nothing preloaded), from LIBMM_SO (our libmm-malloc.so) and the
# Debian packages of mimalloc, tcmalloc and jemalloc, installing missing ones
# with apt-get unless BENCH_INSTALL=0 (the bench runs without them otherwise).
# BENCH_ALLOCATORS (names) keeps only those, glibc always.  BENCH_EXTRA adds
# columns, name=library pairs separated by blanks (e.g. a libmm-malloc.so built
# from an older commit, for before/after figures from one run).
multiarch=$(gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)
libdir=/usr/lib/$multiarch
others="mimalloc:libmimalloc2.0:libmimalloc.so.2 tcmalloc:libtcmalloc-minimal4:libtcmalloc_minimal.so.4 jemalloc:libjemalloc2:libjemalloc.so.2"

missing=""
for o in $others; do
	IFS=: read -r _ pkg so <<<"$o"
	[ -f "$libdir/$so" ] || missing="$missing $pkg"
done
if [ -n "$missing" ] && [ "${BENCH_INSTALL:-1}" != 0 ] && command -v apt-get >/dev/null; then
	SUDO=""
	[ "$(id -u)" = 0 ] || SUDO="sudo -n"
	echo "bench: installing$missing (for comparison only; nothing else needs them)" >&2
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends $missing \
		>/tmp/libmm-bench-apt.log 2>&1 ||
		echo "bench: could not install some of$missing; those columns are left out" >&2
fi

names=(glibc)
libs=(-)
if [ -f "$LIBMM_SO" ]; then
	names+=(libmm)
	libs+=("$LIBMM_SO")
else
	echo "bench: $LIBMM_SO not built; libmm column left out" >&2
fi
for o in $others; do
	IFS=: read -r name _ so <<<"$o"
	if [ -f "$libdir/$so" ]; then
		names+=("$name")
		libs+=("$libdir/$so")
	fi
done
for e in ${BENCH_EXTRA:-}; do
	if [ -f "${e#*=}" ]; then
		names+=("${e%%=*}")
		libs+=("${e#*=}")
	else
		echo "bench: BENCH_EXTRA: ${e#*=} not found; ${e%%=*} left out" >&2
	fi
done

# keep_allocators: apply BENCH_ALLOCATORS (call after adding local allocators).
keep_allocators() {
	[ -n "${BENCH_ALLOCATORS:-}" ] || return 0
	local keep_n=() keep_l=() i
	for i in "${!names[@]}"; do
		case " glibc $BENCH_ALLOCATORS " in *" ${names[$i]} "*) keep_n+=("${names[$i]}") keep_l+=("${libs[$i]}") ;; esac
	done
	names=("${keep_n[@]}") libs=("${keep_l[@]}")
}
