"""Where models run and in what precision: one choice for generation, scoring, training
and embeddings.

The user's wish comes from the settings (`LADDER_DEVICE`: auto, cpu, cuda;
`LADDER_DTYPE`: auto, bf16, fp32). `auto` means a CUDA GPU when one is visible, and bf16
where the hardware computes it natively: a GPU that supports it (fp16 on older GPUs), or
a CPU with AVX-512 BF16 or AMX. On other CPUs bf16 is emulated and several times slower
than fp32, so auto keeps fp32 there.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from core.errors import LadderError

DEVICES = ("auto", "cpu", "cuda")
DTYPES = ("auto", "bf16", "fp32")


class HardwareError(LadderError):
    """The requested device or precision is not available on this machine."""


@lru_cache(maxsize=1)
def cpu_supports_bf16() -> bool:
    """Whether this CPU computes bf16 natively (AVX-512 BF16 or AMX)."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def pick_device(device: str = "auto") -> str:
    """'cuda' or 'cpu' for the wish `device` (auto, cpu, cuda)."""
    if device == "cpu":
        return "cpu"
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise HardwareError("LADDER_DEVICE=cuda but no CUDA device is visible; use auto or cpu.")
    return device


def native_bf16(device: str) -> bool:
    """Whether `device` ('cpu' or 'cuda') computes bf16 natively."""
    if device == "cuda":
        import torch

        return torch.cuda.is_bf16_supported()
    return cpu_supports_bf16()


def dtype_name(dtype: str, device: str) -> str:
    """'bf16', 'fp16' or 'fp32' for the wish `dtype` (auto, bf16, fp32) on `device`."""
    if dtype in ("bf16", "fp32"):
        return dtype
    if native_bf16(device):
        return "bf16"
    return "fp16" if device == "cuda" else "fp32"


def pick_dtype(dtype: str, device: str):
    """The torch dtype for the wish `dtype` on `device` (see `dtype_name`)."""
    import torch

    return {"bf16": torch.bfloat16, "fp16": torch.float16,
            "fp32": torch.float32}[dtype_name(dtype, device)]


def native_gqa(device: str) -> None:
    """On a CPU, let SDPA read grouped key/value heads directly instead of copying them once
    per query head (transformers' `repeat_kv`): with a padding or prefix mask it otherwise
    copies, and on this kind of machine that copy cost more than the attention itself.
    CUDA keeps transformers' choice (its fused kernels need the mask-free case)."""
    if device == "cpu":
        os.environ.setdefault("TRANSFORMERS_SDPA_FORCE_GQA", "1")
