"""Model kinds are plugins: a toy kind from one module of a temporary package, named in
LADDER_BACKENDS, shows in `ladder models list`, runs in a comparison and is judged by the
in-house requirement through its `hosted` capability, with no other file touched. Also: the
built-in kinds' capabilities, a broken plugin, and the migration of old workspaces."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import textwrap

import pytest

from core.compare.cost import Option
from core.compare.decision import Requirements, advanced_option, decide
from core.models import kinds
from core.models.base import ModelError
from core.models.registry import build_spec
from core.prompts.files import dump_prompts
from core.prompts.variants import Variant
from tests.conftest import ROOT
from tests.evals.conftest import tiny_data  # noqa: F401  (fixture)

TOY = '''
"""Two toy kinds: each model answers every prompt with its source text, at once."""
from core.models import kinds
from core.models.base import Generation


class Echo:
    def __init__(self, answer):
        self.answer = answer

    def generate(self, prompts, params, batch_size=1):
        return [Generation(text=self.answer, input_tokens=len(p.user.split()), output_tokens=1,
                           latency_s=0.002, compute_s=0.002) for p in prompts]


def load(ws, spec, progress=None):
    return Echo(spec.source)


ANSWER = kinds.Field("source", "Answer", "--answer", required=True, metavar="TEXT",
                     help="what the model always answers")
kinds.register(kinds.Kind(name="toy-api", label="Toy API", hosted=True, load=load,
                          fields=(ANSWER, kinds.PRICE_IN, kinds.PRICE_OUT, kinds.NOTES)))
kinds.register(kinds.Kind(name="toy-box", label="Toy box", load=load,
                          fields=(ANSWER, kinds.HOURLY, kinds.NOTES)))
'''


@pytest.fixture
def plugin(tmp_path):
    """A temporary package `toy_backends` holding one module, `echo`."""
    pkg = tmp_path / "plugins" / "toy_backends"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "echo.py").write_text(textwrap.dedent(TOY))
    return tmp_path / "plugins"


def ladder(plugins, *argv, backends="toy_backends.echo"):
    env = dict(os.environ, LADDER_BACKENDS=backends,
               PYTHONPATH=os.pathsep.join([str(plugins), str(ROOT)]))
    proc = subprocess.run([sys.executable, "-m", "core.cli", *argv], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    return proc.returncode, proc.stdout, proc.stderr


def test_a_toy_kind_is_listed_compared_and_kept_out_by_the_in_house_requirement(
        ws, plugin, tiny_data, tmp_path):  # noqa: F811
    code, out, err = ladder(plugin, "models", "kinds", "--json")
    assert code == 0, err
    toy = {k["name"]: k for k in json.loads(out)["kinds"]}
    assert toy["toy-api"]["hosted"] and toy["toy-box"]["local"]
    assert toy["toy-api"]["module"] == "toy_backends.echo"

    code, out, err = ladder(plugin, "models", "add", "api", "--kind", "toy-api",
                            "--answer", "yes", "--price-in", "1", "--price-out", "2", "--json")
    assert code == 0, err
    assert json.loads(out)["hosted"] is True
    code, _, err = ladder(plugin, "models", "add", "box", "--kind", "toy-box", "--answer", "no",
                          "--hourly-cost", "0.5")
    assert code == 0, err
    code, _, err = ladder(plugin, "models", "add", "x", "--kind", "toy-box", "--answer", "no",
                          "--price-in", "1", "--hourly-cost", "1")
    assert code == 1 and "--price-in does not apply to --kind toy-box" in err

    code, out, err = ladder(plugin, "models", "list", "--json")
    assert code == 0, err
    listed = {m["id"]: m for m in json.loads(out)["models"]}
    assert listed["api"]["kind"] == "toy-api" and listed["api"]["hosted"] is True
    assert listed["box"]["kind"] == "toy-box" and listed["box"]["local"] is True
    code, out, _ = ladder(plugin, "models", "list")
    assert any(line.split()[:2] == ["api", "toy-api"] for line in out.splitlines())

    prompts = tmp_path / "prompts.yaml"
    prompts.write_text(dump_prompts([Variant(name="plain", template="{input}")]))
    base = ["compare", "--data", tiny_data, "--models", "api,box", "--prompts", str(prompts),
            "--volume", "1000", "--json"]
    code, out, err = ladder(plugin, *base)
    assert code == 0, err
    free = json.loads(out)
    scores = {m["model"]: m for m in free["models"]}
    assert set(scores) == {"api", "box"} and scores["api"]["kind"] == "toy-api"
    assert scores["api"]["cost_per_1k_usd"] > 0 and scores["box"]["cost_per_1k_usd"] > 0
    assert "api" not in free["decision"]["rejected"]

    code, out, err = ladder(plugin, *base, "--in-house")
    assert code == 0, err
    kept = json.loads(out)
    assert "in-house" in kept["decision"]["rejected"]["api"]
    assert kept["recommendation"] == "box"

    # without the plugin the entries stay listed, marked as of a kind not installed here
    code, out, err = ladder(plugin, "models", "list", "--json", backends="")
    assert code == 0, err
    gone = {m["id"]: m for m in json.loads(out)["models"]}["api"]
    assert gone["installed"] is False and gone["hosted"] is None
    code, _, err = ladder(plugin, "generate", "--model", "api", "hi", backends="")
    assert code == 1 and "kind 'toy-api' is not installed" in err and "Traceback" not in err


def test_a_broken_plugin_is_reported_and_the_rest_works(plugin):
    code, out, err = ladder(plugin, "models", "kinds", "--json",
                            backends="toy_backends.missing,toy_backends.echo")
    assert code == 0, err
    data = json.loads(out)
    assert "toy-api" in {k["name"] for k in data["kinds"]}
    assert any("toy_backends.missing" in p and "LADDER_BACKENDS" in p for p in data["problems"])
    code, _, err = ladder(plugin, "models", "add", "m", "--kind", "nope", "--answer", "x")
    assert code == 2 and "invalid choice" in err


def test_the_models_page_offers_a_plugin_kind(ws, plugin, monkeypatch):
    from tests.conftest import open_app

    monkeypatch.syspath_prepend(str(plugin))
    kinds.load_plugins("toy_backends.echo")
    try:
        at = open_app("views/models.py")
        at.radio(key="add_kind").set_value("Toy box").run()
        at.text_input(key="add_id").input("boxy")
        at.text_input(key="add_toy-box_source").input("maybe")
        at.number_input(key="add_toy-box_hourly_cost").set_value(0.2)
        next(b for b in at.get("form_submit_button") if b.label == "Add model").click()
        at.run()
        assert not at.exception, at.exception
        assert ws.registry.get("boxy").kind == "toy-box"
        frame = at.dataframe[0].value.set_index("model")
        assert frame.loc["boxy", "runs"] == "this machine"
    finally:
        kinds.unregister("toy-api")
        kinds.unregister("toy-box")


def test_builtin_capabilities():
    cap = {k.name: k for k in kinds.all()}
    assert {"packaged", "hub", "folder", "openai", "adapter", "finetuned", "classifier"} <= set(cap)
    assert [n for n, k in cap.items() if k.hosted] == ["openai"]
    assert {n for n, k in cap.items() if k.trainable} == {"packaged", "hub", "folder",
                                                           "finetuned"}
    assert {n for n, k in cap.items() if k.tuned} == {"adapter", "finetuned", "encoder", "head"}
    for name in ("classifier", "encoder", "head"):  # label predictors read the input alone
        assert not cap[name].prompted and cap[name].tasks == ("classification",)
    assert not cap["openai"].likelihood and not cap["openai"].batch
    with pytest.raises(ModelError, match="not installed here"):
        kinds.get("nope")
    with pytest.raises(ModelError, match="kind 'nope' is not installed"):
        build_spec(id="m", kind="nope", source="x", hourly_cost=1)


def test_register_refuses_bad_kinds():
    def load(ws, spec, progress=None):
        return None

    with pytest.raises(ModelError, match="not usable"):
        kinds.register(kinds.Kind(name="Bad Name", label="x", load=load))
    with pytest.raises(ModelError, match="no load hook"):
        kinds.register(kinds.Kind(name="noload", label="x"))
    with pytest.raises(ModelError, match="Two modules register the kind 'openai'"):
        kinds.register(kinds.Kind(name="openai", label="x", load=load))


def test_decision_reads_capabilities_not_names():
    """A hosted kind is refused in-house whatever its name; an unknown kind is refused too
    (where it runs cannot be shown); a fully fine-tuned model is tuned, not the advanced one."""
    big = Option("big", 0.01, score=0.9, latency_p95_ms=500, kind="openai")
    mystery = Option("mystery", 0.0001, score=0.9, latency_p95_ms=50, kind="gone-plugin")
    full = Option("full", 0.0001, score=0.95, latency_p95_ms=50, kind="finetuned")
    d = decide([big, mystery, full], Requirements(1000, data_in_house=True))
    assert "hosted" in d.rejected["big"] and "not installed" in d.rejected["mystery"]
    assert d.recommended.name == "full"
    assert advanced_option([big, mystery, full]).name == "big"
    [high] = [g for g in d.guidance if g["criterion"] == "High volume"]
    assert "break-even" in high["detail"]


def test_old_workspace_migrates_and_full_fine_tunes_get_their_kind(tmp_path, monkeypatch):
    from core.store.migrations import MIGRATIONS
    from core.workspace import open_workspace

    home = tmp_path / "old"
    runs = home / "runs" / "ft-1" / "model"
    runs.mkdir(parents=True)
    (runs / "config.json").write_text("{}")
    conn = sqlite3.connect(home / "ladder.db")
    names = [n for n, _ in MIGRATIONS if n < "0008"]
    for name, sql in MIGRATIONS:
        if name in names:
            conn.executescript(sql)
    conn.execute("CREATE TABLE _migrations (name TEXT PRIMARY KEY, applied_at REAL NOT NULL)")
    conn.executemany("INSERT INTO _migrations VALUES (?, 0)", [(n,) for n in names])
    conn.executemany(
        "INSERT INTO models (id, kind, source, hourly_cost, created_at, updated_at) "
        "VALUES (?, ?, ?, 0.1, 1, 1)",
        [("full", "folder", str(runs.resolve())), ("mine", "folder", str(tmp_path)),
         ("hubby", "hub", "a/b")])
    with pytest.raises(sqlite3.IntegrityError):
        conn.execute("INSERT INTO models (id, kind, source, created_at, updated_at) "
                     "VALUES ('t', 'toy-box', 'x', 1, 1)")
    conn.commit()
    conn.close()
    monkeypatch.setenv("LADDER_HOME", str(home))
    ws = open_workspace()
    got = {s.id: s.kind for s in ws.registry.list()}
    assert got["full"] == "finetuned" and got["mine"] == "folder" and got["hubby"] == "hub"
    assert "0008_model_kinds_open" in ws.db.applied_migrations()
    ws.db.execute("INSERT INTO models (id, kind, source, created_at, updated_at) "
                  "VALUES ('t', 'toy-box', 'x', 1, 1)")  # the kind is checked in code now
    assert ws.registry.get("t").kind == "toy-box"
