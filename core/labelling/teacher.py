"""A teacher model labels the unlabelled rows of a dataset version; the result is a new version.

The teacher (any registered model that runs on the task, typically a hosted
OpenAI-compatible one) answers each unlabelled row through the evaluation engine
(`core.evals.variant.evaluate_variant`: the same prompts, output cache and parsers as an
evaluation), and its parsed answer becomes the row's target. Hand labels are kept and
never overwritten; the provenance column `label_source` says `human` or `teacher:MODEL` per
row. An answer that names no label leaves its row unlabelled and is listed.

Resuming: every answer is stored as soon as its chunk is done, so running the same
labelling again after a crash or a stop asks the teacher only for the rows it had not
answered (`resumed` counts the answers read back); nothing is written as a version until
every row has an answer.

`gold=N` sets N hand-labelled rows aside as the new version's test split (a given split),
so the teacher, the student and the baselines are all measured against people. Before its
labels are used, the teacher also answers up to 50 hand-labelled rows (the gold ones first)
and the share it gets right is recorded (`check_agreement`): a teacher that disagrees with
people teaches a student its mistakes (bench/RESULTS.md, "Teacher labels on real data").

Trade-off: the new version is a full copy of the rows (versions are immutable), which
costs disk for large sets but keeps every earlier version, and the teacher's labels, exact.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from core.datasets import service
from core.datasets import versions as store
from core.datasets.errors import DatasetError
from core.datasets.schema import unlabelled
from core.datasets.splits import carry_split
from core.errors import LadderError
from core.evals.rows import labels_of, row_record
from core.evals.scorers import ScorerConfig
from core.labelling import store as runs
from core.models import kinds
from core.models.base import ModelError
from core.prompts.template import TemplateError
from core.prompts.variants import Variant

PROVENANCE = "label_source"
CHECK_ROWS = 50  # hand-labelled rows a teacher is checked on
HUMAN = "human"
TEST = store.SPLITS.index("test")

Progress = Callable[[int, int, float | None], None]  # done, total, eta seconds


class LabelError(LadderError):
    """A labelling cannot run; the message says what to fix. Nothing was written."""


@dataclass
class LabelResult:
    version: store.Version
    created: bool
    parent: store.Version
    run: runs.LabelRun
    still_unlabelled: int  # rows left without a label (unparsed answers, or past --limit)
    truncated: list[int]  # rows whose input was cut to fit the teacher's context


def default_variant(task: str) -> Variant:
    """The zero-shot prompt a teacher gets when the dataset has none of its own."""
    ask = {"classification": "Answer with one of: {labels}.\nAnswer with the label only.",
           "scale": "Answer with a number only."}.get(task, "Answer:")
    return Variant(name="teacher", template="Input: {input}\n\n" + ask)


def teacher_tag(model_id: str) -> str:
    return f"teacher:{model_id}"


def label_dataset(ws, name: str, model_id: str, variant: Variant, *, limit: int | None = None,
                  gold: int | None = None, labels: list[str] | None = None,
                  number: int | None = None, seed: int = 0, progress: Progress | None = None,
                  should_stop: Callable[[], bool] | None = None, truncate: str | None = None,
                  allow_one_label: bool = False) -> LabelResult:
    """Label the unlabelled rows of `name` (its latest version, or `number`) with `model_id`.

    `limit`: at most this many unlabelled rows, in file order. `labels`: the label set of a
    classification dataset with no hand label at all. `truncate`: cut inputs too long for
    the teacher's context (core.evals.fit) instead of refusing. A teacher that gives one
    label to every row it labels is refused unless `allow_one_label`, at any size. Raises
    `LabelError`/`DatasetError`/`EvalError` with nothing written on any problem, and when
    stopped before every row was answered.
    """
    start = time.perf_counter()
    parent = store.get_version(ws, name, number)
    frame = store.load_frame(ws, parent).copy()
    m = parent.mapping
    spec = ws.registry.get(model_id)
    kind = kinds.of(spec)
    if not kind.runs_on(m.task):
        raise LabelError(f"'{model_id}' is {kind.a_label} and does not run on "
                         f"{m.task.replace('_', ' ')} datasets; choose a model that answers a "
                         "prompt (e.g. a hosted model or SmolLM2) as the teacher.")
    if PROVENANCE in m.columns():
        raise LabelError(f"the column '{PROVENANCE}' is mapped as input, target or context of "
                         f"'{name}', but the labelling writes each row's provenance there; "
                         "rename that column and import again.")
    todo = unlabelled(frame, m)
    hand = [i for i in range(len(frame))
            if str(frame.iat[i, frame.columns.get_loc(m.target_col)] or "").strip()]
    _check(parent, todo, hand, limit, gold)
    label_set = _label_set(frame, m, labels)
    try:
        variant.check_columns(list(parent.columns))
    except TemplateError as e:
        raise LabelError(str(e)) from None
    gold_rows = _gold(hand, gold or 0, seed)
    examples = [dict(r, targets=[r["target"]]) for r in (row_record(frame, i, m) for i in hand)
                if r["row_id"] not in gold_rows and r["input"].strip()]
    if variant.few_shot and not examples:
        raise LabelError(f"variant '{variant.name}' shows {variant.few_shot} labelled examples "
                         "but no hand-labelled row is left outside the gold rows; choose a "
                         "zero-shot variant or a smaller --gold.")
    asked = todo[:limit] if limit else todo
    # The scorers need a reference to compare with; only their parsed answer is used here.
    stand_in = {"classification": (label_set or ["?"])[0], "scale": "0"}.get(m.task, "?")
    rows = [dict(row_record(frame, i, m), target=stand_in, targets=[stand_in]) for i in asked]
    check = _check_rows(hand, gold_rows, frame, m, seed)
    rows += [dict(r, targets=[r["target"]]) for r in (row_record(frame, i, m) for i in check)]
    cells, resumed, cut = _answers(ws, model_id, variant, rows, m.task, label_set, examples,
                                   progress, should_stop, truncate)
    by_row = {c["row_id"]: c for c in cells}
    done = [i for i in [*asked, *check] if i in by_row]
    if len(done) < len(asked) + len(check):
        raise LabelError(f"stopped after {len(done)} of {len(asked)} rows; their answers are "
                         "kept: run the same labelling again to resume. No version written.")
    # the parser's answer (a label, a number, the text); none: the row stays unlabelled
    answers = {i: str(by_row[i]["parsed"] or "").strip() for i in asked}
    unparsed = [{"row_id": i, "output": str(by_row[i]["output"] or "")[:200]}
                for i in asked if not answers[i]]
    agreement = (sum(bool(by_row[i]["passed"]) for i in check) / len(check) if check else None)
    if m.task == "classification" and not allow_one_label:
        _refuse_one_label([a for a in answers.values() if a], model_id, len(check), agreement)
    version, created = _save(ws, parent, frame, answers, hand, gold_rows, model_id, variant,
                             len(todo), cut, allow_one_label)
    run = runs.save(ws, runs.LabelRun(
        dataset=name, parent_hash=parent.hash, hash=version.hash, model_id=model_id,
        variant=variant.name, asked=len(asked), labelled=len(asked) - len(unparsed),
        unparsed=unparsed, resumed=resumed, gold=len(gold_rows), check_rows=len(check),
        check_agreement=agreement,
        cost_usd=float(sum(c.get("cost_usd") or 0.0 for c in cells)),  # the check included
        model_s=float(sum(c.get("latency_s") or 0.0 for c in cells)),
        wall_s=time.perf_counter() - start))
    left = len(todo) - run.labelled
    return LabelResult(version, created, parent, run, left, cut)


def _refuse_one_label(given: list[str], model_id: str, check_rows: int,
                      agreement: float | None) -> None:
    """LabelError when the teacher gave the same label to every row it labelled (two or
    more): usually a prompt that does not show the labels, or a teacher that cannot tell
    them apart; its answers stay cached, so a rerun with --allow-one-label is quick."""
    if len(given) < 2 or len(set(given)) > 1:
        return
    checked = (f"on {check_rows} hand-labelled rows it gave the hand label {agreement:.0%} of "
               "the time" if check_rows and agreement is not None else
               "no hand-labelled row was there to check it against people")
    raise LabelError(
        f"the teacher '{model_id}' answered {given[0]!r} for all {len(given)} rows it labelled "
        f"({checked}). One label for every row usually means the prompt does not list the "
        "labels or the teacher cannot tell them apart: try another variant or teacher, or keep "
        "these labels with --allow-one-label ('Keep a single label' on the page). Its answers "
        "are kept, so running again is quick. No version written.")


def _check(parent, todo: list[int], hand: list[int], limit: int | None,
           gold: int | None) -> None:
    name = f"'{parent.dataset}' version {parent.number}"
    if limit is not None and limit < 1:
        raise LabelError(f"--limit {limit} must be at least 1 (the most rows to label).")
    if gold is not None:
        if gold < 1:
            raise LabelError(f"--gold {gold} must be at least 1 (hand-labelled rows to keep "
                             "as the test split), or leave it out.")
        if "test" in parent.given:
            raise LabelError(f"{name} already has the test file its import was given; that is "
                             "the gold standard: leave --gold out.")
        if gold > len(hand):
            raise LabelError(f"--gold {gold} is more than the {len(hand)} hand-labelled rows "
                             f"of {name}; give at most {len(hand)}"
                             + (", or label some rows by hand first." if hand else
                                ": label some rows by hand first."))
    if not todo:
        raise LabelError(f"{name} has no unlabelled rows (every row with an input has a "
                         "target); nothing to label.")


def _label_set(frame, m, labels: list[str] | None) -> list[str]:
    if m.task != "classification":
        return []
    given = [x.strip() for x in labels or [] if x.strip()]
    twice = sorted({x for x in given if given.count(x) > 1})
    if twice:
        raise LabelError(f"the label {twice[0]!r} is given twice in --labels; list each label "
                         "once, e.g. --labels a,b,c (on the page: 'Labels').")
    found = set(labels_of(frame, m)) | set(given)
    if len(found) < 2:
        raise LabelError("the teacher needs the labels to choose from, and the hand-labelled "
                         f"rows give {len(found)}; list them with --labels a,b,c (on the page: "
                         "'Labels').")
    return sorted(found)


def _check_rows(hand: list[int], gold_rows: set[int], frame, m, seed: int) -> list[int]:
    """Up to CHECK_ROWS hand-labelled rows the teacher also answers, to measure it against
    people before its labels are used: the gold rows first (never a few-shot example), then
    the other hand-labelled rows (the engine never shows a row itself as an example). None
    for free text, whose answers are not labels to agree on."""
    if m.task == "free_text":
        return []
    col = frame.columns.get_loc(m.input_col)
    usable = [i for i in hand if str(frame.iat[i, col] or "").strip()]
    rng = np.random.default_rng(seed + 1)
    first = [i for i in usable if i in gold_rows]
    rest = [i for i in usable if i not in gold_rows]
    ordered = ([first[k] for k in rng.permutation(len(first))]
               + [rest[k] for k in rng.permutation(len(rest))])
    return sorted(ordered[:CHECK_ROWS])


def _gold(hand: list[int], n: int, seed: int) -> set[int]:
    if not n:
        return set()
    pick = np.random.default_rng(seed).choice(len(hand), size=n, replace=False)
    return {hand[int(k)] for k in pick}


def _answers(ws, model_id, variant, rows, task, label_set, examples, progress, should_stop,
             truncate):
    """The teacher's cells on `rows`, how many were read back from the store, and the rows
    whose input was cut to fit the teacher's context."""
    from core.evals.variant import evaluate_variant

    seen: dict = {}
    t0 = time.perf_counter()

    def tick(done: int, total: int, _eta) -> None:
        first = seen.setdefault("resumed", done)
        new = done - first
        rate = new / max(time.perf_counter() - t0, 1e-6)
        eta = (total - done) / rate if new > 0 else None
        if progress:
            progress(done, total, eta)

    scorer = ScorerConfig(kind="contains") if task == "free_text" else None
    try:
        res = evaluate_variant(ws, model_id, variant, rows, task=task, labels=label_set,
                               train_rows=examples, progress=tick, should_stop=should_stop,
                               scorer=scorer, truncate=truncate)
    except ModelError as e:
        raise LabelError(f"the teacher '{model_id}' failed: {e} The answers received so far are "
                         "kept; run the same labelling again to resume. No version written.") \
            from None
    return res.cells, int(seen.get("resumed", 0)), res.truncated


