# stack.awk - the deepest stack the core can use, from gcc's call graphs
# (-fcallgraph-info=su: one .ci file per object, each function with its frame
# size from -fstack-usage, and its calls).  Prints
#   DEPTH <bytes> <entry> <f1>(<frame>) > <f2>(<frame>) > ...
# for the worst entry point, then a line per recursion found (RECURSION f > g > f)
# and per frame that is not static (DYNAMIC f).  Calls to functions outside the
# core (the hooks of mm/sys.h) count 0: the host adds its own deepest hook.
# Indirect calls (the core's only one is mm_heap_walk_free's callback) count as
# the deepest of the functions named in CALLBACKS (-v CALLBACKS="a b").
# Usage: awk -v CALLBACKS="scavenge_span check_free_span" -f stack.awk DIR/*.ci
function node_title(line) { sub(/^node: \{ title: "/, "", line); sub(/".*/, "", line); return line }
function attr(line, key,   v) {
	v = line; sub(".*" key ": \"", "", v); sub(/".*/, "", v); return v
}
/^node: / {
	name = node_title($0)
	if ($0 ~ /bytes \(/) {
		b = $0; sub(/.*\\n/, "", b); split(b, w, " ")
		key = FILENAME ":" name
		frame[key] = w[1] + 0
		if (b !~ /\(static\)/) dynamic[key] = 1
		if (!(name in home)) home[name] = key
		local[key] = 1
	}
	next
}
/^edge: / {
	src = attr($0, "sourcename"); dst = attr($0, "targetname")
	ne++; esrc[ne] = FILENAME ":" src; edst[ne] = dst; efile[ne] = FILENAME
	next
}
# The key of a call's target: the function of the same file, else the global one.
function resolve(file, name) {
	if ((file ":" name) in local) return file ":" name
	if (name in home) return home[name]
	return ""
}
# Deepest stack from f down; sets best path in path[f].  Marks recursion.
function depth(f,   i, t, d, m, mp, k, n, cb) {
	if (f in done) return done[f]
	if (f in onstack) { recursion[f] = 1; return 0 }
	onstack[f] = 1
	m = 0; mp = ""
	for (i = 1; i <= nout[f]; i++) {
		t = out[f, i]
		if (t == "__indirect_call") {
			n = split(CALLBACKS, cb, " ")
			for (k = 1; k <= n; k++) {
				if (!(cb[k] in home)) continue
				d = depth(home[cb[k]])
				if (d > m) { m = d; mp = path[home[cb[k]]] }
			}
			continue
		}
		d = depth(t)
		if (d > m) { m = d; mp = path[t] }
	}
	delete onstack[f]
	short = f; sub(/.*:/, "", short)
	path[f] = short "(" frame[f] ")" (mp != "" ? " > " mp : "")
	done[f] = frame[f] + m
	return done[f]
}
END {
	for (i = 1; i <= ne; i++) {
		if (edst[i] == "__indirect_call") t = "__indirect_call"
		else t = resolve(efile[i], edst[i])
		if (t == "") continue           # a hook: the host's frame
		if (!((esrc[i], t) in seen)) { seen[esrc[i], t] = 1; out[esrc[i], ++nout[esrc[i]]] = t }
	}
	worst = -1
	for (f in frame) {
		d = depth(f)
		if (d > worst) { worst = d; wf = f }
	}
	short = wf; sub(/.*:/, "", short)
	print "DEPTH", worst, short, path[wf]
	for (f in recursion) { s = f; sub(/.*:/, "", s); print "RECURSION", s }
	for (f in dynamic) { s = f; sub(/.*:/, "", s); print "DYNAMIC", s }
}
