"""The embedding classifier: the linear model, its file, the registry entry and bad input.

Everything here runs without the MiniLM model (constructed vectors, or input that is
refused before anything is embedded); tests/models/test_classifier_minilm.py trains
and evaluates one for real.
"""

from __future__ import annotations

import csv
import hashlib
import json

import numpy as np
import pytest

from core.cli import main
from core.datasets import service
from core.models.base import ModelError
from core.models.classifier import (
    FILE,
    LinearClassifier,
    add_classifier,
    classifier_dir,
    fit,
    load,
    save,
)
from core.models.registry import build_spec


def _blobs(n_per: int, labels: list[str], dim: int = 16, seed: int = 0):
    """Well separated Gaussian clusters, one per label, L2-normalised like embeddings."""
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(len(labels), dim)) * 3
    x = np.vstack([c + rng.normal(scale=0.3, size=(n_per, dim)) for c in centers])
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    y = [lab for lab in labels for _ in range(n_per)]
    return x, y


def _snapshot(ws):
    rows = ws.db.query("SELECT * FROM models ORDER BY id")
    return hashlib.sha256(repr([tuple(r) for r in rows]).encode()).hexdigest()


@pytest.mark.parametrize("labels", [["billing", "login", "shipping"], ["neg", "pos"]])
def test_train_persist_reload_predict(tmp_path, labels):
    from sklearn.linear_model import LogisticRegression

    x, y = _blobs(40, labels)
    clf = fit(x, y, c=10.0)
    assert clf.labels == sorted(labels)
    xt, yt = _blobs(10, labels, seed=0)
    xt = xt + np.random.default_rng(1).normal(scale=0.01, size=xt.shape)
    ref = LogisticRegression(C=10.0, max_iter=2000).fit(x, y).predict(xt)
    assert clf.predict(xt) == list(ref)  # the numpy prediction is sklearn's
    assert np.mean([p == t for p, t in zip(clf.predict(xt), yt, strict=True)]) > 0.95
    save(tmp_path / "clf", clf, {"dataset": "d", "train_rows": len(y)})
    back, meta, fp = load(tmp_path / "clf")
    assert back.labels == clf.labels and meta["train_rows"] == len(y) and len(fp) == 64
    assert np.array_equal(back.coef, clf.coef) and np.array_equal(back.intercept, clf.intercept)
    assert back.predict(xt) == clf.predict(xt)
    text = (tmp_path / "clf" / FILE).read_text()
    assert json.loads(text)["embedding_model"] == "all-MiniLM-L6-v2"  # plain JSON, no pickle


def test_damaged_or_missing_file_is_one_line(tmp_path):
    with pytest.raises(ModelError, match="missing; delete the model"):
        load(tmp_path / "none")
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / FILE).write_text('{"labels": ["a", "b", "c"], "coef": [[1, 2]], '
                                         '"intercept": [0]}')
    with pytest.raises(ModelError, match="damaged .*do not fit 3 labels"):
        load(tmp_path / "bad")
    (tmp_path / "bad" / FILE).write_text("not json")
    with pytest.raises(ModelError, match="damaged"):
        load(tmp_path / "bad")


def test_registry_round_trip(ws, tmp_path):
    x, y = _blobs(5, ["a", "b"])
    folder = classifier_dir(ws, "clf-a")
    save(folder, fit(x, y), {"dataset": "d", "train_seconds": 1.5})
    spec = build_spec(id="clf-a", kind="classifier", source=str(folder), hourly_cost=0.2)
    ws.registry.add(spec)
    got = ws.registry.get("clf-a")
    assert got.model_dump() == spec.model_dump() and got.is_local
    assert "clf-a" in [m.id for m in ws.registry.list() if m.kind == "classifier"]
    assert got.cost_usd(100, 0, 3600.0) == pytest.approx(0.2)
    from core.compare.service import training_cost

    assert training_cost(ws, "clf-a") == pytest.approx(1.5 / 3600 * 0.2)
    assert ws.registry.update("clf-a", hourly_cost=0.5).hourly_cost == 0.5
    ws.registry.delete("clf-a")
    assert not ws.registry.exists("clf-a")


def test_migration_widens_an_old_models_table(tmp_path):
    """A workspace made before the classifier kind existed accepts one after migrating."""
    import sqlite3

    from core.store.db import Database
    from core.store.migrations import MIGRATIONS

    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    for name, sql in MIGRATIONS:
        if name.startswith("0007"):
            break
        conn.executescript(sql)
    conn.execute("CREATE TABLE _migrations (name TEXT PRIMARY KEY, applied_at REAL NOT NULL)")
    conn.executemany("INSERT INTO _migrations VALUES (?, 0)",
                     [(n,) for n, _ in MIGRATIONS if n < "0007"])
    conn.execute("INSERT INTO models (id, kind, source, hourly_cost, created_at, updated_at) "
                 "VALUES ('mine', 'hub', 'a/b', 0.3, 1, 1)")
    with pytest.raises(sqlite3.IntegrityError):
        conn.execute("INSERT INTO models (id, kind, source, created_at, updated_at) "
                     "VALUES ('c', 'classifier', 'x', 1, 1)")
    conn.commit()
    conn.close()
    db = Database(path)
    assert db.migrate()[0] == "0007_classifier_models"
    assert [tuple(r) for r in db.query("SELECT id, kind, hourly_cost FROM models")] == [
        ("mine", "hub", 0.3)]
    db.execute("INSERT INTO models (id, kind, source, created_at, updated_at) "
               "VALUES ('c', 'classifier', 'x', 1, 1)")


