"""`ladder models ...` and `ladder generate`: the model registry from the command line."""

from __future__ import annotations

import sys

from core.cli.args import non_negative_float as _non_negative_float
from core.cli.args import positive_int as _positive_int
from core.cli.args import workspace as _ws
from core.cli.output import CliError, emit


def register(sub) -> None:
    m = sub.add_parser("models", help="list, add, edit, delete and test registered models")
    msub = m.add_subparsers(dest="models_command", required=True)

    p = msub.add_parser("list", help="list registered models")
    p.add_argument("--json", action="store_true", help="print one JSON document")
    p.set_defaults(func=cmd_list)

    p = msub.add_parser(
        "add",
        help="register a model: a Hugging Face id (--hf), a local folder (--folder), an "
        "OpenAI-compatible endpoint (--base-url with --remote-model) or an embedding "
        "classifier trained on a dataset (--classifier --data NAME)",
    )
    p.add_argument("id", help="short name for the model, e.g. gpt-4o-mini")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--hf", metavar="ORG/NAME", help="a Hugging Face model id")
    src.add_argument("--folder", metavar="PATH", help="a local transformers model folder")
    src.add_argument("--base-url", metavar="URL", help="an OpenAI-compatible base URL (…/v1)")
    src.add_argument("--classifier", action="store_true",
                     help="train an embedding classifier (MiniLM + logistic regression) on the "
                     "train split of --data")
    p.add_argument("--data", metavar="DATASET", help="with --classifier: the classification "
                   "dataset whose train split it learns")
    p.add_argument("--remote-model", help="the model name the endpoint expects")
    p.add_argument("--key-env", metavar="VAR", help="environment variable holding the API key")
    _price_args(p)
    p.add_argument("--trust-remote-code", action="store_true",
                   help="allow the model's own Python code to run (off by default)")
    p.add_argument("--no-verify", action="store_true",
                   help="do not send a test request before registering an endpoint")
    p.add_argument("--notes", default="")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_add)

    p = msub.add_parser("edit", help="change a model's prices, concurrency or notes")
    p.add_argument("id")
    _price_args(p)
    p.add_argument("--notes")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_edit)

    p = msub.add_parser("remove", help="delete a registered model")
    p.add_argument("id")
    p.set_defaults(func=cmd_remove)

    p = msub.add_parser("test", help="send a test prompt: answer, tokens, latency, cost")
    p.add_argument("id")
    p.add_argument("--prompt", default="Reply with OK.")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_test)

    g = sub.add_parser("generate", help="send one prompt to a registered model")
    g.add_argument("prompt", help="the prompt text")
    g.add_argument("--model", required=True, help="registered model id (see `ladder models list`)")
    g.add_argument("--system", help="an optional system message")
    g.add_argument("--max-new-tokens", type=_positive_int, default=64)
    g.add_argument("--temperature", type=_non_negative_float, default=0.0,
                   help="0 is greedy (default)")
    g.add_argument("--seed", type=int)
    g.add_argument("--stop", action="append", default=[], help="a stop string (repeatable)")
    g.add_argument("--json", action="store_true")
    g.set_defaults(func=cmd_generate)


def _price_args(p) -> None:
    p.add_argument("--price-in", type=_non_negative_float, metavar="USD",
                   help="hosted: USD per 1M input tokens")
    p.add_argument("--price-out", type=_non_negative_float, metavar="USD",
                   help="hosted: USD per 1M output tokens")
    p.add_argument("--hourly-cost", type=_non_negative_float, metavar="USD",
                   help="local: USD per hour of the machine")
    p.add_argument("--concurrency", type=_positive_int,
                   help="requests served at once (shares the hourly cost)")





def spec_record(spec) -> dict:
    d = spec.model_dump()
    d["local"] = spec.is_local
    return d


def cmd_list(args) -> int:

    ws = _ws()
    specs = ws.registry.list()
    lines = [f"{'id':<28} {'kind':<9} {'price in/out per 1M':<22} {'hourly':<8} source"]
    for s in specs:
        price = (f"${s.price_in_per_m:g} / ${s.price_out_per_m:g}"
                 if s.kind == "openai" else "-")
        hourly = f"${s.hourly_cost:g}" if s.hourly_cost is not None else "-"
        lines.append(f"{s.id:<28} {s.kind:<9} {price:<22} {hourly:<8} {s.source}")
    emit({"models": [spec_record(s) for s in specs]}, args.json, "\n".join(lines))
    return 0


