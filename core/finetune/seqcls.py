"""A classification fine-tune that predicts labels directly: an encoder or an LLM head.

Where the generative recipe teaches a causal LM to write the label after a prompt, these
train a classifier on the row's input (core.models.seqcls): MiniLM end to end with a
linear head (`encoder`), or a causal LM with a classification head and LoRA (`head`).
Cross-entropy over the labels; no prompt, no generation, one forward pass per row at
inference. The same machinery as every run drives them: the Trainer with checkpoints at
each evaluation (so a killed run resumes), the run callback's live metrics, alarms and
early stopping, and a time budget fitted from a step timed on this run's batches.

An encoder starts, by default, from the dataset's embedding classifier (core.finetune.warm);
the start is scored on the validation rows like a checkpoint and kept if none beats it.

An evaluation is one forward pass over a fixed, seeded sample of the validation split
(`eval_rows`): its logits give both the validation loss and the accuracy (the Trainer's
`compute_metrics`). Under a time budget the sample is sized so that all evaluations take
about 15% of it, and before/after is planned from rows timed one at a time, so monitoring
stays a small share of the run on long inputs too.
"""

from __future__ import annotations

import json
import random
import time

from core.finetune import budget as bud
from core.finetune.config import FinetuneConfig, FinetuneError
from core.finetune.data import BatchDataset, sample_indices, token_batches
from core.hf import loading

ENCODER_MAX_LEN = 256  # MiniLM's own limit (what the sentence encoder was trained with)
HEAD_MAX_LEN = 512


def inputs_of(rows) -> list[str]:
    return [str(v.get("input", "")) for v in rows.values]


def label_examples(tok, rows, approach: str) -> list[dict]:
    """What a label predictor reads of each row: its input, cut where training cuts it."""
    cut = ENCODER_MAX_LEN if approach == "encoder" else HEAD_MAX_LEN
    ids = tok(inputs_of(rows), truncation=True, max_length=cut)["input_ids"]
    return [{"input_ids": x, "prompt_len": len(x)} for x in ids]


def encoder_params(model_config, freeze_layers: int = 0) -> tuple[int, int]:
    """(parameters, trained parameters) of the encoder: all of them train, but for the
    embeddings and the lowest `freeze_layers` layers when that is set."""
    import torch

    with loading():
        from transformers import AutoModel

        with torch.device("meta"):
            model = AutoModel.from_config(model_config)
    total = sum(p.numel() for p in model.parameters())
    return total, total - sum(p.numel() for p in frozen_params(model, freeze_layers))


def frozen_params(bert, freeze_layers: int) -> list:
    """The parameters `freeze_layers` keeps fixed: the embeddings and the lowest layers."""
    if not freeze_layers:
        return []
    frozen = [bert.embeddings, *bert.encoder.layer[:freeze_layers]]
    return [p for m in frozen for p in m.parameters()]


def check_labels(data, approach: str, dataset: str = "NAME") -> list[str]:
    """The problems that stop a fine-tune on this data (one line each): a train split mostly
    without labels (any approach; a few are left out), then what a classifier needs."""
    missing = data.train.unlabelled  # left out of training; most of the split: not yet
    if missing > len(data.train):
        return [f"'{dataset}' version {data.version.number} has {missing} train rows without a "
                f"label (and {len(data.train)} with one); label them with `ladder data label "
                f"{dataset} --model M --prompts FILE --variant V` (or on the Data page), then "
                "fine-tune the new version"]
    if approach not in ("encoder", "head"):
        return []
    if data.task != "classification":
        return [f"approach={approach} trains a classifier, and this is a "
                f"{data.task.replace('_', ' ')} dataset; use approach=generate"]
    train = set(data.train.targets)
    if len(train) < 2:
        return [f"approach={approach} needs at least two labels in the train split (it has "
                f"{len(train)}); add rows of the other labels, or use the Prompt Lab"]
    unseen = sorted({t for t in list(data.eval.targets) + list(data.test.targets)} - train)
    if unseen:
        return [f"labels {', '.join(map(repr, unseen[:5]))} appear in validation/test but never "
                f"in train, so approach={approach} cannot predict them; move rows with those "
                "labels into train (or drop them) and start again"]
    return []


