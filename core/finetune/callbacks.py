"""The Trainer callback that makes a run observable and controllable from outside.

At each log it appends train loss, learning rate, real tokens/s and ETA to
metrics.jsonl and status.json; at each evaluation it adds the validation task
score (the run's scorer, a mean of per-row scores in [0, 1]; and a train score on
as many train rows, for the gap alarm), checks the alarms and early stopping; after each step it honours a cancel request. Under
several processes every rank takes the same stop decisions (the cancel flag is
all-reduced; scores are computed identically on each rank), so no rank waits
forever on another.

Trade-off: early stopping is ours, not transformers' EarlyStoppingCallback,
because it must follow the task score computed here and end the run in the
distinct "stopped_early" state.
"""

from __future__ import annotations

import os
import time

from transformers import TrainerCallback

from core.finetune import alarms as alarm_rules
from core.finetune.scoring import Validator, score_backend


def _all_ranks_any(flag: bool) -> bool:
    import torch
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()):
        return flag
    t = torch.tensor([1 if flag else 0], dtype=torch.int32)
    if dist.get_backend() == "nccl":
        t = t.cuda()
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return bool(t.item())


class RunCallback(TrainerCallback):
    def __init__(self, ctx, cfg, tokenizer, collator, score_sets: dict, validator: Validator,
                 history: list[dict] | None = None, deadline: float | None = None):
        self.ctx, self.cfg, self.tok, self.collator = ctx, cfg, tokenizer, collator
        # {"val": (prompts, references), "train": (prompts, references)}
        self.score_sets = score_sets
        self.validator = validator  # the run's scorer and the evaluation's decoding
        self.history = list(history or [])  # evaluation records, also from before a resume
        self.stopped_early = False
        self.cancelled = False
        self.deadline = deadline  # a time budget's latest end of training (time.time())
        # example tokens trained on so far (the trainer counts training batches only)
        self.tokens_seen = lambda: self.collator.real_tokens
        self.stopped_by_budget = False
        self.last_train_loss = next((h.get("train_loss") for h in reversed(self.history)
                                     if h.get("train_loss") is not None), None)
        self._interval_losses: list[float] = []  # logged since the last evaluation
        self._t0 = time.time()
        self._step0 = 0
        self._last = (time.time(), 0)
        self.delay = float(os.environ.get("LADDER_FINETUNE_STEP_DELAY_S", "0") or 0)

    # -- progress -------------------------------------------------------------
    def on_train_begin(self, args, state, control, **kw):
        self._t0, self._step0 = time.time(), state.global_step
        self._last = (time.time(), self.tokens_seen())
        self.ctx.status(state="running", phase="training", step=state.global_step,
                        max_steps=state.max_steps)

    def _eta(self, state) -> float | None:
        done = state.global_step - self._step0
        if done <= 0:
            return None
        per_step = (time.time() - self._t0) / done
        return per_step * max(0, state.max_steps - state.global_step)

    def on_log(self, args, state, control, logs=None, **kw):
        logs = logs or {}
        if "loss" not in logs:
            return
        now, tokens = time.time(), self.tokens_seen()
        dt = now - self._last[0]
        tps = (tokens - self._last[1]) * self.ctx.world_size / dt if dt > 0 else None
        self._last = (now, tokens)
        self.last_train_loss = float(logs["loss"])
        self._interval_losses.append(self.last_train_loss)
        rec = {"kind": "train", "step": state.global_step, "epoch": round(state.epoch or 0, 4),
               "max_steps": state.max_steps, "train_loss": float(logs["loss"]),
               "lr": float(logs.get("learning_rate", 0.0)), "tokens_per_s": tps,
               "eta_s": self._eta(state)}
        if logs.get("grad_norm") is not None:
            rec["grad_norm"] = float(logs["grad_norm"])
        self.ctx.metric(rec)
        self.ctx.status(phase="training", step=state.global_step, max_steps=state.max_steps,
                        epoch=rec["epoch"], train_loss=rec["train_loss"], lr=rec["lr"],
                        tokens_per_s=tps, eta_s=rec["eta_s"])

    # -- evaluation, alarms, early stopping ----------------------------------
    def on_evaluate(self, args, state, control, metrics=None, model=None, **kw):
        metrics = metrics if metrics is not None else {}
        self.ctx.status(phase="evaluating", step=state.global_step)
        scores = {}
        if metrics.get("eval_score") is not None:  # a label predictor's, from the loss's pass
            scores = {"val": metrics["eval_score"]}
        elif model is not None and self.cfg.eval_rows:
            from core.models.local import LocalBackend

            device = next(model.parameters()).device
            backend = LocalBackend(model, self.tok, str(device), "training")
            for name, (prompts, references) in self.score_sets.items():
                if prompts:
                    s = score_backend(backend, prompts, references, self.validator,
                                      batch_size=max(8, self.cfg.batch_size))
                    scores[name] = s.score
        if scores.get("val") is not None:
            metrics["eval_score"] = scores["val"]  # seen by load_best_model_at_end
        rec = {"kind": "eval", "step": state.global_step, "epoch": round(state.epoch or 0, 4),
               "val_loss": metrics.get("eval_loss"), "val_score": scores.get("val"),
               "train_score": scores.get("train"), "train_loss": self.last_train_loss}
        if self._interval_losses:  # the interval's mean: one step's loss is noisy
            rec["train_loss_avg"] = sum(self._interval_losses) / len(self._interval_losses)
            self._interval_losses = []
        self.history.append(rec)
        found = alarm_rules.check(self.history, overfit_patience=self.cfg.overfit_patience,
                                  overfit_gap=self.cfg.overfit_gap,
                                  underfit_loss=self.cfg.underfit_loss,
                                  task=self.validator.task if self.validator else "",
                                  underfit_min_drop=self.cfg.underfit_min_drop,
                                  underfit_window=self.cfg.underfit_window)
        rec["alarms"] = [a.record() for a in found]
        best, since, stop = alarm_rules.early_stop_state(
            self.history, self.cfg.early_stopping_metric, self.cfg.early_stopping_patience,
            self.cfg.early_stopping_min_delta)
        rec["best"] = best
        if stop:
            self.stopped_early = True
            control.should_training_stop = True
            rec["early_stop"] = (f"{self.cfg.early_stopping_metric} did not improve by more than "
                                 f"{self.cfg.early_stopping_min_delta:g} for {since} evaluations")
        self.ctx.metric(rec)
        self.ctx.status(phase="training", val_loss=rec["val_loss"], val_score=rec["val_score"],
                        train_score=rec["train_score"], alarms=rec["alarms"], best=best,
                        early_stop=rec.get("early_stop"))
        if stop:
            self.ctx.log(f"early stopping at step {state.global_step}: {rec['early_stop']}")

    # -- cancel ---------------------------------------------------------------
    def on_step_end(self, args, state, control, **kw):
        if self.delay:
            time.sleep(self.delay)
        if _all_ranks_any(self.ctx.cancelled()):
            self.cancelled = True
            control.should_training_stop = True
            control.should_save = False
            control.should_evaluate = False
        elif self.deadline and _all_ranks_any(time.time() > self.deadline):
            # the machine got slower than measured: keep the promise about time, evaluate
            # and save this step (the best checkpoint still wins)
            self.stopped_by_budget = True
            control.should_training_stop = True
            control.should_evaluate = True
            control.should_save = True
            self.ctx.log(f"time budget reached at step {state.global_step}; stopping")
