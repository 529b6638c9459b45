"""The model a fine-tuning run trains: the cached base in the run's precision, with LoRA
on the chosen linear layers (or every weight, for a full fine-tune)."""

from __future__ import annotations

from core.finetune.config import FinetuneConfig
from core.hf import loading

ATTENTION = ("q_proj", "k_proj", "v_proj", "o_proj", "query", "key", "value", "qkv_proj",
             "c_attn", "Wqkv", "out_proj", "query_key_value")


def layer_count(model_config) -> int:
    cfg = model_config.get_text_config() if hasattr(model_config, "get_text_config") else model_config
    return int(getattr(cfg, "num_hidden_layers", 0) or 0)


def adapted_layers(model_config, lora_layers: int) -> list[int] | None:
    """Indices of the top `lora_layers` layers (None = every layer).

    >>> class C: num_hidden_layers = 30
    >>> adapted_layers(C(), 4), adapted_layers(C(), 0), adapted_layers(C(), 99)
    ([26, 27, 28, 29], None, None)
    """
    n = layer_count(model_config)
    if not lora_layers or not n or lora_layers >= n:
        return None
    return list(range(n - lora_layers, n))


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

    from core.hardware import native_bf16

    bf16_ok = native_bf16(device)
    if cfg.precision != "bf16" or not bf16_ok:
        return torch.float32, False
    if cfg.method == "full":
        return torch.float32, True
    return torch.bfloat16, False


def load_model(path: str, cfg: FinetuneConfig, device: str, trust_remote_code: bool = False):
    from core.hardware import native_gqa

    native_gqa(device)  # the whole run, training and its evaluations, reads grouped heads natively
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
                          target_modules=targets, task_type="CAUSAL_LM", bias="none",
                          layers_to_transform=adapted_layers(model.config, cfg.lora_layers))
        model = get_peft_model(model, lcfg)
    return model, tok


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
    import re

    names = set(lora_targets(model, cfg.target_modules))
    layers = adapted_layers(model_config, cfg.lora_layers)
    trainable = 0
    for name, mod in model.named_modules():
        if isinstance(mod, torch.nn.Linear) and (name.rsplit(".", 1)[-1] in names):
            index = re.search(r"\.(\d+)\.", name)
            if layers is not None and (index is None or int(index.group(1)) not in layers):
                continue
            trainable += cfg.lora_r * (mod.in_features + mod.out_features)
    return total, trainable
