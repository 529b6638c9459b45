"""`ladder data ...`: import, list, show, report, split, fix, export and delete datasets."""

from __future__ import annotations

import sys

from core.cli.args import positive_int as _positive_int
from core.cli.args import workspace as _ws
from core.cli.data_label import register_label
from core.cli.data_records import version_record as _vrec
from core.cli.output import emit


def register(sub) -> None:
    d = sub.add_parser("data", help="import datasets, check their quality, fix, split and export")
    dsub = d.add_subparsers(dest="data_command", required=True)

    p = dsub.add_parser("import", help="import a CSV/TSV, JSONL or Excel file as a dataset version")
    p.add_argument("path", help="the file to import")
    p.add_argument("--name", required=True, help="dataset name, e.g. tickets")
    p.add_argument("--input-col", required=True, metavar="COL",
                   help="column with the text sent to the model")
    p.add_argument("--target-col", required=True, metavar="COL",
                   help="column with the expected answer or label")
    p.add_argument("--context-col", metavar="COL", help="optional column with extra context")
    p.add_argument("--task", choices=["classification", "scale", "free_text"],
                   help="task type; inferred from the target column when left out")
    p.add_argument("--test-file", metavar="FILE",
                   help="the dataset's own test split (same columns); kept exactly as given")
    p.add_argument("--validation-file", metavar="FILE",
                   help="the dataset's own validation split (same columns)")
    p.add_argument("--split-col", metavar="COL",
                   help="column naming each row's split: train, validation (dev, val, valid) "
                        "or test")
    p.add_argument("--unlabelled", action="store_true",
                   help="the rows have no labels yet (the target column may be missing: it is "
                        "created empty, or partly empty); label them with `ladder data label`")
    p.add_argument("--sheet", metavar="NAME",
                   help="Excel: the sheet to import (required when several sheets hold data)")
    p.add_argument("--encoding", metavar="ENC",
                   help="the file's text encoding (e.g. utf-8, windows-1252) instead of "
                        "detecting it; bytes not valid in it are replaced and counted")
    p.add_argument("--json", action="store_true", help="print one JSON document")
    p.set_defaults(func=cmd_import)

    register_label(dsub)

    p = dsub.add_parser("list", help="list datasets with their latest version")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_list)

    p = dsub.add_parser("show", help="a dataset's versions and split counts per label")
    p.add_argument("name")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_show)

    p = dsub.add_parser("report", help="the data-quality report of a version")
    p.add_argument("name")
    _version_arg(p)
    p.add_argument("--threshold", type=float, default=0.95,
                   help="cosine similarity for near duplicates (default 0.95)")
    p.add_argument("--max-tokens", type=int, default=512,
                   help="flag rows longer than this many tokens (default 512)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_report)

    p = dsub.add_parser("split", help="make the train/validation/test split of a version")
    p.add_argument("name")
    p.add_argument("--val", type=float, default=0.1, help="validation fraction (default 0.1)")
    p.add_argument("--test", type=float, default=0.1, help="test fraction (default 0.1)")
    p.add_argument("--seed", type=int, default=0)
    _version_arg(p)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_split)

    p = dsub.add_parser("fix", help="drop rows by safe fixes; writes a new version")
    p.add_argument("name")
    p.add_argument("--drop-duplicates", action="store_true", help="drop exact duplicate rows")
    p.add_argument("--drop-empty", action="store_true", help="drop rows with empty input/target")
    p.add_argument("--drop-leakage", action="store_true",
                   help="drop train rows that (nearly) repeat a validation or test row")
    p.add_argument("--resolve-conflicts", choices=["majority", "drop", "first"],
                   help="inputs with different labels: keep the majority label (ties dropped), "
                        "drop them, or keep the first label")
    p.add_argument("--include-test", action="store_true",
                   help="let the fixes drop rows of the test file the import was given "
                        "(by default it is kept exactly as given)")
    p.add_argument("--threshold", type=float, default=0.95,
                   help="cosine similarity counted as leakage (default 0.95)")
    _version_arg(p)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_fix)

    p = dsub.add_parser("retask", help="the same rows under another task type; writes a new "
                        "version (its split kept)")
    p.add_argument("name")
    p.add_argument("--task", required=True, choices=["classification", "scale", "free_text"])
    _version_arg(p)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_retask)

    p = dsub.add_parser("export", help="write a version or one split as CSV or JSONL")
    p.add_argument("name")
    p.add_argument("--split", choices=["train", "validation", "test"])
    p.add_argument("--out", required=True, metavar="FILE", help="a .csv or .jsonl file")
    p.add_argument("--format", choices=["csv", "jsonl"], help="default: from --out")
    _version_arg(p)
    p.set_defaults(func=cmd_export)

    p = dsub.add_parser("delete", help="delete a dataset, or one of its versions")
    p.add_argument("name")
    _version_arg(p)
    p.set_defaults(func=cmd_delete)


def _version_arg(p) -> None:
    p.add_argument("--version", type=_positive_int, metavar="N", help="default: the latest")




