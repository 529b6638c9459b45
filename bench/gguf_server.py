"""A fine-tuned SmolLM2 adapter, exported as GGUF at f16, q8_0 and q4_0 and served by
llama.cpp, against the in-process adapter on the sample tickets' test split.

    LADDER_LLAMA_SERVER_PYTHON=.venv-server/bin/python python bench/gguf_server.py [--steps 60]

(`make test-server` builds that venv once.) In a fresh workspace: the sample dataset with
its default split, a LoRA adapter fine-tuned for --steps steps (`ladder finetune start`),
then for each quantization `ladder models export`, llama.cpp's OpenAI-compatible server on
the file (2 threads, 127.0.0.1), `ladder models add --base-url` and `ladder eval` on the
test split. Baseline, in the same run: the in-process adapter (`ladder eval --scoring
generate`, greedy, the same prompt). Prints file size, prediction agreement with the
baseline, accuracy and per-request latency; writes a section of bench/RESULTS.md unless
--no-write.
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

from bench._workspace import ladder_json, scratch_workspace  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    scratch = scratch_workspace("ladder-bench-gguf-server-")

    from core.datasets import load_sample
    from core.evals.store import cells_frame
    from core.finetune.prompting import default_variant
    from core.prompts.files import dump_prompts
    from core.workspace import open_workspace
    from tests.server.llama import llama_server

    run = ladder_json
    ws = open_workspace()
    load_sample(ws)
    t0 = time.perf_counter()
    ft = run("finetune", "start", "--data", "support-tickets", "--model",
             "smollm2-135m-instruct", "--set", "approach=generate", "--set",
             f"max_steps={args.steps}", "--set", "batch_size=8", "--set",
             f"eval_every={max(1, args.steps // 2)}", "--wait")
    print(f"fine-tuned {ft['model_id']} in {time.perf_counter() - t0:.0f} s", flush=True)
    adapter = ft["model_id"]
    prompts = scratch / "prompts.yaml"
    prompts.write_text(dump_prompts([default_variant("classification")]))

    def measured(model: str, *extra) -> tuple[dict, dict, float]:
        t = time.perf_counter()
        res = run("eval", "--data", "support-tickets", "--model", model, "--prompts",
                  str(prompts), *extra)
        wall = time.perf_counter() - t
        cells = cells_frame(ws, res["run_id"])
        return res["variants"][0], dict(zip(cells["row_id"], cells["parsed"].fillna(""),
                                            strict=True)), wall

    base, base_parsed, base_wall = measured(adapter, "--scoring", "generate")
    n = len(base_parsed)
    lines = ["| model | file MB | export s | predictions agree with in-process | accuracy "
             "[95% CI] | p50 ms / request | rows/s |", "|---|---|---|---|---|---|---|",
             f"| in-process adapter (PyTorch fp32, generate) | - | - | - | "
             f"{_ci(base)} | {base['latency_p50_ms']:.0f} | {n / base_wall:.1f} |"]
    print(lines[-1], flush=True)
    for quant in ("f16", "q8_0", "q4_0"):
        exp = run("models", "export", adapter, "--format", "gguf", "--quant", quant, "--out",
                  str(scratch / quant))
        with llama_server(Path(exp["path"]), f"student-{quant}", scratch) as url:
            run("models", "add", f"served-{quant}", "--base-url", url, "--remote-model",
                f"student-{quant}", "--price-in", "0", "--price-out", "0")
            got, parsed, wall = measured(f"served-{quant}")
        agree = sum(parsed.get(r) == p for r, p in base_parsed.items()) / n
        lines.append(f"| llama.cpp, {quant} | {exp['size_bytes'] / 1e6:,.0f} | "
                     f"{exp['seconds']:.0f} | {agree:.1%} ({n} rows) | {_ci(got)} | "
                     f"{got['latency_p50_ms']:.0f} | {n / wall:.1f} |")
        print(lines[-1], flush=True)
    body = ("`LADDER_LLAMA_SERVER_PYTHON=.venv-server/bin/python python bench/gguf_server.py "
            f"--steps {args.steps}` — a SmolLM2-135M LoRA adapter fine-tuned {args.steps} steps "
            "on the sample tickets, exported with `ladder models export` and served by "
            "llama-cpp-python 0.3.36's OpenAI-compatible server (2 threads, one request at a "
            "time, over HTTP on 127.0.0.1); every row of the sample's test split, greedy, the "
            "run's zero-shot prompt. Baseline: the same adapter in process (PyTorch fp32, "
            "`--scoring generate`). rows/s: rows over the wall time of `ladder eval` (the "
            "in-process one includes loading the model; the server was loaded before). The "
            f"sample has {n} test rows: one row is {100 / n:.1f} points.\n\n" + "\n".join(lines))
    print(body)
    if not args.no_write:
        from bench._results import write_section

        write_section("GGUF served by llama.cpp (issue 20)", body)


def _ci(e: dict) -> str:
    return f"{e['score']:.1%} [{e['ci_low']:.1%}, {e['ci_high']:.1%}]"


if __name__ == "__main__":
    main()
