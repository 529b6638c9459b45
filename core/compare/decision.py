"""The decision: which option to use at the user's volume, score floor and latency ceiling.

It picks the cheapest option that meets the score and latency requirements at
the stated monthly volume, or, when the user says what a correct answer is worth
and what an error costs, the option with the highest expected net value per
month (`net_value`). It shows the evidence: whether score differences are
significant, the break-even volume between the advanced model and each cheaper
(usually fine-tuned) option, and guidance on when fine-tuning pays, each point
checked against the user's own numbers. An embedding classifier in the comparison
gets one plain sentence: whether it meets the requirements for less than every LLM.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from core.compare.cost import Option, break_even_volume


@dataclass(frozen=True)
class Requirements:
    volume_per_month: float
    min_score: float | None = None  # None: options within noise of the best score qualify
    max_latency_ms: float | None = None
    horizon_months: float = 12.0
    data_in_house: bool = False
    value_correct: float | None = None  # USD a correct answer brings, per request
    cost_error: float | None = None  # USD a wrong answer costs, per request

    @property
    def by_value(self) -> bool:
        """The user gave money at stake: decide by expected net value, not by cost alone."""
        return self.value_correct is not None or self.cost_error is not None

    def __post_init__(self) -> None:
        v = self.volume_per_month
        if not isinstance(v, int | float) or math.isnan(v) or v <= 0 or math.isinf(v):
            raise ValueError("the monthly volume must be a positive number of requests, "
                             "e.g. 50000")
        if self.min_score is not None and not 0 <= self.min_score <= 1:
            raise ValueError("the minimum score must be between 0 and 1 (e.g. 0.8 for 80%)")
        if self.max_latency_ms is not None and self.max_latency_ms <= 0:
            raise ValueError("the maximum latency must be a positive number of milliseconds")
        if self.horizon_months <= 0:
            raise ValueError("the horizon must be a positive number of months")
        for name, v in (("value of a correct answer", self.value_correct),
                        ("cost of an error", self.cost_error)):
            if v is not None and (not isinstance(v, int | float) or math.isnan(v)
                                  or math.isinf(v) or v < 0):
                raise ValueError(f"the {name} must be zero or a positive amount in USD per "
                                 "request, e.g. 0.05")


@dataclass
class Decision:
    recommended: Option | None
    reason: str
    eligible: list[str]
    rejected: dict[str, str]
    monthly_costs: dict[str, float]
    break_even: list[dict] = field(default_factory=list)
    guidance: list[dict] = field(default_factory=list)
    significance: dict | None = None
    classifier: dict | None = None
    value: dict | None = None  # by value: what each option is worth a month (net_value)

    def record(self) -> dict:
        return {
            "basis": "value" if self.value else "cost", "value": self.value,
            "recommendation": self.recommended.name if self.recommended else None,
            "reason": self.reason, "eligible": self.eligible, "rejected": self.rejected,
            "monthly_costs_usd": self.monthly_costs, "break_even": self.break_even,
            "guidance": self.guidance, "significance": self.significance,
            "classifier": self.classifier,
        }


def decide(options: list[Option], req: Requirements, *, significance: dict | None = None,
           task: str = "classification", train_rows: int = 0) -> Decision:
    """Recommend an option and explain why, from measured options and the user's requirements."""
    if not options:
        raise ValueError("no options to compare: run at least one model first")
    costs = {o.name: o.monthly_cost(req.volume_per_month, req.horizon_months) for o in options}
    rejected: dict[str, str] = {}
    for o in options:
        if req.data_in_house and (o.backend is None or o.backend.hosted):
            rejected[o.name] = (
                "a hosted model, but your data must stay in-house" if o.backend else
                f"where it runs is unknown (its kind '{o.kind or '?'}' is not installed here), "
                "so it cannot be shown to keep your data in-house")
        elif req.min_score is not None and not o.score >= req.min_score:
            rejected[o.name] = f"score {o.score:.3f} is below the minimum {req.min_score:.3f}"
        elif req.max_latency_ms is not None and not o.latency_p95_ms <= req.max_latency_ms:
            rejected[o.name] = (f"p95 latency {o.latency_p95_ms:.0f} ms is above the limit "
                                f"{req.max_latency_ms:.0f} ms")
    eligible = [o for o in options if o.name not in rejected]
    top = None
    if req.min_score is None and not req.by_value and eligible:
        top, worse = within_noise(eligible)
        rejected.update(worse)
        eligible = [o for o in eligible if o.name not in worse]
    advanced = advanced_option(options)
    bes = []
    for o in options:
        if o is advanced:
            continue
        v = break_even_volume(advanced, o, req.horizon_months)
        bes.append({"advanced": advanced.name, "option": o.name, "requests_per_month": v,
                    "text": _be_text(advanced, o, v)})
    note = classifier_note(options, rejected, costs)
    if not eligible:
        reason = ("No option meets the requirements: lower the minimum score, raise the "
                  "latency limit, or improve an option (prompt, data, fine-tuning).")
        return Decision(None, _with(reason, note), [], rejected, costs, bes,
                        _guidance(options, req, advanced, bes, task, train_rows), significance,
                        note)
    if req.by_value:
        value = net_value(options, req, costs, eligible)
        best = next(o for o in eligible if o.name == value["best"])
        top = value["options"][0]
        reason = (f"{best.name} has the highest expected net value: ${top['net_value_month']:,.2f}"
                  f" a month (95% interval ${top['net_value_ci'][0]:,.2f} to "
                  f"${top['net_value_ci'][1]:,.2f}) at {req.volume_per_month:,.0f} requests/month,"
                  f" with a correct answer worth ${value['value_correct']:g} and an error costing "
                  f"${value['cost_error']:g}, after a monthly cost of ${costs[best.name]:,.2f}."
                  + _runner_up(value))
        return Decision(best, _with(reason, note), [o.name for o in eligible], rejected, costs,
                        bes, _guidance(options, req, advanced, bes, task, train_rows),
                        significance, note, value)
    best = min(eligible, key=lambda o: (round(costs[o.name], 9), -o.score))
    meets = (f"{best.name} meets the minimum score ({best.score:.3f} >= {req.min_score:.3f})"
             if top is None else
             f"{best.name} is the cheapest of the options within noise of the best score "
             f"({top.name}: {top.score:.3f} [{top.ci_low:.3f}, {top.ci_high:.3f}]; give a "
             "minimum score to accept lower ones)")
    reason = (meets
              + (f" and the latency limit (p95 {best.latency_p95_ms:.0f} ms)"
                 if req.max_latency_ms is not None else "")
              + f" at the lowest monthly cost: ${costs[best.name]:,.2f} for "
              f"{req.volume_per_month:,.0f} requests/month over a {req.horizon_months:g}-month "
              "horizon.")
    return Decision(best, _with(reason, note), [o.name for o in eligible], rejected, costs, bes,
                    _guidance(options, req, advanced, bes, task, train_rows), significance, note)


