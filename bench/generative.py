"""Free-text tasks on real public datasets: prompted, dynamic-prompted and fine-tuned SmolLM2
against the systems published for each dataset, on the same test inputs and in each dataset's
standard metric.

For each dataset, in one run on this machine: three prompted variants (zero-shot, fixed
k-shot, similar-examples k-shot) through the evaluation engine with the product's default
scorer (`auto`), the Quick and the Balanced fine-tune presets (timed from the call to the
before/after result), each fine-tuned adapter evaluated on the same test inputs with the
same prompt as zero-shot, and the published system's own outputs for those inputs, all scored
with the same metric code:

| name | train | test | metric | published system (its outputs) |
|---|---|---|---|---|
| e2e | 4,672 pairs (547 inputs; the E2E dev set) | 630 inputs, 4,693 references | corpus BLEU (sacrebleu, all references), ROUGE-L (rouge-score, best reference) | TGen, the challenge baseline (Dušek et al., 2020): BLEU 65.93, ROUGE-L 68.50 on all 630 inputs |
| dialogsum | 500 dialogues (the DialogSum dev set) | 500 dialogues, 3 references each | ROUGE-1/2/L F1 (rouge-score, mean over references) | BART-large baseline outputs shipped with the dataset |
| sroie | 500 receipts (OCR lines -> a JSON object of company, date, address, total) | 126 receipts (a seeded 80/20 split of the 626 labelled ICDAR 2019 SROIE receipts) | field accuracy (json_fields), invalid JSON rate | none on this split |

The data are not in the repository. `prepare` converts the raw files, as published in the
public repositories below, into CSVs (checking their sha256):

| raw file | from |
|---|---|
| devset.csv, testset_w_refs.csv | github.com/tuetschek/e2e-dataset @ ab0d967 (trainset.csv is over the 4 MiB a snapshot keeps, so the dev set trains) |
| system_outputs/primary/tgen.tsv | github.com/tuetschek/e2e-eval @ 1b1f94c |
| DialogSum_Data/dialogsum.{dev,test}.jsonl, Baseline/test_output.txt | github.com/cylnlp/dialogsum @ 848cc8c (the train file is over 4 MiB: the dev set trains) |
| sroie/box/*.csv, sroie/key/*.json (the repository's data/box, data/key) | github.com/zzzDavid/ICDAR-2019-SROIE @ 27be427 |

    python bench/generative.py prepare --raw RAW_DIR --out DATA_DIR
    flock /tmp/ladder-heavy.lock python bench/generative.py run --data DATA_DIR
        [--only e2e,dialogsum] [--rows 100] [--skip-balanced] [--skip-finetune]
"""

from __future__ import annotations

import argparse
import csv
import hashlib
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

MODEL = "smollm2-135m-instruct"
RAW = {
    "devset.csv": "fc26b78cdb849c80545f513b223d1e051138b43882eeb79e3eb153e689c864f9",
    "testset_w_refs.csv": "edc8db685e39bb9824d5bd70c18b1c9b0412d14b527aa960e2d1c8251ee15ccd",
    "tgen.tsv": "eefca577ca4f5c9027119113adadba800d185289485bd9d775f72513898756a3",
    "dialogsum.dev.jsonl": "436721e0a3571eef7072964f80e042fb151d8c6178db1a688ce8f803bbf0a13f",
    "dialogsum.test.jsonl": "6de36eca7e7b9b10975fd5ea3f47391df172d8b3c15d03d84d763cbaab015fda",
    "test_output.txt": "eb29f483aa12ffd0aaed9cffd291eb06114bce1265d415227150b53b1f837b21",
}
SROIE_TREE = "5dc34b3e3b02f925fd799ce7c8d479b28c9b4a491baa8a4f9bc66616a10859ba"
DATASETS = {
    "e2e": dict(input="mr", target="ref", files=("e2e_train.csv", "e2e_test.csv"), shots=4,
                system="Write a one- or two-sentence description of the restaurant that mentions "
                       "every attribute given, and nothing else.",
                label="Attributes", answer="Description", metrics=("bleu", "rouge_l"),
                baseline="e2e_tgen.csv",
                published=("TGen (challenge baseline), all 630 test inputs",
                           {"bleu": 65.93, "rouge_l": 68.50})),
    "dialogsum": dict(input="dialogue", target="summary",
                      files=("dialogsum_train.csv", "dialogsum_test.csv"), shots=2,
                      system="Summarize the dialogue in one or two sentences. Call the speakers "
                             "#Person1# and #Person2# unless the dialogue names them.",
                      label="Dialogue", answer="Summary", metrics=("rouge_1", "rouge_2", "rouge_l_mean"),
                      baseline="dialogsum_bart.csv", published=None),
    "sroie": dict(input="receipt", target="fields", files=("sroie_train.csv", "sroie_test.csv"),
                  shots=1,
                  system="Read the scanned receipt's text lines and answer with one JSON object "
                         "with the keys company, date, address and total, their values copied "
                         "from the receipt.",
                  label="Receipt", answer="JSON", metrics=("fields", "invalid"),
                  baseline=None, published=None),
}


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _write(path: Path, header: list[str], rows) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)


