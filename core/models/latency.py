"""What one request alone would wait, for rows generated in batches.

Batched generation answers many rows in one wall time; charging every row that time made
a 22-token answer look like 15 s. A request served on its own pays a prefill of its
prompt and one decode step per answer token, so its latency is modelled as

    fixed + per_prompt_token x prompt tokens + per_answer_token x answer tokens

with the three coefficients measured at batch 1 on a real prompt of a batched call (two
prefills of different lengths and one 16-token decode, the median of three tries each;
a few seconds for a 135M model on 2 cores), kept by the backend and measured again when
older than MAX_AGE_S. Each row's latency then follows its own prompt and answer length.
The batch's share of wall time stays in `compute_s`, which is what the machine spends and
what cost is based on.

Trade-off: the coefficients hold for the load the machine had when they were measured; on
a machine shared with other work a request's real wait varies with that load (the median
of three tries follows the typical load rather than the quietest moment).
`bench/latency.py` compares the estimate with the same rows really sent one at a time.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass

DECODE_PROBE = 16  # answer tokens generated to time a decode step
MAX_AGE_S = 300.0  # measured again after this long: the machine's load changes


@dataclass(frozen=True)
class SoloCost:
    """Batch-1 timing of one backend, in seconds.

    >>> SoloCost(0.01, 0.001, 0.02).latency(100, 10)
    0.31
    """

    fixed_s: float
    per_prompt_token_s: float
    per_answer_token_s: float
    measured_at: float = 0.0  # time.monotonic() of the measurement

    def stale(self) -> bool:
        return time.monotonic() - self.measured_at > MAX_AGE_S

    def latency(self, input_tokens: int, output_tokens: int) -> float:
        return round(self.fixed_s + self.per_prompt_token_s * input_tokens
                     + self.per_answer_token_s * max(output_tokens, 0), 6)


def fit(prefill_short: tuple[int, float], prefill_long: tuple[int, float],
        decode: tuple[int, float]) -> SoloCost:
    """Coefficients from (prompt tokens, seconds) of two one-token generations and
    (new tokens, seconds) of a longer one on the long prompt.

    >>> c = fit((100, 0.15), (200, 0.25), (17, 0.57))
    >>> round(c.fixed_s, 3), round(c.per_prompt_token_s, 4), round(c.per_answer_token_s, 3)
    (0.05, 0.001, 0.02)
    """
    (n1, t1), (n2, t2), (k, tk) = prefill_short, prefill_long, decode
    per_prompt = max(0.0, (t2 - t1) / (n2 - n1)) if n2 > n1 else t2 / max(n2, 1)
    fixed = max(0.0, t2 - per_prompt * n2)
    per_answer = max(0.0, (tk - t2) / max(k - 1, 1))
    return SoloCost(fixed, per_prompt, per_answer)


def measure(model, ids: list[int], pad_id: int, device) -> SoloCost:
    """Time `model.generate` at batch 1 on the prompt `ids` and on its first half."""
    import torch

    def run(tokens: list[int], new: int, tries: int = 3) -> float:
        x = torch.tensor([tokens], device=device)
        times = []
        for _ in range(tries):
            t0 = time.perf_counter()
            model.generate(input_ids=x, attention_mask=torch.ones_like(x), max_new_tokens=new,
                           min_new_tokens=new, do_sample=False, temperature=None, top_p=None,
                           top_k=None, pad_token_id=pad_id)
            times.append(time.perf_counter() - t0)
        return statistics.median(times)

    half = ids[:max(1, len(ids) // 2)]
    with torch.inference_mode():
        run(ids, 2, tries=1)  # warm-up: the first call pays one-time allocations
        short = (len(half), run(half, 1))
        long = (len(ids), run(ids, 1))
        decode = (DECODE_PROBE, run(ids, DECODE_PROBE))
    c = fit(short, long, decode)
    return SoloCost(c.fixed_s, c.per_prompt_token_s, c.per_answer_token_s, time.monotonic())