def within_noise(options: list[Option]) -> tuple[Option, dict[str, str]]:
    """(the most accurate option, {name: reason} of those worse than it beyond noise): an
    option whose 95% interval lies wholly below the best option's interval is worse; one
    whose interval is unknown is compared by its score alone.

    >>> a = Option("a", 0.01, score=0.96, ci_low=0.93, ci_high=0.98)
    >>> b = Option("b", 0.002, score=0.94, ci_low=0.91, ci_high=0.97)
    >>> c = Option("c", 0.001, score=0.26, ci_low=0.20, ci_high=0.32)
    >>> top, worse = within_noise([a, b, c]); top.name, sorted(worse)
    ('a', ['c'])
    """
    top = max(options, key=lambda o: o.score)
    worse = {}
    for o in options:
        if o is top:
            continue
        high = o.ci_high if not math.isnan(o.ci_high) else o.score
        low = top.ci_low if not math.isnan(top.ci_low) else top.score
        if high < low:
            worse[o.name] = (f"score {o.score:.3f} [{o.ci_low:.3f}, {o.ci_high:.3f}] is below "
                             f"{top.name}'s ({top.score:.3f} [{top.ci_low:.3f}, "
                             f"{top.ci_high:.3f}]) beyond noise; give a minimum score to "
                             "accept it")
    return top, worse