def _csv(tmp_path, name, rows, header=("text", "label")):
    path = tmp_path / name
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return path


@pytest.fixture
def datasets(ws, tmp_path):
    """A classification dataset with a split, one without, and a numeric-scale one."""
    rows = [(f"ticket {i} about {lab}", lab) for i in range(20) for lab in ("a", "b")]
    service.import_file(ws, _csv(tmp_path, "c.csv", rows), name="cls", input_col="text",
                        target_col="label")
    service.split(ws, "cls", val=0.2, test=0.2, seed=0)
    service.import_file(ws, _csv(tmp_path, "n.csv", rows), name="nosplit", input_col="text",
                        target_col="label")
    scale = [(f"review {i}", str(1 + i % 5)) for i in range(40)]
    service.import_file(ws, _csv(tmp_path, "s.csv", scale), name="stars", input_col="text",
                        target_col="label", task="scale")
    service.split(ws, "stars", val=0.2, test=0.2, seed=0)
    return ws


BAD = {
    "unknown dataset": (["m1", "--classifier", "--data", "ghost"], "no dataset 'ghost'"),
    "non-classification dataset": (["m1", "--classifier", "--data", "stars"],
                                   "'stars' is a scale dataset; an embedding classifier"),
    "no train split": (["m1", "--classifier", "--data", "nosplit"],
                       "no train split.*ladder data split nosplit"),
    "duplicate name": (["smollm2-135m-instruct", "--classifier", "--data", "cls"],
                       "already registered"),
    "bad name": (["Bad Name", "--classifier", "--data", "cls"], "lowercase"),
    "negative cost": (["m1", "--classifier", "--data", "cls", "--hourly-cost", "-1"],
                      "non-negative"),
    "no dataset given": (["m1", "--classifier"], "--classifier needs --data"),
    "data without classifier": (["m1", "--hf", "a/b", "--data", "cls"],
                                "--data only applies to --classifier"),
    "price for a classifier": (["m1", "--classifier", "--data", "cls", "--price-in", "1"],
                               "--price-in does not apply to --classifier"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_input_is_one_line_and_saves_nothing(datasets, capsys, case):
    ws = datasets
    argv, needle = BAD[case]
    before = _snapshot(ws)
    try:
        code = main(["models", "add", *argv])
    except SystemExit as e:  # argparse's own usage errors
        code = e.code
    err = capsys.readouterr().err
    assert code in (1, 2)
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    import re

    assert re.search(needle, err), err
    assert _snapshot(ws) == before
    assert not (ws.settings.root / "classifiers").exists() or not any(
        (ws.settings.root / "classifiers").iterdir())


def test_core_rejects_before_training(datasets, monkeypatch):
    """No embedding happens for refused input (the MiniLM model is never touched)."""
    import core.models.classifier as mod

    monkeypatch.setattr(mod, "train", lambda *a, **k: pytest.fail("trained on bad input"))
    for ds, needle in (("stars", "scale dataset"), ("nosplit", "no train split"),
                       ("ghost", "no dataset")):
        with pytest.raises(Exception, match=needle):
            add_classifier(datasets, "m2", ds)
    assert not datasets.registry.exists("m2")


def test_one_label_train_split_is_refused(datasets):
    from core.models.classifier import train

    with pytest.raises(ModelError, match="only one label"):
        train(["x", "y"], ["a", "a"])


def test_cannot_be_a_fine_tune_base(ws, tmp_path):
    from core.finetune.plan import check_base_model

    x, y = _blobs(5, ["a", "b"])
    folder = classifier_dir(ws, "clf-b")
    save(folder, fit(x, y), {})
    ws.registry.add(build_spec(id="clf-b", kind="classifier", source=str(folder),
                               hourly_cost=0.1))

    class Cfg:
        base_model = "clf-b"

    problems: list[str] = []
    assert check_base_model(ws, Cfg(), problems) is None
    assert "embedding classifier, not a language model" in problems[0]


def test_binary_scores_match_labels():
    clf = LinearClassifier(["neg", "pos"], np.array([[1.0, -1.0]]), np.array([0.0]))
    assert clf.predict(np.array([[1.0, 0.0], [0.0, 1.0]])) == ["pos", "neg"]
