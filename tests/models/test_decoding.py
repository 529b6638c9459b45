"""Repetition controls and stop strings reach `model.generate`, act on the answer only, and
give the same answer batched, after a shared prefix and alone; a batched row's latency is
its batch-1 estimate, not the batch's wall time."""

from __future__ import annotations

import time

import pytest

from core.models import local
from core.models.base import ChatPrompt, GenerationParams
from core.models.latency import SoloCost, fit
from core.models.local import LocalBackend
from tests.tiny import tiny_llama, tiny_tokenizer

SYSTEM = "answer yes or no . the sky is blue . the cat is red . a b c d e f g"
INPUTS = ["a b c", "is the sky blue ?", "the the a b c", "cat dog cat dog", "yes no", "x y z",
          "question : a b c", "paris is the capital of france"]


def backend(seed: int = 1, chat: bool = False) -> LocalBackend:
    return LocalBackend(tiny_llama(seed).float(), tiny_tokenizer(chat), "cpu", "tiny")


def text(b: LocalBackend, prompt: str, **kw) -> str:
    return b.generate([ChatPrompt(prompt)], GenerationParams(max_new_tokens=10, **kw))[0].text


def test_repetition_settings_change_a_looping_greedy_answer():
    b = backend(seed=1)  # greedy: "the the the ..." after "a b c"
    plain = text(b, "a b c").split()
    assert len(plain) == 10 and len(set(plain)) == 1
    banned = text(b, "a b c", no_repeat_ngram_size=2).split()
    pairs = list(zip(banned, banned[1:], strict=False))
    assert len(pairs) == len(set(pairs)) and len(set(banned)) > 3
    penalised = text(b, "a b c", repetition_penalty=2.0).split()
    assert penalised.count("the") < len(plain)


def test_repetition_controls_ignore_the_prompt():
    b = backend(seed=1)
    # the prompt holds the bigram "the the"; a ban over the whole sequence would forbid it
    assert text(b, "the the a b c", no_repeat_ngram_size=2).split()[:2] == ["the", "the"]


@pytest.mark.parametrize("chat", [False, True])
def test_controls_give_the_same_answer_batched_shared_and_alone(chat):
    b = backend(seed=1, chat=chat)
    prompts = [ChatPrompt(f"question : {x} answer :", system=SYSTEM) for x in INPUTS]
    params = GenerationParams(max_new_tokens=8, repetition_penalty=1.3, no_repeat_ngram_size=2)
    shared = b.generate(prompts, params, batch_size=4)
    assert b._prefixes, "the rows share the system part, so the shared-prefix path ran"
    plain = LocalBackend(b.model, b.tok, "cpu", "plain")
    plain.share_prefixes = False
    unshared = plain.generate(prompts, params, batch_size=4)
    alone = [plain.generate([p], params)[0] for p in prompts]
    assert [g.text for g in shared] == [g.text for g in unshared] == [g.text for g in alone]


def test_a_line_break_before_the_answer_does_not_stop_it():
    import torch

    from core.models.decoding import StopOnStrings

    class Decoded:  # what the tokenizer turns each row's answer tokens into
        def batch_decode(self, ids, skip_special_tokens=True):
            return ["\nParis", "Paris.\nLyon", "\n\n", "Paris"]

    stop = StopOnStrings(Decoded(), ("\n",), prompt_width=2)
    assert stop(torch.zeros((4, 5), dtype=torch.long), None).tolist() == [False, True, False,
                                                                          False]


def test_batched_rows_get_their_batch_1_latency_not_the_batch_time(monkeypatch):
    calls = []
    real = local.measure_solo
    monkeypatch.setattr(local, "measure_solo", lambda *a: calls.append(1) or real(*a))
    b = backend(seed=2)
    prompts = [ChatPrompt(x) for x in INPUTS]
    params = GenerationParams(max_new_tokens=6)
    gens = b.generate(prompts, params, batch_size=8)
    assert len(calls) == 1 and b.solo is not None
    solo = b.solo
    assert min(solo.fixed_s, solo.per_prompt_token_s, solo.per_answer_token_s) >= 0
    for g in gens:
        assert g.latency_s == solo.latency(g.input_tokens, g.output_tokens)
    # one batch of 8: every row shares its wall time as compute, none is charged all of it
    batch_wall = gens[0].compute_s * len(gens)
    assert len({g.compute_s for g in gens}) == 1
    b.generate(prompts, params, batch_size=8)
    assert len(calls) == 1  # kept by the backend
    b.solo = SoloCost(0.5, 0.01, 0.1, measured_at=time.monotonic())
    again = b.generate(prompts, params, batch_size=8)
    assert len(calls) == 1
    assert [g.latency_s for g in again] == [
        pytest.approx(0.5 + 0.01 * g.input_tokens + 0.1 * g.output_tokens) for g in again]
    assert batch_wall > 0
    assert all(g.latency_s != pytest.approx(g.compute_s * len(again)) for g in again)
    assert len({g.latency_s for g in again}) > 1  # rows of one batch differ by their length
    b.solo = SoloCost(0.5, 0.01, 0.1, measured_at=time.monotonic() - 3600)
    b.generate(prompts, params, batch_size=8)
    assert len(calls) == 2  # an hour old: the machine's load may have changed, measured again


def test_a_single_request_reports_its_own_wall_time():
    b = backend(seed=2)
    [g] = b.generate([ChatPrompt("a b c")], GenerationParams(max_new_tokens=4))
    assert b.solo is None  # nothing to estimate: the request ran alone
    assert g.latency_s >= g.compute_s > 0


def test_fit_recovers_prefill_and_decode_costs():
    c = fit((50, 0.06), (100, 0.11), (16, 0.41))
    assert c.per_prompt_token_s == pytest.approx(0.001)
    assert c.fixed_s == pytest.approx(0.01)
    assert c.per_answer_token_s == pytest.approx(0.02)
    noisy = fit((50, 0.2), (100, 0.1), (16, 0.05))  # timing noise never gives negatives
    assert min(noisy.fixed_s, noisy.per_prompt_token_s, noisy.per_answer_token_s) >= 0
