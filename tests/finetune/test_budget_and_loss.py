"""Time budgets, fixed validation samples and the answer-only loss (tiny models)."""

from __future__ import annotations

import pytest
import torch

from core.finetune import budget as bud
from core.finetune import build_config
from core.finetune.build import load_model
from core.finetune.config import FinetuneError
from core.finetune.data import (
    IGNORE,
    DynamicPadCollator,
    Encoder,
    TrainCollator,
    prompts_for,
    sample_indices,
    token_batches,
)
from core.finetune.plan import plan_run
from core.finetune.prepare import prepare
from core.finetune.trainer import answer_loss
from tests.finetune.conftest import TINY, add_dataset, toy_frame


def test_steps_from_a_budget_and_a_measured_speed_hand_computed():
    # 5 minutes; 30 s already spent loading and measuring; before/after 2 x 100 rows at
    # 0.2 s a row = 40 s; 3 evaluations of 6 s; 8 s to save: 300-30-40-18-8 = 204 s left,
    # at 4 tokens x 0.5 s a step = 2.0 s a step -> 102 steps.
    speed = bud.Speed(s_per_token=0.5, score_s_per_row=0.2, eval_s_per_token=0.1)
    step_s = speed.step_s(4)
    assert step_s == 2.0
    steps = bud.budget_steps(300, 30, step_s, 2 * 100 * speed.score_s_per_row, 6, 3,
                             max_steps=10_000)
    assert steps == 102
    assert bud.budget_steps(300, 30, step_s, 40, 6, 3, max_steps=60) == 60  # epochs cap it
    assert bud.budget_steps(60, 30, step_s, 40, 6, 3, max_steps=60) == 0  # nothing fits
    plan = bud.Budget(300, 30, 40, 6, 3, step_s, steps)
    assert plan.expected_s() == pytest.approx(30 + 204 + 18 + 40 + 8)


def test_a_label_predictors_validation_and_speed_probe_fit_their_shares():
    # 20 Newsgroups-like posts, 0.1 s a row forward: 5 evaluations + the start's in 5 minutes
    # may take 15% = 45 s, 7.5 s each = 75 rows, below the floor of 100; in 20 minutes with 11
    # passes 180 s / 1.1 s = 163 rows; short sentences at 2 ms a row: all 584 rows fit
    assert bud.label_val_rows(300, 0.1, 6, 400) == 100
    assert bud.label_val_rows(1200, 0.1, 11, 400) == 163
    assert bud.label_val_rows(300, 0.002, 6, 584) == 584
    assert bud.label_val_rows(300, 0.1, 6, 40) == 40  # never more than there are
    # the probe times each batch twice within ~5% of the budget: 15 s / (2 x 6 s) -> the
    # least, 2; 60 s / 12 s = 5; short steps: the most, 7
    assert (bud.probe_batches(300, 6.0), bud.probe_batches(1200, 6.0),
            bud.probe_batches(300, 0.4)) == (2, 5, 7)


def test_measured_speed_is_kept_per_settings(ws):
    cfg = build_config("m", "d", "quick")
    sig = bud.signature(cfg, "cpu")
    assert bud.known_speed(ws, sig) is None
    bud.record_speed(ws, sig, bud.Speed(0.01, 0.05, 0.003))
    assert bud.known_speed(ws, sig) == bud.Speed(0.01, 0.05, 0.003)
    other = bud.signature(cfg.model_copy(update={"lora_r": 64}), "cpu")
    assert other != sig and bud.known_speed(ws, other) is None


def test_validation_samples_are_fixed_and_seeded(tiny_ws):
    from transformers import AutoTokenizer

    add_dataset(tiny_ws, "big", toy_frame(200, seed=3), val=0.4, test=0.1)
    cfg = build_config("tiny", "big", None, {**TINY, "eval_sample": 10, "eval_rows": 7})
    plan = plan_run(tiny_ws, cfg)
    tok = AutoTokenizer.from_pretrained(plan.model_path)
    first, second = prepare(plan.config, plan.data, tok), prepare(plan.config, plan.data, tok)
    flat = lambda batches: [tuple(e["input_ids"]) for b in batches for e in b]  # noqa: E731
    assert sorted(flat(first.eval)) == sorted(flat(second.eval))
    assert len(flat(first.eval)) == 10 < len(plan.data.eval)
    assert first.score_sets["val"][1] == second.score_sets["val"][1]
    assert len(first.score_sets["val"][0]) == 7
    assert sample_indices(80, 10, 0) == sample_indices(80, 10, 0) != sample_indices(80, 10, 1)
    other = prepare(plan.config.model_copy(update={"seed": 5}), plan.data, tok)
    assert sorted(flat(other.eval)) != sorted(flat(first.eval))


