"""Integration with the packaged SmolLM2: the GGUF cache, real answers, the `ladder` command."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from core.models.base import ChatPrompt, GenerationParams
from core.models.cache import CACHE_MARKER
from core.models.local import load_backend
from core.models.packaged import locate_gguf
from tests.conftest import LADDER, MODEL_CACHE, ROOT

pytestmark = pytest.mark.slow
MODEL = "smollm2-135m-instruct"


@pytest.mark.precision
def test_answers_capital_of_france(ws):
    b = load_backend(ws.registry.get(MODEL), ws.settings, ws.registry)
    assert (MODEL_CACHE / MODEL / CACHE_MARKER).exists()
    assert (MODEL_CACHE / MODEL / "model.safetensors").exists()
    [g] = b.generate([ChatPrompt("What is the capital of France?")],
                     GenerationParams(max_new_tokens=24))
    assert "Paris" in g.text
    assert g.input_tokens > 5 and g.output_tokens > 0


@pytest.mark.precision
def test_cache_gives_the_same_logits_as_the_gguf(ws):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    ws.settings.dtype = "fp32"
    cached = load_backend(ws.registry.get(MODEL), ws.settings, ws.registry)
    gguf = locate_gguf(MODEL, MODEL_CACHE / "_gguf")
    tok = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    direct = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name,
                                                  dtype=torch.float32).eval()
    ids = torch.tensor([tok("The quick brown fox jumps over the lazy dog.")["input_ids"]])
    with torch.no_grad():
        a = cached.model(input_ids=ids).logits
        b = direct(input_ids=ids).logits
    assert torch.allclose(a, b, atol=1e-4)
    assert cached.tok("héllo wörld")["input_ids"] == tok("héllo wörld")["input_ids"]


@pytest.mark.precision
def test_candidate_scoring_on_a_real_question(ws):
    b = load_backend(ws.registry.get(MODEL), ws.settings, ws.registry)
    prompts = [ChatPrompt("What is the capital of France? Answer with the city name."),
               ChatPrompt("What is the capital of Italy? Answer with the city name.")]
    scores = b.score_candidates(prompts, ["Paris", "Rome", "Berlin"])
    assert [s.best for s in scores] == [0, 1]


def test_ladder_generate_command_offline():
    env = dict(os.environ, HF_HUB_OFFLINE="1")
    proc = subprocess.run(
        [*LADDER, "generate", "--model", MODEL, "--json",
         "What is the capital of France?"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert "Paris" in data["text"]
    assert data["cost_usd"] is not None and data["cost_usd"] > 0
