"""The embedding classifier on a real dataset with its own test file, against SmolLM2.

    python bench/classifier.py TRAIN.csv TEST.csv [--input-col question] [--target-col label]
                               [--llm-rows 200] [--no-write]

Goes through the product path in a temporary workspace: the train file is imported
and split (10% validation, no test), `ladder models add --classifier` trains on its
train split (the validation rows choose the regularisation), the test file is
imported as a second dataset and every one of its rows is scored with
`ladder eval --split all`. A second classifier trains on the whole train file
(no validation, the default strength). The baseline is the packaged SmolLM2, zero-shot
with likelihood scoring of the labels, on a seeded sample of the same test rows.
Prints accuracy with its 95% interval, training time, latency and cost per 1k
requests, and the ratios; writes a section of bench/RESULTS.md unless --no-write.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("train")
    ap.add_argument("test")
    ap.add_argument("--input-col", default="question")
    ap.add_argument("--target-col", default="label")
    ap.add_argument("--llm-rows", type=int, default=200)
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()

    home = tempfile.mkdtemp(prefix="ladder-bench-clf-")
    os.environ["LADDER_HOME"] = home
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from core.datasets import service
    from core.evals.config import EvalConfig
    from core.evals.engine import run_eval
    from core.evals.summary import leaderboard
    from core.models.classifier import add_classifier
    from core.prompts.variants import Variant
    from core.workspace import open_workspace

    ws = open_workspace()
    cols = dict(input_col=args.input_col, target_col=args.target_col, task="classification")
    service.import_file(ws, Path(args.train), name="train-file", **cols)
    service.split(ws, "train-file", val=0.1, test=0.0, seed=0)
    service.import_file(ws, Path(args.test), name="test-file", **cols)
    service.import_file(ws, Path(args.train), name="train-all", **cols)
    service.split(ws, "train-all", val=0.0, test=0.0, seed=0)

    from core.embeddings import get_model

    t0 = time.perf_counter()
    get_model()
    load_s = time.perf_counter() - t0
    results = {}
    for name, data in (("clf-val", "train-file"), ("clf-all", "train-all")):
        spec, meta = add_classifier(ws, name, data)
        cfg = EvalConfig(dataset="test-file", split="all", models=[name],
                         variants=[Variant(name="input", template="{input}")])
        t0 = time.perf_counter()
        run_id = run_eval(ws, cfg)
        [e] = leaderboard(ws, run_id)
        results[name] = (meta, e, time.perf_counter() - t0)

    labels = sorted({r for r in _labels(ws)})
    zero = Variant(name="zero-shot", template=(
        "Question: {input}\n\nWhat kind of answer does this question ask for? Choose one "
        "of: {labels}.\nAnswer with the label only."))
    cfg = EvalConfig(dataset="test-file", split="all", limit=args.llm_rows,
                     models=["smollm2-135m-instruct"], variants=[zero])
    t0 = time.perf_counter()
    run_id = run_eval(ws, cfg)
    llm_s = time.perf_counter() - t0
    [llm] = leaderboard(ws, run_id)

    lines = [f"Train file {Path(args.train).name} ({_rows(args.train)} rows), test file "
             f"{Path(args.test).name} ({_rows(args.test)} rows), labels {', '.join(labels)}. "
             f"MiniLM load {load_s:.1f} s (once per process, not counted below).", "",
             "| model | trained on | C | train s (embedding) | test rows | accuracy [95% CI] | "
             "p50 ms | p95 ms | $/1k requests |", "|---|---|---|---|---|---|---|---|---|"]
    for name, (meta, e, _s) in results.items():
        trained = (f"{meta['train_rows']} rows (+{meta['validation_rows']} validation)"
                   if meta["validation_rows"] else f"{meta['train_rows']} rows")
        lines.append(f"| {name} (embedding classifier) | {trained} | {meta['c']:g} | "
                     f"{meta['train_seconds']:.1f} ({meta['embed_seconds']:.1f}) | {e['n']} | {_ci(e)} | "
                     f"{e['latency_p50_ms']:.0f} | {e['latency_p95_ms']:.0f} | "
                     f"{e['cost_per_1k_usd']:.6f} |")
    lines.append(f"| smollm2-135m-instruct zero-shot (likelihood) | — | — | — | {llm['n']} | "
                 f"{_ci(llm)} | {llm['latency_p50_ms']:.0f} | {llm['latency_p95_ms']:.0f} | "
                 f"{llm['cost_per_1k_usd']:.6f} |")
    clf = results["clf-val"][1]
    lines += ["", f"Classifier vs SmolLM2: accuracy {clf['score'] / max(llm['score'], 1e-9):.1f}x, "
              f"cost per request {llm['cost_per_1k_usd'] / clf['cost_per_1k_usd']:.0f}x lower, "
              f"p50 latency {llm['latency_p50_ms'] / clf['latency_p50_ms']:.1f}x lower "
              f"(SmolLM2 run {llm_s:.0f} s for {llm['n']} rows, both at USD 0.10/h)."]
    body = "\n".join(lines)
    print(body)
    if not args.no_write:
        from bench._results import write_section

        write_section("Embedding classifier vs SmolLM2 on a dataset with its own test file",
                      "`python bench/classifier.py TRAIN.csv TEST.csv`\n\n" + body)


def _labels(ws) -> list[str]:
    from core.evals.rows import load_rows

    return load_rows(ws, "test-file", "all").labels


def _rows(path: str) -> int:
    import pandas as pd

    return len(pd.read_csv(path))


def _ci(e: dict) -> str:
    return f"{e['score']:.3f} [{e['ci_low']:.3f}, {e['ci_high']:.3f}]"


if __name__ == "__main__":
    main()
