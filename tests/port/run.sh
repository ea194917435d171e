#!/bin/sh
# run.sh - runs the port checks and hosts, prints their PASS/FAIL lines and a
# final "N passed, N failed"; exits 1 if anything failed.  A host that dies
# without printing its own FAIL line is counted as one failure.
# Usage: sh tests/port/run.sh [BINDIR [RUNNER]]   (no BINDIR: lib-check only)
dir=$1
runner=$2
log=$(mktemp)
trap 'rm -f $log' EXIT
sh tests/port/lib-check.sh | tee -a $log
if [ -n "$dir" ]; then
	for host in pool_host liballoc_host; do
		$runner $dir/$host >$log.one 2>&1
		rc=$?
		cat $log.one | tee -a $log
		if [ $rc != 0 ] && ! grep -q '^FAIL' $log.one; then
			echo "FAIL $host: exited with status $rc" | tee -a $log
		fi
		rm -f $log.one
	done
fi
np=$(grep -c '^PASS' $log)
nf=$(grep -c '^FAIL' $log)
echo "$np passed, $nf failed"
[ $nf = 0 ]
