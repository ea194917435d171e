#!/bin/sh
# run.sh - runs the port checks and hosts, prints their PASS/FAIL lines and a
# final "N passed, N failed"; exits 1 if anything failed.  A host that dies
# (any exit status but 0, or 1 after its own FAIL lines) counts as one more failure.
# Usage: sh tests/port/run.sh [BINDIR [RUNNER]]   (no BINDIR: lib-check only)
dir=$1
runner=$2
log=$(mktemp)
trap 'rm -f $log' EXIT
sh tests/port/lib-check.sh | tee -a $log
if [ -n "$dir" ]; then
	for host in pool_host "pool_host chunks" liballoc_host; do
		$runner $dir/$host >$log.one 2>&1
		rc=$?
		cat $log.one | tee -a $log
		# 1 is a host's own "some case failed"; anything else is a crash.
		if [ $rc != 0 ] && { [ $rc != 1 ] || ! grep -q '^FAIL' $log.one; }; then
			echo "FAIL $host: exited with status $rc" | tee -a $log
		fi
		rm -f $log.one
	done
fi
np=$(grep -c '^PASS' $log)
nf=$(grep -c '^FAIL' $log)
echo "$np passed, $nf failed"
[ $nf = 0 ]
