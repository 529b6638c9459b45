"""Training building blocks on the tiny model: prompt masking, padding, LoRA touches only adapters."""

from __future__ import annotations

import torch

from core.finetune import build_config
from core.finetune.build import load_model, lora_targets
from core.finetune.data import IGNORE, DynamicPadCollator, Encoder, ExampleDataset, prompts_for
from core.finetune.plan import plan_run
from core.finetune.train import training_args
from tests.finetune.conftest import TINY


def test_only_answer_tokens_carry_labels(tiny_ws):
    plan = plan_run(tiny_ws, build_config("tiny", "toy", None, TINY))
    from transformers import AutoTokenizer

    enc = Encoder(AutoTokenizer.from_pretrained(plan.model_path))
    assert enc.chat
    prompts = prompts_for(plan.data.variant, plan.data.train, plan.data.labels)
    ex = enc.example(prompts[0], plan.data.train.targets[0])
    n = ex["prompt_len"]
    assert ex["labels"][:n] == [IGNORE] * n
    answer = enc.tok.convert_ids_to_tokens(ex["labels"][n:])
    assert answer == [plan.data.train.targets[0], "</s>"]
    assert ex["input_ids"][:n] == enc.prompt_ids(prompts[0])  # same ids the scorer uses


def test_dynamic_padding_pads_each_batch_to_its_longest():
    c = DynamicPadCollator(pad_id=0)
    b = c([{"input_ids": [1, 2], "labels": [IGNORE, 2]}, {"input_ids": [1, 2, 3, 4], "labels": [1, 2, 3, 4]}])
    assert b["input_ids"].shape == (2, 4) and b["attention_mask"].sum() == 6
    assert b["labels"][0].tolist() == [IGNORE, 2, IGNORE, IGNORE]
    assert (c.real_tokens, c.padded_tokens) == (6, 8)
    assert DynamicPadCollator(0, pad_to=16)([{"input_ids": [1], "labels": [1]}])["input_ids"].shape == (1, 16)


def test_lora_changes_adapter_weights_and_leaves_base_weights(tiny_ws, tmp_path):
    from transformers import Trainer

    cfg = build_config("tiny", "toy", None, {**TINY, "target_modules": "all_linear", "lr": 1e-2})
    plan = plan_run(tiny_ws, cfg)
    model, tok = load_model(plan.model_path, plan.config, "cpu")
    from tests.tiny import tiny_llama

    assert set(lora_targets(tiny_llama(), "all_linear")) == {
        "q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"}
    assert set(lora_targets(tiny_llama(), "attention")) == {"q_proj", "k_proj", "v_proj", "o_proj"}
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert trainable and all("lora_" in n for n in trainable)
    enc = Encoder(tok)
    ds = ExampleDataset(enc.examples(prompts_for(plan.data.variant, plan.data.train, plan.data.labels),
                                     plan.data.train.targets))
    args = training_args(plan.config.model_copy(update={"max_steps": 4}), tmp_path, "cpu", False)
    Trainer(model=model, args=args, train_dataset=ds, data_collator=DynamicPadCollator(0),
            processing_class=tok).train()
    after = dict(model.named_parameters())
    changed = {n for n in before if not torch.equal(before[n], after[n].detach())}
    assert changed and changed <= trainable
    assert any("lora_B" in n for n in changed)  # B starts at zero: the adapter learned something
    base = [n for n in before if n not in trainable]
    assert base and all(torch.equal(before[n], after[n].detach()) for n in base)
