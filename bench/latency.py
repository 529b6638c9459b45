"""Is the latency the engine reports what one request alone waits? E2E, SmolLM2, one run.

Run (about 3 minutes on 2 shared cores):
    flock /tmp/ladder-heavy.lock .venv/bin/python bench/latency.py [--rows 24]

1. Evaluates `--rows` E2E test rows with the similar-examples 4-shot variant through the
   engine (`run_eval`: batched generation, the latency model of core.models.latency) and
   reads the leaderboard's p50 latency and batch throughput.
2. Sends the same rows' prompts, with the same decoding settings, to the same loaded
   backend one at a time and takes the median wall time.
Prints both, their ratio (target: within 1.5x) and the batch throughput.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import _e2e  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=24)
    ap.add_argument("--variant", choices=["fixed", "similar"], default="similar")
    args = ap.parse_args()

    from core.evals.config import EvalConfig
    from core.evals.engine import build_prompts, run_eval
    from core.evals.generation import generation_params, model_context
    from core.evals.rows import load_rows
    from core.evals.store import cells_frame
    from core.evals.summary import leaderboard
    from core.models.service import get_backend

    ws = _e2e.workspace()
    variant = _e2e.variants()[f"{args.variant} 4-shot"]
    cfg = EvalConfig(dataset="e2e", split="test", limit=args.rows, models=[_e2e.MODEL],
                     variants=[variant])
    t0 = time.perf_counter()
    run_id = run_eval(ws, cfg)
    run_wall = time.perf_counter() - t0
    [entry] = leaderboard(ws, run_id)
    cells = cells_frame(ws, run_id)

    data = load_rows(ws, cfg.dataset, cfg.split, limit=cfg.limit, seed=cfg.seed)
    prompts = build_prompts(ws, cfg, data, variant)
    params = generation_params(cfg, data, variant, 0, context=model_context(ws, _e2e.MODEL))
    backend = get_backend(ws, ws.registry.get(_e2e.MODEL))
    alone, ratios = [], []
    estimate = dict(zip(cells["row_id"], cells["latency_s"], strict=True))
    for row, p in zip(data.rows, prompts, strict=True):
        t = time.perf_counter()
        backend.generate([p], params, batch_size=1)
        alone.append(time.perf_counter() - t)
        ratios.append(estimate[row["row_id"]] / alone[-1])

    # what the engine reported before: every row charged its whole batch's wall time
    keys = list(cells["cache_key"])
    marks = ",".join("?" * len(keys))
    shares = [r["compute_s"] for r in ws.db.query(
        f"SELECT compute_s FROM eval_cache WHERE key IN ({marks})", tuple(keys))]
    batch_wall = [s * shares.count(s) for s in shares]  # rows of one batch share one value

    p50_engine = entry["latency_p50_ms"] / 1000
    p50_alone = statistics.median(alone)
    solo = backend.solo
    lines = [
        f"{variant.name}, SmolLM2-135M-Instruct, {len(prompts)} E2E test rows, "
        f"max_new_tokens {params.max_new_tokens}, batch_size {ws.settings.batch_size}",
        "",
        "| measure | value |",
        "|---|---|",
        f"| engine p50 latency (reported) | {p50_engine:.2f} s |",
        f"| engine p95 latency (reported) | {entry['latency_p95_ms'] / 1000:.2f} s |",
        f"| same rows one at a time, median wall time | {p50_alone:.2f} s |",
        f"| before: each row's batch wall time, p50 | {statistics.median(batch_wall):.2f} s |",
        f"| ratio reported p50 / one-at-a-time median | {p50_engine / p50_alone:.2f} |",
        f"| per-row ratio estimate / alone, median [min, max] | "
        f"{statistics.median(ratios):.2f} [{min(ratios):.2f}, {max(ratios):.2f}] |",
        f"| batch throughput (rows/s of machine time) | {entry['throughput_rows_s']:.2f} |",
        f"| batch wall time of the whole run | {run_wall:.1f} s |",
        f"| mean answer tokens | {entry['output_tokens_mean']:.1f} |",
        f"| batch-1 model: fixed, per prompt token, per answer token | "
        f"{solo.fixed_s * 1000:.0f} ms, {solo.per_prompt_token_s * 1000:.2f} ms, "
        f"{solo.per_answer_token_s * 1000:.1f} ms |" if solo else "| batch-1 model | - |",
    ]
    print("\n".join(lines))


if __name__ == "__main__":
    main()
