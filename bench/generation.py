"""Generation speed: SmolLM2 on the same 64 prompts, batched vs one at a time; cached vs GGUF load.

Run: `HF_HUB_OFFLINE=1 .venv/bin/python bench/generation.py` (about 3 minutes on 2 cores).
Both sides use the same backend, dtype and greedy decoding with a fixed number of
new tokens, so the ratio isolates batching. Prints a table and writes bench/RESULTS.md.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from bench._results import write_section  # noqa: E402
from core.hardware import pick_dtype  # noqa: E402
from core.models.base import ChatPrompt, GenerationParams  # noqa: E402
from core.models.cache import convert_gguf  # noqa: E402
from core.models.local import LocalBackend  # noqa: E402
from core.models.packaged import locate_gguf  # noqa: E402

MODEL = "smollm2-135m-instruct"
TOPICS = ["the ocean", "a bicycle", "coffee", "the moon", "a library", "winter", "a violin",
          "volcanoes", "bread", "a lighthouse", "chess", "rain", "a robot", "tea", "mountains",
          "a train"]
TASKS = ["Describe {} in one sentence.", "Give one fun fact about {}.",
         "Write a short title about {}.", "Why do people like {}?"]
PROMPTS = [ChatPrompt(t.format(x)) for t in TASKS for x in TOPICS]  # 64 prompts
NEW_TOKENS = 32


def timed_generate(backend, batch_size: int) -> tuple[float, int]:
    params = GenerationParams(max_new_tokens=NEW_TOKENS)
    t0 = time.perf_counter()
    gens = backend.generate(PROMPTS, params, batch_size=batch_size)
    return time.perf_counter() - t0, sum(g.output_tokens for g in gens)


def main() -> None:
    import torch

    torch.manual_seed(0)
    cache = Path(tempfile.mkdtemp(prefix="ladder-bench-"))
    gguf = locate_gguf(MODEL, cache / "_gguf")

    t0 = time.perf_counter()
    convert_gguf(gguf, cache / MODEL)
    gguf_load = time.perf_counter() - t0
    loads = []
    for _ in range(3):
        t0 = time.perf_counter()
        backend = LocalBackend.load(str(cache / MODEL), dtype="auto")
        loads.append(time.perf_counter() - t0)
    cached_load = statistics.median(loads)
    dtype = str(pick_dtype("auto", "cpu")).replace("torch.", "")

    timed_generate(backend, 16)  # warm-up
    one_s, one_tok = timed_generate(backend, 1)
    b16_s, b16_tok = timed_generate(backend, 16)
    b8_s, b8_tok = timed_generate(backend, 8)
    rows = [
        ("one at a time (batch 1)", one_s, one_tok),
        ("batched, batch 8", b8_s, b8_tok),
        ("batched, batch 16", b16_s, b16_tok),
    ]
    base_tps = one_tok / one_s
    lines = [
        f"SmolLM2-135M-Instruct, {dtype}, 64 prompts, greedy, up to {NEW_TOKENS} new tokens.",
        "",
        "| runner | seconds | tokens | tokens/s | ratio vs one at a time |",
        "|---|---|---|---|---|",
    ]
    for name, s, tok in rows:
        lines.append(f"| {name} | {s:.1f} | {tok} | {tok / s:.1f} | {tok / s / base_tps:.2f}x |")
    lines += [
        "",
        "| load | seconds |",
        "|---|---|",
        f"| from GGUF (dequantize + save cache) | {gguf_load:.1f} |",
        f"| from the safetensors cache (median of 3) | {cached_load:.2f} |",
        f"| ratio | {gguf_load / cached_load:.1f}x |",
        "",
        f"Target: batched at 16 at least 4x one at a time — measured "
        f"{b16_tok / b16_s / base_tps:.2f}x.",
    ]
    body = "\n".join(lines)
    print(body)
    write_section("Generation (issue 2)", body)


if __name__ == "__main__":
    main()
