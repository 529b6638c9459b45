"""The embedding classifier: MiniLM sentence embeddings + logistic regression, as a model.

A classic baseline for classification datasets. It trains on a dataset's train
split in seconds (embedding the rows is most of the time), is registered like
any model (kind `classifier`), and answers a row by predicting one of the labels
it was trained on: it neither generates text nor reads a prompt, only the row's
input. Its cost, like a local model's, is measured machine time x hourly cost.

Trade-off: the fitted model is saved as plain JSON numbers (labels, weights,
intercepts) instead of a pickle, so loading a workspace never runs code and the
file can be read by anything; prediction is one numpy matrix product, and
scikit-learn is needed only to train.

    >>> clf = LinearClassifier(["no", "yes"], np.array([[2.0, 0.0]]), np.array([-1.0]))
    >>> clf.predict(np.array([[1.0, 0.0], [0.0, 1.0]]))
    ['yes', 'no']
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.models.base import ChatPrompt, Generation, GenerationParams, ModelError

FILE = "classifier.json"
FORMAT = 1
C_GRID = (0.3, 1.0, 3.0, 10.0, 30.0)  # inverse L2 strength, chosen on the validation split
DEFAULT_C = 10.0  # when there is no validation split
DEFAULT_HOURLY_COST = 0.10  # USD per hour, as for the built-in local models


@dataclass
class LinearClassifier:
    """Labels and the weights of a multinomial (or binary) logistic regression."""

    labels: list[str]
    coef: np.ndarray  # (n_labels, dim), or (1, dim) for two labels
    intercept: np.ndarray  # (n_labels,) or (1,)

    def scores(self, x: np.ndarray) -> np.ndarray:
        """One column per label; the largest wins."""
        z = x @ self.coef.T + self.intercept
        if z.shape[1] == 1:  # binary: positive means the second label
            z = np.hstack([np.zeros_like(z), z])
        return z

    def predict(self, x: np.ndarray) -> list[str]:
        return [self.labels[i] for i in np.argmax(self.scores(x), axis=1)]

    def to_record(self) -> dict:
        return {"labels": self.labels, "coef": self.coef.tolist(),
                "intercept": self.intercept.tolist()}

    @classmethod
    def from_record(cls, rec: dict) -> LinearClassifier:
        coef = np.asarray(rec["coef"], dtype=np.float64)
        intercept = np.asarray(rec["intercept"], dtype=np.float64)
        labels = [str(x) for x in rec["labels"]]
        rows = 1 if len(labels) == 2 else len(labels)
        if coef.ndim != 2 or coef.shape[0] != rows or intercept.shape != (rows,):
            raise ValueError(f"weights of shape {coef.shape} do not fit {len(labels)} labels")
        return cls(labels, coef, intercept)


def fit(x: np.ndarray, y: list[str], c: float = DEFAULT_C) -> LinearClassifier:
    """Logistic regression on embeddings `x` (rows) and labels `y`."""
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=c, max_iter=2000)
    model.fit(x, y)
    return LinearClassifier([str(c) for c in model.classes_], model.coef_.astype(np.float64),
                            model.intercept_.astype(np.float64))


def train(texts: list[str], labels: list[str], val_texts: list[str] | None = None,
          val_labels: list[str] | None = None) -> tuple[LinearClassifier, dict]:
    """Embed and fit; pick C on the validation rows when there are any.

    Returns the classifier and what to record about it: `c`, `train_rows`,
    `validation_rows`, `validation_accuracy`, `embed_seconds` and `train_seconds`
    (the whole training, embedding included).
    """
    from core.embeddings import embed, get_model

    if len(set(labels)) < 2:
        raise ModelError(f"the training rows have only one label ({labels[0] if labels else '-'}"
                         "); a classifier needs at least two different labels.")
    get_model()  # loading MiniLM (once per process) is not part of the training time
    t0 = time.perf_counter()
    x = embed(texts)
    xv = embed(val_texts) if val_texts else None
    embed_s = time.perf_counter() - t0
    best_c, best_acc, clf = DEFAULT_C, None, None
    if xv is not None:
        for c in C_GRID:
            cand = fit(x, labels, c)
            acc = float(np.mean([p == t for p, t in zip(cand.predict(xv), val_labels or [],
                                                        strict=True)]))
            if best_acc is None or acc > best_acc:
                best_c, best_acc, clf = c, acc, cand
    if clf is None:
        clf = fit(x, labels, best_c)
    info = {"c": best_c, "train_rows": len(texts), "validation_rows": len(val_texts or []),
            "validation_accuracy": best_acc, "embed_seconds": round(embed_s, 3),
            "train_seconds": round(time.perf_counter() - t0, 3)}
    return clf, info


def save(folder: Path, clf: LinearClassifier, meta: dict) -> Path:
    """Write `classifier.json` atomically (a temporary file renamed over the old one)."""
    from core.embeddings import MODEL_NAME

    folder.mkdir(parents=True, exist_ok=True)
    rec = {"format": FORMAT, "embedding_model": MODEL_NAME, **meta, **clf.to_record()}
    path = folder / FILE
    tmp = folder / (FILE + ".tmp")
    tmp.write_text(json.dumps(rec), encoding="utf-8")
    tmp.replace(path)
    return path


def load(folder: Path) -> tuple[LinearClassifier, dict, str]:
    """The classifier, its metadata and a fingerprint (sha256 of the file)."""
    path = Path(folder) / FILE
    fix = "delete the model and add it again with `ladder models add NAME --classifier --data D`"
    try:
        raw = path.read_bytes()
    except OSError:
        raise ModelError(f"The classifier file {path} is missing; {fix}.") from None
    try:
        rec = json.loads(raw)
        clf = LinearClassifier.from_record(rec)
    except (ValueError, KeyError, TypeError) as e:
        raise ModelError(f"The classifier file {path} is damaged ({e}); {fix}.") from None
    meta = {k: v for k, v in rec.items() if k not in ("labels", "coef", "intercept")}
    return clf, meta, hashlib.sha256(raw).hexdigest()


@dataclass
class Prediction:
    label: str
    input_tokens: int
    latency_s: float  # the wall time of the batch this row was predicted in
    compute_s: float  # its share of that batch (what the cost model charges)


class LabelPredictor:
    """What every backend that reads a row's input and predicts a label shares: `generate`
    answers each prompt's text with its predicted label (so `ladder models test` works), and
    scoring prompts is refused. Subclasses define `classify` and `name`."""

    name: str

    def classify(self, texts: list[str], batch_size: int = 16) -> list[Prediction]:
        raise NotImplementedError

    def generate(self, prompts: list[ChatPrompt], params: GenerationParams,
                 batch_size: int = 16, on_batch=None) -> list[Generation]:
        preds = self.classify([p.user for p in prompts], batch_size)
        if on_batch:
            on_batch(len(preds))
        return [Generation(p.label, p.input_tokens, 0, p.latency_s, compute_s=p.compute_s)
                for p in preds]

    def score_candidates(self, prompts, candidates, batch_size: int = 16):
        raise ModelError(f"'{self.name}' predicts a label from the row's input; it does not "
                         "score prompts.")


class ClassifierBackend(LabelPredictor):
    """A loaded embedding classifier; answers like a model backend."""

    def __init__(self, clf: LinearClassifier, meta: dict, fingerprint: str, name: str):
        self.clf, self.meta, self.fingerprint, self.name = clf, meta, fingerprint, name
        self._lock = threading.Lock()

    def classify(self, texts: list[str], batch_size: int = 16) -> list[Prediction]:
        """Predict in batches; `batch_size=1` measures each text as a request of its own."""
        from core.embeddings import embed, get_model, tokenizer

        model = get_model()
        out: list[Prediction] = []
        for start in range(0, len(texts), batch_size):
            part = [t or "" for t in texts[start:start + batch_size]]
            with self._lock:
                t0 = time.perf_counter()
                labels = self.clf.predict(embed(part).astype(np.float64))
                dt = time.perf_counter() - t0
            # the engine-independent WordPiece tokenizer: ONNX and torch encoders count alike
            n_tok = [len(ids) for ids in tokenizer()(
                part, truncation=True, max_length=getattr(model, "max_seq_length", 256)
            )["input_ids"]]
            out += [Prediction(lab, n, dt, dt / len(part)) for lab, n in zip(labels, n_tok,
                                                                            strict=True)]
        return out



_LOADED: dict[tuple, ClassifierBackend] = {}
_LOAD_LOCK = threading.Lock()


def load_backend(spec) -> ClassifierBackend:
    """The backend for a registry entry of kind `classifier` (loaded once per file version)."""
    path = Path(spec.source) / FILE
    try:
        st = path.stat()
        key = (spec.id, str(path), st.st_mtime_ns, st.st_size)
    except OSError:
        key = (spec.id, str(path), 0, 0)
    with _LOAD_LOCK:
        if key not in _LOADED:
            clf, meta, fp = load(Path(spec.source))
            from core.embeddings import get_model

            get_model()  # load MiniLM now, so the first batch's latency is not the load time
            _LOADED[key] = ClassifierBackend(clf, meta, fp, spec.id)
        return _LOADED[key]


def classifier_dir(ws, model_id: str) -> Path:
    return ws.settings.root / "classifiers" / model_id


def add_classifier(ws, model_id: str, dataset: str, *, hourly_cost: float = DEFAULT_HOURLY_COST,
                   concurrency: int = 1, notes: str = ""):
    """Train on `dataset`'s train split and register the result as model `model_id`.

    Every check (name, price, dataset, task, split, labels) runs before anything is
    trained or written; a failure after training removes the files it wrote, so
    the registry and the workspace stay as they were.
    """
    import shutil

    from core.datasets.errors import DatasetError
    from core.datasets.versions import get_split, get_version
    from core.evals.rows import load_rows
    from core.models.registry import build_spec

    folder = classifier_dir(ws, model_id)
    spec = build_spec(id=model_id, kind="classifier", source=str(folder), hourly_cost=hourly_cost,
                      concurrency=concurrency, notes=notes)
    if ws.registry.exists(spec.id):
        raise ModelError(f"A model named '{spec.id}' is already registered; choose another name "
                         "or delete the existing one.")
    version = get_version(ws, dataset)  # DatasetError names the known datasets
    if version.mapping.task != "classification":
        raise ModelError(
            f"'{dataset}' is a {version.mapping.task.replace('_', ' ')} dataset; an embedding "
            "classifier predicts one of a fixed set of labels, so it needs a classification "
            "dataset (import it with --task classification if its target is a label).")
    split = get_split(ws, version)
    if split is None or split.sizes()["train"] == 0:
        raise ModelError(f"'{dataset}' has no train split to learn from; make one with `ladder "
                         f"data split {dataset} --val 0.1 --test 0.1` or on the Data page.")
    rows = load_rows(ws, dataset, "train").train_rows
    try:
        val = load_rows(ws, dataset, "validation").rows if split.sizes()["validation"] else []
    except DatasetError:
        val = []
    clf, info = train([r["input"] for r in rows], [r["target"] for r in rows],
                      [r["input"] for r in val], [r["target"] for r in val])
    meta = {"dataset": dataset, "version": version.number, "version_hash": version.hash,
            "trained_at": time.time(), **info}
    if not notes:
        spec = spec.model_copy(update={"notes": (
            f"embedding classifier trained on {dataset} v{version.number} "
            f"({info['train_rows']} rows, {len(clf.labels)} labels)")})
    tmp = folder.with_name(folder.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    save(tmp, clf, meta)
    try:
        shutil.rmtree(folder, ignore_errors=True)  # a leftover of a deleted model of that name
        tmp.replace(folder)
        ws.registry.add(spec)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return spec, meta


def fingerprint(spec) -> str:
    """A short hash of the classifier's file: cells of a retrained one are never reused."""
    return load(Path(spec.source))[2][:16]


def classifier_meta(spec) -> dict:
    """What was recorded when the classifier was trained (empty if its file is gone)."""
    try:
        return load(Path(spec.source))[1]
    except ModelError:
        return {}
