"""The core never imports the UI: importing every core module leaves streamlit unloaded."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import ROOT


def test_core_does_not_import_streamlit():
    code = (
        "import pkgutil, importlib, sys, core\n"
        "for m in pkgutil.walk_packages(core.__path__, 'core.'):\n"
        "    if not m.name.endswith('__main__'):\n"
        "        importlib.import_module(m.name)\n"
        "assert 'streamlit' not in sys.modules, 'core imported streamlit'\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


LAZY = {"transformers", "peft", "sentence_transformers"}
# imported only by code that already holds core.hf.loading() (train.run_training)
IMPORTED_UNDER_LOCK = {"core/finetune/callbacks.py"}


def _lazy_imports_outside_the_lock(tree) -> list[int]:
    """Line numbers of imports of LAZY packages that no `with loading():` block encloses."""
    import ast

    bad = []

    def visit(node, locked):
        if isinstance(node, ast.With) and any(
                isinstance(i.context_expr, ast.Call)
                and getattr(i.context_expr.func, "id", "") == "loading" for i in node.items):
            locked = True
        names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                 else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
        if any(n.split(".")[0] in LAZY for n in names) and not locked:
            bad.append(node.lineno)
        for child in ast.iter_child_nodes(node):
            visit(child, locked)

    visit(tree, False)
    return bad


def test_every_hugging_face_import_in_core_holds_the_loading_lock():
    """transformers' lazy imports are not thread-safe (core/hf.py): two sessions raced on them."""
    import ast

    found = {}
    for path in sorted((ROOT / "core").rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if rel in IMPORTED_UNDER_LOCK:
            continue
        if lines := _lazy_imports_outside_the_lock(ast.parse(path.read_text())):
            found[rel] = lines
    assert found == {}, f"wrap these imports in `with core.hf.loading():` {found}"


def test_the_lock_check_sees_an_unlocked_import():
    import ast

    tree = ast.parse("def f():\n    from transformers import AutoConfig\n"
                     "def g():\n    with loading():\n        import peft\n")
    assert _lazy_imports_outside_the_lock(tree) == [2]
