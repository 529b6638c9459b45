"""Checks and estimates before a run starts: every problem found, named, with its fix.

`plan_run(ws, cfg)` resolves the dataset version and the variant, checks the
base model, renders and tokenizes every row (so a `max_seq_len` shorter than
the prompts is caught here, not after minutes of training) and estimates time
and memory. It raises `FinetuneError` listing all problems; nothing is
written and no process starts.

Trade-off: tokenizing every row costs a second or two (and converting a
packaged model the first time, ~25 s) before the click is accepted. That is
cheap next to a run that dies at its first long row.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field

from core.finetune.config import FinetuneConfig, FinetuneError
from core.finetune.data import Encoder, Rows, default_variant, prompts_for, rows_from_frame
from core.hf import loading
from core.prompts.variants import Variant

# Measured here (2 cores, AVX-512 BF16; PITFALLS.md): a SmolLM2 (135M) LoRA step on
# 8 x 128 tokens took 1.55 s in bf16 and ~4 s in fp32 -> effective FLOP/s of a LoRA
# step (4 x params FLOP per token) on this CPU.
CPU_FLOPS = {"bf16": 4 * 135e6 * 1024 / 1.55, "fp32": 4 * 135e6 * 1024 / 4.0}
MEASURED_CORES = 2
GPU_FLOPS = 60e12  # a guess for small models on one modern GPU: they are latency bound
TINY_PARAMS = 5_000_000


@dataclass
class RunData:
    version: object
    task: str
    labels: list[str] | None
    variant: Variant
    train: Rows
    eval: Rows
    test: Rows


@dataclass
class Estimate:
    params: int
    trainable: int
    steps: int
    tokens_per_epoch: int
    seconds: float
    memory_gb: float
    device: str
    notes: list[str] = field(default_factory=list)

    def text(self) -> str:
        secs = self.seconds
        took = f"{secs:.0f} s" if secs < 90 else f"{secs / 60:.0f} min ({secs:.0f} s)"
        return (f"Estimate (rough): {self.steps} steps, about {took} "
                f"and {self.memory_gb:.1f} GB of memory on {self.device}; "
                f"{self.trainable:,} of {self.params:,} parameters trained, "
                f"{self.tokens_per_epoch:,} tokens per epoch.")


@dataclass
class Plan:
    config: FinetuneConfig
    data: RunData
    estimate: Estimate
    model_path: str
    max_len: int


def load_run_data(ws, cfg: FinetuneConfig, problems: list[str] | None = None) -> RunData | None:
    """Rows of the three splits rendered through the variant; problems appended, not raised."""
    from core.datasets import versions as store
    from core.datasets.errors import DatasetError

    problems = [] if problems is None else problems
    try:
        version = store.get_version(ws, cfg.dataset, cfg.dataset_version)
    except DatasetError as e:
        problems.append(str(e))
        return None
    if cfg.dataset_hash and cfg.dataset_hash != version.hash:
        problems.append(f"dataset '{cfg.dataset}' version {version.number} changed since the run "
                        "was configured (its content hash differs); start a new run.")
        return None
    sp = store.get_split(ws, version)
    name = f"'{cfg.dataset}' version {version.number}"
    if sp is None:
        problems.append(f"{name} has no train split; make one with `ladder data split "
                        f"{cfg.dataset} --val 0.1 --test 0.1` or on the Data page.")
        return None
    frame = store.load_frame(ws, version)
    m = version.mapping
    parts = {}
    for split in (cfg.train_split, cfg.eval_split, cfg.test_split):
        if split not in store.SPLITS:
            problems.append(f"unknown split '{split}'; use train, validation or test.")
            return None
        parts[split] = rows_from_frame(frame.iloc[sp.indices(split)].reset_index(drop=True), m)
    if not len(parts[cfg.train_split]):
        problems.append(f"{name} has no rows in its {cfg.train_split} split; make a split with "
                        "training rows (e.g. --val 0.1 --test 0.1).")
    if not len(parts[cfg.eval_split]) and cfg.early_stopping_patience:
        problems.append(f"{name} has no {cfg.eval_split} rows, so early stopping cannot work; "
                        "re-split with --val 0.1, or set early_stopping_patience=0.")
    labels = None
    if m.task == "classification":
        labels = sorted({str(t).strip() for t in frame[m.target_col] if str(t).strip()})
    try:
        variant = Variant(**cfg.variant) if cfg.variant else default_variant(m.task)
        variant.check_columns(version.columns)
    except (ValueError, TypeError) as e:
        problems.append(f"the prompt variant cannot be used: {e}")
        return None
    return RunData(version, m.task, labels, variant, parts[cfg.train_split],
                   parts[cfg.eval_split], parts[cfg.test_split])


def check_base_model(ws, cfg: FinetuneConfig, problems: list[str]):
    from core.models.base import ModelError

    try:
        spec = ws.registry.get(cfg.base_model)
    except ModelError as e:
        problems.append(str(e))
        return None
    local = [s.id for s in ws.registry.list() if s.kind in ("packaged", "hub", "folder")]
    if spec.kind == "openai":
        problems.append(f"'{spec.id}' is an API model (an OpenAI-compatible endpoint): its weights "
                        f"are not here to train. Choose a local model: {', '.join(local)}.")
        return None
    if spec.kind == "classifier":
        problems.append(f"'{spec.id}' is an embedding classifier, not a language model; "
                        f"choose a local model to fine-tune: {', '.join(local)}.")
        return None
    if spec.kind == "adapter":
        problems.append(f"'{spec.id}' is already a fine-tuned adapter; fine-tune its base "
                        f"'{spec.base_model}' instead (with more data or steps).")
        return None
    return spec


def plan_run(ws, cfg: FinetuneConfig, progress=None) -> Plan:
    """Validate `cfg` against the workspace and estimate the run; raise FinetuneError if unusable."""
    from core.models.local import materialize

    problems: list[str] = []
    spec = check_base_model(ws, cfg, problems)
    data = load_run_data(ws, cfg, problems)
    if problems:
        raise FinetuneError(" ".join(f"({i}) {p}" for i, p in enumerate(problems, 1))
                            if len(problems) > 1 else problems[0])
    path = materialize(spec, ws.settings.model_cache, progress)
    tok, config = _tokenizer_and_config(path, spec.trust_remote_code)
    params, trainable = count_params(config, cfg)
    if params < TINY_PARAMS and os.environ.get("LADDER_ALLOW_TINY") != "1":
        raise FinetuneError(f"'{spec.id}' has only {params:,} parameters: a test model, too small "
                            "to learn a task. Choose a real base model (set LADDER_ALLOW_TINY=1 "
                            "only for tests).")
    enc = Encoder(tok)
    lengths: dict[str, list[int]] = {}
    longest = (0, 0, "")
    for name, rows in (("train", data.train), ("validation", data.eval), ("test", data.test)):
        prompts = prompts_for(data.variant, rows, data.labels)
        exs = enc.examples(prompts, rows.targets)
        lengths[name] = [len(e["input_ids"]) for e in exs]
        for i, e in enumerate(exs):
            if len(e["input_ids"]) > longest[0]:
                longest = (len(e["input_ids"]), e["prompt_len"], f"{name} row {i + 1}")
    if longest[0] > cfg.max_seq_len:
        need = 2 ** math.ceil(math.log2(longest[0]))
        raise FinetuneError(
            f"max_seq_len is {cfg.max_seq_len} but the longest prompt + answer is {longest[0]} "
            f"tokens ({longest[2]}; the prompt alone is {longest[1]}): it would be cut off. "
            f"Raise max_seq_len to {need} (--set max_seq_len={need}) or shorten the prompt.")
    cfg = cfg.model_copy(update={"dataset_version": data.version.number,
                                 "dataset_hash": data.version.hash,
                                 "variant": data.variant.model_dump()})
    est = estimate(cfg, config, params, trainable, lengths, data)
    return Plan(cfg, data, est, path, longest[0])


def _tokenizer_and_config(path: str, trust_remote_code: bool):
    with loading():
        from transformers import AutoConfig, AutoTokenizer

        tok = AutoTokenizer.from_pretrained(path, trust_remote_code=trust_remote_code)
        config = AutoConfig.from_pretrained(path, trust_remote_code=trust_remote_code)
    return tok, config


def count_params(model_config, cfg: FinetuneConfig) -> tuple[int, int]:
    """(all parameters, trained parameters) from the architecture alone (no weights loaded)."""
    import torch

    with loading():
        from transformers import AutoModelForCausalLM

        with torch.device("meta"):  # model code is imported above, outside the meta device
            model = AutoModelForCausalLM.from_config(model_config)
    total = sum(p.numel() for p in model.parameters())
    if cfg.method == "full":
        return total, total
    from core.finetune.train import lora_targets

    names = set(lora_targets(model, cfg.target_modules))
    trainable = 0
    for name, mod in model.named_modules():
        if isinstance(mod, torch.nn.Linear) and (name.rsplit(".", 1)[-1] in names):
            trainable += cfg.lora_r * (mod.in_features + mod.out_features)
    return total, trainable


def estimate(cfg: FinetuneConfig, model_config, params: int, trainable: int,
             lengths: dict[str, list[int]], data: RunData) -> Estimate:
    """Time and memory from parameter count, tokens and this machine's measured FLOP/s."""
    import torch

    train_len = lengths["train"] or [1]
    n_train = len(train_len)
    per_epoch = math.ceil(n_train / cfg.effective_batch)
    steps = cfg.max_steps or max(1, math.ceil(per_epoch * cfg.epochs))
    mean_len = sum(train_len) / n_train
    tokens_per_step = cfg.effective_batch * mean_len * 1.1  # dynamic padding leaves ~10%
    gpu = torch.cuda.is_available()
    precision = cfg.precision
    if gpu:
        rate, device = GPU_FLOPS, "the GPU"
    else:
        rate = CPU_FLOPS[precision] * max(1, (os.cpu_count() or 2)) / MEASURED_CORES
        device = f"this CPU ({os.cpu_count()} cores)"
    flop_tok = (6 if cfg.method == "full" else 4) * params
    train_s = steps * tokens_per_step * flop_tok / rate
    evals = steps // cfg.eval_every
    val_tokens = sum(lengths["validation"] or [0])
    n_labels = len(data.labels or []) or 1
    score_tokens = min(cfg.eval_rows, len(lengths["validation"])) * mean_len * n_labels * 2
    eval_s = evals * (val_tokens + score_tokens) * 2 * params / rate
    test_n = len(lengths["test"]) if not cfg.test_rows else min(cfg.test_rows, len(lengths["test"]))
    ba_s = (2 * test_n * mean_len * n_labels * 2 * params / rate) if cfg.before_after else 0
    seconds = train_s + eval_s + ba_s + 15  # + loading the model and libraries
    wbytes = 2 if precision == "bf16" else 4
    hidden = getattr(model_config, "hidden_size", 1024)
    layers = getattr(model_config, "num_hidden_layers", 12)
    vocab = getattr(model_config, "vocab_size", 32000)
    max_len = max(max(v) if v else 0 for v in lengths.values())
    opt_bytes = trainable * (4 + 4 + 8) if cfg.method == "lora" else params * 16
    act = cfg.batch_size * max_len * hidden * layers * 34 * wbytes / 2
    logits = cfg.batch_size * max_len * vocab * 4 * 2
    memory = params * wbytes + opt_bytes + act + logits + 0.5e9  # + the runtime itself
    notes = ["Estimates from the parameter count, the tokens in the train split and "
             "FLOP/s measured on this machine type; real times vary with load."]
    if precision == "bf16" and not gpu:
        from core.models.local import cpu_supports_bf16

        if not cpu_supports_bf16():
            notes.append("This CPU has no bf16 support: the run will use fp32 (about 2.5x slower).")
    return Estimate(params, trainable, steps, int(sum(train_len)), seconds, memory / 1e9,
                    device, notes)
