"""The local backend on tiny Llama models: batching, candidate scoring, cache round trip."""

from __future__ import annotations

import time

import pytest
import torch

from core.models.base import ChatPrompt, GenerationParams
from core.models.local import LocalBackend, load_backend
from tests.tiny import tiny_llama, tiny_tokenizer

PROMPTS = [
    "the sky is",
    "question : is the sky blue ?",
    "a b c",
    "paris is the capital of",
    "cat dog cat dog cat",
    "yes no yes",
]


def backend(chat=False, seed=0):
    return LocalBackend(tiny_llama(seed).float(), tiny_tokenizer(chat), "cpu", "tiny")


@pytest.mark.parametrize("chat", [False, True])
def test_batched_greedy_equals_one_at_a_time(chat):
    b = backend(chat)
    prompts = [ChatPrompt(p) for p in PROMPTS]
    params = GenerationParams(max_new_tokens=6)
    batched = b.generate(prompts, params, batch_size=4)
    single = [b.generate([p], params, batch_size=1)[0] for p in prompts]
    assert [g.text for g in batched] == [g.text for g in single]
    assert [g.output_tokens for g in batched] == [g.output_tokens for g in single]
    assert [g.input_tokens for g in batched] == [g.input_tokens for g in single]
    assert all(g.text for g in batched)  # a random model still emits words


def test_generation_accounting_and_order():
    b = backend()
    prompts = [ChatPrompt(p) for p in PROMPTS]
    t0 = time.perf_counter()
    gens = b.generate(prompts, GenerationParams(max_new_tokens=3), batch_size=4)
    elapsed = time.perf_counter() - t0
    for p, g in zip(prompts, gens, strict=True):
        assert g.input_tokens == len(b.encode(p.user))  # order kept despite length sorting
        assert 0 < g.output_tokens <= 3
        # latency_s is what one request alone would take (an estimate), compute_s the row's
        # share of its batch: both positive, and the shares add up to no more than the call
        assert g.latency_s > 0 and g.compute_s > 0
    assert sum(g.compute_s for g in gens) <= elapsed


def test_seeded_sampling_is_reproducible():
    b = backend()
    prompts = [ChatPrompt(p) for p in PROMPTS[:3]]
    params = GenerationParams(max_new_tokens=8, temperature=1.5, seed=7)
    assert [g.text for g in b.generate(prompts, params)] == [
        g.text for g in b.generate(prompts, params)
    ]


def test_stop_strings_cut_the_answer():
    b = backend()
    [free] = b.generate([ChatPrompt("the sky is")], GenerationParams(max_new_tokens=8))
    words = free.text.split()
    assert len(words) >= 2
    [cut] = b.generate([ChatPrompt("the sky is")],
                       GenerationParams(max_new_tokens=8, stop=(" " + words[1],)))
    assert cut.text == words[0]


def _train(b: LocalBackend, texts: list[str], steps: int = 60) -> None:
    model = b.model.train()
    opt = torch.optim.Adam(model.parameters(), lr=0.05)
    batch = b.tok(texts, return_tensors="pt", padding=True)
    labels = batch["input_ids"].masked_fill(batch["attention_mask"] == 0, -100)
    for _ in range(steps):
        loss = model(**batch, labels=labels).loss
        loss.backward()
        opt.step()
        opt.zero_grad()
    model.eval()


def test_candidate_scoring_picks_the_trained_answer():
    b = backend(seed=3)
    _train(b, ["question : is the sky blue ? yes", "question : is the cat red ? no"])
    prompts = [ChatPrompt("question : is the sky blue ?"), ChatPrompt("question : is the cat red ?")]
    scores = b.score_candidates(prompts, ["yes", "no"])
    assert [s.best for s in scores] == [0, 1]
    assert all(s.n_tokens == [1, 1] for s in scores)
    assert scores[0].logprobs[0] > -0.5  # learned, close to certain


