"""`ladder data label`: a registered model (the teacher) labels the unlabelled rows."""

from __future__ import annotations

import sys

from core.cli.args import positive_int as _positive_int
from core.cli.args import variant_from_file
from core.cli.args import workspace as _ws
from core.cli.data_records import version_record
from core.cli.output import emit


def register_label(dsub) -> None:
    p = dsub.add_parser(
        "label", help="let a registered model (the teacher) label the unlabelled rows; "
                      "writes a new version",
        description="The teacher answers each row without a target through the evaluation "
                    "engine; its parsed answer becomes the target and the column label_source "
                    "says teacher:MODEL (hand labels are kept, marked human). Answers are stored "
                    "as they arrive: run the same command again after a crash to resume.")
    p.add_argument("name")
    p.add_argument("--model", required=True, metavar="TEACHER", help="a registered model id")
    p.add_argument("--prompts", required=True, metavar="FILE", help="a YAML prompts file")
    p.add_argument("--variant", required=True, metavar="V", help="the variant of FILE to use")
    p.add_argument("--limit", type=_positive_int, metavar="N",
                   help="label at most N unlabelled rows (in file order)")
    p.add_argument("--gold", type=_positive_int, metavar="N",
                   help="keep N hand-labelled rows as the test split (measured against people)")
    p.add_argument("--labels", metavar="A,B,...",
                   help="the label set, when no row is labelled by hand yet (classification)")
    p.add_argument("--truncate", choices=["head", "tail"],
                   help="cut inputs too long for the teacher's context (tail: their end, head: "
                        "their beginning) instead of refusing")
    p.add_argument("--allow-one-label", action="store_true",
                   help="write the version even when the teacher gives every row the same label "
                        "(refused by default: it usually means a prompt or teacher problem)")
    p.add_argument("--version", type=_positive_int, metavar="N", help="default: the latest")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_label)


def _label_progress(done: int, total: int, eta: float | None) -> None:
    eta_s = f", ETA {eta:.0f}s" if eta is not None else ""
    print(f"\r[ladder] labelled {done}/{total} rows{eta_s}   ", end="", file=sys.stderr,
          flush=True)


def cmd_label(args) -> int:
    from core.labelling.teacher import PROVENANCE, label_dataset

    ws = _ws()
    chosen = variant_from_file(args.prompts, args.variant)
    labels = [x for x in (args.labels or "").split(",") if x.strip()] or None
    res = label_dataset(ws, args.name, args.model, chosen, limit=args.limit, gold=args.gold,
                        labels=labels, number=args.version, progress=_label_progress,
                        truncate=args.truncate, allow_one_label=args.allow_one_label)
    print(file=sys.stderr)  # ends the progress line (stderr, with or without --json)
    v, run = res.version, res.run
    text = (f"Saved '{v.dataset}' version {v.number} ({v.short}): {run.labelled} of {run.asked} "
            f"rows labelled by {run.model_id} (variant {run.variant}) in {run.model_s:.1f} s of "
            f"model time, cost ${run.cost_usd:.4f}"
            + (f"; {run.resumed} answers read back from an interrupted labelling" if run.resumed
               else "") + f". Column {PROVENANCE} says who labelled each row; version "
            f"{res.parent.number} is unchanged."
            if res.created else
            f"No change: these labels are already version {v.number} ({v.short}).")
    if run.gold:
        text += f"\nGold test split: {run.gold} hand-labelled rows."
    if run.check_rows:
        text += (f"\nCheck: the teacher gave the hand label on {run.check_agreement:.0%} of "
                 f"{run.check_rows} hand-labelled rows; a student learns its mistakes too, so "
                 "compare it with a classifier on your hand labels before relying on it.")
    if run.unparsed:
        text += (f"\n{len(run.unparsed)} answers named no label; those rows stay unlabelled: "
                 + ", ".join(f"row {u['row_id']} ({u['output'][:40]!r})"
                             for u in run.unparsed[:10])
                 + (" ..." if len(run.unparsed) > 10 else ""))
    if res.still_unlabelled:
        text += f"\n{res.still_unlabelled} rows are still unlabelled."
    if res.truncated:
        text += (f"\n{len(res.truncated)} inputs were cut ({args.truncate}) to fit the teacher's "
                 "context: rows " + ", ".join(map(str, res.truncated[:20]))
                 + (" ..." if len(res.truncated) > 20 else ""))
    emit({**version_record(v), "created": res.created, "parent_version": res.parent.number,
          "label_run": run.record(), "still_unlabelled": res.still_unlabelled,
          "provenance_column": PROVENANCE, "truncated_rows": res.truncated}, args.json, text)
    return 0
