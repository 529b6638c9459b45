"""One fine-tuning run: load the cached base, add LoRA, train with the Trainer, save, register.

Speed comes from choices measured on this kind of machine (bench/RESULTS.md): the
loss and logits only at answer positions, the prompt prefix a micro-batch shares run
once (core.finetune.trainer), micro-batches cut by a token budget from rows of similar
length, no adapter dropout by default, and bf16 weights where the CPU or GPU computes
bf16 natively (LoRA weights stay fp32). Full fine-tuning keeps fp32 master weights and
uses bf16 autocast instead, because pure-bf16 full training converges slowly. A time
budget sets the number of steps from the speed measured at the start (core.finetune.budget).

Checkpoints are written at every evaluation (the best and the last are kept),
so a killed run resumes from its last evaluation with the Trainer's own
`resume_from_checkpoint` (optimizer, scheduler, RNG and data order restored).

Trade-off: the Trainer rather than a hand-written loop. It was no slower here,
brings resume, DDP/FSDP under `accelerate launch` and every optimizer for free;
the price is reaching into it through a callback for live metrics and control.
"""

from __future__ import annotations

import errno
import gc
import json
import os
import shutil
import time
from dataclasses import asdict
from pathlib import Path

from core.finetune import budget as bud
from core.finetune.build import load_model, resolve_dtype
from core.finetune.config import FinetuneConfig
from core.finetune.data import BatchDataset, TrainCollator
from core.finetune.measure import plan_budget
from core.finetune.prepare import prepare
from core.hf import loading

OPTIMIZERS = {"adamw": "adamw_torch", "rmsprop": "rmsprop", "sgd": "sgd", "adafactor": "adafactor"}


