"""Classification fine-tunes that predict labels directly: the LLM with a classification head
(on the tiny Llama) and the encoder fine-tune (the packaged MiniLM). Each trains a few steps,
predicts, resumes after kill -9, registers, and is compared with the embedding classifier."""

from __future__ import annotations

import json
import os
import signal
import subprocess

import pytest

from core import jobs
from core.finetune import build_config, service
from core.finetune.config import FinetuneError
from tests.conftest import LADDER, wait_for
from tests.finetune.conftest import TINY, add_dataset_assigned, toy_frame

HEAD = {**TINY, "approach": "head", "lr": 1e-2}


def ladder(*args, timeout=240):
    return subprocess.run([*LADDER, *args], capture_output=True, text=True, timeout=timeout,
                          env=dict(os.environ))


def _sets(values: dict) -> list[str]:
    return [a for k, v in values.items() for a in ("--set", f"{k}={v}")]


def test_head_trains_predicts_registers_and_is_compared_with_the_classifier(tiny_ws):
    from core.evals.config import EvalConfig
    from core.evals.engine import run_eval
    from core.prompts.variants import Variant

    # a Prompt Lab run on the test split: the head-to-head puts its best variant beside the run
    lab = run_eval(tiny_ws, EvalConfig(dataset="toy", split="test", models=["tiny"], variants=[
        Variant(name="zs", template="Is it blue? {input}"),
        Variant(name="zs2", template="{input}\nAnswer yes or no.")], seed=0))
    p = ladder("finetune", "start", "--data", "toy", "--model", "tiny", *_sets(HEAD), "--wait",
               "--json")
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert out["status"] == "succeeded", out
    spec = tiny_ws.registry.get(out["model_id"])
    assert spec.kind == "head" and spec.base_model == "tiny"
    # before is the embedding classifier of the same dataset, on the same test rows
    assert out["before"]["model_id"] == "toy-classifier"
    assert tiny_ws.registry.get("toy-classifier").kind == "classifier"
    assert out["after"]["n"] == out["before"]["n"] == 12
    assert out["comparison"]["test"] and 0 <= out["after"]["score"] <= 1
    # head-to-head on the same 12 rows: the best prompted variant and the classifier
    h2h = out["head_to_head"]
    assert h2h["rows"] == 12 and h2h["run"]["score"] == pytest.approx(out["after"]["score"])
    prompted, clf = h2h["others"]
    from core.evals.summary import leaderboard

    best = leaderboard(tiny_ws, lab)[0]
    assert (prompted["what"], prompted["eval_run"], prompted["n"]) == (
        "best prompted variant", lab, 12)
    assert (prompted["variant"], prompted["score"]) == (best["name"], pytest.approx(best["score"]))
    assert clf["model_id"] == "toy-classifier" and clf["score"] == out["before"]["score"]
    assert clf["p_value"] == out["p_value"] and prompted["p_value"] is not None
    assert prompted["ci_low"] <= prompted["score"] <= prompted["ci_high"]
    shown = ladder("finetune", "status", out["run_id"])
    assert "vs best prompted variant (tiny)" in shown.stdout, shown.stdout
    # the run's page: results, the head-to-head, and the model folder (not an adapter) to take
    from tests.conftest import open_app

    at = open_app("views/finetune.py", timeout=60)
    assert not at.exception, at.exception
    assert any("Before / after on the test split" in m.value for m in at.markdown)
    assert at.download_button(key=f"ft_zip_{out['run_id']}").label == "Download model (.zip)"
    assert not any(b.label == "Export merged model" for b in at.button)
    run_dir = jobs.get(tiny_ws, out["run_id"]).run_dir
    meta = json.loads((run_dir / "model" / "seqcls.json").read_text())
    assert meta["approach"] == "head" and meta["labels"] == ["no", "yes"]
    evals = [m for m in jobs.read_metrics(run_dir) if m["kind"] == "eval"]
    assert [m["step"] for m in evals] == [4, 8, 12]
    assert all(m["val_loss"] is not None and 0 <= m["val_score"] <= 1 for m in evals)
    # it answers like any registered model: one of its labels, from the input alone
    from core.models.base import ChatPrompt, GenerationParams
    from core.models.service import generate

    [g] = generate(tiny_ws, out["model_id"], [ChatPrompt("the sky is blue")],
                   GenerationParams(max_new_tokens=2))
    assert g.generation.text in ("yes", "no") and g.generation.input_tokens > 0
    # and it joins a comparison like the others (one forward pass a row, no prompt)
    from core.evals.variant import evaluate_variant

    rows = [{"row_id": i, "input": t, "target": y} for i, (t, y) in
            enumerate(toy_frame(8, seed=3)[["text", "label"]].itertuples(index=False))]
    res = evaluate_variant(tiny_ws, out["model_id"], Variant(name="v", template="{input}"),
                           rows, task="classification", labels=["no", "yes"])
    assert res.summary["n"] == 8 and all(c["parsed"] in ("yes", "no") for c in res.cells)


