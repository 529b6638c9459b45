"""The E2E data-to-text set in a fresh workspace, for the generation benches.

`workspace()` imports /work/data/e2e_train.csv with its own test file through the CLI
(`ladder data import ... --test-file ... --task free_text`) into a temporary LADDER_HOME;
the converted-model cache is shared between runs through LADDER_MODEL_CACHE_DIR
(default /tmp/ladder-bench-models), so SmolLM2 is dequantized once. `sample()` takes
`n` distinct test inputs (seeded) with all their references: E2E has several human
references per input, and the benches score each output against all of them.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("LADDER_E2E_DIR", "/work/data"))
MODEL = "smollm2-135m-instruct"
INSTRUCTION = ("Write one or two sentences that describe the restaurant from its attributes, "
               "like the examples.")


def workspace():
    """A workspace holding dataset 'e2e' (E2E train + its own test file)."""
    os.environ["LADDER_HOME"] = tempfile.mkdtemp(prefix="ladder-e2e-")
    os.environ.setdefault("LADDER_MODEL_CACHE_DIR", "/tmp/ladder-bench-models")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    cmd = [sys.executable, "-m", "core.cli", "data", "import", str(DATA / "e2e_train.csv"),
           "--test-file", str(DATA / "e2e_test.csv"), "--name", "e2e", "--input-col", "mr",
           "--target-col", "ref", "--task", "free_text", "--json"]
    subprocess.run(cmd, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    from core.workspace import open_workspace

    return open_workspace()


def variants():
    from core.prompts.variants import Variant

    template = INSTRUCTION + "\n\n{examples}\n\nInput: {input}\nAnswer:"
    return {"fixed 4-shot": Variant(name="fixed 4-shot", template=template, few_shot=4),
            "similar 4-shot": Variant(name="similar 4-shot", template=template, few_shot=4,
                                      few_shot_mode="similar")}


def sample(ws, n: int, seed: int = 0):
    """(EvalRows with `n` distinct test inputs, references per row)."""
    from core.evals.rows import EvalRows, load_rows

    data = load_rows(ws, "e2e", "test")
    refs: dict[str, list[str]] = {}
    first: dict[str, dict] = {}
    for r in data.rows:
        refs.setdefault(r["input"], []).append(r["target"])
        first.setdefault(r["input"], r)
    inputs = sorted(first)
    picked = sorted(np.random.default_rng(seed).choice(len(inputs), size=n, replace=False))
    rows = [first[inputs[i]] for i in picked]
    sub = EvalRows(data.version, "test", rows, data.train_rows, data.labels)
    return sub, [refs[r["input"]] for r in rows]


def corpus_scores(outputs: list[str], references: list[list[str]]) -> tuple[float, float]:
    """(sacrebleu corpus BLEU, corpus chrF), every reference of each row counted."""
    import sacrebleu

    width = max(len(r) for r in references)
    streams = [[r[i] if i < len(r) else None for r in references] for i in range(width)]
    return (sacrebleu.corpus_bleu(outputs, streams).score,
            sacrebleu.corpus_chrf(outputs, streams).score)


def looping(text: str, hit_limit: bool) -> bool:
    """A word or phrase repeated until the token limit (the scorers' check when present)."""
    try:
        from core.evals.scorers import looks_looping
    except ImportError:
        # words and punctuation apart ("Indian-Indian-..."); the last one may be cut
        return hit_limit and periodic_tail(re.findall(r"\w+|[^\w\s]", text)[:-1])
    return looks_looping(text)


def periodic_tail(words: list[str], longest: int = 20) -> bool:
    """Whether the text ends in a phrase of 1..`longest` words said twice in a row.

    >>> periodic_tail("it is rated 5 out of 5, and it is rated 5 out of 5, and it is".split())
    True
    >>> periodic_tail("a fine place near the river".split())
    False
    """
    for n in range(1, longest + 1):
        if len(words) >= max(2 * n, 4) and words[-n:] == words[-2 * n:-n]:
            return True
    return False
