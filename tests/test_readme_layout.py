"""README's Layout names every folder and module of core/ and every top-level folder."""

from __future__ import annotations

import re

from tests.conftest import ROOT


def layout_block() -> str:
    text = (ROOT / "README.md").read_text()
    return re.search(r"## Layout\n\n```\n(.*?)```", text, re.S).group(1)


def test_every_core_folder_and_module_is_in_the_layout():
    block = layout_block()
    names = set(re.findall(r"^\s*([\w.]+/?)\s", block, re.M))
    missing = []
    for path in sorted((ROOT / "core").rglob("*")):
        if "__pycache__" in path.parts:
            continue
        if path.is_dir():
            if f"{path.name}/" not in names:
                missing.append(str(path.relative_to(ROOT)) + "/")
        elif path.parent == ROOT / "core" and path.suffix == ".py" \
                and path.name != "__init__.py" and path.name not in names:
            missing.append(str(path.relative_to(ROOT)))
    for top in ("views", "core", "docs", "tests", "bench", "examples"):
        if f"{top}/" not in names:
            missing.append(f"{top}/")
    assert not missing, f"README's Layout does not name: {', '.join(missing)}"


def test_the_layout_names_nothing_that_is_gone():
    block = layout_block()
    listed = re.findall(r"^  ([\w]+/)\s", block, re.M)  # core's folders, two spaces in
    gone = [f for f in listed if not (ROOT / "core" / f).is_dir()]
    assert not gone, f"README's Layout names folders core/ no longer has: {gone}"