def build(cfg: FinetuneConfig, approach: str, labels: list[str], device: str,
          base_path: str | None, trust_remote_code: bool = False):
    """(model, tokenizer, max_len) ready to train."""
    from core.finetune.build import adapted_layers, lora_targets, resolve_dtype
    from core.models import seqcls

    if approach == "encoder":
        model, tok = seqcls.build_encoder(len(labels))
        for p in frozen_params(model.encoder, cfg.freeze_layers):
            p.requires_grad_(False)
        return model.to(device), tok, ENCODER_MAX_LEN
    dtype, _ = resolve_dtype(cfg, device)
    model, tok = seqcls.build_head(base_path, len(labels), dtype, trust_remote_code)
    with loading():
        from peft import LoraConfig, get_peft_model

    targets = [t for t in lora_targets(model, cfg.target_modules) if t != "score"]
    lcfg = LoraConfig(r=cfg.lora_r, lora_alpha=cfg.lora_alpha, lora_dropout=cfg.lora_dropout,
                      target_modules=targets, task_type="SEQ_CLS", bias="none",
                      layers_to_transform=adapted_layers(model.config, cfg.lora_layers))
    model = get_peft_model(model, lcfg)
    tok.padding_side = "right"
    limit = getattr(model.config, "max_position_embeddings", None) or HEAD_MAX_LEN
    return model.to(device), tok, min(HEAD_MAX_LEN, limit)


class Collator:
    """A pre-cut micro-batch of {input_ids, label} as padded tensors (padding on the right)."""

    def __init__(self, pad_id: int):
        self.pad_id = pad_id

    def __call__(self, items):
        import torch

        rows = items[0] if items and isinstance(items[0], list) else items
        width = max(len(r["input_ids"]) for r in rows)
        ids = torch.full((len(rows), width), self.pad_id, dtype=torch.long)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        for i, r in enumerate(rows):
            ids[i, :len(r["input_ids"])] = torch.tensor(r["input_ids"])
            mask[i, :len(r["input_ids"])] = 1
        return {"input_ids": ids, "attention_mask": mask,
                "labels": torch.tensor([r["label"] for r in rows], dtype=torch.long)}


def examples(tok, texts: list[str], targets: list[str], index: dict, max_len: int) -> list[dict]:
    enc = tok(texts, truncation=True, max_length=max_len)["input_ids"]
    return [{"input_ids": ids, "label": index[t]} for ids, t in zip(enc, targets, strict=True)]


def accuracy(model, collator, batches: list[list[dict]], device: str) -> float | None:
    """Share of rows whose highest logit is their label (the model in eval mode, restored)."""
    import torch

    if not batches:
        return None
    was = model.training
    model.eval()
    right = total = 0
    with torch.no_grad():
        for b in batches:
            t = collator(b)
            logits = model(input_ids=t["input_ids"].to(device),
                           attention_mask=t["attention_mask"].to(device)).logits
            right += int((logits.argmax(1).cpu() == t["labels"]).sum())
            total += len(b)
    if was:
        model.train()
    return right / max(1, total)


def val_rows_asked(cfg: FinetuneConfig, available: int) -> int:
    """Validation rows a label predictor's evaluation reads before a budget trims them: one
    pass gives loss and accuracy, on `eval_rows` rows (`eval_sample` when 0; all when both 0)."""
    return min(available, (cfg.eval_rows or cfg.eval_sample) or available)


def accuracy_metric(p) -> dict:
    """The Trainer's `compute_metrics`: accuracy from the logits of the evaluation pass that
    also gives the validation loss (one forward pass over the validation rows, not two)."""
    import numpy as np

    logits = p.predictions[0] if isinstance(p.predictions, tuple) else p.predictions
    return {"score": float(np.mean(np.argmax(logits, -1) == p.label_ids))}