def net_value(options: list[Option], req: Requirements, costs: dict[str, float],
               eligible: list[Option]) -> dict:
    """Expected net value per month of each option, its interval, and its break-even accuracy.

    net = volume x (accuracy x value_correct - (1 - accuracy) x cost_error) - monthly cost,
    where the monthly cost is the running cost plus the one-time cost spread over the
    horizon; the interval comes from the accuracy's 95% interval (the cost is measured). The
    break-even accuracy of an option is the accuracy at which its net value would equal the
    best eligible option's: below it the option is worth less, above it more.

    >>> r = Requirements(1000, value_correct=1.0, cost_error=4.0)
    >>> a = Option("a", 0.0, score=0.9, ci_low=0.8, ci_high=0.95)
    >>> v = net_value([a], r, {"a": 100.0}, [a])["options"][0]
    >>> v["net_value_month"], v["net_value_ci"], v["break_even_accuracy"]
    (400.0, [-100.0, 650.0], 0.9)
    """
    vc = req.value_correct or 0.0
    ce = req.cost_error or 0.0
    vol = req.volume_per_month

    def worth(acc: float, name: str) -> float:
        return vol * (acc * vc - (1 - acc) * ce) - costs[name]

    rows = []
    for o in options:
        acc = o.score if o.score == o.score else 0.0
        lo = o.ci_low if o.ci_low == o.ci_low else acc
        hi = o.ci_high if o.ci_high == o.ci_high else acc
        rows.append({"name": o.name, "accuracy": acc, "monthly_cost_usd": costs[o.name],
                     "net_value_month": round(worth(acc, o.name), 2),
                     "net_value_ci": [round(worth(lo, o.name), 2), round(worth(hi, o.name), 2)],
                     "eligible": any(e.name == o.name for e in eligible)})
    pool = [r for r in rows if r["eligible"]] or rows
    best = max(pool, key=lambda r: (r["net_value_month"], r["accuracy"]))
    for r in rows:
        # vol x (a x vc - (1 - a) x ce) - cost = best  =>  a = (best + cost + vol x ce) / (vol (vc + ce))
        need = ((best["net_value_month"] + r["monthly_cost_usd"] + vol * ce) / (vol * (vc + ce))
                if vc + ce > 0 else None)
        r["break_even_accuracy"] = None if need is None else round(need, 4)
        r["break_even_possible"] = need is not None and need <= 1.0
    rows.sort(key=lambda r: (not r["eligible"], -r["net_value_month"]))
    return {"value_correct": vc, "cost_error": ce, "best": best["name"], "options": rows}


def _runner_up(value: dict) -> str:
    rest = [r for r in value["options"] if r["eligible"] and r["name"] != value["best"]]
    if not rest:
        return ""
    r = rest[0]
    gap = value["options"][0]["net_value_month"] - r["net_value_month"]
    be = r["break_even_accuracy"]
    return (f" Next: {r['name']} at ${r['net_value_month']:,.2f} (${gap:,.2f} less); it would "
            + (f"need an accuracy of {be:.1%} to match." if r["break_even_possible"]
               else "not match it even at 100% accuracy."))


def _with(reason: str, note: dict | None) -> str:
    return f"{reason} {note['text']}" if note else reason


