"""The public datasets of bench/realdata.py: raw files, their conversion to CSVs, published accuracies.

Each `RealSet` says where its raw files come from (repository @ commit), how to check them
(sha256 of each file, or of a folder's listing), how they become the train / validation /
test CSVs that `run` imports, what the dataset means (the task and label legend a prompt
states) and the published accuracies on its test file. `prepare` writes the CSVs (UTF-8)
and a `manifest.json` with what was checked: rows, classes, the test file's class balance,
the majority class of train and its accuracy on test, test inputs also present in train.

Trade-off: a set whose test file is too large for this 2-core CPU (20 Newsgroups) is cut to
a seeded, label-stratified sample of its given files (rows kept in file order); the full
conversions are written beside the sample (`*_full.csv`), and the published accuracies
still refer to the whole test file, which the table says.
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

SEED = 0


@dataclass(frozen=True)
class Published:
    what: str
    accuracy: float
    source: str


@dataclass(frozen=True)
class RealSet:
    name: str
    input: str
    target: str
    task: str
    legend: str
    raw: dict[str, str | None]  # path under RAW/<name>/ -> sha256 (None: checked by rows)
    convert: Callable[[Path], dict[str, pd.DataFrame]]  # RAW/<name> -> {"train", ...}
    rows: dict[str, int]  # rows each converted part must have
    published: tuple[Published, ...]
    published_on: str = "the same test rows"
    sample: dict[str, int] | None = None  # rows per part written for `run` (seeded)
    majority: float | None = None  # majority-class accuracy on test, as published

    @property
    def files(self) -> tuple[str, str | None]:
        """(train or only file, test file or None) as written to the data folder."""
        if "test" not in self.rows:
            return f"{self.name}.csv", None
        return f"{self.name}_train.csv", f"{self.name}_test.csv"

    @property
    def validation_file(self) -> str | None:
        return f"{self.name}_validation.csv" if "validation" in self.rows else None


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def tree_digest(folder: Path) -> str:
    """sha256 of the sorted 'relative path<TAB>sha256' lines of every file under `folder`."""
    lines = sorted(f"{p.relative_to(folder).as_posix()}\t{sha256(p)}"
                   for p in folder.rglob("*") if p.is_file())
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


# --- conversions: RAW/<name> -> {"train"|"validation"|"test"|"all": frame} ---------------

def _trec(raw: Path) -> dict[str, pd.DataFrame]:
    out = {}
    for part, src in (("train", "train_5500.label"), ("test", "TREC_10.label")):
        rows = []
        for line in (raw / src).read_text(encoding="latin-1").splitlines():
            if line.strip():
                label, question = line.split(" ", 1)
                rows.append({"question": question.strip(), "label": label.split(":")[0],
                             "fine_label": label})
        out[part] = pd.DataFrame(rows)
    return out


def _sms(raw: Path) -> dict[str, pd.DataFrame]:
    d = pd.read_csv(raw / "spam.csv", encoding="latin-1")
    msg = d.iloc[:, 1].astype(str)
    for c in d.columns[2:]:  # this copy split some messages at commas: join them back
        msg = msg.where(d[c].isna(), msg + "," + d[c].astype(str))
    return {"all": pd.DataFrame({"message": msg, "label": d.iloc[:, 0]})}


def _fpb(raw: Path) -> dict[str, pd.DataFrame]:
    d = pd.read_csv(raw / "all-data.csv", encoding="latin-1")  # this copy has a header
    d.columns = ["label", "sentence"]
    return {"all": d[["sentence", "label"]]}


def _finsent(raw: Path) -> dict[str, pd.DataFrame]:
    parts = {"train": "train.csv", "validation": "development.csv", "test": "test.csv"}
    return {part: pd.read_csv(raw / f).rename(columns={"Sentence": "sentence"})
            .assign(label=lambda d: d["Sentiment"])[["sentence", "label"]]
            for part, f in parts.items()}


def _news20_text(path: Path) -> str:
    """One post on one line, as Text GCN's corpus holds it (headers kept; newlines and other
    control characters become spaces, runs of spaces one)."""
    text = path.read_bytes().decode("latin-1")
    return " ".join("".join(" " if c < " " or "\x7f" <= c <= "\x9f" else c
                            for c in text).split())


def _news20(raw: Path) -> dict[str, pd.DataFrame]:
    out = {}
    for part in ("train", "test"):
        folder = raw / f"20news-bydate-{part}"
        rows = [{"text": _news20_text(f), "label": group.name, "file": f.name}
                for group in sorted(folder.iterdir())
                for f in sorted(group.iterdir(), key=lambda p: int(p.name))]
        # the folders have no order of their own: a seeded shuffle, not one group after another
        out[part] = pd.DataFrame(rows).sample(frac=1, random_state=SEED, ignore_index=True)
    return out


def _clinc150(raw: Path) -> dict[str, pd.DataFrame]:
    """The 150 in-scope intents of the "full" file (its out-of-scope queries left out)."""
    d = json.loads((raw / "data_full.json").read_text(encoding="utf-8"))
    return {part: pd.DataFrame(d[key], columns=["query", "intent"])
            for part, key in (("train", "train"), ("validation", "val"), ("test", "test"))}


def _sst2(raw: Path) -> dict[str, pd.DataFrame]:
    def tsv(name):
        d = pd.read_csv(raw / name, sep="\t", quoting=csv.QUOTE_NONE, keep_default_na=False)
        return pd.DataFrame({"sentence": d["sentence"].str.strip(),
                             "label": d["label"].map({0: "negative", 1: "positive"})})
    # this repository re-split GLUE's train into train.tsv + dev.tsv; its test.tsv is GLUE's dev
    return {"train": pd.concat([tsv("train.tsv"), tsv("dev.tsv")], ignore_index=True),
            "test": tsv("test.tsv")}


NEWS20_GROUPS = (
    "the Usenet newsgroup the post was sent to. alt.atheism, soc.religion.christian, "
    "talk.religion.misc = religion; comp.graphics, comp.os.ms-windows.misc, "
    "comp.sys.ibm.pc.hardware, comp.sys.mac.hardware, comp.windows.x = computers; "
    "misc.forsale = things for sale; rec.autos, rec.motorcycles, rec.sport.baseball, "
    "rec.sport.hockey = cars, motorcycles and sport; sci.crypt, sci.electronics, sci.med, "
    "sci.space = cryptography, electronics, medicine, space; talk.politics.guns, "
    "talk.politics.mideast, talk.politics.misc = politics")

KVOLTS = "github.com/TheKvolts/CIS5300_Final_Project @ 541f037, README (Results Summary)"
TEXTGCN = "Yao, Mao & Luo, Graph Convolutional Networks for Text Classification, AAAI 2019"
BERTGCN = ("Lin et al., BertGCN, Findings of ACL 2021, main results (github.com/ZeroRin/BertGCN "
           "@ 5ef65b0 README)")
CLINC = ("Larson et al., An Evaluation Dataset for Intent Classification and Out-of-Scope "
         "Prediction, EMNLP 2019, Table 2 (Full, oos-train, in-scope accuracy)")
SST2_CARD = ("Sanh et al., DistilBERT, 2019; model card of "
             "distilbert-base-uncased-finetuned-sst-2-english")

SETS: dict[str, RealSet] = {s.name: s for s in (
    RealSet("trec", "question", "label", "What does this question ask for?",
            "ABBR = an abbreviation or its expansion, DESC = a description, definition, manner "
            "or reason, ENTY = an entity (thing, animal, colour, event, product, ...), HUM = a "
            "person or group, LOC = a location, NUM = a number, date, amount or duration",
            {"train_5500.label": "8bd6e79493f43bbd22c364587366a1dced54e1e31259eaa92721a0f526031116",
             "TREC_10.label": "86ad53c8fc9d397ab2f4be7c967d8efb470b260140557d3e57afad69d1b88b76"},
            _trec, {"train": 5452, "test": 500},
            (Published("CNN with fine-tuned word vectors (Kim, 2014)", 0.936,
                       "Kim, Convolutional Neural Networks for Sentence Classification, "
                       "EMNLP 2014, Table 2 (CNN-non-static)"),)),
    RealSet("sms", "message", "label", "Is this SMS message spam?",
            "spam = unsolicited advertising, prizes, premium-rate offers; ham = an ordinary "
            "personal message",
            {"spam.csv": "2cbd32a90236d1912ae5c60ccf88b675b7638fbe9b3e7c33297b0d9abc8d6379"},
            _sms, {"all": 5572},
            (Published("linear SVM (Almeida et al., 2011)", 0.9764,
                       "Almeida, Gómez Hidalgo & Yamakami, DocEng 2011"),),
            published_on="a train/test split of its own, not ours"),
    RealSet("fpb", "sentence", "label",
            "What is the sentiment of this financial news sentence for the company?",
            "positive, negative or neutral",
            {"all-data.csv": "da2a57789cc6099aa27c6300550ca46d8351f9b4a6c8b03e32cf8081dd236d15"},
            _fpb, {"all": 4846},
            (Published("FinBERT, fine-tuned (Araci, 2019)", 0.86,
                       "Araci, FinBERT, arXiv:1908.10063, Table 2 (all data)"),),
            published_on="a test split of its own, not ours"),
    RealSet("finsent", "sentence", "label",
            "What is the sentiment of this financial news sentence or post for the company "
            "or stock it is about?",
            "positive = good news for it, negative = bad news for it, neutral = neither",
            {"train.csv": "d41026f331781ad0dfa28969eb5bd2e8bf55148a78eb5ff379ab918903f5136a",
             "development.csv": "9cba1cba1ff96310c7347cb0d3ac31ca190028f621d8131ad5ec9d6e9ddb6922",
             "test.csv": "beb25a262c0ecf5d29fe5100e134b377bf1b685a28dfd28ee5e46f319b44cae5"},
            _finsent, {"train": 4673, "validation": 584, "test": 585},
            # accuracies from the README's results summary; the prediction files behind them
            # (output/baseline(milestone2)/strong_baseline_test_predictions.csv,
            # output/extension1(milestone3)/strategy1{a,b}_*_predictions.csv,
            # code/extension2-finetune-llama/data/test_results.csv) re-score to the same values
            (Published("FinBERT (ProsusAI/finbert), not fine-tuned", 0.7436, KVOLTS),
             Published("FinBERT fine-tuned, cross-entropy", 0.7726, KVOLTS),
             Published("FinBERT fine-tuned, class-weighted", 0.8017, KVOLTS),
             Published("Llama 3.1 8B Instruct, QLoRA r=16, 3 epochs", 0.8256, KVOLTS)),
            published_on="the same 585 test rows (a course project; its prediction files "
                         "re-scored here give the same accuracies)",
            majority=284 / 585),
    RealSet("news20", "text", "label", "Which newsgroup was this post sent to?",
            NEWS20_GROUPS,
            {"20news-bydate-train": "2e49ee366515431910793699a0212a09bf3251f7f638eb7d429ad17e4865b265",
             "20news-bydate-test": "c2d70915af50c3d4f46966d09ae09887dd8af927b3eaaccc3237403943abad34"},
            _news20, {"train": 11314, "test": 7532},
            (Published("TF-IDF + logistic regression", 0.8319, f"{TEXTGCN}, Table 2"),
             Published("Text GCN", 0.8634, f"{TEXTGCN}, Table 2"),
             Published("BERT-base, fine-tuned", 0.853, BERTGCN),
             Published("RoBERTa-base, fine-tuned", 0.838, BERTGCN),
             Published("BertGCN", 0.893, BERTGCN)),
            published_on="the whole 7,532-row test file, trained on all 11,314 train rows "
                         "(the run uses a seeded 1,000-row sample of that test file and 4,000 "
                         "train rows)",
            sample={"train": 4000, "test": 1000}),
    RealSet("sst2", "sentence", "label", "Is this sentence from a movie review positive or "
            "negative about the film?",
            "positive = the reviewer likes it, negative = the reviewer does not",
            {"train.tsv": "920e317b2c52e12cd22db1da2c6708312bd7dc4f3712b9bbf1b50ee6c2c792ba",
             "dev.tsv": "92353770071a2a889f75d000a38a9e541ea8f0a5499e50f040b17917a5cbf66f",
             "test.tsv": "54a9c12c77e402fc14d6a66a506f24d999f596b0176eb777c972cccc2f9cc4b0"},
            _sst2, {"train": 67349, "test": 872},
            (Published("BERT-base, fine-tuned", 0.927, SST2_CARD),
             Published("DistilBERT-base, fine-tuned", 0.913, SST2_CARD)),
            published_on="the same 872 rows (GLUE's dev file), trained on all 67,349 train "
                         "phrases (the run uses a seeded sample of 3,000)",
            sample={"train": 3000}),
    RealSet("clinc150", "query", "intent", "Which of the assistant's 150 intents does this "
            "query ask for?",
            "the intent names are snake_case actions or questions of a virtual assistant in 10 "
            "domains (banking, credit cards, work, travel, auto and commute, home, utility, "
            "kitchen and dining, small talk, meta), e.g. transfer, pto_request, translate",
            {"data_full.json": "36923c3705a59e08fe9c3883d8bc2dd966ef93e22cb78ac41171782a698d56e0"},
            _clinc150, {"train": 15000, "validation": 3000, "test": 4500},
            (Published("FastText", 0.890, CLINC), Published("SVM, bag of words", 0.910, CLINC),
             Published("MLP over USE embeddings", 0.935, CLINC),
             Published("BERT, fine-tuned", 0.969, CLINC)),
            published_on="the same 4,500 in-scope test queries; the paper's models also learned "
                         "a 151st out-of-scope class from 100 more train queries",
            majority=30 / 4500),
)}


# --- prepare -------------------------------------------------------------------------------

def check_raw(s: RealSet, raw: Path) -> None:
    for rel, digest in s.raw.items():
        path = raw / rel
        if not path.exists():
            raise SystemExit(f"{path} is missing (see the table in bench/realdata.py)")
        got = tree_digest(path) if path.is_dir() else sha256(path)
        if digest and got != digest:
            raise SystemExit(f"{path} is not the published file (sha256 {got[:12]} differs)")


def stratified(frame: pd.DataFrame, n: int, target: str) -> pd.DataFrame:
    """`n` rows drawn per label in proportion (seed 0), in the frame's order."""
    if n >= len(frame):
        return frame
    from sklearn.model_selection import train_test_split

    keep, _ = train_test_split(frame, train_size=n, stratify=frame[target], random_state=SEED)
    return keep.sort_index()