def _plan(ctx, cfg, model, collator, train_b, n_val, passes, device, n_test):
    """Steps that fit the time budget, from steps timed on this run's batches, and the
    validation rows that fit their share (`passes` evaluations of up to `n_val` rows)."""
    rng = random.Random(cfg.seed)
    budget_s = cfg.time_budget_min * 60
    step = lambda m, b: m(**{k: v.to(device) for k, v in b.items()}).loss  # noqa: E731
    model.train()
    first = rng.choice(train_b)
    t0 = time.perf_counter()
    bud.step_times(model, [collator(first)], step)  # the first step: costs extra, not timed
    picks = [first] + [rng.choice(train_b)
                       for _ in range(bud.probe_batches(budget_s, time.perf_counter() - t0) - 1)]
    times = bud.step_times(model, [collator(b) for b in picks], step, passes=2)
    # per padded token, times the mean batch: batches differ by 3x and more (many short rows
    # or a few long ones), and the mean of a few random ones planned a third of the steps;
    # timed on the second sighting of each shape (the first planned 0.92 s for 0.6-s steps)
    padded = lambda b: len(b) * max(len(r["input_ids"]) for r in b)  # noqa: E731
    per_token = sum(times) / max(1, sum(padded(b) for b in picks))
    step_s = per_token * sum(map(padded, train_b)) / len(train_b) * bud.STEP_OVERHEAD
    rows_per_step = sum(len(b) for b in train_b) / len(train_b)
    t0 = time.perf_counter()
    accuracy(model, collator, picks[:2], device)  # forward passes only, as validation runs
    per_row = (time.perf_counter() - t0) / max(1, sum(len(b) for b in picks[:2]))
    n_val = bud.label_val_rows(budget_s, per_row, passes, n_val)
    eval_each = per_row * n_val
    # before/after answers one row at a time (a request's latency): timed so, on a few rows
    # (a fixed 3x the batched time planned 75 s for 27 s on long posts)
    ones = [[r] for r in picks[0][:3]]
    t0 = time.perf_counter()
    accuracy(model, collator, ones, device)
    per_row_1 = (time.perf_counter() - t0) / len(ones)
    if cfg.before_after and not cfg.test_rows:  # a sample that fits its share of the budget
        n_test = bud.test_rows_for(budget_s, per_row_1, n_test)
    before_after = 2 * n_test * per_row_1 if cfg.before_after else 0.0
    spent = time.time() - ctx.started
    cap = bud.epoch_steps(len(train_b), cfg.epochs, cfg.grad_accum)
    steps = bud.budget_steps(budget_s, spent, step_s, before_after, eval_each, passes, cap)
    return (max(steps, cfg.evaluations), step_s, eval_each, before_after, rows_per_step,
            n_test, n_val)


