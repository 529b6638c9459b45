"""`ladder compare` and `ladder report`: models side by side, the decision, the report."""

from __future__ import annotations

import sys

from core.cli.args import non_negative_float as _non_negative_float
from core.cli.args import positive_float as _positive_float
from core.cli.args import positive_int as _positive_int
from core.cli.output import CliError, emit


def register(sub) -> None:
    p = sub.add_parser("compare", help="compare models on the same rows: score, latency, cost, "
                                       "break-even volume and a recommendation")
    p.add_argument("--data", required=True, help="dataset name")
    p.add_argument("--models", required=True, help="comma-separated model ids, e.g. A,B,C")
    p.add_argument("--prompts", required=True, metavar="FILE.yaml")
    p.add_argument("--variant", help="the variant every model uses (default: the first)")
    p.add_argument("--variant-for", action="append", default=[], metavar="MODEL=VARIANT",
                   help="give one model its own variant (repeatable)")
    p.add_argument("--split", default="test")
    p.add_argument("--truncate", choices=["head", "tail"],
                   help="cut inputs too long for a model's context (tail: the end, head: the "
                        "beginning) instead of refusing the run")
    p.add_argument("--limit", type=_positive_int)
    p.add_argument("--volume", type=_positive_float, default=10_000,
                   help="expected requests per month (default 10000)")
    p.add_argument("--min-score", type=_non_negative_float, default=None,
                   help="the lowest acceptable score (0-1); unset: the options within noise of "
                        "the best score (95%% intervals) qualify")
    p.add_argument("--max-latency-ms", type=_positive_float)
    p.add_argument("--horizon-months", type=_positive_float, default=12.0,
                   help="months over which one-time costs are spread")
    p.add_argument("--in-house", action="store_true",
                   help="the data must stay in-house: hosted models are not recommended")
    p.add_argument("--prep-hours", type=_non_negative_float, default=0.0,
                   help="data preparation hours added to a fine-tune's one-time cost")
    p.add_argument("--prep-rate", type=_non_negative_float, default=0.0,
                   help="USD per hour of data preparation")
    _money(p)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_compare)

    r = sub.add_parser("report", help="write the decision report (Markdown or HTML)")
    r.add_argument("--data", required=True)
    r.add_argument("--out", required=True, metavar="FILE.{md,html}")
    r.add_argument("--volume", type=_positive_float, default=10_000)
    r.add_argument("--min-score", type=_non_negative_float, default=None,
                   help="the lowest acceptable score (0-1); unset: within noise of the best")
    r.add_argument("--max-latency-ms", type=_positive_float)
    r.add_argument("--in-house", action="store_true",
                   help="the data must stay in-house: hosted models are not recommended")
    _money(r)
    r.set_defaults(func=cmd_report)


def _money(parser) -> None:
    """The money at stake per request; either one switches the decision to net value."""
    parser.add_argument("--value-correct", type=_non_negative_float, metavar="USD",
                        help="what a correct answer is worth per request: decide by expected "
                             "net value (with --cost-error) instead of the cheapest option")
    parser.add_argument("--cost-error", type=_non_negative_float, metavar="USD",
                        help="what a wrong answer costs per request")


def _progress(done: int, total: int, eta: float | None) -> None:
    eta_s = f", ETA {eta:.0f}s" if eta is not None else ""
    print(f"\r[ladder] {done}/{total} cells{eta_s}   ", end="", file=sys.stderr, flush=True)


