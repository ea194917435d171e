#!/bin/sh
# lib-check.sh - builds the freestanding libmm.a and the liballoc adapter for
# i386 and x86_64 with gcc and clang, and checks that each archive, linked as
# a whole, needs nothing but hooks declared in mm/sys.h, at most 8 (no libc, no
# libgcc helpers such as __udivdi3, no implicit memcpy/memset, no
# __stack_chk_fail), has no TLS or constructors a kernel could not honour and
# no SSE instructions.  Prints one PASS/FAIL line a check; exits 1 on failure.
# The real `nm -u` lists are kept in $B/port/nm-u-<arch>-<cc>.txt (B: build).
# Usage: MAKE=make sh tests/port/lib-check.sh   (from the repository root)
MAKE=${MAKE:-make}
B=${B:-build}
OUT=$B/port
mkdir -p $OUT
HOOKS=$(grep -oE '\bmm_sys_[a-z_]+[[:space:]]*\(' mm/sys.h | tr -d '( \t' | sort -u)
LA_HOOKS="liballoc_lock liballoc_unlock liballoc_alloc liballoc_free mm_liballoc_panic"
fails=0

pass() { echo "PASS $1"; }
fail() { echo "FAIL $1: $2"; fails=$((fails + 1)); }

# only_from ALLOWED SYMS: prints the symbols of SYMS not in ALLOWED
only_from() {
	for s in $2; do
		case " $(echo $1) " in *" $s "*) ;; *) printf '%s ' "$s" ;; esac
	done
}

for arch in x86 x86_64; do
	case $arch in x86) emu=elf_i386 ;; x86_64) emu=elf_x86_64 ;; esac
	for cc in gcc clang; do
		name="lib-check $arch $cc"
		dir=$($MAKE -s --no-print-directory port-lib-dir ARCH=$arch CC=$cc)
		log=$OUT/lib-$arch-$cc.log
		if ! $MAKE --no-print-directory -j2 lib liballoc ARCH=$arch CC=$cc >$log 2>&1; then
			fail "$name: make lib liballoc" "build failed: $(grep -m3 -E 'error|Error' $log | tr '\n' ' ')"
			continue
		fi
		pass "$name: make lib liballoc (freestanding, -Wall -Wextra -Werror)"

		# The whole archive as one relocatable object: its undefined symbols
		# are exactly what a kernel must provide.
		rm -f $OUT/all-$arch-$cc.o $OUT/la-$arch-$cc.o $OUT/ex-$arch-$cc.o
		ld -r -m $emu --whole-archive $dir/libmm.a -o $OUT/all-$arch-$cc.o 2>>$log
		nm -u $OUT/all-$arch-$cc.o >$OUT/nm-u-$arch-$cc.txt
		syms=$(awk '{print $NF}' $OUT/nm-u-$arch-$cc.txt)
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
		sse=$(objdump -d $dir/libmm.a | grep -cE '%[xy]mm[0-9]')
		if [ -n "$bad" ] || [ "$sse" != 0 ]; then
			fail "$name: no TLS, constructors or SSE" "sections: ${bad:-none}; SSE instructions: $sse"
		else
			pass "$name: no TLS, constructors or SSE"
		fi

		# The adapter plus the core need only liballoc's four hooks (+ the weak panic).
		ld -r -m $emu --whole-archive $dir/libmm-liballoc.a -o $OUT/la-$arch-$cc.o 2>>$log
		nm -u $OUT/la-$arch-$cc.o >$OUT/nm-u-liballoc-$arch-$cc.txt
		lsyms=$(awk '{print $NF}' $OUT/nm-u-liballoc-$arch-$cc.txt)
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

		# The README's example port links against libmm.a needing only its kernel's three functions.
		ld -r -m $emu $dir/example_glue.o $dir/libmm.a -o $OUT/ex-$arch-$cc.o 2>>$log
		esyms=$(nm -u $OUT/ex-$arch-$cc.o | awk '{print $NF}' | sort | tr '\n' ' ')
		if [ "$esyms" = "khalt kputs this_cpu ticks_ns " ]; then
			pass "$name: README example port links with only its kernel's functions"
		else
			fail "$name: README example port links with only its kernel's functions" "undefined: $esyms"
		fi
	done
done

# Variants a kernel may use: DEBUG=1 (-O1, MM_DEBUG checks) for every arch and
# compiler, in the usual build/<arch>-debug[-clang]/, and MCMODEL=kernel
# (higher-half x86_64), under build/port/ (the Makefile gives it no directory of its own).
for v in "x86 gcc DEBUG=1" "x86 clang DEBUG=1" "x86_64 gcc DEBUG=1" "x86_64 clang DEBUG=1" \
	"x86_64 gcc MCMODEL=kernel" "x86_64 clang MCMODEL=kernel"; do
	set -- $v
	arch=$1 cc=$2 var=$3
	case $arch in x86) emu=elf_i386 ;; x86_64) emu=elf_x86_64 ;; esac
	case $var in
	DEBUG=*) b=$B ;;
	*) b=$OUT/$(echo $var | tr 'A-Z=' 'a-z-') ;;
	esac
	dir=$($MAKE -s --no-print-directory port-lib-dir B=$b ARCH=$arch CC=$cc $var)
	name="lib-check $arch $cc $var"
	log=$OUT/lib-$arch-$cc-$(echo $var | tr '=' '-').log
	if ! $MAKE --no-print-directory -j2 lib B=$b ARCH=$arch CC=$cc $var >$log 2>&1; then
		fail "$name: make lib" "build failed: $(grep -m3 -E 'error|Error' $log | tr '\n' ' ')"
		continue
	fi
	all=$OUT/all-$arch-$cc-$(echo $var | tr 'A-Z=' 'a-z-').o
	rm -f $all
	ld -r -m $emu --whole-archive $dir/libmm.a -o $all 2>>$log
	syms=$(nm -u $all | awk '{print $NF}')
	extra=$(only_from "$HOOKS" "$syms")
	if [ -n "$extra" ] || [ -z "$syms" ]; then
		fail "$name: builds, nm -u only mm/sys.h hooks" "not hooks: ${extra:-none (empty archive?)}"
	else
		pass "$name: builds, nm -u only mm/sys.h hooks"
	fi
done
[ $fails = 0 ]
