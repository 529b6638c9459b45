"""The matrix runner: every (model, variant, row, sample) cell computed once and stored.

A run is created from a validated `EvalConfig`, then executed in chunks: each
chunk's outputs and scores are written in one transaction, so a stopped or
crashed run resumes where it stopped. Outputs are also cached by a key of
(model, rendered prompt, decoding parameters, sample index): the same cell in a
later run is read back, never generated again. Local models run in batches;
classification can score the candidate labels by log-likelihood instead of
generating free text, and an embedding classifier predicts a label from the
row's input without any prompt.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass

from core.evals import scorers as sc
from core.evals.config import EvalConfig
from core.evals.errors import EvalError
from core.evals.fit import Fitted, Limit, fit, limit_for, may_overflow
from core.evals.generation import check_max_new_tokens, generation_params, model_context
from core.evals.rows import EvalRows, fixed_examples, load_rows, references
from core.evals.store import (
    cached_outputs,
    create_run_row,
    done_keys,
    get_run,
    set_status,
    write_cells,
)
from core.models import kinds
from core.models.base import ChatPrompt, GenerationParams, ModelError
from core.prompts.variants import Variant, render_variant

Progress = Callable[[int, int, float | None], None]  # done, total, eta seconds


@dataclass
class Task:
    model_id: str
    variant: str
    row: dict
    sample: int
    prompt: ChatPrompt
    key: str
    mode: str
    calibration: list[float] | None = None
    params: GenerationParams | None = None  # decoding settings of a generated cell


def cell_key(model_id: str, prompt: ChatPrompt, params: GenerationParams, sample: int,
             mode: str, candidates: list[str] | None, calibration: list[float] | None = None
             ) -> str:
    payload = {
        "m": model_id, "s": prompt.system, "u": prompt.user, "mode": mode, "i": sample,
        "p": [params.max_new_tokens, params.temperature, params.top_p, params.seed],
        "c": candidates if mode == "likelihood" else None,
        "cal": [round(x, 4) for x in calibration] if calibration else None,
    }
    if mode == "generate":  # what else shapes a generated answer (likelihood keys unchanged)
        payload["d"] = [list(params.stop), params.repetition_penalty,
                        params.no_repeat_ngram_size]
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def validate(ws, cfg: EvalConfig) -> EvalRows:
    """Everything a run needs, checked before anything is stored."""
    from core.datasets.errors import DatasetError
    from core.prompts.template import TemplateError

    for m in cfg.models:
        ws.registry.get(m)
    try:
        cfg.scorer.check(ws)
        data = load_rows(ws, cfg.dataset, cfg.split, limit=cfg.limit, seed=cfg.seed)
    except (ValueError, DatasetError) as e:
        raise EvalError(str(e)) from None
    if not data.rows:
        raise EvalError(f"the {cfg.split} split of '{cfg.dataset}' has no rows with both an "
                        "input and a target.")
    try:
        refs = references(data.rows)
        sc.validate_targets(cfg.scorer.resolved(data.task, refs), refs)
    except ValueError as e:
        raise EvalError(str(e)) from None
    for m in cfg.models:
        if problem := check_max_new_tokens(ws, cfg.max_new_tokens, m):
            raise EvalError(problem)
        kind = kinds.of(ws.registry.get(m))
        if not kind.runs_on(data.task):
            only = " or ".join(t.replace("_", " ") for t in kind.tasks or ())
            raise EvalError(f"'{m}' is {kind.a_label}: "
                            + (f"it {kind.does}, so " if kind.does else "")
                            + f"it runs only on {only} datasets, and '{cfg.dataset}' is "
                            f"{data.task.replace('_', ' ')}; leave it out of this run.")
    columns = list(data.version.columns)
    for v in cfg.variants:
        try:
            v.check_columns(columns)
        except TemplateError as e:
            raise EvalError(str(e)) from None
        if v.few_shot and not data.train_rows:
            raise EvalError(f"variant '{v.name}' uses {v.few_shot} examples but the dataset has "
                            "no train split; split it on the Data page first.")
    if cfg.kb:
        from core.retrieval.errors import RetrievalError
        from core.retrieval.store import open_kb

        try:
            open_kb(ws, cfg.kb)
        except RetrievalError as e:
            raise EvalError(str(e)) from None
        if not any("context" in v.placeholders() for v in cfg.variants):
            raise EvalError(f"knowledge base '{cfg.kb}' is given but no variant has a "
                            "{context} placeholder; add {context} where the retrieved text goes.")
    return data


def create_run(ws, cfg: EvalConfig, purpose: str | None = None) -> int:
    """A validated, pending run; `purpose` as in core.evals.purpose (from `cfg` when None)."""
    data = validate(ws, cfg)
    name = cfg.name or f"{cfg.dataset}/{cfg.split} x {len(cfg.variants)} variants"
    total = len(data.rows) * len(cfg.combos()) * cfg.samples
    cut = fitted_rows(ws, cfg, data)  # refuses rows that do not fit before anything is stored
    return create_run_row(ws, name, cfg, data.version.hash, total, purpose, truncated=cut)


def build_prompts(ws, cfg: EvalConfig, data: EvalRows, variant: Variant, *,
                  check: bool = True) -> list[ChatPrompt]:
    """The rendered prompt for each row of `data` under `variant` (see `build_fitted`)."""
    return build_fitted(ws, cfg, data, variant, check=check).prompts


def build_fitted(ws, cfg: EvalConfig, data: EvalRows, variant: Variant, *,
                 check: bool = True, task: str | None = None) -> Fitted:
    """The rendered prompt for each row of `data` under `variant`, checked against the
    context of every model that reads it (core.evals.fit) unless `check` is False
    (`task` overrides `data.task`, for rows outside a dataset).

    Fixed few-shot uses one seeded sample of train rows for every row; similar
    few-shot takes each row's most similar train rows (never the row itself, never
    a validation or test row); `{context}` comes from the knowledge base when the
    run names one, else from the dataset's context column.
    """
    rows = data.rows
    examples: list[list[dict]] = [[] for _ in rows]
    if variant.few_shot and variant.few_shot_mode == "fixed":
        fixed = fixed_examples(data.train_rows, variant.few_shot, cfg.seed, data.labels)
        examples = [[e for e in fixed if e["row_id"] != r["row_id"]] for r in rows]
    elif variant.few_shot:
        from core.retrieval.dynamic import example_index, similar_examples_batch

        index = example_index(ws, data.version) if data.version is not None else data.train_rows
        examples = similar_examples_batch([r["input"] for r in rows], index, variant.few_shot,
                                          [r["row_id"] for r in rows])
    contexts = [r.get("context", "") for r in rows]
    if cfg.kb and "context" in variant.placeholders():
        from core.retrieval.dynamic import contexts_for
        from core.retrieval.store import open_kb

        found = contexts_for([r["input"] for r in rows], open_kb(ws, cfg.kb), cfg.kb_k,
                             cfg.context_tokens)
        contexts = [c.text for c in found]

    def render(i: int, row: dict) -> ChatPrompt:
        return render_variant(variant, row, examples=examples[i], context=contexts[i],
                              labels=data.labels)

    prompts = [render(i, r) for i, r in enumerate(rows)]
    limits = prompt_limits(ws, cfg, data, variant, task) if check else []
    return fit(prompts, rows, limits, cfg.truncate, render) if limits else Fitted(prompts)


def prompt_limits(ws, cfg: EvalConfig, data: EvalRows, variant: Variant,
                  task: str | None = None) -> list[Limit]:
    """The context limit of each prompted model that reads `variant` in this run."""
    out = []
    combos = set(cfg.combos())
    for m in cfg.models:
        if (m, variant.name) not in combos or not (context := model_context(ws, m)):
            continue
        answer = generation_params(cfg, data, variant, 0, task=task,
                                   context=context).max_new_tokens
        if (lim := limit_for(ws, m, context, answer)) is not None:
            out.append(lim)
    return out


def fitted_rows(ws, cfg: EvalConfig, data: EvalRows) -> list[int]:
    """Rows whose input a run cuts to fit (`cfg.truncate`); EvalError when a row does not
    fit and may not be cut. Prompts are rendered only where a row could overflow."""
    cut: list[int] = []
    for v in cfg.variants:
        limits = prompt_limits(ws, cfg, data, v)
        if any(may_overflow(v, data.rows, data.train_rows, data.labels,
                            cfg.context_tokens if cfg.kb else None, lim) for lim in limits):
            cut += build_fitted(ws, cfg, data, v).cut
    return sorted(set(cut))


def plan(ws, run_id: int, cfg: EvalConfig, data: EvalRows) -> list[Task]:
    tasks = []
    combos = set(cfg.combos())
    prompts_of: dict[str, list[ChatPrompt]] = {}
    for model_id in cfg.models:
        mode = cfg.mode_for(data.task, ws.registry.get(model_id).kind)
        key_id = cache_id(ws, model_id)
        context = model_context(ws, model_id) if mode == "generate" else None
        for v in cfg.variants:
            if (model_id, v.name) not in combos:
                continue
            if mode == "classify":  # no prompt: the classifier reads the row's input
                prompts = [ChatPrompt(r["input"]) for r in data.rows]
            else:
                if v.name not in prompts_of:
                    prompts_of[v.name] = build_prompts(ws, cfg, data, v)
                prompts = prompts_of[v.name]
            cal = label_baseline(ws, cfg, data, model_id, v) if mode == "likelihood" else None
            for s in range(cfg.samples):
                params = generation_params(cfg, data, v, s, context=context)
                for row, p in zip(data.rows, prompts, strict=True):
                    key = cell_key(key_id, p, params, s, mode, data.labels, cal)
                    tasks.append(Task(model_id, v.name, row, s, p, key, mode, cal, params))
    done = done_keys(ws, run_id)
    return [t for t in tasks if (t.model_id, t.variant, t.row["row_id"], t.sample) not in done]


def cache_id(ws, model_id: str) -> str:
    """The model in a cell's cache key: its id, plus its kind's fingerprint where it has one."""
    spec = ws.registry.get(model_id)
    return f"{model_id}@{fp(spec)}" if (fp := kinds.of(spec).fingerprint) else model_id


def label_baseline(ws, cfg: EvalConfig, data: EvalRows, model_id: str,
                   variant: Variant) -> list[float] | None:
    """Per label, what to subtract from a row's label log-likelihoods under this variant:
    the model's mean preference on train rows rendered the same way, minus the label's
    log frequency in the train split (core.evals.calibration)."""
    if not cfg.calibrate or not data.labels:
        return None
    from core.evals.calibration import calibration_rows, calibration_vector, label_prior
    from core.models.service import get_backend

    spec = ws.registry.get(model_id)
    if kinds.of(spec).tuned:
        return None  # fine-tuned to answer with the labels: no prompt pull to cancel
    fixed = (fixed_examples(data.train_rows, variant.few_shot, cfg.seed, data.labels)
             if variant.few_shot and variant.few_shot_mode == "fixed" else [])
    rows = calibration_rows(data.train_rows, fixed, cfg.seed)
    if len(rows) < 4:
        return None  # too few train rows to estimate anything
    sample = EvalRows(version=data.version, split="train", rows=rows,
                      train_rows=data.train_rows, labels=data.labels)
    prompts = build_prompts(ws, cfg, sample, variant, check=False)  # content-free inputs
    scores = get_backend(ws, spec).score_candidates(prompts, data.labels,
                                                    batch_size=ws.settings.batch_size)
    prior = label_prior([r["target"] for r in data.train_rows], data.labels)
    return calibration_vector([s.logprobs for s in scores], prior)


def execute_run(ws, run_id: int, progress: Progress | None = None,
                should_stop: Callable[[], bool] | None = None, chunk: int | None = None) -> str:
    """Compute every missing cell of a run; returns the final status."""
    run = get_run(ws, run_id)
    cfg = EvalConfig.model_validate(run["config"])
    data = validate(ws, cfg)
    set_status(ws, run_id, "running")
    pending = plan(ws, run_id, cfg, data)
    total, done = run["total_cells"], run["total_cells"] - len(pending)
    errors: dict[str, str] = {}
    # cells already cached from earlier runs are written at once
    hits = cached_outputs(ws, [t.key for t in pending])
    if hits:
        write_cells(ws, run_id, [(t, hits[t.key], True) for t in pending if t.key in hits],
                    scoring_fn(ws, cfg, data.task, data.labels, data.rows))
        done += sum(1 for t in pending if t.key in hits)
        pending = [t for t in pending if t.key not in hits]
    report_progress(progress, done, total, None)
    started, computed = time.perf_counter(), 0
    for part, outputs in compute_chunks(ws, pending, data.labels, chunk, should_stop):
        if outputs is STOPPED:
            set_status(ws, run_id, "stopped")
            return "stopped"
        if isinstance(outputs, ModelError):
            errors[part[0].model_id] = str(outputs)
            continue
        write_cells(ws, run_id, [(t, o, False) for t, o in zip(part, outputs, strict=True)],
                    scoring_fn(ws, cfg, data.task, data.labels, data.rows))
        done += len(part)
        computed += len(part)
        rate = computed / max(time.perf_counter() - started, 1e-9)
        report_progress(progress, done, total, (total - done) / rate if rate else None)
    status = "failed" if errors else "done"
    set_status(ws, run_id, status, json.dumps(errors) if errors else None)
    return status


STOPPED = object()  # what compute_chunks yields when should_stop() said stop


def compute_chunks(ws, tasks: list[Task], labels: list[str], chunk: int | None = None,
                   should_stop: Callable[[], bool] | None = None):
    """The one chunk loop: compute `tasks` a chunk at a time and yield (chunk, outputs).

    Variants with the same decoding settings share batches. A model that fails yields
    (chunk, ModelError) once and its remaining tasks are skipped; when `should_stop()`
    turns true, (chunk, STOPPED) is yielded last.
    """
    groups: dict[tuple, list[Task]] = {}
    for t in tasks:
        groups.setdefault((t.model_id, t.mode, t.sample, t.params), []).append(t)
    failed: set[str] = set()
    for (model_id, mode, _sample, params), group in groups.items():
        if model_id in failed:
            continue
        size = chunk or chunk_size(ws, model_id)
        for i in range(0, len(group), size):
            part = group[i:i + size]
            if should_stop and should_stop():
                yield part, STOPPED
                return
            try:
                outputs = _compute(ws, model_id, mode, part, params, labels)
            except ModelError as e:
                failed.add(model_id)
                yield part, e
                break
            yield part, outputs


def chunk_size(ws, model_id: str) -> int:
    """Cells computed (and stored) together: a kind that batches (local models, which also
    share prompt prefixes within a chunk) gets larger ones; an endpoint's requests go out
    one by one anyway."""
    return 128 if kinds.of(ws.registry.get(model_id)).batch else 32



def report_progress(progress: Progress | None, done: int, total: int, eta: float | None) -> None:
    if progress:
        progress(done, total, eta)


def _compute(ws, model_id: str, mode: str, tasks: list[Task], params: GenerationParams,
             labels: list[str]) -> list[dict]:
    from core.models.service import get_backend, request_cost

    spec = ws.registry.get(model_id)
    backend = get_backend(ws, spec)
    prompts = [t.prompt for t in tasks]
    if mode == "classify":  # one row per request: its latency is what a live request waits
        preds = backend.classify([t.row["input"] for t in tasks], batch_size=1)
        return [dict(output=p.label, input_tokens=p.input_tokens, output_tokens=0,
                     latency_s=p.latency_s, compute_s=p.compute_s,
                     cost_usd=spec.cost_usd(p.input_tokens, 0, p.compute_s)) for p in preds]
    if mode == "likelihood":
        scores = backend.score_candidates(prompts, labels, batch_size=ws.settings.batch_size)
        outs = []
        for t, s in zip(tasks, scores, strict=True):
            adjusted = [lp - c for lp, c in zip(s.logprobs, t.calibration or [0.0] * len(labels),
                                                strict=True)]
            best = max(range(len(labels)), key=lambda i: adjusted[i])
            cost = spec.cost_usd(s.input_tokens, 0, s.latency_s)
            outs.append(dict(output=labels[best], input_tokens=s.input_tokens, output_tokens=0,
                             latency_s=s.latency_s, compute_s=s.latency_s, cost_usd=cost))
        return outs
    gens = backend.generate(prompts, params, batch_size=ws.settings.batch_size)
    return [dict(output=g.text, input_tokens=g.input_tokens, output_tokens=g.output_tokens,
                 latency_s=g.latency_s, compute_s=g.compute_s, cost_usd=request_cost(spec, g))
            for g in gens]


def scoring_fn(ws, cfg: EvalConfig, task: str, labels: list[str], rows: list[dict]):
    """The scoring function of a run: the registry's scorer that `cfg` resolves to on these
    rows, against each row's references (all of them; the judge reads the first)."""
    kind = cfg.scorer.resolved(task, references(rows))

    def score(tasks_outputs: list[tuple[Task, dict]]) -> list[sc.Scored]:
        return sc.score_outputs(kind, [o["output"] for _, o in tasks_outputs],
                                references([t.row for t, _ in tasks_outputs]),
                                config=cfg.scorer, labels=labels,
                                inputs=[t.row["input"] for t, _ in tasks_outputs], ws=ws)

    return score


def run_eval(ws, cfg: EvalConfig, progress: Progress | None = None,
             should_stop: Callable[[], bool] | None = None, purpose: str | None = None) -> int:
    """Create and execute a run in this process (the CLI path); returns the run id."""
    run_id = create_run(ws, cfg, purpose)
    execute_run(ws, run_id, progress, should_stop)
    return run_id