def killed_and_resumed(ws, cfg, monkeypatch, timeout: float):
    """Start a run, kill -9 it once checkpoint-4 is written and step 6 passed, resume it;
    the finished job."""
    monkeypatch.setenv("LADDER_FINETUNE_STEP_DELAY_S", "0.25")
    run_id = service.start(ws, cfg).run_id
    run_dir = jobs.get(ws, run_id).run_dir
    wait_for(lambda: (run_dir / "checkpoints" / "checkpoint-4" / "trainer_state.json").exists()
             and (jobs.read_status(run_dir).get("step") or 0) >= 6, timeout=timeout)
    os.killpg(jobs.get(ws, run_id).pid, signal.SIGKILL)
    wait_for(lambda: service.get_run(ws, run_id)["status"] == "failed", timeout=10)
    monkeypatch.delenv("LADDER_FINETUNE_STEP_DELAY_S")
    jobs.resume(ws, run_id)
    return jobs.wait(ws, run_id, timeout_s=timeout + 60)


def test_head_resumes_after_kill_9(tiny_ws, monkeypatch):
    done = killed_and_resumed(tiny_ws, build_config("tiny", "toy", None, {
        **HEAD, "before_after": False}), monkeypatch, timeout=120)
    run_dir = done.run_dir
    assert done.state == "succeeded", jobs.read_log_tail(run_dir)
    assert done.result["final_step"] == 12 and "resuming from checkpoint-" in \
        jobs.read_log_tail(run_dir)
    assert tiny_ws.registry.get(done.result["model_id"]).kind == "head"


@pytest.mark.slow
def test_encoder_fine_tune_of_the_packaged_minilm(tiny_ws, monkeypatch):
    """Warm-started from the dataset's classifier, killed (-9) after its first checkpoint and
    resumed; a learning rate that wrecks the encoder (0.9) leaves every checkpoint below the
    start, so the model kept is the starting one and answers, through the registry, exactly
    what the classifier answers."""
    from core.evals.variant import evaluate_variant
    from core.models.seqcls import load
    from core.prompts.variants import Variant

    done = killed_and_resumed(tiny_ws, build_config("tiny", "toy", None, {
        **TINY, "approach": "encoder", "lr": 0.9, "precision": "bf16"}), monkeypatch, 180)
    run_dir, run_id = done.run_dir, done.id
    assert done.state == "succeeded", jobs.read_log_tail(run_dir)
    assert done.result["final_step"] == 12
    assert "resuming from checkpoint-" in jobs.read_log_tail(run_dir)
    spec = tiny_ws.registry.get(done.result["model_id"])
    assert spec.kind == "encoder" and spec.id.startswith("minilm-l6+")
    assert done.result["before"]["model_id"] == "toy-classifier"
    warm = done.result["warm_start"]
    assert warm["classifier"] == "toy-classifier" and warm["start_score"] > 0.5
    assert warm["kept_start"] and done.result["best_metric"] < warm["start_score"]
    assert "the model kept is the starting one" in jobs.read_log_tail(done.run_dir)
    shown = ladder("finetune", "status", run_id)
    assert "Started from toy-classifier's head" in shown.stdout, shown.stdout
    assert "the model kept is the starting one" in shown.stdout
    rec = service.get_run(tiny_ws, run_id)  # the run trains MiniLM, whatever base was picked
    assert (rec["base_model"], rec["trained_model"]) == ("tiny", "minilm-l6")
    assert jobs.get(tiny_ws, run_id).label.startswith("minilm-l6 on toy")
    listed = ladder("finetune", "list").stdout.splitlines()
    assert next(r for r in listed if r.startswith(run_id)).split()[2] == "minilm-l6", listed
    model, tok, meta = load(done.run_dir / "model")
    assert meta["approach"] == "encoder" and meta["labels"] == ["no", "yes"]
    assert meta["normalize"] and meta["warm_start"] == "toy-classifier"
    assert model.head.out_features == 2
    rows = [{"row_id": i, "input": t, "target": y} for i, (t, y) in
            enumerate(toy_frame(12, seed=5)[["text", "label"]].itertuples(index=False))]
    answers = {m: [c["parsed"] for c in evaluate_variant(
        tiny_ws, m, Variant(name="v", template="{input}"), rows, task="classification",
        labels=["no", "yes"]).cells] for m in (spec.id, "toy-classifier")}
    assert answers[spec.id] == answers["toy-classifier"]
    assert done.result["changed"]["n_same"] == done.result["after"]["n"]


def _topics(n: int, seed: int):
    import random

    words = {"animal": ["dog", "cat", "horse", "lion"], "food": ["bread", "cheese", "soup",
             "apple"], "sport": ["football", "tennis", "rugby", "golf"]}
    rng = random.Random(seed)
    labels = [list(words)[i % 3] for i in range(n)]
    return [f"today I thought about {rng.choice(words[y])} for a while" for y in labels], labels


