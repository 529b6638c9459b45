"""`ladder eval`: prompt variants x dataset rows x a model, scored, with a leaderboard.

`ladder eval --data D --model M --prompts P [--out rows.csv]` runs an evaluation;
`ladder eval export RUN --out rows.jsonl` writes the per-row outputs of a stored run.
`export` is an optional sub-command of `eval`: a run takes no positional argument, so the
first bare word after `eval` can only be a sub-command, and `--data/--model/--prompts` are
checked as required only when no sub-command is given.
"""

from __future__ import annotations

import sys

from core.cli.args import non_negative_float as _non_negative_float
from core.cli.args import positive_int as _positive_int
from core.cli.output import CliError, emit


def register(sub) -> None:
    p = sub.add_parser("eval", help="run prompt variants over a dataset split and rank them")
    p.add_argument("--data", help="dataset name (see `ladder data list`); required")
    p.add_argument("--split", default="test", help="train, validation, test (default) or all")
    p.add_argument("--model", help="registered model id; required")
    p.add_argument("--prompts", metavar="FILE.yaml", help="the variants file; required")
    p.add_argument("--limit", type=_positive_int, help="a seeded sample of N rows")
    p.add_argument("--samples", type=_positive_int, default=1,
                   help="K samples per row to measure consistency (needs --temperature > 0)")
    p.add_argument("--temperature", type=_non_negative_float, default=0.0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--max-new-tokens", type=_positive_int, default=None,
                   help="answer length limit (default: 24 for labels and numbers; free text: "
                        "from the train answers' lengths)")
    p.add_argument("--scoring", choices=["auto", "generate", "likelihood"], default="auto",
                   help="classification: likelihood scores each label (auto: when 1 sample)")
    p.add_argument("--no-calibrate", action="store_true",
                   help="likelihood scoring: skip contextual calibration of the label scores")
    from core.evals.scorers import names

    p.add_argument("--scorer", default="auto", choices=["auto", *names()], metavar="SCORER",
                   help="auto (by task and target shape) or one of: " + ", ".join(names())
                   + " (see docs/scorers.md)")
    p.add_argument("--tolerance", type=_non_negative_float, default=0.0,
                   help="number scorer: allowed absolute error")
    p.add_argument("--pattern", help="regex scorer: the pattern")
    p.add_argument("--judge-model", help="judge scorer: registered model id")
    p.add_argument("--kb", help="knowledge base that fills {context} for each row")
    p.add_argument("--kb-k", type=_positive_int, default=3, help="chunks retrieved per row")
    p.add_argument("--few-shot-k", type=int, metavar="K",
                   help="dynamic few-shot: the K most similar train rows fill {examples}")
    p.add_argument("--truncate", choices=["head", "tail"],
                   help="rows whose prompt + answer exceed the model's context are refused; "
                        "tail: cut the end of their input, head: cut its beginning (the run "
                        "lists the rows cut)")
    p.add_argument("--out", metavar="FILE",
                   help="also write every cell of this run, one line each, to FILE "
                        "(.csv or .jsonl)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_eval, eval_parser=p)
    sub_eval = p.add_subparsers(dest="eval_command", metavar="{export}",
                                title="sub-commands (optional)")
    e = sub_eval.add_parser("export", help="write the per-row outputs of a stored run",
                            description="Write every cell of a stored evaluation run (input, "
                            "references, output, parsed answer, score, error kind, tokens, "
                            "latency, cost) to a .csv or .jsonl file.")
    e.add_argument("run", type=_positive_int, metavar="RUN", help="the run id (`ladder eval "
                   "--json` prints it as run_id)")
    e.add_argument("--out", required=True, metavar="FILE", help="rows.csv or rows.jsonl")
    e.add_argument("--json", action="store_true")
    e.set_defaults(func=cmd_export, eval_parser=e)


def _progress(done: int, total: int, eta: float | None) -> None:
    eta_s = f", ETA {eta:.0f}s" if eta is not None else ""
    print(f"\r[ladder] {done}/{total} cells{eta_s}   ", end="", file=sys.stderr, flush=True)


def cmd_eval(args) -> int:
    from core.cli.runs import prompt_set_line, run_failures, start_run
    from core.evals.config import EvalConfig
    from core.evals.scorers import ScorerConfig
    from core.evals.store import get_run
    from core.evals.summary import leaderboard, scorer_choice, verdict
    from core.prompts.files import load_prompts
    from core.workspace import open_workspace

    missing = [f"--{n}" for n in ("data", "model", "prompts") if getattr(args, n) is None]
    if missing:  # argparse's own wording, as when these options were `required`
        args.eval_parser.error(f"the following arguments are required: {', '.join(missing)}")
    if args.out is not None:
        from core.evals.export import check_path

        check_path(args.out)  # a bad name is refused before anything runs
    written = load_prompts(args.prompts)
    variants = written
    if args.few_shot_k is not None and args.few_shot_k < 1:
        raise CliError("--few-shot-k must be at least 1, e.g. --few-shot-k 3")
    if args.few_shot_k or args.kb:  # static vs dynamic, built as the Dynamic prompts page does
        from core.prompts.dynamic_variants import static_vs_dynamic

        variants = static_vs_dynamic(written, args.few_shot_k or 0, bool(args.kb))
    try:
        cfg = EvalConfig(
            dataset=args.data, split=args.split, limit=args.limit, seed=args.seed,
            models=[args.model], variants=variants, scoring=args.scoring, samples=args.samples,
            calibrate=not args.no_calibrate,
            temperature=args.temperature, max_new_tokens=args.max_new_tokens,
            scorer=ScorerConfig(kind=args.scorer, tolerance=args.tolerance, pattern=args.pattern,
                                judge_model=args.judge_model),
            kb=args.kb, kb_k=args.kb_k, truncate=args.truncate,
        )
    except ValueError as e:
        from core.models.spec import describe_validation_error

        raise CliError(describe_validation_error(e)) from None
    ws = open_workspace()
    from core.datasets.versions import get_version
    from core.prompts.variants import input_warning

    input_col = get_version(ws, args.data).mapping.input_col
    for v in variants:
        if warning := input_warning(v, input_col):
            print(f"[ladder] warning: {warning}", file=sys.stderr)
    run_id, prompt_set = start_run(ws, cfg, written, _progress)
    print(file=sys.stderr)
    failures = run_failures(ws, run_id)
    if failures["failed_cells"] and not failures["scored_cells"]:
        raise CliError(f"run #{run_id} computed no cell: {failures['why']}")
    board = leaderboard(ws, run_id)
    comp = verdict(ws, run_id, board)
    run = get_run(ws, run_id)
    out = {"run_id": run_id, "purpose": run["purpose"], "truncated_rows": run["truncated"],
           **scorer_choice(ws, run_id), "variants": board,
           "verdict": comp["verdict"] if comp else "Only one variant: nothing to compare.",
           "comparison": comp, "prompt_set": prompt_set,
           **{k: failures[k] for k in ("failed_cells", "error_kinds", "model_errors")}}
    lines = [f"{'variant':<24} {'n':>4} {'score':>7} {'95% CI':>15} {'invalid':>8} "
             f"{'p50 ms':>8} {'$/1k':>9}"]
    for e in board:
        cost = "n/a" if e["cost_per_1k_usd"] is None else f"{e['cost_per_1k_usd']:.4f}"
        lines.append(f"{e['name']:<24} {e['n']:>4} {e['score']:>7.3f} "
                     f"[{e['ci_low']:.3f}, {e['ci_high']:.3f}] {e['invalid_rate']:>8.1%} "
                     f"{e['latency_p50_ms']:>8.0f} {cost:>9}")
        more = {**(e.get("corpus") or {}), **(e.get("beside") or {})}
        if more:
            lines.append("    " + ", ".join(f"{k} {v:.4g}" for k, v in more.items()))
    lines.append(f"Scorer: {out['scorer_reason']}")
    lines.append(out["verdict"])
    lines.append(prompt_set_line(prompt_set))
    if run["truncated"]:
        lines.append(f"{len(run['truncated'])} rows had their input cut ({args.truncate}) to fit "
                     "the context: rows " + ", ".join(map(str, run["truncated"][:20]))
                     + (" ..." if len(run["truncated"]) > 20 else ""))
    if args.out is not None:
        out["export"] = _export(ws, run_id, args.out)
        lines.append(f"Wrote {out['export']['rows']} rows to {out['export']['path']}.")
    if failures["failed_cells"]:
        lines.append(f"{failures['failed_cells']} of {failures['total_cells']} cells failed: "
                     f"{failures['why']}")
    emit(out, args.json, "\n".join(lines))
    if failures["failed_cells"]:
        print(f"ladder: error: run #{run_id}: {failures['failed_cells']} of "
              f"{failures['total_cells']} cells failed: {failures['why']}", file=sys.stderr)
        return 1
    return 0


def _export(ws, run_id: int, path: str) -> dict:
    from core.evals.export import run_rows, write_rows

    rows = run_rows(ws, run_id)
    written, fmt = write_rows(rows, path)
    return {"path": str(written), "format": fmt, "rows": len(rows)}


def cmd_export(args) -> int:
    from core.cli.args import workspace
    from core.evals.export import check_path

    given = [f"--{n}" for n in ("data", "model", "prompts") if getattr(args, n, None)]
    if given:
        args.eval_parser.error(f"`ladder eval export` writes a stored run; {', '.join(given)} "
                               "belong to `ladder eval` without `export`, which runs a new one")
    check_path(args.out)
    out = {"run_id": args.run, **_export(workspace(), args.run, args.out)}
    emit(out, args.json, f"Wrote {out['rows']} rows of run {args.run} to {out['path']}.")
    return 0