def _progress(msg: str) -> None:
    print(f"[ladder] {msg}", file=sys.stderr, flush=True)


def cmd_import(args) -> int:
    from core import datasets

    ws = _ws()
    res = datasets.import_file(ws, args.path, name=args.name, input_col=args.input_col,
                               target_col=args.target_col, context_col=args.context_col,
                               task=args.task, test_file=args.test_file,
                               validation_file=args.validation_file, split_col=args.split_col,
                               unlabelled=args.unlabelled, sheet=args.sheet,
                               encoding=args.encoding)
    v, t = res.version, res.table
    if res.created:
        text = (f"Imported '{v.dataset}' version {v.number} ({v.short}): {v.rows} rows, "
                f"task {v.mapping.task}, read as {t.fmt} {t.encoding}".rstrip() + ".")
    else:
        text = (f"No change: '{v.dataset}' already holds this content as version {v.number} "
                f"({v.short}).")
    reason = datasets.explain_task(res.guess, v.mapping.task)
    if res.created:
        text += "".join(f"\nNote: {n}." for n in t.notes) + f"\nTask {reason}"
    rec = {**_vrec(v), "created": res.created, "format": t.fmt, "encoding": t.encoding,
           "delimiter": t.delimiter, "notes": t.notes, "split": None,
           "target_shape": res.guess.shape,
           "task_reason": reason, "unlabelled": len(datasets.unlabelled_rows(ws, v))}
    if rec["unlabelled"]:
        text += (f"\n{rec['unlabelled']} rows have no label yet: label them with `ladder data "
                 f"label {v.dataset} --model M --prompts FILE --variant V`; fine-tuning waits "
                 "until they are labelled (or dropped).")
    sp = datasets.get_split(ws, v)
    if v.given and sp is not None:
        rec["split"] = _split_rec(sp)
        text += "\n" + "\n".join(_split_lines(sp))
    emit(rec, args.json, text)
    return 0


def _split_rec(sp) -> dict:
    return {"val_ratio": sp.val_ratio, "test_ratio": sp.test_ratio, "seed": sp.seed,
            "stratified": sp.stratified, "given": list(sp.given), "sizes": sp.sizes(),
            "counts": sp.counts}


def _split_lines(sp) -> list[str]:
    """One line per split: its rows, where they came from, and the rows per label."""
    out = []
    for name, counts in sp.counts.items():
        origin = ("given" if name in sp.given and name != "train" else
                  "cut from train" if sp.given and name != "train" else "")
        out.append(f"  {name:<10} {sum(counts.values()):>6}  "
                   + (f"({origin}) " if origin else "")
                   + ", ".join(f"{k} {n}" for k, n in counts.items()))
    return out


def cmd_list(args) -> int:
    from core import datasets

    items = datasets.list_datasets(_ws())
    lines = [f"{'name':<24} {'version':<8} {'rows':>8}  {'task':<15} {'split':<6} input -> target"]
    for d in items:
        lines.append(f"{d['name']:<24} {d['version']:<8} {d['rows']:>8}  {d['task']:<15} "
                     f"{'yes' if d['split'] else 'no':<6} {d['input_col']} -> {d['target_col']}")
    if not items:
        lines = ["No datasets yet. Import one with `ladder data import PATH --name NAME "
                 "--input-col COL --target-col COL`."]
    emit({"datasets": items}, args.json, "\n".join(lines))
    return 0


def cmd_show(args) -> int:
    from core import datasets

    ws = _ws()
    vs = datasets.list_versions(ws, args.name)
    recs = []
    lines = [f"Dataset '{args.name}':"]
    for v in vs:
        sp = datasets.get_split(ws, v)
        rec = {**_vrec(v), "split": None, "unlabelled": len(datasets.unlabelled_rows(ws, v))}
        if sp is not None:
            rec["split"] = _split_rec(sp)
        recs.append(rec)
        lines.append(f"  v{v.number} {v.short} {v.rows} rows  {v.source}"
                     + (f"; {v.note}" if v.note else "")
                     + (f"; {rec['unlabelled']} unlabelled" if rec["unlabelled"] else ""))
        if sp is not None:
            lines += ["    " + line for line in _split_lines(sp)]
    emit({"name": args.name, "versions": recs}, args.json, "\n".join(lines))
    return 0


def cmd_report(args) -> int:
    from core import datasets

    ws = _ws()
    v, rep = datasets.report(ws, args.name, args.version, threshold=args.threshold,
                             max_tokens=args.max_tokens,
                             progress=None if args.json else _progress)
    emit(rep, args.json, report_text(rep))
    return 0


