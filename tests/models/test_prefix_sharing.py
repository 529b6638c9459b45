"""Shared prompt prefixes give the same scores and text as the unshared computation."""

from __future__ import annotations

import pytest
import torch

from core.models import local, prefix
from core.models.base import ChatPrompt, GenerationParams
from core.models.local import LocalBackend
from tests.tiny import tiny_llama, tiny_tokenizer

SYSTEM = "answer yes or no . the sky is blue . the cat is red . a b c d e f g"
EXAMPLES = "question : is the sky blue ? answer : yes . question : is the cat blue ? answer : no ."
INPUTS = ["is the sky blue ?", "is the dog red ?", "a b c", "is paris the capital of france ?",
          "cat dog cat dog cat", "yes", "is the sky green or red or blue ?"]
CANDS = ["yes", "no", "blue green", "the capital of france"]


def backend(chat: bool, seed: int = 0, model=None) -> LocalBackend:
    return LocalBackend((model or tiny_llama(seed)).float(), tiny_tokenizer(chat), "cpu", "tiny")


def prompts() -> list[ChatPrompt]:
    return [ChatPrompt(f"{EXAMPLES} question : {x} answer :", system=SYSTEM) for x in INPUTS]


def unshared(b: LocalBackend) -> LocalBackend:
    plain = LocalBackend(b.model, b.tok, "cpu", "plain")
    plain.share_prefixes = False
    return plain


@pytest.mark.precision
@pytest.mark.parametrize("chat", [False, True])
def test_shared_prefix_scores_equal_unshared(chat):
    b = backend(chat, seed=4)
    ps = prompts()
    shared = b.score_candidates(ps, CANDS, batch_size=3)
    plain = unshared(b).score_candidates(ps, CANDS, batch_size=3)
    assert b._prefixes, "the rows share a prefix, so it must have been cached"
    p = next(iter(b._prefixes))
    assert len(p) > 20  # system + examples, not just a token or two
    for s, u in zip(shared, plain, strict=True):
        assert s.logprobs == pytest.approx(u.logprobs, abs=1e-4)
        assert s.input_tokens == u.input_tokens


@pytest.mark.precision
def test_shared_prefix_scores_equal_a_manual_forward_pass():
    b = backend(True, seed=2)
    ps = prompts()
    got = b.score_candidates(ps, CANDS)
    for prompt, s in zip(ps, got, strict=True):
        p_ids = b.encode(b.render(prompt))
        for cand, lp in zip(CANDS, s.logprobs, strict=True):
            c_ids = b.tok(cand, add_special_tokens=False)["input_ids"]
            with torch.no_grad():
                logp = torch.log_softmax(b.model(input_ids=torch.tensor([p_ids + c_ids])).logits, -1)[0]
            expected = sum(float(logp[len(p_ids) - 1 + k, t]) for k, t in enumerate(c_ids))
            assert lp == pytest.approx(expected, abs=1e-4)


@pytest.mark.precision
@pytest.mark.parametrize("chat", [False, True])
def test_shared_prefix_generation_equals_unshared(chat):
    b = backend(chat, seed=5)
    ps = prompts()
    params = GenerationParams(max_new_tokens=7)
    shared = b.generate(ps, params, batch_size=3)
    plain = unshared(b).generate(ps, params, batch_size=3)
    assert b._prefixes
    assert [g.text for g in shared] == [g.text for g in plain]
    assert [g.output_tokens for g in shared] == [g.output_tokens for g in plain]
    assert [g.input_tokens for g in shared] == [g.input_tokens for g in plain]


def test_prefix_is_computed_once_per_backend(monkeypatch):
    calls = []
    real = local.prefix_kv
    monkeypatch.setattr(local, "prefix_kv", lambda *a: calls.append(1) or real(*a))
    b = backend(True, seed=1)
    ps = prompts()
    b.score_candidates(ps[:3], CANDS)
    b.score_candidates(ps[3:], CANDS)  # a later chunk of the same run
    b.generate(ps[:2], GenerationParams(max_new_tokens=2))
    assert len(calls) == 1


def test_rows_without_a_common_prefix_take_the_plain_path():
    b = backend(False, seed=3)
    ps = [ChatPrompt(x) for x in INPUTS]  # no shared system part or examples
    got = b.score_candidates(ps, CANDS)
    assert not b._prefixes
    want = unshared(b).score_candidates(ps, CANDS, batch_size=1)
    for g, w in zip(got, want, strict=True):
        assert g.logprobs == pytest.approx(w.logprobs, abs=1e-4)


def tiny_sliding(window: int):
    from transformers import Gemma3ForCausalLM, Gemma3TextConfig

    torch.manual_seed(0)
    cfg = Gemma3TextConfig(vocab_size=len(tiny_tokenizer().get_vocab()), hidden_size=32,
                           intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
                           num_key_value_heads=2, head_dim=8, sliding_window=window,
                           layer_types=["sliding_attention", "full_attention"],
                           max_position_embeddings=256, pad_token_id=0, bos_token_id=1,
                           eos_token_id=2)
    m = Gemma3ForCausalLM(cfg).eval()
    m.generation_config.eos_token_id = 2
    m.generation_config.pad_token_id = 0
    return m


@pytest.mark.parametrize("window,shares", [(256, True), (16, False)])
def test_sliding_window_models_share_only_within_the_window(window, shares):
    b = backend(False, model=tiny_sliding(window))
    ps = prompts()
    got = b.score_candidates(ps, CANDS, batch_size=4)
    assert bool(b._prefixes) is shares
    want = unshared(b).score_candidates(ps, CANDS, batch_size=1)
    for g, w in zip(got, want, strict=True):
        assert g.logprobs == pytest.approx(w.logprobs, abs=1e-4)


def test_token_budget_batches_group_similar_lengths_within_the_budget():
    lengths = [3, 40, 5, 38, 4, 39, 90]
    batches = prefix.token_batches(lengths, token_budget=100, max_rows=8)
    assert sorted(i for b in batches for i in b) == list(range(len(lengths)))
    for b in batches:
        width = max(lengths[i] for i in b)
        assert len(b) == 1 or width * len(b) <= 100
    assert [sorted(b) for b in batches][:2] == [[0, 2, 4], [3, 5]]
