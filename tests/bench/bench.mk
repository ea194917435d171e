# bench.mk - `make bench`: allocation workloads under glibc, libmm, mimalloc,
# tcmalloc, jemalloc and a liballoc-like baseline, then kmalloc against the
# liballoc-like allocator inside both kernels.  Included by the root Makefile;
# uses its CC, B, WARN and HOST_DIR.

BENCH_DIR    := $(B)/bench
# Benchmarks call malloc through the C library names: -fno-builtin-malloc
# keeps GCC from deleting free(malloc(n)) pairs.
BENCH_CFLAGS := $(WARN) -O2 -g -D_GNU_SOURCE -fno-builtin-malloc -pthread

.PHONY: bench bench-host bench-build

bench: bench-host bench-kernel-all

bench-host: bench-build $(MALLOC_SO)
	@bash tests/bench/bench.sh $(BENCH_DIR) $(MALLOC_SO)

bench-build: $(BENCH_DIR)/workloads $(BENCH_DIR)/runner $(BENCH_DIR)/liballoc_like.so

$(BENCH_DIR)/workloads: tests/bench/workloads.c tests/lib/workload.c tests/lib/workload.h | $(BENCH_DIR)
	$(CC) $(BENCH_CFLAGS) -Itests/lib tests/bench/workloads.c tests/lib/workload.c -o $@

$(BENCH_DIR)/runner: tests/bench/runner.c | $(BENCH_DIR)
	$(CC) $(WARN) -O2 $< -o $@

# tests/lib holds the one copy of the workloads and of the liballoc-like allocator
# (our kernel compiles the same files).
$(BENCH_DIR)/liballoc_like.so: tests/bench/liballoc_like.c tests/lib/liballoc_like.c tests/lib/liballoc_like.h | $(BENCH_DIR)
	$(CC) $(WARN) -O2 -g -D_GNU_SOURCE -fno-builtin-malloc -fPIC -shared -fvisibility=hidden -pthread -Itests/lib \
		tests/bench/liballoc_like.c tests/lib/liballoc_like.c -o $@

$(BENCH_DIR):
	mkdir -p $@
