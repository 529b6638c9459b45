"""`ladder finetune ...`: start, watch, list, cancel and resume fine-tuning runs.

`start` runs every check and the estimate before anything is queued, then
starts the same background worker the Fine-tuning page starts; `--wait`
follows it to the end and prints the before/after result.
"""

from __future__ import annotations

import sys

from core.cli.args import positive_int as _positive_int
from core.cli.args import variant_from_file
from core.cli.args import workspace as _ws
from core.cli.output import CliError, emit


def register(sub) -> None:
    f = sub.add_parser("finetune", help="fine-tune in the background: LoRA on a local LLM, or "
                       "the packaged MiniLM encoder for labels (the presets' measured choice)")
    fsub = f.add_subparsers(dest="finetune_command", required=True)

    p = fsub.add_parser("start", help="check the settings, estimate, and queue a run")
    p.add_argument("--data", required=True, metavar="NAME", help="dataset name (with a split)")
    p.add_argument("--model", required=True, metavar="ID", help="registered local base model")
    p.add_argument("--preset", default="quick", choices=["quick", "balanced", "thorough"],
                   help="starting settings (default quick)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", dest="sets",
                   help="override one setting, e.g. --set lr=5e-4 (repeatable; see "
                   "`ladder finetune settings`)")
    p.add_argument("--prompts", metavar="FILE", help="a YAML prompts file: train with its "
                   "--variant (the one that won the Prompt Lab or Dynamic prompts)")
    p.add_argument("--variant", metavar="V", help="the variant of --prompts to train with")
    p.add_argument("--kb", metavar="NAME", help="knowledge base whose chunks fill the variant's "
                   "{context} for every row, retrieved at training time")
    p.add_argument("--kb-k", type=_positive_int, metavar="K", help="chunks per row (default 3)")
    p.add_argument("--wait", action="store_true", help="follow the run until it ends")
    p.add_argument("--json", action="store_true", help="print one JSON document")
    p.set_defaults(func=cmd_start)

    p = fsub.add_parser("status", help="state, progress and results of a run")
    p.add_argument("run", help="run id (a unique prefix is enough)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_status)

    p = fsub.add_parser("list", help="all fine-tuning runs, newest first")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_list)

    p = fsub.add_parser("cancel", help="stop a run (cooperatively, forced after a grace period)")
    p.add_argument("run")
    p.add_argument("--grace", type=float, default=10.0, metavar="S",
                   help="seconds before the worker is killed (default 10)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_cancel)

    p = fsub.add_parser("resume", help="continue a failed or cancelled run from its checkpoint")
    p.add_argument("run")
    p.add_argument("--wait", action="store_true")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_resume)

    p = fsub.add_parser("settings", help="every setting with its preset values and help")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_settings)



def _public(rec: dict) -> dict:
    keys = ("run_id", "status", "pid", "phase", "step", "max_steps", "eta_s", "error",
            "adapter_path", "model_id", "before", "after", "flipped", "p_value", "alarms",
            "scorer", "scorer_why", "comparison", "changed", "samples", "head_to_head", "base_model",
            "trained_model", "dataset", "run_dir", "warm_start", "prompt",
            "traded")
    return {k: rec.get(k) for k in keys}


def _score(s: dict | None) -> str:
    if not s or s.get("score") is None:
        return "-"
    return f"{s['score']:.3f} [{s['ci_low']:.3f}, {s['ci_high']:.3f}] (n={s['n']})"


def _describe(rec: dict) -> str:
    lines = [f"run {rec['run_id']}: {rec['status']}"
             + (f" ({rec['phase']})" if rec["status"] == "running" and rec.get("phase") else "")]
    if rec.get("step") is not None and rec.get("max_steps"):
        eta = f", ETA {rec['eta_s']:.0f} s" if rec.get("eta_s") and rec["status"] == "running" else ""
        lines.append(f"  step {rec['step']}/{rec['max_steps']}{eta}")
    if rec.get("error"):
        lines.append(f"  error: {rec['error']}")
    for a in rec.get("alarms") or []:
        lines.append(f"  alarm: {a['message']}")
    for t in rec.get("traded") or []:
        lines.append(f"  budget: {t}")
    if rec.get("model_id"):
        lines.append(f"  model: {rec['model_id']}  adapter: {rec['adapter_path']}")
    from core.finetune.warm import warm_start_text

    if warm_start_text(rec):
        lines.append(f"  {warm_start_text(rec)}")
    if rec.get("before") or rec.get("after"):
        if rec.get("scorer"):
            lines.append(f"  scorer: {rec['scorer']} ({rec.get('scorer_why') or ''})")
        lines.append(f"  before: {_score(rec.get('before'))}")
        lines.append(f"  after:  {_score(rec.get('after'))}")
        if (rec.get("comparison") or {}).get("verdict"):
            lines.append(f"  {rec['comparison']['verdict']}")
        ch = rec.get("changed") or {}
        if rec.get("graded") and ch:
            lines.append(f"  rows: {ch.get('n_improved', 0)} improved, "
                         f"{ch.get('n_worsened', 0)} worsened, {ch.get('n_same', 0)} the same")
        else:
            fl = rec.get("flipped") or {}
            lines.append(f"  flipped: {fl.get('n_fail_to_pass', 0)} fail->pass, "
                         f"{fl.get('n_pass_to_fail', 0)} pass->fail")
    h2h = rec.get("head_to_head") or {}
    for o in h2h.get("others") or []:
        lines.append(f"  vs {o['what']} ({o['model_id']}): {_score(o)}; {o['verdict']}")
    for m in h2h.get("missing") or []:
        lines.append(f"  {m}")
    return "\n".join(lines)


