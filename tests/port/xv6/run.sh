#!/bin/sh
# run.sh - the xv6 port test: unpacks MIT's xv6-public into a build directory,
# applies the port (copies libmm.a, mm.h, sys.h and the files of this folder,
# applies xv6.patch), builds xv6, boots it in QEMU on 4 CPUs and reads the
# serial output: the kernel heap stress on every CPU and mm_check must pass
# (with USERTESTS=1, xv6's usertests must print ALL TESTS PASSED too).
# With OLD=1 the cache hooks follow the old advice instead (get looks up the
# current CPU's cache with interrupts off, then turns them back on; put does
# nothing), and the run must fail: the test can tell a broken port.
# Prints PASS/FAIL lines and "N passed, N failed"; without xv6: a SKIP line.
# Usage: sh tests/port/xv6/run.sh XV6 LIBMM_A OUT [USERTESTS [OLD]]
#   XV6: an xv6-public directory or .tar.gz; OUT: the directory to build in.
src=$1 lib=$2 out=$3 usertests=${4:-0} old=${5:-0}
here=tests/port/xv6
np=0 nf=0

pass() { echo "PASS xv6: $1"; np=$((np + 1)); }
fail() { echo "FAIL xv6: $1${2:+: $2}"; nf=$((nf + 1)); }
finish() { echo "$np passed, $nf failed"; [ $nf = 0 ]; exit; }

if [ -z "$src" ] || [ ! -e "$src" ]; then
	echo "SKIP: test-xv6: no xv6 source (give XV6=<xv6-public directory or .tar.gz>; have: '${src}')"
	exit 0
fi
for tool in qemu-system-i386 patch; do
	if ! command -v $tool >/dev/null; then
		echo "SKIP: test-xv6: $tool not found"
		exit 0
	fi
done

# A fresh tree every time: the port is applied to pristine xv6.
rm -rf "$out" && mkdir -p "$out/src" || exit 1
if [ -d "$src" ]; then
	cp -r "$src"/. "$out/src/"
else
	tar xzf "$src" -C "$out/src" || { fail "unpack $src"; finish; }
fi
top=$(dirname "$(find "$out/src" -name kalloc.c | head -n 1)")
if [ ! -f "$top/main.c" ]; then
	fail "unpack $src" "no xv6 tree (kalloc.c, main.c) inside"
	finish
fi

# The port: five files in, a patch of the lines xv6 changes.
cp "$lib" mm/mm.h mm/sys.h $here/mm_xv6.c $here/mmtest_kern.c $here/mmtest.c "$top/"
if [ "$old" = 1 ]; then
	# get: pushcli; look up; popcli (the old advice); put: nothing.
	sed -i -e 's|^  return cpucache\[mycpu() - cpus\];|  struct mm_cache *c = cpucache[mycpu() - cpus];\n  popcli();\n  return c;|' \
		-e '/^mm_sys_cache_put/,/^}/s|^  popcli();|  // old advice: nothing|' "$top/mm_xv6.c"
	if [ "$(grep -c 'old advice: nothing' "$top/mm_xv6.c")" != 1 ]; then
		fail "old advice applied to mm_xv6.c"
		finish
	fi
fi
if patch -d "$top" -p2 --no-backup-if-mismatch <$here/xv6.patch >"$out/patch.log" 2>&1; then
	pass "port applied ($(grep -c '^+[^+]' $here/xv6.patch) lines added to xv6, $(grep -c '^-[^-]' $here/xv6.patch) changed)"
else
	fail "port applied" "patch failed: $(grep -m2 -iE 'fail|reject' "$out/patch.log" | tr '\n' ' ')"
	finish
fi

flags=
[ "$usertests" = 1 ] && flags=-DMMTEST_USERTESTS
if make -C "$top" -j2 xv6.img fs.img MMTEST_CFLAGS="$flags" >"$out/build.log" 2>&1; then
	pass "xv6 builds with libmm.a linked in (before -b binary initcode entryother)"
else
	fail "xv6 builds with libmm.a" "$(grep -m3 -E 'error|Error|undefined' "$out/build.log" | tr '\n' ' ')"
	finish