def classifier_note(options: list[Option], rejected: dict[str, str],
                    costs: dict[str, float]) -> dict | None:
    """What the classic baseline says about paying for an LLM, in one plain sentence.

    Looks at the best-scoring embedding classifier against every LLM of the
    comparison: does it meet the requirements, and does it cost less than all of
    them at the stated volume?
    """
    clfs = [o for o in options if not reads_prompt(o)]
    if not clfs:
        return None
    c = max(clfs, key=lambda o: (o.score, -costs[o.name]))
    what = c.backend.label.lower() if c.backend else "classifier"
    llms = [o for o in options if reads_prompt(o)]
    meets = c.name not in rejected
    cheapest = min(llms, key=lambda o: costs[o.name]) if llms else None
    cheaper = cheapest is not None and costs[c.name] < costs[cheapest.name]
    better = [o.name for o in llms if o.score > c.score]
    if not llms:
        text = (f"The {what} {c.name} " + ("meets" if meets else "does not meet")
                + f" your requirements (score {c.score:.3f}); compare it with an LLM to see "
                "what a model would add.")
    elif meets and cheaper:
        text = (f"The {what} {c.name} meets your requirements (score "
                f"{c.score:.3f}) at a lower cost than every LLM compared (${costs[c.name]:,.2f} "
                f"a month against ${costs[cheapest.name]:,.2f} for the cheapest LLM, "
                f"{cheapest.name}): try it before paying for an LLM"
                + (f"; {', '.join(better)} score{'s' if len(better) == 1 else ''} higher, "
                   "which matters only if you need more than your minimum." if better else "."))
    elif meets:
        text = (f"The {what} {c.name} meets your requirements (score "
                f"{c.score:.3f}) but costs more than {cheapest.name} at this volume "
                f"(${costs[c.name]:,.2f} against ${costs[cheapest.name]:,.2f} a month).")
    else:
        passing = [o for o in llms if o.name not in rejected]
        text = (f"The {what} {c.name} does not meet your requirements "
                f"({rejected[c.name]})"
                + (f"; {min(passing, key=lambda o: costs[o.name]).name} does, so an LLM earns "
                   "its cost here." if passing else " either."))
    return {"model": c.name, "meets_requirements": meets, "cheaper_than_every_llm": cheaper,
            "text": text}


def advanced_option(options: list[Option]) -> Option:
    """The option you would prompt instead of fine-tuning: the best-scoring LLM that is not
    itself a fine-tuned adapter (the best overall when every option is one), never an
    embedding classifier unless there is nothing else."""
    pool = ([o for o in options if reads_prompt(o) and not is_tuned(o)]
            or [o for o in options if reads_prompt(o)] or options)
    return max(pool, key=lambda o: (o.score, o.per_request_usd))


def reads_prompt(o: Option) -> bool:
    """Reads a prompt and writes text (an LLM), unlike a label predictor such as the
    embedding classifier; an option of an unknown kind counts as an LLM."""
    return o.backend is None or o.backend.prompted


def is_tuned(o: Option) -> bool:
    """Made by a fine-tune on the project's data (an adapter or a fully fine-tuned model)."""
    return o.backend is not None and o.backend.tuned


def _be_text(a: Option, b: Option, v: float | None) -> str:
    if v is None:
        return f"{b.name} never becomes cheaper than {a.name}."
    if v == 0:
        return f"{b.name} is cheaper than {a.name} at every volume."
    return f"{b.name} becomes cheaper than {a.name} above {v:,.0f} requests/month."


def _guidance(options, req, advanced, bes, task, train_rows) -> list[dict]:
    tuned = [o for o in options if is_tuned(o)]
    be_values = [b["requests_per_month"] for b in bes
                 if b["option"] in {o.name for o in tuned} and b["requests_per_month"] is not None]
    fast_enough = [o.name for o in tuned if req.max_latency_ms is not None
                   and o.latency_p95_ms <= req.max_latency_ms]
    out = [
        {"criterion": "High volume",
         "holds": bool(be_values) and req.volume_per_month >= min(be_values),
         "detail": (f"your {req.volume_per_month:,.0f} requests/month vs a break-even of "
                    f"{min(be_values):,.0f}" if be_values else
                    "no fine-tuned option breaks even yet (fine-tune one and compare it)")},
        {"criterion": "Narrow task",
         "holds": task in ("classification", "scale"),
         "detail": f"the task is {task.replace('_', ' ')}; narrow tasks suit small tuned models"},
        {"criterion": "Strict latency",
         "holds": bool(fast_enough) and req.max_latency_ms is not None
                  and advanced.latency_p95_ms > req.max_latency_ms,
         "detail": (f"limit {req.max_latency_ms:.0f} ms; {advanced.name} p95 "
                    f"{advanced.latency_p95_ms:.0f} ms" if req.max_latency_ms is not None
                    else "no latency limit given")},
        {"criterion": "Enough labelled data",
         "holds": train_rows >= 200,
         "detail": f"{train_rows} labelled train rows (a few hundred is a useful minimum)"},
        {"criterion": "Data must stay in-house",
         "holds": req.data_in_house,
         "detail": "you said the data must stay in-house: local models only"
                   if req.data_in_house else "hosted models are allowed"},
    ]
    return out
