"""Accuracy on real public datasets: what an analyst would otherwise use, against our rungs.

For each dataset, on its test split, in one run on this machine:
majority class; the best of three prompted variants (zero-shot, fixed 6-shot, similar
6-shot) on SmolLM2; the embedding classifier (MiniLM + logistic regression, trained on the
train split); the Quick and the Balanced fine-tune presets (wall time, examples seen,
test accuracy with a 95% interval); and the published accuracies for the dataset.

The data are not in the repository. `prepare` checks the raw files, as published in the
public repositories below (sha256 of each file; of the folder listing for 20 Newsgroups),
converts them into UTF-8 CSVs and writes `manifest.json` beside them (rows, classes, the
test file's class balance, the majority class and its test accuracy). The sets, their
conversion and their published accuracies are defined in bench/realdata_sets.py. Raw files
go under RAW/<name>/, named as in the repository:

| name | rows | classes | raw files (RAW/<name>/) | from | citation |
|---|---|---|---|---|---|
| trec | 5,452 train + 500 test | 6 | train_5500.label, TREC_10.label | github.com/FreedomIntelligence/qnn @ 77f5493 `data/TREC/` | Li & Roth, 2002 |
| sms | 5,572 (no test file) | 2 | spam.csv | github.com/982986869/SMS--SPAM-COLLECTION @ c520314 | UCI SMS Spam Collection, Almeida et al., 2011 |
| fpb | 4,846 (no test file) | 3 | all-data.csv | github.com/ishu121992/financial-news-sentiment-classification @ 5e03836 | Financial PhraseBank, 50% agreement; Malo et al., 2014 |
| finsent | 4,673 train + 584 validation + 585 test | 3 | train.csv, development.csv, test.csv (`data/{train,development,test}/`) | github.com/TheKvolts/CIS5300_Final_Project @ 541f037 | Kaggle "Financial Sentiment Analysis" (sbhatti: FiQA + Financial PhraseBank, 5,842 rows) split 80/10/10, seed 42 |
| news20 | 11,314 train + 7,532 test; run on 4,000 + 1,000 (seeded, stratified) | 20 | 20news-bydate-train/, 20news-bydate-test/ (`data/20ng/`) | github.com/yao8839836/text_gcn @ 9622236 | 20 Newsgroups by date, Lang 1995; Yao et al., 2019 |
| sst2 | 67,349 train + 872 test (GLUE's dev); run on 3,000 train (seeded, stratified) | 2 | train.tsv, dev.tsv, test.tsv (`data/SST-2/`) | github.com/forest-snow/alps @ 3c7ef2c | SST-2, Socher et al., 2013; GLUE, Wang et al., 2019 |
| clinc150 | 15,000 train + 3,000 validation + 4,500 test (in-scope) | 150 | data_full.json (`data/`) | github.com/clinc/oos-eval @ 828f809 | Larson et al., 2019 |

finsent is noisy: the Kaggle file merges FiQA and PhraseBank, 514 sentences occur with
two labels, and 78 test sentences also occur in train (77 of them with another label).
Published accuracies on each test file (several per set) are in realdata_sets.SETS; for
news20 and sst2 they were obtained with the whole train (and for news20 the whole test)
file, which the table notes. Sets with a test file are imported with it (`--test-file`;
finsent also with its validation file); sms and fpb are split 70/10/20 (stratified, seed 0)
by `ladder data split`.

    python bench/realdata.py prepare --raw RAW_DIR --out DATA_DIR [--only finsent,news20]
    flock /tmp/ladder-heavy.lock python bench/realdata.py run --data DATA_DIR [--only trec,sms]
        [--presets quick,balanced] [--approaches encoder,head,generate] [--prompt-rows 300]
        [--no-baselines] [--classifier-first] [--title "a bench/RESULTS.md section"]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("LADDER_MODEL_CACHE_DIR", str(ROOT / ".test-cache" / "models"))

from bench.realdata_sets import SETS as DATASETS  # noqa: E402
from bench.realdata_sets import prepare  # noqa: E402

MODEL = "smollm2-135m-instruct"


def import_dataset(ws, name: str, data_dir: Path) -> None:
    """Import one prepared dataset (with its own test file when it has one) and split it."""
    from core.datasets import service

    d = DATASETS[name]
    train, test = d.files
    val = d.validation_file
    service.import_file(ws, data_dir / train, name=name, input_col=d.input,
                        target_col=d.target, task="classification",
                        test_file=(data_dir / test) if test else None,
                        validation_file=(data_dir / val) if val else None)
    if not test:
        service.split(ws, name, val=0.1, test=0.2, seed=0)


def variants(name: str) -> list:
    from core.prompts.variants import Variant

    d = DATASETS[name]
    system = f"{d.task} Answer with one label: {{labels}}. Labels: {d.legend}."
    shots = "Examples:\n\n{examples}\n\nText: {input}\nLabel:"
    ex = "Text: {input}\nLabel: {target}"
    return [
        Variant(name="zero-shot", system=system, template="Text: {input}\nLabel:"),
        Variant(name="fixed 6-shot", system=system, template=shots, few_shot=6,
                example_template=ex),
        Variant(name="similar 6-shot", system=system, template=shots, few_shot=6,
                few_shot_mode="similar", example_template=ex),
    ]


def ci(passed: list[bool]) -> tuple[float, float, float]:
    from core.evals.stats import bootstrap_ci

    return bootstrap_ci([float(p) for p in passed])


def majority(ws, name: str) -> dict:
    from collections import Counter

    from core.evals.rows import load_rows

    data = load_rows(ws, name, "test")
    top = Counter(r["target"] for r in data.train_rows).most_common(1)[0][0]
    s, lo, hi = ci([r["target"] == top for r in data.rows])
    return {"what": f"majority class ('{top}')", "score": s, "ci": (lo, hi), "n": len(data.rows)}


def prompted(ws, name: str, rows: int | None, only: tuple[str, ...] = ()) -> list[dict]:
    from core.evals.config import EvalConfig
    from core.evals.engine import run_eval
    from core.evals.summary import leaderboard

    chosen = [v for v in variants(name) if not only or v.name in only]
    cfg = EvalConfig(dataset=name, split="test", models=[MODEL], variants=chosen,
                     limit=rows, seed=0)
    t0 = time.time()
    run_id = run_eval(ws, cfg)
    secs = time.time() - t0
    out = []
    for v in leaderboard(ws, run_id):
        out.append({"what": f"prompted: {v['name']}", "score": v["score"],
                    "ci": (v["ci_low"], v["ci_high"]), "n": v["n"],
                    "seconds": secs / len(cfg.variants)})
    return out


def classic(ws, name: str) -> dict:
    """MiniLM embeddings + scikit-learn logistic regression on the train split."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    from core.embeddings import embed
    from core.evals.rows import load_rows

    data = load_rows(ws, name, "test")
    t0 = time.time()
    x = np.asarray(embed([r["input"] for r in data.train_rows]))
    clf = LogisticRegression(max_iter=2000, C=4.0).fit(x, [r["target"] for r in data.train_rows])
    train_s = time.time() - t0
    pred = clf.predict(np.asarray(embed([r["input"] for r in data.rows])))
    s, lo, hi = ci([p == r["target"] for p, r in zip(pred, data.rows, strict=True)])
    return {"what": "embedding classifier (MiniLM + logistic regression)", "score": s,
            "ci": (lo, hi), "n": len(data.rows), "seconds": train_s}


