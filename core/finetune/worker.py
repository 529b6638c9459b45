"""`python -m core.finetune.worker RUN_DIR`: the process that runs one fine-tuning job.

It reads RUN_DIR/config.json, trains (resuming from the last checkpoint when
there is one), saves the adapter in PEFT format, registers it as the model
`BASE+RUN`, scores base and fine-tuned model on the test split with the same
prompt, and writes RUN_DIR/results.json. The same command runs unchanged
under `accelerate launch` (several processes or GPUs): every rank trains, rank
0 alone writes files, registers and scores.

Trade-off: one process per run (start-up costs ~5-10 s of imports) in exchange
for a run that survives the dashboard, can be killed cleanly, and is exactly
what a user can run by hand.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from core.finetune.config import FinetuneConfig, FinetuneError, trained_model
from core.finetune.metric import resolve
from core.finetune.prepare import engine_rows, test_rows
from core.jobs.worker import JobContext, run_job

__all__ = ["body", "engine_rows", "main", "model_id_for", "register", "test_rows"]


def model_id_for(base_id: str, run_id: str) -> str:
    """`BASE+RUN`, shortened from the base side to fit the 80-character id limit.

    >>> model_id_for("smollm2-135m-instruct", "ft-250612-142233-a3")
    'smollm2-135m-instruct+ft-250612-142233-a3'
    """
    room = 80 - len(run_id) - 1
    return f"{base_id[:room]}+{run_id}"


def register(ws, base_spec, run_id: str, path: str, method: str,
             approach: str = "generate") -> str:
    """Register what a run trained: an adapter or a fully fine-tuned model (generate), a
    fine-tuned encoder classifier (encoder), or an LLM classification head (head)."""
    from core.models.registry import build_spec

    base_id = trained_model(base_spec.id, approach)
    model_id = model_id_for(base_id, run_id)
    if ws.registry.exists(model_id):
        return model_id
    fields = dict(id=model_id, hourly_cost=base_spec.hourly_cost or 0.0,
                  notes=f"fine-tuned from {base_id} by run {run_id}")
    if approach == "encoder":
        fields.update(kind="encoder", source=path)
    elif approach == "head":
        fields.update(kind="head", source=path, base_model=base_spec.id)
    elif method == "lora":
        fields.update(kind="adapter", source=path, base_model=base_spec.id)
    else:
        fields.update(kind="finetuned", source=path)
    ws.registry.add(build_spec(**fields))
    return model_id


SETTLED_BY_TASK = ("approach", "early_stopping_metric", "lr", "scheduler", "warmup_ratio",
                   "weight_decay", "tokens_per_batch", "batch_size", "eval_sample", "eval_rows",
                   "overfit_gap", "epochs", "evaluations", "early_stopping_patience")


def ensure_classifier(ws, cfg, log=None) -> str:
    """The embedding classifier of the run's dataset version: a registered one, or one
    trained now (seconds) under the id DATASET-classifier."""
    from core.finetune.head_to_head import find_classifier
    from core.models.classifier import add_classifier

    found = find_classifier(ws, cfg.dataset, cfg.dataset_hash)
    if found:
        return found
    model_id = f"{cfg.dataset}-classifier"[:70]
    n = 2
    while ws.registry.exists(model_id):
        model_id, n = f"{cfg.dataset}-classifier-{n}"[:70], n + 1
    if log:
        log(f"training the embedding classifier {model_id} as the baseline")
    add_classifier(ws, model_id, cfg.dataset)
    return model_id


def record_measured_speed(ws, cfg, result: dict, device: str, task: str | None = None) -> None:
    """Keep what this run measured, so the next plan's estimate uses real numbers."""
    from core.finetune import budget as bud

    tokens = result.get("computed_tokens") or 0
    if not tokens or not result.get("train_s"):
        return
    sig = bud.signature(cfg, device, task=task)
    old = bud.known_speed(ws, sig)
    step = result["train_s"] / tokens
    score = result.get("after_s_per_row") or (old.score_s_per_row if old else None)
    if score is None:
        return
    bud.record_speed(ws, sig, bud.Speed(s_per_token=step, score_s_per_row=score,
                                        eval_s_per_token=old.eval_s_per_token if old
                                        else step / 3))


