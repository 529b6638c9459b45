"""The shape of the house: no import cycle in core/, and no file over 400 lines.

Every import counts, including those inside functions (a "lazy" import still ties two
files together); only `if TYPE_CHECKING:` blocks are left out, because they never run.
"""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import ROOT

MAX_LINES = 400
OUTSIDE_THE_LIMIT = ("bench/", "examples/", ".venv", "workspace/", ".git/")


def _module(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _runtime_nodes(tree):
    """Every node except those under `if TYPE_CHECKING:`."""
    stack = [tree]
    while stack:
        node = stack.pop()
        yield node
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and getattr(child.test, "id", "") == "TYPE_CHECKING":
                stack.extend(child.orelse)
                continue
            stack.append(child)


def import_graph(root: Path, package: str = "core") -> dict[str, set[str]]:
    """module -> the modules of `package` it imports."""
    files = {_module(root, p): p for p in (root / package).rglob("*.py")}

    def known(name: str) -> str | None:
        while name and name not in files:
            name = name.rpartition(".")[0]
        return name or None

    graph = {}
    for mod, path in files.items():
        deps = set()
        for node in _runtime_nodes(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                deps |= {known(a.name) for a in node.names if a.name.startswith(package)}
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    pkg = mod if path.name == "__init__.py" else mod.rpartition(".")[0]
                    for _ in range(node.level - 1):
                        pkg = pkg.rpartition(".")[0]
                    base = f"{pkg}.{base}" if base else pkg
                if base.split(".")[0] == package:
                    deps |= {f"{base}.{a.name}" if f"{base}.{a.name}" in files else known(base)
                             for a in node.names}
        graph[mod] = deps - {None, mod}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan, iterative)."""
    index, low, on_stack, stack, found = {}, {}, set(), [], []
    counter = 0
    for start in graph:
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            v, children = work[-1]
            w = next(children, None)
            if w is not None:
                if w not in index:
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(sorted(graph.get(w, ())))))
                elif w in on_stack:
                    low[v] = min(low[v], index[w])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    x = stack.pop()
                    on_stack.discard(x)
                    comp.append(x)
                    if x == v:
                        break
                if len(comp) > 1:
                    found.append(sorted(comp))
    return found


def test_core_has_no_import_cycle():
    assert cycles(import_graph(ROOT)) == []


def test_the_cycle_check_sees_a_cycle_through_a_function_level_import(tmp_path):
    pkg = tmp_path / "core"
    (pkg / "cli").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "cli" / "__init__.py").write_text("from core.cli import sub\nclass CliError(Exception): ...\n")
    (pkg / "cli" / "sub.py").write_text("def run():\n    from core.cli import CliError\n")
    (pkg / "typed.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                                  "    from core.cli import sub\n")
    assert cycles(import_graph(tmp_path)) == [["core.cli", "core.cli.sub"]]


def test_no_file_is_over_400_lines():
    long = {}
    for path in list(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if rel.startswith(OUTSIDE_THE_LIMIT) or "/." in f"/{rel}":
            continue
        if (n := len(path.read_text().splitlines())) > MAX_LINES:
            long[rel] = n
    assert long == {}, f"split these files by job (at most {MAX_LINES} lines): {long}"
