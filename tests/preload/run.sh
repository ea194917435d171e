#!/usr/bin/env bash
# run.sh - `make test-preload`: real programs of the base system run with
# and without LD_PRELOAD=libmm-malloc.so; their output and exit status must
# be the same.  Plus our programs, compared the same way: threads.c, align.c
# (aligned entry points), limits.c (a 1 TiB request, a lowered RLIMIT_AS),
# forkstdio.c and forksignal.c (fork against stdio's locks, fork from a
# signal handler; each turns a hang into a failure with an alarm),
# the interface checks (api.c, under the preload only), bad frees that the
# core must stop, and frees of pointers libmm never handed out (stack, global,
# mmap), which must stop the process in release and debug builds.
#
#   run.sh MALLOC_SO PROG_DIR [DEBUG_MALLOC_SO]
#
# Prints PASS/FAIL per case and ends with "N passed, N failed"; exits 1 on a
# failure.  Each run is capped by PRELOAD_TIMEOUT seconds (default 120).
set -u
so=$(realpath "$1")
progs=$(realpath "$2")
dbg=${3:+$(realpath -m "$3")}
cap=${PRELOAD_TIMEOUT:-120}
repo=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d /tmp/libmm-preload.XXXXXX)
trap 'rm -rf "$work"' EXIT
pass=0
fail=0

skip=0
ok() { echo "PASS $1"; pass=$((pass + 1)); }
# has NAME CMD...: true if every CMD exists, else the case NAME is skipped.
has() {
	local name=$1 c
	shift
	for c in "$@"; do
		if ! command -v "$c" >/dev/null 2>&1; then
			echo "SKIP $name: no $c on this machine"
			skip=$((skip + 1))
			return 1
		fi
	done
}
bad() { echo "FAIL $1: $2"; fail=$((fail + 1)); }

# same NAME SCRIPT [SO]: run SCRIPT (bash) in $work without and with the
# preload (SO, default the release build).
same() {
	local name=$1 script=$2 lib=${3:-$so} rc0 rc1 t0=$SECONDS
	(cd "$work" && timeout "$cap" bash -c "$script") >"$work/out0" 2>"$work/err0"
	rc0=$?
	(cd "$work" && LD_PRELOAD=$lib timeout "$cap" bash -c "$script") >"$work/out1" 2>"$work/err1"
	rc1=$?
	if [ "$rc0" != "$rc1" ]; then
		bad "$name" "exit $rc1 under libmm, $rc0 without; stderr: $(head -c 300 "$work/err1")"
	elif ! cmp -s "$work/out0" "$work/out1"; then
		bad "$name" "output differs ($(wc -c <"$work/out1") bytes vs $(wc -c <"$work/out0")): $(diff "$work/out0" "$work/out1" | head -6 | tr '\n' ' ')"
	elif [ ! -s "$work/out0" ]; then
		bad "$name" "no output to compare (exit $rc0): $(head -c 300 "$work/err0")"
	else
		ok "$name ($(wc -l <"$work/out0") lines, exit $rc0; $((SECONDS - t0))s for both runs)"
	fi
}

[ -f "$so" ] || { echo "FAIL: $so not built"; echo "0 passed, 1 failed"; exit 1; }

# ---- the library itself ----
missing=""
for f in malloc free calloc realloc reallocarray posix_memalign aligned_alloc memalign valloc \
	pvalloc malloc_usable_size cfree __libc_malloc __libc_free __libc_calloc __libc_realloc \
	__libc_memalign mallopt mallinfo mallinfo2 malloc_stats malloc_trim; do
	nm -D --defined-only "$so" | grep -qE " [TW] $f\$" || missing="$missing $f"
done
[ -z "$missing" ] && ok "exports (22 names)" || bad exports "not exported:$missing"
if LD_PRELOAD=$so cat /proc/self/maps | grep -q "$(basename "$so")"; then
	ok "preload takes effect (in /proc/self/maps)"
else
	bad "preload" "$so not mapped into a preloaded process"
fi

# ---- inputs ----
awk 'BEGIN { srand(1); for (i = 0; i < 300000; i++) {
	w = ""; n = 3 + int(rand() * 12)
	for (j = 0; j < n; j++) w = w sprintf("%c", 97 + int(rand() * 26))
	print w, int(rand() * 1000000), i } }' >"$work/data.txt"