def body(ctx: JobContext) -> dict:
    from core.finetune.artifacts import export_merged
    from core.finetune.plan import check_base_model, load_run_data
    from core.finetune.train import run_training
    from core.hardware import pick_device
    from core.models.cache import materialize
    from core.workspace import open_workspace

    ws = open_workspace()
    cfg = FinetuneConfig(**ctx.config())
    problems: list[str] = []
    spec = check_base_model(ws, cfg, problems)
    data = load_run_data(ws, cfg, problems)
    if problems:
        raise FinetuneError(" ".join(problems))
    cfg = cfg.for_task(data.task)  # approach and early_stopping_metric=auto made explicit
    ctx.update_config(**{k: getattr(cfg, k) for k in SETTLED_BY_TASK})
    labelled = cfg.approach in ("encoder", "head")
    device = pick_device(ws.settings.device)
    ctx.status(phase="preparing the model")
    path = (None if cfg.approach == "encoder"
            else materialize(spec, ws.settings.model_cache, progress=ctx.log))
    ctx.check_cancel()
    baseline, baseline_s = spec.id, 0.0
    if labelled and cfg.before_after and ctx.is_main:
        # a label predictor's "before" is the embedding classifier on the same rows; trained
        # (if new) before training, so the time budget counts it
        t0 = time.time()
        ctx.status(phase="training the embedding classifier (the baseline)")
        baseline = ensure_classifier(ws, cfg, ctx.log)
        baseline_s = round(time.time() - t0, 1)
    if labelled:
        from core.finetune.seqcls import run_seqcls

        result = run_seqcls(ctx, ws, cfg, data, cfg.approach, device, path,
                            spec.trust_remote_code)
    else:
        result = run_training(ctx, ws, cfg, data, path, device, spec.trust_remote_code)
    if result.get("state") == "cancelled" or not ctx.is_main:
        return result
    state = result.pop("state", "succeeded")
    result["baseline_s"] = baseline_s
    result["model_id"] = register(ws, spec, ctx.job_id, result["adapter_path"], cfg.method,
                                  cfg.approach)
    ctx.log(f"registered model {result['model_id']}")
    if cfg.export_merged and cfg.method == "lora" and not labelled:
        ctx.status(phase="merging")
        result["merged_path"] = str(export_merged(ws, ctx.run_dir, path))
    cfg = FinetuneConfig(**ctx.config()).for_task(data.task)  # test_rows a budget decided
    choice = resolve(cfg.scorer, data.task, list(data.train.targets))
    result.update(scorer=choice.kind, scorer_why=choice.why)
    rows = test_rows(data, cfg.test_rows, cfg.seed)
    t0 = time.time()
    if cfg.before_after and rows:
        from core.finetune.scoring import before_after

        ctx.status(phase="before/after on the test split")
        ba = before_after(ws, baseline, result["model_id"], data.variant, rows,
                          data.task, data.labels, choice.kind, progress=ctx.log,
                          train_rows=engine_rows(data.train))
        result.update(ba)
        from core.finetune.head_to_head import head_to_head
        from core.finetune.scoring import evaluate_model

        ctx.status(phase="head-to-head with the cheaper rungs")
        result["head_to_head"] = head_to_head(
            ws, cfg, data, rows, ba, baseline, lambda m: [c["score"] for c in evaluate_model(
                ws, m, data.variant, rows, data.task, data.labels, choice.kind,
                engine_rows(data.train))[1]])
        ctx.log(f"before {ba['before'].get('score')} -> after {ba['after'].get('score')} "
                f"({choice.kind}; {ba['comparison']['verdict']})")
    result["score_s"] = round(time.time() - t0, 1)
    record_measured_speed(ws, cfg, result, device, data.task)
    result["wall_s"] = round(time.time() - ctx.started, 1)
    if result.get("train_s") is not None:
        share = (result.get("validate_s", 0) + result["score_s"]) / max(result["wall_s"], 1e-9)
        result["validate_score_share"] = round(share, 3)
    (ctx.run_dir / "results.json").write_text(json.dumps(result, indent=1, default=str))
    result["state"] = state
    return result


def main(argv: list[str]) -> int:
    if len(argv) != 1 or not Path(argv[0]).is_dir():
        print("usage: python -m core.finetune.worker RUN_DIR  (a run folder made by "
              "`ladder finetune start`)", file=sys.stderr)
        return 2
    return run_job(argv[0], body)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