def training_args(cfg: FinetuneConfig, run_dir: Path, device: str, has_eval: bool,
                  world_size: int = 1):
    """Trainer arguments for micro-batches cut in advance (one dataset item is one batch)."""
    with loading():
        from transformers import TrainingArguments

    _, autocast = resolve_dtype(cfg, device)
    scheduler = cfg.scheduler
    if scheduler == "constant" and cfg.warmup_ratio > 0:
        scheduler = "constant_with_warmup"
    score_metric = cfg.early_stopping_metric == "val_score" and cfg.eval_rows > 0
    every = cfg.eval_every or bud.eval_schedule(cfg.max_steps or 1, cfg.evaluations, fit=False)[1]
    return TrainingArguments(
        output_dir=str(run_dir / "checkpoints"),
        per_device_train_batch_size=1, per_device_eval_batch_size=1,
        gradient_accumulation_steps=cfg.grad_accum,
        learning_rate=cfg.lr, lr_scheduler_type=scheduler, warmup_steps=float(cfg.warmup_ratio),
        num_train_epochs=cfg.epochs, max_steps=cfg.max_steps or -1,
        weight_decay=cfg.weight_decay, optim=OPTIMIZERS[cfg.optimizer],
        optim_args="momentum=0.9" if cfg.optimizer == "sgd" else None,
        seed=cfg.seed, data_seed=cfg.seed,
        logging_steps=max(1, min(10, every // 3)), logging_first_step=True,
        eval_strategy="steps" if has_eval else "no", eval_steps=every,
        save_strategy="steps", save_steps=every, save_total_limit=2,
        load_best_model_at_end=has_eval, prediction_loss_only=True,
        metric_for_best_model="eval_score" if score_metric else "eval_loss",
        greater_is_better=bool(score_metric),
        train_sampling_strategy="random", remove_unused_columns=False,
        label_names=["labels"], report_to="none", disable_tqdm=True, bf16=autocast,
        use_cpu=device == "cpu", dataloader_num_workers=0,
        ddp_backend="gloo" if device == "cpu" and world_size > 1 else None,
        ddp_find_unused_parameters=False if world_size > 1 else None,
    )


def last_checkpoint(run_dir: Path) -> Path | None:
    """The newest complete checkpoint (one with trainer_state.json); incomplete ones removed."""
    ckpts = sorted((run_dir / "checkpoints").glob("checkpoint-*"),
                   key=lambda p: int(p.name.split("-")[-1]) if p.name.split("-")[-1].isdigit() else -1)
    for p in reversed(ckpts):
        if (p / "trainer_state.json").exists():
            return p
        shutil.rmtree(p, ignore_errors=True)
    return None


def resume_point(ctx) -> tuple[Path | None, list[dict]]:
    """(the checkpoint to resume from, the evaluations recorded up to it); the curves are cut
    back to that step, or started over when the run was killed before its first checkpoint."""
    from core.jobs.files import read_metrics, truncate_metrics

    resume = last_checkpoint(ctx.run_dir)
    if resume is None:
        if ctx.is_main:
            truncate_metrics(ctx.run_dir, 0)
        return None, []
    step = int(resume.name.split("-")[-1])
    if ctx.is_main:
        truncate_metrics(ctx.run_dir, step)
    ctx.log(f"resuming from {resume.name}")
    return resume, [r for r in read_metrics(ctx.run_dir)
                    if r.get("kind") == "eval" and r["step"] <= step]


def _fail_checkpoint_writes(trainer) -> None:
    """TEST-ONLY hook (LADDER_TEST_FAIL_CHECKPOINT_WRITE=1): every checkpoint write raises
    OSError(ENOSPC), as on a full disk; the fault tests use it since a small tmpfs is not
    available to them. Never set it outside tests."""
    def full_disk(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device (LADDER_TEST_FAIL_CHECKPOINT_WRITE)")

    trainer._save_checkpoint = full_disk


def run_training(ctx, ws, plan_cfg: FinetuneConfig, data, model_path: str, device: str,
                 trust_remote_code: bool = False) -> dict:
    """Train, save the best adapter in RUN_DIR/adapter; return what happened."""
    with loading():
        from core.finetune.callbacks import RunCallback
        from core.finetune.trainer import LadderTrainer

    cfg, run_dir = plan_cfg, ctx.run_dir
    ctx.status(phase="loading model")
    ctx.log(f"loading {cfg.base_model} from {model_path} on {device} (world size {ctx.world_size})")
    model, tok = load_model(model_path, cfg, device, trust_remote_code)
    prep = prepare(cfg, data, tok, getattr(model.config, "max_position_embeddings", None))
    collator = TrainCollator(tok.pad_token_id, share_prefix=ctx.world_size == 1)
    timing = {"load_s": round(time.time() - ctx.started, 1)}
    deadline = None
    if cfg.time_budget_min and not cfg.max_steps:
        ctx.status(phase="measuring speed")
        t0 = time.time()
        known = bud.known_speed(ws, bud.signature(cfg, device, task=data.task))
        plan, speed, decided = plan_budget(ctx, cfg, model, prep, collator, data, tok, device,
                                           known)
        timing["measure_s"] = round(time.time() - t0, 1)
        if plan.steps < cfg.evaluations:
            # slower than the plan thought (a busy machine?): train the least that still
            # evaluates as configured, and say what it costs, rather than fail the run
            ctx.log(f"this machine is slower now than the {cfg.time_budget_min:g}-minute "
                    f"budget allows (a step takes {plan.step_s:.1f} s, before/after about "
                    f"{plan.before_after_s:.0f} s): training the minimum of "
                    f"{cfg.evaluations} steps, so the run will take longer than planned")
            plan.steps = cfg.evaluations
        # every evaluation also checkpoints: end the run on one, so no step is thrown away
        steps, every = bud.eval_schedule(plan.steps, cfg.evaluations, fit=True)
        cfg = cfg.model_copy(update={"max_steps": steps, "eval_every": every, **decided})
        ctx.update_config(max_steps=steps, eval_every=every, **decided)
        deadline = time.time() + 1.05 * (plan.train_s + cfg.evaluations * plan.eval_each_s)
        if ctx.is_main:
            bud.record_speed(ws, bud.signature(cfg, device, task=data.task), speed)
            (run_dir / "budget.json").write_text(json.dumps(
                {**asdict(plan), "train_s": plan.train_s, "expected_s": plan.expected_s(),
                 "speed": asdict(speed)}, indent=1))
        ctx.log(f"time budget {cfg.time_budget_min:g} min: {plan.steps} steps of about "
                f"{plan.step_s:.2f} s (measured), evaluation {plan.eval_each_s:.0f} s x "
                f"{cfg.evaluations}, before/after about {plan.before_after_s:.0f} s on "
                f"{cfg.test_rows} test rows")
    elif not cfg.eval_every:
        # epochs (or steps) rounded up to whole evaluation intervals: the last step is evaluated
        total = cfg.max_steps or bud.epoch_steps(len(prep.train), cfg.epochs, cfg.grad_accum)
        steps, every = bud.eval_schedule(total, cfg.evaluations, fit=False)
        cfg = cfg.model_copy(update={"max_steps": steps, "eval_every": every})
        ctx.update_config(max_steps=steps, eval_every=every)
    train_ds = BatchDataset(prep.train)
    eval_ds = BatchDataset(prep.eval) if prep.eval else None
    resume, history = resume_point(ctx)
    cb = RunCallback(ctx, cfg, tok, collator, prep.score_sets, prep.validator, history,
                     deadline=deadline)
    trainer = LadderTrainer(
        model=model, args=training_args(cfg, run_dir, device, eval_ds is not None, ctx.world_size),
        train_dataset=train_ds, eval_dataset=eval_ds, data_collator=collator,
        processing_class=tok, callbacks=[cb])
    seen = trainer.seen
    cb.tokens_seen = lambda: seen["tokens"]
    if os.environ.get("LADDER_TEST_FAIL_CHECKPOINT_WRITE") == "1":
        _fail_checkpoint_writes(trainer)
    ctx.interruptible = False  # from here a SIGTERM stops at the next step boundary
    t0 = time.time()
    out = trainer.train(resume_from_checkpoint=str(resume) if resume else None)
    wall = time.time() - t0
    ctx.interruptible = True
    state = trainer.state
    validate_s = trainer.validate_s
    timing.update(train_s=round(wall - validate_s - trainer.save_s, 1),
                  validate_s=round(validate_s, 1), save_s=round(trainer.save_s, 1))
    result = {"final_step": state.global_step, "max_steps": state.max_steps,
              "train_loss": out.training_loss, "best_checkpoint": state.best_model_checkpoint,
              "best_metric": state.best_metric, "stopped_early": cb.stopped_early,
              "stopped_by_budget": cb.stopped_by_budget, "device": device,
              "real_tokens": trainer.seen["tokens"] * ctx.world_size,
              "computed_tokens": trainer.seen["computed"] * ctx.world_size,
              "examples_seen": trainer.seen["rows"] * ctx.world_size,
              "epochs_seen": round(trainer.seen["rows"] * ctx.world_size / max(1, len(data.train)),
                                   3),
              **timing}
    if cb.cancelled or ctx.cancelled():
        return {**result, "state": "cancelled"}
    if ctx.is_main:
        unwrapped = trainer.model
        target = run_dir / ("adapter" if cfg.method == "lora" else "model")
        tmp = target.with_name(target.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        unwrapped.save_pretrained(tmp, safe_serialization=True)
        tok.save_pretrained(tmp)
        shutil.rmtree(target, ignore_errors=True)
        tmp.replace(target)
        result["adapter_path"] = str(target)
        (run_dir / "train_summary.json").write_text(json.dumps(result, indent=1, default=str))
    del trainer, model
    gc.collect()
    if cb.stopped_early:
        result["state"] = "stopped_early"
    return result
