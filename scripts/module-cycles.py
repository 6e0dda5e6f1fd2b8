#!/usr/bin/env python3
"""Finds import cycles between minroot's modules: between the top-level modules of
src/ (`crate::a` used in module b), and between the files of one module (`super::x`,
`crate::m::x` used in m/y.rs). Unit tests (after `#[cfg(test)]`) may use anything and
are not counted. Prints every cycle; exit status 1 when there is one, 0 otherwise.

Usage: scripts/module-cycles.py [SRC_DIR]   (default: src/ of this repository)
"""
import os
import re
import sys

SRC = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "src")
PATH_RE = re.compile(r"\b(crate|super)((?:::\w+)+)")


def code(path):
    """The file's text before its unit tests, without comments."""
    text = open(path, encoding="utf-8").read()
    text = text.split("#[cfg(test)]", 1)[0]
    return "\n".join(l.split("//", 1)[0] for l in text.splitlines())


def unit_of(rel):
    """(module, file) of a path under src/: ('closure', ''), ('cli', 'pack')."""
    parts = rel[:-3].split(os.sep)
    if parts[-1] == "mod":
        parts = parts[:-1]
    if not parts or parts == ["lib"] or parts == ["main"]:
        return ("", "")
    return (parts[0], parts[1] if len(parts) > 1 else "")


def cycles(graph):
    """Strongly connected components with more than one node (Tarjan)."""
    index, low, on, stack, out, n = {}, {}, set(), [], [], [0]

    def visit(v):
        index[v] = low[v] = n[0]
        n[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


top, inner = {}, {}
for dirpath, _, files in os.walk(SRC):
    for f in files:
        if not f.endswith(".rs"):
            continue
        path = os.path.join(dirpath, f)
        mod, file = unit_of(os.path.relpath(path, SRC))
        if not mod:
            continue
        for kind, rest in PATH_RE.findall(code(path)):
            names = rest.strip(":").split("::")
            if kind == "crate":
                target = names[0]
                if target != mod:
                    top.setdefault(mod, set()).add(target)
                elif len(names) > 1 and names[1] != file and file:
                    inner.setdefault(mod, {}).setdefault(file, set()).add(names[1])
            elif file:
                # super:: from m/x.rs is m; super::y names the sibling file y.
                if names and names[0] != "super" and names[0] != file:
                    inner.setdefault(mod, {}).setdefault(file, set()).add(names[0])

found = [("modules", c) for c in cycles(top)]
for mod, g in sorted(inner.items()):
    files = {f for f in os.listdir(os.path.join(SRC, mod))} if os.path.isdir(os.path.join(SRC, mod)) else set()
    known = {f[:-3] for f in files if f.endswith(".rs")} | {f for f in files if os.path.isdir(os.path.join(SRC, mod, f))}
    g = {k: {v for v in vs if v in known} for k, vs in g.items()}
    found += [(mod + "/", c) for c in cycles(g)]
for where, c in found:
    print(f"cycle in {where}: {' <-> '.join(c)}")
print(f"module-cycles: {len(top)} modules, {sum(len(g) for g in inner.values())} files with siblings, {len(found)} cycles")
sys.exit(1 if found else 0)
