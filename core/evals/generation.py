"""How an evaluation decodes each answer: its length limit, where it stops, repetition control.

`generation_params` is the one place that decides, from the run's settings, the train
split and the variant:

- `max_new_tokens`: the run's value when set; else 24 for labels and numbers, and for free
  text the 99th percentile of the train targets' token counts x 1.25 + 8 (a margin for
  tokenizers that count more than the estimate), capped by half the model's context. A
  fixed 128 cut real answers short on long targets and let a looping small model burn 128
  tokens a row on short ones.
- stop strings: the end-of-sequence token always ends an answer; a line break ends it too
  when no train target contains one (a paragraph break when targets have single line
  breaks only), so a model that goes on to write the next example stops there. When every
  train target is a JSON object, the answer ends when its first object closes instead: a
  model that pretty-prints `{` and a line break has only begun.
- repetition control: the variant's `repetition_penalty` / `no_repeat_ngram_size`; unset,
  free text gets FREE_TEXT_REPETITION (measured on a data-to-text set, docs/generation.md)
  and labels and numbers none.

Token counts come from the packaged MiniLM WordPiece tokenizer (core.datasets.tokens): it
is always installed and needs no model load, so a run's decoding settings and therefore
its cache keys do not depend on which models happen to be cached. It counts English text
within about 15 % of a BPE tokenizer; the margin covers the difference.
"""

from __future__ import annotations

import math

import numpy as np

from core.evals.scorers.base import parse_json_object
from core.models import kinds
from core.models.base import JSON_CLOSE, GenerationParams

LABEL_TOKENS = 24  # a label, a number or a short phrase
NO_TRAIN_TOKENS = 128  # free text without train targets to measure
MAX_TOKENS = 2048
# (repetition_penalty, no_repeat_ngram_size) for free text when the variant leaves both
# unset: measured with bench/repetition.py, table in docs/generation.md
FREE_TEXT_REPETITION: tuple[float, int] = (1.0, 4)


def token_counts(texts: list[str]) -> np.ndarray:
    from core.datasets.tokens import count_tokens, pick_tokenizer

    _name, path, _estimate = pick_tokenizer(None)
    return count_tokens(texts, path)


def answer_budget(targets: list[str], context: int | None = None) -> int:
    """New tokens that fit 99 % of `targets` with a margin, at most half of `context`.

    >>> answer_budget(["a short answer"] * 10)
    12
    >>> answer_budget([], context=100)
    50
    """
    if not targets:
        n = NO_TRAIN_TOKENS
    else:
        p99 = float(np.percentile(token_counts(targets), 99))
        n = math.ceil(p99 * 1.25) + 8
    if context:
        n = min(n, max(1, context // 2))
    return max(1, min(n, MAX_TOKENS))


def stop_strings(targets: list[str]) -> tuple[str, ...]:
    """Where an answer ends besides the end-of-sequence token.

    >>> stop_strings(["Paris", "Lyon"]), stop_strings(["a\\nb"]), stop_strings(["a\\n\\nb"])
    (('\\n',), ('\\n\\n',), ())
    >>> stop_strings(['{"a": 1}', '{"a": 2}']) == (JSON_CLOSE,)
    True
    """
    if targets and all(t.strip().startswith("{") and parse_json_object(t) is not None
                       for t in targets):
        return (JSON_CLOSE,)
    if not any("\n" in t for t in targets):
        return ("\n",)
    if not any("\n\n" in t for t in targets):
        return ("\n\n",)
    return ()


def repetition(variant, task: str) -> tuple[float, int]:
    """(repetition_penalty, no_repeat_ngram_size): the variant's, else the task's default."""
    rp, ngram = FREE_TEXT_REPETITION if task == "free_text" else (1.0, 0)
    if variant.repetition_penalty is not None:
        rp = variant.repetition_penalty
    if variant.no_repeat_ngram_size is not None:
        ngram = variant.no_repeat_ngram_size
    return float(rp), int(ngram)


def generation_params(cfg, data, variant, sample: int, *, task: str | None = None,
                      context: int | None = None) -> GenerationParams:
    """Decoding settings of one variant's cells for sample `sample` of run config `cfg` on
    `data` (an EvalRows; `task` overrides `data.task`); `context` is the model's context
    length when known (core.models.context.model_context)."""
    task = task or data.task
    targets = [r["target"] for r in data.train_rows]
    if cfg.max_new_tokens is not None:
        max_new = cfg.max_new_tokens
    elif task == "free_text":
        max_new = answer_budget(targets, context)
    else:
        max_new = LABEL_TOKENS
    rp, ngram = repetition(variant, task)
    return GenerationParams(
        max_new_tokens=max_new, temperature=cfg.temperature,
        seed=cfg.seed + sample if cfg.temperature > 0 else None,
        stop=stop_strings(targets), repetition_penalty=rp, no_repeat_ngram_size=ngram)


def model_context(ws, model_id: str) -> int | None:
    """The registered model's context length when known without loading it."""
    from core.models.context import model_context as of_spec

    return of_spec(ws, ws.registry.get(model_id))


def check_max_new_tokens(ws, max_new_tokens: int | None, model_id: str) -> str | None:
    """The one-line problem when `max_new_tokens` cannot fit the model's context, else None."""
    if max_new_tokens is None or not kinds.of(ws.registry.get(model_id)).prompted:
        return None
    context = model_context(ws, model_id)
    if context is None or max_new_tokens < context:
        return None
    return (f"max_new_tokens {max_new_tokens} is beyond the context of {model_id} ({context} "
            f"tokens for prompt and answer together); set --max-new-tokens below {context} "
            "(e.g. 256), or leave it unset to size it from the train answers.")
