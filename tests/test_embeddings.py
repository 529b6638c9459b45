"""The shared MiniLM helper: offline, loaded once, normalised float32 vectors."""

from __future__ import annotations

import os

import numpy as np
import pytest

os.environ["HF_HUB_OFFLINE"] = "1"

from core import embeddings  # noqa: E402


def test_model_path_is_the_packaged_folder():
    path = embeddings.model_path()
    assert os.path.isfile(os.path.join(path, "modules.json"))


def test_empty_input_needs_no_model():
    out = embeddings.embed([])
    assert out.shape == (0, embeddings.DIM) and out.dtype == np.float32


@pytest.mark.slow  # loads MiniLM (~5 s)
def test_embed_normalised_float32_and_loaded_once():
    texts = ["I forgot my password", "How do I reset my password?",
             "The sync icon stays red", "I forgot my password"]
    calls = []
    vecs = embeddings.embed(texts, batch_size=2, progress=lambda d, t: calls.append((d, t)))
    assert vecs.shape == (4, 384) and vecs.dtype == np.float32
    assert np.allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-5)
    assert np.array_equal(vecs[0], vecs[3])  # identical texts, one encoding
    sims = vecs @ vecs.T
    assert sims[0, 1] > sims[0, 2] + 0.2  # related beats unrelated
    assert calls and calls[-1] == (3, 3)
    assert embeddings.get_model() is embeddings.get_model()
    assert os.environ["HF_HUB_OFFLINE"] == "1"


def test_dtype_choice(monkeypatch):
    monkeypatch.setenv("LADDER_DTYPE", "fp32")
    assert embeddings.pick_dtype() == "fp32"
    monkeypatch.setenv("LADDER_DTYPE", "bf16")
    assert embeddings.pick_dtype() == "bf16"
