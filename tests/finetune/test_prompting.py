"""The prompt a fine-tune trains with: the context column by default, or the chosen variant with
its similar examples and retrieved passages, resolved the same way for every split."""

from __future__ import annotations

import pandas as pd
import pytest

from core import jobs
from core.cli import main
from core.finetune import FinetuneError, build_config
from core.finetune.data import prompts_for
from core.finetune.plan import plan_run
from core.finetune.prompting import EXAMPLES_KEY, prompt_record
from tests.finetune.conftest import TINY
from tests.retrieval.conftest import DOCS, write_docs

TOPICS = ["refunds", "invoices", "locked", "two-factor", "sync", "conflict"]


def qa_frame(n: int = 40) -> pd.DataFrame:
    rows = []
    for i in range(n):
        t = TOPICS[i % len(TOPICS)]
        rows.append({"question": f"question {i} about {t}", "answer": f"answer {t} {i}",
                     "passage": f"passage {i}: everything about {t}."})
    return pd.DataFrame(rows)


@pytest.fixture
def qa_ws(tiny_ws):
    from core.datasets.schema import Mapping
    from core.datasets.splits import make_split
    from core.datasets.versions import save_split, save_version

    frame = qa_frame()
    m = Mapping(input_col="question", target_col="answer", context_col="passage",
                task="free_text")
    version, _ = save_version(tiny_ws, "qa", frame, m, source="test")
    save_split(tiny_ws, version, make_split(frame, m, 0.2, 0.2, 0))
    return tiny_ws


GEN = {**TINY, "max_seq_len": 0}


def test_the_default_prompt_carries_the_context_column(qa_ws):
    plan = plan_run(qa_ws, build_config("tiny", "qa", None, GEN))
    assert "{context}" in plan.config.variant["template"]
    assert plan.config.context_col == "passage"
    data = plan.data
    for rows in (data.train, data.eval, data.test):
        prompts = prompts_for(data.variant, rows, data.labels)
        for p, v in zip(prompts, rows.values, strict=True):
            assert v["passage"] in p.user and v["question"] in p.user
    rec = prompt_record(plan.config.model_dump())
    assert rec["context"] == "the dataset's context column 'passage'"
    assert "context column 'passage' in {context}" in rec["note"]
    # a variant without {context} is allowed, and the record says what it leaves out
    plan = plan_run(qa_ws, build_config("tiny", "qa", None, {
        **GEN, "variant": {"name": "closed", "template": "{input}"}}))
    assert "context column 'passage' is not in this prompt" in prompt_record(
        plan.config.model_dump())["note"]


def test_similar_examples_come_from_other_train_rows_in_every_split(qa_ws):
    variant = {"name": "similar 2", "template": "{examples}\n\n{input}", "few_shot": 2,
               "few_shot_mode": "similar"}
    plan = plan_run(qa_ws, build_config("tiny", "qa", None, {**GEN, "variant": variant}))
    assert plan.config.variant["few_shot_mode"] == "similar"  # the run records the choice
    data = plan.data
    train_inputs = set(data.train.targets)
    for rows in (data.train, data.eval, data.test):
        prompts = prompts_for(data.variant, rows, data.labels)
        for p, v, target in zip(prompts, rows.values, rows.targets, strict=True):
            block = v[EXAMPLES_KEY]
            assert block.count("Input: ") == 2 and block in p.user
            assert f"Answer: {target}\n" not in block + "\n"  # never the row's own answer
            assert any(f"Answer: {t}" in block for t in train_inputs)
    assert "the 2 most similar train rows" in prompt_record(plan.config.model_dump())["note"]


def test_a_knowledge_base_fills_the_context_at_training_time(qa_ws, tmp_path):
    from core import retrieval as R

    kb = R.create_kb(qa_ws, "help")
    R.add_files(kb, write_docs(tmp_path / "docs"))
    variant = {"name": "retrieved context", "template": "Reference material:\n{context}\n\n"
               "{input}"}
    plan = plan_run(qa_ws, build_config("tiny", "qa", None, {**GEN, "variant": variant,
                                                             "kb": "help", "kb_k": 1}))
    data = plan.data
    heads = [f"[{name}" for name in DOCS]
    for rows in (data.train, data.test):
        for ctx, v in zip(rows.contexts, rows.values, strict=True):
            assert any(ctx.startswith(h) for h in heads) and v["passage"] not in ctx
    assert prompt_record(plan.config.model_dump())["kb"] == "help"