def prepare(raw: Path, out: Path) -> None:
    """Raw files as published -> the CSVs `run` imports (train file, test file, baseline)."""
    out.mkdir(parents=True, exist_ok=True)
    for name, digest in RAW.items():
        if (raw / name).exists() and sha256(raw / name) != digest:
            raise SystemExit(f"{raw / name} is not the published file (sha256 differs)")
    if (raw / "devset.csv").exists():
        dev = list(csv.DictReader((raw / "devset.csv").open(encoding="utf-8")))
        test = list(csv.DictReader((raw / "testset_w_refs.csv").open(encoding="utf-8")))
        _write(out / "e2e_train.csv", ["mr", "ref"], [(r["mr"], r["ref"]) for r in dev])
        _write(out / "e2e_test.csv", ["mr", "ref"], [(r["mr"], r["ref"]) for r in test])
        tgen = list(csv.DictReader((raw / "tgen.tsv").open(encoding="utf-8"), delimiter="\t"))
        _write(out / "e2e_tgen.csv", ["input", "output"], [(r["MR"], r["output"]) for r in tgen])
    if (raw / "dialogsum.dev.jsonl").exists():
        dev = [json.loads(x) for x in (raw / "dialogsum.dev.jsonl").open(encoding="utf-8")]
        test = [json.loads(x) for x in (raw / "dialogsum.test.jsonl").open(encoding="utf-8")]
        _write(out / "dialogsum_train.csv", ["dialogue", "summary"],
               [(r["dialogue"], r["summary"]) for r in dev])
        _write(out / "dialogsum_test.csv", ["dialogue", "summary"],
               [(r["dialogue"], r[f"summary{k}"]) for r in test for k in (1, 2, 3)])
        bart = (raw / "test_output.txt").read_text(encoding="utf-8").split("\n")
        if len(bart) != len(test):
            raise SystemExit(f"test_output.txt has {len(bart)} lines for {len(test)} dialogues")
        _write(out / "dialogsum_bart.csv", ["input", "output"],
               [(r["dialogue"], o) for r, o in zip(test, bart, strict=True)])
    if (raw / "sroie").is_dir():
        _prepare_sroie(raw / "sroie", out)
    print(f"wrote {sorted(p.name for p in out.glob('*.csv'))} to {out}")


def _prepare_sroie(raw: Path, out: Path) -> None:
    """Each receipt's OCR lines (the 9th column on of its box file) -> its key as one-line
    JSON; a seeded 80/20 split by receipt."""
    import random

    from bench.realdata_sets import tree_digest

    if tree_digest(raw) != SROIE_TREE:
        raise SystemExit(f"{raw} is not the published SROIE data (its listing digest differs)")
    rows = []
    for key in sorted((raw / "key").glob("*.json")):
        lines = [r.split(",", 8)[8].strip() for r in
                 (raw / "box" / f"{key.stem}.csv").read_text(encoding="utf-8", errors="replace")
                 .splitlines() if r.count(",") >= 8]
        fields = json.loads(key.read_text(encoding="utf-8"))
        rows.append(("\n".join(x for x in lines if x), json.dumps(fields, ensure_ascii=False)))
    random.Random(0).shuffle(rows)
    cut = int(0.8 * len(rows))
    _write(out / "sroie_train.csv", ["receipt", "fields"], rows[:cut])
    _write(out / "sroie_test.csv", ["receipt", "fields"], rows[cut:])


