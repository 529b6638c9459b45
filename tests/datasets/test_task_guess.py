"""The task type from the shape of the targets: many labels, free text, JSON, numbers; retask."""

from __future__ import annotations

import json
import random

import pandas as pd
import pytest

from core import datasets
from core.cli import main
from core.datasets.schema import guess_task

WORDS = ("card", "transfer", "balance", "pin", "refund", "travel", "alarm", "timer", "weather",
         "flight", "hotel", "car", "insurance", "bill", "account", "music", "calendar", "recipe")


def intents(n_labels: int, per_label: int, seed: int = 0) -> pd.DataFrame:
    """An intent-routing table: short snake_case labels, each on several short messages."""
    rng = random.Random(seed)
    labels = [f"{WORDS[i % len(WORDS)]}_{WORDS[(i * 7 + 3) % len(WORDS)]}_{i}"
              for i in range(n_labels)]
    rows = [{"text": f"please help with my {lab.replace('_', ' ')} {rng.randint(0, 999)} now",
             "intent": lab} for lab in labels for _ in range(per_label)]
    rng.shuffle(rows)
    return pd.DataFrame(rows)


SUMMARIES = [f"Person {i} asks about the {WORDS[i % len(WORDS)]} and agrees to call back on "
             f"day {i}. They thank each other." for i in range(300)]


@pytest.mark.parametrize("n_labels", [100, 150, 500])
def test_many_short_repeated_labels_are_classification(n_labels):
    g = guess_task(intents(n_labels, 4)["intent"])
    assert (g.task, g.shape) == ("classification", "labels")
    assert f"{n_labels:,} distinct targets" in g.reason


def test_sentences_and_unique_short_answers_are_free_text():
    g = guess_task(pd.Series(SUMMARIES))
    assert (g.task, g.shape) == ("free_text", "text")
    # short answers (a QA set) are mostly unique: text, not labels
    answers = pd.Series([f"{WORDS[i % len(WORDS)]} {i}" for i in range(200)] + ["Paris"] * 5)
    assert guess_task(answers).task == "free_text"
    # sentences that repeat (template replies) are text unless there are only a few of them
    replies = pd.Series([f"Thanks, we will send a new {w} in {i} days. Sorry for the wait."
                         for i, w in enumerate(WORDS * 2)] * 3)
    assert guess_task(replies).task == "free_text"
    assert guess_task(pd.Series(["Yes, it is.", "No, it is not."] * 20)).task == "classification"


def test_json_objects_are_free_text_scored_by_fields_and_numbers_a_scale():
    g = guess_task(pd.Series([json.dumps({"name": f"n{i}", "qty": i}) for i in range(30)]))
    assert (g.task, g.shape) == ("free_text", "json")
    assert "json_fields" in g.reason
    g = guess_task(pd.Series(["1", "2", "5", "4"] * 5))
    assert (g.task, g.shape) == ("scale", "numbers")


def test_import_of_a_150_intent_csv_is_classification_and_says_why(ws, write, capsys):
    path = write("intents.csv", intents(150, 3).to_csv(index=False))
    code = main(["data", "import", str(path), "--name", "clinc", "--input-col", "text",
                 "--target-col", "intent", "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    rec = json.loads(out)
    assert (rec["task"], rec["target_shape"]) == ("classification", "labels")
    assert rec["task_reason"].startswith("classification: 150 distinct targets over 450 rows")
    assert "ladder data retask clinc --task T" in rec["task_reason"]
    # a free-text set still imports as free text, and the text form says why
    path = write("dialog.csv", pd.DataFrame({"dialogue": [f"#P1#: hi {i}" for i in range(300)],
                                             "summary": SUMMARIES}).to_csv(index=False))
    assert main(["data", "import", str(path), "--name", "dlg", "--input-col", "dialogue",
                 "--target-col", "summary"]) == 0
    out, _ = capsys.readouterr()
    assert "Task free text: 100% of rows have a target no other row has" in out


def test_a_chosen_task_says_what_the_shape_suggested(ws, write, capsys):
    path = write("intents.csv", intents(60, 3).to_csv(index=False))
    assert main(["data", "import", str(path), "--name", "i", "--input-col", "text",
                 "--target-col", "intent", "--task", "free_text", "--json"]) == 0
    rec = json.loads(capsys.readouterr()[0])
    assert rec["task"] == "free_text"
    assert rec["task_reason"].startswith("free_text: chosen by you (the targets' shape suggests "
                                         "classification: 60 distinct targets")


def test_retask_writes_a_version_with_the_same_rows_and_split(ws, write, capsys):
    path = write("intents.csv", intents(60, 3).to_csv(index=False))
    assert main(["data", "import", str(path), "--name", "i", "--input-col", "text",
                 "--target-col", "intent", "--task", "free_text"]) == 0
    assert main(["data", "split", "i", "--val", "0.2", "--test", "0.2", "--seed", "3"]) == 0
    capsys.readouterr()
    before = datasets.get_version(ws, "i")
    code = main(["data", "retask", "i", "--task", "classification", "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    rec = json.loads(out)
    assert (rec["version"], rec["task"], rec["created"]) == (2, "classification", True)
    after = datasets.get_version(ws, "i")
    assert after.parent_hash == before.hash and after.rows == before.rows
    pd.testing.assert_frame_equal(datasets.load_frame(ws, after), datasets.load_frame(ws, before))
    old, new = datasets.get_split(ws, before), datasets.get_split(ws, after)
    assert (old.assignment == new.assignment).all() and new.seed == 3
    # nothing to do: one line, non-zero, nothing written
    assert main(["data", "retask", "i", "--task", "classification"]) != 0
    assert "already classification; nothing to do" in capsys.readouterr()[1]
    # a scale needs numbers: refused with the reason, nothing written
    assert main(["data", "retask", "i", "--task", "scale"]) != 0
    assert "a numeric scale needs numbers" in capsys.readouterr()[1]
    assert [v.number for v in datasets.list_versions(ws, "i")] == [1, 2]
