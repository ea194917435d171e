# bench.mk - `make bench`: allocation workloads (workloads.c, workloads2.c) under
# glibc, libmm, mimalloc, tcmalloc, jemalloc and a liballoc-like baseline, a
# report with charts (build/bench/report.md), then kmalloc against the
# liballoc-like allocator inside both kernels.  `make bench-instr`: callgrind's
# instructions per malloc+free pair on a cache-hit ring (ring.c).  Included by
# the root Makefile; uses its CC, B, WARN, HOST_DIR and MALLOC_SO.

BENCH_DIR    := $(B)/bench
# Benchmarks call malloc through the C library names: -fno-builtin-malloc
# keeps GCC from deleting free(malloc(n)) pairs.
BENCH_CFLAGS := $(WARN) -O2 -g -D_GNU_SOURCE -fno-builtin-malloc -pthread

.PHONY: bench bench-host bench-build bench-instr

bench: bench-host bench-kernel-all

bench-host: bench-build $(MALLOC_SO)
	@bash tests/bench/bench.sh $(BENCH_DIR) $(MALLOC_SO)

bench-build: $(BENCH_DIR)/workloads $(BENCH_DIR)/workloads2 $(BENCH_DIR)/runner $(BENCH_DIR)/liballoc_like.so

$(BENCH_DIR)/workloads: tests/bench/workloads.c tests/bench/rng.h tests/lib/workload.c tests/lib/workload.h | $(BENCH_DIR)
	$(CC) $(BENCH_CFLAGS) -Itests/lib tests/bench/workloads.c tests/lib/workload.c -o $@

# `make bench-instr`: callgrind's instructions per malloc+free pair (ring.c).
# With clang installed, one more column: the same library built by clang
# (libmm-clang), copied without its DWARF 5 debug info, which valgrind 3.19
# cannot read.
bench-instr: $(BENCH_DIR)/ring $(BENCH_DIR)/ring-mm $(BENCH_DIR)/ring-noop $(MALLOC_SO)
	@if command -v clang >/dev/null; then \
		$(MAKE) --no-print-directory CC=clang DEBUG=0 host >/dev/null && \
		strip -g -o $(BENCH_DIR)/libmm-clang.so $(B)/host/clang/libmm-malloc.so; fi
	@BENCH_EXTRA="$(BENCH_EXTRA)$(if $(shell command -v clang), libmm-clang=$(BENCH_DIR)/libmm-clang.so)" \
		bash tests/bench/bench-instr.sh $(BENCH_DIR) $(MALLOC_SO)

$(BENCH_DIR)/ring: tests/bench/ring.c | $(BENCH_DIR)
	$(CC) $(BENCH_CFLAGS) $< -o $@

$(BENCH_DIR)/ring-noop: tests/bench/ring.c | $(BENCH_DIR)
	$(CC) $(BENCH_CFLAGS) -DRING_NOOP $< -o $@

# The inline API: mm_malloc/mm_free from the hosted libmm.a, linked statically.
$(BENCH_DIR)/ring-mm: tests/bench/ring.c $(HOST_DIR)/libmm.a | $(BENCH_DIR)
	$(CC) $(BENCH_CFLAGS) -DRING_MM -Imm $< $(HOST_DIR)/libmm.a -o $@

$(BENCH_DIR)/workloads2: tests/bench/workloads2.c tests/bench/rng.h | $(BENCH_DIR)
	$(CC) $(BENCH_CFLAGS) $< -o $@

$(BENCH_DIR)/runner: tests/bench/runner.c | $(BENCH_DIR)
	$(CC) $(WARN) -O2 $< -o $@

# tests/lib holds the one copy of the workloads and of the liballoc-like allocator
# (our kernel compiles the same files).
$(BENCH_DIR)/liballoc_like.so: tests/bench/liballoc_like.c tests/lib/liballoc_like.c tests/lib/liballoc_like.h | $(BENCH_DIR)
	$(CC) $(WARN) -O2 -g -D_GNU_SOURCE -fno-builtin-malloc -fPIC -shared -fvisibility=hidden -pthread -Itests/lib \
		tests/bench/liballoc_like.c tests/lib/liballoc_like.c -o $@

$(BENCH_DIR):
	mkdir -p $@
