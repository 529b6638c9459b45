"""A small labelled dataset and a tiny local model, registered in the test's workspace."""

from __future__ import annotations

import csv

import pytest

from tests.tiny import tiny_llama, tiny_tokenizer

WORDS = {"yes": ["the sky is blue", "a cat is red", "the dog is green"],
         "no": ["paris is a cat", "the capital of france", "question answer"],
         "maybe": ["a b c", "x y z", "q r s"]}


@pytest.fixture
def tiny_data(ws, tmp_path):
    """30 rows, 3 labels, split 60/20/20."""
    from core.datasets import service

    path = tmp_path / "tiny.csv"
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["text", "label", "note"])
        for i in range(10):
            for label, texts in WORDS.items():
                w.writerow([f"{texts[i % 3]} {'abcdefghij'[i]}", label, f"n{i}"])
    service.import_file(ws, path, name="tiny", input_col="text", target_col="label")
    service.split(ws, "tiny", val=0.2, test=0.2, seed=0)
    return "tiny"


def free_text_dataset(ws, path, name: str, columns: tuple[str, str], pairs) -> str:
    """Import (input, target) pairs as a free-text dataset with a 75/25 train/test split."""
    from core.datasets import service

    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(columns)
        w.writerows(pairs)
    service.import_file(ws, path, name=name, input_col=columns[0], target_col=columns[1],
                        task="free_text")
    service.split(ws, name, val=0.0, test=0.25, seed=0)
    return name


@pytest.fixture
def tiny_model(ws, tmp_path):
    from core.models.registry import build_spec

    folder = tmp_path / "tiny-model"
    tiny_llama(3).save_pretrained(folder, safe_serialization=True)
    tiny_tokenizer(chat=False).save_pretrained(folder)
    ws.registry.add(build_spec(id="tiny", kind="folder", source=str(folder), hourly_cost=3.6))
    return "tiny"
