"""The task score a fine-tuning run follows: the evaluation's own scorer and decoding.

Validation during training, early stopping and before/after all score through
`core.evals.scorers.score_outputs` with one scorer, resolved once per run from the
run's `scorer` setting and the train targets (auto: what the Prompt Lab picks for
targets of that shape, e.g. chrF for sentences), and generate with the decoding the
evaluation engine uses (`core.evals.generation.generation_params`). So a validation
curve, the before/after and a Prompt Lab run of the adapter read the same number.

Rows of one split that share an input are one example with several references (a
data-to-text set has five descriptions of one record): `group_references` folds them.

Trade-off: validation generates with the engine's decoding on few rows rather than
cheaper, shorter outputs on many: the curve then measures what before/after measures,
and the budget (core.finetune.budget) decides how many rows that buys.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.models.base import GenerationParams

# Scorers fine-tuning refuses: they need settings a run cannot carry, or a second model
# answering at every evaluation.
NOT_FOR_TRAINING = {
    "judge": "an LLM judge would answer at every evaluation; validate with a reference metric "
             "(e.g. scorer=chrf) and judge the finished adapter in the Prompt Lab",
    "regex": "the regex scorer needs a pattern, which a run does not carry; choose a reference "
             "metric (e.g. scorer=chrf or token_f1)",
}


def scorer_choices(task: str | None = None) -> list[str]:
    """Scorer names a run may name (`auto` first)."""
    from core.evals import scorers as reg

    names = reg.names(task) if task else reg.names()
    return ["auto", *[n for n in names if n not in NOT_FOR_TRAINING]]


def check_scorer(name: str, task: str, targets: list[str]) -> str | None:
    """Why `name` cannot score this run's targets (one line), or None."""
    if name in NOT_FOR_TRAINING:
        return f"scorer={name} cannot validate a fine-tuning run: {NOT_FOR_TRAINING[name]}."
    choices = scorer_choices(task)
    if name not in choices:
        return f"unknown scorer '{name}' for {task.replace('_', ' ')}; choose one of " \
               f"{', '.join(choices)} (--set scorer=NAME)."
    from core.evals import scorers as reg

    if name != "auto":
        try:
            reg.validate_targets(name, targets)
        except ValueError as e:
            return f"scorer={name}: {e}"
    return None


@dataclass(frozen=True)
class Choice:
    kind: str  # the registered scorer that scores this run
    why: str  # one sentence: why (auto's reason, or "chosen in the run's settings")


def resolve(name: str, task: str, targets: list[str]) -> Choice:
    """The scorer a run's `scorer` setting means for these targets."""
    from core.evals import scorers as reg

    cfg = reg.ScorerConfig(kind=name)
    kind = cfg.resolved(task, targets)
    why = cfg.explain(task, targets) if name == "auto" else "chosen in the run's settings"
    return Choice(kind, why)


def score_texts(kind: str, outputs: list[str], references: list[list[str]], *,
                labels: list[str] | None = None, inputs: list[str] | None = None) -> list:
    """One `Scored` per output against its references (several per row allowed)."""
    from core.evals import scorers as reg

    return reg.score_outputs(kind, outputs, references, config=reg.ScorerConfig(kind=kind),
                             labels=labels, inputs=inputs)


def group_references(keys: list[str], targets: list[str]) -> list[tuple[int, list[str]]]:
    """(first row, every distinct target of the rows with that key), in first-seen order;
    an empty key (no input) stays alone, as in core.evals.rows.

    >>> group_references(["a", "b", "a", "a", "", ""], ["x", "y", "z", "x ", "u", "v"])
    [(0, ['x', 'z']), (1, ['y']), (4, ['u']), (5, ['v'])]
    """
    groups: dict[str, tuple[int, list[str]]] = {}
    for i, (k, t) in enumerate(zip(keys, targets, strict=True)):
        first, refs = groups.setdefault(k if k.strip("\x00") else f"\x01{i}", (i, []))
        if t.strip() not in (r.strip() for r in refs):
            refs.append(t)
    return list(groups.values())


def row_keys(rows) -> list[str]:
    """What makes two rows of a `core.finetune.data.Rows` the same example: the stripped
    input and context (as core.evals.rows groups an evaluated split)."""
    return [f"{str(v.get('input', '')).strip()}\x00{str(c or '').strip()}"
            for v, c in zip(rows.values, rows.contexts, strict=True)]


def generation_for(task: str, train_rows: list[dict], variant, labels: list[str] | None,
                   context: int | None = None) -> GenerationParams:
    """The decoding `evaluate_variant` uses for this task, train split and model context
    (its max_new_tokens, stop strings and repetition control), so the validation score and
    the budget's timing see the answers before/after will generate."""
    from core.evals.config import EvalConfig
    from core.evals.generation import generation_params
    from core.evals.rows import EvalRows

    cfg = EvalConfig(dataset="(rows)", models=["(fine-tuning)"], variants=[variant])
    data = EvalRows(version=None, split="rows", rows=[], train_rows=train_rows,  # type: ignore[arg-type]
                    labels=list(labels or []))
    return generation_params(cfg, data, variant, 0, task=task, context=context)