def _save(ws, parent, frame, answers: dict[int, str], hand: list[int], gold_rows: set[int],
          model_id: str, variant: Variant, todo: int, cut: list[int], one_label: bool):
    m = parent.mapping
    if PROVENANCE not in frame.columns:
        frame[PROVENANCE] = ""
    col, src = frame.columns.get_loc(m.target_col), frame.columns.get_loc(PROVENANCE)
    for i in hand:
        if not str(frame.iat[i, src] or "").strip():
            frame.iat[i, src] = HUMAN
    for i, label in answers.items():
        if label:
            frame.iat[i, col], frame.iat[i, src] = label, teacher_tag(model_id)
    given = store.get_given(ws, parent)
    if gold_rows:
        assign = np.zeros(len(frame), dtype=np.uint8)
        assign[sorted(gold_rows)] = TEST
        given = store.GivenSplit(assign, ("train", "test"))
    labelled = sum(1 for a in answers.values() if a)
    note = (f"{labelled} of {todo} unlabelled rows labelled by {model_id} (variant "
            f"{variant.name})" + (f"; {len(gold_rows)} hand-labelled rows kept as the gold test "
                                  "split" if gold_rows else "")
            + (f"; {len(cut)} inputs cut to fit the teacher's context" if cut else ""))
    try:
        version, created = store.save_version(
            ws, parent.dataset, frame, m, source=f"label: teacher {model_id}", note=note,
            parent=parent, given=given, allow_unlabelled=True, allow_one_class=one_label)
    except DatasetError as e:
        raise LabelError(f"the labelled rows cannot be saved: {e}") from None
    if created and store.get_split(ws, version) is None:
        sp = store.get_split(ws, parent)
        if gold_rows:
            service.split(ws, parent.dataset, 0.1, 0.1, 0, version.number)
        elif sp is not None:
            stratified = m.task in ("classification", "scale")
            targets = frame[m.target_col].astype(str).str.strip().tolist() if stratified else None
            store.save_split(ws, version, carry_split(sp, np.arange(len(frame)), targets))
    return version, created
