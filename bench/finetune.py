"""Fine-tuning throughput: a plain Trainer + peft baseline against our worker's training setup.

Same model (SmolLM2-135M), same rows (the sample dataset's train split, same
prompt), same LoRA (r=8 on attention), same batch size and number of steps:

- baseline: weights in fp32, every row padded to one maximum length, random batches;
- ours: what core/finetune/train.py does - bf16 weights (LoRA in fp32), each batch
  padded to its own longest row, rows of similar length batched together.

Reports real (non-padding) tokens/s of each and their ratio (target >= 4x), and the
share of this machine's peak matmul FLOP/s reached on real tokens (peak measured
here with square bf16 and fp32 matmuls; a LoRA step costs about 4 x params FLOP per
token). Run it under the shared lock: `flock /tmp/ladder-heavy.lock .venv/bin/python
bench/finetune.py` (BENCH_STEPS=8 by default; the first step is warm-up).
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

STEPS = int(os.environ.get("BENCH_STEPS", "8"))
BATCH = 8


def peak_flops(dtype, n: int = 2048, reps: int = 5) -> float:
    import torch

    a = torch.randn(n, n, dtype=dtype)
    b = torch.randn(n, n, dtype=dtype)
    a @ b  # warm-up
    best = float("inf")
    for _ in range(reps):
        t0 = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - t0)
    return 2 * n**3 / best


def measure(name: str, model, tok, examples, *, pad_to: int | None, grouped: bool,
            workdir: Path) -> dict:
    """Train STEPS steps; real tokens/s over steps 2..N (step 1 is warm-up)."""
    from transformers import Trainer, TrainerCallback, TrainingArguments

    from core.finetune.data import DynamicPadCollator, ExampleDataset

    counted = {"real": 0, "all": 0}

    def count(_mod, args, kwargs):
        mask = kwargs.get("attention_mask")
        if mask is not None:
            counted["real"] += int(mask.sum())
            counted["all"] += mask.numel()

    marks = []

    class Marks(TrainerCallback):
        def on_step_end(self, args, state, control, **kw):
            marks.append((time.perf_counter(), counted["real"], counted["all"]))

    handle = model.register_forward_pre_hook(count, with_kwargs=True)
    args = TrainingArguments(
        output_dir=str(workdir / name), per_device_train_batch_size=BATCH, max_steps=STEPS,
        learning_rate=2e-4, logging_steps=STEPS, save_strategy="no", report_to="none",
        disable_tqdm=True, use_cpu=True, remove_unused_columns=False, label_names=["labels"],
        train_sampling_strategy="group_by_length" if grouped else "random", seed=0,
        optim="adamw_torch", dataloader_num_workers=0)
    Trainer(model=model, args=args, train_dataset=ExampleDataset(examples),
            data_collator=DynamicPadCollator(tok.pad_token_id, pad_to=pad_to),
            processing_class=tok, callbacks=[Marks()]).train()
    handle.remove()
    (t1, r1, a1), (tn, rn, an) = marks[0], marks[-1]
    secs = tn - t1
    return {"name": name, "s_per_step": secs / (len(marks) - 1), "real_tok_s": (rn - r1) / secs,
            "all_tok_s": (an - a1) / secs, "padding": 1 - (rn - r1) / max(1, an - a1)}


def main() -> int:
    import torch

    from core.datasets import load_sample
    from core.finetune import build_config
    from core.finetune.data import Encoder, prompts_for
    from core.finetune.plan import plan_run
    from core.finetune.train import load_model
    from core.workspace import open_workspace

    os.environ["LADDER_HOME"] = tempfile.mkdtemp(prefix="bench-ft-")
    ws = open_workspace()
    load_sample(ws)
    cfg = build_config("smollm2-135m-instruct", "support-tickets", "quick",
                       {"batch_size": BATCH, "target_modules": "attention"})
    plan = plan_run(ws, cfg)
    work = Path(os.environ["LADDER_HOME"])
    results = []
    for name, precision, pad_to, grouped in (
            ("baseline: fp32, padded to max length", "fp32", 128, False),
            ("ours: bf16, dynamic padding, length-grouped", "bf16", None, True)):
        c = plan.config.model_copy(update={"precision": precision})
        model, tok = load_model(plan.model_path, c, "cpu")
        enc = Encoder(tok)
        examples = enc.examples(prompts_for(plan.data.variant, plan.data.train, plan.data.labels),
                                plan.data.train.targets)
        longest = max(len(e["input_ids"]) for e in examples)
        pad = max(pad_to, longest) if pad_to else None
        params = sum(p.numel() for p in model.parameters())
        print(f"{name}: {len(examples)} rows, longest {longest} tokens", flush=True)
        r = measure(name.split(":")[0], model, tok, examples, pad_to=pad, grouped=grouped,
                    workdir=work)
        r.update(label=name, dtype=precision, pad_to=pad)
        results.append(r)
        print(r, flush=True)
        del model
    peaks = {"fp32": peak_flops(torch.float32), "bf16": peak_flops(torch.bfloat16)}
    flop_tok = 4 * params
    lines = [
        f"SmolLM2-135M ({params / 1e6:.0f}M parameters), LoRA r=8 on attention, batch {BATCH}, "
        f"{STEPS} steps (first is warm-up), sample dataset train split "
        f"({len(examples)} rows, prompt through the chat template, loss on answer tokens).",
        "",
        "| setup | s/step | real tokens/s | all tokens/s | padding | share of peak matmul FLOP/s |",
        "|---|---|---|---|---|---|",
    ]
    for r in results:
        share = r["real_tok_s"] * flop_tok / peaks[r["dtype"]]
        lines.append(f"| {r['label']} | {r['s_per_step']:.2f} | {r['real_tok_s']:.0f} | "
                     f"{r['all_tok_s']:.0f} | {r['padding']:.0%} | {share:.1%} of "
                     f"{peaks[r['dtype']] / 1e9:.0f} GFLOP/s ({r['dtype']}) |")
    ratio = results[1]["real_tok_s"] / results[0]["real_tok_s"]
    lines += ["", f"**Real tokens/s ratio, ours / baseline: {ratio:.1f}x** (target >= 4x).",
              f"Peak matmul measured here (2048x2048): fp32 {peaks['fp32'] / 1e9:.0f} GFLOP/s, "
              f"bf16 {peaks['bf16'] / 1e9:.0f} GFLOP/s. FLOP per real token counted as 4 x "
              "parameters (forward 2P + backward through activations 2P; LoRA weight "
              "gradients are negligible)."]
    body = "\n".join(lines)
    print(body)
    from bench._results import write_section

    write_section("Fine-tuning (issue 6)", body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