def run_seqcls(ctx, ws, cfg: FinetuneConfig, data, approach: str, device: str,
               base_path: str | None = None, trust_remote_code: bool = False) -> dict:
    """Train, save the best model in RUN_DIR/model with its seqcls.json; return what happened."""
    from core.finetune.callbacks import RunCallback
    from core.finetune.train import resume_point, training_args
    from core.finetune.trainer import LadderTrainer
    from core.finetune.warm import keep_warm_start, warm_start
    from core.models import seqcls

    problems = check_labels(data, approach, cfg.dataset)
    if problems:
        raise FinetuneError(" ".join(problems))
    run_dir = ctx.run_dir
    labels = sorted(set(data.train.targets))
    index = {lab: i for i, lab in enumerate(labels)}
    ctx.status(phase="loading model")
    t_load = time.time()
    model, tok, max_len = build(cfg, approach, labels, device, base_path, trust_remote_code)
    timing = {"load_s": round(time.time() - t_load, 1)}
    warm = warm_start(ws, cfg, run_dir, labels, ctx.log) if approach == "encoder" else None
    if warm:
        model.normalize = True
        model.head.load_state_dict(warm["head"])
    if cfg.max_seq_len:
        max_len = min(max_len, cfg.max_seq_len)
    collator = Collator(tok.pad_token_id)
    cut = lambda ex: token_batches(ex, cfg.tokens_per_batch, cfg.batch_size, cfg.seed)  # noqa: E731
    train_b = cut(examples(tok, inputs_of(data.train), data.train.targets, index, max_len))
    val_ex = examples(tok, inputs_of(data.eval), data.eval.targets, index, max_len)
    n_val = val_rows_asked(cfg, len(val_ex))
    train_cfg = cfg.model_copy(update={"method": "full" if approach == "encoder" else "lora"})
    deadline = plan = None
    if cfg.time_budget_min and not cfg.max_steps:
        ctx.status(phase="measuring speed")
        t_measure = time.time()
        n_test = min(cfg.test_rows or len(data.test), len(data.test))
        available, asked = n_test, n_val
        starts = int(bool(warm) and warm["start_score"] is None)
        steps, step_s, eval_each, ba_s, per_step, n_test, n_val = _plan(
            ctx, cfg, model, collator, train_b, n_val, cfg.evaluations + starts, device, n_test)
        if n_test < available:  # before/after reads the run's config after training
            ctx.update_config(test_rows=n_test)
            ctx.log(f"before/after scores a seeded sample of {n_test:,} of the {available:,} "
                    "test rows, to fit its share of the budget (set test_rows to choose)")
        if n_val < asked:  # a resumed run validates on the same rows
            ctx.update_config(eval_rows=n_val)
            ctx.log(f"validation reads a seeded sample of {n_val:,} of the {asked:,} "
                    "validation rows, to fit its share of the budget (set eval_rows to choose)")
        steps, every = bud.eval_schedule(steps, cfg.evaluations, fit=True)
        timing["measure_s"] = round(time.time() - t_measure, 1)
        plan = (steps, step_s, eval_each)
        ctx.log(f"time budget {cfg.time_budget_min:g} min: {steps} steps of about {step_s:.2f} s "
                f"({per_step:.0f} rows each), evaluation {eval_each:.0f} s x {cfg.evaluations}"
                f"{' + 1 of the start' if starts else ''}, before/after about {ba_s:.0f} s")
    elif cfg.eval_every:
        steps = cfg.max_steps or bud.epoch_steps(len(train_b), cfg.epochs, cfg.grad_accum)
        every = cfg.eval_every
    else:
        total = cfg.max_steps or bud.epoch_steps(len(train_b), cfg.epochs, cfg.grad_accum)
        steps, every = bud.eval_schedule(total, cfg.evaluations, fit=False)
    cfg = cfg.model_copy(update={"max_steps": steps, "eval_every": every})
    ctx.update_config(max_steps=steps, eval_every=every)
    train_cfg = train_cfg.model_copy(update={"max_steps": steps, "eval_every": every})
    eval_b = cut([val_ex[i] for i in sample_indices(len(val_ex), n_val, cfg.seed)])
    if warm:
        if warm["start_score"] is None and eval_b:
            ctx.status(phase="scoring the starting point")
            warm["start_score"] = accuracy(model, collator, eval_b, device)
        keep_warm_start(run_dir, warm, ctx.is_main)
        start = warm["start_score"]
        ctx.log(f"warm start: the head starts as {warm['classifier']}'s logistic regression"
                + (f" (validation accuracy {start:.1%} before training)" if start is not None
                   else ""))
    if plan:
        steps, step_s, eval_each = plan
        deadline = time.time() + 1.05 * (steps * step_s + cfg.evaluations * eval_each)
    resume, history = resume_point(ctx)
    cb = RunCallback(ctx, cfg, tok, collator, {}, None, history, deadline=deadline)
    args = training_args(train_cfg, run_dir, device, bool(eval_b), ctx.world_size)
    args.prediction_loss_only = False  # the logits give the accuracy in the same pass
    trainer = LadderTrainer(
        model=model, args=args, train_dataset=BatchDataset(train_b),
        eval_dataset=BatchDataset(eval_b) if eval_b else None, data_collator=collator,
        processing_class=tok, callbacks=[cb], compute_metrics=accuracy_metric)
    cb.tokens_seen = lambda: trainer.seen["tokens"]
    ctx.interruptible = False
    t0 = time.time()
    out = trainer.train(resume_from_checkpoint=str(resume) if resume else None)
    wall = time.time() - t0
    ctx.interruptible = True
    state = trainer.state
    result = {**timing, "final_step": state.global_step, "max_steps": state.max_steps,
              "train_loss": out.training_loss, "best_checkpoint": state.best_model_checkpoint,
              "best_metric": state.best_metric, "stopped_early": cb.stopped_early,
              "stopped_by_budget": cb.stopped_by_budget, "device": device, "approach": approach,
              "examples_seen": trainer.seen["rows"], "computed_tokens": trainer.seen["computed"],
              "epochs_seen": round(trainer.seen["rows"] / max(1, len(data.train)), 3),
              "train_s": round(wall - trainer.validate_s - trainer.save_s, 1),
              "validate_s": round(trainer.validate_s, 1), "save_s": round(trainer.save_s, 1)}
    if cb.cancelled or ctx.cancelled():
        return {**result, "state": "cancelled"}
    final = trainer.model
    if warm:
        start = warm["start_score"]
        kept = (start is not None and cfg.early_stopping_metric == "val_score"
                and (state.best_metric is None or start > state.best_metric))
        result["warm_start"] = {"classifier": warm["classifier"], "start_score": start,
                                "kept_start": kept}
        if kept:  # no checkpoint beat the classifier's head on the unchanged encoder
            final = seqcls.build_encoder(len(labels), normalize=True)[0]
            final.head.load_state_dict(warm["head"])
            ctx.log(f"no checkpoint beat the starting point on validation ({start:.1%} against "
                    f"{state.best_metric or 0:.1%}): the model kept is the starting one")
    if ctx.is_main:
        meta = {"approach": approach, "labels": labels, "max_len": max_len,
                "normalize": bool(warm), "warm_start": warm["classifier"] if warm else None,
                "base": cfg.base_model if approach == "head" else "all-MiniLM-L6-v2",
                "dataset": cfg.dataset, "dataset_hash": cfg.dataset_hash,
                "train_s": result["train_s"], "run": ctx.job_id}
        target = seqcls.save(run_dir / "model", final, tok, meta)
        result["adapter_path"] = str(target)
        (run_dir / "train_summary.json").write_text(json.dumps(result, indent=1, default=str))
    if cb.stopped_early:
        result["state"] = "stopped_early"
    return result

