"""Evaluation speed: 200 rows of a 3-label classification with SmolLM2.

Baseline: one row at a time through `transformers.pipeline("text-generation")`
(default fp32; also bf16), greedy, up to 8 new tokens, then the same label
extraction. Ours: the Prompt Lab engine (batched, candidate log-likelihood
scoring, bf16 where supported), on a fresh workspace so nothing is cached.
Prints rows/s, accuracy and the ratio; writes bench/RESULTS.md.

Run: `HF_HUB_OFFLINE=1 .venv/bin/python bench/eval.py` (about 2 minutes on 2 cores).
"""

from __future__ import annotations

import csv
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
TMP = Path(tempfile.mkdtemp(prefix="ladder-bench-eval-"))
os.environ["LADDER_HOME"] = str(TMP / "ws")
os.environ.setdefault("LADDER_MODEL_CACHE_DIR", str(ROOT / ".test-cache" / "models"))

from bench._results import write_section  # noqa: E402
from core.evals.config import EvalConfig  # noqa: E402
from core.evals.engine import run_eval  # noqa: E402
from core.evals.rows import load_rows  # noqa: E402
from core.evals.scorers import extract_label  # noqa: E402
from core.evals.summary import leaderboard  # noqa: E402
from core.models.local import materialize  # noqa: E402
from core.prompts.variants import Variant, render_variant  # noqa: E402
from core.workspace import open_workspace  # noqa: E402

LABELS = ("billing", "bug", "account")
N = 200
VARIANT = Variant(
    name="zero-shot", system="You sort customer support tickets into categories.",
    template="Ticket: {input}\n\nWhich category is this ticket? Choose one of: {labels}.\n"
             "Answer with the category name only.")


def make_dataset(ws) -> str:
    from core.datasets import service

    src = ROOT / "examples" / "support_tickets.csv"
    rows = [r for r in csv.DictReader(src.open(encoding="utf-8"))
            if r["category"] in LABELS and r["text"].strip()]
    path = TMP / "three_labels.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=["text", "category"])
        w.writeheader()
        for r in rows:
            w.writerow({"text": r["text"], "category": r["category"]})
    service.import_file(ws, path, name="bench3", input_col="text", target_col="category")
    service.split(ws, "bench3", val=0.0, test=0.7, seed=0)
    return "bench3"


def pipeline_baseline(model_dir: str, rows: list[dict], labels: list[str], dtype) -> tuple:
    import torch
    from transformers import pipeline

    pipe = pipeline("text-generation", model=model_dir, dtype=dtype, device="cpu")
    correct = 0
    t0 = time.perf_counter()
    for r in rows:
        p = render_variant(VARIANT, r, labels=labels)
        msgs = [{"role": "system", "content": p.system}, {"role": "user", "content": p.user}]
        with torch.no_grad():
            out = pipe(msgs, max_new_tokens=8, do_sample=False, return_full_text=False)
        text = out[0]["generated_text"]
        text = text if isinstance(text, str) else text[-1]["content"]
        correct += extract_label(text, labels) == r["target"]
    return time.perf_counter() - t0, correct / len(rows)


def main() -> None:
    import torch

    ws = open_workspace()
    name = make_dataset(ws)
    data = load_rows(ws, name, "test", limit=N)
    assert len(data.rows) == N, len(data.rows)
    model_dir = materialize(ws.registry.get("smollm2-135m-instruct"), ws.settings.model_cache)

    t0 = time.perf_counter()
    run_id = run_eval(ws, EvalConfig(dataset=name, split="test", limit=N, models=[
        "smollm2-135m-instruct"], variants=[VARIANT], scoring="likelihood"))
    ours_s = time.perf_counter() - t0  # includes loading the model from the cache
    ours_acc = leaderboard(ws, run_id)[0]["score"]

    base32_s, base32_acc = pipeline_baseline(model_dir, data.rows, data.labels, torch.float32)
    base16_s, base16_acc = pipeline_baseline(model_dir, data.rows, data.labels, torch.bfloat16)

    lines = [
        f"SmolLM2-135M-Instruct, {N} rows of a 3-label classification (sample tickets: "
        f"{', '.join(LABELS)}), zero-shot prompt.",
        "",
        "| runner | seconds | rows/s | accuracy | ratio vs pipeline fp32 |",
        "|---|---|---|---|---|",
    ]
    for label, s, acc in [
        ("`pipeline('text-generation')` fp32, one row at a time, 8 new tokens", base32_s,
         base32_acc),
        ("`pipeline('text-generation')` bf16, one row at a time, 8 new tokens", base16_s,
         base16_acc),
        ("ours: engine, batched candidate log-likelihood, bf16 (incl. model load)", ours_s,
         ours_acc),
    ]:
        lines.append(f"| {label} | {s:.1f} | {N / s:.1f} | {acc:.3f} | "
                     f"{(N / s) / (N / base32_s):.1f}x |")
    lines += ["", f"Target: at least 5x the pipeline — measured {base32_s / ours_s:.1f}x "
                  f"(vs bf16 pipeline {base16_s / ours_s:.1f}x)."]
    body = "\n".join(lines)
    print(body)
    write_section("Prompt Lab evaluation (issue 4)", body)


if __name__ == "__main__":
    main()
