# fpregs.awk - counts instructions that use floating-point or SIMD registers in
# an `objdump -d --no-show-raw-insn` listing (-v ARCH=x86|x86_64|riscv64|aarch64).
# A kernel's allocator must not touch them: the kernel does not save them.
# Branch targets (hex addresses such as "fa0" or "d18") are dropped first.
BEGIN { FS = "\t" }
$1 ~ /^ *[0-9a-f]+:$/ && NF >= 2 {
	op = $2; args = $3
	if (NF == 2 && match(op, /[ ]+/)) { args = substr(op, RSTART + RLENGTH); op = substr(op, 1, RSTART - 1) }
	sub(/[ ]+$/, "", op)
	sub(/[#<].*/, "", args); sub(/\/\/.*/, "", args); sub(/[ ]+$/, "", args)
	if (op ~ /^(j|jal|jr|jalr|b|bl|bl?r|b\..*|beq.*|bne.*|bl[te].*|bg[te].*|bnez|beqz|cbn?z|tbn?z|adrp?|call|jmp|j[a-z]+)$/)
		sub(/[^, ]*$/, "", args)
	line = op " " args
	if (ARCH == "riscv64" && (op ~ /^f/ && op !~ /^fence/ || args ~ /(^|[ ,(])f[tsa][0-9]+([ ,)]|$)/)) n++
	else if (ARCH == "aarch64" && args ~ /(^|[ ,[{])[qdsbhv]([0-9]|[12][0-9]|3[01])(\.[0-9a-z]+)?([] ,.}]|$)/) n++
	else if ((ARCH == "x86" || ARCH == "x86_64") && (args ~ /%[xyz]mm[0-9]/ || op ~ /^f(ld|st|add|sub|mul|div|ild|ist|xch|comp?|ucom|chs|abs|sqrt)/)) n++
	if (n && !shown) { print "first: " line > "/dev/stderr"; shown = 1 }
}
END { print n + 0 }