def words(frame: pd.DataFrame, col: str) -> dict:
    n = frame[col].astype(str).str.split().str.len()
    return {"median": float(n.median()), "p90": float(n.quantile(0.9)), "max": int(n.max())}


def check(s: RealSet, parts: dict[str, pd.DataFrame]) -> dict:
    """What `prepare` verifies and records for one set (before sampling)."""
    for part, want in s.rows.items():
        if len(parts[part]) != want:
            raise SystemExit(f"{s.name}: the {part} part has {len(parts[part]):,} rows; the "
                             f"published file has {want:,}")
    info = {"rows": {p: len(f) for p, f in parts.items()},
            "classes": sorted(set().union(*(set(f[s.target]) for f in parts.values()))),
            "words": {p: words(f, s.input) for p, f in parts.items()}}
    if "test" in parts:
        train, test = parts["train"], parts["test"]
        unseen = sorted(set(test[s.target]) - set(train[s.target]))
        if unseen:
            raise SystemExit(f"{s.name}: test labels {unseen} never occur in train")
        top = Counter(train[s.target]).most_common(1)[0][0]
        acc = float((test[s.target] == top).mean())
        if s.majority is not None and abs(acc - s.majority) > 1e-9:
            raise SystemExit(f"{s.name}: majority accuracy {acc:.4f} on test, published "
                             f"{s.majority:.4f}: not the published split")
        seen: dict[str, set] = {}
        for x, y in zip(train[s.input], train[s.target], strict=True):
            seen.setdefault(x, set()).add(y)
        both = test[test[s.input].isin(seen.keys())]
        info.update(test_balance=dict(Counter(test[s.target]).most_common()),
                    majority={"label": top, "accuracy": acc},
                    test_inputs_in_train=len(both),
                    test_inputs_in_train_other_label=int(
                        sum(seen[x] != {y} for x, y in zip(both[s.input], both[s.target],
                                                           strict=True))))
    return info


