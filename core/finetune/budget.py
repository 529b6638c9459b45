"""Time budgets: how many steps fit in N minutes, from speed measured on this machine.

A preset is a promise about wall time ("about 5 minutes, before/after included"), not a
number of steps: the same 5 minutes buy thousands of rows of three-word questions or a
few hundred long reviews, on a laptop or a GPU. The worker measures its own speed on the
run's data before training (`measure_steps`), subtracts what evaluation and before/after will
cost, and trains as many steps as fit (`budget_steps`). Each run's measured speed is kept
in the workspace (`record_speed`), so the next plan's estimate uses this machine's real
numbers (`known_speed`) instead of a FLOP count.

Trade-off: measuring costs a few seconds of the budget (a warm-up step plus two timed
ones, without updating the weights), in exchange for a step count that fits the time on
a busy or an idle machine alike; a resumed run keeps the steps it was given.
"""

from __future__ import annotations

import json
import math
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

# Before/after may take at most this share of a budgeted run: a larger test split is scored
# on a seeded sample of it (at least MIN_TEST_ROWS rows), so the budget still trains.
SCORE_SHARE = 0.25
MIN_TEST_ROWS = 100
# Generated (free-text) answers cost a whole answer per row, and graded per-row scores
# need fewer rows for an interval than pass/fail: the floor is lower.
MIN_TEST_ROWS_TEXT = 30
# Free text: the validation score of all evaluations together may take this share; it
# scores at least MIN_VAL_ROWS_TEXT rows (fewer than asked for when generation is slow).
VALIDATE_SHARE = 0.10
MIN_VAL_ROWS_TEXT = 8
# Training keeps at least half of a budgeted free-text run: when long answers make the
# scoring floors cost more, validation is scored by loss alone, then before/after takes
# fewer test inputs (never under MIN_TEST_ROWS_FLOOR). DialogSum's Quick run (~100-token
# answers at 2.7 s each) once spent its floors and trained 3 steps of its 5 minutes. The
# plan aims at 55% so that validation losses and timing noise still leave half.
TRAIN_SHARE_MIN = 0.55
MIN_TEST_ROWS_FLOOR = 10
TRADE_WORTH = 0.05  # share of the budget a scoring cost must pass to be traded for training
# Label predictors (encoder, head): an evaluation is one forward pass over the validation
# rows (loss and accuracy together); all of them, the starting point's included, may take
# this share of the budget, on at least MIN_VAL_ROWS_LABEL rows. Long inputs (20 Newsgroups:
# 0.1 s a post) otherwise spent 5 x 41 s of a 5-minute budget validating 400 posts.
VALIDATE_SHARE_LABEL = 0.15
MIN_VAL_ROWS_LABEL = 100
# The speed probe (forward+backward steps whose updates are thrown away) may take about this
# share: 2 x 7 steps of long posts were 68 s of a 5-minute budget.
PROBE_SHARE = 0.05
BEFORE_AFTER_FIXED_S = 6.0  # loading the base and the merged adapter for before/after


def test_rows_for(budget_s: float, score_s_per_row: float, available: int,
                  floor: int = MIN_TEST_ROWS, fixed_s: float = 0.0) -> int:
    """How many test rows before/after scores within SCORE_SHARE of the budget.

    `score_s_per_row` is one pass (base or fine-tuned); both passes are paid for.
    """
    fit = int(max(0.0, SCORE_SHARE * budget_s - fixed_s) / max(2 * score_s_per_row, 1e-9))
    return min(available, max(floor, fit))


def label_val_rows(budget_s: float, s_per_row: float, passes: int, available: int,
                   floor: int = MIN_VAL_ROWS_LABEL) -> int:
    """Validation rows a label predictor scores at each of `passes` evaluations, within
    VALIDATE_SHARE_LABEL of the budget (all of them when they fit; never under `floor`).

    >>> label_val_rows(300, 0.1, 6, 400), label_val_rows(300, 0.002, 6, 584)
    (100, 584)
    """
    fit = int(VALIDATE_SHARE_LABEL * budget_s / max(passes * s_per_row, 1e-9))
    return min(available, max(floor, fit))


def probe_batches(budget_s: float, first_step_s: float, most: int = 7, least: int = 2) -> int:
    """Batches the speed probe times twice each, after a first step of `first_step_s`.

    >>> probe_batches(300, 0.4), probe_batches(300, 6.0)
    (7, 2)
    """
    return max(least, min(most, int(PROBE_SHARE * budget_s / max(2 * first_step_s, 1e-9))))


@dataclass
class ScoringPlan:
    """How many rows a generative run scores, from a timed generation of real rows."""

    test_rows: int
    val_rows: int
    before_after_s: float  # both passes
    validate_score_s: float  # the validation score at one evaluation
    traded: tuple[str, ...] = ()  # what scoring gave up so that training keeps its share


