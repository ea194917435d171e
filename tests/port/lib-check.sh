#!/bin/sh
# lib-check.sh - builds the freestanding libmm.a and the liballoc adapter for
# i386, x86_64, riscv64 and aarch64 with gcc and clang (release and DEBUG=1),
# and checks that each archive, linked as a whole, needs nothing but hooks
# declared in mm/sys.h, at most 8 (no libc, no libgcc helpers such as
# __udivdi3 or __ctzdi2, no libatomic, no implicit memcpy/memset, no
# __stack_chk_fail), has no TLS or constructors a kernel could not honour, no
# instruction touching a floating-point or SIMD register, and a bounded stack:
# no recursion, no frame above MAX_FRAME bytes, and (gcc's call graph) no
# chain of calls inside the core deeper than STACK_BOUND bytes.
# Prints one PASS/FAIL line a check; exits 1 on failure.
# The real `nm -u` lists are kept in $B/port/nm-u-<arch>-<cc>.txt (B: build),
# the deepest call chains in $B/port/stack-<arch>-<cc>[-variant].txt.
# Usage: MAKE=make sh tests/port/lib-check.sh   (from the repository root)
MAKE=${MAKE:-make}
B=${B:-build}
OUT=$B/port
mkdir -p $OUT
HOOKS=$(grep -oE '\bmm_sys_[a-z_]+[[:space:]]*\(' mm/sys.h | tr -d '( \t' | sort -u)
LA_HOOKS="liballoc_lock liballoc_unlock liballoc_alloc liballoc_free mm_liballoc_panic"
# The stack a kernel must budget for the core (hooks not included), and the
# largest single frame.  Measured: 896-1056 bytes (see README, "Stack").
STACK_BOUND=1536
MAX_FRAME=256
# The one indirect call in the core (mm_heap_walk_free) calls one of these.
CALLBACKS="scavenge_span check_free_span check_treap_node"
ARCHES=${LIB_CHECK_ARCHES:-x86 x86_64 riscv64 aarch64}
fails=0

pass() { echo "PASS $1"; }
fail() { echo "FAIL $1: $2"; fails=$((fails + 1)); }

# only_from ALLOWED SYMS: prints the symbols of SYMS not in ALLOWED
only_from() {
	for s in $2; do
		case " $(echo $1) " in *" $s "*) ;; *) printf '%s ' "$s" ;; esac
	done
}

# tools ARCH: sets LD (ld -r for that arch), OBJDUMP
tools() {
	case $1 in
	x86) LD="ld -r -m elf_i386" OBJDUMP=objdump ;;
	x86_64) LD="ld -r -m elf_x86_64" OBJDUMP=objdump ;;
	*) LD="$1-linux-gnu-ld -r" OBJDUMP=$1-linux-gnu-objdump ;;
	esac
}

