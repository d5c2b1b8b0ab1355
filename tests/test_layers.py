"""The code's layers, read from the source: no import cycles, and imports only point down.

    lib/        the library: backbones, datasets, the DualOpt trainer, what runs it, the run records
    book/       the chapters' analysis and the book's build (imports lib)
    yourdata/   the tool that answers "which backbone for my images" (imports lib, and book for its report)
    bench/      the measured benchmarks (imports lib and book)

Every import counts, those inside functions too: a lazy import is still a dependency.
"""
from __future__ import annotations

import ast
from pathlib import Path

from lib import paths

LAYERS = ("lib", "book", "yourdata", "bench")   # lowest first: a package may import only those before it
ALLOWED = {"lib": {"lib"}, "book": {"lib", "book"}, "yourdata": {"lib", "book", "yourdata"},
           "bench": {"lib", "book", "bench"}}


def modules(root: Path = paths.ROOT, packages=LAYERS) -> dict[str, Path]:
    """Dotted module name -> file, for every module of ``packages`` under ``root``."""
    found = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join(parts)] = path
    return found


def imports_of(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The known modules that module ``name`` imports (``from lib import a`` is ``lib.a`` when that is a module,
    else ``lib``; relative imports resolved)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]

    def longest_known(dotted: str) -> str | None:
        while dotted and dotted not in known:
            dotted = dotted.rpartition(".")[0]
        return dotted or None

    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {longest_known(a.name) for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[:len(parts) - node.level + 1] + ([base] if base else []))
            for alias in node.names:
                found.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else longest_known(base))
    return found - {None, name}


def import_graph(root: Path = paths.ROOT, packages=LAYERS) -> dict[str, set[str]]:
    known = modules(root, packages)
    return {name: imports_of(name, path, known) for name, path in known.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The import cycles of ``graph``: its strongly connected components of two or more modules (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node), on_stack.add(node)
        for other in sorted(graph.get(node, ())):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                other = stack.pop()
                on_stack.discard(other)
                component.append(other)
                if other == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def upward(graph: dict[str, set[str]]) -> list[str]:
    """Every import that points up the layers (``lib.config -> book.protocol``)."""
    return sorted(f"{a} -> {b}" for a, targets in graph.items() for b in targets
                  if b.split(".")[0] not in ALLOWED[a.split(".")[0]])


def test_no_import_cycles():
    found = cycles(import_graph())
    assert not found, f"import cycles: {found}"


def test_imports_only_point_down_the_layers():
    wrong = upward(import_graph())
    assert not wrong, "imports from a lower layer into a higher one: " + "; ".join(wrong)


def test_the_checks_catch_a_cycle_and_an_upward_import(tmp_path):
    """Both checks fail on a tree that has what they look for (a lazy import counts)."""
    (tmp_path / "lib").mkdir()
    (tmp_path / "book").mkdir()
    (tmp_path / "lib" / "__init__.py").write_text("")
    (tmp_path / "book" / "__init__.py").write_text("")
    (tmp_path / "lib" / "a.py").write_text("from lib import b\n")
    (tmp_path / "lib" / "b.py").write_text("def f():\n    from . import a\n    from book import show\n")
    (tmp_path / "book" / "show.py").write_text("from lib import c\n")
    (tmp_path / "lib" / "c.py").write_text("import os\n")
    graph = import_graph(tmp_path, ("lib", "book"))
    assert cycles(graph) == [["lib.a", "lib.b"]]
    assert upward(graph) == ["lib.b -> book.show"]
    assert graph["book.show"] == {"lib.c"} and graph["lib.c"] == set()
