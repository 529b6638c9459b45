"""The model registry: built-ins, adding models, and every bad input leaving it unchanged."""

from __future__ import annotations

import hashlib

import pytest

from core.models.base import ModelError
from core.models.openai_compat import OpenAICompatBackend
from core.models.registry import build_spec
from tests.fake_openai import FakeOpenAIServer


def _verify(spec):
    OpenAICompatBackend(spec.base_url, spec.source, spec.api_key_env, max_retries=0,
                        timeout_s=3).test()


def _snapshot(ws):
    rows = ws.db.query("SELECT * FROM models ORDER BY id")
    return hashlib.sha256(repr([tuple(r) for r in rows]).encode()).hexdigest()


def test_builtins_are_registered(ws):
    ids = [m.id for m in ws.registry.list()]
    assert {"smollm2-135m-instruct", "gemma3-270m"} <= set(ids)
    smol = ws.registry.get("smollm2-135m-instruct")
    assert smol.builtin and smol.kind == "packaged" and smol.hourly_cost is not None


def test_add_endpoint_verifies_and_persists(ws, monkeypatch):
    monkeypatch.setenv("FAKE_KEY", "sk-test-123")
    with FakeOpenAIServer(require_key="sk-test-123") as srv:
        spec = build_spec(id="fake-gpt", kind="openai", source="fake-model", base_url=srv.url,
                          api_key_env="FAKE_KEY", price_in_per_m=0.15, price_out_per_m=0.6)
        ws.registry.add(spec, verify=_verify)
        assert len(srv.requests) == 1
        url = srv.url
    got = ws.registry.get("fake-gpt")
    assert got.base_url == url and got.api_key_env == "FAKE_KEY"
    assert got.cost_usd(1_000_000, 1_000_000, 1.0) == pytest.approx(0.75)
    stored = b"".join(p.read_bytes() for p in ws.settings.root.rglob("*") if p.is_file())
    assert b"sk-test-123" not in stored


def test_edit_and_delete(ws):
    spec = build_spec(id="local-x", kind="hub", source="org/model", hourly_cost=0.5)
    ws.registry.add(spec)
    assert ws.registry.update("local-x", hourly_cost=1.25).hourly_cost == 1.25
    with pytest.raises(ModelError, match="non-negative"):
        ws.registry.update("local-x", hourly_cost=-1)
    assert ws.registry.get("local-x").hourly_cost == 1.25
    ws.registry.delete("local-x")
    assert not ws.registry.exists("local-x")
    with pytest.raises(ModelError, match="built in"):
        ws.registry.delete("smollm2-135m-instruct")


BAD_FIELDS = {
    "malformed base URL": (dict(kind="openai", source="m", base_url="localhost:8000",
                                price_in_per_m=1, price_out_per_m=1), "http"),
    "empty base URL": (dict(kind="openai", source="m", base_url="",
                            price_in_per_m=1, price_out_per_m=1), "base URL"),
    "negative price": (dict(kind="openai", source="m", base_url="http://127.0.0.1:9/v1",
                            price_in_per_m=-1, price_out_per_m=1), "non-negative"),
    "missing prices": (dict(kind="openai", source="m", base_url="http://127.0.0.1:9/v1"),
                       "both prices"),
    "nan price": (dict(kind="hub", source="a/b", hourly_cost=float("nan")), "non-negative"),
    "missing hourly cost": (dict(kind="hub", source="a/b"), "hourly hardware cost"),
    "bad hub id": (dict(kind="hub", source="not a model id", hourly_cost=0.1), "org/name"),
    "missing folder": (dict(kind="folder", source="/no/such/folder", hourly_cost=0.1),
                       "does not exist"),
    "key pasted instead of name": (dict(kind="openai", source="m",
                                        base_url="http://127.0.0.1:9/v1", api_key_env="sk-abc d",
                                        price_in_per_m=1, price_out_per_m=1), "NAME"),
    "unknown field": (dict(kind="hub", source="a/b", hourly_cost=0.1, colour="red"), "unknown"),
}


@pytest.mark.parametrize("case", list(BAD_FIELDS))
def test_bad_fields_are_rejected_with_a_message(ws, case):
    fields, needle = BAD_FIELDS[case]
    before = _snapshot(ws)
    with pytest.raises(ModelError, match=needle):
        ws.registry.add(build_spec(id="bad-one", **fields))
    assert _snapshot(ws) == before


def test_bad_id_and_duplicate_name(ws):
    with pytest.raises(ModelError, match="lowercase"):
        build_spec(id="Bad Name!", kind="hub", source="a/b", hourly_cost=0.1)
    before = _snapshot(ws)
    with pytest.raises(ModelError, match="already registered"):
        ws.registry.add(build_spec(id="smollm2-135m-instruct", kind="hub", source="a/b",
                                   hourly_cost=0.1))
    assert _snapshot(ws) == before


def test_unknown_model_id(ws):
    with pytest.raises(ModelError, match="Unknown model 'nope'.*smollm2-135m-instruct"):
        ws.registry.get("nope")


def test_endpoint_failures_leave_registry_unchanged(ws, monkeypatch):
    before = _snapshot(ws)
    monkeypatch.delenv("MISSING_KEY_VAR", raising=False)
    fields = dict(kind="openai", source="fake-model", price_in_per_m=1, price_out_per_m=2)
    with pytest.raises(ModelError, match="MISSING_KEY_VAR is not set"):
        ws.registry.add(build_spec(id="e1", base_url="http://127.0.0.1:9/v1",
                                   api_key_env="MISSING_KEY_VAR", **fields), verify=_verify)
    with FakeOpenAIServer() as srv:
        port = srv.port
    with pytest.raises(ModelError, match=str(port)):  # unreachable: server is gone
        ws.registry.add(build_spec(id="e2", base_url=f"http://127.0.0.1:{port}/v1", **fields),
                        verify=_verify)
    monkeypatch.setenv("WRONG_KEY", "sk-wrong-999")
    with FakeOpenAIServer(require_key="sk-right") as srv:
        with pytest.raises(ModelError, match="WRONG_KEY") as err:
            ws.registry.add(build_spec(id="e3", base_url=srv.url, api_key_env="WRONG_KEY",
                                       **fields), verify=_verify)
    assert "sk-wrong-999" not in str(err.value)
    assert _snapshot(ws) == before
