#!/bin/sh
# run.sh - runs the port checks and hosts, prints their PASS/FAIL lines and a
# final "N passed, N failed"; exits 1 if anything failed.  A host that dies
# (any exit status but 0, or 1 after its own FAIL lines) counts as one more failure.
# Usage: sh tests/port/run.sh [BINDIRS [RUNNER]]   (no BINDIRS: lib-check only)
# BINDIRS is a space-separated list (e.g. build/port/x86_64 build/port/x86_64-debug),
# an entry dir@runner runs that directory's hosts with its own runner;
# each host's lines are tagged with its directory's name.
dirs=$1
default_runner=$2
log=$(mktemp)
trap 'rm -f $log $log.one' EXIT
sh tests/port/lib-check.sh | tee -a $log
for entry in $dirs; do
	# dir@runner: a host directory with its own runner (qemu-riscv64-static, ...)
	dir=${entry%%@*}
	runner=$default_runner
	tag=$(basename $dir)
	hosts="pool_host \"pool_host chunks\" \"pool_host refusals\" \"pool_host traps\" liballoc_host migrate_host"
	case $entry in *@*)
		runner="env POOL_OPS_DIV=4 ${entry#*@}" # a quarter of the stress under qemu-user
		hosts="pool_host \"pool_host chunks\" \"pool_host refusals\" \"pool_host traps\"" ;; # other arches: the pool host
	esac
	eval "set -- $hosts"
	for host in "$@"; do
		$runner $dir/$host >$log.one 2>&1
		rc=$?
		sed "s/^\(PASS\|FAIL\) /\1 [$tag] /" $log.one | tee -a $log
		# 1 is a host's own "some case failed"; anything else is a crash.
		if [ $rc != 0 ] && { [ $rc != 1 ] || ! grep -q '^FAIL' $log.one; }; then
			echo "FAIL [$tag] $host: exited with status $rc" | tee -a $log
		fi
	done
done
np=$(grep -c '^PASS' $log)
nf=$(grep -c '^FAIL' $log)
echo "$np passed, $nf failed"
[ $nf = 0 ]
