"""The built-in scorers: every registration in one place (see docs/scorers.md).

To add a scorer, write `fn(output, references, ctx) -> Scored` and register it here
(or from your own module) with its help, direction, tasks and the `ScorerConfig`
fields it reads; the CLI, Prompt Lab and fine-tuning pick it up from the registry.
"""

from __future__ import annotations

from core.evals.scorers import basic, reference
from core.evals.scorers.registry import Context, register

ALL = ("classification", "scale", "free_text")
TEXT = ("free_text",)
PASS_AT = "a row passes at or above this score (0-1, default 0.5)"


def _label(output: str, refs: list[str], ctx: Context):
    labels = ctx.labels or sorted(set(refs))
    scored = [basic.score_label(output, r, labels) for r in refs]
    return max(scored, key=lambda s: s.score)


def _number(output: str, refs: list[str], ctx: Context):
    return max((basic.score_number(output, r, ctx.config.tolerance) for r in refs),
               key=lambda s: s.score)


def _contains(output: str, refs: list[str], ctx: Context):
    return max((basic.score_contains(output, r) for r in refs), key=lambda s: s.score)


def _similarity(outputs: list[str], refs: list[list[str]], ctx: Context):
    return basic.score_similarity(outputs, refs, ctx.config.threshold)


def _judge(outputs: list[str], refs: list[list[str]], ctx: Context):
    if ctx.ws is None or not ctx.config.judge_model:
        raise ValueError("The LLM judge needs a workspace and a judge model.")
    inputs = ctx.inputs if ctx.inputs is not None else [""] * len(outputs)
    return basic.judge_outputs(ctx.ws, ctx.config.judge_model, ctx.config.rubric, inputs,
                               [r[0] for r in refs], outputs)


register("label", _label, tasks=("classification",),
         help="the label the output names equals the target label (1 or 0)")
register("number", _number, tasks=("scale",),
         params={"tolerance": "allowed absolute error between the first number and the target"},
         help="the first number in the output is within the tolerance of the target (1 or 0)")
register("exact", lambda o, r, c: reference.exact_match(o, r), tasks=TEXT,
         help="the output equals a reference after lowercasing and dropping punctuation and "
              "articles (1 or 0)")
register("token_f1", lambda o, r, c: reference.token_f1(o, r, c.config.min_score), tasks=TEXT,
         params={"min_score": PASS_AT},
         help="word-overlap F1 with the best reference (SQuAD); for short answers")
register("chrf", lambda o, r, c: reference.chrf(o, r, c.config.min_score), tasks=TEXT,
         params={"min_score": PASS_AT}, corpus=reference.corpus_chrf, beside=("rouge_l",),
         help="character n-gram F-score with the best reference (sacrebleu chrF / 100); "
              "for sentences and paragraphs")
register("bleu", lambda o, r, c: reference.bleu(o, r, c.config.min_score), tasks=TEXT,
         params={"min_score": PASS_AT}, corpus=reference.corpus_bleu,
         help="sentence BLEU against all references (sacrebleu / 100); corpus BLEU beside it")
register("rouge_l", lambda o, r, c: reference.rouge_l(o, r, c.config.min_score), tasks=TEXT,
         params={"min_score": PASS_AT},
         help="longest common word subsequence F-measure with the best reference (rouge-score); "
              "for summaries")
register("json", lambda o, r, c: basic.score_json(o), tasks=TEXT, needs_reference=False,
         help="the output is valid JSON (1 or 0); the reference is not read")
register("json_fields", lambda o, r, c: reference.json_fields(o, r), tasks=TEXT,
         target_check=reference.is_json_object, target_kind="JSON objects",
         help="share of the target object's fields whose values the output's JSON matches")
register("contains", _contains, tasks=TEXT,
         help="a reference appears inside the output, case and punctuation aside (1 or 0)")
register("regex", lambda o, r, c: basic.score_regex(o, c.config.pattern or ""), tasks=ALL,
         needs_reference=False, params={"pattern": "the regular expression to search for"},
         help="the pattern is found in the output (1 or 0); the reference is not read")
register("similarity", _similarity, tasks=TEXT, batch=True,
         params={"threshold": "cosine at or above which a row passes (default 0.7)"},
         help="embedding cosine (all-MiniLM-L6-v2) with the best reference")
register("judge", _judge, tasks=TEXT, batch=True,
         params={"judge_model": "registered model that grades", "rubric": "what a good "
                 "answer looks like"},
         help="an LLM grades the output 1-5 against the first reference, scaled to 0-1")