# ---- the dataset's standard metrics, computed the same way for every system ----

def standard_metrics(outputs: list[str], refs: list[list[str]]) -> dict[str, float]:
    """Corpus BLEU over all references (sacrebleu, lowercased like the E2E challenge's script:
    on TGen's 630 test outputs it gives 65.93, the published figure) and ROUGE-1/2/L F1
    (rouge-score, stemmed):
    best reference (`rouge_l`, as E2E reports) and mean over references (`rouge_*_mean`,
    as DialogSum's three references are usually averaged). All on a 0-100 scale."""
    import numpy as np
    import sacrebleu
    from rouge_score import rouge_scorer

    width = max(len(r) for r in refs)
    streams = [[r[i] if i < len(r) else None for r in refs] for i in range(width)]
    bleu = sacrebleu.metrics.BLEU(lowercase=True).corpus_score(outputs, streams).score
    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=True)
    best = {k: [] for k in ("rouge1", "rouge2", "rougeL")}
    mean = {k: [] for k in best}
    for o, rs in zip(outputs, refs, strict=True):
        per = [scorer.score(r, o) for r in rs]
        for k in best:
            f = [p[k].fmeasure for p in per]
            best[k].append(max(f))
            mean[k].append(float(np.mean(f)))
    from core.evals.scorers.base import parse_json_object
    from core.evals.scorers.reference import json_fields

    out = {"bleu": bleu, "rouge_l": 100 * float(np.mean(best["rougeL"])),
           "fields": 100 * float(np.mean([json_fields(o, r).score
                                          for o, r in zip(outputs, refs, strict=True)])),
           "invalid": 100 * float(np.mean([parse_json_object(o or "") is None
                                           for o in outputs]))}
    for k, name in (("rouge1", "rouge_1"), ("rouge2", "rouge_2"), ("rougeL", "rouge_l_mean")):
        out[name] = 100 * float(np.mean(mean[k]))
    return out


def variants(name: str) -> list:
    from core.prompts.variants import Variant

    d = DATASETS[name]
    one = f"{d['label']}: {{input}}\n{d['answer']}:"
    ex = f"{d['label']}: {{input}}\n{d['answer']}: {{target}}"
    shots = "Examples:\n\n{examples}\n\n" + one
    k = d["shots"]
    return [
        Variant(name="zero-shot", system=d["system"], template=one),
        Variant(name=f"fixed {k}-shot", system=d["system"], template=shots, few_shot=k,
                example_template=ex),
        Variant(name=f"similar {k}-shot", system=d["system"], template=shots, few_shot=k,
                few_shot_mode="similar", example_template=ex),
    ]


def import_dataset(ws, name: str, data_dir: Path) -> None:
    from core.datasets import service

    d = DATASETS[name]
    train, test = d["files"]
    service.import_file(ws, data_dir / train, name=name, input_col=d["input"],
                        target_col=d["target"], task="free_text", test_file=data_dir / test)


def evaluate(ws, name: str, models: list[str], vs: list, rows: int) -> tuple[int, float]:
    from core.evals.config import EvalConfig
    from core.evals.engine import run_eval

    t0 = time.time()
    run_id = run_eval(ws, EvalConfig(dataset=name, split="test", models=models, variants=vs,
                                     limit=rows, seed=0))
    return run_id, time.time() - t0


def looping_rate(ws, run_id: int, model: str, variant: str) -> float:
    from core.evals.store import cells_frame

    c = cells_frame(ws, run_id)
    c = c[(c["model_id"] == model) & (c["variant"] == variant)]
    return float((c["error_kind"] == "looping").mean()) if len(c) else 0.0


def outputs_of(ws, run_id: int) -> dict[tuple[str, str], dict[int, str]]:
    from core.evals.store import cells_frame

    cells = cells_frame(ws, run_id)
    out: dict[tuple[str, str], dict[int, str]] = {}
    for r in cells.itertuples():
        out.setdefault((r.model_id, r.variant), {})[int(r.row_id)] = r.output or ""
    return out


FINISHED = ("succeeded", "stopped_early")