@pytest.mark.parametrize("share,gqa", [(True, "1"), (False, "1"), (True, "0")])
def test_answer_only_loss_equals_the_full_logits_loss(tiny_ws, share, gqa, monkeypatch):
    monkeypatch.setenv("TRANSFORMERS_SDPA_FORCE_GQA", gqa)  # native grouped heads or copies
    cfg = build_config("tiny", "toy", None, {**TINY, "lora_r": 4})
    plan = plan_run(tiny_ws, cfg)
    model, tok = load_model(plan.model_path, plan.config, "cpu")
    with torch.no_grad():  # LoRA B starts at zero; make the adapter matter
        for n, p in model.named_parameters():
            if "lora_B" in n:
                p.normal_(0, 0.5)
    enc = Encoder(tok)
    rows = enc.examples(prompts_for(plan.data.variant, plan.data.train, plan.data.labels),
                        plan.data.train.targets)[:9]
    ours_batch = TrainCollator(tok.pad_token_id, share_prefix=share)([rows])
    assert ("prefix_ids" in ours_batch) is share
    plain_batch = DynamicPadCollator(tok.pad_token_id)(rows)

    def grads(loss):
        model.zero_grad()
        loss.backward()
        return {n: p.grad.clone() for n, p in model.named_parameters() if p.requires_grad}

    ours, _ = answer_loss(model, ours_batch)
    g_ours = grads(ours)
    plain = model(**plain_batch).loss
    g_plain = grads(plain)
    assert float(ours) == pytest.approx(float(plain), abs=1e-5)
    for n in g_plain:
        assert torch.allclose(g_ours[n], g_plain[n], atol=1e-5), n


def test_train_collator_keeps_answers_at_the_end_and_counts_tokens():
    rows = [{"input_ids": [1, 2, 3, 4, 7, 8], "labels": [IGNORE] * 5 + [8], "prompt_len": 5},
            {"input_ids": [1, 2, 3, 4, 5, 9, 6], "labels": [IGNORE] * 5 + [9, 6],
             "prompt_len": 5}]
    c = TrainCollator(pad_id=0)
    b = c([rows])
    assert b["prefix_ids"].tolist() == [[1, 2, 3, 4]]  # shared; each row keeps a prompt token
    assert b["input_ids"].tolist() == [[0, 7, 8], [5, 9, 6]]
    assert b["labels"].tolist() == [[IGNORE, IGNORE, 8], [IGNORE, 9, 6]]
    assert b["keep"].tolist() == [[False, True, False], [True, True, False]]
    assert b["position_ids"].tolist() == [[4, 4, 5], [4, 5, 6]]
    assert b["attention_mask"].tolist() == [[1, 1, 1, 1, 0, 1, 1], [1] * 7]
    assert (c.real_tokens, c.computed_tokens, c.rows) == (13, 4 + 2 + 3, 2)
    assert "prefix_ids" not in TrainCollator(0, share_prefix=False)([rows])


def test_token_batches_respect_the_budget_and_keep_every_row():
    rows = [{"input_ids": [1] * n} for n in (3, 30, 4, 28, 5, 31, 6, 2, 29, 80)]
    batches = token_batches(rows, tokens=64, max_rows=4, seed=0)
    assert sorted(len(r["input_ids"]) for b in batches for r in b) == sorted(
        len(r["input_ids"]) for r in rows)
    for b in batches:
        assert len(b) <= 4
        assert len(b) == 1 or max(len(r["input_ids"]) for r in b) * len(b) <= 64


def test_bad_budgets_and_sizes_are_refused_with_one_line(tiny_ws):
    with pytest.raises(FinetuneError, match="time_budget_min must be a positive number"):
        build_config("tiny", "toy", None, {**TINY, "time_budget_min": 0})
    with pytest.raises(FinetuneError, match="time_budget_min must be a positive number"):
        build_config("tiny", "toy", None, {**TINY, "time_budget_min": -3})
    with pytest.raises(FinetuneError, match="tokens_per_batch is 16 but the longest"):
        plan_run(tiny_ws, build_config("tiny", "toy", None, {**TINY, "tokens_per_batch": 16}))
    with pytest.raises(FinetuneError, match=r"too short.*time_budget_min="):
        plan_run(tiny_ws, build_config("tiny", "toy", None,
                                       {**TINY, "time_budget_min": 0.01, "max_steps": 0}))
    add_dataset(tiny_ws, "few", toy_frame(12), val=0.2, test=0.2)
    with pytest.raises(FinetuneError, match=r"'few' has \d+ train rows; the balanced preset "
                                            r"needs at least 32"):
        plan_run(tiny_ws, build_config("tiny", "few", "balanced", {"max_seq_len": 64}))