def after_factor(base_tokens: float, target_tokens: float, cap: float = 3.0) -> float:
    """How much longer the fine-tuned model's answers may take than the base's timed ones:
    it learns to write answers as long as the targets (a base that stops early is timed
    short); never below 1 (a base that loops was timed at the token limit).

    >>> after_factor(40, 20), after_factor(10, 25), after_factor(1, 80)
    (1.0, 2.5, 3.0)
    """
    return min(cap, max(1.0, target_tokens / max(1.0, base_tokens)))


def plan_scoring(budget_s: float, gen_s_per_row: float, test_available: int, val_wanted: int,
                 evaluations: int, score_sets: int = 1, factor: float = 1.0,
                 spent_s: float = 0.0, loss_s: float = 0.0) -> ScoringPlan:
    """Test and validation rows whose generation fits the budget's shares.

    `gen_s_per_row` is the time one generated row took (timed on real test rows with the
    evaluation's decoding); `factor` scales it for the fine-tuned pass (`after_factor`).
    `spent_s` (loading, measuring) and `loss_s` (every evaluation's validation loss) count
    against the budget: when the scoring would leave
    training less than TRAIN_SHARE_MIN of the budget, validation is scored by loss alone
    and then the test inputs shrink, each trade named in `traded`.

    >>> plan_scoring(300, 0.2, 630, 32, 3)  # fast: before/after 69 s share / 0.4 s
    ScoringPlan(test_rows=172, val_rows=32, before_after_s=74.8, validate_score_s=6.4, traded=())
    >>> p = plan_scoring(300, 2.7, 500, 32, 3, spent_s=40)  # long answers: training first
    >>> p.test_rows, p.val_rows, len(p.traded)
    (14, 0, 2)
    """
    per_test_row = gen_s_per_row * (1.0 + factor)
    test = test_rows_for(budget_s, per_test_row / 2, test_available, MIN_TEST_ROWS_TEXT,
                         BEFORE_AFTER_FIXED_S)
    per_eval_row = gen_s_per_row * max(1, score_sets)
    fit = int(VALIDATE_SHARE * budget_s / max(per_eval_row * max(1, evaluations), 1e-9))
    val = min(val_wanted, max(MIN_VAL_ROWS_TEXT, fit)) if val_wanted else 0
    traded: list[str] = []
    # what scoring may take so that training keeps its share of the budget
    room = ((1 - TRAIN_SHARE_MIN) * budget_s - spent_s - loss_s - SAVE_MARGIN_S
            - BEFORE_AFTER_FIXED_S)
    ba_s = lambda n: n * per_test_row  # noqa: E731
    worth = TRADE_WORTH * budget_s  # a scoring cost below this is not worth a trade
    val_s = val * per_eval_row * evaluations
    if ba_s(test) + val_s > room and test > MIN_TEST_ROWS_TEXT:  # first: a smaller sample
        test = max(MIN_TEST_ROWS_TEXT, min(test, int(max(0.0, room - val_s) / per_test_row)))
    if val_s > worth and ba_s(test) + val_s > room:
        traded.append(f"validation scored by loss alone (generating {val} validation answers "
                      f"at {evaluations} evaluations would take {val_s:.0f} s of training "
                      "time)")
        val = 0
    if ba_s(test) > max(room, worth):
        fewer = max(MIN_TEST_ROWS_FLOOR, min(test, int(max(0.0, room) / per_test_row)))
        if fewer < test:
            traded.append(f"before/after on {fewer} test inputs instead of {test} (answers "
                          f"take {gen_s_per_row:.1f} s each)")
            test = fewer
    return ScoringPlan(test, val, round(test * per_test_row + BEFORE_AFTER_FIXED_S, 1),
                       round(val * per_eval_row, 1), tuple(traded))


SAVE_MARGIN_S = 8.0  # saving the adapter, registering, writing results
STEP_OVERHEAD = 1.05  # optimizer update, scheduler and logging on top of forward+backward


@dataclass
class Speed:
    """What one run measured, per unit of work."""

    s_per_token: float  # a training step's seconds per computed token
    score_s_per_row: float  # candidate scoring / generation, per row
    eval_s_per_token: float  # a validation-loss pass (no gradients), per computed token

    def step_s(self, tokens: float) -> float:
        return self.s_per_token * tokens


@dataclass
class Budget:
    """How a run's minutes split up, and the steps that follow."""

    total_s: float
    spent_s: float  # loading and measuring, already gone
    before_after_s: float
    eval_each_s: float
    evaluations: int
    step_s: float
    steps: int
    scoring: dict | None = None  # free text: the timed generation and the rows it bought

    @property
    def train_s(self) -> float:
        return self.steps * self.step_s

    def expected_s(self) -> float:
        return (self.spent_s + self.train_s + self.evaluations * self.eval_each_s
                + self.before_after_s + SAVE_MARGIN_S)