def finetune(ws, name: str, preset: str, variant) -> dict:
    """Run a preset (or, in a kept workspace, re-read the finished run of that preset):
    wall time from the call to the before/after result, what it saw, where its time went."""
    from core.finetune import build_config
    from core.finetune.service import get_run, list_runs, start
    from core.jobs.files import read_json

    done = [r for r in list_runs(ws) if r["status"] in FINISHED
            and r["config"].get("preset") == preset and r["dataset"] == name]
    if done:
        rec = done[0]
        wall, estimate = rec["finished_at"] - rec["created_at"], None
    else:
        t0 = time.time()
        started = start(ws, build_config(MODEL, name, preset, {"variant": variant.model_dump()}))
        while get_run(ws, started.run_id)["status"] in ("queued", "running"):
            time.sleep(5)
        rec = get_run(ws, started.run_id)
        wall, estimate = time.time() - t0, started.plan.estimate.seconds
    res = read_json(Path(rec["run_dir"]) / "results.json") or {}
    return {"preset": preset, "wall_s": wall, "status": rec["status"],
            "model_id": rec.get("model_id"), "examples": res.get("examples_seen"),
            "epochs": res.get("epochs_seen"), "share": res.get("validate_score_share"),
            "estimate_s": estimate, "before": rec.get("before"), "after": rec.get("after"),
            "error": rec.get("error"), "train_s": res.get("train_s"),
            "validate_s": res.get("validate_s"), "score_s": res.get("score_s"),
            "run_id": rec["run_id"]}


def run_dataset(name: str, data_dir: Path, rows: int, presets: list[str],
                home: Path | None = None, only_variants: tuple[str, ...] = ()) -> list[str]:
    from core.datasets.versions import list_datasets
    from core.evals.rows import load_rows
    from core.evals.summary import dynamic_gains, leaderboard
    from core.workspace import open_workspace

    # a kept workspace (--home) re-reads every prompted cell from the evaluation cache
    os.environ["LADDER_HOME"] = str(home / name) if home else tempfile.mkdtemp(
        prefix=f"bench-gen-{name}-")
    ws = open_workspace()
    if not any(d["name"] == name for d in list_datasets(ws)):
        import_dataset(ws, name, data_dir)
    d = DATASETS[name]
    vs = [v for v in variants(name) if not only_variants or v.name in only_variants]
    run_id, secs = evaluate(ws, name, [MODEL], vs, rows)
    board = {e["name"]: e for e in leaderboard(ws, run_id)}
    gains = dynamic_gains(ws, run_id)
    outs = outputs_of(ws, run_id)
    data = load_rows(ws, name, "test", limit=rows, seed=0)
    by_id = {r["row_id"]: r for r in data.rows}
    ids = sorted(outs[(MODEL, vs[0].name)])
    refs = [by_id[i].get("targets") or [by_id[i]["target"]] for i in ids]
    table = []

    def add(what, texts, extra):
        m = standard_metrics(texts, refs)
        table.append({"what": what, **m, **extra})
        print(json.dumps(table[-1], default=str), flush=True)

    for v in vs:
        e = board[v.name]
        add(f"prompted: {v.name}", [outs[(MODEL, v.name)][i] for i in ids],
            {"score": e["score"], "ci": (e["ci_low"], e["ci_high"]),
             "looping": looping_rate(ws, run_id, MODEL, v.name), "seconds": secs / len(vs)})
    for preset in presets:
        ft = finetune(ws, name, preset, vs[0])
        if ft["status"] not in FINISHED or not ft["model_id"]:
            table.append({"what": f"fine-tuned, {preset}", "error": ft["error"], **ft})
            continue
        rid, _ = evaluate(ws, name, [ft["model_id"]], [vs[0]], rows)
        e = leaderboard(ws, rid)[0]
        add(f"fine-tuned, {preset} preset (LoRA), zero-shot prompt",
            [outputs_of(ws, rid)[(ft["model_id"], vs[0].name)][i] for i in ids],
            {"score": e["score"], "ci": (e["ci_low"], e["ci_high"]),
             "looping": looping_rate(ws, rid, ft["model_id"], vs[0].name), **ft})
    if d["baseline"]:
        base = {r["input"].strip(): r["output"] for r in
                csv.DictReader((data_dir / d["baseline"]).open(encoding="utf-8"))}
        add("published system's outputs on the same inputs",
            [base.get(by_id[i]["input"].strip(), "") for i in ids], {})
    return render(name, d, table, gains, rows, board)


