"""One fine-tuning run: load the cached base, add LoRA, train with the Trainer, save, register.

Speed on a CPU comes from three choices measured on this machine (PITFALLS.md):
the base is loaded in bf16 (LoRA weights stay fp32), batches are padded only
to their own longest row, and rows of similar length are batched together
(`group_by_length`). Full fine-tuning keeps fp32 master weights and uses bf16
autocast instead, because pure-bf16 full training converges slowly.

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
from pathlib import Path

from core.finetune.config import FinetuneConfig
from core.finetune.data import DynamicPadCollator, Encoder, ExampleDataset, prompts_for
from core.hf import loading

ATTENTION = ("q_proj", "k_proj", "v_proj", "o_proj", "query", "key", "value", "qkv_proj",
             "c_attn", "Wqkv", "out_proj", "query_key_value")
OPTIMIZERS = {"adamw": "adamw_torch", "rmsprop": "rmsprop", "sgd": "sgd", "adafactor": "adafactor"}


def lora_targets(model, target_modules: str) -> list[str]:
    """Leaf names of the linear layers LoRA adapts: attention projections or all but the head."""
    import torch

    out_emb = model.get_output_embeddings() if hasattr(model, "get_output_embeddings") else None
    names = set()
    for name, mod in model.named_modules():
        if not isinstance(mod, torch.nn.Linear) or mod is out_emb:
            continue
        leaf = name.rsplit(".", 1)[-1]
        if target_modules == "all_linear" or leaf in ATTENTION:
            names.add(leaf)
    if not names:
        raise ValueError(f"no {'attention ' if target_modules == 'attention' else ''}linear layers "
                         "found to adapt; use target_modules=all_linear or method=full")
    return sorted(names)


def resolve_dtype(cfg: FinetuneConfig, device: str):
    """(dtype to load the weights in, use bf16 autocast in the Trainer)."""
    import torch

    from core.models.local import cpu_supports_bf16

    bf16_ok = (torch.cuda.is_bf16_supported() if device == "cuda" else cpu_supports_bf16())
    if cfg.precision != "bf16" or not bf16_ok:
        return torch.float32, False
    if cfg.method == "full":
        return torch.float32, True
    return torch.bfloat16, False


def load_model(path: str, cfg: FinetuneConfig, device: str, trust_remote_code: bool = False):
    dtype, _ = resolve_dtype(cfg, device)
    with loading():
        from transformers import AutoModelForCausalLM, AutoTokenizer

        tok = AutoTokenizer.from_pretrained(path, trust_remote_code=trust_remote_code)
        model = AutoModelForCausalLM.from_pretrained(path, dtype=dtype, use_safetensors=True,
                                                     trust_remote_code=trust_remote_code)
    if tok.pad_token_id is None:
        tok.pad_token = tok.eos_token
    if cfg.method == "lora":
        with loading():
            from peft import LoraConfig, get_peft_model

        targets = lora_targets(model, cfg.target_modules)
        lcfg = LoraConfig(r=cfg.lora_r, lora_alpha=cfg.lora_alpha, lora_dropout=cfg.lora_dropout,
                          target_modules=targets, task_type="CAUSAL_LM", bias="none")
        model = get_peft_model(model, lcfg)
    return model, tok


def training_args(cfg: FinetuneConfig, run_dir: Path, device: str, has_eval: bool,
                  world_size: int = 1):
    with loading():
        from transformers import TrainingArguments

    _, autocast = resolve_dtype(cfg, device)
    scheduler = cfg.scheduler
    if scheduler == "constant" and cfg.warmup_ratio > 0:
        scheduler = "constant_with_warmup"
    score_metric = cfg.early_stopping_metric == "val_score" and cfg.eval_rows > 0
    return TrainingArguments(
        output_dir=str(run_dir / "checkpoints"),
        per_device_train_batch_size=cfg.batch_size,
        per_device_eval_batch_size=max(1, cfg.batch_size * 2),
        gradient_accumulation_steps=cfg.grad_accum,
        learning_rate=cfg.lr, lr_scheduler_type=scheduler, warmup_steps=float(cfg.warmup_ratio),
        num_train_epochs=cfg.epochs, max_steps=cfg.max_steps or -1,
        weight_decay=cfg.weight_decay, optim=OPTIMIZERS[cfg.optimizer],
        optim_args="momentum=0.9" if cfg.optimizer == "sgd" else None,
        seed=cfg.seed, data_seed=cfg.seed,
        logging_steps=max(1, min(10, cfg.eval_every // 3)), logging_first_step=True,
        eval_strategy="steps" if has_eval else "no", eval_steps=cfg.eval_every,
        save_strategy="steps", save_steps=cfg.eval_every, save_total_limit=2,
        load_best_model_at_end=has_eval,
        metric_for_best_model="eval_score" if score_metric else "eval_loss",
        greater_is_better=bool(score_metric),
        train_sampling_strategy="group_by_length", remove_unused_columns=False,
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
        from transformers import Trainer

        from core.finetune.callbacks import RunCallback
    from core.jobs.files import read_metrics, truncate_metrics

    cfg, run_dir = plan_cfg, ctx.run_dir
    ctx.status(phase="loading model")
    ctx.log(f"loading {cfg.base_model} from {model_path} on {device} (world size {ctx.world_size})")
    model, tok = load_model(model_path, cfg, device, trust_remote_code)
    enc = Encoder(tok)
    train_prompts = prompts_for(data.variant, data.train, data.labels)
    eval_prompts = prompts_for(data.variant, data.eval, data.labels)
    train_ds = ExampleDataset(enc.examples(train_prompts, data.train.targets))
    eval_ds = ExampleDataset(enc.examples(eval_prompts, data.eval.targets)) if len(data.eval) else None
    collator = DynamicPadCollator(tok.pad_token_id)
    n = cfg.eval_rows
    score_sets = {"val": (eval_prompts[:n], data.eval.targets[:n])} if n else {}
    if n and cfg.overfit_gap > 0:
        score_sets["train"] = (train_prompts[:n], data.train.targets[:n])
    resume = last_checkpoint(run_dir)
    history = []
    if resume is not None:
        step = int(resume.name.split("-")[-1])
        truncate_metrics(run_dir, step) if ctx.is_main else None
        history = [r for r in read_metrics(run_dir) if r.get("kind") == "eval" and r["step"] <= step]
        ctx.log(f"resuming from {resume.name}")
    elif ctx.is_main:
        truncate_metrics(run_dir, 0)  # killed before its first checkpoint: start the curves over
    cb = RunCallback(ctx, cfg, tok, collator, score_sets, data.task, data.labels, history)
    trainer = Trainer(model=model, args=training_args(cfg, run_dir, device, eval_ds is not None,
                                                      ctx.world_size),
                      train_dataset=train_ds, eval_dataset=eval_ds, data_collator=collator,
                      processing_class=tok, callbacks=[cb])
    if os.environ.get("LADDER_TEST_FAIL_CHECKPOINT_WRITE") == "1":
        _fail_checkpoint_writes(trainer)
    ctx.interruptible = False  # from here a SIGTERM stops at the next step boundary
    out = trainer.train(resume_from_checkpoint=str(resume) if resume else None)
    ctx.interruptible = True
    state = trainer.state
    result = {"final_step": state.global_step, "max_steps": state.max_steps,
              "train_loss": out.training_loss, "best_checkpoint": state.best_model_checkpoint,
              "best_metric": state.best_metric, "stopped_early": cb.stopped_early,
              "device": device, "real_tokens": collator.real_tokens}
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


def export_merged(ws, run_dir: Path, base_path: str, out: Path | None = None) -> Path:
    """Base + adapter merged into one ordinary model folder (RUN_DIR/merged by default)."""
    import torch

    adapter = Path(run_dir) / "adapter"
    if not (adapter / "adapter_config.json").exists():
        raise ValueError(f"{adapter} holds no finished adapter; wait for the run to succeed.")
    out = Path(out or Path(run_dir) / "merged")
    with loading():
        from peft import PeftModel
        from transformers import AutoModelForCausalLM, AutoTokenizer

        base = AutoModelForCausalLM.from_pretrained(base_path, dtype=torch.float32,
                                                    use_safetensors=True)
        merged = PeftModel.from_pretrained(base, str(adapter)).merge_and_unload()
    merged.save_pretrained(out, safe_serialization=True)
    AutoTokenizer.from_pretrained(str(adapter)).save_pretrained(out)
    return out


def adapter_zip(run_dir: Path) -> Path:
    """RUN_DIR/adapter.zip: the PEFT adapter folder, for download."""
    adapter = Path(run_dir) / "adapter"
    if not (adapter / "adapter_config.json").exists():
        raise ValueError(f"{adapter} holds no finished adapter; wait for the run to succeed.")
    out = Path(run_dir) / "adapter.zip"
    newest = max(p.stat().st_mtime for p in adapter.iterdir())
    if out.exists() and out.stat().st_mtime >= newest:
        return out
    return Path(shutil.make_archive(str(adapter), "zip", root_dir=adapter))