head=$(git -C "$repo" rev-parse HEAD 2>/dev/null)

# ---- real programs ----
same "sort 300k lines" 'sort data.txt | sha256sum; sort -k2,2n -k1,1 data.txt | tail -3; sort -u -k1,1 data.txt | wc -l'
same "ls -lR /usr/share" 'ls -lR /usr/share | sha256sum'
same "sha256sum /usr/include" 'find /usr/include -type f | sort | xargs sha256sum | sha256sum'
same "find /usr" 'find /usr -xdev -printf "%p %s %m\n" | sort | sha256sum; find /usr/share -name "*.gz" | wc -l'
has python3 /usr/bin/python3 && same "python3 dict/list churn" '/usr/bin/python3 -c "
import threading, zlib
d = {}
for i in range(300000):
    d[str(i) * (i % 5 + 1)] = [i] * (i % 7)
    if i % 3 == 0:
        d.pop(str(i // 2) * ((i // 2) % 5 + 1), None)
s = sorted(d.items())[:1000]
print(len(d), sum(len(v) for v in d.values()), zlib.crc32(str(s).encode()))
def work(k, out):
    l = [bytes(range(k % 200)) * 3 for _ in range(20000)]
    out[k] = sum(map(len, l))
res = {}
ts = [threading.Thread(target=work, args=(k, res)) for k in range(8)]
[t.start() for t in ts]; [t.join() for t in ts]
print(sorted(res.items()))
"'
has gcc gcc && same "gcc -c -O2" "gcc -O2 -g0 -I$repo/tests/lib -c $repo/tests/bench/workloads.c -o w.o && sha256sum w.o && gcc -O2 -S -o - $repo/tests/preload/threads.c | sha256sum"
same "tar create/list/extract" 'tar -C /usr/include --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -cf inc.tar . &&
	sha256sum inc.tar && tar -tvf inc.tar | sha256sum && mkdir -p x && tar -C x -xf inc.tar && diff -r x /usr/include && echo same; rm -rf x inc.tar'
same "bash loops" 'declare -A h; s=""; for i in $(seq 1 6000); do h[k$i]=$((i * i)); s="$s$i,"; done
	for i in $(seq 1 3 6000); do unset "h[k$i]"; done; a=(); for i in {1..300}; do a+=("$(printf "%05d" $i)"); done
	for i in {1..50}; do a[i]=$(echo "$i"); done; echo ${#h[@]} ${#s} ${#a[@]} ${a[299]} ${a[50]}; n=0; while read -r w c i; do n=$((n + c % 7)); done < <(head -50000 data.txt); echo $n'
has git git && [ -n "$head" ] && same "git log" "git -C $repo log --stat -p $head | sha256sum; git -C $repo rev-list --objects $head | sort | sha256sum"
has perl perl && same "perl hashes" 'perl -e '"'"'my %h; for my $i (1..300000) { $h{"k$i"} = "v" x ($i % 50); delete $h{"k".($i-7)} if $i % 2; } my $t = 0; $t += length for values %h; print scalar(keys %h), " $t\n";'"'"
same "awk arrays" 'awk "{ c[\$1] += \$2; n[substr(\$1, 1, 2)]++ } END { for (k in n) print k, n[k] }" data.txt | sort | sha256sum'
# A drop-in malloc must not add threads: unshare(CLONE_NEWUSER) refuses a
# multithreaded caller (EINVAL), and sandboxes assume one thread.
same "no extra thread (/proc/self/task)" 'ls /proc/self/task | wc -l'
has unshare unshare && same "unshare -U (needs a single-threaded caller)" 'unshare -U id -u; echo "exit $?"'
has xz xz gzip && same "xz -T2 and gzip" 'head -100000 data.txt >d100k; xz -T2 -1 -c d100k | xz -dc | sha256sum; gzip -6 -c data.txt | sha256sum'

# ---- our programs ----
same "threads: exchange, churn, fork+exec" "$progs/threads"
same "aligned entry points: every alignment 1 B..1 MiB, sizes 0..80 and more" "$progs/align"
same "malloc/calloc/realloc of 1 TiB: NULL and ENOMEM, heap still works" "$progs/limits huge"
same "RLIMIT_AS lowered after the first malloc: threads, mmap, malloc to the limit" "$progs/limits rlimit"
same "fork vs stdio locks: getline, fflush(NULL), realloc, fork in 8 threads" "$progs/forkstdio"
same "fork from a signal handler interrupting malloc/free" "$progs/forksignal"

LD_PRELOAD=$so timeout "$cap" "$progs/api" >"$work/api.out" 2>"$work/api.err"
rc=$?
if [ $rc = 0 ]; then
	ok "api: $(tail -1 "$work/api.out")"
else
	bad "api" "exit $rc: $(grep -v '^libmm:' "$work/api.out" "$work/api.err" | head -5 | tr '\n' ' ')"
fi

# stops NAME LIB MODE PATTERN: `api MODE` under LIB must die of SIGABRT
# (exit 134) with PATTERN (grep) in its stderr.
stops() {
	local name=$1 lib=$2 mode=$3 pattern=$4 rc
	(LD_PRELOAD=$lib timeout "$cap" "$progs/api" "$mode") >"$work/st.out" 2>"$work/st.err"
	rc=$?
	if [ $rc = 134 ] && grep -q -- "$pattern" "$work/st.err"; then
		ok "$name stopped: $(head -1 "$work/st.err")"
	else
		bad "$name" "exit $rc (want 134, SIGABRT), stderr: $(head -c 200 "$work/st.err")"
	fi
}
stops "bad free (inside a large object)" "$so" badfree "interior pointer"
stops "wild free inside the arena" "$so" wildfree "^mm: free"

# A pointer libmm never handed out stops the process in every build, with
# the address and the reason.
# foreign_case LIB MODE REASON
foreign_case() {
	local lib=$1 mode=$2 reason=$3 rc addr
	(LD_PRELOAD=$lib timeout "$cap" "$progs/api" "$mode") >"$work/fo.out" 2>"$work/fo.err"
	rc=$?
	addr=$(sed -n 's/^ptr 0x//p' "$work/fo.out")
	if [ $rc = 134 ] && [ -n "$addr" ] && grep -q "$addr" "$work/fo.err" && grep -q "$reason" "$work/fo.err"; then
		ok "$mode ($(basename "$(dirname "$lib")")) stopped: $(head -1 "$work/fo.err")"
	else
		bad "$mode" "exit $rc (want 134), address ${addr:-?}, stderr: $(head -c 200 "$work/fo.err")"
	fi
}
for lib in "$so" ${dbg:+"$dbg"}; do
	foreign_case "$lib" free-stack "a stack address"
	foreign_case "$lib" free-global "a global or static variable of"
	foreign_case "$lib" free-mmap "not from malloc"
	foreign_case "$lib" realloc-stack "a stack address"
done

# ld.so's own early blocks are the one kind of foreign pointer left alone.
for lib in "$so" ${dbg:+"$dbg"}; do
	LD_PRELOAD=$lib timeout "$cap" "$progs/api" free-ldso >"$work/ld.out" 2>"$work/ld.err"
	rc=$?
	if [ $rc = 0 ] && { [ "$lib" = "$so" ] || ! grep -q "^ptr" "$work/ld.out" ||
		grep -q "memory from before libmm" "$work/ld.err"; }; then
		ok "free of ld.so's minimal-malloc memory ignored ($(basename "$(dirname "$lib")")): $(tail -1 "$work/ld.out") $(head -1 "$work/ld.err")"
	else
		bad "free-ldso" "exit $rc: $(cat "$work/ld.out" "$work/ld.err" | head -c 300)"
	fi
done

if [ -n "$dbg" ]; then
	stops "debug build: bad free (inside a small object)" "$dbg" badsmall "interior pointer"
	same "debug build: threads" "$progs/threads" "$dbg"
	same "debug build: fork vs stdio locks, fork from a signal handler" "$progs/forkstdio && $progs/forksignal" "$dbg"
	has "debug python3" /usr/bin/python3 && same "debug build: sort, python3" 'sort data.txt | sha256sum; /usr/bin/python3 -c "print(sum(len(str(i) * 3) for i in range(200000)))"' "$dbg"
fi

if [ "$skip" = 0 ]; then echo "$pass passed, $fail failed"; else echo "$pass passed, $fail failed, $skip skipped"; fi
[ "$fail" = 0 ]
