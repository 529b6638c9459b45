"""Teacher -> student: what the teacher's labels cost, and whether the student is worth them.

A model fine-tuned on a version a teacher labelled (core.labelling) carries the labelling's
cost in its one-time cost. When the comparison measured the teacher too, on the same rows
(the gold rows people labelled, when the labelling kept some), this says how often the
student agrees with the teacher and with people, and from what monthly volume the student
pays back against the teacher.
"""

from __future__ import annotations

from core.compare.cost import Option, break_even_volume
from core.compare.decision import is_tuned
from core.evals.store import cells_frame
from core.labelling import store as label_store


def finetune_job(ws, model_id: str):
    """(job, results) of the fine-tune that registered `model_id`, or None."""
    from core.jobs import runner
    from core.jobs.files import read_json

    for job in runner.list_jobs(ws, "finetune"):
        res = {**(job.result or {}), **(read_json(job.run_dir / "results.json") or {})}
        if res.get("model_id") == model_id:
            return job, res
    return None


def label_runs(ws, model_id: str) -> list[label_store.LabelRun]:
    """The teacher labellings behind the data `model_id` was fine-tuned on (none if hand-made)."""
    from core.jobs.files import read_json

    found = finetune_job(ws, model_id)
    if found is None:
        return []
    cfg = read_json(found[0].run_dir / "config.json") or {}
    if not cfg.get("dataset") or not cfg.get("dataset_hash"):
        return []
    return label_store.runs_for(ws, cfg["dataset"], cfg["dataset_hash"])


def labelling_cost(ws, model_id: str) -> float:
    """What the teacher's labels of `model_id`'s training data cost (USD)."""
    return float(sum(r.cost_usd for r in label_runs(ws, model_id)))


def agreement(ws, run_id: int, a: str, b: str) -> tuple[float | None, int]:
    """Share of the rows both models answered on which their parsed answers are the same."""
    cells = cells_frame(ws, run_id)
    cells = cells[cells["sample"] == 0]

    def answers(m: str) -> dict:
        part = cells[cells["model_id"] == m]
        return {r: str(p or "").strip().lower() for r, p in zip(part["row_id"], part["parsed"],
                                                               strict=True)}

    x, y = answers(a), answers(b)
    common = sorted(set(x) & set(y))
    if not common:
        return None, 0
    return sum(x[r] == y[r] and x[r] != "" for r in common) / len(common), len(common)


def distillation(ws, run_id: int, options: list[Option], horizon_months: float) -> list[dict]:
    """One record per student (a tuned option trained on teacher labels) of this comparison."""
    out = []
    for o in options:
        runs = label_runs(ws, o.name) if is_tuned(o) else []
        if not runs:
            continue
        name = runs[-1].model_id
        teacher = next((t for t in options if t.name == name), None)
        agree, n = agreement(ws, run_id, o.name, name) if teacher else (None, 0)
        payback = break_even_volume(teacher, o, horizon_months) if teacher else None
        rec = {"student": o.name, "teacher": name, "teacher_in_run": teacher is not None,
               "labelled_rows": sum(r.labelled for r in runs),
               "labelling_cost_usd": round(sum(r.cost_usd for r in runs), 6),
               "labelling_model_s": round(sum(r.model_s for r in runs), 3),
               "gold_rows": max((r.gold for r in runs), default=0),
               "student_accuracy": o.score,
               "teacher_accuracy": teacher.score if teacher else None,
               "agreement_with_teacher": agree, "agreement_rows": n,
               "payback_requests_per_month": payback}
        rec["text"] = _text(rec)
        out.append(rec)
    return out


def _text(r: dict) -> str:
    s = (f"{r['student']} learned from {r['labelled_rows']:,} labels by {r['teacher']} that cost "
         f"${r['labelling_cost_usd']:.4f} ({r['labelling_model_s']:.0f} s of the teacher's time), "
         "counted in its one-time cost.")
    if not r["teacher_in_run"]:
        return s + (f" Add {r['teacher']} to this comparison to see how often the student "
                    "agrees with it and when it pays back.")
    on = f"the {r['agreement_rows']} rows" + (" people labelled" if r["gold_rows"] else "")
    s += (f" On {on} it agrees with the teacher on {r['agreement_with_teacher']:.0%} and with "
          f"people on {r['student_accuracy']:.0%} (the teacher: {r['teacher_accuracy']:.0%}).")
    be = r["payback_requests_per_month"]
    return s + (" Its requests cost no less than the teacher's, so it never pays back on cost."
                if be is None else
                f" It pays back against the teacher from {be:,.0f} requests/month.")
