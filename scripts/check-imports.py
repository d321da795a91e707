#!/usr/bin/env python3
"""Fails when two source files of src/ depend on each other, directly or
through others (an import cycle). A file depends on another when it names a
path in it: `crate::a::b`, `super::x`, or, for a folder module, a child it
declares (`mod x;` then `x::`). Comments and inline tests do not count.

Usage: python3 scripts/check-imports.py [SRC_DIR]   (run by scripts/test.sh)
"""
import os
import re
import sys

TESTS = re.compile(r"(?m)^#\[cfg\(test\)\]\s*\nmod tests")
PATH = re.compile(r"\b(crate|super)((?:::\w+)+)")
GROUP = re.compile(r"use (crate|super)::\{([^}]*)\}")
CHILD = re.compile(r"(?m)^\s*(?:pub(?:\([^)]*\))? )?mod (\w+);")


def modules(root):
    found = {}
    for folder, _, names in os.walk(root):
        for name in names:
            if name.endswith(".rs"):
                path = os.path.join(folder, name)
                parts = os.path.relpath(path, root)[:-3].split(os.sep)
                if parts[-1] in ("mod", "main", "lib"):
                    parts = parts[:-1]
                found[tuple(parts)] = path
    return found


def graph(found):
    def target(segments):
        for n in range(len(segments), 0, -1):
            if tuple(segments[:n]) in found:
                return tuple(segments[:n])
        return None

    edges = {}
    for module, path in found.items():
        folder = os.path.basename(path) in ("mod.rs", "main.rs", "lib.rs")
        text = TESTS.split(open(path, encoding="utf-8").read())[0]
        text = re.sub(r"//.*", "", text)
        parent = list(module[:-1])
        deps = set()
        for base, rest in PATH.findall(text):
            t = target(([] if base == "crate" else parent) + rest.strip(":").split("::"))
            deps.add(t)
        for base, items in GROUP.findall(text):
            for item in items.split(","):
                segments = item.strip().split("::")
                if segments[0] and segments[0] != "self":
                    deps.add(target(([] if base == "crate" else parent) + segments))
        if folder:
            for child in CHILD.findall(text):
                if re.search(r"(?<![:\w])" + child + r"::", text):
                    deps.add(module + (child,))
        deps.discard(None)
        deps.discard(module)
        edges[module] = deps
    return edges


def cycles(edges):
    """Strongly connected components of more than one file (Tarjan)."""
    index, low, on, stack, out = {}, {}, set(), [], []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted("/".join(c) or "main" for c in component))

    sys.setrecursionlimit(10000)
    for v in list(edges):
        if v not in index:
            visit(v)
    return out


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "src")
    found = modules(root)
    bad = cycles(graph(found))
    for component in bad:
        print("import cycle: " + " <-> ".join(component))
    if bad:
        sys.exit(1)
    print(f"no import cycles among {len(found)} source files")


if __name__ == "__main__":
    main()
