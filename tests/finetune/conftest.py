"""Fixtures for fine-tuning tests: a tiny saved Llama registered as a folder model, a toy dataset."""

from __future__ import annotations

import random

import pandas as pd
import pytest

COLORS = ["blue", "green", "red"]
FILLER = ["the", "sky", "cat", "dog", "is", "a", "b", "c", "of", "paris"]


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory):
    from tests.tiny import tiny_llama, tiny_tokenizer

    folder = tmp_path_factory.mktemp("tiny-llama")
    tiny_llama(seed=0).save_pretrained(folder, safe_serialization=True)
    tiny_tokenizer(chat=True).save_pretrained(folder)
    return folder


def toy_frame(n: int = 60, seed: int = 0, flip: bool = False) -> pd.DataFrame:
    """Rows labelled yes when they mention blue; `flip` inverts the labels."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        words = rng.sample(FILLER, 3) + [COLORS[i % 3]]
        rng.shuffle(words)
        label = "yes" if "blue" in words else "no"
        if flip:
            label = "no" if label == "yes" else "yes"
        rows.append({"text": " ".join(words), "label": label})
    return pd.DataFrame(rows)


def add_dataset(ws, name: str, frame: pd.DataFrame, val: float = 0.2, test: float = 0.2):
    from core.datasets.schema import Mapping
    from core.datasets.splits import make_split
    from core.datasets.versions import save_split, save_version

    mapping = Mapping(input_col="text", target_col="label", task="classification")
    version, _ = save_version(ws, name, frame, mapping, source="test")
    save_split(ws, version, make_split(frame, mapping, val, test, 0))
    return version


def add_dataset_assigned(ws, name: str, frame: pd.DataFrame, assignment: list[int]):
    """A dataset whose split is given row by row (0 train, 1 validation, 2 test)."""
    import numpy as np

    from core.datasets.schema import Mapping
    from core.datasets.splits import split_counts
    from core.datasets.versions import Split, save_split, save_version

    mapping = Mapping(input_col="text", target_col="label", task="classification")
    version, _ = save_version(ws, name, frame, mapping, source="test")
    a = np.array(assignment, dtype=np.uint8)
    save_split(ws, version, Split(0.2, 0.2, 0, False, a, split_counts(a, list(frame["label"]))))
    return version


@pytest.fixture
def tiny_ws(ws, tiny_model_dir, monkeypatch):
    from core.models.registry import build_spec

    monkeypatch.setenv("LADDER_ALLOW_TINY", "1")
    ws.registry.add(build_spec(id="tiny", kind="folder", source=str(tiny_model_dir),
                               hourly_cost=0.25))
    add_dataset(ws, "toy", toy_frame())
    return ws


# Small, fast settings for the tiny model: its LoRA (a preset's `auto` on a classification
# dataset would train the MiniLM encoder instead; tests of that say approach=encoder).
TINY = dict(max_steps=12, batch_size=4, eval_every=4, eval_rows=8, lr=5e-3, max_seq_len=64,
            early_stopping_patience=0, precision="fp32", approach="generate")
