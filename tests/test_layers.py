"""The package layout of docs/architecture.md, checked against the code's imports: a lower
layer never imports a higher one, and no modules import each other in a circle (imports
inside functions count)."""

import ast
import os

from conftest import ROOT

PKG = os.path.join(ROOT, "jaxgal")
#: Layer of each top-level name of jaxgal (higher may import lower).
RANK = {
    "units": 0, "_sharding": 0, "_custom_types": 0, "_hostdevices": 0, "_validation": 1,
    "frames": 2, "potentials": 3, "integrators": 4, "df": 4, "satellites": 5,
    "observables": 6, "streams": 6, "simulation": 7, "inference": 8, "plotting": 9, "demo": 9, "cli": 10,
}


def _modules():
    for dirpath, _, files in os.walk(PKG):
        for f in files:
            if f.endswith(".py"):
                path = os.path.join(dirpath, f)
                rel = os.path.relpath(path, os.path.dirname(PKG))[:-3].replace(os.sep, ".")
                yield (rel[: -len(".__init__")] if rel.endswith(".__init__") else rel), path


def _imports(name, path):
    """Absolute names of the jaxgal modules imported by module ``name`` (anywhere in it)."""
    is_pkg = path.endswith("__init__.py")
    package = name if is_pkg else name.rsplit(".", 1)[0]
    out = set()
    for node in ast.walk(ast.parse(open(path, encoding="utf-8").read())):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name.startswith("jaxgal"))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            if mod.startswith("jaxgal"):
                out.add(mod)
                out.update(f"{mod}.{a.name}" for a in node.names)
    return out


MODULES = dict(_modules())
GRAPH = {m: {i for i in _imports(m, p) if i in MODULES and i != m} for m, p in MODULES.items()}


def _top(mod):
    parts = mod.split(".")
    return parts[1] if len(parts) > 1 else None


def test_no_upward_imports():
    bad = []
    for src, targets in GRAPH.items():
        s = _top(src)
        for dst in targets:
            d = _top(dst)
            if s is None or d is None or s == d:
                continue
            if RANK.get(d, 99) >= RANK.get(s, -1):
                bad.append(f"{src} imports {dst}")
    assert not bad, bad


def test_no_import_circles():
    """Depth-first search for a cycle among the jaxgal modules (package __init__ files
    re-export their own modules, so edges from a package to its own submodules are left out)."""
    graph = {m: {t for t in ts if not t.startswith(m + ".")} for m, ts in GRAPH.items()}
    state, stack, cycles = {}, [], []

    def visit(m):
        state[m] = 1
        stack.append(m)
        for t in graph[m]:
            if state.get(t) == 1:
                cycles.append(stack[stack.index(t):] + [t])
            elif t not in state:
                visit(t)
        stack.pop()
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m)
    assert not cycles, cycles


def test_no_private_names_across_packages():
    """No module uses another package's underscored module or name (helpers shared by
    several packages are the private modules at the root of jaxgal)."""
    bad = []
    for src, targets in GRAPH.items():
        s = _top(src)
        for dst in targets:
            d = _top(dst)
            parts = dst.split(".")
            if d is None or d == s or len(parts) < 3:
                continue
            if any(p.startswith("_") for p in parts[2:]):
                bad.append(f"{src} imports {dst}")
    assert not bad, bad