def cmd_compare(args) -> int:
    from core.cli.runs import prompt_set_line, run_failures, start_run
    from core.compare.decision import Requirements
    from core.compare.service import check_prices, comparison_config
    from core.evals.store import get_run
    from core.prompts.files import load_prompts
    from core.report.summary import compare_summary
    from core.workspace import open_workspace

    models = [m.strip() for m in args.models.split(",") if m.strip()]
    if not models:
        raise CliError("--models is empty; give model ids separated by commas, e.g. A,B")
    variants = load_prompts(args.prompts)
    variant_for = {m: args.variant for m in models} if args.variant else {}
    for item in args.variant_for:
        if "=" not in item:
            raise CliError(f"--variant-for '{item}' must look like MODEL=VARIANT")
        m, v = item.split("=", 1)
        if m not in models:
            raise CliError(f"--variant-for names '{m}', which is not in --models")
        variant_for[m] = v
    if args.min_score is not None and args.min_score > 1:
        raise CliError("--min-score is a share between 0 and 1, e.g. 0.8")
    try:
        req = Requirements(args.volume, args.min_score, args.max_latency_ms, args.horizon_months,
                           data_in_house=args.in_house, value_correct=args.value_correct,
                           cost_error=args.cost_error)
    except ValueError as e:
        raise CliError(str(e)) from None
    ws = open_workspace()
    check_prices(ws, models)
    cfg = comparison_config(args.data, models, variants, variant_for, args.split, args.limit,
                            truncate=args.truncate)
    run_id, prompt_set = start_run(ws, cfg, variants, _progress, purpose="comparison")
    print(file=sys.stderr)
    failures = run_failures(ws, run_id)
    if not failures["scored_cells"]:
        raise CliError(f"nothing to compare: run #{run_id} computed no cell: {failures['why']}")
    out = compare_summary(ws, run_id, req, prep_hours=args.prep_hours, prep_rate=args.prep_rate)
    out["prompt_set"] = prompt_set
    out["truncated_rows"] = get_run(ws, run_id)["truncated"]
    lines = [f"{'model':<34} {'score':>6} {'95% CI':>15} {'p50 ms':>8} {'p95 ms':>8} "
             f"{'$/1k':>9}"]
    for m in out["models"]:
        lines.append(f"{m['model']:<34} {m['score']:>6.3f} [{m['ci_low']:.3f}, "
                     f"{m['ci_high']:.3f}] {m['latency_p50_ms']:>8.0f} {m['latency_p95_ms']:>8.0f} "
                     f"{m['cost_per_1k_usd']:>9.4f}")
    for model, err in out["errors"].items():
        lines.append(f"error: {model}: {err}")
    if out["truncated_rows"]:
        lines.append(f"{len(out['truncated_rows'])} rows had their input cut ({args.truncate}) "
                     "to fit the context.")
    lines.append(f"Recommendation: {out['recommendation'] or 'none'} — {out['decision']['reason']}")
    if out["value"]:
        lines.append("Net value per month (95% interval), break-even accuracy:")
        for o in out["value"]["options"]:
            lo, hi = o["net_value_ci"]
            be = o["break_even_accuracy"]
            lines.append(f"  {o['name']:<32} ${o['net_value_month']:>12,.2f} "
                         f"[${lo:,.2f}, ${hi:,.2f}]  "
                         + ("-" if be is None else f"{be:.1%}" if o["break_even_possible"]
                            else "out of reach"))
    lines += [f"Teacher labels: {d['text']}" for d in out["distillation"]]
    be = out["break_even_requests_per_month"]
    lines.append("Break-even: " + ("never" if be is None else f"{be:,.0f} requests/month"))
    lines.append(prompt_set_line(prompt_set))
    emit(out, args.json, "\n".join(lines))
    return 1 if out["errors"] else 0


def cmd_report(args) -> int:
    from pathlib import Path

    from core.compare.decision import Requirements
    from core.report.export import write_report
    from core.workspace import open_workspace

    out = Path(args.out)
    if out.suffix.lower() not in (".md", ".html"):
        raise CliError(f"--out must end in .md or .html, not '{out.suffix or out.name}'")
    if args.min_score is not None and args.min_score > 1:
        raise CliError("--min-score is a share between 0 and 1, e.g. 0.8")
    try:
        req = Requirements(args.volume, args.min_score, args.max_latency_ms,
                           data_in_house=args.in_house, value_correct=args.value_correct,
                           cost_error=args.cost_error)
    except ValueError as e:
        raise CliError(str(e)) from None
    ws = open_workspace()
    path = write_report(ws, args.data, out, req)
    print(f"Wrote {path}")
    return 0