def budget_steps(total_s: float, spent_s: float, step_s: float, before_after_s: float,
                 eval_each_s: float, evaluations: int, max_steps: int) -> int:
    """Optimizer steps that fit the time left once evaluation and before/after are paid for.

    >>> budget_steps(300, 20, 2.0, 60, 5, 4, max_steps=10_000)
    96
    >>> budget_steps(300, 20, 2.0, 60, 5, 4, max_steps=50)
    50
    >>> budget_steps(60, 20, 2.0, 60, 5, 4, max_steps=100)
    0
    """
    left = total_s - spent_s - before_after_s - evaluations * eval_each_s - SAVE_MARGIN_S
    return max(0, min(max_steps, math.floor(left / step_s)))


def eval_schedule(steps: int, evaluations: int, *, fit: bool) -> tuple[int, int]:
    """(steps, eval_every): the run ends on an evaluation, which also checkpoints, so no
    step is thrown away. `fit` (a time budget): round down, at most `evaluations` intervals,
    so the run stays inside the budget; otherwise (a step or epoch count): round up, so no
    step asked for is skipped.

    >>> eval_schedule(103, 3, fit=True), eval_schedule(103, 3, fit=False)
    ((102, 34), (105, 35))
    """
    if fit:
        every = max(1, steps // evaluations)
        return every * min(evaluations, steps), every
    every = max(1, math.ceil(steps / evaluations))
    return every * math.ceil(steps / every), every


def epoch_steps(n_batches: int, epochs: float, grad_accum: int = 1) -> int:
    """Optimizer steps in `epochs` passes over `n_batches` micro-batches.

    >>> epoch_steps(100, 2.5, grad_accum=2)
    125
    """
    return max(1, math.ceil(n_batches * epochs / grad_accum))


def too_short(budget_min: float, one_step_s: float, fixed_s: float) -> str | None:
    """The reason a budget cannot hold one step, or None."""
    need = one_step_s + fixed_s + SAVE_MARGIN_S
    if budget_min * 60 >= need:
        return None
    return (f"time_budget_min={budget_min:g} is too short: loading, one training step and "
            f"before/after take about {need:.0f} s on this machine; set at least "
            f"time_budget_min={math.ceil(need / 6) / 10:g}")


# -- measuring ---------------------------------------------------------------------------
def measure_steps(model, batches: list[dict], step) -> float:
    """Seconds of one forward+backward on typical batches (warm-up excluded), weights kept.

    `step(model, batch)` returns the loss; gradients are cleared afterwards and no
    optimizer runs, so the model is exactly as it was. The mean of the timed steps counts:
    batches differ (many short rows or a few long ones), and the fastest of them made the
    first runs on real data plan 20-35% too many steps.
    """
    times = step_times(model, batches, step)
    return sum(times) / len(times) if times else 0.0


def step_times(model, batches: list[dict], step, passes: int = 1) -> list[float]:
    """Seconds of forward+backward on each batch after the first (the warm-up), weights kept.

    With `passes=2` the batches run twice and the second pass is timed: each new input shape
    costs extra the first time it is seen (kernel selection, allocations), which a training
    run pays once but a plan timed on first sightings counts on every step.
    """
    times = []
    for p in range(passes):
        times = []
        for i, batch in enumerate(batches):
            t0 = time.perf_counter()
            step(model, batch).backward()
            if i or p:
                times.append(time.perf_counter() - t0)
    model.zero_grad(set_to_none=True)
    return times


# -- what earlier runs measured -------------------------------------------------------------
def signature(cfg, device: str, threads: int | None = None, task: str | None = None) -> str:
    """The settings speed depends on (not the data: speeds are per token), and whether the
    task score is generated (free text: `score_s_per_row` is a generated answer's time)."""
    threads = threads or (os.cpu_count() or 1)
    parts = [cfg.base_model, cfg.method, cfg.target_modules, str(cfg.lora_r),
             f"l{cfg.lora_layers}", cfg.precision, device, f"t{threads}",
             f"b{cfg.tokens_per_batch}x{cfg.batch_size}"]
    if task == "free_text":
        parts.append("generated")
    approach = getattr(cfg, "approach", "generate")
    if approach not in ("generate", "auto"):  # another model and loss: another speed
        parts.append(approach)
    return "/".join(parts)


def _speed_file(ws) -> Path:
    return ws.settings.root / "finetune_speed.json"


def known_speed(ws, sig: str) -> Speed | None:
    try:
        rec = json.loads(_speed_file(ws).read_text()).get(sig)
    except (OSError, ValueError):
        return None
    try:
        return Speed(**{k: float(rec[k]) for k in Speed.__dataclass_fields__}) if rec else None
    except (KeyError, TypeError, ValueError):
        return None


def record_speed(ws, sig: str, speed: Speed) -> None:
    path = _speed_file(ws)
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        data = {}
    data[sig] = {**asdict(speed), "measured_at": time.strftime("%Y-%m-%d %H:%M:%S")}
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=1))
    tmp.replace(path)
