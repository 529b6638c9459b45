"""Versions are immutable, content-addressed, listed and deleted; splits are saved with them."""

from __future__ import annotations

import json

import numpy as np
import pytest

from core import datasets
from core.cli import main
from core.datasets.versions import datasets_dir
from tests.datasets.conftest import SAMPLE, snapshot

CSV = "text,label\n" + "".join(f"ticket number {i} about {'ab'[i % 2]},{'ab'[i % 2]}\n"
                               for i in range(40))


def test_same_content_is_a_no_op_and_changed_content_a_new_version(ws, write):
    p = write("a.csv", CSV)
    first = datasets.import_file(ws, p, name="d", input_col="text", target_col="label")
    assert first.created and first.version.number == 1 and first.version.rows == 40
    assert first.version.mapping.task == "classification"
    before = snapshot(ws.settings.root)
    again = datasets.import_file(ws, write("copy.csv", CSV), name="d", input_col="text",
                                 target_col="label")
    assert not again.created and again.version.hash == first.version.hash
    assert snapshot(ws.settings.root) == before
    changed = datasets.import_file(ws, write("b.csv", CSV + "one more,a\n"), name="d",
                                   input_col="text", target_col="label")
    assert changed.created and changed.version.number == 2
    assert changed.version.hash != first.version.hash
    assert [v.number for v in datasets.list_versions(ws, "d")] == [1, 2]
    files = sorted(p.name for p in datasets_dir(ws).iterdir())
    assert files == sorted(f"{h}.parquet" for h in (first.version.hash, changed.version.hash))
    # the same rows under another mapping are another version
    remap = datasets.import_file(ws, p, name="d", input_col="label", target_col="text",
                                 task="free_text")
    assert remap.created and remap.version.number == 3


def test_rows_round_trip_through_storage(ws, write):
    res = datasets.import_file(ws, SAMPLE, name="s", input_col="text", target_col="category")
    import pandas as pd

    original = pd.read_csv(SAMPLE, dtype=str, keep_default_na=False)
    datasets.versions._frames.clear()
    stored = datasets.load_frame(ws, res.version)
    assert stored.equals(original.astype(object))


def test_list_show_delete(ws, write, capsys):
    datasets.import_file(ws, write("a.csv", CSV), name="d", input_col="text", target_col="label")
    datasets.import_file(ws, write("b.csv", CSV + "x,b\n"), name="d", input_col="text",
                         target_col="label")
    assert main(["data", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)["datasets"]
    assert [(d["name"], d["version"], d["rows"], d["versions"]) for d in listed] == [
        ("d", 2, 41, 2)]
    assert main(["data", "show", "d", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert [v["version"] for v in shown["versions"]] == [1, 2]
    assert main(["data", "delete", "d", "--version", "1"]) == 0
    assert [v.number for v in datasets.list_versions(ws, "d")] == [2]
    assert len(list(datasets_dir(ws).iterdir())) == 1
    assert main(["data", "delete", "d"]) == 0
    assert datasets.list_datasets(ws) == []
    assert list(datasets_dir(ws).iterdir()) == []


def test_split_saved_with_version_and_stratified(ws):
    datasets.import_file(ws, SAMPLE, name="s", input_col="text", target_col="category")
    v, sp = datasets.split(ws, "s", 0.1, 0.2, seed=3)
    again = datasets.get_split(ws, v)
    assert np.array_equal(again.assignment, sp.assignment)
    assert again.counts == sp.counts and again.seed == 3
    sizes = sp.sizes()
    assert sum(sizes.values()) == 370
    assert abs(sizes["test"] - 74) <= 4 and abs(sizes["validation"] - 37) <= 4
    for label, total in {"billing": 125, "bug": 102, "account": 81, "feature_request": 61}.items():
        in_test = sp.counts["test"].get(label, 0)
        assert abs(in_test - 0.2 * total) <= 2, (label, in_test)
    # same seed, same split; another seed, another split
    _, same = datasets.split(ws, "s", 0.1, 0.2, seed=3)
    _, other = datasets.split(ws, "s", 0.1, 0.2, seed=4)
    assert np.array_equal(same.assignment, sp.assignment)
    assert not np.array_equal(other.assignment, sp.assignment)


def test_split_keeps_identical_inputs_together(ws):
    frame = datasets.load_frame(ws, datasets.import_file(
        ws, SAMPLE, name="s", input_col="text", target_col="category").version)
    for seed in range(5):
        _, sp = datasets.split(ws, "s", 0.2, 0.2, seed=seed)
        by_text: dict[str, set] = {}
        for text, part in zip(frame["text"], sp.assignment, strict=True):
            if text:
                by_text.setdefault(text.lower(), set()).add(int(part))
        assert all(len(parts) == 1 for parts in by_text.values())


def test_fix_creates_new_version_and_keeps_parent(ws, capsys):
    res = datasets.import_file(ws, SAMPLE, name="s", input_col="text", target_col="category")
    datasets.split(ws, "s", 0.1, 0.1, seed=0)
    parent_file = datasets_dir(ws) / f"{res.version.hash}.parquet"
    parent_bytes = parent_file.read_bytes()
    assert main(["data", "fix", "s", "--drop-duplicates", "--drop-empty", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["created"] and out["version"] == 2
    assert out["removed"] == {"empty": 3, "duplicates": 3, "total": 6}
    assert out["rows"] == 364 and out["parent_version"] == 1
    assert parent_file.read_bytes() == parent_bytes
    assert datasets.get_version(ws, "s", 1).rows == 370
    child = datasets.get_version(ws, "s")
    sp = datasets.get_split(ws, child)
    assert sp is not None and len(sp.assignment) == 364  # the split travels with the fix
    # running the same fix on the fixed version drops nothing and creates nothing
    before = snapshot(ws.settings.root)
    assert main(["data", "fix", "s", "--drop-duplicates", "--drop-empty"]) == 0
    assert "Nothing to drop" in capsys.readouterr().out
    assert snapshot(ws.settings.root) == before


def test_name_and_version_errors(ws):
    with pytest.raises(datasets.DatasetError, match="no dataset 'x'"):
        datasets.get_version(ws, "x")
