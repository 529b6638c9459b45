"""One device and precision choice for generation, training and embeddings."""

from __future__ import annotations

import pytest

from core import embeddings, hardware


def test_auto_precision_follows_native_bf16(monkeypatch):
    monkeypatch.setattr(hardware, "cpu_supports_bf16", lambda: True)
    assert hardware.dtype_name("auto", "cpu") == "bf16"
    monkeypatch.setattr(hardware, "cpu_supports_bf16", lambda: False)
    assert hardware.dtype_name("auto", "cpu") == "fp32"  # emulated bf16 is slower than fp32
    assert hardware.dtype_name("bf16", "cpu") == "bf16"  # an explicit wish is kept
    assert str(hardware.pick_dtype("fp32", "cpu")) == "torch.float32"


def test_embeddings_and_local_models_make_the_same_choice(monkeypatch):
    monkeypatch.setenv("LADDER_DEVICE", "cpu")
    for wish in ("auto", "bf16", "fp32"):
        monkeypatch.setenv("LADDER_DTYPE", wish)
        assert embeddings.pick_dtype() == hardware.dtype_name(wish, "cpu")
    assert embeddings.pick_device() == hardware.pick_device("cpu") == "cpu"


def test_cuda_wish_without_a_gpu_is_one_clear_line(monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(hardware.HardwareError, match="no CUDA device is visible; use auto or cpu"):
        hardware.pick_device("cuda")
    assert hardware.pick_device("auto") == "cpu"
