"""The shared MiniLM helper: offline, loaded once, normalised float32 vectors."""

from __future__ import annotations

import os

import numpy as np
import pytest

os.environ["HF_HUB_OFFLINE"] = "1"

from core import embeddings, hardware  # noqa: E402


def test_model_path_is_the_packaged_folder():
    path = embeddings.model_path()
    assert os.path.isfile(os.path.join(path, "modules.json"))


def test_empty_input_needs_no_model():
    out = embeddings.embed([])
    assert out.shape == (0, embeddings.DIM) and out.dtype == np.float32


@pytest.mark.precision
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


def test_backend_choice(monkeypatch):
    monkeypatch.setenv("LADDER_DEVICE", "cpu")
    for want in ("torch", "onnx", " ONNX "):
        monkeypatch.setenv("LADDER_EMBED_BACKEND", want)
        assert embeddings.pick_backend() == want.strip().lower()
    monkeypatch.setenv("LADDER_EMBED_BACKEND", "auto")
    monkeypatch.setattr(hardware, "cpu_supports_bf16", lambda: True)
    assert embeddings.pick_backend() == "torch"  # bf16 (AMX) CPUs keep torch
    assert embeddings.backend_id() == "all-MiniLM-L6-v2/torch-cpu-bf16"
    monkeypatch.setattr(hardware, "cpu_supports_bf16", lambda: False)
    assert embeddings.pick_backend() == "onnx"
    assert embeddings.backend_id() == f"all-MiniLM-L6-v2/onnx-{embeddings.ONNX_VARIANT}"
    monkeypatch.setenv("LADDER_DEVICE", "auto")
    monkeypatch.setattr(embeddings, "pick_device", lambda: "cuda")
    assert embeddings.pick_backend() == "torch"  # a GPU always runs torch (CUDA)
    monkeypatch.setenv("LADDER_EMBED_BACKEND", "tensorrt")
    with pytest.raises(embeddings.EmbeddingError) as e:
        embeddings.pick_backend()
    assert "LADDER_EMBED_BACKEND='tensorrt'" in str(e.value) and "\n" not in str(e.value)


AGREEMENT_TEXTS = [
    "I forgot my password", "How do I reset my password?", "I never receive the reset e-mail.",
    "The sync icon stays red on my laptop", "Sync is stuck and the icon is red.",
    "I was charged twice this month.", "Why was my card billed two times?",
    "Please delete my account.", "Export to PDF cuts off the last page.",
    "Dark mode makes code blocks unreadable.", "ok", "",
    "A long help-center paragraph about exports. " * 40,  # > 256 tokens: truncated alike
]


@pytest.mark.precision
@pytest.mark.slow  # loads MiniLM twice and exports it once to ONNX
def test_onnx_agrees_with_fp32_torch_within_0_01(monkeypatch):
    monkeypatch.setenv("LADDER_DEVICE", "cpu")
    monkeypatch.setenv("LADDER_DTYPE", "fp32")
    monkeypatch.setenv("LADDER_EMBED_BACKEND", "torch")
    ref = embeddings.embed(AGREEMENT_TEXTS)
    monkeypatch.setenv("LADDER_EMBED_BACKEND", "onnx")
    before = embeddings.stats()
    got = embeddings.embed(AGREEMENT_TEXTS)
    assert type(embeddings.get_model()).__name__ == "OnnxEncoder"
    assert embeddings.stats()["texts"] - before["texts"] == len(set(AGREEMENT_TEXTS))
    assert got.shape == ref.shape and got.dtype == np.float32
    assert np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)
    diff = np.abs(got @ got.T - ref @ ref.T).max()
    assert diff < 0.01, diff


@pytest.mark.slow  # exports MiniLM to ONNX once (~5 s)
def test_onnx_export_is_cached_and_never_repeated(tmp_path, monkeypatch):
    from core import embedding_onnx

    root = tmp_path / "models"
    path = embedding_onnx.materialize("O2", root, embeddings.model_path())
    assert path.exists() and embedding_onnx.is_cached(root, "fp32")
    assert embedding_onnx.is_cached(root, "O2") and not embedding_onnx.is_cached(root, "O3")
    mtime = path.stat().st_mtime_ns

    def no_export(*_a, **_k):
        raise AssertionError("exported again")

    monkeypatch.setattr(embedding_onnx, "_export", no_export)
    for name in ("fp32", "O2"):
        embedding_onnx.VARIANTS[name] = embedding_onnx.Variant(
            name, "", embedding_onnx.VARIANTS[name].parent, no_export)
    try:
        assert embedding_onnx.materialize("O2", root, embeddings.model_path()) == path
    finally:
        import importlib

        importlib.reload(embedding_onnx)
    assert path.stat().st_mtime_ns == mtime
    enc = embedding_onnx.OnnxEncoder(path, embedding_onnx.cache_dir(root) / "tokenizer.json")
    vecs = enc.encode(["reset my password", "the export stopped", "a"], batch_size=2)
    assert vecs.shape == (3, 384) and np.isfinite(vecs).all()
    with pytest.raises(ValueError, match="unknown ONNX variant"):
        embedding_onnx.materialize("O9", root, embeddings.model_path())