# check_lib NAME ARCH CC DIR TAG: the checks every archive gets.
check_lib() {
	name=$1 arch=$2 cc=$3 dir=$4 tag=$5
	tools $arch
	log=$OUT/lib-$tag.log
	# The whole archive as one relocatable object: its undefined symbols
	# are exactly what a kernel must provide.
	rm -f $OUT/all-$tag.o
	$LD --whole-archive $dir/libmm.a -o $OUT/all-$tag.o 2>>$log
	nm -u $OUT/all-$tag.o >$OUT/nm-u-$tag.txt
	syms=$(awk '{print $NF}' $OUT/nm-u-$tag.txt)
	extra=$(only_from "$HOOKS" "$syms")
	if [ -n "$extra" ]; then
		fail "$name: nm -u libmm.a only mm/sys.h hooks" "not hooks: $extra"
	elif [ -z "$syms" ]; then
		fail "$name: nm -u libmm.a only mm/sys.h hooks" "no undefined symbols at all (empty archive?)"
	elif [ $(echo $syms | wc -w) -gt 8 ]; then
		fail "$name: nm -u libmm.a only mm/sys.h hooks" "$(echo $syms | wc -w) required hooks, the target is at most 8"
	else
		pass "$name: nm -u libmm.a only mm/sys.h hooks ($(echo $syms | wc -w) required, at most 8; $(echo $HOOKS | wc -w) declared)"
	fi

	bad=$(readelf -SW $dir/libmm.a 2>/dev/null | grep -oE '\.(tdata|tbss|init_array|fini_array|ctors|dtors)\b' | sort -u | tr '\n' ' ')
	fp=$($OBJDUMP -d --no-show-raw-insn $dir/libmm.a 2>>$log | awk -v ARCH=$arch -f tests/port/fpregs.awk 2>>$log)
	if [ -n "$bad" ] || [ "$fp" != 0 ]; then
		fail "$name: no TLS, constructors or FP/SIMD registers" "sections: ${bad:-none}; FP/SIMD instructions: $fp (first in $log)"
	else
		pass "$name: no TLS, constructors or FP/SIMD registers"
	fi

	# Stack: every frame static and small; with gcc, the deepest chain of calls.
	big=$(cat $dir/mm/*.su | awk -F'\t' -v max=$MAX_FRAME '$2 > max || ($3 ~ /dynamic/ && $3 !~ /bounded/) {printf "%s %s %s; ", $1, $2, $3}')
	if [ -n "$big" ]; then
		fail "$name: every stack frame static and at most $MAX_FRAME bytes" "$big"
	elif ls $dir/mm/*.ci >/dev/null 2>&1; then
		awk -v CALLBACKS="$CALLBACKS" -f tests/port/stack.awk $dir/mm/*.ci >$OUT/stack-$tag.txt
		depth=$(awk '$1 == "DEPTH" {print $2}' $OUT/stack-$tag.txt)
		rec=$(awk '$1 == "RECURSION" {printf "%s ", $2}' $OUT/stack-$tag.txt)
		maxf=$(cat $dir/mm/*.su | awk -F'\t' '$2 > m {m = $2} END {print m}')
		if [ -n "$rec" ] || [ -z "$depth" ] || [ "$depth" -gt $STACK_BOUND ]; then
			fail "$name: deepest stack at most $STACK_BOUND bytes" \
				"${depth:-?} bytes; recursion: ${rec:-none}; $(awk '$1 == "DEPTH" {$1 = $2 = ""; print}' $OUT/stack-$tag.txt)"
		else
			pass "$name: deepest stack $depth bytes (bound $STACK_BOUND, no recursion, largest frame $maxf): $(awk '$1 == "DEPTH" {print $3}' $OUT/stack-$tag.txt)"
		fi
	else
		maxf=$(cat $dir/mm/*.su | awk -F'\t' '$2 > m {m = $2} END {print m}')
		pass "$name: every stack frame static and at most $MAX_FRAME bytes (largest $maxf)"
	fi
}

for arch in $ARCHES; do
	for cc in gcc clang; do
		name="lib-check $arch $cc"
		tag=$arch-$cc
		dir=$($MAKE -s --no-print-directory port-lib-dir ARCH=$arch CC=$cc)
		log=$OUT/lib-$tag.log
		if ! $MAKE --no-print-directory -j2 lib liballoc ARCH=$arch CC=$cc >$log 2>&1; then
			fail "$name: make lib liballoc" "build failed: $(grep -m3 -E 'error|Error' $log | tr '\n' ' ')"
			continue
		fi
		pass "$name: make lib liballoc (freestanding, -Wall -Wextra -Werror)"
		check_lib "$name" $arch $cc $dir $tag
		tools $arch

		# The adapter plus the core need only liballoc's four hooks (+ the weak panic).
		$LD --whole-archive $dir/libmm-liballoc.a -o $OUT/la-$tag.o 2>>$log
		nm -u $OUT/la-$tag.o >$OUT/nm-u-liballoc-$tag.txt
		lsyms=$(awk '{print $NF}' $OUT/nm-u-liballoc-$tag.txt)
		extra=$(only_from "$LA_HOOKS" "$lsyms")
		defs=$(nm --defined-only $dir/liballoc_compat.o | awk '$2=="T"{print $3}' | sort | tr '\n' ' ')
		kdefs=$(nm --defined-only $dir/liballoc_compat_k.o | awk '$2=="T"{print $3}' | grep -cE '^k(malloc|free|calloc|realloc)$')
		missing=""
		for f in malloc free calloc realloc; do
			case " $defs" in *" $f "*) ;; *) missing="$missing $f" ;; esac
		done
		if [ -n "$extra" ] || [ -n "$missing" ] || [ "$kdefs" != 4 ]; then
			fail "$name: libmm-liballoc.a needs only liballoc's hooks" \
				"extra undefined: ${extra:-none}; missing definitions:${missing:- none}; k-names: $kdefs/4"
		else
			pass "$name: libmm-liballoc.a needs only liballoc's hooks ($(echo $lsyms | tr '\n' ' '))"
		fi

		# The README's example port (x86 interrupt flags, so x86 only) links
		# against libmm.a needing only its kernel's functions.
		case $arch in x86 | x86_64) ;; *) continue ;; esac
		$LD $dir/example_glue.o $dir/libmm.a -o $OUT/ex-$tag.o 2>>$log
		esyms=$(nm -u $OUT/ex-$tag.o | awk '{print $NF}' | sort | tr '\n' ' ')
		if [ "$esyms" = "khalt kputs this_cpu ticks_ns " ]; then
			pass "$name: README example port links with only its kernel's functions"
		else
			fail "$name: README example port links with only its kernel's functions" "undefined: $esyms"
		fi
	done
done

# Variants a kernel may use: DEBUG=1 (-O1, MM_DEBUG checks) for every arch and
# compiler, in the usual build/<arch>-debug[-clang]/; MCMODEL=kernel
# (higher-half x86_64) under build/port/ (the Makefile gives it no directory of
# its own); larger pages (PAGE_SHIFT=14, 16) in build/<arch>-page16k/ and so on.
variants=""
for arch in $ARCHES; do
	variants="$variants $arch:gcc:DEBUG=1 $arch:clang:DEBUG=1"
done
case " $ARCHES " in *" x86_64 "*)
	variants="$variants x86_64:gcc:MCMODEL=kernel x86_64:clang:MCMODEL=kernel x86_64:gcc:PAGE_SHIFT=14" ;;
esac
case " $ARCHES " in *" aarch64 "*) variants="$variants aarch64:gcc:PAGE_SHIFT=16 aarch64:clang:PAGE_SHIFT=14" ;; esac
case " $ARCHES " in *" riscv64 "*) variants="$variants riscv64:gcc:PAGE_SHIFT=16 riscv64:gcc:RISCV_MABI=lp64d riscv64:clang:RISCV_MABI=lp64d" ;; esac
case " $ARCHES " in *" x86 "*) variants="$variants x86:gcc:PAGE_SHIFT=14" ;; esac
for v in $variants; do
	arch=${v%%:*} rest=${v#*:}
	cc=${rest%%:*} var=${rest#*:}
	case $var in
	MCMODEL=*) b=$OUT/$(echo $var | tr 'A-Z=' 'a-z-') ;;
	*) b=$B ;;
	esac
	dir=$($MAKE -s --no-print-directory port-lib-dir B=$b ARCH=$arch CC=$cc $var)
	name="lib-check $arch $cc $var"
	tag=$arch-$cc-$(echo $var | tr 'A-Z=' 'a-z-')
	log=$OUT/lib-$tag.log
	if ! $MAKE --no-print-directory -j2 lib B=$b ARCH=$arch CC=$cc $var >$log 2>&1; then
		fail "$name: make lib" "build failed: $(grep -m3 -E 'error|Error' $log | tr '\n' ' ')"
		continue
	fi
	check_lib "$name" $arch $cc $dir $tag
done
[ $fails = 0 ]