def render(name: str, d: dict, table: list[dict], gains: list[dict], rows: int,
           board: dict) -> list[str]:
    metrics = list(d["metrics"])
    scorer = next(iter(board.values())).get("scorer", "auto") if board else "auto"
    head = ["method"] + [m.replace("_", "-").upper() for m in metrics] + [
        f"product score ({scorer}, 95% CI)", "looping", "time", "of it training",
        "examples seen", "validation + scoring"]
    lines = [f"**{name}** ({rows} test inputs, seeded sample; the same inputs in every row)", "",
             "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]

    def minutes(t):
        return "-" if t is None else (f"{t:.0f} s" if t < 90 else f"{t / 60:.1f} min")

    for r in table:
        if "error" in r and r.get("error"):
            lines.append(f"| {r['what']} | failed: {r['error']} |" + " |" * (len(head) - 2))
            continue
        ci = r.get("ci")
        score = "-" if r.get("score") is None else (
            f"{100 * r['score']:.1f} ({100 * ci[0]:.1f}-{100 * ci[1]:.1f})")
        loop = "-" if r.get("looping") is None else f"{100 * r['looping']:.0f}%"
        seen = "-" if not r.get("examples") else f"{r['examples']:,} ({r['epochs']:.2f} ep.)"
        share = "-" if r.get("share") is None else f"{100 * r['share']:.0f}%"
        t = r.get("wall_s", r.get("seconds"))
        lines.append("| " + " | ".join([r["what"]] + [f"{r[m]:.1f}" for m in metrics] + [
            score, loop, minutes(t), minutes(r.get("train_s")), seen, share]) + " |")
    if d["published"]:
        who, nums = d["published"]
        lines.append("| published: " + who + " | " + " | ".join(
            f"{nums[m]:.2f}" if m in nums else "" for m in metrics) + " |" + " |" * 6)
    lines.append("")
    for g in gains:
        lines.append(f"- {g['dynamic']} against {g['static']} on {g['rows']} paired inputs: "
                     f"{g['verdict']}")
    return lines + [""]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    pp = sub.add_parser("prepare")
    pp.add_argument("--raw", type=Path, required=True)
    pp.add_argument("--out", type=Path, required=True)
    pr = sub.add_parser("run")
    pr.add_argument("--data", type=Path, required=True)
    pr.add_argument("--only", default="e2e,dialogsum")
    pr.add_argument("--rows", type=int, default=100)
    pr.add_argument("--skip-balanced", action="store_true")
    pr.add_argument("--balanced", default=None,
                    help="comma-separated datasets that also run Balanced (default: all)")
    pr.add_argument("--skip-finetune", action="store_true")
    pr.add_argument("--home", type=Path, default=None,
                    help="keep each dataset's workspace in HOME/NAME and reuse it")
    pr.add_argument("--no-write", action="store_true", help="print, leave RESULTS.md alone")
    pr.add_argument("--prompt-variants", default="",
                    help="comma-separated prompted variants (default all three; the first "
                         "one given is the fine-tunes' prompt)")
    pr.add_argument("--title", default="Free-text tasks on real data (issue 17)",
                    help="the bench/RESULTS.md section the table replaces")
    a = p.parse_args(argv)
    if a.cmd == "prepare":
        prepare(a.raw, a.out)
        return 0
    body = []
    for name in [x for x in a.only.split(",") if x]:
        balanced = not a.skip_balanced and (a.balanced is None or name in a.balanced.split(","))
        presets = [] if a.skip_finetune else ["quick"] + (["balanced"] if balanced else [])
        body += run_dataset(name, a.data, a.rows, presets, a.home,
                            tuple(x.strip() for x in a.prompt_variants.split(",") if x.strip()))
    flags = " ".join(f for f, on in ((f"--prompt-variants '{a.prompt_variants}'",
                                      a.prompt_variants),
                                     (f"--balanced {a.balanced}", a.balanced),
                                     ("--skip-balanced", a.skip_balanced),
                                     ("--skip-finetune", a.skip_finetune)) if on)
    body.append(f"Command: `python bench/generative.py run --data DATA --only {a.only} "
                f"--rows {a.rows} {flags}`; load average at the end {os.getloadavg()[0]:.2f}.")
    text = "\n".join(body)
    print(text)
    if not a.no_write:
        from bench._results import write_section

        write_section(a.title, text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
