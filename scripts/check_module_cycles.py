#!/usr/bin/env python3
"""Fails when modules of a crate import each other in a circle.

A newcomer reads a crate bottom-up; a cycle (a uses b, b uses a) means neither can be read first.
For every source folder given, each top-level module (a file or folder under src/) gets an edge to
every module it names through `crate::...` (names that lib.rs/main.rs re-export count as their
module), ignoring comments and `#[cfg(test)] mod tests`. Any strongly connected group of more than
one module is printed with its edges, and the exit status is 1.

    python3 scripts/check_module_cycles.py crates/*/src src-tauri/src
"""
import os, re, sys, itertools
def modules(src):
    mods = {}
    for dp, _, fs in os.walk(src):
        for f in fs:
            if not f.endswith('.rs'): continue
            p = os.path.join(dp, f)
            rel = os.path.relpath(p, src)[:-3]
            parts = rel.split(os.sep)
            if parts[-1] == 'mod': parts = parts[:-1]
            if parts in (['lib'], ['main']): continue
            top = parts[0]
            mods.setdefault(top, []).append(p)
    return mods
def reexports(src, mods):
    """Names that lib.rs/main.rs re-export from a module (`pub use m::{A, B}`), so `crate::A` counts as a use of m."""
    names = {}
    for root in ('lib.rs', 'main.rs'):
        p = os.path.join(src, root)
        if not os.path.exists(p): continue
        for m, body in re.findall(r'pub use (\w+)::(\{[^}]*\}|\w+)', open(p).read()):
            if m in mods:
                for n in re.findall(r'\w+', body):
                    names[n] = m
    return names
def main(src):
    mods = modules(src)
    names = reexports(src, mods)
    edges = {m: set() for m in mods}
    for m, files in mods.items():
        for p in files:
            text = open(p).read()
            text = re.sub(r'#\[cfg\(test\)\]\s*mod tests\s*\{.*', '', text, flags=re.S)
            text = re.sub(r'//[^\n]*', '', text)
            refs = re.findall(r'crate::(\w+)', text)
            for grp in re.findall(r'crate::\{([^}]*)\}', text):
                refs += re.findall(r'(\w+)', grp)
            for t in refs:
                t = names.get(t, t)
                if t in mods and t != m: edges[m].add(t)
            if len(os.path.relpath(p, src).split(os.sep)) == 1:
                pass
    # SCCs
    idx = {}; low = {}; st = []; on = set(); out = []; c = [0]
    def sc(v):
        idx[v] = low[v] = c[0]; c[0] += 1; st.append(v); on.add(v)
        for w in edges[v]:
            if w not in idx: sc(w); low[v] = min(low[v], low[w])
            elif w in on: low[v] = min(low[v], idx[w])
        if low[v] == idx[v]:
            comp = []
            while True:
                w = st.pop(); on.discard(w); comp.append(w)
                if w == v: break
            if len(comp) > 1: out.append(comp)
    sys.setrecursionlimit(10000)
    for v in edges:
        if v not in idx: sc(v)
    for comp in out:
        print(src, 'cycle:', sorted(comp))
        for a in sorted(comp):
            print('   ', a, '->', sorted(edges[a] & set(comp)))
    return len(out)
n = sum(main(s) for s in sys.argv[1:])
sys.exit(1 if n else 0)
