# preload.mk - `make test-preload`: real programs under LD_PRELOAD=libmm-malloc.so,
# release and DEBUG builds.  Included by the root Makefile; uses its CC, B, WARN,
# HOST_DIR and host_dir.

PRELOAD_DIR  := $(B)/preload
.PHONY: test-preload
PRELOAD_PROGS := $(PRELOAD_DIR)/threads $(PRELOAD_DIR)/api $(PRELOAD_DIR)/align $(PRELOAD_DIR)/limits \
                 $(PRELOAD_DIR)/forkstdio $(PRELOAD_DIR)/forksignal
# The debug build too: it must report foreign pointers on stderr.
DEBUG_MALLOC_SO := $(call host_dir,$(call variant,1,$(CC)))/libmm-malloc.so

test-preload: $(MALLOC_SO) $(PRELOAD_PROGS)
	@$(MAKE) --no-print-directory DEBUG=1 host
	@bash tests/preload/run.sh $(MALLOC_SO) $(PRELOAD_DIR) $(DEBUG_MALLOC_SO)

$(PRELOAD_DIR)/%: tests/preload/%.c | $(PRELOAD_DIR)
	$(CC) $(WARN) -O2 -g -D_GNU_SOURCE -fno-builtin-malloc -pthread $< -o $@ -ldl

$(PRELOAD_DIR):
	mkdir -p $@
