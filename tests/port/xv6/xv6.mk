# tests/port/xv6/xv6.mk - the xv6 port test, included by the root Makefile.
#
#   make test-xv6 [XV6=dir-or-tarball] [XV6_USERTESTS=1]
#       builds the freestanding i386 archive (make lib ARCH=x86), unpacks MIT's
#       xv6-public into $(B)/xv6/, applies the port (tests/port/xv6/: the hooks
#       mm_xv6.c, the test system calls mmtest_kern.c, the driver mmtest.c,
#       xv6.patch), builds it and boots it in QEMU on 4 CPUs: the kernel heap
#       stress on every CPU and mm_check must pass.  XV6_USERTESTS=1 runs xv6's
#       usertests afterwards (minutes under TCG).  Without xv6: a SKIP line.
#   make test-xv6-old
#       the same with the old cache advice (get does not pin): must fail.
# XV6 defaults to the tarball kept next to the repository, if there is one.

XV6 ?= $(firstword $(wildcard ../shared/vendor/xv6-public-*.tar.gz))
XV6_USERTESTS ?= 0
XV6_LIB := $(B)/x86/libmm.a

.PHONY: test-xv6
test-xv6:
	@mkdir -p $(B) && $(MAKE) --no-print-directory lib ARCH=x86 DEBUG=0 CC=gcc >$(B)/xv6-lib.log 2>&1 || \
		{ cat $(B)/xv6-lib.log; echo "FAIL xv6: make lib ARCH=x86"; echo "0 passed, 1 failed"; exit 1; }
	@sh tests/port/xv6/run.sh "$(XV6)" $(XV6_LIB) $(B)/xv6 $(XV6_USERTESTS)

# The same port with the old cache advice (no pinning): must crash or fail.
.PHONY: test-xv6-old
test-xv6-old:
	@mkdir -p $(B) && $(MAKE) --no-print-directory lib ARCH=x86 DEBUG=0 CC=gcc >$(B)/xv6-lib.log 2>&1 || \
		{ cat $(B)/xv6-lib.log; echo "FAIL xv6: make lib ARCH=x86"; echo "0 passed, 1 failed"; exit 1; }
	@sh tests/port/xv6/run.sh "$(XV6)" $(XV6_LIB) $(B)/xv6-old 0 1
