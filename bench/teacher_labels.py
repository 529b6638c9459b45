"""Teacher labels on real data: do a small teacher's labels help beyond the hand labels?

    python bench/teacher_labels.py --data DATA [--set finsent] [--hand 200] [--limit 1000]

DATA holds `<set>_train.csv` / `_validation.csv` / `_test.csv` (`bench/realdata.py
prepare`). In a fresh workspace: the train file with every label hidden except `--hand`
rows (seeded), imported with its own validation and test files (the test file is the gold
standard: people's labels); the packaged SmolLM2 labels `--limit` of the hidden rows with
a 6-shot prompt from the real-data table (`--variant`: fixed examples, or the 6 most
similar to the row; drawn from the hand-labelled rows) through `ladder data label`; then three embedding
classifiers, in the same run, on the given test file: trained on the hand labels only
(the baseline: what the analyst has without a teacher), on hand + teacher labels (the
student), and on every true label (the ceiling). Also: the teacher's own accuracy on the
test file and on the rows it labelled (against the hidden truth), its time and cost.
Writes a section of bench/RESULTS.md unless --no-write.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from bench._workspace import ladder_json, scratch_workspace  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True, type=Path)
    ap.add_argument("--set", default="finsent")
    ap.add_argument("--hand", type=int, default=200)
    ap.add_argument("--limit", type=int, default=1000)
    ap.add_argument("--teacher", default="smollm2-135m-instruct")
    ap.add_argument("--variant", default="fixed 6-shot",
                    help="a variant of bench/realdata.py (similar 6-shot is better and about "
                         "10x slower: its examples differ per row, so no prefix is shared)")
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    scratch = scratch_workspace("ladder-bench-teacher-")

    from bench.realdata import variants
    from core.datasets import versions as store
    from core.prompts.files import dump_prompts
    from core.workspace import open_workspace

    run = ladder_json
    d = args.data
    train = pd.read_csv(d / f"{args.set}_train.csv", dtype=str, keep_default_na=False)
    text_col, label_col = train.columns[0], train.columns[1]
    keep = np.random.default_rng(0).permutation(len(train))[:args.hand]
    hidden = train.copy()
    mask = np.ones(len(train), dtype=bool)
    mask[keep] = False
    hidden.loc[mask, label_col] = ""
    hidden.to_csv(scratch / "train_hidden.csv", index=False)
    train.to_csv(scratch / "train_true.csv", index=False)
    files = ["--test-file", str(d / f"{args.set}_test.csv")]
    if (d / f"{args.set}_validation.csv").exists():
        files += ["--validation-file", str(d / f"{args.set}_validation.csv")]
    common = ["--input-col", text_col, "--target-col", label_col, "--task", "classification"]
    run("data", "import", str(scratch / "train_hidden.csv"), "--name", "hidden", *common, *files)
    run("data", "import", str(scratch / "train_true.csv"), "--name", "truth", *common, *files)
    ws = open_workspace()
    best = next(v for v in variants(args.set) if v.name == args.variant)
    prompts = scratch / "prompts.yaml"
    prompts.write_text(dump_prompts([best]))

    run("models", "add", "clf-hand", "--classifier", "--data", "hidden")
    t0 = time.perf_counter()
    lab = run("data", "label", "hidden", "--model", args.teacher, "--prompts", str(prompts),
              "--variant", best.name, "--limit", str(args.limit))
    label_wall = time.perf_counter() - t0
    r = lab["label_run"]
    new = store.load_frame(ws, store.get_version(ws, "hidden"))
    head = new.iloc[:len(train)]  # the import stacks train, then validation and test
    assert head[text_col].tolist() == train[text_col].tolist()
    taught = head["label_source"].str.startswith("teacher:").to_numpy()
    label_acc = float((head[label_col].to_numpy()[taught]
                       == train[label_col].to_numpy()[taught]).mean())
    run("models", "add", "clf-student", "--classifier", "--data", "hidden")
    run("models", "add", "clf-true", "--classifier", "--data", "truth")
    out = run("compare", "--data", "hidden", "--models",
              f"{args.teacher},clf-hand,clf-student,clf-true", "--prompts", str(prompts),
              "--volume", "100000")
    by = {m["model"]: m for m in out["models"]}

    def row(name: str, what: str) -> str:
        m = by[name]
        return (f"| {what} | {m['score']:.1%} [{m['ci_low']:.1%}, {m['ci_high']:.1%}] | "
                f"{m['cost_per_1k_usd']:.4f} |")

    n_test = by["clf-hand"]["n"]
    lines = ["| option (trained on) | accuracy on the given test file [95% CI] | $ / 1k requests |",
             "|---|---|---|",
             row(args.teacher, f"teacher: {args.teacher}, {args.variant} from the "
                               f"{args.hand} hand labels"),
             row("clf-hand", f"embedding classifier, {args.hand} hand labels only"),
             row("clf-student", f"embedding classifier, {args.hand} hand + "
                                f"{r['labelled']} teacher labels"),
             row("clf-true", f"embedding classifier, all {len(train)} true labels (ceiling)")]
    body = (f"`python bench/teacher_labels.py --data DATA --set {args.set} --hand {args.hand} "
            f"--limit {args.limit} --variant '{args.variant}'` — {args.set} ({len(train)} train rows): "
            f"train labels hidden except {args.hand} (seeded); {args.teacher} labelled "
            f"{r['asked']} hidden rows with `ladder data label` in {r['model_s']:.0f} s of model "
            f"time ({label_wall:.0f} s wall, ${r['cost_usd']:.4f} at the packaged model's "
            f"hourly cost), {len(r['unparsed'])} answers unparsed; its labels agree with the "
            f"hidden truth on {label_acc:.1%} of those rows (the labelling's own check, before "
            f"writing: the hand label on {r['check_agreement']:.0%} of {r['check_rows']} "
            "hand-labelled rows). All options on the same "
            f"{n_test} rows of the given test file (people's labels).\n\n" + "\n".join(lines))
    if out.get("distillation"):
        body += "\n\n" + "\n".join(f"- {x['text']}" for x in out["distillation"])
    print(body)
    if not args.no_write:
        from bench._results import write_section

        write_section(f"Teacher labels on real data: {args.set} (issue 20)", body)


if __name__ == "__main__":
    main()
