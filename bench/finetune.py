"""Fine-tuning throughput: a plain padded fp32 Trainer against our worker, lever by lever.

Same model (SmolLM2-135M), same rows and prompt, in one run. Each row of the table adds
one lever to the one above, so every lever's gain is measured, not assumed:

1. baseline: fp32 weights, LoRA r=8 on attention with dropout 0.05, every row padded to
   128 tokens, random batches of 8, logits and loss over the whole sequence (a plain
   `Trainer` + peft set-up);
2. + each batch padded to its own longest row, rows of similar length together;
3. + logits and loss only at answer positions (the prompt is masked anyway);
4. + no adapter dropout (its random numbers are a tenth of a CPU step);
5. + micro-batches cut by a token budget (2,048 tokens, at most 32 rows) instead of 8 rows;
6. + the prompt prefix a batch shares run once (keys/values expanded to every row);
7. + LoRA on the top 10 layers only (backpropagation stops below them): the Quick preset.

Then two levers that were measured and not kept: `torch.compile` of the model and one
thread instead of two. bf16 is used where the CPU computes it natively; on CPUs without
native bf16 every row runs fp32 (bf16 there is emulated and far slower, measured below).

Reported per row: seconds per step, example tokens/s (the tokens of the rows trained on:
what the time buys), computed tokens/s (what ran through the model), rows/s, the ratio to
the baseline, and the share of this machine's matmul peak (in the precision used) that
the example tokens represent at 4 x parameters FLOP per token. Runs on the sample
dataset and on TREC (short questions; BENCH_TREC=DIR holding trec_train.csv and
trec_test.csv, made by bench/realdata.py prepare).

Run under the shared lock: `flock /tmp/ladder-heavy.lock .venv/bin/python bench/finetune.py`
(BENCH_SECONDS=25 of timed training per row after a warm-up step).
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("LADDER_MODEL_CACHE_DIR", str(ROOT / ".test-cache" / "models"))

SECONDS = float(os.environ.get("BENCH_SECONDS", "25"))


def peak_flops(dtype, n: int = 1536, reps: int = 5) -> float:
    import torch

    a = torch.randn(n, n, dtype=dtype)
    a @ a  # warm-up
    best = float("inf")
    for _ in range(reps):
        t0 = time.perf_counter()
        a @ a
        best = min(best, time.perf_counter() - t0)
    return 2 * n**3 / best


LEVERS = [
    # name, settings, collator kind
    ("1. baseline: fp32, padded to 128, batch 8, full logits, dropout",
     dict(lora_r=8, lora_alpha=16, target_modules="attention", lora_dropout=0.05), "padded"),
    ("2. + dynamic padding, length-grouped", dict(lora_r=8, lora_alpha=16,
     target_modules="attention", lora_dropout=0.05), "dynamic"),
    ("3. + logits/loss at answer positions only", dict(lora_r=8, lora_alpha=16,
     target_modules="attention", lora_dropout=0.05, batch_size=8, tokens_per_batch=100000),
     "answer"),
    ("4. + no adapter dropout", dict(lora_r=8, lora_alpha=16, target_modules="attention",
     lora_dropout=0.0, batch_size=8, tokens_per_batch=100000), "answer"),
    ("5. + token-budget batches (2,048 tokens, <= 32 rows)", dict(lora_r=8, lora_alpha=16,
     target_modules="attention", lora_dropout=0.0), "answer"),
    ("6. + shared prompt prefix run once", dict(lora_r=8, lora_alpha=16,
     target_modules="attention", lora_dropout=0.0), "ours"),
    ("7. + LoRA on the top 10 layers (Quick preset)", {}, "ours"),
]
REJECTED = [
    ("torch.compile of the model (rejected)", {}, "ours", {"compile": True}),
    ("one thread instead of two (rejected)", {}, "ours", {"threads": 1}),
]


def measure(ws, dataset: str, label: str, overrides: dict, kind: str, extra: dict) -> dict:
    """Train SECONDS of steps after one warm-up step; tokens and rows per second."""
    import random

    import torch

    from core.finetune import build_config
    from core.finetune.build import load_model
    from core.finetune.data import (
        DynamicPadCollator,
        Encoder,
        TrainCollator,
        prompts_for,
        token_batches,
    )
    from core.finetune.plan import plan_run
    from core.finetune.trainer import answer_loss

    threads = torch.get_num_threads()
    if extra.get("threads"):
        torch.set_num_threads(extra["threads"])
    cfg = build_config("smollm2-135m-instruct", dataset, "quick", overrides)
    plan = plan_run(ws, cfg)
    model, tok = load_model(plan.model_path, plan.config, "cpu")
    enc = Encoder(tok)
    examples = enc.examples(prompts_for(plan.data.variant, plan.data.train, plan.data.labels),
                            plan.data.train.targets)
    rng = random.Random(0)
    if kind in ("padded", "dynamic"):
        width = max(128, max(len(e["input_ids"]) for e in examples))
        col = DynamicPadCollator(tok.pad_token_id, pad_to=width if kind == "padded" else None)
        if kind == "padded":
            batches = [rng.sample(examples, 8) for _ in range(400)]
        else:  # length-grouped: sorted windows of 50 batches, as Trainer's group_by_length
            order = sorted(rng.sample(examples, min(len(examples), 400)),
                           key=lambda e: len(e["input_ids"]))
            batches = [order[i:i + 8] for i in range(0, len(order) - 7, 8)]
            rng.shuffle(batches)
    else:
        batches = token_batches(examples, plan.config.tokens_per_batch, plan.config.batch_size,
                                seed=0)
        col = TrainCollator(tok.pad_token_id, share_prefix=kind == "ours")
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4)
    run = model
    if extra.get("compile"):
        run = torch.compile(model, dynamic=True)
    model.train()

    def step(batch) -> tuple[int, int, int]:
        b = col([batch]) if kind not in ("padded", "dynamic") else col(batch)
        if kind in ("padded", "dynamic"):
            loss = run(**b).loss
            real, computed = int(b["attention_mask"].sum()), b["input_ids"].numel()
        else:
            loss = answer_loss(run, b)[0]
            p = b["prefix_ids"].shape[1] if "prefix_ids" in b else 0
            own = int(b["attention_mask"][:, p:].sum())
            real, computed = own + p * len(batch), own + p
        loss.backward()
        opt.step()
        opt.zero_grad()
        return real, computed, len(batch)

    t_first = time.perf_counter()
    step(rng.choice(batches))  # warm-up (and compilation, when asked)
    warm = time.perf_counter() - t_first
    real = computed = rows = steps = 0
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < SECONDS:
        r, c, n = step(rng.choice(batches))
        real, computed, rows, steps = real + r, computed + c, rows + n, steps + 1
    secs = time.perf_counter() - t0
    torch.set_num_threads(threads)
    params = sum(p.numel() for p in model.parameters())
    dtype = "bf16" if next(model.parameters()).dtype == torch.bfloat16 else "fp32"
    return {"label": label, "s_per_step": secs / steps, "real_tok_s": real / secs,
            "computed_tok_s": computed / secs, "rows_s": rows / secs, "params": params,
            "dtype": dtype, "warmup_s": warm, "steps": steps}


def table(name: str, results: list[dict], peaks: dict, n_rows: int, mean_len: float) -> list[str]:
    base = results[0]["real_tok_s"]
    lines = [f"**{name}** ({n_rows:,} train rows, {mean_len:.0f} tokens a row on average)", "",
             "| setup | s/step | example tokens/s | computed tokens/s | rows/s | vs baseline | "
             "share of matmul peak |", "|---|---|---|---|---|---|---|"]
    for r in results:
        share = r["real_tok_s"] * 4 * r["params"] / peaks[r["dtype"]]
        lines.append(f"| {r['label']} | {r['s_per_step']:.2f} | {r['real_tok_s']:.0f} | "
                     f"{r['computed_tok_s']:.0f} | {r['rows_s']:.1f} | "
                     f"{r['real_tok_s'] / base:.1f}x | {share:.0%} ({r['dtype']}) |")
    return lines


def main() -> int:
    import torch

    from bench.realdata import import_dataset
    from core.datasets import load_sample
    from core.workspace import open_workspace

    os.environ["LADDER_HOME"] = tempfile.mkdtemp(prefix="bench-ft-")
    ws = open_workspace()
    load_sample(ws)
    sets = [("support-tickets", "Sample data (support tickets)")]
    trec_dir = os.environ.get("BENCH_TREC")
    if trec_dir:
        import_dataset(ws, "trec", Path(trec_dir))
        sets.append(("trec", "TREC questions (short rows)"))
    if os.environ.get("BENCH_SETS"):  # e.g. "trec": one set only
        sets = [s for s in sets if s[0] in os.environ["BENCH_SETS"].split(",")]
    # BENCH_LEVERS="1,7,r2": a subset of the levers (numbers) and rejected ones (r + number)
    pick = [x for x in os.environ.get("BENCH_LEVERS", "").split(",") if x]
    levers = [lv for i, lv in enumerate(LEVERS, 1) if not pick or str(i) in pick]
    rejected = [lv for i, lv in enumerate(REJECTED, 1) if not pick or f"r{i}" in pick]
    load = os.getloadavg()[0]
    peaks = {"fp32": peak_flops(torch.float32), "bf16": peak_flops(torch.bfloat16)}
    body = []
    for dataset, name in sets:
        results = []
        for label, overrides, kind in levers:
            results.append(measure(ws, dataset, label, overrides, kind, {}))
            print(results[-1], flush=True)
        for label, overrides, kind, extra in rejected:
            results.append(measure(ws, dataset, label, overrides, kind, extra))
            print(results[-1], flush=True)
        from core.evals.rows import load_rows

        n_train = len(load_rows(ws, dataset, "test").train_rows)
        per_row = results[0]["real_tok_s"] / results[0]["rows_s"]  # real tokens per example
        body += table(name, results, peaks, n_train, per_row)
        final = results[len(levers) - 1]
        compiled = [r for r in results if "compile" in r["label"]]
        body += ["", f"Quick preset vs baseline: **{final['real_tok_s'] / results[0]['real_tok_s']:.1f}x** "
                 f"example tokens/s; {final['rows_s'] / results[0]['rows_s']:.1f}x rows/s."
                 + (f" torch.compile's first step took {compiled[0]['warmup_s']:.0f} s."
                    if compiled else ""), ""]
    body += [f"Matmul peak measured here (1536x1536): fp32 {peaks['fp32'] / 1e9:.0f} GFLOP/s, "
             f"bf16 {peaks['bf16'] / 1e9:.0f} GFLOP/s. 1-minute load average at the start: "
             f"{load:.2f}, at the end: {os.getloadavg()[0]:.2f} (2 cores)."]
    text = "\n".join(body)
    print(text)
    from bench._results import write_section

    write_section("Fine-tuning throughput (issue 12)", text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
