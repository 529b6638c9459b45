"""Scorers: turn a model output into a parsed answer, a score in [0, 1] and pass/fail.

One registry (`registry.py`, filled by `catalog.py`) names every scorer with its
function, direction, parameters and tasks; `score_outputs` is the one entry point the
engine, fine-tuning validation and the bench call. Classification extracts the label
an output names; scales parse the first number; free text has reference metrics
(exact, token F1, chrF, BLEU, ROUGE-L), JSON checks, contains, regex, embedding
similarity and an LLM judge. A scorer never raises on odd output: it reports
`invalid_output` (or `looping`), which the leaderboard counts apart from wrong answers.
"""

from core.evals.scorers import catalog  # noqa: F401  (registers the built-in scorers)
from core.evals.scorers.base import (
    INVALID,
    LOOPING,
    MODEL_ERROR,
    Scored,
    answer_tokens,
    extract_label,
    looks_looping,
    normalize,
    parse_json_object,
    parse_number,
)
from core.evals.scorers.basic import (
    JUDGE_PROMPT,
    judge_prompt,
    score_contains,
    score_json,
    score_judge_reply,
    score_label,
    score_number,
    score_regex,
    score_similarity,
)
from core.evals.scorers.config import ScorerConfig, target_shape
from core.evals.scorers.registry import (
    Context,
    ScorerInfo,
    corpus_score,
    get,
    names,
    score_outputs,
    validate_targets,
)
from core.evals.scorers.registry import (
    register as _register,
)

__all__ = [
    "INVALID", "LOOPING", "MODEL_ERROR", "JUDGE_PROMPT", "Context", "ScorerConfig", "ScorerInfo",
    "Scored", "answer_tokens", "corpus_score", "extract_label", "get", "judge_prompt",
    "looks_looping", "names", "normalize", "parse_json_object", "parse_number", "register",
    "score_contains", "score_json", "score_judge_reply", "score_label", "score_number",
    "score_outputs", "score_regex", "score_similarity", "target_shape", "validate_targets",
]


def register(name, fn, **kwargs):
    """Add a scorer (see `registry.register`); its `params` must be `ScorerConfig` fields, so
    a scorer's settings are validated and stored like every other's."""
    missing = [p for p in kwargs.get("params") or {} if p not in ScorerConfig.model_fields]
    if missing:
        raise ValueError(f"'{missing[0]}' is not a ScorerConfig field; add it there first")
    return _register(name, fn, **kwargs)
