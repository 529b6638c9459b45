"""`ladder eval`: prompt variants x dataset rows x a model, scored, with a leaderboard."""

from __future__ import annotations

import sys

from core.cli.args import non_negative_float as _non_negative_float
from core.cli.args import positive_int as _positive_int


def register(sub) -> None:
    p = sub.add_parser("eval", help="run prompt variants over a dataset split and rank them")
    p.add_argument("--data", required=True, help="dataset name (see `ladder data list`)")
    p.add_argument("--split", default="test", help="train, validation, test (default) or all")
    p.add_argument("--model", required=True, help="registered model id")
    p.add_argument("--prompts", required=True, metavar="FILE.yaml", help="the variants file")
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
    p.add_argument("--scorer", default="auto",
                   help="auto, label, number, contains, regex, json, similarity or judge")
    p.add_argument("--tolerance", type=_non_negative_float, default=0.0,
                   help="number scorer: allowed absolute error")
    p.add_argument("--pattern", help="regex scorer: the pattern")
    p.add_argument("--judge-model", help="judge scorer: registered model id")
    p.add_argument("--kb", help="knowledge base that fills {context} for each row")
    p.add_argument("--kb-k", type=_positive_int, default=3, help="chunks retrieved per row")
    p.add_argument("--few-shot-k", type=int, metavar="K",
                   help="dynamic few-shot: the K most similar train rows fill {examples}")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_eval)


def _progress(done: int, total: int, eta: float | None) -> None:
    eta_s = f", ETA {eta:.0f}s" if eta is not None else ""
    print(f"\r[ladder] {done}/{total} cells{eta_s}   ", end="", file=sys.stderr, flush=True)


def cmd_eval(args) -> int:
    from core.cli import CliError, emit
    from core.evals.config import EvalConfig
    from core.evals.engine import run_eval
    from core.evals.scorers import ScorerConfig
    from core.evals.summary import leaderboard, verdict
    from core.prompts.files import load_prompts
    from core.workspace import open_workspace

    variants = load_prompts(args.prompts)
    if args.few_shot_k is not None:
        if args.few_shot_k < 1:
            raise CliError("--few-shot-k must be at least 1")
        dynamic = [v for v in variants if "examples" in v.placeholders()]
        if not dynamic:
            raise CliError("--few-shot-k needs a variant with an {examples} placeholder")
        variants = [v.model_copy(update={"few_shot": args.few_shot_k, "few_shot_mode": "similar"})
                    if v in dynamic else v for v in variants]
    try:
        cfg = EvalConfig(
            dataset=args.data, split=args.split, limit=args.limit, seed=args.seed,
            models=[args.model], variants=variants, scoring=args.scoring, samples=args.samples,
            calibrate=not args.no_calibrate,
            temperature=args.temperature, max_new_tokens=args.max_new_tokens,
            scorer=ScorerConfig(kind=args.scorer, tolerance=args.tolerance, pattern=args.pattern,
                                judge_model=args.judge_model),
            kb=args.kb, kb_k=args.kb_k,
        )
    except ValueError as e:
        from core.models.spec import describe_validation_error

        raise CliError(describe_validation_error(e)) from None
    ws = open_workspace()
    run_id = run_eval(ws, cfg, progress=_progress)
    print(file=sys.stderr)
    board = leaderboard(ws, run_id)
    comp = verdict(ws, run_id, board)
    out = {"run_id": run_id, "variants": board,
           "verdict": comp["verdict"] if comp else "Only one variant: nothing to compare.",
           "comparison": comp}
    lines = [f"{'variant':<24} {'n':>4} {'score':>7} {'95% CI':>15} {'invalid':>8} "
             f"{'p50 ms':>8} {'$/1k':>9}"]
    for e in board:
        cost = "n/a" if e["cost_per_1k_usd"] is None else f"{e['cost_per_1k_usd']:.4f}"
        lines.append(f"{e['name']:<24} {e['n']:>4} {e['score']:>7.3f} "
                     f"[{e['ci_low']:.3f}, {e['ci_high']:.3f}] {e['invalid_rate']:>8.1%} "
                     f"{e['latency_p50_ms']:>8.0f} {cost:>9}")
    lines.append(out["verdict"])
    emit(out, args.json, "\n".join(lines))
    return 0
