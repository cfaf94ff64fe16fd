#!/usr/bin/env python3
"""The module graph of `src/`: which top-level module uses which, checked against the
layer rules of docs/architecture.md. `make lint` runs it; it fails on a cycle or on an
edge the rules forbid.

  scripts/modgraph.py [SRC_DIR] [--map]

Edges come from every `crate::<module>` path in a module's files (its unit tests
excluded: a test may reach anywhere). `--map` also prints each module's files and line
counts, and its edges.
"""

import re
import sys
from pathlib import Path

# Lower layers never use higher ones: an edge must go to a lower rank. Modules of one
# rank may use each other only where ALLOWED_SAME_RANK says so.
RANKS = {
    "secret": 0, "error": 0, "mask": 0, "files": 0, "json": 0, "keys": 0, "order": 0, "digest": 0,
    "client": 1,
    "settings": 2,
    "identity": 3,
    "auth": 4,
    "resolve": 5,
    "envfile": 6, "run": 6,
    "cli": 7,
    "cmd": 8, "compat": 8,
    "main": 9,
}
ALLOWED_SAME_RANK = {("compat", "cmd"), ("files", "error"), ("mask", "json"), ("keys", "secret")}
# On top of the ranks: the outputs (env file, child process, masking) never reach the
# client or the login, whatever their rank.
FORBIDDEN = {(out, low) for out in ("envfile", "mask", "run") for low in ("client", "auth")}

CRATE_PATH = re.compile(r"\bcrate::([a-z_]+)")
TESTS = re.compile(r"^#\[cfg\(test\)\]\s*\nmod tests\b", re.M)


def module_of(src: Path, file: Path) -> str:
    rel = file.relative_to(src)
    return rel.parts[0].removesuffix(".rs")


def code_of(file: Path) -> str:
    text = file.read_text()
    match = TESTS.search(text)
    return text[: match.start()] if match else text


def graph(src: Path):
    files, edges = {}, {}
    for file in sorted(src.rglob("*.rs")):
        module = module_of(src, file)
        files.setdefault(module, []).append((file.relative_to(src), len(file.read_text().splitlines())))
        code = code_of(file)
        used_paths = CRATE_PATH.findall(code)
        if module == "main":
            # The crate root names its modules without `crate::`.
            for name in re.findall(r"^mod ([a-z_]+);", code, re.M):
                if re.search(rf"\b{name}::", code):
                    used_paths.append(name)
        for used in used_paths:
            if used != module:
                edges.setdefault(module, set()).add(used)
    return files, edges


def cycles(edges):
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on, found, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
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
                found.append(sorted(component))

    for v in sorted(set(edges) | {w for ws in edges.values() for w in ws}):
        if v not in index:
            visit(v)
    return found


def violations(edges):
    bad = []
    for src, targets in sorted(edges.items()):
        for dst in sorted(targets):
            if src not in RANKS or dst not in RANKS:
                bad.append(f"{src} -> {dst}: a module without a rank (add it to RANKS)")
            elif (src, dst) in FORBIDDEN:
                bad.append(f"{src} -> {dst}: an output must not reach the client or the login")
            elif RANKS[dst] > RANKS[src] or (RANKS[dst] == RANKS[src] and (src, dst) not in ALLOWED_SAME_RANK):
                bad.append(f"{src} -> {dst}: a lower layer must not use a higher one")
    return bad


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    src = Path(args[0] if args else Path(__file__).resolve().parent.parent / "src")
    files, edges = graph(src)
    if "--map" in sys.argv:
        for module in sorted(files, key=lambda m: (RANKS.get(m, 99), m)):
            total = sum(n for _, n in files[module])
            uses = ", ".join(sorted(edges.get(module, ()))) or "-"
            print(f"{module:9} {total:5} lines  uses: {uses}")
            for path, n in files[module]:
                print(f"            {n:5}  {path}")
    problems = [f"cycle: {' <-> '.join(c)}" for c in cycles(edges)] + violations(edges)
    for p in problems:
        print(f"modgraph: {p}", file=sys.stderr)
    if problems:
        sys.exit(1)
    print(f"modgraph: {len(files)} modules, {sum(len(t) for t in edges.values())} edges, no cycle, layer rules kept")


if __name__ == "__main__":
    main()
