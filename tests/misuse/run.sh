#!/usr/bin/env bash
# run.sh - `make test-misuse`: the heap-misuse programs of this directory, each
# run as a child under three allocators: glibc (MALLOC_CHECK_ unset), libmm
# release and libmm DEBUG=1 (LD_PRELOAD).  A case is caught when the process
# ends abnormally (a signal or a non-zero status) with a message on stderr;
# for libmm the message must also name the address the program printed
# ("ptr 0x...") before the misuse.  glibc's messages name no address, so its
# column counts any abnormal exit with a message (its "named" count is shown
# too).  Prints the table and "N passed, N failed" over four checks:
#  - release catches at least as many as glibc on double frees, frees of
#    pointers never handed out and writes after free that break a free
#    list, glibc counted without needing the address;
#  - release catches at least as many as glibc in all, counted alike
#    (glibc without needing the address, release naming it);
#  - release reports at least as many with the address as glibc;
#  - DEBUG catches at least 90 % of all cases.
# Release builds also guard blocks above 1024 bytes and of malloc(0) (a
# trailer checked at free: mm/internal.h, "the guard"), so they catch the
# overflows and underflows of the 5000-byte blocks and the zero-size
# writes; those of 24 and 200 bytes (the cache-hit fast paths, no trailer)
# are DEBUG's, which glibc catches through its inline chunk headers.
#
#   run.sh PROG_DIR RELEASE_SO DEBUG_SO
set -u
progs=$(realpath "$1")
rel=$(realpath "$2")
dbg=$(realpath "$3")
cap=${MISUSE_TIMEOUT:-20}
work=$(mktemp -d /tmp/libmm-misuse.XXXXXX)
trap 'rm -rf "$work"' EXIT
unset MALLOC_CHECK_ MALLOC_PERTURB_ GLIBC_TUNABLES

sizes="24 200 5000"
cases=()
for n in $sizes; do
	cases+=("overflow $n 1" "overflow $n 32" "underflow $n 1" "underflow $n 32")
done
for how in plain delayed interleaved reuse; do
	for n in $sizes; do cases+=("double_free $n $how"); done
done
for what in stack alloca unaligned far; do
	for n in $sizes; do cases+=("bad_free $n $what"); done
done
for n in $sizes; do cases+=("use_after_free $n"); done
for k in 1 8 16; do cases+=("zero_size $k"); done

# run LIB CASE...: 2 named, 1 caught without the address, 0 not caught.
run() {
	local lib=$1 rc addr
	shift
	if [ -n "$lib" ]; then
		LD_PRELOAD=$lib timeout "$cap" "$progs/$1" "${@:2}" >"$work/out" 2>"$work/err"
	else
		timeout "$cap" "$progs/$1" "${@:2}" >"$work/out" 2>"$work/err"
	fi
	rc=$?
	addr=$(sed -n 's/^ptr 0x//p' "$work/out" | head -1)
	if [ "$rc" = 0 ] || [ "$rc" = 124 ] || [ ! -s "$work/err" ]; then
		echo 0
	elif [ -n "$addr" ] && grep -qi "$addr" "$work/err"; then
		echo 2
	else
		echo 1
	fi
}

mark() { case $1 in 2) printf '%-9s' "caught" ;; 1) printf '%-9s' "no-addr" ;; *) printf '%-9s' "-" ;; esac; }

g=0 gn=0 r=0 d=0 total=0 gr=0 rr=0
printf '%-32s %-9s %-9s %-9s\n' "case" "glibc" "release" "debug"
for c in "${cases[@]}"; do
	# shellcheck disable=SC2086
	a=$(run "" $c)
	b=$(run "$rel" $c)
	e=$(run "$dbg" $c)
	printf '%-32s ' "$c"
	mark "$a"; mark "$b"; mark "$e"
	[ "$b" = 2 ] || [ -z "${MISUSE_VERBOSE:-}" ] || printf ' release: %s' "$(LD_PRELOAD=$rel timeout "$cap" "$progs/${c%% *}" ${c#* } 2>&1 | tail -1)"
	[ "$e" = 2 ] || [ -z "${MISUSE_VERBOSE:-}" ] || printf ' debug: %s' "$(LD_PRELOAD=$dbg timeout "$cap" "$progs/${c%% *}" ${c#* } 2>&1 | tail -1)"
	echo
	total=$((total + 1))
	[ "$a" != 0 ] && g=$((g + 1))
	[ "$a" = 2 ] && gn=$((gn + 1))
	[ "$b" = 2 ] && r=$((r + 1))
	[ "$e" = 2 ] && d=$((d + 1))
	case $c in double_free* | bad_free* | use_after_free*)
		[ "$a" != 0 ] && gr=$((gr + 1))
		[ "$b" = 2 ] && rr=$((rr + 1)) ;;
	esac
done
echo "caught of $total: glibc $g (naming the address: $gn), libmm release $r, libmm DEBUG $d (naming the address)"

pass=0 fail=0
if [ "$rr" -ge "$gr" ]; then
	echo "PASS release catches at least as many double frees, bad frees and writes after free as glibc ($rr >= $gr)"; pass=$((pass + 1))
else
	echo "FAIL release catches fewer double frees, bad frees and writes after free than glibc ($rr < $gr)"; fail=$((fail + 1))
fi
if [ "$r" -ge "$g" ]; then
	echo "PASS release catches at least as many as glibc in all ($r >= $g)"; pass=$((pass + 1))
else
	echo "FAIL release catches fewer than glibc in all ($r < $g)"; fail=$((fail + 1))
fi
if [ "$r" -ge "$gn" ]; then
	echo "PASS release reports at least as many with the address as glibc ($r >= $gn)"; pass=$((pass + 1))
else
	echo "FAIL release reports fewer with the address than glibc ($r < $gn)"; fail=$((fail + 1))
fi
if [ $((d * 10)) -ge $((total * 9)) ]; then
	echo "PASS DEBUG catches at least 90 % ($d of $total)"; pass=$((pass + 1))
else
	echo "FAIL DEBUG catches fewer than 90 % ($d of $total)"; fail=$((fail + 1))
fi
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