@pytest.mark.parametrize("over, match", [
    ({"variant": {"name": "c", "template": "{context} {input}"}, "dataset": "toy"},
     "uses \\{context\\}, but the dataset has no context column and no knowledge base"),
    ({"variant": {"name": "z", "template": "{input}"}, "kb": "help"},
     "has no \\{context\\}"),
    ({"variant": {"name": "e", "template": "{examples} {input}"}},
     "has \\{examples\\} but few_shot 0"),
    ({"variant": {"name": "l", "template": "{labels} {input}"}},
     "lists \\{labels\\}, but the dataset is free_text"),
    ({"kb": "nokb", "variant": {"name": "r", "template": "{context} {input}"}},
     "nokb"),
])
def test_a_variant_the_dataset_cannot_fill_is_refused_in_one_line(qa_ws, over, match):
    data = over.pop("dataset", "qa")
    with pytest.raises(FinetuneError, match=match):
        plan_run(qa_ws, build_config("tiny", data, None, {**GEN, **over}))
    assert jobs.list_jobs(qa_ws) == []


def test_fixed_few_shot_is_refused_and_the_cli_checks_its_prompt_flags(qa_ws, tmp_path, capsys):
    with pytest.raises(FinetuneError, match="fixed few-shot"):
        build_config("tiny", "qa", None, {"variant": {
            "name": "f", "template": "{examples} {input}", "few_shot": 2}})
    prompts = tmp_path / "p.yaml"
    prompts.write_text("variants:\n  - name: closed\n    template: \"{input}\"\n")
    for argv, said in (
            (["--prompts", str(prompts)], "give --prompts FILE and --variant V together"),
            (["--prompts", str(prompts), "--variant", "nope"], "has no variant 'nope'; its "
                                                               "variants: closed"),
            (["--kb-k", "2"], "--kb-k sets how many chunks --kb retrieves")):
        code = main(["finetune", "start", "--data", "qa", "--model", "tiny", *argv])
        err = capsys.readouterr().err
        assert code != 0 and said in err and "Traceback" not in err
    assert jobs.list_jobs(qa_ws) == []
    sets = [x for k, v in (("max_steps", 2), ("batch_size", 4), ("eval_every", 2),
                           ("precision", "fp32")) for x in ("--set", f"{k}={v}")]
    assert main(["finetune", "start", "--data", "qa", "--model", "tiny", "--prompts",
                 str(prompts), "--variant", "closed", *sets, "--json"]) == 0
    import json

    rec = json.loads(capsys.readouterr().out)
    assert rec["prompt"]["variant"] == "closed" and rec["prompt"]["source"] == str(prompts)
    assert "context column 'passage' is not in this prompt" in rec["prompt"]["note"]
    jobs.cancel(qa_ws, rec["run_id"], grace_s=5)


def test_the_page_starts_from_the_context_column_or_a_prompt_lab_variant(qa_ws):
    from core.finetune.service import get_run
    from core.prompts import store as pstore
    from core.prompts.variants import Variant
    from tests.conftest import open_app

    pstore.save_variant(qa_ws, pstore.dataset_set(qa_ws, "qa"), Variant(
        name="closed book", template="Question: {input}\nAnswer:"))
    at = open_app("views/finetune.py", timeout=60)
    at.selectbox(key="ft_model").set_value("tiny")
    at.selectbox(key="ft_data").set_value("qa").run()
    tpl = next(t for t in at.text_area if t.label == "User message")
    assert "{context}" in tpl.value
    assert any("context column 'passage' in {context}" in c.value for c in at.caption)
    at.selectbox(key="ft_pick_qa").set_value("Prompt Lab: closed book").run()
    tpl = next(t for t in at.text_area if t.label == "User message")
    assert tpl.value == "Question: {input}\nAnswer:"
    assert any("is not in this prompt" in c.value for c in at.caption)
    at.number_input(key="ft_similar_Prompt Lab: closed book").set_value(2).run()
    for name, value in (("max_steps", 2), ("batch_size", 4), ("eval_every", 2),
                        ("eval_rows", 2)):
        at.number_input(key=f"ft_quick_{name}").set_value(value)
    at.selectbox(key="ft_quick_precision").set_value("fp32")
    at.button(key="ft_start").click().run()
    assert not at.exception, at.exception
    [job] = jobs.list_jobs(qa_ws, "finetune")
    rec = get_run(qa_ws, job.id)
    assert rec["prompt"]["variant"] == "closed book" and "2 most similar" in rec["prompt"][
        "examples"]
    assert rec["config"]["variant"]["template"].startswith("Similar labelled examples:")
    jobs.cancel(qa_ws, job.id, grace_s=5)
