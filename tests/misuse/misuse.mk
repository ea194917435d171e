# misuse.mk - `make test-misuse`: the heap-misuse programs of tests/misuse under
# glibc, libmm release and libmm DEBUG=1 (LD_PRELOAD), and the table of what
# each caught.  Included by tests/tests.mk; uses the root Makefile's CC, B,
# WARN, MALLOC_SO, host_dir and variant.

MISUSE_DIR   := $(B)/misuse
MISUSE_PROGS := $(addprefix $(MISUSE_DIR)/,overflow underflow double_free bad_free use_after_free zero_size)
MISUSE_DEBUG_SO := $(call host_dir,$(call variant,1,$(CC)))/libmm-malloc.so
.PHONY: test-misuse

test-misuse: $(MALLOC_SO) $(MISUSE_PROGS)
	@$(MAKE) --no-print-directory DEBUG=1 host
	@bash tests/misuse/run.sh $(MISUSE_DIR) $(MALLOC_SO) $(MISUSE_DEBUG_SO)

# The misuse is the point: no warnings about it, and no optimisation that could drop it.
$(MISUSE_DIR)/%: tests/misuse/%.c tests/misuse/misuse.h | $(MISUSE_DIR)
	$(CC) -std=gnu11 -O1 -g -fno-builtin-malloc -fno-builtin-free -w $< -o $@

$(MISUSE_DIR):
	mkdir -p $@