def product_classifier(ws, name: str) -> dict:
    """The product's embedding classifier (`ladder models add --classifier`), trained before
    the fine-tunes as an analyst does on the comparison page: the runs then find it (their
    baseline and, for the encoder, their warm start) instead of training it in their budget."""
    from core.embeddings import embed
    from core.evals.rows import load_rows
    from core.models.classifier import add_classifier, load

    t0 = time.time()
    spec, _ = add_classifier(ws, f"{name}-classifier", name)
    secs = time.time() - t0
    clf = load(Path(spec.source))[0]
    data = load_rows(ws, name, "test")
    pred = clf.predict(embed([r["input"] for r in data.rows]))
    s, lo, hi = ci([p == r["target"] for p, r in zip(pred, data.rows, strict=True)])
    return {"what": f"embedding classifier, the product's ({name}-classifier), trained first",
            "score": s, "ci": (lo, hi), "n": len(data.rows), "seconds": secs}


def finetune(ws, name: str, preset: str, approach: str = "generate") -> dict:
    from core.finetune import build_config
    from core.finetune.service import get_run, start
    from core.jobs.files import read_json

    t0 = time.time()
    started = start(ws, build_config(MODEL, name, preset, {"approach": approach}))
    est = started.plan.estimate
    while get_run(ws, started.run_id)["status"] in ("queued", "running"):
        time.sleep(5)
    rec = get_run(ws, started.run_id)
    wall = time.time() - t0
    res = read_json(Path(rec["run_dir"]) / "results.json") or {}
    after = rec.get("after") or {}
    what = {"generate": "generative LoRA", "encoder": "MiniLM encoder fine-tune",
            "head": "LLM + classification head (LoRA)"}[approach]
    return {"what": f"{preset}: {what}", "score": after.get("score"),
            "ci": (after.get("ci_low"), after.get("ci_high")), "n": after.get("n"),
            "seconds": wall, "examples": res.get("examples_seen"),
            "epochs": res.get("epochs_seen"), "estimate_s": est.seconds,
            "share": res.get("validate_score_share"), "status": rec["status"],
            "before": (rec.get("before") or {}).get("score"),
            "vs_before": _vs_before(rec)}


