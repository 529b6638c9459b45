"""`ladder models ...` and `ladder generate`: the model registry from the command line."""

from __future__ import annotations

import sys

from core.cli.args import non_negative_float as _non_negative_float
from core.cli.args import positive_int as _positive_int
from core.cli.args import workspace as _ws
from core.cli.output import CliError, emit
from core.models import kinds


def register(sub) -> None:
    m = sub.add_parser("models", help="list, add, edit, delete and test registered models")
    msub = m.add_subparsers(dest="models_command", required=True)

    p = msub.add_parser("list", help="list registered models")
    p.add_argument("--json", action="store_true", help="print one JSON document")
    p.set_defaults(func=cmd_list)

    _add_parser(msub)

    p = msub.add_parser("kinds", help="list the model kinds (backends) and their capabilities")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_kinds)

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

    p = msub.add_parser("export", help="write a model as one GGUF file for llama.cpp/Ollama, "
                                       "with an Ollama Modelfile (adapters are merged first)")
    p.add_argument("id")
    p.add_argument("--format", default="gguf", help="gguf (the only format)")
    p.add_argument("--quant", default="q8_0", help="f16, q8_0 (default) or q4_0")
    p.add_argument("--out", required=True, metavar="DIR", help="folder to write into")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_export)

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





def _add_parser(msub) -> None:
    """`ladder models add`: one selecting flag per kind (or --kind NAME), then the flags of
    every kind's fields (core.models.kinds.Field); each kind accepts only its own."""
    addable = kinds.addable()
    p = msub.add_parser("add", help="register a model: " + "; ".join(
        f"{k.a_label} ({k.selector})" for k in addable))
    p.add_argument("id", help="short name for the model, e.g. gpt-4o-mini")
    p.add_argument("--kind", choices=[k.name for k in addable],
                   help="the model kind (see `ladder models kinds`); the built-in kinds are "
                   "also chosen by their own flag")
    seen = {"--kind"}
    for k in addable:
        for f in ([k.field_by_flag(k.cli_flag) or k.cli_flag] if k.cli_flag else []) + list(k.fields):
            flag = f if isinstance(f, str) else f.flag
            if flag in seen:
                continue
            seen.add(flag)
            if isinstance(f, str):  # a selector that carries no value
                p.add_argument(flag, action="store_true", help=f"add {k.a_label}")
            elif f.type == "flag":
                p.add_argument(flag, action="store_true", help=f.help)
            else:
                kind_of = {"number": _non_negative_float, "integer": _positive_int}.get(f.type, str)
                p.add_argument(flag, type=kind_of, metavar=f.metavar, help=f.help)
    p.add_argument("--no-verify", action="store_true",
                   help="do not send a test request before registering (kinds that verify)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_add)


def _given(args, flag: str):
    v = getattr(args, flag[2:].replace("-", "_"), None)
    return None if v is False else v


def _chosen_kind(args):
    chosen = {k.name: k for k in kinds.addable()
              if (args.kind == k.name) or (k.cli_flag and _given(args, k.cli_flag) is not None)}
    if not chosen:
        raise CliError("say which kind of model to add: " + ", ".join(
            k.selector for k in kinds.addable()) + " (see `ladder models kinds`)")
    if len(chosen) > 1:
        raise CliError(" and ".join(k.selector for k in chosen.values())
                       + " choose different kinds of model; give one")
    return next(iter(chosen.values()))


def cmd_add(args) -> int:
    from core.models.adding import add_model, blank

    kind = _chosen_kind(args)
    own = {f.flag for f in kind.fields} | {kind.cli_flag}
    for other in kinds.addable():
        for f in other.fields + ((other.field_by_flag(other.cli_flag) or other.cli_flag,)
                                 if other.cli_flag else ()):
            flag = f if isinstance(f, str) else f.flag
            if flag not in own and _given(args, flag) is not None:
                owners = [k.selector for k in kinds.addable()
                          if flag == k.cli_flag or k.field_by_flag(flag)]
                raise CliError(f"{flag} does not apply to {kind.selector}: {flag} only applies "
                               f"to {', '.join(owners)}")
    values = {f.name: _given(args, f.flag) for f in kind.fields}
    for f in kind.fields:
        if f.required and blank(values[f.name]):
            raise CliError(f"{kind.selector} needs {f.flag} {f.metavar or 'VALUE'} ({f.help})")
    added = add_model(_ws(), kind.name, args.id, values, verify=not args.no_verify)
    spec = added.spec
    emit(spec_record(spec) | added.extra, args.json, f"Registered '{spec.id}' ({spec.kind})"
         + (f": {added.detail}." if added.detail else "."))
    return 0


def spec_record(spec) -> dict:
    k = kinds.find(spec.kind)
    return spec.model_dump() | {
        "local": k.local if k else None, "hosted": k.hosted if k else None,
        "capabilities": k.capabilities() if k else None, "installed": k is not None}


def cmd_list(args) -> int:
    ws = _ws()
    specs = ws.registry.list()
    lines = [f"{'id':<28} {'kind':<10} {'price in/out per 1M':<22} {'hourly':<8} source"]
    for s in specs:
        k = kinds.find(s.kind)
        price = (f"${s.price_in_per_m:g} / ${s.price_out_per_m:g}"
                 if k and k.hosted and s.price_in_per_m is not None
                 and s.price_out_per_m is not None else "-")
        hourly = f"${s.hourly_cost:g}" if s.hourly_cost is not None else "-"
        kind = s.kind if k else f"{s.kind}?"
        lines.append(f"{s.id:<28} {kind:<10} {price:<22} {hourly:<8} {s.source}")
    if any(kinds.find(s.kind) is None for s in specs):
        lines.append("? a kind that is not installed here: see `ladder models kinds`")
    emit({"models": [spec_record(s) for s in specs]}, args.json, "\n".join(lines))
    return 0


def cmd_kinds(args) -> int:
    rows = [{"name": k.name, "label": k.label, "module": k.module, "addable": k.addable,
             "selector": k.selector if k.addable else None, **k.capabilities(),
             "tasks": list(k.tasks) if k.tasks else None,
             "flags": [f.flag for f in k.fields]} for k in kinds.all()]
    problems = kinds.problems()
    caps = list(kinds.CAPABILITIES)
    lines = [f"{'kind':<12} {'add with':<18} " + " ".join(f"{c:<10}" for c in caps)]
    for r in rows:
        lines.append(f"{r['name']:<12} {(r['selector'] or '-'):<18} "
                     + " ".join(f"{('yes' if r[c] else '-'):<10}" for c in caps))
    lines += [f"problem: {p}" for p in problems]
    emit({"kinds": rows, "problems": problems}, args.json, "\n".join(lines))
    return 0


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


def cmd_export(args) -> int:
    from pathlib import Path

    from core.models.export import ExportError, check_exportable, export_gguf

    ws = _ws()
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise CliError(f"--out {out} is a file; give a folder to write the GGUF into")
    try:
        check_exportable(ws, args.id, args.format.lower(), args.quant.lower())
        done = export_gguf(ws, args.id, out, args.quant.lower(), _progress)
    except ExportError as e:
        raise CliError(str(e)) from None
    rec = done.record()
    emit(rec, args.json, f"Wrote {rec['path']} ({rec['size_bytes'] / 1e6:,.1f} MB, "
                         f"{rec['quant']}, {rec['seconds']:.0f} s) and {rec['modelfile']}.\n"
                         f"Serve it: llama-server -m {rec['path']}   or   "
                         f"cd {out} && ollama create {args.id.replace('+', '-')} -f Modelfile")
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