@pytest.mark.precision
@pytest.mark.parametrize("n_labels", [2, 3])
def test_a_warm_head_predicts_what_the_embedding_classifier_predicts(n_labels, monkeypatch):
    """The classifier's logistic regression as the head over the normalised mean-pooled
    MiniLM: the encoder's step 0 scores every text as the classifier does (both label
    orders of a binary classifier included).

    Both sides in fp32: on a CPU with AVX-512 BF16 `embed` runs MiniLM in bf16 by default,
    whose vectors differ from the fp32 encoder's by about 1e-2 in logit space
    (docs/platform-notes.md); the head's arithmetic is what is checked here."""
    import numpy as np

    monkeypatch.setenv("LADDER_DTYPE", "fp32")

    from core.embeddings import embed
    from core.models import seqcls
    from core.models.classifier import train

    texts, labels = _topics(36, seed=1)
    keep = [i for i, y in enumerate(labels) if y != "sport" or n_labels == 3]
    texts, labels = [texts[i] for i in keep], [labels[i] for i in keep]
    clf, _ = train(texts[:24], labels[:24])
    new, _ = _topics(12, seed=2)
    order = sorted(set(labels), reverse=True)  # the run's order need not be the classifier's
    model, tok = seqcls.build_encoder(len(order), normalize=True)
    model.head.load_state_dict(seqcls.head_from_linear(order, clf))
    model.eval()
    logits, _ = seqcls.predict_logits(model, tok, new, 256)
    want = clf.scores(embed(new))
    if n_labels == 2:  # the binary classifier's scores are (0, z): compare differences
        want, got = want[:, 1] - want[:, 0], (logits[:, 0] - logits[:, 1]).numpy()
    else:
        got = logits.numpy()[:, [order.index(lab) for lab in clf.labels]]
    assert np.allclose(got, want, atol=1e-3)
    assert [order[i] for i in logits.argmax(1).tolist()] == clf.predict(embed(new))


def test_a_classification_head_refuses_data_it_cannot_learn(tiny_ws):
    import pandas as pd

    from core.datasets.schema import Mapping
    from core.datasets.splits import make_split
    from core.datasets.versions import save_split, save_version

    frame = pd.DataFrame({"text": [f"row {i}" for i in range(30)],
                          "label": [f"a free text answer {i}" for i in range(30)]})
    mapping = Mapping(input_col="text", target_col="label", task="free_text")
    version, _ = save_version(tiny_ws, "prose", frame, mapping, source="test")
    save_split(tiny_ws, version, make_split(frame, mapping, 0.2, 0.2, 0))
    one = toy_frame(30)  # every train row says yes; validation and test also say no
    one["label"] = ["yes"] * 18 + ["no", "yes"] * 6
    add_dataset_assigned(tiny_ws, "one", one, [0] * 18 + [1] * 6 + [2] * 6)
    unseen = toy_frame(30)  # "maybe" appears only in the test split
    unseen["label"] = ["yes", "no"] * 12 + ["maybe"] * 6
    add_dataset_assigned(tiny_ws, "unseen", unseen, [0] * 18 + [1] * 6 + [2] * 6)
    before = {s.id for s in tiny_ws.registry.list()}
    for data, words in (("prose", "free text dataset; use approach=generate"),
                        ("one", "at least two labels in the train split"),
                        ("unseen", "'maybe' appear in validation/test but never in train")):
        with pytest.raises(FinetuneError, match=words):
            service.start(tiny_ws, build_config("tiny", data, None, {**HEAD}))
    assert {s.id for s in tiny_ws.registry.list()} == before
    assert not service.list_runs(tiny_ws)


def test_freeze_layers_keeps_the_embeddings_and_the_lowest_layers_out_of_training():
    """`freeze_layers=3`: backward stops above the third of MiniLM's six layers, so the
    embeddings and layers 0-2 get no gradient (the optimizer skips them) and cost no backward
    time; layers 3-5 and the head learn."""
    import torch

    from core.finetune.seqcls import build, encoder_params

    cfg = build_config("m", "d", None, {"approach": "encoder", "freeze_layers": 3})
    model, tok, _ = build(cfg, "encoder", ["a", "b"], "cpu", None)
    batch = tok(["a short text", "another one, longer than the first"], return_tensors="pt",
                padding=True)
    model(**batch, labels=torch.tensor([0, 1])).loss.backward()
    bert = model.encoder
    assert all(p.grad is None and not p.requires_grad for p in bert.embeddings.parameters())
    for i, layer in enumerate(bert.encoder.layer):
        grads = [p.grad for p in layer.parameters()]
        assert all(g is None for g in grads) if i < 3 else all(g is not None for g in grads), i
    assert model.head.weight.grad is not None
    total, trained = encoder_params(bert.config, 3)
    assert trained == sum(p.numel() for p in model.parameters() if p.requires_grad) - sum(
        p.numel() for p in model.head.parameters())
    assert total == sum(p.numel() for p in bert.parameters()) > trained
