"""A split that leaves validation or test empty says what that leaves undone."""

from __future__ import annotations

import json

from core.cli import main

ROWS = "text,label\n" + "".join(f"row {i},{'ab'[i % 2]}\n" for i in range(40))


def test_an_empty_validation_or_test_split_is_warned(ws, write, capsys):
    path = write("d.csv", ROWS)
    assert main(["data", "import", str(path), "--name", "d", "--input-col", "text",
                 "--target-col", "label"]) == 0
    capsys.readouterr()
    assert main(["data", "split", "d", "--val", "0", "--test", "0.2", "--json"]) == 0
    rec = json.loads(capsys.readouterr()[0])
    assert len(rec["warnings"]) == 1 and "validation split is empty" in rec["warnings"][0]
    assert main(["data", "split", "d", "--val", "0.1", "--test", "0"]) == 0
    assert "Warning: The test split is empty" in capsys.readouterr()[0]
    assert main(["data", "split", "d", "--val", "0.1", "--test", "0.1", "--json"]) == 0
    assert json.loads(capsys.readouterr()[0])["warnings"] == []