fi

# 4 CPUs as 4 sockets: SeaBIOS's MP table (read by xv6) then lists them all.
limit=240
[ "$usertests" = 1 ] && limit=3600
log=$out/serial.log
start=$(date +%s)
timeout $limit qemu-system-i386 -drive file="$top/fs.img",index=1,media=disk,format=raw \
	-drive file="$top/xv6.img",index=0,media=disk,format=raw -smp cpus=4,cores=1 -m 512 \
	-display none -serial stdio -monitor none -no-reboot -nic none \
	-device isa-debug-exit,iobase=0xf4,iosize=0x04 </dev/null >"$log" 2>&1 &
qpid=$!
# xv6's panic spins forever: stop QEMU (this run's, by its pid) a moment after one.
while kill -0 $qpid 2>/dev/null; do
	if grep -q 'panic: ' "$log"; then
		sleep 1
		kill $qpid 2>/dev/null
		break
	fi
	sleep 1
done
wait $qpid
rc=$?
secs=$(($(date +%s) - start))
grep -E '^(cpu[0-9]|mminit|mmcheck|mmtest|usertests starting|ALL TESTS)|panic: |unexpected trap' "$log" | sed 's/^/  | /'
echo "INFO xv6 ran ${secs}s under QEMU (exit status $rc; serial output in $log)"

if [ "$old" = 1 ]; then
	if grep -q '^mmtest: PASS' "$log" && [ $rc = 1 ]; then
		fail "the old advice (no pinning) fails under preemption" "it passed: the test cannot tell a broken port"
	else
		pass "the old advice (no pinning) fails under preemption: $(grep -m1 -E 'trap|panic|mmstress:|FAIL' "$log" | head -c 120)"
	fi
	finish
fi
if grep -q '^cpu3: starting' "$log" && grep -q '^mminit: libmm heap' "$log"; then
	pass "boots on 4 CPUs with the libmm heap ($(grep -m1 '^mminit' "$log" | cut -d: -f2- | sed 's/^ //'))"
else
	fail "boots on 4 CPUs with the libmm heap" "$(grep -m1 -E 'panic|cpu.*starting' "$log")"
fi
mask=$(sed -n 's/^mmcheck: .*CPUs used mask \(0x[0-9a-f]*\) of.*/\1/p' "$log" | head -n 1)
moves=$(sed -n 's/^mmcheck: .*failed), \([0-9]*\) CPU changes.*/\1/p' "$log" | head -n 1)
if grep -q '^mmtest: PASS' "$log" && [ "$mask" = 0xf ] && [ "${moves:-0}" -gt 0 ]; then
	pass "pattern-checked stress in 8 processes on all 4 CPUs, $moves CPU changes mid-stress"
else
	fail "pattern-checked stress on every CPU" \
		"$(grep -m2 -E 'mmstress:|mmtest: |panic' "$log" | tr '\n' ' ')CPU mask ${mask:-none}, ${moves:-no} CPU changes"
fi
if grep -q '^mmcheck: mm_check passed' "$log" && ! grep -q 'mm_check FAILED' "$log"; then
	pass "mm_check passes on the quiet heap afterwards ($(grep -m1 '^mmcheck: mm_check' "$log" | cut -d';' -f2 | sed 's/^ //'))"
else
	fail "mm_check passes afterwards" "$(grep -m1 -E 'mm_check|panic' "$log")"
fi
if [ "$usertests" = 1 ]; then
	if grep -q 'ALL TESTS PASSED' "$log"; then
		pass "xv6 usertests: ALL TESTS PASSED (${secs}s in all)"
	else
		fail "xv6 usertests" "no ALL TESTS PASSED; last line: $(grep -v '^$' "$log" | tail -n 1)"
	fi
fi
# halt(0) exits QEMU with 1, halt(1) with 3; 124 is the time limit.
if [ $rc = 1 ]; then
	pass "xv6 halted itself, all held (QEMU exit status 1)"
else
	fail "xv6 halted itself" "QEMU exit status $rc$([ $rc = 124 ] && echo " (time limit ${limit}s)")"
fi
finish
