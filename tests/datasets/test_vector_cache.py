"""Vectors cached per dataset version: a second report on the same version embeds nothing."""

from __future__ import annotations

import pytest

from core import datasets, embeddings
from core.datasets import vector_cache
from core.datasets import versions as store
from tests.datasets.conftest import SAMPLE

pytestmark = pytest.mark.slow  # loads MiniLM


def _report(ws):
    vector_cache._vectors.clear()  # what a new process (CLI, restarted server) starts with
    before = embeddings.stats()["texts"]
    _, rep = datasets.report(ws, "tickets")
    return rep, embeddings.stats()["texts"] - before


def _cache_files(ws, version):
    return sorted(store.datasets_dir(ws).glob(f"{version.hash}.vectors-*.npz"))


def test_second_report_on_a_version_embeds_nothing(ws):
    res = datasets.import_file(ws, SAMPLE, name="tickets", input_col="text",
                               target_col="category")
    datasets.split(ws, "tickets", 0.1, 0.1, 0)
    first, embedded = _report(ws)
    assert embedded == first["timings"]["distinct_inputs"] > 300
    assert [p.name for p in _cache_files(ws, res.version)] == [
        store.vectors_path(ws, res.version, embeddings.backend_id()).name]

    second, embedded = _report(ws)
    assert embedded == 0
    for key in ("near_duplicates", "conflicting_labels", "leakage", "exact_duplicates"):
        assert second[key] == first[key], key
    assert second["examples"]["near_duplicates"] == first["examples"]["near_duplicates"]

    # a fix on the same version reuses the vectors too
    before = embeddings.stats()["texts"]
    vector_cache._vectors.clear()
    datasets.fix(ws, "tickets", drop_leakage=True)
    assert embeddings.stats()["texts"] == before


def test_a_damaged_or_stale_cache_is_recomputed_and_deleted_with_its_version(ws):
    res = datasets.import_file(ws, SAMPLE, name="tickets", input_col="text",
                               target_col="category")
    first, _ = _report(ws)
    path = _cache_files(ws, res.version)[0]
    path.write_bytes(b"not a numpy file")
    again, embedded = _report(ws)
    assert embedded == first["timings"]["distinct_inputs"]
    assert again["near_duplicates"] == first["near_duplicates"]
    _, embedded = _report(ws)
    assert embedded == 0  # rewritten by the recomputation

    datasets.delete(ws, "tickets")
    assert _cache_files(ws, res.version) == []