def test_max_seq_len_unset_fits_the_longest_row_up_to_the_context(tiny_ws):
    """By default any row that fits the model's context trains; a longer one is refused."""
    cfg = {k: v for k, v in TINY.items() if k != "max_seq_len"}
    assert build_config("tiny", "toy", None, cfg).max_seq_len == 0
    assert plan_run(tiny_ws, build_config("tiny", "toy", None, cfg)).estimate.steps > 0
    with pytest.raises(FinetuneError, match=r"max_seq_len is 8 but the longest"):
        plan_run(tiny_ws, build_config("tiny", "toy", None, {**cfg, "max_seq_len": 8}))
    with pytest.raises(FinetuneError, match="max_seq_len must be 0"):
        build_config("tiny", "toy", None, {**cfg, "max_seq_len": 4})
    frame = toy_frame(40)
    frame.loc[0, "text"] = " ".join([frame.loc[0, "text"]] * 60)  # far past 128 tokens
    add_dataset(tiny_ws, "long", frame)
    with pytest.raises(FinetuneError, match=r"more than tiny's context of 128 tokens"):
        plan_run(tiny_ws, build_config("tiny", "long", None, cfg))


def test_before_after_is_sampled_to_fit_a_quarter_of_the_budget(tiny_ws):
    # 0.25 x 300 s for 2 passes at 0.15 s a row: 250 rows; never under 100; all when they fit
    assert bud.test_rows_for(300, 0.15, 1115) == 250
    assert bud.test_rows_for(300, 0.01, 1115) == 1115
    assert bud.test_rows_for(300, 10.0, 1115) == 100
    assert bud.test_rows_for(300, 10.0, 40) == 40
    add_dataset(tiny_ws, "big", toy_frame(400), val=0.1, test=0.5)
    cfg = {k: v for k, v in TINY.items() if k not in ("max_steps", "max_seq_len")}
    budgeted = build_config("tiny", "big", None, {**cfg, "time_budget_min": 5})
    # a measured scoring speed so slow that the whole test split would not fit
    bud.record_speed(tiny_ws, bud.signature(budgeted, "cpu"), bud.Speed(1e-4, 0.5, 1e-5))
    plan = plan_run(tiny_ws, budgeted)
    assert plan.estimate.test_rows == 100 < len(plan.data.test)
    assert plan.config.test_rows == 0  # the worker decides once it has timed its scoring
    assert any("seeded sample of 100 of the 200 test rows" in n for n in plan.estimate.notes)
    from core.finetune.worker import test_rows

    rows = test_rows(plan.data, plan.estimate.test_rows, seed=0)
    assert len(rows) == 100 and rows == test_rows(plan.data, 100, seed=0)
    assert len({r["row_id"] for r in rows}) == 100
    unbudgeted = build_config("tiny", "big", None, {**cfg, "max_steps": 4})
    assert plan_run(tiny_ws, unbudgeted).config.test_rows == 0  # a fixed run scores them all


def test_an_encoder_budget_that_buys_a_fraction_of_an_epoch_says_so(tiny_ws):
    add_dataset(tiny_ws, "big", toy_frame(400), val=0.1, test=0.5)
    cfg = {k: v for k, v in TINY.items() if k not in ("max_steps", "max_seq_len")}
    budgeted = build_config("tiny", "big", None, {**cfg, "approach": "encoder",
                                                  "time_budget_min": 5})
    sig = bud.signature(budgeted.for_task("classification"), "cpu", task="classification")
    said = "of an epoch of these rows: the encoder starts from the embedding classifier"
    # 2 s a token: 5 steps of 4 short rows fit in 5 minutes, an eighth of 160 rows
    bud.record_speed(tiny_ws, sig, bud.Speed(2.0, 0.01, 1e-3))
    plan = plan_run(tiny_ws, budgeted)
    assert plan.estimate.examples < 0.25 * len(plan.data.train)
    assert any(said in n for n in plan.estimate.notes), plan.estimate.notes
    bud.record_speed(tiny_ws, sig, bud.Speed(1e-4, 0.01, 1e-5))  # fast: epochs fit
    assert not any(said in n for n in plan_run(tiny_ws, budgeted).estimate.notes)
