"""Export: formula cells escaped in CSV, everything else round-trips; JSONL is exact."""

from __future__ import annotations

import json
import random

import pandas as pd
import pytest

from core import datasets
from core.cli import main
from core.datasets import escape_cell, export_bytes, read_table, unescape_cell
from core.datasets.export import needs_escape

DANGEROUS = ["=SUM(A1:A2)", "+1+1", "-5", "@cmd", "=HYPERLINK(\"http://x\")", "\t=1"]


@pytest.mark.parametrize("cell", DANGEROUS)
def test_formula_cells_are_escaped(cell):
    out = export_bytes(pd.DataFrame({"text": [cell], "label": ["a"]}), "csv").decode()
    value = read_table(out.encode(), "x.csv").frame["text"][0]
    assert value == "'" + cell
    assert unescape_cell(value) == cell


def _random_cell(rng: random.Random) -> str:
    alphabet = "abc xyz,;\"'\n\r\t|=+-@é–😀0123456789"
    s = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))
    return s


def test_csv_round_trips_every_other_cell():
    rng = random.Random(0)
    cells = [_random_cell(rng) for _ in range(2000)]
    frame = pd.DataFrame({"text": cells, "label": [str(i) for i in range(2000)]})
    back = read_table(export_bytes(frame, "csv"), "x.csv").frame
    for original, got in zip(cells, back["text"], strict=True):
        if needs_escape(original):
            assert got == "'" + original and unescape_cell(got) == original
        else:
            
            assert got == original, (original, got)
        assert unescape_cell(escape_cell(original)) == original


def test_jsonl_is_exact():
    frame = pd.DataFrame({"text": DANGEROUS + ["plain"], "label": list("abcdefg")})
    lines = export_bytes(frame, "jsonl").decode().splitlines()
    assert [json.loads(x)["text"] for x in lines] == DANGEROUS + ["plain"]


def test_cli_export_version_and_split(ws, tmp_path, capsys):
    from tests.datasets.conftest import SAMPLE

    datasets.import_file(ws, SAMPLE, name="s", input_col="text", target_col="category")
    datasets.split(ws, "s", 0.1, 0.1, seed=0)
    out = tmp_path / "all.csv"
    assert main(["data", "export", "s", "--out", str(out)]) == 0
    back = read_table(out).frame
    original = pd.read_csv(SAMPLE, dtype=str, keep_default_na=False)
    assert back.equals(original.astype(object))  # no sample cell starts with = + - @
    for part in datasets.SPLITS:
        path = tmp_path / f"{part}.jsonl"
        assert main(["data", "export", "s", "--split", part, "--out", str(path)]) == 0
        rows = [json.loads(x) for x in path.read_text().splitlines()]
        sp = datasets.get_split(ws, datasets.get_version(ws, "s"))
        assert len(rows) == sp.sizes()[part]
    assert "Wrote" in capsys.readouterr().out