def _follow(ws, run_id: str, quiet: bool) -> dict:
    from core import jobs
    from core.finetune import service

    last = [None]

    def show(job):
        st = job.status
        line = (f"{job.state} {st.get('phase') or ''} step {st.get('step', 0)}/"
                f"{st.get('max_steps') or '?'} loss {st.get('train_loss') or '-'}"
                f" val {st.get('val_loss') or '-'}")
        if line != last[0] and not quiet:
            print(line, file=sys.stderr, flush=True)
            last[0] = line

    jobs.wait(ws, run_id, poll_s=2.0, on_poll=show)
    return service.get_run(ws, run_id)


def cmd_start(args) -> int:
    from core.finetune import build_config, parse_sets, service

    sets = parse_sets(args.sets)
    sets.update(_prompt_sets(args))
    cfg = build_config(args.model, args.data, args.preset, sets)
    ws = _ws()
    say = (lambda m: None) if args.json else (lambda m: print(m, file=sys.stderr, flush=True))
    started = service.start(ws, cfg, progress=say)
    if not args.json:
        from core.finetune.approach import explain

        print(explain(cfg.approach, cfg.preset, started.plan.data.task))
        from core.finetune.prompting import prompt_record

        print(prompt_record(started.plan.config.model_dump())["note"])
        print(started.plan.estimate.text())
        print(f"Queued run {started.run_id}. Follow it with `ladder finetune status "
              f"{started.run_id}` or on the Fine-tuning page.")
    rec = service.get_run(ws, started.run_id)
    if args.wait:
        rec = _follow(ws, started.run_id, args.json)
    emit(_public(rec), args.json, _describe(rec) if args.wait else None)
    return 0 if rec["status"] not in ("failed", "cancelled") else 1


def _prompt_sets(args) -> dict:
    """The run settings --prompts/--variant/--kb/--kb-k stand for."""
    out: dict = {}
    if bool(args.prompts) != bool(args.variant):
        raise CliError("give --prompts FILE and --variant V together (the variant of FILE to "
                       "train with), or neither for the default prompt.")
    if args.prompts:
        chosen = variant_from_file(args.prompts, args.variant)
        out.update(variant=chosen.model_dump(), prompt_source=args.prompts)
    if args.kb_k is not None and not args.kb:
        raise CliError("--kb-k sets how many chunks --kb retrieves; add --kb NAME.")
    if args.kb:
        out["kb"] = args.kb
    if args.kb_k is not None:
        out["kb_k"] = args.kb_k
    return out


def cmd_status(args) -> int:
    from core.finetune import service

    rec = service.get_run(_ws(), args.run)
    emit(_public(rec), args.json, _describe(rec))
    return 0


def cmd_list(args) -> int:
    from core.finetune import service

    ws = _ws()
    runs = service.list_runs(ws)
    lines = [f"{'run':<22} {'status':<13} {'trains':<24} {'data':<18} {'before':<7} after"]
    for r in runs:
        b = (r.get("before") or {}).get("score")
        a = (r.get("after") or {}).get("score")
        lines.append(f"{r['run_id']:<22} {r['status']:<13} {str(r['trained_model']):<24} "
                     f"{str(r['dataset']):<18} {'-' if b is None else f'{b:.3f}':<7} "
                     f"{'-' if a is None else f'{a:.3f}'}")
    if not runs:
        lines = ["No fine-tuning runs yet; start one with `ladder finetune start --data NAME "
                 "--model ID`."]
    emit({"runs": [_public(r) for r in runs]}, args.json, "\n".join(lines))
    return 0


def cmd_cancel(args) -> int:
    from core import jobs
    from core.finetune import service

    ws = _ws()
    jobs.cancel(ws, args.run, grace_s=args.grace)
    rec = service.get_run(ws, args.run)
    emit(_public(rec), args.json, f"Cancelled run {rec['run_id']}.")
    return 0


def cmd_resume(args) -> int:
    from core import jobs
    from core.finetune import service

    ws = _ws()
    job = jobs.resume(ws, args.run)
    rec = _follow(ws, job.id, args.json) if args.wait else service.get_run(ws, job.id)
    emit(_public(rec), args.json, _describe(rec) if args.wait else
         f"Resumed run {job.id} ({job.state}); it continues from its last checkpoint.")
    return 0 if rec["status"] not in ("failed", "cancelled") else 1


def cmd_settings(args) -> int:
    from core.finetune.config import PRESETS, FinetuneConfig

    rows = []
    for name, f in FinetuneConfig.model_fields.items():
        rows.append({"name": name, "default": f.default, "help": f.description,
                     **{p: PRESETS[p].get(name, f.default) for p in PRESETS}})
    from core.finetune.metric import scorer_choices

    text = "\n".join(f"{r['name']:<26} default {r['default']!s:<10} {r['help']}" for r in rows)
    text += f"\n\nscorer choices: {', '.join(scorer_choices())}"
    emit({"settings": rows, "scorers": scorer_choices()}, args.json, text)
    return 0
