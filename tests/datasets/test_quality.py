"""The quality report's numbers on a dataset built with known counts of every finding."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from core import datasets
from core.cli import main
from core.datasets import Mapping, quality_report
from core.datasets.quality import leaking_train_rows
from core.datasets.splits import split_counts
from core.datasets.text import find_pii, has_control_chars, has_mojibake, iban_ok, luhn_ok
from core.datasets.versions import Split
from tests.datasets.conftest import SAMPLE

CLEAN = {  # label -> clearly different sentences (no two near each other)
    "billing": [
        "I was charged twice for my subscription this month.",
        "Can you send me an invoice with our company VAT number?",
        "Why did the annual renewal cost more than last year?",
        "Please cancel my plan before the next payment date.",
        "My credit card payment keeps getting declined at checkout.",
        "Do you offer a discount for registered charities?",
    ],
    "bug": [
        "The mobile app crashes whenever I open a shared notebook.",
        "Images pasted into notes appear upside down on Android.",
        "Search returns nothing although the note clearly exists.",
        "Dark mode makes code blocks unreadable in the desktop client.",
        "Reminders never fire on my tablet since the latest update.",
    ],
    "account": [
        "I never receive the password reset email.",
        "How do I turn on two-factor authentication?",
        "Please delete my account and everything in it.",
        "I want to merge my two accounts into one.",
    ],
}
# planted problems, each with a known count
EXACT_DUP = ("Do you offer a discount for registered charities?", "billing")  # 2 extra copies
CONFLICT = "The upgrade button does nothing when I tap it."  # billing and bug
CASE_CONFLICT = ("Where is the export to PDF option?", "WHERE IS THE   export to pdf option?")
NEAR_SAME_LABEL = ("I never received the password reset email.",)  # near CLEAN account[0]
NEAR_OTHER_LABEL = ("My credit card payment keeps getting declined at checkout!",)  # as bug
PII = {"email": "Contact me at jane.doe@example.com about the refund.",
       "phone": "Call me back on +44 20 7946 0958 tomorrow morning.",
       "card": "I paid with card 4111 1111 1111 1111 and want a receipt.",
       "iban": "Send the refund to GB82 WEST 1234 5698 7654 32 please."}
DECOY = "Order 1234567890123 shipped on 2024-06-11 for $1,200 with app 4.3.2."
MOJIBAKE = "The cafÃ© menu note shows weird letters â€“ everywhere."
CONTROL = "Bell character here\x07 breaks my export."
LONG = " ".join(f"w{i}x{i * 7 % 13}" for i in range(700))


def constructed() -> tuple[pd.DataFrame, dict]:
    rows = [(t, label) for label, texts in CLEAN.items() for t in texts]
    rows += [EXACT_DUP, EXACT_DUP]  # 2 exact duplicates
    rows += [("", "billing"), ("   ", "bug")]  # 2 empty inputs
    rows += [("Is there a student discount on the Plus plan?", "")]  # 1 empty target
    rows += [(CONFLICT, "billing"), (CONFLICT, "bug")]  # conflict 1 (same input)
    rows += [(CASE_CONFLICT[0], "bug"), (CASE_CONFLICT[1], "feature")]  # conflict 2 (normalised)
    rows += [(NEAR_SAME_LABEL[0], "account")]  # near duplicate 1
    rows += [(NEAR_OTHER_LABEL[0], "bug")]  # near duplicate 2, conflict 3 (near input)
    rows += [(PII["email"], "billing"), (PII["phone"], "account"), (PII["card"], "billing"),
             (PII["iban"], "billing"), (DECOY, "billing")]
    rows += [(MOJIBAKE, "bug"), (CONTROL, "bug"), (LONG, "bug")]
    frame = pd.DataFrame(rows, columns=["text", "label"], dtype=object)
    labels = pd.Series([r[1] for r in rows if r[1]]).value_counts()
    expected = {
        "rows": len(rows), "missing_inputs": 2, "missing_targets": 1, "exact_duplicates": 2,
        "near_duplicates": 2, "conflicting_labels": 3,
        "label_counts": labels.to_dict(),
        "imbalance_ratio": round(labels.max() / labels.min(), 2),
        "pii": {"email": 1, "phone": 1, "card": 1, "iban": 1},
        "mojibake": 1, "control_chars": 1, "length_outliers": 1,
    }
    return frame, expected


MAPPING = Mapping(input_col="text", target_col="label", task="classification")


def test_text_checks_unit():
    assert luhn_ok("4111111111111111") and not luhn_ok("4111111111111121")
    assert iban_ok("GB82 WEST 1234 5698 7654 32") and not iban_ok("GB82 WEST 1234 5698 7654 33")
    for kind, text in PII.items():
        assert list(find_pii(text)) == [kind], (kind, find_pii(text))
    assert find_pii(DECOY) == {}
    assert has_mojibake(MOJIBAKE) and not has_mojibake("café – naïve ü")
    assert has_control_chars(CONTROL) and not has_control_chars("tab\tand\nnewline\r\n")


@pytest.mark.slow  # loads MiniLM (~5 s)
def test_report_counts_match_the_constructed_dataset():
    frame, expected = constructed()
    rep = quality_report(frame, MAPPING, threshold=0.95, max_tokens=512)
    got = {k: rep[k] for k in expected}
    assert got == expected
    assert rep["leakage"] == {} and rep["split"] is None
    ex = rep["examples"]
    assert {e["row"] for e in ex["exact_duplicates"]} == {16, 17}
    assert ex["missing_inputs"] == [18, 19] and ex["missing_targets"] == [20]
    kinds = {e["kind"] for e in ex["conflicting_labels"]}
    assert kinds == {"same input", "near-duplicate input"}
    assert all(e["similarity"] >= 0.95 for e in ex["near_duplicates"])
    assert ex["pii"]["email"][0]["value"] != "jane.doe@example.com"  # masked
    sev = {f["check"]: f["severity"] for f in rep["findings"]}
    assert sev["exact_duplicates"] == "warning" and sev["conflicting_labels"] == "error"
    assert sev["pii_card"] == "warning" and sev["leakage"] == "info"
    fixes = {f["fix"] for f in rep["findings"] if f["fix"]}
    assert fixes == {"drop_duplicates", "drop_empty", "resolve_conflicts"}
    # the two same-input conflicts are ties: majority drops both pairs, first keeps one row each
    n = len(frame)
    res = rep["conflict_resolution"]
    assert (res["inputs"], res["rows"], res["ties"]) == (2, 4, 2)
    assert res["keeps"] == {"majority": n - 4, "drop": n - 4, "first": n - 2}
    json.dumps(rep)  # plain JSON all the way down

    # leakage with a hand-made split: the duplicate row in test, the near duplicate in validation
    assignment = np.zeros(len(frame), dtype=np.uint8)
    assignment[16] = 2  # last copy of EXACT_DUP -> test; rows 5 and 15 stay in train
    assignment[24] = 1  # NEAR_SAME_LABEL -> validation; its near twin (row 11) is in train
    assignment[26] = 2  # the e-mail row -> test (unique: no leak)
    sp = Split(0.1, 0.1, 0, True, assignment, split_counts(assignment, None))
    rep = quality_report(frame, MAPPING, sp, threshold=0.95)
    assert rep["leakage"] == {"train-validation": 1, "train-test": 1, "validation-test": 0}
    assert any(f["fix"] == "drop_leakage" for f in rep["findings"])
    dropped = leaking_train_rows(frame, MAPPING, sp, 0.95)
    assert dropped == [5, 11, 15]  # EXACT_DUP's other copies and the near twin, all in train


@pytest.mark.slow  # loads MiniLM (~5 s)
def test_sample_data_report_finds_the_documented_problems(ws, capsys):
    """examples/README.md: 3 exact duplicates, 2 empty texts, 1 empty category, 2 conflicting
    pairs, 2 e-mails, 1 phone, 1 IBAN, 1 mojibake row."""
    datasets.import_file(ws, SAMPLE, name="tickets", input_col="text", target_col="category")
    assert main(["data", "report", "tickets", "--json"]) == 0
    rep = json.loads(capsys.readouterr().out)
    for key in ("rows", "missing_inputs", "missing_targets", "exact_duplicates",
                "near_duplicates", "conflicting_labels", "label_counts", "imbalance_ratio",
                "pii", "length_outliers", "leakage"):
        assert key in rep
    assert rep["rows"] == 370
    assert rep["exact_duplicates"] == 3
    assert rep["missing_inputs"] == 2
    assert rep["missing_targets"] == 1
    assert rep["conflicting_labels"] == 2
    assert rep["pii"] == {"email": 2, "phone": 1, "card": 0, "iban": 1}
    assert rep["mojibake"] == 1 and rep["control_chars"] == 0
    assert rep["label_counts"] == {"billing": 125, "bug": 102, "account": 81,
                                   "feature_request": 61}
    assert rep["imbalance_ratio"] == round(125 / 61, 2)
    assert rep["length_outliers"] == 0
    assert rep["leakage"] == {}
    # with a split, leakage is counted per split pair, and the fix removes it from train
    assert main(["data", "split", "tickets", "--val", "0.1", "--test", "0.1", "--seed", "0"]) == 0
    capsys.readouterr()
    _, rep = datasets.report(ws, "tickets")
    assert set(rep["leakage"]) == {"train-validation", "train-test", "validation-test"}
    assert main(["data", "fix", "tickets", "--drop-leakage", "--json"]) == 0
    fixed = json.loads(capsys.readouterr().out)
    assert fixed["created"] == (fixed["removed"]["leakage"] > 0)
    _, after = datasets.report(ws, "tickets")
    assert after["leakage"]["train-validation"] == 0 and after["leakage"]["train-test"] == 0
    assert datasets.get_report(ws, datasets.get_version(ws, "tickets"))["rows"] == after["rows"]