def test_candidate_scores_equal_a_manual_forward_pass():
    b = backend(chat=True, seed=1)
    prompt = ChatPrompt("is the sky blue ?", system="answer yes or no")
    [s] = b.score_candidates([prompt, ChatPrompt("a b")][:1], ["yes", "blue green"])
    p_ids = b.encode(b.render(prompt))
    for cand, got in zip(["yes", "blue green"], s.logprobs, strict=True):
        c_ids = b.tok(cand, add_special_tokens=False)["input_ids"]
        ids = torch.tensor([p_ids + c_ids])
        with torch.no_grad():
            logp = torch.log_softmax(b.model(input_ids=ids).logits.float(), -1)[0]
        expected = sum(float(logp[len(p_ids) - 1 + k, t]) for k, t in enumerate(c_ids))
        assert got == pytest.approx(expected, abs=1e-4)


def test_chat_template_is_applied_for_chat_models():
    b = backend(chat=True)
    text = b.render(ChatPrompt("is the sky blue ?", system="answer"))
    assert text == "system : answer </s> user : is the sky blue ? </s> assistant : "
    assert backend(chat=False).render(ChatPrompt("a b", system="c")) == "c\n\na b"


def test_saved_folder_round_trip_gives_identical_logits(tmp_path, ws):
    model, tok = tiny_llama(5), tiny_tokenizer()
    model.save_pretrained(tmp_path / "tiny", safe_serialization=True)
    tok.save_pretrained(tmp_path / "tiny")
    from core.models.registry import build_spec

    spec = build_spec(id="tiny-folder", kind="folder", source=str(tmp_path / "tiny"),
                      hourly_cost=0.0)
    ws.registry.add(spec)
    ws.settings.dtype = "fp32"
    loaded = load_backend(ws.registry.get("tiny-folder"), ws.settings, ws.registry)
    ids = torch.tensor([tok("the sky is blue")["input_ids"]])
    with torch.no_grad():
        assert torch.allclose(loaded.model(input_ids=ids).logits, model(input_ids=ids).logits)
    assert torch.is_grad_enabled()  # loading a model must not switch autograd off globally
    assert (tmp_path / "tiny" / "model.safetensors").exists()


@pytest.mark.parametrize("chat", [False, True])
def test_batched_candidate_scores_equal_one_at_a_time(chat):
    b = backend(chat, seed=2)
    prompts = [ChatPrompt(p) for p in PROMPTS]
    cands = ["yes", "no", "blue green", "the capital of france"]
    batched = b.score_candidates(prompts, cands, batch_size=4)
    for p, got in zip(prompts, batched, strict=True):
        [alone] = b.score_candidates([p], cands, batch_size=1)
        assert got.logprobs == pytest.approx(alone.logprobs, abs=1e-4)
        assert got.input_tokens == alone.input_tokens


def test_many_candidates_score_as_a_manual_pass_in_small_batches(monkeypatch):
    """120 multi-token labels (intent routing): the same log-likelihoods whether the rows
    share one pass or are cut into batches that hold few candidate positions."""
    from core.models import candidates

    b = backend(chat=True, seed=4)
    words = "the sky is blue green red cat dog paris france capital".split()
    cands = [f"{x} {y}" for x in words for y in words if x != y][:120]
    prompts = [ChatPrompt(p) for p in PROMPTS]
    whole = b.score_candidates(prompts, cands, batch_size=8)
    monkeypatch.setattr(candidates, "CANDIDATE_POSITIONS", 130)  # one row's 120 per pass
    cut = b.score_candidates(prompts, cands, batch_size=8)
    for w, c in zip(whole, cut, strict=True):
        assert w.logprobs == pytest.approx(c.logprobs, abs=1e-4)
    p_ids = b.encode(b.render(prompts[0]))
    for cand in (cands[0], cands[77], cands[-1]):
        c_ids = b.tok(cand, add_special_tokens=False)["input_ids"]
        with torch.no_grad():
            logp = torch.log_softmax(b.model(input_ids=torch.tensor([p_ids + c_ids])
                                             ).logits.float(), -1)[0]
        expected = sum(float(logp[len(p_ids) - 1 + k, t]) for k, t in enumerate(c_ids))
        assert whole[0].logprobs[cands.index(cand)] == pytest.approx(expected, abs=1e-4)