def cmd_add(args) -> int:
    from core.models.registry import build_spec

    if args.data and not args.classifier:
        raise CliError("--data only applies to --classifier")
    if args.classifier:
        return _add_classifier(args)
    if args.base_url:
        if not args.remote_model:
            raise CliError("--base-url needs --remote-model NAME (the model name the endpoint expects)")
        fields = dict(kind="openai", source=args.remote_model, base_url=args.base_url,
                      api_key_env=args.key_env)
    elif args.hf:
        fields = dict(kind="hub", source=args.hf)
    else:
        fields = dict(kind="folder", source=args.folder)
    if args.key_env and not args.base_url:
        raise CliError("--key-env only applies to endpoints added with --base-url")
    fields.update(
        id=args.id, price_in_per_m=args.price_in, price_out_per_m=args.price_out,
        hourly_cost=args.hourly_cost, concurrency=args.concurrency or 1,
        trust_remote_code=args.trust_remote_code, notes=args.notes,
    )
    spec = build_spec(**fields)
    ws = _ws()
    verify = None if args.no_verify else _verifier(spec.kind)
    ws.registry.add(spec, verify=verify)
    emit(spec_record(spec), args.json, f"Registered '{spec.id}' ({spec.kind}).")
    return 0


def _add_classifier(args) -> int:
    from core.models.classifier import DEFAULT_HOURLY_COST, add_classifier

    if not args.data:
        raise CliError("--classifier needs --data DATASET (a classification dataset with a "
                       "train split)")
    for flag, v in (("--remote-model", args.remote_model), ("--key-env", args.key_env),
                    ("--price-in", args.price_in), ("--price-out", args.price_out),
                    ("--trust-remote-code", args.trust_remote_code or None)):
        if v is not None:
            raise CliError(f"{flag} does not apply to --classifier: a classifier runs on this "
                           "machine and costs --hourly-cost (USD per hour, default 0.10)")
    ws = _ws()
    hourly = DEFAULT_HOURLY_COST if args.hourly_cost is None else args.hourly_cost
    spec, meta = add_classifier(ws, args.id, args.data, hourly_cost=hourly,
                                concurrency=args.concurrency or 1, notes=args.notes)
    val = meta["validation_accuracy"]
    emit(spec_record(spec) | {"training": meta}, args.json,
         f"Registered '{spec.id}' (classifier): trained on {meta['train_rows']} rows of "
         f"{meta['dataset']} v{meta['version']} in {meta['train_seconds']:.1f} s"
         + (f", validation accuracy {val:.3f}" if val is not None else "") + ".")
    return 0


def _verifier(kind: str):
    if kind != "openai":
        return None

    def verify(spec):
        from core.models.openai_compat import OpenAICompatBackend

        OpenAICompatBackend(spec.base_url, spec.source, spec.api_key_env,
                            max_retries=1, timeout_s=20).test()

    return verify


def cmd_edit(args) -> int:

    ws = _ws()
    spec = ws.registry.update(
        args.id, price_in_per_m=args.price_in, price_out_per_m=args.price_out,
        hourly_cost=args.hourly_cost, concurrency=args.concurrency, notes=args.notes,
    )
    emit(spec_record(spec), args.json, f"Updated '{spec.id}'.")
    return 0


def cmd_remove(args) -> int:
    ws = _ws()
    ws.registry.delete(args.id)
    print(f"Deleted '{args.id}'.")
    return 0


def _progress(msg: str) -> None:
    print(f"[ladder] {msg}", file=sys.stderr, flush=True)


def cmd_test(args) -> int:
    return _run_one(args.id, args.prompt, None, dict(max_new_tokens=32), args.json, "test")


def cmd_generate(args) -> int:
    params = dict(max_new_tokens=args.max_new_tokens, temperature=args.temperature,
                  seed=args.seed, stop=tuple(args.stop))
    return _run_one(args.model, args.prompt, args.system, params, args.json, "generate")


def _run_one(model_id, prompt, system, params, as_json, purpose) -> int:
    from core.models.base import ChatPrompt, GenerationParams
    from core.models.service import generate

    if not prompt.strip():
        raise CliError("the prompt is empty; give the text to send")
    ws = _ws()
    ws.registry.get(model_id)  # unknown id -> clear error before any model loads
    [pg] = generate(ws, model_id, [ChatPrompt(prompt, system)], GenerationParams(**params),
                    purpose=purpose, progress=_progress)
    g = pg.generation
    data = {
        "model": model_id, "text": g.text, "input_tokens": g.input_tokens,
        "output_tokens": g.output_tokens, "latency_ms": round(g.latency_s * 1000, 1),
        "cost_usd": pg.cost_usd, "finish_reason": g.finish_reason,
    }
    cost = "n/a" if pg.cost_usd is None else f"${pg.cost_usd:.6f}"
    emit(data, as_json, g.text if purpose == "generate" else
         f"{g.text}\n-- {g.input_tokens} in / {g.output_tokens} out tokens, "
         f"{data['latency_ms']} ms, {cost}")
    return 0
