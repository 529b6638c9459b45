"""Cell text and header names, as every reader (CSV, JSONL, Excel) makes them."""

from __future__ import annotations

import json

from core.datasets.errors import DatasetError


def cell_text(v) -> str:
    """A cell as stored: "" for missing, whole floats without ".0", JSON for nested values.

    >>> [cell_text(v) for v in (None, True, 3.0, 2.5, {"a": 1})]
    ['', 'true', '3', '2.5', '{"a": 1}']
    """
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if isinstance(v, dict | list):
        return json.dumps(v, ensure_ascii=False)
    return str(v)


def header_names(names: list[str], name: str) -> list[str]:
    """Stripped column names (blank ones numbered); DatasetError on a name given twice."""
    cols = [c.strip() or f"column_{i + 1}" for i, c in enumerate(names)]
    seen: set[str] = set()
    for c in cols:
        if c in seen:
            raise DatasetError(f"{name}: the column name '{c}' appears more than once in the "
                               "header; rename the duplicate columns so each name is unique.")
        seen.add(c)
    return cols