def prepare(raw: Path, out: Path, only: list[str] | None = None) -> dict:
    """RAW/<name>/ as published -> the CSVs `run` imports, plus out/manifest.json."""
    out.mkdir(parents=True, exist_ok=True)
    manifest_path = out / "manifest.json"
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    for name in only or [n for n in SETS if (raw / n).exists()]:
        s = SETS[name]
        check_raw(s, raw / name)
        parts = s.convert(raw / name)
        info = check(s, parts)
        written = {}
        for part, frame in parts.items():
            full = frame  # input, target, then any provenance column (trec's fine label, ...)
            if part == "all":
                file = s.files[0]
            elif part == "validation":
                file = s.validation_file
            else:
                file = s.files[0] if part == "train" else s.files[1]
            if s.sample and part in s.sample:
                full.to_csv(out / file.replace(".csv", "_full.csv"), index=False)
                full = stratified(full, s.sample[part], s.target)
            full.to_csv(out / file, index=False, encoding="utf-8")
            written[file] = {"rows": len(full), "sha256": sha256(out / file)}
        if s.sample:  # the majority class of what `run` imports
            train, test = (pd.read_csv(out / f) for f in s.files)
            top = Counter(train[s.target]).most_common(1)[0][0]
            info["sample"] = {"seed": SEED, "rows": s.sample, "majority_label": top,
                              "test_balance": dict(Counter(test[s.target]).most_common()),
                              "majority_accuracy": float((test[s.target] == top).mean())}
        info.update(files=written, published=[p.__dict__ for p in s.published],
                    published_on=s.published_on)
        manifest[name] = info
        print(summary(name, info))
    manifest_path.write_text(json.dumps(manifest, indent=1, ensure_ascii=False))
    return manifest


def summary(name: str, info: dict) -> str:
    rows = ", ".join(f"{p} {n:,}" for p, n in info["rows"].items())
    line = f"{name}: {rows}; {len(info['classes'])} classes"
    if "majority" in info:
        m = info["majority"]
        line += (f"; majority '{m['label']}' {100 * m['accuracy']:.2f}% of test; "
                 f"{info['test_inputs_in_train']} test inputs also in train "
                 f"({info['test_inputs_in_train_other_label']} with another label)")
    if "sample" in info:
        m = info["sample"]
        line += (f"; sample {m['rows']} (seed {SEED}): majority '{m['majority_label']}' "
                 f"{100 * m['majority_accuracy']:.2f}% of the test file written")
    return line + "; files " + ", ".join(f"{f} ({v['rows']:,})" for f, v in info["files"].items())
