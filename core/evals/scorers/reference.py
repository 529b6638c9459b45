"""Reference metrics for free text, each a per-row score in [0, 1], best over references.

chrF and BLEU come from sacrebleu (sentence level per row, divided by 100; both take
every reference of a row at once), ROUGE-L from rouge-score (its default tokenizer:
lowercased ASCII words, no stemming, nothing downloaded), token F1 and exact match
with SQuAD's normalisation, and `json_fields` the share of a JSON target's fields
that the output's JSON gets right. An empty output scores 0 as `invalid_output`.
Trade-off: sentence BLEU is noisy on one or two sentences (sacrebleu's smoothing
with effective order keeps it defined); `corpus_*` gives the corpus figure that
papers report, shown beside the per-row mean.
"""

from __future__ import annotations

import json
from collections import Counter
from functools import cache

from core.evals.scorers.base import INVALID, Scored, answer_tokens, normalize, parse_json_object


def _empty(output: str) -> Scored | None:
    return Scored("", 0.0, False, INVALID) if not (output or "").strip() else None


def exact_match(output: str, references: list[str]) -> Scored:
    """1 when the output equals a reference after SQuAD normalisation.

    >>> exact_match("The Eiffel Tower.", ["eiffel tower", "la tour Eiffel"]).score
    1.0
    """
    if (e := _empty(output)) is not None:
        return e
    ok = any(answer_tokens(output) == answer_tokens(r) for r in references)
    return Scored(output.strip(), float(ok), ok)


def _f1(pred: list[str], ref: list[str]) -> float:
    if not pred or not ref:
        return float(pred == ref)
    same = sum((Counter(pred) & Counter(ref)).values())
    if same == 0:
        return 0.0
    p, r = same / len(pred), same / len(ref)
    return 2 * p * r / (p + r)


def token_f1(output: str, references: list[str], min_score: float = 0.5) -> Scored:
    """Word-overlap F1 (SQuAD), the best over references.

    >>> round(token_f1("in Paris, France", ["Paris", "Lyon"]).score, 3)
    0.5
    """
    if (e := _empty(output)) is not None:
        return e
    pred = answer_tokens(output)
    s = max((_f1(pred, answer_tokens(r)) for r in references), default=0.0)
    return Scored(output.strip(), s, s >= min_score)


@cache
def _sacre(metric: str):
    from sacrebleu.metrics import BLEU, CHRF

    return {"chrf": CHRF(), "bleu": BLEU(effective_order=True),
            "corpus_bleu": BLEU()}[metric]


def chrf(output: str, references: list[str], min_score: float = 0.5) -> Scored:
    """sacrebleu chrF (character 6-grams, beta 2) / 100; several references: the best."""
    if (e := _empty(output)) is not None:
        return e
    s = _sacre("chrf").sentence_score(output.strip(), list(references)).score / 100
    return Scored(output.strip(), s, s >= min_score)


def bleu(output: str, references: list[str], min_score: float = 0.5) -> Scored:
    """sacrebleu sentence BLEU (13a tokens, exp smoothing, effective order) / 100, with all
    references counted together as BLEU does."""
    if (e := _empty(output)) is not None:
        return e
    s = _sacre("bleu").sentence_score(output.strip(), list(references)).score / 100
    return Scored(output.strip(), s, s >= min_score)


@cache
def _rouge():
    from rouge_score.rouge_scorer import RougeScorer

    return RougeScorer(["rougeL"], use_stemmer=False)


def rouge_l(output: str, references: list[str], min_score: float = 0.5) -> Scored:
    """rouge-score ROUGE-L F-measure (longest common subsequence), best over references."""
    if (e := _empty(output)) is not None:
        return e
    s = float(_rouge().score_multi(list(references), output.strip())["rougeL"].fmeasure)
    return Scored(output.strip(), s, s >= min_score)


def _canon(v):
    """A JSON value compared loosely: strings normalised, numeric strings as numbers."""
    if isinstance(v, bool) or v is None:
        return v
    if isinstance(v, int | float):
        return float(v)
    if isinstance(v, str):
        try:
            return float(v.strip())
        except ValueError:
            return normalize(v)
    if isinstance(v, list):
        return [_canon(x) for x in v]
    if isinstance(v, dict):
        return {str(k).strip().lower(): _canon(x) for k, x in v.items()}
    return v


def field_share(output_obj: dict, target_obj: dict) -> float:
    """Share of the target's keys whose values the output matches.

    >>> field_share({"name": "Aromi", "food": "Thai"}, {"name": "aromi", "food": "Italian"})
    0.5
    """
    target, got = _canon(target_obj), _canon(output_obj)
    if not target:
        return float(not got)
    return sum(1 for k, v in target.items() if k in got and got[k] == v) / len(target)


def is_json_object(target: str) -> bool:
    return parse_json_object(target) is not None


def json_fields(output: str, references: list[str]) -> Scored:
    """Field-level score of a JSON output against JSON targets (best over references); an
    output with no JSON object in it scores 0 as `invalid_output`."""
    obj = parse_json_object(output or "")
    if obj is None:
        return Scored(None, 0.0, False, INVALID)
    targets = [t for t in (parse_json_object(r) for r in references) if t is not None]
    s = max((field_share(obj, t) for t in targets), default=0.0)
    return Scored(json.dumps(obj, ensure_ascii=False, sort_keys=True), s, s == 1.0)


def _streams(references: list[list[str]]) -> list[list[str | None]]:
    """Per-row reference lists -> sacrebleu's reference streams (None where a row has fewer)."""
    k = max((len(r) for r in references), default=0)
    return [[r[j] if j < len(r) else None for r in references] for j in range(k)]


def corpus_bleu(outputs: list[str], references: list[list[str]]) -> dict:
    s = _sacre("corpus_bleu").corpus_score([o.strip() for o in outputs], _streams(references))
    return {"corpus_bleu": round(s.score, 2)}


def corpus_chrf(outputs: list[str], references: list[list[str]]) -> dict:
    """Corpus chrF, and corpus BLEU beside it (the figure most papers report)."""
    s = _sacre("chrf").corpus_score([o.strip() for o in outputs], _streams(references))
    return {"corpus_chrf": round(s.score, 2), **corpus_bleu(outputs, references)}
