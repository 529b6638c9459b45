"""The Trainer with the loss computed only where it is: the answer, after a prompt run once.

A fine-tuning row is mostly prompt, and the prompt is masked out of the loss. Two things
follow, and both give the same loss as the plain computation (a test checks it):

- logits (a 49k-wide projection per position on SmolLM2) are computed only at the
  positions that predict an answer token (`logits_to_keep` with a boolean mask);
- the tokens every row of a micro-batch begins with (chat header, system message,
  instructions) run once, and their keys and values serve every row
  (core.models.prefix). Under several processes (DDP) the model may be called once per
  step only, so there the prefix is not shared (the collator is told so).

The class also keeps the seconds spent validating and saving, for results.json.

Trade-off: overriding `compute_loss` ties us to the Trainer's loss conventions
(`num_items_in_batch`, averaging across devices); they are followed here as the Trainer
documents them, so gradient accumulation and several devices scale the loss the same way.
"""

from __future__ import annotations

import time

from core.hf import loading

with loading():
    from transformers import Trainer


def answer_loss(model, inputs: dict, num_items_in_batch=None):
    """(summed-then-normalised cross-entropy over answer tokens, model output)."""
    import torch.nn.functional as F

    from core.models.prefix import accepts, batch_cache

    inputs = dict(inputs)
    labels = inputs.pop("labels")
    keep = inputs.pop("keep")
    prefix = inputs.pop("prefix_ids", None)
    if prefix is not None:
        pre = model(input_ids=prefix, use_cache=True, logits_to_keep=1)
        kv = [(layer.keys, layer.values) for layer in pre.cache.layers]
        inputs.update(cache=batch_cache(model, kv, labels.shape[0]), use_cache=True)
    else:
        inputs["use_cache"] = False
    if accepts(model, "logits_to_keep"):
        out = model(**inputs, logits_to_keep=keep)
        logits = out.logits
    else:
        out = model(**inputs)
        logits = out.logits[keep]
    target = labels[:, 1:][keep[:, :-1]]
    loss = F.cross_entropy(logits.float(), target, ignore_index=-100, reduction="sum")
    count = num_items_in_batch if num_items_in_batch is not None else (target != -100).sum()
    return loss / count, out


class LadderTrainer(Trainer):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.validate_s = 0.0
        self.save_s = 0.0
        self.seen = {"rows": 0, "tokens": 0, "computed": 0}  # training batches only

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        if "keep" not in inputs:  # a plain batch (a classification head's)
            if model.training:
                self.count(inputs)
            return super().compute_loss(model, inputs, return_outputs, num_items_in_batch)
        if model.training:
            self.count(inputs)
        loss, out = answer_loss(model, inputs, num_items_in_batch)
        if self.args.average_tokens_across_devices and num_items_in_batch is not None:
            loss = loss * (self.accelerator.num_processes // self.get_tp_size())
        return (loss, out) if return_outputs else loss

    def count(self, inputs: dict) -> None:
        mask = inputs["attention_mask"]
        p = inputs["prefix_ids"].shape[1] if "prefix_ids" in inputs else 0
        own = int(mask[:, p:].sum())
        self.seen["rows"] += mask.shape[0]
        self.seen["tokens"] += own + p * mask.shape[0]
        self.seen["computed"] += own + p

    def evaluate(self, *args, **kwargs):
        t0 = time.perf_counter()
        try:
            return super().evaluate(*args, **kwargs)
        finally:
            self.validate_s += time.perf_counter() - t0

    def _save_checkpoint(self, *args, **kwargs):
        t0 = time.perf_counter()
        try:
            return super()._save_checkpoint(*args, **kwargs)
        finally:
            self.save_s += time.perf_counter() - t0