def report_text(rep: dict) -> str:
    mark = {"error": "✗", "warning": "!", "info": "i", "ok": "✓"}
    lines = [f"Quality report: '{rep['dataset']}' version {rep['version']} "
             f"({rep['rows']} rows, {rep['task']})"]
    for f in rep["findings"]:
        count = "-" if f["count"] is None else f["count"]
        line = f"  {mark[f['severity']]} {f['title']:<38} {count!s:>8}  {f['severity']}"
        if f["fix"]:
            line += f"  (fix: --{f['fix'].replace('_', '-')}"
            line += " majority|drop|first)" if f["fix"] == "resolve_conflicts" else ")"
        lines.append(line)
    res = rep.get("conflict_resolution") or {}
    if res.get("inputs"):
        lines += _conflict_lines(res, rep["rows"])
    if rep["label_counts"]:
        lines.append("  labels: " + ", ".join(f"{k} {n}" for k, n in rep["label_counts"].items()))
    ln = rep["lengths"]
    lines.append(f"  tokens ({ln['tokenizer']}): input p50 {ln['input']['p50']}, p95 "
                 f"{ln['input']['p95']}, max {ln['input']['max']}; total max {ln['total']['max']}")
    return "\n".join(lines)


def _conflict_lines(res: dict, rows: int) -> list[str]:
    """The conflict-fix preview: rows kept by each choice, per split and label, and notes."""
    from core.datasets.conflicts import preview_notes, preview_table

    keeps = res["keeps"]
    out = [f"  conflicting labels: {res['inputs']} inputs in {res['rows']} rows; rows kept of "
           f"{rows}: majority {keeps['majority']}, drop {keeps['drop']}, first "
           f"{keeps['first']} (fix: --resolve-conflicts majority|drop|first)"]
    table = preview_table(res)
    if len(table):
        out += ["    " + line for line in table.to_string(index=False).splitlines()]
    if (res.get("test_left") or {}).get("inputs"):
        k = res["with_test"]["keeps"]
        out.append(f"    rows kept with --include-test: majority {k['majority']}, drop "
                   f"{k['drop']}, first {k['first']}")
    out += [f"    note: {n}" for n in preview_notes(res)]
    return out


def cmd_split(args) -> int:
    from core import datasets

    v, sp = datasets.split(_ws(), args.name, args.val, args.test, args.seed, args.version)
    kept = [s for s in sp.given if s != "train"]
    lines = [f"Split '{v.dataset}' version {v.number} (seed {sp.seed}"
             + (", stratified" if sp.stratified else "")
             + (f"; {' and '.join(kept)} given by the import, kept as is" if kept else "") + "):"]
    lines += _split_lines(sp)
    from core.datasets.splits import split_warnings

    warnings = split_warnings(sp)
    lines += [f"Warning: {w}" for w in warnings]
    emit({"name": v.dataset, "version": v.number, **_split_rec(sp), "warnings": warnings},
         args.json, "\n".join(lines))
    return 0


def cmd_fix(args) -> int:
    from core import datasets
    from core.datasets.service import describe_left

    res = datasets.fix(_ws(), args.name, drop_duplicates=args.drop_duplicates,
                       drop_empty=args.drop_empty, drop_leakage=args.drop_leakage,
                       resolve_conflicts=args.resolve_conflicts, include_test=args.include_test,
                       number=args.version, threshold=args.threshold)
    v = res.version
    if res.created:
        text = (f"Saved '{v.dataset}' version {v.number} ({v.short}): {v.rows} rows, {v.note}; "
                f"version {res.parent.number} is unchanged.")
    elif res.removed.get("total"):
        text = f"No change: the fixed rows are already version {v.number} ({v.short})."
    else:
        text = f"Nothing to drop in '{v.dataset}' version {v.number}; no new version."
    left = res.left_in_test
    if left:
        text += (f"\nLeft in the given test file, as given: {describe_left(left)}; add "
                 "--include-test to drop them too (the test split then no longer matches the "
                 "file).")
    emit({**_vrec(v), "created": res.created, "removed": res.removed,
          "include_test": args.include_test, "left_in_given_test": left,
          "parent_version": res.parent.number if res.parent else None}, args.json, text)
    return 0


def cmd_export(args) -> int:
    from core import datasets

    path, fmt, rows = datasets.export(_ws(), args.name, args.out, args.split, args.format,
                                      args.version)
    what = f"the {args.split} split" if args.split else "all rows"
    print(f"Wrote {rows} rows ({what}) of '{args.name}' to {path} as {fmt}.")
    return 0


def cmd_retask(args) -> int:
    from core import datasets

    res = datasets.retask(_ws(), args.name, args.task, args.version)
    v = res.version
    text = (f"{'Saved' if res.created else 'No change: already held as'} '{v.dataset}' version "
            f"{v.number} ({v.short}): task {v.mapping.task}, {v.rows} rows, split kept. The "
            f"targets' shape suggests {res.guess.task}: {res.guess.reason.split(': ', 1)[1]}")
    emit({**_vrec(v), "created": res.created, "target_shape": res.guess.shape,
          "task_reason": datasets.explain_task(res.guess, v.mapping.task)}, args.json, text)
    return 0


def cmd_delete(args) -> int:
    from core import datasets

    gone = datasets.delete(_ws(), args.name, args.version)
    nums = ", ".join(str(v.number) for v in gone)
    print(f"Deleted '{args.name}' version{'s' if len(gone) > 1 else ''} {nums}.")
    return 0
