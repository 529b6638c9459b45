"""Write one benchmark's section into bench/RESULTS.md, replacing an older copy of it."""

from __future__ import annotations

import os
import platform
import re
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import torch

    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
    flags = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    bf16 = "AVX-512 BF16" if "avx512_bf16" in flags else "AVX2 only, no native bf16"
    return (f"{os.cpu_count()} cores ({cpu}, {bf16}), {gpu}, Python {platform.python_version()}, "
            f"torch {torch.__version__}")


def write_section(title: str, body: str) -> None:
    """Replace the `## title` section of RESULTS.md with `body` (dated, with the machine)."""
    text = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n"
    stamp = f"_{time.strftime('%Y-%m-%d')} · {machine()}_\n\n"
    section = f"## {title}\n\n{stamp}{body.strip()}\n"
    pattern = re.compile(rf"^## {re.escape(title)}\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(text):
        text = pattern.sub(lambda _m: section + "\n", text)
    else:
        text = text.rstrip() + "\n\n" + section
    RESULTS.write_text(text.rstrip() + "\n")