def _vs_before(rec: dict) -> str | None:
    """The paired test against what `before` scored (the embedding classifier for a label
    predictor, the base model for a generative LoRA), on the run's test rows."""
    c, before = rec.get("comparison") or {}, rec.get("before") or {}
    if c.get("p_value") is None:
        return None
    who = "classifier" if before.get("model_id", "").endswith("-classifier") else "base"
    return (f"{100 * c['diff']:+.1f} pts vs {who} {100 * before['score']:.1f}% "
            f"(p = {c['p_value']:.2g}{', significant' if c.get('significant') else ''})")


def fmt(x, pct=True) -> str:
    return "-" if x is None else (f"{100 * x:.1f}%" if pct else f"{x}")


def table(name: str, rows: list[dict]) -> list[str]:
    d = DATASETS[name]
    lines = [f"**{name}** ({d.task})", "",
             "| method | test accuracy | 95% CI | rows | time | estimate | examples seen | "
             "validation + scoring | paired test on the same rows |",
             "|---|---|---|---|---|---|---|---|---|"]

    def minutes(t):
        return "-" if t is None else (f"{t:.0f} s" if t < 90 else f"{t / 60:.1f} min")

    for r in rows:
        lo, hi = r.get("ci") or (None, None)
        seen = "-" if not r.get("examples") else f"{r['examples']:,} ({r['epochs']:.2f} epochs)"
        share = "-" if r.get("share") is None else f"{100 * r['share']:.0f}%"
        lines.append(f"| {r['what']} | {fmt(r['score'])} | {fmt(lo)}-{fmt(hi)} | "
                     f"{r.get('n') or '-'} | {minutes(r.get('seconds'))} | "
                     f"{minutes(r.get('estimate_s'))} | {seen} | {share} | "
                     f"{r.get('vs_before') or '-'} |")
    for p in d.published:
        lines.append(f"| published: {p.what} | {100 * p.accuracy:.1f}% | | | | | | | |")
    lines += ["", f"Published accuracies: on {d.published_on}. Sources: "
              + "; ".join(dict.fromkeys(p.source for p in d.published)) + "."]
    return lines


