# bench.mk - `make bench` (allocation workloads under glibc, libmm, mimalloc,
# tcmalloc, jemalloc and a liballoc-like baseline) and `make test-preload`
# (real programs under LD_PRELOAD=libmm-malloc.so).  Included by the root
# Makefile; uses its CC, B, WARN and HOST_DIR.

BENCH_DIR    := $(B)/bench
PRELOAD_DIR  := $(B)/preload
MALLOC_SO    := $(HOST_DIR)/libmm-malloc.so
# Benchmarks call malloc through the C library names: -fno-builtin-malloc
# keeps GCC from deleting free(malloc(n)) pairs.
BENCH_CFLAGS := $(WARN) -O2 -g -D_GNU_SOURCE -fno-builtin-malloc -pthread

.PHONY: bench bench-build test-preload

bench: bench-build $(MALLOC_SO)
	@bash tests/bench/bench.sh $(BENCH_DIR) $(MALLOC_SO)

bench-build: $(BENCH_DIR)/workloads $(BENCH_DIR)/runner $(BENCH_DIR)/liballoc_like.so

$(BENCH_DIR)/workloads: tests/bench/workloads.c | $(BENCH_DIR)
	$(CC) $(BENCH_CFLAGS) $< -o $@

$(BENCH_DIR)/runner: tests/bench/runner.c | $(BENCH_DIR)
	$(CC) $(WARN) -O2 $< -o $@

$(BENCH_DIR)/liballoc_like.so: tests/bench/liballoc_like.c | $(BENCH_DIR)
	$(CC) $(WARN) -O2 -g -D_GNU_SOURCE -fno-builtin-malloc -fPIC -shared -fvisibility=hidden -pthread $< -o $@

# ---- test-preload --------------------------------------------------------------
PRELOAD_PROGS := $(PRELOAD_DIR)/threads $(PRELOAD_DIR)/api
# The debug build too: it must report foreign pointers on stderr.
DEBUG_MALLOC_SO := $(B)/host/debug$(if $(filter clang,$(notdir $(CC))),-clang)/libmm-malloc.so

test-preload: $(MALLOC_SO) $(PRELOAD_PROGS)
	@$(MAKE) --no-print-directory DEBUG=1 host
	@bash tests/preload/run.sh $(MALLOC_SO) $(PRELOAD_DIR) $(DEBUG_MALLOC_SO)

$(PRELOAD_DIR)/%: tests/preload/%.c | $(PRELOAD_DIR)
	$(CC) $(WARN) -O2 -g -D_GNU_SOURCE -fno-builtin-malloc -pthread $< -o $@ -ldl

$(BENCH_DIR) $(PRELOAD_DIR):
	mkdir -p $@
