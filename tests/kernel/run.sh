#!/usr/bin/env bash
# tests/kernel/run.sh - boot the kernel's self-tests in QEMU and check them.
#
#   tests/kernel/run.sh [ARCH...]        (default: x86 x86_64; env CCS="gcc clang")
#
# For each arch and compiler it builds kernel-test.iso (grub.cfg: "mode=test")
# and boots it once per case, passing "case=NAME" through QEMU fw_cfg, with the
# memory size the case needs.  A case passes only if QEMU exits with status 33
# (the kernel wrote the pass code to isa-debug-exit; a triple fault exits 0, a
# panic or exception 35), and the serial log holds "CASE NAME: PASS", "TESTS
# DONE: ... 0 failed", no FAIL line, and the case's own expected lines.
# The cases that provoke an exception on purpose expect status 35 and the
# exception report instead.
# Prints one line per case and, last, "N passed, N failed".  Boots run
# KTEST_JOBS at a time (default 2); each has its own log, build/<dir>/test-NAME.log.
set -u
cd "$(dirname "$0")/../.." || exit 2

arches=("$@")
[ ${#arches[@]} -eq 0 ] && arches=(x86 x86_64)
read -r -a ccs <<< "${CCS:-gcc clang}"
timeout_s=${KTEST_TIMEOUT:-60}
jobs_max=${KTEST_JOBS:-2}

# case[+more command line]  memory  CPUs  QEMU status  regex the log must match (besides the PASS lines)
# The CPUs boot as -smp cpus=N,cores=1 with one host thread each (-accel tcg,thread=multi).
cases=(
	"stress    128M 1 33 heap_sys == inuse \\+ idle; mm_check ok"
	"scavenge  128M 2 33 scavenge\\(0\\): released [1-9]"
	"irq       128M 2 33 in the timer handler: [1-9][0-9]+ mallocs"
	"growth    1G   1 33 CASE growth: PASS"
	"exhaust   32M  2 33 out of frames after [1-9]"
	"idle+mm.trace=1+mm.scvg_period_ms=50+mm.scvg_idle_ms=300 64M 2 33 ^mm: scvg [0-9]+: [0-9]+ MB released; inuse: [0-9]+, idle: [0-9]+, sys: [0-9]+, released: [0-9]+, consumed: [0-9]+ \\(MB\\)"
	"fault     64M  2 33 panic: page fault on an unmapped arena page: cr2=0x[0-9a-f]+ err=0x[0-9a-f]+ ip=0x[0-9a-f]+: released by the scavenger"
	"fault-unmapped 64M 1 33 panic: page fault on an unmapped arena page: cr2=0x[0-9a-f]+ err=0x[0-9a-f]+ ip=0x[0-9a-f]+: never mapped"
	"exception 64M  1 35 ^EXCEPTION vector=6 \\(#UD invalid opcode\\) err=0x0 cr2=0x[0-9a-f]+ ip=0x[0-9a-f]+"
	"stack-overflow 64M 2 35 ^EXCEPTION vector=8 \\(#DF double fault\\) err=0x0 cr2=0x[0-9a-f]+ ip=0x[0-9a-f]+"
	"liballoc  256M 1 33 overlapping blocks every 1000 calls: [1-9][0-9]* mismatches found"
	"nx        64M  2 35 ^EXCEPTION vector=14 \\(#PF page fault\\) err=0x11 cr2=0x[0-9a-f]+ ip=0x[0-9a-f]+"
	"smp       128M 4 33 ^smp: 4 CPUs running .*cpu3 \\(APIC 3\\)"
	"shootdown 64M  4 33 panic: page fault on an unmapped arena page: cr2=0x[0-9a-f]+ err=0x[0-9a-f]+ ip=0x[0-9a-f]+: released by the scavenger \\(cpu1\\)"
)

passed=0
failed=0
runs=() # "arch cc dir name cpus status want" per boot, in report order

# One boot: the log, then "status seconds" in log.rc.
boot() { # qemu iso mem args log cpus
	local start rc
	start=$(date +%s.%N)
	timeout "$timeout_s" "$1" -m "$3" -smp "cpus=$6,cores=1" -accel tcg,thread=multi -cdrom "$2" -boot d -nic none \
		-display none -serial stdio -no-reboot -monitor none \
		-device isa-debug-exit,iobase=0xf4,iosize=0x04 \
		-fw_cfg "name=opt/libmm/cmdline,string=$4" < /dev/null 2>&1 | tr -d '\r' > "$5"
	rc=${PIPESTATUS[0]}
	echo "$rc $(echo "$(date +%s.%N) $start" | awk '{printf "%.1f", $1 - $2}')" > "$5.rc"
}

for arch in "${arches[@]}"; do
	case $arch in
	x86) qemu=qemu-system-i386 ;;
	x86_64) qemu=qemu-system-x86_64 ;;
	*) echo "run.sh: unknown arch $arch"; exit 2 ;;
	esac
	for cc in "${ccs[@]}"; do
		dir=build/$arch$([ "$cc" = clang ] && echo -clang)
		if ! out=$(make -s iso-test ARCH="$arch" CC="$cc" 2>&1); then
			echo "$out"
			echo "FAIL $arch $cc build"
			failed=$((failed + 1))
			continue
		fi
		for c in "${cases[@]}"; do
			read -r name mem cpus status want <<< "$c"
			args="case=${name//+/ }"
			name=${name%%+*}
			[ "$name" = nx ] && [ "$arch" = x86 ] && continue # no NX without PAE
			rm -f "$dir/test-$name.log.rc"
			while [ "$(jobs -rp | wc -l)" -ge "$jobs_max" ]; do wait -n; done
			boot "$qemu" "$dir/kernel-test.iso" "$mem" "$args" "$dir/test-$name.log" "$cpus" &
			runs+=("$arch $cc $dir $name $cpus $status $want")
		done
	done
done
wait

for r in "${runs[@]}"; do
	read -r arch cc dir name cpus status want <<< "$r"
	log=$dir/test-$name.log
	read -r rc secs < "$log.rc" 2>/dev/null || { rc=none; secs=?; }
	why=""
	if [ "$rc" = 124 ]; then why="timed out after ${timeout_s}s"
	elif [ "$rc" != "$status" ]; then why="QEMU exit status $rc (want $status)"
	elif [ "$status" = 35 ]; then
		grep -Eq "$want" "$log" || why="log lacks /$want/"
	elif ! grep -q "^CASE $name: PASS" "$log"; then why="no 'CASE $name: PASS' line"
	elif grep -q "FAIL\|check failed" "$log"; then why="a FAIL line in the log"
	elif ! grep -q "^TESTS DONE: [1-9][0-9]* passed, 0 failed" "$log"; then why="no 'TESTS DONE: N passed, 0 failed'"
	elif ! grep -Eq "$want" "$log"; then why="log lacks /$want/"
	fi
	if [ -z "$why" ]; then
		printf 'PASS %-6s %-5s %-14s (%s CPU%s, %s s)\n' "$arch" "$cc" "$name" "$cpus" "$([ "$cpus" = 1 ] || echo s)" "$secs"
		passed=$((passed + 1))
	else
		printf 'FAIL %-6s %-5s %-14s %s (log: %s)\n' "$arch" "$cc" "$name" "$why" "$log"
		grep -E "check failed|FAIL|panic|EXCEPTION" "$log" | head -5 | sed 's/^/     /'
		failed=$((failed + 1))
	fi
done
echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