def run(data_dir: Path, only: list[str], presets: tuple[str, ...], prompt_rows: int | None,
        baselines: bool = True, approaches: tuple[str, ...] = ("generate",),
        title: str | None = None, prompt_variants: tuple[str, ...] = (),
        classifier_first: bool = False) -> int:
    from core.workspace import open_workspace

    body = []
    for name in only:
        os.environ["LADDER_HOME"] = tempfile.mkdtemp(prefix=f"bench-real-{name}-")
        ws = open_workspace()
        import_dataset(ws, name, data_dir)
        rows = [majority(ws, name)]
        if baselines:
            rows += prompted(ws, name, prompt_rows, prompt_variants)
            rows.append(classic(ws, name))
        if classifier_first:
            rows.append(product_classifier(ws, name))
            print(json.dumps(rows[-1], default=str), flush=True)
        for preset in presets:
            for approach in approaches:
                rows.append(finetune(ws, name, preset, approach))
                print(json.dumps(rows[-1], default=str), flush=True)
        print(json.dumps(rows, default=str), flush=True)
        body += table(name, rows) + [""]
    body.append(f"Commands: `python bench/realdata.py prepare --raw RAW --out DATA`, then "
                f"`python bench/realdata.py run --data DATA --only {','.join(only)}`"
                + f" --presets {','.join(presets)} --approaches {','.join(approaches)}"
                + (" --no-baselines" if not baselines else "")
                + (" --classifier-first" if classifier_first else "")
                + (f" --prompt-variants '{','.join(prompt_variants)}'" if prompt_variants else "")
                + ". Prompted variants on "
                + (f"a seeded sample of {prompt_rows} test rows" if prompt_rows else
                   "every test row") + f"; 1-minute load average at the end "
                f"{os.getloadavg()[0]:.2f} (2 cores).")
    text = "\n".join(body)
    print(text)
    if title:  # only when asked: a subset run once replaced the whole table
        from bench._results import write_section

        write_section(title, text)
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    pp = sub.add_parser("prepare")
    pp.add_argument("--raw", type=Path, required=True)
    pp.add_argument("--out", type=Path, required=True)
    pp.add_argument("--only", default=None,
                    help="comma-separated set names (default: every set found under --raw)")
    pr = sub.add_parser("run")
    pr.add_argument("--data", type=Path, required=True)
    pr.add_argument("--only", default="trec,sms")
    pr.add_argument("--skip-balanced", action="store_true", help="the same as --presets quick")
    pr.add_argument("--prompt-variants", default="",
                    help="comma-separated prompted variants to run (default all three: "
                         "zero-shot, fixed 6-shot, similar 6-shot; six long posts make a prompt "
                         "of thousands of tokens)")
    pr.add_argument("--presets", default="quick,balanced",
                    help="comma-separated presets to fine-tune with (default quick,balanced)")
    pr.add_argument("--prompt-rows", type=int, default=None)
    pr.add_argument("--no-baselines", action="store_true",
                    help="only the majority class and the fine-tunes (the prompted variants and "
                         "the classifier take minutes and do not change with the fine-tuning)")
    pr.add_argument("--approaches", default="generate",
                    help="comma-separated fine-tuning approaches: generate, encoder, head")
    pr.add_argument("--classifier-first", action="store_true",
                    help="train the product's embedding classifier before the fine-tunes (as "
                         "an analyst does): the runs start from it instead of training it "
                         "inside their budget")
    pr.add_argument("--title", default=None,
                    help="the bench/RESULTS.md section the table replaces (none: printed only; "
                         "the first table is 'Real-data accuracy (issue 12)')")
    a = p.parse_args(argv)
    if a.cmd == "prepare":
        prepare(a.raw, a.out, [x for x in a.only.split(",") if x] if a.only else None)
        return 0
    presets = tuple(x for x in a.presets.split(",") if x)
    if a.skip_balanced:
        presets = tuple(x for x in presets if x != "balanced")
    return run(a.data, [x for x in a.only.split(",") if x], presets, a.prompt_rows,
               not a.no_baselines, tuple(x for x in a.approaches.split(",") if x), a.title,
               tuple(x.strip() for x in a.prompt_variants.split(",") if x.strip()),
               a.classifier_first)


if __name__ == "__main__":
    sys.exit(main())
