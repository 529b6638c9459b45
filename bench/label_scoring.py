"""The cost of label log-likelihood scoring as the number of candidate labels grows.

Intent routing brings 50-200 labels. Scoring a row by label likelihood runs the prompt once
and then every candidate's tokens; this bench measures, in one run on the same rows and the
same prompt, SmolLM2-135M-Instruct's seconds per row and peak memory for 3, 10, 30, 100 and
150 candidates (CLINC150's intent names), and the ratio to 3 candidates (target: N = 100
within 3x). As a baseline beside it, the same 100 candidates scored the plain way: each
candidate continued from a copy of the row's cache, one candidate at a time
(`bench/eval.py`'s plain runner).

Rows are CLINC150 test queries (`bench/realdata.py prepare ... --only clinc150` writes
them). Two prompts, neither listing the labels, so only the candidates vary: a bare one
("Query: ...\\nIntent:", about 30 tokens with the chat template: the worst case, where the
candidates are most of the work) and the rung-2 prompt an intent set calls for (the 6 most
similar train queries with their intents above the query, about 130 tokens).

    flock /tmp/ladder-heavy.lock .venv/bin/python bench/label_scoring.py --data DATA_DIR
        [--rows 64] [--title "a bench/RESULTS.md section"]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("LADDER_MODEL_CACHE_DIR", str(ROOT / ".test-cache" / "models"))
COUNTS = (3, 10, 30, 100, 150)


def peak_reset() -> None:
    """Reset this process's peak resident memory (Linux: VmHWM)."""
    Path("/proc/self/clear_refs").write_text("5")


def peak_gb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1e6
    return float("nan")


def main(argv: list[str] | None = None) -> int:
    import pandas as pd

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, required=True)
    p.add_argument("--rows", type=int, default=64)
    p.add_argument("--title", default=None)
    a = p.parse_args(argv)
    from bench._workspace import scratch_workspace
    from bench.eval import plain_scores
    from core.models.base import ChatPrompt
    from core.models.local import LocalBackend, load_backend
    from core.workspace import open_workspace

    scratch_workspace("bench-labels-")
    ws = open_workspace()
    test = pd.read_csv(a.data / "clinc150_test.csv")
    intents = sorted(test["intent"].unique())
    rows = test.sample(n=a.rows, random_state=0)
    train = pd.read_csv(a.data / "clinc150_train.csv")
    from core.retrieval.dynamic import similar_examples_batch

    shots = similar_examples_batch(
        list(rows["query"]), [{"row_id": i, "input": q, "target": t} for i, (q, t) in
                              enumerate(zip(train["query"], train["intent"], strict=True))], 6)
    prompt_sets = {
        "bare": [ChatPrompt(user=f"Query: {q}\nIntent:") for q in rows["query"]],
        "similar 6-shot": [ChatPrompt(user="\n\n".join(
            f"Query: {e['input']}\nIntent: {e['target']}" for e in ex) + f"\n\nQuery: {q}\nIntent:")
            for q, ex in zip(rows["query"], shots, strict=True)]}
    spec = ws.registry.get("smollm2-135m-instruct")
    loaded = load_backend(spec, ws.settings, ws.registry)
    backend = LocalBackend(loaded.model, loaded.tok, loaded.device, "bench")
    backend.batch_tokens = ws.settings.batch_tokens
    truth = list(rows["intent"])
    load0 = os.getloadavg()[0]
    lines = [f"SmolLM2-135M-Instruct ({str(loaded.model.dtype).replace('torch.', '')}), "
             f"{len(rows)} CLINC150 test queries; candidates: the first N intent names in "
             "alphabetical order; accuracy counts rows whose intent is among the candidates "
             "and won.", "",
             "| prompt | prompt tokens/row | candidates | candidate tokens | s per row | "
             "vs 3 candidates | peak memory | right |", "|---|---|---|---|---|---|---|---|"]
    ratios = {}
    for name, prompts in prompt_sets.items():
        backend.score_candidates(prompts[:4], intents[:3])  # warm-up: first calls, shapes
        p_tok = sum(len(backend.encode(backend.render(p))) for p in prompts) / len(prompts)
        results = {}
        for n in COUNTS:
            cands = sorted(set(intents[:n]))
            n_tok = sum(len(loaded.tok(" " + c, add_special_tokens=False)["input_ids"])
                        for c in cands)
            peak_reset()
            t0 = time.perf_counter()
            scores = backend.score_candidates(prompts, cands, batch_size=ws.settings.batch_size)
            secs = time.perf_counter() - t0
            picked = [cands[s.best] for s in scores]
            results[n] = {"s_row": secs / len(prompts), "peak": peak_gb(), "tokens": n_tok,
                          "right": sum(x == y for x, y in zip(picked, truth, strict=True)),
                          "asked": sum(y in cands for y in truth)}
            print(name, n, results[n], flush=True)
        base = results[3]["s_row"]
        for n, r in results.items():
            lines.append(f"| {name} | {p_tok:.0f} | {n} | {r['tokens']} | {r['s_row']:.3f} | "
                         f"{r['s_row'] / base:.2f}x | {r['peak']:.1f} GB | "
                         f"{r['right']}/{r['asked']} |")
        ratios[name] = results[100]["s_row"] / base
        if name == "bare":
            peak_reset()
            t0 = time.perf_counter()
            plain_scores(loaded, prompts, intents[:100])
            plain = (time.perf_counter() - t0) / len(prompts)
            lines.append(f"| bare, plain runner (each candidate from a copied cache) | "
                         f"{p_tok:.0f} | 100 | {results[100]['tokens']} | {plain:.3f} | "
                         f"{plain / base:.2f}x | {peak_gb():.1f} GB | - |")
            ratios["plain"] = plain / results[100]["s_row"]
    lines += ["", "Target: 100 candidates within 3x the per-row time of 3: measured "
              + ", ".join(f"{ratios[k]:.2f}x ({k} prompt)" for k in prompt_sets)
              + f"; at 100 candidates ours is {ratios['plain']:.1f}x faster than the plain "
              f"runner. 1-minute load average {load0:.2f} at the start, "
              f"{os.getloadavg()[0]:.2f} at the end (2 cores)."]
    body = "\n".join(lines)
    print(body)
    if a.title:
        from bench._results import write_section

        write_section(a.title, body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
